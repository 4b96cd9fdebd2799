// The publisher and the consumer against a real nats-server (started per
// test) on both back ends: the stream's contents are checked exactly.
#include "publish/event_publisher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include "publish/event_message.h"
#include "publish/event_tail.h"
#include "publish/nats_test_server.h"
#include "store/open_store.h"
#include "store/postgres/test_server.h"
#include "store/test_util.h"

namespace trialcore::publish {
namespace {

using testing_util::ItemSet;
using testing_util::One;
using testing_util::TempDbPath;

enum class Backend { kSqlite, kPostgres };

class PublisherTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    auto nats = NatsTestServer::Start();
    ASSERT_TRUE(nats.ok()) << nats.status().ToString();
    nats_ = std::move(nats).value();
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    if (GetParam() == Backend::kPostgres) {
      std::string error;
      pg::TestServer* server = pg::SharedTestServer(&error);
      ASSERT_NE(server, nullptr) << "PostgreSQL 15 could not be started: " << error;
      static int databases = 0;
      auto url = server->CreateDatabase("publish_" + std::to_string(++databases));
      ASSERT_TRUE(url.ok()) << url.status().ToString();
      db_ = *url;
    } else {
      db_ = TempDbPath("publish_" + name);
    }
    store_ = Open();
    ASSERT_NE(store_, nullptr);
  }

  // Another handle on the same database, as another process would hold.
  std::unique_ptr<EventStore> Open() {
    auto s = OpenEventStore(db_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  PublisherOptions Options() {
    PublisherOptions o;
    o.nats_url = nats_->Url();
    o.retry_delay_ms = 20;
    return o;
  }

  // n events in each study, interleaved, one batch each.
  void AppendInterleaved(EventStore& store, const std::vector<std::string>& studies, int n, int first = 0) {
    for (int i = first; i < first + n; ++i) {
      for (const auto& study : studies) {
        auto r = store.Append(One(study, ItemSet(std::to_string(1000 + i % 7), "IT" + std::to_string(i), "1")));
        ASSERT_TRUE(r.ok()) << r.status().ToString();
      }
    }
  }

  // The events the stream must hold: every event but the skipped studies', in order.
  std::vector<Event> Expected(const std::set<std::string>& skip = {}) {
    auto all = store_->ReadEvents(EventFilter{});
    EXPECT_TRUE(all.ok()) << all.status().ToString();
    std::vector<Event> out;
    for (auto& e : *all) {
      if (skip.count(e.study) == 0) out.push_back(e);
    }
    return out;
  }

  // Waits (bounded; not a timing assertion) until the stream holds n messages.
  void WaitForStreamSize(size_t n) {
    for (int i = 0; i < 3000; ++i) {
      auto messages = ReadStream(nats_->Url(), kDefaultStreamName);
      if (messages.ok() && messages->size() >= n) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "the stream never held " << n << " messages";
  }

  // Exactly these events, once each, in order, with their ids, subjects and bodies.
  void ExpectStreamHolds(const std::vector<Event>& expected) {
    auto messages = ReadStream(nats_->Url(), kDefaultStreamName);
    ASSERT_TRUE(messages.ok()) << messages.status().ToString();
    ASSERT_EQ(messages->size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      const Event& e = expected[i];
      const StoredMessage& m = (*messages)[i];
      SCOPED_TRACE("stream message " + std::to_string(i + 1));
      EXPECT_EQ(m.msg_id, e.study + ":" + std::to_string(e.seq));
      EXPECT_EQ(m.seq_header, std::to_string(e.seq));
      EXPECT_EQ(m.subject, EventSubject(e));
      auto body = ParseEventMessage(m.data);
      ASSERT_TRUE(body.ok()) << body.status().ToString();
      EXPECT_EQ(*body, e);
    }
  }

  std::unique_ptr<NatsTestServer> nats_;
  std::string db_;
  std::unique_ptr<EventStore> store_;
};

TEST_P(PublisherTest, PublishesEveryEventOnceInOrderWithIdsSubjectsAndPayloads) {
  AppendInterleaved(*store_, {"ALPHA", "BETA.2", "trialcore-system"}, 15);
  PublisherOptions o = Options();
  o.skip_studies = {"trialcore-system"};
  auto publisher = EventPublisher::Create(store_.get(), o);
  ASSERT_TRUE(publisher.ok()) << publisher.status().ToString();
  auto n = (*publisher)->PublishPending();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 30u);
  auto expected = Expected({"trialcore-system"});
  ASSERT_EQ(expected.size(), 30u);
  ExpectStreamHolds(expected);
  EXPECT_EQ(expected[0].study, "ALPHA");
  EXPECT_EQ(expected[1].study, "BETA.2");
  auto messages = ReadStream(nats_->Url(), kDefaultStreamName);
  ASSERT_TRUE(messages.ok());
  EXPECT_EQ((*messages)[1].subject, "trialcore.BETA%2E2.subject");

  // Nothing new: nothing published again.
  n = (*publisher)->PublishPending();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 0u);
  AppendInterleaved(*store_, {"ALPHA", "BETA.2"}, 3, 100);
  n = (*publisher)->PublishPending();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 6u);
  ExpectStreamHolds(Expected({"trialcore-system"}));
}

