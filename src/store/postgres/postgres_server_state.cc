#include "store/postgres/postgres_server_state.h"

#include <optional>

namespace trialcore::pg {

// Keys and clients compare bytewise, as in SQLite. Sessions and attempts
// UNLOGGED: these rows are not the record (a crash may lose them, costing a
// fresh login) and writing them skips the write-ahead log; they are not
// replicated either. Shared values (keys) are kept like any table.
const char* const kServerStateSchema = R"sql(
CREATE UNLOGGED TABLE IF NOT EXISTS server_sessions(
  key TEXT COLLATE "C" PRIMARY KEY,
  user_id TEXT COLLATE "C" NOT NULL,
  created_us BIGINT NOT NULL,
  last_used_us BIGINT NOT NULL,
  has_signed BOOLEAN NOT NULL);
CREATE INDEX IF NOT EXISTS server_sessions_by_user ON server_sessions(user_id);
CREATE UNLOGGED TABLE IF NOT EXISTS login_attempts(client TEXT COLLATE "C" NOT NULL, time_us BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS login_attempts_by_client ON login_attempts(client, time_us);
CREATE TABLE IF NOT EXISTS server_values(name TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL);
)sql";

namespace {

class PostgresServerState final : public ServerState {
 public:
  PostgresServerState(WithConn read, WithConn write) : read_(std::move(read)), write_(std::move(write)) {}

  Status CreateSession(const SessionRecord& s) override {
    std::optional<int> inserted;
    Status done = write_([&](Conn& c) -> Status {
      TC_ASSIGN_OR_RETURN(Rows r, c.Query("INSERT INTO server_sessions VALUES($1, $2, $3, $4, $5) "
                                          "ON CONFLICT (key) DO NOTHING RETURNING 1",
                                          {Param::Text(s.key), Param::Text(s.user), Param::Int(s.created_us),
                                           Param::Int(s.last_used_us), Param::Text(s.has_signed ? "t" : "f")}));
      inserted = r.size();
      return Status::Ok();
    });
    if (!done.ok()) return done;
    if (inserted == 0) return AlreadyExists("a session with this key exists already");
    return Status::Ok();
  }

  Result<std::optional<SessionRecord>> FindSession(const std::string& key) override {
    std::optional<SessionRecord> out;
    Status done = read_([&](Conn& c) -> Status {
      TC_ASSIGN_OR_RETURN(Rows r, c.Query("SELECT user_id, created_us, last_used_us, has_signed "
                                          "FROM server_sessions WHERE key = $1",
                                          {Param::Text(key)}));
      if (r.size() > 0)
        out = SessionRecord{key, std::string(r.Text(0, 0)), r.Int(0, 1), r.Int(0, 2), r.Text(0, 3) == "t"};
      return Status::Ok();
    });
    if (!done.ok()) return done;
    return out;
  }

  Status TouchSession(const std::string& key, int64_t used_us) override {
    return Count("UPDATE server_sessions SET last_used_us = $2 WHERE key = $1 AND last_used_us < $2 RETURNING 1",
                 {Param::Text(key), Param::Int(used_us)})
        .status();
  }

  Status MarkSessionSigned(const std::string& key) override {
    return Count("UPDATE server_sessions SET has_signed = true WHERE key = $1 RETURNING 1", {Param::Text(key)})
        .status();
  }

  Status DeleteSession(const std::string& key) override {
    return Count("DELETE FROM server_sessions WHERE key = $1 RETURNING 1", {Param::Text(key)}).status();
  }

  Result<uint64_t> DeleteSessionsOf(const std::string& user) override {
    return Count("DELETE FROM server_sessions WHERE user_id = $1 RETURNING 1", {Param::Text(user)});
  }

  Result<uint64_t> DeleteExpiredSessions(int64_t idle_before_us, int64_t created_before_us) override {
    return Count("DELETE FROM server_sessions WHERE last_used_us < $1 OR created_us < $2 RETURNING 1",
                 {Param::Int(idle_before_us), Param::Int(created_before_us)});
  }

  Result<uint64_t> CountLiveSessions(int64_t idle_before_us, int64_t created_before_us) override {
    uint64_t n = 0;
    Status done = read_([&](Conn& c) -> Status {
      TC_ASSIGN_OR_RETURN(Rows r, c.Query("SELECT count(*) FROM server_sessions "
                                          "WHERE last_used_us >= $1 AND created_us >= $2",
                                          {Param::Int(idle_before_us), Param::Int(created_before_us)}));
      n = static_cast<uint64_t>(r.Int(0, 0));
      return Status::Ok();
    });
    if (!done.ok()) return done;
    return n;
  }

  // A transaction-scoped advisory lock on the client's name serialises the
  // count and the insert of every server's attempts from that client.
  Result<bool> TakeLoginAttempt(const std::string& client, int64_t now_us, int64_t window_us, int limit) override {
    bool allowed = false;
    Status done = write_([&](Conn& c) -> Status {
      return c.InTransaction("BEGIN", [&]() -> Status {
        TC_RETURN_IF_ERROR(
            c.Query("SELECT pg_advisory_xact_lock(hashtextextended('login_attempts:' || $1, 0))", {Param::Text(client)})
                .status());
        TC_RETURN_IF_ERROR(c.Query("DELETE FROM login_attempts WHERE client = $1 AND time_us <= $2",
                                   {Param::Text(client), Param::Int(now_us - window_us)})
                               .status());
        TC_ASSIGN_OR_RETURN(Rows r,
                            c.Query("SELECT count(*) FROM login_attempts WHERE client = $1", {Param::Text(client)}));
        allowed = r.Int(0, 0) < limit;
        if (!allowed) return Status::Ok();
        return c.Query("INSERT INTO login_attempts VALUES($1, $2)", {Param::Text(client), Param::Int(now_us)}).status();
      });
    });
    if (!done.ok()) return done;
    return allowed;
  }

  Result<std::string> SharedValue(const std::string& name, const std::string& proposed) override {
    std::string value;
    Status done = write_([&](Conn& c) -> Status {
      TC_RETURN_IF_ERROR(c.Query("INSERT INTO server_values VALUES($1, $2) ON CONFLICT (name) DO NOTHING",
                                 {Param::Text(name), Param::Text(proposed)})
                             .status());
      TC_ASSIGN_OR_RETURN(Rows r, c.Query("SELECT value FROM server_values WHERE name = $1", {Param::Text(name)}));
      if (r.size() == 0) return Internal("the shared value " + name + " was stored but cannot be read");
      value = std::string(r.Text(0, 0));
      return Status::Ok();
    });
    if (!done.ok()) return done;
    return value;
  }

 private:
  // Runs a writing statement with RETURNING 1; how many rows it changed.
  Result<uint64_t> Count(const std::string& sql, const std::vector<Param>& params) {
    uint64_t n = 0;
    Status done = write_([&](Conn& c) -> Status {
      TC_ASSIGN_OR_RETURN(Rows r, c.Query(sql, params));
      n = static_cast<uint64_t>(r.size());
      return Status::Ok();
    });
    if (!done.ok()) return done;
    return n;
  }

  WithConn read_, write_;
};

}  // namespace

std::unique_ptr<ServerState> NewPostgresServerState(WithConn read, WithConn write) {
  return std::make_unique<PostgresServerState>(std::move(read), std::move(write));
}

}  // namespace trialcore::pg
