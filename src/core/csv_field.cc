#include "core/csv_field.h"

#include <regex>

namespace trialcore {

std::string CsvField(std::string_view field) {
  if (field.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string CsvSafeField(std::string_view field) {
  static const char kHex[] = "0123456789abcdef";
  std::string text;
  text.reserve(field.size());
  for (char c : field) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\\') {
      text += "\\\\";
    } else if (c == '\n') {
      text += "\\n";
    } else if (c == '\r') {
      text += "\\r";
    } else if (c == '\t') {
      text += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      text += "\\x";
      text += kHex[u >> 4];
      text += kHex[u & 15];
    } else {
      text += c;
    }
  }
  static const std::regex kNumber(R"([+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
  const bool formula = !text.empty() && std::string_view("=+-@").find(text[0]) != std::string_view::npos &&
                       !std::regex_match(text, kNumber);
  return formula ? CsvField(std::string(1, '\'').append(text)) : CsvField(text);
}

}  // namespace trialcore
