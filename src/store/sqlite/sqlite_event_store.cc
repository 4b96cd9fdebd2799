// Invariants: events.seq is gap-free from 1; within a study, study_index is
// gap-free from 0 and each event's prev_hash is the previous event's hash;
// projection tables equal a replay of the log (RebuildProjections).
#include "store/sqlite/sqlite_event_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "core/canonical.h"
#include "core/merkle.h"
#include "store/append_rules.h"
#include "store/audit.h"
#include "store/projection_recorder.h"
#include "store/projection_sql.h"
#include "store/sqlite/env_vfs.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_server_state.h"
#include "store/stream_values.h"

namespace trialcore {
namespace {

using sqlite::Db;
using sqlite::Stmt;

constexpr int kApplicationId = 0x54434431;  // "TCD1"
constexpr size_t kReadChunk = 2048;
// Read connections: enough for the server's concurrent readers on a few cores.
constexpr size_t kReaders = 4;
// How often a subscription looks for commits of other processes (another
// `trialcore serve` on the file): what a change through one server waits at
// most before another server's event streams see it (DESIGN.md §4 asks for
// 100 ms at p99). A look that finds nothing is one seek of the events' primary
// key on a read connection.
constexpr std::chrono::milliseconds kOtherProcessesPoll{10};
// Projection queries each reader keeps prepared: the read side's texts are a
// few dozen (a viewer's sites are parameters, so their number, not which
// they are, makes a text); the bound keeps any caller's from growing it.
constexpr size_t kCachedQueries = 256;
// Longest a commit waits for more writers to join it; well under one fsync.
constexpr std::chrono::microseconds kGatherWait(100);

const char* const kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events(
  seq INTEGER PRIMARY KEY,
  study TEXT NOT NULL,
  stream TEXT NOT NULL,
  stream_version INTEGER NOT NULL,
  study_index INTEGER NOT NULL,
  type TEXT NOT NULL,
  time_us INTEGER NOT NULL,
  actor_user TEXT NOT NULL,
  actor_role TEXT NOT NULL,
  reason TEXT NOT NULL,
  payload BLOB NOT NULL,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL,
  format_version INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream ON events(study, stream, stream_version);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_study ON events(study, study_index);
CREATE TABLE IF NOT EXISTS checkpoints(
  study TEXT NOT NULL,
  tree_size INTEGER NOT NULL,
  root_hash BLOB NOT NULL,
  time_us INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  signature BLOB NOT NULL,
  PRIMARY KEY(study, tree_size)) WITHOUT ROWID;
)sql";

// Projection table: the current value of every entity, rebuilt from the log
// by RebuildProjections.
const char* const kProjectionSchema = R"sql(
CREATE TABLE IF NOT EXISTS entity_values(
  study TEXT NOT NULL, path TEXT NOT NULL, value BLOB NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY(study, path)) WITHOUT ROWID;
)sql";

const char* const kEventColumns =
    "seq, study, stream, stream_version, study_index, type, time_us, actor_user, actor_role, reason, payload, "
    "prev_hash, hash, format_version";
const std::string kStudyEventsByStream =
    std::string("SELECT ") + kEventColumns + " FROM events WHERE study = ?1 ORDER BY stream, stream_version";

Hash HashFromBlob(std::string_view b) {
  Hash h{};
  if (b.size() == h.size()) std::memcpy(h.data(), b.data(), h.size());
  return h;
}

// The record's fields as views into the current row of a kEventColumns query.
RecordFields FieldsFromRow(const Stmt& s) {
  RecordFields f;
  f.seq = static_cast<uint64_t>(s.Int(0));
  f.study = s.Text(1);
  f.stream = s.Text(2);
  f.stream_version = static_cast<uint64_t>(s.Int(3));
  f.study_index = static_cast<uint64_t>(s.Int(4));
  f.type = s.Text(5);
  f.time_us = s.Int(6);
  f.actor_user = s.Text(7);
  f.actor_role = s.Text(8);
  f.reason = s.Text(9);
  return f;
}

// Fills every field but the payload, which the caller decodes if it needs it.
void ReadEnvelope(const Stmt& s, Event* e) {
  RecordFields f = FieldsFromRow(s);
  e->seq = f.seq;
  e->study = f.study;
  e->stream = f.stream;
  e->stream_version = f.stream_version;
  e->study_index = f.study_index;
  e->type = f.type;
  e->time_us = f.time_us;
  e->actor.user = f.actor_user;
  e->actor.role = f.actor_role;
  e->reason = f.reason;
  e->prev_hash = HashFromBlob(s.Blob(11));
  e->hash = HashFromBlob(s.Blob(12));
}

// for_rewrite: the payload without its member "set", as a projection
// set's rewrite reads it (EventStore::RewriteProjections).
Result<Event> EventFromRow(const Stmt& s, bool for_rewrite = false) {
  Event e;
  ReadEnvelope(s, &e);
  if (s.Int(13) != kEventFormatVersion) {
    return Unimplemented("event " + std::to_string(e.seq) + " has format version " + std::to_string(s.Int(13)) +
                         ", which this trialcore does not know");
  }
  auto payload = for_rewrite ? DecodePayloadWithoutSet(s.Blob(10)) : DecodeValue(s.Blob(10));
  if (!payload.ok()) return payload.status().WithContext("payload of event " + std::to_string(e.seq));
  e.payload = std::move(payload).value();
  return e;
}

Status BindValue(Stmt& s, int index, const Value& v, std::string_view what) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      s.BindNull(index);
      return Status::Ok();
    case Value::Kind::kBool:
      s.Bind(index, int64_t{v.as_bool() ? 1 : 0});
      return Status::Ok();
    case Value::Kind::kInt:
      s.Bind(index, v.as_int());
      return Status::Ok();
    case Value::Kind::kString:
      s.Bind(index, std::string_view(v.as_string()));
      return Status::Ok();
    default:
      return InvalidArgument(std::string(what) + ": a projection value must be null, a boolean, an integer or text");
  }
}

ProjectionRow RowFromStmt(const Stmt& s) {
  ProjectionRow row;
  const int n = sqlite3_column_count(s.handle());
  row.reserve(static_cast<size_t>(n));
  for (int c = 0; c < n; ++c) {
    switch (sqlite3_column_type(s.handle(), c)) {
      case SQLITE_NULL:
        row.emplace_back();
        break;
      case SQLITE_INTEGER:
        row.emplace_back(s.Int(c));
        break;
      default:
        row.emplace_back(std::string(s.Text(c)));
    }
  }
  return row;
}

// The SQL a registered table is written and dumped with.
using TableSql = ProjectionTableSql;
TableSql MakeTableSql(const ProjectionTable& t) { return MakeProjectionTableSql(t, SqlDialect::kSqlite); }
std::string CreateTableOnlySql(const ProjectionTable& t) { return CreateProjectionTableSql(t, SqlDialect::kSqlite); }
std::string CreateTableSql(const ProjectionTable& t) { return CreateTableOnlySql(t) + CreateProjectionIndexesSql(t); }

class SqliteProjectionWriter final : public ProjectionWriter {
 public:
  SqliteProjectionWriter(Db& db, const std::map<std::string, TableSql, std::less<>>& tables)
      : db_(db), tables_(tables) {}

  Status Put(const std::string& table, const ProjectionRow& row) override {
    TC_ASSIGN_OR_RETURN(const TableSql* t, Find(table));
    if (row.size() != t->table->columns.size()) {
      return InvalidArgument("a row of " + table + " needs " + std::to_string(t->table->columns.size()) +
                             " values, got " + std::to_string(row.size()));
    }
    // Most changes leave the indexed columns as they were (a subject's
    // version moves with every event, its site and status seldom): try the
    // upsert that keeps the indexes, and write them only when it wrote
    // nothing (the row is there with other indexed values).
    if (!t->upsert_same_index.empty()) {
      TC_ASSIGN_OR_RETURN(Stmt s, db_.Prepare(t->upsert_same_index));
      TC_RETURN_IF_ERROR(BindRow(s, *t, row));
      TC_RETURN_IF_ERROR(s.Run());
      if (sqlite3_changes(db_.handle()) > 0) return Status::Ok();
    }
    TC_ASSIGN_OR_RETURN(Stmt s, db_.Prepare(t->upsert));
    TC_RETURN_IF_ERROR(BindRow(s, *t, row));
    return s.Run();
  }

