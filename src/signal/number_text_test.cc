#include "signal/number_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>

namespace trialcore::signal {
namespace {

std::string Printf(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string Ours(double v) {
  std::string s;
  AppendSixDigits(&s, v);
  return s;
}

TEST(NumberTextTest, WritesWhatPrintfWrites) {
  const double cases[] = {0.0,
                          -0.0,
                          1,
                          -1,
                          0.1,
                          0.5,
                          2.5,
                          123456,
                          1234567,
                          999999.4,
                          999999.5,
                          999999.6,
                          9999995,
                          0.0001,
                          0.00001,
                          0.000123456789,
                          1e-300,
                          5e-324,
                          2.2250738585072014e-308,
                          1.23456789e-295,
                          1.7976931348623157e308,
                          100000,
                          1000000,
                          23.2611,
                          0.0360548272,
                          1.0000005,
                          1.0000015,
                          2.0000025,
                          0.1234565,
                          80.2857,
                          3356};
  for (double v : cases) EXPECT_EQ(Ours(v), Printf(v)) << std::hexfloat << v;
  EXPECT_EQ(Ours(std::numeric_limits<double>::infinity()), "Inf");
  EXPECT_EQ(Ours(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(Ours(std::nan("")), "NA");
}

TEST(NumberTextTest, AgreesWithPrintfOnMillionsOfValues) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> exponent(-30, 30), mantissa(1, 10);
  for (int i = 0; i < 1'000'000; ++i) {
    double v;
    switch (i % 4) {
      case 0: {  // any bit pattern
        uint64_t bits = rng();
        std::memcpy(&v, &bits, sizeof v);
        if (!std::isfinite(v)) continue;
        break;
      }
      case 1:
        v = mantissa(rng) * std::pow(10.0, std::floor(exponent(rng)));
        break;
      case 2:
        v = std::round(mantissa(rng) * 1e6) / 1e6 * std::pow(10.0, std::floor(exponent(rng) / 5));
        break;
      default:
        v = (static_cast<double>(rng() % 20000000) + 0.5) / std::pow(10.0, static_cast<double>(rng() % 12));
        break;
    }
    if (rng() % 2) v = -v;
    ASSERT_EQ(Ours(v), Printf(v)) << std::hexfloat << v;
  }
}

}  // namespace
}  // namespace trialcore::signal
