#include "signal/measures.h"

#include <gtest/gtest.h>

#include <cmath>

namespace trialcore::signal {
namespace {

// a = 10, b = 90, c = 20, d = 880 (n_product 100, n_event 30, n_total 1000).
TEST(MeasuresTest, HandComputedTwoByTwoTable) {
  Disproportionality m = Measure(10, 100, 30, 1000, 3.0);
  EXPECT_NEAR(m.prr, (10.0 / 100) / (20.0 / 900), 1e-12);  // 4.5
  EXPECT_NEAR(m.ror, 10.0 * 880 / (90.0 * 20), 1e-12);     // 4.888...
  // Yates: 1000 * (|8800 - 1800| - 500)^2 / (100 * 900 * 30 * 970)
  EXPECT_NEAR(m.chi_square, 1000.0 * 6500 * 6500 / (100.0 * 900 * 30 * 970), 1e-9);
  // ln PRR +- 1.96 sqrt(1/10 - 1/100 + 1/20 - 1/900)
  double se = std::sqrt(0.1 - 0.01 + 0.05 - 1.0 / 900);
  EXPECT_NEAR(m.prr_lower, 4.5 * std::exp(-1.959963984540054 * se), 1e-9);
  EXPECT_NEAR(m.prr_upper, 4.5 * std::exp(1.959963984540054 * se), 1e-9);
  double se_ror = std::sqrt(1.0 / 10 + 1.0 / 90 + 1.0 / 20 + 1.0 / 880);
  EXPECT_NEAR(m.ror_lower, m.ror * std::exp(-1.959963984540054 * se_ror), 1e-9);
  EXPECT_NEAR(m.ic, std::log2(10.5 / 3.5), 1e-12);
  EXPECT_LT(m.ic025, m.ic);
  EXPECT_GT(m.ic975, m.ic);
}

TEST(MeasuresTest, RorIsSymmetricInProductAndEventPrrIsNot) {
  Disproportionality m1 = Measure(7, 40, 90, 5000, 1.0);
  Disproportionality m2 = Measure(7, 90, 40, 5000, 1.0);
  EXPECT_NEAR(m1.ror, m2.ror, 1e-12);
  EXPECT_NEAR(m1.chi_square, m2.chi_square, 1e-9);
  EXPECT_GT(std::fabs(m1.prr - m2.prr), 0.1);
}

TEST(MeasuresTest, IndependenceGivesOneAndNoSignal) {
  // a/b = c/d: the product changes nothing about the event.
  Disproportionality m = Measure(20, 100, 200, 1000, 20.0);
  EXPECT_NEAR(m.prr, 1.0, 1e-12);
  EXPECT_NEAR(m.ror, 1.0, 1e-12);
  EXPECT_EQ(m.chi_square, 0.0) << "Yates' correction removes a zero difference entirely";
  EXPECT_NEAR(m.ic, 0.0, 1e-12);
  EXPECT_LT(m.ic025, 0.0);
  EXPECT_GT(m.ic975, 0.0);
}

TEST(MeasuresTest, ZeroCellsGiveInfinityNotNaN) {
  // Every report with the event names the product: c = 0.
  Disproportionality m = Measure(5, 50, 5, 1000, 0.25);
  EXPECT_TRUE(std::isinf(m.prr));
  EXPECT_TRUE(std::isinf(m.ror));
  EXPECT_FALSE(std::isnan(m.chi_square));
}

TEST(MeasuresTest, IcIntervalAgreesWithNorensClosedFormApproximation) {
  // Norén et al. (2013): IC025 ~ IC - 3.3 (N+0.5)^-1/2 - 2 (N+0.5)^-3/2 and
  // IC975 ~ IC + 2.4 (N+0.5)^-1/2 - 0.5 (N+0.5)^-3/2.
  for (uint64_t n : {3u, 10u, 50u, 400u}) {
    for (double e : {0.5, 2.0, 30.0}) {
      double ic = InformationComponent(n, e);
      double k = static_cast<double>(n) + 0.5;
      EXPECT_NEAR(InformationComponentQuantile(n, e, 0.025), ic - 3.3 / std::sqrt(k) - 2 / std::pow(k, 1.5), 0.12)
          << n << " " << e;
      EXPECT_NEAR(InformationComponentQuantile(n, e, 0.975), ic + 2.4 / std::sqrt(k) - 0.5 / std::pow(k, 1.5), 0.12)
          << n << " " << e;
    }
  }
  // The interval narrows as evidence grows.
  double wide = InformationComponentQuantile(4, 2, 0.975) - InformationComponentQuantile(4, 2, 0.025);
  double narrow = InformationComponentQuantile(400, 200, 0.975) - InformationComponentQuantile(400, 200, 0.025);
  EXPECT_GT(wide, 5 * narrow);
}

}  // namespace
}  // namespace trialcore::signal
