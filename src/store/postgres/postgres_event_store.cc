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
#include <charconv>
#include <condition_variable>
#include <cstring>
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
#include "store/projection_sql.h"

namespace trialcore {
namespace {

using pg::Conn;
using pg::Param;
using pg::Rows;

constexpr size_t kReadChunk = 2048;
// The channel every commit of an append notifies (payload: its last seq).
constexpr const char* kChannel = "trialcore_events";
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

Hash HashFromBytes(std::string_view b) {
  Hash h{};
  if (b.size() == h.size()) std::memcpy(h.data(), b.data(), h.size());
  return h;
}

// One row of a kEventColumns query, owned (libpq's text form decoded).
struct EventRow {
  int64_t seq = 0, stream_version = 0, study_index = 0, time_us = 0, format_version = 0;
  std::string study, stream, type, actor_user, actor_role, reason, payload, prev_hash, hash;

  static EventRow From(const Rows& r, int i) {
    EventRow e;
    e.seq = r.Int(i, 0);
    e.study = r.Text(i, 1);
    e.stream = r.Text(i, 2);
    e.stream_version = r.Int(i, 3);
    e.study_index = r.Int(i, 4);
    e.type = r.Text(i, 5);
    e.time_us = r.Int(i, 6);
    e.actor_user = r.Text(i, 7);
    e.actor_role = r.Text(i, 8);
    e.reason = r.Text(i, 9);
    e.payload = r.Bytes(i, 10);
    e.prev_hash = r.Bytes(i, 11);
    e.hash = r.Bytes(i, 12);
    e.format_version = r.Int(i, 13);
    return e;
  }

  RecordFields Fields() const {
    RecordFields f;
    f.seq = static_cast<uint64_t>(seq);
    f.study = study;
    f.stream = stream;
    f.stream_version = static_cast<uint64_t>(stream_version);
    f.study_index = static_cast<uint64_t>(study_index);
    f.type = type;
    f.time_us = time_us;
    f.actor_user = actor_user;
    f.actor_role = actor_role;
    f.reason = reason;
    return f;
  }

  Result<Event> ToEvent() const {
    Event e;
    e.seq = static_cast<uint64_t>(seq);
    e.study = study;
    e.stream = stream;
    e.stream_version = static_cast<uint64_t>(stream_version);
    e.study_index = static_cast<uint64_t>(study_index);
    e.type = type;
    e.time_us = time_us;
    e.actor = {actor_user, actor_role};
    e.reason = reason;
    e.prev_hash = HashFromBytes(prev_hash);
    e.hash = HashFromBytes(hash);
    if (format_version != kEventFormatVersion) {
      return Unimplemented("event " + std::to_string(seq) + " has format version " + std::to_string(format_version) +
                           ", which this trialcore does not know");
    }
    auto value = DecodeValue(payload);
    if (!value.ok()) return value.status().WithContext("payload of event " + std::to_string(seq));
    e.payload = std::move(value).value();
    return e;
  }
};

Result<Param> ParamOf(const Value& v, std::string_view what) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return Param::Null();
    case Value::Kind::kBool:
      return Param::Int(v.as_bool() ? 1 : 0);
    case Value::Kind::kInt:
      return Param::Int(v.as_int());
    case Value::Kind::kString:
      return Param::Text(v.as_string());
    default:
      return InvalidArgument(std::string(what) + ": a projection value must be null, a boolean, an integer or text");
  }
}

// A projection row's value from a result column: integers (and integral
// numerics, such as sum() of integers) as ints, booleans as 0/1, the rest as
// text, as SQLite gives them.
Value ValueOf(const Rows& r, int row, int col) {
  if (r.IsNull(row, col)) return Value();
  constexpr Oid kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kNumeric = 1700;
  const Oid type = r.Type(col);
  std::string_view text = r.Text(row, col);
  if (type == kBool) return Value(int64_t{text == "t" ? 1 : 0});
  if (type == kInt8 || type == kInt2 || type == kInt4 || type == kNumeric) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && end == text.data() + text.size()) return Value(v);
  }
  return Value(std::string(text));
}

