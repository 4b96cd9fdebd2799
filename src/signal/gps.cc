#include "signal/gps.h"

#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>

namespace trialcore::signal {
namespace {

// log of the negative binomial pmf: N ~ NB(size alpha, prob beta / (beta + E)).
double LogNegBinomial(uint32_t n, double alpha, double beta, double e) {
  return std::lgamma(alpha + n) - std::lgamma(alpha) - std::lgamma(n + 1.0) + alpha * std::log(beta / (beta + e)) +
         n * std::log(e / (beta + e));
}

// log(1 - F(n_star - 1)) for the same distribution.
double LogTail(uint32_t n_star, double alpha, double beta, double e) {
  if (n_star == 0) return 0;
  if (n_star == 1) return std::log1p(-std::exp(alpha * std::log(beta / (beta + e))));
  double below = 0;
  for (uint32_t k = 0; k < n_star; ++k) below += std::exp(LogNegBinomial(k, alpha, beta, e));
  return std::log1p(-std::min(below, 1.0 - 1e-300));
}

double LogSumExp(double a, double b) {
  double m = std::max(a, b);
  if (m == -std::numeric_limits<double>::infinity()) return m;
  return m + std::log(std::exp(a - m) + std::exp(b - m));
}

using Vec5 = std::array<double, 5>;

// The optimizer works on unconstrained values: logs of the gamma parameters
// and the logit of the mixture weight.
Prior FromFree(const Vec5& x) {
  return Prior{std::exp(x[0]), std::exp(x[1]), std::exp(x[2]), std::exp(x[3]), 1 / (1 + std::exp(-x[4]))};
}
Vec5 ToFree(const Prior& p) {
  return {std::log(p.alpha1), std::log(p.beta1), std::log(p.alpha2), std::log(p.beta2), std::log(p.p / (1 - p.p))};
}

struct MinimizeResult {
  Vec5 x;
  double f;
  bool converged;
  int iterations;
};

// Nelder-Mead simplex search.
template <typename F>
MinimizeResult NelderMead(F f, Vec5 start, double step, int max_iterations, double tolerance) {
  constexpr int kDim = 5;
  std::array<Vec5, kDim + 1> simplex;
  std::array<double, kDim + 1> values;
  simplex[0] = start;
  for (int i = 0; i < kDim; ++i) {
    simplex[i + 1] = start;
    simplex[i + 1][i] += step;
  }
  for (int i = 0; i <= kDim; ++i) values[i] = f(simplex[i]);
  int it = 0;
  for (; it < max_iterations; ++it) {
    std::array<int, kDim + 1> order;
    for (int i = 0; i <= kDim; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](int a, int b) { return values[a] < values[b]; });
    const int best = order[0], worst = order[kDim], second = order[kDim - 1];
    if (std::fabs(values[worst] - values[best]) <= tolerance * (std::fabs(values[best]) + 1e-12)) {
      return {simplex[best], values[best], true, it};
    }
    Vec5 centroid{};
    for (int i = 0; i <= kDim; ++i) {
      if (i == worst) continue;
      for (int d = 0; d < kDim; ++d) centroid[d] += simplex[i][d] / kDim;
    }
    auto along = [&](double t) {
      Vec5 x;
      for (int d = 0; d < kDim; ++d) x[d] = centroid[d] + t * (simplex[worst][d] - centroid[d]);
      return x;
    };
    Vec5 reflected = along(-1);
    double fr = f(reflected);
    if (fr < values[best]) {
      Vec5 expanded = along(-2);
      double fe = f(expanded);
      if (fe < fr) {
        simplex[worst] = expanded;
        values[worst] = fe;
      } else {
        simplex[worst] = reflected;
        values[worst] = fr;
      }
    } else if (fr < values[second]) {
      simplex[worst] = reflected;
      values[worst] = fr;
    } else {
      Vec5 contracted = fr < values[worst] ? along(-0.5) : along(0.5);
      double fc = f(contracted);
      if (fc < std::min(fr, values[worst])) {
        simplex[worst] = contracted;
        values[worst] = fc;
      } else {
        for (int i = 0; i <= kDim; ++i) {
          if (i == best) continue;
          for (int d = 0; d < kDim; ++d) simplex[i][d] = simplex[best][d] + 0.5 * (simplex[i][d] - simplex[best][d]);
          values[i] = f(simplex[i]);
        }
      }
    }
  }
  int best = static_cast<int>(std::min_element(values.begin(), values.end()) - values.begin());
  return {simplex[best], values[best], false, it};
}

}  // namespace

std::vector<CountPoint> GroupPoints(std::span<const uint32_t> n, std::span<const double> e) {
  std::map<std::pair<uint32_t, double>, double> groups;
  for (size_t i = 0; i < n.size(); ++i) groups[{n[i], e[i]}] += 1;
  std::vector<CountPoint> out;
  out.reserve(groups.size());
  for (const auto& [key, w] : groups) out.push_back(CountPoint{key.first, key.second, w});
  return out;
}

