// Where a safety case stands in its workflow, and which expedited reports it
// owes (doc/safety_cases.md). Both are worked out from the case's events and
// its AE row as they stand, never stored: the inbox, the case page and the
// commands that move a case read the same answer, and a case cannot be in a
// stage its history does not support.
//
//   triage          received; validity (patient, reporter, product, event)
//                   and duplicates not yet looked at
//   invalid         triaged as not (yet) a valid case: awaiting information
//   duplicate       triaged as a duplicate of another case
//   coding          its verbatim term has no MedDRA code, or the term on the
//                   CRF changed since it was coded
//   medical_review  the current version has no sponsor assessment
//   approval        assessed, not approved
//   submission      approved and reportable: a destination still owed this
//                   version (or, nullified, a nullification report)
//   awaiting_ack    sent; no acknowledgement from every destination yet
//   correction      a destination rejected what was sent: correct, resend
//   complete        every report sent and accepted
//   closed          approved and not reportable (not a SUSAR)
//   nullification   its AE row was removed: awaiting the safety team's decision
//   nullified       nullified, and every report sent withdrawn
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "capture/reads.h"
#include "capture/sae_reaction.h"
#include "capture/state.h"
#include "safety/meddra_coder.h"
#include "safety/reporting_clock.h"
#include "study/study.h"

namespace trialcore {
class EventStore;
}

namespace trialcore::capture {

// The facts the reporting rules read, from the CRF row (seriousness, the
// investigator's causality) and the sponsor's assessment. Until the
// assessment, a serious case counts as a SUSAR: the earliest it could be due.
struct CaseAssessmentFacts {
  safety::CaseFacts facts;
  bool pending = true;                // not yet assessed for its current version
  bool investigator_related = false;  // the CRF's causality is one of the study's `related` values
};
CaseAssessmentFacts AssessmentFactsOf(const study::Study& study, const SafetyCase& c, const AdverseEventFacts& row);

std::vector<safety::Destination> SafetyDestinations(const study::Study& study);

// One report owed to one destination, and what was done about it.
struct OwedReport {
  safety::ReportDue due;
  const SafetySubmission* submission = nullptr;  // the report that met it (first sent for that version)
  bool late = false;                             // sent after its due day
};
// Reports owed: the initial report per destination while the case is a
// SUSAR, and for a version after one that was sent, its follow-up report
// (day 0: that version's information).
std::vector<OwedReport> ReportsOwed(const study::Study& study, const SafetyCase& c, const AdverseEventFacts& row);

std::string_view CaseStage(const study::Study& study, const SafetyCase& c, const AdverseEventFacts& row);

// What lists filter cases by: open (work to do), nullification_proposed,
// closed (complete, closed, duplicate, nullified).
std::string_view SafetyCaseState(std::string_view stage);

// For the projection and the API (doc/api.md, "Safety cases"):
//   assessment: {"status": "pending" | "susar" | "not_susar", "investigator_causality",
//                "investigator_related", and once assessed "sponsor_causality", "expectedness",
//                "rsi_document", "study_version", "by", "at"}
//   reports:    [{"destination", "kind", "days", "rule", "day0", "due", "follow_up_due"?,
//                 "submitted"?, "submission"?, "late"?}]
// Neither depends on the time it is read: days left are the reader's to count.
Value AssessmentValue(const study::Study& study, const SafetyCase& c, const AdverseEventFacts& row);
Value ReportsValue(const study::Study& study, const SafetyCase& c, const AdverseEventFacts& row);

// Whether the coding still fits the term on the CRF.
bool CodingCurrent(const SafetyCase& c, const AdverseEventFacts& row);

// Whether a preferred term is listed as expected by the study's reference
// safety information (names compared without regard to case).
bool ExpectedByRsi(const study::Study& study, std::string_view pt_name);

// A MedDRA term as events and replies carry it: {"code", "name"}.
Value MeddraTermValue(uint32_t code, std::string_view name);

// The line listing of cases (CSV, one line per case, as safety teams and
// regulators exchange them): the CRF's facts, the coding, both causality
// assessments, expectedness, stage and the reports with their due days.
std::string SafetyLineListingCsv(const std::vector<SafetyCaseLine>& lines);

// The cumulative summary tabulation of serious adverse reactions for a
// development safety update report (ICH E2F, section 6.2 and appendix): the
// serious cases that either the investigator or the sponsor judged related,
// counted by MedDRA SOC and PT (uncoded ones under "(not coded)"), with how
// many were fatal and how many unexpected. Nullified and duplicate cases are
// left out, and so are direct cases (spontaneous, literature, imported):
// not the trial's own. Blinded: no arm, as DSURs tabulate ongoing blinded
// trials.
struct TabulationRow {
  std::string soc, pt;
  int64_t reactions = 0, fatal = 0, unexpected = 0;
};
std::vector<TabulationRow> TabulateSeriousReactions(const std::vector<SafetyCaseLine>& lines);
std::string TabulationCsv(const std::vector<TabulationRow>& rows);

// The autocoder for a MedDRA version stored in the database (the latest
// loaded when `version` is empty), built once per process.
Result<std::shared_ptr<const safety::MeddraCoder>> MeddraCoderFor(EventStore& store, const std::string& version,
                                                                  const std::string& language);

// A coding chosen for a verbatim term: the LLT named by the command's "llt"
// (a current one of the version), else the autocoder's exact or normalised
// match; FailedPrecondition listing candidates when there is none.
struct MeddraChoice {
  std::shared_ptr<const safety::MeddraCoder> coder;
  safety::MeddraCoding coding;
  std::string method;  // exact | normalised | chosen
};
Result<MeddraChoice> ChooseMeddraCoding(EventStore& store, const Value& cmd, const std::string& term);
// The coding as an event records it (CodingOf reads it back).
void PutCoding(const MeddraChoice& choice, const std::string& verbatim, Value::Object* payload);

}  // namespace trialcore::capture
