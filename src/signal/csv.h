// A streaming reader of RFC 4180 CSV: quoted fields may hold commas, quotes
// ("" inside quotes) and line breaks. Errors name the file and line.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "core/status.h"

namespace trialcore::signal {

class CsvReader {
 public:
  // NotFound if the file cannot be opened.
  static Result<CsvReader> Open(const std::string& path);

  // Reads the next record into fields (reusing the strings already there);
  // false at end of file. A record's line number is that of its first line.
  Result<bool> Next(std::vector<std::string>* fields);
  uint64_t line() const { return record_line_; }
  const std::string& path() const { return path_; }

 private:
  CsvReader(std::string path, std::ifstream in) : path_(std::move(path)), in_(std::move(in)) {}
  std::string path_;
  std::ifstream in_;
  std::string line_;  // the current line, kept for its capacity
  uint64_t next_line_ = 1;
  uint64_t record_line_ = 0;
};

}  // namespace trialcore::signal