double NegLogLikelihood(const Prior& prior, std::span<const CountPoint> points, uint32_t n_star) {
  const double log_p = std::log(prior.p), log_q = std::log1p(-prior.p);
  double total = 0;
  for (const auto& pt : points) {
    double l1 = LogNegBinomial(pt.n, prior.alpha1, prior.beta1, pt.e) - LogTail(n_star, prior.alpha1, prior.beta1, pt.e);
    double l2 = LogNegBinomial(pt.n, prior.alpha2, prior.beta2, pt.e) - LogTail(n_star, prior.alpha2, prior.beta2, pt.e);
    total -= pt.weight * LogSumExp(log_p + l1, log_q + l2);
  }
  return total;
}

Result<FitResult> FitPrior(std::span<const CountPoint> points, uint32_t n_star) {
  if (points.empty()) return FailedPrecondition("no product-event pairs to fit the prior on");
  // openEBGM's suggested starting points (vignette "Posterior calculation").
  const std::array<Prior, 5> starts = {Prior{0.2, 0.1, 2, 4, 1.0 / 3}, Prior{0.1, 0.1, 10, 10, 0.2},
                                       Prior{0.3, 0.5, 6, 6, 0.5}, Prior{0.5, 0.3, 12, 12, 0.8},
                                       Prior{0.2, 0.2, 5, 5, 0.4}};
  auto objective = [&](const Vec5& x) {
    for (double v : x) {
      if (!std::isfinite(v) || std::fabs(v) > 30) return std::numeric_limits<double>::max();
    }
    double f = NegLogLikelihood(FromFree(x), points, n_star);
    return std::isfinite(f) ? f : std::numeric_limits<double>::max();
  };
  FitResult best;
  best.neg_log_likelihood = std::numeric_limits<double>::infinity();
  for (const Prior& s : starts) {
    ++best.starts;
    // Restart from the result until it stops moving: Nelder-Mead can stall
    // on a collapsed simplex.
    MinimizeResult r = NelderMead(objective, ToFree(s), 0.5, 4000, 1e-12);
    int iterations = r.iterations;
    for (int restart = 0; restart < 5; ++restart) {
      MinimizeResult again = NelderMead(objective, r.x, 0.1, 4000, 1e-12);
      iterations += again.iterations;
      bool moved = again.f < r.f - 1e-9 * (std::fabs(r.f) + 1);
      r = again.f <= r.f ? again : r;
      if (!moved) break;
    }
    if (!r.converged) continue;
    ++best.converged;
    if (r.f < best.neg_log_likelihood) {
      best.prior = FromFree(r.x);
      best.neg_log_likelihood = r.f;
      best.iterations = iterations;
    }
  }
  if (best.converged == 0) return FailedPrecondition("the prior's fit did not converge from any starting point");
  return best;
}

double PosteriorQuantile(const Prior& prior, uint32_t n, double e, double qn, double probability) {
  const double a1 = prior.alpha1 + n, r1 = prior.beta1 + e;
  const double a2 = prior.alpha2 + n, r2 = prior.beta2 + e;
  auto cdf = [&](double x) {
    return qn * boost::math::gamma_p(a1, r1 * x) + (1 - qn) * boost::math::gamma_p(a2, r2 * x);
  };
  double x1 = boost::math::gamma_p_inv(a1, probability) / r1;
  double x2 = boost::math::gamma_p_inv(a2, probability) / r2;
  double lo = std::min(x1, x2), hi = std::max(x1, x2);
  // The mixture's quantile lies between its components' quantiles.
  for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; ++i) {
    double mid = 0.5 * (lo + hi);
    (cdf(mid) < probability ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

PosteriorScores Score(const Prior& prior, uint32_t n, double e) {
  PosteriorScores s;
  double l1 = std::log(prior.p) + LogNegBinomial(n, prior.alpha1, prior.beta1, e);
  double l2 = std::log1p(-prior.p) + LogNegBinomial(n, prior.alpha2, prior.beta2, e);
  s.qn = std::exp(l1 - LogSumExp(l1, l2));
  double log_gm = s.qn * (boost::math::digamma(prior.alpha1 + n) - std::log(prior.beta1 + e)) +
                  (1 - s.qn) * (boost::math::digamma(prior.alpha2 + n) - std::log(prior.beta2 + e));
  s.ebgm = std::exp(log_gm);
  s.eb05 = PosteriorQuantile(prior, n, e, s.qn, 0.05);
  s.eb95 = PosteriorQuantile(prior, n, e, s.qn, 0.95);
  return s;
}

}  // namespace trialcore::signal
