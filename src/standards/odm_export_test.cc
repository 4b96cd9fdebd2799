// ODM export of a study the capture fixture fills (a value changed with a
// reason, an item not done, a row removed, a signature, unblinded-only and
// identifying items): valid against the ODM 1.3.2 schema, every change an
// ItemData with its audit record, and each view leaving out what it may not
// see.
#include "standards/odm_export.h"

#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <filesystem>
#include <fstream>

#include "capture/capture_test_fixture.h"
#include "core/xml_doc.h"

namespace trialcore::standards {
namespace {

using capture::CaptureTest;
using capture::kCoord;
using capture::kInv;
using capture::kPharm;

const std::string kOdmSchema = std::string(TRIALCORE_SHARED_DATA) + "/odm/xsd-1.3.2/ODM1-3-2.xsd";

// The exported file, read back for XPath questions (prefix "odm").
class OdmFile {
 public:
  explicit OdmFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    text_.assign(std::istreambuf_iterator<char>(in), {});
    auto doc = ParseXml(text_, path);
    EXPECT_TRUE(doc.ok()) << doc.status().ToString();
    if (doc.ok()) doc_ = std::move(*doc);
  }
  const std::string& text() const { return text_; }

  std::vector<std::string> Strings(const std::string& xpath) const {
    std::vector<std::string> out;
    if (!doc_) return out;
    xmlXPathContext* ctx = xmlXPathNewContext(doc_.get());
    xmlXPathRegisterNs(ctx, BAD_CAST "odm", BAD_CAST "http://www.cdisc.org/ns/odm/v1.3");
    xmlXPathObject* result = xmlXPathEvalExpression(BAD_CAST xpath.c_str(), ctx);
    EXPECT_NE(result, nullptr) << xpath;
    if (result != nullptr && result->nodesetval != nullptr) {
      for (int i = 0; i < result->nodesetval->nodeNr; ++i) {
        xmlChar* content = xmlNodeGetContent(result->nodesetval->nodeTab[i]);
        out.emplace_back(content ? reinterpret_cast<const char*>(content) : "");
        xmlFree(content);
      }
    }
    xmlXPathFreeObject(result);
    xmlXPathFreeContext(ctx);
    return out;
  }
  size_t Count(const std::string& xpath) const { return Strings(xpath).size(); }

 private:
  std::string text_;
  XmlDocPtr doc_;
};

class OdmExportTest : public CaptureTest {
 protected:
  void SetUp() override {
    CaptureTest::SetUp();
    dir_ = std::filesystem::temp_directory_path() / ("odm_export_test_" + std::to_string(::getpid()) + "_" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // One subject with each kind of change the export carries.
  void Populate() {
    Screen("701-1001");
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"SCREENING1","form":"DM","items":{"INITIALS":"ABC"}})");
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"SCREENING1","form":"VS","items":{"VSPOS":"SITTING",)"
       R"("SYSBP":120,"DIABP":80,"PULSE":70,"WEIGHT":"80.0"},"not_done":{"HEIGHT":"scale broken"}})");
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"SCREENING1","form":"VS","items":{"SYSBP":125},)"
       R"("reason":"Transcription error, corrected from source"})");
    const std::string ae = R"("AESTDTC":"2024-01-10","AEONGO":true,"AESEV":"MILD","AESER":"N","AEREL":"NONE",)"
                           R"("AEACN":"DOSE NOT CHANGED","AEOUT":"RECOVERING/RESOLVING"})";
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"LOGS","form":"AE","rows":[)"
       R"({"group":"AE","items":{"AETERM":"HEADACHE",)" +
       ae + R"(},{"group":"AE","items":{"AETERM":"NAUSEA",)" + ae + "}]}");
    Ok(R"({"op":"row.remove","subject":"701-1001","visit":"LOGS","form":"AE","group":"AE","row":2,)"
       R"("reason":"Entered on the wrong visit, form or subject"})");
    Ok(R"({"op":"sign","subject":"701-1001","visit":"SCREENING1","form":"DM","meaning":"approval","name":"Dr Ada Byron"})",
       kInv);
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"BASELINE","form":"SV","items":{"SVSTDTC":"2024-01-10"}})");
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"BASELINE","form":"RAND","items":{"RANDDT":"2024-01-10"}})");
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"BASELINE","form":"EX","items":{"EXSTDTC":"2024-01-10",)"
       R"("EXDOSE":54,"PATCHES":1}})",
       kPharm);
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"BASELINE","form":"EX","items":{"EXSTDTC":"2024-01-11",)"
       R"("EXDOSE":81},"reason":"Data clarified from source"})",
       kPharm);
    Ok(R"({"op":"sign","subject":"701-1001","visit":"BASELINE","form":"EX","meaning":"approval","name":"Dr Ada Byron"})",
       kInv);
  }

  Result<TransferReport> Export(const std::vector<std::string>& roles, const std::string& name) {
    OdmExportOptions options;
    options.roles = roles;
    options.now_us = capture::kNow;
    options.source_system_version = "test";
    return ExportOdm(*store_, "CDISCPILOT01", *study_, options, (dir_ / name).string());
  }

  static uint64_t Written(const TransferReport& report, const std::string& what) {
    for (const auto& c : report.counts) {
      if (c.what == what) return c.written;
    }
    return 0;
  }

  std::filesystem::path dir_;
};

