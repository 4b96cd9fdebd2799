// The site archive (doc/standards.md, "Site archive"): each subject of one
// site as a PDF casebook (casebook_pdf.h) in a directory, `<subject>.pdf`,
// as the export's roles may see it. One subject is read at a time: its state
// and its audit trail, never the study's.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "capture/capture.h"
#include "core/env.h"
#include "core/status.h"
#include "standards/report.h"
#include "store/event_store.h"

namespace trialcore::standards {

struct CasebookExportOptions {
  std::string site;
  // The roles the casebooks are read as (capture/blinding.h, privacy.h): a
  // blinded role gets no unblinded-only item, no query on one and no reason
  // of a change that also covered one; identifying items as disclosed to
  // the roles. Empty: everything, unblinded.
  std::vector<std::string> roles;
  int64_t now_us = 0;
  std::string generated_by;  // printed on each cover
  std::string creator;       // "trialcore 0.1.0"
  std::function<void(size_t done, size_t total)> progress;
};

// Writes `dir`/<subject>.pdf (the directory made when missing) for every subject of the site (inactivated ones
// too: they are part of the site's records). NotFound names the site and the
// study's sites when the study has no such site.
Result<TransferReport> ExportCasebooks(EventStore& store, const capture::Capture& capture,
                                       const CasebookExportOptions& options, Env* env, const std::string& dir);

}  // namespace trialcore::standards
