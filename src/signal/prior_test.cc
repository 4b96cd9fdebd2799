#include "signal/prior.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace trialcore::signal {
namespace {

std::string Write(const std::string& name, const std::string& text) {
  std::string path = (std::filesystem::path(testing::TempDir()) / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(PriorTest, FiveNumbersInOrder) {
  auto p = ParsePrior("3.25379356,0.39988854, 2.02612692,1.90807970,0.06534557");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_DOUBLE_EQ(p->alpha1, 3.25379356);
  EXPECT_DOUBLE_EQ(p->beta1, 0.39988854);
  EXPECT_DOUBLE_EQ(p->alpha2, 2.02612692);
  EXPECT_DOUBLE_EQ(p->beta2, 1.90807970);
  EXPECT_DOUBLE_EQ(p->p, 0.06534557);
  EXPECT_TRUE(ParsePrior("1e-3,2E2,3,4,0.5").ok());
}

TEST(PriorTest, BadPriorsNameWhatIsWrong) {
  auto message = [](std::string_view text) { return ParsePrior(text).status().message(); };
  EXPECT_EQ(message("1,2,3,4"), "--prior: expected five numbers alpha1,beta1,alpha2,beta2,P; found 4");
  EXPECT_EQ(message("1,2,3,4,0.5,6"), "--prior: expected five numbers alpha1,beta1,alpha2,beta2,P; found 6");
  EXPECT_EQ(message("1,x,3,4,0.5"), "--prior: beta1 \"x\" is not a number");
  EXPECT_EQ(message("1,2,,4,0.5"), "--prior: alpha2 \"\" is not a number");
  EXPECT_EQ(message("1,2,3,4,0.5abc"), "--prior: P \"0.5abc\" is not a number");
  EXPECT_EQ(message("1,2,3,inf,0.5"), "--prior: beta2 \"inf\" is not a number");
  EXPECT_EQ(message("-1,2,3,4,0.5"), "--prior: alpha1 must be a positive number, not -1");
  EXPECT_EQ(message("1,0,3,4,0.5"), "--prior: beta1 must be a positive number, not 0");
  EXPECT_EQ(message("1,2,3,4,1"), "--prior: P must lie strictly between 0 and 1, not 1");
  EXPECT_EQ(message("1,2,3,4,0"), "--prior: P must lie strictly between 0 and 1, not 0");
  EXPECT_EQ(ParsePrior("1,2,3,4", "").status().message(), "expected five numbers alpha1,beta1,alpha2,beta2,P; found 4");
}

TEST(PriorTest, ReadsThePriorAPreviousRunWrote) {
  auto csv = ReadPriorFile(Write("run.csv",
                                 "# prior: alpha1=20.958 beta1=1.6578 alpha2=1.7383 beta2=1.5643 p=0.03494 "
                                 "neg_log_likelihood=4162.1808\nproduct,event,N\n"));
  ASSERT_TRUE(csv.ok()) << csv.status().ToString();
  EXPECT_DOUBLE_EQ(csv->alpha1, 20.958);
  EXPECT_DOUBLE_EQ(csv->p, 0.03494);
  auto json = ReadPriorFile(Write("run.json",
                                  "{\"prior\": {\"alpha1\": 3.256, \"beta1\": 0.4, \"alpha2\": 2.024, "
                                  "\"beta2\": 1.906, \"p\": 0.0653}, \"pairs\": []}\n"));
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_DOUBLE_EQ(json->alpha1, 3.256);
  EXPECT_DOUBLE_EQ(json->beta2, 1.906);
  auto plain = ReadPriorFile(Write("prior.txt", "# openEBGM's caers fit\n3.256,0.4,2.024,1.906,0.0653\n"));
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_DOUBLE_EQ(plain->alpha2, 2.024);
}

TEST(PriorTest, MalformedPriorFilesNameFileAndLine) {
  EXPECT_EQ(ReadPriorFile("/nonexistent/run.csv").status().code(), StatusCode::kNotFound);
  auto missing = ReadPriorFile(Write("nop.csv", "# prior: alpha1=1 beta1=2 alpha2=3 p=0.5\n"));
  EXPECT_NE(missing.status().message().find("nop.csv:1: the prior line has no beta2"), std::string::npos)
      << missing.status().message();
  auto bad = ReadPriorFile(Write("bad.csv", "\n# prior: alpha1=1 beta1=2 alpha2=3 beta2=x p=0.5\n"));
  EXPECT_NE(bad.status().message().find("bad.csv:2: beta2 \"x\" is not a number"), std::string::npos)
      << bad.status().message();
  auto p = ReadPriorFile(Write("p.txt", "1,2,3,4,1.5\n"));
  EXPECT_NE(p.status().message().find("p.txt:1: P must lie strictly between 0 and 1, not 1.5"), std::string::npos)
      << p.status().message();
  auto json = ReadPriorFile(Write("bad.json", "{\"prior\": {\"alpha1\": 1}"));
  EXPECT_EQ(json.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(json.status().message().find("bad.json: invalid JSON at line 1"), std::string::npos)
      << json.status().message();
  auto no_beta =
      ReadPriorFile(Write("nb.json", "{\"prior\": {\"alpha1\": 1, \"alpha2\": 1, \"beta2\": 1, \"p\": 0.5}}"));
  EXPECT_NE(no_beta.status().message().find("nb.json: the prior has no beta1"), std::string::npos);
  auto empty = ReadPriorFile(Write("empty.csv", ""));
  EXPECT_NE(empty.status().message().find("empty.csv: the file is empty"), std::string::npos);
}

}  // namespace
}  // namespace trialcore::signal
