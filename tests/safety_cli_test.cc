// `trialcore meddra ...` as a user meets it: real binary, a dictionary in
// MedDRA's ASCII layout written by the test (safety/meddra_test_util.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/json.h"
#include "run_command.h"
#include "safety/meddra_test_util.h"

namespace trialcore {
namespace {

using safety::testing::Contains;
using safety::testing::MeddraFiles;
using testing_util::CommandResult;
using testing_util::RunCommand;

const std::string kBin = TRIALCORE_BIN;

class MeddraCliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_util::FreshTestDir("meddra_cli_"); }

  CommandResult Run(const std::string& args) { return RunCommand(dir_, kBin + " " + args); }

  CommandResult Load(const MeddraFiles& files, const std::string& folder) {
    files.Write(dir_ + "/" + folder);
    return Run("meddra load " + folder + " --db m.db --as safety.1");
  }

  std::string dir_;
};

TEST_F(MeddraCliTest, LoadsAVersionListsItAndCodesByEachRule) {
  auto loaded = Load(MeddraFiles::Small(), "medascii");
  ASSERT_EQ(loaded.exit_code, 0) << loaded.out << loaded.err;
  EXPECT_TRUE(Contains(loaded.out, "loaded MedDRA 27.1 English from medascii: 14 LLTs, 5 PTs"));
  EXPECT_TRUE(Contains(loaded.out, "llt.asc  "));
  EXPECT_TRUE(Contains(loaded.out, " sha256 "));

  auto versions = Run("meddra versions --db m.db");
  ASSERT_EQ(versions.exit_code, 0) << versions.err;
  EXPECT_TRUE(Contains(versions.out, "27.1  English  14 LLTs, 5 PTs  loaded "));
  EXPECT_TRUE(Contains(versions.out, " by safety.1"));

  auto coded = Run("meddra code 'Stomach flu' 'STOMACH-FLU ' 'Headach' 'xyzzy' 'sick feeling' --db m.db");
  ASSERT_EQ(coded.exit_code, 0) << coded.err;
  EXPECT_TRUE(Contains(coded.out,
                       "\"Stomach flu\": coded (exact, MedDRA 27.1) to LLT 50000005 Stomach flu; PT 40000004 "
                       "Gastroenteritis; HLT 30000004 Abdominal and gastrointestinal infections; HLGT 20000004 "
                       "Infections - pathogen unspecified; SOC 10000004 Infections and infestations (primary)"))
      << coded.out;
  EXPECT_TRUE(Contains(coded.out, "\"STOMACH-FLU \": coded (normalised, MedDRA 27.1) to LLT 50000005 Stomach flu"));
  EXPECT_TRUE(Contains(coded.out, "\"Headach\": not coded; candidates:\n  1. LLT 40000001 Headache;"));
  EXPECT_TRUE(Contains(coded.out, "\"xyzzy\": not coded; no candidate"));
  EXPECT_TRUE(Contains(coded.out, "\"sick feeling\": ambiguous, a person chooses; candidates:"));

  auto json = Run("meddra code 'Nausea' --format json --db m.db");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto parsed = ParseJson(json.out);
  ASSERT_TRUE(parsed.ok()) << json.out;
  EXPECT_EQ(parsed->Find("rule")->as_string(), "exact");
  EXPECT_EQ(parsed->Find("coding")->Find("soc")->Find("code")->as_int(), 10000002);

  // The load is in the audit trail, and the database verifies.
  auto verify = Run("audit verify --db m.db");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_TRUE(Contains(verify.out, "trialcore-meddra")) << verify.out;
}

TEST_F(MeddraCliTest, ABadFileIsNamedWithItsLineAndNothingIsStored) {
  MeddraFiles files = MeddraFiles::Small();
  files.lines["pt.asc"][2] = "40000003$Rash$$10000003$";  // too few fields
  auto loaded = Load(files, "broken");
  EXPECT_EQ(loaded.exit_code, 4) << loaded.out << loaded.err;
  EXPECT_TRUE(Contains(loaded.err, "broken/pt.asc:3")) << loaded.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/m.db")) << "no database is made for a load that fails";

  // With a database there already, it is left as it was.
  ASSERT_EQ(Load(MeddraFiles::Small("26.0"), "older").exit_code, 0);
  auto before = Run("db info --db m.db").out;
  auto again = Load(files, "broken");
  EXPECT_EQ(again.exit_code, 4);
  EXPECT_EQ(Run("db info --db m.db").out, before);
}

