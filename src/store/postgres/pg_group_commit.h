// Group commit for the PostgreSQL store: the appends that arrive while one
// transaction commits are written together by the next, under one lock of
// the log and one fsync (doc/event_store.md). Each batch's checks (expected
// versions, the reason-for-change rule, its projector) are decided on this
// side from a few reads, so a batch that fails them writes nothing and
// needs no savepoint; the others' writes go in one pipeline.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "store/event_store.h"
#include "store/postgres/pg_conn.h"
#include "store/projection_recorder.h"
#include "store/projection_sql.h"

namespace trialcore::pg {

using TableSqlMap = std::map<std::string, ProjectionTableSql, std::less<>>;

// The channel every commit of an append notifies (payload: its last seq).
inline constexpr const char* kEventsChannel = "trialcore_events";

struct PendingAppend {
  const AppendRequest* request = nullptr;
  std::vector<std::string> payloads;  // canonical bytes, encoded by the caller
  int64_t time_us = 0;                // read by the caller; never before the log's last
  ProjectedAhead ahead;
  Result<std::vector<Event>> result = Status(StatusCode::kInternal, "not committed");
  bool taken = false;  // by a leader, into its group
  bool done = false;
  std::condition_variable cv;
};

// What the group's transaction came to: an error that fails every batch
// that passed its checks (each batch's own refusal is in its result), and
// whether COMMIT was sent, after which the outcome of a lost connection is
// unknown.
struct GroupOutcome {
  Status status = Status::Ok();
  bool committing = false;
};

// Runs the group's transaction on conn, in two round trips: BEGIN, the
// log's lock and the reads the checks need; then every passing batch's
// writes, the log's new head, the notification and COMMIT. recorded_sets:
// the projection sets this process writes, as meta recorded them when it
// registered them (another version since then stops its writes). Rolls back
// on any error. checked: called once the batches have been checked against
// what the reads returned, before the writes are sent (or not at all when
// the group fails before then): the next group may start its reads from
// then on, on another connection, as they wait for this one's lock.
GroupOutcome CommitGroup(Conn& conn, const TableSqlMap& tables, const std::map<std::string, std::string>& recorded_sets,
                         const std::vector<PendingAppend*>& group, const std::function<void()>& checked);

// FailedPrecondition when a projection set this process writes (mine, by
// name) is recorded otherwise now.
Status ProjectionSetsUnchanged(const std::map<std::string, std::string>& mine,
                               const std::map<std::string, std::string>& now);
// The version a recorded projection set starts with.
int64_t RecordedVersion(const std::string& recorded);

// The INSERT of one event as stored (also for imported events).
Statement InsertEventStatement(const Event& e, std::string_view payload);
// A projection row's value as a parameter.
Result<Param> ParamOf(const Value& v, std::string_view what);

}  // namespace trialcore::pg
