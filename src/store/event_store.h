// EventStore: the append-only log of every study and the projections kept in
// step with it (DESIGN.md §1). Two back ends keep the contract stated in
// doc/event_store.md: SQLite (the embedded default) and PostgreSQL; open one
// with OpenEventStore (store/open_store.h).
//
// Thread safety: every method may be called from any number of threads.
// Concurrent appends share transactions and fsyncs (group commit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/canonical.h"
#include "core/event.h"
#include "core/signing.h"
#include "core/status.h"
#include "store/projection.h"
#include "store/server_state.h"

namespace trialcore {

// The database format this build reads and writes (meta.format_version), the
// same number in every back end.
inline constexpr int kDatabaseFormatVersion = 1;

// Expected version of a stream for optimistic concurrency.
inline constexpr int64_t kAnyVersion = -1;  // no check
inline constexpr int64_t kNoStream = 0;     // the stream must not exist yet

struct AppendRequest {
  std::string study;
  std::vector<EventDraft> events;  // appended atomically, in order
  // Streams whose current version must equal the given one, else Aborted.
  std::map<std::string, int64_t> expected_versions;
  // Keeps registered projection tables in step with the batch, in its
  // transaction (store/projection.h); optional.
  Projector project;
};

// Filters for reading the log. Unset members do not filter.
struct EventFilter {
  std::optional<std::string> study;
  std::optional<std::string> stream;  // requires study
  uint64_t after_seq = 0;
  std::optional<int64_t> until_time_us;  // inclusive
  size_t limit = SIZE_MAX;               // at most this many events
};

// One stored event as a verifier needs it: every field as stored, untrusted.
// The views are valid only during the callback that receives them.
struct StoredRecord {
  RecordFields fields;       // rebuild the record with EncodeEventRecord
  std::string_view payload;  // canonical bytes of the payload
  int64_t format_version = 0;
  std::string_view prev_hash;  // as stored
  std::string_view hash;       // as stored
};

// The current value of an entity (projection entity_values), or its value as
// of a time.
struct EntityValue {
  std::string path;
  Value value;       // null when cleared
  uint64_t seq = 0;  // the event that set it
  int64_t time_us = 0;
  Actor actor;
};

struct StudyHead {
  std::string study;
  uint64_t size = 0;  // number of events
  Hash head_hash{};   // hash of the last event; zeros when empty
  uint64_t last_seq = 0;
};

struct InclusionProof {
  Event event;
  std::string record;  // canonical bytes the event hash covers
  std::vector<Hash> path;
  Checkpoint checkpoint;
};

struct ConsistencyProof {
  Checkpoint from;
  Checkpoint to;
  std::vector<Hash> path;
};

// Counters since the store was opened, for /metrics and benchmarks.
struct StoreMetrics {
  uint64_t commits = 0;  // transactions committed (each one fsync of the log)
  uint64_t appends = 0;  // Append calls that succeeded
  uint64_t events = 0;   // events appended
  // Batches whose projector ran again inside the transaction because their
  // events were stored with another time or stream version than it was
  // first given (store/projection.h).
  uint64_t projected_in_commit = 0;
};

class Subscription {
 public:
  virtual ~Subscription() = default;  // stops delivery and joins
};

class EventStore {
 public:
  virtual ~EventStore() = default;

  // Appends the batch atomically and returns the stored events once they are
  // durable. Errors: InvalidArgument (bad draft), Aborted (expected version
  // not met), FailedPrecondition (a changed value without a reason),
  // IoError/ResourceExhausted (disk); nothing of a failed batch is stored.
  virtual Result<std::vector<Event>> Append(const AppendRequest& request) = 0;

  // Makes every append so far durable. Appends are durable when they return
  // unless the store was opened for a bulk load (StoreOpenOptions::bulk_load),
  // which must end with this before it reports success.
  virtual Status Sync() { return Status::Ok(); }

  // Calls fn for each matching event in sequence order; stops at fn's error.
  virtual Status ForEachEvent(const EventFilter& filter, const std::function<Status(const Event&)>& fn) = 0;
  Result<std::vector<Event>> ReadEvents(const EventFilter& filter, size_t limit = SIZE_MAX);
  Result<Event> ReadEvent(uint64_t seq);

  // Records of a study with from_seq <= seq <= to_seq, in sequence order, for
  // verification. fn runs while the store is being read and must not call
  // the store. Calls for different ranges may run concurrently.
  virtual Status ForEachStoredRecord(const std::string& study, int64_t from_seq, int64_t to_seq,
                                     const std::function<Status(const StoredRecord&)>& fn) = 0;

