// Issue 16, point 1: safety cases entered by the safety team (spontaneous and
// literature reports) and imported from E2B(R3) messages, each a stream of
// its own, through the same workflow as a CRF case; FDA's example messages
// import into cases and export again with every element they carried.
#include "capture/direct_case.h"

#include <fstream>
#include <set>
#include <sstream>

#include "capture/capture_test_fixture.h"
#include "capture/case_e2b.h"
#include "capture/projection.h"
#include "capture/reads.h"
#include "capture/safety_workflow.h"
#include "safety/e2b_import.h"
#include "safety/meddra_demo.h"
#include "safety/meddra_store.h"

namespace trialcore::capture {
namespace {

const Actor kSafety{"safety.1", "safety_physician"};
constexpr int64_t kDay = 86'400'000'000LL;

// 2024-02-28: kNow (2024-03-01 12:00 UTC) is day 2 of its clocks.
constexpr char kSpontaneous[] =
    R"({"op":"safety.receive","source":"spontaneous","received":"2024-02-28",)"
    R"("reporter":{"given":"Ann","family":"Lee","qualification":"physician","country":"US",)"
    R"("email":"ann.lee@example.org"},)"
    R"("patient":{"sex":"F","age":"67"},)"
    R"("event":{"term":"Syncope","onset":"2024-02-26","outcome":"RECOVERING","criteria":["hospitalisation"]},)"
    R"("narrative":"A 67-year-old woman fainted at home two days after her first dose."})";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

const std::string kExamples = std::string(TRIALCORE_SOURCE_DIR) + "/../shared/data/e2b/examples/";

// Every element as "number[index]=value|null flavour|code system".
std::set<std::string> Keys(const safety::Icsr& icsr, const std::function<bool(const std::string&)>& skip) {
  std::set<std::string> out;
  for (const safety::E2bElement& e : icsr.elements()) {
    if (skip(e.number)) continue;
    out.insert(safety::ElementLabel(e.number, e.index) + "=" + e.value + "|" + e.null_flavor + "|" + e.code_system);
  }
  return out;
}

class DirectCaseTest : public CaptureTest {
 protected:
  void SetUp() override {
    CaptureTest::SetUp();
    const safety::MeddraTables demo = safety::DemoMeddraTables();
    ASSERT_TRUE(safety::StoreMeddraVersion(*store_, demo, safety::MeddraTablesFiles(demo), kAdmin).ok());
  }

  std::vector<SafetyCaseLine> Lines() {
    Viewer all;
    all.all_sites = true;
    return ListSafetyCases(store_.get(), "CDISCPILOT01", all, {}).value();
  }
  void DoOk(const std::string& json) {
    auto r = Run(json, kSafety);
    ASSERT_TRUE(r.ok()) << json << ": " << r.status().ToString();
  }
};

TEST_F(DirectCaseTest, ASpontaneousReportIsACaseOfItsOwnThroughTheWholeWorkflow) {
  auto received = Run(kSpontaneous, kSafety);
  ASSERT_TRUE(received.ok()) << received.status().ToString();
  EXPECT_EQ(received->result.Find("case")->as_string(), "DC-1");
  ASSERT_EQ(received->events.size(), 2u) << "received and coded in one batch";
  EXPECT_EQ(received->events[0].type, "safety.case.received");
  EXPECT_EQ(received->events[0].stream, "case/DC-1");
  EXPECT_EQ(received->events[1].type, "safety.case.coded");

  auto lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].case_id, "DC-1");
  EXPECT_EQ(lines[0].subject, "");
  EXPECT_EQ(lines[0].source, "spontaneous");
  EXPECT_EQ(lines[0].pt, "Syncope");
  EXPECT_EQ(lines[0].stage, "triage");
  // Day 0 is the day the sponsor received it, not the day it was keyed in;
  // a spontaneous report implies causality, so until assessed it is due
  // as a SUSAR: 15 days.
  ASSERT_FALSE(lines[0].reports.as_array().empty());
  EXPECT_EQ(lines[0].reports.as_array()[0].Find("day0")->as_string(), "2024-02-28");
  EXPECT_EQ(lines[0].reports.as_array()[0].Find("due")->as_string(), "2024-03-14");

