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

TEST(SqliteEventStoreTest, AppendAssignsSequenceVersionsAndChainsHashes) {
  auto store = OpenOrDie(TempDbPath("append"));
  AppendRequest r;
  r.study = "S1";
  r.events = {ItemSet("1001", "SYSBP", "120"), ItemSet("1001", "DIABP", "80"), ItemSet("1002", "SYSBP", "130")};
  auto events = store->Append(r);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].seq, 1u);
  EXPECT_EQ((*events)[1].stream_version, 2u);
  EXPECT_EQ((*events)[2].stream_version, 1u);
  EXPECT_EQ((*events)[2].study_index, 2u);
  EXPECT_EQ((*events)[0].prev_hash, Hash{});
  EXPECT_EQ((*events)[1].prev_hash, (*events)[0].hash);
  // The hash is SHA-256 over the previous hash and the canonical record.
  auto rec = EncodeEventRecord((*events)[1]);
  EXPECT_EQ((*events)[1].hash, ChainHash((*events)[0].hash, *rec));

  auto read = store->ReadEvents({});
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, *events);
}

TEST(SqliteEventStoreTest, EachStudyHasItsOwnChain) {
  auto store = OpenOrDie(TempDbPath("studies"));
  ASSERT_TRUE(store->Append(One("A", ItemSet("1", "X", "1"))).ok());
  auto b = store->Append(One("B", ItemSet("1", "X", "1")));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)[0].seq, 2u);
  EXPECT_EQ((*b)[0].study_index, 0u);
  EXPECT_EQ((*b)[0].prev_hash, Hash{});
  auto heads = store->Heads();
  ASSERT_TRUE(heads.ok());
  ASSERT_EQ(heads->size(), 2u);
  EXPECT_EQ((*heads)[1].study, "B");
  EXPECT_EQ((*heads)[1].head_hash, (*b)[0].hash);
}

TEST(SqliteEventStoreTest, ExpectedVersionConflictIsAbortedAndStoresNothing) {
  auto store = OpenOrDie(TempDbPath("occ"));
  AppendRequest first = One("S", ItemSet("1", "X", "1"));
  first.expected_versions["subject/1"] = kNoStream;
  ASSERT_TRUE(store->Append(first).ok());
  auto again = store->Append(first);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAborted);
  EXPECT_NE(again.status().message().find("is at version 1, not the expected 0"), std::string::npos);
  AppendRequest second = One("S", ItemSet("1", "Y", "2"));
  second.expected_versions["subject/1"] = 1;
  ASSERT_TRUE(store->Append(second).ok());
  EXPECT_EQ(*store->LastSeq(), 2u);
}

