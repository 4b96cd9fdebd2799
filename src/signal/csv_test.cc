#include "signal/csv.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "signal/reports.h"

namespace trialcore::signal {
namespace {

std::string Write(const std::string& name, const std::string& text) {
  std::string path = (std::filesystem::path(testing::TempDir()) / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(CsvTest, QuotedFieldsHoldCommasQuotesAndLineBreaks) {
  auto csv = CsvReader::Open(Write("q.csv", "a,\"b,c\",\"say \"\"hi\"\"\"\r\n1,\"two\nlines\",3\n"));
  ASSERT_TRUE(csv.ok());
  std::vector<std::string> f;
  ASSERT_TRUE(*csv->Next(&f));
  EXPECT_EQ(f, (std::vector<std::string>{"a", "b,c", "say \"hi\""}));
  ASSERT_TRUE(*csv->Next(&f));
  EXPECT_EQ(f, (std::vector<std::string>{"1", "two\nlines", "3"}));
  EXPECT_EQ(csv->line(), 2u);
  EXPECT_FALSE(*csv->Next(&f));
}

TEST(CsvTest, MalformedInputNamesFileAndLine) {
  auto csv = CsvReader::Open(Write("bad.csv", "a,b\n1,\"open\n2,3\n"));
  std::vector<std::string> f;
  ASSERT_TRUE(*csv->Next(&f));
  auto r = csv->Next(&f);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bad.csv:2: a quoted field is not closed"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(CsvReader::Open("/nonexistent/x.csv").status().code(), StatusCode::kNotFound);
}

TEST(ReportCsvTest, RefusesMissingColumnsAndTruncatedRows) {
  auto r = LoadReportCsv(Write("nohdr.csv", "report,product,event\n1,A,B\n"), false);
  EXPECT_NE(r.status().message().find("nohdr.csv:1: the header must name the columns id, var1"), std::string::npos);
  r = LoadReportCsv(Write("short.csv", "id,var1,var2\n1,A,B\n2,A\n"), false);
  EXPECT_NE(r.status().message().find("short.csv:3: 2 fields, but the header has 3"), std::string::npos)
      << r.status().message();
  r = LoadReportCsv(Write("empty.csv", ""), false);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(CountsTest, CountsUniqueReportsAndStratifiedExpectations) {
  // openEBGM's processRaw example (man/processRaw.Rd), ids 1..10.
  std::string text =
      "id,var1,var2,strat1,strat2\n"
      "1,product_A,event_1,Male,age_cat1\n2,product_B,event_2,Male,age_cat1\n"
      "3,product_B,event_2,Male,age_cat1\n4,product_B,event_3,Male,age_cat1\n"
      "5,product_C,event_3,Male,age_cat1\n6,product_A,event_2,Female,age_cat1\n"
      "7,product_A,event_3,Female,age_cat1\n8,product_B,event_3,Female,age_cat1\n"
      "9,product_B,event_3,Male,age_cat2\n10,product_C,event_1,Male,age_cat2\n";
  std::string path = Write("example.csv", text);
  auto table = LoadReportCsv(path, false);
  ASSERT_TRUE(table.ok());
  Counts c = CountPairs(*table, 1);
  EXPECT_EQ(c.reports, 10u);
  // product_B/event_3: N = 3 (ids 4, 8, 9); E = 5 * 5 / 10 = 2.5.
  auto find = [&](const Counts& counts, const ReportTable& t, const char* p, const char* e) {
    for (const auto& pc : counts.pairs) {
      if (t.products.Name(pc.product) == p && t.events.Name(pc.event) == e) return pc;
    }
    ADD_FAILURE() << p << "/" << e;
    return PairCount{};
  };
  PairCount b3 = find(c, *table, "product_B", "event_3");
  EXPECT_EQ(b3.n, 3u);
  EXPECT_DOUBLE_EQ(b3.e, 2.5);
  // Stratified: strata (Male,cat1): B 3 reports of 5, event_3 2 of 5 -> 1.2;
  // (Female,cat1): B 1 of 3, event_3 2 of 3 -> 2/3; (Male,cat2): 1 * 1 / 2 = 0.5.
  auto stratified = LoadReportCsv(path, true);
  ASSERT_TRUE(stratified.ok());
  Counts cs = CountPairs(*stratified, 1);
  EXPECT_EQ(cs.strata, 3u);
  EXPECT_NEAR(find(cs, *stratified, "product_B", "event_3").e, 1.2 + 2.0 / 3 + 0.5, 1e-12);
}

}  // namespace
}  // namespace trialcore::signal
