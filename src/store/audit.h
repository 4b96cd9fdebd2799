// Reading the audit trail: verifying a study's hash chain and checkpoints, and
// listing who changed what, when, from which value to which, and why.
#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/signing.h"
#include "store/event_store.h"

namespace trialcore {

struct VerifyProblem {
  uint64_t seq = 0;  // the first event found wrong (or the one after the log's end)
  uint64_t study_index = 0;
  std::string what;
};

struct StudyVerification {
  std::string study;
  uint64_t events = 0;
  uint64_t bytes = 0;  // canonical bytes hashed
  Hash head{};         // hash of the last event
  Hash root{};         // Merkle root over all events
  size_t checkpoints_checked = 0;
  std::optional<VerifyProblem> problem;  // empty when everything verified
};

struct VerifyOptions {
  size_t threads = 0;            // workers; 0: one per core
  int64_t range_seqs = 1 << 16;  // sequence numbers per range a worker reads at once
};

// Walks the study's chain from its first event, recomputing every hash, and
// checks every stored checkpoint and every extra one (for example a
// checkpoint a sponsor kept elsewhere, which catches a truncated log even if
// the stored checkpoints were removed). Signatures are checked with
// trusted_key when given, else with the key each checkpoint names.
// The study is read in ranges of sequence numbers, one worker thread per core
// (options): each worker hashes its events and checks each against the one
// before it; this thread checks where the ranges meet and grows the Merkle
// tree. The result and the problem reported are the same whatever the options.
// A Status error means the walk could not run; a found problem is not an error.
// progress, when given, is called with the number of events checked so far
// every few tens of thousands of events.
Result<StudyVerification> VerifyStudy(EventStore& store, const std::string& study,
                                      const std::vector<Checkpoint>& extra_checkpoints,
                                      const std::optional<std::string>& trusted_key,
                                      const std::function<void(uint64_t)>& progress = {},
                                      const VerifyOptions& options = {});

struct AuditFilter {
  std::string study;
  std::optional<std::string> subject;      // the subject's id: stream subject/<id>
  std::optional<std::string> path_prefix;  // entity path or a prefix of it, at a '/' boundary
  std::optional<std::string> user;
  std::optional<int64_t> from_us;  // inclusive
  std::optional<int64_t> to_us;    // inclusive
};

// One line of the audit trail: one entity changed by one event, or the event
// itself when it sets no entity.
struct AuditEntry {
  uint64_t seq = 0;
  int64_t time_us = 0;
  Actor actor;
  std::string type;
  std::string stream;
  std::string path;
  std::optional<Value> old_value;  // empty when the entity had none
  std::optional<Value> new_value;
  std::string reason;
  // For an event that sets no entity, what else it says (its payload): the
  // subject an audit.viewed event viewed, a failed login's client and cause.
  Value::Object details;
};

Status ForEachAuditEntry(EventStore& store, const AuditFilter& filter,
                         const std::function<Status(const AuditEntry&)>& fn);

// A stream's audit trail read event by event, in batches of events fetched
// by sequence number after the last one read (the events' stream index), so
// that a page or an export never holds a whole trail. Old values come from
// the stream's entity values replayed so far, which it keeps (one subject's
// entities, not a study's). Not thread-safe; one reader per walk.
class AuditReader {
 public:
  AuditReader(EventStore& store, std::string study, std::string stream, size_t batch = 512);

  // The next event's entries, in path order: one per entity it set, or the
  // event itself when it sets none. False when the trail has ended.
  Result<bool> Next(std::vector<AuditEntry>* entries);

 private:
  EventStore& store_;
  const std::string study_, stream_;
  const size_t batch_size_;
  std::deque<Event> batch_;
  uint64_t after_seq_ = 0;
  bool ended_ = false;
  std::unordered_map<std::string, Value> current_;
};

}  // namespace trialcore
