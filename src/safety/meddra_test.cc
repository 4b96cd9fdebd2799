#include "safety/meddra.h"

#include <gtest/gtest.h>

#include "safety/meddra_test_util.h"

namespace trialcore::safety {
namespace {

using testing::Contains;
using testing::Hier;
using testing::Llt;
using testing::MeddraFiles;
using testing::Pt;
using testing::Row;

class MeddraLoadTest : public testing::MeddraDirTest {};

TEST_F(MeddraLoadTest, LoadsEveryLltAndEveryPathOfAMultiAxialPt) {
  auto d = Load(MeddraFiles::Small());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->version(), "27.1");
  EXPECT_EQ(d->language(), "English");
  EXPECT_EQ(d->llts().size(), 14u);
  EXPECT_EQ(d->pts().size(), 5u);

  const MeddraLlt* cephalgia = d->FindLlt(50000001);
  ASSERT_NE(cephalgia, nullptr);
  EXPECT_EQ(cephalgia->name, "Cephalgia");
  EXPECT_EQ(cephalgia->pt, 40000001u);
  EXPECT_FALSE(cephalgia->current);  // non-current LLTs are kept
  EXPECT_TRUE(d->FindLlt(40000001)->current);

  // Gastroenteritis: primary under Infections (listed second in mdhier.asc),
  // secondary under Gastrointestinal disorders.
  const MeddraPt* ge = d->FindPt(40000004);
  ASSERT_NE(ge, nullptr);
  ASSERT_EQ(ge->paths.size(), 2u);
  EXPECT_EQ(ge->primary(), (MeddraPath{30000004, 20000004, 10000004, true}));
  EXPECT_EQ(ge->paths[1], (MeddraPath{30000005, 20000005, 10000002, false}));
  EXPECT_EQ(d->FindSoc(10000004)->name, "Infections and infestations");
  EXPECT_EQ(d->FindSoc(10000004)->abbrev, "Infec");
  EXPECT_EQ(d->FindHlt(30000005)->name, "Gastrointestinal inflammatory disorders NEC");
  EXPECT_EQ(d->FindHlgt(20000005)->name, "Gastrointestinal inflammatory conditions");
  EXPECT_EQ(d->FindLlt(99999999), nullptr);
}

TEST_F(MeddraLoadTest, ReadsCrlfLinesAsLfLines) {
  auto d = Load(MeddraFiles::Small(), "\r\n");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->version(), "27.1");
  EXPECT_EQ(d->FindLlt(40000001)->name, "Headache");  // no '\r' left in the last field or a name
  EXPECT_TRUE(d->FindLlt(40000001)->current);
  EXPECT_EQ(d->FindPt(40000004)->paths.size(), 2u);
}

TEST_F(MeddraLoadTest, ReadsLatin1FilesAsUtf8) {
  MeddraFiles f = MeddraFiles::Small();
  f.lines["llt.asc"][5] = Llt("50000002",
                              "\xC9ruption cutan\xE9"
                              "e",
                              "40000003", true);  // Latin-1 bytes
  auto d = Load(f);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->FindLlt(50000002)->name,
            "\xC3\x89ruption cutan\xC3\xA9"
            "e");
}

TEST_F(MeddraLoadTest, TakesTheVersionFromTheCallerWhenTheReleaseFileIsMissing) {
  MeddraFiles f = MeddraFiles::Small();
  f.lines.erase("meddra_release.asc");
  auto none = Load(f);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(none.status().message(), "has no meddra_release.asc; give the MedDRA version"));

  MeddraLoadOptions options;
  options.version = "26.0";
  auto given = Load(f, "\n", options);
  ASSERT_TRUE(given.ok()) << given.status().ToString();
  EXPECT_EQ(given->version(), "26.0");
}

