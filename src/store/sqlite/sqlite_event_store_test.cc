// What only the SQLite store has: group commit's shared fsyncs, its way of
// rewriting tables, its statement cache and its file checks. The contract
// every back end keeps is tested in store/event_store_contract_test.cc.
#include "store/sqlite/sqlite_event_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include "core/canonical.h"
#include "core/test_env.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/unix_fault_vfs.h"
#include "store/test_util.h"

namespace trialcore {
namespace {

using testing_util::ItemSet;
using testing_util::One;
using testing_util::TempDbPath;

std::unique_ptr<EventStore> OpenOrDie(const std::string& path, Env* env = Env::Default()) {
  SqliteStoreOptions o;
  o.env = env;
  auto s = OpenSqliteEventStore(path, o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

TEST(SqliteEventStoreTest, GroupCommitKeepsEveryConcurrentAppendAndTheChain) {
  auto store = OpenOrDie(TempDbPath("group"));
  constexpr int kThreads = 8, kPerThread = 200;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<uint64_t> seqs;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto res = store->Append(One("S", ItemSet(std::to_string(t), 'I' + std::to_string(i), std::to_string(i))));
        ASSERT_TRUE(res.ok()) << res.status().ToString();
        std::lock_guard lock(mu);
        seqs.insert((*res)[0].seq);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(seqs.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*seqs.rbegin(), static_cast<uint64_t>(kThreads * kPerThread));
  auto events = *store->ReadEvents({});
  for (size_t i = 1; i < events.size(); ++i) ASSERT_EQ(events[i].prev_hash, events[i - 1].hash);
  // Durability did not cost one fsync per append: commits were shared.
  StoreMetrics m = store->Metrics();
  EXPECT_EQ(m.appends, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_LT(m.commits, m.appends / 2) << "group commit should share most fsyncs among 8 writers";
}

// Opens the file from `servers` threads released at once; how many opened it.
int OpenAllAtOnce(const std::string& path, int servers) {
  std::atomic<int> ready{0}, opened{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < servers; ++i) {
    threads.emplace_back([&] {
      ++ready;
      while (ready < servers) std::this_thread::yield();
      auto store = OpenSqliteEventStore(path);
      EXPECT_TRUE(store.ok()) << store.status().ToString();
      if (store.ok()) ++opened;
    });
  }
  for (auto& t : threads) t.join();
  return opened;
}

// Servers starting together on one file made by an older build (without
// the tables servers share): each adds the missing tables or finds them
// added, waiting its turn for the write lock; none fails with "database is
// locked" (a read left open under the schema change used to make it fail at
// once, without waiting).
TEST(SqliteEventStoreTest, ServersStartingTogetherOnAnOlderFileWaitTheirTurn) {
  const std::string path = TempDbPath("open_together");
  {
    auto store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Append(One("S", ItemSet("1001", "SYSBP", "120"))).ok());
  }
  constexpr int kRounds = 10, kServers = 6;
  for (int round = 0; round < kRounds; ++round) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw, "DROP TABLE server_sessions; DROP TABLE login_attempts; DROP TABLE server_values;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(raw);
    sqlite3_close(raw);
    ASSERT_EQ(OpenAllAtOnce(path, kServers), kServers) << "round " << round;
  }
}

// Servers started together on a file that does not exist yet: one creates
// the tables, the others wait for it and open what it made.
TEST(SqliteEventStoreTest, ServersStartingTogetherOnANewFileCreateItOnce) {
  constexpr int kRounds = 10, kServers = 6;
  for (int round = 0; round < kRounds; ++round) {
    const std::string path = TempDbPath("create_together_" + std::to_string(round));
    ASSERT_EQ(OpenAllAtOnce(path, kServers), kServers) << "round " << round;
    auto store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    EXPECT_TRUE(store->Append(One("S", ItemSet("1001", "SYSBP", "120"))).ok());
  }
}

// A rewrite makes tables that hold only its study anew (their indexes built
// after the rows); beside another study's rows it replaces only its own.
// Either way the rows are those written, a key put twice keeps the last, and
// the indexes are there.
TEST(SqliteEventStoreTest, RewriteReplacesOnlyItsStudysRowsAndKeepsTheIndexes) {
  auto store = OpenOrDie(TempDbPath("rewrite"));
  ProjectionSet set;
  set.name = "t";
  set.tables = {{"t_rows",
                 {{"study", ProjectionColumn::Type::kText},
                  {"n", ProjectionColumn::Type::kInt},
                  {"label", ProjectionColumn::Type::kText}},
                 2,
                 {{"study", "label"}}}};
  ASSERT_TRUE(store->RegisterProjections(set).ok());
  auto rewrite = [&](const std::string& study, int rows, const std::string& label) {
    return store->RewriteProjections("t", study, [&](ProjectionWriter& w, const StudyEventsByStream&) -> Status {
      for (int i = 0; i < rows; ++i) TC_RETURN_IF_ERROR(w.Put("t_rows", {study, int64_t{i}, "old"}));
      for (int i = 0; i < rows; ++i) TC_RETURN_IF_ERROR(w.Put("t_rows", {study, int64_t{i}, label}));
      return w.Delete("t_rows", {study, int64_t{0}});
    });
  };
  auto count = [&](const std::string& sql) {
    int64_t n = -1;
    EXPECT_TRUE(store
                    ->QueryProjections(sql, {},
                                       [&](const ProjectionRow& r) {
                                         n = r[0].as_int();
                                         return Status::Ok();
                                       })
                    .ok());
    return n;
  };
  const std::string indexes = "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 't_rows'";
  ASSERT_TRUE(rewrite("A", 1000, "a").ok());  // alone: made anew
  EXPECT_EQ(count("SELECT count(*) FROM t_rows WHERE study = 'A' AND label = 'a'"), 999);
  EXPECT_EQ(count(indexes), 1);
  ASSERT_TRUE(rewrite("B", 300, "b").ok());  // beside A's rows
  ASSERT_TRUE(rewrite("A", 500, "a2").ok());
  EXPECT_EQ(count("SELECT count(*) FROM t_rows WHERE study = 'A'"), 499);
  EXPECT_EQ(count("SELECT count(*) FROM t_rows WHERE study = 'A' AND label = 'a2'"), 499);
  EXPECT_EQ(count("SELECT count(*) FROM t_rows WHERE study = 'B' AND label = 'b'"), 299);
  EXPECT_EQ(count(indexes), 1);
}

// A caller's query is judged once, when prepared: one refused is never
// cached (so refused again), one accepted is reused, and no more than the
// bound are kept however many texts come.
// A rebuild fills its new tables with the pages the dropped ones freed, and
// each many-row INSERT keeps those pages' old content to undo itself alone.
// That journal stays in memory: as a temporary file, written page by page, it
// took three in four of a rebuild's writes.
TEST(SqliteEventStoreTest, ARebuildWritesNoTemporaryFile) {
  UnixFaultVfs vfs;  // production's file layer, counting what it opens
  auto store = OpenSqliteEventStore(TempDbPath("rebuild_no_temporary_file")).value();
  // Values large enough that one INSERT's rows span many pages.
  const std::string large(1500, 'v');
  for (int i = 0; i < 40; ++i) {
    AppendRequest r;
    r.study = "S";
    for (int k = 0; k < 50; ++k) {
      r.events.push_back(
          ItemSet(std::to_string(k), "A" + std::to_string(i), '"' + large + std::to_string(i) + '"', "entered"));
    }
    ASSERT_TRUE(store->Append(r).ok());
  }
  const std::string live = store->DumpProjections().value();
  const int before = vfs.temp_files_opened();
  for (int rebuild = 0; rebuild < 2; ++rebuild) {
    auto replayed = store->RebuildProjections();
    ASSERT_TRUE(replayed.ok()) << replayed.status().ToString();
    EXPECT_EQ(*replayed, 2000u);
  }
  EXPECT_EQ(vfs.temp_files_opened(), before);
  EXPECT_EQ(store->DumpProjections().value(), live);
}

TEST(SqliteDbTest, CallersQueriesAreCheckedOnceAndCachedUpToTheirBound) {
  sqlite::Db db;
  ASSERT_TRUE(db.Open(TempDbPath("db_queries"), "", true).ok());
  int checks = 0;
  auto read_only = [&](sqlite3_stmt* s, std::string_view) -> Status {
    ++checks;
    return sqlite3_stmt_readonly(s) ? Status::Ok() : InvalidArgument("must only read");
  };
  ASSERT_TRUE(db.Exec("CREATE TABLE t(v)").ok());
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(db.PrepareQuery("DELETE FROM t", 4, read_only).status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(checks, 2);
  EXPECT_EQ(db.cached_queries(), 0u);
  for (int i = 0; i < 3; ++i) {
    auto s = db.PrepareQuery("SELECT 41 + 1", 4, read_only);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(*s->Step());
    EXPECT_EQ(s->Int(0), 42);
  }
  EXPECT_EQ(checks, 3);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(db.PrepareQuery("SELECT " + std::to_string(i), 4, read_only).ok());
  EXPECT_EQ(db.cached_queries(), 4u);
  // The oldest went: checked again when it comes back.
  ASSERT_TRUE(db.PrepareQuery("SELECT 41 + 1", 4, read_only).ok());
  EXPECT_EQ(checks, 14);
  EXPECT_EQ(db.cached_queries(), 4u);
}

TEST(SqliteEventStoreTest, RefusesFilesThatAreNotTrialcoreDatabases) {
  std::string path = TempDbPath("notdb");
  { std::ofstream(path) << "this is a text file, not a database, and it is long enough to have a header"; }
  auto s = OpenSqliteEventStore(path);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("is not a trialcore database"), std::string::npos) << s.status().message();

  std::string other = TempDbPath("othersqlite");
  sqlite3* db;
  sqlite3_open(other.c_str(), &db);
  sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  s = OpenSqliteEventStore(other);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("not a trialcore one"), std::string::npos) << s.status().message();

  SqliteStoreOptions no_create;
  no_create.create_if_missing = false;
  s = OpenSqliteEventStore(TempDbPath("missing") + ".nope", no_create);
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
}

TEST(SqliteEventStoreTest, RefusesANewerDatabaseFormat) {
  std::string path = TempDbPath("newer");
  { OpenOrDie(path); }
  sqlite3* db;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "UPDATE meta SET value = '2' WHERE key = 'format_version'", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto s = OpenSqliteEventStore(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(s.status().message().find("format version 2"), std::string::npos);
}

// The projector runs before the write lock, on the caller's thread, with the
// events' time and stream versions as they are then stored; when a batch's
// time had to move (a batch before it took a later one), it runs again in
// the transaction on the stored events, and the rows follow the stored time.
TEST(SqliteEventStoreTest, RowsAreComputedBeforeTheCommitAndAgainWhenTheTimeMoved) {
  MemEnv env;
  auto store = OpenOrDie("/projector.db", &env);
  ProjectionSet set;
  set.name = "t";
  set.tables = {{"t_times",
                 {{"study", ProjectionColumn::Type::kText},
                  {"stream", ProjectionColumn::Type::kText},
                  {"version", ProjectionColumn::Type::kInt},
                  {"time_us", ProjectionColumn::Type::kInt}},
                 2,
                 {}}};
  ASSERT_TRUE(store->RegisterProjections(set).ok());
  std::vector<std::pair<uint64_t, int64_t>> calls;  // seq and time given to the projector
  auto append = [&](const std::string& subject, int64_t expected) {
    AppendRequest r = One("S", ItemSet(subject, "A", std::to_string(expected), "x"));
    r.expected_versions[r.events[0].stream] = expected;
    r.project = [&](const std::vector<Event>& events, ProjectionWriter& w) -> Status {
      calls.emplace_back(events[0].seq, events[0].time_us);
      const Event& e = events[0];
      return w.Put("t_times", {e.study, e.stream, static_cast<int64_t>(e.stream_version), e.time_us});
    };
    return store->Append(r);
  };
  auto stored_time = [&](const std::string& stream) {
    int64_t t = -1;
    EXPECT_TRUE(store
                    ->QueryProjections("SELECT time_us FROM t_times WHERE stream = $1", {Value(stream)},
                                       [&](const ProjectionRow& r) {
                                         t = r[0].as_int();
                                         return Status::Ok();
                                       })
                    .ok());
    return t;
  };
  auto a = append("1", kNoStream);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].first, 0u) << "computed before the events had their seq";
  EXPECT_EQ(calls[0].second, (*a)[0].time_us);
  EXPECT_EQ(stored_time("subject/1"), (*a)[0].time_us);
  EXPECT_EQ(store->Metrics().projected_in_commit, 0u);

