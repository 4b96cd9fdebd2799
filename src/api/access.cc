#include "api/access.h"

#include <algorithm>

#include "capture/blinding.h"

namespace trialcore::api {

Access::Access(const User& user, const std::string& study) {
  if (user.disabled) return;
  for (const Grant& g : user.grants) {
    if (g.study == study) grants_.push_back(g);
  }
}

bool Access::SeesSite(const std::string& site) const {
  return std::any_of(grants_.begin(), grants_.end(), [&](const Grant& g) { return g.site == "*" || g.site == site; });
}

bool Access::SeesAllSites() const {
  return std::any_of(grants_.begin(), grants_.end(), [](const Grant& g) { return g.site == "*"; });
}

std::vector<std::string> Access::RolesAt(const std::string& site) const {
  std::vector<std::string> roles;
  for (const Grant& g : grants_) {
    bool here = site.empty() || g.site == "*" || g.site == site;
    if (here && std::find(roles.begin(), roles.end(), g.role) == roles.end()) roles.push_back(g.role);
  }
  return roles;
}

std::vector<std::string> Access::Roles() const { return RolesAt(""); }

bool Access::Holds(std::string_view role) const {
  return std::any_of(grants_.begin(), grants_.end(), [&](const Grant& g) { return g.role == role; });
}

Result<std::string> Access::ActingRole(const std::optional<std::string>& wanted, const std::string& site) const {
  const std::vector<std::string> roles = RolesAt(site);
  auto list = [&] {
    std::string out;
    for (const auto& r : roles) out += (out.empty() ? "" : ", ") + r;
    return out.empty() ? std::string("none") : out;
  };
  if (wanted) {
    if (std::find(roles.begin(), roles.end(), *wanted) != roles.end()) return *wanted;
    return PermissionDenied("you do not hold the role " + *wanted + " here (you hold: " + list() + ")");
  }
  if (roles.size() == 1) return roles[0];
  if (roles.empty()) return PermissionDenied("you hold no role here");
  return PermissionDenied("you hold several roles here (" + list() + "); choose one with the X-Trialcore-Role header");
}

bool Access::Unblinded(const std::optional<std::string>& wanted, const std::string& site) const {
  auto role = ActingRole(wanted, site);
  if (!role.ok() || capture::BlindedRole(*role)) return false;
  if (!site.empty()) return true;  // RolesAt(site) holds only roles of grants covering it
  auto covered_by_role = [&](const std::string& s) {
    return std::any_of(grants_.begin(), grants_.end(),
                       [&](const Grant& g) { return g.role == *role && (g.site == "*" || g.site == s); });
  };
  for (const Grant& g : grants_) {
    if (g.site == "*" ? !covered_by_role("*") : !covered_by_role(g.site)) return false;
  }
  return true;
}

Status MayManageAccess(const Access& access, bool accounts) {
  if (access.Holds("system_admin")) return Status::Ok();
  if (accounts) return PermissionDenied("only a system administrator manages accounts");
  if (!access.Holds("study_admin")) return PermissionDenied("only study and system administrators manage access");
  return Status::Ok();
}

std::string AccessAdminRole(const Access& access) {
  return access.Holds("system_admin") ? "system_admin" : "study_admin";
}

Status ValidateGrant(const study::Study& st, const Grant& grant) {
  if (!study::IsKnownRole(grant.role)) return InvalidArgument("unknown role \"" + grant.role + "\" (see doc/roles.md)");
  if (grant.site != "*" &&
      std::none_of(st.sites.begin(), st.sites.end(), [&](const auto& site) { return site.id == grant.site; })) {
    return InvalidArgument("the study has no site \"" + grant.site + "\" (give a site id, or *)");
  }
  return Status::Ok();
}

}  // namespace trialcore::api
