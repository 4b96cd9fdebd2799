#include "capture/meddra_recode.h"

#include <algorithm>
#include <optional>

#include "capture/ae_coding.h"
#include "capture/direct_case.h"
#include "capture/impl.h"
#include "capture/reads.h"
#include "capture/sae_reaction.h"
#include "capture/safety_workflow.h"
#include "safety/meddra_coder.h"
#include "safety/meddra_diff.h"

namespace trialcore::capture {
namespace {

// A case is the safety team's: the role that codes it (safety.code) recodes it.
const std::initializer_list<std::string_view> kCaseCodingRoles = {"safety_physician"};
constexpr size_t kMaxCandidates = 5;

RecodePath PathOf(const SafetyCoding& k) {
  RecodePath p;
  p.llt = {k.llt, k.llt_name};
  p.pt = {k.pt, k.pt_name};
  p.soc = {k.soc, k.soc_name};
  return p;
}

RecodePath PathOf(const safety::MeddraCoding& c) {
  RecodePath p;
  p.llt = {c.llt.code, std::string(c.llt.name)};
  p.pt = {c.pt.code, std::string(c.pt.name)};
  p.soc = {c.soc.code, std::string(c.soc.name)};
  return p;
}

std::string LltText(const SafetyCoding& k) { return "LLT " + std::to_string(k.llt) + " " + k.llt_name; }

// What the new version makes of one coding; `term` is the words it codes now
// (the CRF's), which a recoding must not leave behind.
void Judge(const safety::MeddraCoder& coder, const std::string& term, const SafetyCoding& k, RecodeItem* item) {
  item->verbatim = k.verbatim;
  item->from_version = k.meddra_version;
  item->was = PathOf(k);
  const std::string& version = coder.dictionary().version();
  const safety::MeddraLlt* llt = coder.dictionary().FindLlt(k.llt);
  if (k.verbatim != term) {
    item->why = "the term on the CRF changed since it was coded (now \"" + term + "\")";
  } else if (llt == nullptr) {
    item->why = LltText(k) + " is not in MedDRA " + version;
  } else if (!llt->current) {
    item->why = LltText(k) + " is no longer current in MedDRA " + version;
  }
  if (!item->why.empty()) {
    item->outcome = RecodeOutcome::kNeedsReview;
    const safety::MeddraCodingResult r = coder.Code(term);
    if (r.coded()) item->candidates.push_back(PathOf(r.coding));
    for (const auto& c : r.candidates) {
      if (item->candidates.size() == kMaxCandidates) break;
      if (c.coding.llt_current) item->candidates.push_back(PathOf(c.coding));  // the only ones it can be coded to
    }
    return;
  }
  const safety::MeddraCoding now = *coder.CodingOfLlt(k.llt);
  item->now = PathOf(now);
  item->outcome = now.pt.code == k.pt && now.soc.code == k.soc ? RecodeOutcome::kCarriedOver : RecodeOutcome::kMoved;
}

std::string RowTerm(const study::SafetyAeMapping& m, const RowState& row) {
  auto it = row.items.find(m.term);
  return it != row.items.end() && it->second.value.is_string() ? it->second.value.as_string() : "";
}

std::string Place(const RecodeItem& item) {
  if (!item.case_id.empty()) return "safety case " + item.case_id;
  return "subject " + item.subject + " " + item.visit + "/" + item.form + " row " + std::to_string(item.row);
}

}  // namespace

std::string_view RecodeOutcomeName(RecodeOutcome outcome) {
  switch (outcome) {
    case RecodeOutcome::kCarriedOver:
      return "carried_over";
    case RecodeOutcome::kMoved:
      return "moved";
    case RecodeOutcome::kNeedsReview:
      return "needs_review";
  }
  return "needs_review";
}

std::string RecodeItemPlace(const RecodeItem& item) { return Place(item); }

size_t RecodePlan::Count(RecodeOutcome outcome) const {
  return static_cast<size_t>(
      std::count_if(items.begin(), items.end(), [&](const RecodeItem& i) { return i.outcome == outcome; }));
}

Result<RecodePlan> PlanMeddraRecode(const Capture& capture, const std::string& to) {
  const std::shared_ptr<const study::Study> study = capture.study();
  if (study == nullptr) {
    return FailedPrecondition("study " + capture.study_id() + " has no published version; publish it first");
  }
  TC_ASSIGN_OR_RETURN(auto coder, MeddraCoderFor(*capture.store(), to, ""));
  RecodePlan plan;
  plan.study = capture.study_id();
  plan.to_version = coder->dictionary().version();
  if (!study->safety.declared) return plan;  // nothing is coded without a safety section
  const study::SafetyAeMapping& m = study->safety.adverse_events;
  // A coding newer than the target would be taken back to an older
  // dictionary: refused, naming the first and counting the rest.
  std::string newer;
  size_t newer_count = 0;
  auto consider = [&](const SafetyCoding& k, const std::string& term, RecodeItem item) {
    if (k.meddra_version == plan.to_version) {
      ++plan.up_to_date;
    } else if (safety::OlderMeddraVersion(plan.to_version, k.meddra_version)) {
      if (newer_count++ == 0) newer = Place(item) + " is coded in MedDRA " + k.meddra_version;
    } else {
      Judge(*coder, term, k, &item);
      plan.items.push_back(std::move(item));
    }
  };
  TC_ASSIGN_OR_RETURN(std::vector<std::string> ids, SubjectIds(capture.store(), capture.study_id()));
  for (const std::string& id : ids) {
    TC_RETURN_IF_ERROR(capture.ReadSubject(id, [&](const SubjectState& s) {
      for (const auto& [visit, v] : s.visits) {
        auto form = v.forms.find(m.form);
        if (form == v.forms.end()) continue;
        auto group = form->second.rows.find(m.group);
        if (group == form->second.rows.end()) continue;
        for (const auto& [n, row] : group->second) {
          if (row.removed || !row.coding) continue;
          RecodeItem item;
          item.subject = s.id;
          item.visit = visit;
          item.form = m.form;
          item.group = m.group;
          item.row = n;
          consider(*row.coding, RowTerm(m, row), std::move(item));
        }
      }
      for (const auto& [n, c] : s.cases) {
        if (!c.coding) continue;
        RecodeItem item;
        item.subject = s.id;
        item.visit = c.visit;
        item.form = c.form;
        item.group = c.group;
        item.row = c.row;
        item.case_id = SafetyCaseId(s.id, n);
        consider(*c.coding, FactsOfCase(*study, s, c).term, std::move(item));
      }
    }));
  }
  // Cases the safety team entered or imported (no subject), in their own streams.
  Viewer everyone;
  everyone.all_sites = true;
  TC_ASSIGN_OR_RETURN(std::vector<SafetyCaseLine> lines,
                      ListSafetyCases(capture.store(), capture.study_id(), everyone, {}));
  for (const SafetyCaseLine& line : lines) {
    if (!line.subject.empty()) continue;
    TC_ASSIGN_OR_RETURN(DirectCase dc, capture.ReadDirectCase(line.case_id));
    if (!dc.c.coding) continue;
    RecodeItem item;
    item.case_id = dc.id;
    consider(*dc.c.coding, FactsOfDirectCase(*study, dc).term, std::move(item));
  }
  if (newer_count > 0) {
    return FailedPrecondition(newer + ", newer than " + plan.to_version +
                              (newer_count > 1 ? " (and " + std::to_string(newer_count - 1) + " more)" : "") +
                              "; recode to that version or a newer one");
  }
  return plan;
}

Result<RecodeApplied> ApplyMeddraRecode(Capture& capture, const RecodePlan& plan, const Recoder& by,
                                        const std::string& reason) {
  if (reason.empty()) return InvalidArgument("give the reason for the recoding (it goes into the audit trail)");
  auto role_for = [&](bool is_case) -> std::string {
    for (const std::string& r : by.roles) {
      const bool may = is_case
                           ? std::find(kCaseCodingRoles.begin(), kCaseCodingRoles.end(), r) != kCaseCodingRoles.end()
                           : MayCodeAdverseEvents(r);
      if (may) return r;
    }
    return "";
  };
  std::string roles;
  for (const std::string& r : by.roles) roles += (roles.empty() ? "" : ", ") + r;
  if (roles.empty()) roles = "no role on study " + plan.study + " at every site";
  auto refused = [&](const std::string& what) {
    return PermissionDenied("user " + by.user + " (" + roles + ") may not " + what + "; nothing was recoded");
  };
  // Refused even with nothing to record: the answer must not depend on the data.
  if (role_for(false).empty() && role_for(true).empty()) {
    return refused("code MedDRA terms (a data manager, safety physician or medical monitor may)");
  }
  std::vector<const RecodeItem*> todo;
  for (const RecodeItem& item : plan.items) {
    if (item.outcome != RecodeOutcome::kNeedsReview) todo.push_back(&item);
  }
  // Every refusal a role would meet, before the first recoding is stored.
  for (const bool is_case : {false, true}) {
    const auto first =
        std::find_if(todo.begin(), todo.end(), [&](const RecodeItem* i) { return i->case_id.empty() != is_case; });
    if (first == todo.end() || !role_for(is_case).empty()) continue;
    return refused(std::string(is_case ? "recode safety cases (a safety physician may)"
                                       : "recode adverse events (a data manager, safety physician or medical "
                                         "monitor may)") +
                   ", such as " + Place(**first));
  }
  RecodeApplied out;
  for (const RecodeItem* item : todo) {
    Value::Object cmd;
    if (!item->subject.empty()) cmd["subject"] = Value(item->subject);  // none for a direct case
    cmd["llt"] = Value(static_cast<int64_t>(item->was.llt.code));
    cmd["meddra_version"] = Value(plan.to_version);
    cmd["reason"] = Value(reason);
    if (item->case_id.empty()) {
      cmd["op"] = Value(std::string("ae.code"));
      cmd["visit"] = Value(item->visit);
      cmd["form"] = Value(item->form);
      cmd["group"] = Value(item->group);
      cmd["row"] = Value(static_cast<int64_t>(item->row));
    } else {
      cmd["op"] = Value(std::string("safety.recode"));
      cmd["case"] = Value(item->case_id);
    }
    const Actor actor{by.user, role_for(!item->case_id.empty())};
    auto done = capture.Execute(Value(std::move(cmd)), actor);
    if (!done.ok()) {
      return Status(done.status().code(), "recoding " + Place(*item) + ": " + done.status().message() + " (" +
                                              std::to_string(out.ae_rows + out.cases) +
                                              " recoded before it; run it again to finish)");
    }
    ++(item->case_id.empty() ? out.ae_rows : out.cases);
    for (auto& msg : done->messages) out.messages.push_back(std::move(msg));
  }
  return out;
}

// A coding that upversioning carries to a newer MedDRA version: the same LLT,
// whatever the case's stage, since a submitted case's next follow-up report
// is coded in the version in use then. Any other change of term is
// safety.code's, at the stages that allow it.
Result<Outcome> Capture::Impl::SafetyRecodeCommand(const Value& cmd, const Actor& actor) {
  TC_RETURN_IF_ERROR(RequireRole(actor, kCaseCodingRoles, "recode a safety case"));
  TC_RETURN_IF_ERROR(OnlyFields(cmd, {"op", "subject", "case", "llt", "meddra_version", "reason"}));
  if (!study_->safety.declared) return FailedPrecondition("study " + study_id_ + " declares no safety section");
  TC_ASSIGN_OR_RETURN(std::string case_id, RequiredText(cmd, "case"));
  TC_ASSIGN_OR_RETURN(std::string version, RequiredText(cmd, "meddra_version"));
  TC_ASSIGN_OR_RETURN(std::string reason, RequiredText(cmd, "reason"));
  const std::string id = OptionalText(cmd, "subject");
  TC_ASSIGN_OR_RETURN(NamedCase named, FindNamedCase(id, case_id));
  const SubjectState* s = named.subject;
  const std::optional<DirectCase>& direct = named.direct;
  const SafetyCase* c = &named.Case();
  const AdverseEventFacts row = direct ? FactsOfDirectCase(*study_, *direct) : FactsOfCase(*study_, *s, *c);
  if (!CodingCurrent(*c, row)) {
    return FailedPrecondition("safety case " + case_id +
                              " has no coding of its current term to recode; code it (safety.code)");
  }
  const SafetyCoding& was = *c->coding;
  if (!safety::OlderMeddraVersion(was.meddra_version, version)) {
    return FailedPrecondition("safety case " + case_id + " is coded in MedDRA " + was.meddra_version +
                              "; a recoding moves it to a newer version, not " + version);
  }
  const Value* llt = cmd.Find("llt");
  if (llt == nullptr || llt->kind() != Value::Kind::kInt || llt->as_int() != static_cast<int64_t>(was.llt)) {
    return FailedPrecondition("a recoding keeps the case's LLT " + std::to_string(was.llt) + " (" + was.llt_name +
                              "); to choose another term, code it with safety.code");
  }
  TC_ASSIGN_OR_RETURN(MeddraChoice choice, ChooseMeddraCoding(*store_, cmd, row.term));
  Value::Object p;
  p["case"] = Value(case_id);
  p["case_number"] = Value(static_cast<int64_t>(c->number));
  if (!direct) {
    p["visit"] = Value(c->visit);
    p["form"] = Value(c->form);
  }
  PutCoding(choice, row.term, &p);
  p["recoded_from"] = Value(was.meddra_version);
  const std::string stream = direct ? DirectCaseStream(case_id) : SubjectStream(id);
  Outcome out;
  TC_ASSIGN_OR_RETURN(
      out.events, Commit(stream, direct ? direct->version : s->version,
                         {Draft(stream, "safety.case.coded", actor, reason, Value(p))}, direct ? &*direct : nullptr));
  out.messages.push_back("safety case " + case_id + " recoded from MedDRA " + was.meddra_version + " to " +
                         choice.coder->dictionary().version() + ": " + std::string(choice.coding.pt.name) + " (" +
                         std::string(choice.coding.soc.name) + ")");
  return out;
}

}  // namespace trialcore::capture