using TableSql = ProjectionTableSql;
TableSql MakeTableSql(const ProjectionTable& t) { return MakeProjectionTableSql(t, SqlDialect::kPostgres); }
std::string CreateTableSql(const ProjectionTable& t) {
  return CreateProjectionTableSql(t, SqlDialect::kPostgres) + CreateProjectionIndexesSql(t);
}

using TableMap = std::map<std::string, TableSql, std::less<>>;

class PgProjectionWriter final : public ProjectionWriter {
 public:
  PgProjectionWriter(Conn& conn, const TableMap& tables) : conn_(conn), tables_(tables) {}

  Status Put(const std::string& table, const ProjectionRow& row) override {
    TC_ASSIGN_OR_RETURN(const TableSql* t, Find(table));
    if (row.size() != t->table->columns.size()) {
      return InvalidArgument("a row of " + table + " needs " + std::to_string(t->table->columns.size()) +
                             " values, got " + std::to_string(row.size()));
    }
    std::vector<Param> params;
    for (size_t i = 0; i < row.size(); ++i) {
      TC_ASSIGN_OR_RETURN(Param p, ParamOf(row[i], table + "." + t->table->columns[i].name));
      params.push_back(std::move(p));
    }
    return conn_.Query(t->upsert, params).status();
  }

  Status Delete(const std::string& table, const ProjectionRow& key) override {
    TC_ASSIGN_OR_RETURN(const TableSql* t, Find(table));
    if (key.size() < t->table->key_size) return InvalidArgument("a key of " + table + " is too short");
    std::vector<Param> params;
    for (size_t i = 0; i < t->table->key_size; ++i) {
      TC_ASSIGN_OR_RETURN(Param p, ParamOf(key[i], table + "." + t->table->columns[i].name));
      params.push_back(std::move(p));
    }
    return conn_.Query(t->remove, params).status();
  }

 private:
  Result<const TableSql*> Find(const std::string& table) const {
    auto it = tables_.find(table);
    if (it == tables_.end()) return FailedPrecondition("projection table " + table + " is not registered");
    return &it->second;
  }
  Conn& conn_;
  const TableMap& tables_;
};

// Connections, each used by one thread at a time, made when first needed.
class Pool {
 public:
  // setup runs on each new connection (a reader's read-only default).
  Pool(std::string url, size_t max, std::string setup) : url_(std::move(url)), max_(max), setup_(std::move(setup)) {}

  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Conn> c) : pool_(pool), conn_(std::move(c)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (pool_ && conn_) pool_->Return(std::move(conn_));
    }
    Conn* operator->() { return conn_.get(); }
    Conn& operator*() { return *conn_; }

   private:
    Pool* pool_;
    std::unique_ptr<Conn> conn_;
  };

  Result<Lease> Get() {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !idle_.empty() || open_ < max_; });
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(c));
      }
      ++open_;
    }
    auto c = Conn::Connect(url_);
    if (c.ok() && !setup_.empty()) {
      if (Status s = (*c)->Exec(setup_); !s.ok()) c = s;
    }
    if (!c.ok()) {
      std::lock_guard lock(mu_);
      --open_;
      cv_.notify_one();
      return c.status();
    }
    return Lease(this, std::move(c).value());
  }

 private:
  void Return(std::unique_ptr<Conn> c) {
    std::lock_guard lock(mu_);
    // A connection left inside a transaction (a failed ROLLBACK) or broken
    // is dropped, never handed to the next caller.
    if (c->broken() || PQtransactionStatus(c->handle()) != PQTRANS_IDLE) {
      --open_;
    } else {
      idle_.push_back(std::move(c));
    }
    cv_.notify_one();
  }

  const std::string url_;
  const size_t max_;
  const std::string setup_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  size_t open_ = 0;
};

