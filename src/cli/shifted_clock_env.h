// Test builds only: an Env whose clock runs ahead of the real one by the
// microseconds written in a file, so that browser tests can expire sessions
// and lift lockouts on a real server process. It is compiled into the
// `trialcore_shifted_clock` test program, never into `trialcore`: a shipped
// server must not let whoever starts it move the audit trail's clock.
#pragma once

#include <memory>
#include <string>

#include "core/env.h"

namespace trialcore::cli {

// The clock shift comes from the file named by $TRIALCORE_CLOCK_FILE, re-read
// every 20 ms. Returns null (after saying why on stderr) when that variable is
// unset, so the test program never silently runs on the real clock.
std::unique_ptr<Env> ShiftedClockEnvFromEnvironment(Env* base);

}  // namespace trialcore::cli
