// Durable capture commands with the projection tables maintained, at 8 and
// 32 concurrent writers, side by side with raw SQLite inserting the same
// event rows in transactions of the size the group commits formed (issue 13:
// capture >= 0.5x raw). Also the same events appended through the store with
// no projector, so the projections' own cost shows.
//
// Per writer count, in one run on the same disk (TRIALCORE_BENCH_DIR, default
// /tmp; a real file, WAL, synchronous=FULL as in production):
//  1. capture: each writer screens its own subjects of the demo study
//     CDISCPILOT01 (consent, screening vital signs, randomisation: untimed),
//     then for `seconds` saves one vital-signs item at a time on them through
//     Capture::Execute (checks, derivations, queries, events, projection rows,
//     fsync), every save changing its value with a reason. events/s and the
//     group commits formed (events per commit) from EventStore::Metrics.
//  2. store only: a fresh store; the events each capture command appended,
//     appended again by the same writer in the same batches, with no projector.
//  3. raw SQLite: the sqlite3 C API on a fresh file with the store's events
//     table and both its indexes, inserting the very rows the capture run
//     stored (same payloads, hashes, streams), G rows per transaction where G
//     is that case's mean events per commit, from as many threads as writers
//     taking turns on one connection (the peer), and from one thread (context).
//     Threads, not one: on the 2-core VM this was written on, a lone thread's
//     WAL fdatasync took 1.3-3.7 ms (median, strace -T) against 0.13 ms when
//     other threads were waiting for their turn, so one thread made raw
//     SQLite several times slower and the ratio flattering.
// Every database's WAL is brought to its steady size first (WarmWal).
//
//   ./build/bench/capture_append_bench [seconds per case, default 5] [only]
//
// only: capture8, capture32, store8 or store32 runs that case alone (capture
// first when store), for perf record.
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "capture/capture.h"
#include "store/sqlite/sqlite_event_store.h"

using namespace trialcore;
using namespace trialcore::bench;

namespace {

double g_seconds = 5;
constexpr int kSubjectsPerWriter = 4;
const char* const kVisits[] = {"WEEK2",  "WEEK4",  "WEEK6",  "WEEK8",  "WEEK12",
                               "WEEK16", "WEEK20", "WEEK24", "WEEK26", "AEFU"};

[[noreturn]] void Die(const Status& s, const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(70);
}

// One writer's appends, each the events one command stored.
using Batches = std::vector<std::vector<Event>>;

struct CaseResult {
  int writers = 0;
  double seconds = 0;
  uint64_t commands = 0;  // capture: saves; store: appends
  uint64_t events = 0;
  uint64_t commits = 0;
  uint64_t conflicts = 0;
  uint64_t projected_in_commit = 0;  // batches whose rows were computed again inside the commit
  double rate() const { return static_cast<double>(events) / seconds; }
  double group() const { return commits ? static_cast<double>(events) / static_cast<double>(commits) : 0; }
};

struct CaptureRun {
  CaseResult result;
  std::vector<Batches> setup, timed;  // per writer
};

// Item saves as a site enters a vital-signs form field by field; cycle c of
// a writer's (subject, visit, item) sequence gives every item a new value.
std::string SaveCommand(const std::string& subject, uint64_t i) {
  static const char* kItems[] = {"SYSBP", "DIABP", "PULSE", "TEMP", "WEIGHT"};
  const uint64_t per_cycle = kSubjectsPerWriter * 10 * 5;
  const uint64_t c = i / per_cycle;
  const char* visit = kVisits[(i / (kSubjectsPerWriter * 5)) % 10];
  const int item = static_cast<int>((i / kSubjectsPerWriter) % 5);
  std::string value;
  switch (item) {
    case 0:
      value = std::to_string(120 + c % 20);
      break;
    case 1:
      value = std::to_string(70 + c % 20);
      break;
    case 2:
      value = std::to_string(60 + c % 20);
      break;
    case 3:
      value = "\"36." + std::to_string(c % 10) + "\"";
      break;
    default:
      value = "\"75." + std::to_string(c % 10) + "\"";
      break;
  }
  return R"({"op":"form.save","subject":")" + subject + R"(","visit":")" + visit + R"(","form":"VS","items":{")" +
         kItems[item] + "\":" + value + R"(},"reason":"corrected from source"})";
}

