// The embedded default EventStore: one SQLite file in WAL mode with
// synchronous=FULL, so an append returns only once its commit is on disk
// (unless opened for a bulk load, see SqliteStoreOptions::bulk_load).
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
  // For a bulk load that can simply be run again (`trialcore sim`), never for
  // a server: commits are not synced one by one (synchronous=NORMAL in WAL
  // mode). A crash keeps the database consistent, with its log and
  // projections in step, but may lose the last commits; Sync() makes
  // everything durable and must end the load.
  bool bulk_load = false;
  // Bytes of the file the writing connection maps. Mapped pages count as the
  // process's resident memory once touched, and a long-running server's
  // appends touch pages all over a large file, so `trialcore serve` bounds
  // it to kBoundedMapBytes as the readers' maps are bounded; one-off
  // commands that read the whole log (verify, rebuild) map all of it to read
  // without copying.
  int64_t writer_map_bytes = int64_t{1} << 40;
};

// What each reader maps, and a server's writer: resident memory that does
// not grow with the file.
inline constexpr int64_t kBoundedMapBytes = int64_t{32} << 20;

Result<std::unique_ptr<EventStore>> OpenSqliteEventStore(const std::string& path,
                                                         const SqliteStoreOptions& options = {});

}  // namespace trialcore
