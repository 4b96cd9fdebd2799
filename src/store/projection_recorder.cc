#include "store/projection_recorder.h"

#include <map>
#include <string_view>

namespace trialcore {

Status ProjectAhead(const AppendRequest& req, int64_t time_us, ProjectedAhead* out) {
  std::map<std::string_view, int64_t> versions;
  for (const EventDraft& d : req.events) {
    if (versions.contains(d.stream)) continue;
    auto expected = req.expected_versions.find(d.stream);
    if (expected == req.expected_versions.end() || expected->second == kAnyVersion) return Status::Ok();
    versions.emplace(d.stream, expected->second);
  }
  out->events.reserve(req.events.size());
  for (const EventDraft& d : req.events) {
    Event e;
    e.study = req.study;
    e.stream = d.stream;
    e.stream_version = static_cast<uint64_t>(++versions[d.stream]);
    e.type = d.type;
    e.time_us = time_us;
    e.actor = d.actor;
    e.reason = d.reason;
    e.payload = d.payload;
    out->events.push_back(std::move(e));
  }
  TC_RETURN_IF_ERROR_CTX(req.project(out->events, out->rows), "updating the projections");
  out->projected = true;
  return Status::Ok();
}

bool ProjectedAheadHolds(const ProjectedAhead& ahead, const std::vector<Event>& stored) {
  if (!ahead.projected || ahead.events.size() != stored.size()) return false;
  for (size_t i = 0; i < stored.size(); ++i) {
    if (ahead.events[i].time_us != stored[i].time_us || ahead.events[i].stream_version != stored[i].stream_version) {
      return false;
    }
  }
  return true;
}

}  // namespace trialcore
