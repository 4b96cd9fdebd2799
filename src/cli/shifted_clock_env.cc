#include "cli/shifted_clock_env.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

namespace trialcore::cli {

namespace {

class ShiftedClockEnv final : public Env {
 public:
  ShiftedClockEnv(Env* base, std::string file) : base_(base), file_(std::move(file)) {
    ReadOffset();
    poller_ = std::thread([this] {
      while (!stop_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        ReadOffset();
      }
    });
  }
  ~ShiftedClockEnv() override {
    stop_ = true;
    poller_.join();
  }
  Result<std::unique_ptr<File>> OpenFile(const std::string& path, const OpenOptions& o) override {
    return base_->OpenFile(path, o);
  }
  Status DeleteFile(const std::string& path) override { return base_->DeleteFile(path); }
  Status RenameFile(const std::string& from, const std::string& to) override { return base_->RenameFile(from, to); }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  Status CreateDirs(const std::string& path) override { return base_->CreateDirs(path); }
  Result<unsigned> FileMode(const std::string& path) override { return base_->FileMode(path); }
  int64_t NowMicros() override { return base_->NowMicros() + offset_.load(); }
  Status RandomBytes(std::span<uint8_t> out) override { return base_->RandomBytes(out); }
  bool IsPosix() const override { return base_->IsPosix(); }

 private:
  // A file caught half-written keeps the previous shift.
  void ReadOffset() {
    auto text = base_->ReadFileToString(file_);
    if (!text.ok()) return;
    try {
      offset_ = std::stoll(*text);
    } catch (const std::exception&) {
    }
  }

  Env* base_;
  std::string file_;
  std::atomic<int64_t> offset_{0};
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

}  // namespace

std::unique_ptr<Env> ShiftedClockEnvFromEnvironment(Env* base) {
  const char* file = std::getenv("TRIALCORE_CLOCK_FILE");
  if (file == nullptr || *file == '\0') {
    std::cerr << "trialcore_shifted_clock: set TRIALCORE_CLOCK_FILE to the file holding the clock shift "
                 "(microseconds)\n";
    return nullptr;
  }
  return std::make_unique<ShiftedClockEnv>(base, file);
}

}  // namespace trialcore::cli