  Status Delete(const std::string& table, const ProjectionRow& key) override {
    TC_ASSIGN_OR_RETURN(const TableSql* t, Find(table));
    if (key.size() < t->table->key_size) return InvalidArgument("a key of " + table + " is too short");
    TC_ASSIGN_OR_RETURN(Stmt s, db_.Prepare(t->remove));
    for (size_t i = 0; i < t->table->key_size; ++i) {
      TC_RETURN_IF_ERROR(BindValue(s, static_cast<int>(i + 1), key[i], table + "." + t->table->columns[i].name));
    }
    return s.Run();
  }

 private:
  static Status BindRow(Stmt& s, const TableSql& t, const ProjectionRow& row) {
    for (size_t i = 0; i < row.size(); ++i) {
      TC_RETURN_IF_ERROR(BindValue(s, static_cast<int>(i + 1), row[i], t.table->name + "." + t.table->columns[i].name));
    }
    return Status::Ok();
  }

  Result<const TableSql*> Find(const std::string& table) const {
    auto it = tables_.find(table);
    if (it == tables_.end()) return FailedPrecondition("projection table " + table + " is not registered");
    return &it->second;
  }
  Db& db_;
  const std::map<std::string, TableSql, std::less<>>& tables_;
};

// A rewrite's writer: rows are kept per table and inserted many to a
// statement (at hundreds of thousands of rows the per-statement cost of step
// and reset is as large as the b-tree work). Put replaces a row with its key,
// as the live writer does; a Delete first writes the table's pending rows.
class BulkProjectionWriter final : public ProjectionWriter {
 public:
  BulkProjectionWriter(Db& db, const std::map<std::string, TableSql, std::less<>>& tables) : db_(db), tables_(tables) {}

  Status Put(const std::string& table, const ProjectionRow& row) override {
    auto it = pending_.find(table);
    if (it == pending_.end()) {
      auto t = tables_.find(table);
      if (t == tables_.end()) return FailedPrecondition("projection table " + table + " is not registered");
      it = pending_.emplace(table, Pending{&t->second, {}, std::nullopt}).first;
    }
    Pending& p = it->second;
    const ProjectionTable& t = *p.sql->table;
    if (row.size() != t.columns.size()) {
      return InvalidArgument("a row of " + table + " needs " + std::to_string(t.columns.size()) + " values, got " +
                             std::to_string(row.size()));
    }
    p.rows.push_back(row);
    if (p.rows.size() == RowsPerInsert(t)) return Write(p);
    return Status::Ok();
  }

  Status Delete(const std::string& table, const ProjectionRow& key) override {
    auto it = pending_.find(table);
    if (it != pending_.end()) TC_RETURN_IF_ERROR(Write(it->second));
    return SqliteProjectionWriter(db_, tables_).Delete(table, key);
  }

  // Writes every pending row.
  Status Flush() {
    for (auto& [name, p] : pending_) TC_RETURN_IF_ERROR(Write(p));
    return Status::Ok();
  }

 private:
  struct Pending {
    const TableSql* sql;
    std::vector<ProjectionRow> rows;
    std::optional<Stmt> full;  // the statement for a full batch
  };

  static size_t RowsPerInsert(const ProjectionTable& t) { return std::max<size_t>(1, 960 / t.columns.size()); }

  static std::string InsertSql(const ProjectionTable& t, size_t rows) {
    std::string one = "(";
    for (size_t i = 0; i < t.columns.size(); ++i) one += i ? ",?" : "?";
    one += ")";
    std::string sql = "INSERT OR REPLACE INTO " + t.name + " VALUES ";
    for (size_t r = 0; r < rows; ++r) sql += (r ? "," : "") + one;
    return sql;
  }

  Status Write(Pending& p) {
    if (p.rows.empty()) return Status::Ok();
    const ProjectionTable& t = *p.sql->table;
    std::optional<Stmt> tail;
    if (p.rows.size() == RowsPerInsert(t)) {
      if (!p.full) {
        TC_ASSIGN_OR_RETURN(p.full, db_.PrepareOwned(InsertSql(t, p.rows.size())));
      }
    } else {
      TC_ASSIGN_OR_RETURN(tail, db_.PrepareOwned(InsertSql(t, p.rows.size())));
    }
    Stmt& ins = tail ? *tail : *p.full;
    const size_t n = t.columns.size();
    for (size_t r = 0; r < p.rows.size(); ++r) {
      for (size_t c = 0; c < n; ++c) {
        const Value& v = p.rows[r][c];
        const int index = static_cast<int>(r * n + c + 1);
        if (v.is_string()) {
          ins.BindStatic(index, v.as_string());  // the rows outlive the statement's step
        } else {
          TC_RETURN_IF_ERROR(BindValue(ins, index, v, t.name + "." + t.columns[c].name));
        }
      }
    }
    Status s = ins.Run();
    p.rows.clear();
    return s;
  }

  Db& db_;
  const std::map<std::string, TableSql, std::less<>>& tables_;
  std::map<std::string, Pending, std::less<>> pending_;
};

// Rows of a rebuilt entity_values, many per statement: at a million rows
// the per-statement overhead of step and reset costs as much as the b-tree
// work.
class EntityValueRows {
 public:
  explicit EntityValueRows(Db& db) : db_(db) {}

  Status Prepare() {
    TC_ASSIGN_OR_RETURN(bulk_, db_.PrepareOwned(InsertSql(kRowsPerInsert)));
    return Status::Ok();
  }

  Status Add(std::string_view study, std::string_view path, std::string_view value, uint64_t seq) {
    Row& r = rows_[pending_++];
    r.study.assign(study);
    r.path.assign(path);
    r.value.assign(value);
    r.seq = static_cast<int64_t>(seq);
    return pending_ == kRowsPerInsert ? Run(*bulk_) : Status::Ok();
  }

  Status Finish() {
    if (pending_ == 0) return Status::Ok();
    TC_ASSIGN_OR_RETURN(Stmt tail, db_.PrepareOwned(InsertSql(pending_)));
    return Run(tail);
  }

 private:
  static constexpr size_t kRowsPerInsert = 64;
  struct Row {
    std::string study, path, value;
    int64_t seq = 0;
  };

  static std::string InsertSql(size_t rows) {
    std::string sql = "INSERT INTO entity_values VALUES ";
    for (size_t r = 0; r < rows; ++r) sql += r ? ",(?,?,?,?)" : "(?,?,?,?)";
    return sql;
  }

  Status Run(Stmt& ins) {
    for (size_t r = 0; r < pending_; ++r) {
      const int col = static_cast<int>(r * 4);
      ins.BindStatic(col + 1, rows_[r].study).BindStatic(col + 2, rows_[r].path);
      ins.BindStaticBlob(col + 3, rows_[r].value);
      ins.Bind(col + 4, rows_[r].seq);
    }
    pending_ = 0;
    return ins.Run();
  }

  Db& db_;
  std::optional<Stmt> bulk_;
  std::array<Row, kRowsPerInsert> rows_;
  size_t pending_ = 0;
};

struct Pending {
  const AppendRequest* request = nullptr;
  std::vector<std::string> payloads;  // canonical bytes, encoded by the caller's thread
  // The events' time, read on the caller's thread; the commit stamps a later
  // one only if a batch committed before it has a later time.
  int64_t time_us = 0;
  // The projector's rows when it ran before the commit (projection_recorder.h).
  ProjectedAhead ahead;
  Result<std::vector<Event>> result = Status(StatusCode::kInternal, "not committed");
  bool done = false;
  std::condition_variable cv;
};

// Per-transaction view of heads, rolled forward as batches apply.
struct TxnState {
  uint64_t next_seq = 1;
  int64_t last_time_us = 0;
  struct Head {
    uint64_t size = 0;
    Hash hash{};
  };
  std::unordered_map<std::string, Head> studies;
  std::unordered_map<std::string, uint64_t> streams;  // study + '\0' + stream -> version
};

class SqliteEventStore;

class SqliteSubscription final : public Subscription {
 public:
  SqliteSubscription(SqliteEventStore* store, uint64_t after_seq, std::function<void(const Event&)> handler);
  ~SqliteSubscription() override;

