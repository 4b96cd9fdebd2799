// Thin RAII over the SQLite C API: a connection with a statement cache and
// statements with typed binds. Private to store/sqlite.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"

namespace trialcore::sqlite {

class Stmt {
 public:
  Stmt() = default;
  explicit Stmt(sqlite3_stmt* s, bool owned) : s_(s), owned_(owned) {}
  Stmt(Stmt&& o) noexcept : s_(o.s_), owned_(o.owned_) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept {
    if (this != &o) {
      Release();
      s_ = o.s_;
      owned_ = o.owned_;
      o.s_ = nullptr;
    }
    return *this;
  }
  ~Stmt() { Release(); }

  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, std::string_view text) {
    sqlite3_bind_text(s_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindBlob(int i, std::string_view bytes) {
    sqlite3_bind_blob(s_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // The bytes must stay valid until the statement is next reset.
  Stmt& BindStatic(int i, std::string_view text) {
    sqlite3_bind_text(s_, i, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& BindStaticBlob(int i, std::string_view bytes) {
    sqlite3_bind_blob(s_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& BindNull(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }

  // True with a row, false when done; errors come back as Status.
  Result<bool> Step();
  Status Run();  // steps to completion, expecting no rows

  sqlite3_stmt* handle() const { return s_; }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string_view Text(int col) const {
    const char* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string_view();
  }
  std::string_view Blob(int col) const {
    const char* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string_view();
  }

 private:
  void Release();  // finalizes an owned statement, resets a cached one
  sqlite3_stmt* s_ = nullptr;
  bool owned_ = false;
};

class Db {
 public:
  Db() = default;
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // vfs may be empty for SQLite's default.
  Status Open(const std::string& path, const std::string& vfs, bool create);
  Status Exec(std::string_view sql);
  // Runs one statement through the statement cache: for hot statements such
  // as BEGIN and COMMIT that Exec would parse on every call.
  Status Run(const std::string& sql);
  // A cached statement, reset and with bindings cleared; valid until the next
  // Prepare of the same SQL.
  Result<Stmt> Prepare(const std::string& sql);
  // A statement owned by the caller (for nested iteration).
  Result<Stmt> PrepareOwned(const std::string& sql);
  // A caller's query (SQL text that is not ours), cached as Prepare's are
  // but among at most `bound` such texts, the least recently used going
  // first: the texts callers write are many, each prepared once rather than
  // per call. `check` judges the statement and what follows it in the text
  // once, when it is prepared; one it refuses is finalized, not cached.
  // Valid until the next PrepareQuery.
  using QueryCheck = std::function<Status(sqlite3_stmt*, std::string_view tail)>;
  Result<Stmt> PrepareQuery(const std::string& sql, size_t bound, const QueryCheck& check);
  size_t cached_queries() const { return queries_.size(); }
  sqlite3* handle() { return db_; }
  const std::string& path() const { return path_; }

  Status Error(int rc, std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
  struct Query {
    sqlite3_stmt* stmt;
    std::list<std::string>::iterator used;
  };
  std::list<std::string> query_recency_;  // most recently used first
  std::unordered_map<std::string, Query> queries_;
};

// Maps a SQLite result code to a canonical Status.
Status SqliteStatus(int rc, std::string message);

}  // namespace trialcore::sqlite
