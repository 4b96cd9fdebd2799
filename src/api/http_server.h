// The HTTP/1.1 transport of `trialcore serve`: Boost.Beast on Asio, with
// C++20 coroutines, kept out of this header so that the routes compile
// without Boost. Its Request and Response look like cpp-httplib's (which
// served the API before), so that route bodies read the same.
//
// Threads: a few threads run the connections' I/O; every handler runs on a
// bounded pool of worker threads (see HttpOptions), so a slow handler never
// stalls reading, writing or accepting. Event-stream connections (plain
// HTTP) do their I/O, and their streams' Next, on threads of their own;
// TLS streams' Next runs on a pool of its own. Thread safety: Listen, Run and Stop may be called from
// different threads; Stop from any thread at any time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace trialcore::api::http {

// Header names compare without regard to case (RFC 9110).
struct HeaderNameLess {
  bool operator()(std::string_view a, std::string_view b) const;
  using is_transparent = void;
};
using Headers = std::multimap<std::string, std::string, HeaderNameLess>;

struct Request {
  std::string method;  // "GET", "POST"…
  std::string target;  // as sent: path and query
  std::string path;    // without the query, percent-decoded
  std::string body;
  std::string remote_addr;  // the peer's address
  std::string request_id;   // unique per request; also sent back as X-Request-Id
  Headers headers;
  std::multimap<std::string, std::string> params;  // the query's, decoded
  // The route's regular expression: [0] the whole path, then its groups.
  std::vector<std::string> matches;

  bool has_header(std::string_view name) const;
  std::string get_header_value(std::string_view name) const;  // "" when absent
  bool has_param(std::string_view name) const;
  std::string get_param_value(std::string_view name) const;  // "" when absent
};

// A server-sent event stream (text/event-stream), which the transport
// writes chunk by chunk for as long as it lasts.
class EventStream {
 public:
  virtual ~EventStream() = default;
  struct Chunk {
    std::string text;   // SSE frames to send now; may be empty
    bool end = false;   // the stream ends after text
    bool more = false;  // more is ready: call Next again without waiting for a wake
  };
  // Once, before the first Next, on a stream thread (HttpOptions). `wake` asks for a call
  // of Next soon; it may be called from any thread, any number of times,
  // also after the connection has closed (it then does nothing).
  virtual void Start(std::function<void()> wake) = 0;
  // On a stream thread, never two at once: after each wake, and at least
  // every second. `stopping`: the server is stopping; the stream must end
  // now (its text is the last sent).
  virtual Chunk Next(bool stopping) = 0;
};

struct Response {
  int status = 200;
  std::string body;
  Headers headers;

  void set_content(std::string content, std::string_view content_type);
  // Adds a header (a name may repeat, such as Set-Cookie).
  void set_header(std::string_view name, std::string_view value);
  bool has_header(std::string_view name) const;
  std::string get_header_value(std::string_view name) const;
  // Makes the reply an event stream: status and headers go out first, then
  // whatever the stream gives, until it ends or the client goes.
  void set_event_stream(std::shared_ptr<EventStream> stream);
  std::shared_ptr<EventStream> event_stream;
};

// A route: answers one request.
using Handler = std::function<void(const Request&, Response&)>;
// Answers every request (it may fill in the request's matches); runs on a
// worker thread.
using Dispatcher = std::function<void(Request&, Response&)>;

struct HttpOptions {
  std::string bind = "127.0.0.1";
  int port = 8080;                      // 0: any free port
  std::string tls_cert, tls_key;        // PEM files; both (HTTPS) or neither
  size_t max_header_bytes = 16 * 1024;  // request line and headers; beyond: 431
  size_t max_body_bytes = 1 << 20;      // beyond: 413
  // Against slow or stalled clients (slowloris); each closes the connection.
  int64_t header_timeout_ms = 10'000;  // from a request's first byte (or the connection) to its last header
  int64_t body_timeout_ms = 30'000;    // to read a request's body
  int64_t idle_timeout_ms = 60'000;    // a kept-alive connection waiting for its next request
  int64_t write_timeout_ms = 30'000;   // to write one reply, or one chunk of an event stream
  int64_t stop_grace_ms = 30'000;      // Stop waits this long for in-flight replies, then cuts them
  int io_threads = 2;                  // run the connections' I/O; they never block
  int worker_threads = 8;              // run handlers, which may block (fsync, argon2id, locks)
  // Run event streams' Start and Next, apart from the handlers: thousands of
  // streams woken by one commit queue there, never ahead of a request.
  int stream_threads = 1;
  // Connections whose first request's target this says is an event stream
  // do their I/O on threads of their own (stream_io_threads): a commit that
  // wakes ten thousand streams queues ten thousand writes there, not ahead
  // of other requests' reads and replies. Plain HTTP only (a TLS
  // connection's first bytes say nothing); unset: every connection alike.
  std::function<bool(std::string_view target)> is_event_stream;
  int stream_io_threads = 2;
  // The kernel's send buffer of an event stream's socket: a client that
  // stops reading is noticed (and dropped) after this much, not after the
  // megabytes the kernel would otherwise queue for each of thousands.
  int event_stream_send_buffer = 64 * 1024;
};

class HttpServer {
 public:
  // `dispatch` answers every request the transport itself does not refuse
  // (malformed, too large, too slow). An exception from it is logged with
  // the request id and answered 500 without details. Errors: InvalidArgument
  // (TLS files that do not load).
  static Result<std::unique_ptr<HttpServer>> Create(const HttpOptions& options, Dispatcher dispatch);
  ~HttpServer();

  // Binds, so that port() is known.
  Status Listen();
  // Serves until Stop(); returns once every connection has closed.
  Status Run();
  // Stops accepting, lets in-flight requests finish and their replies be
  // written, ends event streams (they send their last chunk) and closes
  // idle connections; Run then returns. Does not wait; may come before Run.
  void Stop();
  int port() const;
  bool secure() const;
  // Connections handed to the event streams' I/O threads so far.
  uint64_t stream_connections() const;

 private:
  HttpServer() = default;
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trialcore::api::http