 private:
  void Run();
  SqliteEventStore* store_;
  uint64_t cursor_;
  std::function<void(const Event&)> handler_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class SqliteEventStore final : public EventStore {
 public:
  SqliteEventStore(std::string path, SqliteStoreOptions options) : path_(std::move(path)), options_(options) {}

  Status Open() {
    std::string vfs;
    exclusive_ = !options_.env->IsPosix();
    if (exclusive_) vfs = RegisterEnvVfs(options_.env);
    if (!options_.create_if_missing && !options_.env->FileExists(path_)) {
      return NotFound("database " + path_ + " does not exist");
    }
    TC_RETURN_IF_ERROR(OpenConnection(&write_db_, vfs));
    // A statement that writes many rows (a rebuild's multi-row INSERTs, a
    // projection's upserts) keeps a journal of the pages it changed, to undo
    // itself alone; on disk that is a temporary file written page by page:
    // three in four of a rebuild's page writes. Crash safety does not depend
    // on it (the WAL does that).
    TC_RETURN_IF_ERROR(write_db_.Exec("PRAGMA temp_store=MEMORY"));
    TC_RETURN_IF_ERROR(InitSchema());
    if (!exclusive_) {
      for (size_t i = 0; i < kReaders; ++i) {
        readers_.push_back(std::make_unique<Db>());
        TC_RETURN_IF_ERROR(OpenConnection(readers_.back().get(), vfs));
        // The server's readers touch pages all over a large file: a bounded
        // map and page cache keep its resident memory from growing with the
        // study (mapped pages count as resident once read).
        TC_RETURN_IF_ERROR(readers_.back()->Exec("PRAGMA cache_size=-8192"));
        TC_RETURN_IF_ERROR(readers_.back()->Exec("PRAGMA mmap_size=" + std::to_string(kBoundedMapBytes)));
        idle_readers_.push_back(readers_.back().get());
      }
    }
    server_state_ =
        sqlite::NewSqliteServerState([this](const std::function<Status(Db&)>& fn) { return WithReader(fn); },
                                     [this](const std::function<Status(Db&)>& fn) {
                                       std::lock_guard lock(write_mu_);
                                       return fn(write_db_);
                                     });
    return Status::Ok();
  }

  ServerState& server_state() override { return *server_state_; }

  Result<std::vector<Event>> Append(const AppendRequest& request) override {
    auto pending = std::make_unique<Pending>();
    TC_RETURN_IF_ERROR(Prepare(request, pending.get()));
    Pending* w = pending.get();
    std::unique_lock lock(queue_mu_);
    queue_.push_back(w);
    if (queue_.size() >= gather_target_) gather_cv_.notify_one();
    while (!w->done && queue_.front() != w) w->cv.wait(lock);
    if (w->done) return std::move(w->result);

    // Writers whose batches the previous commit just finished are usually
    // about to append again; waiting a moment for as many as were in that
    // group shares one fsync among them (PostgreSQL's commit_delay, adaptive).
    if (last_group_size_ > 1 && queue_.size() < last_group_size_) {
      gather_target_ = last_group_size_;
      gather_cv_.wait_for(lock, kGatherWait, [&] { return queue_.size() >= last_group_size_; });
      gather_target_ = SIZE_MAX;
    }

    // This writer leads: it commits every queued batch in one transaction.
    std::vector<Pending*> group;
    size_t events = 0;
    for (Pending* p : queue_) {
      if (!group.empty() && events + p->request->events.size() > options_.max_group_events) break;
      group.push_back(p);
      events += p->request->events.size();
    }
    last_group_size_ = group.size();
    lock.unlock();
    CommitGroup(group);
    lock.lock();
    for (size_t i = 0; i < group.size(); ++i) {
      Pending* p = queue_.front();
      queue_.pop_front();
      p->done = true;
      if (p != w) p->cv.notify_one();
    }
    if (!queue_.empty()) queue_.front()->cv.notify_one();
    return std::move(w->result);
  }

  Status Sync() override {
    if (!options_.bulk_load) return Status::Ok();
    std::lock_guard lock(write_mu_);
    TC_RETURN_IF_ERROR(CheckWritable());
    // A FULL checkpoint waits (up to the busy timeout) for readers of older
    // snapshots, copies the whole log into the database and, with
    // synchronous=NORMAL, syncs the log before and the database after: then
    // every commit so far is on disk. Busy means some commits are not.
    TC_ASSIGN_OR_RETURN(Stmt s, write_db_.Prepare("PRAGMA wal_checkpoint(FULL)"));
    TC_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Internal("PRAGMA wal_checkpoint returned nothing");
    if (s.Int(0) != 0 || s.Int(1) != s.Int(2)) {
      return Aborted("could not make " + path_ + " durable: another connection kept the write-ahead log busy (" +
                     std::to_string(s.Int(2)) + " of " + std::to_string(s.Int(1)) +
                     " pages checkpointed); run the command again when it is idle");
    }
    return Status::Ok();
  }

  Status ForEachEvent(const EventFilter& filter, const std::function<Status(const Event&)>& fn) override {
    if (filter.stream && !filter.study) return InvalidArgument("a stream filter needs a study");
    std::string sql = std::string("SELECT ") + kEventColumns + " FROM events WHERE seq > ?1";
    // Without a stream, read by a range of seq: "+study" keeps the planner off
    // the (study, study_index) index, which would visit every event of the
    // study to find the few after the cursor (the common catch-up read).
    if (filter.study) sql += filter.stream ? " AND study = ?2" : " AND +study = ?2";
    if (filter.stream) sql += " AND stream = ?3";
    if (filter.until_time_us) sql += " AND time_us <= ?4";
    sql += " ORDER BY seq LIMIT ?5";
    // A study read from its start (a small study's log, such as the user
    // directory's, in a database of large ones) goes by the study's index,
    // in study_index order, which is seq order within a study: a range of
    // seq would scan every other study's events too.
    std::string from_start = std::string("SELECT ") + kEventColumns + " FROM events WHERE study = ?2 AND seq > ?1";
    if (filter.until_time_us) from_start += " AND time_us <= ?4";
    from_start += " ORDER BY study_index LIMIT ?5";
    const bool study_from_start = filter.study && !filter.stream && filter.after_seq == 0;
    uint64_t cursor = filter.after_seq;
    size_t remaining = filter.limit;
    while (remaining > 0) {
      const size_t want = std::min(remaining, kReadChunk);
      std::vector<Event> chunk;
      TC_RETURN_IF_ERROR(WithReader([&](Db& db) -> Status {
        TC_ASSIGN_OR_RETURN(Stmt s, db.Prepare(study_from_start && cursor == 0 ? from_start : sql));
        s.Bind(1, static_cast<int64_t>(cursor));
        if (filter.study) s.Bind(2, *filter.study);
        if (filter.stream) s.Bind(3, *filter.stream);
        if (filter.until_time_us) s.Bind(4, *filter.until_time_us);
        s.Bind(5, static_cast<int64_t>(want));
        while (true) {
          TC_ASSIGN_OR_RETURN(bool row, s.Step());
          if (!row) break;
          TC_ASSIGN_OR_RETURN(Event e, EventFromRow(s));
          chunk.push_back(std::move(e));
        }
        return Status::Ok();
      }));
      // The callback runs without locks held, so it may call the store.
      for (const Event& e : chunk) TC_RETURN_IF_ERROR(fn(e));
      if (chunk.size() < want) return Status::Ok();
      cursor = chunk.back().seq;
      remaining -= chunk.size();
    }
    return Status::Ok();
  }

  // In sequence order by a range scan of the table (no index lookups):
  // study_index follows seq within a study, and the verifier checks that it
  // does. Each call on a POSIX file gets a connection of its own, so ranges
  // are read in parallel.
  Status ForEachStoredRecord(const std::string& study, int64_t from_seq, int64_t to_seq,
                             const std::function<Status(const StoredRecord&)>& fn) override {
    auto scan = [&](Db& db) -> Status {
      TC_ASSIGN_OR_RETURN(Stmt s, db.PrepareOwned(std::string("SELECT ") + kEventColumns +
                                                  " FROM events NOT INDEXED WHERE seq >= ?2 AND seq <= ?3 "
                                                  "AND study = ?1 ORDER BY seq"));
      s.Bind(1, study).Bind(2, from_seq).Bind(3, to_seq);
      StoredRecord r;
      while (true) {
        TC_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) return Status::Ok();
        r.fields = FieldsFromRow(s);
        r.payload = s.Blob(10);
        r.prev_hash = s.Blob(11);
        r.hash = s.Blob(12);
        r.format_version = s.Int(13);
        TC_RETURN_IF_ERROR(fn(r));
      }
    };
    if (exclusive_) return WithReader(scan);
    Db db;
    TC_RETURN_IF_ERROR(OpenConnection(&db, ""));
    return scan(db);
  }

