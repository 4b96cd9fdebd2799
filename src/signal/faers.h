// FDA FAERS quarterly ASCII extracts ($-delimited DEMO, DRUG, REAC and, when
// present, DELE deletion lists), in the current layout (primaryid, caseid,
// caseversion; 2012 Q4 on) and the legacy AERS layout (isr, case), read from
// the quarterly zip files or their unpacked folders, several quarters at once.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "signal/reports.h"

namespace trialcore::signal {

struct FaersOptions {
  std::vector<std::string> sources;   // quarterly .zip files or folders
  bool primary_suspect_only = false;  // role PS only; otherwise PS and SS
  // Strata to build from DEMO: any of "age" (0-17, 18-44, 45-64, 65-74, 75+,
  // unknown), "sex" (M, F, unknown), "year" (of the FDA receipt date).
  std::vector<std::string> strata;
  // Also drop reports that repeat another on event date, age, sex, country,
  // drug list and reaction list (FDA's suggested second pass).
  bool dedup_by_content = false;
};

struct FaersStats {
  uint64_t report_versions = 0;  // DEMO rows read
  uint64_t reports_kept = 0;     // after keeping each case's latest version
  uint64_t deleted = 0;          // cases dropped by deletion lists
  uint64_t content_duplicates = 0;
};

// Keeps the latest version of each case (highest caseversion; for legacy
// files the highest ISR), drops deleted cases, and returns one row per
// (report, drug, reaction). Malformed or truncated files give an error naming
// file and line, and nothing is returned.
Result<ReportTable> LoadFaers(const FaersOptions& options, FaersStats* stats);

}  // namespace trialcore::signal
