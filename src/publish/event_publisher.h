// Every committed event on NATS JetStream, exactly once per event id and in
// order (doc/events_on_nats.md). The event log is the outbox: the publisher
// keeps no state of its own, it reads where it stands from the last message
// JetStream acknowledged (its Trialcore-Seq header) and publishes the
// events after it, in sequence order (in batches in flight together).
//
// Exactly once, also when two publishers share a stream: each message is
// published with the stream sequence it must follow (Nats-Expected-Last-
// Sequence), so JetStream stores it only straight after the event before it;
// a publisher that lost that race re-reads where the stream stands and goes
// on from there (the first message expects an empty stream). Nats-Msg-Id
// (study:seq) also makes a resent message a duplicate JetStream drops within
// its duplicate window.
//
// Thread safety: PublishPending, Start and Stop from one thread at a time;
// RequestStop and Wait from any. Destroy the publisher before its store.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "core/event.h"
#include "core/status.h"
#include "store/event_store.h"

namespace trialcore::publish {

inline constexpr char kDefaultStreamName[] = "TRIALCORE";

struct PublisherOptions {
  std::string nats_url;                          // nats://host:port
  std::string stream_name = kDefaultStreamName;  // made (subjects trialcore.>) when missing
  // Studies whose events stay in the database (the system log holds
  // password and token hashes). They are skipped again after a restart,
  // since the resume position is the last event the stream holds.
  std::set<std::string> skip_studies;
  int64_t request_timeout_ms = 5000;  // each publish and JetStream request
  int64_t retry_delay_ms = 250;       // first wait after a failure; doubles up to 4 s
  // Called on the publishing thread after JetStream acknowledged an event
  // (for metrics and the lag benchmark); must not call the publisher.
  std::function<void(const Event&)> on_acknowledged;
  // Called on Start's thread when it meets a problem it will retry (a lost
  // server), when it stops on one it cannot, and with Ok when it publishes
  // again after a problem; each problem once, not on every retry.
  std::function<void(const Status&)> on_problem;
};

class EventPublisher {
 public:
  // Checks the options (InvalidArgument for a malformed URL); connects
  // only when it first publishes.
  static Result<std::unique_ptr<EventPublisher>> Create(EventStore* store, PublisherOptions options);
  ~EventPublisher();  // stops Start's thread
  EventPublisher(const EventPublisher&) = delete;
  EventPublisher& operator=(const EventPublisher&) = delete;

  // Publishes every event committed before the call that the stream does
  // not hold yet, at most max_events of them; returns how many it
  // published. IoError when the server cannot be reached (nothing retried),
  // FailedPrecondition when the stream holds events this database does not.
  Result<uint64_t> PublishPending(uint64_t max_events = UINT64_MAX);

  // Publishes on a thread of its own each event as it is committed, until
  // Stop. A lost server is retried (reported through on_problem); a problem
  // retrying cannot mend ends the thread, and Wait returns it.
  void Start();
  // Asks Start's thread to end, from any thread (a signal's); Wait for it.
  void RequestStop();
  // RequestStop and Wait.
  void Stop();
  // Blocks until Start's thread ends: Ok when it was asked to stop, else
  // the error it stopped on.
  Status Wait();

  // The sequence number of the last event the stream is known to hold.
  uint64_t position() const;

 private:
  class Impl;
  explicit EventPublisher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace trialcore::publish
