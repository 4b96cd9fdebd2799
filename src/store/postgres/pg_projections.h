// The projection tables on PostgreSQL: rows written by key outside the group
// commit (a rewrite), and the parameters a caller's query names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/event_store.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/pg_group_commit.h"

namespace trialcore::pg {

// Puts and deletes each row at once, one statement each.
class PgProjectionWriter final : public ProjectionWriter {
 public:
  PgProjectionWriter(Conn& conn, const TableSqlMap& tables) : conn_(conn), tables_(tables) {}

  Status Put(const std::string& table, const ProjectionRow& row) override {
    TC_ASSIGN_OR_RETURN(const ProjectionTableSql* t, Find(table));
    if (row.size() != t->table->columns.size()) {
      return InvalidArgument("a row of " + table + " needs " + std::to_string(t->table->columns.size()) +
                             " values, got " + std::to_string(row.size()));
    }
    std::vector<Param> params;
    for (size_t i = 0; i < row.size(); ++i) {
      TC_ASSIGN_OR_RETURN(Param p, ParamOf(row[i], table + "." + t->table->columns[i].name));
      params.push_back(std::move(p));
    }
    return conn_.Query(t->upsert, params).status();
  }

  Status Delete(const std::string& table, const ProjectionRow& key) override {
    TC_ASSIGN_OR_RETURN(const ProjectionTableSql* t, Find(table));
    if (key.size() < t->table->key_size) return InvalidArgument("a key of " + table + " is too short");
    std::vector<Param> params;
    for (size_t i = 0; i < t->table->key_size; ++i) {
      TC_ASSIGN_OR_RETURN(Param p, ParamOf(key[i], table + "." + t->table->columns[i].name));
      params.push_back(std::move(p));
    }
    return conn_.Query(t->remove, params).status();
  }

 private:
  Result<const ProjectionTableSql*> Find(const std::string& table) const {
    auto it = tables_.find(table);
    if (it == tables_.end()) return FailedPrecondition("projection table " + table + " is not registered");
    return &it->second;
  }
  Conn& conn_;
  const TableSqlMap& tables_;
};

// The numbers of the parameters ($N) a statement names outside quotes and
// comments; PostgreSQL cannot type a parameter that is never used.
std::vector<bool> ParametersUsed(std::string_view sql, size_t count);

}  // namespace trialcore::pg
