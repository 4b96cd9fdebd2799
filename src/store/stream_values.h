// The entity values a replay of the log leaves, computed one stream at a
// time, for rebuilding the entity_values projection with memory that does
// not grow with the study.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace trialcore {

// Every path an event sets lies inside the event's stream (ValidateAppend),
// so once a stream's events have been read its paths' last values are
// final: a rebuild reads the log by stream and holds one stream at a time.
class StreamValues {
 public:
  // The set entries of the stream's next event; events come in stream
  // order. DataLoss when the payload sets a path outside the stream (a log
  // this store's appends could not have written).
  Status Add(std::string_view stream, uint64_t seq, std::string_view payload);

  // fn(path, value bytes, seq) for the last value of each path of the
  // stream, in path order; then the stream is forgotten.
  Status Drain(const std::function<Status(std::string_view path, std::string_view value, uint64_t seq)>& fn);

 private:
  struct Entry {
    size_t path_at, path_size, value_at, value_size;
    uint64_t seq;
  };
  std::string bytes_;  // every entry's path and value, reused from stream to stream
  std::vector<Entry> entries_;
};

}  // namespace trialcore
