// A NATS connection and its JetStream context (nats.c, kept out of every
// header outside src/publish/ but this one), and nats.c's errors as Status.
// Private to src/publish.
#pragma once

#include <nats/nats.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace trialcore::publish {

// InvalidArgument unless url is nats://host[:port] or tls://host[:port].
Status CheckNatsUrl(std::string_view url);

// What failed, nats.c's text for it and, from JetStream, its error code.
// Network trouble (no server, a timeout, a closed connection) is IoError,
// JetStream refusing a request FailedPrecondition.
Status NatsError(natsStatus status, jsErrCode js_error, const std::string& what);

class NatsConn {
 public:
  // Connects once (no automatic reconnects: a caller that loses the server
  // makes a new connection and re-reads where JetStream stopped).
  // request_timeout_ms bounds each JetStream request and publish; on_ack,
  // when given, receives the answers to asynchronous publishes (nats.c's
  // thread) with closure.
  static Result<std::unique_ptr<NatsConn>> Connect(const std::string& url, int64_t request_timeout_ms,
                                                   jsPubAckHandler on_ack = nullptr, void* closure = nullptr);
  ~NatsConn();
  NatsConn(const NatsConn&) = delete;
  NatsConn& operator=(const NatsConn&) = delete;

  jsCtx* js() { return js_; }
  bool connected() { return natsConnection_Status(conn_) == NATS_CONN_STATUS_CONNECTED; }
  const std::string& url() const { return url_; }

 private:
  NatsConn() = default;
  std::string url_;
  natsConnection* conn_ = nullptr;
  jsCtx* js_ = nullptr;
};

// Owners of nats.c objects.
struct NatsMsgDeleter {
  void operator()(natsMsg* m) const { natsMsg_Destroy(m); }
};
using NatsMsgPtr = std::unique_ptr<natsMsg, NatsMsgDeleter>;
struct StreamInfoDeleter {
  void operator()(jsStreamInfo* si) const { jsStreamInfo_Destroy(si); }
};
using StreamInfoPtr = std::unique_ptr<jsStreamInfo, StreamInfoDeleter>;

// The stream's last sequence number (0 when it is empty), or NotFound
// when there is no such stream.
Result<uint64_t> StreamLastSeq(jsCtx* js, const std::string& stream);

}  // namespace trialcore::publish
