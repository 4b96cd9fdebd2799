// JSON text <-> Value. Numbers with a fraction become Decimals that keep their
// exact text; integers must fit in 64 bits; duplicate keys are refused.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "core/value.h"

namespace trialcore {

// Errors name the line and column of the problem.
Result<Value> ParseJson(std::string_view text);

// Compact JSON with keys in canonical (byte) order, or indented with two spaces.
std::string ToJson(const Value& value, bool pretty = false);

// Appends a JSON string literal (with quotes) for s.
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace trialcore
