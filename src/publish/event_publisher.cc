#include "publish/event_publisher.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "publish/event_message.h"
#include "publish/nats_conn.h"

namespace trialcore::publish {
namespace {

constexpr size_t kReadBatch = 256;
constexpr int64_t kMaxRetryDelayMs = 4000;

// Errors retrying can mend: a lost or restarting server, a busy disk.
bool Retryable(const Status& s) {
  return s.code() == StatusCode::kIoError || s.code() == StatusCode::kResourceExhausted ||
         s.code() == StatusCode::kAborted;
}

}  // namespace

// Invariant: position_ is the sequence number of the last event the stream
// held when this publisher last looked (read from it, or acknowledged by
// it), and stream_last_ that message's sequence number in the stream;
// synced_ is false whenever either may be stale.
class EventPublisher::Impl {
 public:
  Impl(EventStore* store, PublisherOptions options) : store_(store), options_(std::move(options)) {}
  ~Impl() { Stop(); }

  Result<uint64_t> PublishPending(uint64_t max_events) {
    TC_ASSIGN_OR_RETURN(uint64_t through, store_->LastSeq());
    uint64_t published = 0;
    TC_RETURN_IF_ERROR(EnsureReady());
    TC_RETURN_IF_ERROR(PublishThrough(through, max_events, &published));
    return published;
  }

  void Start() {
    if (thread_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      stop_ = false;
      final_ = Status::Ok();
    }
    // The subscription only wakes the publishing thread; what it publishes
    // is read from the log after the position the stream gives.
    auto last = store_->LastSeq();
    uint64_t after = last.ok() ? *last : 0;
    {
      std::lock_guard lock(mu_);
      committed_seen_ = after;
    }
    subscription_ = store_->Subscribe(after, [this](const Event& e) {
      std::lock_guard lock(mu_);
      committed_seen_ = std::max(committed_seen_, e.seq);
      cv_.notify_all();
    });
    thread_ = std::thread([this] { Loop(); });
  }

  void RequestStop() {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }

  void Stop() {
    RequestStop();
    (void)Wait();
  }

  Status Wait() {
    {
      std::lock_guard join_lock(join_mu_);
      if (thread_.joinable()) thread_.join();
      subscription_.reset();
    }
    std::lock_guard lock(mu_);
    return final_;
  }

  uint64_t position() const { return position_.load(); }

