// `trialcore events publish` and `events tail`, and `serve --nats`, as a user
// runs them: the built binary against a nats-server the test starts.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <thread>

#include "core/json.h"
#include "publish/event_publisher.h"
#include "publish/nats_test_server.h"
#include "run_command.h"

namespace trialcore {
namespace {

using publish::NatsTestServer;
using publish::ReadStream;
using testing_util::CommandResult;
using testing_util::RunCommand;

const std::string kBin = TRIALCORE_BIN;

// A trialcore command running in the background until killed.
class Background {
 public:
  Background(const std::string& dir, const std::string& args) {
    pid_ = fork();
    if (pid_ == 0) {
      std::string cmd = "cd '" + dir + "' && exec " + kBin + " " + args + " > background.out 2> background.err";
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~Background() { Kill(SIGKILL); }
  // The exit status, or -1 when a signal ended it.
  int Kill(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
};

class EventsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_util::FreshTestDir("events_");
    auto nats = NatsTestServer::Start();
    ASSERT_TRUE(nats.ok()) << nats.status().ToString();
    nats_ = std::move(nats).value();
  }

  CommandResult Run(const std::string& args) { return RunCommand(dir_, kBin + " " + args); }

  // The demo study's event count (its audit summary's); the database also
  // holds the system log of its users.
  uint64_t Demo() {
    auto r = Run("demo --db demo.db --key key.pem --no-serve");
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::string tag = "  events:            ";
    size_t at = r.out.find(tag);
    EXPECT_NE(at, std::string::npos) << r.out;
    return std::stoull(r.out.substr(at + tag.size()));
  }

  // A simulated study of 60 subjects (some 3,000 events, all of CDISCPILOT01).
  uint64_t Sim() {
    auto r = Run("sim --db demo.db --subjects 60");
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    auto info = Run("db info --db demo.db");
    const std::string tag = "events:          ";
    size_t at = info.out.find(tag);
    EXPECT_NE(at, std::string::npos) << info.out;
    return std::stoull(info.out.substr(at + tag.size()));
  }

  uint64_t StreamSize() {
    auto size = publish::StreamSize(nats_->Url(), publish::kDefaultStreamName);
    return size.ok() ? *size : 0;
  }

  // Waits (bounded; not a timing assertion) until the stream holds n messages.
  void WaitForStreamSize(uint64_t n, int poll_ms = 10) {
    for (int i = 0; i < 30000 / poll_ms && StreamSize() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
    }
    ASSERT_GE(StreamSize(), n);
  }

  // The stream holds study CDISCPILOT01's n events, each once, in its order.
  void ExpectDemoStudyExactlyOnce(uint64_t n) {
    auto messages = ReadStream(nats_->Url(), publish::kDefaultStreamName);
    ASSERT_TRUE(messages.ok()) << messages.status().ToString();
    ASSERT_EQ(messages->size(), n);
    uint64_t last_seq = 0;
    for (size_t i = 0; i < messages->size(); ++i) {
      const auto& m = (*messages)[i];
      auto body = ParseJson(m.data);
      ASSERT_TRUE(body.ok()) << m.data;
      EXPECT_EQ(body->Find("study")->as_string(), "CDISCPILOT01");
      EXPECT_EQ(static_cast<size_t>(body->Find("study_index")->as_int()), i) << "neither lost nor repeated";
      uint64_t seq = std::stoull(m.seq_header);
      EXPECT_GT(seq, last_seq);
      EXPECT_EQ(m.msg_id, "CDISCPILOT01:" + m.seq_header);
      last_seq = seq;
    }
  }

  std::string dir_;
  std::unique_ptr<NatsTestServer> nats_;
};

TEST_F(EventsCliTest, PublishOnceThenTailFromStartPrintsEveryEventOfTheStudyInOrder) {
  uint64_t n = Demo();
  ASSERT_GT(n, 10u);
  auto r = Run("events publish --db demo.db --nats " + nats_->Url() + " --once");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(
      r.out.rfind("published " + std::to_string(n) + " events to JetStream stream TRIALCORE at " + nats_->Url(), 0), 0u)
      << r.out;
  ExpectDemoStudyExactlyOnce(n);  // the system log (accounts) is not published

  r = Run("events publish --db demo.db --nats " + nats_->Url() + " --once");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("published 0 events", 0), 0u) << r.out;

  r = Run("events tail --nats " + nats_->Url() + " --study CDISCPILOT01 --from-start --limit " + std::to_string(n));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto messages = ReadStream(nats_->Url(), publish::kDefaultStreamName);
  ASSERT_TRUE(messages.ok());
  std::string want;
  for (const auto& m : *messages) want += m.data + "\n";
  EXPECT_EQ(r.out, want);
}

TEST_F(EventsCliTest, APublisherKilledMidStreamAndRestartedNeitherLosesNorRepeats) {
  uint64_t n = Sim();
  {
    // Killed as soon as the stream holds anything: most often mid-stream,
    // with a batch in flight; wherever it lands, the outcome must be exact.
    Background publisher(dir_, "events publish --db demo.db --nats " + nats_->Url());
    WaitForStreamSize(1, 1);
    EXPECT_EQ(publisher.Kill(SIGKILL), -1);
  }
  uint64_t at_kill = StreamSize();
  EXPECT_GE(at_kill, 1u);
  std::printf("killed the publisher with %llu of %llu events in the stream\n", static_cast<unsigned long long>(at_kill),
              static_cast<unsigned long long>(n));
  auto r = Run("events publish --db demo.db --nats " + nats_->Url() + " --once");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("published " + std::to_string(n - at_kill) + " events", 0), 0u) << r.out;
  ExpectDemoStudyExactlyOnce(n);
}

TEST_F(EventsCliTest, ServeWithNatsPublishesWhileServingAndStopsCleanly) {
  uint64_t n = Demo();
  {
    Background serve(dir_, "serve --db demo.db --port 0 --nats " + nats_->Url());
    WaitForStreamSize(n);
    EXPECT_EQ(serve.Kill(SIGTERM), 0) << testing_util::Slurp(dir_ + "/background.err");
  }
  ExpectDemoStudyExactlyOnce(n);
  EXPECT_NE(
      testing_util::Slurp(dir_ + "/background.out").find("publishing every committed event to NATS at " + nats_->Url()),
      std::string::npos);
}

TEST_F(EventsCliTest, BadUrlsUnknownStudiesAndAbsentServersGiveClearErrors) {
  Demo();
  auto r = Run("events publish --db demo.db --nats http://127.0.0.1:1 --once");
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_EQ(r.err.rfind("trialcore: --nats: NATS URL \"http://127.0.0.1:1\" is not nats://host[:port]", 0), 0u)
      << r.err;

  r = Run("events publish --db nowhere.db --nats " + nats_->Url() + " --once");
  EXPECT_EQ(r.exit_code, 3) << r.err;

  r = Run("events publish --db demo.db --nats " + nats_->Url() + " --once");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Run("events tail --nats " + nats_->Url() + " --study NOPE --from-start");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.err, "trialcore: study NOPE has no events in JetStream stream TRIALCORE at " + nats_->Url() + "\n");
  EXPECT_EQ(r.out, "");

  std::string url = nats_->Url();
  nats_->Kill();
  r = Run("events publish --db demo.db --nats " + url + " --once");
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_EQ(r.err.rfind("trialcore: cannot reach NATS at " + url, 0), 0u) << r.err;
}

}  // namespace
}  // namespace trialcore
