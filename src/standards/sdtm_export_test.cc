// SDTM by the demo study's mapping: the mapping's mistakes named by line and
// column, and the export of a study the capture fixture fills read back
// through the dataset readers (identifiers, findings one record per test,
// study days, supplemental qualifiers, what a blinded role gets), with a
// define.xml valid against the Define-XML 2.1 schema.
#include "standards/sdtm_export.h"

#include <filesystem>
#include <fstream>

#include "capture/capture_test_fixture.h"
#include "core/xml_doc.h"
#include "standards/dataset_json.h"
#include "standards/dataset_test_util.h"
#include "standards/xpt_reader.h"

namespace trialcore::standards {
namespace {

using capture::CaptureTest;
using capture::kInv;
using capture::kPharm;
using testing::CollectingSink;

std::string DemoYaml() {
  std::ifstream in(std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The mapping's errors for the demo study with `from` replaced by `to`.
std::vector<std::string> MappingErrors(const std::string& from, const std::string& to) {
  std::string yaml = DemoYaml();
  const size_t at = yaml.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at == std::string::npos) return {};
  yaml.replace(at, from.size(), to);
  std::vector<study::StudyError> errors;
  auto study = study::LoadStudy(yaml, "s.yaml", &errors);
  EXPECT_TRUE(study.ok()) << (errors.empty() ? "" : errors.front().ToString());
  if (!study.ok()) return {};
  auto mapping = ReadSdtmMapping(**study, &errors);
  EXPECT_FALSE(mapping.ok());
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.ToString());
  return out;
}

bool AnyContains(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& l : lines) {
    if (l.find(part) != std::string::npos) return true;
  }
  return false;
}

TEST(SdtmMappingTest, TheDemoStudysMappingReads) {
  std::vector<study::StudyError> errors;
  auto study = study::LoadStudy(DemoYaml(), "cdiscpilot01.yaml", &errors);
  ASSERT_TRUE(study.ok());
  auto mapping = ReadSdtmMapping(**study, &errors);
  ASSERT_TRUE(mapping.ok()) << (errors.empty() ? "" : errors.front().ToString());
  ASSERT_TRUE(mapping->declared);
  EXPECT_EQ(mapping->domains.size(), 9u);
  const SdtmDomain& vs = mapping->domains[6];
  ASSERT_EQ(vs.domain, "VS");
  std::vector<std::string> names;
  for (const auto& v : vs.dataset.variables) names.push_back(v.name);
  EXPECT_EQ(names, (std::vector<std::string>{"STUDYID", "DOMAIN", "USUBJID", "VSSEQ", "VSTESTCD", "VSTEST", "VSORRES",
                                             "VSORRESU", "VSSTRESC", "VSSTRESN", "VSSTRESU", "VSPOS", "VISITNUM",
                                             "VISIT", "VISITDY", "VSDTC", "VSDY"}));
  EXPECT_EQ(vs.dataset.variables[3].label, "Sequence Number");
  EXPECT_EQ(VisitNumber(*mapping, **study, "ECGPLACE"), 3.5);
  EXPECT_EQ(Usubjid(*mapping, "CDISCPILOT01", "701-1015", "701"), "01-701-1015");
  EXPECT_EQ(Subjid("701-1015", "701"), "1015");
}

TEST(SdtmMappingTest, EachMistakeIsNamedWithItsLineAndColumn) {
  EXPECT_TRUE(
      AnyContains(MappingErrors("{AETERM: AETERM,", "{AETERM: AETERMX,"), "names item AETERMX, which form AE lacks"));
  EXPECT_TRUE(AnyContains(MappingErrors("{AETERM: AETERM,", "{AETERM: AETERM, AESTDTC_LONG: AESTDTC,"),
                          "AE variable name 'AESTDTC_LONG' must be 1 to 8 uppercase letters"));
  EXPECT_TRUE(AnyContains(MappingErrors("AESTDY: day(AESTDTC)", "AESTDY: days(AESTDTC)"), "unknown function days"));
  EXPECT_TRUE(AnyContains(MappingErrors("AESTDY: day(AESTDTC)", "AESTDY: day(AEXDTC)"),
                          "day(AEXDTC) of AE needs AEXDTC mapped before it"));
  EXPECT_TRUE(AnyContains(MappingErrors("    - domain: CM", "    - domain: AE"), "domain AE is mapped twice"));
  EXPECT_TRUE(AnyContains(MappingErrors("{VSPOS: VSPOS}",
                                        "{VSPOS: VSPOS, VSLOC: {source: \"=ARM\", label: "
                                        "\"Location of Vital Signs Measurement on the Body\"}}"),
                          "is 47 characters; SAS transport files allow 40"));
  const auto placed = MappingErrors("      form: DS\n", "      form: DSX\n");
  ASSERT_FALSE(placed.empty());
  EXPECT_EQ(placed.front().rfind("s.yaml:", 0), 0u) << placed.front();
  EXPECT_TRUE(AnyContains(placed, "domain DS needs 'form', one of the study's forms")) << placed.front();
}

class SdtmExportTest : public CaptureTest {
 protected:
  void SetUp() override {
    CaptureTest::SetUp();
    std::vector<study::StudyError> errors;
    mapping_ = ReadSdtmMapping(*study_, &errors).value();
    dir_ = std::filesystem::temp_directory_path() / ("sdtm_export_test_" + std::to_string(::getpid()) + "_" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Populate() {
    Screen("701-1001");
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"SCREENING1","form":"VS","items":{"VSPOS":"SITTING",)"
       R"("SYSBP":120,"DIABP":80,"PULSE":70,"WEIGHT":"80.5"}})");
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"BASELINE","form":"SV","items":{"SVSTDTC":"2024-01-10"}})");
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"BASELINE","form":"RAND","items":{"RANDDT":"2024-01-10"}})");
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"BASELINE","form":"EX","items":{"EXSTDTC":"2024-01-10",)"
       R"("EXDOSE":54,"PATCHES":1}})",
       kPharm);
    const std::string ae =
        R"("AESEV":"MILD","AESER":"N","AEREL":"NONE","AEACN":"DOSE NOT CHANGED","AEOUT":"RECOVERED/RESOLVED"})";
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"LOGS","form":"AE","rows":[)"
       R"({"group":"AE","items":{"AETERM":"HEADACHE","AESTDTC":"2024-01-09","AEONGO":false,"AEENDTC":"2024-01-10",)" +
       ae +
       R"(},{"group":"AE","items":{"AETERM":"NAUSEA","AESTDTC":"2024-01-12","AEONGO":false,"AEENDTC":"2024-01-12",)" +
       ae + "}]}");
  }

  Result<TransferReport> Export(SdtmFormat format, const std::vector<std::string>& roles, const std::string& sub) {
    std::filesystem::create_directories(dir_ / sub);
    SdtmExportOptions options;
    options.format = format;
    options.roles = roles;
    options.source_system_version = "test";
    return ExportSdtm(*capture_, mapping_, options, Env::Default(), (dir_ / sub).string());
  }

  CollectingSink ReadXptFile(const std::string& path) {
    CollectingSink sink;
    const Status read = ReadXpt(Env::Default(), path, &sink);
    EXPECT_TRUE(read.ok()) << read.ToString();
    return sink;
  }

  // The row's value of a variable, as text ("" when missing; numbers as %g).
  static std::string At(const CollectingSink& sink, size_t row, const std::string& variable) {
    const int at = sink.description().IndexOf(variable);
    EXPECT_GE(at, 0) << variable;
    if (at < 0 || row >= sink.rows().size()) return "?";
    const OwnedCell& v = sink.rows()[row][static_cast<size_t>(at)];
    if (v.kind == Cell::Kind::kNumber) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", v.number);
      return buf;
    }
    return v.text;
  }

  SdtmMapping mapping_;
  std::filesystem::path dir_;
};

