// `trialcore meddra ...` as a user meets it: real binary, a dictionary in
// MedDRA's ASCII layout written by the test (safety/meddra_test_util.h).
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/json.h"
#include "run_command.h"
#include "safety/meddra_demo.h"
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

TEST_F(SafetyCliTest, SignalsOfASingleProductStudyAreCountedAndSayWhyTheyAreNotMined) {
  auto signals = Run("safety signals --db d.db");
  ASSERT_EQ(signals.exit_code, 0) << signals.out << signals.err;
  EXPECT_TRUE(Contains(signals.out, "product,event,n,expected,prr,")) << signals.out;
  EXPECT_TRUE(Contains(signals.out, ",Syncope,1,")) << signals.out;
  EXPECT_TRUE(Contains(signals.err, "1 case counted over 1 product")) << signals.err;
  EXPECT_TRUE(Contains(signals.err, "counted, not mined")) << signals.err;
  auto json = Run("safety signals --db d.db --format json");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto reply = ParseJson(json.out);
  ASSERT_TRUE(reply.ok()) << json.out;
  EXPECT_FALSE(reply->Find("mined")->as_bool());
  EXPECT_EQ(reply->Find("rows")->as_array().at(0).Find("n")->as_int(), 1);
  EXPECT_EQ(Run("safety signals --db d.db --format xml").exit_code, 4);
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

// `trialcore meddra recode` on the demo, whose terms are coded in its
// made-up MedDRA 90.0, after a "91.0" is loaded in which Syncope's primary
// SOC is Cardiac disorders (it was Nervous system disorders; both are its
// SOCs) and the LLT "Fainting" is no longer current.
class MeddraRecodeCliTest : public SafetyCliTest {
 protected:
  void SetUp() override {
    SafetyCliTest::SetUp();
    // An AE row coded to "Fainting" in 90.0, as the coordinator saves it,
    // begun yesterday (the demo's subject consented months ago).
    char yesterday[16];
    const std::time_t t = std::time(nullptr) - 86'400;
    std::strftime(yesterday, sizeof yesterday, "%Y-%m-%d", std::gmtime(&t));
    std::ofstream(dir_ + "/fainting.jsonl")
        << R"({"op":"form.save","subject":"701-1001","visit":"LOGS","form":"AE","rows":[{"group":"AE","items":{"AETERM":"Fainting","AESTDTC":")"
        << yesterday
        << R"(","AEONGO":true,"AESEV":"MILD","AESER":"N","AEREL":"NONE","AEACN":"DOSE NOT CHANGED","AEOUT":"RECOVERING/RESOLVING"}}]})"
        << "\n";
    auto saved = Run("apply fainting.jsonl --db d.db --as coord.701 --role coordinator");
    ASSERT_EQ(saved.exit_code, 0) << saved.out << saved.err;

    safety::MeddraTables v91 = safety::DemoMeddraTables();
    v91.version = "91.0";
    uint32_t syncope = 0;
    for (const auto& pt : v91.pts) syncope = pt.name == "Syncope" ? pt.code : syncope;
    ASSERT_NE(syncope, 0u);
    for (auto& h : v91.mdhier) {
      if (h.pt != syncope) continue;
      h.primary = !h.primary;
      if (h.primary) {
        for (auto& pt : v91.pts) pt.soc = pt.code == syncope ? h.soc : pt.soc;
      }
    }
    for (auto& llt : v91.llts) llt.current = llt.name == "Fainting" ? false : llt.current;
    std::filesystem::create_directories(dir_ + "/v910");
    for (const auto& f : safety::MeddraTablesFiles(v91)) {
      std::ofstream(dir_ + "/v910/" + f.name, std::ios::binary) << safety::MeddraTableText(v91, f.name);
    }
    auto loaded = Run("meddra load v910 --db d.db --as sysadmin");
    ASSERT_EQ(loaded.exit_code, 0) << loaded.out << loaded.err;
  }

  std::string AuditLog() { return Run("audit log --db d.db --format json").out; }
};

