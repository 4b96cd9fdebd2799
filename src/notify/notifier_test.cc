// Point 6 of issue 16: an unblinding tells the study's unblinded contacts,
// each by one mail, through a real SMTP server (aiosmtpd), recorded on the
// audit trail in the system log trialcore-notifications; again, by two
// notifiers at once, or after the server was down, nobody gets a mail twice
// and nobody none. On SQLite, and on PostgreSQL with
// TRIALCORE_TEST_BACKEND=postgres (the ctest entry notify_test_postgres).
#include "notify/notifier.h"

#include <algorithm>
#include <functional>
#include <thread>
#include <utility>

#include "capture/capture_test_fixture.h"
#include "notify/smtp_test_sink.h"
#include "notify/unblinding_mail.h"
#include "safety/meddra_demo.h"
#include "safety/meddra_store.h"
#include "store/audit.h"
#include "store/test_util.h"

namespace trialcore::notify {
namespace {

using capture::kAdmin;
using capture::kNow;

const Actor kSafety{"safety.1", "safety_physician"};
constexpr char kReason[] = "A SUSAR: the expedited report needs the treatment";
constexpr char kStats[] = "unblinded.stats@example.org";
constexpr char kChair[] = "dsmb.chair@example.org";
constexpr int64_t kSecond = 1'000'000;

constexpr char kSyncope[] =
    R"({"op":"form.save","subject":"701-1020","visit":"LOGS","form":"AE","rows":[{"group":"AE","items":{"AETERM":"Syncope","AESTDTC":"2024-02-29","AEONGO":true,"AESEV":"SEVERE","AESER":"Y","AESHOSP":true,"AEREL":"POSSIBLE","AEACN":"DRUG INTERRUPTED","AEOUT":"RECOVERING/RESOLVING"}}]})";

// The test's clock, which runs `before_next_read` once, the next time the
// notifier reads it: a way to let another notifier act at exactly that point.
class HookedClock final : public Env {
 public:
  explicit HookedClock(Env& base) : base_(base) {}
  std::function<void()> before_next_read;

  Result<std::unique_ptr<File>> OpenFile(const std::string& path, const OpenOptions& options) override {
    return base_.OpenFile(path, options);
  }
  Status DeleteFile(const std::string& path) override { return base_.DeleteFile(path); }
  Status RenameFile(const std::string& from, const std::string& to) override { return base_.RenameFile(from, to); }
  bool FileExists(const std::string& path) override { return base_.FileExists(path); }
  Status CreateDirs(const std::string& path) override { return base_.CreateDirs(path); }
  Result<unsigned> FileMode(const std::string& path) override { return base_.FileMode(path); }
  Status RandomBytes(std::span<uint8_t> out) override { return base_.RandomBytes(out); }
  int64_t NowMicros() override {
    if (before_next_read) std::exchange(before_next_read, nullptr)();
    return base_.NowMicros();
  }

 private:
  Env& base_;
};

class NotifierTest : public capture::CaptureTest {
 protected:
  void SetUp() override {
    CaptureTest::SetUp();
    const safety::MeddraTables demo = safety::DemoMeddraTables();
    ASSERT_TRUE(safety::StoreMeddraVersion(*store_, demo, safety::MeddraTablesFiles(demo), kAdmin).ok());
    auto sink = SmtpTestSink::Start();
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    sink_ = std::move(sink).value();
  }

