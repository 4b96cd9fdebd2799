// The server's sessions and login rate limit, kept in the database
// (store/server_state.h) rather than in the process, so that any server of
// the same database takes a session's cookie and CSRF token and counts a
// client's logins (DESIGN.md §4: stateless servers behind a load balancer).
//
// Secrets: the cookie carries a random token; the database holds only its
// SHA-256 (SessionKey). The CSRF token is derived from the cookie token
// (CsrfToken: an HMAC keyed by it), so it is stored nowhere and every server
// computes the same one.
//
// Idle expiry: a request writes the session's last use only when the one
// stored is TouchInterval() old or more (a minute, or a quarter of the idle
// limit when that is shorter: one write a minute, not one a request), so the
// idle limit is judged on a last use up to that much earlier than the real
// one: an idle session ends between idle_us - TouchInterval() and idle_us
// after its last request, never later. The absolute lifetime
// is exact. Both are judged on the injected Env's clock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/env.h"
#include "core/status.h"
#include "store/server_state.h"

namespace trialcore::api {

struct SessionLimits {
  int64_t idle_us = 0;                // since the last use
  int64_t max_us = 0;                 // since the login, however active
  int login_attempts_per_minute = 0;  // per client address
};

struct Session {
  std::string key;  // SessionKey of the cookie token
  std::string user;
  std::string csrf;
  int64_t created_us = 0;
  bool has_signed = false;  // 21 CFR 11.200: the first signing needs ID and password
};

class Sessions {
 public:
  Sessions(ServerState* state, Env* env, SessionLimits limits) : state_(state), env_(env), limits_(limits) {}

  // A new session of the user: its cookie token (only the caller sees it)
  // and the session. Sessions that expired are removed on the way.
  Result<std::pair<std::string, Session>> Start(const std::string& user);

  // The session a cookie token opens now. NotFound: none (never was, logged
  // out, or removed); Unauthenticated: it expired (and is removed). Writes
  // the last use at most every TouchInterval(). The session's CSRF token is
  // derived only `with_csrf` (an HMAC per request that most reads never use).
  Result<Session> Resume(std::string_view token, bool with_csrf = true);
  // The same by key, without counting as a use (an open event stream).
  Result<Session> Peek(const std::string& key);

  Status End(const std::string& key) { return state_->DeleteSession(key); }
  Status MarkSigned(const std::string& key) { return state_->MarkSessionSigned(key); }
  Result<uint64_t> CountLive();

  // Whether a login from the client may go ahead: at most
  // login_attempts_per_minute a minute, counted by every server.
  Result<bool> LoginAllowed(const std::string& client);

  // At most this often a session's last use is written (see above).
  int64_t TouchInterval() const;

 private:
  // The stored session as of now, or why not (as Resume says).
  Result<SessionRecord> Live(const std::string& key);

  ServerState* state_;
  Env* env_;
  SessionLimits limits_;
};

}  // namespace trialcore::api
