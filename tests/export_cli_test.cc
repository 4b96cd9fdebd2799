// `trialcore export odm` as a user meets it: the real binary on the demo
// study, a file valid against the ODM 1.3.2 schema, the counts printed, and
// each view's leaving out of what it may not see.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "core/env.h"
#include "core/xml_doc.h"
#include "run_command.h"
#include "standards/dataset.h"
#include "standards/xpt_reader.h"

namespace trialcore {
namespace {

using testing_util::CommandResult;
using testing_util::RunCommand;

const std::string kBin = TRIALCORE_BIN;
const std::string kOdmSchema = std::string(TRIALCORE_SOURCE_DIR) + "/../shared/data/odm/xsd-1.3.2/ODM1-3-2.xsd";

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class ExportCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Per process: ctest runs each test in its own process, side by side.
    dir_ = new std::string(
        (std::filesystem::path(testing::TempDir()) / ("export_cli_demo_" + std::to_string(::getpid()))).string());
    std::filesystem::remove_all(*dir_);
    std::filesystem::create_directories(*dir_);
    auto demo = RunCommand(*dir_, kBin + " demo --db demo.db --key key.pem --no-serve");
    ASSERT_EQ(demo.exit_code, 0) << demo.err;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  CommandResult Run(const std::string& args) { return RunCommand(*dir_, kBin + " " + args); }
  std::string Path(const std::string& name) { return *dir_ + "/" + name; }

