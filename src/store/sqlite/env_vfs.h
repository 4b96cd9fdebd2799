// A SQLite VFS whose files go through an Env, so that the store's tests can run
// SQLite on in-memory files with injected faults and simulated power cuts.
// It offers no shared memory and no locks: SQLite must use locking_mode
// EXCLUSIVE (the WAL index then lives in heap memory) and one connection.
#pragma once

#include <string>

#include "core/env.h"

namespace trialcore {

// Registers (once per Env) and returns the VFS name to pass to sqlite3_open_v2.
std::string RegisterEnvVfs(Env* env);

}  // namespace trialcore
