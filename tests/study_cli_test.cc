// The protocol-as-code commands as a user meets them: study validate, diff,
// publish, migrate and test; apply and sim.
#include <gtest/gtest.h>

#include <fstream>

#include "run_command.h"

namespace trialcore {
namespace {

using testing_util::CommandResult;
using testing_util::RunCommand;
namespace fs = std::filesystem;

const std::string kBin = TRIALCORE_BIN;
const std::string kSource = TRIALCORE_SOURCE_DIR;
const std::string kDemo = kSource + "/studies/cdiscpilot01.yaml";

class StudyCliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_util::FreshTestDir("study_cli_"); }
  CommandResult Run(const std::string& args) { return RunCommand(dir_, kBin + " " + args); }
  void Write(const std::string& name, const std::string& text) { std::ofstream(dir_ + "/" + name) << text; }
  std::string dir_;
};

TEST_F(StudyCliTest, ValidateAcceptsTheDemoStudy) {
  auto r = Run("study validate " + kDemo);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("study CDISCPILOT01 version 1.0 is valid: 3 arms, 22 visits, 13 forms"), std::string::npos)
      << r.out;
}

TEST_F(StudyCliTest, ValidateNamesFileLineAndColumnOfEveryError) {
  std::string file = kSource + "/tests/data/studies/broken.yaml";
  auto r = Run("study validate " + file);
  EXPECT_EQ(r.exit_code, 4);
  for (const char* expected : {
           ":5:3: unknown key 'phse' in study",
           ":7:14: code Y appears twice in code list NY",
           ":12:5: the window of visit V2 (days 6 to 10) overlaps the window of V1 (days 1 to 11)",
           ":12:80: visit V2 lists unknown form LAB",
           ":16:26: unknown role 'janitor'",
           ":26:59: unknown item type 'dat'",
           ":32:69: soft_range of item SYSBP has min above max",
           ":33:13: item SMOKER uses unknown code list YN",
           ":35:39: check VS01: unknown item DIABP on form VS",
           ":36:9: duplicate check id VS01 in form VS (first defined at line 35)",
           ":36:9: check VS01 puts its query on unknown item PULSE of form VS",
           ":36:53: severity of check VS01 must be hard or soft, not 'urgent'",
       }) {
    EXPECT_NE(r.err.find(file + expected), std::string::npos) << expected << "\n" << r.err;
  }
  EXPECT_NE(r.err.find("13 errors in " + file), std::string::npos) << r.err;
}

TEST_F(StudyCliTest, ValidateLocatesTypeErrorsInsideExpressions) {
  std::string file = kSource + "/tests/data/studies/typed.yaml";
  auto r = Run("study validate " + file);
  EXPECT_EQ(r.exit_code, 4);
  for (const char* expected : {
           ":17:62: derive of T: cannot apply '+' to a date and a number",
           ":19:31: check C1: cannot apply '-' to a date and a number",
           ":20:34: check C2: \"YES\" is not a code of C (its codes are Y, N)",
           ":24:15: check C3: cannot compare a number with a text",  // second line of a block scalar
           ":28:29: check C4 must be a condition, not a number",
       }) {
    EXPECT_NE(r.err.find(file + expected), std::string::npos) << expected << "\n" << r.err;
  }
}

TEST_F(StudyCliTest, ValidateReportsMissingFilesAndYamlSyntax) {
  auto r = Run("study validate nowhere.yaml");
  EXPECT_EQ(r.exit_code, 3);
  Write("bad.yaml", "study:\n  id: [unclosed\n");
  r = Run("study validate bad.yaml");
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("bad.yaml:3:1: YAML syntax"), std::string::npos) << r.err;
}

