// `trialcore import odm | redcap` as a user meets it: the real binary on the
// example files, then `trialcore study validate` on what it wrote.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "run_command.h"

namespace trialcore {
namespace {

using testing_util::CommandResult;
using testing_util::RunCommand;

const std::string kBin = TRIALCORE_BIN;
const std::string kData = std::string(TRIALCORE_SOURCE_DIR) + "/../shared/data";

class ImportCliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_util::FreshTestDir("import_cli_"); }
  CommandResult Run(const std::string& args) { return RunCommand(dir_, kBin + " " + args); }
  bool Exists(const std::string& name) { return std::filesystem::exists(dir_ + "/" + name); }

  // Imports, then validates what was written.
  void ImportAndValidate(const std::string& command, const std::string& out) {
    SCOPED_TRACE(command);
    CommandResult imported = Run(command + " --study-out " + out);
    ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
    EXPECT_NE(imported.out.find("items: "), std::string::npos) << imported.out;
    EXPECT_NE(imported.out.find("wrote " + out), std::string::npos) << imported.out;
    CommandResult valid = Run("study validate " + out);
    EXPECT_EQ(valid.exit_code, 0) << valid.out << valid.err;
    EXPECT_NE(valid.out.find("is valid"), std::string::npos) << valid.out;
  }

  std::string dir_;
};

TEST_F(ImportCliTest, EveryOdmExampleImportsIntoAValidStudy) {
  ImportAndValidate("import odm " + kData + "/odm/cdash-forms-1.3.2.xml", "cdash.yaml");
  ImportAndValidate("import odm " + kData + "/odm/metadata-multilingual-1.3.2.xml --language fr", "multi.yaml");
  ImportAndValidate("import odm " + kData + "/odm/snapshot-metadata-and-data-1.3.2.xml", "snapshot.yaml");
  ImportAndValidate("import odm " + kData + "/openedc/metadata.xml", "openedc.yaml");
}

TEST_F(ImportCliTest, OdmReportCountsAndWhatWasNotCarried) {
  CommandResult r = Run("import odm " + kData + "/odm/snapshot-metadata-and-data-1.3.2.xml --study-out s.yaml");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("item groups: 9 read"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("items: 52 read"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("code lists: 14 read, 14 written"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ClinicalData (line 846): ClinicalData: --study-out imports the study's metadata only"),
            std::string::npos)
      << r.out;
  std::string yaml = testing_util::Slurp(dir_ + "/s.yaml");
  EXPECT_NE(yaml.find("oid: SE.VISIT 1"), std::string::npos) << yaml;
}

TEST_F(ImportCliTest, EveryRedcapDictionaryImportsIntoAValidStudy) {
  for (const char* project : {"checkboxes-1", "dag", "decimal-comma-and-dot", "longitudinal"}) {
    ImportAndValidate(std::string("import redcap ") + kData + "/redcap/" + project + "/dictionary.csv",
                      std::string(project) + ".yaml");
  }
  ImportAndValidate("import redcap " + kData +
                        "/redcap/longitudinal/dictionary.csv --study-id LONG1 --repeating visit_lab_data "
                        "--repeating visit_blood_workup",
                    "repeating.yaml");
  std::string yaml = testing_util::Slurp(dir_ + "/repeating.yaml");
  EXPECT_NE(yaml.find("id: LONG1"), std::string::npos);
  EXPECT_NE(yaml.find("repeating: true"), std::string::npos);
}

TEST_F(ImportCliTest, AFailingImportLeavesNoFile) {
  CommandResult r = Run("import odm " + kData + "/odm/cdash-forms-invalid-1.3.2.xml --study-out bad.yaml");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("cdash-forms-invalid-1.3.2.xml:14:"), std::string::npos) << r.err;
  EXPECT_FALSE(Exists("bad.yaml"));

  std::ofstream(dir_ + "/dictionary.csv") << "\"Variable / Field Name\",\"Form Name\"\nage,f\n";
  r = Run("import redcap dictionary.csv --study-out bad.yaml");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("dictionary.csv:1: the header lacks column 3 \"Section Header\""), std::string::npos) << r.err;
  EXPECT_FALSE(Exists("bad.yaml"));
  // Not even the temporary file it would have been renamed from.
  EXPECT_TRUE(
      std::none_of(std::filesystem::directory_iterator(dir_), std::filesystem::directory_iterator(),
                   [](const auto& e) { return e.path().filename().string().find("bad") != std::string::npos; }));
}

TEST_F(ImportCliTest, RefusesToOverwriteUnlessForced) {
  std::ofstream(dir_ + "/s.yaml") << "mine\n";
  CommandResult r = Run("import odm " + kData + "/openedc/metadata.xml --study-out s.yaml");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("s.yaml exists; pass --force to replace it"), std::string::npos) << r.err;
  EXPECT_EQ(testing_util::Slurp(dir_ + "/s.yaml"), "mine\n");
  r = Run("import odm " + kData + "/openedc/metadata.xml --study-out s.yaml --force");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Run("study validate s.yaml").exit_code, 0);
}

// trialcore's own ODM export imports back: the ids its OIDs were made from
// (I.DM.AGE -> AGE), and its expressions, which are in the rule language.
TEST_F(ImportCliTest, TrialcoresOwnOdmExportImportsBack) {
  CommandResult demo = Run("demo --db demo.db --key key.pem --no-serve");
  ASSERT_EQ(demo.exit_code, 0) << demo.err;
  CommandResult exported = Run("export odm --db demo.db --to demo.odm.xml --role all");
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  ImportAndValidate("import odm demo.odm.xml", "back.yaml");
  std::string yaml = testing_util::Slurp(dir_ + "/back.yaml");
  EXPECT_NE(yaml.find("- id: AGE\n            oid: I.DM.AGE"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("derive: years_between(BRTHDTC, IC.ICDTC)"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("visible_if: SEX = \"F\""), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("- id: SCREENING1\n    oid: SE.SCREENING1"), std::string::npos) << yaml;
}

TEST_F(ImportCliTest, StudyOutIsRequired) {
  CommandResult r = Run("import odm " + kData + "/openedc/metadata.xml");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--study-out"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace trialcore
