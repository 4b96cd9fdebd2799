// What the ODM and REDCap imports share: identifiers the study loader
// accepts, made from foreign names, and the last step of an import: check
// every translated expression against the finished study, write it, and
// read it back with the study loader.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "standards/report.h"
#include "study/study.h"

namespace trialcore::standards {

// Identifiers as the loader wants them (letters, digits and '_', not
// starting with a digit, not a word of the rule language), unique within
// one maker: "IT.DM.SEX" -> "IT_DM_SEX", a second "IT_DM_SEX" -> "IT_DM_SEX_2".
class IdMaker {
 public:
  // `prefix` goes before a name that would start with a digit ("I" + "1A").
  std::string Make(std::string_view from, std::string_view prefix);
  // An id from an OID: its last dot-separated part when that makes a
  // readable id not yet taken ("IT.DM.SEX" -> "SEX", and trialcore's own
  // exports "I.DM.AGE" -> "AGE" back), else the whole OID ("WHO.1" ->
  // "WHO_1", a second "SEX" -> "IT_VS_SEX").
  std::string FromOid(std::string_view oid, std::string_view prefix);
  // Marks an id as taken (one the import must keep as it is).
  void Reserve(const std::string& id) { used_.insert(id); }
  bool Taken(const std::string& id) const { return used_.contains(id); }

 private:
  std::set<std::string> used_;
};

// The identifier text alone, not made unique.
std::string SanitizeId(std::string_view from, std::string_view prefix);

// A study id from a foreign name: letters, digits, '-' and '_', never the
// prefix of the system's own logs ("trialcore-").
std::string StudyIdFrom(std::string_view from);
// Empty when `id` is a study id the loader accepts; else why not.
std::string StudyIdProblem(std::string_view id);

// An expression of the draft that the study could not compile: it is left
// out of the study file, and the import says where it came from.
struct RejectedExpression {
  enum class Kind { kVisibleIf, kDerive, kCheck };
  Kind kind;
  std::string form;
  std::string target;   // the item (visible_if, derive) or check id
  std::string text;     // the rule-language text that was tried
  std::string message;  // the compiler's
};
std::string_view KindName(RejectedExpression::Kind kind);  // "visible_if", "derive", "check"

struct FinishedStudy {
  study::Study study;  // the draft as written (expressions that compile only)
  std::string yaml;
  std::vector<RejectedExpression> rejected;
  std::vector<std::string> notes;  // what the import added
};

// Adds a visit-date form when the draft names no anchor (every study file
// needs one: visits are planned from it), compiles each visible_if, derive
// and check against the draft, drops those that do not compile (returned in
// `rejected`), writes the study file and loads it back. Internal when the
// written file does not load: that would be a fault of the import.
Result<FinishedStudy> FinishDraft(study::Study draft, std::string_view header_comment);

// What an import gives its command: the study file's text, the study as
// written, the report, and what the import added or chose.
struct ImportedStudy {
  std::string yaml;
  study::Study study;
  TransferReport report;
  std::vector<std::string> notes;
};

// The counts every import reports, read from the source and written to the
// study file: visits, forms, item groups, items, code lists, checks,
// conditions, methods (in that order, so reports read alike).
void AddStructureCounts(const study::Study& written, TransferReport* report);

}  // namespace trialcore::standards
