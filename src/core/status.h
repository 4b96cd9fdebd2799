// Errors as values. Every fallible operation in trialcore returns a Status or a
// Result<T>; the API layer maps codes to HTTP statuses in one place and the CLI
// maps them to exit codes in one place (src/cli/exit_codes.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace trialcore {

// Canonical codes, chosen as abseil advises: the most specific code that a
// caller could act on.
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is malformed, whatever the state
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // creating something that exists
  kFailedPrecondition,  // the input is fine but the state forbids it
  kPermissionDenied,    // the actor may not do this
  kUnauthenticated,     // who is asking is not known: no, a wrong or an expired credential
  kRateLimited,         // too many attempts in too short a time; try again later
  kAborted,             // conflict: optimistic concurrency lost, retry
  kDataLoss,            // stored data is corrupt or tampered with
  kIoError,             // the operating system refused a file operation
  kResourceExhausted,   // disk full, quota, size limits
  kUnimplemented,       // a format version or feature this build does not know
  kInternal,            // a bug: an invariant did not hold
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "NotFound: study CDISCPILOT01 has no event 12".
  std::string ToString() const;

  // Prefixes the message with where the error happened: "reading x.db: ...";
  // the code stays. An OK status stays OK. See TC_RETURN_IF_ERROR_CTX.
  Status WithContext(std::string_view context) const;

  bool operator==(const Status&) const = default;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
inline Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
inline Status AlreadyExists(std::string msg) { return {StatusCode::kAlreadyExists, std::move(msg)}; }
inline Status FailedPrecondition(std::string msg) { return {StatusCode::kFailedPrecondition, std::move(msg)}; }
inline Status PermissionDenied(std::string msg) { return {StatusCode::kPermissionDenied, std::move(msg)}; }
inline Status Unauthenticated(std::string msg) { return {StatusCode::kUnauthenticated, std::move(msg)}; }
inline Status RateLimited(std::string msg) { return {StatusCode::kRateLimited, std::move(msg)}; }
inline Status Aborted(std::string msg) { return {StatusCode::kAborted, std::move(msg)}; }
inline Status DataLoss(std::string msg) { return {StatusCode::kDataLoss, std::move(msg)}; }
inline Status IoError(std::string msg) { return {StatusCode::kIoError, std::move(msg)}; }
inline Status ResourceExhausted(std::string msg) { return {StatusCode::kResourceExhausted, std::move(msg)}; }
inline Status Unimplemented(std::string msg) { return {StatusCode::kUnimplemented, std::move(msg)}; }
inline Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T v) : v_(std::move(v)) {}                // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInternal, "Result constructed from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace trialcore

#define TC_CONCAT_INNER_(a, b) a##b
#define TC_CONCAT_(a, b) TC_CONCAT_INNER_(a, b)

#define TC_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::trialcore::Status tc_status_ = (expr); \
    if (!tc_status_.ok()) return tc_status_; \
  } while (0)

#define TC_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

#define TC_ASSIGN_OR_RETURN(lhs, expr) TC_ASSIGN_OR_RETURN_IMPL_(TC_CONCAT_(tc_result_, __LINE__), lhs, expr)

// The same, and an error gains context on its way up (abseil's pattern):
//   TC_ASSIGN_OR_RETURN_CTX(std::string text, env->ReadFileToString(path), "reading study " + path);
// returns "reading study x.yaml: <the error>" with the error's code. The
// context expression is evaluated only when there is an error.
#define TC_RETURN_IF_ERROR_CTX(expr, context)                     \
  do {                                                            \
    ::trialcore::Status tc_status_ = (expr);                      \
    if (!tc_status_.ok()) return tc_status_.WithContext(context); \
  } while (0)

#define TC_ASSIGN_OR_RETURN_CTX_IMPL_(tmp, lhs, expr, context) \
  auto tmp = (expr);                                           \
  if (!tmp.ok()) return tmp.status().WithContext(context);     \
  lhs = std::move(tmp).value()

#define TC_ASSIGN_OR_RETURN_CTX(lhs, expr, context) \
  TC_ASSIGN_OR_RETURN_CTX_IMPL_(TC_CONCAT_(tc_result_, __LINE__), lhs, expr, context)
