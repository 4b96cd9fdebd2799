// The EventStore contract (doc/event_store.md), one suite run against every
// back end: SQLite in a temporary file, and PostgreSQL 15 started for this
// test binary (store/postgres/test_server.h), a fresh database per test.
// Without PostgreSQL the PostgreSQL tests fail, saying why: CI installs it.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "core/canonical.h"
#include "core/merkle.h"
#include "core/test_env.h"
#include "store/audit.h"
#include "store/open_store.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/test_server.h"
#include "store/test_util.h"

namespace trialcore {
namespace {

using testing_util::ItemSet;
using testing_util::One;
using testing_util::TempDbPath;

enum class Backend { kSqlite, kPostgres };

class EventStoreContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      std::string error;
      pg::TestServer* server = pg::SharedTestServer(&error);
      ASSERT_NE(server, nullptr) << "PostgreSQL 15 could not be started for the PostgreSQL back end's tests: " << error;
      static int databases = 0;
      auto url = server->CreateDatabase("t_" + std::to_string(++databases));
      ASSERT_TRUE(url.ok()) << url.status().ToString();
      db_ = *url;
    } else {
      std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
      std::replace(name.begin(), name.end(), '/', '_');
      db_ = TempDbPath("contract_" + name);
    }
  }

  // A handle on this test's database; another call gives a second handle,
  // as another process (or server) would have.
  std::unique_ptr<EventStore> Open(Env* env = Env::Default()) {
    StoreOpenOptions o;
    o.env = env;
    // SQLite's files go through a test Env when given one (its clock and its memory).
    std::string db = GetParam() == Backend::kSqlite && env != Env::Default() ? "/contract.db" : db_;
    auto s = OpenEventStore(db, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  std::string db_;
};

TEST_P(EventStoreContractTest, AppendAssignsSequenceVersionsAndChainsHashes) {
  auto store = Open();
  ASSERT_TRUE(store);
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
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, *events);
  auto one = store->ReadEvent(2);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, (*events)[1]);
  EXPECT_EQ(store->ReadEvent(4).status().code(), StatusCode::kNotFound);
}

TEST_P(EventStoreContractTest, EachStudyHasItsOwnChainAndSequenceNumbersArePerDatabase) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Append(One("A", ItemSet("1", "X", "1"))).ok());
  auto b = store->Append(One("B", ItemSet("1", "X", "1")));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)[0].seq, 2u);
  EXPECT_EQ((*b)[0].study_index, 0u);
  EXPECT_EQ((*b)[0].prev_hash, Hash{});
  auto heads = store->Heads();
  ASSERT_TRUE(heads.ok());
  ASSERT_EQ(heads->size(), 2u);
  EXPECT_EQ((*heads)[0].study, "A");
  EXPECT_EQ((*heads)[1].study, "B");
  EXPECT_EQ((*heads)[1].head_hash, (*b)[0].hash);
  EXPECT_EQ((*heads)[1].last_seq, 2u);
  EXPECT_EQ((*heads)[1].size, 1u);
}

TEST_P(EventStoreContractTest, ReadsFilterByStudyStreamTimeAndLimit) {
  MemEnv env;
  auto store = Open(&env);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Append(One("A", ItemSet("1", "X", "1"))).ok());
  ASSERT_TRUE(store->Append(One("B", ItemSet("1", "X", "1"))).ok());
  const int64_t t = env.NowMicros();
  env.AdvanceMicros(1000);
  ASSERT_TRUE(store->Append(One("A", ItemSet("2", "X", "1"))).ok());
  ASSERT_TRUE(store->Append(One("A", ItemSet("1", "Y", "1"))).ok());
  EventFilter f;
  f.study = "A";
  EXPECT_EQ(store->ReadEvents(f)->size(), 3u);
  f.stream = "subject/1";
  auto s1 = *store->ReadEvents(f);
  ASSERT_EQ(s1.size(), 2u);
  EXPECT_EQ(s1[1].seq, 4u);
  f.after_seq = 1;
  EXPECT_EQ(store->ReadEvents(f)->size(), 1u);
  EventFilter until;
  until.until_time_us = t;
  EXPECT_EQ(store->ReadEvents(until)->size(), 2u);
  EXPECT_EQ(store->ReadEvents({}, 3)->size(), 3u);
  EventFilter bad;
  bad.stream = "subject/1";
  EXPECT_EQ(store->ReadEvents(bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*store->LastSeq(), 4u);
}

