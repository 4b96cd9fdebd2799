// The study feed's fan-out: every reader of a study gets each event once, in
// order, as one shared copy whose frame text is made once however many
// streams write it; a reader that falls past the bound is dropped.
#include "api/study_feed.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/env.h"
#include "store/sqlite/sqlite_event_store.h"
#include "store/test_util.h"

namespace trialcore::api {
namespace {

using testing_util::ItemSet;
using testing_util::One;

class StudyFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store =
        OpenSqliteEventStore(testing_util::TempDbPath(std::string("study_feed_") +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name()),
                             SqliteStoreOptions{Env::Default()});
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
  }
  void Append(const std::string& study, int value) {
    auto r = store_->Append(One(study, ItemSet("701-1001", "PULSE", std::to_string(value), "corrected")));
    ASSERT_TRUE(r.ok()) << r.status().message();
  }
  // The reader's events until `count` arrived (the subscription delivers on
  // its own thread); a bound for a functional wait, not a timing under test.
  static std::vector<SharedEvent> ReadUntil(StudyFeed::Reader& reader, size_t count) {
    std::vector<SharedEvent> got;
    for (int tries = 0; tries < 500 && got.size() < count; ++tries) {
      auto next = reader.Next(256);
      EXPECT_TRUE(next.ok());
      if (next.ok()) got.insert(got.end(), next->begin(), next->end());
      if (got.size() < count) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return got;
  }
  std::unique_ptr<EventStore> store_;
};

TEST_F(StudyFeedTest, EveryReaderSharesOneCopyOfEachEventAndItsTextIsMadeOnce) {
  auto feed = StudyFeed::Create(store_.get(), "S1", 100);
  ASSERT_TRUE(feed.ok());
  auto a = (*feed)->Join(0, [] {});
  auto b = (*feed)->Join(0, [] {});
  // Both past their (empty) backlog: they read the feed from now on.
  ASSERT_TRUE(a->Next(256).ok());
  ASSERT_TRUE(b->Next(256).ok());
  Append("S1", 60);
  Append("OTHER", 61);  // another study's events are not this feed's
  Append("S1", 62);
  auto from_a = ReadUntil(*a, 2);
  auto from_b = ReadUntil(*b, 2);
  ASSERT_EQ(from_a.size(), 2u);
  ASSERT_EQ(from_b.size(), 2u);
  EXPECT_LT(from_a[0]->event().seq, from_a[1]->event().seq);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(from_a[i].get(), from_b[i].get()) << "one copy of event " << i;
    EXPECT_EQ(from_a[i]->event().study, "S1");
  }
  std::atomic<int> made{0};
  auto make = [&](const Event& e, bool with_seq) {
    ++made;
    return e.type + (with_seq ? " " + std::to_string(e.seq) : "");
  };
  EXPECT_EQ(from_a[0]->Text(false, make), "item.set");
  EXPECT_EQ(from_b[0]->Text(false, make), "item.set");
  EXPECT_EQ(from_b[0]->Text(true, make), "item.set " + std::to_string(from_a[0]->event().seq));
  EXPECT_EQ(from_a[0]->Text(true, make), from_b[0]->Text(true, make));
  EXPECT_EQ(made.load(), 2) << "each variant is made once";
}

TEST_F(StudyFeedTest, AReaderPastTheBoundIsDroppedAndTheOthersReadOn) {
  auto feed = StudyFeed::Create(store_.get(), "S1", 3);
  ASSERT_TRUE(feed.ok());
  auto slow = (*feed)->Join(0, [] {});
  auto quick = (*feed)->Join(0, [] {});
  ASSERT_TRUE(slow->Next(256).ok());
  ASSERT_TRUE(quick->Next(256).ok());
  std::vector<SharedEvent> quick_got;
  for (int v = 0; v < 10; ++v) {
    Append("S1", 100 + v);
    auto got = ReadUntil(*quick, 1);
    quick_got.insert(quick_got.end(), got.begin(), got.end());
  }
  EXPECT_EQ(quick_got.size(), 10u);
  for (size_t i = 1; i < quick_got.size(); ++i) EXPECT_LT(quick_got[i - 1]->event().seq, quick_got[i]->event().seq);
  EXPECT_TRUE(slow->dropped());
  EXPECT_FALSE(quick->dropped());
  auto rest = slow->Next(256);
  ASSERT_TRUE(rest.ok());
  EXPECT_TRUE(rest->empty()) << "a dropped reader holds nothing";
}

}  // namespace
}  // namespace trialcore::api
