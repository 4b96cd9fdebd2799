// A realistic study run through the capture commands, for the demo and the
// benchmarks: subjects screen over time at the study's sites, some fail
// screening, visits happen with jitter around their planned days, values
// follow plausible distributions, and a fraction of entries are wrong so that
// checks raise queries that the sites answer and correct.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "capture/capture.h"

namespace trialcore::capture {

struct SimOptions {
  int subjects = 12;
  uint64_t seed = 1;
  double error_rate = 0.05;  // fraction of entries typed wrong
  int64_t start_day = 0;     // days since 1970 of the first screening; 0: as long ago as enrolment takes, >= 300 days
  int enrol_every_days = 3;  // a new subject screens every this many days
  // For the differential blinding test: each subject gets the arm (and dose)
  // this many places after the one drawn, so that runs with different
  // rotations differ only in arms and what follows from them.
  int arm_rotation = 0;
  // Subjects simulated at the same time. Each subject draws from its own
  // random stream, seeded from the seed and its number, so the same seed
  // gives the same subjects and data whatever the threads; only the order of
  // their events in the log (and the times stamped on them) differ.
  int threads = 1;
};

struct SimReport {
  int subjects = 0;
  int enrolled = 0;
  int screen_failed = 0;
  int commands = 0;
  int refused = 0;  // saves a hard check refused, then typed again
  int queries_opened = 0;
  int queries_closed = 0;
  uint64_t events = 0;
};

// Simulates the published study. Designed for the CDISCPILOT01 demo study's
// forms; stops at the first command that fails unexpectedly. progress is
// called on the calling thread.
Result<SimReport> Simulate(Capture& capture, const SimOptions& options,
                           const std::function<void(int done, int total)>& progress = nullptr);

}  // namespace trialcore::capture
