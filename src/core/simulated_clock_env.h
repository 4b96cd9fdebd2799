// An Env whose clock a simulation moves back in time, one thread at a time,
// so that what a simulator records is stamped with the moment it simulates
// (the demo study then has months of history, not one instant). Everything
// else passes to the wrapped Env.
//
// A thread reads the base clock until it sets a time of its own, and its
// own time never lies after the base clock: nothing can be stamped in the
// future. Which thread reads what is per Env and per thread, so the servers
// and other threads sharing the base Env are unaffected. The store still
// never lets times decrease along its log (doc/event_store.md): a simulated
// time before the log's last one is stamped as that one.
//
// Thread safety: as every Env; SetThreadTime affects the calling thread only.
#pragma once

#include <cstdint>

#include "core/env.h"

namespace trialcore {

class SimulatedClockEnv final : public Env {
 public:
  explicit SimulatedClockEnv(Env* base) : base_(base) {}

  // The calling thread reads time_us (or the base clock, if earlier) from
  // now on, until ClearThreadTime.
  void SetThreadTime(int64_t time_us);
  void ClearThreadTime();

  int64_t NowMicros() override;
  // The base clock, whatever this thread's time.
  int64_t BaseNowMicros() { return base_->NowMicros(); }

  Result<std::unique_ptr<File>> OpenFile(const std::string& path, const OpenOptions& options) override {
    return base_->OpenFile(path, options);
  }
  Status DeleteFile(const std::string& path) override { return base_->DeleteFile(path); }
  Status RenameFile(const std::string& from, const std::string& to) override { return base_->RenameFile(from, to); }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  Status CreateDirs(const std::string& path) override { return base_->CreateDirs(path); }
  Result<unsigned> FileMode(const std::string& path) override { return base_->FileMode(path); }
  Status RandomBytes(std::span<uint8_t> out) override { return base_->RandomBytes(out); }
  bool IsPosix() const override { return base_->IsPosix(); }

 private:
  Env* base_;
};

// Sets a thread's simulated time for the life of the scope.
class SimulatedTimeScope {
 public:
  SimulatedTimeScope(SimulatedClockEnv* clock, int64_t time_us) : clock_(clock) {
    if (clock_ != nullptr) clock_->SetThreadTime(time_us);
  }
  ~SimulatedTimeScope() {
    if (clock_ != nullptr) clock_->ClearThreadTime();
  }
  SimulatedTimeScope(const SimulatedTimeScope&) = delete;
  SimulatedTimeScope& operator=(const SimulatedTimeScope&) = delete;

 private:
  SimulatedClockEnv* clock_;
};

}  // namespace trialcore
