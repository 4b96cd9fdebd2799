// A consumer a person can run: one study's events from NATS JetStream, in
// order, each as the JSON body the publisher wrote (doc/events_on_nats.md).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "publish/event_publisher.h"

namespace trialcore::publish {

struct TailOptions {
  std::string nats_url;
  std::string stream_name = kDefaultStreamName;
  std::string study;
  bool from_start = false;      // every event the stream holds, else only new ones
  uint64_t limit = UINT64_MAX;  // returns after this many events
};

// Calls on_event with each event's JSON body, in the study's order, until
// limit events were given, on_event fails or the connection is lost
// (IoError). InvalidArgument for a malformed URL or study id; NotFound when
// there is no such stream or it holds no event of the study.
Status TailStudy(const TailOptions& options, const std::function<Status(std::string_view json)>& on_event);

}  // namespace trialcore::publish
