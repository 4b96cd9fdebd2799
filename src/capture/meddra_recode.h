// Recoding a study's MedDRA codings into a newly loaded version (issue 16,
// point 5; doc/safety_cases.md, "A new MedDRA version"). MedDRA is released
// twice a year; a sponsor moves every coded term to the new version so that
// listings, tabulations and the next report count by one dictionary. Each
// coding (an AE row's, ae.coded; a safety case's, safety.case.coded) made in
// an older version is one of:
//   carried over  its LLT is current in the new version, under the same PT,
//                 whose primary SOC is the same;
//   moved         its LLT is current, but now under another PT, or its PT's
//                 primary SOC changed: the counts move;
//   needs review  its LLT is no longer current or was removed (or the term
//                 on the CRF changed since it was coded): a person chooses
//                 among the autocoder's candidates in the new version.
// Applying records the first two as ordinary audited commands (ae.code, and
// safety.recode for a case, which any stage allows: the next follow-up report
// carries the new version); what needs review is left for a person.
// Applying twice changes nothing: a coding in the new version is up to date.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "capture/capture.h"
#include "core/status.h"

namespace trialcore::capture {

enum class RecodeOutcome { kCarriedOver, kMoved, kNeedsReview };
std::string_view RecodeOutcomeName(RecodeOutcome outcome);  // carried_over | moved | needs_review

struct RecodeTerm {
  uint32_t code = 0;
  std::string name;
};
// An LLT with its PT and that PT's primary SOC.
struct RecodePath {
  RecodeTerm llt, pt, soc;
};

struct RecodeItem {
  std::string subject, visit, form, group;
  int row = 0;
  std::string case_id;  // a safety case's coding; empty: the AE row's own
  std::string verbatim;
  std::string from_version;
  RecodePath was;  // as coded
  RecodeOutcome outcome = RecodeOutcome::kNeedsReview;
  RecodePath now;                      // carried over and moved: the same LLT in the new version
  std::string why;                     // needs review: what a person must decide
  std::vector<RecodePath> candidates;  // needs review: the new version's match or candidates, best first
};

// "subject 701-1001 LOGS/AE row 2" or "safety case 701-1001-SAE1".
std::string RecodeItemPlace(const RecodeItem& item);

struct RecodePlan {
  std::string study, to_version;
  std::vector<RecodeItem> items;  // subject by subject: AE rows, then cases
  size_t up_to_date = 0;          // codings already in to_version
  size_t Count(RecodeOutcome outcome) const;
};

// Every coding of the study's subjects made in a version older than `to`.
// Reads only. NotFound naming the loaded versions when `to` is not loaded;
// FailedPrecondition naming a coding made in a version newer than `to`.
Result<RecodePlan> PlanMeddraRecode(const Capture& capture, const std::string& to);

// Who applies a plan: a user and the roles they hold on the study at every
// site. AE rows take a role that may code them (ae.code: data manager,
// safety physician, medical monitor); cases take the safety physician's.
struct Recoder {
  std::string user;
  std::vector<std::string> roles;
};
struct RecodeApplied {
  size_t ae_rows = 0, cases = 0;  // recodings recorded
  std::vector<std::string> messages;
};
// Records each carried-over and moved coding of the plan with `reason`.
// Before anything is stored: InvalidArgument without a reason,
// PermissionDenied naming what the user's roles may not recode. A command
// that fails midway (the subject changed meanwhile) ends it with the
// recodings before it stored: running it again finishes the rest.
Result<RecodeApplied> ApplyMeddraRecode(Capture& capture, const RecodePlan& plan, const Recoder& by,
                                        const std::string& reason);

}  // namespace trialcore::capture
