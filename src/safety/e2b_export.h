// E2B(R3) export: ICSRs (icsr.h) to an ICH ICSR batch message
// (MCCI_IN200100UV01 wrapping one PORR_IN049016UV message per case version),
// with the FDA regional elements. Pure: values in, XML text out; no schema or
// business-rule checks here (e2b_validate.h does those, so the caller decides
// what blocks sending).
//
// Thread safety: free functions over values; any number of threads may call
// them at once.
#pragma once

#include <span>
#include <string>

#include "core/status.h"
#include "safety/icsr.h"

namespace trialcore::safety {

// The batch wrapper, N.1.x.
struct E2bBatchHeader {
  std::string message_type = "1";  // N.1.1: 1 = ichicsr
  std::string batch_number;        // N.1.2
  std::string sender;              // N.1.3
  std::string receiver;            // N.1.4: "ZZFDA" postmarket, "ZZFDA_PREMKT" IND / IND-exempt BA/BE
  std::string transmission_time;   // N.1.5: CCYYMMDDhhmmss[+-ZZzz]

  bool operator==(const E2bBatchHeader&) const = default;
};

class E2bSchemas;

// Renders a batch of one or more ICSRs. InvalidArgument, naming the report
// (C.1.1) and the element, when an element has no E2B(R3) mapping, the
// wrong number of repeat indices, or neither a value nor a null flavour, or
// when there is no ICSR at all: nothing is left out silently. Reactions and drugs without an id (E.i.0, G.k.0) get
// one derived from C.1.1 and their index, so the same case exports the same
// bytes every time. With `schemas`, the batch is validated against the ICH
// schema before it is serialised (no second parse): InvalidArgument with
// libxml2's errors, which name the element, when it is not valid.
Result<std::string> ExportE2bBatch(const E2bBatchHeader& header, std::span<const Icsr> icsrs,
                                   const E2bSchemas* schemas = nullptr);

}  // namespace trialcore::safety
