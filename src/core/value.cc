#include "core/value.h"

#include <cstring>

namespace trialcore {

const char* DecimalTextProblem(std::string_view text, size_t* at) {
  size_t i = 0;
  if (i < text.size() && text[i] == '-') ++i;
  size_t int_start = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  size_t int_len = i - int_start;
  if (at) *at = i;
  if (int_len == 0) return "expected digits";
  if (int_len > 1 && text[int_start] == '0') return "leading zero";
  bool all_zero = true;
  for (size_t k = int_start; k < i; ++k) all_zero &= text[k] == '0';
  if (i < text.size() && text[i] == '.') {
    ++i;
    size_t frac_start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      all_zero &= text[i] == '0';
      ++i;
    }
    if (at) *at = i;
    if (i == frac_start) return "expected digits after the decimal point";
  }
  if (i != text.size()) return "unexpected character";
  if (text[0] == '-' && all_zero) return "negative zero";
  return nullptr;
}

Result<Decimal> Decimal::Parse(std::string_view text) {
  size_t at = 0;
  if (const char* why = DecimalTextProblem(text, &at)) {
    std::string what = why;
    if (at < text.size() && what == "unexpected character") {
      what += " '" + std::string(1, text[at]) + "' (exponents are not allowed)";
    }
    return InvalidArgument("invalid decimal \"" + std::string(text) + "\": " + what);
  }
  return Decimal(std::string(text));
}

const Value* Value::Find(std::string_view key) const {
  if (!is_object()) return nullptr;
  const auto& obj = as_object();
  auto it = obj.find(std::string(key));
  return it == obj.end() ? nullptr : &it->second;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // Eight ASCII bytes at a time: nearly every string in a log is ASCII,
    // and the verifier checks every one.
    while (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if (word & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace trialcore