TEST_F(OdmExportTest, TheFileIsValidAgainstTheOdm132Schema) {
  Populate();
  ASSERT_TRUE(Export({}, "all.xml").ok());
  ASSERT_TRUE(Export({"data_manager"}, "dm.xml").ok());
  auto schema = XmlSchema::Load(kOdmSchema, "the ODM 1.3.2 schema");
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  for (const char* name : {"all.xml", "dm.xml"}) {
    const Status valid = (*schema)->ValidateFile((dir_ / name).string());
    EXPECT_TRUE(valid.ok()) << name << ": " << valid.ToString();
  }
}

TEST_F(OdmExportTest, EveryChangeIsAnItemDataWithItsAuditRecord) {
  Populate();
  auto report = Export({}, "all.xml");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  OdmFile odm((dir_ / "all.xml").string());
  const std::string sysbp = "//odm:ItemData[@ItemOID='I.VS.SYSBP']";
  EXPECT_EQ(odm.Strings(sysbp + "/@Value"), (std::vector<std::string>{"120", "125"}));
  EXPECT_EQ(odm.Strings(sysbp + "/@TransactionType"), (std::vector<std::string>{"Insert", "Update"}));
  EXPECT_EQ(odm.Strings(sysbp + "/odm:AuditRecord/odm:ReasonForChange"),
            (std::vector<std::string>{"Transcription error, corrected from source"}));
  EXPECT_EQ(odm.Strings(sysbp + "/odm:AuditRecord/odm:UserRef/@UserOID"),
            (std::vector<std::string>{"USR.coord.701", "USR.coord.701"}));
  EXPECT_EQ(odm.Strings(sysbp + "/odm:AuditRecord/odm:LocationRef/@LocationOID"),
            (std::vector<std::string>{"LOC.701", "LOC.701"}));
  EXPECT_EQ(odm.Strings(sysbp + "/odm:AuditRecord/odm:DateTimeStamp")[0], "2024-03-01T12:00:00.000000Z");
  // The users the audit records name are defined in AdminData.
  EXPECT_EQ(odm.Count("//odm:AdminData/odm:User[@OID='USR.coord.701']"), 1u);
  EXPECT_EQ(odm.Count("//odm:AdminData/odm:User[@OID='USR.pharm.701']"), 1u);
  // An item not done: no value, the reason beside it.
  EXPECT_EQ(odm.Strings("//odm:ItemData[@ItemOID='I.VS.HEIGHT']/@IsNull"), (std::vector<std::string>{"Yes"}));
  EXPECT_EQ(odm.Strings("//odm:ItemData[@ItemOID='I.VS.HEIGHT']/odm:Annotation/odm:Comment"),
            (std::vector<std::string>{"not done: scale broken"}));
  // The subject's first transaction puts it at its site.
  EXPECT_EQ(odm.Strings("//odm:SubjectData[@TransactionType='Insert']/odm:SiteRef/@LocationOID"),
            (std::vector<std::string>{"LOC.701"}));
  // Rows keep their numbers; the removed one is removed with its reason.
  EXPECT_EQ(odm.Strings("//odm:ItemData[@ItemOID='I.AE.AETERM']/../@ItemGroupRepeatKey"),
            (std::vector<std::string>{"1", "2"}));
  const std::string removed = "//odm:ItemGroupData[@ItemGroupOID='IG.AE.AE'][@TransactionType='Remove']";
  EXPECT_EQ(odm.Strings(removed + "/@ItemGroupRepeatKey"), (std::vector<std::string>{"2"}));
  EXPECT_EQ(odm.Strings(removed + "/odm:AuditRecord/odm:ReasonForChange"),
            (std::vector<std::string>{"Entered on the wrong visit, form or subject"}));
  // Every ItemData written is counted, and each has exactly one audit record.
  EXPECT_EQ(odm.Count("//odm:ItemData[not(@IsNull)]"), Written(*report, "item values"));
  EXPECT_EQ(odm.Count("//odm:ItemData[count(odm:AuditRecord) != 1]"), 0u);
  EXPECT_EQ(odm.Count("//odm:AuditRecord"), Written(*report, "audit records"));
}

