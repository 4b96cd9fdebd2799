#include "store/sqlite/sqlite_server_state.h"

#include <optional>

namespace trialcore::sqlite {

const char* const kServerStateSchema = R"sql(
CREATE TABLE IF NOT EXISTS server_sessions(
  key TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  created_us INTEGER NOT NULL,
  last_used_us INTEGER NOT NULL,
  has_signed INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS server_sessions_by_user ON server_sessions(user_id);
CREATE TABLE IF NOT EXISTS login_attempts(client TEXT NOT NULL, time_us INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS login_attempts_by_client ON login_attempts(client, time_us);
CREATE TABLE IF NOT EXISTS server_values(name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
)sql";

namespace {

class SqliteServerState final : public ServerState {
 public:
  SqliteServerState(WithDb read, WithDb write) : read_(std::move(read)), write_(std::move(write)) {}

  Status CreateSession(const SessionRecord& s) override {
    return write_([&](Db& db) -> Status {
      TC_ASSIGN_OR_RETURN(Stmt insert, db.Prepare("INSERT INTO server_sessions VALUES(?1, ?2, ?3, ?4, ?5) "
                                                  "ON CONFLICT(key) DO NOTHING"));
      insert.Bind(1, s.key).Bind(2, s.user).Bind(3, s.created_us).Bind(4, s.last_used_us);
      insert.Bind(5, int64_t{s.has_signed ? 1 : 0});
      TC_RETURN_IF_ERROR(insert.Run());
      if (sqlite3_changes(db.handle()) == 0) return AlreadyExists("a session with this key exists already");
      return Status::Ok();
    });
  }

  Result<std::optional<SessionRecord>> FindSession(const std::string& key) override {
    std::optional<SessionRecord> out;
    Status done = read_([&](Db& db) -> Status {
      TC_ASSIGN_OR_RETURN(Stmt s, db.Prepare("SELECT user_id, created_us, last_used_us, has_signed "
                                             "FROM server_sessions WHERE key = ?1"));
      s.BindStatic(1, key);
      TC_ASSIGN_OR_RETURN(bool row, s.Step());
      if (row) out = SessionRecord{key, std::string(s.Text(0)), s.Int(1), s.Int(2), s.Int(3) != 0};
      return Status::Ok();
    });
    if (!done.ok()) return done;
    return out;
  }

  Status TouchSession(const std::string& key, int64_t used_us) override {
    return Change("UPDATE server_sessions SET last_used_us = ?2 WHERE key = ?1 AND last_used_us < ?2", key, used_us);
  }

  Status MarkSessionSigned(const std::string& key) override {
    return Change("UPDATE server_sessions SET has_signed = 1 WHERE key = ?1", key);
  }

  Status DeleteSession(const std::string& key) override {
    return Change("DELETE FROM server_sessions WHERE key = ?1", key);
  }

  Result<uint64_t> DeleteSessionsOf(const std::string& user) override {
    uint64_t n = 0;
    Status done = write_([&](Db& db) -> Status {
      TC_ASSIGN_OR_RETURN(Stmt s, db.Prepare("DELETE FROM server_sessions WHERE user_id = ?1"));
      s.Bind(1, user);
      TC_RETURN_IF_ERROR(s.Run());
      n = static_cast<uint64_t>(sqlite3_changes(db.handle()));
      return Status::Ok();
    });
    if (!done.ok()) return done;
    return n;
  }

  Result<uint64_t> DeleteExpiredSessions(int64_t idle_before_us, int64_t created_before_us) override {
    uint64_t n = 0;
    Status done = write_([&](Db& db) -> Status {
      TC_ASSIGN_OR_RETURN(Stmt s, db.Prepare("DELETE FROM server_sessions WHERE last_used_us < ?1 OR created_us < ?2"));
      s.Bind(1, idle_before_us).Bind(2, created_before_us);
      TC_RETURN_IF_ERROR(s.Run());
      n = static_cast<uint64_t>(sqlite3_changes(db.handle()));
      return Status::Ok();
    });
    if (!done.ok()) return done;
    return n;
  }

  Result<uint64_t> CountLiveSessions(int64_t idle_before_us, int64_t created_before_us) override {
    uint64_t n = 0;
    Status done = read_([&](Db& db) -> Status {
      TC_ASSIGN_OR_RETURN(Stmt s, db.Prepare("SELECT count(*) FROM server_sessions "
                                             "WHERE last_used_us >= ?1 AND created_us >= ?2"));
      s.Bind(1, idle_before_us).Bind(2, created_before_us);
      TC_ASSIGN_OR_RETURN(bool row, s.Step());
      if (row) n = static_cast<uint64_t>(s.Int(0));
      return Status::Ok();
    });
    if (!done.ok()) return done;
    return n;
  }

  // One IMMEDIATE transaction holds the file's write lock from the count to
  // the insert, so no other connection (of any process) counts in between.
  Result<bool> TakeLoginAttempt(const std::string& client, int64_t now_us, int64_t window_us, int limit) override {
    bool allowed = false;
    Status done = write_([&](Db& db) -> Status {
      TC_RETURN_IF_ERROR(db.Run("BEGIN IMMEDIATE"));
      Status s = [&]() -> Status {
        TC_ASSIGN_OR_RETURN(Stmt old, db.Prepare("DELETE FROM login_attempts WHERE client = ?1 AND time_us <= ?2"));
        TC_RETURN_IF_ERROR(old.Bind(1, client).Bind(2, now_us - window_us).Run());
        TC_ASSIGN_OR_RETURN(Stmt count, db.Prepare("SELECT count(*) FROM login_attempts WHERE client = ?1"));
        count.Bind(1, client);
        TC_ASSIGN_OR_RETURN(bool row, count.Step());
        allowed = row && count.Int(0) < limit;
        if (!allowed) return Status::Ok();
        TC_ASSIGN_OR_RETURN(Stmt add, db.Prepare("INSERT INTO login_attempts VALUES(?1, ?2)"));
        return add.Bind(1, client).Bind(2, now_us).Run();
      }();
      if (s.ok()) s = db.Run("COMMIT");
      if (!s.ok()) (void)db.Run("ROLLBACK");
      return s;
    });
    if (!done.ok()) return done;
    return allowed;
  }

  Result<std::string> SharedValue(const std::string& name, const std::string& proposed) override {
    std::string value;
    Status done = write_([&](Db& db) -> Status {
      TC_ASSIGN_OR_RETURN(Stmt insert,
                          db.Prepare("INSERT INTO server_values VALUES(?1, ?2) ON CONFLICT(name) DO NOTHING"));
      TC_RETURN_IF_ERROR(insert.Bind(1, name).Bind(2, proposed).Run());
      TC_ASSIGN_OR_RETURN(Stmt read, db.Prepare("SELECT value FROM server_values WHERE name = ?1"));
      read.Bind(1, name);
      TC_ASSIGN_OR_RETURN(bool row, read.Step());
      if (!row) return Internal("the shared value " + name + " was stored but cannot be read");
      value = std::string(read.Text(0));
      return Status::Ok();
    });
    if (!done.ok()) return done;
    return value;
  }

 private:
  // One statement on the session of a key, with ?2 when given.
  Status Change(const std::string& sql, const std::string& key, std::optional<int64_t> value = std::nullopt) {
    return write_([&](Db& db) -> Status {
      TC_ASSIGN_OR_RETURN(Stmt s, db.Prepare(sql));
      s.Bind(1, key);
      if (value) s.Bind(2, *value);
      return s.Run();
    });
  }

  WithDb read_, write_;
};

}  // namespace

std::unique_ptr<ServerState> NewSqliteServerState(WithDb read, WithDb write) {
  return std::make_unique<SqliteServerState>(std::move(read), std::move(write));
}

}  // namespace trialcore::sqlite
