// Invariant: a tracked file's `synced` is its content as of its last successful
// xSync through any handle (fsync flushes the inode, not the descriptor), and
// `pending` holds, in order, the writes and truncations made since.
#include "store/sqlite/unix_fault_vfs.h"

#include <sqlite3.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace trialcore {

struct UnixFaultVfs::FileState {
  struct Op {
    uint64_t offset;
    std::string data;  // empty with truncate
    bool truncate;
  };
  std::mutex mu;
  std::string synced;
  std::vector<Op> pending;
};

namespace {

UnixFaultVfs* g_instance = nullptr;

struct FaultFile {
  sqlite3_file base;  // must be first: SQLite casts between the two
  UnixFaultVfs* vfs;
  std::shared_ptr<UnixFaultVfs::FileState>* state;  // null for files not tracked
  sqlite3_file* real;                               // the unix VFS's file, just after this struct
};

constexpr size_t kRealOffset = (sizeof(FaultFile) + 7) & ~size_t{7};

FaultFile* Of(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f); }
const sqlite3_io_methods* Real(sqlite3_file* f) { return Of(f)->real->pMethods; }

void Apply(const UnixFaultVfs::FileState::Op& op, std::string* content) {
  if (op.truncate) {
    content->resize(op.offset, '\0');
    return;
  }
  if (content->size() < op.offset + op.data.size()) content->resize(op.offset + op.data.size(), '\0');
  std::memcpy(content->data() + op.offset, op.data.data(), op.data.size());
}

int Close(sqlite3_file* f) {
  FaultFile* ff = Of(f);
  int rc = Real(f)->xClose(ff->real);
  delete ff->state;
  ff->state = nullptr;
  return rc;
}

int Read(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) { return Real(f)->xRead(Of(f)->real, buf, amt, off); }

int Write(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  FaultFile* ff = Of(f);
  if (ff->vfs->power_cut() || ff->vfs->ShouldFailWrite()) return SQLITE_IOERR_WRITE;
  sqlite3_int64 size = 0;
  if (int rc = Real(f)->xFileSize(ff->real, &size); rc != SQLITE_OK) return rc;
  if (off + amt > size && !ff->vfs->ConsumeSpace(off + amt - size)) return SQLITE_FULL;
  int rc = Real(f)->xWrite(ff->real, buf, amt, off);
  if (rc == SQLITE_OK && ff->state) {
    auto& st = **ff->state;
    std::lock_guard lock(st.mu);
    st.pending.push_back({static_cast<uint64_t>(off), std::string(static_cast<const char*>(buf), amt), false});
  }
  return rc;
}

int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  FaultFile* ff = Of(f);
  if (ff->vfs->power_cut()) return SQLITE_IOERR_TRUNCATE;
  int rc = Real(f)->xTruncate(ff->real, size);
  if (rc == SQLITE_OK && ff->state) {
    auto& st = **ff->state;
    std::lock_guard lock(st.mu);
    st.pending.push_back({static_cast<uint64_t>(size), "", true});
  }
  return rc;
}

int Sync(sqlite3_file* f, int flags) {
  FaultFile* ff = Of(f);
  if (ff->vfs->power_cut() || ff->vfs->ShouldFailSync()) return SQLITE_IOERR_FSYNC;
  int rc = Real(f)->xSync(ff->real, flags);
  if (rc == SQLITE_OK && ff->state) {
    auto& st = **ff->state;
    std::lock_guard lock(st.mu);
    for (const auto& op : st.pending) Apply(op, &st.synced);
    st.pending.clear();
  }
  return rc;
}