  // A serious AE opens case 701-1020-SAE1; the safety physician unblinds it.
  void Unblind() {
    Screen("701-1020");
    Ok(kSyncope);
    Ok(R"({"op":"safety.unblind","subject":"701-1020","case":"701-1020-SAE1","reason":")" + std::string(kReason) +
           R"("})",
       kSafety);
  }

  NotifierOptions Options() {
    NotifierOptions o;
    o.smtp_url = sink_->Url();
    o.mail_from = "trialcore@example.org";
    o.env = &env_;
    o.retry_delay_us = 10 * kSecond;
    o.max_retry_delay_us = 40 * kSecond;
    o.smtp_timeout_ms = 5000;
    return o;
  }

  std::unique_ptr<Notifier> Make(EventStore* store, NotifierOptions o) {
    auto n = Notifier::Create(store, std::move(o));
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? std::move(n).value() : nullptr;
  }

  DeliveryCounts Deliver(Notifier& n) {
    auto r = n.DeliverDue();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : DeliveryCounts{};
  }

  // How many mails the sink holds for each address (its To header).
  std::map<std::string, int> MailsTo() {
    std::map<std::string, int> out;
    for (const std::string& m : sink_->Mails()) {
      for (const char* to : {kStats, kChair}) {
        if (m.find(std::string("To: ") + (to == kStats ? "\"Uma Statistician\"" : "\"Dana Chair\"") + " <" + to +
                   ">") != std::string::npos) {
          ++out[to];
        }
      }
    }
    return out;
  }

  std::vector<std::string> LogTypes() {
    EventFilter f;
    f.study = kNotificationsLog;
    std::vector<std::string> out;
    EXPECT_TRUE(store_
                    ->ForEachEvent(f,
                                   [&](const Event& e) {
                                     out.push_back(e.type);
                                     return Status::Ok();
                                   })
                    .ok());
    return out;
  }

  void ExpectLogsVerify() {
    auto heads = store_->Heads();
    ASSERT_TRUE(heads.ok());
    bool saw_log = false;
    for (const StudyHead& h : *heads) {
      saw_log = saw_log || h.study == kNotificationsLog;
      auto v = VerifyStudy(*store_, h.study, {}, std::nullopt);
      ASSERT_TRUE(v.ok()) << v.status().ToString();
      EXPECT_FALSE(v->problem.has_value()) << h.study << ": " << v->problem->what;
    }
    EXPECT_TRUE(saw_log) << "no notification log to verify";
  }

  std::unique_ptr<SmtpTestSink> sink_;
};

TEST_F(NotifierTest, EachContactGetsOneMailAndRunningAgainSendsNothingMore) {
  Unblind();
  auto n = Make(store_.get(), Options());
  ASSERT_NE(n, nullptr);
  DeliveryCounts first = Deliver(*n);
  EXPECT_EQ(first.unblindings, 1u);
  EXPECT_EQ(first.sent, 2u);
  EXPECT_EQ(first.failed, 0u);
  EXPECT_EQ(MailsTo(), (std::map<std::string, int>{{kStats, 1}, {kChair, 1}}));
  for (const std::string& m : sink_->Mails()) {
    EXPECT_NE(m.find("Subject: [trialcore] CDISCPILOT01: safety case 701-1020-SAE1 was unblinded"), std::string::npos)
        << m;
    EXPECT_NE(m.find(kReason), std::string::npos) << m;
    EXPECT_NE(m.find("Unblinded by: safety.1 (safety_physician)"), std::string::npos) << m;
    // The demo study's arms: none of them, nor the product, is in the mail.
    for (const char* arm : {"Placebo", "Xanomeline", "Low Dose", "High Dose"}) {
      EXPECT_EQ(m.find(arm), std::string::npos) << arm << " in\n" << m;
    }
  }

  // Again, and with a new notifier (as after a restart): nothing more.
  DeliveryCounts again = Deliver(*n);
  EXPECT_EQ(again.unblindings + again.sent + again.failed, 0u);
  n.reset();
  auto restarted = Make(store_.get(), Options());
  DeliveryCounts after_restart = Deliver(*restarted);
  EXPECT_EQ(after_restart.unblindings + after_restart.sent + after_restart.failed, 0u);
  EXPECT_EQ(sink_->Mails().size(), 2u);

  EXPECT_EQ(LogTypes(), (std::vector<std::string>{"notification.planned", "notification.claimed", "notification.sent",
                                                  "notification.claimed", "notification.sent"}));
  auto listed = ListNotifications(*store_, "CDISCPILOT01");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 2u);
  for (const NotificationInfo& i : *listed) {
    EXPECT_EQ(i.state, NotificationState::kSent) << i.email;
    EXPECT_EQ(i.case_id, "701-1020-SAE1");
    EXPECT_EQ(i.attempts, 1);
    EXPECT_TRUE(i.smtp_response.starts_with("250")) << i.smtp_response;
    EXPECT_EQ(i.mail_subject, "[trialcore] CDISCPILOT01: safety case 701-1020-SAE1 was unblinded");
  }
  EXPECT_EQ((*listed)[0].email, kStats);
  EXPECT_EQ((*listed)[1].role, "DSMB chair");
  EXPECT_TRUE(ListNotifications(*store_, "OTHER").value().empty());
  ExpectLogsVerify();
}

