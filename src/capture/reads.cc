#include "capture/reads.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include "capture/state.h"
#include "core/json.h"
#include "rules/rules.h"

namespace trialcore::capture {
namespace {

// SQL text with its parameters ($1, $2 ...) gathered as it is written.
class Sql {
 public:
  explicit Sql(std::string text = "") : text_(std::move(text)) {}
  Sql& operator<<(std::string_view text) {
    text_ += text;
    return *this;
  }
  // Appends a parameter's placeholder.
  Sql& Param(Value v) {
    params_.push_back(std::move(v));
    text_ += "$" + std::to_string(params_.size());
    return *this;
  }
  // " AND column = $n" for a non-empty value (an empty one filters nothing).
  Sql& AndEquals(std::string_view column, const std::string& value) {
    if (value.empty()) return *this;
    text_ += " AND ";
    text_ += column;
    text_ += " = ";
    return Param(value);
  }
  // "(" $a, $b ... ")", or "(NULL)" for none (matches nothing).
  Sql& List(const std::vector<std::string>& values) {
    text_ += "(";
    if (values.empty()) text_ += "NULL";
    for (size_t i = 0; i < values.size(); ++i) {
      if (i) text_ += ", ";
      Param(values[i]);
    }
    text_ += ")";
    return *this;
  }
  const std::string& text() const { return text_; }
  const std::vector<Value>& params() const { return params_; }

