#include "signal/gps.h"

#include <gtest/gtest.h>

#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <random>

#include "signal/reports.h"

namespace trialcore::signal {
namespace {

const std::string kCaers = std::string(TRIALCORE_SHARED_DATA) + "/caers/caers.csv";

// openEBGM's fit on caers as printed in its vignette "Posterior calculation".
const Prior kOpenEbgmPrior{3.25379356, 0.39988854, 2.02612692, 1.90807970, 0.06534557};

struct Expected {
  const char* product;
  const char* event;
  uint32_t n;
  double e, qn, ebgm, eb05, eb95;  // qn < 0: not printed
};

// Rows printed by openEBGM's vignette for processRaw(caers) with the prior above.
const Expected kRows[] = {
    {"1-PHENYLALANINE", "HEART RATE INCREASED", 1, 0.0360548272, 0.2819737, 2.23, 0.49, 13.85},
    {"11 UNSPECIFIED VITAMINS", "ASTHMA", 1, 0.0038736591, 0.3409653, 2.58, 0.52, 15.78},
    {"11 UNSPECIFIED VITAMINS", "CARDIAC FUNCTION TEST", 1, 0.0002979738, 0.3482317, 2.63, 0.52, 16.02},
    {"11 UNSPECIFIED VITAMINS", "DYSPNOEA", 1, 0.0765792610, 0.2226356, 1.92, 0.47, 11.77},
    {"11 UNSPECIFIED VITAMINS", "HYPERSENSITIVITY", 1, 0.0527413588, 0.2556670, 2.09, 0.48, 12.95},
    {"REUMOFAN PLUS", "WEIGHT INCREASED", 16, 0.40643623, -1, 23.26, 15.68, 33.48},
    {"HYDROXYCUT REGULAR RAPID RELEASE CAPLETS", "EMOTIONAL DISTRESS", 19, 0.89690107, -1, 16.78, 11.65, 23.55},
    {"REUMOFAN PLUS", "IMMOBILE", 6, 0.07866508, -1, 18.28, 10.16, 30.83},
    {"HYDROXYCUT HARDCORE CAPSULES", "CARDIO-RESPIRATORY DISTRESS", 8, 0.30482718, -1, 15.25, 9.00, 24.52},
    {"HYDROXYCUT REGULAR RAPID RELEASE CAPLETS", "INJURY", 11, 0.56317044, -1, 14.28, 8.98, 21.78},
};

class CaersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto t = LoadReportCsv(kCaers, false);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    table_ = new ReportTable(std::move(t).value());
    counts_ = new Counts(CountPairs(*table_, 1));
  }
  static void TearDownTestSuite() {
    delete counts_;
    delete table_;
  }
  // A failure in SetUpTestSuite only marks the tests skipped, which CI counts as passed.
  void SetUp() override { ASSERT_NE(counts_, nullptr) << "caers.csv did not load"; }
  const PairCount* Find(const char* p, const char* e) {
    for (const auto& pc : counts_->pairs) {
      if (table_->products.Name(pc.product) == p && table_->events.Name(pc.event) == e) return &pc;
    }
    return nullptr;
  }
  static ReportTable* table_;
  static Counts* counts_;
};
ReportTable* CaersTest::table_ = nullptr;
Counts* CaersTest::counts_ = nullptr;

TEST_F(CaersTest, CountsMatchOpenEbgmProcessRaw) {
  EXPECT_EQ(counts_->pairs.size(), 17189u);
  for (const auto& row : kRows) {
    const PairCount* pc = Find(row.product, row.event);
    ASSERT_NE(pc, nullptr) << row.product << " / " << row.event;
    EXPECT_EQ(pc->n, row.n) << row.product << " / " << row.event;
    // openEBGM prints E to 8 significant digits at least.
    EXPECT_NEAR(pc->e, row.e, 5e-9) << row.product << " / " << row.event;
  }
}

