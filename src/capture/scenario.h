// Executable protocol scenarios: Gherkin feature files run against a study in
// memory (a fresh in-memory event store per scenario), through the same
// capture commands sites use. The step vocabulary is in doc/scenarios.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "study/study.h"

namespace trialcore::capture {

struct StepResult {
  int line = 0;
  std::string text;  // "Then a query is open on DM.BRTHDTC ..."
  bool passed = false;
  bool skipped = false;  // after an earlier step failed
  std::string expected;  // for failures
  std::string actual;
};

struct ScenarioResult {
  std::string feature;
  std::string file;
  std::string name;
  int line = 0;
  std::vector<StepResult> steps;
  double seconds = 0;
  bool passed() const;
};

struct ScenarioOptions {
  // The clock each scenario starts at, microseconds since the epoch (UTC):
  // 2024-06-01T12:00:00Z unless a run asks for another. `the date is "D"`
  // moves to day D at this clock's time of day, so running a feature at
  // several times (midnight, 23:59, 29 February) shows whether it depends on
  // the hour or the day it runs.
  int64_t start_micros = 1'717'243'200'000'000;
};

// Parses the feature text; InvalidArgument names the file and line of a
// malformed feature or an unknown step.
Result<std::vector<ScenarioResult>> RunFeature(std::shared_ptr<const study::Study> study, const std::string& file,
                                               const std::string& text, const ScenarioOptions& options = {});

std::string JUnitXml(const std::vector<ScenarioResult>& results);

}  // namespace trialcore::capture