std::string Amended(const std::string& demo) {
  std::ifstream in(demo);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  auto replace = [&](const std::string& from, const std::string& to) {
    size_t at = s.find(from);
    if (at != std::string::npos) s.replace(at, from.size(), to);
  };
  replace("version: \"1.0\"", "version: \"1.1\"");
  replace("RACE: [WHITE, ", "RACE: [");
  replace("soft_range: {min: 90, max: 160}", "soft_range: {min: 95, max: 150}");
  return s;
}

TEST_F(StudyCliTest, DiffShowsWhatChanged) {
  Write("v11.yaml", Amended(kDemo));
  auto r = Run("study diff " + kDemo + " v11.yaml");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("study CDISCPILOT01: version 1.0 -> 1.1, 3 changes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("~ study: version '1.0' -> '1.1'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("- code RACE/WHITE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("~ item VS.SYSBP: soft_range '[90, 160]' -> '[95, 150]'"), std::string::npos) << r.out;
}

TEST_F(StudyCliTest, PublishSimulateAndMigrateAnAmendment) {
  auto p = Run("study publish " + kDemo + " --db s.db");
  EXPECT_EQ(p.exit_code, 0) << p.err;
  EXPECT_NE(p.out.find("published study CDISCPILOT01 version 1.0"), std::string::npos);
  EXPECT_NE(Run("study publish " + kDemo + " --db s.db").out.find("already published"), std::string::npos);
  auto who = Run("study publish " + kDemo + " --db t.db --role coordinator");
  EXPECT_EQ(who.exit_code, 5);
  EXPECT_NE(who.err.find("role coordinator may not publish a study"), std::string::npos) << who.err;

  auto sim = Run("sim --db s.db --subjects 4 --seed 3");
  ASSERT_EQ(sim.exit_code, 0) << sim.err;
  EXPECT_NE(sim.out.find("simulated 4 subjects"), std::string::npos) << sim.out;
  EXPECT_EQ(Run("audit verify --db s.db").exit_code, 0);

  Write("v11.yaml", Amended(kDemo));
  auto live = Run("study publish v11.yaml --db s.db");
  EXPECT_EQ(live.exit_code, 5);
  EXPECT_NE(live.err.find("as an amendment with `trialcore study migrate --to FILE`"), std::string::npos) << live.err;
  auto dry = Run("study migrate --db s.db --to v11.yaml --dry-run");
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("- code RACE/WHITE"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("BLOCKING SCREENING1/DM/RACE: holds code WHITE, removed from its code list"),
            std::string::npos)
      << dry.out;
  auto before = Run("db info --db s.db").out;
  auto real = Run("study migrate --db s.db --to v11.yaml --reason 'amendment 1'");
  EXPECT_EQ(real.exit_code, 5);
  EXPECT_NE(real.err.find("would no longer fit version 1.1"), std::string::npos) << real.err;
  EXPECT_EQ(Run("db info --db s.db").out, before) << "a refused migration stores nothing";
}

// A bulk load on four threads makes the same study as one thread syncing
// each commit: the same counts, a verified audit trail and projections that
// a rebuild from the log reproduces.
TEST_F(StudyCliTest, SimOnFourThreadsMakesTheStudyOneThreadMakes) {
  auto one = Run("sim --db one.db --subjects 30 --seed 9 --threads 1 --sync-each-commit");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  auto four = Run("sim --db four.db --subjects 30 --seed 9 --threads 4");
  ASSERT_EQ(four.exit_code, 0) << four.err;
  EXPECT_NE(one.out.find("simulated 30 subjects"), std::string::npos) << one.out;
  EXPECT_EQ(one.out, four.out);
  EXPECT_EQ(Run("audit verify --db four.db").exit_code, 0);
  auto rebuilt = Run("db rebuild --db four.db");
  EXPECT_EQ(rebuilt.exit_code, 0) << rebuilt.err;

  auto none = Run("sim --db one.db --subjects 3 --threads 0");
  EXPECT_EQ(none.exit_code, 4);
  EXPECT_NE(none.err.find("--threads must be 1 to 64"), std::string::npos) << none.err;
}

TEST_F(StudyCliTest, ApplyRunsEachLineOnItsOwnAndNamesTheFailingLines) {
  ASSERT_EQ(Run("study publish " + kDemo + " --db s.db").exit_code, 0);
  Write(
      "cmds.jsonl",
      R"({"op":"subject.screen","subject":"701-2001","site":"701"})"
      "\n"
      R"({"op":"form.save","subject":"701-2001","visit":"SCREENING1","form":"SV","items":{"SVSTDTC":"2024-01-02"}})"
      "\n"
      R"({"op":"form.save","subject":"701-2001","visit":"SCREENING1","form":"IC","items":{"ICDTC":"2024-01-02","ICVER":"v1","ICCGVR":"Y"}})"
      "\n"
      "\n"
      R"({"op":"form.save","subject":"701-2001","visit":"SCREENING1","form":"VS","items":{"SYSBP":400}})"
      "\n"
      R"({"op":"form.save", "subject": )"
      "\n"
      R"({"op":"form.save","subject":"701-2001","visit":"SCREENING1","form":"VS","items":{"VSPOS":"SITTING","SYSBP":170,"DIABP":80,"PULSE":72}})"
      "\n"
      R"({"op":"query.answer","subject":"701-2001","query":1,"message":"confirmed by repeat measurement"})"
      "\n"
      R"({"op":"sign","subject":"701-2001","meaning":"approval","name":"Dr X","role":"investigator","as":"inv.701"})"
      "\n");
  auto r = Run("apply cmds.jsonl --db s.db --as coord.701 --role coordinator");
  EXPECT_EQ(r.exit_code, 5) << r.out << r.err;
  EXPECT_NE(r.err.find("cmds.jsonl:5: not saved: SYSBP.hard_range"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cmds.jsonl:6: "), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("cmds.jsonl:7: query 1 opened on SCREENING1/VS/SYSBP (SYSBP.soft_range)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("cmds.jsonl:9: signed casebook of 701-2001 (approval) by Dr X"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("6 applied, 2 failed"), std::string::npos) << r.out;
  auto log = Run("audit log --db s.db --subject 701-2001 --path subject/701-2001/SCREENING1/VS/SYSBP");
  EXPECT_EQ(std::count(log.out.begin(), log.out.end(), '\n'), 2) << "only the accepted value: " << log.out;
  EXPECT_NE(log.out.find(",170,"), std::string::npos) << log.out;
  EXPECT_NE(Run("audit log --db s.db --user inv.701").out.find("signature.applied"), std::string::npos);
}

TEST_F(StudyCliTest, StudyTestRunsTheDemoScenariosAndReportsFailuresLikeATestRunner) {
  auto ok = Run("study test " + kDemo + " " + kSource + "/studies/cdiscpilot01-features --junit report.xml");
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find(" passed, 0 failed"), std::string::npos) << ok.out;
  std::string xml = testing_util::Slurp(dir_ + "/report.xml");
  EXPECT_NE(xml.find("<testsuites tests=\""), std::string::npos);
  EXPECT_NE(xml.find("failures=\"0\""), std::string::npos);

  Write("wrong.feature",
        "Feature: deliberately wrong expectations\n"
        "  Scenario: age\n"
        "    Given a subject \"701-3001\" at site \"701\"\n"
        "    And the form \"SV\" at visit \"SCREENING1\" is saved with:\n"
        "      | SVSTDTC    |\n"
        "      | 2024-01-02 |\n"
        "    And the form \"IC\" at visit \"SCREENING1\" is saved with:\n"
        "      | ICDTC      | ICVER | ICCGVR |\n"
        "      | 2024-01-02 | v2    | Y      |\n"
        "    When the form \"DM\" at visit \"SCREENING1\" is saved with:\n"
        "      | BRTHDTC    | SEX | RACE  |\n"
        "      | 1950-01-03 | M   | WHITE |\n"
        "    Then \"SCREENING1/DM/AGE\" is \"80\"\n"
        "    And no query is open\n"
        "  Scenario: passes\n"
        "    Given a subject \"701-3002\" at site \"701\"\n"
        "    Then the subject status is \"screening\"\n"
        "  Scenario: unknown step\n"
        "    Given a subject \"701-3003\" at site \"701\"\n"
        "    Then the moon is full\n");
  auto bad = Run("study test " + kDemo + " wrong.feature --junit bad.xml");
  EXPECT_EQ(bad.exit_code, 5);
  EXPECT_NE(bad.out.find("FAIL  age (wrong.feature:2)"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("line 13: Then \"SCREENING1/DM/AGE\" is \"80\""), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("expected: SCREENING1/DM/AGE = 80"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("actual:   SCREENING1/DM/AGE = 73"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("PASS  passes"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("unknown step: Then the moon is full"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("1 passed, 2 failed"), std::string::npos) << bad.out;
  EXPECT_NE(testing_util::Slurp(dir_ + "/bad.xml")
                .find("<failure message=\"Then &quot;SCREENING1/DM/AGE&quot; is &quot;80&quot;\">"),
            std::string::npos);

  Write("malformed.feature", "Scenario: no feature line\n");
  auto malformed = Run("study test " + kDemo + " malformed.feature");
  EXPECT_EQ(malformed.exit_code, 4);
  EXPECT_NE(malformed.err.find("malformed.feature:1: expected 'Feature:' first"), std::string::npos) << malformed.err;
}

// Issue 11: nothing a new user runs may depend on the hour. The demo study's
// scenarios pass from any starting clock, and one that does depend on the
// hour is caught by starting it at another.
TEST_F(StudyCliTest, StudyTestRunsTheScenariosFromAnyStartingClock) {
  for (const char* now : {"2026-12-01T00:00:00Z", "2026-12-01T09:29:00Z", "2026-12-01T23:59:59Z",
                          "2026-11-30T23:59:00Z", "2028-02-29T00:00:00Z", "2028-02-29T23:59:00Z"}) {
    auto r = Run("study test " + kDemo + " " + kSource + "/studies/cdiscpilot01-features --now " + now);
    EXPECT_EQ(r.exit_code, 0) << now << "\n" << r.out << r.err;
    EXPECT_NE(r.out.find(" passed, 0 failed"), std::string::npos) << now << "\n" << r.out;
  }
  Write("morning.feature",
        "Feature: a sample taken this morning\n"
        "  Scenario: 09:30 has passed\n"
        "    Given a subject \"701-3001\" at site \"701\"\n"
        "    And the form \"SV\" at visit \"SCREENING1\" is saved with:\n"
        "      | SVSTDTC    |\n"
        "      | 2024-01-02 |\n"
        "    And the form \"IC\" at visit \"SCREENING1\" is saved with:\n"
        "      | ICDTC      | ICVER | ICCGVR |\n"
        "      | 2024-01-02 | v2    | Y      |\n"
        "    And the date is \"2024-01-02\"\n"
        "    When the form \"LB\" at visit \"SCREENING1\" is saved with:\n"
        "      | LBDTC                |\n"
        "      | 2024-01-02T09:30:00Z |\n"
        "    Then the save succeeds\n");
  EXPECT_EQ(Run("study test " + kDemo + " morning.feature").exit_code, 0) << "at the default clock's noon";
  auto early = Run("study test " + kDemo + " morning.feature --now 2026-12-01T09:29:00Z");
  EXPECT_EQ(early.exit_code, 5) << early.out << early.err;
  EXPECT_NE(early.out.find("The collection time cannot be in the future."), std::string::npos) << early.out;
  auto bad = Run("study test " + kDemo + " morning.feature --now 9am");
  EXPECT_EQ(bad.exit_code, 4);
  EXPECT_NE(bad.err.find("trialcore: --now: invalid time \"9am\""), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace trialcore
