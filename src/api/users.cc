#include "api/users.h"

#include <sodium.h>

#include <algorithm>
#include <array>

#include "api/credentials.h"
#include "capture/blinding.h"
#include "core/hash.h"

namespace trialcore::api {

namespace {

constexpr uint64_t kOpsLimit = 2;                  // OWASP: t=2
constexpr size_t kMemLimit = 19ull * 1024 * 1024;  // 19 MiB
constexpr int kFailuresBeforeLock = 5;

std::string Str(const Value& p, std::string_view key) {
  const Value* v = p.Find(key);
  return v != nullptr && v->is_string() ? v->as_string() : "";
}

// The grant an event's payload names (role.granted, role.revoked, token.issued).
Grant GrantIn(const Value& p) { return Grant{Str(p, "study"), Str(p, "role"), Str(p, "site")}; }

Result<std::string> HashPassword(const std::string& password) {
  if (sodium_init() < 0) return Internal("libsodium failed to initialise");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), kOpsLimit, kMemLimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return ResourceExhausted("not enough memory to hash the password");
  }
  return std::string(out);
}

// A real hash to verify against for unknown users, so that they cost the
// same time as known ones and the answer gives nothing away.
const std::string& DummyHash() {
  static const std::string hash = HashPassword("no such user, no such password").value();
  return hash;
}

bool VerifyPassword(const std::string& hash, const std::string& password) {
  if (hash.empty() || sodium_init() < 0) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

}  // namespace

std::string UnknownIdDigest(std::string_view id) { return "unknown:" + ToHex(Sha256(id)).substr(0, 16); }

Status MayChangeGrant(const Actor& by, const std::string& user, const Grant& grant) {
  if (by.user == user) {
    return PermissionDenied("no one grants or revokes their own roles; ask another administrator");
  }
  if (by.role == "system_admin") return Status::Ok();
  if (grant.role == "system_admin" || !capture::BlindedRole(grant.role)) {
    return PermissionDenied("only a system administrator grants or revokes " + grant.role);
  }
  return Status::Ok();
}

int64_t LockoutMicros(int failed_logins) {
  if (failed_logins < kFailuresBeforeLock) return 0;
  int64_t minutes = int64_t{1} << std::min(failed_logins - kFailuresBeforeLock, 6);
  return std::min<int64_t>(minutes, 60) * 60'000'000;
}

