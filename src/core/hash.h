// SHA-256 (OpenSSL) and the text forms hashes travel in.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace trialcore {

using Hash = std::array<uint8_t, 32>;

Hash Sha256(std::string_view data);
// SHA-256 over the concatenation a || b, without copying.
Hash Sha256Concat(std::string_view a, std::string_view b);

inline std::string_view AsBytes(const Hash& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

std::string ToHex(std::string_view bytes);
inline std::string ToHex(const Hash& h) { return ToHex(AsBytes(h)); }
Result<std::string> FromHex(std::string_view hex);
Result<Hash> HashFromHex(std::string_view hex);

std::string ToBase64(std::string_view bytes);
Result<std::string> FromBase64(std::string_view text);

}  // namespace trialcore