TEST_F(CaersTest, PosteriorScoresMatchOpenEbgmToThePrecisionItPrints) {
  for (const auto& row : kRows) {
    const PairCount* pc = Find(row.product, row.event);
    ASSERT_NE(pc, nullptr);
    PosteriorScores s = Score(kOpenEbgmPrior, pc->n, pc->e);
    if (row.qn >= 0) {
      EXPECT_NEAR(s.qn, row.qn, 5e-7) << row.event;
    }
    // EBGM is closed-form, so it must round to what openEBGM prints.
    EXPECT_NEAR(s.ebgm, row.ebgm, 0.005 + 1e-9) << row.product << " / " << row.event;
    // openEBGM's quantBisect stops once its bracket is narrower than 0.01 and
    // then rounds, so its quantiles are within 0.01 of the exact ones we compute.
    EXPECT_NEAR(s.eb05, row.eb05, 0.01) << row.product << " / " << row.event;
    EXPECT_NEAR(s.eb95, row.eb95, 0.01) << row.product << " / " << row.event;
  }
  int suspicious = 0;
  for (const auto& pc : counts_->pairs) {
    if (std::round(Score(kOpenEbgmPrior, pc.n, pc.e).eb05 * 100) / 100 >= 2) ++suspicious;
  }
  EXPECT_EQ(suspicious, 131) << "openEBGM finds 131 of 17189 pairs with QUANT_05 >= 2";
}

TEST_F(CaersTest, UnsquashedFitIsAtLeastAsLikelyAsOpenEbgmsSquashedOne) {
  std::vector<uint32_t> n;
  std::vector<double> e;
  for (const auto& pc : counts_->pairs) {
    n.push_back(pc.n);
    e.push_back(pc.e);
  }
  auto points = GroupPoints(n, e);
  EXPECT_LT(points.size(), counts_->pairs.size()) << "equal points are merged";
  auto fit = FitPrior(points, 1);
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  double theirs = NegLogLikelihood(kOpenEbgmPrior, points, 1);
  // The likelihood is flat and multimodal here; fitted on every point rather
  // than squashed ones, our maximum must be at least as high as theirs.
  EXPECT_LE(fit->neg_log_likelihood, theirs + 1e-6);
  EXPECT_GE(fit->converged, 3);
}

TEST(GpsTest, AnalyticGradientMatchesFiniteDifferences) {
  std::vector<uint32_t> n = {1, 1, 2, 3, 1, 5, 8, 1, 2, 13};
  std::vector<double> e = {0.1, 0.5, 0.2, 1.5, 0.01, 2.0, 0.3, 0.05, 0.7, 4.0};
  auto points = GroupPoints(n, e);
  const Prior p{0.7, 0.4, 3.0, 2.0, 0.3};
  std::array<double, 5> gradient;
  double f = NegLogLikelihoodWithGradient(p, points, &gradient);
  EXPECT_NEAR(f, NegLogLikelihood(p, points, 1), 1e-9);
  // Central differences in the free parameters (logs, and the logit of p).
  const double h = 1e-5;
  for (int k = 0; k < 5; ++k) {
    auto shifted = [&](double delta) {
      Prior q = p;
      double* v[5] = {&q.alpha1, &q.beta1, &q.alpha2, &q.beta2, &q.p};
      if (k < 4) {
        *v[k] *= std::exp(delta);
      } else {
        double logit = std::log(q.p / (1 - q.p)) + delta;
        q.p = 1 / (1 + std::exp(-logit));
      }
      return NegLogLikelihood(q, points, 1);
    };
    double numeric = (shifted(h) - shifted(-h)) / (2 * h);
    EXPECT_NEAR(gradient[k], numeric, 1e-6 * (1 + std::fabs(numeric))) << "parameter " << k;
  }
}

