// Who may do what, in one place (doc/roles.md): which of a user's grants
// applies to a study and a site. Capture enforces which role may run which
// command; this decides which role the user acts in and which sites they see.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/users.h"
#include "study/study.h"

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
  // Whether a request sees what blinded roles may not (doc/roles.md,
  // "Unblinded access follows the acting grant"): only when the role it acts
  // in at `site` is unblinded, and that role is the one of a grant covering
  // `site`. So an unblinded pharmacist at 701 is blinded at 708, where they
  // hold only a blinded role (and naming the pharmacist's role there is no
  // help: it is not held there). For the study as a whole (site ""), the
  // acting role's grants must cover every site the user sees, since a
  // study-wide view (the arms, the event stream's positions) spans them all.
  bool Unblinded(const std::optional<std::string>& wanted, const std::string& site) const;
  // The roles held at a site ("" any site), each once.
  std::vector<std::string> RolesAt(const std::string& site) const;

 private:
  std::vector<Grant> grants_;
};

// Who manages access to a study (doc/roles.md, "Granting and revoking
// roles"): a system administrator anything; a study administrator grants
// and revokes roles but does not create or disable accounts (`accounts`).
// PermissionDenied says who may.
Status MayManageAccess(const Access& access, bool accounts);
// The role a change of access is recorded in: system_admin when the caller
// holds it on the study, else study_admin (MayChangeGrant reads it).
std::string AccessAdminRole(const Access& access);
// A grant a request names, against the study: a role of doc/roles.md and
// one of the study's sites or "*". InvalidArgument names what is wrong.
Status ValidateGrant(const study::Study& st, const Grant& grant);

}  // namespace trialcore::api
