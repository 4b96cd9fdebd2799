// The event: one change to a study, and one entry of its audit trail
// (DESIGN.md §1). Its byte encoding is specified in doc/event_log_format.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/hash.h"
#include "core/status.h"
#include "core/value.h"

namespace trialcore {

// The canonical encoding's version; readers refuse records of any other.
inline constexpr uint16_t kEventFormatVersion = 1;

struct Actor {
  std::string user;  // user id, never a person's name
  std::string role;  // the role the user acted in
  bool operator==(const Actor&) const = default;
};

// What a writer supplies; the store assigns the rest.
struct EventDraft {
  std::string stream;  // the aggregate it changes: "subject/1015", "site/701", "study"
  std::string type;    // "item.set", "subject.screened" ...
  Actor actor;
  std::string reason;  // required when a value that already existed changes
  Value payload;       // an object; its "set" member changes entity values
};

struct Event {
  uint64_t seq = 0;  // global, gap-free, from 1
  std::string study;
  std::string stream;
  uint64_t stream_version = 0;  // 1 for a stream's first event
  uint64_t study_index = 0;     // position in the study's log, from 0; its Merkle leaf index
  std::string type;
  int64_t time_us = 0;  // server UTC, microseconds since the epoch
  Actor actor;
  std::string reason;
  Value payload;
  Hash prev_hash{};  // hash of the study's previous event; zeros for the first
  Hash hash{};       // SHA-256(prev_hash || canonical record)
  bool operator==(const Event&) const = default;
};

// The logs the system keeps beside the studies (the user directory, the
// MedDRA dictionaries) have ids that begin with this; no study may take one,
// and commands that pick "the only study" never pick one of them.
inline constexpr std::string_view kSystemLogPrefix = "trialcore-";
inline bool IsSystemLog(std::string_view study) { return study.starts_with(kSystemLogPrefix); }

// Identifier rules, checked before anything is stored. Each returns
// InvalidArgument naming the offending text.
Status ValidateStudyId(std::string_view study);
Status ValidateStream(std::string_view stream);
Status ValidateEventType(std::string_view type);
Status ValidateDraft(const EventDraft& draft);

// True when path equals prefix or lies below it at a '/' boundary: an entity
// path inside its stream, or an entity matched by a path filter.
bool IsUnderPath(std::string_view path, std::string_view prefix);

// "2026-11-23T18:49:44.123456Z"
std::string FormatTimeMicros(int64_t time_us);
// Accepts "2026-11-23", "2026-11-23T18:49:44Z" and with fractional seconds.
Result<int64_t> ParseTimeMicros(std::string_view text);
// A UTC offset as study files write it: "Z", "+01:00", "-05:30", in minutes.
// InvalidArgument naming the text otherwise, or beyond -12:00..+14:00.
Result<int> ParseUtcOffset(std::string_view text);

}  // namespace trialcore