 private:
  std::string text_;
  std::vector<Value> params_;
};

Status Run(EventStore* store, const Sql& sql, const std::function<Status(const ProjectionRow&)>& fn) {
  return store->QueryProjections(sql.text(), sql.params(), fn);
}

Result<int64_t> Scalar(EventStore* store, const Sql& sql) {
  int64_t n = 0;
  TC_RETURN_IF_ERROR(Run(store, sql, [&](const ProjectionRow& r) {
    if (!r.empty() && r[0].kind() == Value::Kind::kInt) n = r[0].as_int();
    return Status::Ok();
  }));
  return n;
}

std::string Text(const Value& v) { return v.is_string() ? v.as_string() : ""; }

// The first column of every row, as text.
Result<std::vector<std::string>> TextColumn(EventStore* store, const Sql& sql) {
  std::vector<std::string> out;
  TC_RETURN_IF_ERROR(Run(store, sql, [&](const ProjectionRow& r) {
    out.push_back(Text(r[0]));
    return Status::Ok();
  }));
  return out;
}
int64_t Int(const Value& v) { return v.kind() == Value::Kind::kInt ? v.as_int() : 0; }

// " AND site IN (...)" unless the viewer sees every site.
void VisibleSites(Sql& sql, const Viewer& viewer, std::string_view column = "site") {
  if (viewer.all_sites) return;
  sql << " AND " << column << " IN ";
  sql.List(viewer.sites);
}

// A condition true where the viewer sees hidden data.
void Unblinded(Sql& sql, const Viewer& viewer, std::string_view column = "site") {
  if (viewer.unblinded_everywhere) {
    sql << "1 = 1";
    return;
  }
  sql << column << " IN ";
  sql.List(viewer.unblinded_sites);
}

// Rows computed under a version no longer in force (a migration's rewrite
// under way, or cut short) could show what the new version hides: refused.
Status RowsCurrent(EventStore* store, const std::string& study) {
  Sql sql("SELECT count(*) FROM cap_study WHERE study = ");
  sql.Param(study);
  sql << " AND rows_hash <> content_hash";
  TC_ASSIGN_OR_RETURN(int64_t stale, Scalar(store, sql));
  if (stale > 0) {
    return Aborted("the lists of study " + study +
                   " are being rebuilt for its new version; nothing is shown until they are, retry in a moment");
  }
  return Status::Ok();
}

// " AND <column> NOT IN" the study's inactivated subjects (screened in
// error), whose rows stay in the tables for the audit and the lists that ask
// for them.
void ActiveSubjects(Sql& sql, std::string_view column, const std::string& study) {
  sql << " AND " << column << " NOT IN (SELECT subject FROM cap_subjects WHERE study = ";
  sql.Param(study) << " AND inactive = 1)";
}

// " AND (...)" true where a form's data (canonical JSON, as FormData in
// projection.cc writes it) holds the item at exactly this value, in the
// form's items or a row's. A quote followed by a colon closes a key (inside a
// string every quote is escaped), and an item id has no quote, so "ITEM":
// matches that key only; a string value ends at its own closing quote, and
// any other value at the comma or brace that follows it. replace() finds
// text literally and with its case in both back ends, where LIKE has
// wildcards and ignores ASCII case in SQLite.
void HoldsValue(Sql& sql, std::string_view column, const std::string& item, const Value& value) {
  const std::string pair = ToJson(Value(item)) + ":" + ToJson(value);
  auto contains = [&](const std::string& text) {
    sql << "replace(" << column << ", ";
    sql.Param(text) << ", '') <> " << column;
  };
  sql << " AND (";
  if (value.is_string()) {
    contains(pair);
  } else {
    contains(pair + ",");
    sql << " OR ";
    contains(pair + "}");
  }
  sql << ")";
}

// What the viewer sees, as a key of the cache.
std::string ViewerKey(const Viewer& v) {
  std::string key = v.all_sites ? "*" : "";
  for (const auto& s : v.sites) key += s + '\x1f';
  key += v.unblinded_everywhere ? "|*" : "|";
  for (const auto& s : v.unblinded_sites) key += s + '\x1f';
  return key;
}

// The dashboard's figures as they stand at a position of the log on one day:
// everything but the ages of open queries, which move with the clock and
// are counted from their opening times on each request.
struct DashboardAtDay {
  DashboardFigures figures;
  // Of each open and each answered query the viewer sees.
  std::vector<std::optional<int64_t>> open_opened_us, answered_opened_us;
};

}  // namespace

struct ReadCache::State {
  std::mutex mu;
  size_t max_entries;
  uint64_t seq = 0;  // the position of the log every entry was read at
  std::unordered_map<std::string, int64_t> counts;
  std::unordered_map<std::string, std::shared_ptr<const DashboardAtDay>> dashboards;
  std::unordered_map<std::string, std::shared_ptr<const std::vector<std::string>>> site_lists;
  std::unordered_map<std::string, std::shared_ptr<const std::vector<QuerySummary>>> query_lists;
  size_t size() const { return counts.size() + dashboards.size() + site_lists.size() + query_lists.size(); }
  void Clear() {
    counts.clear();
    dashboards.clear();
    site_lists.clear();
    query_lists.clear();
  }
};

ReadCache::ReadCache(size_t max_entries) : state_(std::make_unique<State>()) {
  state_->max_entries = std::max<size_t>(max_entries, 1);
}
ReadCache::~ReadCache() = default;
size_t ReadCache::size() const {
  std::lock_guard lock(state_->mu);
  return state_->size();
}

namespace {

// Reads through the cache's map `of`: an entry read at the log's present
// position is the answer; otherwise it is read, and kept when the log did not
// move meanwhile (a commit between would leave an answer of two states).
template <typename T>
Result<T> ThroughCache(EventStore* store, ReadCache* cache, std::unordered_map<std::string, T> ReadCache::State::*of,
                       const std::string& key, const std::function<Result<T>()>& read) {
  if (cache == nullptr) return read();
  ReadCache::State& st = cache->state();
  TC_ASSIGN_OR_RETURN(uint64_t before, store->LastSeq());
  {
    std::lock_guard lock(st.mu);
    if (st.seq == before) {
      auto& map = st.*of;
      if (auto it = map.find(key); it != map.end()) return it->second;
    }
  }
  TC_ASSIGN_OR_RETURN(T value, read());
  TC_ASSIGN_OR_RETURN(uint64_t after, store->LastSeq());
  if (after != before) return value;
  std::lock_guard lock(st.mu);
  if (st.seq != before) {
    // Entries of another position are stale (or, rarely, this read is).
    if (st.seq > before) return value;
    st.Clear();
    st.seq = before;
  }
  if (st.size() >= st.max_entries) st.Clear();
  (st.*of)[key] = value;
  return value;
}

}  // namespace

Result<SubjectPage> ListSubjects(EventStore* store, const std::string& study, const Viewer& viewer,
                                 const SubjectFilter& filter, size_t offset, size_t limit, ReadCache* cache) {
  TC_RETURN_IF_ERROR(RowsCurrent(store, study));
  auto where = [&](Sql& sql) {
    sql << " FROM cap_subjects WHERE study = ";
    sql.Param(study);
    VisibleSites(sql, viewer);
    sql.AndEquals("site", filter.site);
    sql.AndEquals("status", filter.status);
    if (!filter.with_inactive) sql << " AND inactive = 0";
  };
  SubjectPage page;
  TC_ASSIGN_OR_RETURN(page.total,
                      ThroughCache<int64_t>(store, cache, &ReadCache::State::counts,
                                            "subjects\x1e" + study + "\x1e" + ViewerKey(viewer) + "\x1e" + filter.site +
                                                "\x1e" + filter.status + (filter.with_inactive ? "\x1e+" : ""),
                                            [&]() -> Result<int64_t> {
                                              Sql count("SELECT count(*)");
                                              where(count);
                                              return Scalar(store, count);
                                            }));
  Sql list("SELECT subject, site, status, CASE WHEN ");
  Unblinded(list, viewer);
  list << " THEN open_queries ELSE open_visible_queries END, CASE WHEN ";
  Unblinded(list, viewer);
  list << " THEN answered_queries ELSE answered_visible_queries END, inactive";
  where(list);
  list << " ORDER BY subject LIMIT ";
  list.Param(static_cast<int64_t>(limit)) << " OFFSET ";
  list.Param(static_cast<int64_t>(offset));
  TC_RETURN_IF_ERROR(Run(store, list, [&](const ProjectionRow& r) {
    page.subjects.push_back({Text(r[0]), Text(r[1]), Text(r[2]), Int(r[5]) != 0, Int(r[3]), Int(r[4])});
    return Status::Ok();
  }));
  return page;
}

Result<QueryPage> ListQueries(EventStore* store, const std::string& study, const Viewer& viewer,
                              const QueryFilter& filter, size_t offset, size_t limit, ReadCache* cache) {
  TC_RETURN_IF_ERROR(RowsCurrent(store, study));
  auto where = [&](Sql& sql) {
    sql << " FROM cap_queries WHERE study = ";
    sql.Param(study);
    VisibleSites(sql, viewer);
    sql << " AND (hidden = 0 OR ";
    Unblinded(sql, viewer);
    sql << ")";
    sql.AndEquals("site", filter.site);
    sql.AndEquals("subject", filter.subject);
    sql.AndEquals("state", filter.state);
  };
  const std::string key =
      study + "\x1e" + ViewerKey(viewer) + "\x1e" + filter.state + "\x1e" + filter.subject + "\x1e" + filter.site;
  QueryPage page;
  TC_ASSIGN_OR_RETURN(page.total, ThroughCache<int64_t>(store, cache, &ReadCache::State::counts, "queries\x1e" + key,
                                                        [&]() -> Result<int64_t> {
                                                          Sql count("SELECT count(*)");
                                                          where(count);
                                                          return Scalar(store, count);
                                                        }));
  // A page of the inbox, read once per position of the log: the users who
  // keep their inbox open ask for the same page again and again.
  TC_ASSIGN_OR_RETURN(
      page.queries,
      ThroughCache<std::shared_ptr<const std::vector<QuerySummary>>>(
          store, cache, &ReadCache::State::query_lists,
          key + "\x1e" + std::to_string(offset) + "\x1e" + std::to_string(limit),
          [&]() -> Result<std::shared_ptr<const std::vector<QuerySummary>>> {
            Sql list(
                "SELECT number, subject, site, visit, form, item, grp, row_number, check_id, state, message, "
                "opened_us, opened_by, opened_role");
            where(list);
            list << " ORDER BY subject, number LIMIT ";
            list.Param(static_cast<int64_t>(limit)) << " OFFSET ";
            list.Param(static_cast<int64_t>(offset));
            std::vector<QuerySummary> queries;
            TC_RETURN_IF_ERROR(Run(store, list, [&](const ProjectionRow& r) {
              QuerySummary q;
              q.number = static_cast<int>(Int(r[0]));
              q.subject = Text(r[1]);
              q.site = Text(r[2]);
              q.visit = Text(r[3]);
              q.form = Text(r[4]);
              q.item = Text(r[5]);
              q.group = Text(r[6]);
              q.row = static_cast<int>(Int(r[7]));
              q.check = Text(r[8]);
              q.state = Text(r[9]);
              q.message = Text(r[10]);
              q.opened_us = Int(r[11]);
              q.opened_by = Text(r[12]);
              q.opened_role = Text(r[13]);
              queries.push_back(std::move(q));
              return Status::Ok();
            }));
            return std::make_shared<const std::vector<QuerySummary>>(std::move(queries));
          }));
  return page;
}

namespace {

// Everything of the dashboard but the ages of open queries, as of `today`.
Result<DashboardAtDay> ReadDashboard(EventStore* store, const std::string& study, const Viewer& viewer, int64_t today,
                                     size_t listed) {
  DashboardAtDay at;
  DashboardFigures& d = at.figures;
  {
    Sql sql("SELECT site, status, count(*) FROM cap_subjects WHERE study = ");
    sql.Param(study);
    VisibleSites(sql, viewer);
    sql << " AND inactive = 0 GROUP BY site, status";
    TC_RETURN_IF_ERROR(Run(store, sql, [&](const ProjectionRow& r) {
      d.subjects_by_site[Text(r[0])][Text(r[1])] = Int(r[2]);
      return Status::Ok();
    }));
  }
  {
    // When each unresolved query the viewer sees was opened: their ages are
    // counted on each request, as the clock moves.
    // The same filter as the inbox's (ListQueries) for each state, so that a
    // tile's count is the number of rows its inbox link lists.
    for (QueryState state : {QueryState::kOpen, QueryState::kAnswered}) {
      Sql sql("SELECT opened_us FROM cap_queries WHERE study = ");
      sql.Param(study);
      VisibleSites(sql, viewer);
      sql << " AND (hidden = 0 OR ";
      Unblinded(sql, viewer);
      sql << ")";
      sql.AndEquals("state", std::string(QueryStateName(state)));
      auto& opened = state == QueryState::kOpen ? at.open_opened_us : at.answered_opened_us;
      TC_RETURN_IF_ERROR(Run(store, sql, [&](const ProjectionRow& r) {
        opened.push_back(r[0].kind() == Value::Kind::kInt ? std::optional<int64_t>(r[0].as_int()) : std::nullopt);
        return Status::Ok();
      }));
    }
  }
  // Visits in one state (and past a day), counted, and the first `listed`
  // by subject and schedule: an ordered walk of the (study, state, subject,
  // position) index that stops there, never a sort of them all.
  struct Listed {
    VisitRef ref;
    int64_t position = 0;
  };
  auto visits = [&](const std::string& state, std::optional<int64_t> ended_before, const std::string& status,
                    int64_t* count, std::vector<Listed>* list) -> Status {
    auto where = [&](Sql& sql, bool ordered) {
      sql << " FROM cap_visits WHERE study = ";
      sql.Param(study);
      sql << " AND state = ";
      sql.Param(state);
      if (ended_before) {
        // The list walks the ordered index and tests the day on each row
        // ("+" keeps SQLite's planner off the window_end index, which would
        // sort every match); the count ranges over window_end.
        sql << (ordered ? " AND +window_end < " : " AND window_end < ");
        sql.Param(*ended_before);
      }
      VisibleSites(sql, viewer);
    };
    Sql c("SELECT count(*)");
    where(c, false);
    TC_ASSIGN_OR_RETURN(int64_t n, Scalar(store, c));
    *count += n;
    Sql l("SELECT subject, visit, position");
    where(l, true);
    l << " ORDER BY subject, position LIMIT ";
    l.Param(static_cast<int64_t>(listed));
    return Run(store, l, [&](const ProjectionRow& r) {
      list->push_back({{Text(r[0]), Text(r[1]), status}, Int(r[2])});
      return Status::Ok();
    });
  };
  auto first = [&](std::vector<Listed> all, std::vector<VisitRef>* out) {
    std::sort(all.begin(), all.end(), [](const Listed& a, const Listed& b) {
      return std::tie(a.ref.subject, a.position) < std::tie(b.ref.subject, b.position);
    });
    if (all.size() > listed) all.resize(listed);
    for (auto& l : all) out->push_back(std::move(l.ref));
  };
  {
    // Pending visits past the end of their window are overdue today.
    std::vector<Listed> overdue;
    TC_RETURN_IF_ERROR(visits("pending", today, "overdue", &d.overdue_visits, &overdue));
    first(std::move(overdue), &d.overdue);
    std::vector<Listed> out_of_window;
    for (const char* state : {"early", "late"}) {
      TC_RETURN_IF_ERROR(visits(state, std::nullopt, state, &d.visits_out_of_window, &out_of_window));
    }
    first(std::move(out_of_window), &d.out_of_window);
  }
  {
    auto where = [&](Sql& sql) {
      sql << " FROM cap_subjects WHERE study = ";
      sql.Param(study);
      VisibleSites(sql, viewer);
      sql << " AND status IN ('completed', 'withdrawn') AND casebook_signed = 0 AND inactive = 0";
    };
    Sql c("SELECT count(*)");
    where(c);
    TC_ASSIGN_OR_RETURN(d.unsigned_casebooks, Scalar(store, c));
    Sql l("SELECT subject, status");
    where(l);
    l << " ORDER BY subject LIMIT ";
    l.Param(static_cast<int64_t>(listed));
    TC_RETURN_IF_ERROR(Run(store, l, [&](const ProjectionRow& r) {
      d.unsigned_casebook_list.push_back({Text(r[0]), "", Text(r[1])});
      return Status::Ok();
    }));
  }
  {
    Sql sql("SELECT locked FROM cap_study WHERE study = ");
    sql.Param(study);
    TC_ASSIGN_OR_RETURN(int64_t locked, Scalar(store, sql));
    d.database_locked = locked != 0;
  }
  return at;
}

}  // namespace

Result<DashboardFigures> Dashboard(EventStore* store, const std::string& study, const Viewer& viewer, int64_t now_us,
                                   size_t listed, ReadCache* cache) {
  TC_RETURN_IF_ERROR(RowsCurrent(store, study));
  const int64_t today = now_us / rules::kMicrosPerDay;
  TC_ASSIGN_OR_RETURN(
      std::shared_ptr<const DashboardAtDay> at,
      ThroughCache<std::shared_ptr<const DashboardAtDay>>(
          store, cache, &ReadCache::State::dashboards,
          study + "\x1e" + ViewerKey(viewer) + "\x1e" + std::to_string(today) + "\x1e" + std::to_string(listed),
          [&]() -> Result<std::shared_ptr<const DashboardAtDay>> {
            TC_ASSIGN_OR_RETURN(DashboardAtDay read, ReadDashboard(store, study, viewer, today, listed));
            return std::make_shared<const DashboardAtDay>(std::move(read));
          }));
  DashboardFigures d = at->figures;
  // Ages in whole days since opening, as the query inbox shows them (one
  // with no opening time is as old as today).
  auto by_age = [&](const std::vector<std::optional<int64_t>>& opened_us, std::array<int64_t, 3>* counts) {
    for (const std::optional<int64_t>& opened : opened_us) {
      const int64_t age = (now_us - opened.value_or(now_us)) / rules::kMicrosPerDay;
      ++(*counts)[age <= 7 ? 0 : age <= 30 ? 1 : 2];
    }
  };
  by_age(at->open_opened_us, &d.open_queries_by_age);
  by_age(at->answered_opened_us, &d.answered_queries_by_age);
  return d;
}

Result<size_t> CountSubjects(EventStore* store, const std::string& study) {
  Sql sql("SELECT count(*) FROM cap_subjects WHERE study = ");
  sql.Param(study);
  TC_ASSIGN_OR_RETURN(int64_t n, Scalar(store, sql));
  return static_cast<size_t>(n);
}

Result<int64_t> CountSubjectsAt(EventStore* store, const std::string& study, const std::string& site) {
  TC_RETURN_IF_ERROR(RowsCurrent(store, study));
  Sql sql("SELECT count(*) FROM cap_subjects WHERE study = ");
  sql.Param(study);
  sql.AndEquals("site", site);
  return Scalar(store, sql);
}

Result<std::vector<std::string>> SubjectIds(EventStore* store, const std::string& study) {
  Sql sql("SELECT subject FROM cap_subjects WHERE study = ");
  sql.Param(study);
  sql << " ORDER BY subject";
  return TextColumn(store, sql);
}

Result<std::vector<std::string>> SitesWithSubjects(EventStore* store, const std::string& study, ReadCache* cache) {
  using Sites = std::shared_ptr<const std::vector<std::string>>;
  TC_ASSIGN_OR_RETURN(
      Sites sites, ThroughCache<Sites>(store, cache, &ReadCache::State::site_lists, study, [&]() -> Result<Sites> {
        // Each next site by one seek of the (study, site, subject) index: a
        // few hundred sites cost that many seeks, not a walk of every subject.
        Sql sql("WITH RECURSIVE s(site) AS (SELECT (SELECT min(site) FROM cap_subjects WHERE study = ");
        sql.Param(study);
        sql << ") UNION ALL SELECT (SELECT min(site) FROM cap_subjects WHERE study = $1 AND site > s.site) FROM s "
               "WHERE s.site IS NOT NULL) SELECT site FROM s WHERE site IS NOT NULL";
        TC_ASSIGN_OR_RETURN(auto list, TextColumn(store, sql));
        return std::make_shared<const std::vector<std::string>>(std::move(list));
      }));
  return *sites;
}

Result<UnresolvedQueries> CountUnresolvedQueries(EventStore* store, const std::string& study) {
  Sql sql("SELECT hidden, count(*) FROM cap_queries WHERE study = ");
  sql.Param(study);
  sql << " AND state IN ('open', 'answered') GROUP BY hidden";
  UnresolvedQueries u;
  TC_RETURN_IF_ERROR(Run(store, sql, [&](const ProjectionRow& r) {
    (Int(r[0]) != 0 ? u.hidden : u.visible) = Int(r[1]);
    return Status::Ok();
  }));
  return u;
}

Result<std::vector<SdvProgress>> SdvBySite(EventStore* store, const std::string& study, const Viewer& viewer) {
  TC_RETURN_IF_ERROR(RowsCurrent(store, study));
  Sql sql("SELECT site, count(*), sum(sdv_sampled), sum(sdv_required), sum(sdv_done) FROM cap_subjects WHERE study = ");
  sql.Param(study);
  sql << " AND inactive = 0";
  VisibleSites(sql, viewer);
  sql << " GROUP BY site ORDER BY site";
  std::vector<SdvProgress> out;
  TC_RETURN_IF_ERROR(Run(store, sql, [&](const ProjectionRow& r) {
    out.push_back({Text(r[0]), "", Int(r[1]), Int(r[2]), Int(r[3]), Int(r[4])});
    return Status::Ok();
  }));
  return out;
}

Result<SdvSubjectPage> SdvBySubject(EventStore* store, const std::string& study, const Viewer& viewer,
                                    const std::string& site, size_t offset, size_t limit) {
  TC_RETURN_IF_ERROR(RowsCurrent(store, study));
  auto where = [&](Sql& sql) {
    sql.Param(study);
    sql << " AND inactive = 0";
    VisibleSites(sql, viewer);
    sql.AndEquals("site", site);
  };
  SdvSubjectPage page;
  Sql count("SELECT count(*) FROM cap_subjects WHERE study = ");
  where(count);
  TC_ASSIGN_OR_RETURN(page.total, Scalar(store, count));
  // Least verified first: where the next monitoring visit should go. The
  // share compares as done/required without division: subjects with nothing
  // to verify come last.
  Sql sql("SELECT subject, site, sdv_sampled, sdv_required, sdv_done FROM cap_subjects WHERE study = ");
  where(sql);
  sql << " ORDER BY CASE WHEN sdv_required = 0 THEN 1 ELSE 0 END, (sdv_done * 1000000) / "
         "CASE WHEN sdv_required = 0 THEN 1 ELSE sdv_required END, subject LIMIT ";
  sql.Param(static_cast<int64_t>(limit)) << " OFFSET ";
  sql.Param(static_cast<int64_t>(offset));
  TC_RETURN_IF_ERROR(Run(store, sql, [&](const ProjectionRow& r) {
    page.subjects.push_back({Text(r[1]), Text(r[0]), 1, Int(r[2]), Int(r[3]), Int(r[4])});
    return Status::Ok();
  }));
  return page;
}

Result<SdvWorklist> ListSdvWork(EventStore* store, const std::string& study, const Viewer& viewer,
                                const std::string& site, const std::string& subject, size_t offset, size_t limit) {
  TC_RETURN_IF_ERROR(RowsCurrent(store, study));
  auto where = [&](Sql& sql) {
    sql.Param(study);
    sql << " AND f.sdv_pending = 1";
    ActiveSubjects(sql, "f.subject", study);
    VisibleSites(sql, viewer, "f.site");
    sql.AndEquals("f.site", site);
    sql.AndEquals("f.subject", subject);
  };
  SdvWorklist list;
  Sql count("SELECT count(*) FROM cap_forms f WHERE f.study = ");
  where(count);
  TC_ASSIGN_OR_RETURN(list.total, Scalar(store, count));
  // Queries on hidden items are left out: blinded monitors do not verify
  // those items, and their count must not tell them the queries exist.
  Sql sql(
      "SELECT f.subject, f.site, f.visit, f.form, f.sdv_required, f.sdv_done, (SELECT count(*) FROM cap_queries q "
      "WHERE q.study = f.study AND q.subject = f.subject AND q.visit = f.visit AND q.form = f.form AND q.state = "
      "'open' AND q.hidden = 0) FROM cap_forms f LEFT JOIN cap_visits v ON v.study = f.study AND v.subject = "
      "f.subject AND v.visit = f.visit WHERE f.study = ");
  where(sql);
  sql << " ORDER BY f.site, f.subject, v.position, f.visit, f.form LIMIT ";
  sql.Param(static_cast<int64_t>(limit)) << " OFFSET ";
  sql.Param(static_cast<int64_t>(offset));
  TC_RETURN_IF_ERROR(Run(store, sql, [&](const ProjectionRow& r) {
    list.forms.push_back({Text(r[0]), Text(r[1]), Text(r[2]), Text(r[3]), Int(r[4]), Int(r[5]), Int(r[6])});
    return Status::Ok();
  }));
  return list;
}

Result<ListingPage> ListFormValues(EventStore* store, const std::string& study, const Viewer& viewer,
                                   const ListingFilter& filter, size_t offset, size_t limit) {
  TC_RETURN_IF_ERROR(RowsCurrent(store, study));
  auto where = [&](Sql& sql) {
    sql.Param(study);
    sql << " AND f.form = ";
    sql.Param(filter.form);
    sql << " AND f.data <> ''";
    if (!filter.with_inactive) ActiveSubjects(sql, "f.subject", study);
    VisibleSites(sql, viewer, "f.site");
    sql.AndEquals("f.site", filter.site);
    sql.AndEquals("f.subject", filter.subject);
    if (!filter.visit.empty()) {
      sql << " AND (f.visit = ";
      sql.Param(filter.visit);
      sql << " OR f.visit LIKE ";
      sql.Param(filter.visit + "#%");
      sql << ")";
    }
    if (!filter.item.empty()) HoldsValue(sql, "f.data", filter.item, filter.value);
  };
  ListingPage page;
  Sql count("SELECT count(*) FROM cap_forms f WHERE f.study = ");
  where(count);
  TC_ASSIGN_OR_RETURN(page.total, Scalar(store, count));
  Sql sql("SELECT f.subject, f.site, f.visit, f.data, CASE WHEN ");
  Unblinded(sql, viewer, "f.site");
  sql << " THEN 1 ELSE 0 END FROM cap_forms f LEFT JOIN cap_visits v ON v.study = f.study AND v.subject = f.subject "
         "AND v.visit = f.visit WHERE f.study = ";
  where(sql);
  sql << " ORDER BY f.site, f.subject, v.position, f.visit LIMIT ";
  sql.Param(static_cast<int64_t>(limit)) << " OFFSET ";
  sql.Param(static_cast<int64_t>(offset));
  TC_RETURN_IF_ERROR(Run(store, sql, [&](const ProjectionRow& r) {
    page.rows.push_back({Text(r[0]), Text(r[1]), Text(r[2]), Text(r[3]), Int(r[4]) != 0});
    return Status::Ok();
  }));
  return page;
}

Result<std::vector<MissingPages>> MissingPagesBySite(EventStore* store, const std::string& study, const Viewer& viewer,
                                                     const std::string& site, int64_t today) {
  TC_RETURN_IF_ERROR(RowsCurrent(store, study));
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> lines;  // -> (position, forms)
  auto add = [&](const ProjectionRow& r) {
    auto& line = lines[{Text(r[0]), Text(r[1])}];
    line.first = Int(r[2]);
    line.second += Int(r[3]);
    return Status::Ok();
  };
  // Visits that took place with forms not started (their own index: few visits have any).
  Sql held("SELECT site, visit, min(position), sum(forms_missing) FROM cap_visits WHERE study = ");
  held.Param(study);
  held << " AND forms_missing > 0 AND actual_day IS NOT NULL";
  VisibleSites(held, viewer);
  held.AndEquals("site", site);
  held << " GROUP BY site, visit";
  TC_RETURN_IF_ERROR(Run(store, held, add));
  // Overdue visits of enrolled subjects: every form they collect is missing.
  Sql overdue(
      "SELECT v.site, v.visit, min(v.position), sum(v.forms_expected) FROM cap_visits v JOIN cap_subjects s ON "
      "s.study = v.study AND s.subject = v.subject WHERE v.study = ");
  overdue.Param(study);
  overdue << " AND v.state = 'pending' AND v.window_end < ";
  overdue.Param(today);
  overdue << " AND s.status = 'enrolled'";
  VisibleSites(overdue, viewer, "v.site");
  overdue.AndEquals("v.site", site);
  overdue << " GROUP BY v.site, v.visit";
  TC_RETURN_IF_ERROR(Run(store, overdue, add));
  std::vector<MissingPages> out;
  for (const auto& [key, line] : lines) out.push_back({key.first, key.second, line.second});
  // By site, then schedule.
  std::stable_sort(out.begin(), out.end(), [&](const MissingPages& a, const MissingPages& b) {
    return std::tie(a.site, lines[{a.site, a.visit}].first) < std::tie(b.site, lines[{b.site, b.visit}].first);
  });
  return out;
}

Result<std::vector<EntryLag>> EntryLagBySite(EventStore* store, const std::string& study, const Viewer& viewer,
                                             const std::string& site) {
  TC_RETURN_IF_ERROR(RowsCurrent(store, study));
  Sql sql(
      "SELECT site, sum(lag_forms), sum(lag_days), sum(lag_within_2), sum(lag_over_7), max(lag_max) FROM "
      "cap_subjects WHERE study = ");
  sql.Param(study);
  VisibleSites(sql, viewer);
  sql.AndEquals("site", site);
  sql << " GROUP BY site ORDER BY site";
  std::vector<EntryLag> out;
  TC_RETURN_IF_ERROR(Run(store, sql, [&](const ProjectionRow& r) {
    out.push_back({Text(r[0]), Int(r[1]), Int(r[2]), Int(r[3]), Int(r[4]), Int(r[5])});
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<QueryTurnaround>> QueryTurnaroundBySite(EventStore* store, const std::string& study,
                                                           const Viewer& viewer, const std::string& site,
                                                           int64_t now_us) {
  TC_RETURN_IF_ERROR(RowsCurrent(store, study));
  constexpr int64_t k30Days = 30LL * 86'400'000'000LL;
  Sql sql(
      "SELECT site, count(*), sum(CASE WHEN answered_us IS NULL THEN 0 ELSE 1 END), "
      "sum(CASE WHEN answered_us IS NULL THEN 0 ELSE answered_us - opened_us END), "
      "sum(CASE WHEN closed_us IS NULL THEN 0 ELSE 1 END), "
      "sum(CASE WHEN closed_us IS NULL THEN 0 ELSE closed_us - opened_us END), "
      "sum(CASE WHEN state IN ('open', 'answered') AND opened_us < ");
  sql.Param(now_us - k30Days);
  sql << " THEN 1 ELSE 0 END) FROM cap_queries WHERE study = ";
  sql.Param(study);
  VisibleSites(sql, viewer);
  sql.AndEquals("site", site);
  // Queries on hidden items only where the viewer sees hidden data.
  sql << " AND (hidden = 0 OR ";
  Unblinded(sql, viewer);
  sql << ") GROUP BY site ORDER BY site";
  std::vector<QueryTurnaround> out;
  TC_RETURN_IF_ERROR(Run(store, sql, [&](const ProjectionRow& r) {
    out.push_back({Text(r[0]), Int(r[1]), Int(r[2]), Int(r[3]), Int(r[4]), Int(r[5]), Int(r[6])});
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<SafetyCaseLine>> ListSafetyCases(EventStore* store, const std::string& study, const Viewer& viewer,
                                                    const SafetyCaseFilter& filter) {
  TC_RETURN_IF_ERROR(RowsCurrent(store, study));
  Sql sql(
      "SELECT case_id, subject, site, visit, form, grp, row_number, term, onset, outcome, causality, criteria, "
      "serious, fatal_lt, state, aware_us, updated_us, followups, stage, version, llt, pt, soc, assessment, reports, "
      "unblinded, source, worldwide_id FROM cap_safety_cases WHERE study = ");
  sql.Param(study);
  VisibleSites(sql, viewer);
  sql.AndEquals("site", filter.site);
  sql.AndEquals("subject", filter.subject);
  sql.AndEquals("state", filter.state);
  sql.AndEquals("case_id", filter.case_id);
  sql << " ORDER BY aware_us, subject, number";
  std::vector<SafetyCaseLine> out;
  TC_RETURN_IF_ERROR(Run(store, sql, [&](const ProjectionRow& r) {
    SafetyCaseLine c;
    c.case_id = Text(r[0]);
    c.subject = Text(r[1]);
    c.site = Text(r[2]);
    c.visit = Text(r[3]);
    c.form = Text(r[4]);
    c.group = Text(r[5]);
    c.row = Int(r[6]);
    c.term = Text(r[7]);
    c.onset = Text(r[8]);
    c.outcome = Text(r[9]);
    c.causality = Text(r[10]);
    std::stringstream criteria(Text(r[11]));
    for (std::string name; std::getline(criteria, name, ',');) c.criteria.push_back(name);
    c.serious = Int(r[12]) != 0;
    c.fatal_or_life_threatening = Int(r[13]) != 0;
    c.state = Text(r[14]);
    c.aware_us = Int(r[15]);
    c.updated_us = Int(r[16]);
    c.followups = Int(r[17]);
    c.stage = Text(r[18]);
    c.version = Int(r[19]);
    c.llt = Text(r[20]);
    c.pt = Text(r[21]);
    c.soc = Text(r[22]);
    TC_ASSIGN_OR_RETURN(c.assessment, ParseJson(Text(r[23])));
    TC_ASSIGN_OR_RETURN(c.reports, ParseJson(Text(r[24])));
    c.unblinded = Int(r[25]) != 0;
    c.source = Text(r[26]);
    c.worldwide_id = Text(r[27]);
    out.push_back(std::move(c));
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<SafetySubmissionLine>> FindSafetySubmissions(EventStore* store, const std::string& study,
                                                                const std::string& batch_number) {
  TC_RETURN_IF_ERROR(RowsCurrent(store, study));
  Sql sql(
      "SELECT subject, case_id, site, destination, batch_number, message_id, safety_report_id, ack, submission, "
      "version FROM cap_safety_submissions WHERE study = ");
  sql.Param(study);
  sql.AndEquals("batch_number", batch_number);
  sql << " ORDER BY subject, number, submission";
  std::vector<SafetySubmissionLine> out;
  TC_RETURN_IF_ERROR(Run(store, sql, [&](const ProjectionRow& r) {
    out.push_back({Text(r[0]), Text(r[1]), Text(r[2]), Text(r[3]), Text(r[4]), Text(r[5]), Text(r[6]), Text(r[7]),
                   Int(r[8]), Int(r[9])});
    return Status::Ok();
  }));
  return out;
}

}  // namespace trialcore::capture
