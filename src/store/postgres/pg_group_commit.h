// Group commit for the PostgreSQL store: the appends that arrive while one
// transaction commits are written together by the next, under one lock of
// the log and one fsync (doc/event_store.md). Each batch's checks (expected
// versions, the reason-for-change rule, its projector) are decided on this
// side from a few reads, so a batch that fails them writes nothing and
// needs no savepoint; the others' writes go in one pipeline.
#pragma once

#include <condition_variable>
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
  bool done = false;
  std::condition_variable cv;
};

struct LogHead {
  uint64_t last_seq = 0;
  int64_t last_time_us = 0;
};

// Writes the group in conn's open transaction, which holds the log's lock
// (head: what it read under it). Sets each batch's result; returns the new
// head (unchanged when no batch passed its checks), or an error that fails
// the whole group, whose transaction must then be rolled back.
Result<LogHead> WriteGroup(Conn& conn, const TableSqlMap& tables, LogHead head,
                           const std::vector<PendingAppend*>& group);

// The INSERT of one event as stored (also for imported events).
Statement InsertEventStatement(const Event& e, std::string_view payload);
// A projection row's value as a parameter.
Result<Param> ParamOf(const Value& v, std::string_view what);

}  // namespace trialcore::pg
