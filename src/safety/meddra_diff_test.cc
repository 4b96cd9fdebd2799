#include "safety/meddra_diff.h"

#include <gtest/gtest.h>

#include "safety/meddra_test_util.h"

namespace trialcore::safety {
namespace {

using testing::Hier;
using testing::Llt;
using testing::MeddraFiles;
using testing::Row;

class MeddraDiffTest : public testing::MeddraDirTest {};

TEST_F(MeddraDiffTest, ListsWhatARecodingMustLookAt) {
  auto v1 = Load(MeddraFiles::Small("26.1"));
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();

  MeddraFiles f = MeddraFiles::Small("27.0");
  auto& llt = f.lines["llt.asc"];
  llt[3] = Llt("50000003", "Feeling sick", "40000002", false);           // became non-current
  llt[1] = Llt("50000001", "Cephalgia", "40000001", true);               // became current again
  llt[9] = Llt("50000005", "Stomach flu", "40000002", true);             // moved: Gastroenteritis -> Nausea
  llt.erase(llt.begin() + 11);                                           // 50000006 Crohn's colitis removed
  llt.push_back(Llt("50000099", "Tension headache", "40000001", true));  // added
  // Rash macular's primary SOC moves from Skin to Infections.
  f.lines["hlt_pt.asc"].push_back(Row({"30000004", "40000005"}));
  f.lines["mdhier.asc"][5] = Hier("40000005", "30000003", "20000003", "10000003", "10000004", false);
  f.lines["mdhier.asc"].push_back(Hier("40000005", "30000004", "20000004", "10000004", "10000004", true));
  f.lines["pt.asc"][4] = testing::Pt("40000005", "Rash macular", "10000004");
  auto v2 = Load(f);
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();

  MeddraChanges c = DiffMeddra(*v1, *v2);
  EXPECT_EQ(c.from_version, "26.1");
  EXPECT_EQ(c.to_version, "27.0");
  ASSERT_EQ(c.became_non_current.size(), 1u);
  EXPECT_EQ(c.became_non_current[0].code, 50000003u);
  EXPECT_EQ(c.became_non_current[0].name, "Feeling sick");
  ASSERT_EQ(c.became_current.size(), 1u);
  EXPECT_EQ(c.became_current[0].code, 50000001u);
  ASSERT_EQ(c.moved.size(), 1u);
  EXPECT_EQ(c.moved[0].code, 50000005u);
  EXPECT_EQ(c.moved[0].from_pt, 40000004u);
  EXPECT_EQ(c.moved[0].to_pt, 40000002u);
  ASSERT_EQ(c.removed.size(), 1u);
  EXPECT_EQ(c.removed[0].code, 50000006u);
  EXPECT_EQ(c.removed[0].name, "Crohn's colitis");
  ASSERT_EQ(c.added.size(), 1u);
  EXPECT_EQ(c.added[0].code, 50000099u);
  ASSERT_EQ(c.primary_soc_changed.size(), 1u);
  EXPECT_EQ(c.primary_soc_changed[0].code, 40000005u);
  EXPECT_EQ(c.primary_soc_changed[0].from_soc, 10000003u);
  EXPECT_EQ(c.primary_soc_changed[0].to_soc, 10000004u);
  EXPECT_FALSE(c.NeedsNoRecoding());

  // And back again: the reverse of each.
  MeddraChanges back = DiffMeddra(*v2, *v1);
  ASSERT_EQ(back.became_current.size(), 1u);
  EXPECT_EQ(back.became_current[0].code, 50000003u);
  ASSERT_EQ(back.removed.size(), 1u);
  EXPECT_EQ(back.removed[0].code, 50000099u);
  EXPECT_EQ(back.primary_soc_changed[0].to_soc, 10000003u);
}

TEST_F(MeddraDiffTest, TheSameDictionaryTwiceChangesNothing) {
  auto v1 = Load(MeddraFiles::Small());
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  MeddraChanges c = DiffMeddra(*v1, *v1);
  EXPECT_TRUE(c.NeedsNoRecoding());
  EXPECT_TRUE(c.became_current.empty());
  EXPECT_TRUE(c.added.empty());
}

// A recoding refuses to go back to an older release, so the order must be
// MedDRA's, not the text's: 27.10 came after 27.9.
TEST(OlderMeddraVersionTest, ComparesReleasesAsNumbers) {
  EXPECT_TRUE(OlderMeddraVersion("27.1", "28.0"));
  EXPECT_TRUE(OlderMeddraVersion("27.9", "27.10"));
  EXPECT_FALSE(OlderMeddraVersion("27.10", "27.9"));
  EXPECT_TRUE(OlderMeddraVersion("9.0", "10.0"));
  EXPECT_FALSE(OlderMeddraVersion("27.1", "27.1"));
  EXPECT_TRUE(OlderMeddraVersion("27.1", "27.1.1"));
}

}  // namespace
}  // namespace trialcore::safety
