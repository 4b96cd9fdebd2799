// Envs for tests: files in memory with a notion of what was synced, and a
// wrapper that injects the faults a disk can produce. Used by the store's
// fault tests, never by production code.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "core/env.h"

namespace trialcore {

// Files live in memory. Each file remembers the content it had at its last
// Sync(), so DropUnsyncedData() can simulate a power cut. The clock is set by
// the test and randomness is a seeded generator.
class MemEnv final : public Env {
 public:
  explicit MemEnv(uint64_t seed = 42, int64_t now_micros = 1'700'000'000'000'000);
  ~MemEnv() override;

  Result<std::unique_ptr<File>> OpenFile(const std::string& path, const OpenOptions& options) override;
  Status DeleteFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  bool FileExists(const std::string& path) override;
  Status CreateDirs(const std::string& path) override;
  Result<unsigned> FileMode(const std::string& path) override;
  int64_t NowMicros() override;
  Status RandomBytes(std::span<uint8_t> out) override;

  void SetNowMicros(int64_t now) { now_ = now; }
  void AdvanceMicros(int64_t delta) { now_ += delta; }
  // Every file loses what was written after its last Sync(), as after a power cut.
  void DropUnsyncedData();

  struct FileData;

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<FileData>> files_;
  std::atomic<int64_t> now_;
  std::mt19937_64 rng_;
};

// Wraps another Env and makes chosen operations fail, as a failing disk would.
// Counters are shared by all files opened through this Env.
class FaultInjectionEnv final : public Env {
 public:
  explicit FaultInjectionEnv(Env* base) : base_(base) {}

  // The nth Sync() from now (1 = the next) and every later one fail with IoError.
  void FailSyncAfter(int n) { syncs_until_failure_ = n; }
  // The nth Write() from now and every later one fail with IoError.
  void FailWriteAfter(int n) { writes_until_failure_ = n; }
  // Writes that would grow the total bytes written past this budget fail as
  // ENOSPC does (ResourceExhausted); -1 means unlimited.
  void SetDiskSpace(int64_t bytes) { space_left_ = bytes; }
  // Stop injecting faults.
  void Heal() {
    syncs_until_failure_ = -1;
    writes_until_failure_ = -1;
    space_left_ = -1;
  }

  Result<std::unique_ptr<File>> OpenFile(const std::string& path, const OpenOptions& options) override;
  Status DeleteFile(const std::string& path) override { return base_->DeleteFile(path); }
  Status RenameFile(const std::string& from, const std::string& to) override { return base_->RenameFile(from, to); }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  Status CreateDirs(const std::string& path) override { return base_->CreateDirs(path); }
  Result<unsigned> FileMode(const std::string& path) override { return base_->FileMode(path); }
  int64_t NowMicros() override { return base_->NowMicros(); }
  Status RandomBytes(std::span<uint8_t> out) override { return base_->RandomBytes(out); }

  // Called by files; true when this operation must fail.
  bool ShouldFailSync();
  bool ShouldFailWrite();
  bool ConsumeSpace(size_t bytes);

 private:
  Env* base_;
  std::atomic<int> syncs_until_failure_{-1};
  std::atomic<int> writes_until_failure_{-1};
  std::atomic<int64_t> space_left_{-1};
};

}  // namespace trialcore
