#include "capture/projection.h"

#include <algorithm>
#include <set>

#include "capture/blinding.h"
#include "capture/impl.h"
#include "capture/sae_reaction.h"
#include "capture/safety_workflow.h"
#include "core/json.h"
#include "rules/rules.h"

namespace trialcore::capture {
namespace {

using Type = ProjectionColumn::Type;

ProjectionSet MakeSet() {
  auto cols = [](std::initializer_list<std::pair<const char*, Type>> list) {
    std::vector<ProjectionColumn> out;
    for (const auto& [name, type] : list) out.push_back({name, type});
    return out;
  };
  ProjectionSet set;
  set.name = "capture";
  // 2: indexes for the dashboard's lists and site counts; 3: cap_study.rows_hash; 4: subjects' queries counted
  // by state (open, answered), who opened each query and the save that triggered it (by its stream version:
  // rows are computed before the batch has positions in the log); 5: the SDV plan's items to verify and
  // verified, per form and subject, and whether the subject is in the plan's sample; the reports' figures:
  // each form's values (listings) and entry lag, visits' forms not started, queries' answer and close times.
  // 6: inactivated subjects (cap_subjects.inactive, and no visit rows: nothing of theirs falls due).
  // 7: safety cases opened by serious adverse events on the CRF (cap_safety_cases).
  // 8: the safety case workflow: each case's stage, version, coding, assessment and the reports it owes
  // (due dates, submissions), and cap_safety_submissions for acknowledgements to find their case.
  // 9: safety cases entered or imported by the safety team (direct cases, no subject): their source and
  // worldwide case id (an import's duplicate check).
  set.version = 9;
  set.tables = {
      {"cap_study",
       cols({{"study", Type::kText},
             {"version", Type::kText},
             {"content_hash", Type::kText},
             {"locked", Type::kInt},
             {"stream_version", Type::kInt},
             {"rows_hash", Type::kText}}),
       1,
       {}},
      {"cap_subjects",
       cols({{"study", Type::kText},
             {"subject", Type::kText},
             {"site", Type::kText},
             {"status", Type::kText},
             {"version", Type::kInt},
             {"blinded_version", Type::kInt},
             {"frozen", Type::kInt},
             {"locked", Type::kInt},
             {"open_queries", Type::kInt},
             {"open_visible_queries", Type::kInt},
             {"casebook_signed", Type::kInt},
             {"answered_queries", Type::kInt},
             {"answered_visible_queries", Type::kInt},
             {"sdv_sampled", Type::kInt},
             {"sdv_required", Type::kInt},
             {"sdv_done", Type::kInt},
             {"lag_forms", Type::kInt},
             {"lag_days", Type::kInt},
             {"lag_within_2", Type::kInt},
             {"lag_over_7", Type::kInt},
             {"lag_max", Type::kInt},
             {"inactive", Type::kInt}}),
       2,
       {{"study", "site", "subject"}, {"study", "status", "subject"}, {"study", "site", "status"}}},
      {"cap_visits",
       cols({{"study", Type::kText},
             {"subject", Type::kText},
             {"visit", Type::kText},
             {"site", Type::kText},
             {"position", Type::kInt},
             {"planned_day", Type::kInt},
             {"window_start", Type::kInt},
             {"window_end", Type::kInt},
             {"actual_day", Type::kInt},
             {"state", Type::kText},
             {"forms_expected", Type::kInt},
             {"forms_missing", Type::kInt}}),
       3,
       {{"study", "state", "window_end"}, {"study", "state", "subject", "position"}, {"study", "forms_missing"}}},
      {"cap_forms",
       cols({{"study", Type::kText},
             {"subject", Type::kText},
             {"visit", Type::kText},
             {"form", Type::kText},
             {"site", Type::kText},
             {"status", Type::kText},
             {"frozen", Type::kInt},
             {"locked", Type::kInt},
             {"sdv", Type::kText},
             {"sdv_required", Type::kInt},
             {"sdv_done", Type::kInt},
             {"sdv_pending", Type::kInt},
             {"entry_lag", Type::kInt},
             {"data", Type::kText}}),
       4,
       {{"study", "site", "status"},
        {"study", "sdv_pending", "site", "subject"},
        {"study", "form", "site", "subject"}}},
      {"cap_queries",
       cols({{"study", Type::kText},
             {"subject", Type::kText},
             {"number", Type::kInt},
             {"site", Type::kText},
             {"visit", Type::kText},
             {"form", Type::kText},
             {"item", Type::kText},
             {"grp", Type::kText},
             {"row_number", Type::kInt},
             {"check_id", Type::kText},
             {"state", Type::kText},
             {"hidden", Type::kInt},
             {"opened_us", Type::kInt},
             {"message", Type::kText},
             {"opened_by", Type::kText},
             {"opened_role", Type::kText},
             {"save_version", Type::kInt},
             {"answered_us", Type::kInt},
             {"closed_us", Type::kInt}}),
       3,
       {{"study", "state", "site"}, {"study", "site", "subject"}}},
      {"cap_signatures",
       cols({{"study", Type::kText},
             {"subject", Type::kText},
             {"number", Type::kInt},
             {"site", Type::kText},
             {"visit", Type::kText},
             {"form", Type::kText},
             {"meaning", Type::kText},
             {"signer", Type::kText},
             {"time_us", Type::kInt},
             {"broken", Type::kInt}}),
       3,
       {}},
      {"cap_safety_cases",
       cols({{"study", Type::kText},     {"subject", Type::kText},    {"number", Type::kInt},
             {"case_id", Type::kText},   {"site", Type::kText},       {"visit", Type::kText},
             {"form", Type::kText},      {"grp", Type::kText},        {"row_number", Type::kInt},
             {"term", Type::kText},      {"onset", Type::kText},      {"outcome", Type::kText},
             {"causality", Type::kText}, {"criteria", Type::kText},   {"serious", Type::kInt},
             {"fatal_lt", Type::kInt},   {"state", Type::kText},      {"aware_us", Type::kInt},
             {"updated_us", Type::kInt}, {"followups", Type::kInt},   {"stage", Type::kText},
             {"version", Type::kInt},    {"llt", Type::kText},        {"pt", Type::kText},
             {"soc", Type::kText},       {"assessment", Type::kText}, {"reports", Type::kText},
             {"unblinded", Type::kInt},  {"source", Type::kText},     {"worldwide_id", Type::kText}}),
       3,
       {{"study", "state", "aware_us"}, {"study", "site", "subject"}}},
      // One row per report sent: an acknowledgement names its batch and message.
      {"cap_safety_submissions",
       cols({{"study", Type::kText},
             {"subject", Type::kText},
             {"number", Type::kInt},
             {"submission", Type::kInt},
             {"case_id", Type::kText},
             {"site", Type::kText},
             {"destination", Type::kText},
             {"version", Type::kInt},
             {"batch_number", Type::kText},
             {"message_id", Type::kText},
             {"safety_report_id", Type::kText},
             {"ack", Type::kText}}),
       4,
       {{"study", "batch_number"}}},
  };
  return set;
}

std::string KeyOf(const ProjectionRow& row, size_t key_size) {
  std::string key;
  for (size_t i = 0; i < key_size; ++i) {
    if (i) key += '\x1f';
    key += row[i].kind() == Value::Kind::kInt ? std::to_string(row[i].as_int()) : row[i].as_string();
  }
  return key;
}

void Add(RowMap& rows, const char* table, size_t key_size, ProjectionRow row) {
  std::string key = KeyOf(row, key_size);
  rows[{table, std::move(key)}] = std::move(row);
}

Value OptionalDay(const std::optional<int64_t>& d) { return d ? Value(*d) : Value(); }

// The projected state of a visit instance, whose status today is decided
// when it is read: "pending" visits are due from window_start and overdue
// after window_end.
std::string VisitStateOf(const PlannedVisit& v) {
  if (v.unscheduled) return "unscheduled";
  if (v.missed) return "missed";
  if (v.planned_day && v.actual_day) {
    if (*v.actual_day < *v.planned_day - v.window_before) return "early";
    if (*v.actual_day > *v.planned_day + v.window_after) return "late";
    return "in_window";
  }
  if (v.planned_day) return "pending";
  // Before the anchor exists, screening visits are judged by the site.
  if (v.actual_day) return "in_window";
  return "unplanned";
}

// A form's source data verification: of its entered items a monitor can
// verify (derived items are computed, not copied from a source, and hidden
// items are not verified by blinded monitors), how many there are and are
// verified, and of those the SDV plan asks for on this subject the same.
struct FormSdv {
  int64_t entered = 0, verified = 0, required = 0, done = 0;
  std::string Summary() const {
    if (entered == 0 || verified == 0) return "none";
    return verified == entered ? "complete" : "partial";
  }
};

FormSdv SdvOf(const study::Study& study, const std::string& form_id, const FormState& f, bool sampled) {
  FormSdv out;
  const study::Form* form = study.FindForm(form_id);
  auto count = [&](const std::string& id, const ItemState& it) {
    if (it.value.is_null() && it.not_done.empty()) return;
    const study::Item* def = form == nullptr ? nullptr : form->FindItem(id);
    if (def == nullptr || !def->derive.empty() || def->unblinded_only) return;
    ++out.entered;
    out.verified += it.verified;
    if (study.sdv_plan.Requires(form_id, id, sampled)) {
      ++out.required;
      out.done += it.verified;
    }
  };
  for (const auto& [id, it] : f.items) count(id, it);
  for (const auto& [g, rows] : f.rows) {
    for (const auto& [n, row] : rows) {
      if (row.removed) continue;
      for (const auto& [id, it] : row.items) count(id, it);
    }
  }
  return out;
}

}  // namespace

// Written straight as JSON, not built as a Value and then serialised:
// copying every value into a tree was a tenth of a rebuild's row making.
std::string FormData(const FormState& f) {
  if (!f.touched) return "";
  std::string out = "{\"items\":";
  // Members in key order, as ToJson writes an object (std::map's order).
  auto items = [&out](const std::map<std::string, ItemState>& from) {
    out += '{';
    bool first = true;
    for (const auto& [id, it] : from) {
      if (it.not_done.empty() && it.value.is_null()) continue;
      if (!first) out += ',';
      first = false;
      AppendJsonString(&out, id);
      out += ':';
      if (!it.not_done.empty()) {
        out += "{\"not_done\":";
        AppendJsonString(&out, it.not_done);
        out += '}';
      } else {
        AppendJson(&out, it.value);
      }
    }
    out += '}';
  };
  items(f.items);
  out += ",\"rows\":[";
  bool first = true;
  for (const auto& [group, by_number] : f.rows) {
    for (const auto& [n, row] : by_number) {
      if (row.removed) continue;
      out += first ? "{\"group\":" : ",{\"group\":";
      first = false;
      AppendJsonString(&out, group);
      out += ",\"items\":";
      items(row.items);
      out += ",\"row\":";
      out += std::to_string(n);
      out += '}';
    }
  }
  return out + "]}";
}

namespace {

// Whole days since 1970 of a time in microseconds (rounding down, also before 1970).
int64_t DayOf(int64_t us) {
  constexpr int64_t kDayUs = 86'400'000'000;
  return us >= 0 ? us / kDayUs : -((-us + kDayUs - 1) / kDayUs);
}

// When the first answer and the last close of a query came (0: none).
std::pair<Value, Value> AnsweredAndClosed(const Query& q) {
  Value answered, closed;
  for (const QueryMessage& m : q.thread) {
    if (m.action == "answered" && answered.is_null()) answered = m.time_us;
    if (m.action == "closed") closed = m.time_us;
  }
  if (q.state != QueryState::kClosed) closed = Value();
  return {answered, closed};
}

}  // namespace

const ProjectionSet& CaptureProjections() {
  static const ProjectionSet set = MakeSet();
  return set;
}

ProjectionRow StudyRow(const std::string& study_id, const StudyState& st, const std::string& rows_hash) {
  return {study_id, st.version, st.content_hash, st.locked, static_cast<int64_t>(st.study_stream_version), rows_hash};
}

std::vector<PlannedVisit> PlanVisits(const study::Study& st, const SubjectState& s) {
  auto date_of = [&](const std::string& visit, const study::ItemRef& ref) -> std::optional<int64_t> {
    auto v = s.visits.find(visit);
    if (v == s.visits.end()) return std::nullopt;
    auto f = v->second.forms.find(ref.form);
    if (f == v->second.forms.end()) return std::nullopt;
    const ItemState* it = f->second.Find(ref.item);
    if (it == nullptr || !it->value.is_string()) return std::nullopt;
    auto days = rules::ParseDateDays(it->value.as_string());
    return days.ok() ? std::optional<int64_t>(*days) : std::nullopt;
  };
  // The anchor is the first value of its item in schedule order (it is
  // usually collected once, at randomization or baseline).
  const std::vector<std::string> order = VisitInstancesInOrder(st, s);
  std::optional<int64_t> anchor;
  for (const auto& id : order) {
    if (auto d = date_of(id, st.anchor)) {
      anchor = d;
      break;
    }
  }
  std::vector<PlannedVisit> out;
  auto plan = [&](const study::Visit& v, const std::string& id, std::optional<int> day) {
    PlannedVisit p;
    p.visit = id;
    p.position = static_cast<int>(out.size());
    p.unscheduled = v.unscheduled;
    p.window_before = v.window_before;
    p.window_after = v.window_after;
    p.actual_day = date_of(id, st.visit_date);
    auto vstate = s.visits.find(id);
    p.missed = vstate != s.visits.end() && vstate->second.missed;
    // Day 1 is the anchor date; there is no day 0.
    if (!v.unscheduled && anchor && day) p.planned_day = *anchor + (*day > 0 ? *day - 1 : *day);
    out.push_back(std::move(p));
  };
  for (const auto& v : st.visits) {
    if (v.unscheduled) {
      // Every occurrence that happened, or the visit once when none has.
      bool any = false;
      for (const auto& id : order) {
        auto inst = st.FindVisitInstance(id);
        if (inst.ok() && inst->visit == &v) {
          plan(v, id, std::nullopt);
          any = true;
        }
      }
      if (!any) plan(v, v.id, std::nullopt);
      continue;
    }
    std::vector<int> days = study::PlannedDays(v);
    for (size_t k = 0; k < days.size(); ++k) plan(v, study::VisitInstanceId(v, static_cast<int>(k) + 1), days[k]);
  }
  return out;
}

FormStatus StatusOfFormIn(const study::Study& study, const SubjectState& s, const std::string& visit,
                          const study::Form& f, int64_t now_us) {
  auto v = s.visits.find(visit);
  if (v == s.visits.end()) return FormStatus::kNotStarted;
  auto fs = v->second.forms.find(f.id);
  if (fs == v->second.forms.end() || !fs->second.touched) return FormStatus::kNotStarted;
  Binder binder(study, s, visit, f.id, nullptr, "", now_us);
  for (const auto& g : f.groups) {
    if (g.repeating) continue;
    for (const auto& it : g.items) {
      if (!it.required || !it.derive.empty()) continue;
      if (it.visible_expr && binder.Test(*it.visible_expr) == rules::Truth::kFalse) continue;
      const ItemState* st = fs->second.Find(it.id);
      if (st == nullptr || (st->value.is_null() && st->not_done.empty())) return FormStatus::kInProgress;
    }
  }
  return FormStatus::kComplete;
}

// A safety case's rows, from a subject's AE row or a direct case: the
// subject and site are empty for a direct case, its number that of its id.
Status ForEachCaseRow(const std::string& study_id, const study::Study& study, const std::string& subject,
                      const std::string& site, const std::string& case_id, const SafetyCase& c,
                      const AdverseEventFacts& f, const std::string& source, const std::string& worldwide_id,
                      const SubjectRowSink& sink) {
  std::string criteria;
  for (const auto& name : f.criteria) criteria += (criteria.empty() ? "" : ",") + name;
  const std::string_view stage = CaseStage(study, c, f);
  TC_RETURN_IF_ERROR(sink("cap_safety_cases", 3,
                          {study_id,
                           subject,
                           int64_t{c.number},
                           case_id,
                           site,
                           c.visit,
                           c.form,
                           c.group,
                           int64_t{c.row},
                           f.term,
                           f.onset,
                           f.outcome,
                           f.causality,
                           criteria,
                           f.serious,
                           f.fatal_or_life_threatening,
                           std::string(SafetyCaseState(stage)),
                           c.aware_us,
                           c.updated_us,
                           int64_t{c.followups},
                           std::string(stage),
                           int64_t{c.version},
                           c.coding ? c.coding->llt_name : "",
                           c.coding ? c.coding->pt_name : "",
                           c.coding ? c.coding->soc_name : "",
                           ToJson(AssessmentValue(study, c, f)),
                           ToJson(ReportsValue(study, c, f)),
                           c.unblinded,
                           source,
                           worldwide_id}));
  for (const SafetySubmission& sub : c.submissions) {
    TC_RETURN_IF_ERROR(sink("cap_safety_submissions", 4,
                            {study_id, subject, int64_t{c.number}, int64_t{sub.number}, case_id, site, sub.destination,
                             int64_t{sub.version}, sub.batch_number, sub.message_id, sub.safety_report_id, sub.ack}));
  }
  return Status::Ok();
}

Status ForEachSubjectRow(const std::string& study_id, const study::Study* study, const SubjectState& s,
                         const SubjectRowSink& sink) {
  if (s.id.empty()) return Status::Ok();  // not screened (yet)
  // Counted by state as QueryState defines them: open awaits the site, answered the reviewer.
  int64_t open = 0, open_visible = 0, answered = 0, answered_visible = 0;
  for (const auto& [n, q] : s.queries) {
    const bool visible = study == nullptr || !HiddenQuery(*study, q);
    if (q.state == QueryState::kOpen) {
      ++open;
      open_visible += visible;
    } else if (q.state == QueryState::kAnswered) {
      ++answered;
      answered_visible += visible;
    }
  }
  bool casebook_signed = false;
  for (const auto& [n, sig] : s.signatures) casebook_signed |= !sig.broken && sig.visit.empty();
  const bool sampled = study == nullptr || study->sdv_plan.Sampled(s.site, s.id);
  std::vector<PlannedVisit> planned;
  // An inactivated subject was screened in error: none of its visits is due.
  if (study != nullptr && !s.inactive) planned = PlanVisits(*study, s);
  // Each form's entry lag: days from its visit's date to its first save.
  auto lag_of = [&](const std::string& visit, const FormState& f) -> std::optional<int64_t> {
    if (!f.touched || f.first_saved_us == 0) return std::nullopt;
    for (const PlannedVisit& v : planned) {
      if (v.visit == visit && v.actual_day) return DayOf(f.first_saved_us) - *v.actual_day;
    }
    return std::nullopt;
  };
  int64_t sdv_required = 0, sdv_done = 0, lag_forms = 0, lag_days = 0, lag_within_2 = 0, lag_over_7 = 0, lag_max = 0;
  if (study != nullptr) {
    for (const auto& [vid, visit] : s.visits) {
      for (const auto& [fid, f] : visit.forms) {
        FormSdv sdv = SdvOf(*study, fid, f, sampled);
        sdv_required += sdv.required;
        sdv_done += sdv.done;
        if (auto lag = lag_of(vid, f)) {
          lag_max = lag_forms == 0 ? *lag : std::max(lag_max, *lag);
          ++lag_forms;
          lag_days += *lag;
          lag_within_2 += *lag <= 2;
          lag_over_7 += *lag > 7;
        }
      }
    }
  }
  TC_RETURN_IF_ERROR(sink("cap_subjects", 2,
                          {study_id,
                           s.id,
                           s.site,
                           s.status,
                           static_cast<int64_t>(s.version),
                           static_cast<int64_t>(s.blinded_version),
                           s.frozen,
                           s.locked,
                           open,
                           open_visible,
                           casebook_signed,
                           answered,
                           answered_visible,
                           sampled,
                           sdv_required,
                           sdv_done,
                           lag_forms,
                           lag_days,
                           lag_within_2,
                           lag_over_7,
                           lag_max,
                           s.inactive}));
  for (const auto& [n, q] : s.queries) {
    const QueryMessage* first = q.thread.empty() ? nullptr : &q.thread.front();
    auto [answered_us, closed_us] = AnsweredAndClosed(q);
    TC_RETURN_IF_ERROR(sink("cap_queries", 3,
                            {study_id, s.id, int64_t{n}, s.site, q.visit, q.form, q.item, q.group, int64_t{q.row},
                             q.check, std::string(QueryStateName(q.state)), study != nullptr && HiddenQuery(*study, q),
                             first ? Value(first->time_us) : Value(), first ? Value(first->message) : Value(""),
                             first ? first->actor.user : "", first ? first->actor.role : "",
                             static_cast<int64_t>(q.triggering_save_version), answered_us, closed_us}));
  }
  for (const auto& [n, sig] : s.signatures) {
    TC_RETURN_IF_ERROR(sink("cap_signatures", 3,
                            {study_id, s.id, int64_t{n}, s.site, sig.visit, sig.form, sig.meaning, sig.signer.user,
                             sig.time_us, sig.broken}));
  }
  if (study == nullptr) return Status::Ok();
  for (const auto& [n, c] : s.cases) {
    TC_RETURN_IF_ERROR(ForEachCaseRow(study_id, *study, s.id, s.site, SafetyCaseId(s.id, n), c,
                                      FactsOfCase(*study, s, c), "crf", "", sink));
  }
  for (const PlannedVisit& v : planned) {
    Value start = v.planned_day ? Value(*v.planned_day - v.window_before) : Value();
    Value end = v.planned_day ? Value(*v.planned_day + v.window_after) : Value();
    // The forms the visit collects, and of those not started (a missing
    // page once the visit took place, or is overdue).
    int64_t expected = 0, missing = 0;
    if (auto instance = study->FindVisitInstance(v.visit); instance.ok()) {
      auto state = s.visits.find(v.visit);
      for (const std::string& form : instance->visit->forms) {
        ++expected;
        bool started = false;
        if (state != s.visits.end()) {
          auto f = state->second.forms.find(form);
          started = f != state->second.forms.end() && f->second.touched;
        }
        missing += !started;
      }
    }
    TC_RETURN_IF_ERROR(sink("cap_visits", 3,
                            {study_id, s.id, v.visit, s.site, int64_t{v.position}, OptionalDay(v.planned_day), start,
                             end, OptionalDay(v.actual_day), VisitStateOf(v), expected, missing}));
  }
  for (const auto& [vid, visit] : s.visits) {
    for (const auto& [fid, f] : visit.forms) {
      const study::Form* form = study->FindForm(fid);
      if (form == nullptr) continue;
      // The clock is left out of the rows (see the header): a visibility
      // condition that reads today() is judged at the epoch here.
      std::string status(FormStatusName(StatusOfFormIn(*study, s, vid, *form, 0)));
      FormSdv sdv = SdvOf(*study, fid, f, sampled);
      TC_RETURN_IF_ERROR(
          sink("cap_forms", 4,
               {study_id, s.id, vid, fid, s.site, std::move(status), f.frozen, f.locked, sdv.Summary(), sdv.required,
                sdv.done, sdv.done < sdv.required, OptionalDay(lag_of(vid, f)), FormData(f)}));
    }
  }
  return Status::Ok();
}

Status ForEachDirectCaseRow(const std::string& study_id, const study::Study* study, const DirectCase& dc,
                            const SubjectRowSink& sink) {
  if (study == nullptr || dc.id.empty()) return Status::Ok();
  return ForEachCaseRow(study_id, *study, "", "", dc.id, dc.c, FactsOfDirectCase(*study, dc), dc.source,
                        dc.worldwide_id, sink);
}

RowMap DirectCaseRows(const std::string& study_id, const study::Study* study, const DirectCase& dc) {
  RowMap rows;
  Status kept = ForEachDirectCaseRow(study_id, study, dc, [&](const char* table, size_t key_size, ProjectionRow&& row) {
    Add(rows, table, key_size, std::move(row));
    return Status::Ok();
  });
  (void)kept;  // Add cannot fail
  return rows;
}

RowMap SubjectRows(const std::string& study_id, const study::Study* study, const SubjectState& s) {
  RowMap rows;
  Status kept = ForEachSubjectRow(study_id, study, s, [&](const char* table, size_t key_size, ProjectionRow&& row) {
    Add(rows, table, key_size, std::move(row));
    return Status::Ok();
  });
  (void)kept;  // Add cannot fail
  return rows;
}

Status WriteRowChanges(const RowMap& before, const RowMap& after, ProjectionWriter& writer) {
  for (const auto& [key, row] : after) {
    auto it = before.find(key);
    if (it == before.end() || it->second != row) TC_RETURN_IF_ERROR(writer.Put(key.first, row));
  }
  for (const auto& [key, row] : before) {
    if (!after.contains(key)) TC_RETURN_IF_ERROR(writer.Delete(key.first, row));
  }
  return Status::Ok();
}

Result<uint64_t> RewriteStudyProjections(EventStore* store, const std::string& study_id,
                                         const RewriteProgress& progress) {
  uint64_t replayed = 0, total = 0;
  if (progress) {
    TC_ASSIGN_OR_RETURN(auto heads, store->Heads());
    for (const auto& h : heads) {
      if (h.study == study_id) total = h.size;
    }
  }
  // Events come by stream, and direct cases ("case/...") sort before the
  // study's own: the study's versions are read first, so that every
  // stream's rows are made under the version in force.
  StudyState study_state;
  StudyVersions versions;
  uint64_t study_read_to = 0;
  auto apply_study_event = [&](const Event& e) -> Status {
    std::string hash_before = study_state.content_hash;
    ApplyEvent(study_state, e);
    study_read_to = e.seq;
    if (study_state.content_hash != hash_before) {
      TC_ASSIGN_OR_RETURN(auto loaded, LoadPublishedStudy(study_id, study_state));
      versions.emplace_back(e.seq, std::move(loaded));
    }
    return Status::Ok();
  };
  {
    EventFilter filter;
    filter.study = study_id;
    filter.stream = "study";
    TC_RETURN_IF_ERROR(store->ForEachEvent(filter, apply_study_event));
  }
  Status rewritten = store->RewriteProjections(
      CaptureProjections().name, study_id, [&](ProjectionWriter& writer, const StudyEventsByStream& events) -> Status {
        SubjectState subject;
        DirectCase direct;
        std::string current_stream;
        auto flush = [&]() -> Status {
          const study::Study* latest = versions.empty() ? nullptr : versions.back().second.get();
          if (!direct.id.empty()) {
            Status s = ForEachDirectCaseRow(
                study_id, latest, direct,
                [&](const char* table, size_t, ProjectionRow&& row) { return writer.Put(table, row); });
            direct = DirectCase{};
            return s;
          }
          if (subject.id.empty()) return Status::Ok();
          // Every row is new to the emptied tables: put as made, without
          // the keyed map a live diff needs.
          Status s = ForEachSubjectRow(study_id, latest, subject, [&](const char* table, size_t, ProjectionRow&& row) {
            return writer.Put(table, row);
          });
          subject = SubjectState{};
          return s;
        };
        Status replay = events([&](const Event& e) -> Status {
          if (++replayed % 16384 == 0 && progress) progress(study_id, replayed, total);
          if (e.stream != current_stream) {
            TC_RETURN_IF_ERROR(flush());
            current_stream = e.stream;
          }
          if (e.stream == "study") return e.seq > study_read_to ? apply_study_event(e) : Status::Ok();
          if (IsDirectCaseStream(e.stream)) {
            ApplyDirectCaseEvent(direct, e);
            return Status::Ok();
          }
          if (!e.stream.starts_with("subject/")) return Status::Ok();
          ApplyCounted(subject, e, VersionInForce(versions, e.seq));
          return Status::Ok();
        });
        if (!replay.ok()) return replay;
        TC_RETURN_IF_ERROR(flush());
        // Only a published study has one (not, say, the user directory's log).
        if (study_state.study_stream_version == 0) return Status::Ok();
        return writer.Put("cap_study", StudyRow(study_id, study_state, study_state.content_hash));
      });
  if (!rewritten.ok()) return rewritten;
  return replayed;
}

Status EnsureProjections(EventStore* store, const RewriteProgress& progress) {
  TC_RETURN_IF_ERROR(store->RegisterProjections(CaptureProjections()).status());
  // A study's rows are rewritten in one transaction that includes its row in
  // cap_study: a published study without that row has tables made empty
  // (new, of an older version of the set, or dropped).
  // So has a study whose rows were computed under another version than the
  // one in force (a migration whose rewrite did not finish).
  std::set<std::string> projected;
  TC_RETURN_IF_ERROR(store->QueryProjections("SELECT study FROM cap_study WHERE rows_hash = content_hash", {},
                                             [&](const ProjectionRow& r) {
                                               projected.insert(r[0].as_string());
                                               return Status::Ok();
                                             }));
  TC_ASSIGN_OR_RETURN(auto heads, store->Heads());
  std::vector<std::string> missing;
  for (const auto& h : heads) {
    if (projected.contains(h.study)) continue;
    // Studies of capture are those ever published (the log also holds
    // others, such as the user directory's).
    TC_ASSIGN_OR_RETURN(auto published, store->ReadEntity(h.study, "study/version"));
    if (published) missing.push_back(h.study);
  }
  for (const std::string& study : missing) TC_RETURN_IF_ERROR(RewriteStudyProjections(store, study, progress).status());
  return Status::Ok();
}

}  // namespace trialcore::capture