Result<std::string> RandomToken(Env* env) {
  std::array<uint8_t, 32> bytes;
  TC_RETURN_IF_ERROR(env->RandomBytes(bytes));
  return ToHex(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

Status ValidateUserId(const std::string& id) {
  bool ok = !id.empty() && id.size() <= kMaxUserIdLength;
  for (char c : id) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-');
  }
  if (!ok) return InvalidArgument("user id \"" + id + "\" must be 1 to 64 of a-z, 0-9, '.', '_' and '-'");
  return Status::Ok();
}

Status ValidatePassword(const std::string& password) {
  if (password.size() < kMinPasswordLength) {
    return InvalidArgument("passwords must have at least " + std::to_string(kMinPasswordLength) + " characters");
  }
  if (password.size() > kMaxPasswordLength) {
    return InvalidArgument("passwords must have at most " + std::to_string(kMaxPasswordLength) + " bytes");
  }
  if (!IsValidUtf8(password)) return InvalidArgument("passwords must be valid UTF-8");
  return Status::Ok();
}

Status ValidateLoginFields(const std::string& id, const std::string& password) {
  if (id.size() > kMaxUserIdLength) {
    return InvalidArgument("\"user\" is longer than any user id (at most " + std::to_string(kMaxUserIdLength) +
                           " characters)");
  }
  if (password.size() > kMaxPasswordLength) {
    return InvalidArgument("\"password\" is longer than any password (at most " + std::to_string(kMaxPasswordLength) +
                           " bytes)");
  }
  return Status::Ok();
}

Result<std::unique_ptr<UserDirectory>> UserDirectory::Open(EventStore* store, Env* env) {
  std::unique_ptr<UserDirectory> d(new UserDirectory(store, env));
  DummyHash();  // made now, so the first unknown id costs no more than a known one
  std::lock_guard lock(d->mu_);
  TC_RETURN_IF_ERROR(d->CatchUp());
  return d;
}

UserDirectory::~UserDirectory() { subscription_.reset(); }

Status UserDirectory::Follow() {
  if (subscription_) return Status::Ok();
  // From the log's head, not from the directory's last event: the
  // subscription must not read every study's events since then. What was
  // committed up to the head is read by the catch-up after it.
  TC_ASSIGN_OR_RETURN(uint64_t head, store_->LastSeq());
  subscription_ = store_->Subscribe(head, [this](const Event& e) {
    if (e.study == kSystemStudy) stale_ = true;
  });
  std::lock_guard lock(mu_);
  return CatchUp();
}

std::optional<User> UserDirectory::Current(const std::string& id, Status* read) const {
  std::lock_guard lock(mu_);
  *read = CatchUp();
  auto it = users_.find(id);
  if (it == users_.end()) return std::nullopt;
  return it->second;
}

Status UserDirectory::CatchUp() const {
  EventFilter f;
  f.study = kSystemStudy;
  f.after_seq = last_seq_;
  return store_->ForEachEvent(f, [&](const Event& e) {
    Apply(e);
    last_seq_ = e.seq;
    return Status::Ok();
  });
}

void UserDirectory::Apply(const Event& e) const {
  if (!e.stream.starts_with("user/")) return;
  std::string id = e.stream.substr(5);
  User& u = users_[id];
  u.id = id;
  const Value& p = e.payload;
  const std::string& t = e.type;
  if (t == "user.added") {
    u.full_name = Str(p, "full_name");
    u.password_hash = Str(p, "password_hash");
  } else if (t == "user.disabled") {
    u.disabled = true;
  } else if (t == "user.password_reset") {
    u.password_hash = Str(p, "password_hash");
    u.failed_logins = 0;
    u.locked_until_us = 0;
    u.disabled = false;
  } else if (t == "role.granted") {
    Grant g = GrantIn(p);
    if (std::find(u.grants.begin(), u.grants.end(), g) == u.grants.end()) u.grants.push_back(g);
    u.revoked.erase(std::remove(u.revoked.begin(), u.revoked.end(), g), u.revoked.end());
  } else if (t == "role.revoked") {
    Grant g = GrantIn(p);
    u.grants.erase(std::remove(u.grants.begin(), u.grants.end(), g), u.grants.end());
    if (std::find(u.revoked.begin(), u.revoked.end(), g) == u.revoked.end()) u.revoked.push_back(g);
  } else if (t == "token.issued") {
    u.tokens.push_back(Token{Str(p, "token_hash"), GrantIn(p), false});
  } else if (t == "token.revoked") {
    for (Token& tok : u.tokens) {
      if (tok.hash == Str(p, "token_hash")) tok.revoked = true;
    }
  } else if (t == "user.login" || t == "user.reauthenticated") {
    u.failed_logins = 0;
    u.locked_until_us = 0;
  } else if (t == "user.login_failed") {
    // Attempts while locked are recorded but do not lengthen the lock.
    if (Str(p, "why") == "locked") return;
    ++u.failed_logins;
    if (int64_t lock = LockoutMicros(u.failed_logins); lock > 0) u.locked_until_us = e.time_us + lock;
  }
}

Status UserDirectory::Append(const std::string& user, const std::string& type, const Actor& by,
                             const std::string& reason, Value::Object payload) {
  return AppendTo("user/" + user, type, by, std::move(payload), reason);
}

Status UserDirectory::AppendTo(const std::string& stream, const std::string& type, const Actor& by,
                               Value::Object payload, const std::string& reason) {
  EventDraft d;
  d.stream = stream;
  d.type = type;
  d.actor = by;
  d.reason = reason;
  d.payload = std::move(payload);
  AppendRequest r;
  r.study = kSystemStudy;
  r.events.push_back(std::move(d));
  // The durable append (an fsync) under no lock of the directory: readers
  // and other logins go on meanwhile; only taking the event in is locked.
  TC_ASSIGN_OR_RETURN(std::vector<Event> events, store_->Append(r));
  std::lock_guard lock(mu_);
  return CatchUp();  // also takes in what other processes wrote
}

Status UserDirectory::Add(const std::string& id, const std::string& full_name, const std::string& password,
                          const Actor& by) {
  TC_RETURN_IF_ERROR(ValidateUserId(id));
  TC_RETURN_IF_ERROR(ValidatePassword(password));
  if (full_name.empty()) return InvalidArgument("a user needs a full name (it is shown with their signatures)");
  TC_ASSIGN_OR_RETURN(std::string hash, HashPassword(password));  // argon2id: before any lock
  std::lock_guard changes(changes_mu_);
  Status read;
  if (Current(id, &read)) return AlreadyExists("user " + id + " already exists");
  TC_RETURN_IF_ERROR(read);
  std::string stream = "user/" + id;
  return Append(
      id, "user.added", by, "",
      Value::Object{{"full_name", full_name},
                    {"password_hash", hash},
                    {"set", Value::Object{{stream + "/full_name", full_name}, {stream + "/status", "active"}}}});
}

Status UserDirectory::Disable(const std::string& id, const std::string& reason, const Actor& by) {
  if (reason.empty()) return InvalidArgument("disabling a user needs a reason");
  std::lock_guard changes(changes_mu_);
  TC_ASSIGN_OR_RETURN(User user, Existing(id));
  if (user.disabled) return FailedPrecondition("user " + id + " is already disabled");
  TC_RETURN_IF_ERROR(Append(id, "user.disabled", by, reason,
                            Value::Object{{"set", Value::Object{{"user/" + id + "/status", "disabled"}}}}));
  // Their sessions end on every server at once (and stay ended if the
  // account is enabled again by a password reset).
  return store_->server_state().DeleteSessionsOf(id).status();
}

Status UserDirectory::ResetPassword(const std::string& id, const std::string& password, const Actor& by) {
  TC_RETURN_IF_ERROR(ValidatePassword(password));
  TC_ASSIGN_OR_RETURN(std::string hash, HashPassword(password));  // argon2id: before any lock
  std::lock_guard changes(changes_mu_);
  TC_RETURN_IF_ERROR(Existing(id).status());
  return Append(id, "user.password_reset", by, "password reset",
                Value::Object{{"password_hash", hash}, {"set", Value::Object{{"user/" + id + "/status", "active"}}}});
}

Status UserDirectory::AddGrant(const std::string& id, const Grant& g, const std::string& reason, const Actor& by) {
  TC_RETURN_IF_ERROR(MayChangeGrant(by, id, g));
  std::lock_guard changes(changes_mu_);
  TC_ASSIGN_OR_RETURN(User user, Existing(id));
  TC_RETURN_IF_ERROR(ValidateStudyId(g.study));
  if (g.site.empty()) return InvalidArgument("a grant names a site, or * for every site");
  if (std::find(user.grants.begin(), user.grants.end(), g) != user.grants.end()) {
    return AlreadyExists(id + " already holds " + g.role + " on " + g.study + " at site " + g.site);
  }
  if (reason.empty() && std::find(user.revoked.begin(), user.revoked.end(), g) != user.revoked.end()) {
    return InvalidArgument("granting " + g.role + " on " + g.study + " at site " + g.site + " to " + id +
                           " again, after it was revoked, needs a reason");
  }
  return Append(
      id, "role.granted", by, reason,
      Value::Object{{"study", g.study},
                    {"role", g.role},
                    {"site", g.site},
                    {"set", Value::Object{{"user/" + id + "/grants/" + g.study + "/" + g.site + "/" + g.role, true}}}});
}

Status UserDirectory::RevokeGrant(const std::string& id, const Grant& g, const std::string& reason, const Actor& by) {
  if (reason.empty()) return InvalidArgument("revoking a role needs a reason");
  TC_RETURN_IF_ERROR(MayChangeGrant(by, id, g));
  std::lock_guard changes(changes_mu_);
  TC_ASSIGN_OR_RETURN(User user, Existing(id));
  if (std::find(user.grants.begin(), user.grants.end(), g) == user.grants.end()) {
    return NotFound(id + " does not hold " + g.role + " on " + g.study + " at site " + g.site);
  }
  return Append(
      id, "role.revoked", by, reason,
      Value::Object{
          {"study", g.study},
          {"role", g.role},
          {"site", g.site},
          {"set", Value::Object{{"user/" + id + "/grants/" + g.study + "/" + g.site + "/" + g.role, false}}}});
}

Result<User> UserDirectory::Login(const std::string& id, const std::string& password, const std::string& client) {
  return Authenticate(id, password, client, "login");
}

Status UserDirectory::Reauthenticate(const std::string& id, const std::string& password, const std::string& client) {
  return Authenticate(id, password, client, "signature").status();
}

// Every outcome costs one argon2id verification (against a dummy hash for an
// unknown id) and one durable event, and every failure answers kLoginFailed:
// neither the answer nor its time tells whether, or in which state, an
// account exists.
Result<User> UserDirectory::Authenticate(const std::string& id, const std::string& password, const std::string& client,
                                         const std::string& purpose) {
  // No lock is held across the argon2id verification nor the durable event:
  // the account is read (copied) first, and other requests go on meanwhile.
  Status read;
  const std::optional<User> account = Current(id, &read);
  TC_RETURN_IF_ERROR(read);
  const bool known = account && !account->password_hash.empty();
  const bool right = VerifyPassword(known ? account->password_hash : DummyHash(), password) && known;
  std::string why;
  if (!known) {
    why = "unknown user";
  } else if (account->disabled) {
    why = "disabled";
  } else if (account->locked_until_us > env_->NowMicros()) {
    why = "locked";  // recorded, but does not lengthen the lock
  } else if (!right) {
    why = purpose == "login" ? "password" : purpose + " password";
  }
  Value::Object details{{"client", client}};
  if (purpose != "login") details["for"] = purpose;
  if (why.empty()) {
    if (purpose == "login") {
      TC_RETURN_IF_ERROR(Append(id, "user.login", Actor{id, "user"}, "", std::move(details)));
    } else {
      // A right password clears the failures as a login does.
      TC_RETURN_IF_ERROR(Append(id, "user.reauthenticated", Actor{id, "user"}, "", std::move(details)));
    }
    std::optional<User> now = Current(id, &read);
    TC_RETURN_IF_ERROR(read);
    return now ? *now : *account;
  }
  details["why"] = why;
  if (!known) {
    // Not in the account's stream (that would make one up): in the log of
    // attempts on ids no account has. People type their password into the
    // user field, and this log is never purged: the id is kept as a digest
    // (UnknownIdDigest), which tells repeated tries of one id apart and can be
    // matched against a suspected id, but shows no one what was typed.
    const Actor tried{UnknownIdDigest(id), "user"};
    TC_RETURN_IF_ERROR(AppendTo("logins/unknown", "user.login_failed", tried, std::move(details)));
  } else {
    TC_RETURN_IF_ERROR(Append(id, "user.login_failed", Actor{id, "user"}, "", std::move(details)));
  }
  return PermissionDenied(kLoginFailed);
}

Status UserDirectory::RecordLogout(const std::string& id, const std::string& client) {
  return Append(id, "user.logout", Actor{id, "user"}, "", Value::Object{{"client", client}});
}

Status UserDirectory::Record(const std::string& type, const Actor& actor, Value::Object details) {
  return Append(actor.user, type, actor, "", std::move(details));
}

Result<std::string> UserDirectory::IssueToken(const std::string& id, const Grant& grant, const Actor& by) {
  std::lock_guard changes(changes_mu_);
  TC_ASSIGN_OR_RETURN(User user, Existing(id));
  if (std::find(user.grants.begin(), user.grants.end(), grant) == user.grants.end()) {
    return FailedPrecondition(id + " does not hold " + grant.role + " on " + grant.study + " at site " + grant.site +
                              "; a token can only carry a role its user holds");
  }
  TC_ASSIGN_OR_RETURN(std::string random, RandomToken(env_));
  std::string token = "tct_" + random;
  std::string hash = ToHex(Sha256(token));
  TC_RETURN_IF_ERROR(
      Append(id, "token.issued", by, "",
             Value::Object{{"token_hash", hash},
                           {"study", grant.study},
                           {"role", grant.role},
                           {"site", grant.site},
                           {"set", Value::Object{{"user/" + id + "/tokens/" + hash.substr(0, 16), "active"}}}}));
  return token;
}

Status UserDirectory::RevokeToken(const std::string& id, const std::string& hash_prefix, const std::string& reason,
                                  const Actor& by) {
  if (reason.empty()) return InvalidArgument("revoking a token needs a reason");
  if (hash_prefix.size() < 8) return InvalidArgument("give at least 8 hex digits of the token's hash");
  std::lock_guard changes(changes_mu_);
  TC_ASSIGN_OR_RETURN(User user, Existing(id));
  for (const Token& tok : user.tokens) {
    if (!tok.revoked && tok.hash.starts_with(hash_prefix)) {
      return Append(
          id, "token.revoked", by, reason,
          Value::Object{{"token_hash", tok.hash},
                        {"set", Value::Object{{"user/" + id + "/tokens/" + tok.hash.substr(0, 16), "revoked"}}}});
    }
  }
  return NotFound(id + " has no active token whose hash starts with " + hash_prefix);
}

void UserDirectory::CatchUpIfStale() const {
  int64_t now = env_->NowMicros();
  // Cleared before reading: an event the subscription sees meanwhile sets it again.
  if (!stale_.exchange(false) && now - last_catchup_us_ < 1'000'000) return;
  last_catchup_us_ = now;
  Status st = CatchUp();
  (void)st;  // on a read error the directory stays as last known
}

Result<User> UserDirectory::FindByToken(const std::string& token) const {
  std::string hash = ToHex(Sha256(token));
  std::lock_guard lock(mu_);
  CatchUpIfStale();
  for (const auto& [id, u] : users_) {
    for (const Token& tok : u.tokens) {
      if (!SameSecret(tok.hash, hash)) continue;
      if (tok.revoked || u.disabled) return PermissionDenied("this token is revoked or its user disabled");
      User scoped = u;
      scoped.grants.clear();
      // Still held by the user: a revoked grant takes its tokens with it.
      if (std::find(u.grants.begin(), u.grants.end(), tok.grant) != u.grants.end()) scoped.grants.push_back(tok.grant);
      return scoped;
    }
  }
  return PermissionDenied("unknown token");
}

Result<User> UserDirectory::Existing(const std::string& id) const {
  Status read;
  std::optional<User> user = Current(id, &read);
  TC_RETURN_IF_ERROR(read);
  if (!user) return NotFound("no user " + id);
  return *user;
}

Result<User> UserDirectory::Find(const std::string& id) const {
  std::lock_guard lock(mu_);
  CatchUpIfStale();
  auto it = users_.find(id);
  if (it == users_.end()) return NotFound("no user " + id);
  return it->second;
}

std::vector<User> UserDirectory::All() const {
  std::lock_guard lock(mu_);
  // The administrators' list reads the log's tail first: an account made
  // through another server a moment ago is in it (read-your-writes behind a
  // load balancer), not only once that server's notification arrives.
  Status st = CatchUp();
  (void)st;  // on a read error the list is the directory as last known
  std::vector<User> out;
  for (const auto& [id, u] : users_) out.push_back(u);
  return out;
}

}  // namespace trialcore::api
