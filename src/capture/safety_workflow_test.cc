// Issue 16, point 2: a safety case through its workflow, each step an event
// of the subject's stream, refused out of order or by the wrong role; the
// reports it owes counted from day 0 and from each follow-up's arrival at
// several injected times; E2B(R3) files that pass the schema and FDA's rules;
// acknowledgements that accept a report or send the case back to correction.
#include "capture/safety_workflow.h"

#include <fstream>
#include <sstream>

#include "capture/capture_test_fixture.h"
#include "capture/case_e2b.h"
#include "capture/projection.h"
#include "capture/reads.h"
#include "safety/e2b_import.h"
#include "safety/meddra_coder.h"
#include "safety/meddra_demo.h"
#include "safety/meddra_store.h"

namespace trialcore::capture {
namespace {

const Actor kSafety{"safety.1", "safety_physician"};
const Actor kMedical{"mm.1", "medical_monitor"};
constexpr int64_t kDay = 86'400'000'000LL;

constexpr char kSyncope[] =
    R"({"op":"form.save","subject":"701-1020","visit":"LOGS","form":"AE","rows":[{"group":"AE","items":{"AETERM":"Syncope","AESTDTC":"2024-02-29","AEONGO":true,"AESEV":"SEVERE","AESER":"Y","AESHOSP":true,"AEREL":"POSSIBLE","AEACN":"DRUG INTERRUPTED","AEOUT":"RECOVERING/RESOLVING"}}]})";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// FDA's example acknowledgement, made to answer one of our batches.
std::string AckFor(const std::string& batch, const std::string& message, bool accepted) {
  std::string xml = Slurp(std::string(TRIALCORE_SOURCE_DIR) + "/../shared/data/e2b/examples/R3ack-" +
                          (accepted ? "positive" : "negative") + ".ack");
  auto replace_id = [&](const std::string& element, const std::string& value) {
    const size_t at = xml.find("<" + element + ">");
    const size_t ext = xml.find("extension=\"", at) + 11;
    xml.replace(ext, xml.find('"', ext) - ext, value);
  };
  replace_id("targetBatch", batch);
  replace_id("targetMessage", message);
  return xml;
}

class SafetyWorkflowTest : public CaptureTest {
 protected:
  void SetUp() override {
    CaptureTest::SetUp();
    const safety::MeddraTables demo = safety::DemoMeddraTables();
    ASSERT_TRUE(safety::StoreMeddraVersion(*store_, demo, safety::MeddraTablesFiles(demo), kAdmin).ok());
  }

  Result<Outcome> Do(const std::string& op, const std::string& fields, const Actor& actor = kSafety) {
    return Run(R"({"op":"safety.)" + op + R"(","subject":"701-1020","case":"701-1020-SAE1")" +
                   (fields.empty() ? "" : "," + fields) + "}",
               actor);
  }
  void DoOk(const std::string& op, const std::string& fields, const Actor& actor = kSafety) {
    auto r = Do(op, fields, actor);
    ASSERT_TRUE(r.ok()) << op << ": " << r.status().ToString();
  }

  SafetyCaseLine Line() {
    Viewer all;
    all.all_sites = true;
    auto lines = ListSafetyCases(store_.get(), "CDISCPILOT01", all, {});
    EXPECT_TRUE(lines.ok() && lines->size() == 1u);
    return lines.ok() && !lines->empty() ? lines->front() : SafetyCaseLine{};
  }
  std::string Stage() { return Line().stage; }

  SafetyCase Case() { return capture_->Subject("701-1020").value().cases.at(1); }

  // Triaged, coded, assessed as a SUSAR and approved.
  void ReadyToSubmit() {
    DoOk("triage", R"("decision":"valid")");
    DoOk("code", "");
    DoOk("assess", R"("causality":"related","expectedness":"unexpected")");
    DoOk("approve", "");
  }

