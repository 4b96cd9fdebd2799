// The production Env: POSIX files, the system clock and the kernel's CSPRNG.
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "core/env.h"

namespace trialcore {
namespace {

Status ErrnoStatus(const std::string& what, const std::string& path, int err) {
  std::string msg = what + " " + path + ": " + std::strerror(err);
  if (err == ENOENT) return NotFound(msg);
  if (err == EEXIST) return AlreadyExists(msg);
  if (err == EACCES || err == EPERM) return PermissionDenied(msg);
  if (err == ENOSPC || err == EDQUOT) return ResourceExhausted(msg);
  return IoError(msg);
}

class PosixFile final : public File {
 public:
  PosixFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixFile() override { ::close(fd_); }

  Status Read(uint64_t offset, size_t n, char* dst, size_t* bytes_read) override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, dst + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("reading", path_, errno);
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    *bytes_read = done;
    return Status::Ok();
  }

  Status Write(uint64_t offset, std::string_view data) override {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t r = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("writing", path_, errno);
      }
      done += static_cast<size_t>(r);
    }
    return Status::Ok();
  }

  Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return ErrnoStatus("truncating", path_, errno);
    return Status::Ok();
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0) return ErrnoStatus("syncing", path_, errno);
    return Status::Ok();
  }

  Result<uint64_t> Size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoStatus("stat", path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  std::string path_;
  int fd_;
};

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<File>> OpenFile(const std::string& path, const OpenOptions& options) override {
    int flags = O_CLOEXEC | (options.read_only ? O_RDONLY : O_RDWR);
    if (options.create) flags |= O_CREAT;
    if (options.create && options.exclusive) flags |= O_EXCL;
    int fd = ::open(path.c_str(), flags, options.mode);
    if (fd < 0) return ErrnoStatus("opening", path, errno);
    return std::unique_ptr<File>(new PosixFile(path, fd));
  }

  Status DeleteFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoStatus("deleting", path, errno);
    return Status::Ok();
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus("renaming", from, errno);
    // Make the rename itself durable.
    std::string dir = std::filesystem::path(to).parent_path().string();
    if (dir.empty()) dir = '.';
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
    return Status::Ok();
  }

  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  Status CreateDirs(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return IoError("creating directory " + path + ": " + ec.message());
    return Status::Ok();
  }

  Result<unsigned> FileMode(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("stat", path, errno);
    return static_cast<unsigned>(st.st_mode & 07777);
  }

  int64_t NowMicros() override {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  }

  Status RandomBytes(std::span<uint8_t> out) override {
    size_t done = 0;
    while (done < out.size()) {
      ssize_t r = ::getrandom(out.data() + done, out.size() - done, 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        return IoError(std::string("getrandom: ") + std::strerror(errno));
      }
      done += static_cast<size_t>(r);
    }
    return Status::Ok();
  }

  bool IsPosix() const override { return true; }
};

}  // namespace

Env* Env::Default() {
  static PosixEnv* env = new PosixEnv();
  return env;
}

}  // namespace trialcore
