#include "safety/meddra_demo.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/hash.h"
#include "safety/meddra_coder.h"
#include "safety/meddra_test_util.h"

namespace trialcore::safety {
namespace {

class MeddraDemoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto built = MeddraDictionary::Build(DemoMeddraTables());
    ASSERT_TRUE(built.ok()) << built.status().message();
    coder_ = new MeddraCoder(std::make_shared<const MeddraDictionary>(std::move(*built)));
  }
  static void TearDownTestSuite() {
    delete coder_;
    coder_ = nullptr;
  }
  static MeddraCoder* coder_;
};
MeddraCoder* MeddraDemoTest::coder_ = nullptr;

TEST_F(MeddraDemoTest, BuildsWithInventedCodesOnly) {
  ASSERT_NE(coder_, nullptr);
  const MeddraDictionary& d = coder_->dictionary();
  EXPECT_EQ(d.version(), "90.0");
  EXPECT_EQ(d.language(), "en");
  const MeddraTables t = DemoMeddraTables();
  EXPECT_GE(t.socs.size(), 12u);
  EXPECT_GE(d.llts().size(), 150u);
  EXPECT_LE(d.llts().size(), 600u);  // small: the demo loads it in a moment
  size_t non_current = 0;
  for (const auto& l : d.llts()) {
    EXPECT_GE(l.code, 90000000u) << l.name;
    EXPECT_LE(l.code, 90999999u) << l.name;
    non_current += l.current ? 0 : 1;
  }
  EXPECT_GE(non_current, 5u);
  for (const auto& rows : {t.socs, t.hlgts, t.hlts}) {
    for (const auto& r : rows) {
      EXPECT_GE(r.code, 90000000u) << r.name;
      EXPECT_LE(r.code, 90999999u) << r.name;
    }
  }
  size_t multi_axial = 0;
  for (const auto& p : d.pts()) {
    EXPECT_GE(p.code, 90000000u);
    EXPECT_LE(p.code, 90999999u);
    ASSERT_TRUE(p.primary().primary) << p.name;
    // Every PT is an LLT of its own, as in MedDRA.
    const MeddraLlt* own = d.FindLlt(p.code);
    ASSERT_NE(own, nullptr) << p.name;
    EXPECT_EQ(own->name, p.name);
    std::set<uint32_t> socs;
    for (const auto& path : p.paths) socs.insert(path.soc);
    if (socs.size() > 1) ++multi_axial;
  }
  EXPECT_GE(multi_axial, 5u);
}

TEST_F(MeddraDemoTest, NoCurrentNameCodesToTwoPts) {
  std::map<std::string, uint32_t> pt_of;
  for (const auto& l : coder_->dictionary().llts()) {
    if (!l.current) continue;
    auto [it, added] = pt_of.emplace(NormaliseMeddraTerm(l.name), l.pt);
    EXPECT_TRUE(added || it->second == l.pt) << l.name << " is under two PTs";
  }
}

TEST_F(MeddraDemoTest, CodesTheTermsOfTheDemoStudy) {
  auto syncope = coder_->Code("Syncope");
  ASSERT_EQ(syncope.rule, CodingRule::kExact);
  EXPECT_EQ(syncope.coding.pt.name, "Syncope");
  EXPECT_EQ(syncope.coding.llt.code, syncope.coding.pt.code);
  EXPECT_EQ(syncope.coding.soc.name, "Nervous system disorders");
  EXPECT_EQ(coder_->dictionary().FindPt(syncope.coding.pt.code)->paths.size(), 2u);

  for (const char* verbatim : {"syncope", "SYNCOPE", " Syncope. "}) {
    auto r = coder_->Code(verbatim);
    EXPECT_EQ(r.rule, CodingRule::kNormalised) << verbatim;
    EXPECT_EQ(r.coding.pt.code, syncope.coding.pt.code) << verbatim;
  }

  auto fainting = coder_->Code("Fainting");
  ASSERT_EQ(fainting.rule, CodingRule::kExact);
  EXPECT_EQ(fainting.coding.llt.name, "Fainting");
  EXPECT_NE(fainting.coding.llt.code, fainting.coding.pt.code);
  EXPECT_EQ(fainting.coding.pt.code, syncope.coding.pt.code);

  auto diarrhea = coder_->Code("Diarrhea");
  ASSERT_EQ(diarrhea.rule, CodingRule::kExact);
  EXPECT_EQ(diarrhea.coding.llt.name, "Diarrhea");
  EXPECT_EQ(diarrhea.coding.pt.name, "Diarrhoea");
  auto diarrhoea = coder_->Code("diarrhoea");
  ASSERT_EQ(diarrhoea.rule, CodingRule::kNormalised);
  EXPECT_EQ(diarrhoea.coding.llt.name, "Diarrhoea");
  EXPECT_EQ(diarrhoea.coding.pt.code, diarrhea.coding.pt.code);
  EXPECT_EQ(diarrhoea.coding.soc.name, "Gastrointestinal disorders");

  auto typo = coder_->Code("hedache");
  EXPECT_EQ(typo.rule, CodingRule::kCandidates);
  ASSERT_FALSE(typo.candidates.empty());
  EXPECT_EQ(typo.candidates[0].coding.llt.name, "Headache");
  EXPECT_EQ(typo.candidates[0].coding.pt.name, "Headache");

  // A non-current LLT is never coded to.
  auto nos = coder_->Code("Syncope NOS");
  EXPECT_FALSE(nos.coded());

  // A PT with a secondary path codes to its primary one.
  auto angioedema = coder_->Code("Angioneurotic oedema");
  ASSERT_TRUE(angioedema.coded());
  EXPECT_EQ(angioedema.coding.pt.name, "Angioedema");
  EXPECT_EQ(angioedema.coding.soc.name, "Skin and subcutaneous tissue disorders");

  // What the demo study records, as sites write it.
  const char* const kTerms[] = {"Headache",
                                "Nausea",
                                "Dizziness",
                                "Hypotension",
                                "Rash",
                                "Pneumonia",
                                "Myocardial infarction",
                                "Atrial fibrillation",
                                "Fatigue",
                                "Vomiting",
                                "Cough",
                                "Nasopharyngitis",
                                "Back pain",
                                "Arthralgia",
                                "Hypoglycaemia",
                                "Hypoglycemia",
                                "Hyperkalaemia",
                                "Acute kidney injury",
                                "Angioedema",
                                "Chest pain",
                                "Dyspnoea",
                                "Shortness of breath",
                                "Oedema peripheral",
                                "Insomnia",
                                "Anaemia",
                                "ALT increased",
                                "Heart attack",
                                "Common cold",
                                "High blood pressure",
                                "Low blood sugar"};
  for (const char* term : kTerms) {
    EXPECT_TRUE(coder_->Code(term).coded()) << term;
  }
}

