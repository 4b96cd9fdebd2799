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

}  // namespace
}  // namespace trialcore