TEST_P(PublisherTest, ResumesWhereJetStreamStoppedAfterAPublisherDiesMidStream) {
  AppendInterleaved(*store_, {"ALPHA", "BETA"}, 20);
  {
    // The first publisher dies after 7 events: it keeps nothing anywhere.
    auto first = EventPublisher::Create(store_.get(), Options());
    ASSERT_TRUE(first.ok());
    auto n = (*first)->PublishPending(7);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, 7u);
  }
  auto partial = ReadStream(nats_->Url(), kDefaultStreamName);
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->size(), 7u);
  AppendInterleaved(*store_, {"ALPHA"}, 5, 50);  // committed while no publisher ran

  auto other_handle = Open();  // as a new process would open it
  auto second = EventPublisher::Create(other_handle.get(), Options());
  ASSERT_TRUE(second.ok());
  auto n = (*second)->PublishPending();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 45u - 7u);
  ExpectStreamHolds(Expected());
}

TEST_P(PublisherTest, TwoPublishersAtOnceStillPublishEachEventOnceInOrder) {
  auto second_store = Open();
  auto a = EventPublisher::Create(store_.get(), Options());
  auto b = EventPublisher::Create(second_store.get(), Options());
  ASSERT_TRUE(a.ok() && b.ok());
  (*a)->Start();
  (*b)->Start();
  std::thread writer1([&] { AppendInterleaved(*store_, {"ALPHA"}, 60); });
  std::thread writer2([&] { AppendInterleaved(*second_store, {"BETA"}, 60); });
  writer1.join();
  writer2.join();
  WaitForStreamSize(120);
  // Both have seen the end before the stream is read again.
  for (int i = 0; i < 3000 && ((*a)->position() < 120 || (*b)->position() < 120); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  (*a)->Stop();
  (*b)->Stop();
  EXPECT_TRUE((*a)->Wait().ok());
  EXPECT_TRUE((*b)->Wait().ok());
  ExpectStreamHolds(Expected());
}

// Past JetStream's duplicate window Nats-Msg-Id no longer stops a repeat;
// the expected last sequence still does.
TEST_P(PublisherTest, AStalePublisherRepeatsNothingOnceTheDuplicateWindowHasPassed) {
  ASSERT_TRUE(CreateStream(nats_->Url(), kDefaultStreamName, 100).ok());
  AppendInterleaved(*store_, {"ALPHA"}, 20);
  auto stale = EventPublisher::Create(store_.get(), Options());
  ASSERT_TRUE(stale.ok());
  auto n = (*stale)->PublishPending(5);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  auto other_handle = Open();
  auto current = EventPublisher::Create(other_handle.get(), Options());
  ASSERT_TRUE(current.ok());
  n = (*current)->PublishPending();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 15u);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the window passes
  AppendInterleaved(*store_, {"ALPHA"}, 3, 20);
  // The stale one still believes the stream ends at event 5.
  n = (*stale)->PublishPending();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 3u);
  ExpectStreamHolds(Expected());
}

// Publishers that skip different studies number the stream differently; a
// batch's later message that expected only a stream sequence could land
// where the stream happened to have grown to, ahead of events not yet there.
TEST_P(PublisherTest, ALaterMessageOfABatchLandsOnlyAfterTheEventBeforeIt) {
  ASSERT_TRUE(CreateStream(nats_->Url(), kDefaultStreamName, 100).ok());
  AppendInterleaved(*store_, {"ALPHA", "OTHER"}, 5);  // seqs 1-10, ALPHA's odd
  PublisherOptions skipping = Options();
  skipping.skip_studies = {"OTHER"};
  auto stale = EventPublisher::Create(store_.get(), skipping);
  ASSERT_TRUE(stale.ok());
  ASSERT_TRUE((*stale)->PublishPending(1).ok());
  auto other_handle = Open();
  auto everything = EventPublisher::Create(other_handle.get(), Options());
  ASSERT_TRUE(everything.ok());
  auto n = (*everything)->PublishPending();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 9u);                                            // the stream now ends at 10 with event 10
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the duplicate window passes
  AppendInterleaved(*store_, {"ALPHA"}, 10, 5);                 // seqs 11-20
  // Its batch: events 3, 5, 7, 9, 11 ... 20; the tenth (16) would expect the
  // stream to end at 10, as it does, but after event 15, which it does not.
  n = (*stale)->PublishPending();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 10u);
  ExpectStreamHolds(Expected());
}

INSTANTIATE_TEST_SUITE_P(, PublisherTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& param) {
                           return param.param == Backend::kSqlite ? "Sqlite" : "Postgres";
                         });

class SqlitePublisherTest : public PublisherTest {};

