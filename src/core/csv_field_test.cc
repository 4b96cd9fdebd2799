#include "core/csv_field.h"

#include <gtest/gtest.h>

namespace trialcore {
namespace {

TEST(CsvField, QuotesOnlyWhatRfc4180Needs) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
}

// OWASP CSV injection: a cell a spreadsheet would run as a formula is
// neutralised, and no raw control byte reaches the file.
TEST(CsvSafeField, NeutralisesFormulasAndEscapesControlCharacters) {
  EXPECT_EQ(CsvSafeField("=HYPERLINK(\"http://evil.example\",\"click\")"),
            "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\"");
  EXPECT_EQ(CsvSafeField("+1+cmd|' /C calc'!A0"), "'+1+cmd|' /C calc'!A0");
  EXPECT_EQ(CsvSafeField("-2+3"), "'-2+3");
  EXPECT_EQ(CsvSafeField("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(CsvSafeField("\t=1"), "\\t=1") << "a leading tab is escaped, so nothing leads with it";
  EXPECT_EQ(CsvSafeField("\r=1"), "\\r=1");
  EXPECT_EQ(CsvSafeField("line one\nline two"), "line one\\nline two");
  EXPECT_EQ(CsvSafeField(std::string("bell\x07 esc\x1b del\x7f nul") + std::string(1, '\0')),
            "bell\\x07 esc\\x1b del\\x7f nul\\x00");
  EXPECT_EQ(CsvSafeField("C:\\temp"), "C:\\\\temp");
  // Numbers, also negative ones, and ordinary text stay as they are.
  EXPECT_EQ(CsvSafeField("-5"), "-5");
  EXPECT_EQ(CsvSafeField("+3.25"), "+3.25");
  EXPECT_EQ(CsvSafeField("-1.5e3"), "-1.5e3");
  EXPECT_EQ(CsvSafeField("transcription error, corrected"), "\"transcription error, corrected\"");
  EXPECT_EQ(CsvSafeField("naïve – ü"), "naïve – ü");
  EXPECT_EQ(CsvSafeField(""), "");
}

}  // namespace
}  // namespace trialcore