TEST_F(NotifierTest, NothingIsSentBeforeACaseIsUnblinded) {
  Screen("701-1020");
  Ok(kSyncope);
  auto n = Make(store_.get(), Options());
  DeliveryCounts c = Deliver(*n);
  EXPECT_EQ(c.unblindings + c.sent, 0u);
  EXPECT_TRUE(sink_->Mails().empty());
  EXPECT_TRUE(LogTypes().empty());
}

TEST_F(NotifierTest, TwoNotifiersOnOneDatabaseSendEachMailOnce) {
  // Two handles on one database, as two servers hold it: a file (the
  // fixture's in-memory one is a single handle's), or one PostgreSQL database.
  auto db = testing_util::TestDbArgument(testing_util::TempDbPath("notify_two_notifiers"));
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  capture_.reset();
  auto file_store = OpenEventStore(*db);
  ASSERT_TRUE(file_store.ok()) << file_store.status().ToString();
  store_ = std::move(file_store).value();
  capture_ = std::move(capture::Capture::Open(store_.get(), &env_, "CDISCPILOT01").value());
  ASSERT_TRUE(capture_->PublishStudy(study_, kAdmin).ok());
  Unblind();
  auto other_store = OpenEventStore(*db);
  ASSERT_TRUE(other_store.ok()) << other_store.status().ToString();
  for (int round = 0; round < 3; ++round) {
    auto a = Make(store_.get(), Options());
    NotifierOptions ob = Options();
    ob.instance = "second";
    auto b = Make(other_store->get(), ob);
    DeliveryCounts ca, cb;
    std::thread ta([&] { ca = Deliver(*a); });
    std::thread tb([&] { cb = Deliver(*b); });
    ta.join();
    tb.join();
    if (round == 0) {
      EXPECT_EQ(ca.unblindings + cb.unblindings, 1u) << "the unblinding is planned once";
      EXPECT_EQ(ca.sent + cb.sent, 2u);
    } else {
      EXPECT_EQ(ca.sent + cb.sent, 0u);
    }
  }
  EXPECT_EQ(MailsTo(), (std::map<std::string, int>{{kStats, 1}, {kChair, 1}}));
  const auto types = LogTypes();
  EXPECT_EQ(std::count(types.begin(), types.end(), "notification.planned"), 1);
  EXPECT_EQ(std::count(types.begin(), types.end(), "notification.claimed"), 2);
  EXPECT_EQ(std::count(types.begin(), types.end(), "notification.sent"), 2);
}

// The race two servers on PostgreSQL showed: notifier B reads a recipient's
// state (not tried yet), then A claims, sends and records the mail, then B
// reads the recipient's stream to claim it. B must decide on that read, not
// on the older one: nobody gets the mail twice.
TEST_F(NotifierTest, ANotifierThatReadAnOlderStateDoesNotSendAgain) {
  Unblind();
  auto a = Make(store_.get(), Options());
  HookedClock clock(env_);
  NotifierOptions ob = Options();
  ob.env = &clock;
  ob.instance = "second";
  auto b = Make(store_.get(), ob);
  DeliveryCounts ca;
  // B's first clock read comes after it read the first recipient's state.
  clock.before_next_read = [&] { ca = Deliver(*a); };
  DeliveryCounts cb = Deliver(*b);
  EXPECT_EQ(ca.sent, 2u);
  EXPECT_EQ(cb.sent, 0u);
  EXPECT_EQ(cb.skipped, 1u) << "the first recipient, sent by A after B read its state";
  EXPECT_EQ(MailsTo(), (std::map<std::string, int>{{kStats, 1}, {kChair, 1}}));
  const auto types = LogTypes();
  EXPECT_EQ(std::count(types.begin(), types.end(), "notification.claimed"), 2);
}