  DoOk(R"({"op":"safety.triage","case":"DC-1","decision":"valid"})");
  EXPECT_EQ(Lines()[0].stage, "medical_review") << "coded on intake";
  DoOk(R"({"op":"safety.assess","case":"DC-1","causality":"related","expectedness":"unexpected"})");
  DoOk(R"({"op":"safety.approve","case":"DC-1"})");
  env_.SetNowMicros(kNow + 2 * kDay);
  auto sent = Run(R"({"op":"safety.submit","case":"DC-1","destination":"FDA"})", kSafety);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  const std::string xml = sent->events[0].payload.Find("file")->as_string();
  auto back = safety::ImportE2bBatch(xml, "sent");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  const safety::Icsr& icsr = back->icsrs.at(0);
  EXPECT_EQ(icsr.report_type(), "1") << "a spontaneous report";
  EXPECT_EQ(icsr.Value("C.1.4"), "20240228");
  EXPECT_EQ(icsr.Value("C.2.r.1.4", {1}), "Lee");
  EXPECT_EQ(icsr.Value("D.5"), "2");
  EXPECT_EQ(icsr.Value("H.1"), "A 67-year-old woman fainted at home two days after her first dose.");
  EXPECT_EQ(icsr.Find("C.5.3"), nullptr) << "not a study report";
  EXPECT_EQ(Lines()[0].stage, "submission") << "the EU is still owed";

  // New information after approval starts version 2, with its own clock.
  env_.SetNowMicros(kNow + 4 * kDay);
  std::string update = kSpontaneous;
  update.replace(update.find("safety.receive"), 14, "safety.update");
  update.insert(1, R"("case":"DC-1","reason":"Discharge summary received",)");
  update.replace(update.find(R"("outcome":"RECOVERING")"), 22, R"("outcome":"RECOVERED")");
  DoOk(update);
  const DirectCase dc = capture_->ReadDirectCase("DC-1").value();
  EXPECT_EQ(dc.c.version, 2);
  EXPECT_EQ(dc.c.version_aware_us, kNow + 4 * kDay) << "the follow-up's clock runs from its arrival";
  EXPECT_EQ(FactsOfDirectCase(*capture_->study(), dc).outcome, "RECOVERED");

  // The same rows from a rebuild of the log.
  const std::string live = store_->DumpProjections().value();
  ASSERT_TRUE(RewriteStudyProjections(store_.get(), "CDISCPILOT01").ok());
  EXPECT_EQ(store_->DumpProjections().value(), live);
}

TEST_F(DirectCaseTest, AnEntryMissingWhatMakesACaseIsRefusedNamingItAndStoresNothing) {
  const uint64_t before = store_->LastSeq().value();
  auto refused = [&](const std::string& json, const std::string& says, const Actor& actor = kSafety) {
    auto r = Run(json, actor);
    EXPECT_FALSE(r.ok()) << json;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find(says), std::string::npos) << r.status().message();
    }
  };
  std::string no_criteria = kSpontaneous;
  no_criteria.replace(no_criteria.find(R"(["hospitalisation"])"), 19, "[]");
  refused(no_criteria, "event.criteria");
  std::string future = kSpontaneous;
  future.replace(future.find("2024-02-28"), 10, "2024-03-02");
  refused(future, "in the future");
  std::string literature = kSpontaneous;
  literature.replace(literature.find("spontaneous"), 11, "literature");
  refused(literature, "\"reference\" is required");
  std::string bad_outcome = kSpontaneous;
  bad_outcome.replace(bad_outcome.find("RECOVERING"), 10, "BETTER");
  refused(bad_outcome, "event.outcome");
  std::string unknown = kSpontaneous;
  unknown.insert(1, R"("colour":"red",)");
  refused(unknown, "colour");
  refused(kSpontaneous, "", kCoord);  // a site may not enter a safety case
  refused(R"({"op":"safety.triage","case":"DC-9","decision":"valid"})", "DC-9");
  EXPECT_EQ(store_->LastSeq().value(), before);
  DoOk(kSpontaneous);
  const uint64_t entered = store_->LastSeq().value();
  refused(R"({"op":"safety.unblind","case":"DC-1","reason":"SUSAR"})", "no study treatment to unblind");
  refused(R"({"op":"safety.update","case":"DC-1","source":"spontaneous","received":"2024-02-28",)"
          R"("reporter":{"qualification":"physician"},"event":{"term":"Syncope","criteria":["death"]}})",
          "\"reason\"");
  EXPECT_EQ(store_->LastSeq().value(), entered);
}