TEST_F(SdtmExportTest, XptDatasetsCarryTheStudysValuesWithIdentifiersAndStudyDays) {
  Populate();
  auto report = Export(SdtmFormat::kXpt, {}, "xpt");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const std::string dir = (dir_ / "xpt").string();

  CollectingSink dm = ReadXptFile(dir + "/dm.xpt");
  ASSERT_EQ(dm.rows().size(), 1u);
  EXPECT_EQ(At(dm, 0, "USUBJID"), "01-701-1001");
  EXPECT_EQ(At(dm, 0, "SUBJID"), "1001");
  EXPECT_EQ(At(dm, 0, "SITEID"), "701");
  EXPECT_EQ(At(dm, 0, "RFSTDTC"), "2024-01-10");
  EXPECT_EQ(At(dm, 0, "BRTHDTC"), "1940-05-10");
  EXPECT_EQ(At(dm, 0, "AGEU"), "YEARS");

  CollectingSink ae = ReadXptFile(dir + "/ae.xpt");
  ASSERT_EQ(ae.rows().size(), 2u);
  EXPECT_EQ(At(ae, 0, "AETERM"), "HEADACHE");
  EXPECT_EQ(At(ae, 0, "AESEQ"), "1");
  EXPECT_EQ(At(ae, 1, "AESEQ"), "2");
  // Study days: the reference start (2024-01-10) is day 1, the day before -1.
  EXPECT_EQ(At(ae, 0, "AESTDY"), "-1");
  EXPECT_EQ(At(ae, 0, "AEENDY"), "1");
  EXPECT_EQ(At(ae, 1, "AESTDY"), "3");

  CollectingSink suppae = ReadXptFile(dir + "/suppae.xpt");
  ASSERT_EQ(suppae.rows().size(), 2u);
  EXPECT_EQ(At(suppae, 0, "IDVAR"), "AESEQ");
  EXPECT_EQ(At(suppae, 1, "IDVARVAL"), "2");
  EXPECT_EQ(At(suppae, 0, "QNAM"), "AEONGO");
  EXPECT_EQ(At(suppae, 0, "QVAL"), "N");

  // One record per test entered, in the form's order, with its unit.
  CollectingSink vs = ReadXptFile(dir + "/vs.xpt");
  ASSERT_EQ(vs.rows().size(), 4u);  // SYSBP, DIABP, PULSE, WEIGHT
  EXPECT_EQ(At(vs, 0, "VSTESTCD"), "SYSBP");
  EXPECT_EQ(At(vs, 0, "VSORRES"), "120");
  EXPECT_EQ(At(vs, 0, "VSORRESU"), "mmHg");
  EXPECT_EQ(At(vs, 0, "VSSTRESN"), "120");
  EXPECT_EQ(At(vs, 3, "VSTESTCD"), "WEIGHT");
  EXPECT_EQ(At(vs, 3, "VSORRES"), "80.5");
  EXPECT_EQ(At(vs, 0, "VISIT"), "SCREENING 1");
  EXPECT_EQ(At(vs, 0, "VISITNUM"), "1");
  EXPECT_EQ(At(vs, 0, "VSDTC"), "2024-01-02");
  EXPECT_EQ(At(vs, 0, "VSDY"), "-8");

  CollectingSink ex = ReadXptFile(dir + "/ex.xpt");
  ASSERT_EQ(ex.rows().size(), 1u);
  EXPECT_EQ(At(ex, 0, "EXDOSE"), "54");
  EXPECT_EQ(At(ex, 0, "VISITNUM"), "3");
  EXPECT_EQ(At(ex, 0, "EXSTDY"), "1");

  auto schema =
      XmlSchema::Load(std::string(TRIALCORE_SHARED_DATA) + "/define-xml/schema/cdisc-define-2.1/define2-1-0.xsd",
                      "the Define-XML 2.1 schema");
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  const Status valid = (*schema)->ValidateFile(dir + "/define.xml");
  EXPECT_TRUE(valid.ok()) << valid.ToString();
  std::ifstream define(dir + "/define.xml");
  const std::string text((std::istreambuf_iterator<char>(define)), {});
  EXPECT_NE(text.find("def:leaf ID=\"LF.SUPPAE\" xlink:href=\"suppae.xpt\""), std::string::npos);
}

