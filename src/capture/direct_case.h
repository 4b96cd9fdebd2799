// Safety cases that do not come from the study's CRF (issue 16, point 1):
// entered by the safety team (a spontaneous report, a literature article)
// or imported from an E2B(R3) message (a partner's or a previous safety
// database's ICSR). Each is a stream of its own in the study's log,
// "case/<id>", holding what was received and, beside it, the same workflow
// events as a CRF case (triage, coding, review, approval, submission,
// acknowledgement): the workflow functions of safety_workflow.h read its
// facts as they read an AE row's.
//
//   safety.case.received     the report as entered (`facts`) or imported
//                            (`report`: its E2B elements, the file's hash);
//                            its `aware_us` is day 0 of the case's clocks
//   safety.case.information  new information (follow-up): the facts or
//                            report replaced; a new version once one was
//                            approved
//
// Ids are "DC-<n>" (n from 1 per study, in order of receipt).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "capture/sae_reaction.h"
#include "capture/state.h"
#include "core/event.h"
#include "core/status.h"
#include "core/value.h"
#include "safety/icsr.h"
#include "safety/reporting_clock.h"
#include "study/study.h"

namespace trialcore::capture {

struct DirectCase {
  std::string id;                      // "DC-7"
  std::string source;                  // spontaneous | literature | e2b
  Value facts;                         // entered: see DirectCaseFacts; null for an imported case
  std::optional<safety::Icsr> report;  // imported: the ICSR as received (latest information)
  std::string file_sha256;             // of the imported message
  std::string worldwide_id;            // C.1.8.1 of an imported report (or its C.1.1)
  std::string received_date;           // as received ("YYYY-MM-DD"): C.1.4
  std::string latest_date;             // the latest information's date: C.1.5
  SafetyCase c;                        // the workflow (number, day 0, version, coding ...)
  uint64_t version = 0;                // of its stream
};

std::string DirectCaseId(int number);
std::string DirectCaseStream(const std::string& id);
// The number of "DC-<n>"; nullopt for any other text.
std::optional<int> DirectCaseNumber(std::string_view id);
bool IsDirectCaseStream(std::string_view stream);

// Applies one event of a case stream.
void ApplyDirectCaseEvent(DirectCase& dc, const Event& event);

// The facts the workflow reads (term, onset, outcome, criteria ...), from
// the entered facts or the imported report's first reaction. A spontaneous
// report counts as suspected by its reporter (ICH E2D 4.1: spontaneous
// reports imply causality).
AdverseEventFacts FactsOfDirectCase(const study::Study& study, const DirectCase& dc);

// What ICH E2A's four criteria of a valid case find missing beyond an event
// term: an identifiable patient (sex, age or initials), an identifiable
// reporter (qualification, name or country) and a suspect product.
std::vector<std::string> MissingForValidity(const DirectCase& dc);

// A command's fields for an entered case, checked and normalised:
//   source      spontaneous | literature
//   received    YYYY-MM-DD, the day the sponsor first knew (day 0); not in the future
//   reporter    {given, family, qualification (physician | pharmacist |
//               other_health_professional | lawyer | consumer), country (ISO 3166 alpha-2), email}
//   patient     {sex (M | F), age (years)}
//   event       {term (required), onset (YYYY[-MM[-DD]]), outcome (RECOVERED | RECOVERING |
//               NOT_RECOVERED | RECOVERED_WITH_SEQUELAE | FATAL | UNKNOWN), criteria: [death,
//               life_threatening, hospitalisation, disability, congenital_anomaly,
//               other_medically_important] (at least one: only serious cases are cases)}
//   product     the suspect product (default: the study's)
//   causality   the reporter's: related | not_related
//   reference   the literature reference (required for literature)
//   narrative   H.1
// InvalidArgument naming the field otherwise.
Result<Value> DirectCaseFacts(const study::Study& study, const Value& cmd, int64_t now_us, int utc_offset_minutes);

// Midnight of a day at the sponsor's offset: a report received that day has
// its day 0 there, whatever the hour it was keyed in.
int64_t StartOfDay(safety::CivilDate day, int utc_offset_minutes);

// An imported report's elements in an event, and back.
Value ReportValue(const safety::Icsr& icsr);
Result<safety::Icsr> ReportOf(const Value& value);

}  // namespace trialcore::capture