// Brings a database's WAL to its steady state before timing: a fresh WAL
// grows with every commit, and an fdatasync that must also record a new file
// size costs several times one that does not (here 5 ms against 0.4 ms). A
// long-running store reuses its WAL from the start after each checkpoint, so
// every database of this benchmark gets an 8 MiB WAL (twice the 1000-page
// auto-checkpoint) and a restarted checkpoint first, through a connection of
// its own; the 8 MiB table stays, unread.
void WarmWal(const std::string& path) {
  sqlite3* db = nullptr;
  const char* sql =
      "PRAGMA journal_mode=WAL; CREATE TABLE bench_wal_warmup(b BLOB);"
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2048)"
      " INSERT INTO bench_wal_warmup SELECT zeroblob(4000) FROM c;"
      "PRAGMA wal_checkpoint(RESTART);";
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK || sqlite3_busy_timeout(db, 10000) != SQLITE_OK ||
      sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "warming the WAL of %s: %s\n", path.c_str(), sqlite3_errmsg(db));
    std::exit(70);
  }
  sqlite3_close(db);
}

std::string SubjectId(int writer, int k) { return "701-" + std::to_string(5000 + writer * kSubjectsPerWriter + k); }

// Starts `writers` threads that each run setup(t), wait for all, then run
// step(t, i) until the case's time is up. Returns the timed seconds and the
// store's metrics over them; path is the store's file (WarmWal).
template <typename Setup, typename Step>
CaseResult RunWriters(EventStore& store, const std::string& path, int writers, Setup setup, Step step, double seconds) {
  std::atomic<int> ready{0}, finished{0};
  std::atomic<bool> go{false}, stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < writers; ++t) {
    threads.emplace_back([&, t] {
      setup(t);
      ++ready;
      while (!go) std::this_thread::yield();
      for (uint64_t i = 0; !stop && step(t, i); ++i) {
      }
      ++finished;
    });
  }
  while (ready < writers) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  WarmWal(path);
  StoreMetrics before = store.Metrics();
  auto start = std::chrono::steady_clock::now();
  go = true;
  // A case that runs out of work (store only replays) ends early.
  while (Seconds(start) < seconds && finished < writers) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  stop = true;
  for (auto& th : threads) th.join();
  CaseResult r;
  r.writers = writers;
  r.seconds = Seconds(start);
  StoreMetrics after = store.Metrics();
  r.commands = after.appends - before.appends;
  r.events = after.events - before.events;
  r.commits = after.commits - before.commits;
  r.projected_in_commit = after.projected_in_commit - before.projected_in_commit;
  return r;
}

