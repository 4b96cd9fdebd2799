#include "safety/meddra_coder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "safety/meddra_test_util.h"

namespace trialcore::safety {
namespace {

using testing::MeddraFiles;

class MeddraCoderTest : public testing::MeddraDirTest {
 protected:
  void SetUp() override {
    MeddraDirTest::SetUp();
    auto d = Load(MeddraFiles::Small());
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    coder_ = std::make_unique<MeddraCoder>(std::make_shared<const MeddraDictionary>(std::move(d).value()));
  }
  std::unique_ptr<MeddraCoder> coder_;
};

TEST(MeddraNormaliseTest, FoldsCaseSpacingPunctuationAndLatin1Accents) {
  EXPECT_EQ(NormaliseMeddraTerm("  HEADACHE\t"), "headache");
  EXPECT_EQ(NormaliseMeddraTerm("Rash,   macular."), "rash macular");
  EXPECT_EQ(NormaliseMeddraTerm("non-Hodgkin's lymphoma"), "non hodgkins lymphoma");
  EXPECT_EQ(NormaliseMeddraTerm("Crohn\xE2\x80\x99s colitis"), "crohns colitis");  // typographic apostrophe
  EXPECT_EQ(NormaliseMeddraTerm("\xC3\x89RUPTION CUTAN\xC3\x89"
                                "E"),
            "eruption cutanee");
  EXPECT_EQ(NormaliseMeddraTerm("Stra\xC3\x9F"
                                "e \xC3\x86sthetic"),
            "strasse aesthetic");
  EXPECT_EQ(NormaliseMeddraTerm("\xCE\xB2-blocker"), "\xCE\xB2 blocker");  // Greek kept as it is
  EXPECT_EQ(NormaliseMeddraTerm("?!"), "");
}

TEST_F(MeddraCoderTest, ExactNameCodesToTheLltWithItsPrimaryPath) {
  auto r = coder_->Code("Gastroenteritis");
  EXPECT_EQ(r.rule, CodingRule::kExact);
  ASSERT_TRUE(r.coded());
  EXPECT_EQ(r.coding.llt.code, 40000004u);
  EXPECT_EQ(r.coding.pt.code, 40000004u);
  EXPECT_EQ(r.coding.pt.name, "Gastroenteritis");
  // The primary path of a multi-axial PT, not the first row of mdhier.asc.
  EXPECT_EQ(r.coding.hlt.code, 30000004u);
  EXPECT_EQ(r.coding.hlgt.code, 20000004u);
  EXPECT_EQ(r.coding.soc.code, 10000004u);
  EXPECT_EQ(r.coding.soc.name, "Infections and infestations");
  EXPECT_TRUE(r.candidates.empty());
  // The other path is in the dictionary.
  EXPECT_EQ(coder_->dictionary().FindPt(r.coding.pt.code)->paths.size(), 2u);
}

TEST_F(MeddraCoderTest, ExactPrefersTheCurrentLltOfTheSameName) {
  // "Stomach flu" is 50000005 (current, Gastroenteritis) and 50000011
  // (non-current, Nausea).
  auto r = coder_->Code("Stomach flu");
  EXPECT_EQ(r.rule, CodingRule::kExact);
  EXPECT_EQ(r.coding.llt.code, 50000005u);
  EXPECT_EQ(r.coding.pt.code, 40000004u);
  EXPECT_TRUE(r.coding.llt_current);
}

TEST_F(MeddraCoderTest, NormalisedMatchAfterCaseSpacingPunctuationAndAccents) {
  for (const char* verbatim : {"HEADACHE", "  headache ", "Headache.", "head-ache"}) {
    auto r = coder_->Code(verbatim);
    if (std::string(verbatim) == "head-ache") {
      EXPECT_FALSE(r.coded()) << "a hyphen inside a word splits it; that is for the candidates";
      continue;
    }
    EXPECT_EQ(r.rule, CodingRule::kNormalised) << verbatim;
    EXPECT_EQ(r.coding.llt.code, 40000001u) << verbatim;
  }
  auto crohn = coder_->Code("CROHNS  COLITIS");
  EXPECT_EQ(crohn.rule, CodingRule::kNormalised);
  EXPECT_EQ(crohn.coding.llt.code, 50000006u);
  auto accents = coder_->Code("eruption cutanee");
  EXPECT_EQ(accents.rule, CodingRule::kNormalised);
  EXPECT_EQ(accents.coding.llt.code, 50000002u);
  EXPECT_EQ(accents.coding.soc.code, 10000003u);
}

TEST_F(MeddraCoderTest, NonCurrentLltIsNeverCodedButOffersItselfAsACandidate) {
  for (const char* verbatim : {"Cephalgia", "CEPHALGIA"}) {
    auto r = coder_->Code(verbatim);
    EXPECT_EQ(r.rule, CodingRule::kCandidates) << verbatim;
    EXPECT_FALSE(r.coded());
    ASSERT_FALSE(r.candidates.empty()) << verbatim;
    EXPECT_EQ(r.candidates[0].coding.llt.code, 50000001u);
    EXPECT_FALSE(r.candidates[0].coding.llt_current);
    EXPECT_EQ(r.candidates[0].score, 1.0);
    EXPECT_EQ(r.candidates[0].coding.pt.name, "Headache");
  }
}

TEST_F(MeddraCoderTest, SameNormalisedNameUnderTwoPtsIsAmbiguousAndListsBoth) {
  // "Sick feeling" (Nausea) is exact; "sick feeling" also normalises to
  // "Sick-feeling" (Gastroenteritis).
  EXPECT_EQ(coder_->Code("Sick feeling").rule, CodingRule::kExact);
  auto r = coder_->Code("SICK FEELING");
  EXPECT_EQ(r.rule, CodingRule::kAmbiguous);
  EXPECT_FALSE(r.coded());
  ASSERT_GE(r.candidates.size(), 2u);
  EXPECT_EQ(r.candidates[0].score, 1.0);
  EXPECT_EQ(r.candidates[1].score, 1.0);
  std::set<uint32_t> first_two{r.candidates[0].coding.llt.code, r.candidates[1].coding.llt.code};
  EXPECT_EQ(first_two, (std::set<uint32_t>{50000007, 50000008}));
  // "Feeling sick" has the same trigrams (word order aside) and so the same
  // score, but the names equal to the verbatim's normalised form come first.
  ASSERT_GE(r.candidates.size(), 3u);
  EXPECT_EQ(r.candidates[2].coding.llt.code, 50000003u);
  EXPECT_EQ(r.candidates[2].score, 1.0);
}

TEST_F(MeddraCoderTest, TyposGetRankedCandidatesAndNoCode) {
  auto r = coder_->Code("hedache");
  EXPECT_EQ(r.rule, CodingRule::kCandidates);
  EXPECT_FALSE(r.coded());
  ASSERT_FALSE(r.candidates.empty());
  EXPECT_EQ(r.candidates[0].coding.llt.code, 40000001u);
  EXPECT_LT(r.candidates[0].score, 1.0);
  EXPECT_GE(r.candidates[0].score, 0.3);
  for (size_t i = 1; i < r.candidates.size(); ++i) {
    EXPECT_GE(r.candidates[i - 1].score, r.candidates[i].score);
  }

  // Word order does not matter to the trigrams: both rash-macular LLTs lead;
  // plain "Rash" shares too little (2 of 16 trigrams) to be listed.
  auto rash = coder_->Code("macular rahs");
  EXPECT_EQ(rash.rule, CodingRule::kCandidates);
  ASSERT_EQ(rash.candidates.size(), 2u);
  std::set<uint32_t> first_two{rash.candidates[0].coding.llt.code, rash.candidates[1].coding.llt.code};
  EXPECT_EQ(first_two, (std::set<uint32_t>{40000005, 50000004}));
  EXPECT_EQ(rash.candidates[0].coding.pt.code, 40000005u);

  // A word split in two still finds its LLT.
  auto split = coder_->Code("head ache");
  EXPECT_EQ(split.rule, CodingRule::kCandidates);
  ASSERT_FALSE(split.candidates.empty());
  EXPECT_EQ(split.candidates[0].coding.llt.code, 40000001u);

  EXPECT_TRUE(coder_->Code("zzqx").candidates.empty());
  EXPECT_TRUE(coder_->Code("").candidates.empty());
  EXPECT_EQ(coder_->Code("").rule, CodingRule::kCandidates);
}

TEST_F(MeddraCoderTest, CandidatesAreCappedAndEqualScoresPutCurrentFirst) {
  MeddraCoderOptions options;
  options.max_candidates = 2;
  options.min_similarity = 0.01;
  MeddraCoder few(std::make_shared<const MeddraDictionary>(coder_->dictionary()), options);
  auto r = few.Code("stomach flue");
  ASSERT_EQ(r.candidates.size(), 2u);
  // Both "Stomach flu" LLTs share one normalised name: current first.
  EXPECT_EQ(r.candidates[0].coding.llt.code, 50000005u);
  EXPECT_EQ(r.candidates[1].coding.llt.code, 50000011u);
  EXPECT_FALSE(r.candidates[1].coding.llt_current);
}

TEST_F(MeddraCoderTest, IsTheSameFromManyThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        auto r = coder_->Code(i % 2 ? "hedache" : "macular rahs");
        if (r.candidates.empty() || r.candidates[0].coding.pt.code != (i % 2 ? 40000001u : 40000005u)) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong, 0);
}

}  // namespace
}  // namespace trialcore::safety
