// A safety case to its ICSR: typical, fatal, unknown, uncoded, follow-up and
// nullified cases against FDA's rules and the ICH schema; the same bytes
// every time; a round trip through import; causality kept apart.
#include "safety/case_report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "safety/case_report_sample.h"
#include "safety/e2b_import.h"
#include "safety/e2b_map.h"
#include "safety/e2b_validate.h"

namespace trialcore::safety {
namespace {

const std::string kE2b = std::string(TRIALCORE_SHARED_DATA) + "/e2b";
// 2026-12-02 12:00:00 UTC, the clock of the rule checks.
constexpr int64_t kNow = 1796212800;
constexpr int64_t kSecond = 1000000;
constexpr int64_t kHour = 3600 * kSecond;

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

// The shared sample (case_report_sample.h) with its medical history.
CaseReport TypicalSae() {
  CaseReport c = SampleIndSae("TRIALCORE-DEMO", "701-1001-SAE1", "701-1001");
  c.medical_history = "Asthma since childhood.";
  return c;
}

Icsr MustIcsr(const CaseReport& c) {
  auto icsr = IcsrFromCase(c);
  EXPECT_TRUE(icsr.ok()) << icsr.status().ToString();
  return icsr.ok() ? *icsr : Icsr();
}

using ElementKey = std::tuple<std::string, std::vector<uint16_t>, std::string, std::string, std::string>;

std::vector<ElementKey> Keys(const Icsr& icsr) {
  std::vector<ElementKey> keys;
  for (const auto& e : icsr.elements()) keys.emplace_back(e.number, e.index, e.value, e.null_flavor, e.code_system);
  std::sort(keys.begin(), keys.end());
  return keys;
}

class CaseReportTest : public ::testing::Test {
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

  // What the workflow sends to FDA for one case version: the batch's XML,
  // schema-valid and with no rejection, or why not.
  static Result<E2bSubmission> SubmitToFda(const CaseReport& c) {
    TC_ASSIGN_OR_RETURN(Icsr icsr, IcsrFromCase(c));
    return PrepareE2bSubmission(BatchHeaderFor(c, "ZZFDA_PREMKT", "TC-BATCH-1"), std::vector<Icsr>{icsr}, *schemas_,
                                *rules_, FdaRoute::kPremarket, kNow);
  }

  // Submits and expects it to pass with no warning and to be schema-valid when read again.
  static void ExpectSendable(const CaseReport& c) {
    auto sent = SubmitToFda(c);
    ASSERT_TRUE(sent.ok()) << sent.status().ToString();
    EXPECT_TRUE(sent->warnings.empty()) << sent->warnings.size() << " warning(s), first " << sent->warnings[0].rule
                                        << " " << sent->warnings[0].element;
    Status valid = schemas_->ValidateIcsrBatch(sent->xml, c.case_id + ".xml");
    EXPECT_TRUE(valid.ok()) << valid.ToString();
  }