TEST_P(EventStoreContractTest, ExpectedVersionConflictIsAbortedAndStoresNothing) {
  auto store = Open();
  ASSERT_TRUE(store);
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

TEST_P(EventStoreContractTest, ConcurrentWritersOfOneStreamExactlyOneWinsEachRound) {
  auto store = Open();
  ASSERT_TRUE(store);
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

TEST_P(EventStoreContractTest, ConcurrentAppendsAreAllKeptWithGapFreeNumbersAndAnUnbrokenChain) {
  auto store = Open();
  ASSERT_TRUE(store);
  constexpr int kThreads = 8, kPerThread = 40;
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
  EXPECT_EQ(store->Metrics().appends, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(store->Metrics().events, static_cast<uint64_t>(kThreads * kPerThread));
}

// The rule of doc/event_store.md: a reader that follows the log by "events
// after the last I saw" sees every event exactly once, in order, however
// appends from several handles (as from several servers) interleave.
TEST_P(EventStoreContractTest, ReadersFollowingTheLogNeverSkipAnEvent) {
  auto store = Open();
  auto other = Open();
  ASSERT_TRUE(store && other);
  // Every fifth batch holds two events.
  constexpr size_t kWriters = 4, kPerWriter = 40, kTotal = kWriters * (kPerWriter + kPerWriter / 5);
  std::atomic<bool> failed{false};
  std::vector<std::thread> readers;
  std::vector<std::vector<uint64_t>> seen(3);
  for (size_t r = 0; r < seen.size(); ++r) {
    readers.emplace_back([&, r] {
      uint64_t cursor = 0;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (seen[r].size() < kTotal && std::chrono::steady_clock::now() < deadline && !failed) {
        EventFilter f;
        f.after_seq = cursor;
        auto events = store->ReadEvents(f);
        if (!events.ok()) {
          failed = true;
          return;
        }
        for (const Event& e : *events) {
          seen[r].push_back(e.seq);
          cursor = e.seq;
        }
      }
    });
  }
  std::vector<std::thread> writers;
  for (size_t w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      EventStore* s = w % 2 ? other.get() : store.get();
      for (size_t i = 0; i < kPerWriter; ++i) {
        AppendRequest r = One("S" + std::to_string(w % 3), ItemSet(std::to_string(w), "I" + std::to_string(i), "1"));
        if (i % 5 == 0) r.events.push_back(ItemSet(std::to_string(w), "J" + std::to_string(i), "2"));
        if (!s->Append(r).ok()) failed = true;
      }
    });
  }
  for (auto& t : writers) t.join();
  for (auto& t : readers) t.join();
  ASSERT_FALSE(failed);
  ASSERT_EQ(*store->LastSeq(), kTotal);
  for (const auto& s : seen) {
    ASSERT_EQ(s.size(), kTotal);
    for (size_t i = 0; i < s.size(); ++i) ASSERT_EQ(s[i], i + 1) << "a reader skipped or repeated an event";
  }
}

TEST_P(EventStoreContractTest, ChangingAValueNeedsAReasonButFirstEntryDoesNot) {
  auto store = Open();
  ASSERT_TRUE(store);
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
  EXPECT_EQ((*v)->actor.user, "coord.701");
  // A cleared value may be entered again without a reason.
  ASSERT_TRUE(store->Append(One("S", ItemSet("1", "SYSBP", "null", "entered on the wrong subject"))).ok());
  EXPECT_TRUE(store->Append(One("S", ItemSet("1", "SYSBP", "118"))).ok());
  EXPECT_FALSE(store->ReadEntity("S", "subject/1/form/VS/item/NONE")->has_value());
}

// Concurrent first entries of one value, committed together or not: the
// first one stored is the entry, every other one a change without a reason,
// refused, whichever batches a group commit puts side by side; and the
// value stored is the entry's.
TEST_P(EventStoreContractTest, ConcurrentFirstEntriesOfOneValueLetOnlyOneThrough) {
  auto store = Open();
  ASSERT_TRUE(store);
  for (int round = 0; round < 5; ++round) {
    const std::string item = "ITEM" + std::to_string(round);
    constexpr int kWriters = 8;
    std::atomic<int> stored{0}, refused{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        auto r = store->Append(One("S", ItemSet("1", item, std::to_string(100 + w))));
        if (r.ok()) {
          ++stored;
        } else if (r.status().code() == StatusCode::kFailedPrecondition) {
          ++refused;
        }
      });
    }
    for (auto& t : writers) t.join();
    EXPECT_EQ(stored.load(), 1) << item;
    EXPECT_EQ(refused.load(), kWriters - 1) << item;
    EventFilter f;
    f.study = "S";
    auto events = store->ReadEvents(f);
    ASSERT_TRUE(events.ok());
    auto value = store->ReadEntity("S", "subject/1/form/VS/item/" + item);
    ASSERT_TRUE(value.ok() && value->has_value());
    EXPECT_EQ((*value)->seq, events->back().seq) << "the value stored is that of the one event stored";
  }
}

TEST_P(EventStoreContractTest, ABatchIsAtomic) {
  auto store = Open();
  ASSERT_TRUE(store);
  AppendRequest r;
  r.study = "S";
  r.events = {ItemSet("1", "A", "1"), ItemSet("1", "A", "2")};  // second changes A without a reason
  EXPECT_FALSE(store->Append(r).ok());
  EXPECT_EQ(*store->LastSeq(), 0u) << "a batch is atomic";
  EXPECT_FALSE(store->ReadEntity("S", "subject/1/form/VS/item/A")->has_value());
  // A projector's error rolls its batch back too.
  AppendRequest p = One("S", ItemSet("1", "B", "1"));
  p.project = [](const std::vector<Event>&, ProjectionWriter&) { return Internal("projector failed"); };
  EXPECT_EQ(store->Append(p).status().code(), StatusCode::kInternal);
  EXPECT_EQ(*store->LastSeq(), 0u);
  EXPECT_TRUE(store->Append(One("S", ItemSet("1", "A", "1"))).ok());
}