CaptureRun RunCapture(int writers, const std::shared_ptr<const study::Study>& study) {
  std::string dir = FreshDir("capture_append_" + std::to_string(writers));
  const std::string path = dir + "/capture.db";
  auto store = OpenSqliteEventStore(path);
  if (!store.ok()) Die(store.status(), "capture store");
  auto capture = capture::Capture::Open(store->get(), Env::Default(), "CDISCPILOT01");
  if (!capture.ok()) Die(capture.status(), "capture");
  capture::Capture& c = **capture;
  if (auto p = c.PublishStudy(study, Actor{"admin", "study_admin"}); !p.ok()) Die(p.status(), "publish");
  const Actor coord{"coord.701", "coordinator"};
  CaptureRun run;
  run.setup.resize(static_cast<size_t>(writers));
  run.timed.resize(static_cast<size_t>(writers));
  std::atomic<uint64_t> conflicts{0};
  auto exec = [&](const std::string& json, Batches* record) -> bool {
    auto cmd = ParseJson(json);
    if (!cmd.ok()) Die(cmd.status(), json);
    auto out = c.Execute(*cmd, coord);
    if (!out.ok()) {
      if (out.status().code() == StatusCode::kAborted) {
        ++conflicts;
        return false;
      }
      Die(out.status(), json);
    }
    record->push_back(std::move(out->events));
    return true;
  };
  auto setup = [&](int t) {
    for (int k = 0; k < kSubjectsPerWriter; ++k) {
      const std::string id = SubjectId(t, k);
      for (
          const std::string& cmd : {
              R"({"op":"subject.screen","subject":")" + id + R"(","site":"701"})",
              R"({"op":"form.save","subject":")" + id +
                  R"(","visit":"SCREENING1","form":"IC","items":{"ICDTC":"2024-01-02","ICVER":"v1","ICCGVR":"Y"}})",
              R"({"op":"form.save","subject":")" + id +
                  R"(","visit":"SCREENING1","form":"VS","items":{"VSPOS":"SITTING","SYSBP":130,"DIABP":80,"PULSE":70,"WEIGHT":"75.0","HEIGHT":"172.0"}})",
              R"({"op":"form.save","subject":")" + id +
                  R"(","visit":"BASELINE","form":"RAND","items":{"RANDDT":"2024-01-09"}})",
          }) {
        while (!exec(cmd, &run.setup[static_cast<size_t>(t)])) {
        }
      }
    }
  };
  auto step = [&](int t, uint64_t i) {
    // A conflict (none expected: each writer has its own subjects) is retried.
    const std::string cmd = SaveCommand(SubjectId(t, static_cast<int>(i % kSubjectsPerWriter)), i);
    while (!exec(cmd, &run.timed[static_cast<size_t>(t)])) {
    }
    return true;
  };
  run.result = RunWriters(**store, path, writers, setup, step, g_seconds);
  run.result.conflicts = conflicts;
  return run;
}

EventDraft DraftOf(const Event& e) { return EventDraft{e.stream, e.type, e.actor, e.reason, e.payload}; }

// The capture run's events appended again through a fresh store, each writer
// its own commands' batches in order, with no projector.
CaseResult RunStoreOnly(const CaptureRun& cap) {
  const int writers = cap.result.writers;
  std::string dir = FreshDir("store_append_" + std::to_string(writers));
  const std::string path = dir + "/store.db";
  auto store = OpenSqliteEventStore(path);
  if (!store.ok()) Die(store.status(), "store");
  auto append = [&](const std::vector<Event>& batch) {
    AppendRequest r;
    r.study = "CDISCPILOT01";
    for (const Event& e : batch) r.events.push_back(DraftOf(e));
    // As capture asks: its subject's and the study's versions are checked.
    r.expected_versions[batch.front().stream] = kAnyVersion;
    r.expected_versions["study"] = kAnyVersion;
    auto res = (*store)->Append(r);
    if (!res.ok()) Die(res.status(), "store-only append");
  };
  auto setup = [&](int t) {
    for (const auto& b : cap.setup[static_cast<size_t>(t)]) append(b);
  };
  auto step = [&](int t, uint64_t i) {
    const Batches& mine = cap.timed[static_cast<size_t>(t)];
    if (i >= mine.size()) return false;
    append(mine[i]);
    return true;
  };
  // Bounded by the capture run's events, not by time: same rows, same batches.
  return RunWriters(**store, path, writers, setup, step, 1e9);
}

