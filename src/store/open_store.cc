#include "store/open_store.h"

#include "store/postgres/postgres_event_store.h"
#include "store/sqlite/sqlite_event_store.h"

namespace trialcore {

bool IsPostgresUrl(std::string_view db_or_url) {
  return db_or_url.starts_with("postgresql://") || db_or_url.starts_with("postgres://");
}

Result<std::unique_ptr<EventStore>> OpenEventStore(const std::string& db_or_url, const StoreOpenOptions& options) {
  if (IsPostgresUrl(db_or_url)) {
    PostgresStoreOptions o;
    o.env = options.env;
    o.create_if_missing = options.create_if_missing;
    // Every commit is durable, so bulk_load changes nothing; a server's
    // memory is bounded by its few connections whatever the study's size.
    return OpenPostgresEventStore(db_or_url, o);
  }
  SqliteStoreOptions o;
  o.env = options.env;
  o.create_if_missing = options.create_if_missing;
  o.bulk_load = options.bulk_load;
  // As the readers' maps: a server's appends touch pages all over a large
  // file, and every page mapped once stays in its resident memory.
  if (options.bounded_memory) o.writer_map_bytes = kBoundedMapBytes;
  return OpenSqliteEventStore(db_or_url, o);
}

}  // namespace trialcore
