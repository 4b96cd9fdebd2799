#include "store/postgres/pg_conn.h"

#include <charconv>

namespace trialcore::pg {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Trimmed(const char* message) {
  std::string m = message ? message : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

}  // namespace

std::string DecodeBytea(std::string_view text) {
  std::string out;
  if (!text.starts_with("\\x")) return out;
  out.reserve((text.size() - 2) / 2);
  for (size_t i = 2; i + 1 < text.size(); i += 2) {
    out.push_back(static_cast<char>(HexDigit(text[i]) * 16 + HexDigit(text[i + 1])));
  }
  return out;
}

int64_t Rows::Int(int row, int col) const {
  std::string_view t = Text(row, col);
  int64_t v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

std::string Rows::Bytes(int row, int col) const { return DecodeBytea(Text(row, col)); }

StatusCode CodeOfSqlState(std::string_view s) {
  if (s == "40001" || s == "40P01" || s == "23505") return StatusCode::kAborted;
  if (s.starts_with("08") || s.starts_with("57P")) return StatusCode::kIoError;
  if (s.starts_with("53")) return StatusCode::kResourceExhausted;
  if (s.starts_with("42") || s.starts_with("22")) return StatusCode::kInvalidArgument;
  if (s == "25006") return StatusCode::kInvalidArgument;  // a write in a read-only transaction
  if (s.starts_with("3D")) return StatusCode::kNotFound;  // no such database
  if (s.starts_with("28")) return StatusCode::kPermissionDenied;
  return StatusCode::kInternal;
}

Conn::Conn(PGconn* c) : conn_(c) {
  where_ =
      std::string(PQhost(c) ? PQhost(c) : "?") + ":" + (PQport(c) ? PQport(c) : "?") + "/" + (PQdb(c) ? PQdb(c) : "?");
}

Conn::~Conn() { PQfinish(conn_); }

Result<std::unique_ptr<Conn>> Conn::Connect(const std::string& url) {
  // Parse first, so a malformed URL is named as such, not as a refused connection.
  char* parse_error = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &parse_error);
  if (opts == nullptr) {
    std::string why = Trimmed(parse_error);
    PQfreemem(parse_error);
    return InvalidArgument("bad PostgreSQL URL " + url + ": " + why);
  }
  std::string host = "localhost", port = "5432", db;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (!o->val) continue;
    std::string_view k = o->keyword;
    if (k == "host") host = o->val;
    if (k == "port") port = o->val;
    if (k == "dbname") db = o->val;
  }
  PQconninfoFree(opts);
  PGconn* c = PQconnectdb(url.c_str());
  if (c == nullptr) return ResourceExhausted("out of memory connecting to PostgreSQL");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string why = Trimmed(PQerrorMessage(c));
    PQfinish(c);
    // libpq checks some values (a port that is not a number) only when it connects.
    if (why.starts_with("invalid")) return InvalidArgument("bad PostgreSQL URL " + url + ": " + why);
    StatusCode code = why.find("does not exist") != std::string::npos ? StatusCode::kNotFound : StatusCode::kIoError;
    return Status(code, "cannot connect to PostgreSQL at host " + host + " port " + port + " database " +
                            (db.empty() ? "(default)" : db) + ": " + why);
  }
  // Notices (e.g. "relation already exists, skipping") are not errors.
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<Conn>(new Conn(c));
}

Status Conn::ErrorOf(PGresult* r, std::string_view what) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = Trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
  if (message.empty()) message = Trimmed(PQerrorMessage(conn_));
  StatusCode code = state ? CodeOfSqlState(state) : StatusCode::kIoError;
  return Status(code, "PostgreSQL " + where_ + ": " + message + " (in " + std::string(what.substr(0, 120)) + ")");
}

Status Conn::Exec(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
    PQclear(r);
    return Status::Ok();
  }
  Status s = ErrorOf(r, sql);
  PQclear(r);
  return s;
}

