// Writing CSV: one field quoted as RFC 4180 requires (only when it holds a
// comma, quote or line break; quotes doubled).
#pragma once

#include <string>
#include <string_view>

namespace trialcore {

std::string CsvField(std::string_view field);

// A field of an export that people open in spreadsheets (OWASP's CSV
// injection advice): control characters are written as \n, \r, \t or \xNN
// (and a backslash as \\), and a field a spreadsheet would run as a
// formula (starting with =, +, -, @) gets a leading ' unless it is a plain
// number; then quoted as CsvField does.
std::string CsvSafeField(std::string_view field);

}  // namespace trialcore
