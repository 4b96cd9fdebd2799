// ServerState: what `trialcore serve` must share with every other server of
// the same database (DESIGN.md §4, stateless servers): sessions and login
// attempts per client address. Kept in tables beside the log, in the same
// SQLite file or PostgreSQL database, so that a cookie issued by one server
// opens every other, and a client's login attempts are counted across all.
// Obtained from the store (EventStore::server_state()); nothing here names
// a back end. These rows are not events: they are not in the audit trail
// (the logins and logouts themselves are, as events of the system log), are
// not copied by `trialcore db copy`, and may be lost with no harm but a
// fresh login.
//
// Only digests of secrets are stored: a session's key is the SHA-256 of its
// cookie token (api/credentials.h SessionKey), and its CSRF token is not
// stored at all (the server derives it from the cookie token).
//
// Thread safety: every method may be called from any number of threads and
// processes at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/status.h"

namespace trialcore {

struct SessionRecord {
  std::string key;  // digest of the session's cookie token; never the token
  std::string user;
  int64_t created_us = 0;
  int64_t last_used_us = 0;  // as last written by TouchSession: may lag the last request
  bool has_signed = false;   // 21 CFR 11.200: the session has made a signature
};

class ServerState {
 public:
  virtual ~ServerState() = default;

  // AlreadyExists when the key is taken (nothing is changed).
  virtual Status CreateSession(const SessionRecord& session) = 0;
  // A read only (never a write): nullopt when there is no such session.
  virtual Result<std::optional<SessionRecord>> FindSession(const std::string& key) = 0;
  // Moves last_used_us forward to used_us (never back). No error for a
  // session that is gone.
  virtual Status TouchSession(const std::string& key, int64_t used_us) = 0;
  virtual Status MarkSessionSigned(const std::string& key) = 0;
  virtual Status DeleteSession(const std::string& key) = 0;
  // Every session of the user (an account disabled); returns how many.
  virtual Result<uint64_t> DeleteSessionsOf(const std::string& user) = 0;
  // Sessions last used before idle_before_us or created before
  // created_before_us: removes them / counts the others.
  virtual Result<uint64_t> DeleteExpiredSessions(int64_t idle_before_us, int64_t created_before_us) = 0;
  virtual Result<uint64_t> CountLiveSessions(int64_t idle_before_us, int64_t created_before_us) = 0;

  // A login attempt from client at now_us, counted against at most `limit`
  // attempts in the window (now_us - window_us, now_us]: recorded and true
  // when under the limit, false (nothing recorded) when at it. Atomic across
  // servers: concurrent attempts from one client never both take the last
  // place. The client's attempts older than the window are removed.
  virtual Result<bool> TakeLoginAttempt(const std::string& client, int64_t now_us, int64_t window_us, int limit) = 0;

  // The value kept under `name`, `proposed` being stored first when there is
  // none: every server gets what the first of them stored (a key they must
  // share, such as the one that seals event stream positions). Kept as long
  // as the database.
  virtual Result<std::string> SharedValue(const std::string& name, const std::string& proposed) = 0;
};

}  // namespace trialcore
