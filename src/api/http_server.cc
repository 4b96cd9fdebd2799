// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// (kept first: the line above must precede Asio)
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "api/http_server.h"

namespace trialcore::api::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;

bool HeaderNameLess::operator()(std::string_view a, std::string_view b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) < std::tolower(static_cast<unsigned char>(y));
  });
}

bool Request::has_header(std::string_view name) const { return headers.find(name) != headers.end(); }
std::string Request::get_header_value(std::string_view name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}
bool Request::has_param(std::string_view name) const { return params.find(std::string(name)) != params.end(); }
std::string Request::get_param_value(std::string_view name) const {
  auto it = params.find(std::string(name));
  return it == params.end() ? "" : it->second;
}

void Response::set_content(std::string content, std::string_view content_type) {
  body = std::move(content);
  headers.erase("Content-Type");
  headers.emplace("Content-Type", std::string(content_type));
}
void Response::set_header(std::string_view name, std::string_view value) {
  headers.emplace(std::string(name), std::string(value));
}
bool Response::has_header(std::string_view name) const { return headers.find(name) != headers.end(); }
std::string Response::get_header_value(std::string_view name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}
void Response::set_event_stream(std::shared_ptr<EventStream> stream) { event_stream = std::move(stream); }

namespace {

using std::chrono::milliseconds;

// "%41" and (in queries) "+" decoded; a malformed escape stays as it is.
std::string Decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

void ParseQuery(std::string_view query, std::multimap<std::string, std::string>& out) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    out.emplace(Decode(pair.substr(0, eq), true),
                eq == std::string_view::npos ? "" : Decode(pair.substr(eq + 1), true));
  }
}

// The JSON error body the API sends, for the refusals the transport makes
// itself (their messages are fixed: nothing of the request is echoed).
std::string ErrorJson(std::string_view code, std::string_view message) {
  return "{\"code\":\"" + std::string(code) + "\",\"details\":{},\"message\":\"" + std::string(message) + "\"}";
}

void LogLine(const std::string& json) { std::fprintf(stderr, "%s\n", json.c_str()); }

std::string JsonText(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Runs f on the worker pool; the coroutine resumes on its own executor
// (its connection's strand) with f's result, or f's exception rethrown.
// Routes run there, not on the I/O threads: they block on SQLite's fsync,
// argon2id and capture's locks, and on an I/O thread one of them would stall
// every connection that thread serves, the accept loop too. The pool is
// fixed, so a burst of slow requests queues rather than spawning threads;
// each connection has at most one task in it, so the queue is bounded by
// the connections.
template <typename T, typename F>
asio::awaitable<T> OnPool(asio::thread_pool& pool, F f) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, T)>(
      [&pool](auto handler, F fn) {
        asio::post(pool, [handler = std::move(handler), fn = std::move(fn)]() mutable {
          std::exception_ptr error;
          T value{};
          try {
            value = fn();
          } catch (...) {
            error = std::current_exception();
          }
          auto ex = asio::get_associated_executor(handler);
          asio::post(ex, [handler = std::move(handler), error, value = std::move(value)]() mutable {
            handler(error, std::move(value));
          });
        });
      },
      asio::use_awaitable, std::move(f));
}

template <typename Stream>
beast::tcp_stream& Tcp(Stream& stream) {
  return beast::get_lowest_layer(stream);
}

// One connection's state shared with Stop and with event streams' wakers;
// touched only on the connection's strand.
struct Connection {
  explicit Connection(Strand s) : strand(s), wake_timer(s) {}
  enum class Phase { kWaiting, kBusy, kStreaming };
  Strand strand;
  asio::steady_timer wake_timer;  // an event stream's wait between chunks
  bool woken = false;
  Phase phase = Phase::kWaiting;
  std::function<void()> cancel;  // cancels the connection's pending I/O

  void Wake() {
    woken = true;
    wake_timer.cancel();
  }
};

}  // namespace

class HttpServer::Impl {
 public:
  Impl(HttpOptions options, Dispatcher handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        acceptor_(ioc_),
        control_(asio::make_strand(ioc_)),
        grace_timer_(control_),
        pool_(static_cast<size_t>(std::max(1, options_.worker_threads))),
        stream_pool_(static_cast<size_t>(std::max(1, options_.stream_threads))) {
    std::random_device random;
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "%08x", random());
    id_prefix_ = prefix;
  }

