// E2B(R3): FDA's example messages in and out again, an IND SAE built in code,
// FDA's business rules, bad input, and FDA's acknowledgements. The data is
// FDA's (../shared/data/e2b), found through TRIALCORE_SHARED_DATA.
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "safety/case_report.h"
#include "safety/case_report_sample.h"
#include "safety/e2b_ack.h"
#include "safety/e2b_export.h"
#include "safety/e2b_import.h"
#include "safety/e2b_map.h"
#include "safety/e2b_validate.h"
#include "safety/icsr.h"

namespace trialcore::safety {
namespace {

const std::string kE2b = std::string(TRIALCORE_SHARED_DATA) + "/e2b";
const char* const kExamples[] = {"FAERS2022Scenario1.xml", "FAERS2022Scenario3.xml", "FAERS2022Scenario4.xml"};
// 2026-12-02 12:00:00 UTC, the clock of the rule checks.
constexpr int64_t kNow = 1796212800;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

using ElementKey = std::tuple<std::string, std::vector<uint16_t>, std::string, std::string, std::string>;

// The (element number, repeat path, value) set an ICSR carries; ids of
// reactions and drugs are compared too.
std::vector<ElementKey> Keys(const Icsr& icsr) {
  std::vector<ElementKey> keys;
  for (const auto& e : icsr.elements()) keys.emplace_back(e.number, e.index, e.value, e.null_flavor, e.code_system);
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::string Describe(const std::vector<E2bFinding>& findings) {
  std::string out;
  for (const auto& f : findings) {
    out += (f.rejection ? "REJECT " : "warn ") + f.rule + " " + f.element + ": " + f.message + "\n";
  }
  return out;
}

bool HasFinding(const std::vector<E2bFinding>& findings, const std::string& rule, const std::string& element) {
  return std::any_of(findings.begin(), findings.end(),
                     [&](const E2bFinding& f) { return f.rule == rule && f.element == element; });
}

class E2bTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto schemas = E2bSchemas::Load(kE2b + "/schemas");
    ASSERT_TRUE(schemas.ok()) << schemas.status().ToString();
    schemas_ = std::move(schemas).value().release();
    auto rules =
        E2bRules::Parse(Slurp(kE2b + "/fda-icsr-data-elements.csv"), Slurp(kE2b + "/fda-rejection-warning-rules.csv"));
    ASSERT_TRUE(rules.ok()) << rules.status().ToString();
    rules_ = new E2bRules(std::move(rules).value());
  }
  static void TearDownTestSuite() {
    delete schemas_;
    delete rules_;
  }

  // An IND safety report as the workflow builds it from a clinical-trial SAE
  // (case_report.h): one patient, one reaction coded in MedDRA, one suspect
  // drug, hospitalised, related by investigator and sponsor; day 0 on
  // 2026-11-28, sent on 2026-12-01 at 09:30 UTC.
  static CaseReport IndSaeCase() {
    CaseReport c = SampleIndSae("TRIALCORE-SPONSOR", "0001", "101-0007");
    c.medical_history = "None";
    c.narrative = "A 54-year-old woman in study TC-101 was admitted with pneumonia on day 12 & recovered.";
    return c;
  }

  static Icsr IcsrOf(const CaseReport& c) {
    auto icsr = IcsrFromCase(c);
    EXPECT_TRUE(icsr.ok()) << icsr.status().ToString();
    return icsr.ok() ? *icsr : Icsr();
  }

  static Icsr BuildIndSae() { return IcsrOf(IndSaeCase()); }

  static E2bBatchHeader IndHeader() { return BatchHeaderFor(IndSaeCase(), "ZZFDA_PREMKT", "TC-BATCH-0001"); }