  static E2bSchemas* schemas_;
  static E2bRules* rules_;
};

E2bSchemas* CaseReportTest::schemas_ = nullptr;
E2bRules* CaseReportTest::rules_ = nullptr;

TEST_F(CaseReportTest, TypicalStudySaeIsSendableToFdaPremarket) {
  const CaseReport c = TypicalSae();
  ExpectSendable(c);
  const Icsr icsr = MustIcsr(c);
  EXPECT_EQ(icsr.safety_report_id(), "US-TRIALCOREDEMO-701-1001-SAE1");
  EXPECT_EQ(icsr.Value("C.1.8.1"), "US-TRIALCOREDEMO-701-1001-SAE1");
  EXPECT_EQ(icsr.message_id(), "US-TRIALCOREDEMO-701-1001-SAE1-v1");
  EXPECT_EQ(icsr.sender_id(), "TRIALCORE-DEMO");
  EXPECT_EQ(icsr.receiver_id(), "CDER_IND");
  EXPECT_EQ(icsr.date_of_transmission(), "20261201093000+0000");
  EXPECT_EQ(icsr.Value("N.2.r.4"), "20261201093000+0000");
  EXPECT_EQ(icsr.Value("C.1.4"), "20261128");
  EXPECT_EQ(icsr.Value("C.1.5"), "20261130");
  EXPECT_EQ(icsr.report_type(), "2");
  EXPECT_EQ(icsr.Value("FDA.C.1.7.1"), "1");  // 15-Day
  EXPECT_EQ(icsr.Value("FDA.C.5.5a"), "123456");
  EXPECT_EQ(icsr.Value("G.k.3.1", {1}), "IND123456");
  EXPECT_EQ(icsr.Value("D.1.1.4"), "701-1001");
  ASSERT_NE(icsr.Find("D.1"), nullptr);
  EXPECT_EQ(icsr.Find("D.1")->null_flavor, "MSK");  // initials never leave
  EXPECT_EQ(icsr.patient().sex, "2");
  EXPECT_EQ(icsr.patient().age, "54");
  ASSERT_EQ(icsr.reactions().size(), 1u);
  EXPECT_TRUE(icsr.reactions()[0].seriousness[2]);
  EXPECT_EQ(icsr.reactions()[0].outcome, "3");
  EXPECT_EQ(icsr.reactions()[0].reported_term, "pneumonia requiring admission");
  ASSERT_EQ(icsr.suspect_drugs().size(), 1u);
  // The default narrative says what the case says, investigator's causality included.
  EXPECT_TRUE(Contains(icsr.narrative(), "54-year-old female subject (701-1001) in study TC-101"));
  EXPECT_TRUE(Contains(icsr.narrative(), "Seriousness: hospitalisation."));
  EXPECT_TRUE(Contains(icsr.narrative(), "Investigator's causality assessment: related"));
  // The batch header comes from the same case.
  const E2bBatchHeader header = BatchHeaderFor(c, "ZZFDA_PREMKT", "TC-BATCH-1");
  EXPECT_EQ(header, (E2bBatchHeader{"1", "TC-BATCH-1", "TRIALCORE-DEMO", "ZZFDA_PREMKT", "20261201093000+0000"}));
}

TEST_F(CaseReportTest, FatalCaseIsASevenDayReportWithTheDeath) {
  CaseReport c = TypicalSae();
  c.death = true;
  c.hospitalisation = true;
  c.outcome = "FATAL";
  c.death_date = "2026-11-29";
  c.autopsy = "no";
  ExpectSendable(c);
  const Icsr icsr = MustIcsr(c);
  EXPECT_EQ(icsr.Value("FDA.C.1.7.1"), "6");  // 7-Day
  EXPECT_EQ(icsr.Value("E.i.7", {1}), "5");
  EXPECT_EQ(icsr.Value("E.i.3.2a", {1}), "true");
  EXPECT_EQ(icsr.Value("D.9.1"), "20261129");
  EXPECT_EQ(icsr.Value("D.9.3"), "false");
  EXPECT_EQ(icsr.Value("D.9.2.r.1b", {1}), "10035664");
  // A death date not yet known is asked for, not invented.
  c.death_date.clear();
  c.autopsy.clear();
  ExpectSendable(c);
  EXPECT_EQ(MustIcsr(c).Find("D.9.1")->null_flavor, "ASKU");
  EXPECT_EQ(MustIcsr(c).Find("D.9.3")->null_flavor, "UNK");
}

TEST_F(CaseReportTest, UnknownAgeSexRaceAndHistoryAreNullFlavours) {
  CaseReport c = TypicalSae();
  c.age_years.clear();
  c.sex.clear();
  c.race.clear();
  c.ethnicity.clear();
  c.medical_history.clear();
  c.onset_date.clear();
  c.outcome = "UNKNOWN";
  ExpectSendable(c);
  const Icsr icsr = MustIcsr(c);
  EXPECT_EQ(icsr.Find("D.2.2a"), nullptr);
  EXPECT_EQ(icsr.Find("D.5")->null_flavor, "UNK");
  EXPECT_EQ(icsr.Find("FDA.D.11.r.1", {1})->null_flavor, "UNK");
  EXPECT_EQ(icsr.Find("D.7.2")->null_flavor, "UNK");
  EXPECT_EQ(icsr.Value("E.i.7", {1}), "0");
  EXPECT_TRUE(Contains(icsr.narrative(), "A subject (701-1001)"));
}

// The workflow must not send a reaction that is not coded in MedDRA yet: the
// ICSR simply has no E.i.2.1b, and FDA's rules refuse it naming the element.
TEST_F(CaseReportTest, UncodedReactionIsRefusedNamingEi21b) {
  CaseReport c = TypicalSae();
  c.meddra_version.clear();
  c.llt_code.clear();
  const Icsr icsr = MustIcsr(c);
  EXPECT_EQ(icsr.Find("E.i.2.1b", {1}), nullptr);
  auto sent = SubmitToFda(c);
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(sent.status().message(), "US-TRIALCOREDEMO-701-1001-SAE1: required E.i.2.1b[1]"))
      << sent.status().message();
}

TEST_F(CaseReportTest, FollowUpKeepsTheReportIdWithANewMessageId) {
  const CaseReport v1 = TypicalSae();
  CaseReport v2 = v1;
  v2.version = 2;
  v2.latest_received_us = v1.transmission_us + 4 * kHour;  // 2026-12-01 13:30
  v2.transmission_us = v1.transmission_us + 20 * kHour;    // 2026-12-02 05:30
  v2.outcome = "RECOVERED";
  ExpectSendable(v2);
  const Icsr a = MustIcsr(v1), b = MustIcsr(v2);
  EXPECT_NE(a.message_id(), b.message_id());
  EXPECT_EQ(b.message_id(), MessageIdOf(v2));
  EXPECT_EQ(a.safety_report_id(), b.safety_report_id());
  EXPECT_EQ(a.Value("C.1.8.1"), b.Value("C.1.8.1"));
  EXPECT_EQ(a.Value("C.1.4"), b.Value("C.1.4"));  // day 0 stays
  EXPECT_EQ(b.Value("C.1.5"), "20261201");
  EXPECT_GT(b.Value("C.1.5"), a.Value("C.1.5"));
  EXPECT_EQ(b.reactions()[0].outcome, "1");
  // Both versions in one batch: one message each.
  auto xml = ExportE2bBatch(BatchHeaderFor(v1, "ZZFDA_PREMKT", "B2"), std::vector<Icsr>{a, b}, schemas_);
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
}

TEST_F(CaseReportTest, NullificationIsSendableAndNeedsAnEarlierVersionAndAReason) {
  CaseReport c = TypicalSae();
  c.version = 3;
  c.nullification = true;
  c.nullification_reason = "Duplicate of case 701-1002-SAE1";
  ExpectSendable(c);
  const Icsr icsr = MustIcsr(c);
  EXPECT_EQ(icsr.Value("C.1.11.1"), "1");
  EXPECT_EQ(icsr.Value("C.1.11.2"), "Duplicate of case 701-1002-SAE1");
  EXPECT_EQ(icsr.safety_report_id(), SafetyReportIdOf(TypicalSae()));

  CaseReport no_reason = c;
  no_reason.nullification_reason.clear();
  auto refused = IcsrFromCase(no_reason);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(refused.status().message(), "C.1.11.2"));

