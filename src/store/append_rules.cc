#include "store/append_rules.h"

#include "core/canonical.h"

namespace trialcore {
namespace {

// The canonical encoding of null (doc/event_log_format.md).
constexpr std::string_view kNullBytes("\0", 1);
// The canonical tag of an object.
constexpr uint8_t kObjectTag = 7;

}  // namespace

Result<std::vector<std::string>> ValidateAppend(const AppendRequest& req) {
  TC_RETURN_IF_ERROR(ValidateStudyId(req.study));
  if (req.events.empty()) return InvalidArgument("an append needs at least one event");
  for (const auto& [stream, version] : req.expected_versions) {
    TC_RETURN_IF_ERROR(ValidateStream(stream));
    if (version < kAnyVersion) return InvalidArgument("expected version of " + stream + " is negative");
  }
  std::vector<std::string> payloads;
  payloads.reserve(req.events.size());
  for (size_t i = 0; i < req.events.size(); ++i) {
    const EventDraft& d = req.events[i];
    Status s = ValidateDraft(d);
    if (s.ok()) {
      std::string bytes;
      s = EncodeValue(d.payload, &bytes);
      if (s.ok()) {
        s = ForEachSetEntry(bytes, [&](std::string_view path, std::string_view) -> Status {
          if (!IsUnderPath(path, d.stream)) {
            return InvalidArgument("entity path \"" + std::string(path) + "\" is not inside stream \"" + d.stream +
                                   "\"");
          }
          return Status::Ok();
        });
      }
      payloads.push_back(std::move(bytes));
    }
    if (!s.ok()) return s.WithContext("event " + std::to_string(i + 1) + " of " + std::to_string(req.events.size()));
  }
  return payloads;
}

Status ForEachSetEntry(std::string_view payload, const std::function<Status(std::string_view, std::string_view)>& fn) {
  TC_ASSIGN_OR_RETURN(std::string_view set, FindMember(payload, "set"));
  if (set.empty()) return Status::Ok();
  if (static_cast<uint8_t>(set[0]) != kObjectTag) {
    return InvalidArgument("payload member \"set\" must be an object of entity path to value");
  }
  return ForEachMember(set, fn);
}

Result<Value> DecodePayloadWithoutSet(std::string_view payload) {
  if (payload.empty() || static_cast<uint8_t>(payload[0]) != kObjectTag) return DecodeValue(payload);
  Value::Object members;
  TC_RETURN_IF_ERROR(ForEachMember(payload, [&](std::string_view key, std::string_view bytes) -> Status {
    if (key == "set") return Status::Ok();
    TC_ASSIGN_OR_RETURN(Value v, DecodeValue(bytes));
    // Canonical members come in key order: each goes at the map's end.
    members.emplace_hint(members.end(), std::string(key), std::move(v));
    return Status::Ok();
  }));
  return Value(std::move(members));
}

Status CheckReasonForChange(const Event& event, std::string_view path, std::optional<std::string_view> stored,
                            std::string_view value) {
  if (!ReasonRuleNeedsStoredValue(event)) return Status::Ok();
  if (stored && *stored != kNullBytes && *stored != value) {
    return FailedPrecondition("a reason for change is required: " + std::string(path) + " already has a value (event " +
                              event.type + ")");
  }
  return Status::Ok();
}

Result<std::string> CheckImportedEvent(const Event& e, uint64_t next_seq, uint64_t study_size, const Hash& study_head) {
  const std::string what = "event " + std::to_string(e.seq) + " of " + e.study;
  if (e.seq != next_seq) {
    return DataLoss(what + " does not follow this database's last one (expected sequence number " +
                    std::to_string(next_seq) + ")");
  }
  if (e.study_index != study_size || e.prev_hash != study_head) {
    return DataLoss(what + " does not continue its study's chain here (position " + std::to_string(e.study_index) +
                    ", expected " + std::to_string(study_size) + ")");
  }
  TC_RETURN_IF_ERROR_CTX(ValidateStudyId(e.study), what);
  std::string payload;
  TC_RETURN_IF_ERROR_CTX(EncodeValue(e.payload, &payload), what);
  std::string record;
  EncodeEventRecord(e, payload, &record);
  if (ChainHash(e.prev_hash, record) != e.hash) return DataLoss(what + ": its hash is not the hash of its record");
  return payload;
}

}  // namespace trialcore
