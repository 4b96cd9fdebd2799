// One signal-detection run, as `trialcore signal` performs it: read, count,
// fit the prior, score every pair; with each stage timed for progress.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "signal/gps.h"
#include "signal/measures.h"

namespace trialcore::signal {

struct SignalOptions {
  std::string csv;         // openEBGM layout: id,var1,var2[,strat...]
  bool stratify = false;   // use the strat* columns
  // Or FAERS quarterly zip files / folders, with their options.
  std::vector<std::string> faers;
  bool primary_suspect_only = false;
  std::vector<std::string> faers_strata;  // age, sex, year
  bool dedup_by_content = false;
  uint32_t min_count = 1;  // pairs with fewer reports are neither fitted nor scored (openEBGM's N*)
  // Called after each stage: its name, seconds taken and rows handled.
  std::function<void(const std::string& stage, double seconds, uint64_t rows)> progress;
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
  size_t fitted_points = 0;     // distinct (N, E) points the prior was fitted on
  std::string input_summary;    // what was read and dropped, for the log
};

Result<SignalResult> RunSignal(const SignalOptions& options);

struct ReportTable;
// The stages after reading: count, fit, score (options.min_count and
// options.progress apply).
Result<SignalResult> AnalyzeReports(const ReportTable& table, const SignalOptions& options);

// Output with the prior and its log-likelihood, so a run can be reproduced.
std::string ResultsCsv(const SignalResult& result);
std::string ResultsJson(const SignalResult& result);

}  // namespace trialcore::signal
