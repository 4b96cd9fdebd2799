#include "api/signing_rule.h"

namespace trialcore::api {

Result<std::string> SigningPassword(const Value& command, const std::string& user, const std::string& role,
                                    bool session_has_signed) {
  if (role != "investigator") return PermissionDenied("role " + role + " may not sign");
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

}  // namespace trialcore::api
