// Invariants, as in the SQLite store: events.seq is gap-free from 1 and
// assigned in commit order (every write transaction first locks the one row
// of log_head, so transactions that append commit one after another; see
// doc/event_store.md); within a study, study_index is gap-free from 0 and
// each event's prev_hash is the previous event's hash; projection tables
// equal a replay of the log.
#include "store/postgres/postgres_event_store.h"

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "core/canonical.h"
#include "core/merkle.h"
#include "store/append_rules.h"
#include "store/audit.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/pg_group_commit.h"
#include "store/postgres/pg_pool.h"
#include "store/postgres/pg_projections.h"
#include "store/postgres/pg_rows.h"
#include "store/postgres/postgres_server_state.h"
#include "store/projection_sql.h"
#include "store/stream_values.h"

namespace trialcore {
namespace {

using pg::Conn;
using pg::EventRow;
using pg::HashFromBytes;
using pg::Param;
using pg::ParametersUsed;
using pg::PgProjectionWriter;
using pg::Pool;
using pg::Rows;
using pg::ValueOf;

constexpr size_t kReadChunk = 2048;
// A group commit's events at most: bounds the transaction a leader writes.
constexpr size_t kMaxGroupEvents = 4096;
// Serialises schema creation by processes opening a new database at once.
constexpr int64_t kSchemaLockKey = 0x54434431;  // "TCD1", as SQLite's application_id
// How long a subscription waits for a notification before it reads anyway
// (a notification lost with a dropped connection costs at most this).
constexpr int kSubscriptionPollMs = 50;

// Text columns compare bytewise (COLLATE "C"), as SQLite's do: the order of
// studies, paths and projection keys is the same on both back ends whatever
// the database's locale.
const char* const kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events(
  seq BIGINT PRIMARY KEY,
  study TEXT COLLATE "C" NOT NULL,
  stream TEXT COLLATE "C" NOT NULL,
  stream_version BIGINT NOT NULL,
  study_index BIGINT NOT NULL,
  type TEXT NOT NULL,
  time_us BIGINT NOT NULL,
  actor_user TEXT NOT NULL,
  actor_role TEXT NOT NULL,
  reason TEXT NOT NULL,
  payload BYTEA NOT NULL,
  prev_hash BYTEA NOT NULL,
  hash BYTEA NOT NULL,
  format_version INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream ON events(study, stream, stream_version);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_study ON events(study, study_index);
CREATE TABLE IF NOT EXISTS checkpoints(
  study TEXT COLLATE "C" NOT NULL,
  tree_size BIGINT NOT NULL,
  root_hash BYTEA NOT NULL,
  time_us BIGINT NOT NULL,
  public_key BYTEA NOT NULL,
  signature BYTEA NOT NULL,
  PRIMARY KEY(study, tree_size));
-- The one row every write transaction locks first (SELECT ... FOR UPDATE):
-- the last sequence number and time given out, so that appends take
-- numbers, and commit, one after another.
CREATE TABLE IF NOT EXISTS log_head(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_seq BIGINT NOT NULL,
  last_time_us BIGINT NOT NULL);
INSERT INTO log_head VALUES (1, 0, 0) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS entity_values(
  study TEXT COLLATE "C" NOT NULL, path TEXT COLLATE "C" NOT NULL, value BYTEA NOT NULL, seq BIGINT NOT NULL,
  PRIMARY KEY(study, path));
)sql";

const char* const kEventColumns =
    "seq, study, stream, stream_version, study_index, type, time_us, actor_user, actor_role, reason, payload, "
    "prev_hash, hash, format_version";
const char* const kLockHead = "SELECT last_seq, last_time_us FROM log_head WHERE id = 1 FOR UPDATE";

using TableSql = ProjectionTableSql;
TableSql MakeTableSql(const ProjectionTable& t) { return MakeProjectionTableSql(t, SqlDialect::kPostgres); }
std::string CreateTableSql(const ProjectionTable& t) {
  return CreateProjectionTableSql(t, SqlDialect::kPostgres) + CreateProjectionIndexesSql(t);
}

using TableMap = pg::TableSqlMap;

// Statements are prepared (parsed once) but planned at each run, for the
// values and table sizes of that run: the log's tables start empty and grow,
// and a generic plan made while they were small (a scan of the table, done
// once for every stream of a group) would be kept as they grow, until the
// next ANALYZE. Measured: a group's reads took 10-40 ms instead of 0.5.
constexpr const char* kPlanEachRun = "SET plan_cache_mode = force_custom_plan";

// The group commit's own connection runs nothing but lookups and writes by
// key (pg_group_commit.cc), for which an index is always the right plan: so
// each statement is planned once, as a generic plan, and a scan of the table
// is ruled out even when that plan is made while the tables are still empty.
// Measured (under load, so roughly): planning at every run took about 30%
// of the server's CPU time per commit.
constexpr const char* kPlanOnceByIndex = "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off";

std::string StalledTransactionTimeout(const PostgresStoreOptions& options) {
  return "; SET idle_in_transaction_session_timeout = " +
         std::to_string(std::max<int64_t>(1, options.stalled_transaction_timeout_ms));
}

class PostgresEventStore;

class PostgresSubscription final : public Subscription {
 public:
  PostgresSubscription(PostgresEventStore* store, std::string url, uint64_t after_seq,
                       std::function<void(const Event&)> handler)
      : store_(store), url_(std::move(url)), cursor_(after_seq), handler_(std::move(handler)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~PostgresSubscription() override {
    stop_ = true;
    thread_.join();
  }

 private:
  void Run();
  PostgresEventStore* store_;
  const std::string url_;
  uint64_t cursor_;
  std::function<void(const Event&)> handler_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class PostgresEventStore final : public EventStore {
 public:
  PostgresEventStore(std::string url, PostgresStoreOptions options)
      : url_(std::move(url)),
        options_(options),
        writers_(url_, options_.max_connections, std::string(kPlanEachRun) + StalledTransactionTimeout(options_)),
        // A group commits while the next one waits for the log's lock.
        appender_(url_, 2, std::string(kPlanOnceByIndex) + StalledTransactionTimeout(options_)),
        // Readers cannot write, whatever a projection query says.
        readers_(url_, options_.max_connections,
                 std::string(kPlanEachRun) + "; SET default_transaction_read_only = on") {}

  Status Open() {
    TC_ASSIGN_OR_RETURN(auto c, writers_.Get());
    where_ = c->where();
    TC_ASSIGN_OR_RETURN(Rows exists, c->Query("SELECT to_regclass('events') IS NOT NULL, "
                                              "to_regclass('meta') IS NOT NULL"));
    const bool has_events = exists.Text(0, 0) == "t", has_meta = exists.Text(0, 1) == "t";
    if (!has_events && !has_meta) {
      if (!options_.create_if_missing) {
        return NotFound("PostgreSQL database " + where_ + " has no trialcore tables");
      }
      Status s = c->InTransaction("BEGIN", [&]() -> Status {
        TC_RETURN_IF_ERROR(c->Query("SELECT pg_advisory_xact_lock($1)", {Param::Int(kSchemaLockKey)}).status());
        TC_RETURN_IF_ERROR(c->Exec(kSchema));
        return c
            ->Query("INSERT INTO meta VALUES('format_version', $1) ON CONFLICT (key) DO NOTHING",
                    {Param::Int(kDatabaseFormatVersion)})
            .status();
      });
      TC_RETURN_IF_ERROR_CTX(s, "creating the trialcore tables in " + where_);
    } else if (!has_meta) {
      return InvalidArgument("PostgreSQL database " + where_ + " has an events table but is not a trialcore one");
    }
    TC_ASSIGN_OR_RETURN(Rows v, c->Query("SELECT value FROM meta WHERE key = 'format_version'"));
    if (v.size() == 0) return InvalidArgument("PostgreSQL database " + where_ + " is not a trialcore one");
    std::string version(v.Text(0, 0));
    if (version != std::to_string(kDatabaseFormatVersion)) {
      return Unimplemented("database " + where_ + " has format version " + version + "; this trialcore reads version " +
                           std::to_string(kDatabaseFormatVersion) + " only");
    }
    // Also in a database made before servers shared their sessions (and
    // whatever create_if_missing says: they are part of a trialcore
    // database); under the schema lock, as two servers may start at once.
    Status tables = c->InTransaction("BEGIN", [&]() -> Status {
      TC_RETURN_IF_ERROR(c->Query("SELECT pg_advisory_xact_lock($1)", {Param::Int(kSchemaLockKey)}).status());
      return c->Exec(pg::kServerStateSchema);
    });
    TC_RETURN_IF_ERROR_CTX(tables, "creating the server state tables in " + where_);
    auto with = [](Pool* pool) {
      return [pool](const std::function<Status(Conn&)>& fn) -> Status {
        auto lease = pool->Get();
        if (!lease.ok()) return lease.status();
        return fn(**lease);
      };
    };
    server_state_ = pg::NewPostgresServerState(with(&readers_), with(&writers_));
    return Status::Ok();
  }

  ServerState& server_state() override { return *server_state_; }

  ~PostgresEventStore() override { closing_ = true; }
  bool closing() const { return closing_; }

  // Group commit (pg_group_commit.h): each caller queues its batch; the one
  // at the head of the queue leads, writing every queued batch in one
  // transaction. Once its batches are checked, the next leader may gather
  // the batches queued since and send its reads on a second connection:
  // they wait on the server for the log's lock, so they see this group's
  // writes, and the wait overlaps this group's COMMIT.
  Result<std::vector<Event>> Append(const AppendRequest& request) override {
    auto pending = std::make_unique<pg::PendingAppend>();
    pg::PendingAppend* w = pending.get();
    w->request = &request;
    TC_ASSIGN_OR_RETURN(w->payloads, ValidateAppend(request));
    w->time_us = options_.env->NowMicros();
    // The rows, usually most of a commit's work, on the caller's thread.
    if (request.project) TC_RETURN_IF_ERROR(ProjectAhead(request, w->time_us, &w->ahead));
    std::unique_lock lock(queue_mu_);
    queue_.push_back(w);
    while (!w->done && (w->taken || gathering_ || queue_.front() != w)) w->cv.wait(lock);
    if (w->done) return std::move(w->result);
    gathering_ = true;
    std::vector<pg::PendingAppend*> group;
    size_t events = 0;
    while (!queue_.empty()) {
      pg::PendingAppend* p = queue_.front();
      if (!group.empty() && events + p->request->events.size() > kMaxGroupEvents) break;
      p->taken = true;
      group.push_back(p);
      events += p->request->events.size();
      queue_.pop_front();
    }
    lock.unlock();
    bool released = false;
    auto let_next_lead = [&] {
      if (released) return;
      released = true;
      std::lock_guard next(queue_mu_);
      gathering_ = false;
      if (!queue_.empty()) queue_.front()->cv.notify_one();
    };
    CommitGroup(group, let_next_lead);
    let_next_lead();
    lock.lock();
    for (pg::PendingAppend* p : group) {
      p->done = true;
      if (p != w) p->cv.notify_one();
    }
    return std::move(w->result);
  }

  void CommitGroup(const std::vector<pg::PendingAppend*>& group, const std::function<void()>& checked) {
    // Until a batch is refused by its own checks, it shares the group's fate.
    for (pg::PendingAppend* p : group) p->result = std::vector<Event>{};
    auto fail = [&](const Status& s) {
      for (pg::PendingAppend* p : group) {
        if (p->result.ok()) p->result = s;
      }
    };
    auto lease = appender_.Get();
    if (!lease.ok()) return fail(lease.status());
    Conn& c = **lease;
    std::shared_lock sets(sets_mu_);
    pg::GroupOutcome outcome = pg::CommitGroup(c, tables_, recorded_sets_, group, checked);
    if (!outcome.status.ok()) {
      Status s = c.broken()           ? LostDuringAppend(outcome.status, outcome.committing)
                 : outcome.committing ? outcome.status.WithContext("committing")
                                      : outcome.status;
      return fail(s);
    }
    std::lock_guard lock(metrics_mu_);
    bool any = false;
    for (const pg::PendingAppend* p : group) {
      if (!p->result.ok()) continue;
      any = true;
      metrics_.appends++;
      metrics_.events += p->result->size();
    }
    if (any) metrics_.commits++;
  }

  Status ForEachEvent(const EventFilter& filter, const std::function<Status(const Event&)>& fn) override {
    if (filter.stream && !filter.study) return InvalidArgument("a stream filter needs a study");
    std::string sql = std::string("SELECT ") + kEventColumns + " FROM events WHERE seq > $1";
    std::vector<Param> params{Param::Int(0)};
    if (filter.study) {
      params.push_back(Param::Text(*filter.study));
      sql += " AND study = $" + std::to_string(params.size());
    }
    if (filter.stream) {
      params.push_back(Param::Text(*filter.stream));
      sql += " AND stream = $" + std::to_string(params.size());
    }
    if (filter.until_time_us) {
      params.push_back(Param::Int(*filter.until_time_us));
      sql += " AND time_us <= $" + std::to_string(params.size());
    }
    params.push_back(Param::Int(0));
    sql += " ORDER BY seq LIMIT $" + std::to_string(params.size());
    // Each chunk is read in a snapshot of its own: numbers are committed in
    // order, so a later chunk never finds a number below its cursor.
    uint64_t cursor = filter.after_seq;
    size_t remaining = filter.limit;
    while (remaining > 0) {
      const size_t want = std::min(remaining, kReadChunk);
      params.front() = Param::Int(static_cast<int64_t>(cursor));
      params.back() = Param::Int(static_cast<int64_t>(want));
      std::vector<Event> chunk;
      {
        TC_ASSIGN_OR_RETURN(auto c, readers_.Get());
        TC_ASSIGN_OR_RETURN(Rows rows, c->Query(sql, params));
        for (int i = 0; i < rows.size(); ++i) {
          TC_ASSIGN_OR_RETURN(Event e, EventRow::From(rows, i).ToEvent());
          chunk.push_back(std::move(e));
        }
      }
      // The callback runs without a connection held, so it may call the store.
      for (const Event& e : chunk) TC_RETURN_IF_ERROR(fn(e));
      if (chunk.size() < want) return Status::Ok();
      cursor = chunk.back().seq;
      remaining -= chunk.size();
    }
    return Status::Ok();
  }

  Status ForEachStoredRecord(const std::string& study, int64_t from_seq, int64_t to_seq,
                             const std::function<Status(const StoredRecord&)>& fn) override {
    TC_ASSIGN_OR_RETURN(auto c, readers_.Get());
    return c->InTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ", [&]() -> Status {
      TC_RETURN_IF_ERROR(c->Query(std::string("DECLARE records NO SCROLL CURSOR FOR SELECT ") + kEventColumns +
                                      " FROM events WHERE study = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq",
                                  {Param::Text(study), Param::Int(from_seq), Param::Int(to_seq)})
                             .status());
      while (true) {
        TC_ASSIGN_OR_RETURN(Rows rows, c->Query("FETCH " + std::to_string(kReadChunk) + " FROM records"));
        for (int i = 0; i < rows.size(); ++i) {
          EventRow row = EventRow::From(rows, i);
          StoredRecord r;
          r.fields = row.Fields();
          r.payload = row.payload;
          r.format_version = row.format_version;
          r.prev_hash = row.prev_hash;
          r.hash = row.hash;
          TC_RETURN_IF_ERROR(fn(r));
        }
        if (rows.size() < static_cast<int>(kReadChunk)) return c->Exec("CLOSE records");
      }
    });
  }

