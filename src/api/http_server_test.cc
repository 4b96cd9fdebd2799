// The HTTP transport on its own, with a toy dispatcher: limits, timeouts
// against stalled clients, keep-alive, graceful stop, TLS, and the 500 that
// an exception becomes.
#include "api/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include "api/http_status.h"

namespace trialcore::api::http {
namespace {

using std::chrono::milliseconds;

const std::string kBig(48 << 20, 'b');  // larger than any socket buffer

// A connection of our own, for what an HTTP client will not do (stall
// half-way, keep one connection visibly).
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { close(fd_); }
  bool connected() const { return connected_; }
  bool Send(const std::string& data) {
    return write(fd_, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  }
  // Reads until `until` has arrived, the peer closes, or `wait` passes (a
  // bound for a functional wait, not a timing under test).
  std::string Read(const std::string& until, milliseconds wait = milliseconds(20'000)) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (received_.find(until) == std::string::npos && !closed_) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[65536];
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      received_.append(buf, static_cast<size_t>(n));
    }
    return received_;
  }
  bool closed() const { return closed_; }
  void Clear() { received_.clear(); }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string received_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpOptions o = {}) {
    o.port = 0;
    auto s = HttpServer::Create(o, [this](Request& req, Response& res) { Dispatch(req, res); });
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    ASSERT_TRUE(server_->Listen().ok());
    thread_ = std::thread([this] { run_status_ = server_->Run(); });
  }

  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  void Dispatch(Request& req, Response& res) {
    ++requests_;
    if (req.path == "/throw") throw std::runtime_error("secret detail of a bug");
    if (req.path == "/stream") {
      res.set_event_stream(std::make_shared<BusyStream>(this));
      return;
    }
    if (req.path == "/big") {
      {
        std::lock_guard lock(mu_);
        big_started_ = true;
      }
      cv_.notify_all();
      res.set_content(kBig, "application/octet-stream");
      return;
    }
    res.set_content(
        req.method + " " + req.path + " q=" + req.get_param_value("q") + " body=" + std::to_string(req.body.size()),
        "text/plain");
  }

  httplib::Client Client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(20, 0);
    return c;
  }

  // An event stream whose every Next holds its thread until the test lets it
  // go (as thousands of streams woken at once would hold theirs).
  struct BusyStream final : EventStream {
    explicit BusyStream(HttpServerTest* t) : test(t) {}
    HttpServerTest* test;
    void Start(std::function<void()>) override {}
    Chunk Next(bool stopping) override {
      std::unique_lock lock(test->mu_);
      ++test->busy_streams_;
      test->cv_.notify_all();
      test->cv_.wait(lock, [&] { return test->streams_released_; });
      return {"data: x\n\n", stopping};
    }
  };
  void ReleaseStreams() {
    std::lock_guard lock(mu_);
    streams_released_ = true;
    cv_.notify_all();
  }

  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  Status run_status_;
  int busy_streams_ = 0;
  bool streams_released_ = false;
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool big_started_ = false;
};

TEST_F(HttpServerTest, AnswersWithDecodedPathAndQueryAndARequestId) {
  Start();
  auto r = Client().Get("/a%20b?q=x%26y%20z");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET /a b q=x&y z body=0");
  auto again = Client().Get("/");
  ASSERT_TRUE(again);
  EXPECT_FALSE(r->get_header_value("X-Request-Id").empty());
  EXPECT_NE(r->get_header_value("X-Request-Id"), again->get_header_value("X-Request-Id"));
}

TEST_F(HttpServerTest, AnExceptionInAHandlerIsA500WithoutItsDetails) {
  Start();
  auto r = Client().Get("/throw");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body.find("secret"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("\"internal\""), std::string::npos) << r->body;
  EXPECT_FALSE(r->get_header_value("X-Request-Id").empty());
  EXPECT_EQ(Client().Get("/")->status, 200) << "the server lives on";
}

