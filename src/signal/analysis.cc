#include "signal/analysis.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "core/csv_field.h"
#include "core/json.h"
#include "signal/faers.h"
#include "signal/number_text.h"
#include "signal/parallel.h"
#include "signal/prior.h"
#include "signal/reports.h"

namespace trialcore::signal {
namespace {

using Clock = std::chrono::steady_clock;

// A stage's start: the wall clock, and the CPU time of the whole process (all
// threads), which is more than the wall time when the stage runs in parallel.
struct StageStart {
  Clock::time_point wall = Clock::now();
  std::clock_t cpu = std::clock();
};

constexpr size_t kScoreBlock = 256;  // pairs or points a thread takes at a time

void AppendNum(std::string* out, double v) { AppendSixDigits(out, v); }

std::string Num(double v) {
  std::string out;
  AppendNum(&out, v);
  return out;
}

// Every digit of the prior, so that --prior-from scores exactly as this run did.
std::string PriorText(const FitResult& f) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "alpha1=%.17g beta1=%.17g alpha2=%.17g beta2=%.17g p=%.17g neg_log_likelihood=%.10g",
                f.prior.alpha1, f.prior.beta1, f.prior.alpha2, f.prior.beta2, f.prior.p, f.neg_log_likelihood);
  return buf;
}

// A JSON decimal with every digit a double needs.
Value PreciseDecimal(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  if (auto d = Decimal::Parse(buf); d.ok()) return Value(*d);
  std::snprintf(buf, sizeof buf, "%.20f", v);  // exponent form is not JSON-decimal text here
  std::string text = buf;
  while (text.size() > 1 && text.back() == '0' && text[text.size() - 2] != '.') text.pop_back();
  auto fixed = Decimal::Parse(text);
  return fixed.ok() ? Value(*fixed) : Value(Num(v));
}

void ReportStage(const SignalOptions& options, const char* stage, const StageStart& since, uint64_t rows) {
  if (!options.progress) return;
  const double wall = std::chrono::duration<double>(Clock::now() - since.wall).count();
  const double cpu = static_cast<double>(std::clock() - since.cpu) / CLOCKS_PER_SEC;
  options.progress(stage, wall, cpu, rows);
}

}  // namespace

