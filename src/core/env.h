// Env is the only door to files, fsync, the clock and randomness, so that tests
// can swap in memory-backed files, injected faults, a fixed clock and seeded
// randomness (the leveldb Env pattern).
//
// Thread safety: Env implementations are safe to call from several threads.
// A File is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace trialcore {

// A file opened for random-access reads and writes. Data written is durable
// only after Sync() returns OK.
class File {
 public:
  virtual ~File() = default;
  // Reads up to n bytes at offset into dst; *bytes_read < n only at end of file.
  virtual Status Read(uint64_t offset, size_t n, char* dst, size_t* bytes_read) = 0;
  virtual Status Write(uint64_t offset, std::string_view data) = 0;
  virtual Status Truncate(uint64_t size) = 0;
  virtual Status Sync() = 0;
  virtual Result<uint64_t> Size() = 0;
};

struct OpenOptions {
  bool create = false;     // create if missing
  bool exclusive = false;  // with create: fail with AlreadyExists if it exists
  bool read_only = false;
  unsigned mode = 0644;  // permission bits when created (0600 for secrets)
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX environment. Never deleted.
  static Env* Default();

  virtual Result<std::unique_ptr<File>> OpenFile(const std::string& path, const OpenOptions& options) = 0;
  virtual Status DeleteFile(const std::string& path) = 0;
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  virtual Status CreateDirs(const std::string& path) = 0;
  // Permission bits of an existing file (for checking that secrets stay 0600).
  virtual Result<unsigned> FileMode(const std::string& path) = 0;

  // Microseconds since the Unix epoch, UTC.
  virtual int64_t NowMicros() = 0;
  // Cryptographically strong random bytes (seeded and repeatable in tests).
  virtual Status RandomBytes(std::span<uint8_t> out) = 0;

  // True when files are the operating system's own, so that libraries with
  // their own file layer (SQLite's unix VFS) may be used directly.
  virtual bool IsPosix() const { return false; }

  // Helpers built on the primitives above.
  Result<std::string> ReadFileToString(const std::string& path);
  // Writes to a temporary file, syncs it, and renames it over path, so that a
  // crash leaves either the old or the new content.
  Status WriteFileAtomically(const std::string& path, std::string_view data, unsigned mode = 0644);
};

}  // namespace trialcore