  Result<std::vector<StudyHead>> Heads() override {
    std::vector<StudyHead> heads;
    TC_ASSIGN_OR_RETURN(auto c, readers_.Get());
    Status done = c->InTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ", [&]() -> Status {
      // A skip scan of the study index: one seek per study, not one step per event.
      TC_ASSIGN_OR_RETURN(Rows studies,
                          c->Query("WITH RECURSIVE s(study) AS (SELECT min(study) FROM events UNION ALL "
                                   "SELECT (SELECT min(study) FROM events WHERE study > s.study) FROM s "
                                   "WHERE s.study IS NOT NULL) SELECT study FROM s WHERE study IS NOT NULL"));
      for (int i = 0; i < studies.size(); ++i) {
        std::string name(studies.Text(i, 0));
        TC_ASSIGN_OR_RETURN(Rows h, c->Query("SELECT study_index, hash, seq FROM events WHERE study = $1 "
                                             "ORDER BY study_index DESC LIMIT 1",
                                             {Param::Text(name)}));
        if (h.size() != 1) return Internal("study " + name + " vanished while reading heads");
        StudyHead head;
        head.study = name;
        head.size = static_cast<uint64_t>(h.Int(0, 0)) + 1;
        head.head_hash = HashFromBytes(h.Bytes(0, 1));
        head.last_seq = static_cast<uint64_t>(h.Int(0, 2));
        heads.push_back(std::move(head));
      }
      return Status::Ok();
    });
    TC_RETURN_IF_ERROR(done);
    return heads;
  }