TEST_F(MeddraLoadTest, RefusesAVersionThatDisagreesWithTheReleaseFile) {
  MeddraLoadOptions options;
  options.version = "26.0";
  auto d = Load(MeddraFiles::Small(), "\n", options);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(d.status().message(), "meddra_release.asc says version 27.1, but version 26.0"));
}

TEST_F(MeddraLoadTest, AMissingFileIsNamed) {
  MeddraFiles f = MeddraFiles::Small();
  f.lines.erase("hlgt_hlt.asc");
  auto d = Load(f);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(d.status().message(), "MedDRA hlgt_hlt.asc cannot be read in " + dir_));
}

// Each bad file: what is changed, and the error's file:line and words.
struct BadCase {
  const char* name;
  void (*change)(MeddraFiles*);
  const char* expected;  // after "DIR/"
};

const BadCase kBad[] = {
    {"WrongColumnCount",
     [](MeddraFiles* f) {
       f->lines["llt.asc"][2] = Row({"40000002", "Nausea", "40000002", "Y"});
     },
     "llt.asc:3: expected 11 '$'-delimited fields as llt.asc has, found 4"},
    {"NoTrailingDollar", [](MeddraFiles* f) { f->lines["hlt_pt.asc"][1] = "30000002$40000002"; },
     "hlt_pt.asc:2: the line does not end in '$' (MedDRA's ASCII files end every line with '$')"},
    {"NonNumericCode", [](MeddraFiles* f) { f->lines["pt.asc"][3] = Pt("4000000X", "Gastroenteritis", "10000004"); },
     "pt.asc:4: field 1 (pt_code) is not a MedDRA code: '4000000X'"},
    {"NonNumericLinkCode",
     [](MeddraFiles* f) {
       f->lines["hlt_pt.asc"][0] = Row({"30000001", "four"});
     },
     "hlt_pt.asc:1: field 2 (pt_code) is not a MedDRA code: 'four'"},
    {"EmptyName", [](MeddraFiles* f) { f->lines["llt.asc"][0] = Llt("40000001", "", "40000001", true); },
     "llt.asc:1: field 2 (llt_name) is empty"},
    {"CurrencyNotYOrN",
     [](MeddraFiles* f) {
       f->lines["llt.asc"][1] = Row({"50000001", "Cephalgia", "40000001", "", "", "", "", "", "", "X", ""});
     },
     "llt.asc:2: field 10 (llt_currency) is 'X', not Y or N"},
    {"LltOfAnUnknownPt",
     [](MeddraFiles* f) { f->lines["llt.asc"].push_back(Llt("50000099", "Orphan term", "49999999", true)); },
     "llt.asc:15: LLT 50000099 (Orphan term) names PT 49999999, which pt.asc does not have"},
    {"PtWithoutAPrimarySoc",
     [](MeddraFiles* f) {
       f->lines["mdhier.asc"][4] = Hier("40000004", "30000004", "20000004", "10000004", "10000004", false);
     },
     "pt.asc:4: PT 40000004 (Gastroenteritis) has no path marked primary in mdhier.asc"},
    {"PtWithoutAnyPath", [](MeddraFiles* f) { f->lines["mdhier.asc"].erase(f->lines["mdhier.asc"].begin() + 5); },
     "pt.asc:5: PT 40000005 (Rash macular) has no path in mdhier.asc"},
    {"PtWithTwoPrimarySocs",
     [](MeddraFiles* f) {
       f->lines["mdhier.asc"][3] = Hier("40000004", "30000005", "20000005", "10000002", "10000004", true);
     },
     "mdhier.asc:5: PT 40000004 has a second primary SOC path (the first is line 4)"},
    {"PtSocCodeDisagreesWithMdhier",
     [](MeddraFiles* f) { f->lines["pt.asc"][3] = Pt("40000004", "Gastroenteritis", "10000002"); },
     "pt.asc:4: PT 40000004 names primary SOC 10000002, but mdhier.asc line 5 marks SOC 10000004"},
    {"HierarchyOfAnUnknownHlt",
     [](MeddraFiles* f) {
       f->lines["mdhier.asc"][0] = Hier("40000001", "30000009", "20000001", "10000001", "10000001", true);
     },
     "mdhier.asc:1: HLT 30000009 is not in hlt.asc"},
    {"HierarchyPathTheLinksLack",
     [](MeddraFiles* f) {
       f->lines["mdhier.asc"][0] = Hier("40000001", "30000002", "20000002", "10000002", "10000002", true);
     },
     "mdhier.asc:1: hlt_pt.asc does not link HLT 30000002 to PT 40000001"},
    {"LinkToAnUnknownTerm",
     [](MeddraFiles* f) {
       f->lines["soc_hlgt.asc"].push_back(Row({"10000009", "20000001"}));
     },
     "soc_hlgt.asc:6: soc 10000009 is not in soc.asc"},
    {"DuplicateCode",
     [](MeddraFiles* f) { f->lines["llt.asc"].push_back(Llt("50000003", "Feeling sick again", "40000002", true)); },
     "llt.asc:15: LLT 50000003 appears twice (also line 4)"},
};