TEST_P(EventStoreContractTest, BadDraftsAreRefusedWithTheirPosition) {
  auto store = Open();
  ASSERT_TRUE(store);
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

TEST_P(EventStoreContractTest, StreamCanBeReadAsOfAnyPastTime) {
  MemEnv env;
  auto store = Open(&env);
  ASSERT_TRUE(store);
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

TEST_P(EventStoreContractTest, TimeNeverGoesBackwardsInTheLog) {
  MemEnv env;
  auto store = Open(&env);
  ASSERT_TRUE(store);
  auto a = store->Append(One("S", ItemSet("1", "A", "1")));
  env.AdvanceMicros(-5'000'000);  // the system clock was set back
  auto b = store->Append(One("S", ItemSet("1", "B", "1")));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_GE((*b)[0].time_us, (*a)[0].time_us);
}

TEST_P(EventStoreContractTest, RebuiltProjectionsAreIdenticalToLiveOnes) {
  auto store = Open();
  ASSERT_TRUE(store);
  for (int i = 0; i < 120; ++i) {
    AppendRequest r = One('S' + std::to_string(i % 3), ItemSet(std::to_string(i % 17), 'I' + std::to_string(i % 11),
                                                               std::to_string(i), "update " + std::to_string(i)));
    if (i % 5 == 0) r.events.push_back(ItemSet(std::to_string(i % 17), "NOTE", "\"n" + std::to_string(i) + "\"", "x"));
    if (i % 7 == 0) r.events.push_back(ItemSet(std::to_string(i % 17), "NOTE", "null", "cleared"));
    ASSERT_TRUE(store->Append(r).ok());
  }
  auto live = store->DumpProjections();
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_GT(live->size(), 1000u);
  auto replayed = store->RebuildProjections();
  ASSERT_TRUE(replayed.ok()) << replayed.status().ToString();
  EXPECT_GT(*replayed, 120u);
  EXPECT_EQ(*store->DumpProjections(), *live);
}

ProjectionSet TestSet(int version = 1) {
  ProjectionSet set;
  set.name = "t";
  set.version = version;
  set.tables = {{"t_rows",
                 {{"study", ProjectionColumn::Type::kText},
                  {"n", ProjectionColumn::Type::kInt},
                  {"label", ProjectionColumn::Type::kText}},
                 2,
                 {{"study", "label"}}}};
  return set;
}

int64_t Count(EventStore& store, const std::string& sql, const std::vector<Value>& params = {}) {
  int64_t n = -1;
  Status s = store.QueryProjections(sql, params, [&](const ProjectionRow& r) {
    n = r[0].as_int();
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return n;
}

// Rows written with the batch, in its transaction; read back with $N
// parameters, bools as ints, and a key put twice keeps the last.
TEST_P(EventStoreContractTest, ProjectorRowsAreWrittenWithTheirBatchAndQueriedWithParameters) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_EQ(*store->RegisterProjections(TestSet()), true);
  AppendRequest r = One("S", ItemSet("1", "A", "1"));
  r.project = [](const std::vector<Event>& stored, ProjectionWriter& w) -> Status {
    TC_RETURN_IF_ERROR(w.Put("t_rows", {stored[0].study, int64_t(stored[0].seq), "first"}));
    TC_RETURN_IF_ERROR(w.Put("t_rows", {stored[0].study, int64_t(stored[0].seq), "second"}));
    TC_RETURN_IF_ERROR(w.Put("t_rows", {stored[0].study, int64_t{7}, Value(true)}));
    TC_RETURN_IF_ERROR(w.Put("t_rows", {stored[0].study, int64_t{8}, Value()}));
    return w.Delete("t_rows", {stored[0].study, int64_t{8}});
  };
  ASSERT_TRUE(store->Append(r).ok());
  std::vector<ProjectionRow> rows;
  ASSERT_TRUE(store
                  ->QueryProjections("SELECT n, label FROM t_rows WHERE study = $1 AND n >= $2 ORDER BY n",
                                     {Value(std::string("S")), Value(int64_t{1})},
                                     [&](const ProjectionRow& row) {
                                       rows.push_back(row);
                                       return Status::Ok();
                                     })
                  .ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].as_int(), 1);
  EXPECT_EQ(rows[0][1].as_string(), "second");
  EXPECT_EQ(rows[1][1].as_string(), "1") << "a bool is stored as 0/1";
  // A parameter the query does not use is ignored; sums of integers are integers.
  EXPECT_EQ(Count(*store, "SELECT sum(n) FROM t_rows WHERE study = $2", {Value(int64_t{5}), Value(std::string("S"))}),
            8);
  AppendRequest bad = One("S", ItemSet("1", "B", "1"));
  bad.project = [](const std::vector<Event>&, ProjectionWriter& w) { return w.Put("nope", {Value("S")}); };
  EXPECT_EQ(store->Append(bad).status().code(), StatusCode::kFailedPrecondition);
}

// A rewrite replaces only its study's rows; a key put twice keeps the last.
TEST_P(EventStoreContractTest, RewriteReplacesOnlyItsStudysRows) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->RegisterProjections(TestSet()).ok());
  ASSERT_TRUE(store->Append(One("A", ItemSet("1", "X", "1"))).ok());
  ASSERT_TRUE(store->Append(One("A", ItemSet("2", "X", "1"))).ok());
  auto rewrite = [&](const std::string& study, int rows, const std::string& label) {
    return store->RewriteProjections("t", study, [&](ProjectionWriter& w, const StudyEventsByStream& events) -> Status {
      Status read = events([&](const Event& e) -> Status {
        return w.Put("t_rows", {study, int64_t(1000 + e.seq), e.stream});
      });
      TC_RETURN_IF_ERROR(read);
      for (int i = 0; i < rows; ++i) TC_RETURN_IF_ERROR(w.Put("t_rows", {study, int64_t{i}, "old"}));
      for (int i = 0; i < rows; ++i) TC_RETURN_IF_ERROR(w.Put("t_rows", {study, int64_t{i}, label}));
      return w.Delete("t_rows", {study, int64_t{0}});
    });
  };
  ASSERT_TRUE(rewrite("A", 100, "a").ok());
  EXPECT_EQ(Count(*store, "SELECT count(*) FROM t_rows WHERE study = 'A' AND label = 'a'"), 99);
  EXPECT_EQ(Count(*store, "SELECT count(*) FROM t_rows WHERE study = 'A' AND n > 1000"), 2) << "the study's events";
  ASSERT_TRUE(rewrite("B", 30, "b").ok());
  ASSERT_TRUE(rewrite("A", 50, "a2").ok());
  EXPECT_EQ(Count(*store, "SELECT count(*) FROM t_rows WHERE study = 'A'"), 51);
  EXPECT_EQ(Count(*store, "SELECT count(*) FROM t_rows WHERE study = 'A' AND label = 'a2'"), 49);
  EXPECT_EQ(Count(*store, "SELECT count(*) FROM t_rows WHERE study = 'B' AND label = 'b'"), 29);
  EXPECT_EQ(
      store->RewriteProjections("nope", "A", [](ProjectionWriter&, const StudyEventsByStream&) { return Status::Ok(); })
          .code(),
      StatusCode::kFailedPrecondition);
}

