// The handler that makes a serious adverse event saved on the case report
// form the start of a safety case (DESIGN.md §1, "reactions to events";
// issue 16): it adds its events to the save's own batch, so the case exists
// the moment the save does and exactly once per AE row (the batch is
// appended against the subject stream's version, so two saves of one row
// cannot both open a case). The study's `safety` section says which form
// and items hold adverse events.
//
//   safety.case.opened                 a row saved serious that had no case;
//                                      its time is day 0 of the case's clocks
//   safety.case.followup               later changes to that row (including
//                                      its no longer being serious)
//   safety.case.nullification_proposed the row was removed
//
// The events name the case (`case`, `case_number`) and the row; the case
// reads its facts from the row, so the case and the CRF cannot disagree.
#pragma once

#include <string>
#include <vector>

#include "capture/state.h"
#include "core/event.h"
#include "study/study.h"

namespace trialcore::capture {

// After a save's form.saved drafts: what the changed AE rows mean for
// safety cases. before/after: the subject without and with the save.
void ReactToAdverseEvents(const study::Study& study, const SubjectState& before, const SubjectState& after,
                          const Actor& actor, std::vector<EventDraft>* drafts, std::vector<std::string>* messages);

// After a row.removed draft: a case opened by that row is put up for
// nullification, with the removal's reason.
void ReactToRemovedRow(const study::Study& study, const SubjectState& subject, const std::string& visit,
                       const std::string& form, const std::string& group, int row, const Actor& actor,
                       const std::string& reason, std::vector<EventDraft>* drafts, std::vector<std::string>* messages);

// Whether the AE row's values make it serious under the study's mapping.
bool RowIsSerious(const study::SafetyAeMapping& mapping, const RowState& row);

// A case's facts as its AE row holds them now (values as text; empty when
// not entered).
struct AdverseEventFacts {
  std::string term, onset, outcome, causality;
  std::vector<std::string> criteria;  // the seriousness criteria ticked, in the study's order of names
  bool serious = false;
  bool fatal_or_life_threatening = false;  // death or life_threatening ticked, or the outcome FATAL
  bool removed = false;
  // The reporter suspects the product (a direct case: a spontaneous report,
  // or a reporter's causality saying so). A CRF case has the investigator's
  // causality in `causality` instead.
  bool related_by_reporter = false;
};
AdverseEventFacts FactsOfCase(const study::Study& study, const SubjectState& subject, const SafetyCase& c);

}  // namespace trialcore::capture
