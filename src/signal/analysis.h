// One signal-detection run, as `trialcore signal` performs it: read, count,
// fit the prior, score every pair; with each stage timed for progress.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "signal/gps.h"
#include "signal/measures.h"

namespace trialcore::signal {

struct SignalOptions {
  std::string csv;        // openEBGM layout: id,var1,var2[,strat...]
  bool stratify = false;  // use the strat* columns
  // Or FAERS quarterly zip files / folders, with their options.
  std::vector<std::string> faers;
  bool primary_suspect_only = false;
  std::vector<std::string> faers_strata;  // age, sex, year
  bool dedup_by_content = false;
  uint32_t min_count = 1;  // pairs with fewer reports are neither fitted nor scored (openEBGM's N*)
  // Score with this prior instead of fitting one (checked with CheckPrior).
  std::optional<Prior> prior;
  QuantileMethod quantiles = QuantileMethod::kExact;  // how EB05 and EB95 are found
  // Called after each stage: its name, seconds taken (wall clock, and CPU of
  // all threads) and rows handled.
  std::function<void(const std::string& stage, double seconds, double cpu_seconds, uint64_t rows)> progress;
};

struct SignalRow {
  // Views of the result's names (SignalResult::names), which outlive the rows:
  // millions of rows need not hold two strings each.
  std::string_view product, event;
  uint32_t n = 0;
  double e = 0;
  Disproportionality measures;
  PosteriorScores eb;
};

struct SignalResult {
  std::vector<SignalRow> rows;  // by product then event
  // The product and event names the rows refer to; shared, so copies of the
  // result keep their rows valid.
  std::shared_ptr<const std::vector<std::string>> names;
  FitResult fit;
  uint64_t reports = 0;
  size_t strata = 1;
  size_t fitted_points = 0;   // distinct (N, E) points the prior was fitted on
  std::string input_summary;  // what was read and dropped, for the log
  bool prior_given = false;   // scored with SignalOptions::prior, not fitted
  // The fit report's comparison of the best optimum with the runner-up
  // (fit.optima[1]), when the starts reached more than one: pairs with
  // EB05 >= kFlagEb05 under each, and pairs flagged under only one of them.
  struct RunnerUp {
    uint64_t flagged_best = 0, flagged_runner_up = 0;
    uint64_t only_best = 0, only_runner_up = 0;
  };
  std::optional<RunnerUp> runner_up;
};

// The usual signal threshold: EB05 of at least 2.
inline constexpr double kFlagEb05 = 2.0;

Result<SignalResult> RunSignal(const SignalOptions& options);

struct ReportTable;
// The stages after reading: count, fit, score (options.min_count and
// options.progress apply).
Result<SignalResult> AnalyzeReports(const ReportTable& table, const SignalOptions& options);

// Output with the prior and its log-likelihood, so a run can be reproduced.
std::string ResultsCsv(const SignalResult& result);
std::string ResultsJson(const SignalResult& result);

}  // namespace trialcore::signal
