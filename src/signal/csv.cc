#include "signal/csv.h"

namespace trialcore::signal {

Result<CsvReader> CsvReader::Open(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path);
  return CsvReader(path, std::move(in));
}

Result<bool> CsvReader::Next(std::vector<std::string>* fields) {
  // The line and the fields' strings are reused from record to record, so
  // that reading allocates only while they grow: a reader of millions of
  // rows otherwise spends its time in malloc.
  std::string& line = line_;
  if (!std::getline(in_, line)) {
    fields->clear();
    return false;
  }
  record_line_ = next_line_++;
  size_t count = 0;  // fields begun
  auto begin_field = [&]() -> std::string& {
    if (count == fields->size()) fields->emplace_back();
    std::string& f = (*fields)[count++];
    f.clear();
    return f;
  };
  std::string* field = &begin_field();
  bool quoted = false, was_quoted = false;
  size_t i = 0;
  while (true) {
    if (i == line.size()) {
      if (quoted) {
        // A line break inside quotes belongs to the field.
        if (!std::getline(in_, line)) {
          fields->resize(count);
          return InvalidArgument(path_ + ":" + std::to_string(record_line_) +
                                 ": a quoted field is not closed before the end of the file");
        }
        ++next_line_;
        field->push_back('\n');
        i = 0;
        continue;
      }
      if (!field->empty() && field->back() == '\r' && !was_quoted) field->pop_back();
      fields->resize(count);
      return true;
    }
    if (!quoted && !was_quoted) {
      // The common case, a plain field: copy up to the next comma, quote or
      // end of line at once.
      size_t stop = line.find_first_of(",\"\r", i);
      if (stop == std::string::npos) stop = line.size();
      field->append(line, i, stop - i);
      i = stop;
      if (i == line.size()) continue;
    }
    char c = line[i++];
    if (quoted) {
      if (c == '"') {
        if (i < line.size() && line[i] == '"') {
          field->push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field->push_back(c);
      }
    } else if (c == '"') {
      if (!field->empty()) {
        fields->resize(count);
        return InvalidArgument(path_ + ":" + std::to_string(record_line_) + ": a quote in the middle of field " +
                               std::to_string(count) + " (quote the whole field and double the quote)");
      }
      quoted = was_quoted = true;
    } else if (c == ',') {
      field = &begin_field();
      was_quoted = false;
    } else if (c == '\r' && i == line.size()) {
      // CRLF line ending.
    } else {
      if (was_quoted) {
        fields->resize(count);
        return InvalidArgument(path_ + ":" + std::to_string(record_line_) + ": text after the closing quote of field " +
                               std::to_string(count));
      }
      field->push_back(c);
    }
  }
}

}  // namespace trialcore::signal