  void Opened() {
    Screen("701-1020");
    env_.SetNowMicros(kNow);
    Ok(kSyncope);
  }
};

TEST_F(SafetyWorkflowTest, ACaseGoesFromTriageToAnAcknowledgedReportAsEventsOfItsSubject) {
  Opened();
  EXPECT_EQ(Stage(), "triage");
  DoOk("triage", R"("decision":"valid")");
  EXPECT_EQ(Stage(), "coding");

  auto coded = Do("code", "");
  ASSERT_TRUE(coded.ok()) << coded.status().ToString();
  const Value& p = coded->events[0].payload;
  EXPECT_EQ(coded->events[0].type, "safety.case.coded");
  EXPECT_EQ(p.Find("method")->as_string(), "exact");
  EXPECT_EQ(p.Find("meddra_version")->as_string(), "90.0");
  EXPECT_EQ(p.Find("pt")->Find("name")->as_string(), "Syncope");
  EXPECT_FALSE(p.Find("soc")->Find("name")->as_string().empty());
  EXPECT_EQ(Stage(), "medical_review");
  EXPECT_EQ(Line().pt, "Syncope");

  auto assessed = Do("assess", R"("causality":"related","expectedness":"unexpected")", kMedical);
  ASSERT_TRUE(assessed.ok()) << assessed.status().ToString();
  EXPECT_TRUE(assessed->events[0].payload.Find("susar")->as_bool());
  EXPECT_EQ(assessed->events[0].payload.Find("investigator_causality")->as_string(), "POSSIBLE")
      << "the investigator's assessment is kept beside the sponsor's";
  EXPECT_EQ(Stage(), "approval");
  DoOk("approve", "");
  EXPECT_EQ(Stage(), "submission");

  env_.SetNowMicros(kNow + 3 * kDay);
  auto sent = Do("submit", R"("destination":"FDA")");
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  const Value& s = sent->events[0].payload;
  const std::string xml = s.Find("file")->as_string();
  EXPECT_EQ(s.Find("file_sha256")->as_string(), ToHex(Sha256(xml)));
  EXPECT_EQ(s.Find("batch_number")->as_string(), "701-1020-SAE1-1");
  // The file sent imports back to the case's facts.
  auto back = safety::ImportE2bBatch(xml, "sent");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->icsrs.size(), 1u);
  EXPECT_EQ(back->icsrs[0].reactions().at(0).meddra_llt_code, std::to_string(Case().coding->llt));
  EXPECT_EQ(back->icsrs[0].Value("D.1.1.4"), "701-1020");
  EXPECT_EQ(Stage(), "submission") << "the EU is still owed its report";
  DoOk("submit", R"("destination":"EU")");
  EXPECT_EQ(Stage(), "awaiting_ack");

  const SafetyCase c = Case();
  ASSERT_EQ(c.submissions.size(), 2u);
  auto applied = ApplyE2bAck(*capture_, AckFor(c.submissions[0].batch_number, c.submissions[0].message_id, true),
                             "ack.xml", kSafety);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  ASSERT_EQ(applied->size(), 1u);
  EXPECT_EQ((*applied)[0].ack, "accepted");
  EXPECT_EQ(Stage(), "awaiting_ack");
  applied = ApplyE2bAck(*capture_, AckFor(c.submissions[1].batch_number, c.submissions[1].message_id, true), "ack2.xml",
                        kSafety);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ(Stage(), "complete");
  EXPECT_EQ(Line().state, "closed");

  // Counted in the DSUR's tabulation: serious, related, unexpected.
  Viewer all;
  all.all_sites = true;
  auto tabulated = TabulateSeriousReactions(ListSafetyCases(store_.get(), "CDISCPILOT01", all, {}).value());
  ASSERT_EQ(tabulated.size(), 1u);
  EXPECT_EQ(tabulated[0].pt, "Syncope");
  EXPECT_EQ(tabulated[0].reactions, 1);
  EXPECT_EQ(tabulated[0].unexpected, 1);
  EXPECT_EQ(tabulated[0].fatal, 0);

  // The whole history is the subject's, and a rebuild gives the same case.
  const SafetyCaseLine before = Line();
  ASSERT_TRUE(RewriteStudyProjections(store_.get(), "CDISCPILOT01").ok());
  const SafetyCaseLine after = Line();
  EXPECT_EQ(after.stage, before.stage);
  EXPECT_EQ(after.reports, before.reports);
  EXPECT_EQ(after.assessment, before.assessment);
}

TEST_F(SafetyWorkflowTest, StepsOutOfOrderOrByTheWrongRoleAreRefusedAndStoreNothing) {
  Opened();
  const uint64_t before = store_->LastSeq().value();
  auto r = Do("approve", "");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("is at triage"), std::string::npos) << r.status().message();
  r = Do("triage", R"("decision":"valid")", kCoord);
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  r = Do("triage", R"("decision":"maybe")");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  r = Run(R"({"op":"safety.triage","subject":"701-1020","case":"701-1020-SAE9","decision":"valid"})", kSafety);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->LastSeq().value(), before);

  DoOk("triage", R"("decision":"valid")");
  r = Do("code", R"("llt":"99999999")");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  r = Do("code", R"("llt":"syncope")");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  DoOk("code", "");
  // Syncope is not in the reference safety information: never "expected".
  r = Do("assess", R"("causality":"related","expectedness":"expected")");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("not listed in the reference safety information"), std::string::npos);
  // The sponsor differing from the investigator says why.
  r = Do("assess", R"("causality":"not_related","expectedness":"unexpected")");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("investigator assessed this event as related"), std::string::npos);
  r = Do("assess", R"("causality":"related","expectedness":"unexpected")", kCoord);
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  r = Do("submit", R"("destination":"FDA")");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Stage(), "medical_review");
}