TEST(MeddraTableTextTest, TheTextReadsBackToTheSameRowsAndItsDigestsAreOfThatText) {
  const MeddraTables demo = DemoMeddraTables();
  MeddraTables back;
  for (const char* file : {"soc.asc", "hlgt.asc", "hlt.asc", "pt.asc", "llt.asc", "hlt_pt.asc", "hlgt_hlt.asc",
                           "soc_hlgt.asc", "mdhier.asc", "meddra_release.asc"}) {
    const std::string text = MeddraTableText(demo, file);
    ASSERT_FALSE(text.empty()) << file;
    Status s = ParseMeddraTable(file, text, file, &back);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  EXPECT_EQ(back.version, "90.0");
  EXPECT_EQ(back.language, "en");
  ASSERT_EQ(back.llts.size(), demo.llts.size());
  for (size_t i = 0; i < demo.llts.size(); ++i) {
    EXPECT_EQ(back.llts[i].code, demo.llts[i].code);
    EXPECT_EQ(back.llts[i].name, demo.llts[i].name);
    EXPECT_EQ(back.llts[i].pt, demo.llts[i].pt);
    EXPECT_EQ(back.llts[i].current, demo.llts[i].current);
  }
  ASSERT_EQ(back.pts.size(), demo.pts.size());
  for (size_t i = 0; i < demo.pts.size(); ++i) EXPECT_EQ(back.pts[i].soc, demo.pts[i].soc);
  ASSERT_EQ(back.socs.size(), demo.socs.size());
  EXPECT_EQ(back.socs[1].abbrev, demo.socs[1].abbrev);
  ASSERT_EQ(back.mdhier.size(), demo.mdhier.size());
  for (size_t i = 0; i < demo.mdhier.size(); ++i) {
    EXPECT_EQ(back.mdhier[i].hlgt, demo.mdhier[i].hlgt);
    EXPECT_EQ(back.mdhier[i].primary, demo.mdhier[i].primary);
  }
  EXPECT_EQ(back.hlt_pt.size(), demo.hlt_pt.size());
  EXPECT_EQ(back.hlgt_hlt.size(), demo.hlgt_hlt.size());
  EXPECT_EQ(back.soc_hlgt.size(), demo.soc_hlgt.size());
  EXPECT_TRUE(MeddraDictionary::Build(back).ok());
  EXPECT_EQ(MeddraTableText(demo, "nothing.asc"), "");

  const auto files = MeddraTablesFiles(demo);
  ASSERT_EQ(files.size(), 10u);
  EXPECT_EQ(files[4].name, "llt.asc");
  const std::string llt = MeddraTableText(demo, "llt.asc");
  EXPECT_EQ(files[4].sha256, ToHex(Sha256(llt)));
  EXPECT_EQ(files[4].bytes, llt.size());
  EXPECT_EQ(llt.substr(0, llt.find('\n')), testing::Llt("90400001", "Anaemia", "90400001", true));
}

TEST(MeddraTableTextTest, FilesWrittenFromTheTextReadAsTheDistributionWould) {
  const MeddraTables demo = DemoMeddraTables();
  const std::string dir = (std::filesystem::path(::testing::TempDir()) / "meddra_demo_text").string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto files = MeddraTablesFiles(demo);
  for (const auto& f : files) {
    std::ofstream(dir + "/" + f.name, std::ios::binary) << MeddraTableText(demo, f.name);
  }
  auto read = ReadMeddraAscii(Env::Default(), dir);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->files, files);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace trialcore::safety
