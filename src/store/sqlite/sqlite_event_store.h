// The embedded default EventStore: one SQLite file in WAL mode with
// synchronous=FULL, so an append returns only once its commit is on disk.
#pragma once

#include <memory>
#include <string>

#include "core/env.h"
#include "store/event_store.h"

namespace trialcore {

struct SqliteStoreOptions {
  // Files, clock and randomness. With the POSIX Env SQLite uses its own unix
  // file layer (multi-process locking, shared-memory WAL index); with any
  // other Env its files go through the Env and one process owns the file.
  Env* env = Env::Default();
  bool create_if_missing = true;
  // How long to wait for another process holding the write lock.
  int busy_timeout_ms = 10000;
  // Upper bound on events committed in one group-commit transaction.
  size_t max_group_events = 20000;
};

// The on-disk database format this build reads and writes (meta.format_version).
inline constexpr int kDatabaseFormatVersion = 1;

Result<std::unique_ptr<EventStore>> OpenSqliteEventStore(const std::string& path,
                                                         const SqliteStoreOptions& options = {});

}  // namespace trialcore
