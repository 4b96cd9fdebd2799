// Users, their roles per study and site, and logins: kept as events in the
// system log (study "trialcore-system"), so every account change, grant and
// login attempt is in a verifiable audit trail like the studies' data.
// Passwords are stored only as argon2id hashes (libsodium crypto_pwhash,
// t=2, 19 MiB, p=1, as OWASP advises).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/event.h"
#include "core/status.h"
#include "store/event_store.h"

namespace trialcore::api {

inline constexpr char kSystemStudy[] = "trialcore-system";
inline constexpr size_t kMinPasswordLength = 12;

struct Grant {
  std::string study;
  std::string role;
  std::string site;  // "*": every site of the study
  bool operator==(const Grant&) const = default;
};

struct User {
  std::string id;
  std::string full_name;
  std::string password_hash;
  bool disabled = false;
  std::vector<Grant> grants;
  int failed_logins = 0;           // since the last success
  int64_t locked_until_us = 0;     // after repeated failures
};

// Back-off after failed logins: from the 5th failure in a row the account is
// locked for 1 minute, doubling with each further failure up to 1 hour.
int64_t LockoutMicros(int failed_logins);

class UserDirectory {
 public:
  static Result<std::unique_ptr<UserDirectory>> Open(EventStore* store, Env* env);

  Status Add(const std::string& id, const std::string& full_name, const std::string& password, const Actor& by);
  Status Disable(const std::string& id, const std::string& reason, const Actor& by);
  Status ResetPassword(const std::string& id, const std::string& password, const Actor& by);
  Status AddGrant(const std::string& id, const Grant& grant, const Actor& by);
  Status RevokeGrant(const std::string& id, const Grant& grant, const std::string& reason, const Actor& by);

  // Checks a password. Records the attempt (from the given client address)
  // as an event either way. PermissionDenied for a wrong password, a
  // disabled or locked account, with the same message for an unknown user
  // as for a wrong password.
  Result<User> Login(const std::string& id, const std::string& password, const std::string& client);
  // For signatures: the password again, without the lockout bookkeeping of
  // a login but counted as a failure when wrong.
  Status Reauthenticate(const std::string& id, const std::string& password, const std::string& client);
  Status RecordLogout(const std::string& id, const std::string& client);
  // Other security-relevant events (exports, audit trail views, refusals).
  Status Record(const std::string& type, const Actor& actor, Value::Object details);

  Result<User> Find(const std::string& id) const;
  std::vector<User> All() const;

 private:
  UserDirectory(EventStore* store, Env* env) : store_(store), env_(env) {}
  Status CatchUp();
  Status Append(const std::string& user, const std::string& type, const Actor& by, const std::string& reason,
                Value::Object payload);
  void Apply(const Event& e);

  EventStore* store_;
  Env* env_;
  mutable std::mutex mu_;
  std::map<std::string, User> users_;
  uint64_t last_seq_ = 0;
};

Status ValidateUserId(const std::string& id);
Status ValidatePassword(const std::string& password);

}  // namespace trialcore::api
