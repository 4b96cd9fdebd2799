#include "signal/analysis.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/csv_field.h"
#include "core/json.h"
#include "signal/faers.h"
#include "signal/parallel.h"
#include "signal/reports.h"

namespace trialcore::signal {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr size_t kScoreBlock = 256;  // pairs or points a thread takes at a time

std::string Num(double v) {
  if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
  if (std::isnan(v)) return "NA";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string PriorText(const FitResult& f) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "alpha1=%.8g beta1=%.8g alpha2=%.8g beta2=%.8g p=%.8g neg_log_likelihood=%.10g",
                f.prior.alpha1, f.prior.beta1, f.prior.alpha2, f.prior.beta2, f.prior.p, f.neg_log_likelihood);
  return buf;
}

void ReportStage(const SignalOptions& options, const char* stage, Clock::time_point since, uint64_t rows) {
  if (options.progress) options.progress(stage, Since(since), rows);
}

}  // namespace

Result<SignalResult> RunSignal(const SignalOptions& options) {
  // Bad arguments fail before a large file is read.
  if (options.min_count == 0) return InvalidArgument("--min-count must be at least 1");
  std::string summary;
  auto t = Clock::now();
  ReportTable table;
  if (!options.faers.empty()) {
    if (!options.csv.empty()) return InvalidArgument("give either FAERS quarters or a CSV file, not both");
    FaersOptions faers{options.faers, options.primary_suspect_only, options.faers_strata, options.dedup_by_content};
    FaersStats stats;
    TC_ASSIGN_OR_RETURN(table, LoadFaers(faers, &stats));
    summary = std::to_string(stats.report_versions) + " report versions read, " +
                           std::to_string(stats.reports_kept) + " reports kept (latest version of each case), " +
                           std::to_string(stats.deleted) + " deleted cases dropped, " +
                           std::to_string(stats.content_duplicates) + " content duplicates dropped";
    ReportStage(options, "reading and deduplicating", t, stats.report_versions);
  } else {
    TC_ASSIGN_OR_RETURN(table, LoadReportCsv(options.csv, options.stratify));
    ReportStage(options, "reading", t, table.rows.size());
  }

  TC_ASSIGN_OR_RETURN(SignalResult analyzed, AnalyzeReports(table, options));
  analyzed.input_summary = std::move(summary);
  return analyzed;
}

Result<SignalResult> AnalyzeReports(const ReportTable& table, const SignalOptions& options) {
  if (options.min_count == 0) return InvalidArgument("--min-count must be at least 1");
  SignalResult result;
  auto t = Clock::now();
  Counts counts = CountPairs(table, options.min_count);
  result.reports = counts.reports;
  result.strata = counts.strata;
  ReportStage(options, "counting", t, counts.pairs.size());
  if (counts.pairs.empty()) {
    return FailedPrecondition("no product-event pair has at least " + std::to_string(options.min_count) +
                              " reports");
  }

  t = Clock::now();
  std::vector<uint32_t> ns;
  std::vector<double> es;
  for (const auto& pc : counts.pairs) {
    ns.push_back(pc.n);
    es.push_back(pc.e);
  }
  std::vector<uint32_t> point_of;
  std::vector<CountPoint> points = GroupPoints(ns, es, &point_of);
  result.fitted_points = points.size();
  TC_ASSIGN_OR_RETURN(result.fit, FitPrior(points, options.min_count));
  ReportStage(options, "fitting", t, points.size());

  t = Clock::now();
  // Everything that depends only on (N, E), the posterior and the IC's
  // credibility interval, is computed once per point; then each pair's row,
  // in parallel.
  struct PointScores {
    PosteriorScores eb;
    double ic025, ic975;
  };
  std::vector<PointScores> point_scores(points.size());
  ParallelFor(points.size(), kScoreBlock, [&](size_t k) {
    const CountPoint& pt = points[k];
    point_scores[k] = {Score(result.fit.prior, pt.n, pt.e), InformationComponentQuantile(pt.n, pt.e, 0.025),
                       InformationComponentQuantile(pt.n, pt.e, 0.975)};
  });
  // The names once, for every row to refer to.
  auto names = std::make_shared<std::vector<std::string>>();
  names->reserve(table.products.size() + table.events.size());
  for (uint32_t i = 0; i < table.products.size(); ++i) names->push_back(table.products.Name(i));
  for (uint32_t i = 0; i < table.events.size(); ++i) names->push_back(table.events.Name(i));
  result.names = names;
  const size_t first_event = table.products.size();
  result.rows.resize(counts.pairs.size());
  ParallelFor(counts.pairs.size(), kScoreBlock, [&](size_t i) {
    const PairCount& pc = counts.pairs[i];
    const PointScores& ps = point_scores[point_of[i]];
    SignalRow& row = result.rows[i];
    row.product = (*names)[pc.product];
    row.event = (*names)[first_event + pc.event];
    row.n = pc.n;
    row.e = pc.e;
    row.measures = Measure(pc.n, pc.n_product, pc.n_event, counts.reports, pc.e, ps.ic025, ps.ic975);
    row.eb = ps.eb;
  });
  ReportStage(options, "scoring", t, result.rows.size());
  return result;
}

