// The study's data as SDTM datasets (the study file's `sdtm` mapping,
// standards/sdtm_mapping.h): one file per domain (and SUPP-- for its
// supplemental qualifiers) as SAS transport v5, Dataset-JSON or NDJSON, and a
// define.xml describing them.
//
// Subjects are read one at a time and each domain's rows go to its writer as
// they are made, so memory holds one subject, never the study. Each file is
// written beside its name and renamed when complete; a failed export leaves
// no file of its own behind.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "capture/capture.h"
#include "core/env.h"
#include "standards/report.h"
#include "standards/sdtm_mapping.h"

namespace trialcore::standards {

enum class SdtmFormat { kXpt, kJson, kNdjson };
Result<SdtmFormat> ParseSdtmFormat(std::string_view name);  // xpt | json | ndjson

struct SdtmExportOptions {
  SdtmFormat format = SdtmFormat::kXpt;
  // The roles the export is read as, as for ODM (odm_export.h): a blinded
  // role gets no unblinded-only value; identifying items as disclosed to
  // them. Empty: everything.
  std::vector<std::string> roles;
  std::vector<std::string> domains;  // empty: every mapped domain
  std::vector<std::string> sites;    // empty: every site
  std::string source_system_version;
  std::function<void(size_t done, size_t total)> progress;  // subjects
};

// Writes into `dir` (which must exist). InvalidArgument naming the domain,
// variable and subject when a value breaks the format's limits (a character
// value over 200 bytes, non-ASCII text in XPT), or naming a domain the
// mapping lacks; FailedPrecondition when the study declares no mapping.
Result<TransferReport> ExportSdtm(capture::Capture& capture, const SdtmMapping& mapping,
                                  const SdtmExportOptions& options, Env* env, const std::string& dir);

}  // namespace trialcore::standards
