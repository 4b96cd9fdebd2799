// Sinks and helpers shared by the dataset format tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "standards/dataset.h"

namespace trialcore::standards::testing {

inline std::string SharedData(const std::string& relative) {
  return std::string(TRIALCORE_SHARED_DATA) + "/" + relative;
}

// Keeps everything it is given (tests only: the writers never keep rows).
class CollectingSink final : public DatasetWriter {
 public:
  Status Begin(const DatasetDescription& description) override {
    description_ = description;
    began_ = true;
    return Status::Ok();
  }
  Status Row(std::span<const Cell> values) override {
    std::vector<OwnedCell>& row = rows_.emplace_back();
    for (const Cell& v : values) row.push_back(Own(v));
    return Status::Ok();
  }
  Status End() override {
    ended_ = true;
    return Status::Ok();
  }
  const DatasetDescription& description() const { return description_; }
  const std::vector<std::vector<OwnedCell>>& rows() const { return rows_; }
  std::vector<std::vector<OwnedCell>>& mutable_rows() { return rows_; }
  bool began() const { return began_; }
  bool ended() const { return ended_; }

 private:
  DatasetDescription description_;
  std::vector<std::vector<OwnedCell>> rows_;
  bool began_ = false;
  bool ended_ = false;
};

// Counts rows and keeps only the description.
class CountingSink final : public DatasetWriter {
 public:
  Status Begin(const DatasetDescription& description) override {
    description_ = description;
    return Status::Ok();
  }
  Status Row(std::span<const Cell>) override {
    ++rows_;
    return Status::Ok();
  }
  Status End() override {
    ended_ = true;
    return Status::Ok();
  }
  const DatasetDescription& description() const { return description_; }
  uint64_t rows() const { return rows_; }
  bool ended() const { return ended_; }

 private:
  DatasetDescription description_;
  uint64_t rows_ = 0;
  bool ended_ = false;
};

// Values handed to one sink go on to another (to convert while reading).
class ForwardingSink : public DatasetWriter {
 public:
  explicit ForwardingSink(DatasetWriter* next) : next_(next) {}
  Status Begin(const DatasetDescription& description) override { return next_->Begin(description); }
  Status Row(std::span<const Cell> values) override { return next_->Row(values); }
  Status End() override { return next_->End(); }

 protected:
  DatasetWriter* next_;
};

// A fresh directory under the system's temporary directory, removed after.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tc-datasets-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Peak resident set size of this process in kB (VmHWM).
inline long PeakRssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// Resets VmHWM to the current RSS (Linux: "5" to clear_refs), so a peak
// measured afterwards belongs to what runs afterwards.
inline bool ResetPeakRss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return clear.good();
}

// Runs a shell command; its exit status and what it printed (stdout and stderr).
struct CommandResult {
  int status = -1;
  std::string output;
};
inline CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) result.output.append(buf, n);
  result.status = ::pclose(pipe);
  return result;
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace trialcore::standards::testing