Result<SignalResult> RunSignal(const SignalOptions& options) {
  // Bad arguments fail before a large file is read.
  if (options.min_count == 0) return InvalidArgument("--min-count must be at least 1");
  std::string summary;
  StageStart t;
  ReportTable table;
  if (!options.faers.empty()) {
    if (!options.csv.empty()) return InvalidArgument("give either FAERS quarters or a CSV file, not both");
    FaersOptions faers{options.faers, options.primary_suspect_only, options.faers_strata, options.dedup_by_content};
    FaersStats stats;
    TC_ASSIGN_OR_RETURN(table, LoadFaers(faers, &stats));
    summary = std::to_string(stats.report_versions) + " report versions read, " + std::to_string(stats.reports_kept) +
              " reports kept (latest version of each case), " + std::to_string(stats.deleted) +
              " deleted cases dropped, " + std::to_string(stats.content_duplicates) + " content duplicates dropped";
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
  StageStart t;
  Counts counts = CountPairs(table, options.min_count);
  result.reports = counts.reports;
  result.strata = counts.strata;
  ReportStage(options, "counting", t, counts.pairs.size());
  if (counts.pairs.empty()) {
    return FailedPrecondition("no product-event pair has at least " + std::to_string(options.min_count) + " reports");
  }

  t = StageStart();
  std::vector<uint32_t> ns;
  std::vector<double> es;
  for (const auto& pc : counts.pairs) {
    ns.push_back(pc.n);
    es.push_back(pc.e);
  }
  std::vector<uint32_t> point_of;
  std::vector<CountPoint> points = GroupPoints(ns, es, &point_of);
  result.fitted_points = points.size();
  if (options.prior) {
    TC_RETURN_IF_ERROR(CheckPrior(*options.prior, "--prior"));
    result.prior_given = true;
    result.fit.prior = *options.prior;
    result.fit.neg_log_likelihood = NegLogLikelihood(*options.prior, points, options.min_count);
  } else {
    TC_ASSIGN_OR_RETURN(result.fit, FitPrior(points, options.min_count));
  }
  ReportStage(options, "fitting", t, points.size());

  t = StageStart();
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
    point_scores[k] = {Score(result.fit.prior, pt.n, pt.e, options.quantiles),
                       InformationComponentQuantile(pt.n, pt.e, 0.025),
                       InformationComponentQuantile(pt.n, pt.e, 0.975)};
  });
  if (result.fit.optima.size() > 1) {
    // Which pairs the runner-up optimum would flag instead: its EB05 at
    // every point, each point counting for the pairs that share it.
    const Prior& other = result.fit.optima[1].prior;
    std::vector<uint8_t> flagged_other(points.size());
    ParallelFor(points.size(), kScoreBlock, [&](size_t k) {
      const CountPoint& pt = points[k];
      flagged_other[k] = Eb05(other, pt.n, pt.e, options.quantiles) >= kFlagEb05;
    });
    SignalResult::RunnerUp r;
    for (size_t k = 0; k < points.size(); ++k) {
      const bool best = point_scores[k].eb.eb05 >= kFlagEb05, runner_up = flagged_other[k] != 0;
      const auto pairs = static_cast<uint64_t>(points[k].weight);
      r.flagged_best += best ? pairs : 0;
      r.flagged_runner_up += runner_up ? pairs : 0;
      r.only_best += best && !runner_up ? pairs : 0;
      r.only_runner_up += runner_up && !best ? pairs : 0;
    }
    result.runner_up = r;
  }
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
  out +=
      "product,event,N,E,PRR,PRR_lower95,PRR_upper95,ROR,ROR_lower95,ROR_upper95,chi_square,IC,IC025,IC975,"
      "EBGM,EB05,EB95,Qn\n";
  out.reserve(out.size() + r.rows.size() * 200);  // a row is about 150 bytes: one allocation, no copies
  char count[16];
  for (const auto& row : r.rows) {
    const auto& m = row.measures;
    out += CsvField(row.product);
    out += ',';
    out += CsvField(row.event);
    out += ',';
    out.append(count, std::to_chars(count, count + sizeof count, row.n).ptr);
    for (double v : {row.e, m.prr, m.prr_lower, m.prr_upper, m.ror, m.ror_lower, m.ror_upper, m.chi_square, m.ic,
                     m.ic025, m.ic975, row.eb.ebgm, row.eb.eb05, row.eb.eb95, row.eb.qn}) {
      out += ',';
      AppendNum(&out, v);
    }
    out += '\n';
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
  auto prior_object = [&](const Prior& p, double neg_log_likelihood) {
    return Value::Object{{"alpha1", PreciseDecimal(p.alpha1)}, {"beta1", PreciseDecimal(p.beta1)},
                         {"alpha2", PreciseDecimal(p.alpha2)}, {"beta2", PreciseDecimal(p.beta2)},
                         {"p", PreciseDecimal(p.p)},           {"neg_log_likelihood", dec(neg_log_likelihood)}};
  };
  Value::Object prior = prior_object(r.fit.prior, r.fit.neg_log_likelihood);
  prior["given"] = r.prior_given;
  prior["starts"] = int64_t{r.fit.starts};
  prior["converged"] = int64_t{r.fit.converged};
  Value::Array optima;
  for (const Optimum& o : r.fit.optima) {
    Value::Object entry = prior_object(o.prior, o.neg_log_likelihood);
    entry["starts"] = int64_t{o.starts};
    entry["searched_to_end"] = o.searched_to_end;
    optima.emplace_back(std::move(entry));
  }
  prior["optima"] = Value(std::move(optima));
  if (r.runner_up) {
    prior["runner_up_flags"] =
        Value::Object{{"flagged_best", static_cast<int64_t>(r.runner_up->flagged_best)},
                      {"flagged_runner_up", static_cast<int64_t>(r.runner_up->flagged_runner_up)},
                      {"only_best", static_cast<int64_t>(r.runner_up->only_best)},
                      {"only_runner_up", static_cast<int64_t>(r.runner_up->only_runner_up)}};
  }
  Value::Object rest{{"prior", Value(std::move(prior))},
                     {"reports", static_cast<int64_t>(r.reports)},
                     {"strata", static_cast<int64_t>(r.strata)}};
  // The pairs, millions of them, are written straight to the text, as
  // ToJson would indent them ("pairs" sorts before the other keys, and each
  // pair's keys are in byte order): a Value tree of them cost more than the
  // whole analysis. The rest is small and goes through ToJson.
  std::string out = "{\n  \"pairs\": [";
  out.reserve(r.rows.size() * 520);
  auto number = [&](const char* key, double v) {
    out += ",\n      \"";
    out += key;
    out += "\": ";
    Value d = dec(v);
    if (d.kind() == Value::Kind::kDecimal) {
      out += d.as_decimal().text();
    } else {
      AppendJsonString(&out, d.as_string());
    }
  };
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const SignalRow& row = r.rows[i];
    const auto& m = row.measures;
    out += i == 0 ? "\n    {\n      \"E\": " : ",\n    {\n      \"E\": ";
    Value e = dec(row.e);
    if (e.kind() == Value::Kind::kDecimal) {
      out += e.as_decimal().text();
    } else {
      AppendJsonString(&out, e.as_string());
    }
    number("EB05", row.eb.eb05);
    number("EB95", row.eb.eb95);
    number("EBGM", row.eb.ebgm);
    number("IC", m.ic);
    number("IC025", m.ic025);
    number("IC975", m.ic975);
    out += ",\n      \"N\": " + std::to_string(row.n);
    number("PRR", m.prr);
    number("PRR_lower95", m.prr_lower);
    number("PRR_upper95", m.prr_upper);
    number("Qn", row.eb.qn);
    number("ROR", m.ror);
    number("ROR_lower95", m.ror_lower);
    number("ROR_upper95", m.ror_upper);
    number("chi_square", m.chi_square);
    out += ",\n      \"event\": ";
    AppendJsonString(&out, row.event);
    out += ",\n      \"product\": ";
    AppendJsonString(&out, row.product);
    out += "\n    }";
  }
  out += r.rows.empty() ? "]," : "\n  ],";
  const std::string tail = ToJson(Value(std::move(rest)), true);
  out.append(tail, 1, std::string::npos);  // without its opening brace
  out += "\n";
  return out;
}

}  // namespace trialcore::signal
