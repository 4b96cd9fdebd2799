// Writing CSV: one field quoted as RFC 4180 requires (only when it holds a
// comma, quote or line break; quotes doubled).
#pragma once

#include <string>
#include <string_view>

namespace trialcore {

std::string CsvField(std::string_view field);

}  // namespace trialcore
