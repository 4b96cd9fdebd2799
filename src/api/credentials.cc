#include "api/credentials.h"

#include <sodium.h>

#include <cctype>

#include "core/hash.h"

namespace trialcore::api {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string> CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (Trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = Trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return std::string(value);
  }
  return std::nullopt;
}

std::optional<std::string> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return std::nullopt;
  }
  std::string_view token = Trim(authorization.substr(kScheme.size()));
  if (token.empty()) return std::nullopt;
  return std::string(token);
}

bool SameSecret(std::string_view a, std::string_view b) {
  const Hash da = Sha256(a), db = Sha256(b);
  return sodium_memcmp(da.data(), db.data(), da.size()) == 0;
}

std::string SessionKey(std::string_view token) { return ToHex(Sha256(token)); }

std::string CsrfToken(std::string_view session_token) {
  constexpr std::string_view kPurpose = "trialcore csrf token v1";
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(session_token.data()),
                              session_token.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(kPurpose.data()), kPurpose.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  return ToHex(std::string_view(reinterpret_cast<const char*>(mac), sizeof mac));
}

Result<std::string> SecretFromText(std::string_view text, std::string_view what) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.size() < 32) {
    return InvalidArgument(std::string(what) + " must hold a secret of at least 32 characters (it has " +
                           std::to_string(text.size()) + ")");
  }
  return std::string(text);
}

Status MetricsAllowed(std::string_view configured_token, std::string_view authorization) {
  if (configured_token.empty()) {
    return NotFound("/metrics is off: start the server with --metrics-token-file to enable it");
  }
  std::optional<std::string> token = BearerToken(authorization);
  if (!token || !SameSecret(*token, configured_token)) {
    return PermissionDenied("/metrics needs the metrics token as its bearer token (Authorization: Bearer …)");
  }
  return Status::Ok();
}

}  // namespace trialcore::api