TEST_F(MeddraRecodeCliTest, TheReportSaysWhatMovesAndWhatNeedsAPersonAndStoresNothing) {
  const std::string before = AuditLog();
  auto report = Run("meddra recode --to 91.0 --db d.db");
  ASSERT_EQ(report.exit_code, 0) << report.out << report.err;
  EXPECT_TRUE(Contains(report.out, "MedDRA recoding of study CDISCPILOT01 to 91.0\n")) << report.out;
  EXPECT_TRUE(Contains(report.out, "moved         safety case 701-1001-SAE1 \"SYNCOPE\" (MedDRA 90.0): LLT "))
      << report.out;
  EXPECT_TRUE(Contains(report.out,
                       " Syncope: PT Syncope, SOC Nervous system disorders -> PT Syncope, SOC Cardiac "
                       "disorders\n"))
      << report.out;
  EXPECT_TRUE(Contains(report.out, "needs review  subject 701-1001 LOGS/AE row "));
  EXPECT_TRUE(Contains(report.out, "\"Fainting\" (MedDRA 90.0): LLT ")) << report.out;
  EXPECT_TRUE(Contains(report.out, " Fainting is no longer current in MedDRA 91.0; candidates:\n      1. LLT "))
      << report.out;
  EXPECT_TRUE(Contains(report.out, "nothing recorded: --apply --as USER --reason TEXT records the ")) << report.out;
  EXPECT_EQ(AuditLog(), before);

  auto json = Run("meddra recode --to 91.0 --db d.db --format json");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  std::vector<Value> lines;
  std::istringstream in(json.out);
  for (std::string line; std::getline(in, line);) {
    auto v = ParseJson(line);
    ASSERT_TRUE(v.ok()) << line;
    lines.push_back(*v);
  }
  ASSERT_GE(lines.size(), 4u);
  const Value* summary = lines.back().Find("summary");
  ASSERT_NE(summary, nullptr) << json.out;
  int64_t moved = 0, review = 0;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    const std::string outcome = lines[i].Find("outcome")->as_string();
    if (outcome == "moved") {
      ++moved;
      EXPECT_EQ(lines[i].Find("was")->Find("pt")->Find("name")->as_string(), "Syncope") << "only Syncope's SOC moved";
      EXPECT_EQ(lines[i].Find("now")->Find("soc")->Find("name")->as_string(), "Cardiac disorders");
    }
    if (outcome == "needs_review") ++review;
  }
  EXPECT_GE(moved, 2) << "the demo's SYNCOPE row and its case";
  EXPECT_EQ(summary->Find("moved")->as_int(), moved);
  EXPECT_EQ(summary->Find("needs_review")->as_int(), review);
  EXPECT_GE(review, 1);
  EXPECT_FALSE(summary->Find("applied")->as_bool());
}

TEST_F(MeddraRecodeCliTest, ApplyingRecodesAsAUserWhoMayCodeOnceAndRefusesTheRest) {
  const std::string before = AuditLog();
  auto dm = Run("meddra recode --to 91.0 --db d.db --apply --as dm.1 --reason 'MedDRA 91.0 in use'");
  EXPECT_EQ(dm.exit_code, 5) << dm.out << dm.err;
  EXPECT_TRUE(Contains(dm.err,
                       "user dm.1 (data_manager) may not recode safety cases (a safety physician may), such as "
                       "safety case 701-1001-SAE1; nothing was recoded"))
      << dm.err;
  auto coordinator = Run("meddra recode --to 91.0 --db d.db --apply --as coord.701 --reason 'MedDRA 91.0 in use'");
  EXPECT_EQ(coordinator.exit_code, 5) << coordinator.err;
  EXPECT_TRUE(Contains(coordinator.err, "user coord.701 (no role on study CDISCPILOT01 at every site) may not code "))
      << coordinator.err;
  auto nobody = Run("meddra recode --to 91.0 --db d.db --apply --as nobody --reason 'MedDRA 91.0 in use'");
  EXPECT_EQ(nobody.exit_code, 3) << nobody.err;
  EXPECT_TRUE(Contains(nobody.err, "no user nobody")) << nobody.err;
  auto no_reason = Run("meddra recode --to 91.0 --db d.db --apply --as safety.1");
  EXPECT_EQ(no_reason.exit_code, 4) << no_reason.err;
  EXPECT_TRUE(Contains(no_reason.err, "give the user with --as and the reason with --reason")) << no_reason.err;
  auto unknown = Run("meddra recode --to 25.0 --db d.db --apply --as safety.1 --reason 'MedDRA 25.0'");
  EXPECT_EQ(unknown.exit_code, 3) << unknown.err;
  EXPECT_TRUE(Contains(unknown.err, "MedDRA 25.0 is not loaded (loaded: 90.0 en, 91.0 en)")) << unknown.err;
  EXPECT_EQ(AuditLog(), before) << "nothing stored by any refusal";

  auto applied = Run("meddra recode --to 91.0 --db d.db --apply --as safety.1 --reason 'MedDRA 91.0 in use'");
  ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  EXPECT_TRUE(Contains(applied.out, "recorded as safety.1: ")) << applied.out;
  EXPECT_TRUE(Contains(applied.out, " and 1 safety case recoded to 91.0; ")) << applied.out;
  // The case, complete or not, now counts under Cardiac disorders.
  auto listing = Run("safety cases --db d.db");
  EXPECT_TRUE(Contains(listing.out, ",Syncope,Cardiac disorders,")) << listing.out;
  auto trail = Run("audit log --db d.db --format json");
  EXPECT_TRUE(Contains(trail.out, "MedDRA 91.0 in use")) << "each recoding with its reason";

  const std::string after = AuditLog();
  auto again = Run("meddra recode --to 91.0 --db d.db --apply --as safety.1 --reason 'MedDRA 91.0 in use'");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(Contains(again.out, "summary: 0 carried over, 0 moved, ")) << again.out;
  EXPECT_TRUE(Contains(again.out, "recorded as safety.1: 0 adverse event rows and 0 safety cases")) << again.out;
  EXPECT_EQ(AuditLog(), after) << "a second run changes nothing";

  auto back = Run("meddra recode --to 90.0 --db d.db");
  EXPECT_EQ(back.exit_code, 5) << back.err;
  EXPECT_TRUE(Contains(back.err, "is coded in MedDRA 91.0, newer than 90.0")) << back.err;
}

}  // namespace
}  // namespace trialcore
