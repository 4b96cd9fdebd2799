#include "store/postgres/pg_group_commit.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "core/canonical.h"
#include "store/append_rules.h"

namespace trialcore::pg {
namespace {

using StudyKey = std::pair<std::string, std::string>;  // (study, stream or path)

Hash HashOfBytes(std::string_view b) {
  Hash h{};
  if (b.size() == h.size()) std::memcpy(h.data(), b.data(), h.size());
  return h;
}

std::string_view AsBytes(const Hash& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

// A text[] parameter: {"a","b"} with quotes and backslashes escaped.
std::string TextArray(const std::set<std::string>& items) {
  std::string out = "{";
  for (const std::string& item : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : item) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

struct StudyHead {
  uint64_t size = 0;
  Hash hash{};
};

struct LogHead {
  uint64_t last_seq = 0;
  int64_t last_time_us = 0;
};

// What the group's checks read: stream versions, study heads and the stored
// values the reason-for-change rule compares with, as stored and then as
// the group's earlier batches left them.
struct GroupState {
  std::map<StudyKey, uint64_t> versions;
  std::map<std::string, StudyHead> heads;
  std::map<StudyKey, std::optional<std::string>> values;
};

// The reads of the group's checks, by study: stream versions, the study's
// last event, and the stored values the reason-for-change rule compares.
struct Reads {
  std::map<std::string, std::set<std::string>> streams, paths;
};

Result<Reads> ReadsOf(const std::vector<PendingAppend*>& group) {
  Reads reads;
  for (const PendingAppend* p : group) {
    const AppendRequest& req = *p->request;
    for (const auto& [stream, expected] : req.expected_versions) reads.streams[req.study].insert(stream);
    for (size_t i = 0; i < req.events.size(); ++i) {
      reads.streams[req.study].insert(req.events[i].stream);
      Event probe;
      probe.reason = req.events[i].reason;
      if (!ReasonRuleNeedsStoredValue(probe)) continue;
      TC_RETURN_IF_ERROR(ForEachSetEntry(p->payloads[i], [&](std::string_view path, std::string_view) {
        reads.paths[req.study].emplace(path);
        return Status::Ok();
      }));
    }
  }
  return reads;
}

void AddReadStatements(const Reads& reads, std::vector<Statement>* out) {
  for (const auto& [study, names] : reads.streams) {
    // A stream's last version by one step down its index, not a scan of
    // its versions; and a plan that stays so whatever the table's size was
    // when this connection prepared it.
    out->push_back(
        {"SELECT s.stream, coalesce((SELECT e.stream_version FROM events e WHERE e.study = $1 AND "
         "e.stream = s.stream ORDER BY e.stream_version DESC LIMIT 1), 0) FROM unnest($2::text[]) "
         "AS s(stream)",
         {Param::Text(study), Param::Text(TextArray(names))}});
    out->push_back({"SELECT study_index, hash FROM events WHERE study = $1 ORDER BY study_index DESC LIMIT 1",
                    {Param::Text(study)}});
  }
  for (const auto& [study, names] : reads.paths) {
    out->push_back({"SELECT path, value FROM entity_values WHERE study = $1 AND path = ANY($2::text[])",
                    {Param::Text(study), Param::Text(TextArray(names))}});
  }
}

// The state from the reads' results, in the order AddReadStatements sent them.
GroupState StateFromResults(const Reads& reads, const std::vector<Rows>& results, size_t first) {
  GroupState state;
  size_t next = first;
  for (const auto& [study, names] : reads.streams) {
    for (const std::string& n : names) state.versions[{study, n}] = 0;
    const Rows& v = results[next++];
    for (int i = 0; i < v.size(); ++i) state.versions[{study, std::string(v.Text(i, 0))}] = v.Int(i, 1);
    const Rows& h = results[next++];
    StudyHead head;
    if (h.size()) head = {static_cast<uint64_t>(h.Int(0, 0)) + 1, HashOfBytes(h.Bytes(0, 1))};
    state.heads[study] = head;
  }
  for (const auto& [study, names] : reads.paths) {
    for (const std::string& n : names) state.values[{study, n}] = std::nullopt;
    const Rows& v = results[next++];
    for (int i = 0; i < v.size(); ++i) state.values[{study, std::string(v.Text(i, 0))}] = v.Bytes(i, 1);
  }
  return state;
}

// A projector's writes as statements of the group's pipeline.
class StatementWriter final : public ProjectionWriter {
 public:
  StatementWriter(const TableSqlMap& tables, std::vector<Statement>* out) : tables_(tables), out_(out) {}

  Status Put(const std::string& table, const ProjectionRow& row) override {
    TC_ASSIGN_OR_RETURN(const ProjectionTableSql* t, Find(table));
    if (row.size() != t->table->columns.size()) {
      return InvalidArgument("a row of " + table + " needs " + std::to_string(t->table->columns.size()) +
                             " values, got " + std::to_string(row.size()));
    }
    Statement s{t->upsert, {}};
    for (size_t i = 0; i < row.size(); ++i) {
      TC_ASSIGN_OR_RETURN(Param p, ParamOf(row[i], table + "." + t->table->columns[i].name));
      s.params.push_back(std::move(p));
    }
    out_->push_back(std::move(s));
    return Status::Ok();
  }

  Status Delete(const std::string& table, const ProjectionRow& key) override {
    TC_ASSIGN_OR_RETURN(const ProjectionTableSql* t, Find(table));
    if (key.size() < t->table->key_size) return InvalidArgument("a key of " + table + " is too short");
    Statement s{t->remove, {}};
    for (size_t i = 0; i < t->table->key_size; ++i) {
      TC_ASSIGN_OR_RETURN(Param p, ParamOf(key[i], table + "." + t->table->columns[i].name));
      s.params.push_back(std::move(p));
    }
    out_->push_back(std::move(s));
    return Status::Ok();
  }

 private:
  Result<const ProjectionTableSql*> Find(const std::string& table) const {
    auto it = tables_.find(table);
    if (it == tables_.end()) return FailedPrecondition("projection table " + table + " is not registered");
    return &it->second;
  }
  const TableSqlMap& tables_;
  std::vector<Statement>* out_;
};

// What the group's batches write, gathered so that events and entity values
// go in one multi-row statement each (a statement per row costs the server
// a parse and plan each).
struct GroupWrites {
  std::vector<Param> event_params;  // kEventColumnCount a row, in seq order
  size_t events = 0;
  std::map<StudyKey, std::pair<std::string, int64_t>> entities;  // last value and its seq
  std::vector<Statement> projections;
  void Merge(GroupWrites&& batch) {
    for (Param& p : batch.event_params) event_params.push_back(std::move(p));
    events += batch.events;
    for (auto& [key, v] : batch.entities) entities[key] = std::move(v);
    for (Statement& s : batch.projections) projections.push_back(std::move(s));
  }
};

constexpr const char* kEventColumnList =
    "seq, study, stream, stream_version, study_index, type, time_us, actor_user, actor_role, reason, payload, "
    "prev_hash, hash, format_version";
constexpr size_t kEventColumnCount = 14;

void AddEventParams(const Event& e, std::string_view payload, std::vector<Param>* out) {
  out->push_back(Param::Int(static_cast<int64_t>(e.seq)));
  out->push_back(Param::Text(e.study));
  out->push_back(Param::Text(e.stream));
  out->push_back(Param::Int(static_cast<int64_t>(e.stream_version)));
  out->push_back(Param::Int(static_cast<int64_t>(e.study_index)));
  out->push_back(Param::Text(e.type));
  out->push_back(Param::Int(e.time_us));
  out->push_back(Param::Text(e.actor.user));
  out->push_back(Param::Text(e.actor.role));
  out->push_back(Param::Text(e.reason));
  out->push_back(Param::Bytes(payload));
  out->push_back(Param::Bytes(AsBytes(e.prev_hash)));
  out->push_back(Param::Bytes(AsBytes(e.hash)));
  out->push_back(Param::Int(kEventFormatVersion));
}

// "($1,$2),($3,$4)": rows of `columns` parameters.
std::string ValuesList(size_t rows, size_t columns) {
  std::string sql;
  size_t n = 0;
  for (size_t r = 0; r < rows; ++r) {
    sql += r ? ",(" : "(";
    for (size_t c = 0; c < columns; ++c) sql += (c ? ",$" : "$") + std::to_string(++n);
    sql += ')';
  }
  return sql;
}

// Rows a multi-row statement takes at most (PostgreSQL allows 65,535
// parameters a statement).
constexpr size_t kRowsPerStatement = 1000;

void AddWriteStatements(GroupWrites& w, std::vector<Statement>* out) {
  for (size_t from = 0; from < w.events; from += kRowsPerStatement) {
    const size_t rows = std::min(kRowsPerStatement, w.events - from);
    Statement s{
        std::string("INSERT INTO events(") + kEventColumnList + ") VALUES " + ValuesList(rows, kEventColumnCount), {}};
    auto first = w.event_params.begin() + static_cast<std::ptrdiff_t>(from * kEventColumnCount);
    s.params.assign(std::make_move_iterator(first),
                    std::make_move_iterator(first + static_cast<std::ptrdiff_t>(rows * kEventColumnCount)));
    out->push_back(std::move(s));
  }
  auto entity = w.entities.begin();
  while (entity != w.entities.end()) {
    Statement s;
    size_t rows = 0;
    for (; entity != w.entities.end() && rows < kRowsPerStatement; ++entity, ++rows) {
      s.params.push_back(Param::Text(entity->first.first));
      s.params.push_back(Param::Text(entity->first.second));
      s.params.push_back(Param::Bytes(entity->second.first));
      s.params.push_back(Param::Int(entity->second.second));
    }
    s.sql = "INSERT INTO entity_values(study, path, value, seq) VALUES " + ValuesList(rows, 4) +
            " ON CONFLICT (study, path) DO UPDATE SET value = excluded.value, seq = excluded.seq";
    out->push_back(std::move(s));
  }
  for (Statement& s : w.projections) out->push_back(std::move(s));
}

// One batch against the state the group's earlier batches left: on success
// its writes are added to *writes, and the state and head moved on; on
// failure nothing of it is kept.
Result<std::vector<Event>> ApplyBatch(const TableSqlMap& tables, PendingAppend& p, GroupState* state, LogHead* head,
                                      GroupWrites* writes) {
  const AppendRequest& req = *p.request;
  // This batch's changes, merged into the state only if it passes.
  std::map<StudyKey, uint64_t> versions;
  std::map<StudyKey, std::optional<std::string>> values;
  auto version_of = [&](const std::string& stream) -> uint64_t& {
    StudyKey key{req.study, stream};
    auto it = versions.find(key);
    if (it != versions.end()) return it->second;
    return versions.emplace(key, state->versions[key]).first->second;
  };
  for (const auto& [stream, expected] : req.expected_versions) {
    const uint64_t current = version_of(stream);
    if (expected != kAnyVersion && static_cast<uint64_t>(expected) != current) {
      return Aborted("stream " + stream + " of " + req.study + " is at version " + std::to_string(current) +
                     ", not the expected " + std::to_string(expected) + "; someone else changed it first");
    }
  }
  StudyHead study = state->heads[req.study];
  const int64_t time_us = std::max(p.time_us, head->last_time_us);
  uint64_t seq = head->last_seq;
  GroupWrites mine;
  std::vector<Event> events;
  std::string record;
  for (size_t i = 0; i < req.events.size(); ++i) {
    const EventDraft& d = req.events[i];
    Event e;
    e.seq = ++seq;
    e.study = req.study;
    e.stream = d.stream;
    e.stream_version = ++version_of(d.stream);
    e.study_index = study.size++;
    e.type = d.type;
    e.time_us = time_us;
    e.actor = d.actor;
    e.reason = d.reason;
    e.prev_hash = study.hash;
    record.clear();
    EncodeEventRecord(e, p.payloads[i], &record);
    e.hash = ChainHash(e.prev_hash, record);
    study.hash = e.hash;
    AddEventParams(e, p.payloads[i], &mine.event_params);
    ++mine.events;
    Status entries = ForEachSetEntry(p.payloads[i], [&](std::string_view path, std::string_view value) -> Status {
      StudyKey key{req.study, std::string(path)};
      if (ReasonRuleNeedsStoredValue(e)) {
        auto it = values.find(key);
        const std::optional<std::string>& stored = it != values.end() ? it->second : state->values[key];
        Status reason =
            CheckReasonForChange(e, path, stored ? std::optional<std::string_view>(*stored) : std::nullopt, value);
        if (!reason.ok()) return reason;
      }
      // Later events of the group judge their changes against this value.
      values[key] = std::string(value);
      mine.entities[key] = {std::string(value), static_cast<int64_t>(e.seq)};
      return Status::Ok();
    });
    if (!entries.ok()) return entries;
    e.payload = d.payload;
    events.push_back(std::move(e));
  }
  if (req.project) {
    StatementWriter writer(tables, &mine.projections);
    if (ProjectedAheadHolds(p.ahead, events)) {
      TC_RETURN_IF_ERROR_CTX(p.ahead.rows.ApplyTo(writer), "updating the projections");
    } else {
      TC_RETURN_IF_ERROR_CTX(req.project(events, writer), "updating the projections");
    }
  }
  for (auto& [key, v] : versions) state->versions[key] = v;
  for (auto& [key, v] : values) state->values[key] = std::move(v);
  state->heads[req.study] = study;
  head->last_seq = seq;
  head->last_time_us = time_us;
  writes->Merge(std::move(mine));
  return events;
}

}  // namespace

Result<Param> ParamOf(const Value& v, std::string_view what) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return Param::Null();
    case Value::Kind::kBool:
      return Param::Int(v.as_bool() ? 1 : 0);
    case Value::Kind::kInt:
      return Param::Int(v.as_int());
    case Value::Kind::kString:
      return Param::Text(v.as_string());
    default:
      return InvalidArgument(std::string(what) + ": a projection value must be null, a boolean, an integer or text");
  }
}

Statement InsertEventStatement(const Event& e, std::string_view payload) {
  Statement s{std::string("INSERT INTO events(") + kEventColumnList + ") VALUES " + ValuesList(1, kEventColumnCount),
              {}};
  AddEventParams(e, payload, &s.params);
  return s;
}

int64_t RecordedVersion(const std::string& recorded) {
  int64_t version = 0;
  std::istringstream(recorded) >> version;
  return version;
}

Status ProjectionSetsUnchanged(const std::map<std::string, std::string>& mine,
                               const std::map<std::string, std::string>& now) {
  for (const auto& [name, recorded] : mine) {
    auto it = now.find(name);
    const std::string current = it == now.end() ? std::string() : it->second;
    if (current != recorded) {
      return FailedPrecondition("the " + name + " projection tables were made over by another trialcore (version " +
                                std::to_string(RecordedVersion(current)) + "; this process writes version " +
                                std::to_string(RecordedVersion(recorded)) + "): restart this server with that build");
    }
  }
  return Status::Ok();
}

GroupOutcome CommitGroup(Conn& conn, const TableSqlMap& tables, const std::map<std::string, std::string>& recorded_sets,
                         const std::vector<PendingAppend*>& group, const std::function<void()>& checked) {
  auto rolled_back = [&](Status s, bool committing) {
    if (!conn.broken()) (void)conn.Exec("ROLLBACK");
    return GroupOutcome{std::move(s), committing};
  };
  auto reads = ReadsOf(group);
  if (!reads.ok()) return GroupOutcome{reads.status(), false};
  // The log's lock first: held until COMMIT, so the next appender reads the
  // numbers this one gave out only once they are visible, and no reader
  // ever sees a later number before an earlier (doc/event_store.md).
  std::vector<Statement> first{
      {"BEGIN", {}},
      {"SELECT last_seq, last_time_us FROM log_head WHERE id = 1 FOR UPDATE", {}},
      {"SELECT substr(key, 12), value FROM meta WHERE key LIKE 'projection:%'", {}},
  };
  AddReadStatements(*reads, &first);
  std::vector<Rows> results;
  if (Status s = conn.Pipeline(first, &results); !s.ok()) return rolled_back(s, false);
  if (results[1].size() != 1) return rolled_back(DataLoss("the log_head row is missing"), false);
  LogHead head{static_cast<uint64_t>(results[1].Int(0, 0)), results[1].Int(0, 1)};
  std::map<std::string, std::string> sets_now;
  for (int i = 0; i < results[2].size(); ++i) sets_now[std::string(results[2].Text(i, 0))] = results[2].Text(i, 1);
  if (Status s = ProjectionSetsUnchanged(recorded_sets, sets_now); !s.ok()) return rolled_back(s, false);
  GroupState state = StateFromResults(*reads, results, 3);
  results.clear();

  // In the order of their times, so that each batch keeps the time its rows
  // were computed with (times never decrease along the log). Batches of a
  // group are concurrent: any order of them is one they could have had.
  std::vector<PendingAppend*> ordered(group);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const PendingAppend* a, const PendingAppend* b) { return a->time_us < b->time_us; });
  const uint64_t first_seq = head.last_seq;
  GroupWrites gathered;
  for (PendingAppend* p : ordered) p->result = ApplyBatch(tables, *p, &state, &head, &gathered);
  checked();
  if (head.last_seq == first_seq) return rolled_back(Status::Ok(), false);
  std::vector<Statement> writes;
  AddWriteStatements(gathered, &writes);
  writes.push_back({"UPDATE log_head SET last_seq = $1, last_time_us = $2 WHERE id = 1",
                    {Param::Int(static_cast<int64_t>(head.last_seq)), Param::Int(head.last_time_us)}});
  // Delivered to listeners when, and only if, the transaction commits.
  writes.push_back(
      {"SELECT pg_notify($1, $2)", {Param::Text(kEventsChannel), Param::Int(static_cast<int64_t>(head.last_seq))}});
  writes.push_back({"COMMIT", {}});
  size_t failed_at = 0;
  if (Status s = conn.Pipeline(writes, nullptr, &failed_at); !s.ok()) {
    return rolled_back(s, failed_at + 1 == writes.size());
  }
  return GroupOutcome{};
}

}  // namespace trialcore::pg
