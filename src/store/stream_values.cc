#include "store/stream_values.h"

#include <algorithm>

#include "core/event.h"
#include "store/append_rules.h"

namespace trialcore {

Status StreamValues::Add(std::string_view stream, uint64_t seq, std::string_view payload) {
  return ForEachSetEntry(payload, [&](std::string_view path, std::string_view value) -> Status {
    if (!IsUnderPath(path, stream)) {
      return DataLoss("event " + std::to_string(seq) + " of stream " + std::string(stream) + " sets \"" +
                      std::string(path) + "\", outside its stream");
    }
    const size_t at = bytes_.size();
    bytes_.append(path).append(value);
    entries_.push_back(Entry{at, path.size(), at + path.size(), value.size(), seq});
    return Status::Ok();
  });
}

Status StreamValues::Drain(const std::function<Status(std::string_view, std::string_view, uint64_t)>& fn) {
  auto path = [&](const Entry& e) { return std::string_view(bytes_).substr(e.path_at, e.path_size); };
  // Entries came in log order; a stable sort keeps it among equal paths, so
  // the last of each run is the path's last value.
  std::stable_sort(entries_.begin(), entries_.end(), [&](const Entry& a, const Entry& b) { return path(a) < path(b); });
  Status s = Status::Ok();
  for (size_t i = 0; i < entries_.size() && s.ok(); ++i) {
    if (i + 1 < entries_.size() && path(entries_[i + 1]) == path(entries_[i])) continue;
    const Entry& e = entries_[i];
    s = fn(path(e), std::string_view(bytes_).substr(e.value_at, e.value_size), e.seq);
  }
  bytes_.clear();
  entries_.clear();
  return s;
}

}  // namespace trialcore
