// Numbers as the results files write them: six significant digits, exactly
// as printf's "%.6g" does, several times faster (output is a large share of
// a run's CPU time otherwise).
#pragma once

#include <string>

namespace trialcore::signal {

// Appends v as "%.6g" would; "Inf", "-Inf" and "NA" for the non-finite.
void AppendSixDigits(std::string* out, double v);

}  // namespace trialcore::signal