TEST_F(OdmExportTest, SignaturesNameSignerMeaningAndTheHashOfWhatWasSigned) {
  Populate();
  ASSERT_TRUE(Export({}, "all.xml").ok());
  OdmFile odm((dir_ / "all.xml").string());
  const std::string dm = "//odm:StudyEventData[@StudyEventOID='SE.SCREENING1']/odm:FormData[@FormOID='F.DM']";
  EXPECT_EQ(odm.Strings(dm + "/odm:Signature/odm:UserRef/@UserOID"), (std::vector<std::string>{"USR.inv.701"}));
  EXPECT_EQ(odm.Strings(dm + "/odm:Signature/odm:SignatureRef/@SignatureOID"),
            (std::vector<std::string>{"SD.approval"}));
  EXPECT_EQ(odm.Count("//odm:AdminData/odm:SignatureDef[@OID='SD.approval']"), 1u);
  const auto note = odm.Strings(dm + "/odm:Annotation/odm:Comment");
  ASSERT_EQ(note.size(), 1u);
  EXPECT_NE(note[0].find("signed (approval) by Dr Ada Byron as investigator"), std::string::npos) << note[0];
  EXPECT_NE(note[0].find("SHA-256 of the signed content "), std::string::npos) << note[0];
}

TEST_F(OdmExportTest, ABlindedViewHasNoUnblindedOnlyValueNorTheReasonOfAChangeThatCoveredOne) {
  Populate();
  auto all = Export({}, "all.xml");
  auto blinded = Export({"data_manager"}, "dm.xml");
  ASSERT_TRUE(all.ok() && blinded.ok());
  OdmFile everything((dir_ / "all.xml").string());
  OdmFile dm((dir_ / "dm.xml").string());
  EXPECT_EQ(everything.Strings("//odm:ItemData[@ItemOID='I.EX.EXDOSE']/@Value"),
            (std::vector<std::string>{"54", "81"}));
  EXPECT_EQ(dm.Count("//odm:ItemData[@ItemOID='I.EX.EXDOSE']"), 0u);
  EXPECT_EQ(dm.Count("//odm:ItemData[@ItemOID='I.EX.PATCHES']"), 0u);
  // The start date is there, twice, but the reason of the change that also
  // changed the dose is not (it may speak of the dose).
  const std::string start = "//odm:ItemData[@ItemOID='I.EX.EXSTDTC']";
  EXPECT_EQ(dm.Strings(start + "/@Value"), (std::vector<std::string>{"2024-01-10", "2024-01-11"}));
  EXPECT_EQ(dm.Count(start + "/odm:AuditRecord/odm:ReasonForChange"), 0u);
  EXPECT_EQ(everything.Strings(start + "/odm:AuditRecord/odm:ReasonForChange"),
            (std::vector<std::string>{"Data clarified from source"}));
  EXPECT_EQ(dm.text().find("Data clarified from source"), std::string::npos);
  // Nor the hash of a signature over the dose.
  const std::string ex_note = "//odm:FormData[@FormOID='F.EX']/odm:Annotation/odm:Comment";
  ASSERT_EQ(dm.Strings(ex_note).size(), 1u);
  EXPECT_EQ(dm.Strings(ex_note)[0].find("SHA-256"), std::string::npos);
  EXPECT_NE(everything.Strings(ex_note)[0].find("SHA-256"), std::string::npos);
  // The report counts what was left out.
  bool counted = false;
  for (const auto& n : blinded->not_carried) counted |= n.what == "unblinded-only item values";
  EXPECT_TRUE(counted);
  EXPECT_EQ(Written(*all, "item values") - Written(*blinded, "item values"), 4u);  // EXDOSE twice, PATCHES, INITIALS
}