TEST(GpsTest, OneComponentPriorGivesTheGammaPosteriorInClosedForm) {
  Prior p{2.0, 1.5, 7.0, 3.0, 1.0 - 1e-15};
  PosteriorScores s = Score(p, 4, 2.5);
  EXPECT_NEAR(s.qn, 1.0, 1e-9);
  EXPECT_NEAR(s.ebgm, std::exp(boost::math::digamma(6.0)) / 4.0, 1e-9);
  EXPECT_NEAR(s.eb05, boost::math::gamma_p_inv(6.0, 0.05) / 4.0, 1e-7);
  EXPECT_NEAR(s.eb95, boost::math::gamma_p_inv(6.0, 0.95) / 4.0, 1e-7);
}

TEST(GpsTest, StrongEvidenceOverwhelmsThePrior) {
  // With N and E large, EBGM tends to the observed ratio N / E.
  PosteriorScores s = Score(kOpenEbgmPrior, 40000, 10000.0);
  EXPECT_NEAR(s.ebgm, 4.0, 0.01);
  EXPECT_LT(s.eb05, s.ebgm);
  EXPECT_GT(s.eb95, s.ebgm);
}

// Pairs drawn from a known mixture: lambda from the prior, N ~ Poisson(lambda
// E) with E spread over e^-3..e^3, keeping N >= 1 as counts of reports do.
struct Simulated {
  std::vector<uint32_t> n;
  std::vector<double> e;
};

Simulated Simulate(const Prior& truth, uint64_t seed, size_t pairs) {
  std::mt19937_64 rng(seed);
  Simulated out;
  std::uniform_real_distribution<double> u(0, 1);
  std::gamma_distribution<double> g1(truth.alpha1, 1 / truth.beta1), g2(truth.alpha2, 1 / truth.beta2);
  while (out.n.size() < pairs) {
    double expected = std::exp(u(rng) * 6 - 3);
    double lambda = u(rng) < truth.p ? g1(rng) : g2(rng);
    uint32_t count = std::poisson_distribution<uint32_t>(lambda * expected)(rng);
    if (count >= 1) {
      out.n.push_back(count);
      out.e.push_back(expected);
    }
  }
  return out;
}

TEST_F(CaersTest, OpenEbgmQuantilesAreTheOnesItPrints) {
  for (const auto& row : kRows) {
    const PairCount* pc = Find(row.product, row.event);
    ASSERT_NE(pc, nullptr);
    PosteriorScores s = Score(kOpenEbgmPrior, pc->n, pc->e, QuantileMethod::kOpenEbgm);
    EXPECT_DOUBLE_EQ(s.eb05, row.eb05) << row.product << " / " << row.event;
    EXPECT_DOUBLE_EQ(s.eb95, row.eb95) << row.product << " / " << row.event;
    EXPECT_DOUBLE_EQ(Eb05(kOpenEbgmPrior, pc->n, pc->e, QuantileMethod::kOpenEbgm), row.eb05);
    EXPECT_DOUBLE_EQ(Eb05(kOpenEbgmPrior, pc->n, pc->e), Score(kOpenEbgmPrior, pc->n, pc->e).eb05);
  }
}

TEST_F(CaersTest, TheFitReportsEachOptimumAndTheStartsThatReachedIt) {
  std::vector<uint32_t> n;
  std::vector<double> e;
  for (const auto& pc : counts_->pairs) {
    n.push_back(pc.n);
    e.push_back(pc.e);
  }
  auto points = GroupPoints(n, e);
  auto fit = FitPrior(points, 1);
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  ASSERT_EQ(fit->optima.size(), 2u);
  const Optimum &best = fit->optima[0], &runner_up = fit->optima[1];
  EXPECT_EQ(best.neg_log_likelihood, fit->neg_log_likelihood);
  EXPECT_EQ(best.prior.alpha1, fit->prior.alpha1);
  EXPECT_NEAR(best.neg_log_likelihood, 4162.1808, 1e-4);
  EXPECT_NEAR(best.prior.alpha1, 20.958, 1e-3);
  EXPECT_EQ(best.starts, 1);
  // The runner-up is openEBGM's optimum: the same likelihood as its printed prior.
  EXPECT_NEAR(runner_up.neg_log_likelihood, NegLogLikelihood(kOpenEbgmPrior, points, 1), 1e-3);
  EXPECT_NEAR(runner_up.prior.alpha1, 3.256, 1e-2);
  EXPECT_NEAR(runner_up.prior.p, 0.0653, 1e-3);
  EXPECT_EQ(runner_up.starts, 4);
  EXPECT_TRUE(best.searched_to_end && runner_up.searched_to_end);
}