  virtual Result<std::vector<StudyHead>> Heads() = 0;
  virtual StoreMetrics Metrics() = 0;
  virtual Result<uint64_t> LastSeq() = 0;

  // Delivers every event after after_seq, then new ones as they are committed
  // (by this process or another), on a thread of the subscription's own.
  // Destroy every subscription before the store.
  virtual std::unique_ptr<Subscription> Subscribe(uint64_t after_seq, std::function<void(const Event&)> handler) = 0;

  // Projections.
  virtual Result<std::optional<EntityValue>> ReadEntity(const std::string& study, const std::string& path) = 0;
  // Every entity under stream (paths equal to it or below it), as of a time
  // or now, replayed from the log.
  virtual Result<std::vector<EntityValue>> ReadStreamAsOf(const std::string& study, const std::string& stream,
                                                          std::optional<int64_t> as_of_us) = 0;
  // Drops the projection tables and replays the whole log into them.
  virtual Result<uint64_t> RebuildProjections() = 0;
  // Every projection row (entity_values and every registered table) in key
  // order, as text; equal dumps mean equal tables.
  virtual Result<std::string> DumpProjections() = 0;

  // Creates a projection set's tables and indexes. True when they were made
  // empty (a new store, or one whose tables another version of the set made,
  // which are dropped): their owner must then rewrite every study's rows.
  virtual Result<bool> RegisterProjections(const ProjectionSet& set) = 0;
  // Replaces every row of the study in the set's tables by what fn writes,
  // in one transaction that holds appends off; fn reads the study's log
  // through its second argument, each event's payload without its member
  // "set" (DecodePayloadWithoutSet: the entity values are the store's own
  // projection).
  virtual Status RewriteProjections(const std::string& set, const std::string& study,
                                    const std::function<Status(ProjectionWriter&, const StudyEventsByStream&)>& fn) = 0;
  // Read-only SQL over projection tables, with parameters $1, $2 ...; fn
  // gets each row's columns. Readers see committed appends only.
  virtual Status QueryProjections(const std::string& sql, const std::vector<Value>& params,
                                  const std::function<Status(const ProjectionRow&)>& fn) = 0;

  // Copying a database (`trialcore db copy`): appends events exactly as
  // another store holds them, same numbers, times and hashes. The first must
  // take the number after LastSeq(); each must continue its study's chain
  // (study_index, prev_hash) and its hash must be that of its record, else
  // DataLoss and nothing of the call is stored. No reason-for-change rule:
  // the events were accepted where they were written. The projections are
  // not kept in step: the copier rebuilds them at the end.
  virtual Status ImportEvents(const std::vector<Event>& events) {
    (void)events;
    return Unimplemented("this store cannot import events");
  }
  // Stores a checkpoint signed elsewhere, as it is (verify it after).
  virtual Status ImportCheckpoint(const Checkpoint& checkpoint) {
    (void)checkpoint;
    return Unimplemented("this store cannot import checkpoints");
  }

  // The sessions and login attempts that servers of this database share
  // (store/server_state.h), in its tables; lives as long as the store.
  virtual ServerState& server_state() = 0;

  // Tamper evidence.
  virtual Result<Checkpoint> CreateCheckpoint(const std::string& study, const SigningKey& key) = 0;
  virtual Result<std::vector<Checkpoint>> Checkpoints(const std::string& study) = 0;
  // Proves the event at seq is in the study's latest checkpoint.
  virtual Result<InclusionProof> ProveInclusion(uint64_t seq) = 0;
  // Proves the checkpoint at to_size extends the one at from_size.
  virtual Result<ConsistencyProof> ProveConsistency(const std::string& study, uint64_t from_size, uint64_t to_size) = 0;

 protected:
  // What every back end can build from the methods above, so that each does
  // it the same way.
  // ReadStreamAsOf by replaying the stream's events (ForEachEvent).
  Result<std::vector<EntityValue>> ReplayStreamAsOf(const std::string& study, const std::string& stream,
                                                    std::optional<int64_t> as_of_us);
  // The Merkle leaf hashes of a study's first size events (DataLoss when it
  // has fewer).
  using LeafHashSource = std::function<Result<std::vector<Hash>>(const std::string& study, uint64_t size)>;
  // Proofs from Checkpoints(), ReadEvent() and the leaves.
  Result<InclusionProof> BuildInclusionProof(uint64_t seq, const LeafHashSource& leaves);
  Result<ConsistencyProof> BuildConsistencyProof(const std::string& study, uint64_t from_size, uint64_t to_size,
                                                 const LeafHashSource& leaves);
};

}  // namespace trialcore