// Raw SQLite: the capture run's timed rows (after its setup rows, untimed),
// in seq order, rows_per_txn per transaction, from one thread; at most
// g_seconds of work.
double RawSqliteRate(const CaptureRun& cap, int rows_per_txn, int threads, uint64_t* rows_done) {
  std::string dir = FreshDir("raw_append_" + std::to_string(rows_per_txn) + "_" + std::to_string(threads));
  const std::string path = dir + "/raw.db";
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    std::fprintf(stderr, "raw open failed\n");
    std::exit(70);
  }
  auto exec = [&](const char* sql) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      std::fprintf(stderr, "raw: %s: %s\n", sql, sqlite3_errmsg(db));
      std::exit(70);
    }
  };
  // The store's events table and indexes (store/sqlite/sqlite_event_store.cc
  // kSchema) and its connection settings.
  exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-65536;"
      "CREATE TABLE events(seq INTEGER PRIMARY KEY, study TEXT NOT NULL, stream TEXT NOT NULL,"
      " stream_version INTEGER NOT NULL, study_index INTEGER NOT NULL, type TEXT NOT NULL,"
      " time_us INTEGER NOT NULL, actor_user TEXT NOT NULL, actor_role TEXT NOT NULL, reason TEXT NOT NULL,"
      " payload BLOB NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL, format_version INTEGER NOT NULL);"
      "CREATE UNIQUE INDEX events_by_stream ON events(study, stream, stream_version);"
      "CREATE UNIQUE INDEX events_by_study ON events(study, study_index);");
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO events VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,1)", -1, &ins, nullptr);
  struct Row {
    const Event* e;
    std::string payload;
  };
  auto rows_of = [](const std::vector<Batches>& per_writer) {
    std::vector<Row> rows;
    for (const auto& batches : per_writer) {
      for (const auto& b : batches) {
        for (const Event& e : b) {
          rows.push_back({&e, {}});
          (void)EncodeValue(e.payload, &rows.back().payload);
        }
      }
    }
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.e->seq < b.e->seq; });
    return rows;
  };
  auto insert = [&](const Row& r) {
    const Event& e = *r.e;
    sqlite3_bind_int64(ins, 1, static_cast<int64_t>(e.seq));
    sqlite3_bind_text(ins, 2, e.study.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, e.stream.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 4, static_cast<int64_t>(e.stream_version));
    sqlite3_bind_int64(ins, 5, static_cast<int64_t>(e.study_index));
    sqlite3_bind_text(ins, 6, e.type.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 7, e.time_us);
    sqlite3_bind_text(ins, 8, e.actor.user.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 9, e.actor.role.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 10, e.reason.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_blob(ins, 11, r.payload.data(), static_cast<int>(r.payload.size()), SQLITE_STATIC);
    sqlite3_bind_blob(ins, 12, e.prev_hash.data(), static_cast<int>(e.prev_hash.size()), SQLITE_STATIC);
    sqlite3_bind_blob(ins, 13, e.hash.data(), static_cast<int>(e.hash.size()), SQLITE_STATIC);
    if (sqlite3_step(ins) != SQLITE_DONE) {
      std::fprintf(stderr, "raw insert: %s\n", sqlite3_errmsg(db));
      std::exit(70);
    }
    sqlite3_reset(ins);
  };
  exec("BEGIN");
  for (const Row& r : rows_of(cap.setup)) insert(r);
  exec("COMMIT");
  WarmWal(path);
  std::vector<Row> rows = rows_of(cap.timed);
  size_t n = 0;
  std::mutex turn;
  auto start = std::chrono::steady_clock::now();
  auto work = [&] {
    while (true) {
      std::lock_guard lock(turn);
      if (n >= rows.size() || Seconds(start) >= g_seconds) return;
      exec("BEGIN");
      for (int k = 0; k < rows_per_txn && n < rows.size(); ++k) insert(rows[n++]);
      exec("COMMIT");
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  double rate = static_cast<double>(n) / Seconds(start);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  *rows_done = n;
  return rate;
}

double MeanPayloadBytes(const CaptureRun& cap) {
  uint64_t bytes = 0, n = 0;
  for (const auto& batches : cap.timed) {
    for (const auto& b : batches) {
      for (const Event& e : b) {
        std::string p;
        (void)EncodeValue(e.payload, &p);
        bytes += p.size();
        ++n;
      }
    }
  }
  return n ? static_cast<double>(bytes) / static_cast<double>(n) : 0;
}

void PrintCase(const char* what, const CaseResult& r, double raw, const char* commands) {
  const double ratio = raw > 0 ? r.rate() / raw : 0;
  std::printf("  %2d  %-26s %9.0f %9.0f %-8s %6.1f %10.0f %6.2fx  >= 0.5x  %s\n", r.writers, what, r.rate(),
              static_cast<double>(r.commands) / r.seconds, commands, r.group(), raw, ratio,
              ratio >= 0.5 ? "met" : "NOT met");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_seconds = std::atof(argv[1]);
  const std::string only = argc > 2 ? argv[2] : "";
  std::vector<study::StudyError> errors;
  auto study = study::LoadStudyFile(std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml", &errors);
  if (!study.ok()) Die(study.status(), "study");
  std::printf(
      "Durable capture commands with the projections maintained vs raw SQLite, %.0f s per case,\n"
      "WAL, synchronous=FULL, %d subjects per writer, dir %s\n",
      g_seconds, kSubjectsPerWriter, FreshDir("probe").c_str());
  struct Line {
    CaptureRun cap;
    CaseResult store;
    double raw_cap = 0, raw_store = 0, raw_cap_one = 0;
    int txn_cap = 0, txn_store = 0;
  };
  std::vector<Line> lines;
  for (int writers : {8, 32}) {
    if (!only.empty() && only.substr(only.size() - std::to_string(writers).size()) != std::to_string(writers)) continue;
    Line l;
    l.cap = RunCapture(writers, *study);
    std::printf(
        "  capture, %2d writers: %llu saves, %llu events in %llu commits (%.1f events/commit), %llu conflicts, "
        "%.0f B mean payload, %llu saves' rows computed again in the commit\n",
        writers, static_cast<unsigned long long>(l.cap.result.commands),
        static_cast<unsigned long long>(l.cap.result.events), static_cast<unsigned long long>(l.cap.result.commits),
        l.cap.result.group(), static_cast<unsigned long long>(l.cap.result.conflicts), MeanPayloadBytes(l.cap),
        static_cast<unsigned long long>(l.cap.result.projected_in_commit));
    if (only.starts_with("capture")) return 0;
    l.store = RunStoreOnly(l.cap);
    std::printf("  store only, %2d writers: %llu appends, %llu events in %llu commits (%.1f events/commit)\n", writers,
                static_cast<unsigned long long>(l.store.commands), static_cast<unsigned long long>(l.store.events),
                static_cast<unsigned long long>(l.store.commits), l.store.group());
    if (only.starts_with("store")) return 0;
    // Raw: the writers' number of threads taking turns (the peer), and one
    // thread as context.
    uint64_t done = 0;
    l.txn_cap = std::max(1, static_cast<int>(std::lround(l.cap.result.group())));
    l.raw_cap = RawSqliteRate(l.cap, l.txn_cap, writers, &done);
    std::printf("  raw SQLite, %2d threads taking turns, %2d rows/transaction: %llu rows, %.0f rows/s\n", writers,
                l.txn_cap, static_cast<unsigned long long>(done), l.raw_cap);
    l.raw_cap_one = RawSqliteRate(l.cap, l.txn_cap, 1, &done);
    std::printf("  raw SQLite,  1 thread,             %2d rows/transaction: %llu rows, %.0f rows/s (context)\n",
                l.txn_cap, static_cast<unsigned long long>(done), l.raw_cap_one);
    l.txn_store = std::max(1, static_cast<int>(std::lround(l.store.group())));
    l.raw_store = l.txn_store == l.txn_cap ? l.raw_cap : RawSqliteRate(l.cap, l.txn_store, writers, &done);
    if (l.txn_store != l.txn_cap) {
      std::printf("  raw SQLite, %2d threads taking turns, %2d rows/transaction: %llu rows, %.0f rows/s\n", writers,
                  l.txn_store, static_cast<unsigned long long>(done), l.raw_store);
    }
    lines.push_back(std::move(l));
  }
  std::printf("\n  %2s  %-26s %9s %9s %-8s %6s %10s %7s  %-7s  %s\n", "w", "case", "events/s", "cmds/s", "", "ev/txn",
              "raw rows/s", "ratio", "target", "");
  for (const Line& l : lines) {
    PrintCase("capture (projections)", l.cap.result, l.raw_cap, "saves/s");
    PrintCase("store only (no projector)", l.store, l.raw_store, "appends/s");
  }
  std::printf(
      "  raw: the same rows, ev/txn rows per transaction (the case's mean group commit), from w threads "
      "taking turns\n");
  for (const Line& l : lines) {
    std::printf("  context, %2d writers: capture / raw from one thread at %d rows/transaction: %.2fx\n",
                l.cap.result.writers, l.txn_cap, l.raw_cap_one > 0 ? l.cap.result.rate() / l.raw_cap_one : 0);
  }
  return 0;
}
