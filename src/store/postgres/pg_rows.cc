#include "store/postgres/pg_rows.h"

#include <charconv>
#include <cstring>

#include "store/append_rules.h"

namespace trialcore::pg {

Hash HashFromBytes(std::string_view b) {
  Hash h{};
  if (b.size() == h.size()) std::memcpy(h.data(), b.data(), h.size());
  return h;
}

EventRow EventRow::From(const Rows& r, int i) {
  EventRow e;
  e.seq = r.Int(i, 0);
  e.study = r.Text(i, 1);
  e.stream = r.Text(i, 2);
  e.stream_version = r.Int(i, 3);
  e.study_index = r.Int(i, 4);
  e.type = r.Text(i, 5);
  e.time_us = r.Int(i, 6);
  e.actor_user = r.Text(i, 7);
  e.actor_role = r.Text(i, 8);
  e.reason = r.Text(i, 9);
  e.payload = r.Bytes(i, 10);
  e.prev_hash = r.Bytes(i, 11);
  e.hash = r.Bytes(i, 12);
  e.format_version = r.Int(i, 13);
  return e;
}

RecordFields EventRow::Fields() const {
  RecordFields f;
  f.seq = static_cast<uint64_t>(seq);
  f.study = study;
  f.stream = stream;
  f.stream_version = static_cast<uint64_t>(stream_version);
  f.study_index = static_cast<uint64_t>(study_index);
  f.type = type;
  f.time_us = time_us;
  f.actor_user = actor_user;
  f.actor_role = actor_role;
  f.reason = reason;
  return f;
}

Result<Event> EventRow::ToEvent(bool for_rewrite) const {
  Event e;
  e.seq = static_cast<uint64_t>(seq);
  e.study = study;
  e.stream = stream;
  e.stream_version = static_cast<uint64_t>(stream_version);
  e.study_index = static_cast<uint64_t>(study_index);
  e.type = type;
  e.time_us = time_us;
  e.actor = {actor_user, actor_role};
  e.reason = reason;
  e.prev_hash = HashFromBytes(prev_hash);
  e.hash = HashFromBytes(hash);
  if (format_version != kEventFormatVersion) {
    return Unimplemented("event " + std::to_string(seq) + " has format version " + std::to_string(format_version) +
                         ", which this trialcore does not know");
  }
  auto value = for_rewrite ? DecodePayloadWithoutSet(payload) : DecodeValue(payload);
  if (!value.ok()) return value.status().WithContext("payload of event " + std::to_string(seq));
  e.payload = std::move(value).value();
  return e;
}

Value ValueOf(const Rows& r, int row, int col) {
  if (r.IsNull(row, col)) return Value();
  constexpr Oid kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kNumeric = 1700;
  const Oid type = r.Type(col);
  std::string_view text = r.Text(row, col);
  if (type == kBool) return Value(int64_t{text == "t" ? 1 : 0});
  if (type == kInt8 || type == kInt2 || type == kInt4 || type == kNumeric) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && end == text.data() + text.size()) return Value(v);
  }
  return Value(std::string(text));
}

}  // namespace trialcore::pg