std::string ResultsCsv(const SignalResult& r) {
  std::string out = "# prior: " + PriorText(r.fit) + "\n";
  out += "product,event,N,E,PRR,PRR_lower95,PRR_upper95,ROR,ROR_lower95,ROR_upper95,chi_square,IC,IC025,IC975,"
         "EBGM,EB05,EB95,Qn\n";
  for (const auto& row : r.rows) {
    const auto& m = row.measures;
    out += CsvField(row.product) + "," + CsvField(row.event) + "," + std::to_string(row.n) + "," + Num(row.e) + "," +
           Num(m.prr) + "," + Num(m.prr_lower) + "," + Num(m.prr_upper) + "," + Num(m.ror) + "," +
           Num(m.ror_lower) + "," + Num(m.ror_upper) + "," + Num(m.chi_square) + "," + Num(m.ic) + "," +
           Num(m.ic025) + "," + Num(m.ic975) + "," + Num(row.eb.ebgm) + "," + Num(row.eb.eb05) + "," +
           Num(row.eb.eb95) + "," + Num(row.eb.qn) + "\n";
  }
  return out;
}

std::string ResultsJson(const SignalResult& r) {
  auto dec = [](double v) -> Value {
    if (!std::isfinite(v)) return Value(Num(v));  // JSON has no infinity: "Inf"
    auto d = Decimal::Parse(Num(v));
    if (d.ok()) return Value(*d);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10f", v);
    auto fixed = Decimal::Parse(buf);
    return fixed.ok() ? Value(*fixed) : Value(Num(v));
  };
  Value::Object prior{{"alpha1", dec(r.fit.prior.alpha1)}, {"beta1", dec(r.fit.prior.beta1)},
                      {"alpha2", dec(r.fit.prior.alpha2)}, {"beta2", dec(r.fit.prior.beta2)},
                      {"p", dec(r.fit.prior.p)},           {"neg_log_likelihood", dec(r.fit.neg_log_likelihood)},
                      {"starts", int64_t{r.fit.starts}},    {"converged", int64_t{r.fit.converged}}};
  Value::Array rows;
  for (const auto& row : r.rows) {
    const auto& m = row.measures;
    rows.emplace_back(Value::Object{{"product", std::string(row.product)},
                                    {"event", std::string(row.event)},
                                    {"N", int64_t{row.n}},
                                    {"E", dec(row.e)},
                                    {"PRR", dec(m.prr)},
                                    {"PRR_lower95", dec(m.prr_lower)},
                                    {"PRR_upper95", dec(m.prr_upper)},
                                    {"ROR", dec(m.ror)},
                                    {"ROR_lower95", dec(m.ror_lower)},
                                    {"ROR_upper95", dec(m.ror_upper)},
                                    {"chi_square", dec(m.chi_square)},
                                    {"IC", dec(m.ic)},
                                    {"IC025", dec(m.ic025)},
                                    {"IC975", dec(m.ic975)},
                                    {"EBGM", dec(row.eb.ebgm)},
                                    {"EB05", dec(row.eb.eb05)},
                                    {"EB95", dec(row.eb.eb95)},
                                    {"Qn", dec(row.eb.qn)}});
  }
  Value::Object doc{{"prior", Value(std::move(prior))},
                    {"reports", static_cast<int64_t>(r.reports)},
                    {"strata", static_cast<int64_t>(r.strata)},
                    {"pairs", Value(std::move(rows))}};
  return ToJson(Value(std::move(doc)), true) + "\n";
}

}  // namespace trialcore::signal
