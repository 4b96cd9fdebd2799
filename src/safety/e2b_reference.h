// What checking an outgoing E2B(R3) message needs, loaded once per process:
// the ICH schemas and FDA's business rules. They come from ICH's and FDA's
// published files (../shared/data/e2b/README or the ICH and FDA sites), in
// one directory:
//   DIR/schemas/multicacheschemas/MCCI_IN200100UV01.xsd (and the rest of the
//   ICH ICSR schema package), DIR/fda-icsr-data-elements.csv,
//   DIR/fda-rejection-warning-rules.csv
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "safety/e2b_validate.h"

namespace trialcore::safety {

struct E2bReference {
  std::string dir;
  std::unique_ptr<E2bSchemas> schemas;
  E2bRules rules;

  // InvalidArgument or NotFound naming the file that is missing or does not parse.
  static Result<std::shared_ptr<const E2bReference>> Load(const std::string& dir);
};

// Where a build looks when no directory is named: TRIALCORE_E2B_DIR in the
// environment, else the one the build was configured with (empty if none).
std::string DefaultE2bDir();

}  // namespace trialcore::safety