  StoreMetrics Metrics() override {
    std::lock_guard lock(metrics_mu_);
    return metrics_;
  }

  Result<uint64_t> LastSeq() override {
    TC_ASSIGN_OR_RETURN(auto c, readers_.Get());
    TC_ASSIGN_OR_RETURN(Rows r, c->Query("SELECT coalesce(max(seq), 0) FROM events"));
    return static_cast<uint64_t>(r.Int(0, 0));
  }

  std::unique_ptr<Subscription> Subscribe(uint64_t after_seq, std::function<void(const Event&)> handler) override {
    return std::make_unique<PostgresSubscription>(this, url_, after_seq, std::move(handler));
  }

  Result<std::optional<EntityValue>> ReadEntity(const std::string& study, const std::string& path) override {
    TC_ASSIGN_OR_RETURN(auto c, readers_.Get());
    TC_ASSIGN_OR_RETURN(Rows r, c->Query("SELECT v.value, v.seq, e.time_us, e.actor_user, e.actor_role FROM "
                                         "entity_values v JOIN events e ON e.seq = v.seq "
                                         "WHERE v.study = $1 AND v.path = $2",
                                         {Param::Text(study), Param::Text(path)}));
    if (r.size() == 0) return std::optional<EntityValue>();
    TC_ASSIGN_OR_RETURN(Value v, DecodeValue(r.Bytes(0, 0)));
    return std::optional<EntityValue>(EntityValue{path, std::move(v), static_cast<uint64_t>(r.Int(0, 1)), r.Int(0, 2),
                                                  Actor{std::string(r.Text(0, 3)), std::string(r.Text(0, 4))}});
  }

