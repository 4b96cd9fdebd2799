#include "publish/event_tail.h"

#include "core/event.h"
#include "publish/event_message.h"
#include "publish/nats_conn.h"

namespace trialcore::publish {
namespace {

struct SubscriptionDeleter {
  void operator()(natsSubscription* s) const { natsSubscription_Destroy(s); }
};

// NotFound unless the stream holds at least one message on subjects.
Status CheckStudyHasEvents(jsCtx* js, const TailOptions& o, const std::string& subjects) {
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Stream.Info.SubjectsFilter = subjects.c_str();
  jsStreamInfo* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw, js, o.stream_name.c_str(), &jo, &jerr);
  StreamInfoPtr info(raw);
  const std::string where = "JetStream stream " + o.stream_name + " at " + o.nats_url;
  if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
    return NotFound("there is no " + where + ": no events were published there (trialcore events publish)");
  }
  if (s == NATS_NO_RESPONDERS) {
    return FailedPrecondition("the NATS server at " + o.nats_url + " has no JetStream (start nats-server with -js)");
  }
  if (s != NATS_OK) return NatsError(s, jerr, "reading " + where);
  if (info->State.Subjects == nullptr || info->State.Subjects->Count == 0) {
    return NotFound("study " + o.study + " has no events in " + where);
  }
  return Status::Ok();
}

}  // namespace

Status TailStudy(const TailOptions& o, const std::function<Status(std::string_view json)>& on_event) {
  TC_RETURN_IF_ERROR(ValidateStudyId(o.study));
  TC_ASSIGN_OR_RETURN(auto conn, NatsConn::Connect(o.nats_url, 5000));
  const std::string subjects = StudySubjects(o.study);
  TC_RETURN_IF_ERROR(CheckStudyHasEvents(conn->js(), o, subjects));
  if (o.limit == 0) return Status::Ok();
  // An ordered consumer: ephemeral, delivered in stream order, and made again
  // by nats.c from the next sequence should a message go missing.
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = o.stream_name.c_str();
  so.Ordered = true;
  so.Config.DeliverPolicy = o.from_start ? js_DeliverAll : js_DeliverNew;
  natsSubscription* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_SubscribeSync(&raw, conn->js(), subjects.c_str(), nullptr, &so, &jerr);
  std::unique_ptr<natsSubscription, SubscriptionDeleter> sub(raw);
  if (s != NATS_OK) return NatsError(s, jerr, "subscribing to " + subjects + " at " + o.nats_url);
  uint64_t given = 0;
  while (given < o.limit) {
    natsMsg* raw_msg = nullptr;
    s = natsSubscription_NextMsg(&raw_msg, sub.get(), 1000);
    NatsMsgPtr msg(raw_msg);
    if (s == NATS_TIMEOUT) continue;  // nothing new yet
    if (s != NATS_OK) return NatsError(s, static_cast<jsErrCode>(0), "reading " + subjects + " at " + o.nats_url);
    TC_RETURN_IF_ERROR(
        on_event(std::string_view(natsMsg_GetData(msg.get()), static_cast<size_t>(natsMsg_GetDataLength(msg.get())))));
    ++given;
  }
  return Status::Ok();
}

}  // namespace trialcore::publish