  static E2bSchemas* schemas_;
  static E2bRules* rules_;
};

E2bSchemas* E2bTest::schemas_ = nullptr;
E2bRules* E2bTest::rules_ = nullptr;

TEST_F(E2bTest, FdaExamplesImportWithEveryValueRead) {
  for (const char* name : kExamples) {
    SCOPED_TRACE(name);
    auto batch = ImportE2bBatch(Slurp(kE2b + "/examples/" + name), name, schemas_);
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    ASSERT_EQ(batch->icsrs.size(), 1u);
    EXPECT_GT(batch->icsrs[0].elements().size(), 60u);
    EXPECT_EQ(batch->header.sender, "4567AB89012");
  }
  auto s3 = ImportE2bBatch(Slurp(kE2b + "/examples/FAERS2022Scenario3.xml"), "s3");
  ASSERT_TRUE(s3.ok()) << s3.status().ToString();
  const Icsr& c = s3->icsrs[0];
  EXPECT_EQ(s3->header.receiver, "ZZFDA_PREMKT");
  EXPECT_EQ(c.safety_report_id(), "US-APHARMA-8744554B");
  EXPECT_EQ(c.receiver_id(), "CDER_IND");
  EXPECT_EQ(c.Value("FDA.C.5.5a"), "123456");
  EXPECT_EQ(c.All("FDA.C.5.6.r").size(), 2u);
  ASSERT_FALSE(c.reactions().empty());
  EXPECT_EQ(c.reactions()[0].meddra_llt_code, "10027940");
  EXPECT_EQ(c.reactions()[0].meddra_version, "25.0");
  EXPECT_EQ(c.patient().initials, "JD");
  EXPECT_EQ(c.patient().age, "48");
  EXPECT_EQ(c.patient().sex, "1");
  ASSERT_EQ(c.drugs().size(), 3u);
  EXPECT_FALSE(c.suspect_drugs().empty());
  EXPECT_FALSE(c.causality().empty());
}

TEST_F(E2bTest, FdaExamplesRoundTripElementByElement) {
  for (const char* name : kExamples) {
    SCOPED_TRACE(name);
    auto first = ImportE2bBatch(Slurp(kE2b + "/examples/" + name), name, schemas_);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    auto xml = ExportE2bBatch(first->header, first->icsrs);
    ASSERT_TRUE(xml.ok()) << xml.status().ToString();
    Status valid = schemas_->ValidateIcsrBatch(*xml, std::string("re-exported ") + name);
    ASSERT_TRUE(valid.ok()) << valid.ToString() << "\n" << *xml;
    auto second = ImportE2bBatch(*xml, std::string("re-exported ") + name, schemas_);
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    EXPECT_EQ(second->header, first->header);
    ASSERT_EQ(second->icsrs.size(), 1u);
    EXPECT_EQ(Keys(second->icsrs[0]), Keys(first->icsrs[0]));
  }
}

TEST_F(E2bTest, IndSaeBuiltInCodeExportsSchemaValidAndPassesFdaRules) {
  const Icsr sae = BuildIndSae();
  auto findings = rules_->Check(IndHeader(), sae, FdaRoute::kPremarket, kNow);
  EXPECT_FALSE(HasRejection(findings)) << Describe(findings);
  auto xml = ExportE2bBatch(IndHeader(), std::vector<Icsr>{sae});
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
  Status valid = schemas_->ValidateIcsrBatch(*xml, "sae.xml");
  ASSERT_TRUE(valid.ok()) << valid.ToString() << "\n" << *xml;
  EXPECT_TRUE(Contains(*xml, "day 12 &amp; recovered"));
  // Text and attributes that need escaping come back as they were.
  Icsr tricky = sae;
  tricky.Set("H.1", {}, "Line one <b>\n\"quoted\" caf\xc3\xa9 & more");
  tricky.Set("C.5.3", {}, "TC \"101\" <x>\tA&B");
  auto tricky_xml = ExportE2bBatch(IndHeader(), std::vector<Icsr>{tricky}, schemas_);
  ASSERT_TRUE(tricky_xml.ok()) << tricky_xml.status().ToString();
  auto tricky_back = ImportE2bBatch(*tricky_xml, "tricky.xml", schemas_);
  ASSERT_TRUE(tricky_back.ok()) << tricky_back.status().ToString();
  EXPECT_EQ(tricky_back->icsrs[0].narrative(), tricky.narrative());
  EXPECT_EQ(tricky_back->icsrs[0].Value("C.5.3"), "TC \"101\" <x>\tA&B");
  // What the workflow reads back is what it wrote, plus the generated ids.
  auto back = ImportE2bBatch(*xml, "sae.xml", schemas_);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  const Icsr& c = back->icsrs[0];
  EXPECT_EQ(c.safety_report_id(), "US-TRIALCORESPONSOR-0001");
  EXPECT_FALSE(c.Value("E.i.0", {1}).empty());
  EXPECT_FALSE(c.Value("G.k.0", {1}).empty());
  Icsr without_ids = c;
  without_ids.Remove("E.i.0", {1});
  without_ids.Remove("G.k.0", {1});
  EXPECT_EQ(Keys(without_ids), Keys(sae));
  ASSERT_EQ(c.reactions().size(), 1u);
  EXPECT_TRUE(c.reactions()[0].seriousness[2]);   // hospitalisation
  EXPECT_FALSE(c.reactions()[0].seriousness[0]);  // not death
  ASSERT_EQ(c.causality().size(), 2u);            // the sponsor's and the investigator's
  EXPECT_EQ(c.causality()[0].result, "Suspected");
  EXPECT_EQ(c.causality()[1].result, "Suspected");
  // The same case exports the same bytes (stable generated ids).
  EXPECT_EQ(*ExportE2bBatch(IndHeader(), std::vector<Icsr>{sae}), *xml);
}

TEST_F(E2bTest, BatchOfSeveralIcsrsIsOneMessagePerCaseVersion) {
  const CaseReport first = IndSaeCase();
  CaseReport follow_up = first;
  follow_up.version = 2;
  follow_up.latest_received_us = first.transmission_us;
  follow_up.outcome = "RECOVERED";
  Icsr v1 = IcsrOf(first);
  Icsr v2 = IcsrOf(follow_up);
  auto xml = ExportE2bBatch(IndHeader(), std::vector<Icsr>{v1, v2});
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
  ASSERT_TRUE(schemas_->ValidateIcsrBatch(*xml, "batch.xml").ok());
  auto back = ImportE2bBatch(*xml, "batch.xml", schemas_);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->icsrs.size(), 2u);
  EXPECT_EQ(back->icsrs[0].message_id(), "US-TRIALCORESPONSOR-0001-v1");
  EXPECT_EQ(back->icsrs[1].message_id(), "US-TRIALCORESPONSOR-0001-v2");
  EXPECT_EQ(back->icsrs[1].reactions()[0].outcome, "1");
  EXPECT_EQ(back->header, IndHeader());
}

