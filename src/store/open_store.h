// The one door from a `--db` argument to an EventStore (DESIGN.md §4): a
// file path opens the embedded SQLite store, a postgresql:// or postgres://
// URL opens PostgreSQL. Nothing above src/store/ names a back end; what a
// caller needs to say about how it holds the store is in StoreOpenOptions.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/env.h"
#include "store/event_store.h"

namespace trialcore {

struct StoreOpenOptions {
  // Files, clock and randomness. SQLite: with any Env but the POSIX one the
  // file goes through the Env (in-memory stores of tests and the scenario
  // runner) and one process owns it. PostgreSQL: the clock only.
  Env* env = Env::Default();
  // False: a database that does not exist (a missing file, a PostgreSQL
  // database without trialcore's tables) is NotFound, and nothing is made.
  bool create_if_missing = true;
  // A server whose resident memory must not grow with the study however long
  // it runs (`trialcore serve`); false for one-off commands that may map a
  // whole log to read it once (verify, rebuild).
  bool bounded_memory = false;
  // A load that can simply be run again (`trialcore sim`), never a server:
  // commits need not be durable one by one, and Sync() must end the load
  // (EventStore::Sync).
  bool bulk_load = false;
};

// True for the URL schemes PostgreSQL's libpq accepts.
bool IsPostgresUrl(std::string_view db_or_url);

// Opens (or, with create_if_missing, creates) the store. Errors name the file
// or the host, port and database.
Result<std::unique_ptr<EventStore>> OpenEventStore(const std::string& db_or_url, const StoreOpenOptions& options = {});

}  // namespace trialcore