  static std::string* dir_;
};
std::string* ExportCliTest::dir_ = nullptr;

TEST_F(ExportCliTest, WritesAValidOdmFileAndSaysWhatItCarried) {
  auto r = Run("export odm --db demo.db --to demo.odm.xml --role all");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(Contains(r.out,
                       "wrote demo.odm.xml: CDISC ODM 1.3.2 (Transactional) of study CDISCPILOT01 version 1.0, "
                       "unblinded, everything"))
      << r.out;
  EXPECT_TRUE(Contains(r.out, "subjects: 13 read, 13 written")) << r.out;
  EXPECT_TRUE(Contains(r.out, "item values: ")) << r.out;
  EXPECT_TRUE(Contains(r.out, "audit records: ")) << r.out;
  EXPECT_TRUE(Contains(r.out, "not carried over (")) << r.out;
  EXPECT_TRUE(Contains(r.out, "queries: ODM 1.3.2 has no element for data queries")) << r.out;
  auto schema = XmlSchema::Load(kOdmSchema, "the ODM 1.3.2 schema");
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  const Status valid = (*schema)->ValidateFile(Path("demo.odm.xml"));
  EXPECT_TRUE(valid.ok()) << valid.ToString();
  EXPECT_TRUE(Contains(testing_util::Slurp(Path("demo.odm.xml")), "ItemOID=\"I.EX.EXDOSE\" Value="));
}

TEST_F(ExportCliTest, ABlindedRolesFileHasNoUnblindedOnlyValue) {
  auto r = Run("export odm --db demo.db --to dm.odm.xml --role data_manager");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(Contains(r.out, "as data_manager (blinded)")) << r.out;
  EXPECT_TRUE(Contains(r.out, "unblinded-only item values: the export is read as a blinded role")) << r.out;
  const std::string text = testing_util::Slurp(Path("dm.odm.xml"));
  EXPECT_FALSE(Contains(text, "ItemOID=\"I.EX.EXDOSE\" Value="));
  EXPECT_FALSE(Contains(text, "ItemOID=\"I.DM.INITIALS\" Value="));
}

TEST_F(ExportCliTest, TheViewMustBeChosenAndARoleKnown) {
  auto none = Run("export odm --db demo.db --to x.xml");
  EXPECT_NE(none.exit_code, 0);
  EXPECT_TRUE(Contains(none.err, "say whose view the file is: --role data_manager")) << none.err;
  auto unknown = Run("export odm --db demo.db --to x.xml --role statistician");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_TRUE(Contains(unknown.err, "--role: unknown role \"statistician\"")) << unknown.err;
  auto nowhere = Run("export odm --db demo.db --to no/such/dir/x.xml --role all");
  EXPECT_NE(nowhere.exit_code, 0);
  EXPECT_TRUE(Contains(nowhere.err, "no/such/dir/x.xml: no such directory")) << nowhere.err;
  EXPECT_FALSE(std::filesystem::exists(Path("x.xml")));
}

TEST_F(ExportCliTest, SdtmDatasetsAndDefineXmlAsXptAndDatasetJson) {
  auto xpt = Run("export sdtm --db demo.db --to sdtm --role all");
  ASSERT_EQ(xpt.exit_code, 0) << xpt.out << xpt.err;
  EXPECT_TRUE(Contains(xpt.out, "wrote sdtm: SDTM (SDTMIG 3.1.2) as xpt with define.xml, of study CDISCPILOT01"))
      << xpt.out;
  EXPECT_TRUE(Contains(xpt.out, "DM records: 12 read, 12 written")) << xpt.out;
  EXPECT_TRUE(Contains(xpt.out, "inactivated subjects: screened in error")) << xpt.out;
  for (const char* name : {"dm", "ae", "suppae", "cm", "ex", "ds", "mh", "vs", "lb", "sv"}) {
    EXPECT_TRUE(std::filesystem::exists(Path("sdtm/" + std::string(name) + ".xpt"))) << name;
  }
  auto define = XmlSchema::Load(
      std::string(TRIALCORE_SOURCE_DIR) + "/../shared/data/define-xml/schema/cdisc-define-2.1/define2-1-0.xsd",
      "the Define-XML 2.1 schema");
  ASSERT_TRUE(define.ok()) << define.status().ToString();
  const Status valid = (*define)->ValidateFile(Path("sdtm/define.xml"));
  EXPECT_TRUE(valid.ok()) << valid.ToString();

  auto json = Run("export sdtm --db demo.db --to sdtm-json --format json --role data_manager --domain AE --domain VS");
  ASSERT_EQ(json.exit_code, 0) << json.out << json.err;
  EXPECT_TRUE(Contains(json.out, "as data_manager (blinded)")) << json.out;
  EXPECT_FALSE(std::filesystem::exists(Path("sdtm-json/dm.json")));
  const std::string schema =
      std::string(TRIALCORE_SOURCE_DIR) + "/../shared/data/dataset-json/schema/dataset.schema.json";
  auto checked = RunCommand(*dir_,
                            "python3 -c 'import json, sys, jsonschema; s = json.load(open(sys.argv[1])); "
                            "[jsonschema.Draft201909Validator(s).validate(json.load(open(f))) for f in sys.argv[2:]]; "
                            "print(\"valid\")' " +
                                schema + " sdtm-json/ae.json sdtm-json/vs.json");
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
  EXPECT_TRUE(Contains(checked.out, "valid"));

  auto unknown = Run("export sdtm --db demo.db --to x --format sas --role all");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_TRUE(Contains(unknown.err, "unknown format \"sas\" (xpt, json or ndjson)")) << unknown.err;
}

TEST_F(ExportCliTest, CasebooksForASiteArePdfsWithBookmarks) {
  auto r = Run("export casebooks --db demo.db --site 701 --to cb --role all");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(Contains(r.out,
                       "wrote cb: the casebooks of site 701 as PDF, study CDISCPILOT01 version 1.0, "
                       "unblinded, everything"))
      << r.out;
  EXPECT_TRUE(Contains(r.out, "subjects: 3 read, 3 written")) << r.out;
  EXPECT_TRUE(Contains(r.out, "forms: ")) << r.out;
  EXPECT_TRUE(Contains(r.out, "audit entries: ")) << r.out;
  EXPECT_TRUE(Contains(r.out, "signatures: ")) << r.out;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(Path("cb"))) {
    files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"701-1001.pdf", "701-1002.pdf", "701-1007.pdf"}));
  const std::string pdf = testing_util::Slurp(Path("cb/701-1001.pdf"));
  EXPECT_EQ(pdf.substr(0, 5), "%PDF-");
  // The bookmarks: a visit, a form under it, the casebook's signatures.
  for (const char* title :
       {"/Title (Cover)", "/Title (WEEK 4)", "/Title (Vital signs)", "/Title (Casebook signatures)"}) {
    EXPECT_TRUE(Contains(pdf, title)) << title;
  }
  auto text = RunCommand(*dir_, "pdftotext cb/701-1001.pdf -");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(Contains(text.out, "Subject casebook")) << text.out.substr(0, 2000);
  EXPECT_TRUE(Contains(text.out, "701-1001"));

  auto unknown = Run("export casebooks --db demo.db --site 799 --to cb2 --role all");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_TRUE(Contains(unknown.err, "study CDISCPILOT01 has no site 799 (its sites: 701, 702")) << unknown.err;
  EXPECT_FALSE(std::filesystem::exists(Path("cb2")));
  auto no_role = Run("export casebooks --db demo.db --site 701 --to cb3");
  EXPECT_NE(no_role.exit_code, 0);
  EXPECT_TRUE(Contains(no_role.err, "say whose view the file is: --role data_manager")) << no_role.err;
  EXPECT_TRUE(Contains(no_role.err, "--role all")) << no_role.err;
}

// An XPT dataset's rows as tuples of the named variables (text; numbers as %g).
std::multiset<std::vector<std::string>> Tuples(const std::string& path, const std::vector<std::string>& names) {
  class Sink final : public standards::DatasetWriter {
   public:
    explicit Sink(const std::vector<std::string>& wanted) : wanted_(wanted) {}
    Status Begin(const standards::DatasetDescription& d) override {
      for (const auto& n : wanted_) at_.push_back(d.IndexOf(n));
      return Status::Ok();
    }
    Status Row(std::span<const standards::Cell> values) override {
      std::vector<std::string> tuple;
      for (int i : at_) {
        if (i < 0) {
          tuple.push_back("?");
          continue;
        }
        const standards::Cell& c = values[static_cast<size_t>(i)];
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", c.number());
        tuple.push_back(c.kind() == standards::Cell::Kind::kNumber ? buf : std::string(c.text()));
      }
      rows.insert(std::move(tuple));
      return Status::Ok();
    }
    Status End() override { return Status::Ok(); }
    std::multiset<std::vector<std::string>> rows;

   private:
    const std::vector<std::string>& wanted_;
    std::vector<int> at_;
  } sink(names);
  const Status read = standards::ReadXpt(Env::Default(), path, &sink);
  EXPECT_TRUE(read.ok()) << read.ToString();
  return sink.rows;
}

