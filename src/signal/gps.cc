#include "signal/gps.h"

#include <algorithm>
#include <array>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/erf.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <limits>

#include "signal/parallel.h"

namespace trialcore::signal {
namespace {

// Double precision throughout: Boost's default promotes to long double, which
// is several times slower and adds nothing at the precision we report.
using FastPolicy = boost::math::policies::policy<boost::math::policies::promote_double<false>>;

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

using Mat5 = std::array<Vec5, 5>;

struct MinimizeResult {
  Vec5 x;
  double f;
  bool converged;
  int iterations;
  Mat5 inverse_hessian{};  // BFGS's curvature model at the end, to warm-start a next stage
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

std::vector<CountPoint> GroupPoints(std::span<const uint32_t> n, std::span<const double> e,
                                    std::vector<uint32_t>* point_of) {
  // Sorting indices, not a tree of keys: tens of millions of pairs at FAERS
  // scale, and a balanced tree's allocations and cache misses cost seconds.
  std::vector<uint32_t> order(n.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return n[a] != n[b] ? n[a] < n[b] : e[a] < e[b]; });
  std::vector<CountPoint> out;
  if (point_of != nullptr) point_of->assign(n.size(), 0);
  for (uint32_t i : order) {
    if (out.empty() || out.back().n != n[i] || out.back().e != e[i]) {
      out.push_back(CountPoint{n[i], e[i], 0, std::log(e[i])});
    }
    out.back().weight += 1;
    if (point_of != nullptr) (*point_of)[i] = static_cast<uint32_t>(out.size() - 1);
  }
  return out;
}

double NegLogLikelihood(const Prior& prior, std::span<const CountPoint> points, uint32_t n_star) {
  // Terms that depend only on the prior or only on N are computed once, not
  // per point: the fit evaluates this thousands of times.
  const double log_p = std::log(prior.p), log_q = std::log1p(-prior.p);
  const double log_b1 = std::log(prior.beta1), log_b2 = std::log(prior.beta2);
  const double lg_a1 = std::lgamma(prior.alpha1), lg_a2 = std::lgamma(prior.alpha2);
  uint32_t cached_n = UINT32_MAX;
  double lg_n1 = 0, lg_n2 = 0, lg_fact = 0;
  double total = 0;
  for (const auto& pt : points) {
    if (pt.n != cached_n) {
      cached_n = pt.n;
      lg_n1 = std::lgamma(prior.alpha1 + pt.n) - lg_a1;
      lg_n2 = std::lgamma(prior.alpha2 + pt.n) - lg_a2;
      lg_fact = std::lgamma(pt.n + 1.0);
    }
    const double log_e = pt.log_e;
    const double log_be1 = std::log(prior.beta1 + pt.e), log_be2 = std::log(prior.beta2 + pt.e);
    const double log_p0_1 = prior.alpha1 * (log_b1 - log_be1);  // log P(N = 0) of each component
    const double log_p0_2 = prior.alpha2 * (log_b2 - log_be2);
    double l1 = lg_n1 - lg_fact + log_p0_1 + pt.n * (log_e - log_be1);
    double l2 = lg_n2 - lg_fact + log_p0_2 + pt.n * (log_e - log_be2);
    if (n_star == 1) {
      l1 -= std::log1p(-std::exp(log_p0_1));
      l2 -= std::log1p(-std::exp(log_p0_2));
    } else if (n_star > 1) {
      l1 -= LogTail(n_star, prior.alpha1, prior.beta1, pt.e);
      l2 -= LogTail(n_star, prior.alpha2, prior.beta2, pt.e);
    }
    total -= pt.weight * LogSumExp(log_p + l1, log_q + l2);
  }
  return total;
}

namespace {

// Negative log-likelihood and its gradient in the free parameters (logs of
// the gamma parameters, logit of P), for N* = 1. Analytic, so that a
// quasi-Newton search needs tens of evaluations where a simplex search needs
// thousands: what makes unsquashed fits at FAERS scale feasible.
double NegLogLikelihoodAndGradient(const Vec5& x, std::span<const CountPoint> points, Vec5* grad) {
  const Prior pr = FromFree(x);
  const double a[2] = {pr.alpha1, pr.alpha2}, b[2] = {pr.beta1, pr.beta2};
  const double log_b[2] = {std::log(b[0]), std::log(b[1])};
  const double lg_a[2] = {std::lgamma(a[0]), std::lgamma(a[1])};
  const double dg_a[2] = {boost::math::digamma(a[0], FastPolicy()), boost::math::digamma(a[1], FastPolicy())};
  const double log_p = std::log(pr.p), log_q = std::log1p(-pr.p);
  uint32_t cached_n = UINT32_MAX;
  double lg_n[2] = {0, 0}, dg_n[2] = {0, 0}, lg_fact = 0;
  double f = 0;
  double g_a[2] = {0, 0}, g_b[2] = {0, 0}, g_p = 0;
  for (const auto& pt : points) {
    if (pt.n != cached_n) {
      cached_n = pt.n;
      for (int i = 0; i < 2; ++i) {
        lg_n[i] = std::lgamma(a[i] + pt.n) - lg_a[i];
        dg_n[i] = boost::math::digamma(a[i] + pt.n, FastPolicy()) - dg_a[i];
      }
      lg_fact = std::lgamma(pt.n + 1.0);
    }
    // Eight transcendental calls a point: this loop is the fit's whole cost
    // at FAERS scale (millions of points, a hundred evaluations).
    double l[2], dl_da[2], dl_db[2];
    for (int i = 0; i < 2; ++i) {
      const double be = b[i] + pt.e;
      const double log_be = std::log(be);
      const double log_r = log_b[i] - log_be;     // log(beta / (beta + E))
      const double log_p0 = a[i] * log_r;         // log P(N = 0)
      const double tail = -std::expm1(log_p0);    // P(N >= 1)
      const double odds = 1 + (1 - tail) / tail;  // 1 + P(N = 0) / P(N >= 1)
      l[i] = lg_n[i] - lg_fact + log_p0 + pt.n * (pt.log_e - log_be) - std::log(tail);
      dl_da[i] = dg_n[i] + log_r * odds;
      dl_db[i] = a[i] * (pt.e / (b[i] * be)) * odds - pt.n / be;
    }
    // log(exp(m1) + exp(m2)) and the posterior weights of the two components from one exponential.
    const double m1 = log_p + l[0], m2 = log_q + l[1];
    const double t = std::exp(-std::fabs(m1 - m2));
    const double log_l = std::max(m1, m2) + std::log1p(t);
    const double w_larger = 1 / (1 + t);
    const double w1 = m1 >= m2 ? w_larger : 1 - w_larger, w2 = 1 - w1;
    f -= pt.weight * log_l;
    g_a[0] -= pt.weight * w1 * dl_da[0];
    g_a[1] -= pt.weight * w2 * dl_da[1];
    g_b[0] -= pt.weight * w1 * dl_db[0];
    g_b[1] -= pt.weight * w2 * dl_db[1];
    g_p -= pt.weight * (w1 / pr.p - w2 / (1 - pr.p));
  }
  (*grad)[0] = g_a[0] * a[0];
  (*grad)[1] = g_b[0] * b[0];
  (*grad)[2] = g_a[1] * a[1];
  (*grad)[3] = g_b[1] * b[1];
  (*grad)[4] = g_p * pr.p * (1 - pr.p);
  return f;
}

// BFGS with a backtracking (Armijo) line search on steps of at most one
// unit in the free parameters; the inverse Hessian starts scaled to the
// problem (Nocedal and Wright, eq. 6.20).
// A warm start (the curvature found on a sample of the same points, whose
// weights make it the same scale) saves the iterations that rebuild it.
template <typename F>
MinimizeResult Bfgs(F f_and_grad, Vec5 x, int max_iterations, double tolerance, const Mat5* warm = nullptr) {
  constexpr int kDim = 5;
  Mat5 h{};
  Vec5 g;
  double fx = f_and_grad(x, &g);
  double gnorm = 0;
  for (double v : g) gnorm = std::max(gnorm, std::fabs(v));
  for (int i = 0; i < kDim; ++i) h[i][i] = 1 / std::max(gnorm, 1.0);
  bool scaled = false, restarted = false;
  if (warm != nullptr) {
    h = *warm;
    scaled = true;
  }
  int tiny_steps = 0;
  int it = 0;
  for (; it < max_iterations && std::isfinite(fx); ++it) {
    Vec5 d{};
    for (int i = 0; i < kDim; ++i) {
      for (int j = 0; j < kDim; ++j) d[i] -= h[i][j] * g[j];
    }
    double slope = 0, dmax = 0;
    for (int i = 0; i < kDim; ++i) {
      slope += d[i] * g[i];
      dmax = std::max(dmax, std::fabs(d[i]));
    }
    if (slope >= 0) {  // lost positive definiteness: restart along the gradient
      for (int i = 0; i < kDim; ++i) {
        for (int j = 0; j < kDim; ++j) h[i][j] = i == j ? 1 / std::max(gnorm, 1.0) : 0;
        d[i] = -h[i][i] * g[i];
      }
      slope = 0;
      dmax = 0;
      for (int i = 0; i < kDim; ++i) {
        slope += d[i] * g[i];
        dmax = std::max(dmax, std::fabs(d[i]));
      }
    }
    double step = std::min(1.0, 1.0 / std::max(dmax, 1e-300));
    Vec5 xn, gn;
    double fn = 0;
    bool accepted = false;
    for (int k = 0; k < 50; ++k, step *= 0.5) {
      for (int i = 0; i < kDim; ++i) xn[i] = x[i] + step * d[i];
      fn = f_and_grad(xn, &gn);
      if (std::isfinite(fn) && fn <= fx + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
    }
    if (!accepted) {
      if (restarted) return {x, fx, true, it, h};  // no descent even along the gradient: a (flat) minimum
      restarted = true;                            // the curvature model went stale: start it again
      for (int i = 0; i < kDim; ++i) {
        for (int j = 0; j < kDim; ++j) h[i][j] = i == j ? 1 / std::max(gnorm, 1.0) : 0;
      }
      scaled = false;
      continue;
    }
    restarted = false;
    Vec5 s, y;
    double sy = 0, yy = 0;
    for (int i = 0; i < kDim; ++i) {
      s[i] = xn[i] - x[i];
      y[i] = gn[i] - g[i];
      sy += s[i] * y[i];
      yy += y[i] * y[i];
    }
    const double improvement = fx - fn;
    x = xn;
    g = gn;
    fx = fn;
    gnorm = 0;
    for (double v : g) gnorm = std::max(gnorm, std::fabs(v));
    tiny_steps = improvement <= 1e-12 * (1 + std::fabs(fx)) ? tiny_steps + 1 : 0;
    if (gnorm < tolerance * (1 + std::fabs(fx)) || tiny_steps >= 3) return {x, fx, true, it + 1, h};
    if (sy > 1e-16) {
      if (!scaled) {
        for (int i = 0; i < kDim; ++i) {
          for (int j = 0; j < kDim; ++j) h[i][j] = i == j ? sy / yy : 0;
        }
        scaled = true;
      }
      const double rho = 1 / sy;
      double hy[kDim] = {};
      for (int i = 0; i < kDim; ++i) {
        for (int j = 0; j < kDim; ++j) hy[i] += h[i][j] * y[j];
      }
      double yhy = 0;
      for (int i = 0; i < kDim; ++i) yhy += y[i] * hy[i];
      for (int i = 0; i < kDim; ++i) {
        for (int j = 0; j < kDim; ++j) {
          h[i][j] += -rho * (hy[i] * s[j] + s[i] * hy[j]) + (rho * rho * yhy + rho) * s[i] * s[j];
        }
      }
    }
  }
  return {x, fx, false, it, h};
}

// An even sample of the points (every k-th, weighted by k): the same
// likelihood's shape at a fraction of the cost; empty when not smaller.
std::vector<CountPoint> EvenSample(std::span<const CountPoint> points, size_t size) {
  std::vector<CountPoint> out;
  if (size == 0 || points.size() <= 2 * size) return out;
  const size_t stride = points.size() / size;
  for (size_t i = 0; i < points.size(); i += stride) {
    CountPoint p = points[i];
    p.weight *= static_cast<double>(stride);
    out.push_back(p);
  }
  return out;
}

}  // namespace

double NegLogLikelihoodWithGradient(const Prior& prior, std::span<const CountPoint> points,
                                    std::array<double, 5>* gradient) {
  return NegLogLikelihoodAndGradient(ToFree(prior), points, gradient);
}

Result<FitResult> FitPrior(std::span<const CountPoint> points, uint32_t n_star, const FitOptions& options) {
  if (points.empty()) return FailedPrecondition("no product-event pairs to fit the prior on");
  // openEBGM's suggested starting points (vignette "Posterior calculation").
  const std::array<Prior, 5> starts = {Prior{0.2, 0.1, 2, 4, 1.0 / 3}, Prior{0.1, 0.1, 10, 10, 0.2},
                                       Prior{0.3, 0.5, 6, 6, 0.5}, Prior{0.5, 0.3, 12, 12, 0.8},
                                       Prior{0.2, 0.2, 5, 5, 0.4}};
  // Gamma parameters are kept within [1e-4, 1e4] (openEBGM rejects estimates
  // above 100): beyond that the likelihood is flat and the search only wanders.
  auto in_bounds = [](const Vec5& x) {
    for (int i = 0; i < 5; ++i) {
      double limit = i < 4 ? 9.2 : 30;  // log(1e4); the mixture weight's logit is free
      if (!std::isfinite(x[i]) || std::fabs(x[i]) > limit) return false;
    }
    return true;
  };
  auto objective = [&](const Vec5& x) {
    if (!in_bounds(x)) return std::numeric_limits<double>::max();
    double f = NegLogLikelihood(FromFree(x), points, n_star);
    return std::isfinite(f) ? f : std::numeric_limits<double>::max();
  };
  const unsigned cores = Cores();
  // The negative log-likelihood and gradient on some points; large sets are
  // split over the cores (for stages that run alone).
  auto on = [&](std::span<const CountPoint> pts, bool split) {
    return [&, pts, split](const Vec5& x, Vec5* g) {
      if (!in_bounds(x)) return std::numeric_limits<double>::infinity();
      if (!split || cores == 1 || pts.size() < 100'000) return NegLogLikelihoodAndGradient(x, pts, g);
      std::vector<double> f(cores, 0);
      std::vector<Vec5> grads(cores);
      const size_t chunk = (pts.size() + cores - 1) / cores;
      ParallelFor(cores, 1, [&](size_t c) {
        size_t begin = std::min(pts.size(), c * chunk), end = std::min(pts.size(), begin + chunk);
        f[c] = NegLogLikelihoodAndGradient(x, pts.subspan(begin, end - begin), &grads[c]);
      });
      double total = 0;
      *g = Vec5{};
      for (unsigned c = 0; c < cores; ++c) {
        total += f[c];
        for (int i = 0; i < 5; ++i) (*g)[i] += grads[c][i];
      }
      return total;
    };
  };
  // With many points the starts only need to find the basin: they scout on
  // an even sample; the two best basins are searched again on a sample ten
  // times larger, and the better of them, on the full likelihood, is
  // searched to the end on every point, each stage starting from the last
  // one's point and curvature. The result is the maximum of the full,
  // unsquashed likelihood; the samples only save evaluations.
  const std::vector<CountPoint> scout =
      n_star == 1 ? EvenSample(points, options.scout_points) : std::vector<CountPoint>{};
  const std::vector<CountPoint> middle =
      scout.empty() ? std::vector<CountPoint>{} : EvenSample(points, options.scout_points * 10);

  // Stage 1: every start, each on its own thread.
  std::vector<MinimizeResult> results(starts.size());
  std::vector<bool> searched_to_end(starts.size(), true);
  std::vector<int> iterations(starts.size(), 0);
  auto run = [&](size_t i) {
    if (n_star == 1) {
      results[i] =
          Bfgs(on(scout.empty() ? points : std::span<const CountPoint>(scout), false), ToFree(starts[i]), 1000, 1e-9);
    } else {
      results[i] = NelderMead(objective, ToFree(starts[i]), 0.5, 4000, 1e-8);
    }
    iterations[i] = results[i].iterations;
  };
  ParallelFor(starts.size(), 1, run);
  if (!scout.empty()) {
    // Stage 2: the two best basins, in parallel, on the larger sample (or on
    // every point when there is none).
    std::vector<size_t> order;
    for (size_t i = 0; i < starts.size(); ++i) {
      if (results[i].converged) order.push_back(i);
    }
    std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return results[x].f < results[y].f; });
    order.resize(std::min<size_t>(2, order.size()));
    const std::span<const CountPoint> second = middle.empty() ? points : std::span<const CountPoint>(middle);
    ParallelFor(order.size(), 1, [&](size_t k) {
      const size_t i = order[k];
      MinimizeResult r = Bfgs(on(second, false), results[i].x, 1000, 1e-9, &results[i].inverse_hessian);
      iterations[i] += r.iterations;
      results[i] = r;
    });
    for (size_t i = 0; i < starts.size(); ++i) {
      if (!results[i].converged) continue;
      const bool refined = std::find(order.begin(), order.end(), i) != order.end();
      searched_to_end[i] = refined;
      if (!refined || !middle.empty()) {
        Vec5 g;
        results[i].f = on(points, true)(results[i].x, &g);  // compared on the full likelihood
      }
    }
  }
  FitResult best;
  best.neg_log_likelihood = std::numeric_limits<double>::infinity();
  size_t best_start = starts.size();
  for (size_t i = 0; i < starts.size(); ++i) {
    ++best.starts;
    if (!results[i].converged) continue;
    ++best.converged;
    if (searched_to_end[i] && results[i].f < best.neg_log_likelihood) {
      best.neg_log_likelihood = results[i].f;
      best_start = i;
    }
  }
  // The distinct optima: starts whose ends agree in value and place are one.
  // Those searched to the end come first, best first; starts that stopped on
  // a sample join the optimum they were heading for, if one is near.
  std::vector<size_t> ends;
  for (size_t i = 0; i < starts.size(); ++i) {
    if (results[i].converged) ends.push_back(i);
  }
  std::stable_sort(ends.begin(), ends.end(), [&](size_t a, size_t b) {
    return searched_to_end[a] != searched_to_end[b] ? searched_to_end[a] : results[a].f < results[b].f;
  });
  std::vector<Vec5> optimum_at;
  size_t best_optimum = 0;
  for (size_t i : ends) {
    size_t k = 0;
    for (; k < best.optima.size(); ++k) {
      double distance = 0;
      for (int d = 0; d < 5; ++d) distance = std::max(distance, std::fabs(results[i].x[d] - optimum_at[k][d]));
      const bool same_value = std::fabs(results[i].f - best.optima[k].neg_log_likelihood) < 1e-3;
      if (searched_to_end[i] ? same_value && distance < 0.1 : distance < 0.25) break;
    }
    if (k == best.optima.size()) {
      best.optima.push_back(Optimum{FromFree(results[i].x), results[i].f, 0, searched_to_end[i]});
      optimum_at.push_back(results[i].x);
    }
    ++best.optima[k].starts;
    if (i == best_start) best_optimum = k;
  }
  if (best_start < starts.size()) {
    // Last stage, alone and split over the cores: from the best result until
    // it stops moving (Nelder-Mead can stall on a collapsed simplex).
    MinimizeResult r = results[best_start];
    int total = iterations[best_start];
    for (int restart = 0; restart < 4; ++restart) {
      // With the gradient (N* = 1) quasi-Newton, warm; otherwise a smaller simplex.
      MinimizeResult again = n_star == 1 ? Bfgs(on(points, true), r.x, 1000, 1e-12, &r.inverse_hessian)
                                         : NelderMead(objective, r.x, 0.1, 4000, 1e-11);
      total += again.iterations;
      bool moved = again.f < r.f - 1e-10 * (std::fabs(r.f) + 1);
      if (again.f <= r.f) r = again;
      if (!moved) break;
    }
    best.prior = FromFree(r.x);
    best.neg_log_likelihood = r.f;
    best.iterations = total;
    best.optima[best_optimum].prior = best.prior;
    best.optima[best_optimum].neg_log_likelihood = r.f;
  }
  if (best.converged == 0) return FailedPrecondition("the prior's fit did not converge from any starting point");
  return best;
}

double PosteriorQuantile(const Prior& prior, uint32_t n, double e, double qn, double probability) {
  const double a1 = prior.alpha1 + n, r1 = prior.beta1 + e;
  const double a2 = prior.alpha2 + n, r2 = prior.beta2 + e;
  auto cdf = [&](double x) {
    return qn * boost::math::gamma_p(a1, r1 * x, FastPolicy()) +
           (1 - qn) * boost::math::gamma_p(a2, r2 * x, FastPolicy());
  };
  // Bracket the root cheaply with the Wilson-Hilferty approximation of each
  // component's quantile (the mixture's lies between them), widening until
  // the bracket holds, then solve to full precision.
  const double z = -std::sqrt(2.0) * boost::math::erfc_inv(2 * probability, FastPolicy());
  auto wilson_hilferty = [&](double shape, double rate) {
    double c = 1 / (9 * shape);
    double t = 1 - c + z * std::sqrt(c);
    return shape * std::max(t * t * t, 1e-3) / rate;
  };
  double x1 = wilson_hilferty(a1, r1), x2 = wilson_hilferty(a2, r2);
  // Newton's method on the mixture's CDF (its derivative is the mixture's
  // density), kept inside a bracket that bisection falls back to: from the
  // Wilson-Hilferty guess it needs a few steps where a bracketing solver
  // needs about ten evaluations, and scoring millions of pairs is all this.
  auto pdf = [&](double x) {
    return qn * r1 * boost::math::gamma_p_derivative(a1, r1 * x, FastPolicy()) +
           (1 - qn) * r2 * boost::math::gamma_p_derivative(a2, r2 * x, FastPolicy());
  };
  double lo = 0, hi = std::numeric_limits<double>::infinity();
  double x = qn * x1 + (1 - qn) * x2;
  for (int it = 0; it < 100; ++it) {
    double f = cdf(x) - probability;
    if (f == 0) return x;
    (f < 0 ? lo : hi) = x;
    double d = pdf(x);
    double next = d > 0 ? x - f / d : std::numeric_limits<double>::quiet_NaN();
    if (!(next > lo && next < hi)) next = std::isfinite(hi) ? 0.5 * (lo + hi) : std::max(2 * x, x + 1e-300);
    if (std::fabs(next - x) <= 1e-13 * x) return next;
    x = next;
  }
  return x;
}

double OpenEbgmQuantile(const Prior& prior, uint32_t n, double e, double qn, double probability) {
  // The posterior CDF minus the cut point; pgamma is 0 below zero.
  auto error = [&](double x) {
    if (x <= 0) return -probability;
    return qn * boost::math::gamma_p(prior.alpha1 + n, (prior.beta1 + e) * x, FastPolicy()) +
           (1 - qn) * boost::math::gamma_p(prior.alpha2 + n, (prior.beta2 + e) * x, FastPolicy()) - probability;
  };
  auto sign = [](double v) { return v > 0 ? 1 : v < 0 ? -1 : 0; };
  constexpr double kLimit = 100000, kTolerance = 0.005;  // limits = c(-1e5, 1e5); 0.5 * 10^-digits
  const bool too_big = error(1) > 0;
  double left = too_big ? -kLimit : 1, right = too_big ? 1 : kLimit;
  double error_left = error(left);
  for (int it = 0; it < 2000; ++it) {
    const double mid = (left + right) / 2;
    if ((right - left) / 2 < kTolerance) return std::round(mid * 100) / 100;
    const double error_mid = error(mid);
    if (sign(error_left) == sign(error_mid)) {
      left = mid;
      error_left = error_mid;
    } else {
      right = mid;
    }
  }
  return (left + right) / 2;  // not reached: the bracket halves to the tolerance in 25 steps
}

namespace {

// The posterior probability of the first component, given N = n.
double Qn(const Prior& prior, uint32_t n, double e) {
  double l1 = std::log(prior.p) + LogNegBinomial(n, prior.alpha1, prior.beta1, e);
  double l2 = std::log1p(-prior.p) + LogNegBinomial(n, prior.alpha2, prior.beta2, e);
  return std::exp(l1 - LogSumExp(l1, l2));
}

}  // namespace

double Eb05(const Prior& prior, uint32_t n, double e, QuantileMethod method) {
  const double qn = Qn(prior, n, e);
  return method == QuantileMethod::kOpenEbgm ? OpenEbgmQuantile(prior, n, e, qn, 0.05)
                                             : PosteriorQuantile(prior, n, e, qn, 0.05);
}

PosteriorScores Score(const Prior& prior, uint32_t n, double e, QuantileMethod method) {
  PosteriorScores s;
  s.qn = Qn(prior, n, e);
  double log_gm = s.qn * (boost::math::digamma(prior.alpha1 + n, FastPolicy()) - std::log(prior.beta1 + e)) +
                  (1 - s.qn) * (boost::math::digamma(prior.alpha2 + n, FastPolicy()) - std::log(prior.beta2 + e));
  s.ebgm = std::exp(log_gm);
  if (method == QuantileMethod::kOpenEbgm) {
    s.eb05 = OpenEbgmQuantile(prior, n, e, s.qn, 0.05);
    s.eb95 = OpenEbgmQuantile(prior, n, e, s.qn, 0.95);
  } else {
    s.eb05 = PosteriorQuantile(prior, n, e, s.qn, 0.05);
    s.eb95 = PosteriorQuantile(prior, n, e, s.qn, 0.95);
  }
  return s;
}

}  // namespace trialcore::signal
