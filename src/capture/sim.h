// A realistic study run through the capture commands, for the demo and the
// benchmarks: subjects screen over time at the study's sites, some fail
// screening, visits happen with jitter around their planned days and are
// entered that day or a few days later, values follow plausible
// distributions, and a fraction of entries are wrong so that checks raise
// queries that the sites answer and correct days later; a monitor verifies
// the source weeks after a visit and the investigator signs it after that.
//
// Everything happens in the order of its simulated time, subjects side by
// side. Given a SimulatedClockEnv (SimOptions::clock) on which the store and
// the capture were opened, each command runs with that clock set to its
// simulated moment, so the log records months of history: ages, lags and
// turnaround times mean something. Nothing is simulated after the clock's
// present moment.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "capture/capture.h"

namespace trialcore {
class SimulatedClockEnv;
}

namespace trialcore::capture {

// A part of the simulation the caller writes (the demo's scripted steps):
// starts at `start_us` and calls `at(t)` before what it does at time t; at
// returns an error that the step must pass on when t lies after the present
// or the simulation stopped.
struct SimStep {
  int64_t start_us = 0;
  std::function<Status(const std::function<Status(int64_t)>& at)> run;
};

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
  // The sites subjects are screened at, in turn; empty: every site of the study.
  std::vector<std::string> sites;
  // Subjects simulated at the same time. Each subject draws from its own
  // random stream, seeded from the seed and its number, so the same seed
  // gives the same subjects and data whatever the threads; only the order of
  // their events in the log (and the times stamped on them) differ.
  int threads = 1;
  // When set (the Env the store and capture were opened on), commands are
  // stamped at their simulated moments; otherwise at the clock's.
  SimulatedClockEnv* clock = nullptr;
  // Further steps on the same timeline.
  std::vector<SimStep> steps;
};

// The day (since 1970) the first subject screens, for a simulation run
// today (days since 1970) with these options.
int64_t SimulationStartDay(const SimOptions& options, int64_t today);

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
// called on the calling thread. With threads > 1 that many subjects run
// commands at once, each picked in the order of its simulated time; the
// log then holds their events in nearly that order, and a time the store
// would have to move back is stamped as the log's last one.
Result<SimReport> Simulate(Capture& capture, const SimOptions& options,
                           const std::function<void(int done, int total)>& progress = nullptr);

}  // namespace trialcore::capture
