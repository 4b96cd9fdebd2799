// The SQL that keeps a registered projection table (store/projection.h), made
// once for every back end: the same statements in each engine's dialect, so
// that "the same projections" is one piece of code, not one per back end.
#pragma once

#include <string>

#include "store/projection.h"

namespace trialcore {

enum class SqlDialect { kSqlite, kPostgres };

struct ProjectionTableSql {
  const ProjectionTable* table = nullptr;
  // A row by all its columns, in column order ($1.. or ?1..).
  std::string upsert;
  // The upsert of a row whose indexed columns keep their values, which
  // leaves the indexes alone (SQLite rewrites an index's entry whenever an
  // UPDATE sets one of its columns, changed or not: 4.6x slower on
  // cap_subjects' three indexes); empty when the table has no index.
  std::string upsert_same_index;
  std::string remove;        // a row by its key columns
  std::string delete_study;  // every row of the study given first
  std::string order_by;      // the key columns, for reads in key order
};

ProjectionTableSql MakeProjectionTableSql(const ProjectionTable& t, SqlDialect dialect);
// The table without its indexes, and the indexes: a rewrite of many rows
// fills the table first and indexes it after.
std::string CreateProjectionTableSql(const ProjectionTable& t, SqlDialect dialect);
std::string CreateProjectionIndexesSql(const ProjectionTable& t);

}  // namespace trialcore
