// The one map from trialcore's status codes to HTTP statuses (userver's
// way: client errors before server errors), and the few statuses that
// belong to HTTP alone. No route writes a number of its own.
#pragma once

#include <string_view>

#include "core/status.h"

namespace trialcore::api {

// 400 invalid argument, 401 unauthenticated, 403 permission denied,
// 404 not found, 409 exists or a failed precondition, 412 a lost
// optimistic-concurrency race (If-Match), 413 too large, 429 rate limited,
// 501 unimplemented; 500 for data loss, I/O and internal errors.
int HttpStatusFor(StatusCode code);

// The "code" field of an error reply for a status code ("not_found").
std::string_view ErrorCodeName(StatusCode code);

// Statuses of the protocol itself, which no status code stands for.
namespace http_status {
inline constexpr int kOk = 200;
inline constexpr int kUnsupportedMediaType = 415;  // a body that is not JSON sent to the API
inline constexpr int kRangeNotSatisfiable = 416;   // more than one byte range
inline constexpr int kNotFound = 404;              // no route for the path
}  // namespace http_status

}  // namespace trialcore::api
