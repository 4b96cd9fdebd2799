// 21 CFR 11.200(a)(1): an electronic signature not based on biometrics uses
// two components, the user id and the password. The first signing of a
// continuous session (a session that has not signed yet) takes both; later
// signings of the same session take the password alone (a user id given
// anyway must still be the signer's). The signer is always the session's
// user: no one signs as another. Only the investigator signs (capture's
// matrix, doc/roles.md); it is checked here too, before the password is.
// A database lock and unlock are signed alike, by the roles that take them.
#pragma once

#include <string>

#include "core/status.h"
#include "core/value.h"

namespace trialcore::api {

// Given a "sign" command's fields, the session's user, the role they act in
// and whether this session has signed already: the password to check, or
// why the signing is refused (PermissionDenied for a role that may not sign
// or another user's id, InvalidArgument for missing fields).
Result<std::string> SigningPassword(const Value& command, const std::string& user, const std::string& role,
                                    bool session_has_signed);

// The same for a database lock or unlock (study.lock, study.unlock): an
// electronic signature of the data manager or study administrator taking it.
Result<std::string> LockSigningPassword(const Value& command, const std::string& user, const std::string& role,
                                        bool session_has_signed);

}  // namespace trialcore::api
