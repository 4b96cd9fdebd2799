// A small MedDRA dictionary in the ASCII distribution's layout, written by
// the tests into a folder of their own. Codes are made up; the layout is
// MedDRA's (every line ends in '$').
//
//   SOC 10000001 Nervous system disorders      HLGT 20000001  HLT 30000001  PT 40000001 Headache
//   SOC 10000002 Gastrointestinal disorders    HLGT 20000002  HLT 30000002  PT 40000002 Nausea
//                                              HLGT 20000005  HLT 30000005  PT 40000004 (secondary path)
//   SOC 10000003 Skin and subcutaneous ...     HLGT 20000003  HLT 30000003  PT 40000003 Rash, 40000005 Rash macular
//   SOC 10000004 Infections and infestations   HLGT 20000004  HLT 30000004  PT 40000004 Gastroenteritis (primary)
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "core/env.h"
#include "safety/meddra.h"

namespace trialcore::safety::testing {

inline ::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

// Joins fields with '$' and ends the line with '$', as MedDRA does.
inline std::string Row(const std::vector<std::string>& fields) {
  std::string s;
  for (const auto& f : fields) s += f + "$";
  return s;
}

inline std::string Llt(const std::string& code, const std::string& name, const std::string& pt, bool current) {
  return Row({code, name, pt, "", "", "", "", "", "", current ? "Y" : "N", ""});
}
inline std::string Pt(const std::string& code, const std::string& name, const std::string& soc) {
  return Row({code, name, "", soc, "", "", "", "", "", "", ""});
}
inline std::string Group(const std::string& code, const std::string& name) {  // hlt.asc, hlgt.asc
  return Row({code, name, "", "", "", "", "", "", ""});
}
inline std::string Soc(const std::string& code, const std::string& name, const std::string& abbrev) {
  return Row({code, name, abbrev, "", "", "", "", "", "", ""});
}
inline std::string Hier(const std::string& pt, const std::string& hlt, const std::string& hlgt, const std::string& soc,
                        const std::string& primary_soc, bool primary) {
  // Names in mdhier repeat those of the term tables; the reader takes the
  // term tables' names.
  return Row({pt, hlt, hlgt, soc, "pt name", "hlt name", "hlgt name", "soc name", "abbr", "", primary_soc,
              primary ? "Y" : "N"});
}

struct MeddraFiles {
  std::map<std::string, std::vector<std::string>> lines;

  static MeddraFiles Small(const std::string& version = "27.1") {
    MeddraFiles f;
    f.lines["meddra_release.asc"] = {Row({version, "English", "", "", ""})};
    f.lines["soc.asc"] = {Soc("10000001", "Nervous system disorders", "Nerv"),
                          Soc("10000002", "Gastrointestinal disorders", "Gastr"),
                          Soc("10000003", "Skin and subcutaneous tissue disorders", "Skin"),
                          Soc("10000004", "Infections and infestations", "Infec")};
    f.lines["hlgt.asc"] = {Group("20000001", "Headaches"), Group("20000002", "Gastrointestinal signs and symptoms"),
                           Group("20000003", "Epidermal and dermal conditions"),
                           Group("20000004", "Infections - pathogen unspecified"),
                           Group("20000005", "Gastrointestinal inflammatory conditions")};
    f.lines["hlt.asc"] = {Group("30000001", "Headaches NEC"), Group("30000002", "Nausea and vomiting symptoms"),
                          Group("30000003", "Rashes, eruptions and exanthems NEC"),
                          Group("30000004", "Abdominal and gastrointestinal infections"),
                          Group("30000005", "Gastrointestinal inflammatory disorders NEC")};
    f.lines["pt.asc"] = {Pt("40000001", "Headache", "10000001"), Pt("40000002", "Nausea", "10000002"),
                         Pt("40000003", "Rash", "10000003"), Pt("40000004", "Gastroenteritis", "10000004"),
                         Pt("40000005", "Rash macular", "10000003")};
    f.lines["llt.asc"] = {
        Llt("40000001", "Headache", "40000001", true),
        Llt("50000001", "Cephalgia", "40000001", false),
        Llt("40000002", "Nausea", "40000002", true),
        Llt("50000003", "Feeling sick", "40000002", true),
        Llt("40000003", "Rash", "40000003", true),
        Llt("50000002",
            "\xC3\x89ruption cutan\xC3\xA9"
            "e",
            "40000003", true),  // UTF-8 "Éruption cutanée"
        Llt("40000005", "Rash macular", "40000005", true),
        Llt("50000004", "Macular rash", "40000005", true),
        Llt("40000004", "Gastroenteritis", "40000004", true),
        Llt("50000005", "Stomach flu", "40000004", true),
        Llt("50000011", "Stomach flu", "40000002", false),  // the same name, non-current, another PT
        Llt("50000006", "Crohn's colitis", "40000004", true),
        Llt("50000007", "Sick-feeling", "40000004", true),  // normalises as "Sick feeling" does, another PT
        Llt("50000008", "Sick feeling", "40000002", true),
    };
    f.lines["hlt_pt.asc"] = {Row({"30000001", "40000001"}), Row({"30000002", "40000002"}),
                             Row({"30000003", "40000003"}), Row({"30000004", "40000004"}),
                             Row({"30000005", "40000004"}), Row({"30000003", "40000005"})};
    f.lines["hlgt_hlt.asc"] = {Row({"20000001", "30000001"}), Row({"20000002", "30000002"}),
                               Row({"20000003", "30000003"}), Row({"20000004", "30000004"}),
                               Row({"20000005", "30000005"})};
    f.lines["soc_hlgt.asc"] = {Row({"10000001", "20000001"}), Row({"10000002", "20000002"}),
                               Row({"10000003", "20000003"}), Row({"10000004", "20000004"}),
                               Row({"10000002", "20000005"})};
    f.lines["mdhier.asc"] = {
        Hier("40000001", "30000001", "20000001", "10000001", "10000001", true),
        Hier("40000002", "30000002", "20000002", "10000002", "10000002", true),
        Hier("40000003", "30000003", "20000003", "10000003", "10000003", true),
        Hier("40000004", "30000005", "20000005", "10000002", "10000004", false),  // multi-axial: secondary
        Hier("40000004", "30000004", "20000004", "10000004", "10000004", true),
        Hier("40000005", "30000003", "20000003", "10000003", "10000003", true),
    };
    return f;
  }

  // Writes every file into dir with the given line ending.
  void Write(const std::string& dir, const std::string& eol = "\n") const {
    std::filesystem::create_directories(dir);
    for (const auto& [name, rows] : lines) {
      std::ofstream out(dir + "/" + name, std::ios::binary);
      for (const auto& r : rows) out << r << eol;
    }
  }
};

class MeddraDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // One folder per test: ctest runs the cases in parallel.
    dir_ = (std::filesystem::path(::testing::TempDir()) /
            (std::string("meddra_") + ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<MeddraDictionary> Load(const MeddraFiles& files, const std::string& eol = "\n",
                                const MeddraLoadOptions& options = {}) {
    std::filesystem::remove_all(dir_);
    files.Write(dir_, eol);
    return LoadMeddraAscii(Env::Default(), dir_, options);
  }

  std::string dir_;
};

}  // namespace trialcore::safety::testing