TEST_P(SqlitePublisherTest, RetriesWhileTheServerIsDownAndCatchesUpWhenItIsBack) {
  std::mutex mu;
  std::vector<Status> problems;
  PublisherOptions o = Options();
  o.on_problem = [&](const Status& s) {
    std::lock_guard lock(mu);
    problems.push_back(s);
  };
  auto publisher = EventPublisher::Create(store_.get(), o);
  ASSERT_TRUE(publisher.ok());
  (*publisher)->Start();
  AppendInterleaved(*store_, {"ALPHA"}, 10);
  WaitForStreamSize(10);
  nats_->Kill();
  AppendInterleaved(*store_, {"ALPHA", "BETA"}, 10, 10);
  // It keeps failing while the server is away, and says so once.
  for (int i = 0; i < 3000; ++i) {
    {
      std::lock_guard lock(mu);
      if (!problems.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(nats_->Restart().ok());
  WaitForStreamSize(30);
  for (int i = 0; i < 3000 && (*publisher)->position() < 30; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  (*publisher)->Stop();
  EXPECT_TRUE((*publisher)->Wait().ok());
  ExpectStreamHolds(Expected());
  std::lock_guard lock(mu);
  ASSERT_GE(problems.size(), 2u);
  EXPECT_EQ(problems.front().code(), StatusCode::kIoError) << problems.front().ToString();
  EXPECT_NE(problems.front().message().find(nats_->Url()), std::string::npos) << problems.front().ToString();
  EXPECT_TRUE(problems.back().ok()) << "it says when it publishes again: " << problems.back().ToString();
}

TEST_P(SqlitePublisherTest, RefusesAStreamHoldingAnotherDatabasesEvents) {
  AppendInterleaved(*store_, {"ALPHA"}, 3);
  auto first = EventPublisher::Create(store_.get(), Options());
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)->PublishPending().ok());

  auto other = OpenEventStore(TempDbPath("publish_other_database"));
  ASSERT_TRUE(other.ok());
  AppendInterleaved(**other, {"ALPHA"}, 5, 40);
  auto second = EventPublisher::Create(other->get(), Options());
  ASSERT_TRUE(second.ok());
  auto n = (*second)->PublishPending();
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(n.status().message().find("ends with event ALPHA:3, which this database does not hold"), std::string::npos)
      << n.status().ToString();
  ExpectStreamHolds(Expected());  // untouched
}

TEST_P(SqlitePublisherTest, BadUrlsAndUnreachableServersGiveClearErrors) {
  for (const char* bad : {"http://127.0.0.1:4222", "nats://", "nats://host:port", "127.0.0.1:4222"}) {
    PublisherOptions o = Options();
    o.nats_url = bad;
    auto p = EventPublisher::Create(store_.get(), o);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(p.status().message().find(std::string("NATS URL \"") + bad + "\""), std::string::npos)
        << p.status().ToString();
  }
  PublisherOptions bad_stream = Options();
  bad_stream.stream_name = "A.B";
  EXPECT_EQ(EventPublisher::Create(store_.get(), bad_stream).status().code(), StatusCode::kInvalidArgument);

  AppendInterleaved(*store_, {"ALPHA"}, 2);
  std::string url = nats_->Url();
  nats_->Kill();
  PublisherOptions o = Options();
  auto p = EventPublisher::Create(store_.get(), o);
  ASSERT_TRUE(p.ok());
  auto n = (*p)->PublishPending();
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), StatusCode::kIoError);
  EXPECT_NE(n.status().message().find("cannot reach NATS at " + url), std::string::npos) << n.status().ToString();
}

TEST_P(SqlitePublisherTest, TailGivesOneStudysEventsInOrderAndRefusesUnknownStudies) {
  AppendInterleaved(*store_, {"ALPHA", "BETA.2"}, 6);
  auto publisher = EventPublisher::Create(store_.get(), Options());
  ASSERT_TRUE(publisher.ok());
  ASSERT_TRUE((*publisher)->PublishPending().ok());

  TailOptions t;
  t.nats_url = nats_->Url();
  t.study = "BETA.2";
  t.from_start = true;
  t.limit = 6;
  std::vector<std::string> got;
  Status s = TailStudy(t, [&](std::string_view json) {
    got.emplace_back(json);
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<std::string> want;
  for (const Event& e : Expected()) {
    if (e.study == "BETA.2") want.push_back(EventMessageJson(e));
  }
  EXPECT_EQ(got, want);

  t.study = "GAMMA";
  s = TailStudy(t, [](std::string_view) { return Status::Ok(); });
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("study GAMMA has no events in JetStream stream TRIALCORE at " + nats_->Url()),
            std::string::npos)
      << s.ToString();
  t.study = "no such/study";
  EXPECT_EQ(TailStudy(t, [](std::string_view) { return Status::Ok(); }).code(), StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(, SqlitePublisherTest, ::testing::Values(Backend::kSqlite),
                         [](const ::testing::TestParamInfo<Backend>&) { return "Sqlite"; });

}  // namespace
}  // namespace trialcore::publish
