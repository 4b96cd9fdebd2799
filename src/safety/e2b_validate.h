// Checks before an E2B(R3) message is sent: the ICH XML schemas (libxml2)
// and FDA's business rules. A rejection finding means FDA would reject the
// report, so the workflow must not send it; warnings are shown to the user.
//
// Thread safety: an E2bSchemas is parsed once and never changed; any number
// of threads may validate with it at once (each thread keeps its own libxml2
// validation context per schema until it ends). E2bRules is an immutable value.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "safety/e2b_export.h"
#include "safety/icsr.h"

struct _xmlDoc;  // libxml2's document, for export's in-place check (no libxml2 header here)

namespace trialcore::safety {

class E2bSchemas;
namespace e2b_internal {
// Validates a document already in memory (built by export, parsed by import).
Status ValidateBatchDoc(const E2bSchemas& schemas, _xmlDoc* doc, std::string_view source);
Status ValidateAckDoc(const E2bSchemas& schemas, _xmlDoc* doc, std::string_view source);
}  // namespace e2b_internal

// The ICH ICSR batch schema (multicacheschemas/MCCI_IN200100UV01.xsd) and the
// acknowledgement schema (MCCI_IN200101UV01.xsd), parsed once: parsing them
// takes far longer than validating a message.
class E2bSchemas {
 public:
  // `schema_dir` holds multicacheschemas/ and coreschemas/. InvalidArgument
  // naming the file when a schema does not parse.
  static Result<std::unique_ptr<E2bSchemas>> Load(const std::string& schema_dir);
  ~E2bSchemas();
  E2bSchemas(const E2bSchemas&) = delete;
  E2bSchemas& operator=(const E2bSchemas&) = delete;

  // OK, or InvalidArgument listing libxml2's errors as "source:line: message"
  // (at most 20; the count of the rest).
  Status ValidateIcsrBatch(std::string_view xml, std::string_view source) const;
  Status ValidateAck(std::string_view xml, std::string_view source) const;

 private:
  friend Status e2b_internal::ValidateBatchDoc(const E2bSchemas&, _xmlDoc*, std::string_view);
  friend Status e2b_internal::ValidateAckDoc(const E2bSchemas&, _xmlDoc*, std::string_view);
  struct Impl;
  explicit E2bSchemas(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct E2bFinding {
  std::string rule;     // FDA's error id ("R0008", "W0005"), or the generic rule: "required",
                        // "max-length", "allowed-values", "date-precision", "future-date"
  std::string element;  // "E.i.2.1b[1]"
  bool rejection = true;
  std::string message;  // FDA's wording where FDA gives one
  bool operator==(const E2bFinding&) const = default;
};

bool HasRejection(const std::vector<E2bFinding>& findings);

// Where FDA routes the report: postmarket (FAERS, N.1.4 "ZZFDA") or
// premarket (IND and IND-exempt BA/BE safety reports, "ZZFDA_PREMKT").
enum class FdaRoute { kPostmarket, kPremarket };

// FDA's business rules for what we send.
//   From FDA's data element list (fda-icsr-data-elements.csv), per element:
//   required per the ICH, post-market and pre-market conformance columns
//   (in every instance of a repeating section, and the section's first
//   instance must exist), maximum length, allowed numeric codes, booleans,
//   and for dates the precision (to the second for N.1.5, N.2.r.4, C.1.2; the
//   day for C.1.4, C.1.5) and that they are not in the future.
//   From FDA's rejection and warning rules (fda-rejection-warning-rules.csv),
//   by FDA's ids and with FDA's wording: routing (R0004-R0007, R0100), report
//   type and study (R0008, R0110-R0113, R0023, R0102-R0104, R0113), IND and
//   pre-ANDA numbers (R0024-R0026, R0107-R0109), expedited criteria
//   (R0012-R0015 postmarket, R0016 premarket), documents and identifiers (R0009, R0017, R0018),
//   reporters and sender (R0019-R0022), patient and parent (R0029-R0036,
//   R0041-R0048, R0051), tests (R0061-R0068), drugs (R0069-R0071, R0073-R0075,
//   R0079-R0091, R0114), narrative codes (R0097-R0099), and the warnings
//   W0001-W0005, W0010.
//   Not enforced: rules on whether a report is the initial one (R0010, R0011,
//   R0101: the workflow knows, this does not), rules on elements this build
//   does not map (combination products and devices R0027, R0072, R0092-R0096,
//   W0006-W0008; the parent's history R0052-R0057; G.k.4.r.2-6 R0076-R0078),
//   and rules needing FDA's registries (R0105, R0106, W0009, W0012).
class E2bRules {
 public:
  // Reads FDA's data element list and FDA's rejection and warning rules (for
  // their wording). InvalidArgument naming the file when a list lacks the
  // columns this needs, or a rule enforced here has no entry in FDA's list
  // (so the ids here are FDA's).
  static Result<E2bRules> Parse(std::string_view elements_csv, std::string_view rules_csv);

  // `now_unix_seconds` is the clock (UTC) the future-date rule compares with;
  // passed in so a check is repeatable.
  std::vector<E2bFinding> Check(const E2bBatchHeader& header, const Icsr& icsr, FdaRoute route,
                                int64_t now_unix_seconds) const;

  size_t element_count() const { return elements_.size(); }

  struct ElementRule {
    std::string number;
    std::string name;
    int max_length = 0;               // 0 = none given
    std::string data_type;            // "AN", "N", "A", "Date/Time", "Boolean", ...
    std::vector<std::string> values;  // allowed codes; empty = free
    bool required_ich = false, required_post = false, required_pre = false;
  };
  const ElementRule* Find(std::string_view number) const;

 private:
  std::vector<ElementRule> elements_;
  std::unordered_map<std::string, size_t> by_number_;              // into elements_
  std::vector<std::pair<std::string, std::string>> descriptions_;  // FDA error id -> FDA's description
};

// What the workflow sends: the batch's XML, schema-valid and with no
// rejection finding, and the warnings to show the user.
struct E2bSubmission {
  std::string xml;
  std::vector<E2bFinding> warnings;
};

// Exports, validates against the schema and checks FDA's rules for every
// ICSR of the batch. FailedPrecondition listing each rejection (rule,
// element, FDA's message, report) when FDA would reject a report, so nothing
// is sent; InvalidArgument as ExportE2bBatch for what cannot be exported.
Result<E2bSubmission> PrepareE2bSubmission(const E2bBatchHeader& header, std::span<const Icsr> icsrs,
                                           const E2bSchemas& schemas, const E2bRules& rules, FdaRoute route,
                                           int64_t now_unix_seconds);

}  // namespace trialcore::safety