  Result<std::vector<EntityValue>> ReadStreamAsOf(const std::string& study, const std::string& stream,
                                                  std::optional<int64_t> as_of_us) override {
    return ReplayStreamAsOf(study, stream, as_of_us);
  }

  Result<uint64_t> RebuildProjections() override {
    TC_ASSIGN_OR_RETURN(auto c, writers_.Get());
    uint64_t replayed = 0;
    Status done = c->InTransaction("BEGIN", [&]() -> Status {
      TC_RETURN_IF_ERROR(c->Query(kLockHead).status());
      TC_RETURN_IF_ERROR(c->Exec("TRUNCATE entity_values"));
      // By stream: one stream's values in memory at a time (StreamValues).
      TC_RETURN_IF_ERROR(
          c->Exec("DECLARE replay NO SCROLL CURSOR FOR SELECT seq, study, stream, payload FROM events "
                  "ORDER BY study, stream, stream_version"));
      // Many rows per statement: one round trip per row would dominate.
      constexpr size_t kRowsPerInsert = 256;
      std::vector<Param> params;
      std::string sql;
      auto flush = [&]() -> Status {
        if (params.empty()) return Status::Ok();
        Status s = c->Query("INSERT INTO entity_values VALUES " + sql, params).status();
        params.clear();
        sql.clear();
        return s;
      };
      StreamValues values;
      std::string study, stream;
      auto drain = [&]() {
        return values.Drain([&](std::string_view path, std::string_view value, uint64_t seq) -> Status {
          const size_t n = params.size();
          sql += std::string(sql.empty() ? "" : ",") + "($" + std::to_string(n + 1) + ",$" + std::to_string(n + 2) +
                 ",$" + std::to_string(n + 3) + ",$" + std::to_string(n + 4) + ")";
          params.push_back(Param::Text(study));
          params.push_back(Param::Text(path));
          params.push_back(Param::Bytes(value));
          params.push_back(Param::Int(static_cast<int64_t>(seq)));
          return params.size() == 4 * kRowsPerInsert ? flush() : Status::Ok();
        });
      };
      while (true) {
        TC_ASSIGN_OR_RETURN(Rows rows, c->Query("FETCH " + std::to_string(kReadChunk) + " FROM replay"));
        for (int i = 0; i < rows.size(); ++i) {
          if (rows.Text(i, 1) != study || rows.Text(i, 2) != stream) {
            TC_RETURN_IF_ERROR(drain());
            study.assign(rows.Text(i, 1));
            stream.assign(rows.Text(i, 2));
          }
          TC_RETURN_IF_ERROR(values.Add(stream, static_cast<uint64_t>(rows.Int(i, 0)), rows.Bytes(i, 3)));
          ++replayed;
        }
        if (rows.size() < static_cast<int>(kReadChunk)) break;
      }
      TC_RETURN_IF_ERROR(c->Exec("CLOSE replay"));
      TC_RETURN_IF_ERROR(drain());
      return flush();
    });
    TC_RETURN_IF_ERROR(done);
    return replayed;
  }