TEST_F(E2bTest, MissingRequiredElementIsARejectionNamingIt) {
  Icsr sae = BuildIndSae();
  ASSERT_TRUE(sae.Remove("FDA.C.1.7.1", {}));
  auto findings = rules_->Check(IndHeader(), sae, FdaRoute::kPremarket, kNow);
  EXPECT_TRUE(HasRejection(findings));
  EXPECT_TRUE(HasFinding(findings, "required", "FDA.C.1.7.1")) << Describe(findings);

  Icsr no_llt = BuildIndSae();
  ASSERT_TRUE(no_llt.Remove("E.i.2.1b", {1}));
  findings = rules_->Check(IndHeader(), no_llt, FdaRoute::kPremarket, kNow);
  EXPECT_TRUE(HasFinding(findings, "required", "E.i.2.1b[1]")) << Describe(findings);

  // An IND study report without the IND number breaks FDA's R0024.
  Icsr no_ind = BuildIndSae();
  ASSERT_TRUE(no_ind.Remove("FDA.C.5.5a", {}));
  findings = rules_->Check(IndHeader(), no_ind, FdaRoute::kPremarket, kNow);
  EXPECT_TRUE(HasFinding(findings, "R0024", "FDA.C.5.5a")) << Describe(findings);

  // No medical history at all: FDA wants D.7.2 (R0035).
  Icsr no_history = BuildIndSae();
  ASSERT_TRUE(no_history.Remove("D.7.2", {}));
  findings = rules_->Check(IndHeader(), no_history, FdaRoute::kPremarket, kNow);
  EXPECT_TRUE(HasFinding(findings, "R0035", "D.7.2")) << Describe(findings);

  // An aggregate report with ethnicity given: a warning, not a rejection (W0004).
  Icsr aggregate = BuildIndSae();
  aggregate.Set("D.1", {}, "AGGREGRATE");
  findings = rules_->Check(IndHeader(), aggregate, FdaRoute::kPremarket, kNow);
  auto w = std::find_if(findings.begin(), findings.end(), [](const E2bFinding& f) { return f.rule == "W0004"; });
  ASSERT_NE(w, findings.end()) << Describe(findings);
  EXPECT_FALSE(w->rejection);
  EXPECT_TRUE(Contains(w->message, "FDA.D.12 should be provided as nullFlavor"));

  // Sent on the wrong route: R0005 (batch receiver) and R0006 (centre).
  E2bBatchHeader post = IndHeader();
  post.receiver = "ZZFDA";
  findings = rules_->Check(post, BuildIndSae(), FdaRoute::kPremarket, kNow);
  EXPECT_TRUE(HasFinding(findings, "R0005", "N.1.4")) << Describe(findings);
  EXPECT_TRUE(HasFinding(findings, "R0006", "N.2.r.3")) << Describe(findings);
}

// A 7-Day IND safety report (fatal or life-threatening) is code 6 on the
// premarket route (FDA's R0016); R0012-R0015, which allow only 1 for an
// expedited report, are FDA's postmarket rules.
TEST_F(E2bTest, SevenDayReportTypeIsPremarketOnly) {
  Icsr seven_day = BuildIndSae();
  seven_day.Set("FDA.C.1.7.1", {}, "6");
  auto findings = rules_->Check(IndHeader(), seven_day, FdaRoute::kPremarket, kNow);
  EXPECT_FALSE(HasRejection(findings)) << Describe(findings);
  E2bBatchHeader post = IndHeader();
  post.receiver = "ZZFDA";
  findings = rules_->Check(post, seven_day, FdaRoute::kPostmarket, kNow);
  EXPECT_TRUE(HasFinding(findings, "R0014", "FDA.C.1.7.1")) << Describe(findings);
  seven_day.Set("FDA.C.1.7.1", {}, "4");
  findings = rules_->Check(IndHeader(), seven_day, FdaRoute::kPremarket, kNow);
  EXPECT_TRUE(HasFinding(findings, "R0016", "FDA.C.1.7.1")) << Describe(findings);
}

