#include "store/sqlite/env_vfs.h"

#include <sqlite3.h>

#include <cstring>
#include <map>
#include <memory>
#include <mutex>

namespace trialcore {
namespace {

struct EnvVfs {
  sqlite3_vfs vfs;
  Env* env;
  std::string name;
};

struct EnvVfsFile {
  sqlite3_file base;  // must be first: SQLite casts between the two
  File* file;
  Env* env;
  std::string* path;
  bool delete_on_close;
};

int MapError(const Status& s, int io_code) {
  if (s.code() == StatusCode::kResourceExhausted) return SQLITE_FULL;
  return io_code;
}

int FileClose(sqlite3_file* f) {
  auto* ef = reinterpret_cast<EnvVfsFile*>(f);
  delete ef->file;
  if (ef->delete_on_close) (void)ef->env->DeleteFile(*ef->path);
  delete ef->path;
  return SQLITE_OK;
}

int FileRead(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
  auto* ef = reinterpret_cast<EnvVfsFile*>(f);
  size_t got = 0;
  Status s = ef->file->Read(static_cast<uint64_t>(off), static_cast<size_t>(amt), static_cast<char*>(buf), &got);
  if (!s.ok()) return SQLITE_IOERR_READ;
  if (got < static_cast<size_t>(amt)) {
    std::memset(static_cast<char*>(buf) + got, 0, static_cast<size_t>(amt) - got);
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

int FileWrite(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  auto* ef = reinterpret_cast<EnvVfsFile*>(f);
  Status s = ef->file->Write(static_cast<uint64_t>(off), std::string_view(static_cast<const char*>(buf), amt));
  return s.ok() ? SQLITE_OK : MapError(s, SQLITE_IOERR_WRITE);
}

int FileTruncate(sqlite3_file* f, sqlite3_int64 size) {
  auto* ef = reinterpret_cast<EnvVfsFile*>(f);
  return ef->file->Truncate(static_cast<uint64_t>(size)).ok() ? SQLITE_OK : SQLITE_IOERR_TRUNCATE;
}

int FileSync(sqlite3_file* f, int) {
  auto* ef = reinterpret_cast<EnvVfsFile*>(f);
  return ef->file->Sync().ok() ? SQLITE_OK : SQLITE_IOERR_FSYNC;
}

int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  auto* ef = reinterpret_cast<EnvVfsFile*>(f);
  auto r = ef->file->Size();
  if (!r.ok()) return SQLITE_IOERR_FSTAT;
  *size = static_cast<sqlite3_int64>(*r);
  return SQLITE_OK;
}

// One connection owns the database (locking_mode EXCLUSIVE), so locks are moot.
int FileLock(sqlite3_file*, int) { return SQLITE_OK; }
int FileUnlock(sqlite3_file*, int) { return SQLITE_OK; }
int FileCheckReservedLock(sqlite3_file*, int* out) {
  *out = 0;
  return SQLITE_OK;
}
int FileControl(sqlite3_file*, int, void*) { return SQLITE_NOTFOUND; }
int FileSectorSize(sqlite3_file*) { return 4096; }
int FileDeviceCharacteristics(sqlite3_file*) { return 0; }

const sqlite3_io_methods kIoMethods = {
    1,  // iVersion 1: no shared-memory methods
    FileClose,
    FileRead,
    FileWrite,
    FileTruncate,
    FileSync,
    FileSize,
    FileLock,
    FileUnlock,
    FileCheckReservedLock,
    FileControl,
    FileSectorSize,
    FileDeviceCharacteristics,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

Env* EnvOf(sqlite3_vfs* vfs) { return static_cast<EnvVfs*>(vfs->pAppData)->env; }

int VfsOpen(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  auto* ef = reinterpret_cast<EnvVfsFile*>(f);
  ef->base.pMethods = nullptr;
  Env* env = EnvOf(vfs);
  std::string path;
  if (name) {
    path = name;
  } else {
    uint8_t rnd[8];
    (void)env->RandomBytes(rnd);
    path = "/tmp/trialcore-sqlite-temp-";
    for (uint8_t b : rnd) path += "0123456789abcdef"[b & 15];
  }
  OpenOptions opts;
  opts.create = (flags & SQLITE_OPEN_CREATE) != 0;
  opts.read_only = (flags & SQLITE_OPEN_READONLY) != 0;
  auto file = env->OpenFile(path, opts);
  if (!file.ok()) return SQLITE_CANTOPEN;
  ef->file = std::move(file).value().release();
  ef->env = env;
  ef->path = new std::string(path);
  ef->delete_on_close = (flags & SQLITE_OPEN_DELETEONCLOSE) != 0 || name == nullptr;
  ef->base.pMethods = &kIoMethods;
  if (out_flags) *out_flags = flags;
  return SQLITE_OK;
}

int VfsDelete(sqlite3_vfs* vfs, const char* name, int) {
  Status s = EnvOf(vfs)->DeleteFile(name);
  if (s.ok() || s.code() == StatusCode::kNotFound) return SQLITE_OK;
  return SQLITE_IOERR_DELETE;
}

int VfsAccess(sqlite3_vfs* vfs, const char* name, int, int* out) {
  *out = EnvOf(vfs)->FileExists(name) ? 1 : 0;
  return SQLITE_OK;
}

int VfsFullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  std::snprintf(out, static_cast<size_t>(n), "%s", name);
  return SQLITE_OK;
}

int VfsRandomness(sqlite3_vfs* vfs, int n, char* out) {
  (void)EnvOf(vfs)->RandomBytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(out), static_cast<size_t>(n)));
  return n;
}

int VfsSleep(sqlite3_vfs*, int micros) { return micros; }

int VfsCurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  // Julian day in milliseconds, as SQLite expects.
  *out = EnvOf(vfs)->NowMicros() / 1000 + 210866760000000LL;
  return SQLITE_OK;
}

int VfsCurrentTime(sqlite3_vfs* vfs, double* out) {
  sqlite3_int64 ms;
  VfsCurrentTimeInt64(vfs, &ms);
  *out = static_cast<double>(ms) / 86400000.0;
  return SQLITE_OK;
}

int VfsGetLastError(sqlite3_vfs*, int, char*) { return 0; }

}  // namespace

std::string RegisterEnvVfs(Env* env) {
  static std::mutex mu;
  static std::map<Env*, std::unique_ptr<EnvVfs>> registered;
  std::lock_guard lock(mu);
  auto& slot = registered[env];
  if (!slot) {
    slot = std::make_unique<EnvVfs>();
    slot->env = env;
    char name[64];
    std::snprintf(name, sizeof name, "trialcore-env-%p", static_cast<void*>(env));
    slot->name = name;
    sqlite3_vfs& v = slot->vfs;
    std::memset(&v, 0, sizeof v);
    v.iVersion = 2;
    v.szOsFile = sizeof(EnvVfsFile);
    v.mxPathname = 1024;
    v.zName = slot->name.c_str();
    v.pAppData = slot.get();
    v.xOpen = VfsOpen;
    v.xDelete = VfsDelete;
    v.xAccess = VfsAccess;
    v.xFullPathname = VfsFullPathname;
    v.xRandomness = VfsRandomness;
    v.xSleep = VfsSleep;
    v.xCurrentTime = VfsCurrentTime;
    v.xGetLastError = VfsGetLastError;
    v.xCurrentTimeInt64 = VfsCurrentTimeInt64;
    sqlite3_vfs_register(&v, 0);
  }
  return slot->name;
}

}  // namespace trialcore