  Result<std::string> DumpProjections() override {
    std::string out;
    TC_ASSIGN_OR_RETURN(auto c, readers_.Get());
    Status done = c->InTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ", [&]() -> Status {
      TC_ASSIGN_OR_RETURN(Rows ev, c->Query("SELECT study, path, value, seq FROM entity_values ORDER BY study, path"));
      for (int i = 0; i < ev.size(); ++i) {
        out += "entity_values|" + std::string(ev.Text(i, 0)) + "|" + std::string(ev.Text(i, 1)) + "|" +
               ToHex(ev.Bytes(i, 2)) + "|" + std::to_string(ev.Int(i, 3)) + "\n";
      }
      // Every projection set's tables, as recorded in meta (also those of
      // sets this process did not register), each in key order.
      TC_ASSIGN_OR_RETURN(Rows sets, c->Query("SELECT value FROM meta WHERE key LIKE 'projection:%' ORDER BY key"));
      for (int s = 0; s < sets.size(); ++s) {
        std::istringstream names{std::string(sets.Text(s, 0))};
        std::string table;
        names >> table;  // the version
        while (names >> table) {
          TC_ASSIGN_OR_RETURN(Rows keys, c->Query("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON "
                                                  "a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                                                  "WHERE i.indrelid = to_regclass($1) AND i.indisprimary "
                                                  "ORDER BY array_position(i.indkey::int2[], a.attnum)",
                                                  {Param::Text(table)}));
          std::string order;
          for (int k = 0; k < keys.size(); ++k) order += (k ? ", " : "") + std::string(keys.Text(k, 0));
          TC_ASSIGN_OR_RETURN(Rows rows,
                              c->Query("SELECT * FROM " + table + (order.empty() ? "" : " ORDER BY " + order)));
          for (int r = 0; r < rows.size(); ++r) {
            out += table;
            for (int col = 0; col < rows.columns(); ++col) {
              Value v = ValueOf(rows, r, col);
              out += "|";
              out += v.is_null() ? "\\N" : v.kind() == Value::Kind::kInt ? std::to_string(v.as_int()) : v.as_string();
            }
            out += "\n";
          }
        }
      }
      return Status::Ok();
    });
    TC_RETURN_IF_ERROR(done);
    return out;
  }

  Result<bool> RegisterProjections(const ProjectionSet& set) override {
    if (set.name.empty() || set.tables.empty()) return InvalidArgument("a projection set needs a name and tables");
    const std::string key = "projection:" + set.name;
    std::string recorded = std::to_string(set.version);
    for (const auto& t : set.tables) recorded += " " + t.name;
    TC_ASSIGN_OR_RETURN(auto c, writers_.Get());
    std::unique_lock sets(sets_mu_);
    bool fresh = false;
    // Under the log's lock, as every write: two processes opening the
    // database at once agree on what is recorded, and no append is in flight.
    Status s = c->InTransaction("BEGIN", [&]() -> Status {
      TC_RETURN_IF_ERROR(c->Query(kLockHead).status());
      TC_ASSIGN_OR_RETURN(std::string before, RecordedProjectionSet(*c, set.name));
      if (int64_t theirs = pg::RecordedVersion(before); theirs > set.version) {
        return FailedPrecondition("the database's " + set.name + " tables are version " + std::to_string(theirs) +
                                  ", made by a newer trialcore; this one knows version " + std::to_string(set.version) +
                                  ": run the newer trialcore");
      }
      fresh = before != recorded;
      // Tables dropped by hand (meta still names them) are made again too.
      for (size_t i = 0; !fresh && i < set.tables.size(); ++i) {
        TC_ASSIGN_OR_RETURN(Rows exists, c->Query("SELECT to_regclass($1) IS NULL", {Param::Text(set.tables[i].name)}));
        fresh = exists.Text(0, 0) == "t";
      }
      if (!fresh) return Status::Ok();
      std::string sql;
      std::istringstream old_names(before);
      std::string name;
      old_names >> name;  // the version
      while (old_names >> name) sql += "DROP TABLE IF EXISTS " + name + ";";
      for (const auto& t : set.tables) sql += "DROP TABLE IF EXISTS " + t.name + ";" + CreateTableSql(t);
      TC_RETURN_IF_ERROR(c->Exec(sql));
      return c
          ->Query("INSERT INTO meta(key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                  {Param::Text(key), Param::Text(recorded)})
          .status();
    });
    if (!s.ok()) {
      if (s.code() == StatusCode::kFailedPrecondition) return s;
      return s.WithContext("creating the " + set.name + " projection tables");
    }
    auto owned = std::make_unique<ProjectionSet>(set);
    for (const auto& t : owned->tables) tables_[t.name] = MakeTableSql(t);
    sets_[set.name] = std::move(owned);
    recorded_sets_[set.name] = recorded;
    return fresh;
  }

  Status RewriteProjections(const std::string& set_name, const std::string& study,
                            const std::function<Status(ProjectionWriter&, const StudyEventsByStream&)>& fn) override {
    TC_ASSIGN_OR_RETURN(auto c, writers_.Get());
    std::shared_lock sets(sets_mu_);
    auto set = sets_.find(set_name);
    if (set == sets_.end()) return FailedPrecondition("projection set " + set_name + " is not registered");
    Status s = c->InTransaction("BEGIN", [&]() -> Status {
      TC_RETURN_IF_ERROR(c->Query(kLockHead).status());  // holds appends off
      TC_RETURN_IF_ERROR(CheckProjectionSetsUnchanged(*c));
      for (const auto& t : set->second->tables) {
        TC_RETURN_IF_ERROR(c->Query(tables_.at(t.name).delete_study, {Param::Text(study)}).status());
      }
      PgProjectionWriter writer(*c, tables_);
      StudyEventsByStream events = [&](const EventVisitor& visit) -> Status {
        TC_RETURN_IF_ERROR(c->Query(std::string("DECLARE by_stream NO SCROLL CURSOR FOR SELECT ") + kEventColumns +
                                        " FROM events WHERE study = $1 ORDER BY stream, stream_version",
                                    {Param::Text(study)})
                               .status());
        while (true) {
          TC_ASSIGN_OR_RETURN(Rows rows, c->Query("FETCH " + std::to_string(kReadChunk) + " FROM by_stream"));
          // The visitor writes rows on this connection: the chunk is decoded first.
          std::vector<Event> chunk;
          for (int i = 0; i < rows.size(); ++i) {
            TC_ASSIGN_OR_RETURN(Event e, EventRow::From(rows, i).ToEvent(/*for_rewrite=*/true));
            chunk.push_back(std::move(e));
          }
          for (const Event& e : chunk) TC_RETURN_IF_ERROR(visit(e));
          if (rows.size() < static_cast<int>(kReadChunk)) return c->Exec("CLOSE by_stream");
        }
      };
      return fn(writer, events);
    });
    return s.ok() ? s : s.WithContext("rewriting the " + set_name + " projections of " + study);
  }

  Status QueryProjections(const std::string& sql, const std::vector<Value>& params,
                          const std::function<Status(const ProjectionRow&)>& fn) override {
    // One SELECT (or WITH ... SELECT); libpq's extended protocol refuses a
    // second statement, and a reader's transactions are read-only.
    size_t lead = sql.find_first_not_of(" \t\r\n");
    std::string first = lead == std::string::npos ? "" : sql.substr(lead, 6);
    for (char& ch : first) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (first != "SELECT" && !first.starts_with("WITH")) {
      return InvalidArgument("a projection query must be one SELECT");
    }
    // Parameters the statement does not use are not sent, and one in a gap
    // before a used one is sent as a typed NULL: PostgreSQL cannot infer the
    // type of a parameter no expression uses.
    const std::vector<bool> used = ParametersUsed(sql, params.size());
    size_t count = 0;
    for (size_t i = 0; i < used.size(); ++i) {
      if (used[i]) count = i + 1;
    }
    std::vector<Param> bound;
    std::vector<Oid> types(count, 0);
    for (size_t i = 0; i < count; ++i) {
      if (!used[i]) {
        constexpr Oid kText = 25;  // any type: the statement never reads it
        types[i] = kText;
        bound.push_back(Param::Null());
        continue;
      }
      TC_ASSIGN_OR_RETURN(Param p, pg::ParamOf(params[i], "parameter $" + std::to_string(i + 1)));
      bound.push_back(std::move(p));
    }
    std::vector<ProjectionRow> out;
    {
      TC_ASSIGN_OR_RETURN(auto c, readers_.Get());
      auto rows = c->Query(sql, bound, types);
      if (!rows.ok()) {
        if (rows.status().message().find("cannot insert multiple commands") != std::string::npos) {
          return InvalidArgument("a projection query must be one statement");
        }
        if (rows.status().message().find("read-only transaction") != std::string::npos) {
          return InvalidArgument("a projection query must only read");
        }
        return rows.status();
      }
      for (int r = 0; r < rows->size(); ++r) {
        ProjectionRow row;
        for (int col = 0; col < rows->columns(); ++col) row.push_back(ValueOf(*rows, r, col));
        out.push_back(std::move(row));
      }
    }
    // The callback runs without the reader held, so it may call the store.
    for (const auto& row : out) TC_RETURN_IF_ERROR(fn(row));
    return Status::Ok();
  }

  Status ImportEvents(const std::vector<Event>& events) override {
    if (events.empty()) return Status::Ok();
    TC_ASSIGN_OR_RETURN(auto c, writers_.Get());
    return c->InTransaction("BEGIN", [&]() -> Status {
      TC_ASSIGN_OR_RETURN(Rows head, c->Query(kLockHead));
      if (head.size() != 1) return DataLoss("PostgreSQL database " + where_ + " lost its log_head row");
      uint64_t next_seq = static_cast<uint64_t>(head.Int(0, 0)) + 1;
      int64_t last_time = head.Int(0, 1);
      struct StudyHeadState {
        uint64_t size = 0;
        Hash hash{};
      };
      std::map<std::string, StudyHeadState> studies;
      std::vector<pg::Statement> statements;
      for (const Event& e : events) {
        auto it = studies.find(e.study);
        if (it == studies.end()) {
          TC_ASSIGN_OR_RETURN(Rows h, c->Query("SELECT study_index, hash FROM events WHERE study = $1 "
                                               "ORDER BY study_index DESC LIMIT 1",
                                               {Param::Text(e.study)}));
          StudyHeadState st;
          if (h.size()) st = {static_cast<uint64_t>(h.Int(0, 0)) + 1, HashFromBytes(h.Bytes(0, 1))};
          it = studies.emplace(e.study, st).first;
        }
        TC_ASSIGN_OR_RETURN(std::string payload, CheckImportedEvent(e, next_seq, it->second.size, it->second.hash));
        statements.push_back(pg::InsertEventStatement(e, payload));
        ++next_seq;
        it->second.size++;
        it->second.hash = e.hash;
        last_time = std::max(last_time, e.time_us);
      }
      statements.push_back({"UPDATE log_head SET last_seq = $1, last_time_us = $2 WHERE id = 1",
                            {Param::Int(static_cast<int64_t>(next_seq - 1)), Param::Int(last_time)}});
      statements.push_back({"SELECT pg_notify($1, $2)",
                            {Param::Text(pg::kEventsChannel), Param::Int(static_cast<int64_t>(next_seq - 1))}});
      return c->Pipeline(statements);
    });
  }

  Status ImportCheckpoint(const Checkpoint& cp) override {
    TC_ASSIGN_OR_RETURN(auto c, writers_.Get());
    return StoreCheckpoint(*c, cp).WithContext("storing a checkpoint of " + cp.study);
  }

  Result<Checkpoint> CreateCheckpoint(const std::string& study, const SigningKey& key) override {
    TC_RETURN_IF_ERROR(ValidateStudyId(study));
    // Never sign a log that does not verify: that would launder tampering.
    TC_ASSIGN_OR_RETURN(StudyVerification v, VerifyStudy(*this, study, {}, std::nullopt));
    if (v.problem) {
      return DataLoss("refusing to sign a checkpoint of " + study + ": event " + std::to_string(v.problem->seq) +
                      " (position " + std::to_string(v.problem->study_index) + "): " + v.problem->what);
    }
    if (v.events == 0) return NotFound("study " + study + " has no events to checkpoint");
    Checkpoint cp = SignCheckpoint(key, study, v.events, v.root, options_.env->NowMicros());
    TC_ASSIGN_OR_RETURN(auto c, writers_.Get());
    TC_RETURN_IF_ERROR_CTX(StoreCheckpoint(*c, cp), "storing the checkpoint");
    return cp;
  }

  Result<std::vector<Checkpoint>> Checkpoints(const std::string& study) override {
    TC_ASSIGN_OR_RETURN(auto c, readers_.Get());
    TC_ASSIGN_OR_RETURN(Rows r, c->Query("SELECT study, tree_size, root_hash, time_us, public_key, signature FROM "
                                         "checkpoints WHERE study = $1 ORDER BY tree_size",
                                         {Param::Text(study)}));
    std::vector<Checkpoint> out;
    for (int i = 0; i < r.size(); ++i) {
      Checkpoint cp;
      cp.study = r.Text(i, 0);
      cp.tree_size = static_cast<uint64_t>(r.Int(i, 1));
      cp.root_hash = HashFromBytes(r.Bytes(i, 2));
      cp.time_us = r.Int(i, 3);
      cp.public_key = r.Bytes(i, 4);
      cp.signature = r.Bytes(i, 5);
      out.push_back(std::move(cp));
    }
    return out;
  }

  Result<InclusionProof> ProveInclusion(uint64_t seq) override {
    return BuildInclusionProof(seq, [this](const std::string& study, uint64_t size) { return Leaves(study, size); });
  }

  Result<ConsistencyProof> ProveConsistency(const std::string& study, uint64_t from_size, uint64_t to_size) override {
    return BuildConsistencyProof(study, from_size, to_size,
                                 [this](const std::string& s, uint64_t size) { return Leaves(s, size); });
  }

 private:
  static Status StoreCheckpoint(Conn& c, const Checkpoint& cp) {
    return c
        .Query(
            "INSERT INTO checkpoints(study, tree_size, root_hash, time_us, public_key, signature) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (study, tree_size) DO UPDATE SET "
            "root_hash = excluded.root_hash, time_us = excluded.time_us, public_key = excluded.public_key, "
            "signature = excluded.signature",
            {Param::Text(cp.study), Param::Int(static_cast<int64_t>(cp.tree_size)), Param::Bytes(AsBytes(cp.root_hash)),
             Param::Int(cp.time_us), Param::Bytes(cp.public_key), Param::Bytes(cp.signature)})
        .status();
  }

  // A connection lost before COMMIT was sent stored nothing (the server rolls
  // back a transaction whose session ends); lost during COMMIT, the outcome
  // is unknown to this side, and the caller must look before trying again.
  Status LostDuringAppend(const Status& cause, bool committing) const {
    if (committing) {
      return Status(StatusCode::kIoError, "the connection to PostgreSQL " + where_ +
                                              " was lost while the append was committing: whether it was stored is "
                                              "unknown; read the stream before trying again (" +
                                              cause.message() + ")");
    }
    return Status(StatusCode::kIoError,
                  "the connection to PostgreSQL " + where_ +
                      " was lost during the append, so nothing of it was stored (the server ends a transaction "
                      "left idle longer than " +
                      std::to_string(options_.stalled_transaction_timeout_ms) + " ms, or it restarted) (" +
                      cause.message() + ")");
  }

  static Result<std::string> RecordedProjectionSet(Conn& c, const std::string& name) {
    TC_ASSIGN_OR_RETURN(Rows r, c.Query("SELECT value FROM meta WHERE key = $1", {Param::Text("projection:" + name)}));
    return r.size() ? std::string(r.Text(0, 0)) : std::string();
  }

  // Another server (a newer trialcore) may have made a registered set's
  // tables over in its own version: this one's rows would be wrong there, so
  // its writes stop until it is restarted with that build.
  Status CheckProjectionSetsUnchanged(Conn& c) {
    std::map<std::string, std::string> now;
    for (const auto& [name, mine] : recorded_sets_) {
      TC_ASSIGN_OR_RETURN(now[name], RecordedProjectionSet(c, name));
    }
    return pg::ProjectionSetsUnchanged(recorded_sets_, now);
  }

  Result<std::vector<Hash>> Leaves(const std::string& study, uint64_t size) {
    TC_ASSIGN_OR_RETURN(auto c, readers_.Get());
    TC_ASSIGN_OR_RETURN(Rows r, c->Query("SELECT hash FROM events WHERE study = $1 AND study_index < $2 "
                                         "ORDER BY study_index",
                                         {Param::Text(study), Param::Int(static_cast<int64_t>(size))}));
    std::vector<Hash> leaves;
    leaves.reserve(static_cast<size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i) leaves.push_back(MerkleLeafHash(r.Bytes(i, 0)));
    if (leaves.size() != size) {
      return DataLoss("study " + study + " has " + std::to_string(leaves.size()) + " events but a checkpoint at " +
                      std::to_string(size));
    }
    return leaves;
  }

  const std::string url_;
  const PostgresStoreOptions options_;
  std::string where_;
  Pool writers_;
  Pool appender_;
  Pool readers_;
  std::unique_ptr<ServerState> server_state_;  // through the pools above
  // Registered projection sets: appends and rewrites read them (shared),
  // RegisterProjections changes them (exclusive).
  std::shared_mutex sets_mu_;
  std::map<std::string, std::unique_ptr<ProjectionSet>> sets_;
  TableMap tables_;
  std::map<std::string, std::string> recorded_sets_;
  std::mutex metrics_mu_;
  StoreMetrics metrics_;
  std::atomic<bool> closing_{false};
  // Appends waiting to be committed; the front one leads its group.
  std::mutex queue_mu_;
  std::deque<pg::PendingAppend*> queue_;  // batches no leader has taken yet
  bool gathering_ = false;                // a leader is reading and checking its group
};

