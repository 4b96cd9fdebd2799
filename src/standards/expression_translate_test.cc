// REDCap's branching logic and calculations, and OpenEDC's expressions, in
// the rule language; and what does not translate, with its column.
#include "standards/expression_translate.h"

#include <gtest/gtest.h>

#include <map>

namespace trialcore::standards {
namespace {

// A study's fields as the importers resolve them.
Result<RuleRef> Fields(const ExprNode& ref) {
  static const std::map<std::string, RuleRef> kFields = {
      {"age", {"age", ValueKind::kNumber}},
      {"sex", {"sex", ValueKind::kCode}},
      {"chk(2)", {"chk___2", ValueKind::kBoolean}},
      {"given_birth", {"given_birth", ValueKind::kBoolean}},
      {"weight", {"weight", ValueKind::kNumber}},
      {"height", {"height", ValueKind::kNumber}},
      {"dob", {"dob", ValueKind::kDate}},
      {"visit_date", {"visit_date", ValueKind::kDate}},
      {"Gender", {"Gender", ValueKind::kCode}},
      {"Weight", {"Weight", ValueKind::kNumber}},
      {"Height", {"Height", ValueKind::kNumber}},
      {"WHO.Q/WHO.1", {"WHO_1", ValueKind::kNumber}},
      {"WHO.Q/WHO.2", {"WHO_2", ValueKind::kNumber}},
      {"bmi", {"VS.bmi", ValueKind::kNumber}},
  };
  std::string key = ref.ref_parts.back();
  if (ref.ref_parts.size() == 2 && ref.ref_parts[0] == "WHO.Q") key = "WHO.Q/" + key;
  auto it = kFields.find(key);
  if (it == kFields.end()) return NotFound("[" + key + "] is not a field");
  return it->second;
}

std::string Redcap(std::string_view text) {
  TranslateError error;
  std::string out = TranslateExpression(text, ExpressionDialect::kRedcap, Fields, &error);
  EXPECT_FALSE(out.empty()) << text << ": " << error.offset << ": " << error.message;
  return out;
}

TranslateError RedcapError(std::string_view text) {
  TranslateError error;
  EXPECT_EQ(TranslateExpression(text, ExpressionDialect::kRedcap, Fields, &error), "") << text;
  return error;
}

TEST(RedcapLogic, ComparisonsFitTheirLiteralsToTheField) {
  EXPECT_EQ(Redcap("[age] > 18 and [sex] = '1'"), "(age > 18) and (sex = \"1\")");
  EXPECT_EQ(Redcap("[sex] = 1"), "sex = \"1\"");          // a code is text
  EXPECT_EQ(Redcap("[age] >= '18'"), "age >= 18");        // a number is a number
  EXPECT_EQ(Redcap("[chk(2)] = '1'"), "chk___2 = true");  // a checkbox option is yes/no
  EXPECT_EQ(Redcap("[given_birth] = \"0\""), "given_birth = false");
  EXPECT_EQ(Redcap("[sex] <> '0' OR ([age] < 2)"), "(sex != \"0\") or (age < 2)");
  EXPECT_EQ(Redcap("[age] != 3"), "age != 3");
  EXPECT_EQ(Redcap("[dob] > '2000-01-31'"), "dob > date(\"2000-01-31\")");
}

TEST(RedcapLogic, BlankIsMissing) {
  EXPECT_EQ(Redcap("[age] = \"\""), "age is missing");
  EXPECT_EQ(Redcap("[sex] <> ''"), "sex is not missing");
}

TEST(RedcapLogic, EventQualifiedFieldsReadTheField) { EXPECT_EQ(Redcap("[event_1_arm_1][age] > 18"), "age > 18"); }

TEST(RedcapCalc, ArithmeticAndFunctions) {
  EXPECT_EQ(Redcap("round([weight]/([height]/100)^2, 1)"), "round(weight / (((height / 100) * (height / 100))), 1)");
  EXPECT_EQ(Redcap("sum([weight], [height])"), "(coalesce(weight, 0) + coalesce(height, 0))");
  EXPECT_EQ(Redcap("if([sex] = '1', [weight], 0)"), "if(sex = \"1\", weight, 0)");
  EXPECT_EQ(Redcap("rounddown(datediff([dob], 'today', 'y'))"), "floor((days(today() - dob) / 365.2425))");
  EXPECT_EQ(Redcap("datediff([dob], [visit_date], \"d\")"), "(days(visit_date - dob))");
  EXPECT_EQ(Redcap("([weight] - [height]) * 2"), "(weight - height) * 2");
  EXPECT_EQ(Redcap("[bmi] > 30"), "VS.bmi > 30");
}

TEST(RedcapLogic, WhatDoesNotTranslateSaysWhereAndWhy) {
  TranslateError e = RedcapError("[age] > ");
  EXPECT_EQ(e.offset, 8u);
  EXPECT_EQ(e.message, "the expression ends where a value was expected");

  e = RedcapError("[age] > 1 and sqrt([weight]) > 2");
  EXPECT_EQ(e.offset, 14u);  // column 15
  EXPECT_NE(e.message.find("unknown function sqrt()"), std::string::npos) << e.message;

  e = RedcapError("[weight] ^ [height]");
  EXPECT_EQ(e.offset, 9u);
  EXPECT_NE(e.message.find("only powers 1 to 4"), std::string::npos) << e.message;

  e = RedcapError("[nosuch] = '1'");
  EXPECT_EQ(e.offset, 0u);
  EXPECT_EQ(e.message, "[nosuch] is not a field");

  e = RedcapError("[sex] = 'M");
  EXPECT_EQ(e.offset, 8u);
  EXPECT_EQ(e.message, "the text that starts here has no closing quote");

  e = RedcapError("age > 18");
  EXPECT_EQ(e.offset, 0u);
  EXPECT_NE(e.message.find("names fields in brackets"), std::string::npos);

  e = RedcapError("[age] > 'old'");
  EXPECT_EQ(e.offset, 8u);
  EXPECT_NE(e.message.find("not a number"), std::string::npos);

  e = RedcapError("([age] > 1");
  EXPECT_EQ(e.offset, 10u);
  EXPECT_EQ(e.message, "')' expected");
}

TEST(OpenEdcExpressions, NegationEqualityPowersAndGroupItems) {
  TranslateError error;
  EXPECT_EQ(TranslateExpression("!(Gender == \"Female\")", ExpressionDialect::kOpenEdc, Fields, &error),
            "not (Gender = \"Female\")");
  EXPECT_EQ(TranslateExpression("Weight / Height ^ 2", ExpressionDialect::kOpenEdc, Fields, &error),
            "Weight / ((Height * Height))");
  EXPECT_EQ(TranslateExpression("(WHO.Q-WHO.1 + WHO.Q-WHO.2) * 4", ExpressionDialect::kOpenEdc, Fields, &error),
            "(WHO_1 + WHO_2) * 4");
  EXPECT_EQ(TranslateExpression("Weight > 1 && Height < 2 || Weight == 3", ExpressionDialect::kOpenEdc, Fields, &error),
            "((Weight > 1) and (Height < 2)) or (Weight = 3)");
  EXPECT_EQ(TranslateExpression("Weight = 3", ExpressionDialect::kOpenEdc, Fields, &error), "");
  EXPECT_EQ(error.offset, 7u);
}

TEST(LineAndColumn, CountsLinesInsideAnExpression) {
  EXPECT_EQ(LineAndColumn("[a] = 1\nand sqrt(2)", 12), (std::pair<int, int>{2, 5}));
  EXPECT_EQ(LineAndColumn("abc", 0), (std::pair<int, int>{1, 1}));
}

}  // namespace
}  // namespace trialcore::standards
