// Signal detection over a study's own cases: a single-product study's cases
// are counted, not mined, and say why; reports naming other products make a
// comparison, with each pair's disproportionality.
#include "capture/safety_signals.h"

#include <fstream>
#include <sstream>

#include "capture/capture_test_fixture.h"
#include "capture/case_e2b.h"
#include "capture/safety_workflow.h"
#include "safety/meddra_demo.h"
#include "safety/meddra_store.h"

namespace trialcore::capture {
namespace {

const Actor kSafety{"safety.1", "safety_physician"};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Spontaneous(const std::string& term, const std::string& product) {
  return R"({"op":"safety.receive","source":"spontaneous","received":"2024-02-28",)"
         R"("reporter":{"qualification":"physician"},"patient":{"sex":"F"},"product":")" +
         product + R"(","event":{"term":")" + term + R"(","criteria":["hospitalisation"]}})";
}

class SafetySignalsTest : public CaptureTest {
 protected:
  void SetUp() override {
    CaptureTest::SetUp();
    const safety::MeddraTables demo = safety::DemoMeddraTables();
    ASSERT_TRUE(safety::StoreMeddraVersion(*store_, demo, safety::MeddraTablesFiles(demo), kAdmin).ok());
  }
  void DoOk(const std::string& json) {
    auto r = Run(json, kSafety);
    ASSERT_TRUE(r.ok()) << json << ": " << r.status().ToString();
  }
};

TEST_F(SafetySignalsTest, ASingleProductStudysCasesAreCountedNotMined) {
  Screen("701-1020");
  Ok(R"({"op":"form.save","subject":"701-1020","visit":"LOGS","form":"AE","rows":[{"group":"AE","items":)"
     R"({"AETERM":"Syncope","AESTDTC":"2024-02-29","AEONGO":true,"AESEV":"SEVERE","AESER":"Y","AESHOSP":true,)"
     R"("AEREL":"POSSIBLE","AEACN":"DRUG INTERRUPTED","AEOUT":"RECOVERING/RESOLVING"}}]})");
  auto uncoded = DetectStudySignals(*capture_);
  ASSERT_TRUE(uncoded.ok()) << uncoded.status().ToString();
  EXPECT_EQ(uncoded->cases, 0u);
  EXPECT_EQ(uncoded->not_coded, 1u) << "a case is counted once coded";
  DoOk(R"({"op":"safety.triage","subject":"701-1020","case":"701-1020-SAE1","decision":"valid"})");
  DoOk(R"({"op":"safety.code","subject":"701-1020","case":"701-1020-SAE1"})");
  auto signals = DetectStudySignals(*capture_);
  ASSERT_TRUE(signals.ok()) << signals.status().ToString();
  EXPECT_EQ(signals->cases, 1u);
  EXPECT_FALSE(signals->mined);
  EXPECT_NE(signals->why_not.find("one product"), std::string::npos) << signals->why_not;
  ASSERT_EQ(signals->rows.size(), 1u);
  EXPECT_EQ(signals->rows[0].product, capture_->study()->safety.suspect_product);
  EXPECT_EQ(signals->rows[0].event, "Syncope");
  EXPECT_EQ(signals->rows[0].n, 1u);
}

TEST_F(SafetySignalsTest, ReportsOfOtherProductsAreComparedPairByPair) {
  // Syncope with product A three times, headache with B three times, and
  // one syncope with B: syncope is disproportionately A's.
  for (int i = 0; i < 3; ++i) DoOk(Spontaneous("Syncope", "Product A"));
  for (int i = 0; i < 3; ++i) DoOk(Spontaneous("Headache", "Product B"));
  DoOk(Spontaneous("Syncope", "Product B"));
  // An imported report not coded yet is left out and counted as such.
  ASSERT_TRUE(
      ImportE2bCases(*capture_,
                     Slurp(std::string(TRIALCORE_SOURCE_DIR) + "/../shared/data/e2b/examples/FAERS2022Scenario1.xml"),
                     "s1.xml", kSafety)
          .ok());
  auto signals = DetectStudySignals(*capture_);
  ASSERT_TRUE(signals.ok()) << signals.status().ToString();
  EXPECT_TRUE(signals->mined);
  EXPECT_EQ(signals->cases, 7u);
  EXPECT_EQ(signals->not_coded, 1u);
  EXPECT_EQ(signals->products, (std::vector<std::string>{"Product A", "Product B"}));
  ASSERT_EQ(signals->rows.size(), 3u);
  const StudySignalRow* a_syncope = nullptr;
  const StudySignalRow* b_syncope = nullptr;
  for (const auto& r : signals->rows) {
    if (r.product == "Product A" && r.event == "Syncope") a_syncope = &r;
    if (r.product == "Product B" && r.event == "Syncope") b_syncope = &r;
  }
  ASSERT_NE(a_syncope, nullptr);
  ASSERT_NE(b_syncope, nullptr);
  EXPECT_EQ(a_syncope->n, 3u);
  // PRR = (3/3) / (1/4) = 4 for A; (1/4) / (3/3) = 0.25 for B.
  EXPECT_NEAR(a_syncope->prr, 4.0, 1e-9);
  EXPECT_NEAR(b_syncope->prr, 0.25, 1e-9);
  const std::string csv = StudySignalsCsv(*signals);
  EXPECT_EQ(csv.substr(0, csv.find('\r')),
            "product,event,n,expected,prr,prr_lower95,ror,ror_lower95,ic025,ebgm,eb05,eb95");
  if (!signals->scored) {
    EXPECT_NE(signals->why_not.find("prior"), std::string::npos) << signals->why_not;
  }
}

}  // namespace
}  // namespace trialcore::capture