TEST_F(SdtmExportTest, ABlindedRoleGetsNoUnblindedOnlyValue) {
  Populate();
  auto report = Export(SdtmFormat::kXpt, {"data_manager"}, "dm");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  CollectingSink ex = ReadXptFile((dir_ / "dm" / "ex.xpt").string());
  ASSERT_EQ(ex.rows().size(), 1u);
  EXPECT_EQ(At(ex, 0, "EXSTDTC"), "2024-01-10");
  EXPECT_EQ(At(ex, 0, "EXDOSE"), "");
  ASSERT_FALSE(report->not_carried.empty());
  EXPECT_EQ(report->not_carried.back().what, "unblinded-only or identifying values");
}

TEST_F(SdtmExportTest, NdjsonHoldsTheSameRecordsAsXpt) {
  Populate();
  ASSERT_TRUE(Export(SdtmFormat::kXpt, {}, "xpt").ok());
  ASSERT_TRUE(Export(SdtmFormat::kNdjson, {}, "nd").ok());
  for (const char* name : {"ae", "vs", "dm", "lb"}) {
    CollectingSink xpt = ReadXptFile((dir_ / "xpt" / (std::string(name) + ".xpt")).string());
    CollectingSink nd;
    const Status read = ReadDatasetJson(Env::Default(), (dir_ / "nd" / (std::string(name) + ".ndjson")).string(),
                                        DatasetJsonFormat::kNdjson, &nd);
    ASSERT_TRUE(read.ok()) << read.ToString();
    ASSERT_EQ(xpt.rows().size(), nd.rows().size()) << name;
    for (size_t r = 0; r < xpt.rows().size(); ++r) {
      for (const auto& v : xpt.description().variables) {
        EXPECT_EQ(At(xpt, r, v.name), At(nd, r, v.name)) << name << " row " << r << " " << v.name;
      }
    }
  }
}

TEST_F(SdtmExportTest, AnUnmappedDomainOrAMissingDirectoryIsNamed) {
  SdtmExportOptions options;
  options.domains = {"QS"};
  auto unmapped = ExportSdtm(*capture_, mapping_, options, Env::Default(), dir_.string());
  ASSERT_FALSE(unmapped.ok());
  EXPECT_NE(unmapped.status().message().find("the study maps no domain QS (it maps DM, AE, CM"), std::string::npos)
      << unmapped.status().ToString();
  auto missing = ExportSdtm(*capture_, mapping_, {}, Env::Default(), (dir_ / "nowhere").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no such directory"), std::string::npos);
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

}  // namespace
}  // namespace trialcore::standards