// A rewrite reads each event's payload whole but for its member "set" (the
// entity values, the store's own projection): decoding it was a third of a
// rebuild's decoding, and no projection set reads it.
TEST_P(EventStoreContractTest, ARewriteReadsPayloadsWithoutTheirSetMember) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->RegisterProjections(TestSet()).ok());
  EventDraft d = ItemSet("1", "X", "1");
  d.payload.as_object()["visit"] = Value("WEEK2");
  d.payload.as_object()["zeta"] = Value(Value::Array{Value(int64_t{7})});
  ASSERT_TRUE(store->Append(One("A", d)).ok());
  std::string seen;
  ASSERT_TRUE(store
                  ->RewriteProjections("t", "A",
                                       [&](ProjectionWriter&, const StudyEventsByStream& events) -> Status {
                                         return events([&](const Event& e) -> Status {
                                           seen += ToJson(e.payload);
                                           return Status::Ok();
                                         });
                                       })
                  .ok());
  EXPECT_EQ(seen, R"({"visit":"WEEK2","zeta":[7]})");
  // Everyone else reads the payload as stored.
  auto events = store->ReadEvents(EventFilter{});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_NE((*events)[0].payload.Find("set"), nullptr);
}

// A rewrite whose replay fails part way through the log returns that error,
// keeps the study's old rows, and leaves the store working: the next rewrite
// and append succeed.
TEST_P(EventStoreContractTest, ARewriteThatFailsPartWayKeepsTheOldRowsAndTheStoreWorks) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->RegisterProjections(TestSet()).ok());
  for (int i = 0; i < 40; ++i) {
    AppendRequest r;
    r.study = "A";
    for (int k = 0; k < 25; ++k) {
      r.events.push_back(ItemSet(std::to_string(k % 7), 'I' + std::to_string(i), std::to_string(k), "again"));
    }
    ASSERT_TRUE(store->Append(r).ok());
  }
  auto every_event = [&](uint64_t fail_at) {
    return store->RewriteProjections("t", "A", [&](ProjectionWriter& w, const StudyEventsByStream& events) -> Status {
      uint64_t seen = 0;
      return events([&](const Event& e) -> Status {
        if (++seen == fail_at) return InvalidArgument("replay stopped at event " + std::to_string(e.seq));
        return w.Put("t_rows", {e.study, int64_t(e.seq), e.stream});
      });
    });
  };
  ASSERT_TRUE(every_event(0).ok());
  EXPECT_EQ(Count(*store, "SELECT count(*) FROM t_rows"), 1000);
  const std::string before = *store->DumpProjections();
  Status failed = every_event(700);
  EXPECT_EQ(failed.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(failed.message().find("replay stopped at event"), std::string::npos) << failed.ToString();
  EXPECT_EQ(*store->DumpProjections(), before);
  ASSERT_TRUE(store->Append(One("A", ItemSet("1", "AFTER", "1"))).ok());
  ASSERT_TRUE(every_event(0).ok());
  EXPECT_EQ(Count(*store, "SELECT count(*) FROM t_rows"), 1001);
}

