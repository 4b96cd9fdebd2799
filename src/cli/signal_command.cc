// trialcore signal: disproportionality analysis of spontaneous reports.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <ostream>

#include "cli/commands.h"
#include "cli/store_access.h"
#include "signal/analysis.h"
#include "signal/plot.h"
#include "signal/prior.h"

namespace trialcore::cli {
namespace {

Result<double (*)(const signal::SignalRow&)> SortKey(const std::string& by) {
  using Row = signal::SignalRow;
  if (by == "EB05") return +[](const Row& r) { return r.eb.eb05; };
  if (by == "EBGM") return +[](const Row& r) { return r.eb.ebgm; };
  if (by == "EB95") return +[](const Row& r) { return r.eb.eb95; };
  if (by == "PRR") return +[](const Row& r) { return r.measures.prr; };
  if (by == "ROR") return +[](const Row& r) { return r.measures.ror; };
  if (by == "IC025") return +[](const Row& r) { return r.measures.ic025; };
  if (by == "N") return +[](const Row& r) { return static_cast<double>(r.n); };
  return InvalidArgument("--by must be one of EB05, EBGM, EB95, PRR, ROR, IC025, N; not " + by);
}

std::string Cut(std::string_view s, size_t width) {
  return s.size() <= width ? std::string(s) : std::string(s.substr(0, width - 1)) + "~";
}

std::string PriorFields(const signal::Prior& p) {
  char text[160];
  std::snprintf(text, sizeof text, "alpha1=%.6g beta1=%.6g alpha2=%.6g beta2=%.6g P=%.6g", p.alpha1, p.beta1, p.alpha2,
                p.beta2, p.p);
  return text;
}

// The prior, and how the fit found it: every distinct optimum the starts
// reached, and what choosing the runner-up would change.
std::string FitReport(const signal::SignalResult& r) {
  char line[400];
  std::string out;
  if (r.prior_given) {
    std::snprintf(line, sizeof line,
                  "prior (given, not fitted): %s; log-likelihood %.4f (%zu distinct (N, E) points, %llu reports, "
                  "%zu strata)\n",
                  PriorFields(r.fit.prior).c_str(), -r.fit.neg_log_likelihood, r.fitted_points,
                  static_cast<unsigned long long>(r.reports), r.strata);
    return line;
  }
  std::snprintf(line, sizeof line,
                "prior: %s; log-likelihood %.4f (%d of %d starts converged; %zu distinct (N, E) points, %llu "
                "reports, %zu strata)\n",
                PriorFields(r.fit.prior).c_str(), -r.fit.neg_log_likelihood, r.fit.converged, r.fit.starts,
                r.fitted_points, static_cast<unsigned long long>(r.reports), r.strata);
  out += line;
  std::snprintf(line, sizeof line, "fit: %zu distinct optim%s reached from %d starts\n", r.fit.optima.size(),
                r.fit.optima.size() == 1 ? "um" : "a", r.fit.starts);
  out += line;
  for (size_t i = 0; i < r.fit.optima.size(); ++i) {
    const auto& o = r.fit.optima[i];
    std::snprintf(line, sizeof line, "  %-10s log-likelihood %.4f  %s  reached by %d start%s%s\n",
                  i == 0   ? "best"
                  : i == 1 ? "runner-up"
                           : "",
                  -o.neg_log_likelihood, PriorFields(o.prior).c_str(), o.starts, o.starts == 1 ? "" : "s",
                  o.searched_to_end ? "" : " (searched on a sample only)");
    out += line;
  }
  if (r.runner_up) {
    const auto& u = *r.runner_up;
    std::snprintf(line, sizeof line,
                  "  pairs with EB05 >= %g: %llu with the best, %llu with the runner-up; %llu change (%llu flagged "
                  "only by the best, %llu only by the runner-up); --prior scores with either\n",
                  signal::kFlagEb05, static_cast<unsigned long long>(u.flagged_best),
                  static_cast<unsigned long long>(u.flagged_runner_up),
                  static_cast<unsigned long long>(u.only_best + u.only_runner_up),
                  static_cast<unsigned long long>(u.only_best), static_cast<unsigned long long>(u.only_runner_up));
    out += line;
  }
  return out;
}

}  // namespace

Status Signal(const SignalArgs& args, Context& ctx) {
  TC_ASSIGN_OR_RETURN(auto key, SortKey(args.by));
  if (args.plot && (args.plot->size() < 4 || args.plot->substr(args.plot->size() - 4) != ".svg")) {
    return InvalidArgument("--plot must name an .svg file: " + *args.plot);
  }
  if (args.out) {
    const std::string& o = *args.out;
    bool csv = o.size() > 4 && o.substr(o.size() - 4) == ".csv";
    bool json = o.size() > 5 && o.substr(o.size() - 5) == ".json";
    if (!csv && !json) return InvalidArgument("--out must end in .csv or .json: " + o);
  }
  if (args.csv.empty() == args.faers.empty()) return InvalidArgument("give --csv FILE or --faers DIR_OR_ZIP...");
  if (args.roles != "PS" && args.roles != "suspect") return InvalidArgument("--roles must be PS or suspect");
  signal::SignalOptions options;
  options.csv = args.csv;
  options.faers = args.faers;
  options.primary_suspect_only = args.roles == "PS";
  options.dedup_by_content = args.dedup_by_content;
  for (size_t start = 0; start < args.strata.size();) {
    size_t comma = args.strata.find(',', start);
    std::string s = args.strata.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!s.empty()) options.faers_strata.push_back(s);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (!options.faers_strata.empty() && options.faers.empty()) {
    return InvalidArgument("--strata applies to --faers; for --csv use --stratify with strat* columns");
  }
  options.stratify = args.stratify;
  options.min_count = args.min_count;
  options.quantiles = args.quantiles == "openebgm" ? signal::QuantileMethod::kOpenEbgm : signal::QuantileMethod::kExact;
  if (args.prior) {
    TC_ASSIGN_OR_RETURN(options.prior, signal::ParsePrior(*args.prior, "--prior"));
  } else if (args.prior_from) {
    TC_ASSIGN_OR_RETURN(options.prior, signal::ReadPriorFile(*args.prior_from));
  }
  double stages_cpu = 0;
  options.progress = [&](const std::string& stage, double seconds, double cpu_seconds, uint64_t rows) {
    char line[160];
    std::snprintf(line, sizeof line, "%-9s %10llu rows in %8.3f s, %.3f s CPU (%.0f rows/s)\n", stage.c_str(),
                  static_cast<unsigned long long>(rows), seconds, cpu_seconds, seconds > 0 ? rows / seconds : 0.0);
    ctx.err << line << std::flush;
    stages_cpu += cpu_seconds;
  };
  TC_ASSIGN_OR_RETURN(signal::SignalResult result, signal::RunSignal(options));
  if (!result.input_summary.empty()) ctx.err << result.input_summary << "\n";
  const auto& p = result.fit.prior;
  ctx.err << FitReport(result);
  for (double v : {p.alpha1, p.beta1, p.alpha2, p.beta2}) {
    if (v < 1e-3 || v > 1e3) {
      ctx.err << "warning: the prior's estimates lie far outside the usual range (0.001 to 1000); with this few "
                 "reports the EB scores say little\n";
      break;
    }
  }
  if (args.out) {
    bool json = args.out->size() > 5 && args.out->substr(args.out->size() - 5) == ".json";
    TC_RETURN_IF_ERROR(WriteOutput(args.out, json ? signal::ResultsJson(result) : signal::ResultsCsv(result), ctx));
    ctx.err << result.rows.size() << " pairs written to " << *args.out << "\n";
  }
  if (args.top) {
    std::vector<const signal::SignalRow*> rows;
    for (const auto& r : result.rows) rows.push_back(&r);
    std::stable_sort(rows.begin(), rows.end(), [&](auto* a, auto* b) { return key(*a) > key(*b); });
    rows.resize(std::min(rows.size(), *args.top));
    char line[400];
    std::snprintf(line, sizeof line, "%-36s %-30s %6s %9s %8s %8s %8s %8s %8s\n", "product", "event", "N", "E", "EB05",
                  "EBGM", "EB95", "PRR", "IC025");
    ctx.out << line;
    for (const auto* r : rows) {
      std::snprintf(line, sizeof line, "%-36s %-30s %6u %9.4f %8.2f %8.2f %8.2f %8.2f %8.2f\n",
                    Cut(r->product, 36).c_str(), Cut(r->event, 30).c_str(), r->n, r->e, r->eb.eb05, r->eb.ebgm,
                    r->eb.eb95, r->measures.prr, r->measures.ic025);
      ctx.out << line;
    }
  }
  if (args.plot) {
    TC_RETURN_IF_ERROR(WriteOutput(args.plot, signal::PlotEb05AgainstN(result), ctx));
    ctx.err << "chart written to " << *args.plot << "\n";
  }
  if (!args.out && !args.top && !args.plot) {
    ctx.out << signal::ResultsCsv(result);
  }
  // The whole process, so that what the stages do not account for (start-up,
  // output) shows.
  char total[120];
  std::snprintf(total, sizeof total, "%.3f s CPU in all, %.3f s of it in the stages\n",
                static_cast<double>(std::clock()) / CLOCKS_PER_SEC, stages_cpu);
  ctx.err << total;
  return Status::Ok();
}

}  // namespace trialcore::cli
