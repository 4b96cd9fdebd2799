#include "capture/sae_reaction.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "capture/blinding.h"
#include "capture/impl.h"

namespace trialcore::capture {
namespace {

const Value* ItemValue(const RowState& row, const std::string& item) {
  if (item.empty()) return nullptr;
  auto it = row.items.find(item);
  return it == row.items.end() || it->second.value.is_null() ? nullptr : &it->second.value;
}

const SafetyCase* CaseOfRow(const SubjectState& s, const std::string& visit, const std::string& form,
                            const std::string& group, int row) {
  for (const auto& [n, c] : s.cases) {
    if (c.visit == visit && c.form == form && c.group == group && c.row == row) return &c;
  }
  return nullptr;
}

// What the case carries of its row when it opens, so the audit trail shows
// what the safety team first learnt (the case itself reads the row).
Value::Object RowFacts(const study::SafetyAeMapping& m, const RowState& row) {
  Value::Object facts;
  auto put = [&](const char* key, const std::string& item) {
    if (const Value* v = ItemValue(row, item)) facts[key] = *v;
  };
  put("term", m.term);
  put("onset", m.onset);
  put("outcome", m.outcome);
  put("causality", m.causality);
  Value::Array criteria;
  for (const auto& [criterion, item] : m.criteria) {
    const Value* v = ItemValue(row, item);
    if (v && v->kind() == Value::Kind::kBool && v->as_bool()) criteria.push_back(Value(criterion));
  }
  facts["criteria"] = Value(std::move(criteria));
  return facts;
}

Value::Object CaseRef(const std::string& subject, int number, const std::string& visit, const std::string& form,
                      const std::string& group, int row) {
  Value::Object p;
  p["case"] = Value(SafetyCaseId(subject, number));
  p["case_number"] = Value(static_cast<int64_t>(number));
  p["visit"] = Value(visit);
  p["form"] = Value(form);
  p["group"] = Value(group);
  p["row"] = Value(static_cast<int64_t>(row));
  return p;
}

std::string Term(const study::SafetyAeMapping& m, const RowState& row) {
  const Value* v = ItemValue(row, m.term);
  return v && v->is_string() ? "\"" + v->as_string() + "\"" : "(no term yet)";
}

}  // namespace

bool RowIsSerious(const study::SafetyAeMapping& mapping, const RowState& row) {
  if (row.removed) return false;
  const Value* v = ItemValue(row, mapping.serious);
  if (!v) return false;
  if (v->kind() == Value::Kind::kBool) return v->as_bool();
  return v->is_string() && v->as_string() == "Y";
}

AdverseEventFacts FactsOfCase(const study::Study& study, const SubjectState& subject, const SafetyCase& c) {
  AdverseEventFacts f;
  const study::SafetyAeMapping& m = study.safety.adverse_events;
  const RowState* row = FindRow(subject, c.visit, c.form, c.group, c.row);
  if (!row || row->removed) {
    f.removed = true;
    return f;
  }
  auto text = [&](const std::string& item) -> std::string {
    const Value* v = ItemValue(*row, item);
    if (!v) return "";
    if (v->is_string()) return v->as_string();
    if (v->kind() == Value::Kind::kBool) return v->as_bool() ? "true" : "false";
    if (v->kind() == Value::Kind::kInt) return std::to_string(v->as_int());
    return "";
  };
  f.term = text(m.term);
  f.onset = text(m.onset);
  f.outcome = text(m.outcome);
  f.causality = text(m.causality);
  for (const auto& [criterion, item] : m.criteria) {
    const Value* v = ItemValue(*row, item);
    if (v && v->kind() == Value::Kind::kBool && v->as_bool()) f.criteria.push_back(criterion);
  }
  f.serious = RowIsSerious(m, *row);
  f.fatal_or_life_threatening = f.outcome == "FATAL" || std::count(f.criteria.begin(), f.criteria.end(), "death") ||
                                std::count(f.criteria.begin(), f.criteria.end(), "life_threatening");
  return f;
}

void ReactToAdverseEvents(const study::Study& study, const SubjectState& before, const SubjectState& after,
                          const Actor& actor, std::vector<EventDraft>* drafts, std::vector<std::string>* messages) {
  if (!study.safety.declared) return;
  const study::SafetyAeMapping& m = study.safety.adverse_events;
  // The AE rows this batch changes, and their changes, in the batch's order.
  std::vector<std::tuple<std::string, int, Value::Array>> rows;
  for (const EventDraft& d : *drafts) {
    if (d.type != "form.saved") continue;
    const Value* form = d.payload.Find("form");
    const Value* visit = d.payload.Find("visit");
    const Value* changes = d.payload.Find("changes");
    if (!form || !visit || !changes || form->as_string() != m.form) continue;
    for (const Value& c : changes->as_array()) {
      const Value* group = c.Find("group");
      const Value* row = c.Find("row");
      if (!group || !row || group->as_string() != m.group) continue;
      // A hidden (unblinded-only) item's change is no follow-up: the case's
      // events are read by blinded roles too.
      if (HiddenItem(study, m.form, c.Find("item")->as_string())) continue;
      const int n = static_cast<int>(row->as_int());
      auto at = std::find_if(rows.begin(), rows.end(), [&](const auto& r) {
        return std::get<0>(r) == visit->as_string() && std::get<1>(r) == n;
      });
      if (at == rows.end()) at = rows.insert(rows.end(), {visit->as_string(), n, {}});
      Value::Object change;
      change["item"] = *c.Find("item");
      change["value"] = c.Find("value") ? *c.Find("value") : Value();
      std::get<2>(*at).push_back(Value(std::move(change)));
    }
  }
  int next_number = before.cases.empty() ? 1 : before.cases.rbegin()->first + 1;
  const std::string stream = SubjectStream(after.id);
  std::vector<EventDraft> reactions;
  for (auto& [visit, n, changes] : rows) {
    const RowState* row = FindRow(after, visit, m.form, m.group, n);
    if (!row) continue;
    const SafetyCase* existing = CaseOfRow(before, visit, m.form, m.group, n);
    if (!existing) {
      if (!RowIsSerious(m, *row)) continue;
      const int number = next_number++;
      Value::Object p = CaseRef(after.id, number, visit, m.form, m.group, n);
      p["facts"] = Value(RowFacts(m, *row));
      p["product"] = Value(study.safety.suspect_product);
      Value::Object set;
      set[stream + "/safety_cases/" + std::to_string(number)] = Value(SafetyCaseId(after.id, number));
      p["set"] = Value(std::move(set));
      reactions.push_back(Draft(stream, "safety.case.opened", actor, "", Value(std::move(p))));
      messages->push_back("serious adverse event " + Term(m, *row) + ": safety case " + SafetyCaseId(after.id, number) +
                          " opened; the safety team is notified and its reporting "
                          "clock has started");
      continue;
    }
    if (existing->nullification_proposed) continue;
    Value::Object p = CaseRef(after.id, existing->number, visit, m.form, m.group, n);
    p["changes"] = Value(std::move(changes));
    p["serious"] = Value(RowIsSerious(m, *row));
    p["facts"] = Value(RowFacts(m, *row));
    reactions.push_back(Draft(stream, "safety.case.followup", actor, "", Value(std::move(p))));
    messages->push_back("safety case " + SafetyCaseId(after.id, existing->number) + " receives this change as " +
                        "follow-up information" +
                        (RowIsSerious(m, *row) ? "" : "; the event is no longer marked serious"));
  }
  drafts->insert(drafts->end(), std::make_move_iterator(reactions.begin()), std::make_move_iterator(reactions.end()));
}

void ReactToRemovedRow(const study::Study& study, const SubjectState& subject, const std::string& visit,
                       const std::string& form, const std::string& group, int row, const Actor& actor,
                       const std::string& reason, std::vector<EventDraft>* drafts, std::vector<std::string>* messages) {
  if (!study.safety.declared) return;
  const SafetyCase* c = CaseOfRow(subject, visit, form, group, row);
  if (!c || c->nullification_proposed) return;
  Value::Object p = CaseRef(subject.id, c->number, visit, form, group, row);
  drafts->push_back(
      Draft(SubjectStream(subject.id), "safety.case.nullification_proposed", actor, reason, Value(std::move(p))));
  messages->push_back("safety case " + SafetyCaseId(subject.id, c->number) +
                      " is put up for nullification: its adverse event was removed");
}

}  // namespace trialcore::capture