TEST(GpsTest, OpenEbgmsBisectionIsWithinAHundredthOfTheExactQuantile) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> expected(0.001, 20);
  const Prior prior{3.25, 0.4, 2.02, 1.9, 0.065};
  for (int i = 0; i < 200; ++i) {
    uint32_t n = 1 + rng() % 40;
    double e = expected(rng);
    PosteriorScores exact = Score(prior, n, e), bisected = Score(prior, n, e, QuantileMethod::kOpenEbgm);
    EXPECT_NEAR(bisected.eb05, exact.eb05, 0.01 + 1e-9) << n << " " << e;
    EXPECT_NEAR(bisected.eb95, exact.eb95, 0.01 + 1e-9) << n << " " << e;
    EXPECT_EQ(bisected.eb05, std::round(bisected.eb05 * 100) / 100) << "two decimals";
    EXPECT_EQ(bisected.ebgm, exact.ebgm);
  }
}

TEST(GpsTest, FitRecoversTheHyperparametersOfSimulatedData) {
  Prior truth{0.4, 0.3, 4.0, 4.0, 0.25};
  auto [n, e] = Simulate(truth, 7, 6000);
  auto fit = FitPrior(GroupPoints(n, e), 1);
  ASSERT_TRUE(fit.ok());
  EXPECT_NEAR(fit->prior.p, truth.p, 0.08);
  EXPECT_NEAR(fit->prior.alpha2 / fit->prior.beta2, truth.alpha2 / truth.beta2, 0.15);
  EXPECT_LE(fit->neg_log_likelihood, NegLogLikelihood(truth, GroupPoints(n, e), 1) + 1e-6);
}

TEST(GpsTest, ScoutingOnSamplesReachesTheSameMaximumAsSearchingEveryStartOnEveryPoint) {
  auto [n, e] = Simulate(Prior{0.4, 0.3, 4.0, 4.0, 0.25}, 11, 20000);
  auto points = GroupPoints(n, e);
  ASSERT_GT(points.size(), 4000u);
  auto everything = FitPrior(points, 1, FitOptions{0});
  // A 500-point scout and a 5,000-point middle sample (points > 10,000), then every point.
  ASSERT_GT(points.size(), 10000u);
  auto scouted = FitPrior(points, 1, FitOptions{500});
  ASSERT_TRUE(everything.ok() && scouted.ok());
  EXPECT_NEAR(scouted->neg_log_likelihood, everything->neg_log_likelihood,
              1e-7 * std::fabs(everything->neg_log_likelihood));
  EXPECT_NEAR(scouted->prior.p, everything->prior.p, 1e-3);
  EXPECT_NEAR(scouted->prior.alpha1, everything->prior.alpha1, 1e-3 * everything->prior.alpha1);
  EXPECT_NEAR(scouted->prior.beta2, everything->prior.beta2, 1e-3 * everything->prior.beta2);
  // Every converged start is counted in one optimum; the best was searched to the end.
  int counted = 0;
  for (const Optimum& o : scouted->optima) counted += o.starts;
  EXPECT_EQ(counted, scouted->converged);
  ASSERT_FALSE(scouted->optima.empty());
  EXPECT_TRUE(scouted->optima[0].searched_to_end);
  EXPECT_EQ(scouted->optima[0].prior.p, scouted->prior.p);
}

}  // namespace
}  // namespace trialcore::signal