// Two builds on one database: a newer one makes a projection set's tables
// over in its version; the older one's writes stop, and an older one
// opening later is refused, never allowed to make them over back.
TEST_P(EventStoreContractTest, ANewerProjectionVersionStopsOlderWritersAndIsNeverUndone) {
  auto older = Open();
  ASSERT_TRUE(older);
  ASSERT_EQ(*older->RegisterProjections(TestSet(1)), true);
  ASSERT_TRUE(older->Append(One("S", ItemSet("1", "A", "1"))).ok());
  auto newer = Open();
  EXPECT_EQ(*newer->RegisterProjections(TestSet(1)), false) << "the same version is kept";
  auto upgraded = Open();
  ASSERT_EQ(*upgraded->RegisterProjections(TestSet(2)), true);
  auto refused = older->Append(One("S", ItemSet("1", "B", "1")));
  ASSERT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("version 2; this process writes version 1"), std::string::npos)
      << refused.status().ToString();
  EXPECT_TRUE(upgraded->Append(One("S", ItemSet("1", "B", "1"))).ok());
  auto late = Open();
  auto again = late->RegisterProjections(TestSet(1));
  ASSERT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("version 2, made by a newer trialcore"), std::string::npos)
      << again.status().ToString();
  EXPECT_TRUE(upgraded->Append(One("S", ItemSet("1", "C", "1"))).ok()) << "the newer build's tables were kept";
  EXPECT_EQ(*upgraded->LastSeq(), 3u);
}

TEST_P(EventStoreContractTest, SubscriptionDeliversHistoryThenLiveEventsOfEveryHandleInOrder) {
  auto store = Open();
  auto other = Open();  // as another process or server would append
  ASSERT_TRUE(store && other);
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
  ASSERT_TRUE(other->Append(One("S", ItemSet("1", "C", "1"))).ok());
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen.size() >= 3; }));
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 3}));
}

TEST_P(EventStoreContractTest, DataSurvivesReopenAndIsVisibleToASecondHandle) {
  {
    auto store = Open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->Append(One("S", ItemSet("1", "A", "1"))).ok());
    auto other = Open();
    ASSERT_TRUE(other->Append(One("S", ItemSet("1", "B", "1"))).ok());
    auto third = store->Append(One("S", ItemSet("1", "C", "1")));
    ASSERT_TRUE(third.ok()) << third.status().ToString();
    EXPECT_EQ((*third)[0].seq, 3u);
    EXPECT_EQ((*third)[0].study_index, 2u);
    EXPECT_EQ((*third)[0].prev_hash, (*other->ReadEvent(2)).hash);
  }
  auto store = Open();
  EXPECT_EQ(*store->LastSeq(), 3u);
}

TEST_P(EventStoreContractTest, ProjectionQueriesAreOneSelectAndNothingElse) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto run = [&](const std::string& sql) {
    return store->QueryProjections(sql, {Value(int64_t{2})}, [](const ProjectionRow&) { return Status::Ok(); });
  };
  EXPECT_EQ(Count(*store, "SELECT $1 + 1", {Value(int64_t{2})}), 3);
  EXPECT_TRUE(run(" with x(v) AS (SELECT $1) SELECT v FROM x;").ok());
  for (const char* bad : {"BEGIN", "ATTACH DATABASE ':memory:' AS other", "DELETE FROM entity_values",
                          "SELECT 1; DELETE FROM entity_values", "PRAGMA user_version", ""}) {
    EXPECT_EQ(run(bad).code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(run("SELECT count(*) FROM entity_values").ok()) << "the reader is still usable";
}

TEST_P(EventStoreContractTest, CheckpointsAndProofsVerify) {
  MemEnv key_env;
  auto key = SigningKey::LoadOrCreate(&key_env, "/key.pem");
  ASSERT_TRUE(key.ok());
  auto store = Open();
  ASSERT_TRUE(store);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(store->Append(One("S", ItemSet(std::to_string(i % 4), "I" + std::to_string(i), "1"))).ok());
  }
  EXPECT_NE(store->ProveInclusion(3).status().message().find("audit checkpoint"), std::string::npos);
  auto c1 = store->CreateCheckpoint("S", *key);
  ASSERT_TRUE(c1.ok()) << c1.status().ToString();
  for (int i = 0; i < 13; ++i) ASSERT_TRUE(store->Append(One("S", ItemSet("5", "J" + std::to_string(i), "1"))).ok());
  auto c2 = store->CreateCheckpoint("S", *key);
  ASSERT_TRUE(c2.ok());
  ASSERT_EQ(c2->tree_size, 33u);
  EXPECT_EQ(store->Checkpoints("S")->size(), 2u);

  auto incl = store->ProveInclusion(7);
  ASSERT_TRUE(incl.ok()) << incl.status().ToString();
  EXPECT_EQ(incl->checkpoint, *c2);
  std::vector<std::string> path;
  for (const auto& h : incl->path) path.emplace_back(AsBytes(h));
  Hash event_hash = ChainHash(incl->event.prev_hash, incl->record);
  EXPECT_EQ(event_hash, incl->event.hash);
  EXPECT_TRUE(VerifyMerkleInclusion(incl->event.study_index, c2->tree_size,
                                    AsBytes(MerkleLeafHash(AsBytes(event_hash))), path, AsBytes(c2->root_hash))
                  .ok());
  auto cons = store->ProveConsistency("S", c1->tree_size, c2->tree_size);
  ASSERT_TRUE(cons.ok()) << cons.status().ToString();
  std::vector<std::string> cpath;
  for (const auto& h : cons->path) cpath.emplace_back(AsBytes(h));
  EXPECT_TRUE(
      VerifyMerkleConsistency(c1->tree_size, c2->tree_size, cpath, AsBytes(c1->root_hash), AsBytes(c2->root_hash))
          .ok());
  EXPECT_EQ(store->ProveConsistency("S", 3, 33).status().code(), StatusCode::kNotFound);
  auto v = VerifyStudy(*store, "S", {}, std::nullopt);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_FALSE(v->problem) << v->problem->what;
  EXPECT_EQ(v->events, 33u);
  EXPECT_EQ(v->checkpoints_checked, 2u);
}

