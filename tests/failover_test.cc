// Issue 14 §8: two `trialcore serve` processes on one PostgreSQL database
// behind haproxy, a client writing continuously through haproxy, one server
// killed with SIGKILL in the middle: no write that was acknowledged is lost,
// the client carries on through the other server after at most one retry,
// and the audit trail verifies.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "core/json.h"
#include "run_command.h"
#include "server_process.h"
#include "store/open_store.h"
#include "store/postgres/test_server.h"

namespace trialcore {
namespace {

constexpr char kItem[] = "/api/v1/studies/CDISCPILOT01/subjects/701-1001/visits/RASHFU/forms/SV/items/SVSTDTC";
constexpr char kItemPath[] = "subject/701-1001/RASHFU/SV/SVSTDTC";

std::string DateOf(int i) {
  // 2025-01-01 plus i days, within 2025-2026 (the item takes a date).
  const int year = 2025 + (i / 336), month = 1 + (i / 28) % 12, day = 1 + i % 28;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, month, day);
  return buf;
}

TEST(FailoverTest, AServerKilledMidLoadLosesNoAcknowledgedWrite) {
  auto server = pg::TestServer::Start();
  ASSERT_TRUE(server.ok()) << "PostgreSQL 15 could not be started: " << server.status().ToString();
  auto url = (*server)->CreateDatabase("failover");
  ASSERT_TRUE(url.ok());
  const std::string dir = testing_util::FreshTestDir("failover_");
  const std::string db = "'" + *url + "'";
  auto demo = testing_util::RunCommand(dir, kTrialcoreBin + " demo --db " + db + " --key key.pem --no-serve");
  ASSERT_EQ(demo.exit_code, 0) << demo.err;
  auto issued = testing_util::RunCommand(
      dir, kTrialcoreBin + " user token coord.701 --study CDISCPILOT01 --role coordinator --site 701 --db " + db);
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  const std::string token = issued.out.substr(0, issued.out.find('\n'));

  auto a = std::make_unique<ServerProcess>(dir, "--db " + db + " --port 0", "", "serve-a.log");
  ServerProcess b(dir, "--db " + db + " --port 0", "", "serve-b.log");
  ASSERT_GT(a->port(), 0) << testing_util::Slurp(dir + "/serve-a.log");
  ASSERT_GT(b.port(), 0) << testing_util::Slurp(dir + "/serve-b.log");
  HaproxyProcess haproxy(dir, {a->port(), b.port()});
  ASSERT_GT(haproxy.port(), 0) << testing_util::Slurp(dir + "/haproxy.log");

  // The client: one write after another, each a change with its reason; a
  // write that fails is tried once more, and then must succeed.
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged_count{0}, retried{0}, lost_twice{0};
  std::vector<std::string> acknowledged;
  std::thread client([&] {
    httplib::Client c("127.0.0.1", haproxy.port());
    c.set_read_timeout(10, 0);
    const httplib::Headers bearer{{"Authorization", "Bearer " + token}};
    for (int i = 0; !stop; ++i) {
      const std::string value = DateOf(i);
      const std::string body =
          R"({"value":")" + value + R"(","reason":"Other: failover test write )" + std::to_string(i) + R"("})";
      auto r = c.Patch(kItem, bearer, body, "application/json");
      if (!r || r->status != 200) {
        ++retried;
        r = c.Patch(kItem, bearer, body, "application/json");
        if (!r || r->status != 200) {
          ++lost_twice;
          continue;
        }
      }
      acknowledged.push_back(value);
      ++acknowledged_count;
    }
  });
  auto wait_for = [&](int n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (acknowledged_count < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  wait_for(20);
  ASSERT_GE(acknowledged_count.load(), 20) << testing_util::Slurp(dir + "/serve-a.log");
  a->Stop(SIGKILL);
  const int at_kill = acknowledged_count;
  wait_for(at_kill + 30);
  stop = true;
  client.join();
  EXPECT_GE(acknowledged_count.load(), at_kill + 30) << "the client carried on through the other server";
  EXPECT_EQ(lost_twice.load(), 0) << "every write went through by its first retry at the latest";

  // Every acknowledged value is in the log, in order.
  auto store = OpenEventStore(*url);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EventFilter f;
  f.study = "CDISCPILOT01";
  f.stream = "subject/701-1001";
  auto events = (*store)->ReadEvents(f);
  ASSERT_TRUE(events.ok());
  std::vector<std::string> stored;
  for (const Event& e : *events) {
    const Value* set = e.payload.Find("set");
    if (set == nullptr) continue;
    if (const Value* v = set->Find(kItemPath); v != nullptr && v->kind() == Value::Kind::kString) {
      stored.push_back(v->as_string());
    }
  }
  size_t next = 0;
  for (const std::string& value : acknowledged) {
    while (next < stored.size() && stored[next] != value) ++next;
    ASSERT_LT(next, stored.size()) << "acknowledged write of " << value << " is not in the log";
    ++next;
  }
  auto verify = testing_util::RunCommand(dir, kTrialcoreBin + " audit verify --db " + db);
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  std::printf("failover: %d writes acknowledged, %d retried once, server A killed after %d\n",
              acknowledged_count.load(), retried.load(), at_kill);
}

// Behind haproxy (option forwardfor) a server told to trust it counts login
// attempts per user's address, not per the proxy's: one address reaching
// its limit leaves another's logins alone. Here the test client stands for
// a second proxy in front (on 127.0.0.1, trusted too), naming the users.
TEST(FailoverTest, BehindATrustedProxyTheLoginLimitCountsEachClientAddress) {
  const std::string dir = testing_util::FreshTestDir("proxy_");
  auto demo = testing_util::RunCommand(dir, kTrialcoreBin + " demo --db demo.db --key key.pem --no-serve");
  ASSERT_EQ(demo.exit_code, 0) << demo.err;
  ServerProcess server(dir, "--db demo.db --port 0 --login-rate 3 --trusted-proxy 127.0.0.1");
  ASSERT_GT(server.port(), 0) << testing_util::Slurp(dir + "/serve.log");
  HaproxyProcess haproxy(dir, {server.port()});
  ASSERT_GT(haproxy.port(), 0) << testing_util::Slurp(dir + "/haproxy.log");
  httplib::Client c("127.0.0.1", haproxy.port());
  auto attempt = [&](const std::string& client) {
    auto r = c.Post("/api/v1/session", {{"X-Forwarded-For", client}},
                    R"({"user":"sponsor.1","password":"wrong password!!"})", "application/json");
    return r ? r->status : 0;
  };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(attempt("203.0.113.1"), 401);
  EXPECT_EQ(attempt("203.0.113.1"), 429) << "this address used its three attempts";
  EXPECT_EQ(attempt("203.0.113.2"), 401) << "another address behind the same proxy still may";
  const std::string log = testing_util::Slurp(dir + "/serve.log");
  EXPECT_NE(log.find("\"client\":\"203.0.113.2\""), std::string::npos) << "the access log names the client";
}

}  // namespace
}  // namespace trialcore
