// Adverse event terms on the CRF coded to MedDRA (issue 16, point 5), so
// that the casebook, listings and tabulations read preferred terms and SOCs,
// not free text. A row's term is coded by the autocoder in the batch that
// saves it (an exact or normalised match in the newest MedDRA version loaded);
// a term it cannot code waits for a person (ae.code, with the candidates of
// GET .../safety/cases/{case}/coding or `trialcore meddra code`). A term
// changed to one it cannot code loses its old coding (ae.uncoded), so no row
// shows a code for words it no longer holds.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "capture/state.h"
#include "core/event.h"
#include "study/study.h"

namespace trialcore {
class EventStore;
}

namespace trialcore::capture {

// After a save's form.saved drafts: ae.coded or ae.uncoded for each AE row
// whose term the batch changed. Nothing when no MedDRA version is loaded.
void AutocodeAdverseEvents(EventStore& store, const study::Study& study, const SubjectState& before,
                           const SubjectState& after, const Actor& actor, std::vector<EventDraft>* drafts,
                           std::vector<std::string>* messages);

// Whether a role may code an AE row's term (ae.code).
bool MayCodeAdverseEvents(std::string_view role);

}  // namespace trialcore::capture