// The same events give the same canonical records, hashes, heads and
// projection rows on every back end: a reference SQLite store on the same
// clock is the measure.
TEST_P(EventStoreContractTest, TheSameEventsGiveTheSameHashesAsTheSqliteStore) {
  MemEnv env, ref_env;
  auto store = Open(&env);
  ASSERT_TRUE(store);
  auto reference = OpenEventStore("/reference.db", StoreOpenOptions{.env = &ref_env});
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  for (EventStore* s : {store.get(), reference->get()}) {
    ASSERT_TRUE(s->RegisterProjections(TestSet()).ok());
    for (int i = 0; i < 30; ++i) {
      AppendRequest r =
          One("S" + std::to_string(i % 2), ItemSet(std::to_string(i % 5), "I" + std::to_string(i % 7),
                                                   "\"v" + std::to_string(i) + "\"", "why " + std::to_string(i)));
      r.events[0].actor.role = "données";  // non-ASCII text survives both
      r.project = [](const std::vector<Event>& stored, ProjectionWriter& w) {
        return w.Put("t_rows", {stored[0].study, int64_t(stored[0].seq % 4), stored[0].stream});
      };
      ASSERT_TRUE(s->Append(r).ok());
      (s == store.get() ? env : ref_env).AdvanceMicros(1234);
    }
  }
  auto mine = store->ReadEvents({});
  auto theirs = (*reference)->ReadEvents({});
  ASSERT_TRUE(mine.ok() && theirs.ok());
  EXPECT_EQ(*mine, *theirs);
  auto heads = store->Heads();
  auto ref_heads = (*reference)->Heads();
  ASSERT_EQ(heads->size(), 2u);
  for (size_t i = 0; i < heads->size(); ++i) {
    EXPECT_EQ((*heads)[i].head_hash, (*ref_heads)[i].head_hash) << (*heads)[i].study;
    EXPECT_EQ((*heads)[i].size, (*ref_heads)[i].size);
  }
  EXPECT_EQ(*store->DumpProjections(), *(*reference)->DumpProjections());
}

// `trialcore db copy`: events imported as another store holds them keep
// their numbers and hashes; one that does not continue the log, or whose
// hash is not its record's, is refused with its whole call.
TEST_P(EventStoreContractTest, ImportedEventsKeepTheirHashesAndABrokenChainIsRefused) {
  MemEnv ref_env;
  auto reference = OpenEventStore("/reference.db", StoreOpenOptions{.env = &ref_env});
  ASSERT_TRUE(reference.ok());
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(
        (*reference)->Append(One("S" + std::to_string(i % 2), ItemSet("1", "I" + std::to_string(i), "1"))).ok());
    ref_env.AdvanceMicros(10);
  }
  std::vector<Event> events = *(*reference)->ReadEvents({});
  auto store = Open();
  ASSERT_TRUE(store);
  std::vector<Event> later(events.begin() + 1, events.end());
  EXPECT_EQ(store->ImportEvents(later).code(), StatusCode::kDataLoss) << "must start after LastSeq()";
  std::vector<Event> forged(events.begin(), events.begin() + 6);
  forged[4].reason = "forged";
  Status refused = store->ImportEvents(forged);
  EXPECT_EQ(refused.code(), StatusCode::kDataLoss);
  EXPECT_NE(refused.message().find("event 5 of S0: its hash is not the hash of its record"), std::string::npos)
      << refused.ToString();
  EXPECT_EQ(*store->LastSeq(), 0u) << "nothing of a refused call is stored";
  ASSERT_TRUE(store->ImportEvents({events.begin(), events.begin() + 5}).ok());
  std::vector<Event> relinked(events.begin() + 5, events.end());
  relinked[1].prev_hash = Hash{};
  EXPECT_EQ(store->ImportEvents(relinked).code(), StatusCode::kDataLoss);
  ASSERT_TRUE(store->ImportEvents({events.begin() + 5, events.end()}).ok());
  EXPECT_EQ(*store->ReadEvents({}), events);
  auto v = VerifyStudy(*store, "S1", {}, std::nullopt);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->problem);
  // The log goes on from the copy: the next append continues its chain.
  auto next = store->Append(One("S1", ItemSet("2", "X", "1")));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ((*next)[0].seq, 13u);
  EXPECT_EQ((*next)[0].prev_hash, events.back().hash);
}

