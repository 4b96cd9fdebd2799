// A study as one CDISC ODM 1.3.2 file: its definition (the version in
// force), its sites, users and signature meanings, and every change of its
// clinical data with its audit record and every signature — a
// Transactional file, so that another system (or an archive) gets the
// history, not only the last values (doc/standards.md, "ODM export").
//
// Written while the log is read, subject by subject: memory holds one
// subject's entities, never the study, whatever its size. The clinical part
// goes to a temporary file beside the target first (ODM puts AdminData, whose
// users are known only at the end, before ClinicalData); the target appears
// by rename only when everything was written.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "standards/report.h"
#include "store/event_store.h"
#include "study/study.h"

namespace trialcore::standards {

struct OdmExportOptions {
  // The roles the export is read as (capture/blinding.h, capture/privacy.h):
  // a blinded role gets no unblinded-only item, no reason of a change that
  // also covered one and no signature's content hash; identifying items are
  // withheld or cut to the year as each role's disclosure says. Empty: the
  // whole study, unblinded (the database owner's export).
  std::vector<std::string> roles;
  std::string source_system_version;                        // "0.1.0"
  int64_t now_us = 0;                                       // CreationDateTime
  std::function<void(size_t done, size_t total)> progress;  // subjects written
};

// Writes the file at `path`. What the log holds that ODM has no element for
// (queries, source data verification, subject status changes) is counted in
// the report's not-carried list, by kind.
Result<TransferReport> ExportOdm(EventStore& store, const std::string& study_id, const study::Study& study,
                                 const OdmExportOptions& options, const std::string& path);

}  // namespace trialcore::standards