 private:
  void Loop() {
    int64_t delay_ms = options_.retry_delay_ms;
    std::string reported;  // the problem last reported, so each is reported once
    while (true) {
      {
        std::lock_guard lock(mu_);
        if (stop_) return;
      }
      uint64_t published = 0;
      Status s = EnsureReady();
      if (s.ok()) s = PublishThrough(UINT64_MAX, UINT64_MAX, &published);
      if (!s.ok()) {
        if (!Retryable(s)) {
          Report(s, &reported);
          std::lock_guard lock(mu_);
          final_ = s;
          return;
        }
        Report(s, &reported);
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(delay_ms), [&] { return stop_; });
        delay_ms = std::min(delay_ms * 2, kMaxRetryDelayMs);
        continue;
      }
      if (!reported.empty()) Report(Status::Ok(), &reported);
      delay_ms = options_.retry_delay_ms;
      // Caught up: sleep until a commit after the position. The timeout
      // only bounds how long a lost wake-up could delay an event.
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_ || committed_seen_ > position_.load(); });
    }
  }

  void Report(const Status& s, std::string* reported) {
    std::string text = s.ok() ? "" : s.ToString();
    if (text == *reported) return;
    *reported = text;
    if (options_.on_problem) options_.on_problem(s);
  }

  // Connected, the stream there, and the position read from it.
  Status EnsureReady() {
    if (conn_ != nullptr && !conn_->connected()) Disconnect();
    if (conn_ == nullptr) {
      TC_ASSIGN_OR_RETURN(conn_, NatsConn::Connect(options_.nats_url, options_.request_timeout_ms, &OnAck, &flight_));
      synced_ = false;
    }
    if (!synced_) {
      Status s = Resync();
      if (!s.ok()) {
        if (s.code() == StatusCode::kIoError) Disconnect();
        return s;
      }
    }
    return Status::Ok();
  }

  void Disconnect() {
    conn_.reset();
    synced_ = false;
  }

  Status CreateStream() {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const std::string subjects = std::string(kSubjectRoot) + ".>";
    const char* subject_list[] = {subjects.c_str()};
    cfg.Name = options_.stream_name.c_str();
    cfg.Subjects = subject_list;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    jsStreamInfo* raw = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_AddStream(&raw, conn_->js(), &cfg, nullptr, &jerr);
    StreamInfoPtr info(raw);
    // Another publisher may have made it a moment before: the same stream.
    if (s == NATS_OK || jerr == JSStreamNameExistErr) return Status::Ok();
    return NatsError(s, jerr, "creating JetStream stream " + options_.stream_name + " at " + options_.nats_url);
  }

  // Reads the position from the stream's last message.
  Status Resync() {
    const std::string& stream = options_.stream_name;
    auto last = StreamLastSeq(conn_->js(), stream);
    if (!last.ok() && last.status().code() == StatusCode::kNotFound) {
      TC_RETURN_IF_ERROR(CreateStream());
      last = StreamLastSeq(conn_->js(), stream);
    }
    if (!last.ok()) return last.status().WithContext("NATS at " + options_.nats_url);
    if (*last == 0) {
      position_ = 0;
      stream_last_ = 0;
      synced_ = true;
      return Status::Ok();
    }
    natsMsg* raw = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetMsg(&raw, conn_->js(), stream.c_str(), *last, nullptr, &jerr);
    NatsMsgPtr msg(raw);
    const std::string where = "JetStream stream " + stream + " at " + options_.nats_url;
    if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) {
      return FailedPrecondition(where + ": its last message (" + std::to_string(*last) +
                                ") was deleted, so where publishing stopped is unknown");
    }
    if (s != NATS_OK) return NatsError(s, jerr, "reading the last message of " + where);
    const char* seq_text = nullptr;
    const std::string not_ours = where + " ends with a message that is not a trialcore event (subject " +
                                 natsMsg_GetSubject(msg.get()) + "); give trialcore a stream of its own";
    if (natsMsgHeader_Get(msg.get(), kSeqHeader, &seq_text) != NATS_OK || seq_text == nullptr) {
      return FailedPrecondition(not_ours);
    }
    auto event = ParseEventMessage(
        std::string_view(natsMsg_GetData(msg.get()), static_cast<size_t>(natsMsg_GetDataLength(msg.get()))));
    if (!event.ok()) return FailedPrecondition(not_ours + ": " + event.status().message());
    // The same event in this database, else the stream is another's.
    auto ours = store_->ReadEvent(event->seq);
    if (!ours.ok() && ours.status().code() != StatusCode::kNotFound) return ours.status();
    if (!ours.ok() || ours->hash != event->hash || ours->study != event->study) {
      return FailedPrecondition(where + " ends with event " + EventMessageId(*event) +
                                ", which this database does not hold: the stream holds another database's events; "
                                "give each database a stream of its own");
    }
    position_ = event->seq;
    stream_last_ = *last;
    synced_ = true;
    return Status::Ok();
  }

  // Publishes events with position < seq <= through, at most max of them.
  Status PublishThrough(uint64_t through, uint64_t max, uint64_t* published) {
    std::vector<Event> read;
    std::vector<const Event*> batch;
    while (position_ < through && *published < max) {
      read.clear();
      EventFilter f;
      f.after_seq = position_;
      f.limit = kReadBatch;
      TC_RETURN_IF_ERROR(store_->ForEachEvent(f, [&](const Event& e) {
        if (e.seq <= through) read.push_back(e);
        return Status::Ok();
      }));
      if (read.empty()) return Status::Ok();
      batch.clear();
      for (const Event& e : read) {
        if (*published + batch.size() >= max) break;
        if (options_.skip_studies.count(e.study) > 0) {
          // Nothing in between to publish: the position moves past it now.
          if (batch.empty()) position_ = e.seq;
          continue;
        }
        batch.push_back(&e);
      }
      if (batch.empty()) continue;
      uint64_t acknowledged = 0;
      Status s = PublishBatch(batch, &acknowledged);
      *published += acknowledged;
      if (s.code() == StatusCode::kAborted) {
        // Another publisher got there first: go on from where it is.
        TC_RETURN_IF_ERROR(Resync());
        continue;
      }
      TC_RETURN_IF_ERROR(s);
    }
    return Status::Ok();
  }

  // What JetStream answered for one message of a batch.
  struct Outcome {
    bool answered = false;
    bool stored = false;  // acknowledged, and not as a duplicate
    uint64_t stream_seq = 0;
    natsStatus error = NATS_OK;
    jsErrCode js_error = static_cast<jsErrCode>(0);
  };
  // The batch in flight, filled by OnAck on nats.c's thread.
  struct InFlight {
    std::mutex mu;
    std::condition_variable cv;
    std::map<uint64_t, size_t> index_of_seq;
    std::vector<Outcome> outcomes;
    size_t answered = 0;
  };

  static void OnAck(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* err, void* closure) {
    auto* flight = static_cast<InFlight*>(closure);
    const char* seq_text = nullptr;
    if (natsMsgHeader_Get(msg, kSeqHeader, &seq_text) == NATS_OK && seq_text != nullptr) {
      std::lock_guard lock(flight->mu);
      auto it = flight->index_of_seq.find(std::strtoull(seq_text, nullptr, 10));
      if (it != flight->index_of_seq.end() && !flight->outcomes[it->second].answered) {
        Outcome& o = flight->outcomes[it->second];
        o.answered = true;
        if (ack != nullptr) {
          o.stored = !ack->Duplicate;
          o.stream_seq = ack->Sequence;
        } else if (err != nullptr) {
          o.error = err->Err;
          o.js_error = err->ErrCode;
        }
        ++flight->answered;
        flight->cv.notify_all();
      }
    }
    natsMsg_Destroy(msg);
  }

  // Publishes the events in order without waiting for each acknowledgement:
  // the first message expects the stream to end at stream_last_ (a stream
  // sequence names one message), message i at stream_last_ + i with the
  // previous event's id, so JetStream stores a message only straight after
  // the event before it; acknowledged counts those stored. Aborted when the
  // stream did not end where this publisher thought.
  Status PublishBatch(const std::vector<const Event*>& events, uint64_t* acknowledged) {
    {
      std::lock_guard lock(flight_.mu);
      flight_.index_of_seq.clear();
      flight_.outcomes.assign(events.size(), Outcome{});
      flight_.answered = 0;
      for (size_t i = 0; i < events.size(); ++i) flight_.index_of_seq[events[i]->seq] = i;
    }
    size_t sent = 0;
    natsStatus send_error = NATS_OK;
    for (const Event* e : events) {
      const std::string subject = EventSubject(*e);
      const std::string body = EventMessageJson(*e);
      const std::string id = EventMessageId(*e);
      const std::string seq = std::to_string(e->seq);
      // Set here rather than through jsPubOptions, which leaves out 0: "the
      // stream must be empty" guards the first message as well.
      const std::string expected_last = std::to_string(stream_last_ + sent);
      natsMsg* raw = nullptr;
      natsStatus s = natsMsg_Create(&raw, subject.c_str(), nullptr, body.data(), static_cast<int>(body.size()));
      NatsMsgPtr msg(raw);
      if (s == NATS_OK) s = natsMsgHeader_Set(msg.get(), kSeqHeader, seq.c_str());
      if (s == NATS_OK) s = natsMsgHeader_Set(msg.get(), "Nats-Expected-Last-Sequence", expected_last.c_str());
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MsgId = id.c_str();
      po.ExpectStream = options_.stream_name.c_str();
      po.MaxWait = options_.request_timeout_ms;
      // A later message of the batch also names the event before it: were
      // only the sequence checked, a message after a refused one could land
      // where the stream happened to have grown to (by another publisher).
      const std::string previous_id = sent > 0 ? EventMessageId(*events[sent - 1]) : "";
      if (sent > 0) po.ExpectLastMsgId = previous_id.c_str();
      if (s == NATS_OK) {
        natsMsg* owned = msg.release();
        s = js_PublishMsgAsync(conn_->js(), &owned, &po);
        natsMsg_Destroy(owned);  // null when the library took it
      }
      if (s != NATS_OK) {
        send_error = s;
        break;
      }
      ++sent;
    }
    // Every message sent is answered (acknowledged, refused or timed out).
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    wait.MaxWait = options_.request_timeout_ms;
    natsStatus waited = js_PublishAsyncComplete(conn_->js(), &wait);
    {
      std::unique_lock lock(flight_.mu);
      flight_.cv.wait_for(lock, std::chrono::milliseconds(options_.request_timeout_ms),
                          [&] { return flight_.answered >= sent; });
    }
    std::vector<Outcome> outcomes;
    {
      std::lock_guard lock(flight_.mu);
      outcomes = flight_.outcomes;
      flight_.index_of_seq.clear();  // late answers are ignored
    }
    // Each message stored followed the event before it; a refused one may be
    // followed by stored ones where the stream had grown (another publisher).
    size_t first = events.size();  // the first message not stored
    for (size_t i = 0; i < sent; ++i) {
      const Outcome& o = outcomes[i];
      if (!o.answered || !o.stored) {
        first = std::min(first, i);
        continue;
      }
      stream_last_ = o.stream_seq;
      position_ = events[i]->seq;
      ++*acknowledged;
      if (options_.on_acknowledged) options_.on_acknowledged(*events[i]);
    }
    if (sent < events.size()) first = std::min(first, sent);
    if (first == events.size()) return Status::Ok();
    // The first message not stored says why.
    synced_ = false;
    const std::string id = EventMessageId(*events[first]);
    if (first < sent && outcomes[first].answered) {
      const Outcome& o = outcomes[first];
      if (o.error == NATS_OK || o.js_error == JSStreamWrongLastSequenceErr) {
        return Aborted("event " + id + " is not the next the stream expects");
      }
      Status st = NatsError(o.error, o.js_error, "publishing event " + id + " to NATS at " + options_.nats_url);
      if (st.code() == StatusCode::kIoError) Disconnect();
      return st;
    }
    natsStatus cause = send_error != NATS_OK ? send_error : (waited != NATS_OK ? waited : NATS_TIMEOUT);
    Disconnect();
    return NatsError(cause, static_cast<jsErrCode>(0), "publishing event " + id + " to NATS at " + options_.nats_url);
  }

  EventStore* store_;
  PublisherOptions options_;
  InFlight flight_;  // before conn_: its handler may run until conn_ is gone
  std::unique_ptr<NatsConn> conn_;
  bool synced_ = false;
  std::atomic<uint64_t> position_{0};
  uint64_t stream_last_ = 0;

  std::unique_ptr<Subscription> subscription_;
  std::thread thread_;
  std::mutex join_mu_;  // Wait may be called from two threads
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t committed_seen_ = 0;  // the highest seq the subscription delivered
  bool stop_ = false;
  Status final_;
};

Result<std::unique_ptr<EventPublisher>> EventPublisher::Create(EventStore* store, PublisherOptions options) {
  TC_RETURN_IF_ERROR(CheckNatsUrl(options.nats_url));
  if (options.stream_name.empty() || options.stream_name.find_first_of(" .*>/\\\t") != std::string::npos) {
    return InvalidArgument("JetStream stream name \"" + options.stream_name +
                           "\" must be non-empty, without spaces, '.', '*', '>', '/' or '\\'");
  }
  return std::unique_ptr<EventPublisher>(new EventPublisher(std::make_unique<Impl>(store, std::move(options))));
}

EventPublisher::EventPublisher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventPublisher::~EventPublisher() = default;
Result<uint64_t> EventPublisher::PublishPending(uint64_t max_events) { return impl_->PublishPending(max_events); }
void EventPublisher::Start() { impl_->Start(); }
void EventPublisher::RequestStop() { impl_->RequestStop(); }
void EventPublisher::Stop() { impl_->Stop(); }
Status EventPublisher::Wait() { return impl_->Wait(); }
uint64_t EventPublisher::position() const { return impl_->position(); }

}  // namespace trialcore::publish