TEST_F(SafetyWorkflowTest, ATermWithNoSingleMatchIsCodedByChoosingACandidate) {
  Screen("701-1020");
  std::string save = kSyncope;
  save.replace(save.find("Syncope"), 7, "passed out, fainted");
  Ok(save);
  DoOk("triage", R"("decision":"valid")");
  auto r = Do("code", "");
  ASSERT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("choose a lowest level term"), std::string::npos) << r.status().message();
  auto coder = MeddraCoderFor(*store_, "", "");
  ASSERT_TRUE(coder.ok()) << coder.status().ToString();
  auto faint = (*coder)->Code("Fainting");
  ASSERT_TRUE(faint.coded());
  auto chosen = Do("code", R"("llt":")" + std::to_string(faint.coding.llt.code) + "\"");
  ASSERT_TRUE(chosen.ok()) << chosen.status().ToString();
  EXPECT_EQ(chosen->events[0].payload.Find("method")->as_string(), "chosen");
  EXPECT_EQ(Case().coding->pt_name, "Syncope");
}

TEST_F(SafetyWorkflowTest, ClocksCountFromDayZeroAndSubmissionsAfterTheDueDayAreLate) {
  Opened();  // day 0: 2024-03-01 (a leap year's day after 29 February)
  ReadyToSubmit();
  SafetyCase c = Case();
  AdverseEventFacts row = FactsOfCase(*study_, capture_->Subject("701-1020").value(), c);
  auto owed = ReportsOwed(*study_, c, row);
  ASSERT_EQ(owed.size(), 2u);
  EXPECT_EQ(safety::FormatDate(owed[0].due.due), "2024-03-16") << "FDA: 15 calendar days";
  EXPECT_EQ(safety::FormatDate(owed[1].due.due), "2024-03-16") << "EU: 15 days";

  env_.SetNowMicros(kNow + 15 * kDay + 11 * 3'600'000'000LL);  // 2024-03-16 23:00: the last day, on time
  DoOk("submit", R"("destination":"FDA")");
  env_.SetNowMicros(kNow + 16 * kDay);  // 2024-03-17 12:00: a day late
  DoOk("submit", R"("destination":"EU")");
  c = Case();
  owed = ReportsOwed(*study_, c, row);
  ASSERT_EQ(owed.size(), 2u);
  EXPECT_FALSE(owed[0].late);
  EXPECT_TRUE(owed[1].late);
  const Value reports = Line().reports;
  EXPECT_FALSE(reports.as_array()[0].Find("late")->as_bool());
  EXPECT_TRUE(reports.as_array()[1].Find("late")->as_bool());
}

TEST_F(SafetyWorkflowTest, FollowUpAfterSubmissionStartsTheNextVersionWithItsOwnClock) {
  Opened();
  ReadyToSubmit();
  DoOk("submit", R"("destination":"FDA")");
  DoOk("submit", R"("destination":"EU")");
  // New information from the site, ten days later: version 2.
  env_.SetNowMicros(kNow + 10 * kDay);
  Ok(R"({"op":"form.save","subject":"701-1020","visit":"LOGS","form":"AE","rows":[{"group":"AE","row":1,"items":{"AEOUT":"RECOVERED/RESOLVED"}}],"reason":"Other: recovered"})");
  SafetyCase c = Case();
  EXPECT_EQ(c.version, 2);
  EXPECT_EQ(c.version_aware_us, kNow + 10 * kDay);
  EXPECT_EQ(Stage(), "medical_review") << "a new version is reviewed again";
  DoOk("assess", R"("causality":"related","expectedness":"unexpected")");
  DoOk("approve", "");
  c = Case();
  AdverseEventFacts row = FactsOfCase(*study_, capture_->Subject("701-1020").value(), c);
  auto owed = ReportsOwed(*study_, c, row);
  ASSERT_EQ(owed.size(), 4u) << "the initial reports, met, and a follow-up to each";
  EXPECT_EQ(owed[2].due.kind, safety::ReportKind::kFollowUp);
  EXPECT_EQ(safety::FormatDate(owed[2].due.day0), "2024-03-11");
  EXPECT_EQ(safety::FormatDate(owed[2].due.due), "2024-03-26");
  EXPECT_EQ(Stage(), "submission");
  auto v2 = Do("submit", R"("destination":"FDA")");
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ(v2->events[0].payload.Find("version")->as_int(), 2);
  EXPECT_NE(v2->events[0].payload.Find("message_id")->as_string(), c.submissions[0].message_id)
      << "each version its own message";
  EXPECT_EQ(v2->events[0].payload.Find("safety_report_id")->as_string(), c.submissions[0].safety_report_id)
      << "one case, one report id";
}

TEST_F(SafetyWorkflowTest, ARejectedReportGoesBackToCorrectionAndIsSentAgain) {
  Opened();
  ReadyToSubmit();
  DoOk("submit", R"("destination":"FDA")");
  DoOk("submit", R"("destination":"EU")");
  SafetyCase c = Case();
  auto applied = ApplyE2bAck(*capture_, AckFor(c.submissions[0].batch_number, c.submissions[0].message_id, false),
                             "negative.ack", kSafety);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ((*applied)[0].ack, "rejected");
  EXPECT_FALSE((*applied)[0].errors.empty()) << "the receiver's errors are kept on the case";
  EXPECT_EQ(Stage(), "correction");
  EXPECT_FALSE(Case().submissions[0].ack_errors.empty());

  // The same acknowledgement again, one for a batch never sent, one naming
  // another message: refused, nothing stored.
  const uint64_t before = store_->LastSeq().value();
  auto again = ApplyE2bAck(*capture_, AckFor(c.submissions[0].batch_number, c.submissions[0].message_id, false),
                           "negative.ack", kSafety);
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  auto unknown = ApplyE2bAck(*capture_, AckFor("NOT-OURS-1", c.submissions[0].message_id, true), "x.ack", kSafety);
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("NOT-OURS-1"), std::string::npos);
  auto stranger =
      ApplyE2bAck(*capture_, AckFor(c.submissions[1].batch_number, "US-SOMEONE-ELSE", true), "y.ack", kSafety);
  EXPECT_EQ(stranger.status().code(), StatusCode::kNotFound);
  auto broken = ApplyE2bAck(*capture_, "<MCCI_IN200101UV01", "broken.ack", kSafety);
  EXPECT_EQ(broken.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(broken.status().message().find("broken.ack"), std::string::npos);
  EXPECT_EQ(store_->LastSeq().value(), before);

  auto resent = Do("submit", R"("destination":"FDA")");
  ASSERT_TRUE(resent.ok()) << resent.status().ToString();
  EXPECT_EQ(resent->events[0].payload.Find("batch_number")->as_string(), "701-1020-SAE1-3");
  EXPECT_EQ(Stage(), "awaiting_ack");
}

TEST_F(SafetyWorkflowTest, ARemovedRowLeadsToNullificationReportedWhereTheCaseWasSent) {
  Opened();
  ReadyToSubmit();
  DoOk("submit", R"("destination":"FDA")");
  Ok(R"({"op":"row.remove","subject":"701-1020","visit":"LOGS","form":"AE","group":"AE","row":1,"reason":"Entered on the wrong visit, form or subject"})");
  EXPECT_EQ(Stage(), "nullification");
  auto r = Do("nullify", "");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << "a nullification needs its reason";
  DoOk("nullify", R"("reason":"Entered for the wrong subject")");
  EXPECT_EQ(Stage(), "submission") << "FDA received the case: it receives its nullification";
  auto sent = Do("submit", R"("destination":"FDA")");
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  EXPECT_TRUE(sent->events[0].payload.Find("nullification")->as_bool());
  auto back = safety::ImportE2bBatch(sent->events[0].payload.Find("file")->as_string(), "nullification");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->icsrs[0].Value("C.1.11.1"), "1");
  r = Do("submit", R"("destination":"EU")");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << "the EU never received it";
  EXPECT_EQ(Stage(), "nullified");
}