TEST_P(EventStoreContractTest, AMissingDatabaseIsNotFoundAndNamed) {
  StoreOpenOptions o;
  o.create_if_missing = false;
  std::string missing = TempDbPath("contract_missing") + ".nope";
  if (GetParam() == Backend::kPostgres) {
    std::string error;
    missing = pg::SharedTestServer(&error)->Url("no_such_db");
  }
  auto s = OpenEventStore(missing, o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound) << s.status().ToString();
  EXPECT_NE(s.status().message().find(GetParam() == Backend::kSqlite ? missing : "database no_such_db"),
            std::string::npos)
      << s.status().ToString();
}

// Servers' shared state (store/server_state.h): what one handle writes, a
// second (another server of the database) reads at once.
TEST_P(EventStoreContractTest, SessionsWrittenThroughOneHandleAreFoundChangedAndEndedThroughAnother) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  ServerState& on_a = a->server_state();
  ServerState& on_b = b->server_state();
  ASSERT_TRUE(on_a.CreateSession(SessionRecord{"k1", "alice", 1000, 1000, false}).ok());
  ASSERT_TRUE(on_a.CreateSession(SessionRecord{"k2", "alice", 2000, 2000, false}).ok());
  ASSERT_TRUE(on_b.CreateSession(SessionRecord{"k3", "bob", 3000, 3000, false}).ok());
  Status taken = on_b.CreateSession(SessionRecord{"k1", "mallory", 9000, 9000, true});
  EXPECT_EQ(taken.code(), StatusCode::kAlreadyExists) << taken.ToString();

  auto found = on_b.FindSession("k1");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->user, "alice") << "a taken key keeps its session";
  EXPECT_EQ((*found)->created_us, 1000);
  EXPECT_FALSE((*found)->has_signed);
  EXPECT_FALSE(on_b.FindSession("nope")->has_value());

  ASSERT_TRUE(on_b.TouchSession("k1", 5000).ok());
  ASSERT_TRUE(on_a.TouchSession("k1", 4000).ok());
  EXPECT_EQ((*on_a.FindSession("k1"))->last_used_us, 5000) << "last use never moves back";
  ASSERT_TRUE(on_a.MarkSessionSigned("k1").ok());
  EXPECT_TRUE((*on_b.FindSession("k1"))->has_signed);
  EXPECT_TRUE(on_a.TouchSession("gone", 1).ok()) << "a session that is gone is no error";

  // Live: used at or after 2000 and created at or after 1000 (k1, k2, k3).
  EXPECT_EQ(*on_b.CountLiveSessions(2000, 1000), 3u);
  EXPECT_EQ(*on_b.CountLiveSessions(2500, 0), 2u) << "k2 idle since 2000";
  EXPECT_EQ(*on_b.CountLiveSessions(0, 1500), 2u) << "k1 created at 1000";
  EXPECT_EQ(*on_a.DeleteExpiredSessions(2500, 0), 1u);
  EXPECT_FALSE(on_b.FindSession("k2")->has_value());

  ASSERT_TRUE(on_b.DeleteSession("k1").ok());
  EXPECT_FALSE(on_a.FindSession("k1")->has_value());
  ASSERT_TRUE(on_a.CreateSession(SessionRecord{"k4", "bob", 4000, 4000, false}).ok());
  EXPECT_EQ(*on_a.DeleteSessionsOf("bob"), 2u);
  EXPECT_FALSE(on_b.FindSession("k3")->has_value());
  EXPECT_FALSE(on_b.FindSession("k4")->has_value());
  EXPECT_EQ(*on_b.CountLiveSessions(0, 0), 0u);
}

TEST_P(EventStoreContractTest, LoginAttemptsAreCountedPerClientInASlidingWindowAcrossHandles) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  constexpr int64_t kWindow = 60'000'000;
  auto take = [&](EventStore& store, const std::string& client, int64_t at) {
    auto allowed = store.server_state().TakeLoginAttempt(client, at, kWindow, 3);
    EXPECT_TRUE(allowed.ok()) << allowed.status().ToString();
    return allowed.ok() && *allowed;
  };
  EXPECT_TRUE(take(*a, "10.0.0.1", 0));
  EXPECT_TRUE(take(*b, "10.0.0.1", 10'000'000));
  EXPECT_TRUE(take(*a, "10.0.0.1", 20'000'000));
  EXPECT_FALSE(take(*b, "10.0.0.1", 30'000'000)) << "the fourth in a minute, through the other handle";
  EXPECT_TRUE(take(*b, "10.0.0.2", 30'000'000)) << "another client has its own count";
  EXPECT_FALSE(take(*a, "10.0.0.1", kWindow - 1)) << "a refusal is not counted, the first is still in the window";
  EXPECT_TRUE(take(*a, "10.0.0.1", kWindow)) << "the first attempt left the window";
  EXPECT_FALSE(take(*b, "10.0.0.1", kWindow + 1));

  // At once from both handles: never more than the limit.
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      EventStore& store = t % 2 == 0 ? *a : *b;
      for (int i = 0; i < 10; ++i) {
        auto ok = store.server_state().TakeLoginAttempt("10.0.0.9", 1000, kWindow, 25);
        if (ok.ok() && *ok) ++allowed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 25);
}

