// E2B(R3) import: an ICH ICSR batch message to ICSRs (icsr.h), with libxml2.
// All or nothing: a message that does not parse, breaks the schema (when
// schemas are given) or carries a value this importer has no element for
// yields an error naming the file, line and element, and no ICSR, so the
// caller stores nothing and nothing is lost silently.
//
// Thread safety: any number of threads may import at once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "safety/e2b_export.h"
#include "safety/icsr.h"

namespace trialcore::safety {

class E2bSchemas;

struct E2bBatch {
  E2bBatchHeader header;
  std::vector<Icsr> icsrs;  // one per PORR_IN049016UV message, in order
};

// `source` names the input in errors ("FAERS2022Scenario1.xml:212: ...").
// With `schemas`, the message is first validated against the ICSR batch
// schema. InvalidArgument for malformed XML (libxml2's message and line), a
// root that is not MCCI_IN200100UV01, schema errors, an unsupported value
// (named by its element path and line), or a causality assessment naming a
// reaction or drug the report does not have.
Result<E2bBatch> ImportE2bBatch(std::string_view xml, std::string_view source, const E2bSchemas* schemas = nullptr);

}  // namespace trialcore::safety
