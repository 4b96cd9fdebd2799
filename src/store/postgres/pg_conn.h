// A thin RAII wrapper over libpq's C API: one connection, statements with
// parameters, results read as text. We use libpq rather than libpqxx: the
// store needs a handful of calls (connect, exec with parameters, LISTEN's
// notifications), libpq is the interface PostgreSQL itself maintains, and
// Debian 12's libpqxx 6.4 is an old major version that would add a second
// error model (exceptions) beside our Status. Only src/store/postgres/
// includes this header, so libpq stays out of every other one.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace trialcore::pg {

// One parameter of a statement, sent as text or, for bytea, as raw bytes.
struct Param {
  std::optional<std::string> value;  // nullopt: SQL NULL
  bool binary = false;

  static Param Null() { return Param{}; }
  static Param Text(std::string_view v) { return Param{std::string(v), false}; }
  static Param Int(int64_t v) { return Param{std::to_string(v), false}; }
  static Param Bytes(std::string_view v) { return Param{std::string(v), true}; }
};

// A statement with its parameters, for Conn::Pipeline.
struct Statement {
  std::string sql;
  std::vector<Param> params;
};

// A result in text format; every accessor takes (row, column).
class Rows {
 public:
  explicit Rows(PGresult* r) : r_(r, &PQclear) {}
  int size() const { return PQntuples(r_.get()); }
  int columns() const { return PQnfields(r_.get()); }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string_view Text(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col), static_cast<size_t>(PQgetlength(r_.get(), row, col))};
  }
  int64_t Int(int row, int col) const;
  // A bytea column's bytes (decoded from PostgreSQL's hex text form).
  std::string Bytes(int row, int col) const;
  Oid Type(int col) const { return PQftype(r_.get(), col); }
  PGresult* handle() const { return r_.get(); }

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> r_;
};

// Text to bytea's hex form and back ("\x0a1b...").
std::string DecodeBytea(std::string_view text);

class Conn {
 public:
  // Errors name the server and database from the URL, and libpq's reason.
  static Result<std::unique_ptr<Conn>> Connect(const std::string& url);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // One or more statements without parameters.
  Status Exec(const std::string& sql);
  // One statement with parameters $1, $2 ...; types: one per parameter (0:
  // the server infers it), or empty for all inferred. Query and Pipeline
  // keep each statement's parse and plan on the connection, named, and send
  // only its parameters the next time (see PreparedName).
  Result<Rows> Query(const std::string& sql, const std::vector<Param>& params = {}, const std::vector<Oid>& types = {});
  // Statements sent without waiting for each answer (libpq's pipeline
  // mode): one round trip for many, run in order. The first error is
  // returned, naming its statement (its index in *failed_at); the ones after
  // it are not run. results: each statement's rows, when wanted.
  Status Pipeline(const std::vector<Statement>& statements, std::vector<Rows>* results = nullptr,
                  size_t* failed_at = nullptr);
  // Runs fn in a transaction (BEGIN ... COMMIT); rolls back on fn's error.
  template <typename Fn>
  Status InTransaction(const std::string& begin, Fn&& fn);

  // "host:port/database" for messages.
  const std::string& where() const { return where_; }
  PGconn* handle() const { return conn_; }
  // True when the connection broke (the server went away).
  bool broken() const { return PQstatus(conn_) != CONNECTION_OK; }

 private:
  explicit Conn(PGconn* c);
  Status ErrorOf(PGresult* r, std::string_view what);
  // The name sql (with these parameter types) is prepared under on this
  // connection, or nullptr when it is not kept. *is_new: not yet prepared;
  // the caller prepares it, and forgets it (Forget) if that fails.
  const std::string* PreparedName(const std::string& sql, const std::vector<Oid>& types, bool* is_new);
  void Forget(const std::string& sql, const std::vector<Oid>& types);
  PGconn* conn_;
  std::string where_;
  std::unordered_map<std::string, std::string> prepared_;  // sql and types -> statement name
  uint64_t names_given_ = 0;
};

// The server's SQLSTATE mapped to our codes: serialization failures,
// deadlocks and unique violations are Aborted (a concurrent writer won),
// lost connections IoError, the rest by class.
StatusCode CodeOfSqlState(std::string_view sqlstate);

template <typename Fn>
Status Conn::InTransaction(const std::string& begin, Fn&& fn) {
  TC_RETURN_IF_ERROR(Exec(begin));
  Status s = fn();
  if (s.ok()) s = Exec("COMMIT");
  if (!s.ok()) (void)Exec("ROLLBACK");
  return s;
}

}  // namespace trialcore::pg