class DirectCaseExampleTest : public DirectCaseTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(DirectCaseExampleTest, ImportsIntoACaseAndExportsAgainWithEveryElementItCarried) {
  const std::string name = GetParam();
  const std::string xml = Slurp(kExamples + name);
  auto imported = ImportE2bCases(*capture_, xml, name, kSafety);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  ASSERT_EQ(imported->size(), 1u);
  EXPECT_EQ(imported->front(), "DC-1");
  const DirectCase dc = capture_->ReadDirectCase("DC-1").value();
  ASSERT_TRUE(dc.report.has_value());
  EXPECT_EQ(Lines().at(0).source, "e2b");
  DoOk(R"({"op":"safety.triage","case":"DC-1","decision":"valid"})");
  if (!dc.c.coding) {
    // The examples' LLTs are real MedDRA codes the demo dictionary lacks:
    // the physician chooses one.
    auto coder = MeddraCoderFor(*store_, "", "");
    ASSERT_TRUE(coder.ok());
    const uint32_t llt = (*coder)->Code("Syncope").coding.llt.code;
    DoOk(R"({"op":"safety.code","case":"DC-1","llt":")" + std::to_string(llt) + R"("})");
  }
  const DirectCase coded = capture_->ReadDirectCase("DC-1").value();
  ASSERT_TRUE(coded.c.coding.has_value());
  auto e2b = BuildCaseE2b(*capture_->study(), coded, "EU", 1, kNow, true);
  ASSERT_TRUE(e2b.ok()) << e2b.status().ToString();
  auto original = safety::ImportE2bBatch(xml, name);
  auto again = safety::ImportE2bBatch(e2b->xml, "exported");
  ASSERT_TRUE(original.ok() && again.ok());
  // What this sponsor's sending replaces: the transmission (N.2.r, C.1.2),
  // the sender (C.3) and the coding of the first reaction, to the
  // dictionary loaded here. Every other element is as it came.
  auto replaced = [](const std::string& number) {
    return number.starts_with("N.") || number == "C.1.2" || number.starts_with("C.3.") || number == "E.i.2.1a" ||
           number == "E.i.2.1b";
  };
  EXPECT_EQ(Keys(again->icsrs.at(0), replaced), Keys(original->icsrs.at(0), replaced));
  EXPECT_GT(Keys(original->icsrs.at(0), replaced).size(), 80u);
  EXPECT_EQ(again->icsrs.at(0).Value("E.i.2.1b", {1}), std::to_string(coded.c.coding->llt));
  EXPECT_EQ(again->icsrs.at(0).Value("N.2.r.2"), capture_->study()->safety.sender.id);
  EXPECT_EQ(again->icsrs.at(0).Value("C.1.8.1"), original->icsrs.at(0).Value("C.1.8.1"))
      << "the worldwide case id stays with the case";

  // The same message again adds nothing and is refused, naming the case.
  auto twice = ImportE2bCases(*capture_, xml, name, kSafety);
  EXPECT_EQ(twice.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(twice.status().message().find("DC-1"), std::string::npos) << twice.status().message();
  EXPECT_EQ(Lines().size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(FdaExamples, DirectCaseExampleTest,
                         ::testing::Values("FAERS2022Scenario1.xml", "FAERS2022Scenario3.xml",
                                           "FAERS2022Scenario4.xml"));

TEST_F(DirectCaseTest, ANewerReportOfTheSameCaseIsItsNewInformation) {
  // FDA's scenarios 1 and 3 carry the same worldwide case id; 3's latest
  // information (C.1.5) is the later.
  auto first = ImportE2bCases(*capture_, Slurp(kExamples + "FAERS2022Scenario1.xml"), "s1.xml", kSafety);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto newer = ImportE2bCases(*capture_, Slurp(kExamples + "FAERS2022Scenario3.xml"), "s3.xml", kSafety);
  ASSERT_TRUE(newer.ok()) << newer.status().ToString();
  EXPECT_EQ(*newer, *first);
  const DirectCase dc = capture_->ReadDirectCase(first->front()).value();
  EXPECT_EQ(dc.c.followups, 1);
  auto s3 = safety::ImportE2bBatch(Slurp(kExamples + "FAERS2022Scenario3.xml"), "s3.xml");
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(dc.report->elements(), s3->icsrs.at(0).elements()) << "the case holds the newer report";
  auto older = ImportE2bCases(*capture_, Slurp(kExamples + "FAERS2022Scenario1.xml"), "s1.xml", kSafety);
  EXPECT_EQ(older.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Lines().size(), 1u);
}

TEST_F(DirectCaseTest, AMalformedMessageIsRefusedNamingFileAndLineAndStoresNothing) {
  const uint64_t before = store_->LastSeq().value();
  std::string xml = Slurp(kExamples + "FAERS2022Scenario1.xml");
  xml.replace(xml.find("</investigationEvent>"), 21, "</investigationEvnt>");
  auto r = ImportE2bCases(*capture_, xml, "broken.xml", kSafety);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("broken.xml:"), std::string::npos) << r.status().message();
  auto site = ImportE2bCases(*capture_, Slurp(kExamples + "FAERS2022Scenario1.xml"), "ok.xml", kCoord);
  EXPECT_EQ(site.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(store_->LastSeq().value(), before);
}

}  // namespace
}  // namespace trialcore::capture
