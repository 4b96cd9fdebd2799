#include "cli/exit_codes.h"

namespace trialcore::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kInvalidArgument:
      return kExitBadInput;
    case StatusCode::kNotFound:
      return kExitNotFound;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kPermissionDenied:
    case StatusCode::kUnauthenticated:
    case StatusCode::kRateLimited:
    case StatusCode::kAborted:
      return kExitConflict;
    case StatusCode::kDataLoss:
      return kExitVerificationFailed;
    case StatusCode::kIoError:
    case StatusCode::kResourceExhausted:
      return kExitIo;
    case StatusCode::kUnimplemented:
      return kExitUnsupported;
    case StatusCode::kInternal:
      return kExitInternal;
  }
  return kExitInternal;
}

const char* ExitCodeHelp() {
  return "Exit codes:\n"
         "  0   success\n"
         "  1   verification failed: the audit trail, a checkpoint or a proof does not verify\n"
         "  2   bad command-line arguments\n"
         "  3   a named file, database, study or event does not exist\n"
         "  4   an input file or value is malformed\n"
         "  5   the data's state forbids the operation (conflict, precondition, permission)\n"
         "  6   the disk failed or is full, or a server (NATS) could not be reached\n"
         "  7   a format version this trialcore does not read\n"
         "  70  internal error (a bug; please report it)\n";
}

}  // namespace trialcore::cli
