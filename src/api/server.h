// trialcore serve: the HTTP API under /api/v1 (doc/api.md). Sessions are
// random tokens in HttpOnly, SameSite=Strict cookies with a CSRF token for
// every state-changing request; each route checks the caller's role at the
// study and site in one place (api/access.h); a site-scoped user asking for
// another site's subject gets 404. Errors are JSON {code, message, details}.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/env.h"
#include "core/status.h"
#include "store/event_store.h"

namespace trialcore::api {

struct ServerOptions {
  std::string bind = "127.0.0.1";
  int port = 8080;                // 0: any free port (see Server::port)
  std::string tls_cert, tls_key;  // both or neither
  int64_t session_idle_us = 15LL * 60 * 1'000'000;
  int64_t session_max_us = 12LL * 3600 * 1'000'000;
  size_t max_body_bytes = 1 << 20;     // beyond: 413
  size_t max_header_bytes = 16 << 10;  // request line and headers; beyond: 431
  // Against slow or stalled clients: the connection is closed when a
  // request's headers take longer than header_timeout_ms (from its first
  // byte), its body longer than body_timeout_ms, a kept-alive connection
  // idles longer than idle_timeout_ms, or a reply (or one chunk of an event
  // stream: a client that stopped reading) takes longer than write_timeout_ms.
  int64_t header_timeout_ms = 10'000;
  int64_t body_timeout_ms = 30'000;
  int64_t idle_timeout_ms = 60'000;
  int64_t write_timeout_ms = 30'000;
  int64_t stop_grace_ms = 30'000;  // Stop() cuts what has not finished by then
  int io_threads = 2;              // read and write; never block
  int worker_threads = 8;          // run the routes, which may block (fsync, argon2id)
  int stream_threads = 1;          // run the event streams, apart from the routes
  // An event stream's client more than this many of the study's events
  // behind is dropped (its stream ends with "event: end", reason
  // "too_slow"; it resumes from its Last-Event-ID).
  size_t event_queue_limit = 1024;
  int event_stream_send_buffer = 64 << 10;  // the socket's kernel buffer for an event stream
  int login_attempts_per_minute = 20;       // per client address
  // The built web application (index.html and assets), served at "/";
  // empty: "/" explains how to build it.
  std::string web_root;
  // The bearer token that opens /metrics (serve --metrics-token-file);
  // empty: /metrics answers 404. See MetricsAllowed (api/credentials.h).
  std::string metrics_token;
  // Load balancers whose X-Forwarded-For is believed (api/client_address.h);
  // empty: the peer is the client.
  std::vector<std::string> trusted_proxies;
};

class Server {
 public:
  static Result<std::unique_ptr<Server>> Create(EventStore* store, Env* env, const ServerOptions& options);
  ~Server();

  // Binds (so port() is known), then serves until Stop() from another thread.
  Status Listen();
  Status Run();
  // Stops accepting, finishes in-flight requests and their replies, ends
  // event streams (each with "event: end", reason "server_stopping"); Run
  // then returns. Does not wait for that; may come before Run.
  void Stop();
  int port() const;
  std::string url() const;
  // Every route as (method, OpenAPI path template), for the document's test.
  std::vector<std::pair<std::string, std::string>> Routes() const;

 private:
  Server() = default;
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The OpenAPI 3 document of the API (doc/openapi.json), built in.
const char* OpenApiJson();

}  // namespace trialcore::api
