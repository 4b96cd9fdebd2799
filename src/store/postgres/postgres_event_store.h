// The EventStore on PostgreSQL 15, the system of record when several
// servers share one database (DESIGN.md §4). Same events, canonical bytes and
// hashes as the SQLite store; how sequence numbers are assigned so that no
// reader skips an event is in doc/event_store.md.
#pragma once

#include <memory>
#include <string>

#include "core/env.h"
#include "store/event_store.h"

namespace trialcore {

struct PostgresStoreOptions {
  Env* env = Env::Default();  // the clock of event times and checkpoints
  // False: a database without trialcore's tables is NotFound.
  bool create_if_missing = true;
  // Connections kept for concurrent readers and writers; more callers wait.
  size_t max_connections = 8;
  // An appending transaction that waits on its client longer than this (a
  // process frozen or killed by a debugger mid-append) is ended by the
  // server (idle_in_transaction_session_timeout), releasing the log's lock
  // that every other appender waits for; nothing of it is stored.
  int64_t stalled_transaction_timeout_ms = 30'000;
};

// url: postgresql://user@host:port/database (libpq's URL form).
Result<std::unique_ptr<EventStore>> OpenPostgresEventStore(const std::string& url,
                                                           const PostgresStoreOptions& options = {});

}  // namespace trialcore