  Result<std::vector<StudyHead>> Heads() override {
    std::vector<StudyHead> heads;
    TC_RETURN_IF_ERROR(WithReader([&](Db& db) -> Status {
      // A skip scan of the study index: one seek per study, not one step per event.
      TC_ASSIGN_OR_RETURN(Stmt studies,
                          db.Prepare("WITH RECURSIVE s(study) AS (SELECT min(study) FROM events UNION ALL "
                                     "SELECT (SELECT min(study) FROM events WHERE study > s.study) FROM s "
                                     "WHERE s.study IS NOT NULL) SELECT study FROM s WHERE study IS NOT NULL"));
      std::vector<std::string> names;
      while (true) {
        TC_ASSIGN_OR_RETURN(bool row, studies.Step());
        if (!row) break;
        names.emplace_back(studies.Text(0));
      }
      TC_ASSIGN_OR_RETURN(Stmt s, db.Prepare("SELECT study_index, hash, seq FROM events WHERE study = ?1 "
                                             "ORDER BY study_index DESC LIMIT 1"));
      for (const auto& name : names) {
        s.Bind(1, name);
        TC_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) return Internal("study " + name + " vanished while reading heads");
        StudyHead h;
        h.study = name;
        h.size = static_cast<uint64_t>(s.Int(0)) + 1;
        h.head_hash = HashFromBlob(s.Blob(1));
        h.last_seq = static_cast<uint64_t>(s.Int(2));
        heads.push_back(std::move(h));
        sqlite3_reset(s.handle());
      }
      return Status::Ok();
    }));
    return heads;
  }

  StoreMetrics Metrics() override {
    std::lock_guard lock(notify_mu_);
    return metrics_;
  }

  Result<uint64_t> LastSeq() override {
    uint64_t last = 0;
    TC_RETURN_IF_ERROR(WithReader([&](Db& db) -> Status {
      TC_ASSIGN_OR_RETURN(Stmt s, db.Prepare("SELECT coalesce(max(seq), 0) FROM events"));
      TC_ASSIGN_OR_RETURN(bool row, s.Step());
      if (row) last = static_cast<uint64_t>(s.Int(0));
      return Status::Ok();
    }));
    return last;
  }

  std::unique_ptr<Subscription> Subscribe(uint64_t after_seq, std::function<void(const Event&)> handler) override {
    return std::make_unique<SqliteSubscription>(this, after_seq, std::move(handler));
  }

  // Blocks until an event after seq may have been committed, or timeout.
  void WaitForCommitAfter(uint64_t seq, std::chrono::milliseconds timeout) {
    std::unique_lock lock(notify_mu_);
    notify_cv_.wait_for(lock, timeout, [&] { return committed_seq_ > seq || closing_; });
  }
  bool closing() {
    std::lock_guard lock(notify_mu_);
    return closing_;
  }

  Result<std::optional<EntityValue>> ReadEntity(const std::string& study, const std::string& path) override {
    std::optional<EntityValue> out;
    TC_RETURN_IF_ERROR(WithReader([&](Db& db) -> Status {
      TC_ASSIGN_OR_RETURN(
          Stmt s, db.Prepare("SELECT v.value, v.seq, e.time_us, e.actor_user, e.actor_role FROM "
                             "entity_values v JOIN events e ON e.seq = v.seq WHERE v.study = ?1 AND v.path = ?2"));
      s.Bind(1, study).Bind(2, path);
      TC_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return Status::Ok();
      TC_ASSIGN_OR_RETURN(Value v, DecodeValue(s.Blob(0)));
      out = EntityValue{path, std::move(v), static_cast<uint64_t>(s.Int(1)), s.Int(2),
                        Actor{std::string(s.Text(3)), std::string(s.Text(4))}};
      return Status::Ok();
    }));
    return out;
  }

  Result<std::vector<EntityValue>> ReadStreamAsOf(const std::string& study, const std::string& stream,
                                                  std::optional<int64_t> as_of_us) override {
    return ReplayStreamAsOf(study, stream, as_of_us);
  }

  Result<uint64_t> RebuildProjections() override {
    std::lock_guard lock(write_mu_);
    TC_RETURN_IF_ERROR(CheckWritable());
    TC_RETURN_IF_ERROR(write_db_.Exec("BEGIN IMMEDIATE"));
    auto result = RebuildLocked();
    if (!result.ok()) {
      (void)write_db_.Exec("ROLLBACK");
      return result.status();
    }
    Status commit = write_db_.Exec("COMMIT");
    if (!commit.ok()) {
      (void)write_db_.Exec("ROLLBACK");
      return commit.WithContext("committing the rebuilt projections");
    }
    return result;
  }

  Result<std::string> DumpProjections() override {
    std::string out;
    TC_RETURN_IF_ERROR(WithReader([&](Db& db) -> Status {
      TC_ASSIGN_OR_RETURN(Stmt s, db.Prepare("SELECT study, path, value, seq FROM entity_values ORDER BY study, path"));
      while (true) {
        TC_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        out += "entity_values|" + std::string(s.Text(0)) + "|" + std::string(s.Text(1)) + "|" + ToHex(s.Blob(2)) + "|" +
               std::to_string(s.Int(3)) + "\n";
      }
      // Every projection set's tables, as recorded in meta (also those of
      // sets this process did not register), each in key order.
      TC_ASSIGN_OR_RETURN(Stmt sets,
                          db.PrepareOwned("SELECT value FROM meta WHERE key LIKE 'projection:%' ORDER BY key"));
      while (true) {
        TC_ASSIGN_OR_RETURN(bool row, sets.Step());
        if (!row) break;
        std::istringstream names{std::string(sets.Text(0))};
        std::string table;
        names >> table;  // the version
        while (names >> table) {
          // In primary-key order, said: a covering index (every secondary
          // index of a WITHOUT ROWID table holds the key) may be scanned
          // instead of the table, in its own order.
          TC_ASSIGN_OR_RETURN(Stmt keys, db.PrepareOwned("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 "
                                                         "ORDER BY pk"));
          keys.Bind(1, table);
          std::string order;
          while (true) {
            TC_ASSIGN_OR_RETURN(bool k, keys.Step());
            if (!k) break;
            order += (order.empty() ? " ORDER BY " : ", ") + std::string(keys.Text(0));
          }
          TC_ASSIGN_OR_RETURN(Stmt rows, db.PrepareOwned("SELECT * FROM " + table + order));
          while (true) {
            TC_ASSIGN_OR_RETURN(bool r, rows.Step());
            if (!r) break;
            out += table;
            for (const Value& v : RowFromStmt(rows)) {
              out += "|";
              out += v.is_null() ? "\\N" : v.kind() == Value::Kind::kInt ? std::to_string(v.as_int()) : v.as_string();
            }
            out += "\n";
          }
        }
      }
      return Status::Ok();
    }));
    return out;
  }

  Result<bool> RegisterProjections(const ProjectionSet& set) override {
    if (set.name.empty() || set.tables.empty()) return InvalidArgument("a projection set needs a name and tables");
    std::lock_guard lock(write_mu_);
    TC_RETURN_IF_ERROR(CheckWritable());
    const std::string key = "projection:" + set.name;
    std::string recorded = std::to_string(set.version);
    for (const auto& t : set.tables) recorded += " " + t.name;
    // Read and changed in one write transaction, so that two processes
    // opening the database at once agree on what is recorded.
    TC_RETURN_IF_ERROR(write_db_.Exec("BEGIN IMMEDIATE"));
    auto run = [&]() -> Result<bool> {
      TC_ASSIGN_OR_RETURN(std::string before, RecordedProjectionSet(set.name));
      if (int64_t theirs = RecordedVersion(before); theirs > set.version) {
        // Their rows mean what this build cannot know; making the tables
        // over in this version would break the newer servers still writing.
        return FailedPrecondition("the database's " + set.name + " tables are version " + std::to_string(theirs) +
                                  ", made by a newer trialcore; this one knows version " + std::to_string(set.version) +
                                  ": run the newer trialcore");
      }
      bool fresh = before != recorded;
      // Tables dropped by hand (meta still names them) are made again too.
      for (size_t i = 0; !fresh && i < set.tables.size(); ++i) {
        TC_ASSIGN_OR_RETURN(Stmt exists,
                            write_db_.Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1"));
        exists.Bind(1, set.tables[i].name);
        TC_ASSIGN_OR_RETURN(bool found, exists.Step());
        fresh = !found || exists.Int(0) == 0;
        sqlite3_reset(exists.handle());
      }
      if (!fresh) return false;
      // Tables of another version of the set (their names are recorded with
      // it) go, and this version's are made empty, for the owner to fill.
      std::string sql;
      std::istringstream old_names(before);
      std::string name;
      old_names >> name;  // the version
      while (old_names >> name) sql += "DROP TABLE IF EXISTS " + name + ";";
      for (const auto& t : set.tables) sql += "DROP TABLE IF EXISTS " + t.name + ";" + CreateTableSql(t);
      TC_RETURN_IF_ERROR(write_db_.Exec(sql));
      TC_ASSIGN_OR_RETURN(Stmt put, write_db_.Prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)"));
      put.Bind(1, key).Bind(2, recorded);
      TC_RETURN_IF_ERROR(put.Run());
      return true;
    };
    Result<bool> fresh = run();
    Status s = fresh.ok() ? write_db_.Exec("COMMIT") : fresh.status();
    if (!s.ok()) {
      (void)write_db_.Exec("ROLLBACK");
      if (s.code() == StatusCode::kFailedPrecondition) return s;
      return s.WithContext("creating the " + set.name + " projection tables");
    }
    auto owned = std::make_unique<ProjectionSet>(set);
    for (const auto& t : owned->tables) tables_[t.name] = MakeTableSql(t);
    sets_[set.name] = std::move(owned);
    recorded_sets_[set.name] = recorded;
    return *fresh;
  }

  Status RewriteProjections(const std::string& set_name, const std::string& study,
                            const std::function<Status(ProjectionWriter&, const StudyEventsByStream&)>& fn) override {
    std::lock_guard lock(write_mu_);
    TC_RETURN_IF_ERROR(CheckWritable());
    auto set = sets_.find(set_name);
    if (set == sets_.end()) return FailedPrecondition("projection set " + set_name + " is not registered");
    TC_RETURN_IF_ERROR(write_db_.Exec("BEGIN IMMEDIATE"));
    auto run = [&]() -> Status {
      // When the tables hold no other study's rows (the usual database of
      // one trial, or a rebuild's empty tables), they are made anew and their
      // indexes built after the rows are in: much faster than keeping them
      // up to date row by row.
      bool alone = true;
      for (const auto& t : set->second->tables) {
        TC_ASSIGN_OR_RETURN(Stmt other, write_db_.PrepareOwned("SELECT 1 FROM " + t.name + " WHERE " +
                                                               t.columns[0].name + " <> ?1 LIMIT 1"));
        other.Bind(1, study);
        TC_ASSIGN_OR_RETURN(bool row, other.Step());
        alone = alone && !row;
      }
      for (const auto& t : set->second->tables) {
        if (alone) {
          // Emptied first, so that the DROP frees no page (see RebuildLocked).
          TC_RETURN_IF_ERROR(
              write_db_.Exec("DELETE FROM " + t.name + ";DROP TABLE " + t.name + ";" + CreateTableOnlySql(t)));
          continue;
        }
        TC_ASSIGN_OR_RETURN(Stmt del, write_db_.Prepare(tables_.at(t.name).delete_study));
        del.Bind(1, study);
        TC_RETURN_IF_ERROR(del.Run());
      }
      BulkProjectionWriter writer(write_db_, tables_);
      StudyEventsByStream events = [&](const EventVisitor& visit) -> Status {
        TC_ASSIGN_OR_RETURN(Stmt q, write_db_.PrepareOwned(kStudyEventsByStream));
        q.Bind(1, study);
        while (true) {
          TC_ASSIGN_OR_RETURN(bool row, q.Step());
          if (!row) return Status::Ok();
          TC_ASSIGN_OR_RETURN(Event e, EventFromRow(q, /*for_rewrite=*/true));
          TC_RETURN_IF_ERROR(visit(e));
        }
      };
      TC_RETURN_IF_ERROR(fn(writer, events));
      TC_RETURN_IF_ERROR(writer.Flush());
      if (alone) {
        for (const auto& t : set->second->tables) TC_RETURN_IF_ERROR(write_db_.Exec(CreateProjectionIndexesSql(t)));
      }
      return Status::Ok();
    };
    Status s = run();
    if (s.ok()) s = write_db_.Exec("COMMIT");
    if (!s.ok()) {
      (void)write_db_.Exec("ROLLBACK");
      // As after a failed append's commit: the disk's state is unknown.
      if (s.code() == StatusCode::kIoError || s.code() == StatusCode::kDataLoss) fatal_ = s;
      return s.WithContext("rewriting the " + set_name + " projections of " + study);
    }
    return Status::Ok();
  }

  Status QueryProjections(const std::string& sql, const std::vector<Value>& params,
                          const std::function<Status(const ProjectionRow&)>& fn) override {
    std::vector<ProjectionRow> rows;
    Status read = WithReader([&](Db& db) -> Status {
      // One SELECT (or WITH ... SELECT) and nothing after it: BEGIN or
      // ATTACH count as read-only to SQLite but would leave a pooled reader
      // in a transaction or attached to another file.
      size_t lead = sql.find_first_not_of(" \t\r\n");
      std::string first = lead == std::string::npos ? "" : sql.substr(lead, 6);
      for (char& c : first) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (first != "SELECT" && !first.starts_with("WITH")) {
        return InvalidArgument("a projection query must be one SELECT");
      }
      TC_ASSIGN_OR_RETURN(Stmt s,
                          db.PrepareQuery(sql, kCachedQueries, [](sqlite3_stmt* stmt, std::string_view tail) -> Status {
                            if (tail.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
                              return InvalidArgument("a projection query must be one statement");
                            }
                            if (!sqlite3_stmt_readonly(stmt))
                              return InvalidArgument("a projection query must only read");
                            return Status::Ok();
                          }));
      for (size_t i = 0; i < params.size(); ++i) {
        const std::string name = "$" + std::to_string(i + 1);
        int index = sqlite3_bind_parameter_index(s.handle(), name.c_str());
        if (index == 0) continue;  // a parameter the statement does not use
        TC_RETURN_IF_ERROR(BindValue(s, index, params[i], "parameter " + name));
      }
      while (true) {
        TC_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) return Status::Ok();
        rows.push_back(RowFromStmt(s));
      }
    });
    if (!read.ok()) return read;
    // The callback runs without the reader held, so it may call the store.
    for (const auto& row : rows) TC_RETURN_IF_ERROR(fn(row));
    return Status::Ok();
  }

  Status ImportEvents(const std::vector<Event>& events) override {
    if (events.empty()) return Status::Ok();
    std::lock_guard lock(write_mu_);
    TC_RETURN_IF_ERROR(CheckWritable());
    TC_RETURN_IF_ERROR(write_db_.Run("BEGIN IMMEDIATE"));
    TxnState state;
    Status s = [&]() -> Status {
      TC_RETURN_IF_ERROR(LoadTxnState(&state));
      // The columns of ApplyBatch's insert.
      TC_ASSIGN_OR_RETURN(Stmt insert,
                          write_db_.Prepare("INSERT INTO events(seq, study, stream, stream_version, study_index, type, "
                                            "time_us, actor_user, actor_role, reason, payload, prev_hash, hash, "
                                            "format_version) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)"));
      for (const Event& e : events) {
        TC_ASSIGN_OR_RETURN(TxnState::Head * head, StudyHeadOf(&state, e.study));
        TC_ASSIGN_OR_RETURN(std::string payload, CheckImportedEvent(e, state.next_seq, head->size, head->hash));
        insert.Bind(1, static_cast<int64_t>(e.seq)).Bind(2, e.study).Bind(3, e.stream);
        insert.Bind(4, static_cast<int64_t>(e.stream_version)).Bind(5, static_cast<int64_t>(e.study_index));
        insert.Bind(6, e.type).Bind(7, e.time_us).Bind(8, e.actor.user).Bind(9, e.actor.role).Bind(10, e.reason);
        insert.BindBlob(11, payload).BindBlob(12, AsBytes(e.prev_hash)).BindBlob(13, AsBytes(e.hash));
        insert.Bind(14, kEventFormatVersion);
        TC_RETURN_IF_ERROR_CTX(insert.Run(), "importing event " + std::to_string(e.seq));
        state.next_seq++;
        head->size++;
        head->hash = e.hash;
      }
      return Status::Ok();
    }();
    if (s.ok()) s = write_db_.Run("COMMIT");
    if (!s.ok()) {
      (void)write_db_.Run("ROLLBACK");
      return s;
    }
    std::lock_guard nlock(notify_mu_);
    committed_seq_ = state.next_seq - 1;
    notify_cv_.notify_all();
    return Status::Ok();
  }

  Status ImportCheckpoint(const Checkpoint& c) override {
    std::lock_guard lock(write_mu_);
    TC_RETURN_IF_ERROR(CheckWritable());
    return StoreCheckpoint(c);
  }

  // Under write_mu_.
  Status StoreCheckpoint(const Checkpoint& c) {
    TC_ASSIGN_OR_RETURN(Stmt s,
                        write_db_.Prepare("INSERT OR REPLACE INTO checkpoints(study, tree_size, root_hash, time_us, "
                                          "public_key, signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    s.Bind(1, c.study).Bind(2, static_cast<int64_t>(c.tree_size)).BindBlob(3, AsBytes(c.root_hash));
    s.Bind(4, c.time_us).BindBlob(5, c.public_key).BindBlob(6, c.signature);
    return s.Run().WithContext("storing a checkpoint of " + c.study);
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
    Checkpoint c = SignCheckpoint(key, study, v.events, v.root, options_.env->NowMicros());
    std::lock_guard lock(write_mu_);
    TC_RETURN_IF_ERROR(CheckWritable());
    TC_RETURN_IF_ERROR(StoreCheckpoint(c));
    return c;
  }

  Result<std::vector<Checkpoint>> Checkpoints(const std::string& study) override {
    std::vector<Checkpoint> out;
    TC_RETURN_IF_ERROR(WithReader([&](Db& db) -> Status {
      TC_ASSIGN_OR_RETURN(Stmt s, db.Prepare("SELECT study, tree_size, root_hash, time_us, public_key, signature FROM "
                                             "checkpoints WHERE study = ?1 ORDER BY tree_size"));
      s.Bind(1, study);
      while (true) {
        TC_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        Checkpoint c;
        c.study = s.Text(0);
        c.tree_size = static_cast<uint64_t>(s.Int(1));
        c.root_hash = HashFromBlob(s.Blob(2));
        c.time_us = s.Int(3);
        c.public_key = s.Blob(4);
        c.signature = s.Blob(5);
        out.push_back(std::move(c));
      }
      return Status::Ok();
    }));
    return out;
  }

  Result<InclusionProof> ProveInclusion(uint64_t seq) override {
    return BuildInclusionProof(seq,
                               [this](const std::string& study, uint64_t size) { return LeafHashes(study, size); });
  }

  Result<ConsistencyProof> ProveConsistency(const std::string& study, uint64_t from_size, uint64_t to_size) override {
    return BuildConsistencyProof(study, from_size, to_size,
                                 [this](const std::string& s, uint64_t size) { return LeafHashes(s, size); });
  }

  ~SqliteEventStore() override {
    std::lock_guard lock(notify_mu_);
    closing_ = true;
    notify_cv_.notify_all();
  }

 private:
  Status OpenConnection(Db* db, const std::string& vfs) {
    TC_RETURN_IF_ERROR(db->Open(path_, vfs, options_.create_if_missing));
    sqlite3_busy_timeout(db->handle(), options_.busy_timeout_ms);
    if (exclusive_) TC_RETURN_IF_ERROR(db->Exec("PRAGMA locking_mode=EXCLUSIVE"));
    // Reading the header is the first touch of the file: a non-database fails here.
    // On a new file the switch writes its header; servers starting together
    // can each hold the shared lock the other's switch waits for, and SQLite
    // then answers busy at once rather than wait (it would deadlock): one of
    // them goes first on a retry.
    Status s;
    const int64_t give_up_us = options_.env->NowMicros() + int64_t{options_.busy_timeout_ms} * 1000;
    for (int attempt = 0;; ++attempt) {
      s = db->Exec("PRAGMA journal_mode=WAL");
      if (s.ok() || s.code() != StatusCode::kAborted || options_.env->NowMicros() > give_up_us) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1 + attempt % 10));
    }
    s = s.WithContext("switching " + path_ + " to write-ahead logging");
    if (!s.ok()) {
      if (s.code() == StatusCode::kDataLoss)
        return InvalidArgument(path_ + " is not a trialcore database (not SQLite)");
      return s;
    }
    TC_RETURN_IF_ERROR(db->Exec(options_.bulk_load ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL")
                           .WithContext("setting synchronous"));
    // Reads of a large log (verification, replay) go through the page cache
    // without copying. Writes still go through write(2) and fsync.
    if (!exclusive_) TC_RETURN_IF_ERROR(db->Exec("PRAGMA mmap_size=" + std::to_string(options_.writer_map_bytes)));
    // Appends touch the right edge of the log's b-trees but random pages of
    // the projection; a 64 MiB page cache per connection keeps those in memory.
    TC_RETURN_IF_ERROR(db->Exec("PRAGMA cache_size=-65536"));
    return Status::Ok();
  }

  Status InitSchema() {
    int64_t app_id = 0, objects = 0;
    std::string version;
    {
      // One statement, so both are read in one snapshot: read apart, another
      // server creating the file between them would make it look like some
      // other program's database. In a scope of its own: a statement left
      // stepped holds a read transaction open, and a write on top of it fails
      // at once, without waiting, when another process wrote meanwhile.
      TC_ASSIGN_OR_RETURN(Stmt probe, write_db_.Prepare("SELECT (SELECT application_id FROM pragma_application_id()), "
                                                        "(SELECT count(*) FROM sqlite_master)"));
      TC_ASSIGN_OR_RETURN(bool row, probe.Step());
      if (row) {
        app_id = probe.Int(0);
        objects = probe.Int(1);
      }
    }
    if (app_id != kApplicationId) {
      if (objects > 0) return InvalidArgument(path_ + " is a SQLite database but not a trialcore one");
      // Another server starting on the same new file may have made it while
      // this one waited for the write lock: then this changes nothing.
      return InSchemaTransaction(std::string(kSchema) + kProjectionSchema + sqlite::kServerStateSchema +
                                     "INSERT OR IGNORE INTO meta VALUES('format_version', '" +
                                     std::to_string(kDatabaseFormatVersion) +
                                     "');PRAGMA application_id=" + std::to_string(kApplicationId) + ";",
                                 "creating " + path_);
    }
    {
      TC_ASSIGN_OR_RETURN(Stmt v, write_db_.Prepare("SELECT value FROM meta WHERE key = 'format_version'"));
      TC_ASSIGN_OR_RETURN(bool row, v.Step());
      if (!row) return DataLoss(path_ + " has no format version in its meta table");
      version = std::string(v.Text(0));
    }
    if (version != std::to_string(kDatabaseFormatVersion)) {
      return Unimplemented("database " + path_ + " has format version " + version + "; this trialcore reads version " +
                           std::to_string(kDatabaseFormatVersion) + " only");
    }
    // Projection tables may have been dropped by an interrupted rebuild of an
    // older build; recreate them empty rather than fail. A file made before
    // servers shared their sessions gets the tables for them.
    return InSchemaTransaction(std::string(kProjectionSchema) + sqlite::kServerStateSchema,
                               "preparing the tables of " + path_);
  }

  // Schema statements in one transaction that waits its turn (IMMEDIATE
  // takes the write lock through the busy timeout, where a statement's own
  // upgrade from reading to writing would not wait).
  Status InSchemaTransaction(const std::string& sql, const std::string& what) {
    TC_RETURN_IF_ERROR(write_db_.Exec("BEGIN IMMEDIATE").WithContext(what));
    Status s = write_db_.Exec(sql);
    if (s.ok()) s = write_db_.Exec("COMMIT");
    if (!s.ok()) {
      (void)write_db_.Exec("ROLLBACK");
      return s.WithContext(what);
    }
    return Status::Ok();
  }

  Status WithReader(const std::function<Status(Db&)>& fn) {
    if (readers_.empty()) {
      std::lock_guard lock(write_mu_);
      return fn(write_db_);
    }
    Db* db = nullptr;
    {
      std::unique_lock lock(read_mu_);
      read_cv_.wait(lock, [&] { return !idle_readers_.empty(); });
      db = idle_readers_.back();
      idle_readers_.pop_back();
    }
    Status s = fn(*db);
    std::lock_guard lock(read_mu_);
    idle_readers_.push_back(db);
    read_cv_.notify_one();
    return s;
  }

  Status CheckWritable() const {
    if (!fatal_.ok()) {
      return FailedPrecondition("the store refuses writes after an I/O error on commit (" + fatal_.message() +
                                "); reopen it to recover to what is durable");
    }
    return Status::Ok();
  }

  // Checks everything that does not depend on stored state, in the caller's
  // thread, and encodes payloads there so the leader only writes.
  Status Prepare(const AppendRequest& req, Pending* p) {
    p->request = &req;
    TC_ASSIGN_OR_RETURN(p->payloads, ValidateAppend(req));
    p->time_us = options_.env->NowMicros();
    // The rows, usually most of a commit's work, on the caller's thread.
    if (req.project) TC_RETURN_IF_ERROR(ProjectAhead(req, p->time_us, &p->ahead));
    return Status::Ok();
  }

  void CommitGroup(const std::vector<Pending*>& group) {
    std::lock_guard lock(write_mu_);
    auto fail_all = [&](const Status& s) {
      for (Pending* p : group) p->result = s;
    };
    if (Status s = CheckWritable(); !s.ok()) return fail_all(s);
    if (Status s = write_db_.Run("BEGIN IMMEDIATE"); !s.ok()) return fail_all(s.WithContext("starting a transaction"));
    TxnState state;
    Status loaded = LoadTxnState(&state);
    if (loaded.ok()) loaded = CheckProjectionSetsUnchanged();
    if (!loaded.ok()) {
      (void)write_db_.Run("ROLLBACK");
      return fail_all(loaded);
    }
    bool any = false;
    // A lone batch needs no savepoint: on failure the whole transaction goes.
    const bool savepoints = group.size() > 1;
    // In the order of their times, so that each batch keeps the time its rows
    // were computed with (times never decrease along the log). Batches of a
    // group are concurrent: any order of them is one they could have had.
    std::vector<Pending*> ordered(group);
    std::stable_sort(ordered.begin(), ordered.end(),
                     [](const Pending* a, const Pending* b) { return a->time_us < b->time_us; });
    uint64_t projected_in_commit = 0;
    for (Pending* p : ordered) {
      TxnState local = state;
      std::vector<Event> events;
      Status s = savepoints ? write_db_.Run("SAVEPOINT batch") : Status::Ok();
      if (s.ok()) s = ApplyBatch(*p, &local, &events, &projected_in_commit);
      if (s.ok()) {
        if (savepoints) s = write_db_.Run("RELEASE batch");
      } else if (savepoints) {
        (void)write_db_.Run("ROLLBACK TO batch");
        (void)write_db_.Run("RELEASE batch");
      }
      if (s.ok()) {
        state = std::move(local);
        p->result = std::move(events);
        any = true;
      } else {
        p->result = s;
      }
    }
    if (!any) {
      (void)write_db_.Run("ROLLBACK");
      return;
    }
    Status commit = write_db_.Run("COMMIT");
    if (!commit.ok()) {
      (void)write_db_.Run("ROLLBACK");
      // After a failed commit the disk holds an unknown state (the fsync
      // problem): stop writing until reopened, as PostgreSQL does.
      if (commit.code() == StatusCode::kIoError || commit.code() == StatusCode::kDataLoss) fatal_ = commit;
      for (Pending* p : group) {
        if (p->result.ok()) p->result = commit.WithContext("committing");
      }
      return;
    }
    std::lock_guard nlock(notify_mu_);
    metrics_.commits++;
    metrics_.projected_in_commit += projected_in_commit;
    for (Pending* p : group) {
      if (p->result.ok()) {
        metrics_.appends++;
        metrics_.events += p->result->size();
      }
    }
    committed_seq_ = state.next_seq - 1;
    notify_cv_.notify_all();
  }

  Status LoadTxnState(TxnState* state) {
    TC_ASSIGN_OR_RETURN(Stmt s, write_db_.Prepare("SELECT seq, time_us FROM events ORDER BY seq DESC LIMIT 1"));
    TC_ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) {
      state->next_seq = static_cast<uint64_t>(s.Int(0)) + 1;
      state->last_time_us = s.Int(1);
    }
    return Status::Ok();
  }

  // What meta records for a projection set: its version and table names;
  // empty when it was never registered.
  Result<std::string> RecordedProjectionSet(const std::string& name) {
    TC_ASSIGN_OR_RETURN(Stmt get, write_db_.Prepare("SELECT value FROM meta WHERE key = ?1"));
    get.Bind(1, "projection:" + name);
    TC_ASSIGN_OR_RETURN(bool row, get.Step());
    return row ? std::string(get.Text(0)) : std::string();
  }

  static int64_t RecordedVersion(const std::string& recorded) {
    int64_t version = 0;
    std::istringstream(recorded) >> version;
    return version;
  }

  // Another process (a newer trialcore opening the same file) may have made
  // a registered set's tables over in its own version: this process's rows
  // would then be wrong there, so its writes stop until it is restarted.
  Status CheckProjectionSetsUnchanged() {
    for (const auto& [name, mine] : recorded_sets_) {
      TC_ASSIGN_OR_RETURN(std::string now, RecordedProjectionSet(name));
      if (now != mine) {
        return FailedPrecondition("the " + name + " projection tables were made over by another trialcore (version " +
                                  std::to_string(RecordedVersion(now)) + "; this process writes version " +
                                  std::to_string(RecordedVersion(mine)) + "): restart this server with that build");
      }
    }
    return Status::Ok();
  }

  Result<TxnState::Head*> StudyHeadOf(TxnState* state, const std::string& study) {
    auto it = state->studies.find(study);
    if (it != state->studies.end()) return &it->second;
    TxnState::Head head;
    TC_ASSIGN_OR_RETURN(Stmt s, write_db_.Prepare("SELECT study_index, hash FROM events WHERE study = ?1 "
                                                  "ORDER BY study_index DESC LIMIT 1"));
    s.Bind(1, study);
    TC_ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) {
      head.size = static_cast<uint64_t>(s.Int(0)) + 1;
      head.hash = HashFromBlob(s.Blob(1));
    }
    return &state->studies.emplace(study, head).first->second;
  }

  Result<uint64_t*> StreamVersionOf(TxnState* state, const std::string& study, const std::string& stream) {
    std::string key = study + '\0' + stream;
    auto it = state->streams.find(key);
    if (it != state->streams.end()) return &it->second;
    TC_ASSIGN_OR_RETURN(Stmt s, write_db_.Prepare("SELECT coalesce(max(stream_version), 0) FROM events "
                                                  "WHERE study = ?1 AND stream = ?2"));
    s.Bind(1, study).Bind(2, stream);
    TC_ASSIGN_OR_RETURN(bool row, s.Step());
    uint64_t version = row ? static_cast<uint64_t>(s.Int(0)) : 0;
    return &state->streams.emplace(std::move(key), version).first->second;
  }

  Status ApplyBatch(Pending& p, TxnState* state, std::vector<Event>* out, uint64_t* projected_in_commit) {
    const AppendRequest& req = *p.request;
    for (const auto& [stream, expected] : req.expected_versions) {
      TC_ASSIGN_OR_RETURN(uint64_t * current, StreamVersionOf(state, req.study, stream));
      if (expected != kAnyVersion && static_cast<uint64_t>(expected) != *current) {
        return Aborted("stream " + stream + " of " + req.study + " is at version " + std::to_string(*current) +
                       ", not the expected " + std::to_string(expected) + "; someone else changed it first");
      }
    }
    TC_ASSIGN_OR_RETURN(TxnState::Head * head, StudyHeadOf(state, req.study));
    state->last_time_us = std::max(state->last_time_us, p.time_us);
    // The rows computed before the commit hold if the events they were
    // computed from are stored as they were given.
    bool rows_hold = p.ahead.projected && state->last_time_us == p.time_us;
    TC_ASSIGN_OR_RETURN(Stmt insert,
                        write_db_.Prepare("INSERT INTO events(seq, study, stream, stream_version, study_index, type, "
                                          "time_us, actor_user, actor_role, reason, payload, prev_hash, hash, "
                                          "format_version) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)"));
    std::string record;
    for (size_t i = 0; i < req.events.size(); ++i) {
      const EventDraft& d = req.events[i];
      TC_ASSIGN_OR_RETURN(uint64_t * version, StreamVersionOf(state, req.study, d.stream));
      // The event the projector was given, completed (its payload is moved,
      // not copied, inside the lock), or a new one.
      Event e = p.ahead.projected ? std::move(p.ahead.events[i]) : Event();
      const uint64_t projected_version = e.stream_version;
      e.seq = state->next_seq++;
      e.study = req.study;
      e.stream = d.stream;
      e.stream_version = ++*version;
      rows_hold = rows_hold && e.stream_version == projected_version;
      e.study_index = head->size;
      e.type = d.type;
      e.time_us = state->last_time_us;
      e.actor = d.actor;
      e.reason = d.reason;
      e.prev_hash = head->hash;
      record.clear();
      EncodeEventRecord(e, p.payloads[i], &record);
      e.hash = ChainHash(e.prev_hash, record);
      insert.Bind(1, static_cast<int64_t>(e.seq)).Bind(2, e.study).Bind(3, e.stream);
      insert.Bind(4, static_cast<int64_t>(e.stream_version)).Bind(5, static_cast<int64_t>(e.study_index));
      insert.Bind(6, e.type).Bind(7, e.time_us).Bind(8, e.actor.user).Bind(9, e.actor.role).Bind(10, e.reason);
      insert.BindBlob(11, p.payloads[i]).BindBlob(12, AsBytes(e.prev_hash)).BindBlob(13, AsBytes(e.hash));
      insert.Bind(14, kEventFormatVersion);
      TC_RETURN_IF_ERROR_CTX(insert.Run(), "appending event " + std::to_string(e.seq));
      TC_RETURN_IF_ERROR(ApplyProjections(e, p.payloads[i]));
      head->size++;
      head->hash = e.hash;
      if (!p.ahead.projected) e.payload = d.payload;
      out->push_back(std::move(e));
    }
    if (req.project) {
      SqliteProjectionWriter writer(write_db_, tables_);
      if (rows_hold) return p.ahead.rows.ApplyTo(writer);
      ++*projected_in_commit;
      TC_RETURN_IF_ERROR_CTX(req.project(*out, writer), "updating the projections");
    }
    return Status::Ok();
  }

  // The live projection, in the append's transaction.
  Status ApplyProjections(const Event& e, std::string_view payload) {
    return ForEachSetEntry(payload, [&](std::string_view path, std::string_view value) -> Status {
      if (ReasonRuleNeedsStoredValue(e)) {
        TC_ASSIGN_OR_RETURN(Stmt cur,
                            write_db_.Prepare("SELECT value FROM entity_values WHERE study = ?1 AND path = ?2"));
        cur.Bind(1, e.study).Bind(2, path);
        TC_ASSIGN_OR_RETURN(bool row, cur.Step());
        TC_RETURN_IF_ERROR(CheckReasonForChange(e, path, row ? std::optional(cur.Blob(0)) : std::nullopt, value));
      }
      TC_ASSIGN_OR_RETURN(
          Stmt up,
          write_db_.Prepare("INSERT INTO entity_values(study, path, value, seq) VALUES (?1, ?2, ?3, ?4) "
                            "ON CONFLICT(study, path) DO UPDATE SET value = excluded.value, seq = excluded.seq"));
      up.Bind(1, e.study).Bind(2, path).BindBlob(3, value).Bind(4, static_cast<int64_t>(e.seq));
      return up.Run();
    });
  }

  // Replays the log into memory, then writes the table in key order. The rows
  // equal those ApplyProjections leaves: the last write of each key wins.
  // Every write is kept, then sorted by key and by its place in the log
  // (cheaper than a hash of the keys, which costs a cache miss per write).
  Result<uint64_t> RebuildLocked() {
    // Emptied, not dropped: inside a transaction a DROP keeps a copy of
    // every page it frees in memory (the statement journal, temp_store is
    // MEMORY), as large as the table; a DELETE of every row frees them
    // without (SQLite's truncate optimization).
    TC_RETURN_IF_ERROR(write_db_.Exec(std::string(kProjectionSchema) + "DELETE FROM entity_values;"));
    // By stream, through events_by_stream: one stream's values in memory at
    // a time (StreamValues), and rows that come nearly in key order.
    TC_ASSIGN_OR_RETURN(Stmt s, write_db_.PrepareOwned("SELECT seq, study, stream, payload FROM events "
                                                       "ORDER BY study, stream, stream_version"));
    EntityValueRows rows(write_db_);
    TC_RETURN_IF_ERROR(rows.Prepare());
    StreamValues values;
    std::string study, stream;
    auto drain = [&]() {
      return values.Drain([&](std::string_view path, std::string_view value, uint64_t seq) {
        return rows.Add(study, path, value, seq);
      });
    };
    uint64_t replayed = 0;
    while (true) {
      TC_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      if (s.Text(1) != study || s.Text(2) != stream) {
        TC_RETURN_IF_ERROR(drain());
        study.assign(s.Text(1));
        stream.assign(s.Text(2));
      }
      TC_RETURN_IF_ERROR(values.Add(stream, static_cast<uint64_t>(s.Int(0)), s.Blob(3)));
      ++replayed;
    }
    TC_RETURN_IF_ERROR(drain());
    TC_RETURN_IF_ERROR(rows.Finish());
    return replayed;
  }

  Result<std::vector<Hash>> LeafHashes(const std::string& study, uint64_t size) {
    std::vector<Hash> leaves;
    leaves.reserve(size);
    TC_RETURN_IF_ERROR(WithReader([&](Db& db) -> Status {
      TC_ASSIGN_OR_RETURN(Stmt s, db.Prepare("SELECT hash FROM events WHERE study = ?1 AND study_index < ?2 "
                                             "ORDER BY study_index"));
      s.Bind(1, study).Bind(2, static_cast<int64_t>(size));
      while (true) {
        TC_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        leaves.push_back(MerkleLeafHash(s.Blob(0)));
      }
      return Status::Ok();
    }));
    if (leaves.size() != size) {
      return DataLoss("study " + study + " has " + std::to_string(leaves.size()) + " events but a checkpoint at " +
                      std::to_string(size));
    }
    return leaves;
  }

  const std::string path_;
  const SqliteStoreOptions options_;
  bool exclusive_ = false;

  std::mutex write_mu_;  // guards write_db_ (and reads when there is no read_db_)
  Db write_db_;
  Status fatal_;
  // Readers: a few connections (WAL lets them read beside the writer), each
  // used by one thread at a time.
  std::mutex read_mu_;
  std::condition_variable read_cv_;
  std::vector<std::unique_ptr<Db>> readers_;
  std::vector<Db*> idle_readers_;
  std::unique_ptr<ServerState> server_state_;  // through the connections above
  // Registered projection sets and their tables' SQL (under write_mu_).
  std::map<std::string, std::unique_ptr<ProjectionSet>> sets_;
  std::map<std::string, TableSql, std::less<>> tables_;
  std::map<std::string, std::string> recorded_sets_;  // set name -> meta's text when registered

  std::mutex queue_mu_;
  std::deque<Pending*> queue_;
  size_t last_group_size_ = 0;
  size_t gather_target_ = SIZE_MAX;
  std::condition_variable gather_cv_;

  std::mutex notify_mu_;
  std::condition_variable notify_cv_;
  uint64_t committed_seq_ = 0;
  StoreMetrics metrics_;
  bool closing_ = false;
};

SqliteSubscription::SqliteSubscription(SqliteEventStore* store, uint64_t after_seq,
                                       std::function<void(const Event&)> handler)
    : store_(store), cursor_(after_seq), handler_(std::move(handler)) {
  thread_ = std::thread([this] { Run(); });
}

SqliteSubscription::~SqliteSubscription() {
  stop_ = true;
  thread_.join();
}

void SqliteSubscription::Run() {
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
    // Other processes' commits are not signalled here, so wake up regularly.
    if (!got_any) store_->WaitForCommitAfter(cursor_, kOtherProcessesPoll);
  }
}

}  // namespace

Result<std::unique_ptr<EventStore>> OpenSqliteEventStore(const std::string& path, const SqliteStoreOptions& options) {
  auto store = std::make_unique<SqliteEventStore>(path, options);
  TC_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<EventStore>(std::move(store));
}

}  // namespace trialcore