TEST_F(HttpServerTest, OversizeHeadersAre431) {
  HttpOptions o;
  o.max_header_bytes = 16 << 10;
  Start(o);
  auto r = Client().Get("/", httplib::Headers{{"X-Filler", std::string(20 << 10, 'h')}});
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 431);
  auto fits = Client().Get("/", httplib::Headers{{"X-Filler", std::string(8 << 10, 'h')}});
  ASSERT_TRUE(fits);
  EXPECT_EQ(fits->status, 200);
}

TEST_F(HttpServerTest, OversizeBodiesAre413AndNeverReachTheHandler) {
  HttpOptions o;
  o.max_body_bytes = 1 << 20;
  Start(o);
  auto r = Client().Post("/upload", std::string((1 << 20) + 1, 'x'), "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(requests_, 0);
  auto fits = Client().Post("/upload", std::string(1 << 20, 'x'), "application/json");
  ASSERT_TRUE(fits);
  EXPECT_EQ(fits->body, "POST /upload q= body=1048576");
  // A chunked body has no length to refuse it by up front: cut at the limit.
  RawClient raw(server_->port());
  ASSERT_TRUE(raw.connected());
  std::string chunk(64 << 10, 'x');
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
  std::string request = "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) request += size + chunk + "\r\n";
  raw.Send(request);
  EXPECT_NE(raw.Read("\r\n\r\n").find("HTTP/1.1 413"), std::string::npos);
  EXPECT_EQ(requests_, 1);
}

TEST_F(HttpServerTest, AStalledClientIsClosedAfterTheHeaderTimeout) {
  HttpOptions o;
  o.header_timeout_ms = 300;
  Start(o);
  RawClient stalled(server_->port());
  ASSERT_TRUE(stalled.connected());
  ASSERT_TRUE(stalled.Send("GET / HTTP/1.1\r\nHost: x\r\nX-Half: "));
  std::string got = stalled.Read("never sent");
  EXPECT_TRUE(stalled.closed()) << "still open after 20 s";
  EXPECT_EQ(got, "") << "no answer to half a request";
  EXPECT_EQ(requests_, 0);
  // A connection that sends nothing at all is closed the same way.
  RawClient silent(server_->port());
  silent.Read("never sent");
  EXPECT_TRUE(silent.closed());
  // Others are served meanwhile and after.
  EXPECT_EQ(Client().Get("/")->status, 200);
}

TEST_F(HttpServerTest, AnIdleKeptAliveConnectionIsClosedAfterTheIdleTimeout) {
  HttpOptions o;
  o.idle_timeout_ms = 300;
  Start(o);
  RawClient c(server_->port());
  ASSERT_TRUE(c.Send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(c.Read("body=0").find("GET /one"), std::string::npos);
  c.Read("never sent");
  EXPECT_TRUE(c.closed());
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Start();
  RawClient c(server_->port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 5; ++i) {
    c.Clear();
    std::string path = "/r" + std::to_string(i);
    ASSERT_TRUE(c.Send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string got = c.Read(path + " q= body=0");
    EXPECT_NE(got.find("HTTP/1.1 200"), std::string::npos) << got;
    EXPECT_NE(got.find("GET " + path + " q= body=0"), std::string::npos) << got;
    ASSERT_FALSE(c.closed()) << "closed after request " << i;
  }
  // Two requests sent at once are answered in order on the same connection.
  c.Clear();
  ASSERT_TRUE(c.Send("GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /p2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string both = c.Read("GET /p2 q= body=0");
  EXPECT_LT(both.find("GET /p1"), both.find("GET /p2")) << both;
  c.Read("never sent");
  EXPECT_TRUE(c.closed()) << "Connection: close is honoured";
}

TEST_F(HttpServerTest, StopDeliversAReplyBeingWrittenCompletely) {
  Start();
  std::string got;
  std::thread client([&] {
    httplib::Client c = Client();
    auto r = c.Get("/big", [&](const char* data, size_t n) {
      got.append(data, n);
      // Read slowly enough that the server is still writing when it stops.
      if (got.size() < (8u << 20)) std::this_thread::sleep_for(milliseconds(1));
      return true;
    });
    EXPECT_TRUE(r) << httplib::to_string(r.error());
  });
  {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, std::chrono::seconds(20), [&] { return big_started_; }));
  }
  std::this_thread::sleep_for(milliseconds(50));
  server_->Stop();
  thread_.join();  // Run returns once the reply is out
  EXPECT_TRUE(run_status_.ok());
  client.join();
  EXPECT_EQ(got.size(), kBig.size());
  EXPECT_TRUE(got == kBig);
  // And it no longer accepts.
  EXPECT_FALSE(Client().Get("/"));
}

// Event streams run on threads of their own: with every stream thread held
// by streams, and as many streams as request threads, requests are still
// answered.
TEST_F(HttpServerTest, RequestsAreAnsweredWhileEventStreamsHoldTheirThreads) {
  HttpOptions o;
  o.worker_threads = 1;
  o.stream_threads = 1;
  Start(o);
  RawClient a(server_->port()), b(server_->port());
  ASSERT_TRUE(a.connected() && b.connected());
  ASSERT_TRUE(a.Send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(b.Send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, std::chrono::seconds(20), [&] { return busy_streams_ >= 1; }));
  }
  auto r = Client().Get("/plain");
  ReleaseStreams();
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET /plain q= body=0");
}

// A connection whose first request is an event stream does its I/O on the
// streams' threads: it streams there and ends when the server stops; other
// connections stay where they were and are answered meanwhile, and one
// that says nothing is closed after the header timeout, as before.
TEST_F(HttpServerTest, EventStreamConnectionsMoveToThreadsOfTheirOwnAndWorkThere) {
  HttpOptions o;
  o.io_threads = 1;
  o.header_timeout_ms = 1'500;
  o.is_event_stream = [](std::string_view target) { return target.starts_with("/stream"); };
  Start(o);
  ReleaseStreams();  // every Next returns at once
  RawClient plain(server_->port());
  ASSERT_TRUE(plain.Send("GET /plain HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(plain.Read("body=0").find("GET /plain q= body=0"), std::string::npos);
  EXPECT_EQ(server_->stream_connections(), 0u);

  RawClient silent(server_->port());
  ASSERT_TRUE(silent.connected());
  // Within one header timeout and a margin, not two (the wait for its first
  // bytes is the wait for its first request, not one before it).
  silent.Read("never sent", milliseconds(2'700));
  EXPECT_TRUE(silent.closed()) << "a connection that sends nothing is closed after the header timeout";

  RawClient streaming(server_->port());
  ASSERT_TRUE(streaming.Send("GET /stream?from=1 HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string got = streaming.Read("data: x\n\n");
  EXPECT_NE(got.find("HTTP/1.1 200"), std::string::npos) << got;
  EXPECT_NE(got.find("text/event-stream"), std::string::npos) << got;
  EXPECT_EQ(server_->stream_connections(), 1u);
  ASSERT_TRUE(plain.Send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(plain.Read("/again q=").find("GET /again q= body=0"), std::string::npos);

  server_->Stop();
  thread_.join();  // both contexts end: Run returns
  EXPECT_TRUE(run_status_.ok());
  streaming.Read("never sent");
  EXPECT_TRUE(streaming.closed());
  EXPECT_EQ(server_->stream_connections(), 1u);
}

// A connection that has sent nothing yet (whose first request line would
// say where its I/O runs) does not hold a stopping server for the header
// timeout: Stop closes it as it closes every idle connection.
TEST_F(HttpServerTest, StopDoesNotWaitForASilentConnectionsFirstBytes) {
  HttpOptions o;
  o.header_timeout_ms = 600'000;
  o.is_event_stream = [](std::string_view target) { return target.starts_with("/stream"); };
  Start(o);
  RawClient silent(server_->port());
  ASSERT_TRUE(silent.connected());
  auto r = Client().Get("/plain");  // the server is running and has accepted both
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  const auto stop_at = std::chrono::steady_clock::now();
  server_->Stop();
  thread_.join();
  // (A bound far below the header timeout, not a timing under test.)
  EXPECT_LT(std::chrono::steady_clock::now() - stop_at, std::chrono::seconds(60));
  silent.Read("never sent", milliseconds(5'000));
  EXPECT_TRUE(silent.closed());
}

TEST_F(HttpServerTest, StopBeforeRunReturnsAtOnce) {
  HttpOptions o;
  o.port = 0;
  auto s = HttpServer::Create(o, [](Request&, Response&) {});
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Listen().ok());
  (*s)->Stop();
  EXPECT_TRUE((*s)->Run().ok());
}

// A self-signed certificate and its key, made with OpenSSL's C API.
void WriteSelfSigned(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  ASSERT_NE(cert, nullptr);
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);
  FILE* f = std::fopen(cert_path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_X509(f, cert);
  std::fclose(f);
  f = std::fopen(key_path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(cert);
  EVP_PKEY_free(key);
}

TEST_F(HttpServerTest, ServesHttpsWithACertificateAndKey) {
  auto dir = std::filesystem::temp_directory_path() / ("tc-tls-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  HttpOptions o;
  o.tls_cert = (dir / "cert.pem").string();
  o.tls_key = (dir / "key.pem").string();
  WriteSelfSigned(o.tls_cert, o.tls_key);
  Start(o);
  EXPECT_TRUE(server_->secure());
  httplib::SSLClient c("127.0.0.1", server_->port());
  c.enable_server_certificate_verification(false);
  c.set_read_timeout(20, 0);
  c.set_keep_alive(true);
  for (int i = 0; i < 3; ++i) {
    auto r = c.Post("/secure", "{}", "application/json");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "POST /secure q= body=2");
  }
  // Plain HTTP gets no answer from the TLS port.
  auto plain = Client().Get("/");
  EXPECT_TRUE(!plain || plain->status != 200);
  std::filesystem::remove_all(dir);
}

TEST(HttpServerCreate, RefusesHalfATlsConfigurationAndFilesThatDoNotLoad) {
  HttpOptions half;
  half.tls_cert = "cert.pem";
  EXPECT_EQ(HttpServer::Create(half, [](Request&, Response&) {}).status().code(), StatusCode::kInvalidArgument);
  HttpOptions missing;
  missing.tls_cert = "/no/such/cert.pem";
  missing.tls_key = "/no/such/key.pem";
  EXPECT_EQ(HttpServer::Create(missing, [](Request&, Response&) {}).status().code(), StatusCode::kInvalidArgument);
}

// The one map: every code has its status, client errors before server errors.
TEST(HttpStatus, EveryCodeMapsToItsStatus) {
  const std::pair<StatusCode, int> expected[] = {
      {StatusCode::kOk, 200},
      {StatusCode::kInvalidArgument, 400},
      {StatusCode::kUnauthenticated, 401},
      {StatusCode::kPermissionDenied, 403},
      {StatusCode::kNotFound, 404},
      {StatusCode::kAlreadyExists, 409},
      {StatusCode::kFailedPrecondition, 409},
      {StatusCode::kAborted, 412},
      {StatusCode::kResourceExhausted, 413},
      {StatusCode::kRateLimited, 429},
      {StatusCode::kDataLoss, 500},
      {StatusCode::kIoError, 500},
      {StatusCode::kInternal, 500},
      {StatusCode::kUnimplemented, 501},
  };
  for (auto [code, status] : expected) {
    EXPECT_EQ(HttpStatusFor(code), status) << StatusCodeName(code);
  }
  EXPECT_EQ(ErrorCodeName(StatusCode::kUnauthenticated), "unauthenticated");
  EXPECT_EQ(ErrorCodeName(StatusCode::kRateLimited), "rate_limited");
  EXPECT_EQ(ErrorCodeName(StatusCode::kAborted), "precondition_failed");
}

}  // namespace
}  // namespace trialcore::api::http