  ~Impl() {
    // Tasks on the pools refer to connections' coroutines, which the
    // io_context owns: they finish first.
    stream_pool_.join();
    pool_.join();
  }

  Status Init() {
    if (options_.tls_cert.empty() != options_.tls_key.empty()) {
      return InvalidArgument("TLS needs both --tls-cert and --tls-key");
    }
    if (options_.tls_cert.empty()) return Status::Ok();
    ssl_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    ssl_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                      asio::ssl::context::single_dh_use);
    beast::error_code ec;
    ssl_->use_certificate_chain_file(options_.tls_cert, ec);
    if (!ec) ssl_->use_private_key_file(options_.tls_key, asio::ssl::context::pem, ec);
    if (ec) return InvalidArgument("cannot load the TLS certificate or key: " + ec.message());
    return Status::Ok();
  }

  Status Listen() {
    beast::error_code ec;
    auto address = asio::ip::make_address(options_.bind, ec);
    if (ec) return InvalidArgument("cannot bind " + options_.bind + ": not an IP address");
    tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return IoError("cannot listen on " + options_.bind + ":" + std::to_string(options_.port) + " (" + ec.message() +
                     ")");
    }
    port_ = acceptor_.local_endpoint().port();
    return Status::Ok();
  }

  Status Run() {
    asio::co_spawn(control_, Accept(), [](std::exception_ptr e) { Report(e, "accept loop"); });
    std::vector<std::thread> threads;
    for (int i = 1; i < std::max(1, options_.io_threads); ++i) threads.emplace_back([this] { ioc_.run(); });
    std::vector<std::thread> stream_threads;
    if (options_.is_event_stream) {
      for (int i = 0; i < std::max(1, options_.stream_io_threads); ++i) {
        stream_threads.emplace_back([this] { stream_ioc_.run(); });
      }
    }
    ioc_.run();
    for (auto& t : threads) t.join();
    // The accept loop has ended (Stop): the streams' context ends with its
    // last connection, or at once when the grace period cut them.
    stream_work_.reset();
    for (auto& t : stream_threads) t.join();
    return Status::Ok();
  }

  void Stop() {
    if (stopping_.exchange(true)) return;
    asio::post(control_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      std::vector<std::shared_ptr<Connection>> open;
      {
        std::lock_guard lock(mu_);
        for (auto& [id, weak] : connections_) {
          if (auto c = weak.lock()) open.push_back(std::move(c));
        }
        if (connections_.empty()) return;
        // Whatever has not finished by then is cut.
        grace_timer_.expires_after(milliseconds(options_.stop_grace_ms));
        grace_timer_.async_wait([this](beast::error_code e) {
          if (e) return;
          ioc_.stop();
          stream_ioc_.stop();
        });
      }
      for (auto& c : open) {
        asio::post(c->strand, [c] {
          if (c->phase == Connection::Phase::kWaiting && c->cancel) c->cancel();
          if (c->phase == Connection::Phase::kStreaming) c->Wake();
        });
      }
    });
  }

  int port() const { return port_; }
  bool secure() const { return ssl_ != nullptr; }
  uint64_t stream_connections() const { return stream_connections_; }

 private:
  static void Report(std::exception_ptr e, const char* where) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      LogLine("{\"error\":" + JsonText(std::string(where) + ": " + x.what()) + "}");
    } catch (...) {
      LogLine("{\"error\":" + JsonText(std::string(where) + ": unknown exception") + "}");
    }
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      beast::error_code ec;
      Strand strand = asio::make_strand(ioc_);  // each connection's coroutine runs on its own strand
      tcp::socket socket = co_await acceptor_.async_accept(strand, asio::redirect_error(asio::use_awaitable, ec));
      if (stopping_ || ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
      if (ec) {
        // Out of file descriptors, say: wait rather than spin.
        LogLine("{\"error\":" + JsonText("accept: " + ec.message()) + "}");
        asio::steady_timer pause(control_, milliseconds(100));
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      asio::co_spawn(strand, Session(std::move(socket), strand), [](std::exception_ptr e) { Report(e, "connection"); });
    }
  }

  // Registers a connection for Stop; the returned id unregisters it.
  uint64_t Register(const std::shared_ptr<Connection>& c) {
    std::lock_guard lock(mu_);
    uint64_t id = ++last_connection_;
    connections_[id] = c;
    return id;
  }
  void Unregister(uint64_t id) {
    std::lock_guard lock(mu_);
    connections_.erase(id);
    if (connections_.empty() && stopping_) asio::post(control_, [this] { grace_timer_.cancel(); });
  }

  // Whether a new plain-HTTP connection opens an event stream, by its
  // first request line read without consuming it (MSG_PEEK), waiting for it
  // at most the header timeout. A guess for where its I/O runs, nothing
  // more: what cannot be told from the first bytes stays with the other
  // requests. nullopt: no byte came in time (or Stop), the connection ends,
  // as it would have waiting for its first request.
  asio::awaitable<std::optional<bool>> OpensEventStream(tcp::socket& socket, Strand strand) {
    asio::steady_timer timeout(strand, milliseconds(options_.header_timeout_ms));
    timeout.async_wait([&socket](beast::error_code e) {
      beast::error_code ignored;
      if (!e) socket.cancel(ignored);
    });
    beast::error_code ec;
    co_await socket.async_wait(tcp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    timeout.cancel();
    if (ec) co_return std::nullopt;
    char line[512];
    size_t n = socket.receive(asio::buffer(line), tcp::socket::message_peek, ec);
    if (ec) co_return false;
    std::string_view first(line, n);
    if (!first.starts_with("GET ")) co_return false;
    first.remove_prefix(4);
    size_t end = first.find(' ');
    co_return end != std::string_view::npos&& options_.is_event_stream(first.substr(0, end));
  }

  asio::awaitable<void> Session(tcp::socket socket, Strand strand) {
    beast::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);  // replies in two writes must not wait on Nagle
    auto remote = socket.remote_endpoint(ec);
    const std::string remote_addr = ec ? "" : remote.address().to_string();
    auto conn = std::make_shared<Connection>(strand);
    // However the coroutine ends (an exception too), Stop no longer reaches
    // the stream, which goes before this.
    struct Registration {
      Impl* self;
      std::shared_ptr<Connection> conn;
      uint64_t id;
      ~Registration() {
        conn->cancel = nullptr;
        self->Unregister(id);
      }
    } registration{this, conn, Register(conn)};
    if (stopping_) co_return;
    // (co_await in a condition of its own: GCC 12 fails on it inside &&.)
    bool to_streams = !ssl_ && options_.is_event_stream && &strand.get_inner_executor().context() != &stream_ioc_;
    if (to_streams) {
      conn->cancel = [&socket] {  // Stop does not wait for a silent client's first bytes
        beast::error_code ignored;
        socket.cancel(ignored);
      };
      std::optional<bool> opens = co_await OpensEventStream(socket, strand);
      conn->cancel = nullptr;
      if (!opens || stopping_) co_return;
      to_streams = *opens;
    }
    if (to_streams) {
      // Handed to the streams' context: the same session, there.
      const auto protocol = socket.local_endpoint(ec).protocol();
      if (!ec) {
        const auto fd = socket.release(ec);
        if (ec) co_return;  // (only where the OS cannot release a socket)
        Strand there = asio::make_strand(stream_ioc_);
        tcp::socket moved(there);
        moved.assign(protocol, fd, ec);
        if (ec) {
          ::close(fd);
          co_return;
        }
        ++stream_connections_;
        asio::co_spawn(there, Session(std::move(moved), there), [](std::exception_ptr e) { Report(e, "connection"); });
        co_return;
      }
    }
    if (ssl_) {
      beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *ssl_);
      conn->cancel = [&stream] { Tcp(stream).cancel(); };
      Tcp(stream).expires_after(milliseconds(options_.header_timeout_ms));
      co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) {
        bool graceful = co_await Serve(conn, stream, remote_addr);
        if (graceful) {
          // close_notify, without waiting long for the peer's.
          Tcp(stream).expires_after(milliseconds(1000));
          co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
        }
      }
      conn->cancel = nullptr;
    } else {
      beast::tcp_stream stream(std::move(socket));
      conn->cancel = [&stream] { Tcp(stream).cancel(); };
      bool graceful = co_await Serve(conn, stream, remote_addr);
      if (graceful) Tcp(stream).socket().shutdown(tcp::socket::shutdown_send, ec);
      conn->cancel = nullptr;
    }
  }

  // Serves requests on one connection until it closes; true when it ended
  // between replies (so a TLS close_notify may follow), false when cut.
  template <typename Stream>
  // (Arguments of co_awaited calls are references or trivial values: GCC 12
  // may destroy a temporary of a co_await expression twice.)
  asio::awaitable<bool> Serve(const std::shared_ptr<Connection>& shared, Stream& stream,
                              const std::string& remote_addr) {
    Connection& conn = *shared;
    beast::flat_buffer buffer;
    bool first = true;
    for (;;) {
      conn.phase = Connection::Phase::kWaiting;
      if (stopping_) co_return true;
      beast::error_code ec;
      // The next request's first byte: a new connection has the header
      // timeout for its first request; a kept-alive one may idle longer.
      if (buffer.size() == 0) {
        Tcp(stream).expires_after(milliseconds(first ? options_.header_timeout_ms : options_.idle_timeout_ms));
        size_t n = co_await stream.async_read_some(buffer.prepare(8192), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return ec == asio::error::operation_aborted;  // closed, timed out, or Stop
        buffer.commit(n);
      }
      first = false;
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
      parser.body_limit(options_.max_body_bytes);
      Tcp(stream).expires_after(milliseconds(options_.header_timeout_ms));
      co_await bhttp::async_read_header(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      // (Beast refuses a Content-Length beyond the body limit with the headers.)
      if (ec == bhttp::error::body_limit) {
        co_await Refuse(stream, buffer, 413, "too_large", "the request body is too large");
        co_return false;
      }
      if (ec == bhttp::error::header_limit) {
        co_await Refuse(stream, buffer, 431, "header_too_large", "the request's headers are too large");
        co_return false;
      }
      if (ec == beast::error::timeout || ec == asio::error::operation_aborted || ec == bhttp::error::end_of_stream ||
          ec == asio::error::eof || ec == asio::error::connection_reset) {
        co_return false;
      }
      if (ec && &ec.category() != &bhttp::make_error_code(bhttp::error::bad_target).category()) co_return false;
      if (ec == bhttp::error::partial_message || ec == bhttp::error::end_of_stream) co_return false;
      if (ec) {
        co_await Refuse(stream, buffer, 400, "bad_request", "malformed HTTP request");
        co_return false;
      }
      conn.phase = Connection::Phase::kBusy;
      auto& head = parser.get();
      if (auto length = parser.content_length(); length && *length > options_.max_body_bytes) {
        co_await Refuse(stream, buffer, 413, "too_large", "the request body is too large");
        co_return false;
      }
      if (beast::iequals(head[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> go{bhttp::status::continue_, head.version()};
        Tcp(stream).expires_after(milliseconds(options_.write_timeout_ms));
        co_await bhttp::async_write(stream, go, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return false;
      }
      if (!parser.is_done()) {
        Tcp(stream).expires_after(milliseconds(options_.body_timeout_ms));
        co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
        if (ec == bhttp::error::body_limit) {
          co_await Refuse(stream, buffer, 413, "too_large", "the request body is too large");
          co_return false;
        }
        if (ec) co_return false;
      }
      Tcp(stream).expires_never();

      const unsigned version = head.version();
      const bool keep_alive = parser.keep_alive();
      Request req = ToRequest(parser.release(), remote_addr);
      const bool head_only = req.method == "HEAD";
      Response res = co_await OnPool<Response>(pool_, [this, &req] { return Handle(req); });
      if (res.event_stream) {
        // A stream may stay open for hours, thousands of them at once: the
        // read buffer (8 KiB once a request was read) goes back to what it
        // holds, nothing as a rule.
        buffer.shrink_to_fit();
        // Nor are the request's headers and parameters kept: the stream
        // needs its id only.
        req.headers = {};
        req.params = {};
        req.body = {};
        bool more = co_await StreamEvents(shared, stream, req, res, version, keep_alive);
        if (!more) co_return false;
        continue;
      }
      bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status), version};
      out.result(static_cast<unsigned>(res.status));
      for (const auto& [name, value] : res.headers) out.insert(name, value);
      out.set("X-Request-Id", req.request_id);
      out.keep_alive(keep_alive && !stopping_);
      out.body() = std::move(res.body);
      out.prepare_payload();
      if (head_only) out.body().clear();  // Content-Length stays that of the GET
      Tcp(stream).expires_after(milliseconds(options_.write_timeout_ms));
      co_await bhttp::async_write(stream, out, asio::redirect_error(asio::use_awaitable, ec));
      Tcp(stream).expires_never();
      if (ec) co_return false;
      if (!out.keep_alive()) co_return true;
    }
  }

  Request ToRequest(bhttp::request<bhttp::string_body> in, const std::string& remote_addr) {
    Request req;
    req.method = std::string(in.method_string());
    req.target = std::string(in.target());
    std::string_view target(in.target().data(), in.target().size());
    size_t q = target.find('?');
    req.path = Decode(target.substr(0, q), false);
    if (q != std::string_view::npos) ParseQuery(target.substr(q + 1), req.params);
    for (const auto& field : in) req.headers.emplace(std::string(field.name_string()), std::string(field.value()));
    req.body = std::move(in.body());
    req.remote_addr = remote_addr;
    req.request_id = NextRequestId();
    return req;
  }

  // Unique within the process (a counter) and across restarts (a random prefix).
  std::string NextRequestId() {
    char id[40];
    std::snprintf(id, sizeof id, "%s-%llx", id_prefix_.c_str(), static_cast<unsigned long long>(++last_request_));
    return id;
  }

  // Runs the handler; an exception is a bug, logged and answered 500 with
  // nothing of it in the reply.
  Response Handle(Request& req) {
    Response res;
    try {
      handler_(req, res);
      return res;
    } catch (const std::exception& e) {
      LogLine("{\"request_id\":" + JsonText(req.request_id) + ",\"error\":" + JsonText(e.what()) + "}");
    } catch (...) {
      LogLine("{\"request_id\":" + JsonText(req.request_id) + ",\"error\":\"unknown exception\"}");
    }
    Response failed;
    failed.status = 500;
    failed.set_content(ErrorJson("internal", "internal error; please report it"), "application/json");
    return failed;
  }

  // Answers a request the transport refuses, then closes the connection
  // gracefully: the rest of what the client sends is read and dropped for a
  // while, so that the kernel does not reset the connection (and the reply
  // with it) over unread bytes.
  template <typename Stream>
  asio::awaitable<void> Refuse(Stream& stream, beast::flat_buffer& buffer, int status, std::string_view code,
                               std::string_view message) {
    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(status), 11};
    out.result(static_cast<unsigned>(status));
    out.set(bhttp::field::content_type, "application/json");
    const std::string id = NextRequestId();
    out.set("X-Request-Id", id);
    LogLine("{\"request_id\":" + JsonText(id) + ",\"status\":" + std::to_string(status) +
            ",\"refused\":" + JsonText(message) + "}");
    out.keep_alive(false);
    out.body() = ErrorJson(code, message);
    out.prepare_payload();
    beast::error_code ec;
    Tcp(stream).expires_after(milliseconds(options_.write_timeout_ms));
    co_await bhttp::async_write(stream, out, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    Tcp(stream).socket().shutdown(tcp::socket::shutdown_send, ec);
    Tcp(stream).expires_after(milliseconds(std::min<int64_t>(options_.header_timeout_ms, 5'000)));
    size_t drained = 0;
    while (drained < 16 * options_.max_body_bytes) {
      buffer.clear();
      size_t n =
          co_await stream.async_read_some(buffer.prepare(64 * 1024), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      drained += n;
    }
  }

  // The head of an event stream's reply. A coroutine of its own: the
  // header fields and serializer are freed once written, not kept in the
  // frame of a stream that may stay open for hours.
  template <typename Stream>
  asio::awaitable<bool> WriteStreamHead(Stream& stream, const Request& req, const Response& res, unsigned version,
                                        bool keep_alive) {
    beast::error_code ec;
    bhttp::response<bhttp::empty_body> head{static_cast<bhttp::status>(res.status), version};
    head.result(static_cast<unsigned>(res.status));
    for (const auto& [name, value] : res.headers) head.insert(name, value);
    head.set("X-Request-Id", req.request_id);
    if (!res.has_header("Content-Type")) head.set(bhttp::field::content_type, "text/event-stream");
    head.keep_alive(keep_alive);
    head.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> serializer{head};
    Tcp(stream).expires_after(milliseconds(options_.write_timeout_ms));
    co_await bhttp::async_write_header(stream, serializer, asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  // Writes an event stream as a chunked reply: the headers, then each
  // chunk its EventStream gives, until it ends, the client goes or a write
  // times out. True when the connection may serve another request.
  template <typename Stream>
  asio::awaitable<bool> StreamEvents(const std::shared_ptr<Connection>& shared, Stream& stream, const Request& req,
                                     Response& res, unsigned version, bool keep_alive) {
    Connection& conn = *shared;
    beast::error_code ec;
    Tcp(stream).socket().set_option(asio::socket_base::send_buffer_size(options_.event_stream_send_buffer), ec);
    if (!co_await WriteStreamHead(stream, req, res, version, keep_alive)) co_return false;
    res.headers = {};

    std::shared_ptr<EventStream> events = res.event_stream;
    std::weak_ptr<Connection> weak = shared;
    auto wake = [weak] {
      if (auto c = weak.lock()) asio::post(c->strand, [c] { c->Wake(); });
    };
    conn.phase = Connection::Phase::kStreaming;
    conn.woken = false;
    // On the streams' own I/O threads a stream's Start and Next run in
    // place: they may read the database a moment, which delays only other
    // streams there, and two hand-offs per stream and commit are saved.
    // Elsewhere (TLS) they go to the stream pool, off the request threads.
    const bool in_place = &conn.strand.get_inner_executor().context() == &stream_ioc_;
    if (in_place) {
      events->Start(wake);
    } else {
      co_await OnPool<bool>(stream_pool_, [&events, &wake] {
        events->Start(wake);
        return true;
      });
    }
    bool ended = false;
    while (!ended) {
      const bool stop = stopping_;
      EventStream::Chunk chunk;
      if (in_place) {
        chunk = events->Next(stop);
      } else {
        chunk = co_await OnPool<EventStream::Chunk>(stream_pool_, [&events, stop] { return events->Next(stop); });
      }
      std::string wire;
      if (!chunk.text.empty()) {
        char size[24];
        std::snprintf(size, sizeof size, "%zx\r\n", chunk.text.size());
        wire = size + chunk.text + "\r\n";
      }
      if (chunk.end) {
        wire += "0\r\n\r\n";
        ended = true;
      }
      if (!wire.empty()) {
        Tcp(stream).expires_after(milliseconds(options_.write_timeout_ms));
        co_await asio::async_write(stream, asio::buffer(wire), asio::redirect_error(asio::use_awaitable, ec));
        Tcp(stream).expires_never();
        if (ec) co_return false;  // gone, or not reading: dropped
      }
      if (ended) break;
      if (chunk.more) continue;
      if (!conn.woken) {
        conn.wake_timer.expires_after(milliseconds(1000));
        co_await conn.wake_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      conn.woken = false;
    }
    conn.phase = Connection::Phase::kBusy;
    co_return keep_alive && !stopping_;
  }

  HttpOptions options_;
  Dispatcher handler_;
  asio::io_context ioc_;
  // Event-stream connections' I/O (HttpOptions::is_event_stream); kept
  // running while the server runs, however few streams are open.
  asio::io_context stream_ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> stream_work_{stream_ioc_.get_executor()};
  tcp::acceptor acceptor_;
  Strand control_;  // the acceptor and the grace timer
  asio::steady_timer grace_timer_;
  std::unique_ptr<asio::ssl::context> ssl_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::string id_prefix_;
  std::atomic<uint64_t> last_request_{0};
  std::atomic<uint64_t> stream_connections_{0};
  std::mutex mu_;
  std::map<uint64_t, std::weak_ptr<Connection>> connections_;
  uint64_t last_connection_ = 0;
  // Declared last, destroyed first (after their joins in ~Impl).
  asio::thread_pool pool_;
  asio::thread_pool stream_pool_;
};

Result<std::unique_ptr<HttpServer>> HttpServer::Create(const HttpOptions& options, Dispatcher dispatch) {
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->impl_ = std::make_unique<Impl>(options, std::move(dispatch));
  TC_RETURN_IF_ERROR(s->impl_->Init());
  return s;
}

HttpServer::~HttpServer() = default;
Status HttpServer::Listen() { return impl_->Listen(); }
Status HttpServer::Run() { return impl_->Run(); }
void HttpServer::Stop() { impl_->Stop(); }
int HttpServer::port() const { return impl_->port(); }
bool HttpServer::secure() const { return impl_->secure(); }
uint64_t HttpServer::stream_connections() const { return impl_->stream_connections(); }

}  // namespace trialcore::api::http