class MeddraBadFileTest : public testing::MeddraDirTest, public ::testing::WithParamInterface<BadCase> {};

TEST_P(MeddraBadFileTest, IsAnErrorNamingTheFileAndLine) {
  MeddraFiles f = MeddraFiles::Small();
  GetParam().change(&f);
  for (const char* eol : {"\n", "\r\n"}) {
    auto d = Load(f, eol);
    ASSERT_FALSE(d.ok()) << "loaded despite the change, line ending " << (eol[0] == '\r' ? "CRLF" : "LF");
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(d.status().message(), dir_ + "/" + GetParam().expected);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, MeddraBadFileTest, ::testing::ValuesIn(kBad),
                         [](const auto& c) { return std::string(c.param.name); });

TEST(MeddraTablesTest, BuildsFromRowsThatDidNotComeFromFilesAndNamesTheRow) {
  MeddraTables t;
  t.version = "27.1";
  t.socs = {{10000001, "Nervous system disorders", "Nerv", 0}};
  t.hlgts = {{20000001, "Headaches", "", 0}};
  t.hlts = {{30000001, "Headaches NEC", "", 0}};
  t.pts = {{40000001, "Headache", 10000001, 1}};
  t.llts = {{40000001, "Headache", 40000001, true, 1}, {50000001, "Orphan", 40000009, true, 2}};
  t.hlt_pt = {{30000001, 40000001, 1}};
  t.hlgt_hlt = {{20000001, 30000001, 1}};
  t.soc_hlgt = {{10000001, 20000001, 1}};
  t.mdhier = {{40000001, 30000001, 20000001, 10000001, true, 1}};
  auto bad = MeddraDictionary::Build(t);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "llt.asc row 2: LLT 50000001 (Orphan) names PT 40000009, which pt.asc does not have");
  t.llts.pop_back();
  auto good = MeddraDictionary::Build(t);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->FindLlt(40000001)->name, "Headache");
}

TEST(MeddraParseTest, SkipsBlankLinesButCountsThem) {
  MeddraTables t;
  ASSERT_TRUE(ParseMeddraTable("hlt_pt.asc", "1$2$\r\n\r\n3$4$\r\n", "x/hlt_pt.asc", &t).ok());
  ASSERT_EQ(t.hlt_pt.size(), 2u);
  EXPECT_EQ(t.hlt_pt[1].line, 3u);
  auto bad = ParseMeddraTable("hlt_pt.asc", "1$2$\n\n3$4$5$\n", "x/hlt_pt.asc", &t);
  EXPECT_EQ(bad.message(), "x/hlt_pt.asc:3: expected 2 '$'-delimited fields as hlt_pt.asc has, found 3");
}

}  // namespace
}  // namespace trialcore::safety