TEST(SqliteEventStoreTest, ConcurrentWritersOfOneStreamExactlyOneWinsEachRound) {
  auto store = OpenOrDie(TempDbPath("race"));
  std::atomic<int> wins{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      AppendRequest r = One("S", ItemSet("1", "X", std::to_string(t), "retry"));
      r.expected_versions["subject/1"] = kNoStream;
      auto res = store->Append(r);
      if (res.ok()) {
        ++wins;
      } else if (res.status().code() == StatusCode::kAborted) {
        ++conflicts;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
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

TEST(SqliteEventStoreTest, ChangingAValueNeedsAReasonButFirstEntryDoesNot) {
  auto store = OpenOrDie(TempDbPath("reason"));
  ASSERT_TRUE(store->Append(One("S", ItemSet("1", "SYSBP", "120"))).ok());
  ASSERT_TRUE(store->Append(One("S", ItemSet("1", "SYSBP", "120"))).ok()) << "same value is no change";
  auto no_reason = store->Append(One("S", ItemSet("1", "SYSBP", "210")));
  ASSERT_FALSE(no_reason.ok());
  EXPECT_EQ(no_reason.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(no_reason.status().message().find("reason for change is required"), std::string::npos);
  EXPECT_EQ(*store->LastSeq(), 2u) << "the refused batch left nothing";
  ASSERT_TRUE(store->Append(One("S", ItemSet("1", "SYSBP", "210", "transcription error"))).ok());
  auto v = store->ReadEntity("S", "subject/1/form/VS/item/SYSBP");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ((*v)->value.as_int(), 210);
  EXPECT_EQ((*v)->seq, 3u);
}

TEST(SqliteEventStoreTest, AFailedBatchInAGroupDoesNotTakeOthersWithIt) {
  auto store = OpenOrDie(TempDbPath("partial"));
  AppendRequest r;
  r.study = "S";
  r.events = {ItemSet("1", "A", "1"), ItemSet("1", "A", "2")};  // second changes A without a reason
  EXPECT_FALSE(store->Append(r).ok());
  EXPECT_EQ(*store->LastSeq(), 0u) << "a batch is atomic";
  EXPECT_FALSE(store->ReadEntity("S", "subject/1/form/VS/item/A")->has_value());
}

TEST(SqliteEventStoreTest, BadDraftsAreRefusedWithTheirPosition) {
  auto store = OpenOrDie(TempDbPath("bad"));
  AppendRequest r;
  r.study = "S";
  r.events = {ItemSet("1", "A", "1"), ItemSet("1", "B", "1")};
  r.events[1].type = "Bad Type";
  auto res = store->Append(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(res.status().message().find("event 2 of 2"), std::string::npos) << res.status().message();

  EventDraft outside = ItemSet("1", "A", "1");
  outside.stream = "subject/2";
  res = store->Append(One("S", outside));
  EXPECT_NE(res.status().message().find("is not inside stream \"subject/2\""), std::string::npos);

  r = One("bad study", ItemSet("1", "A", "1"));
  EXPECT_EQ(store->Append(r).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*store->LastSeq(), 0u);
}

TEST(SqliteEventStoreTest, StreamCanBeReadAsOfAnyPastTime) {
  MemEnv env;
  auto store = OpenOrDie("/asof.db", &env);
  ASSERT_TRUE(store->Append(One("S", ItemSet("1", "WEIGHT", "70.5"))).ok());
  int64_t t1 = env.NowMicros();
  env.AdvanceMicros(1'000'000);
  ASSERT_TRUE(store->Append(One("S", ItemSet("1", "WEIGHT", "71.0", "scale recalibrated"))).ok());
  ASSERT_TRUE(store->Append(One("S", ItemSet("1", "HEIGHT", "180"))).ok());
  auto then = store->ReadStreamAsOf("S", "subject/1", t1);
  ASSERT_TRUE(then.ok());
  ASSERT_EQ(then->size(), 1u);
  EXPECT_EQ((*then)[0].value.as_decimal().text(), "70.5");
  auto now = store->ReadStreamAsOf("S", "subject/1", std::nullopt);
  ASSERT_EQ(now->size(), 2u);
  EXPECT_EQ((*now)[1].value.as_decimal().text(), "71.0");
  EXPECT_EQ((*now)[1].actor.user, "coord.701");
}

TEST(SqliteEventStoreTest, TimeNeverGoesBackwardsInTheLog) {
  MemEnv env;
  auto store = OpenOrDie("/clock.db", &env);
  auto a = store->Append(One("S", ItemSet("1", "A", "1")));
  env.AdvanceMicros(-5'000'000);  // the system clock was set back
  auto b = store->Append(One("S", ItemSet("1", "B", "1")));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_GE((*b)[0].time_us, (*a)[0].time_us);
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

TEST(SqliteEventStoreTest, RebuiltProjectionsAreIdenticalToLiveOnes) {
  auto store = OpenOrDie(TempDbPath("rebuild"));
  for (int i = 0; i < 300; ++i) {
    AppendRequest r = One('S' + std::to_string(i % 3), ItemSet(std::to_string(i % 17), 'I' + std::to_string(i % 11),
                                                               std::to_string(i), "update " + std::to_string(i)));
    if (i % 5 == 0) r.events.push_back(ItemSet(std::to_string(i % 17), "NOTE", "\"n" + std::to_string(i) + "\"", "x"));
    if (i % 7 == 0) r.events.push_back(ItemSet(std::to_string(i % 17), "NOTE", "null", "cleared"));
    ASSERT_TRUE(store->Append(r).ok());
  }
  auto live = store->DumpProjections();
  ASSERT_TRUE(live.ok());
  EXPECT_GT(live->size(), 1000u);
  auto replayed = store->RebuildProjections();
  ASSERT_TRUE(replayed.ok()) << replayed.status().ToString();
  EXPECT_GT(*replayed, 300u);
  EXPECT_EQ(*store->DumpProjections(), *live);
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

// Two builds on one file: a newer one makes a projection set's tables over
// in its version; the older one's writes stop (its rows would be wrong
// there), and an older one opening later is refused, never allowed to make
// them over back.
TEST(SqliteEventStoreTest, ANewerProjectionVersionStopsOlderWritersAndIsNeverUndone) {
  std::string path = TempDbPath("projection_versions");
  ProjectionSet v1;
  v1.name = "t";
  v1.version = 1;
  v1.tables = {{"t_rows", {{"study", ProjectionColumn::Type::kText}, {"n", ProjectionColumn::Type::kInt}}, 2, {}}};
  ProjectionSet v2 = v1;
  v2.version = 2;
  auto older = OpenOrDie(path);
  ASSERT_EQ(*older->RegisterProjections(v1), true);
  ASSERT_TRUE(older->Append(One("S", ItemSet("1", "A", "1"))).ok());
  auto newer = OpenOrDie(path);
  EXPECT_EQ(*newer->RegisterProjections(v1), false) << "the same version is kept";
  auto upgraded = OpenOrDie(path);
  ASSERT_EQ(*upgraded->RegisterProjections(v2), true);
  auto refused = older->Append(One("S", ItemSet("1", "B", "1")));
  ASSERT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("version 2; this process writes version 1"), std::string::npos)
      << refused.status().ToString();
  EXPECT_TRUE(upgraded->Append(One("S", ItemSet("1", "B", "1"))).ok());
  auto late = OpenOrDie(path);
  auto again = late->RegisterProjections(v1);
  ASSERT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("version 2, made by a newer trialcore"), std::string::npos)
      << again.status().ToString();
  EXPECT_TRUE(upgraded->Append(One("S", ItemSet("1", "C", "1"))).ok()) << "the newer build's tables were kept";
  EXPECT_EQ(*upgraded->LastSeq(), 3u);
}

TEST(SqliteEventStoreTest, SubscriptionDeliversHistoryThenLiveEventsInOrder) {
  auto store = OpenOrDie(TempDbPath("subscribe"));
  ASSERT_TRUE(store->Append(One("S", ItemSet("1", "A", "1"))).ok());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<uint64_t> seen;
  auto sub = store->Subscribe(0, [&](const Event& e) {
    std::lock_guard lock(mu);
    seen.push_back(e.seq);
    cv.notify_all();
  });
  ASSERT_TRUE(store->Append(One("S", ItemSet("1", "B", "1"))).ok());
  ASSERT_TRUE(store->Append(One("S", ItemSet("1", "C", "1"))).ok());
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen.size() >= 3; }));
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 3}));
}

