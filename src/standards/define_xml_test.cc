#include "standards/define_xml.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "core/env.h"
#include "core/xml_doc.h"
#include "standards/dataset_test_util.h"
#include "standards/xpt_reader.h"

namespace trialcore::standards {
namespace {

using testing::CountingSink;
using testing::SharedData;
using testing::TempDir;

std::unique_ptr<XmlSchema> DefineSchema() {
  auto schema =
      XmlSchema::Load(SharedData("define-xml/schema/cdisc-define-2.1/define2-1-0.xsd"), "the Define-XML 2.1 schema");
  EXPECT_TRUE(schema.ok()) << schema.status().ToString();
  return schema.ok() ? std::move(*schema) : nullptr;
}

struct DomainFacts {
  const char* label;
  const char* dataset_class;
  const char* structure;
};
const std::map<std::string, DomainFacts> kPilotDomains = {
    {"DM", {"Demographics", "SPECIAL PURPOSE", "One record per subject"}},
    {"AE", {"Adverse Events", "EVENTS", "One record per adverse event per subject"}},
    {"CM", {"Concomitant Medications", "INTERVENTIONS", "One record per recorded medication occurrence per subject"}},
    {"EX", {"Exposure", "INTERVENTIONS", "One record per constant dosing interval per subject"}},
    {"DS", {"Disposition", "EVENTS", "One record per disposition status or protocol milestone per subject"}},
    {"MH", {"Medical History", "EVENTS", "One record per medical history event per subject"}},
    {"SV", {"Subject Visits", "SPECIAL PURPOSE", "One record per subject per actual visit"}},
};

DefineDocument PilotDefine() {
  DefineDocument doc;
  doc.file_oid = "trialcore.CDISCPILOT01.define";
  doc.originator = "trialcore tests";
  doc.source_system = "trialcore";
  doc.source_system_version = "test";
  doc.study_oid = "cdisc.com/CDISCPILOT01";
  doc.study_name = "CDISCPILOT01";
  doc.study_description =
      "Safety and Efficacy of the Xanomeline Transdermal Therapeutic System (TTS) in Patients with "
      "Mild to Moderate Alzheimer's Disease";
  doc.protocol_name = "CDISCPILOT01";
  doc.metadata_version_oid = "MDV.CDISCPILOT01.SDTMIG.3.3";
  doc.metadata_version_name = "SDTM datasets of CDISCPILOT01";
  DefineStandard ct;
  ct.oid = "STD.CT";
  ct.name = "CDISC/NCI";
  ct.type = "CT";
  ct.publishing_set = "SDTM";
  ct.version = "2020-12-18";
  doc.standards = {DefineStandard(), ct};
  doc.codelists.push_back(CodeList{"CL.AESEV",
                                   "Severity/Intensity Scale for Adverse Events",
                                   DataType::kString,
                                   "STD.CT",
                                   {{"MILD", "Mild"}, {"MODERATE", "Moderate"}, {"SEVERE", "Severe"}}});
  doc.codelists.push_back(CodeList{"CL.SEX", "Sex", DataType::kString, "", {{"F", ""}, {"M", ""}, {"U", ""}}});
  for (const auto& [name, facts] : kPilotDomains) {
    std::string file = name;
    for (char& c : file) c = static_cast<char>(std::tolower(c));
    CountingSink sink;
    EXPECT_TRUE(ReadXpt(Env::Default(), SharedData("sdtm/cdiscpilot01/" + file + ".xpt"), &sink).ok());
    DatasetDescription d = sink.description();
    d.label = facts.label;  // the pilot's files carry no dataset label
    d.dataset_class = facts.dataset_class;
    d.structure = facts.structure;
    for (Variable& v : d.variables) {
      v.mandatory = v.name == "STUDYID" || v.name == "DOMAIN" || v.name == "USUBJID";
      if (v.name == "STUDYID") v.key_sequence = 1;
      if (v.name == "USUBJID") v.key_sequence = 2;
      if (v.name == "STUDYID" || v.name == "DOMAIN" || v.name == "USUBJID") v.role = "Identifier";
      if (v.name.ends_with("SEQ")) {
        v.data_type = DataType::kInteger;
        v.origin = "Derived";
        v.origin_source = "Sponsor";
      } else {
        v.origin = "Collected";
        v.origin_source = "Investigator";
      }
      if (v.name == "AESEV") v.codelist_oid = "CL.AESEV";
      if (v.name == "SEX") v.codelist_oid = "CL.SEX";
      if (v.name == "AETERM") v.comment = "Verbatim term as reported by the investigator.";
    }
    if (name == "AE") d.comment = "Adverse events from the CRF & coded with MedDRA <27.0>.";
    doc.datasets.push_back(std::move(d));
  }
  return doc;
}

TEST(DefineXml, PilotDatasetsDefineValidatesAgainstDefine21Schema) {
  auto schema = DefineSchema();
  ASSERT_NE(schema, nullptr);
  TempDir dir;
  const std::string path = dir.File("define.xml");
  const DefineDocument doc = PilotDefine();
  ASSERT_EQ(doc.datasets.size(), 7u);
  Status status = WriteDefineXml(Env::Default(), path, doc);
  ASSERT_TRUE(status.ok()) << status.ToString();
  Status valid = schema->ValidateFile(path);
  EXPECT_TRUE(valid.ok()) << valid.ToString();

  const std::string text = testing::ReadAll(path);
  EXPECT_NE(text.find("<def:Standard OID=\"STD.SDTMIG\" Name=\"SDTMIG\" Type=\"IG\" Version=\"3.3\""),
            std::string::npos);
  EXPECT_NE(text.find("<ItemGroupDef OID=\"IG.AE\" Name=\"AE\" Repeating=\"Yes\" Domain=\"AE\" SASDatasetName=\"AE\" "
                      "def:Structure=\"One record per adverse event per subject\" Purpose=\"Tabulation\""),
            std::string::npos);
  EXPECT_NE(text.find("<def:Class Name=\"EVENTS\"/>"), std::string::npos);
  EXPECT_NE(text.find("<def:leaf ID=\"LF.AE\" xlink:href=\"ae.xpt\">"), std::string::npos);
  EXPECT_NE(text.find("<ItemDef OID=\"IT.AE.AESEQ\" Name=\"AESEQ\" DataType=\"integer\" Length=\"8\" "
                      "SASFieldName=\"AESEQ\">"),
            std::string::npos);
  EXPECT_NE(text.find("<def:Origin Type=\"Derived\" Source=\"Sponsor\"/>"), std::string::npos);
  EXPECT_NE(text.find("<CodeListRef CodeListOID=\"CL.AESEV\"/>"), std::string::npos);
  EXPECT_NE(text.find("<EnumeratedItem CodedValue=\"F\" OrderNumber=\"1\"/>"), std::string::npos);
  EXPECT_NE(text.find("from the CRF &amp; coded with MedDRA &lt;27.0&gt;."), std::string::npos) << "escaped text";
  // Every variable of every dataset has its ItemDef.
  size_t variables = 0;
  for (const DatasetDescription& d : doc.datasets) variables += d.variables.size();
  size_t item_defs = 0;
  for (size_t at = text.find("<ItemDef "); at != std::string::npos; at = text.find("<ItemDef ", at + 1)) ++item_defs;
  EXPECT_EQ(item_defs, variables);
}

// The schema check is real: it refuses CDISC's own example (Standard/@Name
// "STDTMIG", a typo for SDTMIG) and an origin type Define-XML does not know.
TEST(DefineXml, SchemaRefusesWhatIsNotDefine21) {
  auto schema = DefineSchema();
  ASSERT_NE(schema, nullptr);
  Status cdisc = schema->ValidateFile(SharedData("dataset-json/sdtm/define.xml"));
  ASSERT_FALSE(cdisc.ok());
  EXPECT_NE(cdisc.message().find("STDTMIG"), std::string::npos) << cdisc.message();

  DefineDocument doc = PilotDefine();
  doc.datasets[0].variables[0].origin = "Guessed";
  TempDir dir;
  ASSERT_TRUE(WriteDefineXml(Env::Default(), dir.File("define.xml"), doc).ok());
  Status status = schema->ValidateFile(dir.File("define.xml"));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("Guessed"), std::string::npos) << status.message();
}

TEST(DefineXml, UnknownCodeListAndDuplicateDatasetAreRefused) {
  TempDir dir;
  DefineDocument doc = PilotDefine();
  doc.datasets[0].variables[3].codelist_oid = "CL.NOPE";
  Status status = WriteDefineXml(Env::Default(), dir.File("define.xml"), doc);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("dataset " + doc.datasets[0].name + ", variable " +
                                  doc.datasets[0].variables[3].name + " refers to code list CL.NOPE"),
            std::string::npos)
      << status.message();
  EXPECT_FALSE(std::filesystem::exists(dir.File("define.xml")));

  doc = PilotDefine();
  doc.datasets.push_back(doc.datasets[0]);
  status = WriteDefineXml(Env::Default(), dir.File("define.xml"), doc);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("dataset " + doc.datasets[0].name + " twice"), std::string::npos);

  doc = PilotDefine();
  doc.study_oid.clear();
  EXPECT_FALSE(WriteDefineXml(Env::Default(), dir.File("define.xml"), doc).ok());
}

}  // namespace
}  // namespace trialcore::standards