  env.AdvanceMicros(-5'000'000);  // the clock went back: the next event keeps the log's time
  calls.clear();
  auto b = append("2", kNoStream);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].first, (*b)[0].seq) << "computed again on the stored events";
  EXPECT_EQ((*b)[0].time_us, (*a)[0].time_us);
  EXPECT_EQ(stored_time("subject/2"), (*b)[0].time_us);
  EXPECT_EQ(store->Metrics().projected_in_commit, 1u);

  // A failed expected version stores neither events nor rows.
  auto c = append("1", kNoStream);
  EXPECT_EQ(c.status().code(), StatusCode::kAborted);
  EXPECT_EQ(store->LastSeq().value(), 2u);
  EXPECT_EQ(stored_time("subject/1"), (*a)[0].time_us);
}

// A put that keeps a row's indexed columns leaves its index entries alone; one
// that changes them moves the entries: reads through the index find the row
// under its new values only.
TEST(SqliteEventStoreTest, PutsKeepTheIndexesInStepWhetherIndexedColumnsChangeOrNot) {
  auto store = OpenOrDie(TempDbPath("indexed_puts"));
  ProjectionSet set;
  set.name = "t";
  set.tables = {{"t_subjects",
                 {{"study", ProjectionColumn::Type::kText},
                  {"subject", ProjectionColumn::Type::kText},
                  {"status", ProjectionColumn::Type::kText},
                  {"version", ProjectionColumn::Type::kInt}},
                 2,
                 {{"study", "status", "subject"}}}};
  ASSERT_TRUE(store->RegisterProjections(set).ok());
  int64_t version = 0;
  auto put = [&](const std::string& subject, const std::string& status) {
    AppendRequest r = One("S", ItemSet(subject, "A", std::to_string(++version), "x"));
    r.project = [&, subject, status](const std::vector<Event>&, ProjectionWriter& w) -> Status {
      return w.Put("t_subjects", {"S", subject, status, version});
    };
    ASSERT_TRUE(store->Append(r).ok());
  };
  auto by_index = [&](const std::string& status) {
    std::string out;
    EXPECT_TRUE(store
                    ->QueryProjections("SELECT subject, version FROM t_subjects INDEXED BY t_subjects_1 "
                                       "WHERE study = 'S' AND status = $1 ORDER BY subject",
                                       {Value(status)},
                                       [&](const ProjectionRow& r) {
                                         out += r[0].as_string() + "@" + std::to_string(r[1].as_int()) + " ";
                                         return Status::Ok();
                                       })
                    .ok());
    return out;
  };
  put("1", "screening");
  put("2", "screening");
  put("1", "screening");  // the version only
  EXPECT_EQ(by_index("screening"), "1@3 2@2 ");
  put("1", "enrolled");  // the indexed column
  EXPECT_EQ(by_index("screening"), "2@2 ");
  EXPECT_EQ(by_index("enrolled"), "1@4 ");
  put("1", "enrolled");
  EXPECT_EQ(by_index("enrolled"), "1@5 ");
  int64_t integrity_ok = 0;
  ASSERT_TRUE(store
                  ->QueryProjections("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'", {},
                                     [&](const ProjectionRow& r) {
                                       integrity_ok = r[0].as_int();
                                       return Status::Ok();
                                     })
                  .ok());
  EXPECT_EQ(integrity_ok, 1);
}

}  // namespace
}  // namespace trialcore
