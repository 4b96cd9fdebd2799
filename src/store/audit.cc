#include "store/audit.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>

#include "core/canonical.h"
#include "core/merkle.h"

namespace trialcore {
namespace {

bool BytesEqual(const std::string& bytes, const Hash& h) {
  return bytes.size() == h.size() && std::memcmp(bytes.data(), h.data(), h.size()) == 0;
}

std::string Short(std::string_view hex) { return std::string(hex.substr(0, 16)) + "…"; }

bool UnderPrefix(std::string_view path, std::string_view prefix) {
  return path == prefix ||
         (path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix && path[prefix.size()] == '/');
}

}  // namespace

Result<StudyVerification> VerifyStudy(EventStore& store, const std::string& study,
                                      const std::vector<Checkpoint>& extra_checkpoints,
                                      const std::optional<std::string>& trusted_key) {
  StudyVerification v;
  v.study = study;
  TC_ASSIGN_OR_RETURN(std::vector<Checkpoint> checkpoints, store.Checkpoints(study));
  for (const auto& c : extra_checkpoints) {
    if (c.study != study) {
      return InvalidArgument("checkpoint is for study " + c.study + ", not " + study);
    }
    checkpoints.push_back(c);
  }
  std::stable_sort(checkpoints.begin(), checkpoints.end(),
                   [](const Checkpoint& a, const Checkpoint& b) { return a.tree_size < b.tree_size; });
  size_t next_checkpoint = 0;
  MerkleAccumulator tree;
  Hash prev{};
  uint64_t last_seq = 0;

  auto check_checkpoints = [&]() -> std::optional<std::string> {
    while (next_checkpoint < checkpoints.size() && checkpoints[next_checkpoint].tree_size <= tree.size()) {
      const Checkpoint& c = checkpoints[next_checkpoint++];
      if (c.tree_size == 0) continue;
      Status sig = VerifyCheckpoint(c, trusted_key ? *trusted_key : c.public_key);
      if (!sig.ok()) return "checkpoint at size " + std::to_string(c.tree_size) + ": " + sig.message();
      if (tree.Root() != c.root_hash) {
        return "the log's first " + std::to_string(c.tree_size) + " events do not match the checkpoint signed at " +
               FormatTimeMicros(c.time_us) + " (Merkle root differs): events up to here were altered, removed or "
               "reordered";
      }
      ++v.checkpoints_checked;
    }
    return std::nullopt;
  };

  Status walk = store.ForEachStoredRecord(study, [&](const StoredRecord& r) -> Status {
    auto fail = [&](std::string what) {
      v.problem = VerifyProblem{r.seq, r.study_index, std::move(what)};
      return Aborted("stop");
    };
    if (r.format_version != kEventFormatVersion) {
      return fail("event format version " + std::to_string(r.format_version) + " is not known to this trialcore");
    }
    if (r.study_index != v.events) {
      if (r.study_index > v.events) {
        return fail("the event at position " + std::to_string(v.events) + " is missing (the next stored event has "
                    "position " + std::to_string(r.study_index) + ")");
      }
      return fail("position " + std::to_string(r.study_index) + " appears twice");
    }
    if (r.seq <= last_seq) return fail("sequence number is not after the previous event's " + std::to_string(last_seq));
    if (!BytesEqual(r.prev_hash, prev)) {
      return fail("link to the previous event is broken: stored previous hash " + Short(ToHex(r.prev_hash)) +
                  " but the previous event's hash is " + Short(ToHex(prev)));
    }
    Hash computed = ChainHash(prev, r.record);
    if (!BytesEqual(r.hash, computed)) {
      return fail("content does not match its hash (stored " + Short(ToHex(r.hash)) + ", computed " +
                  Short(ToHex(computed)) + "): the event was altered");
    }
    prev = computed;
    last_seq = r.seq;
    v.bytes += r.record.size();
    ++v.events;
    tree.Add(MerkleLeafHash(AsBytes(computed)));
    if (auto bad = check_checkpoints()) return fail(*bad);
    return Status::Ok();
  });
  if (!walk.ok() && !v.problem) return walk;
  v.head = prev;
  v.root = tree.Root();
  if (!v.problem && next_checkpoint < checkpoints.size()) {
    const Checkpoint& c = checkpoints[next_checkpoint];
    v.problem = VerifyProblem{last_seq + 1, v.events,
                              "the checkpoint signed at " + FormatTimeMicros(c.time_us) + " covers " +
                                  std::to_string(c.tree_size) + " events but the log has only " +
                                  std::to_string(v.events) + ": events were removed from the end"};
  }
  return v;
}

Status ForEachAuditEntry(EventStore& store, const AuditFilter& filter,
                         const std::function<Status(const AuditEntry&)>& fn) {
  TC_RETURN_IF_ERROR(ValidateStudyId(filter.study));
  EventFilter f;
  f.study = filter.study;
  if (filter.subject) {
    if (filter.subject->empty()) return InvalidArgument("subject id is empty");
    f.stream = "subject/" + *filter.subject;
  }
  f.until_time_us = filter.to_us;
  // Old values come from replaying earlier events, so the walk starts at the
  // beginning even when the filter starts later.
  std::unordered_map<std::string, Value> current;
  return store.ForEachEvent(f, [&](const Event& e) -> Status {
    bool shown = (!filter.user || e.actor.user == *filter.user) && (!filter.from_us || e.time_us >= *filter.from_us);
    const Value* set = e.payload.Find("set");
    if (!set || !set->is_object() || set->as_object().empty()) {
      if (shown && (!filter.path_prefix || UnderPrefix(e.stream, *filter.path_prefix))) {
        AuditEntry a{e.seq, e.time_us, e.actor, e.type, e.stream, e.stream, std::nullopt, std::nullopt, e.reason};
        TC_RETURN_IF_ERROR(fn(a));
      }
      return Status::Ok();
    }
    for (const auto& [path, value] : set->as_object()) {
      auto it = current.find(path);
      std::optional<Value> old;
      if (it != current.end()) old = it->second;
      if (shown && (!filter.path_prefix || UnderPrefix(path, *filter.path_prefix))) {
        AuditEntry a{e.seq, e.time_us, e.actor, e.type, e.stream, path, old, value, e.reason};
        TC_RETURN_IF_ERROR(fn(a));
      }
      current[path] = value;
    }
    return Status::Ok();
  });
}

}  // namespace trialcore
