// DuMouchel's gamma-Poisson shrinker (MGPS): N ~ Poisson(lambda * E) with
// lambda drawn from a two-component gamma mixture prior, whose five
// hyperparameters are fitted by maximum likelihood; EBGM and its posterior
// quantiles (EB05, EB95) follow. Matches openEBGM's definitions: the
// likelihood conditions on N >= N* (each negative binomial component
// truncated), Qn uses the untruncated components.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace trialcore::signal {

struct Prior {
  double alpha1 = 0, beta1 = 0, alpha2 = 0, beta2 = 0;
  double p = 0;  // weight of the first component
};

// One (N, E) point and how many pairs share it exactly (no squashing: equal
// points are merged without losing information).
struct CountPoint {
  uint32_t n = 0;
  double e = 0;
  double weight = 1;
  double log_e = 0;  // cached: the likelihood needs it at every evaluation
};

// Merges pairs with identical (N, E); the result is ordered by N, then E.
// With point_of, also tells which point each pair went to.
std::vector<CountPoint> GroupPoints(std::span<const uint32_t> n, std::span<const double> e,
                                    std::vector<uint32_t>* point_of = nullptr);

// Negative log-likelihood of the points under the prior, given N >= n_star.
double NegLogLikelihood(const Prior& prior, std::span<const CountPoint> points, uint32_t n_star);

// The same for n_star = 1, with its gradient with respect to the free
// parameters the fit searches over: log alpha1, log beta1, log alpha2,
// log beta2, logit p.
double NegLogLikelihoodWithGradient(const Prior& prior, std::span<const CountPoint> points,
                                    std::array<double, 5>* gradient);

// A maximum of the likelihood that one or more starts ended in.
struct Optimum {
  Prior prior;
  double neg_log_likelihood = 0;  // on every point
  int starts = 0;                 // how many starts ended here
  // False when the search from these starts stopped on a sample (many
  // points): the prior and value are where that search ended, not polished.
  bool searched_to_end = true;
};

struct FitResult {
  Prior prior;
  double neg_log_likelihood = 0;
  int starts = 0;
  int converged = 0;
  int iterations = 0;
  // Every distinct optimum the converged starts reached, best first (the
  // first is `prior`); empty when the prior was given, not fitted.
  std::vector<Optimum> optima;
};

struct FitOptions {
  // Above twice this many points (and for N* = 1), the starts scout on an
  // even sample of this size, the two best go on on a sample ten times
  // larger (when the points are that many), and the better one ends on every
  // point; 0 searches every start on every point.
  size_t scout_points = 50'000;
};

// Maximum likelihood from several starting points (openEBGM's defaults),
// searched with BFGS on the analytic gradient (Nelder-Mead when N* > 1); the
// best converged fit is kept and polished. FailedPrecondition if no start
// converges.
Result<FitResult> FitPrior(std::span<const CountPoint> points, uint32_t n_star, const FitOptions& options = {});

struct PosteriorScores {
  double qn = 0;    // posterior probability of the first component
  double ebgm = 0;  // exp(E[log lambda | N])
  double eb05 = 0;  // 5% posterior quantile of lambda
  double eb95 = 0;  // 95% posterior quantile
};

// How EB05 and EB95 are found. kExact solves the posterior CDF to full
// precision. kOpenEbgm is openEBGM 0.9.1's quantBisect, step for step
// (bisection from [-1e5, 1] or [1, 1e5] until the half-width is below 0.005,
// the midpoint rounded to two decimals): within 0.01 of the exact quantile,
// and what openEBGM prints, for reconciling with it.
enum class QuantileMethod { kExact, kOpenEbgm };

PosteriorScores Score(const Prior& prior, uint32_t n, double e, QuantileMethod method = QuantileMethod::kExact);
// Score's EB05 alone (for comparing priors: half the work).
double Eb05(const Prior& prior, uint32_t n, double e, QuantileMethod method = QuantileMethod::kExact);
// Any posterior quantile, probability in (0, 1).
double PosteriorQuantile(const Prior& prior, uint32_t n, double e, double qn, double probability);
double OpenEbgmQuantile(const Prior& prior, uint32_t n, double e, double qn, double probability);

}  // namespace trialcore::signal