TEST_F(E2bTest, CaseMissingWhatTheSchemaRequiresFailsValidationNamingTheElement) {
  Icsr sae = BuildIndSae();
  ASSERT_TRUE(sae.Remove("C.1.1", {}));
  ASSERT_TRUE(sae.Remove("C.1.8.1", {}));
  auto xml = ExportE2bBatch(IndHeader(), std::vector<Icsr>{sae});
  ASSERT_TRUE(xml.ok());
  Status valid = schemas_->ValidateIcsrBatch(*xml, "no-id.xml");
  ASSERT_FALSE(valid.ok());
  EXPECT_TRUE(Contains(valid.message(), "no-id.xml:")) << valid.message();
  // The schema names what it expected instead: the report's id.
  EXPECT_TRUE(Contains(valid.message(), "Expected is one of")) << valid.message();
  EXPECT_TRUE(Contains(valid.message(), "{urn:hl7-org:v3}id")) << valid.message();
}

TEST_F(E2bTest, FutureDateAndImpreciseDateAreRejections) {
  Icsr sae = BuildIndSae();
  sae.Set("E.i.4", {1}, "20261204");  // two days after the clock
  auto findings = rules_->Check(IndHeader(), sae, FdaRoute::kPremarket, kNow);
  EXPECT_TRUE(HasFinding(findings, "future-date", "E.i.4[1]")) << Describe(findings);
  sae.Set("E.i.4", {1}, "20261202");  // today, somewhere
  findings = rules_->Check(IndHeader(), sae, FdaRoute::kPremarket, kNow);
  EXPECT_FALSE(HasFinding(findings, "future-date", "E.i.4[1]")) << Describe(findings);
  sae.Set("C.1.2", {}, "20261201");  // the creation time needs the second
  findings = rules_->Check(IndHeader(), sae, FdaRoute::kPremarket, kNow);
  EXPECT_TRUE(HasFinding(findings, "date-precision", "C.1.2")) << Describe(findings);
  sae.Set("C.1.2", {}, "20261202130000+0000");  // an hour after the clock
  findings = rules_->Check(IndHeader(), sae, FdaRoute::kPremarket, kNow);
  EXPECT_TRUE(HasFinding(findings, "future-date", "C.1.2")) << Describe(findings);
}

TEST_F(E2bTest, MaxLengthAndAllowedValuesFromFdaList) {
  Icsr sae = BuildIndSae();
  sae.Set("C.1.3", {}, "7");
  sae.Set("D.1", {}, std::string(61, 'X'));
  auto findings = rules_->Check(IndHeader(), sae, FdaRoute::kPremarket, kNow);
  EXPECT_TRUE(HasFinding(findings, "allowed-values", "C.1.3")) << Describe(findings);
  EXPECT_TRUE(HasFinding(findings, "max-length", "D.1")) << Describe(findings);
  // 60 characters of two bytes each fit D.1's 60.
  std::string accented;
  for (int n = 0; n < 60; ++n) accented += "\xc3\xa9";
  sae.Set("D.1", {}, accented);
  findings = rules_->Check(IndHeader(), sae, FdaRoute::kPremarket, kNow);
  EXPECT_FALSE(HasFinding(findings, "max-length", "D.1")) << Describe(findings);
}

TEST_F(E2bTest, MalformedXmlNamesFileAndLine) {
  auto batch = ImportE2bBatch(
      "<?xml version=\"1.0\"?>\n<MCCI_IN200100UV01 xmlns=\"urn:hl7-org:v3\">\n<id "
      "extension=\"x\"></idd>\n</MCCI_IN200100UV01>\n",
      "broken.xml");
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(batch.status().message(), "broken.xml:3: malformed XML: Opening and ending tag mismatch: id"))
      << batch.status().message();
}

TEST_F(E2bTest, SchemaErrorsOnImportNameLine) {
  std::string xml = Slurp(kE2b + "/examples/FAERS2022Scenario1.xml");
  const std::string from = "<statusCode code=\"active\"/>";
  ASSERT_NE(xml.find(from), std::string::npos);
  xml.replace(xml.find(from), from.size(), "<statusCode code=\"active\"/><unexpected/>");
  auto batch = ImportE2bBatch(xml, "scenario1-bad.xml", schemas_);
  ASSERT_FALSE(batch.ok());
  EXPECT_TRUE(Contains(batch.status().message(), "scenario1-bad.xml:")) << batch.status().message();
  EXPECT_TRUE(Contains(batch.status().message(), "unexpected")) << batch.status().message();
}