namespace {

// libpq's view of a statement's parameters.
struct ParamArrays {
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
};

Result<ParamArrays> ArraysOf(const std::string& sql, const std::vector<Param>& params) {
  ParamArrays a;
  a.values.resize(params.size());
  a.lengths.resize(params.size());
  a.formats.resize(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    // libpq reads a text parameter up to its first NUL, whatever its length:
    // a string holding one would be stored cut short, silently.
    if (!params[i].binary && params[i].value && params[i].value->find('\0') != std::string::npos) {
      return InvalidArgument("PostgreSQL text cannot hold a NUL character (parameter $" + std::to_string(i + 1) +
                             " of " + sql.substr(0, 60) + ")");
    }
    a.values[i] = params[i].value ? params[i].value->data() : nullptr;
    a.lengths[i] = params[i].value ? static_cast<int>(params[i].value->size()) : 0;
    a.formats[i] = params[i].binary ? 1 : 0;
  }
  return a;
}

// Statements kept prepared on one connection at most: the store's own are a
// few dozen (one per multi-row size a group commit used); past the limit the
// rest are planned each time they run.
constexpr size_t kMaxPrepared = 512;

// SQLSTATE feature_not_supported, which a prepared statement's run answers
// when a table it reads changed its columns since it was planned.
constexpr std::string_view kCachedPlanChanged = "0A000";

std::string PreparedKey(const std::string& sql, const std::vector<Oid>& types) {
  std::string key = sql;
  for (Oid t : types) {
    key += '\0';
    key += std::to_string(t);
  }
  return key;
}

// Transaction control, cursors and schema changes are not kept: they are
// cheap to parse, or run once, or (FETCH n) carry their values in the text.
bool Preparable(std::string_view sql) {
  static constexpr std::string_view kNotKept[] = {"BEGIN",    "COMMIT",     "ROLLBACK", "DECLARE", "FETCH",  "CLOSE",
                                                  "CREATE",   "DROP",       "ALTER",    "SET ",    "LOCK",   "LISTEN",
                                                  "UNLISTEN", "DEALLOCATE", "TRUNCATE", "VACUUM",  "ANALYZE"};
  for (std::string_view k : kNotKept) {
    if (sql.starts_with(k)) return false;
  }
  return true;
}

// Statements sent before the answers are read: kept well below what fills
// the socket's buffers both ways, where blocking sends would wait forever.
constexpr size_t kPipelineChunk = 256;

}  // namespace

Status Conn::Pipeline(const std::vector<Statement>& statements, std::vector<Rows>* results, size_t* failed_at) {
  if (results) results->clear();
  for (size_t from = 0; from < statements.size(); from += kPipelineChunk) {
    const size_t to = std::min(statements.size(), from + kPipelineChunk);
    if (PQenterPipelineMode(conn_) != 1) return ErrorOf(nullptr, "entering pipeline mode");
    Status first = Status::Ok();
    size_t sent = from;
    std::vector<bool> prepared_now(to - from, false);  // a Parse went ahead of the statement
    for (; sent < to; ++sent) {
      const Statement& st = statements[sent];
      auto a = ArraysOf(st.sql, st.params);
      if (!a.ok()) {
        first = a.status();
        if (failed_at) *failed_at = sent;
        break;
      }
      const int n = static_cast<int>(st.params.size());
      bool is_new = false;
      const std::string* name = PreparedName(st.sql, {}, &is_new);
      if (is_new) {
        if (PQsendPrepare(conn_, name->c_str(), st.sql.c_str(), n, nullptr) != 1) {
          Forget(st.sql, {});
          first = ErrorOf(nullptr, st.sql);
          if (failed_at) *failed_at = sent;
          break;
        }
        prepared_now[sent - from] = true;
      }
      const int queued =
          name ? PQsendQueryPrepared(conn_, name->c_str(), n, a->values.data(), a->lengths.data(), a->formats.data(), 0)
               : PQsendQueryParams(conn_, st.sql.c_str(), n, nullptr, a->values.data(), a->lengths.data(),
                                   a->formats.data(), 0);
      if (queued != 1) {
        first = ErrorOf(nullptr, st.sql);
        if (failed_at) *failed_at = sent;
        break;
      }
    }
    if (PQpipelineSync(conn_) != 1 && first.ok()) first = ErrorOf(nullptr, "a pipeline's sync");
    // Each statement's results end with a null; the sync's result ends all.
    for (size_t i = from; i < sent + (sent < to && prepared_now[sent - from] ? 1 : 0); ++i) {
      if (prepared_now[i - from]) {
        // The Parse's answer, then its end; a statement not prepared (the
        // pipeline was aborted before it) must be prepared again next time.
        bool made = false;
        while (PGresult* r = PQgetResult(conn_)) {
          made = made || PQresultStatus(r) == PGRES_COMMAND_OK;
          if (PQresultStatus(r) == PGRES_FATAL_ERROR && first.ok()) {
            first = ErrorOf(r, statements[i].sql);
            if (failed_at) *failed_at = i;
          }
          PQclear(r);
        }
        if (!made) Forget(statements[i].sql, {});
        if (i == sent) break;  // its statement was never sent
      }
      PGresult* last = nullptr;
      while (PGresult* r = PQgetResult(conn_)) {
        const ExecStatusType st = PQresultStatus(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_PIPELINE_ABORTED && first.ok()) {
          first = ErrorOf(r, statements[i].sql);
          if (failed_at) *failed_at = i;
          // A table it reads was made over with other columns: the next
          // run prepares it afresh (this one's transaction has failed).
          const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
          if (state && std::string_view(state) == kCachedPlanChanged) Forget(statements[i].sql, {});
        }
        if (last) PQclear(last);
        last = r;
      }
      // No answer at all: the connection went (a lost COMMIT must never
      // read as a success).
      if (last == nullptr && first.ok()) {
        first = ErrorOf(nullptr, statements[i].sql);
        if (failed_at) *failed_at = i;
      }
      if (results) {
        results->emplace_back(last);
      } else if (last) {
        PQclear(last);
      }
    }
    while (PGresult* r = PQgetResult(conn_)) {
      const bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
      PQclear(r);
      if (sync) break;
    }
    if (PQexitPipelineMode(conn_) != 1 && first.ok()) first = ErrorOf(nullptr, "leaving pipeline mode");
    if (!first.ok()) return first;
  }
  return Status::Ok();
}