int FileSize(sqlite3_file* f, sqlite3_int64* size) { return Real(f)->xFileSize(Of(f)->real, size); }
int Lock(sqlite3_file* f, int level) { return Real(f)->xLock(Of(f)->real, level); }
int Unlock(sqlite3_file* f, int level) { return Real(f)->xUnlock(Of(f)->real, level); }
int CheckReservedLock(sqlite3_file* f, int* out) { return Real(f)->xCheckReservedLock(Of(f)->real, out); }
int FileControl(sqlite3_file* f, int op, void* arg) { return Real(f)->xFileControl(Of(f)->real, op, arg); }
int SectorSize(sqlite3_file* f) { return Real(f)->xSectorSize(Of(f)->real); }
int DeviceCharacteristics(sqlite3_file* f) { return Real(f)->xDeviceCharacteristics(Of(f)->real); }
int ShmMap(sqlite3_file* f, int page, int page_size, int extend, void volatile** out) {
  return Real(f)->xShmMap(Of(f)->real, page, page_size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) { return Real(f)->xShmLock(Of(f)->real, offset, n, flags); }
void ShmBarrier(sqlite3_file* f) { Real(f)->xShmBarrier(Of(f)->real); }
int ShmUnmap(sqlite3_file* f, int delete_flag) { return Real(f)->xShmUnmap(Of(f)->real, delete_flag); }
int Fetch(sqlite3_file* f, sqlite3_int64 off, int amt, void** out) {
  return Real(f)->xFetch(Of(f)->real, off, amt, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) { return Real(f)->xUnfetch(Of(f)->real, off, p); }

const sqlite3_io_methods kMethods = {
    3,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    Fetch,
    Unfetch,
};

UnixFaultVfs* Owner(sqlite3_vfs* vfs) { return static_cast<UnixFaultVfs*>(vfs->pAppData); }

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  UnixFaultVfs* owner = Owner(vfs);
  FaultFile* ff = Of(f);
  ff->base.pMethods = nullptr;
  ff->vfs = owner;
  ff->state = nullptr;
  ff->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kRealOffset);
  if (owner->power_cut() && (flags & SQLITE_OPEN_CREATE)) return SQLITE_CANTOPEN;
  int rc = owner->unix_vfs()->xOpen(owner->unix_vfs(), name, ff->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    // The unix VFS may have set methods that need closing even on failure.
    if (ff->real->pMethods) ff->real->pMethods->xClose(ff->real);
    return rc;
  }
  const int temporary =
      SQLITE_OPEN_SUBJOURNAL | SQLITE_OPEN_TEMP_JOURNAL | SQLITE_OPEN_TEMP_DB | SQLITE_OPEN_TRANSIENT_DB;
  if (flags & temporary) owner->CountTempFileOpened();
  const int durable = SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL;
  if (name && (flags & durable)) ff->state = new std::shared_ptr<UnixFaultVfs::FileState>(owner->Track(name));
  ff->base.pMethods = &kMethods;
  return SQLITE_OK;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  UnixFaultVfs* owner = Owner(vfs);
  if (owner->power_cut()) return SQLITE_OK;  // the unlink never reaches the disk
  int rc = owner->unix_vfs()->xDelete(owner->unix_vfs(), name, sync_dir);
  if (rc == SQLITE_OK) owner->Forget(name);
  return rc;
}

int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Owner(vfs)->unix_vfs()->xAccess(Owner(vfs)->unix_vfs(), name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Owner(vfs)->unix_vfs()->xFullPathname(Owner(vfs)->unix_vfs(), name, n, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) {
  return Owner(vfs)->unix_vfs()->xDlOpen(Owner(vfs)->unix_vfs(), name);
}
void DlError(sqlite3_vfs* vfs, int n, char* out) { Owner(vfs)->unix_vfs()->xDlError(Owner(vfs)->unix_vfs(), n, out); }
void (*DlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return Owner(vfs)->unix_vfs()->xDlSym(Owner(vfs)->unix_vfs(), handle, symbol);
}
void DlClose(sqlite3_vfs* vfs, void* handle) { Owner(vfs)->unix_vfs()->xDlClose(Owner(vfs)->unix_vfs(), handle); }
int Randomness(sqlite3_vfs* vfs, int n, char* out) {
  return Owner(vfs)->unix_vfs()->xRandomness(Owner(vfs)->unix_vfs(), n, out);
}
int Sleep(sqlite3_vfs* vfs, int micros) { return Owner(vfs)->unix_vfs()->xSleep(Owner(vfs)->unix_vfs(), micros); }
int CurrentTime(sqlite3_vfs* vfs, double* out) {
  return Owner(vfs)->unix_vfs()->xCurrentTime(Owner(vfs)->unix_vfs(), out);
}
int GetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return Owner(vfs)->unix_vfs()->xGetLastError(Owner(vfs)->unix_vfs(), n, out);
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Owner(vfs)->unix_vfs()->xCurrentTimeInt64(Owner(vfs)->unix_vfs(), out);
}

