#include "store/sqlite/sqlite_db.h"

#include <algorithm>

namespace trialcore::sqlite {

Status SqliteStatus(int rc, std::string message) {
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return Status::Ok();
    case SQLITE_FULL:
      return ResourceExhausted(message + " (disk full)");
    case SQLITE_IOERR:
      return IoError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLoss(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Aborted(message + " (database busy; retry)");
    case SQLITE_CANTOPEN:
      return NotFound(message);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return PermissionDenied(message);
    case SQLITE_CONSTRAINT:
      return FailedPrecondition(message);
    default:
      return Internal(message);
  }
}

void Stmt::Release() {
  if (!s_) return;
  if (owned_) {
    sqlite3_finalize(s_);
  } else {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  s_ = nullptr;
}

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // Name the database, as Exec does: a step's error reaches users of every
  // command that reads or writes it.
  sqlite3* db = sqlite3_db_handle(s_);
  const char* file = sqlite3_db_filename(db, "main");
  return SqliteStatus(
      rc, std::string("SQLite on ") + (file && *file ? file : "a temporary database") + ": " + sqlite3_errmsg(db));
}

Status Stmt::Run() {
  while (true) {
    auto row = Step();
    if (!row.ok() || !*row) {
      // Ready for the next bind; bindings are kept until rebound.
      sqlite3_reset(s_);
      return row.status();
    }
  }
}

Db::~Db() {
  for (auto& [sql, s] : cache_) sqlite3_finalize(s);
  for (auto& [sql, q] : queries_) sqlite3_finalize(q.stmt);
  if (db_) sqlite3_close_v2(db_);
}

Status Db::Error(int rc, std::string_view what) const {
  std::string msg = std::string(what) + " " + path_ + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  return SqliteStatus(rc, msg);
}

Status Db::Open(const std::string& path, const std::string& vfs, bool create) {
  path_ = path;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    if ((rc & 0xff) == SQLITE_CANTOPEN && !create) return NotFound("database " + path + " does not exist");
    return Error(rc, "opening");
  }
  sqlite3_extended_result_codes(db_, 1);
  return Status::Ok();
}

Status Db::Exec(std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return SqliteStatus(rc, "SQLite on " + path_ + ": " + msg);
  }
  return Status::Ok();
}

Status Db::Run(const std::string& sql) {
  TC_ASSIGN_OR_RETURN(Stmt s, Prepare(sql));
  return s.Run();
}

Result<Stmt> Db::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) return Error(rc, "preparing a statement on");
    it = cache_.emplace(sql, s).first;
  }
  return Stmt(it->second, false);
}

Result<Stmt> Db::PrepareQuery(const std::string& sql, size_t bound, const QueryCheck& check) {
  if (auto it = queries_.find(sql); it != queries_.end()) {
    query_recency_.splice(query_recency_.begin(), query_recency_, it->second.used);
    return Stmt(it->second.stmt, false);
  }
  sqlite3_stmt* s = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s, &tail);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(s);
    return Error(rc, "preparing a statement on");
  }
  Status checked = check(s, tail == nullptr ? std::string_view() : std::string_view(tail));
  if (!checked.ok()) {
    sqlite3_finalize(s);
    return checked;
  }
  query_recency_.push_front(sql);
  queries_.emplace(sql, Query{s, query_recency_.begin()});
  while (queries_.size() > std::max<size_t>(bound, 1)) {
    auto last = queries_.find(query_recency_.back());
    sqlite3_finalize(last->second.stmt);
    queries_.erase(last);
    query_recency_.pop_back();
  }
  return Stmt(s, false);
}

Result<Stmt> Db::PrepareOwned(const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &s, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "preparing a statement on");
  return Stmt(s, true);
}

}  // namespace trialcore::sqlite
