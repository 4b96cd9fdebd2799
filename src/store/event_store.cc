#include "store/event_store.h"

#include <algorithm>

#include "core/merkle.h"

namespace trialcore {

Result<std::vector<Event>> EventStore::ReadEvents(const EventFilter& filter, size_t limit) {
  std::vector<Event> out;
  EventFilter f = filter;
  f.limit = std::min(f.limit, limit);
  TC_RETURN_IF_ERROR(ForEachEvent(f, [&](const Event& e) {
    out.push_back(e);
    return Status::Ok();
  }));
  return out;
}

Result<Event> EventStore::ReadEvent(uint64_t seq) {
  if (seq == 0) return InvalidArgument("sequence numbers start at 1");
  EventFilter f;
  f.after_seq = seq - 1;
  TC_ASSIGN_OR_RETURN(auto events, ReadEvents(f, 1));
  if (events.empty() || events[0].seq != seq) return NotFound("no event with sequence number " + std::to_string(seq));
  return events[0];
}

Result<std::vector<EntityValue>> EventStore::ReplayStreamAsOf(const std::string& study, const std::string& stream,
                                                              std::optional<int64_t> as_of_us) {
  EventFilter f;
  f.study = study;
  f.stream = stream;
  f.until_time_us = as_of_us;
  std::map<std::string, EntityValue> state;
  TC_RETURN_IF_ERROR(ForEachEvent(f, [&](const Event& e) -> Status {
    const Value* set = e.payload.Find("set");
    if (!set || !set->is_object()) return Status::Ok();
    for (const auto& [path, v] : set->as_object()) state[path] = EntityValue{path, v, e.seq, e.time_us, e.actor};
    return Status::Ok();
  }));
  std::vector<EntityValue> out;
  for (auto& [path, v] : state) out.push_back(std::move(v));
  return out;
}

Result<InclusionProof> EventStore::BuildInclusionProof(uint64_t seq, const LeafHashSource& leaves) {
  TC_ASSIGN_OR_RETURN(Event e, ReadEvent(seq));
  TC_ASSIGN_OR_RETURN(auto checkpoints, Checkpoints(e.study));
  if (checkpoints.empty() || checkpoints.back().tree_size <= e.study_index) {
    return FailedPrecondition("no checkpoint of " + e.study + " covers event " + std::to_string(seq) +
                              " yet; run `trialcore audit checkpoint` first");
  }
  InclusionProof proof;
  proof.checkpoint = checkpoints.back();
  TC_ASSIGN_OR_RETURN(auto hashes, leaves(e.study, proof.checkpoint.tree_size));
  proof.path = MerkleInclusionProof(hashes, e.study_index);
  TC_ASSIGN_OR_RETURN(proof.record, EncodeEventRecord(e));
  proof.event = std::move(e);
  return proof;
}

Result<ConsistencyProof> EventStore::BuildConsistencyProof(const std::string& study, uint64_t from_size,
                                                           uint64_t to_size, const LeafHashSource& leaves) {
  if (from_size == 0 || from_size > to_size) {
    return InvalidArgument("a consistency proof needs 0 < from size <= to size, got " + std::to_string(from_size) +
                           " and " + std::to_string(to_size));
  }
  TC_ASSIGN_OR_RETURN(auto checkpoints, Checkpoints(study));
  auto find = [&](uint64_t size) -> Result<Checkpoint> {
    for (const auto& c : checkpoints) {
      if (c.tree_size == size) return c;
    }
    return NotFound("study " + study + " has no checkpoint at tree size " + std::to_string(size));
  };
  ConsistencyProof proof;
  TC_ASSIGN_OR_RETURN(proof.from, find(from_size));
  TC_ASSIGN_OR_RETURN(proof.to, find(to_size));
  TC_ASSIGN_OR_RETURN(auto hashes, leaves(study, to_size));
  proof.path = MerkleConsistencyProof(hashes, from_size);
  return proof;
}

}  // namespace trialcore
