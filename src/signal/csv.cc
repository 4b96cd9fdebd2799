#include "signal/csv.h"

namespace trialcore::signal {

Result<CsvReader> CsvReader::Open(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path);
  return CsvReader(path, std::move(in));
}

Result<bool> CsvReader::Next(std::vector<std::string>* fields) {
  fields->clear();
  std::string line;
  if (!std::getline(in_, line)) return false;
  record_line_ = next_line_++;
  std::string field;
  bool quoted = false, was_quoted = false;
  size_t i = 0;
  while (true) {
    if (i == line.size()) {
      if (quoted) {
        // A line break inside quotes belongs to the field.
        if (!std::getline(in_, line)) {
          return InvalidArgument(path_ + ":" + std::to_string(record_line_) +
                                 ": a quoted field is not closed before the end of the file");
        }
        ++next_line_;
        field.push_back('\n');
        i = 0;
        continue;
      }
      if (!field.empty() && field.back() == '\r' && !was_quoted) field.pop_back();
      fields->push_back(std::move(field));
      return true;
    }
    char c = line[i++];
    if (quoted) {
      if (c == '"') {
        if (i < line.size() && line[i] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      if (!field.empty()) {
        return InvalidArgument(path_ + ":" + std::to_string(record_line_) + ": a quote in the middle of field " +
                               std::to_string(fields->size() + 1) + " (quote the whole field and double the quote)");
      }
      quoted = was_quoted = true;
    } else if (c == ',') {
      fields->push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '\r' && i == line.size()) {
      // CRLF line ending.
    } else {
      if (was_quoted) {
        return InvalidArgument(path_ + ":" + std::to_string(record_line_) + ": text after the closing quote of field " +
                               std::to_string(fields->size() + 1));
      }
      field.push_back(c);
    }
  }
}

}  // namespace trialcore::signal
