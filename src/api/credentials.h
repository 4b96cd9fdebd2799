// How a request's secrets are read and compared: the session cookie by its
// exact name, bearer tokens, and every comparison of a secret in constant
// time, so that neither a look-alike cookie nor the time an answer takes
// tells an attacker anything about a session, CSRF or API token.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace trialcore::api {

inline constexpr char kSessionCookie[] = "tc_session";

// The value of the cookie named exactly `name` in a Cookie header
// ("a=1; tc_session=…"), per RFC 6265 §5.4: pairs split on ';', the name
// trimmed and compared whole, so "xtc_session" or "tc_session_old" never
// match. The first such cookie wins; nullopt when none.
std::optional<std::string> CookieValue(std::string_view header, std::string_view name);

// The token of an "Authorization: Bearer TOKEN" header (scheme matched
// without regard to case, RFC 9110 §11.1); nullopt for any other header.
std::optional<std::string> BearerToken(std::string_view authorization);

// Whether two secrets are equal, in time that depends on neither's content
// nor on where they differ (their SHA-256 digests compared with
// sodium_memcmp, so a length difference tells nothing either).
bool SameSecret(std::string_view a, std::string_view b);

// The key a session is kept under: the SHA-256 of its token, so that looking
// it up (in an ordered map, comparing byte by byte) reveals nothing of the
// token itself.
std::string SessionKey(std::string_view token);

// A session's CSRF token, derived from its cookie token: HMAC-SHA256 keyed
// by the cookie token, as hex. Stored nowhere (the database holds only the
// cookie token's SHA-256, from which it cannot be made), the same on every
// server, and telling nothing of the cookie token to a script that reads it.
std::string CsrfToken(std::string_view session_token);

// A secret read from a file (serve --metrics-token-file): the file's text
// without a trailing newline; refused when shorter than 32 characters.
Result<std::string> SecretFromText(std::string_view text, std::string_view what);

// Whether a request may read /metrics, whose counters count every event of
// the installation, hidden ones included: only with the configured metrics
// token as its bearer token. NotFound when none is configured (the route is
// off), PermissionDenied (answered 401) for a missing or wrong token.
Status MetricsAllowed(std::string_view configured_token, std::string_view authorization);

}  // namespace trialcore::api
