#include <gtest/gtest.h>

#include "study/study.h"

namespace trialcore::study {
namespace {

const std::string kDemo = std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml";

std::string Errors(const std::vector<StudyError>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.ToString() + "\n";
  return out;
}

TEST(DemoStudy, LoadsAndCompilesEveryExpression) {
  std::vector<StudyError> errors;
  auto s = LoadStudyFile(kDemo, &errors);
  ASSERT_TRUE(s.ok()) << Errors(errors);
  const Study& study = **s;
  EXPECT_EQ(study.id, "CDISCPILOT01");
  EXPECT_EQ(study.arms.size(), 3u);
  EXPECT_EQ(study.visits.size(), 22u);
  size_t checks = 0;
  for (const Form& f : study.forms) {
    for (const Check& c : f.checks) {
      ++checks;
      EXPECT_TRUE(c.expr.has_value()) << c.id;
    }
  }
  EXPECT_GE(checks, 40u);
  EXPECT_EQ(study.eligibility.size(), 13u);
}

}  // namespace
}  // namespace trialcore::study