bool CountDown(std::atomic<int>& counter) {
  int v = counter.load();
  while (v > 0) {
    if (counter.compare_exchange_weak(v, v - 1)) return v == 1;
  }
  return v == 0;  // already failing
}

}  // namespace

UnixFaultVfs::UnixFaultVfs() {
  if (g_instance) throw std::logic_error("one UnixFaultVfs at a time");
  unix_ = sqlite3_vfs_find("unix");
  if (!unix_) throw std::runtime_error("SQLite has no unix VFS");
  vfs_ = std::make_unique<sqlite3_vfs>();
  sqlite3_vfs& v = *vfs_;
  std::memset(&v, 0, sizeof v);
  v.iVersion = 2;
  v.szOsFile = static_cast<int>(kRealOffset) + unix_->szOsFile;
  v.mxPathname = unix_->mxPathname;
  v.zName = "trialcore-unix-fault";
  v.pAppData = this;
  v.xOpen = Open;
  v.xDelete = Delete;
  v.xAccess = Access;
  v.xFullPathname = FullPathname;
  v.xDlOpen = DlOpen;
  v.xDlError = DlError;
  v.xDlSym = DlSym;
  v.xDlClose = DlClose;
  v.xRandomness = Randomness;
  v.xSleep = Sleep;
  v.xCurrentTime = CurrentTime;
  v.xGetLastError = GetLastError;
  v.xCurrentTimeInt64 = CurrentTimeInt64;
  sqlite3_vfs_register(&v, 1);
  g_instance = this;
}

UnixFaultVfs::~UnixFaultVfs() {
  sqlite3_vfs_register(unix_, 1);
  sqlite3_vfs_unregister(vfs_.get());
  g_instance = nullptr;
}

std::shared_ptr<UnixFaultVfs::FileState> UnixFaultVfs::Track(const std::string& path) {
  std::lock_guard lock(mu_);
  auto& slot = files_[path];
  if (!slot) {
    // What is on disk when a file is first opened counts as durable.
    slot = std::make_shared<FileState>();
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    slot->synced = content.str();
  }
  return slot;
}

void UnixFaultVfs::Forget(const std::string& path) {
  std::lock_guard lock(mu_);
  files_.erase(path);
}

void UnixFaultVfs::PowerOn() {
  std::lock_guard lock(mu_);
  for (auto& [path, state] : files_) {
    std::lock_guard file_lock(state->mu);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(state->synced.data(), static_cast<std::streamsize>(state->synced.size()));
    if (!out) throw std::runtime_error("restoring " + path + " after the power cut failed");
  }
  files_.clear();
  power_cut_ = false;
}

bool UnixFaultVfs::ShouldFailSync() { return CountDown(syncs_until_failure_); }
bool UnixFaultVfs::ShouldFailWrite() { return CountDown(writes_until_failure_); }

bool UnixFaultVfs::ConsumeSpace(int64_t bytes) {
  int64_t left = space_left_.load();
  while (left >= 0) {
    if (left < bytes) return false;
    if (space_left_.compare_exchange_weak(left, left - bytes)) return true;
  }
  return true;  // unlimited
}

}  // namespace trialcore
