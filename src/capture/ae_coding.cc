#include "capture/ae_coding.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "capture/impl.h"
#include "capture/safety_workflow.h"

namespace trialcore::capture {
namespace {

const std::initializer_list<std::string_view> kCodingRoles = {"data_manager", "safety_physician", "medical_monitor"};

// The row when it is there and not removed.
const RowState* LiveRow(const SubjectState& s, const std::string& visit, const std::string& form,
                        const std::string& group, int row) {
  const RowState* r = FindRow(s, visit, form, group, row);
  return r == nullptr || r->removed ? nullptr : r;
}

std::string TermOf(const study::SafetyAeMapping& m, const RowState& row) {
  auto it = row.items.find(m.term);
  return it != row.items.end() && it->second.value.is_string() ? it->second.value.as_string() : "";
}

Value::Object RowRef(const std::string& visit, const std::string& form, const std::string& group, int row) {
  Value::Object p;
  p["visit"] = Value(visit);
  p["form"] = Value(form);
  p["group"] = Value(group);
  p["row"] = Value(static_cast<int64_t>(row));
  return p;
}

}  // namespace

void AutocodeAdverseEvents(EventStore& store, const study::Study& study, const SubjectState& before,
                           const SubjectState& after, const Actor& actor, std::vector<EventDraft>* drafts,
                           std::vector<std::string>* messages) {
  if (!study.safety.declared) return;
  const study::SafetyAeMapping& m = study.safety.adverse_events;
  // The rows whose term this batch changed.
  std::set<std::tuple<std::string, int>> changed;
  for (const EventDraft& d : *drafts) {
    const Value* form = d.payload.Find("form");
    const Value* changes = d.payload.Find("changes");
    if (d.type != "form.saved" || form == nullptr || changes == nullptr || form->as_string() != m.form) continue;
    for (const Value& c : changes->as_array()) {
      const Value* item = c.Find("item");
      const Value* group = c.Find("group");
      const Value* row = c.Find("row");
      if (item == nullptr || group == nullptr || row == nullptr) continue;
      if (item->as_string() == m.term && group->as_string() == m.group) {
        changed.emplace(d.payload.Find("visit")->as_string(), static_cast<int>(row->as_int()));
      }
    }
  }
  if (changed.empty()) return;
  auto coder = MeddraCoderFor(store, "", "");
  if (!coder.ok()) return;  // no MedDRA loaded: terms stay as written
  const std::string stream = SubjectStream(after.id);
  for (const auto& [visit, n] : changed) {
    const RowState* row = LiveRow(after, visit, m.form, m.group, n);
    if (row == nullptr) continue;
    const std::string term = TermOf(m, *row);
    const RowState* old = LiveRow(before, visit, m.form, m.group, n);
    Value::Object p = RowRef(visit, m.form, m.group, n);
    MeddraChoice choice;
    choice.coder = *coder;
    const safety::MeddraCodingResult result = term.empty() ? safety::MeddraCodingResult{} : (*coder)->Code(term);
    if (result.coded()) {
      choice.coding = result.coding;
      choice.method = std::string(safety::CodingRuleName(result.rule));
      PutCoding(choice, term, &p);
      drafts->push_back(Draft(stream, "ae.coded", actor, "", Value(std::move(p))));
      messages->push_back("adverse event \"" + term + "\" coded to " + std::string(result.coding.pt.name) + " (" +
                          std::string(result.coding.soc.name) + ")");
    } else {
      if (old != nullptr && old->coding) {
        p["verbatim_was"] = Value(old->coding->verbatim);
        drafts->push_back(Draft(stream, "ae.uncoded", actor, "", Value(std::move(p))));
      }
      if (!term.empty()) {
        messages->push_back("adverse event \"" + term + "\" has no single MedDRA match; the data manager codes it");
      }
    }
  }
}

bool MayCodeAdverseEvents(std::string_view role) {
  return std::find(kCodingRoles.begin(), kCodingRoles.end(), role) != kCodingRoles.end();
}

Result<Outcome> Capture::Impl::AeCodeCommand(const Value& cmd, const Actor& actor) {
  TC_RETURN_IF_ERROR(RequireRole(actor, kCodingRoles, "code an adverse event"));
  TC_RETURN_IF_ERROR(
      OnlyFields(cmd, {"op", "subject", "visit", "form", "group", "row", "llt", "meddra_version", "reason"}));
  if (!study_->safety.declared) return FailedPrecondition("study " + study_id_ + " declares no safety section");
  const study::SafetyAeMapping& m = study_->safety.adverse_events;
  TC_ASSIGN_OR_RETURN(std::string id, RequiredText(cmd, "subject"));
  TC_ASSIGN_OR_RETURN(std::string visit, RequiredText(cmd, "visit"));
  const Value* rn = cmd.Find("row");
  if (rn == nullptr || rn->kind() != Value::Kind::kInt) return InvalidArgument("\"row\" must be the row number");
  const std::string form = OptionalText(cmd, "form").empty() ? m.form : OptionalText(cmd, "form");
  if (form != m.form) return InvalidArgument("adverse events are on form " + m.form + ", not " + form);
  TC_ASSIGN_OR_RETURN(const SubjectState* s, FindSubject(id));
  const RowState* row = LiveRow(*s, visit, m.form, m.group, static_cast<int>(rn->as_int()));
  if (row == nullptr) {
    return NotFound(visit + "/" + m.form + " of " + id + " has no row " + std::to_string(rn->as_int()));
  }
  const std::string term = TermOf(m, *row);
  if (term.empty()) return FailedPrecondition("the row has no adverse event term to code");
  // A recoding changes what the casebook says: it says why.
  const std::string reason = OptionalText(cmd, "reason");
  if (row->coding && reason.empty()) {
    return FailedPrecondition("the row is coded already (" + row->coding->pt_name + "); give a reason to recode it");
  }
  TC_ASSIGN_OR_RETURN(MeddraChoice choice, ChooseMeddraCoding(*store_, cmd, term));
  Value::Object p = RowRef(visit, m.form, m.group, static_cast<int>(rn->as_int()));
  PutCoding(choice, term, &p);
  const std::string stream = SubjectStream(id);
  Outcome out;
  TC_ASSIGN_OR_RETURN(out.events, Commit(stream, s->version, {Draft(stream, "ae.coded", actor, reason, Value(p))}));
  out.messages.push_back("adverse event \"" + term + "\" coded to " + std::string(choice.coding.pt.name) + " (" +
                         std::string(choice.coding.soc.name) + ")");
  return out;
}

}  // namespace trialcore::capture
