// Signal detection at FAERS scale on synthetic, FAERS-shaped data: a long
// tail of products and events (Zipf-distributed), 1 to 10 suspect drugs and
// reactions per report. Reports each stage's wall time and the peak memory;
// targets at 20 million reports: under 2 minutes and under 8 GiB.
//
// usage: signal_scale_bench [reports, default 1000000] [products] [events]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "signal/analysis.h"
#include "signal/reports.h"

using namespace trialcore::signal;

namespace {

class Zipf {
 public:
  Zipf(size_t n, double s) : cdf_(n) {
    double total = 0;
    for (size_t i = 0; i < n; ++i) cdf_[i] = total += 1 / std::pow(static_cast<double>(i + 1), s);
    for (auto& c : cdf_) c /= total;
  }
  uint32_t operator()(std::mt19937_64& rng) {
    double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<uint32_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

double PeakGiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / (1024.0 * 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  const uint32_t reports = argc > 1 ? static_cast<uint32_t>(std::stoul(argv[1])) : 1'000'000;
  const size_t products = argc > 2 ? std::stoul(argv[2]) : 60'000;
  const size_t events = argc > 3 ? std::stoul(argv[3]) : 15'000;
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  ReportTable table;
  for (size_t i = 0; i < products; ++i) table.products.Intern("DRUG" + std::to_string(i));
  for (size_t i = 0; i < events; ++i) table.events.Intern("EVENT" + std::to_string(i));
  table.strata.Intern("");
  table.unnamed_reports = reports;
  Zipf product_dist(products, 1.1), event_dist(events, 1.0);
  std::mt19937_64 rng(2026);
  std::geometric_distribution<int> extra(0.5);
  std::vector<uint32_t> ds, es;
  table.rows.reserve(static_cast<size_t>(reports) * 5);
  for (uint32_t r = 0; r < reports; ++r) {
    ds.assign(1 + std::min(extra(rng), 9), 0);
    es.assign(1 + std::min(extra(rng), 9), 0);
    for (auto& d : ds) d = product_dist(rng);
    for (auto& e : es) e = event_dist(rng);
    for (uint32_t d : ds) {
      for (uint32_t e : es) table.rows.push_back(ReportRow{r, d, e, 0});
    }
  }
  double gen = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("generated %u reports, %zu report-drug-reaction rows in %.1f s\n", reports, table.rows.size(), gen);

  SignalOptions options;
  double total = 0;
  options.progress = [&](const std::string& stage, double seconds, double cpu_seconds, uint64_t rows) {
    total += seconds;
    std::printf("  %-10s %12llu rows %8.2f s, %.2f s CPU  (%.0f rows/s)  peak memory so far %.2f GiB\n", stage.c_str(),
                static_cast<unsigned long long>(rows), seconds, cpu_seconds, seconds > 0 ? rows / seconds : 0.0,
                PeakGiB());
    std::fflush(stdout);
  };
  auto result = AnalyzeReports(table, options);
  if (!result.ok()) {
    std::fprintf(stderr, "%s\n", result.status().ToString().c_str());
    return 1;
  }
  std::printf(
      "%u reports, %zu distinct pairs, %zu distinct (N, E) points fitted: %.1f s for count + fit + score, "
      "peak memory %.2f GiB (targets at 20M reports: < 120 s, < 8 GiB)\n",
      reports, result->rows.size(), result->fitted_points, total, PeakGiB());
  return 0;
}
