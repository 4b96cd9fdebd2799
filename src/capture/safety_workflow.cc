#include "capture/safety_workflow.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <tuple>

#include "core/csv_field.h"

namespace trialcore::capture {
namespace {

bool SameText(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The latest report sent to a destination for a version (a resend after a
// rejection is later than what it corrects).
const SafetySubmission* LatestSent(const SafetyCase& c, std::string_view destination, int version) {
  const SafetySubmission* latest = nullptr;
  for (const SafetySubmission& s : c.submissions) {
    if (s.destination == destination && s.version == version) latest = &s;
  }
  return latest;
}

const SafetySubmission* FirstSent(const SafetyCase& c, std::string_view destination, int version) {
  for (const SafetySubmission& s : c.submissions) {
    if (s.destination == destination && s.version == version && !s.nullification) return &s;
  }
  return nullptr;
}

bool Stopped(const SafetyCase& c, const AdverseEventFacts& row) {
  return c.nullified || c.nullification_proposed || row.removed || !c.duplicate_of.empty() || (c.triaged && !c.valid);
}

}  // namespace

std::vector<safety::Destination> SafetyDestinations(const study::Study& study) {
  std::vector<safety::Destination> out;
  for (const auto& d : study.safety.destinations) {
    out.push_back(d == "EU" ? safety::Destination::kEu : safety::Destination::kFda);
  }
  return out;
}

CaseAssessmentFacts AssessmentFactsOf(const study::Study& study, const SafetyCase& c, const AdverseEventFacts& row) {
  CaseAssessmentFacts out;
  const auto& related = study.safety.adverse_events.related;
  out.investigator_related =
      row.related_by_reporter || std::find(related.begin(), related.end(), row.causality) != related.end();
  out.facts.aware_us = c.aware_us;
  out.facts.serious = row.serious;
  out.facts.fatal_or_life_threatening = row.fatal_or_life_threatening;
  const bool assessed = c.assessment && c.assessment->version == c.version;
  out.pending = !assessed;
  if (!assessed) {
    out.facts.unexpected = true;
    out.facts.suspected = true;
    return out;
  }
  out.facts.unexpected = c.assessment->expectedness == "unexpected";
  // The sponsor may not downgrade the investigator's causality for
  // reporting (EU CTR Annex III 2.1(4)): either's "related" counts.
  out.facts.suspected = c.assessment->sponsor_causality == "related" || out.investigator_related;
  return out;
}

std::vector<OwedReport> ReportsOwed(const study::Study& study, const SafetyCase& c, const AdverseEventFacts& row) {
  std::vector<OwedReport> out;
  if (Stopped(c, row)) return out;
  const CaseAssessmentFacts facts = AssessmentFactsOf(study, c, row);
  const std::vector<safety::Destination> destinations = SafetyDestinations(study);
  const int offset = study.safety.utc_offset_minutes;
  auto add = [&](const safety::ReportDue& due, int version) {
    OwedReport r;
    r.due = due;
    r.submission = FirstSent(c, safety::DestinationName(due.destination), version);
    r.late = r.submission != nullptr && safety::Late(due.due, r.submission->time_us, offset);
    out.push_back(r);
  };
  for (const safety::ReportDue& due : safety::ExpeditedReportsDue(facts.facts, destinations, offset)) {
    // The initial report is whichever version went first to that destination.
    int first_version = c.version;
    for (const SafetySubmission& s : c.submissions) {
      if (s.destination == safety::DestinationName(due.destination) && !s.nullification) {
        first_version = s.version;
        break;
      }
    }
    add(due, first_version);
  }
  if (c.version <= 1) return out;
  safety::CaseFacts after = facts.facts;
  after.aware_us = c.version_aware_us;
  for (const safety::ReportDue& due : safety::FollowUpReportsDue(facts.facts, after, destinations, offset)) {
    const std::string_view name = safety::DestinationName(due.destination);
    // A follow-up only where an earlier version was reported.
    const bool reported = std::any_of(c.submissions.begin(), c.submissions.end(), [&](const SafetySubmission& s) {
      return s.destination == name && s.version < c.version && !s.nullification;
    });
    if (reported) add(due, c.version);
  }
  return out;
}

std::string_view SafetyCaseState(std::string_view stage) {
  if (stage == "nullification") return "nullification_proposed";
  if (stage == "complete" || stage == "closed" || stage == "duplicate" || stage == "nullified") return "closed";
  return "open";
}

Value AssessmentValue(const study::Study& study, const SafetyCase& c, const AdverseEventFacts& row) {
  const CaseAssessmentFacts facts = AssessmentFactsOf(study, c, row);
  Value::Object o;
  o["status"] = Value(facts.pending ? "pending" : facts.facts.Susar() ? "susar" : "not_susar");
  o["investigator_causality"] = Value(row.causality);
  o["investigator_related"] = Value(facts.investigator_related);
  if (c.assessment) {
    const SafetyAssessment& a = *c.assessment;
    o["version"] = Value(static_cast<int64_t>(a.version));
    o["sponsor_causality"] = Value(a.sponsor_causality);
    o["expectedness"] = Value(a.expectedness);
    o["rsi_document"] = Value(a.rsi_document);
    o["study_version"] = Value(a.study_version);
    if (!a.comment.empty()) o["comment"] = Value(a.comment);
    o["by"] = Value(a.by.user);
    o["at"] = Value(FormatTimeMicros(a.time_us));
  }
  return Value(std::move(o));
}

Value ReportsValue(const study::Study& study, const SafetyCase& c, const AdverseEventFacts& row) {
  Value::Array out;
  for (const OwedReport& r : ReportsOwed(study, c, row)) {
    Value::Object o;
    o["destination"] = Value(std::string(safety::DestinationName(r.due.destination)));
    o["kind"] = Value(std::string(safety::ReportKindName(r.due.kind)));
    o["days"] = Value(static_cast<int64_t>(r.due.days));
    o["rule"] = Value(r.due.rule);
    o["day0"] = Value(safety::FormatDate(r.due.day0));
    o["due"] = Value(safety::FormatDate(r.due.due));
    if (r.due.follow_up_due) o["follow_up_due"] = Value(safety::FormatDate(*r.due.follow_up_due));
    if (r.submission != nullptr) {
      o["submitted"] = Value(FormatTimeMicros(r.submission->time_us));
      o["submission"] = Value(static_cast<int64_t>(r.submission->number));
      o["late"] = Value(r.late);
    }
    out.push_back(Value(std::move(o)));
  }
  return Value(std::move(out));
}

namespace {

std::string TextOf(const Value& o, std::string_view key) {
  const Value* v = o.Find(key);
  return v != nullptr && v->is_string() ? v->as_string() : "";
}

bool BoolOf(const Value& o, std::string_view key) {
  const Value* v = o.Find(key);
  return v != nullptr && v->kind() == Value::Kind::kBool && v->as_bool();
}

void CsvLine(std::string* out, const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) *out += (i ? "," : "") + CsvField(fields[i]);
  *out += "\r\n";
}

}  // namespace

Value MeddraTermValue(uint32_t code, std::string_view name) {
  Value::Object t;
  t["code"] = Value(static_cast<int64_t>(code));
  t["name"] = Value(std::string(name));
  return Value(std::move(t));
}

std::string SafetyLineListingCsv(const std::vector<SafetyCaseLine>& lines) {
  std::string text;
  CsvLine(&text, {"case", "subject", "site", "verbatim", "llt", "pt", "soc", "onset", "outcome", "serious_criteria",
                  "investigator_causality", "sponsor_causality", "expectedness", "assessment", "stage", "version",
                  "aware", "reports", "source"});
  for (const auto& c : lines) {
    std::string criteria, reports;
    for (const auto& k : c.criteria) criteria += (criteria.empty() ? "" : ";") + k;
    if (c.reports.kind() == Value::Kind::kArray) {
      for (const Value& r : c.reports.as_array()) {
        reports += (reports.empty() ? "" : ";") + TextOf(r, "destination") + " due " + TextOf(r, "due") +
                   (r.Find("submitted") != nullptr ? " sent " + TextOf(r, "submitted") : "");
      }
    }
    CsvLine(&text, {c.case_id, c.subject, c.site, c.term, c.llt, c.pt, c.soc, c.onset, c.outcome, criteria, c.causality,
                    TextOf(c.assessment, "sponsor_causality"), TextOf(c.assessment, "expectedness"),
                    TextOf(c.assessment, "status"), c.stage, std::to_string(c.version), FormatTimeMicros(c.aware_us),
                    reports, c.source});
  }
  return text;
}

std::vector<TabulationRow> TabulateSeriousReactions(const std::vector<SafetyCaseLine>& lines) {
  std::map<std::pair<std::string, std::string>, TabulationRow> rows;
  for (const auto& c : lines) {
    if (!c.serious || c.stage == "nullified" || c.stage == "duplicate" || c.stage == "nullification") continue;
    // Reactions from the study's own subjects only (ICH E2F): spontaneous,
    // literature and imported reports are not this trial's.
    if (c.source != "crf") continue;
    const bool related =
        BoolOf(c.assessment, "investigator_related") || TextOf(c.assessment, "sponsor_causality") == "related";
    if (!related) continue;
    const std::string soc = c.soc.empty() ? "(not coded)" : c.soc;
    const std::string pt = c.pt.empty() ? "(not coded)" : c.pt;
    TabulationRow& row = rows[{soc, pt}];
    row.soc = soc;
    row.pt = pt;
    ++row.reactions;
    if (c.outcome == "FATAL" || std::count(c.criteria.begin(), c.criteria.end(), "death")) ++row.fatal;
    if (TextOf(c.assessment, "expectedness") == "unexpected") ++row.unexpected;
  }
  std::vector<TabulationRow> out;
  for (auto& [key, row] : rows) out.push_back(std::move(row));
  return out;
}

std::string TabulationCsv(const std::vector<TabulationRow>& rows) {
  std::string text;
  CsvLine(&text, {"soc", "pt", "serious_adverse_reactions", "fatal", "unexpected"});
  for (const auto& r : rows) {
    CsvLine(&text, {r.soc, r.pt, std::to_string(r.reactions), std::to_string(r.fatal), std::to_string(r.unexpected)});
  }
  return text;
}

bool CodingCurrent(const SafetyCase& c, const AdverseEventFacts& row) {
  return c.coding.has_value() && c.coding->verbatim == row.term;
}

bool ExpectedByRsi(const study::Study& study, std::string_view pt_name) {
  const auto& expected = study.safety.reference_safety_information.expected;
  return std::any_of(expected.begin(), expected.end(), [&](const std::string& e) { return SameText(e, pt_name); });
}

std::string_view CaseStage(const study::Study& study, const SafetyCase& c, const AdverseEventFacts& row) {
  if (c.nullified) {
    // Every destination that received the case must receive its nullification.
    for (const SafetySubmission& s : c.submissions) {
      if (s.nullification) continue;
      const bool withdrawn = std::any_of(c.submissions.begin(), c.submissions.end(), [&](const SafetySubmission& n) {
        return n.nullification && n.destination == s.destination && n.ack != "rejected";
      });
      if (!withdrawn) return "submission";
    }
    return "nullified";
  }
  if (c.nullification_proposed || row.removed) return "nullification";
  if (!c.triaged) return "triage";
  if (!c.duplicate_of.empty()) return "duplicate";
  if (!c.valid) return "invalid";
  if (!CodingCurrent(c, row)) return "coding";
  if (!c.assessment || c.assessment->version < c.version) return "medical_review";
  if (c.approved_version < c.version) return "approval";
  const std::vector<OwedReport> owed = ReportsOwed(study, c, row);
  if (owed.empty()) return "closed";
  bool awaiting = false, rejected = false;
  for (const OwedReport& r : owed) {
    const SafetySubmission* latest = LatestSent(c, safety::DestinationName(r.due.destination), c.version);
    if (latest == nullptr) return "submission";
    rejected = rejected || latest->ack == "rejected";
    awaiting = awaiting || latest->ack.empty();
  }
  if (rejected) return "correction";
  if (awaiting) return "awaiting_ack";
  return "complete";
}

}  // namespace trialcore::capture
