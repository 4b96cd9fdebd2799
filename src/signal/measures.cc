#include "signal/measures.h"

#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <limits>

namespace trialcore::signal {
namespace {

// Double precision throughout: Boost's default promotes to long double, which
// is several times slower and adds nothing at the precision we report.
using FastPolicy = boost::math::policies::policy<boost::math::policies::promote_double<false>>;

constexpr double kZ975 = 1.959963984540054;  // standard normal 97.5% quantile
constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

double InformationComponent(uint64_t n, double e) { return std::log2((static_cast<double>(n) + 0.5) / (e + 0.5)); }

double InformationComponentQuantile(uint64_t n, double e, double probability) {
  // Gamma(shape N + 0.5, rate E + 0.5): quantile of the unit-rate gamma, scaled.
  double x = boost::math::gamma_p_inv(static_cast<double>(n) + 0.5, probability, FastPolicy()) / (e + 0.5);
  return std::log2(x);
}

Disproportionality Measure(uint64_t n, uint64_t n_product, uint64_t n_event, uint64_t n_total, double e) {
  return Measure(n, n_product, n_event, n_total, e, InformationComponentQuantile(n, e, 0.025),
                 InformationComponentQuantile(n, e, 0.975));
}

Disproportionality Measure(uint64_t n, uint64_t n_product, uint64_t n_event, uint64_t n_total, double e, double ic025,
                           double ic975) {
  const double a = static_cast<double>(n);
  const double b = static_cast<double>(n_product) - a;
  const double c = static_cast<double>(n_event) - a;
  const double d = static_cast<double>(n_total) - static_cast<double>(n_product) - static_cast<double>(n_event) + a;
  Disproportionality m;

  const double prr_den = c / (c + d);
  m.prr = prr_den > 0 ? (a / (a + b)) / prr_den : kInf;
  if (a > 0 && c > 0 && std::isfinite(m.prr)) {
    double se = std::sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d));
    m.prr_lower = std::exp(std::log(m.prr) - kZ975 * se);
    m.prr_upper = std::exp(std::log(m.prr) + kZ975 * se);
  } else {
    m.prr_lower = m.prr_upper = m.prr;
  }

  m.ror = (b > 0 && c > 0) ? (a * d) / (b * c) : kInf;
  if (a > 0 && b > 0 && c > 0 && d > 0) {
    double se = std::sqrt(1 / a + 1 / b + 1 / c + 1 / d);
    m.ror_lower = std::exp(std::log(m.ror) - kZ975 * se);
    m.ror_upper = std::exp(std::log(m.ror) + kZ975 * se);
  } else {
    m.ror_lower = m.ror_upper = m.ror;
  }

  const double total = a + b + c + d;
  const double margins = (a + b) * (c + d) * (a + c) * (b + d);
  if (margins > 0) {
    double diff = std::max(0.0, std::fabs(a * d - b * c) - total / 2);
    m.chi_square = total * diff * diff / margins;
  }

  m.ic = InformationComponent(n, e);
  m.ic025 = ic025;
  m.ic975 = ic975;
  return m;
}

}  // namespace trialcore::signal
