#include "api/safety_case.h"

#include <algorithm>
#include <cmath>

#include "capture/blinding.h"
#include "capture/sae_reaction.h"
#include "capture/safety_workflow.h"
#include "safety/meddra_coder.h"

namespace trialcore::api {
namespace {

Value Strings(const std::vector<std::string>& list) {
  Value::Array a;
  for (const auto& s : list) a.push_back(Value(s));
  return Value(std::move(a));
}

// What an event of the case says, for its history: the payload without the
// case's own reference and without the file sent (fetched on its own).
Value HistoryEntry(const Event& e) {
  Value::Object o;
  o["type"] = Value(e.type);
  o["at"] = Value(FormatTimeMicros(e.time_us));
  o["by"] = Value(e.actor.user);
  o["role"] = Value(e.actor.role);
  if (!e.reason.empty()) o["reason"] = Value(e.reason);
  Value::Object details;
  if (e.payload.is_object()) {
    for (const auto& [k, v] : e.payload.as_object()) {
      if (k == "case" || k == "case_number" || k == "file" || k == "set" || k == "visit" || k == "form" ||
          k == "group" || k == "row") {
        continue;
      }
      details[k] = v;
    }
  }
  o["details"] = Value(std::move(details));
  return Value(std::move(o));
}

// The actions open to a role at a stage (the commands refuse the rest).
Value::Array Actions(const study::Study& study, const capture::SafetyCase& c, std::string_view stage,
                     const std::string& role, bool direct) {
  Value::Array out;
  const bool safety = role == "safety_physician";
  auto add = [&](const char* action) { out.push_back(Value(action)); };
  if (safety && (stage == "triage" || stage == "invalid")) add("triage");
  if (safety && (stage == "coding" || stage == "medical_review" || stage == "approval")) add("code");
  if ((safety || role == "medical_monitor") && (stage == "medical_review" || stage == "approval")) add("assess");
  if (safety && stage == "approval") add("approve");
  if (safety && (stage == "submission" || stage == "correction")) add("submit");
  if (safety && !c.nullified) add("nullify");
  // A direct case has no subject of the study, so no treatment to unblind.
  if (safety && !c.unblinded && !study.arms.empty() && !direct) add("unblind");
  return out;
}

// The subject's values that blinded roles never see: what unblinding a case shows.
Value::Array Treatment(const study::Study& study, const capture::SubjectState& s) {
  Value::Array out;
  for (const auto& [visit, v] : s.visits) {
    for (const auto& [form_id, f] : v.forms) {
      for (const auto& [item, state] : f.items) {
        if (state.value.is_null() || !capture::HiddenItem(study, form_id, item)) continue;
        Value::Object o;
        o["visit"] = Value(visit);
        o["form"] = Value(form_id);
        o["item"] = Value(item);
        if (const study::Form* form = study.FindForm(form_id)) {
          if (const study::Item* it = form->FindItem(item)) o["label"] = Value(it->label);
        }
        o["value"] = state.value;
        out.push_back(Value(std::move(o)));
      }
    }
  }
  return out;
}

Value CodingJson(const safety::MeddraCoding& k) {
  auto term = [](const safety::MeddraTermRef& t) { return capture::MeddraTermValue(t.code, t.name); };
  Value::Object o;
  o["llt"] = term(k.llt);
  o["pt"] = term(k.pt);
  o["hlt"] = term(k.hlt);
  o["hlgt"] = term(k.hlgt);
  o["soc"] = term(k.soc);
  o["current"] = Value(k.llt_current);
  return Value(std::move(o));
}

}  // namespace

Value MeddraCodingJson(const safety::MeddraCoder& coder, const std::string& term) {
  const safety::MeddraCodingResult result = coder.Code(term);
  Value::Object o;
  o["meddra_version"] = Value(coder.dictionary().version());
  o["term"] = Value(term);
  o["rule"] = Value(std::string(safety::CodingRuleName(result.rule)));
  if (result.coded()) o["coding"] = CodingJson(result.coding);
  Value::Array candidates;
  for (const auto& candidate : result.candidates) {
    Value c = CodingJson(candidate.coding);
    // Three decimals: a ranking to read, not a measurement.
    c.as_object()["score"] =
        Value(*Decimal::Parse(std::to_string(std::lround(candidate.score * 1000) / 1000.0).substr(0, 5)));
    candidates.push_back(std::move(c));
  }
  o["candidates"] = Value(std::move(candidates));
  return Value(std::move(o));
}

bool ParseSafetyCaseId(const std::string& id, std::string* subject, int* number) {
  const size_t at = id.rfind("-SAE");
  if (at == std::string::npos || at == 0) return false;
  const std::string digits = id.substr(at + 4);
  if (digits.empty() || digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  *subject = id.substr(0, at);
  *number = std::stoi(digits);
  return *number > 0;
}

// What the safety team received for a direct case: the entered facts as
// they stand, or the imported report's identifiers, reactions and products.
Value ReceivedValue(const capture::DirectCase& dc) {
  Value::Object o;
  o["source"] = Value(dc.source);
  o["received"] = Value(dc.received_date);
  o["latest"] = Value(dc.latest_date);
  if (!dc.report) {
    o["facts"] = dc.facts;
    return Value(std::move(o));
  }
  const safety::Icsr& r = *dc.report;
  o["worldwide_id"] = Value(dc.worldwide_id);
  o["safety_report_id"] = Value(r.safety_report_id());
  o["sender"] = Value(r.Value("C.3.2"));
  o["report_type"] = Value(r.report_type());
  o["file_sha256"] = Value(dc.file_sha256);
  Value::Array reactions;
  for (const auto& x : r.reactions()) {
    reactions.push_back(
        Value::Object{{"term", x.reported_term}, {"meddra_llt", x.meddra_llt_code}, {"outcome", x.outcome}});
  }
  o["reactions"] = Value(std::move(reactions));
  Value::Array drugs;
  for (const auto& d : r.drugs()) {
    drugs.push_back(Value::Object{{"name", d.name}, {"characterisation", d.characterisation}});
  }
  o["drugs"] = Value(std::move(drugs));
  o["narrative"] = Value(r.narrative());
  return Value(std::move(o));
}

Value SafetyCaseDetail(const study::Study& study, const capture::SubjectState* subject,
                       const capture::DirectCase* direct, const capture::SafetyCase& c, Value inbox_line,
                       const std::vector<Event>& events, const std::string& role) {
  Value::Object& o = inbox_line.as_object();
  const capture::AdverseEventFacts row =
      direct != nullptr ? capture::FactsOfDirectCase(study, *direct) : capture::FactsOfCase(study, *subject, c);
  if (direct != nullptr) o["received"] = ReceivedValue(*direct);
  const std::string_view stage = capture::CaseStage(study, c, row);
  Value::Object triage;
  triage["done"] = Value(c.triaged);
  if (c.triaged) {
    triage["valid"] = Value(c.valid);
    triage["missing"] = Strings(c.missing);
    if (!c.duplicate_of.empty()) triage["duplicate_of"] = Value(c.duplicate_of);
  }
  o["triage"] = Value(std::move(triage));
  if (c.coding) {
    const capture::SafetyCoding& k = *c.coding;
    Value::Object coding;
    coding["verbatim"] = Value(k.verbatim);
    coding["current"] = Value(capture::CodingCurrent(c, row));
    coding["meddra_version"] = Value(k.meddra_version);
    coding["meddra_language"] = Value(k.meddra_language);
    coding["method"] = Value(k.method);
    coding["llt"] = capture::MeddraTermValue(k.llt, k.llt_name);
    coding["pt"] = capture::MeddraTermValue(k.pt, k.pt_name);
    coding["hlt"] = capture::MeddraTermValue(k.hlt, k.hlt_name);
    coding["hlgt"] = capture::MeddraTermValue(k.hlgt, k.hlgt_name);
    coding["soc"] = capture::MeddraTermValue(k.soc, k.soc_name);
    coding["by"] = Value(k.by.user);
    coding["at"] = Value(FormatTimeMicros(k.time_us));
    o["coding"] = Value(std::move(coding));
  }
  if (c.approved_version > 0) {
    Value::Object approval;
    approval["version"] = Value(static_cast<int64_t>(c.approved_version));
    approval["by"] = Value(c.approved_by.user);
    approval["at"] = Value(FormatTimeMicros(c.approved_us));
    o["approval"] = Value(std::move(approval));
  }
  Value::Array submissions;
  for (const capture::SafetySubmission& s : c.submissions) {
    Value::Object x;
    x["submission"] = Value(static_cast<int64_t>(s.number));
    x["version"] = Value(static_cast<int64_t>(s.version));
    x["destination"] = Value(s.destination);
    x["batch_number"] = Value(s.batch_number);
    x["message_id"] = Value(s.message_id);
    x["safety_report_id"] = Value(s.safety_report_id);
    x["file_sha256"] = Value(s.file_sha256);
    x["nullification"] = Value(s.nullification);
    x["by"] = Value(s.by.user);
    x["at"] = Value(FormatTimeMicros(s.time_us));
    x["ack"] = Value(s.ack.empty() ? "awaiting" : s.ack);
    if (!s.ack.empty()) {
      x["ack_code"] = Value(s.ack_code);
      x["ack_errors"] = Strings(s.ack_errors);
      x["ack_at"] = Value(FormatTimeMicros(s.ack_us));
    }
    submissions.push_back(Value(std::move(x)));
  }
  o["submissions"] = Value(std::move(submissions));
  if (c.nullified) o["nullification_reason"] = Value(c.nullification_reason);
  Value::Array history;
  for (const Event& e : events) history.push_back(HistoryEntry(e));
  o["history"] = Value(std::move(history));
  o["actions"] = Value(Actions(study, c, stage, role, direct != nullptr));
  if (c.unblinded && role == "safety_physician" && subject != nullptr)
    o["treatment"] = Value(Treatment(study, *subject));
  Value::Array destinations;
  for (const auto& d : study.safety.destinations) destinations.push_back(Value(d));
  o["destinations"] = Value(std::move(destinations));
  o["rsi_document"] = Value(study.safety.reference_safety_information.document);
  return inbox_line;
}

}  // namespace trialcore::api
