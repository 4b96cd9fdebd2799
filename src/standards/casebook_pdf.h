// One subject's casebook as a PDF, the form a site archives at study close
// (21 CFR 312.62, ICH E6(R3) essential records; doc/standards.md, "Site
// archive"): a cover, then per visit and form (in schedule order) every item
// as entered, the form's audit trail and its signatures' manifestations
// (21 CFR 11.50), then the subject's own signatures and the events that are
// not form data. The outline (bookmarks) runs visit › form.
//
// Layout only: what a role may see is decided by the caller, which passes
// the state and the trail already cut to it (casebook_export.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "capture/state.h"
#include "core/env.h"
#include "core/status.h"
#include "core/value.h"
#include "study/study.h"

namespace trialcore::standards {

// One line of the audit trail: one entity changed by one event.
struct CasebookAuditLine {
  uint64_t seq = 0;  // the event's: the lines of one event share it
  int64_t time_us = 0;
  std::string user, role, event;
  std::string path;  // below "subject/ID/": VISIT/FORM/ITEM, VISIT/FORM/GROUP/ROW/ITEM, status, queries/3/state ...
  std::optional<Value> old_value, new_value;
  std::string reason;
};

struct CasebookInput {
  const study::Study* study = nullptr;
  const capture::SubjectState* subject = nullptr;
  std::vector<CasebookAuditLine> audit;  // in log order
  std::set<std::string> hidden_items;    // "FORM/ITEM" not shown at all (a blinded reader's)
  int64_t now_us = 0;                    // "generated at" and the PDF's creation date
  std::string generated_by;              // who and as which role: "trialcore export casebooks, unblinded"
  std::string creator;                   // the PDF's creator: "trialcore 0.1.0"
};

struct CasebookCounts {
  uint64_t forms = 0, audit_entries = 0, signatures = 0, pages = 0;
};

// Writes the PDF at `path` through the Env: to "<path>.tmp", renamed over
// the path only when complete; on failure nothing of it remains. Pages are
// laid out twice, the first time into nothing, so that each page's footer
// can say "page N of M".
Result<CasebookCounts> WriteCasebookPdf(const CasebookInput& input, Env* env, const std::string& path);

}  // namespace trialcore::standards
