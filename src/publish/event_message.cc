#include "publish/event_message.h"

#include "core/hash.h"
#include "core/json.h"

namespace trialcore::publish {

std::string SubjectToken(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (plain) {
      out += c;
    } else {
      auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  return out;
}

std::string EventSubject(const Event& event) {
  std::string_view stream = event.stream;
  std::string_view type = stream.substr(0, stream.find('/'));
  return std::string(kSubjectRoot) + "." + SubjectToken(event.study) + "." + SubjectToken(type);
}

std::string StudySubjects(std::string_view study) {
  return std::string(kSubjectRoot) + "." + SubjectToken(study) + ".>";
}

std::string EventMessageId(const Event& event) { return event.study + ":" + std::to_string(event.seq); }

std::string EventMessageJson(const Event& event) {
  // Written in place, members in byte order like every JSON trialcore writes;
  // the payload is appended without copying it into a Value tree.
  std::string out = "{\"actor\":{\"role\":";
  AppendJsonString(&out, event.actor.role);
  out += ",\"user\":";
  AppendJsonString(&out, event.actor.user);
  out += "},\"format\":";
  AppendJsonString(&out, kEventMessageFormat);
  out += ",\"hash\":\"" + ToHex(event.hash) + "\",\"payload\":";
  AppendJson(&out, event.payload);
  out += ",\"prev_hash\":\"" + ToHex(event.prev_hash) + "\",\"reason\":";
  AppendJsonString(&out, event.reason);
  out += ",\"seq\":" + std::to_string(event.seq) + ",\"stream\":";
  AppendJsonString(&out, event.stream);
  out += ",\"stream_version\":" + std::to_string(event.stream_version) + ",\"study\":";
  AppendJsonString(&out, event.study);
  out += ",\"study_index\":" + std::to_string(event.study_index) + ",\"time\":";
  AppendJsonString(&out, FormatTimeMicros(event.time_us));
  out += ",\"time_us\":" + std::to_string(event.time_us) + ",\"type\":";
  AppendJsonString(&out, event.type);
  out += "}";
  return out;
}

namespace {

Result<const Value*> Member(const Value& object, std::string_view key, Value::Kind kind, std::string_view kind_name) {
  const Value* v = object.Find(key);
  if (v == nullptr) return InvalidArgument("event message: no \"" + std::string(key) + "\"");
  if (v->kind() != kind) {
    return InvalidArgument("event message: \"" + std::string(key) + "\" is not " + std::string(kind_name));
  }
  return v;
}

Result<std::string> StringMember(const Value& object, std::string_view key) {
  TC_ASSIGN_OR_RETURN(const Value* v, Member(object, key, Value::Kind::kString, "a string"));
  return v->as_string();
}

Result<uint64_t> CountMember(const Value& object, std::string_view key) {
  TC_ASSIGN_OR_RETURN(const Value* v, Member(object, key, Value::Kind::kInt, "an integer"));
  if (v->as_int() < 0) return InvalidArgument("event message: \"" + std::string(key) + "\" is negative");
  return static_cast<uint64_t>(v->as_int());
}

Result<Hash> HashMember(const Value& object, std::string_view key) {
  TC_ASSIGN_OR_RETURN(std::string hex, StringMember(object, key));
  auto hash = HashFromHex(hex);
  if (!hash.ok()) return hash.status().WithContext("event message: \"" + std::string(key) + "\"");
  return *hash;
}

}  // namespace

Result<Event> ParseEventMessage(std::string_view json) {
  auto parsed = ParseJson(json);
  if (!parsed.ok()) return parsed.status().WithContext("event message");
  const Value& v = *parsed;
  if (!v.is_object()) return InvalidArgument("event message: not a JSON object");
  TC_ASSIGN_OR_RETURN(std::string format, StringMember(v, "format"));
  if (format != kEventMessageFormat) {
    return Unimplemented("event message: format \"" + format + "\" is not the one this trialcore reads (" +
                         kEventMessageFormat + ")");
  }
  Event e;
  TC_ASSIGN_OR_RETURN(e.study, StringMember(v, "study"));
  TC_ASSIGN_OR_RETURN(e.seq, CountMember(v, "seq"));
  TC_ASSIGN_OR_RETURN(e.study_index, CountMember(v, "study_index"));
  TC_ASSIGN_OR_RETURN(e.stream, StringMember(v, "stream"));
  TC_ASSIGN_OR_RETURN(e.stream_version, CountMember(v, "stream_version"));
  TC_ASSIGN_OR_RETURN(e.type, StringMember(v, "type"));
  TC_ASSIGN_OR_RETURN(const Value* time_us, Member(v, "time_us", Value::Kind::kInt, "an integer"));
  e.time_us = time_us->as_int();
  TC_ASSIGN_OR_RETURN(const Value* actor, Member(v, "actor", Value::Kind::kObject, "an object"));
  TC_ASSIGN_OR_RETURN(e.actor.user, StringMember(*actor, "user"));
  TC_ASSIGN_OR_RETURN(e.actor.role, StringMember(*actor, "role"));
  TC_ASSIGN_OR_RETURN(e.reason, StringMember(v, "reason"));
  TC_ASSIGN_OR_RETURN(const Value* payload, Member(v, "payload", Value::Kind::kObject, "an object"));
  e.payload = *payload;
  TC_ASSIGN_OR_RETURN(e.prev_hash, HashMember(v, "prev_hash"));
  TC_ASSIGN_OR_RETURN(e.hash, HashMember(v, "hash"));
  return e;
}

}  // namespace trialcore::publish
