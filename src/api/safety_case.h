// One safety case as its page shows it (doc/api.md, "Safety cases"): the
// inbox's line with its clocks, and what the workflow holds beside it —
// triage, the MedDRA coding with its hierarchy, the assessments kept apart,
// each report sent with its acknowledgement, the case's history, and the
// actions the caller's role may take at its stage.
#pragma once

#include <string>
#include <vector>

#include "capture/direct_case.h"
#include "capture/state.h"
#include "core/event.h"
#include "core/value.h"
#include "study/study.h"

namespace trialcore::safety {
class MeddraCoder;
}

namespace trialcore::api {

// The autocoder's answer for a term: {"meddra_version", "term", "rule"
// (exact | normalised | ambiguous | candidates), "coding"? (when coded),
// "candidates": [{"llt", "pt", "hlt", "hlgt", "soc" ({code, name}), "current",
// "score"}]}.
Value MeddraCodingJson(const safety::MeddraCoder& coder, const std::string& term);

// `inbox_line`: the case as BuildSafetyInbox gives it; `events`: the case's
// events, oldest first. A CRF case is read with its subject, a direct case
// (capture/direct_case.h) with what was received ("received": source, dates,
// the entered facts or the imported report's identifiers, reactions and
// products). The treatment (the subject's unblinded_only values) is shown
// only when a CRF case was unblinded and the caller acts as safety physician.
Value SafetyCaseDetail(const study::Study& study, const capture::SubjectState* subject,
                       const capture::DirectCase* direct, const capture::SafetyCase& c, Value inbox_line,
                       const std::vector<Event>& events, const std::string& role);

// The case number of a case id ("701-1001-SAE2" -> subject "701-1001", 2);
// false when the id is not of that form.
bool ParseSafetyCaseId(const std::string& id, std::string* subject, int* number);

}  // namespace trialcore::api
