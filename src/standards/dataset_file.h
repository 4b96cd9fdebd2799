// Files for the dataset formats, through the Env: an output written to
// "<path>.tmp" in large buffered writes and renamed over the path only when
// complete (so an error or a crash never leaves a half-written dataset under
// its real name), and a buffered sequential input.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/env.h"
#include "core/status.h"

namespace trialcore::standards {

class StagedOutput {
 public:
  StagedOutput() = default;
  // Removes the temporary file unless Commit() succeeded.
  ~StagedOutput();
  StagedOutput(const StagedOutput&) = delete;
  StagedOutput& operator=(const StagedOutput&) = delete;

  Status Open(Env* env, const std::string& path);
  bool is_open() const { return file_ != nullptr; }
  const std::string& path() const { return path_; }

  // Appends; the buffer goes to the file when it is full.
  Status Append(std::string_view data);
  // The buffer itself, for formatting in place (then MaybeFlush()).
  std::string& buffer() { return buffer_; }
  Status MaybeFlush() { return buffer_.size() >= kBufferSize ? Flush() : Status::Ok(); }
  // Bytes written so far (file and buffer): the offset of the next byte.
  uint64_t size() const { return written_ + buffer_.size(); }
  // Overwrites bytes already appended at offset (in the file or still in the buffer).
  Status Overwrite(uint64_t offset, std::string_view data);

  // Flushes, syncs and renames the temporary file over the path.
  Status Commit();
  // Deletes the temporary file (also what the destructor does before Commit).
  void Abandon();

 private:
  static constexpr size_t kBufferSize = 1 << 20;
  Status Flush();

  Env* env_ = nullptr;
  std::string path_;
  std::string tmp_path_;
  std::unique_ptr<File> file_;
  std::string buffer_;
  uint64_t written_ = 0;
};

// Reads a file front to back in large blocks through the Env.
class BufferedInput {
 public:
  Status Open(Env* env, const std::string& path);
  const std::string& path() const { return path_; }
  uint64_t file_size() const { return size_; }
  // Up to n bytes at the current position into dst; 0 at the end.
  Result<size_t> Read(char* dst, size_t n);
  // The next byte, or -1 at the end (Status in status()).
  int Next() {
    if (pos_ < end_) return static_cast<unsigned char>(block_[pos_++]);
    return Refill();
  }
  // Reads a line without its '\n' (and '\r'); false at the end of the file.
  Result<bool> ReadLine(std::string* line);
  const Status& status() const { return status_; }

 private:
  static constexpr size_t kBlockSize = 1 << 20;
  int Refill();

  std::string path_;
  std::unique_ptr<File> file_;
  uint64_t size_ = 0;
  uint64_t offset_ = 0;  // file offset of block_'s end
  std::string block_;
  size_t pos_ = 0;
  size_t end_ = 0;
  Status status_;
};

}  // namespace trialcore::standards
