// ODM metadata import on the example files (../shared/data/README.md): what
// each becomes, the counts against the files, and the files refused.
#include "standards/odm_metadata.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace trialcore::standards {
namespace {

const std::string kData = TRIALCORE_SHARED_DATA;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string path = (std::filesystem::path(::testing::TempDir()) / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// The import succeeds and the study file it wrote loads.
ImportedStudy Import(const std::string& path, OdmImportOptions options = {}) {
  auto imported = ImportOdmMetadata(path, options);
  EXPECT_TRUE(imported.ok()) << imported.status().message();
  if (!imported.ok()) return {};
  std::vector<study::StudyError> errors;
  auto loaded = study::LoadStudy(imported->yaml, path + ".yaml", &errors);
  EXPECT_TRUE(loaded.ok()) << (errors.empty() ? loaded.status().message() : errors.front().ToString());
  return std::move(*imported);
}

uint64_t Read(const ImportedStudy& s, const std::string& what) {
  for (const auto& c : s.report.counts) {
    if (c.what == what) return c.read;
  }
  return 9999;
}

std::string NotCarried(const ImportedStudy& s) {
  std::string all;
  for (const auto& n : s.report.not_carried) all += n.where + ": " + n.what + ": " + n.why + "\n";
  return all;
}

const study::Item* FindByOid(const study::Study& s, const std::string& oid, const study::Form** form = nullptr) {
  for (const auto& f : s.forms) {
    for (const auto& g : f.groups) {
      for (const auto& it : g.items) {
        if (it.oid == oid) {
          if (form) *form = &f;
          return &it;
        }
      }
    }
  }
  return nullptr;
}

// Every id is one the loader accepts, every imported thing keeps its OID.
void ExpectIdsAndOids(const study::Study& s) {
  const std::regex id("^[A-Za-z_][A-Za-z0-9_]*$");
  for (const auto& v : s.visits) EXPECT_TRUE(std::regex_match(v.id, id)) << v.id;
  for (const auto& cl : s.codelists) EXPECT_FALSE(cl.oid.empty()) << cl.id;
  for (const auto& f : s.forms) {
    EXPECT_TRUE(std::regex_match(f.id, id)) << f.id;
    if (f.id == s.anchor.form) continue;  // the visit-date form the import adds
    EXPECT_FALSE(f.oid.empty()) << f.id;
    std::set<std::string> items;
    for (const auto& g : f.groups) {
      EXPECT_FALSE(g.oid.empty()) << g.id;
      for (const auto& it : g.items) {
        EXPECT_TRUE(std::regex_match(it.id, id)) << it.id;
        EXPECT_FALSE(it.oid.empty()) << it.id;
        EXPECT_TRUE(items.insert(it.id).second) << it.id;
      }
    }
  }
}

TEST(OdmMetadata, SnapshotCountsMatchTheFile) {
  ImportedStudy s = Import(kData + "/odm/snapshot-metadata-and-data-1.3.2.xml");
  EXPECT_EQ(Read(s, "item groups"), 9u);
  EXPECT_EQ(Read(s, "items"), 52u);
  EXPECT_EQ(Read(s, "code lists"), 14u);
  EXPECT_EQ(Read(s, "visits"), 4u);
  EXPECT_EQ(Read(s, "forms"), 7u);
  EXPECT_EQ(s.study.codelists.size(), 14u);
  ExpectIdsAndOids(s.study);
  // Its clinical data are not metadata: said so, not dropped silently.
  EXPECT_NE(NotCarried(s).find("ClinicalData"), std::string::npos) << NotCarried(s);
  // "SE.VISIT 1" is not an id; its OID is kept beside the id made from it.
  bool found = false;
  for (const auto& v : s.study.visits) {
    if (v.oid == "SE.VISIT 1") {
      found = true;
      EXPECT_EQ(v.id, "VISIT_1");
    }
  }
  EXPECT_TRUE(found);
}

TEST(OdmMetadata, CdashFormsItemsAndCodeLists) {
  ImportedStudy s = Import(kData + "/odm/cdash-forms-1.3.2.xml");
  EXPECT_EQ(Read(s, "items"), 52u);
  EXPECT_EQ(Read(s, "item groups"), 7u);
  EXPECT_EQ(Read(s, "code lists"), 16u);
  EXPECT_EQ(Read(s, "forms"), 4u);
  ExpectIdsAndOids(s.study);
  // partialDatetime has no type here: reported by OID, imported as text.
  EXPECT_NE(NotCarried(s).find("ItemDef ODM.IT.AE.AESTDTC (line 180): DataType partialDatetime"), std::string::npos)
      << NotCarried(s);
  // CL.SEX is referenced but never defined in the file.
  EXPECT_NE(NotCarried(s).find("CodeListRef CL.SEX: code list: no CodeList has that OID"), std::string::npos);
}

TEST(OdmMetadata, MultilingualLabelsRangesAndXPathConditions) {
  ImportedStudy en = Import(kData + "/odm/metadata-multilingual-1.3.2.xml");
  EXPECT_EQ(Read(en, "forms"), 7u);
  EXPECT_EQ(Read(en, "code lists"), 12u);
  EXPECT_EQ(Read(en, "conditions"), 13u);
  EXPECT_EQ(Read(en, "methods"), 1u);
  EXPECT_EQ(Read(en, "checks"), 14u);
  ExpectIdsAndOids(en.study);
  const study::Item* sysbp = FindByOid(en.study, "I_SYSBP");
  ASSERT_NE(sysbp, nullptr);
  EXPECT_EQ(sysbp->label, "Systolic blood pressure");
  EXPECT_EQ(sysbp->unit, "mm Hg");
  // LT 180 on an integer: at most 179.
  ASSERT_TRUE(sysbp->hard_range.has_value());
  EXPECT_EQ(sysbp->hard_range->max, 179);
  // XPath: do not collect when I_SMOKING is false, i.e. show when it is not.
  const study::Item* cigs = FindByOid(en.study, "I_NR_CIGARETTES");
  ASSERT_NE(cigs, nullptr);
  EXPECT_EQ(cigs->visible_if, "not (I_SMOKING = false)");
  // Decimal with SignificantDigits: precision; float LE/GE: ranges.
  const study::Item* rbc = FindByOid(en.study, "I_LB_RBC");
  ASSERT_NE(rbc, nullptr);
  EXPECT_EQ(rbc->type, study::ItemType::kDecimal);
  EXPECT_EQ(rbc->precision, 3);
  EXPECT_TRUE(rbc->hard_range && rbc->soft_range);
  // A method in a language trialcore does not read is listed with its OID.
  EXPECT_NE(NotCarried(en).find("MethodDef METH.001 (line 1565): method of item I_DIABP: its expression language "
                                "(Context MyScriptingLanguage1, MyScriptingLanguage2) is not translated"),
            std::string::npos)
      << NotCarried(en);
  // A condition reading another repeating group cannot compile: listed.
  EXPECT_NE(NotCarried(en).find("ConditionDef COND.IGUSE.ADVERSE_EVENTS"), std::string::npos);

  OdmImportOptions german;
  german.language = "de";
  ImportedStudy de = Import(kData + "/odm/metadata-multilingual-1.3.2.xml", german);
  EXPECT_EQ(FindByOid(de.study, "I_SYSBP")->label, "Systolischer Blutdruck");
  EXPECT_EQ(FindByOid(de.study, "I_SYSBP")->unit, "mm Hg");
}

TEST(OdmMetadata, OpenEdcConditionsMethodsAndRangeChecks) {
  ImportedStudy s = Import(kData + "/openedc/metadata.xml");
  EXPECT_EQ(Read(s, "items"), 28u);
  EXPECT_EQ(Read(s, "conditions"), 7u);
  EXPECT_EQ(Read(s, "methods"), 2u);
  EXPECT_EQ(Read(s, "checks"), 8u);
  ExpectIdsAndOids(s.study);
  const study::Form* form = nullptr;
  const study::Item* age = FindByOid(s.study, "Age", &form);
  ASSERT_NE(age, nullptr);
  EXPECT_EQ(age->type, study::ItemType::kInteger);
  EXPECT_EQ(age->hard_range->min, 18);   // GE 18
  EXPECT_EQ(age->hard_range->max, 119);  // LT 120 on an integer
  EXPECT_EQ(FindByOid(s.study, "BMI")->derive, "Weight / ((Height * Height))");
  EXPECT_EQ(FindByOid(s.study, "Pregnant")->visible_if, "Gender = \"Female\"");
  // GT 1 and LT 3 on a decimal are not ranges (those include their bounds): hard checks.
  std::set<std::string> conditions;
  for (const auto& c : form->checks) {
    conditions.insert(c.condition);
    EXPECT_TRUE(c.hard);
    EXPECT_EQ(c.item, "Height");
  }
  EXPECT_EQ(conditions, (std::set<std::string>{"Height > 1", "Height < 3"}));
  // Arithmetic on coded answers does not type-check: listed with its OID.
  EXPECT_NE(NotCarried(s).find("MethodDef M.2 (line 620)"), std::string::npos) << NotCarried(s);
  EXPECT_NE(NotCarried(s).find("ItemGroupDef IG.9 (line 185): item group without items"), std::string::npos);
}

TEST(OdmMetadata, RefusesAMalformedFileWithItsLine) {
  std::string path = WriteTemp("malformed.xml",
                               "<?xml version=\"1.0\"?>\n<ODM xmlns=\"http://www.cdisc.org/ns/odm/v1.3\""
                               " ODMVersion=\"1.3.2\">\n<Study OID=\"S\">\n</ODM>\n");
  auto s = ImportOdmMetadata(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("malformed.xml:4: malformed XML"), std::string::npos) << s.status().message();
}

TEST(OdmMetadata, RefusesASchemaInvalidFileWithLibxml2sLineAndMessage) {
  auto s = ImportOdmMetadata(kData + "/odm/cdash-forms-invalid-1.3.2.xml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("not valid against the ODM 1.3.2 schema"), std::string::npos);
  EXPECT_NE(s.status().message().find("cdash-forms-invalid-1.3.2.xml:14: Element "
                                      "'{http://www.cdisc.org/ns/odm/v1.3}studyName': This element is not expected"),
            std::string::npos)
      << s.status().message();

  auto v2 = ImportOdmMetadata(kData + "/odm/invalid-uses-2.0-constructs.xml");
  ASSERT_FALSE(v2.ok());
  EXPECT_NE(v2.status().message().find("invalid-uses-2.0-constructs.xml:19:"), std::string::npos)
      << v2.status().message();
  EXPECT_NE(v2.status().message().find("attribute 'Repeat': The attribute 'Repeat' is not allowed"), std::string::npos);
}

TEST(OdmMetadata, RefusesOdm2) {
  std::string odm2 = Slurp(kData + "/odm/cdash-forms-1.3.2.xml");
  odm2 = std::regex_replace(odm2, std::regex("ODMVersion=\"1\\.3\\.2\""), "ODMVersion=\"2.0\"");
  odm2 = std::regex_replace(odm2, std::regex("http://www\\.cdisc\\.org/ns/odm/v1\\.3"),
                            "http://www.cdisc.org/ns/odm/v2.0");
  auto s = ImportOdmMetadata(WriteTemp("odm2.xml", odm2));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("unsupported ODM version 2.0 (trialcore reads 1.3.2)"), std::string::npos)
      << s.status().message();
}

// ODM 1.3.1 (REDCap's export) is read under the 1.3.2 schema; REDCap's own
// exports break it beyond their extensions (CodeList DataType="boolean",
// FormData without StudyEventData), so they are refused with the line.
TEST(OdmMetadata, ReadsOdm131UnderThe132SchemaAndRefusesRedcapsInvalidExport) {
  auto s = ImportOdmMetadata(kData + "/redcap/checkboxes-1/project.xml");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message().find("unsupported ODM version"), std::string::npos);
  EXPECT_NE(s.status().message().find("project.xml:121: Element '{http://www.cdisc.org/ns/odm/v1.3}CodeList', "
                                      "attribute 'DataType': [facet 'enumeration'] The value 'boolean'"),
            std::string::npos)
      << s.status().message();
  // Its vendor attributes (redcap:RecordIdField) are set aside, not blamed.
  EXPECT_EQ(s.status().message().find("RecordIdField"), std::string::npos) << s.status().message();

  std::string v131 = Slurp(kData + "/openedc/metadata.xml");
  v131 = std::regex_replace(v131, std::regex("ODMVersion=\"1\\.3\\.2\""), "ODMVersion=\"1.3.1\"");
  ImportedStudy ok = Import(WriteTemp("odm131.xml", v131));
  EXPECT_EQ(Read(ok, "items"), 28u);
}

TEST(OdmMetadata, ToleratesAndCountsVendorExtensions) {
  std::string text = Slurp(kData + "/openedc/metadata.xml");
  text = std::regex_replace(text, std::regex("<ODM xmlns=\"http://www.cdisc.org/ns/odm/v1.3\""),
                            "<ODM xmlns=\"http://www.cdisc.org/ns/odm/v1.3\" "
                            "xmlns:OpenClinica=\"http://www.openclinica.org/ns/odm_ext_v130/v3.1\"");
  text = std::regex_replace(text, std::regex("<ItemDef OID=\"Age\" Name=\"Age\""),
                            "<ItemDef OpenClinica:Hidden=\"1\" OID=\"Age\" Name=\"Age\"");
  text = std::regex_replace(text, std::regex("</MetaDataVersion>"),
                            "<OpenClinica:StudyParameters x=\"1\"/></MetaDataVersion>");
  ImportedStudy s = Import(WriteTemp("vendor.xml", text));
  EXPECT_EQ(Read(s, "vendor extensions (elements and attributes)"), 2u);
  EXPECT_NE(NotCarried(s).find("1 elements and 1 attributes of http://www.openclinica.org/ns/odm_ext_v130/v3.1"),
            std::string::npos)
      << NotCarried(s);
  EXPECT_EQ(Read(s, "items"), 28u);
}

}  // namespace
}  // namespace trialcore::standards
