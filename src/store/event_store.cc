#include "store/event_store.h"

#include <algorithm>

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

}  // namespace trialcore
