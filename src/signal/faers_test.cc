#include "signal/faers.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace trialcore::signal {
namespace {

namespace fs = std::filesystem;
const std::string kData = std::string(TRIALCORE_SHARED_DATA) + "/faers/";

bool HasRow(const ReportTable& t, const std::string& report, const std::string& product, const std::string& event) {
  for (const auto& r : t.rows) {
    if (t.reports.Name(r.report) == report && t.products.Name(r.product) == product &&
        t.events.Name(r.event) == event) {
      return true;
    }
  }
  return false;
}

TEST(FaersTest, ReadsTheCurrentLayoutStraightFromTheQuarterlyZip) {
  FaersStats stats;
  auto t = LoadFaers({{kData + "faers_ascii_2017q2.zip"}, false, {}, false}, &stats);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(stats.report_versions, 100u);
  // DEMO17Q2 line 2: primaryid 109792364 (case 10979236), RISPERDAL (PS), "Abnormal weight gain".
  EXPECT_TRUE(HasRow(*t, "109792364", "RISPERDAL", "ABNORMAL WEIGHT GAIN"));
}

TEST(FaersTest, ReadsTheLegacyLayoutAndHonoursDrugRoles) {
  auto all = LoadFaers({{kData + "aers_ascii_2004q1.zip"}, false, {}, false}, nullptr);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  // ISR 4263742: TAVOR is the primary suspect, ALCOHOL a secondary suspect.
  EXPECT_TRUE(HasRow(*all, "4263742", "TAVOR", "DIARRHOEA"));
  EXPECT_TRUE(HasRow(*all, "4263742", "ALCOHOL", "DIARRHOEA"));
  auto ps = LoadFaers({{kData + "aers_ascii_2004q1.zip"}, true, {}, false}, nullptr);
  ASSERT_TRUE(ps.ok());
  EXPECT_TRUE(HasRow(*ps, "4263742", "TAVOR", "DIARRHOEA"));
  EXPECT_FALSE(HasRow(*ps, "4263742", "ALCOHOL", "DIARRHOEA"));
}

class FaersFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // One folder per test: ctest runs the cases of this suite in parallel.
    dir_ = (fs::path(testing::TempDir()) /
            (std::string("faers_folder_") + testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void File(const std::string& name, const std::string& text) { std::ofstream(dir_ + "/" + name) << text; }
  std::string dir_;
};

TEST_F(FaersFolderTest, KeepsTheLatestVersionDropsDeletedCasesAndContentDuplicates) {
  File("DEMO24Q1.txt",
       "primaryid$caseid$caseversion$event_dt$age$age_cod$sex$occr_country$fda_dt\n"
       "11$1$1$20240101$70$YR$F$US$20240110\n"
       "12$1$2$20240101$70$YR$F$US$20240201\n"  // newer version of case 1
       "21$2$1$20240105$30$YR$M$FR$20240111\n"
       "31$3$1$20240105$30$YR$M$FR$20240111\n"    // deleted below
       "41$4$1$20240105$30$YR$M$FR$20240112\n");  // same content as case 2
  File("DRUG24Q1.txt",
       "primaryid$caseid$drug_seq$role_cod$drugname\n"
       "11$1$1$PS$OLDNAME\n12$1$1$PS$Drug A\n21$2$1$PS$drug b\n31$3$1$PS$DRUG C\n41$4$1$PS$DRUG B\n"
       "21$2$2$C$CONCOMITANT\n");
  File("REAC24Q1.txt", "primaryid$caseid$pt\n11$1$Nausea\n12$1$Nausea\n21$2$Rash\n31$3$Rash\n41$4$Rash\n");
  File("DELE24Q1.txt", "3\n");
  FaersStats stats;
  auto t = LoadFaers({{dir_}, false, {"age", "sex"}, true}, &stats);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(stats.report_versions, 5u);
  EXPECT_EQ(stats.deleted, 1u);
  EXPECT_EQ(stats.content_duplicates, 1u);
  EXPECT_EQ(stats.reports_kept, 2u);
  EXPECT_TRUE(HasRow(*t, "12", "DRUG A", "NAUSEA"));
  EXPECT_FALSE(HasRow(*t, "11", "OLDNAME", "NAUSEA")) << "superseded version";
  EXPECT_TRUE(HasRow(*t, "21", "DRUG B", "RASH"));
  EXPECT_FALSE(HasRow(*t, "21", "CONCOMITANT", "RASH")) << "concomitant drugs are not suspects";
  EXPECT_EQ(t->strata.size(), 2u) << "65-74/F and 18-44/M";
}

TEST_F(FaersFolderTest, TruncatedFilesAreNamedWithTheirLine) {
  File("DEMO24Q1.txt", "primaryid$caseid$caseversion\n11$1$1\n12$2\n");
  File("DRUG24Q1.txt", "primaryid$caseid$drug_seq$role_cod$drugname\n");
  File("REAC24Q1.txt", "primaryid$caseid$pt\n");
  auto t = LoadFaers({{dir_}, false, {}, false}, nullptr);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("DEMO24Q1.txt:3: 2 fields, expected at least 3"), std::string::npos)
      << t.status().message();
  EXPECT_EQ(LoadFaers({{dir_ + "/nowhere"}, false, {}, false}, nullptr).status().code(), StatusCode::kNotFound);
  EXPECT_NE(LoadFaers({{dir_}, false, {"weight"}, false}, nullptr).status().message().find("unknown stratum"),
            std::string::npos);
}

TEST_F(FaersFolderTest, ACorruptZipIsRefused) {
  File("q.zip", "PK\x03\x04 this is not really a zip");
  auto t = LoadFaers({{dir_ + "/q.zip"}, false, {}, false}, nullptr);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("is not a readable zip file"), std::string::npos) << t.status().message();
}

}  // namespace
}  // namespace trialcore::signal
