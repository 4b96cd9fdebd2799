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
  std::string text;      // "Then a query is open on DM.BRTHDTC ..."
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

// Parses the feature text; InvalidArgument names the file and line of a
// malformed feature or an unknown step.
Result<std::vector<ScenarioResult>> RunFeature(std::shared_ptr<const study::Study> study, const std::string& file,
                                               const std::string& text);

std::string JUnitXml(const std::vector<ScenarioResult>& results);

}  // namespace trialcore::capture