TEST_F(NotifierTest, ASinkThatIsDownGivesFailedThenALaterSend) {
  Unblind();
  sink_->Kill();
  auto n = Make(store_.get(), Options());
  DeliveryCounts down = Deliver(*n);
  EXPECT_EQ(down.sent, 0u);
  EXPECT_EQ(down.failed, 2u);
  ASSERT_FALSE(down.errors.empty());
  EXPECT_NE(down.errors[0].find(sink_->Url()), std::string::npos) << down.errors[0];
  EXPECT_EQ(down.next_due_us, kNow + 10 * kSecond);
  auto listed = ListNotifications(*store_);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].state, NotificationState::kFailed);
  EXPECT_FALSE((*listed)[0].error.empty());

  // Back up, but the wait is not over: nothing yet.
  ASSERT_TRUE(sink_->Restart().ok());
  env_.SetNowMicros(kNow + 5 * kSecond);
  EXPECT_EQ(Deliver(*n).sent, 0u);
  // Down again when the wait is over: a second failure waits twice as long.
  sink_->Kill();
  env_.SetNowMicros(kNow + 10 * kSecond);
  DeliveryCounts again = Deliver(*n);
  EXPECT_EQ(again.failed, 2u);
  EXPECT_EQ(again.next_due_us, kNow + 30 * kSecond);

  ASSERT_TRUE(sink_->Restart().ok());
  env_.SetNowMicros(kNow + 30 * kSecond);
  // A new notifier, as after a restart: the log says what is due.
  n.reset();
  auto restarted = Make(store_.get(), Options());
  DeliveryCounts up = Deliver(*restarted);
  EXPECT_EQ(up.sent, 2u);
  EXPECT_EQ(up.failed, 0u);
  EXPECT_EQ(MailsTo(), (std::map<std::string, int>{{kStats, 1}, {kChair, 1}}));
  listed = ListNotifications(*store_);
  ASSERT_TRUE(listed.ok());
  for (const NotificationInfo& i : *listed) {
    EXPECT_EQ(i.state, NotificationState::kSent);
    EXPECT_EQ(i.attempts, 3);
  }
  const auto types = LogTypes();
  EXPECT_EQ(std::count(types.begin(), types.end(), "notification.failed"), 4);
  EXPECT_EQ(std::count(types.begin(), types.end(), "notification.sent"), 2);
  ExpectLogsVerify();
}

TEST_F(NotifierTest, AClaimWithNoOutcomeIsTakenOverOnlyWhenItIsStale) {
  Unblind();
  // A notifier that claimed and died before recording an outcome: its claim
  // is in the log, its mail maybe not sent.
  auto dead = Make(store_.get(), Options());
  sink_->Kill();
  // Plan only: the first delivery fails and is recorded...
  (void)Deliver(*dead);
  // ...then a claim stands with no outcome, as a crash mid-send leaves it.
  AppendRequest r;
  r.study = kNotificationsLog;
  EventDraft d;
  d.stream = "unblinding/" + std::to_string(ListNotifications(*store_).value()[0].unblinding_seq) + "/to/0";
  d.type = "notification.claimed";
  d.actor = {"trialcore-notifier", "system"};
  d.reason = "attempt by a notifier that dies";
  d.payload = Value::Object{{"set", Value::Object{{d.stream, Value::Object{{"state", "sending"}, {"attempts", 2}}}}}};
  r.events.push_back(d);
  ASSERT_TRUE(store_->Append(r).ok());
  ASSERT_TRUE(sink_->Restart().ok());
  NotifierOptions o = Options();
  o.claim_timeout_us = 100 * kSecond;
  auto n = Make(store_.get(), o);
  env_.SetNowMicros(kNow + 50 * kSecond);
  DeliveryCounts fresh = Deliver(*n);
  EXPECT_EQ(fresh.sent, 1u) << "only the contact whose claim is not stale";
  env_.SetNowMicros(kNow + 101 * kSecond);
  DeliveryCounts stale = Deliver(*n);
  EXPECT_EQ(stale.sent, 1u);
  EXPECT_EQ(MailsTo(), (std::map<std::string, int>{{kStats, 1}, {kChair, 1}}));
}

TEST_F(NotifierTest, TheRunningNotifierSendsAsACaseIsUnblinded) {
  auto n = Make(store_.get(), Options());
  n->Start();
  Unblind();
  for (int i = 0; i < 500 && sink_->Mails().size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  n->Stop();
  EXPECT_EQ(MailsTo(), (std::map<std::string, int>{{kStats, 1}, {kChair, 1}}));
}

TEST_F(NotifierTest, BadOptionsAreRefusedNamingTheOption) {
  NotifierOptions o = Options();
  o.smtp_url = "http://127.0.0.1:25";
  auto bad_url = Notifier::Create(store_.get(), o);
  ASSERT_EQ(bad_url.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(bad_url.status().message().starts_with("--smtp")) << bad_url.status().message();
  o = Options();
  o.mail_from = "";
  auto no_from = Notifier::Create(store_.get(), o);
  ASSERT_EQ(no_from.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(no_from.status().message().starts_with("--mail-from")) << no_from.status().message();
  o.mail_from = "trialcore";
  EXPECT_TRUE(Notifier::Create(store_.get(), o).status().message().starts_with("--mail-from"));
}

}  // namespace
}  // namespace trialcore::notify
