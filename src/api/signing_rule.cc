#include "api/signing_rule.h"

namespace trialcore::api {
namespace {

Result<std::string> Password(const Value& command, const std::string& user, bool session_has_signed) {
  const Value* pw = command.Find("password");
  if (pw == nullptr || !pw->is_string()) return InvalidArgument("signing needs \"password\"");
  const Value* uid = command.Find("user");
  if (!session_has_signed || uid != nullptr) {
    if (uid == nullptr || !uid->is_string()) {
      return InvalidArgument("the first signing of a session needs your \"user\" id and \"password\"");
    }
    if (uid->as_string() != user) return PermissionDenied("you can only sign as yourself");
  }
  return pw->as_string();
}

}  // namespace

Result<std::string> SigningPassword(const Value& command, const std::string& user, const std::string& role,
                                    bool session_has_signed) {
  if (role != "investigator") return PermissionDenied("role " + role + " may not sign");
  return Password(command, user, session_has_signed);
}

Result<std::string> LockSigningPassword(const Value& command, const std::string& user, const std::string& role,
                                        bool session_has_signed) {
  if (role != "data_manager" && role != "study_admin") {
    return PermissionDenied("role " + role + " may not lock or unlock the database");
  }
  return Password(command, user, session_has_signed);
}

}  // namespace trialcore::api