  CaseReport initial = c;
  initial.version = 1;
  refused = IcsrFromCase(initial);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(Contains(refused.status().message(), "R0101"));
}

TEST_F(CaseReportTest, SameCaseExportsTheSameBytes) {
  const CaseReport c = TypicalSae();
  const E2bBatchHeader header = BatchHeaderFor(c, "ZZFDA_PREMKT", "TC-BATCH-1");
  auto first = ExportE2bBatch(header, std::vector<Icsr>{MustIcsr(c)}, schemas_);
  auto second = ExportE2bBatch(header, std::vector<Icsr>{MustIcsr(c)}, schemas_);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(MessageIdOf(c), MessageIdOf(TypicalSae()));
}

TEST_F(CaseReportTest, ExportThenImportGivesTheCasesElements) {
  for (bool fatal : {false, true}) {
    SCOPED_TRACE(fatal ? "fatal" : "hospitalised");
    CaseReport c = TypicalSae();
    c.death = fatal;
    c.outcome = fatal ? "FATAL" : c.outcome;
    c.death_date = fatal ? "2026-11-29" : "";
    c.cross_reported_inds = {"234567", "345678"};
    c.registration_number = "2026-500123-12-00";
    c.registration_country = "EU";
    const Icsr icsr = MustIcsr(c);
    const E2bBatchHeader header = BatchHeaderFor(c, "ZZFDA_PREMKT", "TC-BATCH-1");
    auto xml = ExportE2bBatch(header, std::vector<Icsr>{icsr}, schemas_);
    ASSERT_TRUE(xml.ok()) << xml.status().ToString();
    auto back = ImportE2bBatch(*xml, "case.xml", schemas_);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->header, header);
    ASSERT_EQ(back->icsrs.size(), 1u);
    // Export adds only the reaction's and the drug's ids.
    Icsr read = back->icsrs[0];
    EXPECT_TRUE(read.Remove("E.i.0", {1}));
    EXPECT_TRUE(read.Remove("G.k.0", {1}));
    const auto want = Keys(icsr), got = Keys(read);
    ASSERT_EQ(got.size(), want.size());
    for (size_t n = 0; n < want.size(); ++n) {
      EXPECT_EQ(got[n], want[n]) << ElementLabel(std::get<0>(want[n]), std::get<1>(want[n]));
    }
  }
}

