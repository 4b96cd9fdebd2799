// Users, their roles per study and site, and logins: kept as events in the
// system log (study "trialcore-system"), so every account change, grant and
// login attempt is in a verifiable audit trail like the studies' data.
// Passwords are stored only as argon2id hashes (libsodium crypto_pwhash,
// t=2, 19 MiB, p=1, as OWASP advises).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "core/event.h"
#include "core/status.h"
#include "store/event_store.h"

namespace trialcore::api {

inline constexpr char kSystemStudy[] = "trialcore-system";
inline constexpr size_t kMinPasswordLength = 12;
inline constexpr size_t kMaxPasswordLength = 1024;
inline constexpr size_t kMaxUserIdLength = 64;

struct Grant {
  std::string study;
  std::string role;
  std::string site;  // "*": every site of the study
  bool operator==(const Grant&) const = default;
};

// An API token for a machine client: stored only as its SHA-256, scoped to
// one grant of its user.
struct Token {
  std::string hash;  // hex SHA-256 of the token
  Grant grant;
  bool revoked = false;
};

struct User {
  std::string id;
  std::string full_name;
  std::string password_hash;
  bool disabled = false;
  std::vector<Grant> grants;
  std::vector<Grant> revoked;   // revoked and not granted again since
  int failed_logins = 0;        // since the last success
  int64_t locked_until_us = 0;  // after repeated failures
  std::vector<Token> tokens;
};

// Back-off after failed logins: from the 5th failure in a row the account is
// locked for 1 minute, doubling with each further failure up to 1 hour.
int64_t LockoutMicros(int failed_logins);

class UserDirectory {
 public:
  static Result<std::unique_ptr<UserDirectory>> Open(EventStore* store, Env* env);
  ~UserDirectory();

  // From now on, takes in what other processes and servers write to the
  // system log as the store tells of each commit (EventStore::Subscribe):
  // the next request after a revocation, a disabled account or a revoked
  // token anywhere is judged on it. For a server; a one-off command needs
  // none of it.
  Status Follow();

  Status Add(const std::string& id, const std::string& full_name, const std::string& password, const Actor& by);
  Status Disable(const std::string& id, const std::string& reason, const Actor& by);
  Status ResetPassword(const std::string& id, const std::string& password, const Actor& by);
  // A reason is optional for a first grant and required to grant again a
  // role that was revoked (the grant changes a recorded value back).
  Status AddGrant(const std::string& id, const Grant& grant, const std::string& reason, const Actor& by);
  Status RevokeGrant(const std::string& id, const Grant& grant, const std::string& reason, const Actor& by);

  // Checks a password. Records the attempt (from the given client address)
  // as an event either way, also for an id no account has. An unknown id, a
  // wrong password, a locked and a disabled account all get the same
  // PermissionDenied (kLoginFailed) after the same work: one argon2id
  // verification and one durable event.
  Result<User> Login(const std::string& id, const std::string& password, const std::string& client);
  // For signatures: the password again, under the same lockout as a login
  // (a failure counts towards it, a locked account is refused with the
  // login's answer) and recorded the same way.
  Status Reauthenticate(const std::string& id, const std::string& password, const std::string& client);
  Status RecordLogout(const std::string& id, const std::string& client);
  // Other security-relevant events (exports, audit trail views, refusals).
  Status Record(const std::string& type, const Actor& actor, Value::Object details);

  // Issues a token for one of the user's grants; the token is returned once
  // and only its hash is kept.
  Result<std::string> IssueToken(const std::string& id, const Grant& grant, const Actor& by);
  Status RevokeToken(const std::string& id, const std::string& hash_prefix, const std::string& reason, const Actor& by);
  // The user of a token, with their grants narrowed to the token's one.
  Result<User> FindByToken(const std::string& token) const;

  Result<User> Find(const std::string& id) const;
  std::vector<User> All() const;

 private:
  UserDirectory(EventStore* store, Env* env) : store_(store), env_(env) {}
  // Takes in the system log's new events; mu_ held.
  Status CatchUp() const;
  // A copy of the account as the log has it now (caught up under mu_,
  // which is released before returning); nullopt when there is none.
  std::optional<User> Current(const std::string& id, Status* read) const;
  // The same, NotFound when there is none.
  Result<User> Existing(const std::string& id) const;
  // Login and Reauthenticate: checks the password and records the attempt.
  Result<User> Authenticate(const std::string& id, const std::string& password, const std::string& client,
                            const std::string& purpose);
  // Takes in what other processes wrote (other servers, trialcore user
  // while serving) when the store told of a new system event (Follow), and
  // at least once a second of the Env's clock anyway.
  void CatchUpIfStale() const;
  // Appends durably, holding no lock across it, then takes the event in.
  Status Append(const std::string& user, const std::string& type, const Actor& by, const std::string& reason,
                Value::Object payload);
  Status AppendTo(const std::string& stream, const std::string& type, const Actor& by, Value::Object payload,
                  const std::string& reason = "");
  void Apply(const Event& e) const;

  EventStore* store_;
  Env* env_;
  // Account changes check, then append: one at a time, so that two cannot
  // both pass a check the other breaks (two grants of one role). Held across
  // the append's fsync, and so never taken by logins, password checks,
  // recorded views or reads.
  std::mutex changes_mu_;
  // The projection below; held only to read or update it, never across
  // argon2id or an fsync.
  mutable std::mutex mu_;
  mutable std::map<std::string, User> users_;  // a projection of the system log
  mutable uint64_t last_seq_ = 0;
  mutable int64_t last_catchup_us_ = 0;
  // Set by the subscription when the system log grew.
  mutable std::atomic<bool> stale_{false};
  // Last: stopped first, before what its handler touches.
  std::unique_ptr<Subscription> subscription_;
};

// 256 random bits from the Env (the project's one source of randomness, so
// tests can seed it), as hex: session, CSRF and API tokens.
Result<std::string> RandomToken(Env* env);

// The one answer to every failed login or signing password, whatever the
// cause, so that it tells no one whether an account exists or is locked.
inline constexpr char kLoginFailed[] =
    "wrong user name or password, or the account is locked after repeated failures or disabled";

// Who may grant or revoke a role (doc/roles.md): no one changes their own
// roles, and only a system administrator (by.role == "system_admin") grants
// or revokes system_admin and the unblinded roles. PermissionDenied says why.
Status MayChangeGrant(const Actor& by, const std::string& user, const Grant& grant);
// How a failed login for an id no account has names that id in the log:
// "unknown:" and the first 16 hex digits of its SHA-256.
std::string UnknownIdDigest(std::string_view id);

Status ValidateUserId(const std::string& id);
Status ValidatePassword(const std::string& password);
// A login's fields, before any work is done on them: an id or a password
// longer than any account can have is refused (InvalidArgument naming the
// field), not hashed and recorded. Says nothing of any account.
Status ValidateLoginFields(const std::string& id, const std::string& password);

}  // namespace trialcore::api