void PostgresSubscription::Run() {
  // LISTEN on a connection of its own; without one (the server refused it)
  // the subscription still delivers everything, by reading every poll.
  std::unique_ptr<Conn> listen;
  if (auto c = Conn::Connect(url_); c.ok() && (*c)->Exec(std::string("LISTEN ") + pg::kEventsChannel).ok()) {
    listen = std::move(c).value();
  }
  while (!stop_ && !store_->closing()) {
    EventFilter f;
    f.after_seq = cursor_;
    bool got_any = false;
    (void)store_->ForEachEvent(f, [&](const Event& e) -> Status {
      if (stop_) return Aborted("stopped");
      handler_(e);
      cursor_ = e.seq;
      got_any = true;
      return Status::Ok();
    });
    if (got_any) continue;
    if (!listen || listen->broken()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kSubscriptionPollMs));
      continue;
    }
    pollfd p{PQsocket(listen->handle()), POLLIN, 0};
    (void)poll(&p, 1, kSubscriptionPollMs);
    PQconsumeInput(listen->handle());
    while (PGnotify* n = PQnotifies(listen->handle())) PQfreemem(n);
  }
}

}  // namespace

Result<std::unique_ptr<EventStore>> OpenPostgresEventStore(const std::string& url,
                                                           const PostgresStoreOptions& options) {
  auto store = std::make_unique<PostgresEventStore>(url, options);
  TC_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<EventStore>(std::move(store));
}

}  // namespace trialcore