TEST_P(EventStoreContractTest, ASharedValueIsTheOneTheFirstHandleStored) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  auto first = a->server_state().SharedValue("key", "from a");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, "from a");
  EXPECT_EQ(*b->server_state().SharedValue("key", "from b"), "from a");
  EXPECT_EQ(*b->server_state().SharedValue("other", "from b"), "from b");
  b.reset();
  auto reopened = Open();
  EXPECT_EQ(*reopened->server_state().SharedValue("key", "again"), "from a") << "kept as long as the database";
}

INSTANTIATE_TEST_SUITE_P(, EventStoreContractTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& param) {
                           return param.param == Backend::kSqlite ? "Sqlite" : "Postgres";
                         });

// What only a server has: its address in every error, and a database
// without trialcore's tables, which a command that must not create refuses.
TEST(PostgresStoreTest, ErrorsNameTheServerAndTheDatabase) {
  std::string error;
  pg::TestServer* server = pg::SharedTestServer(&error);
  ASSERT_NE(server, nullptr) << "PostgreSQL 15 could not be started: " << error;
  for (const char* bad : {"postgresql://user@host/db?no_such_option=1", "postgresql://user@127.0.0.1:port/db"}) {
    auto bad_url = OpenEventStore(bad);
    EXPECT_EQ(bad_url.status().code(), StatusCode::kInvalidArgument) << bad_url.status().ToString();
    EXPECT_NE(bad_url.status().message().find("bad PostgreSQL URL"), std::string::npos) << bad;
  }
  // A port nothing listens on (the server's own, on a host that refuses).
  auto refused = OpenEventStore("postgresql://trialcore@127.0.0.1:1/t");
  EXPECT_EQ(refused.status().code(), StatusCode::kIoError) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("host 127.0.0.1 port 1 database t"), std::string::npos)
      << refused.status().ToString();
  auto empty = server->CreateDatabase("empty_db");
  ASSERT_TRUE(empty.ok());
  StoreOpenOptions existing;
  existing.create_if_missing = false;
  auto none = OpenEventStore(*empty, existing);
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find("has no trialcore tables"), std::string::npos) << none.status().ToString();
  // Over TCP, as a user's URL names it.
  auto tcp = OpenEventStore(server->TcpUrl("empty_db"));
  ASSERT_TRUE(tcp.ok()) << tcp.status().ToString();
  EXPECT_TRUE((*tcp)->Append(One("S", ItemSet("1", "A", "1"))).ok());
}

// As SQLite refuses a file of a newer format or another program's, the
// PostgreSQL store refuses such a database, and changes nothing in it.
TEST(PostgresStoreTest, RefusesANewerFormatAndAnotherProgramsTables) {
  std::string error;
  pg::TestServer* server = pg::SharedTestServer(&error);
  ASSERT_NE(server, nullptr) << "PostgreSQL 15 could not be started: " << error;
  auto newer = server->CreateDatabase("newer_format");
  ASSERT_TRUE(newer.ok());
  { ASSERT_TRUE(OpenEventStore(*newer).ok()); }
  auto raw = pg::Conn::Connect(*newer);
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE((*raw)->Exec("UPDATE meta SET value = '2' WHERE key = 'format_version'").ok());
  auto s = OpenEventStore(*newer);
  EXPECT_EQ(s.status().code(), StatusCode::kUnimplemented) << s.status().ToString();
  EXPECT_NE(s.status().message().find("format version 2"), std::string::npos);

  auto other = server->CreateDatabase("other_program");
  ASSERT_TRUE(other.ok());
  auto theirs = pg::Conn::Connect(*other);
  ASSERT_TRUE(theirs.ok());
  ASSERT_TRUE((*theirs)->Exec("CREATE TABLE events(id INT); INSERT INTO events VALUES (7)").ok());
  s = OpenEventStore(*other);
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << s.status().ToString();
  EXPECT_NE(s.status().message().find("is not a trialcore one"), std::string::npos);
  auto kept = (*theirs)->Query("SELECT count(*) FROM events");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->Int(0, 0), 1) << "their table is untouched";
}

// libpq would cut a text parameter at a NUL: such text is refused whole.
TEST(PostgresStoreTest, TextWithANulCharacterIsRefusedNotCutShort) {
  std::string error;
  pg::TestServer* server = pg::SharedTestServer(&error);
  ASSERT_NE(server, nullptr) << "PostgreSQL 15 could not be started: " << error;
  auto url = server->CreateDatabase("nul_text");
  ASSERT_TRUE(url.ok());
  auto store = OpenEventStore(*url);
  ASSERT_TRUE(store.ok());
  auto res = (*store)->Append(One("S", ItemSet("1", "A", "1", std::string("typo\0hidden", 11))));
  EXPECT_EQ(res.status().code(), StatusCode::kInvalidArgument) << res.status().ToString();
  EXPECT_NE(res.status().message().find("cannot hold a NUL character"), std::string::npos);
  EXPECT_EQ(*(*store)->LastSeq(), 0u);
}

}  // namespace
}  // namespace trialcore
