// The canonical byte encoding of values and event records, as specified in
// doc/event_log_format.md. Deterministic: equal events give equal bytes.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/event.h"

namespace trialcore {

// Appends the encoding of v; InvalidArgument if a string is not UTF-8.
Status EncodeValue(const Value& v, std::string* out);
// Decodes exactly one value spanning all of bytes; DataLoss if malformed.
Result<Value> DecodeValue(std::string_view bytes);
// Ok exactly when DecodeValue would succeed, with the same error otherwise,
// but without building the value or allocating (for verifying a long log).
Status ValidateValue(std::string_view bytes);

// Walks the members of an encoded object without decoding it: fn receives
// each key and the exact bytes of its value. DataLoss if malformed.
Status ForEachMember(std::string_view object_bytes,
                     const std::function<Status(std::string_view key, std::string_view value_bytes)>& fn);
// The exact bytes of member key of an encoded object, or empty if absent.
Result<std::string_view> FindMember(std::string_view object_bytes, std::string_view key);

// The record that is hashed: every field of the event except prev_hash and
// hash, with the payload given already encoded. Appends to out.
struct RecordFields {
  uint64_t seq = 0;
  std::string_view study, stream;
  uint64_t stream_version = 0, study_index = 0;
  std::string_view type;
  int64_t time_us = 0;
  std::string_view actor_user, actor_role, reason;
};
void EncodeEventRecord(const RecordFields& f, std::string_view payload_bytes, std::string* out);
void EncodeEventRecord(const Event& e, std::string_view payload_bytes, std::string* out);
Result<std::string> EncodeEventRecord(const Event& e);
// Fills every field but prev_hash and hash. Refuses a format version other
// than kEventFormatVersion with Unimplemented.
Result<Event> DecodeEventRecord(std::string_view record);
// Ok exactly when DecodeEventRecord would succeed, with the same error
// otherwise, without allocating: the verifier's check that a stored event is
// one this format can hold (UTF-8 strings, a canonical payload).
Status ValidateEventRecord(std::string_view record);

// SHA-256(prev_hash || record).
inline Hash ChainHash(const Hash& prev_hash, std::string_view record) {
  return Sha256Concat(AsBytes(prev_hash), record);
}

}  // namespace trialcore