// Point 5: AE terms on the CRF are coded as they are saved when the
// autocoder matches, by the data manager when it does not, and lose a
// coding their new words no longer fit.
TEST_F(SafetyWorkflowTest, AdverseEventTermsAreCodedOnTheCrf) {
  Screen("701-1020");
  auto saved = Run(
      R"({"op":"form.save","subject":"701-1020","visit":"LOGS","form":"AE","rows":[{"group":"AE","items":{"AETERM":"headache","AESTDTC":"2024-02-10","AEONGO":true,"AESEV":"MILD","AESER":"N","AEREL":"NONE","AEACN":"DOSE NOT CHANGED","AEOUT":"RECOVERING/RESOLVING"}}]})");
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  ASSERT_EQ(saved->events.size(), 2u);
  EXPECT_EQ(saved->events[1].type, "ae.coded") << "in the save's own batch";
  EXPECT_EQ(saved->events[1].payload.Find("method")->as_string(), "normalised");
  auto row = [&] { return capture_->Subject("701-1020").value().visits["LOGS"].forms["AE"].rows["AE"][1]; };
  ASSERT_TRUE(row().coding.has_value());
  EXPECT_EQ(row().coding->pt_name, "Headache");

  // New words the autocoder cannot match: the old coding goes.
  auto vague = Run(
      R"({"op":"form.save","subject":"701-1020","visit":"LOGS","form":"AE","rows":[{"group":"AE","row":1,"items":{"AETERM":"head felt odd"}}],"reason":"Other: as the patient described it"})");
  ASSERT_TRUE(vague.ok()) << vague.status().ToString();
  EXPECT_EQ(vague->events.back().type, "ae.uncoded");
  EXPECT_FALSE(row().coding.has_value());

  // The data manager codes it; the coordinator may not; a recode needs a reason.
  const std::string code = R"({"op":"ae.code","subject":"701-1020","visit":"LOGS","group":"AE","row":1,"llt":")";
  auto coder = MeddraCoderFor(*store_, "", "").value();
  const std::string headache = std::to_string(coder->Code("Headache").coding.llt.code);
  EXPECT_EQ(Run(code + headache + "\"}").status().code(), StatusCode::kPermissionDenied);
  auto manual = Run(code + headache + "\"}", kDm);
  ASSERT_TRUE(manual.ok()) << manual.status().ToString();
  EXPECT_EQ(row().coding->method, "chosen");
  EXPECT_EQ(row().coding->verbatim, "head felt odd");
  auto again = Run(code + headache + "\"}", kDm);
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("give a reason to recode it"), std::string::npos);
  EXPECT_EQ(Run(R"({"op":"ae.code","subject":"701-1020","visit":"LOGS","group":"AE","row":7,"llt":"1"})", kDm)
                .status()
                .code(),
            StatusCode::kNotFound);
}

