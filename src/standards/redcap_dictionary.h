// A study file from a REDCap data dictionary (the CSV REDCap exports from
// "Dictionary"): forms from "Form Name", items from fields, code lists from
// choices, ranges from validation min and max, visible_if from branching
// logic and derive from calculations (doc/standards.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "standards/import_draft.h"

namespace trialcore::standards {

struct RedcapImportOptions {
  // The study's id; made from the dictionary's folder (or file) name when empty.
  std::string study_id;
  // Instruments that repeat: the dictionary does not say which do. Their
  // groups become repeating.
  std::vector<std::string> repeating_forms;
  // Branching logic or a calculation that does not translate is an error
  // ("dictionary.csv:LINE:COLUMN: message"); with keep_going it is listed in
  // the report and the field is imported without it.
  bool keep_going = false;
};

// InvalidArgument naming the file, line and (inside an expression) column:
// a missing or renamed column, a row with the wrong number of fields, a form
// that comes back after another one, logic that does not translate.
// NotFound when the file cannot be read.
Result<ImportedStudy> ImportRedcapDictionary(const std::string& path, const RedcapImportOptions& options = {});
// The same from the CSV's text; `source` names it in messages.
Result<ImportedStudy> ImportRedcapDictionaryText(std::string_view csv, const std::string& source,
                                                 const RedcapImportOptions& options = {});

}  // namespace trialcore::standards
