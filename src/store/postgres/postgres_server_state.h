// ServerState (store/server_state.h) in tables of the PostgreSQL store's
// database, through the store's pools of connections, so that every server
// of the database shares them. Private to store/postgres.
#pragma once

#include <functional>
#include <memory>

#include "store/postgres/pg_conn.h"
#include "store/server_state.h"

namespace trialcore::pg {

// The tables, made (if missing) whenever the store opens the database.
extern const char* const kServerStateSchema;

// Runs fn on a pooled connection: a read-only one, or one that may write.
using WithConn = std::function<Status(const std::function<Status(Conn&)>& fn)>;

std::unique_ptr<ServerState> NewPostgresServerState(WithConn read, WithConn write);

}  // namespace trialcore::pg
