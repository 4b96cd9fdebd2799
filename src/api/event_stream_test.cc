// Server-sent events on the asynchronous transport, in process: many open
// streams hold up nothing else, a client that stops reading is dropped with
// a last word while the others read on, and a stopping server ends every
// stream cleanly.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "api/server.h"
#include "api/users.h"
#include "capture/capture.h"
#include "core/json.h"
#include "core/test_env.h"
#include "store/test_store.h"
#include "study/study.h"

namespace trialcore::api {
namespace {

constexpr char kStudy[] = "CDISCPILOT01";
const std::string kPassword = "correct horse battery";
const std::string kEvents = "/api/v1/studies/CDISCPILOT01/events";
using std::chrono::milliseconds;

// An event stream read on its own thread until the server ends it.
class Stream {
 public:
  Stream(int port, const std::string& cookie) {
    thread_ = std::thread([this, port, cookie] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(30, 0);
      auto r = c.Get(kEvents, httplib::Headers{{"Cookie", cookie}}, [&](const char* data, size_t len) {
        std::lock_guard lock(mu_);
        text_.append(data, len);
        cv_.notify_all();
        return true;
      });
      std::lock_guard lock(mu_);
      ended_cleanly_ = r && r->status == 200;
      finished_ = true;
      cv_.notify_all();
    });
  }
  ~Stream() {
    if (thread_.joinable()) thread_.join();
  }
  // Whether the stream has carried this text, waiting for it a while (a
  // bound for a functional wait, not a timing under test).
  bool Carried(const std::string& text, milliseconds wait = milliseconds(20'000)) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [&] { return text_.find(text) != std::string::npos || finished_; });
    return text_.find(text) != std::string::npos;
  }
  bool Ended() {
    thread_.join();
    std::lock_guard lock(mu_);
    return ended_cleanly_;
  }
  std::string text() {
    std::lock_guard lock(mu_);
    return text_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string text_;
  bool finished_ = false;
  bool ended_cleanly_ = false;
  std::thread thread_;
};

class EventStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOpenOptions so;
    so.env = &env_;
    store_ = std::move(testing_util::OpenTestStore("/mem/streams.db", so).value());
    std::vector<study::StudyError> errors;
    auto definition = study::LoadStudyFile(std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml", &errors);
    ASSERT_TRUE(definition.ok()) << definition.status().ToString();
    auto capture = std::move(capture::Capture::Open(store_.get(), &env_, kStudy).value());
    ASSERT_TRUE(capture->PublishStudy(*definition, Actor{"setup", "study_admin"}).ok());
    auto users = std::move(UserDirectory::Open(store_.get(), &env_).value());
    const Actor setup{"setup", "system_admin"};
    for (auto [id, role, site] : {std::tuple{"cra.1", "monitor", "*"}, std::tuple{"coord.701", "coordinator", "701"}}) {
      ASSERT_TRUE(users->Add(id, std::string("Full name of ") + id, kPassword, setup).ok());
      ASSERT_TRUE(users->AddGrant(id, Grant{kStudy, role, site}, "", setup).ok());
    }
  }

  void Start(ServerOptions o) {
    o.port = 0;
    o.login_attempts_per_minute = 100000;
    server_ = std::move(Server::Create(store_.get(), &env_, o).value());
    ASSERT_TRUE(server_->Listen().ok());
    thread_ = std::thread([this] { (void)server_->Run(); });
  }

  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  httplib::Client Client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(20, 0);
    return c;
  }

  // The session cookie and CSRF token of a login.
  std::pair<std::string, std::string> LogIn(const std::string& user) {
    auto r = Client().Post("/api/v1/session", ToJson(Value::Object{{"user", user}, {"password", kPassword}}),
                           "application/json");
    EXPECT_TRUE(r && r->status == 200) << user;
    if (!r || r->status != 200) return {};
    std::string cookie = r->get_header_value("Set-Cookie");
    return {cookie.substr(0, cookie.find(';')), ParseJson(r->body)->Find("csrf_token")->as_string()};
  }

  int Screen(const std::pair<std::string, std::string>& coord, const std::string& subject) {
    auto r =
        Client().Post("/api/v1/studies/CDISCPILOT01/commands",
                      httplib::Headers{{"Cookie", coord.first}, {"X-CSRF-Token", coord.second}},
                      R"({"op":"subject.screen","subject":")" + subject + R"(","site":"701"})", "application/json");
    return r ? r->status : 0;
  }

  // Appends events of the study that no casebook holds (site notes), in
  // batches, as fast as the store takes them.
  void AppendSiteEvents(int n, const std::string& last_type) {
    for (int done = 0; done < n;) {
      AppendRequest req;
      req.study = kStudy;
      for (int i = 0; i < 200 && done < n; ++i, ++done) {
        req.events.push_back(EventDraft{"site/701", done + 1 == n ? last_type : "site.noted",
                                        Actor{"loader", "system_admin"}, "", Value::Object{}});
      }
      ASSERT_TRUE(store_->Append(req).ok());
    }
  }