TEST_F(MeddraCliTest, AVersionIsLoadedOnceAndTheNewestCodesUnlessAsked) {
  ASSERT_EQ(Load(MeddraFiles::Small("26.1"), "v261").exit_code, 0);
  MeddraFiles newer = MeddraFiles::Small("27.0");
  // In 27.0 "Cephalgia" is current again and "Feeling sick" left its PT.
  newer.lines["llt.asc"][1] = safety::testing::Llt("50000001", "Cephalgia", "40000001", true);
  newer.lines["llt.asc"][3] = safety::testing::Llt("50000003", "Feeling sick", "40000004", true);
  ASSERT_EQ(Load(newer, "v270").exit_code, 0);

  auto twice = Load(MeddraFiles::Small("27.0"), "v270b");
  EXPECT_EQ(twice.exit_code, 5) << twice.err;
  EXPECT_TRUE(Contains(twice.err, "MedDRA 27.0 English was loaded on ")) << twice.err;

  auto newest = Run("meddra code Cephalgia --db m.db");
  EXPECT_TRUE(Contains(newest.out, "\"Cephalgia\": coded (exact, MedDRA 27.0)")) << newest.out;
  auto older = Run("meddra code Cephalgia --version 26.1 --db m.db");
  EXPECT_TRUE(Contains(older.out, "\"Cephalgia\": not coded")) << older.out;
  auto missing = Run("meddra code Cephalgia --version 25.0 --db m.db");
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_TRUE(Contains(missing.err, "MedDRA 25.0 is not loaded (loaded: 26.1 English, 27.0 English)")) << missing.err;

  auto diff = Run("meddra diff --from 26.1 --to 27.0 --db m.db");
  ASSERT_EQ(diff.exit_code, 0) << diff.err;
  EXPECT_TRUE(Contains(diff.out, "1 current again, 1 under another PT")) << diff.out;
  EXPECT_TRUE(Contains(diff.out, "moved: LLT 50000003 Feeling sick from PT 40000002 to PT 40000004")) << diff.out;
}

