// ServerState (store/server_state.h) in tables of the SQLite store's own
// file, read and written through the store's connections, so that every
// process serving the file shares them. Private to store/sqlite.
#pragma once

#include <functional>
#include <memory>

#include "store/server_state.h"
#include "store/sqlite/sqlite_db.h"

namespace trialcore::sqlite {

// The tables, made when the store opens the file (new or not).
extern const char* const kServerStateSchema;

// Runs fn on a connection: a reader's (may run beside others) or the
// writer's (one at a time, in no transaction).
using WithDb = std::function<Status(const std::function<Status(Db&)>& fn)>;

std::unique_ptr<ServerState> NewSqliteServerState(WithDb read, WithDb write);

}  // namespace trialcore::sqlite
