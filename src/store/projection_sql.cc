#include "store/projection_sql.h"

#include <set>

namespace trialcore {

ProjectionTableSql MakeProjectionTableSql(const ProjectionTable& t, SqlDialect dialect) {
  const char* mark = dialect == SqlDialect::kSqlite ? "?" : "$";
  ProjectionTableSql q;
  q.table = &t;
  std::string cols, params, keys, key_match, updates;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    const std::string& c = t.columns[i].name;
    const std::string p = mark + std::to_string(i + 1);
    cols += (i ? ", " : "") + c;
    params += (i ? ", " : "") + p;
    if (i < t.key_size) {
      keys += (i ? ", " : "") + c;
      key_match += (i ? " AND " : "") + c + " = " + p;
    } else {
      updates += (updates.empty() ? "" : ", ") + c + " = excluded." + c;
    }
  }
  const std::string insert =
      "INSERT INTO " + t.name + "(" + cols + ") VALUES (" + params + ") ON CONFLICT(" + keys + ")";
  q.upsert = insert + " DO " + (updates.empty() ? std::string("NOTHING") : "UPDATE SET " + updates);
  std::set<std::string> indexed;
  for (const auto& index : t.indexes) indexed.insert(index.begin(), index.end());
  std::string same, plain_updates;
  for (size_t i = t.key_size; i < t.columns.size(); ++i) {
    const std::string& c = t.columns[i].name;
    if (indexed.contains(c)) {
      same += (same.empty() ? "" : " AND ") + c + (dialect == SqlDialect::kSqlite ? " IS " : " IS NOT DISTINCT FROM ") +
              "excluded." + c;
    } else {
      plain_updates += (plain_updates.empty() ? "" : ", ") + c + " = excluded." + c;
    }
  }
  // With nothing but indexed columns to set, a no-op update of the first key
  // column still counts the row as written.
  if (plain_updates.empty()) plain_updates = t.columns[0].name + " = excluded." + t.columns[0].name;
  if (!same.empty()) q.upsert_same_index = insert + " DO UPDATE SET " + plain_updates + " WHERE " + same;
  q.remove = "DELETE FROM " + t.name + " WHERE " + key_match;
  q.delete_study = "DELETE FROM " + t.name + " WHERE " + t.columns[0].name + " = " + mark + "1";
  q.order_by = keys;
  return q;
}

std::string CreateProjectionTableSql(const ProjectionTable& t, SqlDialect dialect) {
  const bool sqlite = dialect == SqlDialect::kSqlite;
  std::string sql = "CREATE TABLE " + t.name + "(";
  std::string keys;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    const auto& c = t.columns[i];
    // PostgreSQL: SQLite's INTEGER is 64 bits, and text keys compare bytewise.
    const char* type = c.type == ProjectionColumn::Type::kInt ? (sqlite ? " INTEGER" : " BIGINT")
                                                              : (sqlite ? " TEXT" : " TEXT COLLATE \"C\"");
    sql += c.name + type + ", ";
    if (i < t.key_size) keys += (i ? ", " : "") + c.name;
  }
  return sql + "PRIMARY KEY(" + keys + "))" + (sqlite ? " WITHOUT ROWID;" : ";");
}

std::string CreateProjectionIndexesSql(const ProjectionTable& t) {
  std::string sql;
  int n = 0;
  for (const auto& index : t.indexes) {
    std::string cols;
    for (const auto& c : index) cols += (cols.empty() ? "" : ", ") + c;
    sql += "CREATE INDEX " + t.name + "_" + std::to_string(++n) + " ON " + t.name + "(" + cols + ");";
  }
  return sql;
}

}  // namespace trialcore