// Point 6: the safety physician, and no one else, unblinds one case, with a
// reason, as an event of the audit trail.
TEST_F(SafetyWorkflowTest, OneCaseIsUnblindedByTheSafetyPhysicianWithAReason) {
  Opened();
  EXPECT_EQ(Do("unblind", "").status().code(), StatusCode::kInvalidArgument);
  const std::string reason = R"("reason":"A SUSAR: the expedited report needs the treatment")";
  EXPECT_EQ(Do("unblind", reason, kMedical).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Do("unblind", reason, kPharm).status().code(), StatusCode::kPermissionDenied);
  auto unblinded = Do("unblind", reason);
  ASSERT_TRUE(unblinded.ok()) << unblinded.status().ToString();
  EXPECT_EQ(unblinded->events[0].type, "safety.case.unblinded");
  EXPECT_EQ(unblinded->events[0].reason, "A SUSAR: the expedited report needs the treatment");
  EXPECT_TRUE(Case().unblinded);
  EXPECT_TRUE(Line().unblinded);
  EXPECT_EQ(Do("unblind", reason).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(SafetyWorkflowTest, SafetyWorkGoesOnAfterDatabaseLock) {
  Opened();
  DoOk("triage", R"("decision":"valid")");
  Ok(kLock, kDm);
  DoOk("code", "");
  EXPECT_EQ(Stage(), "medical_review");
}

}  // namespace
}  // namespace trialcore::capture
