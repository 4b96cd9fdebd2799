// SDTM datasets (SAS XPT v5) into a published study, by the study file's
// mapping read backwards (standards/sdtm_mapping.h): each subject of DM is
// screened at its site, then each visit's forms are saved with the values of
// every record that maps to them, visit date first, through the same capture
// commands as a site's (so every check runs and every value is on the audit
// trail, entered by the user the import runs as, in each form's role).
//
// What cannot be carried (a value that does not fit its item — a partial
// date for a date, a code not in the code list —, a second record for a form
// that holds one, a visit number the study does not know, a variable whose
// source is derived) is listed in the report, never dropped silently.
//
// All or nothing: the whole import first runs on an empty in-memory copy of
// the study; only when every command passes there does it run on the real
// database. A subject that already exists there is refused by id, or left
// out and reported when the options say so.
//
// The datasets of a domain are read whole before any command runs (SDTM
// files are sorted by domain, not by subject): memory grows with the files.
#pragma once

#include <functional>
#include <string>

#include "capture/capture.h"
#include "core/env.h"
#include "standards/report.h"
#include "standards/sdtm_mapping.h"

namespace trialcore::standards {

struct SdtmImportOptions {
  // Who the commands are entered as (each in its form's role).
  std::string user;
  // A subject already in the study is left out and reported, instead of
  // refusing the import.
  bool skip_existing = false;
  std::function<void(size_t done, size_t total)> progress;  // subjects
};

// Reads <dir>/<domain>.xpt (lower case) for every mapped domain present, and
// SUPP-- beside it. InvalidArgument naming the file, record and variable;
// FailedPrecondition when the study declares no mapping or a command is
// refused (naming the subject, visit and form, and why).
Result<TransferReport> ImportSdtm(capture::Capture& capture, const SdtmMapping& mapping, Env* env,
                                  const std::string& dir, const SdtmImportOptions& options);

}  // namespace trialcore::standards