TEST_F(MeddraCliTest, ADatabaseWithoutMeddraSaysHowToLoadOne) {
  auto published = Run("study publish " + std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml --db m.db");
  ASSERT_EQ(published.exit_code, 0) << published.out << published.err;
  auto code = Run("meddra code Headache --db m.db");
  EXPECT_EQ(code.exit_code, 3);
  EXPECT_TRUE(Contains(code.err, "has no MedDRA version; load one with `trialcore meddra load DIR`")) << code.err;
  // Commands that take the only study still find it beside the dictionary.
  ASSERT_EQ(Load(MeddraFiles::Small(), "medascii").exit_code, 0);
  auto log = Run("audit log --db m.db --format json");
  EXPECT_EQ(log.exit_code, 0) << log.err;
}

TEST_F(MeddraCliTest, NoStudyMayTakeTheNameOfASystemLog) {
  std::ifstream in(std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml");
  std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t at = yaml.find("id: CDISCPILOT01");
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, 16, "id: trialcore-meddra");
  std::ofstream(dir_ + "/study.yaml") << yaml;
  auto validated = Run("study validate study.yaml");
  EXPECT_EQ(validated.exit_code, 4) << validated.out << validated.err;
  EXPECT_TRUE(Contains(validated.out + validated.err, "begins with 'trialcore-', which names the system's own logs"));
}

// `trialcore safety ...` on the demo, whose serious adverse event is a case
// triaged and coded with the demo's made-up dictionary.
class SafetyCliTest : public MeddraCliTest {
 protected:
  void SetUp() override {
    MeddraCliTest::SetUp();
    auto demo = Run("demo --db d.db --key key.pem --no-serve");
    ASSERT_EQ(demo.exit_code, 0) << demo.out << demo.err;
  }
};

TEST_F(SafetyCliTest, TheLineListingShowsTheDemoCaseCodedAndAwaitingReview) {
  auto listing = Run("safety cases --db d.db");
  ASSERT_EQ(listing.exit_code, 0) << listing.err;
  EXPECT_TRUE(Contains(listing.out, "case,subject,site,verbatim,llt,pt,soc,")) << listing.out;
  EXPECT_TRUE(Contains(listing.out, "701-1001-SAE1,701-1001,701,SYNCOPE,")) << listing.out;
  EXPECT_TRUE(Contains(listing.out, ",Syncope,")) << listing.out;
  EXPECT_TRUE(Contains(listing.out, ",medical_review,1,")) << listing.out;
  auto json = Run("safety cases --db d.db --format json");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto line = ParseJson(json.out.substr(0, json.out.find('\n')));
  ASSERT_TRUE(line.ok()) << json.out;
  EXPECT_EQ(line->Find("stage")->as_string(), "medical_review");
  EXPECT_EQ(line->Find("assessment")->Find("status")->as_string(), "pending");
  EXPECT_EQ(Run("safety cases --db d.db --format xml").exit_code, 4);
  // The investigator judged it possibly related: a serious adverse reaction in the DSUR's count.
  auto tabulation = Run("safety cases --db d.db --tabulation");
  ASSERT_EQ(tabulation.exit_code, 0) << tabulation.err;
  EXPECT_TRUE(Contains(tabulation.out, "soc,pt,serious_adverse_reactions,fatal,unexpected")) << tabulation.out;
  EXPECT_TRUE(Contains(tabulation.out, ",Syncope,1,0,0")) << tabulation.out;
}

TEST_F(SafetyCliTest, ExportWritesASchemaValidBatchAndNamesWhatItCannotExport) {
  auto exported = Run("safety export-e2b --db d.db --case 701-1001-SAE1 --to sae.xml");
  ASSERT_EQ(exported.exit_code, 0) << exported.out << exported.err;
  EXPECT_TRUE(Contains(exported.err, "wrote 1 ICSR")) << exported.err;
  std::ifstream in(dir_ + "/sae.xml");
  std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(Contains(xml, "MCCI_IN200100UV01"));
  EXPECT_TRUE(Contains(xml, "701-1001")) << "the subject as the patient's investigation number";
  auto unknown = Run("safety export-e2b --db d.db --case 701-1001-SAE77 --to x.xml");
  EXPECT_EQ(unknown.exit_code, 3) << unknown.err;
  EXPECT_TRUE(Contains(unknown.err, "701-1001-SAE77")) << unknown.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/x.xml"));
  auto elsewhere = Run("safety export-e2b --db d.db --case 701-1001-SAE1 --destination PMDA");
  EXPECT_EQ(elsewhere.exit_code, 4) << elsewhere.err;
}

TEST_F(SafetyCliTest, AnAcknowledgementForABatchNeverSentIsRefusedAndStoresNothing) {
  const auto before = Run("audit log --db d.db --format json").out;
  auto ack = Run("safety import-ack " + std::string(TRIALCORE_SOURCE_DIR) +
                 "/../shared/data/e2b/examples/R3ack-positive.ack --db d.db --as safety.1");
  EXPECT_EQ(ack.exit_code, 3) << ack.out << ack.err;
  EXPECT_TRUE(Contains(ack.err, "never sent")) << ack.err;
  auto missing = Run("safety import-ack no-such.ack --db d.db");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_TRUE(Contains(missing.err, "no-such.ack")) << missing.err;
  auto icsr = Run("safety import-ack " + std::string(TRIALCORE_SOURCE_DIR) +
                  "/../shared/data/e2b/examples/FAERS2022Scenario1.xml --db d.db");
  EXPECT_EQ(icsr.exit_code, 4) << icsr.err;
  EXPECT_TRUE(Contains(icsr.err, "FAERS2022Scenario1.xml")) << icsr.err;
  EXPECT_EQ(Run("audit log --db d.db --format json").out, before);
}

TEST_F(SafetyCliTest, ImportE2bMakesCasesOfTheReportsAndRefusesTheSameReportTwice) {
  const std::string examples = std::string(TRIALCORE_SOURCE_DIR) + "/../shared/data/e2b/examples/";
  auto imported = Run("safety import-e2b " + examples + "FAERS2022Scenario1.xml --db d.db --as safety.1");
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
  EXPECT_TRUE(Contains(imported.out, "DC-1: ")) << imported.out;
  auto listing = Run("safety cases --db d.db");
  EXPECT_TRUE(Contains(listing.out, "DC-1,,,")) << listing.out;
  EXPECT_TRUE(Contains(listing.out, "2022-06-29,e2b")) << "its source, last" << listing.out;
  auto tabulation = Run("safety cases --db d.db --tabulation");
  EXPECT_TRUE(Contains(tabulation.out, ",Syncope,1,0,0"))
      << "an imported report is not the trial's: " << tabulation.out;
  const auto before = Run("audit log --db d.db --format json").out;
  auto again = Run("safety import-e2b " + examples + "FAERS2022Scenario1.xml --db d.db --as safety.1");
  EXPECT_NE(again.exit_code, 0);
  EXPECT_TRUE(Contains(again.err, "imported already as DC-1")) << again.err;
  auto ack = Run("safety import-e2b " + examples + "R3ack-positive.ack --db d.db --as safety.1");
  EXPECT_EQ(ack.exit_code, 4) << ack.err;
  EXPECT_TRUE(Contains(ack.err, "R3ack-positive.ack")) << ack.err;
  EXPECT_EQ(Run("audit log --db d.db --format json").out, before);
  auto exported = Run("safety export-e2b --db d.db --case DC-1 --destination EU --to dc.xml");
  EXPECT_NE(exported.exit_code, 0) << "not coded yet: " << exported.err;
  EXPECT_TRUE(Contains(exported.err, "MedDRA coding")) << exported.err;
}

}  // namespace
}  // namespace trialcore
