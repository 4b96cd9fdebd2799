// JSON text <-> Value. Numbers with a fraction become Decimals that keep their
// exact text; integers must fit in 64 bits; duplicate keys are refused.
// Parsing is safe on untrusted input (HTTP bodies, `trialcore apply` lines):
// arrays and objects nest at most kMaxJsonDepth deep (deeper documents would
// exhaust the stack when the Value is copied, written or destroyed), and a
// number has at most kMaxJsonNumberLength characters.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "core/value.h"

namespace trialcore {

inline constexpr size_t kMaxJsonDepth = 64;
inline constexpr size_t kMaxJsonNumberLength = 64;

// Errors name the line and column of the problem (InvalidArgument).
Result<Value> ParseJson(std::string_view text);

// Compact JSON with keys in canonical (byte) order, or indented with two spaces.
std::string ToJson(const Value& value, bool pretty = false);

// Appends a JSON string literal (with quotes) for s.
void AppendJsonString(std::string* out, std::string_view s);
// Appends value's compact JSON (what ToJson writes), for text built in place.
void AppendJson(std::string* out, const Value& value);

}  // namespace trialcore