TEST_F(E2bTest, ValueWithoutAnElementIsNamedAndNothingImported) {
  std::string xml = Slurp(kE2b + "/examples/FAERS2022Scenario1.xml");
  const std::string from = "<birthTime value=\"";
  ASSERT_NE(xml.find(from), std::string::npos);
  // A foetus's gestation is in the schema, not in our table: it must not vanish.
  xml.replace(xml.find(from), from.size(), "<birthTime nonsense=\"42\" value=\"");
  auto batch = ImportE2bBatch(xml, "scenario1-extra.xml");
  ASSERT_FALSE(batch.ok());
  EXPECT_TRUE(Contains(batch.status().message(), "player1/birthTime/@nonsense = \"42\"")) << batch.status().message();
  EXPECT_TRUE(Contains(batch.status().message(), "nothing was imported")) << batch.status().message();
}

TEST_F(E2bTest, ElementWithoutMappingIsRefusedOnExport) {
  Icsr sae = BuildIndSae();
  sae.Set("Z.9.9", {}, "x");
  auto xml = ExportE2bBatch(IndHeader(), std::vector<Icsr>{sae});
  ASSERT_FALSE(xml.ok());
  EXPECT_TRUE(Contains(xml.status().message(), "Z.9.9 has no E2B(R3) mapping"));
  Icsr empty = BuildIndSae();
  empty.Set("D.1", {}, "");
  xml = ExportE2bBatch(IndHeader(), std::vector<Icsr>{empty});
  ASSERT_FALSE(xml.ok());
  EXPECT_TRUE(Contains(xml.status().message(), "D.1 has neither a value nor a null flavour")) << xml.status().message();
  Icsr not_utf8 = BuildIndSae();
  not_utf8.Set("H.1", {}, "caf\xe9 au lait");  // Latin-1, not UTF-8
  xml = ExportE2bBatch(IndHeader(), std::vector<Icsr>{not_utf8});
  ASSERT_FALSE(xml.ok());
  EXPECT_TRUE(Contains(xml.status().message(), "H.1 is not valid UTF-8")) << xml.status().message();
  Icsr bad_index = BuildIndSae();
  bad_index.Set("E.i.7", {}, "1");
  xml = ExportE2bBatch(IndHeader(), std::vector<Icsr>{bad_index});
  ASSERT_FALSE(xml.ok());
  EXPECT_TRUE(Contains(xml.status().message(), "E.i.7 needs 1 repeat indices")) << xml.status().message();
}

TEST_F(E2bTest, PositiveAckAcceptsBatchAndMessage) {
  auto ack = ParseE2bAck(Slurp(kE2b + "/examples/R3ack-positive.ack"), "R3ack-positive.ack", schemas_);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(ack->batch_code, "AA");
  EXPECT_EQ(ack->acked_batch_number, "FAERS2022Scenario1-4069-a2dd-08002b30309d");
  EXPECT_EQ(ack->sender, "ZZFDA");
  ASSERT_EQ(ack->messages.size(), 1u);
  EXPECT_EQ(ack->messages[0].code, "CA");
  EXPECT_TRUE(ack->messages[0].accepted());
  EXPECT_EQ(ack->messages[0].local_report_number, "19426648");
  EXPECT_EQ(ack->messages[0].errors, std::vector<std::string>{"Report Loaded Successfully"});
  // FDA names the message by N.2.r.1 and C.1.1 of FAERS2022Scenario3.
  EXPECT_TRUE(ack->messages[0].Names("21ec1492-3aea-4069-a2ab-08002b30309d"));
  EXPECT_TRUE(ack->messages[0].Names("US-APHARMA-8744554B"));
  std::vector<std::string> sent = {"21ec1492-3aea-4069-a2ab-08002b30309d"};
  EXPECT_TRUE(CheckAckTargets(*ack, "FAERS2022Scenario1-4069-a2dd-08002b30309d", sent).ok());
  std::vector<std::string> other = {"some-other-message"};
  Status unknown = CheckAckTargets(*ack, "FAERS2022Scenario1-4069-a2dd-08002b30309d", other);
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(unknown.message(), "did not send"));
  EXPECT_EQ(CheckAckTargets(*ack, "another-batch", sent).code(), StatusCode::kNotFound);
}

TEST_F(E2bTest, NegativeAckRejectsMessageWithErrorTexts) {
  auto ack = ParseE2bAck(Slurp(kE2b + "/examples/R3ack-negative.ack"), "R3ack-negative.ack", schemas_);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(ack->batch_code, "AE");
  EXPECT_EQ(ack->batch_errors, std::vector<std::string>{"some ICSR message(s) need further action"});
  ASSERT_EQ(ack->messages.size(), 1u);
  const auto& m = ack->messages[0];
  EXPECT_EQ(m.code, "CR");
  EXPECT_FALSE(m.accepted());
  EXPECT_EQ(m.acked_message, "US-APHARMA-7644554");
  ASSERT_GE(m.errors.size(), 3u);
  EXPECT_EQ(m.errors[0], "Element value for SafetyCasePriority With Tag Id FDA.C.1.7.1 is Mandatory.");
  EXPECT_EQ(m.errors[2], "Patient Ethnicity Code (FDA.D.12) must be provided");
}

