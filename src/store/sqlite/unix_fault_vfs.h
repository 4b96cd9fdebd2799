// For tests: a SQLite VFS over SQLite's own unix VFS, the file layer production
// uses (its locks, its shared-memory WAL index, its memory-mapped reads), that
// remembers what each database, WAL and journal file held at its last sync. A
// test can then cut the power, losing every byte that was not synced, and can
// fail syncs and writes or fill the disk, as FaultInjectionEnv does for the
// Env VFS. Installed as SQLite's default VFS, so the store under test opens its
// database exactly as in production (Env::Default()).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

struct sqlite3_vfs;

namespace trialcore {

class UnixFaultVfs {
 public:
  // Registers the VFS as SQLite's default; one instance at a time.
  UnixFaultVfs();
  // Makes SQLite's unix VFS the default again. Every store opened while this
  // VFS was the default must be closed first.
  ~UnixFaultVfs();
  UnixFaultVfs(const UnixFaultVfs&) = delete;
  UnixFaultVfs& operator=(const UnixFaultVfs&) = delete;

  // The nth xSync from now (1 = the next) and every later one fail.
  void FailSyncAfter(int n) { syncs_until_failure_ = n; }
  // The nth xWrite from now and every later one fail.
  void FailWriteAfter(int n) { writes_until_failure_ = n; }
  // Writes that would grow files by more than this many bytes in total fail
  // as ENOSPC does (SQLITE_FULL); -1 means unlimited.
  void SetDiskSpace(int64_t bytes) { space_left_ = bytes; }
  void Heal() {
    syncs_until_failure_ = -1;
    writes_until_failure_ = -1;
    space_left_ = -1;
  }

  // The power goes: from now on nothing reaches the disk (writes and syncs
  // fail, deletes are ignored), whatever the still-open store tries.
  void CutPower() { power_cut_ = true; }
  // After the store is closed: every tracked file is rewritten to what it held
  // at its last sync, as the disk would hold after the cut, and power returns.
  void PowerOn();

  // Temporary files SQLite opened (statement and temporary journals,
  // temporary databases): work a connection could have kept in memory.
  int temp_files_opened() const { return temp_files_opened_; }
  void CountTempFileOpened() { ++temp_files_opened_; }
  // Internals used by the VFS's callbacks.
  struct FileState;
  std::shared_ptr<FileState> Track(const std::string& path);
  void Forget(const std::string& path);
  bool power_cut() const { return power_cut_; }
  bool ShouldFailSync();
  bool ShouldFailWrite();
  bool ConsumeSpace(int64_t bytes);
  sqlite3_vfs* unix_vfs() const { return unix_; }

 private:
  sqlite3_vfs* unix_ = nullptr;
  std::unique_ptr<sqlite3_vfs> vfs_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<FileState>> files_;
  std::atomic<bool> power_cut_{false};
  std::atomic<int> syncs_until_failure_{-1};
  std::atomic<int> writes_until_failure_{-1};
  std::atomic<int64_t> space_left_{-1};
  std::atomic<int> temp_files_opened_{0};
};

}  // namespace trialcore
