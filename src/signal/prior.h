// A fixed MGPS prior, given instead of fitted: as five numbers on the command
// line (`--prior a1,b1,a2,b2,p`) or read from the results a previous run wrote
// (`--prior-from`), so that quarters, or trialcore and openEBGM, are scored
// on the same footing.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "signal/gps.h"

namespace trialcore::signal {

// "alpha1,beta1,alpha2,beta2,P": five finite numbers, the gamma parameters
// positive and P strictly between 0 and 1. InvalidArgument names `where` (an
// option or file:line; nothing when empty) and the offending value.
Result<Prior> ParsePrior(std::string_view text, std::string_view where = "--prior");

// The prior in a file `trialcore signal --out` wrote (the CSV's "# prior:"
// line or the JSON's "prior" object), or a file holding just the five
// numbers. NotFound if it cannot be opened; InvalidArgument, naming file and
// line, if it holds no well-formed prior.
Result<Prior> ReadPriorFile(const std::string& path);

// The prior's own checks (as ParsePrior makes them), for priors built in code.
Status CheckPrior(const Prior& prior, std::string_view where);

}  // namespace trialcore::signal
