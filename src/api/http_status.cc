#include "api/http_status.h"

namespace trialcore::api {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kAborted:
      return 412;
    case StatusCode::kResourceExhausted:
      return 413;
    case StatusCode::kRateLimited:
      return 429;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kDataLoss:
    case StatusCode::kIoError:
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

std::string_view ErrorCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
      return "invalid_argument";
    case StatusCode::kUnauthenticated:
      return "unauthenticated";
    case StatusCode::kPermissionDenied:
      return "permission_denied";
    case StatusCode::kNotFound:
      return "not_found";
    case StatusCode::kAlreadyExists:
      return "already_exists";
    case StatusCode::kFailedPrecondition:
      return "failed_precondition";
    case StatusCode::kAborted:
      return "precondition_failed";
    case StatusCode::kResourceExhausted:
      return "too_large";
    case StatusCode::kRateLimited:
      return "rate_limited";
    default:
      return "internal";
  }
}

}  // namespace trialcore::api
