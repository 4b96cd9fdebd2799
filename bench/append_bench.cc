// Durable appends per second through the EventStore, one writer and eight
// concurrent writers, side by side with raw SQLite inserting the same rows at
// the same durability (WAL, synchronous=FULL): one transaction per append,
// and batched. Target: with group commit, at least half the raw batched rate.
//
// usage: append_bench [seconds per case, default 3]
#include <sqlite3.h>

#include <atomic>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "core/canonical.h"
#include "store/sqlite/sqlite_event_store.h"

using namespace trialcore;
using namespace trialcore::bench;

namespace {

double g_seconds = 3;

// Appends one event per call from `writers` threads for g_seconds.
double StoreRate(int writers) {
  std::string dir = FreshDir("append_store_" + std::to_string(writers));
  auto store = std::move(OpenSqliteEventStore(dir + "/bench.db").value());
  return ConcurrentAppendRate(*store, writers, g_seconds);
}

// The same rows into the same table layout with plain SQLite, rows_per_txn
// rows per transaction; payloads and hashes are prepared before timing.
double RawSqliteRate(int rows_per_txn) {
  std::string dir = FreshDir("append_raw_" + std::to_string(rows_per_txn));
  sqlite3* db;
  sqlite3_open((dir + "/raw.db").c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
               "CREATE TABLE events(seq INTEGER PRIMARY KEY, study TEXT NOT NULL, stream TEXT NOT NULL,"
               " stream_version INTEGER NOT NULL, study_index INTEGER NOT NULL, type TEXT NOT NULL,"
               " time_us INTEGER NOT NULL, actor_user TEXT NOT NULL, actor_role TEXT NOT NULL, reason TEXT NOT NULL,"
               " payload BLOB NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL, format_version INTEGER NOT NULL);"
               "CREATE UNIQUE INDEX events_by_stream ON events(study, stream, stream_version);"
               "CREATE UNIQUE INDEX events_by_study ON events(study, study_index);",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* ins;
  sqlite3_prepare_v2(db, "INSERT INTO events VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,1)", -1, &ins, nullptr);
  std::vector<EventDraft> drafts;
  std::vector<std::string> payloads;
  for (int i = 0; i < 200000; ++i) {
    drafts.push_back(ItemEvent(static_cast<uint64_t>(i)));
    payloads.emplace_back();
    (void)EncodeValue(drafts.back().payload, &payloads.back());
  }
  std::string hash(32, 'h');
  uint64_t n = 0;
  auto start = std::chrono::steady_clock::now();
  while (Seconds(start) < g_seconds && n + static_cast<uint64_t>(rows_per_txn) <= drafts.size()) {
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    for (int k = 0; k < rows_per_txn; ++k, ++n) {
      const EventDraft& d = drafts[n];
      sqlite3_bind_int64(ins, 1, static_cast<int64_t>(n + 1));
      sqlite3_bind_text(ins, 2, "BENCH", -1, SQLITE_STATIC);
      sqlite3_bind_text(ins, 3, d.stream.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_int64(ins, 4, static_cast<int64_t>(n + 1));  // unique per stream is enough here
      sqlite3_bind_int64(ins, 5, static_cast<int64_t>(n));
      sqlite3_bind_text(ins, 6, d.type.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_int64(ins, 7, 1'795'000'000'000'000 + static_cast<int64_t>(n));
      sqlite3_bind_text(ins, 8, d.actor.user.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(ins, 9, d.actor.role.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(ins, 10, d.reason.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_blob(ins, 11, payloads[n].data(), static_cast<int>(payloads[n].size()), SQLITE_STATIC);
      sqlite3_bind_blob(ins, 12, hash.data(), 32, SQLITE_STATIC);
      sqlite3_bind_blob(ins, 13, hash.data(), 32, SQLITE_STATIC);
      sqlite3_step(ins);
      sqlite3_reset(ins);
    }
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      std::fprintf(stderr, "raw commit failed: %s\n", sqlite3_errmsg(db));
      std::exit(1);
    }
  }
  double rate = static_cast<double>(n) / Seconds(start);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_seconds = std::atof(argv[1]);
  if (argc > 2 && std::string(argv[2]) == "store8") {  // for profiling the group-commit path alone
    std::printf("EventStore, 8 writers: %.0f events/s\n", StoreRate(8));
    return 0;
  }
  std::printf("Durable appends of one event each (WAL, synchronous=FULL), %.0f s per case, dir %s\n", g_seconds,
              FreshDir("probe").c_str());
  double raw1 = RawSqliteRate(1);
  double raw8 = RawSqliteRate(8);
  double raw1000 = RawSqliteRate(1000);
  double store1 = StoreRate(1);
  double store8 = StoreRate(8);
  double store32 = StoreRate(32);
  std::printf("\n  %-58s %12s %-9s %7s\n", "case", "rate", "", "vs raw batched (1000/txn)");
  Row("raw SQLite, one transaction per append", raw1, "rows/s", raw1 / raw1000, "");
  Row("raw SQLite, batched 8 rows per transaction", raw8, "rows/s", raw8 / raw1000, "");
  Row("raw SQLite, batched 1000 rows per transaction", raw1000, "rows/s", 1.0, "");
  Row("EventStore, 1 writer", store1, "events/s", store1 / raw1000, "");
  Row("EventStore, 8 writers (group commit)", store8, "events/s", store8 / raw1000, "");
  Row("EventStore, 32 writers (group commit)", store32, "events/s", store32 / raw1000, "");
  std::printf("\n  EventStore 8 writers / raw one-per-transaction: %.2fx\n", store8 / raw1);
  std::printf("  EventStore 8 writers / raw batched 8 per transaction: %.2fx\n", store8 / raw8);
  std::printf("  target: EventStore 8 writers >= 0.5x raw batched -> %s\n",
              store8 >= 0.5 * raw1000 ? "met" : "NOT met");
  return 0;
}