TEST_F(E2bTest, FileThatIsNotAnAckIsRefused) {
  auto ack = ParseE2bAck(Slurp(kE2b + "/examples/FAERS2022Scenario1.xml"), "FAERS2022Scenario1.xml");
  ASSERT_FALSE(ack.ok());
  EXPECT_TRUE(Contains(ack.status().message(), "FAERS2022Scenario1.xml:"));
  EXPECT_TRUE(Contains(ack.status().message(), "<MCCI_IN200100UV01> is not an E2B(R3) acknowledgement"));
  std::string bad = Slurp(kE2b + "/examples/R3ack-positive.ack");
  bad.replace(bad.find("typeCode=\"CA\""), 13, "typeCode=\"XX\"");
  ack = ParseE2bAck(bad, "bad.ack");
  ASSERT_FALSE(ack.ok());
  EXPECT_TRUE(Contains(ack.status().message(), "\"XX\" is not CA or CR")) << ack.status().message();
  auto not_icsr = ImportE2bBatch(Slurp(kE2b + "/examples/R3ack-positive.ack"), "R3ack-positive.ack");
  ASSERT_FALSE(not_icsr.ok());
  EXPECT_TRUE(Contains(not_icsr.status().message(), "is not an E2B(R3) ICSR batch"));
}

TEST_F(E2bTest, SchemasThatAreNotThereAreNamed) {
  auto schemas = E2bSchemas::Load("/nonexistent/e2b");
  ASSERT_FALSE(schemas.ok());
  EXPECT_TRUE(Contains(schemas.status().message(), "/nonexistent/e2b/multicacheschemas/MCCI_IN200100UV01.xsd"))
      << schemas.status().message();
}