  MemEnv env_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST_F(EventStreamTest, AHundredOpenStreamsHoldUpNoOtherRequest) {
  Start(ServerOptions{});
  auto cra = LogIn("cra.1");
  auto coord = LogIn("coord.701");
  std::vector<std::unique_ptr<Stream>> streams;
  for (int i = 0; i < 100; ++i) streams.push_back(std::make_unique<Stream>(server_->port(), cra.first));
  // A change reaches every stream: then all hundred are open.
  bool all_open = false;
  for (int i = 0; i < 20 && !all_open; ++i) {
    ASSERT_EQ(Screen(coord, "701-5" + std::to_string(100 + i)), 200);
    all_open = true;
    for (auto& s : streams) all_open = all_open && s->Carried("\"subject/701-5", milliseconds(500));
  }
  ASSERT_TRUE(all_open);
  // Meanwhile other requests are answered (each client gives up after 20 s).
  for (int i = 0; i < 50; ++i) {
    auto r = Client().Get("/api/v1/session", httplib::Headers{{"Cookie", cra.first}});
    ASSERT_TRUE(r) << "request " << i << ": " << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 200);
  }
  ASSERT_EQ(Screen(coord, "701-5999"), 200);
  for (auto& s : streams) EXPECT_TRUE(s->Carried("\"subject/701-5999\"")) << s->text();
  // Stopping ends each stream with its last word and a complete reply.
  server_->Stop();
  for (auto& s : streams) {
    EXPECT_TRUE(s->Ended());
    EXPECT_NE(s->text().find("event: end\ndata: {\"reason\":\"server_stopping\"}\n\n"), std::string::npos);
  }
  thread_.join();
}

// A connection of our own that asks for the stream and then reads nothing
// until told to, with a small receive buffer.
class Stalled {
 public:
  Stalled(int port, const std::string& cookie) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    std::string request = "GET " + kEvents + " HTTP/1.1\r\nHost: x\r\nCookie: " + cookie + "\r\n\r\n";
    connected_ = connected_ && write(fd_, request.data(), request.size()) == static_cast<ssize_t>(request.size());
  }
  ~Stalled() { close(fd_); }
  bool connected() const { return connected_; }
  // Reads everything until the reply's last chunk or the peer closes.
  std::string ReadAll() {
    std::string text;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (text.find("\r\n0\r\n\r\n") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 1000) <= 0) continue;
      char buf[65536];
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    return text;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

TEST_F(EventStreamTest, AClientThatStopsReadingIsDroppedWithALastWordAndOthersReadOn) {
  ServerOptions o;
  o.event_queue_limit = 32;
  o.event_stream_send_buffer = 8 << 10;
  Start(o);
  auto cra = LogIn("cra.1");
  auto coord = LogIn("coord.701");
  Stalled stalled(server_->port(), cra.first);
  ASSERT_TRUE(stalled.connected());
  Stream reader(server_->port(), cra.first);
  // Both are open once a change has reached the reader (the stalled one
  // asked first, and both start from the log's end when they ask).
  bool open = false;
  for (int i = 0; i < 20 && !open; ++i) {
    ASSERT_EQ(Screen(coord, "701-6" + std::to_string(100 + i)), 200);
    open = reader.Carried("\"subject/701-6", milliseconds(500));
  }
  ASSERT_TRUE(open);
  // Far more than the socket buffers and the queue hold, in batches the
  // reader (and its queue of 32) keeps up with.
  for (int batch = 0; batch < 100; ++batch) {
    AppendSiteEvents(16, "site.batch" + std::to_string(batch));
    ASSERT_TRUE(reader.Carried("event: site.batch" + std::to_string(batch) + "\n")) << "the reader keeps up";
  }
  AppendSiteEvents(1, "site.last");
  EXPECT_TRUE(reader.Carried("event: site.last\n"));
  // The stalled client, reading at last, finds the stream ended with its
  // reason, before the last of those events.
  std::string text = stalled.ReadAll();
  EXPECT_NE(text.find("event: end\ndata: {\"reason\":\"too_slow\"}\n\n"), std::string::npos)
      << text.substr(text.size() > 500 ? text.size() - 500 : 0);
  EXPECT_EQ(text.find("event: site.last"), std::string::npos);
  EXPECT_NE(text.find("\r\n0\r\n\r\n"), std::string::npos) << "a complete reply";
  // The reader is still served.
  ASSERT_EQ(Screen(coord, "701-6999"), 200);
  EXPECT_TRUE(reader.Carried("\"subject/701-6999\"")) << reader.text().substr(reader.text().size() - 300);
  server_->Stop();
  EXPECT_TRUE(reader.Ended());
}

TEST_F(EventStreamTest, AResumedStreamReadsItsBacklogFromTheLogInPages) {
  Start(ServerOptions{});
  auto cra = LogIn("cra.1");
  AppendSiteEvents(1500, "site.last");
  // From the log's beginning: more than one page of backlog, then live.
  httplib::Client c("127.0.0.1", server_->port());
  c.set_read_timeout(20, 0);
  std::string got;
  std::thread live([&] {
    std::this_thread::sleep_for(milliseconds(200));
    AppendSiteEvents(1, "site.live");
  });
  c.Get(kEvents, httplib::Headers{{"Cookie", cra.first}, {"Last-Event-ID", "0"}}, [&](const char* data, size_t n) {
    got.append(data, n);
    return got.find("event: site.live") == std::string::npos;  // then the client leaves
  });
  live.join();
  size_t noted = 0;
  for (size_t at = got.find("event: site.noted\n"); at != std::string::npos;
       at = got.find("event: site.noted\n", at + 1)) {
    ++noted;
  }
  EXPECT_EQ(noted, 1499u);
  EXPECT_NE(got.find("event: site.last\n"), std::string::npos);
  EXPECT_LT(got.find("event: site.last\n"), got.find("event: site.live\n"));
}

}  // namespace
}  // namespace trialcore::api