// The numbers of the parameters ($N) a statement names outside quotes and
// comments; PostgreSQL cannot type a parameter that is never used.
std::vector<bool> ParametersUsed(std::string_view sql, size_t count) {
  std::vector<bool> used(count, false);
  char quote = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      i = sql.find('\n', i);
      if (i == std::string_view::npos) break;
    } else if (c == '$' && i + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      size_t n = 0;
      while (i + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) n = n * 10 + (sql[++i] - '0');
      if (n >= 1 && n <= count) used[n - 1] = true;
    }
  }
  return used;
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
        writers_(url_, options_.max_connections, ""),
        // Readers cannot write, whatever a projection query says.
        readers_(url_, options_.max_connections, "SET default_transaction_read_only = on") {}

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
    return Status::Ok();
  }

  ~PostgresEventStore() override { closing_ = true; }
  bool closing() const { return closing_; }

  Result<std::vector<Event>> Append(const AppendRequest& request) override {
    TC_ASSIGN_OR_RETURN(std::vector<std::string> payloads, ValidateAppend(request));
    TC_ASSIGN_OR_RETURN(auto c, writers_.Get());
    std::shared_lock sets(sets_mu_);
    std::vector<Event> out;
    Status s = c->InTransaction("BEGIN", [&] { return AppendInTransaction(*c, request, payloads, &out); });
    if (!s.ok()) return s;
    std::lock_guard lock(metrics_mu_);
    metrics_.commits++;
    metrics_.appends++;
    metrics_.events += out.size();
    return out;
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
      // The last write of each key wins, as in the live projection.
      std::map<std::string, std::pair<std::string, int64_t>> latest;  // study '\0' path -> value, seq
      TC_RETURN_IF_ERROR(
          c->Exec("DECLARE replay NO SCROLL CURSOR FOR SELECT seq, study, payload FROM events ORDER BY seq"));
      while (true) {
        TC_ASSIGN_OR_RETURN(Rows rows, c->Query("FETCH " + std::to_string(kReadChunk) + " FROM replay"));
        for (int i = 0; i < rows.size(); ++i) {
          const int64_t seq = rows.Int(i, 0);
          std::string study(rows.Text(i, 1));
          std::string payload = rows.Bytes(i, 2);
          TC_RETURN_IF_ERROR_CTX(ForEachSetEntry(payload,
                                                 [&](std::string_view path, std::string_view value) -> Status {
                                                   latest[study + '\0' + std::string(path)] = {std::string(value), seq};
                                                   return Status::Ok();
                                                 }),
                                 "replaying event " + std::to_string(seq));
          ++replayed;
        }
        if (rows.size() < static_cast<int>(kReadChunk)) break;
      }
      TC_RETURN_IF_ERROR(c->Exec("CLOSE replay"));
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
      for (const auto& [key, v] : latest) {
        const size_t nul = key.find('\0');
        const size_t n = params.size();
        sql += std::string(sql.empty() ? "" : ",") + "($" + std::to_string(n + 1) + ",$" + std::to_string(n + 2) +
               ",$" + std::to_string(n + 3) + ",$" + std::to_string(n + 4) + ")";
        params.push_back(Param::Text(std::string_view(key).substr(0, nul)));
        params.push_back(Param::Text(std::string_view(key).substr(nul + 1)));
        params.push_back(Param::Bytes(v.first));
        params.push_back(Param::Int(v.second));
        if (params.size() == 4 * kRowsPerInsert) TC_RETURN_IF_ERROR(flush());
      }
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
      if (int64_t theirs = RecordedVersion(before); theirs > set.version) {
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
            TC_ASSIGN_OR_RETURN(Event e, EventRow::From(rows, i).ToEvent());
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
      TC_ASSIGN_OR_RETURN(Param p, ParamOf(params[i], "parameter $" + std::to_string(i + 1)));
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
        TC_RETURN_IF_ERROR(InsertEvent(*c, e, payload));
        ++next_seq;
        it->second.size++;
        it->second.hash = e.hash;
        last_time = std::max(last_time, e.time_us);
      }
      TC_RETURN_IF_ERROR(c->Query("UPDATE log_head SET last_seq = $1, last_time_us = $2 WHERE id = 1",
                                  {Param::Int(static_cast<int64_t>(next_seq - 1)), Param::Int(last_time)})
                             .status());
      return c
          ->Query("SELECT pg_notify($1, $2)", {Param::Text(kChannel), Param::Int(static_cast<int64_t>(next_seq - 1))})
          .status();
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
  static Status InsertEvent(Conn& c, const Event& e, std::string_view payload) {
    return c
        .Query(
            "INSERT INTO events(seq, study, stream, stream_version, study_index, type, time_us, actor_user, "
            "actor_role, reason, payload, prev_hash, hash, format_version) "
            "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
            {Param::Int(static_cast<int64_t>(e.seq)), Param::Text(e.study), Param::Text(e.stream),
             Param::Int(static_cast<int64_t>(e.stream_version)), Param::Int(static_cast<int64_t>(e.study_index)),
             Param::Text(e.type), Param::Int(e.time_us), Param::Text(e.actor.user), Param::Text(e.actor.role),
             Param::Text(e.reason), Param::Bytes(payload), Param::Bytes(AsBytes(e.prev_hash)),
             Param::Bytes(AsBytes(e.hash)), Param::Int(kEventFormatVersion)})
        .status();
  }

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

  Status AppendInTransaction(Conn& c, const AppendRequest& req, const std::vector<std::string>& payloads,
                             std::vector<Event>* out) {
    // The log's lock: held until this transaction commits, so the next
    // appender reads the numbers this one gave out only once they are
    // visible, and no reader ever sees a later number before an earlier.
    TC_ASSIGN_OR_RETURN(Rows head, c.Query(kLockHead));
    if (head.size() != 1) return DataLoss("PostgreSQL database " + where_ + " lost its log_head row");
    TC_RETURN_IF_ERROR(CheckProjectionSetsUnchanged(c));
    uint64_t next_seq = static_cast<uint64_t>(head.Int(0, 0)) + 1;
    // Time never goes backwards in the log, whichever server's clock appends.
    const int64_t time_us = std::max(head.Int(0, 1), options_.env->NowMicros());
    std::unordered_map<std::string, uint64_t> versions;
    auto version_of = [&](const std::string& stream) -> Result<uint64_t*> {
      auto it = versions.find(stream);
      if (it != versions.end()) return &it->second;
      TC_ASSIGN_OR_RETURN(Rows v, c.Query("SELECT coalesce(max(stream_version), 0) FROM events "
                                          "WHERE study = $1 AND stream = $2",
                                          {Param::Text(req.study), Param::Text(stream)}));
      return &versions.emplace(stream, static_cast<uint64_t>(v.Int(0, 0))).first->second;
    };
    for (const auto& [stream, expected] : req.expected_versions) {
      TC_ASSIGN_OR_RETURN(uint64_t * current, version_of(stream));
      if (expected != kAnyVersion && static_cast<uint64_t>(expected) != *current) {
        return Aborted("stream " + stream + " of " + req.study + " is at version " + std::to_string(*current) +
                       ", not the expected " + std::to_string(expected) + "; someone else changed it first");
      }
    }
    TC_ASSIGN_OR_RETURN(Rows study_head, c.Query("SELECT study_index, hash FROM events WHERE study = $1 "
                                                 "ORDER BY study_index DESC LIMIT 1",
                                                 {Param::Text(req.study)}));
    uint64_t size = study_head.size() ? static_cast<uint64_t>(study_head.Int(0, 0)) + 1 : 0;
    Hash prev = study_head.size() ? HashFromBytes(study_head.Bytes(0, 1)) : Hash{};
    std::string record;
    for (size_t i = 0; i < req.events.size(); ++i) {
      const EventDraft& d = req.events[i];
      TC_ASSIGN_OR_RETURN(uint64_t * version, version_of(d.stream));
      Event e;
      e.seq = next_seq++;
      e.study = req.study;
      e.stream = d.stream;
      e.stream_version = ++*version;
      e.study_index = size++;
      e.type = d.type;
      e.time_us = time_us;
      e.actor = d.actor;
      e.reason = d.reason;
      e.prev_hash = prev;
      record.clear();
      EncodeEventRecord(e, payloads[i], &record);
      e.hash = ChainHash(e.prev_hash, record);
      TC_RETURN_IF_ERROR_CTX(InsertEvent(c, e, payloads[i]), "appending event " + std::to_string(e.seq));
      TC_RETURN_IF_ERROR(ApplyEntityValues(c, e, payloads[i]));
      prev = e.hash;
      e.payload = d.payload;
      out->push_back(std::move(e));
    }
    if (req.project) {
      PgProjectionWriter writer(c, tables_);
      TC_RETURN_IF_ERROR_CTX(req.project(*out, writer), "updating the projections");
    }
    const int64_t last = static_cast<int64_t>(out->back().seq);
    TC_RETURN_IF_ERROR(c.Query("UPDATE log_head SET last_seq = $1, last_time_us = $2 WHERE id = 1",
                               {Param::Int(last), Param::Int(time_us)})
                           .status());
    // Delivered to listeners when, and only if, this transaction commits.
    return c.Query("SELECT pg_notify($1, $2)", {Param::Text(kChannel), Param::Int(last)}).status();
  }

  // The live projection entity_values, in the append's transaction, and the
  // reason-for-change rule (store/append_rules.h) on what it held before.
  Status ApplyEntityValues(Conn& c, const Event& e, std::string_view payload) {
    return ForEachSetEntry(payload, [&](std::string_view path, std::string_view value) -> Status {
      if (ReasonRuleNeedsStoredValue(e)) {
        TC_ASSIGN_OR_RETURN(Rows cur, c.Query("SELECT value FROM entity_values WHERE study = $1 AND path = $2",
                                              {Param::Text(e.study), Param::Text(path)}));
        std::optional<std::string> stored;
        if (cur.size()) stored = cur.Bytes(0, 0);
        TC_RETURN_IF_ERROR(
            CheckReasonForChange(e, path, stored ? std::optional<std::string_view>(*stored) : std::nullopt, value));
      }
      return c
          .Query(
              "INSERT INTO entity_values(study, path, value, seq) VALUES ($1, $2, $3, $4) "
              "ON CONFLICT (study, path) DO UPDATE SET value = excluded.value, seq = excluded.seq",
              {Param::Text(e.study), Param::Text(path), Param::Bytes(value), Param::Int(static_cast<int64_t>(e.seq))})
          .status();
    });
  }

  static Result<std::string> RecordedProjectionSet(Conn& c, const std::string& name) {
    TC_ASSIGN_OR_RETURN(Rows r, c.Query("SELECT value FROM meta WHERE key = $1", {Param::Text("projection:" + name)}));
    return r.size() ? std::string(r.Text(0, 0)) : std::string();
  }

  static int64_t RecordedVersion(const std::string& recorded) {
    int64_t version = 0;
    std::istringstream(recorded) >> version;
    return version;
  }

  // Another server (a newer trialcore) may have made a registered set's
  // tables over in its own version: this one's rows would be wrong there, so
  // its writes stop until it is restarted with that build.
  Status CheckProjectionSetsUnchanged(Conn& c) {
    for (const auto& [name, mine] : recorded_sets_) {
      TC_ASSIGN_OR_RETURN(std::string now, RecordedProjectionSet(c, name));
      if (now != mine) {
        return FailedPrecondition("the " + name + " projection tables were made over by another trialcore (version " +
                                  std::to_string(RecordedVersion(now)) + "; this process writes version " +
                                  std::to_string(RecordedVersion(mine)) + "): restart this server with that build");
      }
    }
    return Status::Ok();
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
  Pool readers_;
  // Registered projection sets: appends and rewrites read them (shared),
  // RegisterProjections changes them (exclusive).
  std::shared_mutex sets_mu_;
  std::map<std::string, std::unique_ptr<ProjectionSet>> sets_;
  TableMap tables_;
  std::map<std::string, std::string> recorded_sets_;
  std::mutex metrics_mu_;
  StoreMetrics metrics_;
  std::atomic<bool> closing_{false};
};

void PostgresSubscription::Run() {
  // LISTEN on a connection of its own; without one (the server refused it)
  // the subscription still delivers everything, by reading every poll.
  std::unique_ptr<Conn> listen;
  if (auto c = Conn::Connect(url_); c.ok() && (*c)->Exec(std::string("LISTEN ") + kChannel).ok()) {
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
