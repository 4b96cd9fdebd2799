// Issue 16, point 6: a case unblinded for expedited reporting shows the
// subject's unblinded-only values to the safety physician on the case page,
// and to no other role; a case not unblinded shows them to no one.
#include "api/safety_case.h"

#include <gtest/gtest.h>

#include "core/json.h"
#include "study/study.h"

namespace trialcore::api {
namespace {

class SafetyCaseDetailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<study::StudyError> errors;
    study_ = study::LoadStudyFile(std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml", &errors).value();
    subject_.id = "701-1001";
    subject_.site = "701";
    // The dose (unblinded_only: it reveals the arm) and the AE row of the case.
    subject_.visits["BASELINE"].forms["EX"].items["EXDOSE"].value = Value(int64_t{54});
    auto& row = subject_.visits["LOGS"].forms["AE"].rows["AE"][1];
    row.items["AETERM"].value = Value("SYNCOPE");
    row.items["AESER"].value = Value("Y");
    case_.number = 1;
    case_.visit = "LOGS";
    case_.form = "AE";
    case_.group = "AE";
    case_.row = 1;
  }

  Value Detail(const std::string& role) {
    return SafetyCaseDetail(*study_, &subject_, nullptr, case_, Value(Value::Object{}), {}, role);
  }

  std::shared_ptr<const study::Study> study_;
  capture::SubjectState subject_;
  capture::SafetyCase case_;
};

TEST_F(SafetyCaseDetailTest, OnlyAnUnblindedCaseShowsTheTreatmentAndOnlyToTheSafetyPhysician) {
  EXPECT_EQ(Detail("safety_physician").Find("treatment"), nullptr) << "not unblinded";
  case_.unblinded = true;
  const Value shown = Detail("safety_physician");
  ASSERT_NE(shown.Find("treatment"), nullptr);
  ASSERT_EQ(shown.Find("treatment")->as_array().size(), 1u);
  EXPECT_EQ(shown.Find("treatment")->as_array()[0].Find("item")->as_string(), "EXDOSE");
  EXPECT_EQ(shown.Find("treatment")->as_array()[0].Find("value")->as_int(), 54);
  for (const char* role : {"medical_monitor", "data_manager", "coordinator", "sponsor_viewer"}) {
    const Value other = Detail(role);
    EXPECT_EQ(other.Find("treatment"), nullptr) << role;
    EXPECT_EQ(ToJson(other).find("EXDOSE"), std::string::npos) << role;
  }
}

TEST_F(SafetyCaseDetailTest, TheActionsFollowTheStageAndTheRole) {
  auto actions = [&](const std::string& role) {
    std::vector<std::string> out;
    const Value detail = Detail(role);
    for (const Value& a : detail.Find("actions")->as_array()) out.push_back(a.as_string());
    return out;
  };
  EXPECT_EQ(actions("safety_physician"), (std::vector<std::string>{"triage", "nullify", "unblind"}));
  EXPECT_TRUE(actions("coordinator").empty());
  case_.unblinded = true;
  EXPECT_EQ(actions("safety_physician"), (std::vector<std::string>{"triage", "nullify"}));
}

TEST(SafetyCaseIdTest, ACaseIdNamesItsSubjectAndNumber) {
  std::string subject;
  int number = 0;
  EXPECT_TRUE(ParseSafetyCaseId("701-1001-SAE12", &subject, &number));
  EXPECT_EQ(subject, "701-1001");
  EXPECT_EQ(number, 12);
  EXPECT_FALSE(ParseSafetyCaseId("701-1001-SAE", &subject, &number));
  EXPECT_FALSE(ParseSafetyCaseId("701-1001-SAE1x", &subject, &number));
  EXPECT_FALSE(ParseSafetyCaseId("-SAE1", &subject, &number));
  EXPECT_FALSE(ParseSafetyCaseId("701-1001-SAE0", &subject, &number));
}

}  // namespace
}  // namespace trialcore::api