TEST(SqliteEventStoreTest, DataSurvivesReopenAndIsVisibleToASecondProcessStyleHandle) {
  std::string path = TempDbPath("reopen");
  {
    auto store = OpenOrDie(path);
    ASSERT_TRUE(store->Append(One("S", ItemSet("1", "A", "1"))).ok());
    auto other = OpenOrDie(path);  // a second handle, as another process would have
    ASSERT_TRUE(other->Append(One("S", ItemSet("1", "B", "1"))).ok());
    auto third = store->Append(One("S", ItemSet("1", "C", "1")));
    ASSERT_TRUE(third.ok()) << third.status().ToString();
    EXPECT_EQ((*third)[0].seq, 3u);
    EXPECT_EQ((*third)[0].study_index, 2u);
  }
  auto store = OpenOrDie(path);
  EXPECT_EQ(*store->LastSeq(), 3u);
}

// Projection queries read only, one SELECT at a time: a pooled reader must
// never be left in a transaction, attached to another file or writing.
TEST(SqliteEventStoreTest, ProjectionQueriesAreOneSelectAndNothingElse) {
  auto store = OpenOrDie(TempDbPath("projection_query"));
  auto run = [&](const std::string& sql) {
    return store->QueryProjections(sql, {Value(int64_t{2})}, [](const ProjectionRow&) { return Status::Ok(); });
  };
  int64_t got = 0;
  ASSERT_TRUE(store
                  ->QueryProjections("SELECT $1 + 1", {Value(int64_t{2})},
                                     [&](const ProjectionRow& r) {
                                       got = r[0].as_int();
                                       return Status::Ok();
                                     })
                  .ok());
  EXPECT_EQ(got, 3);
  EXPECT_TRUE(run(" with x(v) AS (SELECT $1) SELECT v FROM x;").ok());
  for (const char* bad : {"BEGIN", "ATTACH DATABASE ':memory:' AS other", "DELETE FROM entity_values",
                          "SELECT 1; DELETE FROM entity_values", "PRAGMA user_version", ""}) {
    EXPECT_EQ(run(bad).code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(run("SELECT count(*) FROM entity_values").ok()) << "the reader is still usable";
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
