// The classic signal chart: EB05 against the number of reports N (log scale),
// with the EB05 = 2 threshold drawn and the strongest pairs labelled, as SVG.
#pragma once

#include <string>

#include "signal/analysis.h"

namespace trialcore::signal {

std::string PlotEb05AgainstN(const SignalResult& result, size_t labels = 10);

}  // namespace trialcore::signal
