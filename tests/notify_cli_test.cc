// `trialcore notify ...` as a user meets it: the real binary on the demo
// database, its case unblinded by the safety physician through `apply`, and
// a real SMTP server (aiosmtpd) receiving the mail.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include "core/json.h"
#include "notify/smtp_test_sink.h"
#include "run_command.h"
#include "server_process.h"

namespace trialcore {
namespace {

using testing_util::CommandResult;
using testing_util::RunCommand;

const std::string kBin = TRIALCORE_BIN;

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A GET of `path` as a demo user, logged in on the server at `port`: its
// status and body.
std::pair<int, std::string> GetAs(int port, const std::string& user, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(10, 0);
  auto login =
      c.Post("/api/v1/session", R"({"user":")" + user + R"(","password":"demo-password-2026"})", "application/json");
  if (!login || login->status != 200) return {login ? login->status : 0, login ? login->body : "no answer"};
  const std::string cookie = login->get_header_value("Set-Cookie");
  auto r = c.Get(path.c_str(), httplib::Headers{{"Cookie", cookie.substr(0, cookie.find(';'))}});
  return {r ? r->status : 0, r ? r->body : "no answer"};
}

class NotifyCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_util::FreshTestDir("notify_cli_");
    auto demo = Run("demo --db d.db --key key.pem --no-serve");
    ASSERT_EQ(demo.exit_code, 0) << demo.out << demo.err;
    auto sink = notify::SmtpTestSink::Start();
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    sink_ = std::move(sink).value();
  }

  CommandResult Run(const std::string& args) { return RunCommand(dir_, kBin + " " + args); }

  CommandResult Send() {
    return Run("notify send --db d.db --smtp " + sink_->Url() + " --mail-from trialcore@example.org --once");
  }

  void Unblind() {
    std::ofstream(dir_ + "/unblind.jsonl")
        << R"({"op":"safety.unblind","subject":"701-1001","case":"701-1001-SAE1","reason":"SUSAR: the report to FDA needs the treatment"})"
        << "\n";
    auto applied = Run("apply unblind.jsonl --db d.db --as safety.1 --role safety_physician");
    ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  }

  std::string dir_;
  std::unique_ptr<notify::SmtpTestSink> sink_;
};

TEST_F(NotifyCliTest, AnUnblindedCaseIsMailedToEachContactOnceAndListed) {
  auto none = Run("notify list --db d.db");
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_TRUE(Contains(none.out, "no notifications")) << none.out;
  Unblind();

  auto sent = Send();
  ASSERT_EQ(sent.exit_code, 0) << sent.out << sent.err;
  EXPECT_TRUE(Contains(sent.out, "unblindings planned: 1; mails sent: 2; failed: 0")) << sent.out;
  const auto mails = sink_->Mails();
  ASSERT_EQ(mails.size(), 2u);
  for (const std::string& m : mails) {
    EXPECT_TRUE(Contains(m, "safety case 701-1001-SAE1 was unblinded")) << m;
    EXPECT_TRUE(Contains(m, "SUSAR: the report to FDA needs the treatment")) << m;
    EXPECT_TRUE(Contains(m, "Unblinded by: safety.1 (safety_physician)")) << m;
    for (const char* arm : {"Placebo", "Xanomeline"}) EXPECT_FALSE(Contains(m, arm)) << arm << " in\n" << m;
  }

  auto again = Send();
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(Contains(again.out, "unblindings planned: 0; mails sent: 0; failed: 0")) << again.out;
  EXPECT_EQ(sink_->Mails().size(), 2u);

  auto listed = Run("notify list --db d.db --study CDISCPILOT01");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_TRUE(Contains(listed.out, "CDISCPILOT01  case 701-1001-SAE1 (event ")) << listed.out;
  EXPECT_TRUE(Contains(listed.out,
                       "Uma Statistician <unblinded.stats@example.org> unblinded statistician  sent after "
                       "1 attempt at "))
      << listed.out;
  EXPECT_TRUE(Contains(listed.out, "Dana Chair <dsmb.chair@example.org> DSMB chair  sent")) << listed.out;
  auto json = Run("notify list --db d.db --format json");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto first = ParseJson(json.out.substr(0, json.out.find('\n')));
  ASSERT_TRUE(first.ok()) << json.out;
  EXPECT_EQ(first->Find("state")->as_string(), "sent");
  EXPECT_EQ(first->Find("email")->as_string(), "unblinded.stats@example.org");
  EXPECT_TRUE(first->Find("smtp_response")->as_string().starts_with("250")) << json.out;
  EXPECT_TRUE(Run("notify list --db d.db --study OTHER").out.find("no notifications of study OTHER") !=
              std::string::npos);

  // The notification log is on the audit trail, and the database verifies.
  auto verify = Run("audit verify --db d.db");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_TRUE(Contains(verify.out, "trialcore-notifications")) << verify.out;
}

