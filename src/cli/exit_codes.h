// The trialcore command's exit codes, in one place. Documented in
// `trialcore --help` and the README; scripts may rely on them.
#pragma once

#include "core/status.h"

namespace trialcore::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitVerificationFailed = 1,  // the audit trail or a proof did not verify
  kExitUsage = 2,               // bad command-line arguments
  kExitNotFound = 3,            // a named file, database, study or event does not exist
  kExitBadInput = 4,            // an input file or value is malformed
  kExitConflict = 5,            // the data's state forbids it (precondition, conflict, permission)
  kExitIo = 6,                  // the disk failed or is full, or a server could not be reached
  kExitUnsupported = 7,         // a format version this build does not read
  kExitInternal = 70,           // a bug in trialcore
};

int ExitCodeFor(const Status& status);

// The table printed at the end of `trialcore --help`.
const char* ExitCodeHelp();

}  // namespace trialcore::cli