// How many of `expected`'s tuples `actual` holds.
size_t Found(const std::multiset<std::vector<std::string>>& expected,
             const std::multiset<std::vector<std::string>>& actual) {
  size_t found = 0;
  for (const auto& t : expected) found += actual.count(t) > 0;
  return found;
}

TEST(SdtmImportCliTest, TheCdiscPilotLoadsIntoTheDemoAndExportsWithTheSameValues) {
  const std::string dir = testing_util::FreshTestDir("sdtm_import_");
  const std::string pilot = std::string(TRIALCORE_SOURCE_DIR) + "/../shared/data/sdtm/cdiscpilot01";
  ASSERT_EQ(RunCommand(dir, kBin + " demo --db d.db --key key.pem --no-serve").exit_code, 0);
  // Two of the pilot's subject numbers are the demo's own.
  auto refused = RunCommand(dir, kBin + " import sdtm " + pilot + " --db d.db --as dm.1");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(Contains(refused.err, "2 subjects of " + pilot +
                                        "/dm.xpt are already in study CDISCPILOT01 (704-1010, "
                                        "705-1011); an import adds subjects, it never changes one"))
      << refused.err;
  auto imported = RunCommand(dir, kBin + " import sdtm " + pilot + " --db d.db --as dm.1 --skip-existing");
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
  EXPECT_TRUE(Contains(imported.out, "subjects: 306 read, 304 written")) << imported.out;
  EXPECT_TRUE(Contains(imported.out, "704-1010, 705-1011: 2 subjects: already in the study")) << imported.out;
  EXPECT_TRUE(Contains(imported.out, "\"2003\" and 25 more: AESTDTC: is not a full date (YYYY-MM-DD)")) << imported.out;
  EXPECT_TRUE(Contains(imported.out, "AGE: derived in the study")) << imported.out;

  // Again: every subject is already there, so nothing is added.
  auto again = RunCommand(dir, kBin + " import sdtm " + pilot + " --db d.db --as dm.1");
  EXPECT_NE(again.exit_code, 0);
  EXPECT_TRUE(Contains(again.err, "306 subjects of " + pilot + "/dm.xpt are already in study CDISCPILOT01 (701-1015"))
      << again.err;
  // A refused import stores nothing: the same log as before it.
  auto verify = RunCommand(dir, kBin + " audit verify --db d.db");
  EXPECT_EQ(verify.exit_code, 0) << verify.err;

  auto exported = RunCommand(dir, kBin + " export sdtm --db d.db --to out --role all");
  ASSERT_EQ(exported.exit_code, 0) << exported.out << exported.err;
  // Each pilot record the import carried whole comes back with the same values.
  struct Shared {
    std::string dataset;
    std::vector<std::string> variables;
    size_t at_least;  // the pilot's records minus those the import reported it could not carry whole
  };
  const std::vector<Shared> shared = {
      {"dm", {"USUBJID", "SUBJID", "SITEID", "SEX", "RACE", "ETHNIC", "RFSTDTC"}, 306},
      {"ae", {"USUBJID", "AETERM", "AESEV", "AESER", "AEREL", "AEOUT", "AESTDTC", "AEENDTC"}, 1191 - 26},
      {"cm", {"USUBJID", "CMTRT", "CMSTDTC", "CMENDTC"}, 7510},
      {"mh", {"USUBJID", "MHTERM", "MHCAT", "MHSTDTC"}, 1818},
      {"ex", {"USUBJID", "VISITNUM", "EXDOSE", "EXSTDTC", "EXENDTC"}, 591},
      {"sv", {"USUBJID", "VISITNUM", "SVSTDTC"}, 3437},
  };
  const std::set<std::string> left_out = {"01-704-1010", "01-705-1011"};
  for (const auto& s : shared) {
    auto expected = Tuples(pilot + "/" + s.dataset + ".xpt", s.variables);
    size_t theirs = 0;  // records of the subjects left out
    for (auto it = expected.begin(); it != expected.end();) {
      if (left_out.count((*it)[0])) {
        it = expected.erase(it);
        ++theirs;
      } else {
        ++it;
      }
    }
    auto actual = Tuples(dir + "/out/" + s.dataset + ".xpt", s.variables);
    EXPECT_GE(Found(expected, actual), s.at_least - theirs) << s.dataset;
  }
}

}  // namespace
}  // namespace trialcore