TEST_F(NotifyCliTest, ASinkThatIsDownIsRecordedAsFailedAndTriedLater) {
  Unblind();
  sink_->Kill();
  auto down = Send();
  EXPECT_EQ(down.exit_code, 6) << down.out << down.err;
  EXPECT_TRUE(Contains(down.out, "mails sent: 0; failed: 2")) << down.out;
  EXPECT_TRUE(Contains(down.err, "not sent: sending mail to unblinded.stats@example.org through " + sink_->Url()))
      << down.err;
  EXPECT_TRUE(Contains(down.out, "the next attempt is due at ")) << down.out;
  auto listed = Run("notify list --db d.db");
  EXPECT_TRUE(Contains(listed.out, "failed after 1 attempt at ")) << listed.out;
  EXPECT_TRUE(Contains(listed.out, "; next attempt at ")) << listed.out;
  // Back up, but the wait after a failure is not over: nothing is sent yet.
  ASSERT_TRUE(sink_->Restart().ok());
  auto early = Send();
  EXPECT_EQ(early.exit_code, 0) << early.err;
  EXPECT_TRUE(Contains(early.out, "mails sent: 0; failed: 0")) << early.out;
  EXPECT_TRUE(sink_->Mails().empty());
}

// Two servers on one database, each with --smtp: the case unblinded by
// another process is mailed once to each contact, not once per server.
TEST_F(NotifyCliTest, TwoServersWithSmtpMailEachContactOnce) {
  const std::string args = "--db d.db --port 0 --smtp " + sink_->Url() + " --mail-from trialcore@example.org";
  ServerProcess a(dir_, args, "", "serve_a.log");
  ServerProcess b(dir_, args, "", "serve_b.log");
  ASSERT_GT(a.port(), 0) << testing_util::Slurp(dir_ + "/serve_a.log");
  ASSERT_GT(b.port(), 0) << testing_util::Slurp(dir_ + "/serve_b.log");
  Unblind();
  for (int i = 0; i < 300 && sink_->Mails().size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Time for a second sending, were there one.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  // The case's page tells the safety physician who was told, through either
  // server; no other role sees the contacts.
  const std::string told = "/api/v1/studies/CDISCPILOT01/safety/cases/701-1001-SAE1/notifications";
  auto [status, body] = GetAs(b.port(), "safety.1", told);
  ASSERT_EQ(status, 200) << body;
  auto json = ParseJson(body);
  ASSERT_TRUE(json.ok()) << body;
  const Value::Array& list = json->Find("notifications")->as_array();
  ASSERT_EQ(list.size(), 2u) << body;
  for (const Value& n : list) {
    EXPECT_EQ(n.Find("state")->as_string(), "sent") << body;
    EXPECT_EQ(n.Find("attempts")->as_int(), 1) << body;
    EXPECT_TRUE(n.Find("updated")->is_string()) << body;
  }
  EXPECT_TRUE(Contains(body, "dsmb.chair@example.org")) << body;
  EXPECT_EQ(GetAs(a.port(), "mm.1", told).first, 403) << "the medical monitor does not see the contacts";
  EXPECT_EQ(GetAs(a.port(), "coord.708", told).first, 404) << "another site's case is not known there";
  auto none = GetAs(a.port(), "safety.1", "/api/v1/studies/CDISCPILOT01/safety/cases/701-1001-SAE9/notifications");
  EXPECT_EQ(none.first, 404) << none.second;
  EXPECT_EQ(a.Stop(), 0) << testing_util::Slurp(dir_ + "/serve_a.log");
  EXPECT_EQ(b.Stop(), 0) << testing_util::Slurp(dir_ + "/serve_b.log");
  const auto mails = sink_->Mails();
  ASSERT_EQ(mails.size(), 2u) << testing_util::Slurp(dir_ + "/serve_a.log")
                              << testing_util::Slurp(dir_ + "/serve_b.log");
  int stats = 0, chair = 0;
  for (const std::string& m : mails) {
    stats += Contains(m, "<unblinded.stats@example.org>") ? 1 : 0;
    chair += Contains(m, "<dsmb.chair@example.org>") ? 1 : 0;
  }
  EXPECT_EQ(stats, 1);
  EXPECT_EQ(chair, 1);
  auto listed = Run("notify list --db d.db --format json");
  EXPECT_EQ(std::count(listed.out.begin(), listed.out.end(), '\n'), 2) << listed.out;
  EXPECT_FALSE(Contains(listed.out, "\"pending\"")) << listed.out;
}

TEST_F(NotifyCliTest, BadArgumentsAreNamed) {
  auto url = Run("notify send --db d.db --smtp http://127.0.0.1:25 --mail-from trialcore@example.org --once");
  EXPECT_EQ(url.exit_code, 4) << url.err;
  EXPECT_TRUE(Contains(url.err, "--smtp: 'http://127.0.0.1:25' is not an SMTP URL")) << url.err;
  auto from = Run("notify send --db d.db --smtp " + sink_->Url() + " --once");
  EXPECT_EQ(from.exit_code, 4) << from.err;
  EXPECT_TRUE(Contains(from.err, "--mail-from")) << from.err;
  auto address = Run("notify send --db d.db --smtp " + sink_->Url() + " --mail-from trialcore --once");
  EXPECT_EQ(address.exit_code, 4) << address.err;
  EXPECT_TRUE(Contains(address.err, "--mail-from: 'trialcore' is not an e-mail address")) << address.err;
  auto format = Run("notify list --db d.db --format xml");
  EXPECT_EQ(format.exit_code, 4) << format.err;
  EXPECT_TRUE(Contains(format.err, "--format must be text or json")) << format.err;
  auto serve = Run("serve --db d.db --port 0 --mail-from trialcore@example.org");
  EXPECT_EQ(serve.exit_code, 4) << serve.err;
  EXPECT_TRUE(Contains(serve.err, "--mail-from needs --smtp")) << serve.err;
}

}  // namespace
}  // namespace trialcore
