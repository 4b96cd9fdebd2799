#include "publish/nats_conn.h"

namespace trialcore::publish {

Status CheckNatsUrl(std::string_view url) {
  auto bad = [&] {
    return InvalidArgument("NATS URL \"" + std::string(url) +
                           "\" is not nats://host[:port] or tls://host[:port] (for example nats://127.0.0.1:4222)");
  };
  std::string_view rest;
  for (std::string_view scheme : {"nats://", "tls://"}) {
    if (url.substr(0, scheme.size()) == scheme) rest = url.substr(scheme.size());
  }
  if (rest.empty() || rest.front() == ':' || rest.find_first_of("/ ,") != std::string_view::npos) return bad();
  if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    std::string_view port = rest.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) {
      return bad();
    }
  }
  return Status::Ok();
}

Status NatsError(natsStatus status, jsErrCode js_error, const std::string& what) {
  std::string text = what + ": " + natsStatus_GetText(status);
  if (js_error != 0) return FailedPrecondition(text + " (JetStream error " + std::to_string(js_error) + ")");
  switch (status) {
    case NATS_NO_SERVER:
    case NATS_TIMEOUT:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_STALE_CONNECTION:
    case NATS_IO_ERROR:
    case NATS_NO_RESPONDERS:
    case NATS_SYS_ERROR:
      return IoError(text);
    default:
      return FailedPrecondition(text);
  }
}

Result<std::unique_ptr<NatsConn>> NatsConn::Connect(const std::string& url, int64_t request_timeout_ms,
                                                    jsPubAckHandler on_ack, void* closure) {
  TC_RETURN_IF_ERROR(CheckNatsUrl(url));
  std::unique_ptr<NatsConn> c(new NatsConn());
  c->url_ = url;
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetURL(opts, url.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 2000);
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, false);
  if (s == NATS_OK) s = natsConnection_Connect(&c->conn_, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) return NatsError(s, static_cast<jsErrCode>(0), "cannot reach NATS at " + url);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = request_timeout_ms;
  jo.PublishAsync.AckHandler = on_ack;
  jo.PublishAsync.AckHandlerClosure = closure;
  s = natsConnection_JetStream(&c->js_, c->conn_, &jo);
  if (s != NATS_OK) return NatsError(s, static_cast<jsErrCode>(0), "cannot use JetStream at " + url);
  return c;
}

NatsConn::~NatsConn() {
  // The context first: it must not outlive its connection.
  if (js_ != nullptr) jsCtx_Destroy(js_);
  if (conn_ != nullptr) natsConnection_Destroy(conn_);
}

Result<uint64_t> StreamLastSeq(jsCtx* js, const std::string& stream) {
  jsStreamInfo* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw, js, stream.c_str(), nullptr, &jerr);
  StreamInfoPtr info(raw);
  if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) return NotFound("no JetStream stream " + stream);
  if (s == NATS_NO_RESPONDERS) {
    return FailedPrecondition("the NATS server has no JetStream (start nats-server with -js)");
  }
  if (s != NATS_OK) return NatsError(s, jerr, "reading JetStream stream " + stream);
  return info->State.LastSeq;
}

}  // namespace trialcore::publish