TEST_F(CaseReportTest, InvestigatorAndSponsorCausalityAreKeptApart) {
  CaseReport c = TypicalSae();
  c.investigator_causality = "related";
  c.sponsor_causality = "not_related";
  ExpectSendable(c);
  const auto causality = MustIcsr(c).causality();
  ASSERT_EQ(causality.size(), 2u);
  EXPECT_EQ(causality[0].source, "Sponsor");
  EXPECT_EQ(causality[0].result, "Not Suspected");
  EXPECT_EQ(causality[0].method, "FDA");
  EXPECT_EQ(causality[1].source, "Investigator");
  EXPECT_EQ(causality[1].result, "Suspected");
  for (const auto& a : causality) {
    EXPECT_EQ(a.k, 1);
    EXPECT_EQ(a.i, 1);
  }
  EXPECT_NE(causality[0].r, causality[1].r);
  // Only the investigator has assessed: one entry, the investigator's.
  c.sponsor_causality.clear();
  const auto only = MustIcsr(c).causality();
  ASSERT_EQ(only.size(), 1u);
  EXPECT_EQ(only[0].source, "Investigator");
  // Nobody has: an IND report FDA refuses (R0085-R0087).
  c.investigator_causality.clear();
  auto sent = SubmitToFda(c);
  ASSERT_FALSE(sent.ok());
  EXPECT_TRUE(Contains(sent.status().message(), "R0085 G.k.9.i.2.r.1")) << sent.status().message();
  // A value outside the vocabulary is the caller's error, named.
  c.sponsor_causality = "possibly";
  auto bad = IcsrFromCase(c);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "sponsor_causality \"possibly\"")) << bad.status().message();
}

TEST_F(CaseReportTest, ValuesOutsideTheirVocabularyAreRefusedNamingTheField) {
  const std::pair<void (*)(CaseReport&), const char*> cases[] = {
      {[](CaseReport& c) { c.sex = "X"; }, "sex \"X\""},
      {[](CaseReport& c) { c.outcome = "DEAD"; }, "outcome \"DEAD\""},
      {[](CaseReport& c) { c.onset_date = "25/11/2026"; }, "onset_date \"25/11/2026\""},
      {[](CaseReport& c) { c.age_years = "fifty"; }, "age_years \"fifty\""},
      {[](CaseReport& c) { c.case_id.clear(); }, "case_id is empty"},
      {[](CaseReport& c) { c.transmission_us = 0; }, "transmission_us"},
      {[](CaseReport& c) { c.latest_received_us = c.first_received_us - 1; }, "latest_received_us"},
  };
  for (const auto& [spoil, message] : cases) {
    CaseReport c = TypicalSae();
    spoil(c);
    auto icsr = IcsrFromCase(c);
    ASSERT_FALSE(icsr.ok()) << message;
    EXPECT_EQ(icsr.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(icsr.status().message(), message));
  }
}

// Every element the case can produce has an E2B(R3) mapping (export refuses
// one that has none), and a report to the EU carries none of FDA's.
TEST_F(CaseReportTest, EveryElementIsMappedAndFdaElementsGoOnlyToFda) {
  CaseReport full = TypicalSae();
  full.death = full.life_threatening = full.disability = full.congenital_anomaly = true;
  full.other_medically_important = true;
  full.death_date = "2026-11-29";
  full.autopsy = "yes";
  full.cross_reported_inds = {"234567"};
  full.registration_number = "2026-500123-12-00";
  full.registration_country = "EU";
  full.version = 2;
  full.nullification = true;
  full.nullification_reason = "entered in error";
  const Icsr all = MustIcsr(full);
  for (const auto& e : all.elements()) {
    EXPECT_NE(e2b_internal::FindRow(e2b_internal::IcsrTable(), e.number), nullptr) << e.number;
  }

  CaseReport eu = TypicalSae();
  eu.message_receiver = "EVCTMPROD";
  eu.registration_number = "2026-500123-12-00";
  eu.registration_country = "EU";
  eu.causality_method = "Global Introspection";
  const Icsr icsr = MustIcsr(eu);
  for (const auto& e : icsr.elements()) EXPECT_NE(e.number.rfind("FDA.", 0), 0u) << e.number;
  EXPECT_EQ(icsr.Find("G.k.3.1", {1}), nullptr);
  auto xml = ExportE2bBatch(BatchHeaderFor(eu, "EVHUMAN", "TC-EU-1"), std::vector<Icsr>{icsr}, schemas_);
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
}

}  // namespace
}  // namespace trialcore::safety