Result<Rows> Conn::Query(const std::string& sql, const std::vector<Param>& params, const std::vector<Oid>& types) {
  TC_ASSIGN_OR_RETURN(ParamArrays a, ArraysOf(sql, params));
  const int n = static_cast<int>(params.size());
  bool is_new = false;
  const std::string* name = PreparedName(sql, types, &is_new);
  if (name && is_new) {
    PGresult* p = PQprepare(conn_, name->c_str(), sql.c_str(), n, types.empty() ? nullptr : types.data());
    if (!p || PQresultStatus(p) != PGRES_COMMAND_OK) {
      Status s = ErrorOf(p, sql);
      PQclear(p);
      Forget(sql, types);
      return s;
    }
    PQclear(p);
  }
  PGresult* r = name ? PQexecPrepared(conn_, name->c_str(), n, a.values.data(), a.lengths.data(), a.formats.data(), 0)
                     : PQexecParams(conn_, sql.c_str(), n, types.empty() ? nullptr : types.data(), a.values.data(),
                                    a.lengths.data(), a.formats.data(), 0);
  const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Rows(r);
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  if (name && state && std::string_view(state) == kCachedPlanChanged) {
    // A table it reads was made over with other columns: plan it afresh
    // under a new name (outside a transaction, at once).
    PQclear(r);
    Forget(sql, types);
    if (PQtransactionStatus(conn_) == PQTRANS_IDLE) return Query(sql, params, types);
    return Aborted("PostgreSQL " + where_ + ": a table changed under a prepared statement (in " + sql.substr(0, 120) +
                   "); run the transaction again");
  }
  Status s = ErrorOf(r, sql);
  PQclear(r);
  return s;
}

const std::string* Conn::PreparedName(const std::string& sql, const std::vector<Oid>& types, bool* is_new) {
  *is_new = false;
  if (!Preparable(sql)) return nullptr;
  std::string key = PreparedKey(sql, types);
  auto it = prepared_.find(key);
  if (it != prepared_.end()) return &it->second;
  if (prepared_.size() >= kMaxPrepared) return nullptr;
  *is_new = true;
  return &prepared_.emplace(std::move(key), "tc" + std::to_string(++names_given_)).first->second;
}

void Conn::Forget(const std::string& sql, const std::vector<Oid>& types) { prepared_.erase(PreparedKey(sql, types)); }

}  // namespace trialcore::pg