TEST_F(OdmExportTest, IdentifyingItemsAreDisclosedAsTheRoleMaySeeThem) {
  Populate();
  ASSERT_TRUE(Export({"sponsor_viewer"}, "sponsor.xml").ok());
  OdmFile odm((dir_ / "sponsor.xml").string());
  EXPECT_EQ(odm.Count("//odm:ItemData[@ItemOID='I.DM.INITIALS']"), 0u);
  EXPECT_EQ(odm.Strings("//odm:ItemData[@ItemOID='I.DM.BRTHDTC']/@Value"), (std::vector<std::string>{"1940"}));
  EXPECT_EQ(odm.text().find("1940-05-10"), std::string::npos);
  ASSERT_TRUE(Export({"coordinator"}, "site.xml").ok());
  OdmFile site((dir_ / "site.xml").string());
  EXPECT_EQ(site.Strings("//odm:ItemData[@ItemOID='I.DM.INITIALS']/@Value"), (std::vector<std::string>{"ABC"}));
  EXPECT_EQ(site.Strings("//odm:ItemData[@ItemOID='I.DM.BRTHDTC']/@Value"), (std::vector<std::string>{"1940-05-10"}));
}

TEST_F(OdmExportTest, TheDefinitionCarriesVisitsFormsItemsCodeListsRangesAndExpressions) {
  Populate();
  ASSERT_TRUE(Export({}, "all.xml").ok());
  OdmFile odm((dir_ / "all.xml").string());
  EXPECT_EQ(odm.Count("//odm:StudyEventDef"), study_->visits.size());
  EXPECT_EQ(odm.Count("//odm:FormDef"), study_->forms.size());
  EXPECT_EQ(odm.Count("//odm:CodeList"), study_->codelists.size());
  EXPECT_EQ(odm.Strings("//odm:StudyEventDef[@OID='SE.AEFU']/@Type"), (std::vector<std::string>{"Unscheduled"}));
  EXPECT_EQ(odm.Strings("//odm:ItemGroupDef[@OID='IG.AE.AE']/@Repeating"), (std::vector<std::string>{"Yes"}));
  const std::string sysbp = "//odm:ItemDef[@OID='I.VS.SYSBP']";
  EXPECT_EQ(odm.Strings(sysbp + "/@DataType"), (std::vector<std::string>{"integer"}));
  EXPECT_EQ(odm.Strings(sysbp + "/odm:RangeCheck[@SoftHard='Hard']/odm:CheckValue"),
            (std::vector<std::string>{"40", "300"}));
  EXPECT_EQ(odm.Strings(sysbp + "/odm:MeasurementUnitRef/@MeasurementUnitOID"), (std::vector<std::string>{"MU.mmHg"}));
  EXPECT_EQ(odm.Strings("//odm:ItemDef[@OID='I.DM.SEX']/odm:CodeListRef/@CodeListOID"),
            (std::vector<std::string>{"CL.SEX"}));
  EXPECT_EQ(odm.Strings("//odm:CodeList[@OID='CL.SEX']/odm:CodeListItem/odm:Decode/odm:TranslatedText"),
            (std::vector<std::string>{"Male", "Female"}));
  EXPECT_EQ(odm.Strings("//odm:ItemRef[@ItemOID='I.DM.POSTMENO']/@CollectionExceptionConditionOID"),
            (std::vector<std::string>{"COND.DM.POSTMENO"}));
  EXPECT_EQ(odm.Strings("//odm:ConditionDef[@OID='COND.DM.POSTMENO']/odm:FormalExpression"),
            (std::vector<std::string>{"not (SEX = \"F\")"}));
  EXPECT_EQ(odm.Strings("//odm:MethodDef[@OID='MT.DM.AGE']/odm:FormalExpression/@Context"),
            (std::vector<std::string>{"trialcore"}));
}

TEST_F(OdmExportTest, ATargetThatCannotBeWrittenIsNamedAndNothingIsLeftBehind) {
  Populate();
  auto missing = ExportOdm(*store_, "CDISCPILOT01", *study_, {}, (dir_ / "missing" / "x.xml").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no such directory"), std::string::npos) << missing.status().ToString();
  auto directory = ExportOdm(*store_, "CDISCPILOT01", *study_, {}, dir_.string());
  ASSERT_FALSE(directory.ok());
  EXPECT_NE(directory.status().message().find("is a directory"), std::string::npos);
  // A second export replaces the first whole; no temporary file stays.
  ASSERT_TRUE(Export({}, "all.xml").ok());
  ASSERT_TRUE(Export({"data_manager"}, "all.xml").ok());
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) files.push_back(entry.path().filename());
  EXPECT_EQ(files, (std::vector<std::string>{"all.xml"}));
  OdmFile odm((dir_ / "all.xml").string());
  EXPECT_EQ(odm.Count("//odm:ItemData[@ItemOID='I.EX.EXDOSE']"), 0u);
}

}  // namespace
}  // namespace trialcore::standards
