// Who may do what, in one place (doc/roles.md): which of a user's grants
// applies to a study and a site. Capture enforces which role may run which
// command; this decides which role the user acts in and which sites they see.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/users.h"

namespace trialcore::api {

class Access {
 public:
  Access(const User& user, const std::string& study);

  bool AnyGrant() const { return !grants_.empty(); }
  // Sites are visible when some grant covers them ("*" covers all).
  bool SeesSite(const std::string& site) const;
  bool SeesAllSites() const;
  // The role to act in: the one asked for, when the user holds it on this
  // study (at this site, when given); else their only role there.
  // PermissionDenied says which roles they hold.
  Result<std::string> ActingRole(const std::optional<std::string>& wanted, const std::string& site) const;
  std::vector<std::string> Roles() const;
  // Whether any grant on this study is of this role.
  bool Holds(std::string_view role) const;

 private:
  // The roles held at a site ("" any site), each once.
  std::vector<std::string> RolesAt(const std::string& site) const;
  std::vector<Grant> grants_;
};

}  // namespace trialcore::api
