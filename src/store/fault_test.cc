// The store on a disk that fails: a failed fsync or a full disk makes the
// append fail with a clear error, and after a power cut every acknowledged
// event is there and the chain verifies (leveldb's fault_injection_test).
#include <gtest/gtest.h>

#include "core/test_env.h"
#include "store/audit.h"
#include "store/sqlite/sqlite_event_store.h"
#include "store/test_util.h"

namespace trialcore {
namespace {

using testing_util::ItemSet;
using testing_util::One;

std::unique_ptr<EventStore> Open(Env* env) {
  SqliteStoreOptions o;
  o.env = env;
  auto s = OpenSqliteEventStore("/faults.db", o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

void ExpectVerifiesWith(EventStore& store, uint64_t events) {
  auto v = VerifyStudy(store, "S", {}, std::nullopt);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_FALSE(v->problem) << v->problem->what;
  EXPECT_EQ(v->events, events);
}

TEST(FaultTest, FailedFsyncFailsTheAppendAndLosesNoAcknowledgedEvent) {
  for (int fail_at = 1; fail_at <= 4; ++fail_at) {
    SCOPED_TRACE("fsync failing from the " + std::to_string(fail_at) + "th on");
    MemEnv mem;
    FaultInjectionEnv env(&mem);
    uint64_t acked = 0;
    {
      auto store = Open(&env);
      for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->Append(One("S", ItemSet("1", "A" + std::to_string(i), "1"))).ok());
      acked = 10;
      env.FailSyncAfter(fail_at);
      for (int i = 0; i < 10; ++i) {
        auto r = store->Append(One("S", ItemSet("2", "B" + std::to_string(i), "1")));
        if (r.ok()) {
          ++acked;
          continue;
        }
        EXPECT_TRUE(r.status().code() == StatusCode::kIoError || r.status().code() == StatusCode::kFailedPrecondition)
            << r.status().ToString();
        break;
      }
      // The store refuses further writes instead of guessing what is on disk.
      auto after = store->Append(One("S", ItemSet("3", "C", "1")));
      EXPECT_FALSE(after.ok());
    }
    env.Heal();
    mem.DropUnsyncedData();
    auto store = Open(&env);
    uint64_t last = *store->LastSeq();
    EXPECT_GE(last, acked);
    ExpectVerifiesWith(*store, last);
    ASSERT_TRUE(store->Append(One("S", ItemSet("4", "D", "1"))).ok()) << "writable again after reopening";
  }
}

TEST(FaultTest, FullDiskFailsWithAClearErrorAndTheStoreStaysUsable) {
  MemEnv mem;
  FaultInjectionEnv env(&mem);
  auto store = Open(&env);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store->Append(One("S", ItemSet("1", "A" + std::to_string(i), "1"))).ok());
  env.SetDiskSpace(0);
  AppendRequest big;
  big.study = "S";
  for (int i = 0; i < 200; ++i)
    big.events.push_back(ItemSet("2", 'B' + std::to_string(i), '"' + std::string(300, 'x') + "\""));
  auto r = store->Append(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted) << r.status().ToString();
  EXPECT_NE(r.status().message().find("disk full"), std::string::npos) << r.status().message();
  EXPECT_EQ(*store->LastSeq(), 5u);
  ExpectVerifiesWith(*store, 5);
  env.Heal();
  ASSERT_TRUE(store->Append(big).ok()) << "space freed, the same append succeeds";
  ExpectVerifiesWith(*store, 205);
}

TEST(FaultTest, FailedWriteFailsTheAppendAndNothingHalfWrittenIsVisible) {
  MemEnv mem;
  FaultInjectionEnv env(&mem);
  {
    auto store = Open(&env);
    ASSERT_TRUE(store->Append(One("S", ItemSet("1", "A", "1"))).ok());
    env.FailWriteAfter(2);
    AppendRequest r;
    r.study = "S";
    for (int i = 0; i < 50; ++i) r.events.push_back(ItemSet("2", 'B' + std::to_string(i), "1"));
    EXPECT_FALSE(store->Append(r).ok());
  }
  env.Heal();
  mem.DropUnsyncedData();
  auto store = Open(&env);
  EXPECT_EQ(*store->LastSeq(), 1u);
  ExpectVerifiesWith(*store, 1);
}

TEST(FaultTest, PowerCutKeepsEveryAcknowledgedEvent) {
  MemEnv mem;
  uint64_t acked = 0;
  {
    auto store = Open(&mem);
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(store->Append(One("S", ItemSet(std::to_string(i % 5), "A" + std::to_string(i), "1"))).ok());
      ++acked;
    }
    mem.DropUnsyncedData();  // power cut while the store is still open
  }
  auto store = Open(&mem);
  EXPECT_EQ(*store->LastSeq(), acked);
  ExpectVerifiesWith(*store, acked);
}

}  // namespace
}  // namespace trialcore
