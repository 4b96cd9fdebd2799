// Frequentist and Bayesian disproportionality measures of one product-event
// pair from its 2x2 table of unique reports:
//
//                 event    other events
//   product         a          b          a + b = n_product
//   other products  c          d
//                 a + c = n_event          a + b + c + d = n_total
#pragma once

#include <cstdint>

namespace trialcore::signal {

struct Disproportionality {
  double prr = 0, prr_lower = 0, prr_upper = 0;  // proportional reporting ratio, 95% CI
  double ror = 0, ror_lower = 0, ror_upper = 0;  // reporting odds ratio, 95% CI
  double chi_square = 0;                         // Pearson, 1 df, Yates-corrected (Evans et al. 2001)
  double ic = 0, ic025 = 0, ic975 = 0;           // BCPNN information component and 95% credibility interval
};

// n: reports with both; e: expected count for the IC (stratified if strata are used).
// Undefined ratios (a zero denominator) are +infinity, as openEBGM reports them.
Disproportionality Measure(uint64_t n, uint64_t n_product, uint64_t n_event, uint64_t n_total, double e);
// The same with the IC's credibility interval already computed (it depends on
// N and E only, so pairs sharing them share it).
Disproportionality Measure(uint64_t n, uint64_t n_product, uint64_t n_event, uint64_t n_total, double e, double ic025,
                           double ic975);

// The shrinkage information component of Norén et al. (2013):
// IC = log2((N + 0.5) / (E + 0.5)); the interval is the 2.5% and 97.5%
// quantiles of log2 of a Gamma(N + 0.5, E + 0.5) posterior.
double InformationComponent(uint64_t n, double e);
double InformationComponentQuantile(uint64_t n, double e, double probability);

}  // namespace trialcore::signal
