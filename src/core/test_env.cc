#include "core/test_env.h"

#include <algorithm>
#include <cstring>

namespace trialcore {

struct MemEnv::FileData {
  std::mutex mu;
  std::string data;    // what readers see
  std::string synced;  // what survives a power cut
  unsigned mode = 0644;
};

namespace {

class MemFile final : public File {
 public:
  MemFile(std::shared_ptr<MemEnv::FileData> data, bool read_only) : data_(std::move(data)), read_only_(read_only) {}

  Status Read(uint64_t offset, size_t n, char* dst, size_t* bytes_read) override {
    std::lock_guard lock(data_->mu);
    const std::string& d = data_->data;
    if (offset >= d.size()) {
      *bytes_read = 0;
      return Status::Ok();
    }
    size_t len = std::min<uint64_t>(n, d.size() - offset);
    std::memcpy(dst, d.data() + offset, len);
    *bytes_read = len;
    return Status::Ok();
  }

  Status Write(uint64_t offset, std::string_view data) override {
    if (read_only_) return PermissionDenied("file opened read-only");
    std::lock_guard lock(data_->mu);
    std::string& d = data_->data;
    if (d.size() < offset + data.size()) d.resize(offset + data.size(), '\0');
    std::memcpy(d.data() + offset, data.data(), data.size());
    return Status::Ok();
  }

  Status Truncate(uint64_t size) override {
    std::lock_guard lock(data_->mu);
    data_->data.resize(size, '\0');
    return Status::Ok();
  }

  Status Sync() override {
    std::lock_guard lock(data_->mu);
    data_->synced = data_->data;
    return Status::Ok();
  }

  Result<uint64_t> Size() override {
    std::lock_guard lock(data_->mu);
    return static_cast<uint64_t>(data_->data.size());
  }

 private:
  std::shared_ptr<MemEnv::FileData> data_;
  bool read_only_;
};

class FaultyFile final : public File {
 public:
  FaultyFile(FaultInjectionEnv* env, std::unique_ptr<File> base, std::string path)
      : env_(env), base_(std::move(base)), path_(std::move(path)) {}

  Status Read(uint64_t offset, size_t n, char* dst, size_t* bytes_read) override {
    return base_->Read(offset, n, dst, bytes_read);
  }
  Status Write(uint64_t offset, std::string_view data) override {
    if (env_->ShouldFailWrite()) return IoError("writing " + path_ + ": Input/output error (injected)");
    TC_ASSIGN_OR_RETURN(uint64_t size, base_->Size());
    uint64_t end = offset + data.size();
    if (end > size && !env_->ConsumeSpace(end - size)) {
      return ResourceExhausted("writing " + path_ + ": No space left on device (injected ENOSPC)");
    }
    return base_->Write(offset, data);
  }
  Status Truncate(uint64_t size) override { return base_->Truncate(size); }
  Status Sync() override {
    if (env_->ShouldFailSync()) return IoError("syncing " + path_ + ": Input/output error (injected)");
    return base_->Sync();
  }
  Result<uint64_t> Size() override { return base_->Size(); }

 private:
  FaultInjectionEnv* env_;
  std::unique_ptr<File> base_;
  std::string path_;
};

bool CountDown(std::atomic<int>& counter) {
  int v = counter.load();
  while (v > 0) {
    if (counter.compare_exchange_weak(v, v - 1)) return v == 1;
  }
  return v == 0;  // already failing
}

}  // namespace

MemEnv::MemEnv(uint64_t seed, int64_t now_micros) : now_(now_micros), rng_(seed) {}
MemEnv::~MemEnv() = default;

Result<std::unique_ptr<File>> MemEnv::OpenFile(const std::string& path, const OpenOptions& options) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) {
    if (!options.create) return NotFound("opening " + path + ": No such file or directory");
    auto data = std::make_shared<FileData>();
    data->mode = options.mode;
    it = files_.emplace(path, std::move(data)).first;
  } else if (options.create && options.exclusive) {
    return AlreadyExists("opening " + path + ": File exists");
  }
  return std::unique_ptr<File>(new MemFile(it->second, options.read_only));
}

Status MemEnv::DeleteFile(const std::string& path) {
  std::lock_guard lock(mu_);
  if (files_.erase(path) == 0) return NotFound("deleting " + path + ": No such file or directory");
  return Status::Ok();
}

Status MemEnv::RenameFile(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  auto it = files_.find(from);
  if (it == files_.end()) return NotFound("renaming " + from + ": No such file or directory");
  files_[to] = it->second;
  files_.erase(it);
  return Status::Ok();
}

bool MemEnv::FileExists(const std::string& path) {
  std::lock_guard lock(mu_);
  return files_.count(path) > 0;
}

Status MemEnv::CreateDirs(const std::string&) { return Status::Ok(); }

Result<unsigned> MemEnv::FileMode(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return NotFound("stat " + path + ": No such file or directory");
  return it->second->mode;
}

int64_t MemEnv::NowMicros() { return now_.load(); }

Status MemEnv::RandomBytes(std::span<uint8_t> out) {
  std::lock_guard lock(mu_);
  for (auto& b : out) b = static_cast<uint8_t>(rng_());
  return Status::Ok();
}

void MemEnv::DropUnsyncedData() {
  std::lock_guard lock(mu_);
  for (auto& [path, file] : files_) {
    std::lock_guard flock(file->mu);
    file->data = file->synced;
  }
}

Result<std::unique_ptr<File>> FaultInjectionEnv::OpenFile(const std::string& path, const OpenOptions& options) {
  TC_ASSIGN_OR_RETURN(auto file, base_->OpenFile(path, options));
  return std::unique_ptr<File>(new FaultyFile(this, std::move(file), path));
}

bool FaultInjectionEnv::ShouldFailSync() { return CountDown(syncs_until_failure_); }
bool FaultInjectionEnv::ShouldFailWrite() { return CountDown(writes_until_failure_); }

bool FaultInjectionEnv::ConsumeSpace(size_t bytes) {
  int64_t v = space_left_.load();
  while (v >= 0) {
    if (static_cast<int64_t>(bytes) > v) return false;
    if (space_left_.compare_exchange_weak(v, v - static_cast<int64_t>(bytes))) return true;
  }
  return true;  // unlimited
}

}  // namespace trialcore
