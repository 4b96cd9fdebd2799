#include "api/sessions.h"

#include <algorithm>

#include "api/credentials.h"
#include "api/users.h"

namespace trialcore::api {

Result<std::pair<std::string, Session>> Sessions::Start(const std::string& user) {
  TC_ASSIGN_OR_RETURN(std::string token, RandomToken(env_));
  const int64_t now = env_->NowMicros();
  // Logins are rare beside requests: each clears what has expired, so the
  // table holds live sessions and the few that expired since the last login.
  TC_RETURN_IF_ERROR(state_->DeleteExpiredSessions(now - limits_.idle_us, now - limits_.max_us).status());
  SessionRecord record{SessionKey(token), user, now, now, false};
  TC_RETURN_IF_ERROR(state_->CreateSession(record));
  return std::make_pair(token, Session{record.key, user, CsrfToken(token), now, false});
}

Result<SessionRecord> Sessions::Live(const std::string& key) {
  TC_ASSIGN_OR_RETURN(std::optional<SessionRecord> found, state_->FindSession(key));
  if (!found) return NotFound("log in first");
  const int64_t now = env_->NowMicros();
  if (now - found->last_used_us > limits_.idle_us || now - found->created_us > limits_.max_us) {
    (void)state_->DeleteSession(key);  // another request will find it expired anyway
    return Unauthenticated("your session has expired; log in again (nothing you sent was saved)");
  }
  return *found;
}

Result<Session> Sessions::Resume(std::string_view token, bool with_csrf) {
  const std::string key = SessionKey(token);
  TC_ASSIGN_OR_RETURN(SessionRecord record, Live(key));
  const int64_t now = env_->NowMicros();
  if (now - record.last_used_us >= TouchInterval()) TC_RETURN_IF_ERROR(state_->TouchSession(key, now));
  return Session{key, record.user, with_csrf ? CsrfToken(token) : std::string(), record.created_us, record.has_signed};
}

Result<Session> Sessions::Peek(const std::string& key) {
  TC_ASSIGN_OR_RETURN(SessionRecord record, Live(key));
  return Session{key, record.user, "", record.created_us, record.has_signed};
}

int64_t Sessions::TouchInterval() const { return std::min<int64_t>(60'000'000, limits_.idle_us / 4); }

Result<uint64_t> Sessions::CountLive() {
  const int64_t now = env_->NowMicros();
  return state_->CountLiveSessions(now - limits_.idle_us, now - limits_.max_us);
}

Result<bool> Sessions::LoginAllowed(const std::string& client) {
  return state_->TakeLoginAttempt(client, env_->NowMicros(), 60'000'000, limits_.login_attempts_per_minute);
}

}  // namespace trialcore::api