TEST_F(E2bTest, FdaRulesReadFromFdaLists) {
  EXPECT_GT(rules_->element_count(), 200u);
  const auto* c13 = rules_->Find("C.1.3");
  ASSERT_NE(c13, nullptr);
  EXPECT_EQ(c13->values, (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_TRUE(c13->required_ich);
  const auto* d1 = rules_->Find("D.1");
  ASSERT_NE(d1, nullptr);
  EXPECT_EQ(d1->max_length, 60);
  auto broken = E2bRules::Parse("a,b\n", "");
  EXPECT_FALSE(broken.ok());
}

// Every value a message carries, read with libxml2 directly (not through the
// mapping table): attribute values and text, by element name, leaving out
// the attributes that only carry structure. Used to show that a re-exported
// example still holds every value the original held.
std::multiset<std::string> CarriedValues(const std::string& xml) {
  std::multiset<std::string> out;
  xmlDoc* doc = xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "x.xml", nullptr, XML_PARSE_NONET);
  EXPECT_NE(doc, nullptr);
  if (!doc) return out;
  std::function<void(xmlNode*)> walk = [&](xmlNode* n) {
    for (; n; n = n->next) {
      if (n->type != XML_ELEMENT_NODE) continue;
      const std::string name = reinterpret_cast<const char*>(n->name);
      for (xmlAttr* a = n->properties; a; a = a->next) {
        const std::string attr = reinterpret_cast<const char*>(a->name);
        if (a->ns || attr == "classCode" || attr == "moodCode" || attr == "typeCode" || attr == "determinerCode" ||
            attr == "displayName" || attr == "codeSystemVersion" || attr == "ITSVersion") {
          continue;
        }
        xmlChar* v = xmlNodeListGetString(doc, a->children, 1);
        out.insert(name + "/@" + attr + "=" + (v ? reinterpret_cast<const char*>(v) : ""));
        xmlFree(v);
      }
      std::string text;
      for (xmlNode* c = n->children; c; c = c->next) {
        if (c->type == XML_TEXT_NODE && c->content) text += reinterpret_cast<const char*>(c->content);
      }
      size_t b = text.find_first_not_of(" \t\r\n");
      if (b != std::string::npos) out.insert(name + "=" + text.substr(b, text.find_last_not_of(" \t\r\n") - b + 1));
      walk(n->children);
    }
  };
  walk(xmlDocGetRootElement(doc));
  xmlFreeDoc(doc);
  return out;
}

TEST_F(E2bTest, ReExportedExamplesCarryEveryValueTheOriginalsCarried) {
  for (const char* name : kExamples) {
    SCOPED_TRACE(name);
    const std::string original = Slurp(kE2b + "/examples/" + name);
    auto batch = ImportE2bBatch(original, name, schemas_);
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    auto xml = ExportE2bBatch(batch->header, batch->icsrs, schemas_);
    ASSERT_TRUE(xml.ok()) << xml.status().ToString();
    std::multiset<std::string> before = CarriedValues(original), after = CarriedValues(*xml);
    std::vector<std::string> lost;
    std::set_difference(before.begin(), before.end(), after.begin(), after.end(), std::back_inserter(lost));
    // The schema location hint is the only value left behind.
    lost.erase(std::remove_if(lost.begin(), lost.end(),
                              [](const std::string& v) { return v.find("schemaLocation") != std::string::npos; }),
               lost.end());
    std::string listed;
    for (const auto& v : lost) listed += v + "\n";
    EXPECT_TRUE(lost.empty()) << lost.size() << " value(s) lost:\n" << listed;
    EXPECT_GT(before.size(), 150u);
  }
}

TEST_F(E2bTest, FdaExamplesBreakNoFdaRule) {
  for (const char* name : kExamples) {
    SCOPED_TRACE(name);
    auto batch = ImportE2bBatch(Slurp(kE2b + "/examples/" + name), name);
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    const FdaRoute route = batch->header.receiver == "ZZFDA" ? FdaRoute::kPostmarket : FdaRoute::kPremarket;
    auto findings = rules_->Check(batch->header, batch->icsrs[0], route, kNow);
    EXPECT_TRUE(findings.empty()) << Describe(findings);
    // And the same example on the other route is refused by FDA's routing rules.
    const FdaRoute other = route == FdaRoute::kPostmarket ? FdaRoute::kPremarket : FdaRoute::kPostmarket;
    findings = rules_->Check(batch->header, batch->icsrs[0], other, kNow);
    EXPECT_TRUE(HasFinding(findings, route == FdaRoute::kPostmarket ? "R0005" : "R0004", "N.1.4"))
        << Describe(findings);
  }
}

TEST_F(E2bTest, ExportWithSchemasRefusesACaseTheSchemaForbids) {
  Icsr sae = BuildIndSae();
  ASSERT_TRUE(sae.Remove("C.1.1", {}));
  ASSERT_TRUE(sae.Remove("C.1.8.1", {}));
  auto xml = ExportE2bBatch(IndHeader(), std::vector<Icsr>{sae}, schemas_);
  ASSERT_FALSE(xml.ok());
  EXPECT_TRUE(Contains(xml.status().message(), "E2B(R3) batch TC-BATCH-0001")) << xml.status().message();
  EXPECT_TRUE(Contains(xml.status().message(), "{urn:hl7-org:v3}id")) << xml.status().message();
}

TEST_F(E2bTest, OneParsedSchemaValidatesFromSeveralThreads) {
  const std::string good = *ExportE2bBatch(IndHeader(), std::vector<Icsr>{BuildIndSae()});
  Icsr broken = BuildIndSae();
  broken.Remove("C.1.1", {});
  broken.Remove("C.1.8.1", {});
  const std::string bad = *ExportE2bBatch(IndHeader(), std::vector<Icsr>{broken});
  std::vector<int> wrong(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 50; ++n) {
        const bool expect_ok = (n + t) % 2 == 0;
        if (schemas_->ValidateIcsrBatch(expect_ok ? good : bad, "t.xml").ok() != expect_ok) ++wrong[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

// A plausible value for a table row, from what its path says about it.
std::string SampleValue(const e2b_internal::Row& row) {
  const auto& last = row.path.steps.back();
  std::string xsi_type;
  for (const auto* preds : {&last.match, &last.decorate}) {
    for (const auto& p : *preds) {
      if (p.path.empty() && p.attr == "xsi:type") xsi_type = p.value;
    }
  }
  const std::string& attr = row.path.attr;
  const std::string& element = last.name;
  if (attr.empty()) return "text of " + row.number;
  if (attr == "root") return "0f8fad5b-d9cb-469f-a165-70867728950e";
  if (attr == "nullFlavor") return "ASKU";
  if (attr == "language") return "en";
  if (attr == "mediaType") return "application/pdf";
  if (attr == "representation") return "B64";
  if (attr == "codeSystemVersion") return "27.1";
  if (attr == "unit") return "mg";
  if (attr == "code") return "1";
  if (attr == "extension" || attr == "assigningAuthorityName") return "ID-" + row.number;
  // @value
  if (element == "telecom") return "x@example.org";
  if (xsi_type == "BL") return "true";
  if (xsi_type == "PQ" || element == "center" || element == "width" || element == "doseQuantity" ||
      element == "numerator" || element == "priorityNumber") {
    return "5";
  }
  return "20261101";  // the times: TS values, low, high, birthTime, creationTime, effectiveTime
}

// Every element the table maps, in one report: each row builds schema-valid
// XML and reads back as itself.
TEST_F(E2bTest, EveryMappedElementExportsSchemaValidAndReadsBack) {
  Icsr all;
  for (const auto& row : e2b_internal::IcsrTable().rows) {
    if (row.number.empty()) continue;
    // E.i.5 (end) and E.i.6 (duration) are alternatives in one interval.
    if (row.number == "E.i.6a" || row.number == "E.i.6b") continue;
    // The dosage period's null flavour stands for G.k.4.r.4 and .5.
    if (row.number == "G.k.4.r.4-5") continue;
    all.Set(row.number, std::vector<uint16_t>(RepeatDepth(row.number), 1), SampleValue(row));
  }
  all.Set("E.i.0", {1}, "1c3a2b4d-0000-4000-8000-000000000001");
  all.Set("G.k.0", {1}, "1c3a2b4d-0000-4000-8000-000000000002");
  auto xml = ExportE2bBatch(IndHeader(), std::vector<Icsr>{all}, schemas_);
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
  auto back = ImportE2bBatch(*xml, "all.xml", schemas_);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(Keys(back->icsrs[0]), Keys(all));
  EXPECT_GT(all.elements().size(), 190u);
}

TEST_F(E2bTest, CausalityNamingAnUnknownReactionIsRefused) {
  std::string xml = Slurp(kE2b + "/examples/FAERS2022Scenario1.xml");
  // The first assessment's reaction reference, pointed at no reaction.
  const std::string ref = "<adverseEffectReference classCode=\"OBS\" moodCode=\"EVN\">";
  size_t at = xml.find(ref);
  ASSERT_NE(at, std::string::npos);
  size_t root = xml.find("root=\"", at) + 6;
  xml.replace(root, 36, "00000000-0000-4000-8000-000000000000");
  auto batch = ImportE2bBatch(xml, "scenario1-orphan.xml");
  ASSERT_FALSE(batch.ok());
  EXPECT_TRUE(Contains(batch.status().message(), "scenario1-orphan.xml:")) << batch.status().message();
  EXPECT_TRUE(
      Contains(batch.status().message(), "names E.i.0 id 00000000-0000-4000-8000-000000000000, which no reaction"))
      << batch.status().message();
}

TEST_F(E2bTest, SubmissionIsRefusedWhileFdaWouldRejectAndCarriesWarnings) {
  auto ok = PrepareE2bSubmission(IndHeader(), std::vector<Icsr>{BuildIndSae()}, *schemas_, *rules_,
                                 FdaRoute::kPremarket, kNow);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok->warnings.empty());
  EXPECT_TRUE(schemas_->ValidateIcsrBatch(ok->xml, "submission.xml").ok());

  Icsr incomplete = BuildIndSae();
  incomplete.Remove("FDA.C.1.7.1", {});
  auto refused = PrepareE2bSubmission(IndHeader(), std::vector<Icsr>{BuildIndSae(), incomplete}, *schemas_, *rules_,
                                      FdaRoute::kPremarket, kNow);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(refused.status().message(), "US-TRIALCORESPONSOR-0001: required FDA.C.1.7.1"))
      << refused.status().message();

  Icsr aggregate = BuildIndSae();
  aggregate.Set("D.1", {}, "AGGREGRATE");
  auto warned =
      PrepareE2bSubmission(IndHeader(), std::vector<Icsr>{aggregate}, *schemas_, *rules_, FdaRoute::kPremarket, kNow);
  ASSERT_TRUE(warned.ok()) << warned.status().ToString();
  EXPECT_TRUE(HasFinding(warned->warnings, "W0004", "FDA.D.12")) << Describe(warned->warnings);
}

// Damaged input is an error or a report, never a crash: truncated files and
// flipped bytes of FDA's example (an assertion must not be reachable from a
// file someone sends us).
TEST_F(E2bTest, DamagedMessagesAreErrorsNotCrashes) {
  const std::string xml = Slurp(kE2b + "/examples/FAERS2022Scenario1.xml");
  for (size_t cut = 100; cut < xml.size(); cut += xml.size() / 40) {
    auto batch = ImportE2bBatch(xml.substr(0, cut), "cut.xml", schemas_);
    ASSERT_FALSE(batch.ok()) << "cut at " << cut;
    EXPECT_TRUE(Contains(batch.status().message(), "cut.xml:")) << batch.status().message();
  }
  std::mt19937 rng(4);
  int refused = 0;
  for (int n = 0; n < 200; ++n) {
    std::string damaged = xml;
    for (int flips = 0; flips < 3; ++flips) damaged[rng() % damaged.size()] = static_cast<char>(rng() % 128);
    auto batch = ImportE2bBatch(damaged, "flipped.xml", schemas_);
    if (!batch.ok()) {
      ++refused;
      EXPECT_FALSE(batch.status().message().empty());
    }
    auto ack = ParseE2bAck(damaged, "flipped.xml", schemas_);
    EXPECT_FALSE(ack.ok());
  }
  EXPECT_GT(refused, 100);
}

}  // namespace
}  // namespace trialcore::safety
