#include "capture/capture.h"

#include <gtest/gtest.h>

#include "capture/blinding.h"
#include "capture/capture_test_fixture.h"
#include "capture/lock_checklist.h"
#include "capture/privacy.h"
#include "capture/projection.h"
#include "capture/reads.h"
#include "core/json.h"
#include "core/test_env.h"
#include "rules/rules.h"
#include "store/test_store.h"

namespace trialcore::capture {
namespace {

TEST_F(CaptureTest, DerivationComputesAgeAndSoftCheckOpensQueryThatClosesWhenCorrected) {
  Screen("701-1001", "1990-01-01");  // 34 at consent: DM02 fails
  auto s = capture_->Subject("701-1001").value();
  EXPECT_EQ(s.visits["SCREENING1"].forms["DM"].items["AGE"].value, Value(int64_t{34}));
  auto open = Queries("701-1001", QueryState::kOpen);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].check, "DM02");
  EXPECT_EQ(open[0].item, "BRTHDTC");

  // Correcting without a reason is refused and stores nothing.
  uint64_t before = store_->LastSeq().value();
  auto r = Run(
      R"({"op":"form.save","subject":"701-1001","visit":"SCREENING1","form":"DM","items":{"BRTHDTC":"1950-01-01"}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("reason for change is required: BRTHDTC from \"1990-01-01\" to \"1950-01-01\""),
            std::string::npos)
      << r.status().message();
  EXPECT_EQ(store_->LastSeq().value(), before);

  auto fixed = Run(
      R"({"op":"form.save","subject":"701-1001","visit":"SCREENING1","form":"DM","items":{"BRTHDTC":"1950-01-01"},"reason":"Other: transcription error"})");
  ASSERT_TRUE(fixed.ok()) << fixed.status().ToString();
  EXPECT_TRUE(Queries("701-1001", QueryState::kOpen).empty());
  ASSERT_EQ(Queries("701-1001", QueryState::kClosed).size(), 1u);
  s = capture_->Subject("701-1001").value();
  EXPECT_EQ(s.visits["SCREENING1"].forms["DM"].items["AGE"].value, Value(int64_t{74}));
  // The derived change and the closing are in the same atomic batch as the save.
  ASSERT_EQ(fixed->events.size(), 2u);
  EXPECT_EQ(fixed->events[0].type, "form.saved");
  EXPECT_EQ(fixed->events[0].reason, "Other: transcription error");
  EXPECT_EQ(fixed->events[1].type, "query.closed");
}

// Issue 15: a query an edit check opens is the system's; the projection
// keeps the user's save that made the check fail as its trigger.
TEST_F(CaptureTest, AnEditChecksQueryNamesTheSaveThatTriggeredIt) {
  Screen("701-1001");
  auto saved = Run(
      R"({"op":"form.save","subject":"701-1001","visit":"SCREENING1","form":"VS","items":{"VSPOS":"SITTING","SYSBP":175,"DIABP":80,"PULSE":70}})");
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  ASSERT_GE(saved->events.size(), 2u);
  const Event& save = saved->events[0];
  ASSERT_EQ(save.type, "form.saved");
  const Event* opened = nullptr;
  for (const Event& e : saved->events) {
    if (e.type == "query.opened") opened = &e;
  }
  ASSERT_NE(opened, nullptr);
  EXPECT_EQ(opened->actor, kCoord);  // the event keeps the user whose save triggered it
  EXPECT_EQ(opened->payload.Find("save")->as_int(), static_cast<int64_t>(save.stream_version));
  const int n = static_cast<int>(opened->payload.Find("query")->as_int());
  const Query q = capture_->Subject("701-1001").value().queries.at(n);
  EXPECT_TRUE(q.raised_by_check());
  EXPECT_EQ(q.check, "SYSBP.soft_range");
  EXPECT_EQ(q.triggering_save_seq, save.seq);
  EXPECT_EQ(q.triggering_save_version, save.stream_version);
  // A replay of the log gives the same.
  auto reopened = Capture::Open(store_.get(), &env_, "CDISCPILOT01");
  ASSERT_TRUE(reopened.ok());
  const Query replayed = (*reopened)->Subject("701-1001").value().queries.at(n);
  EXPECT_EQ(replayed.triggering_save_seq, save.seq);
  EXPECT_EQ(replayed.triggering_save_version, save.stream_version);
  // The save's result names it for the application to word.
  const Value::Array& listed = saved->result.Find("queries_opened")->as_array();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].Find("query")->as_int(), n);
  EXPECT_EQ(listed[0].Find("item")->as_string(), "SYSBP");

  // A query a monitor raises is theirs: no check, no trigger.
  auto raised = Run(R"({"op":"query.open","subject":"701-1001","visit":"SCREENING1","form":"VS","item":"PULSE",)"
                    R"("message":"Please confirm"})",
                    kMonitor);
  ASSERT_TRUE(raised.ok()) << raised.status().ToString();
  const Query manual =
      capture_->Subject("701-1001").value().queries.at(static_cast<int>(raised->result.Find("query")->as_int()));
  EXPECT_FALSE(manual.raised_by_check());
  EXPECT_EQ(manual.triggering_save_seq, 0u);
}

// Logs written before query.opened named its save ("save") still replay:
// the trigger is then the last save of the command that opened the query.
TEST(QueryTrigger, EventsWithoutTheSaveNameTheLastSaveOfTheirCommand) {
  auto event = [](uint64_t seq, uint64_t version, const std::string& type, Value::Object payload) {
    Event e;
    e.seq = seq;
    e.stream = "subject/701-1001";
    e.stream_version = version;
    e.type = type;
    e.actor = kCoord;
    e.payload = std::move(payload);
    return e;
  };
  auto check_query = [](int64_t n) {
    return Value::Object{
        {"query", n},          {"visit", "WEEK2"}, {"form", "VS"}, {"item", "SYSBP"}, {"check", "SYSBP.soft_range"},
        {"message", "outside"}};
  };
  SubjectState s;
  ApplySubjectEvent(s, event(10, 1, "form.saved", Value::Object{{"visit", "WEEK2"}, {"form", "VS"}}));
  // A second command's saves (the user's, then a form reading it), and its query, without "save".
  ApplySubjectEvent(s, event(14, 2, "form.saved", Value::Object{{"visit", "WEEK4"}, {"form", "VS"}}));
  ApplySubjectEvent(s, event(15, 3, "form.saved", Value::Object{{"visit", "WEEK4"}, {"form", "LB"}}));
  ApplySubjectEvent(s, event(16, 4, "query.opened", check_query(1)));
  EXPECT_EQ(s.queries.at(1).triggering_save_seq, 15u);
  EXPECT_EQ(s.queries.at(1).triggering_save_version, 3u);
  // Written since: "save" names the user's own save of the command exactly.
  ApplySubjectEvent(s, event(20, 5, "form.saved", Value::Object{{"visit", "WEEK8"}, {"form", "VS"}}));
  ApplySubjectEvent(s, event(21, 6, "form.saved", Value::Object{{"visit", "WEEK8"}, {"form", "LB"}}));
  Value::Object with_save = check_query(2);
  with_save["save"] = int64_t{5};
  ApplySubjectEvent(s, event(22, 7, "query.opened", with_save));
  EXPECT_EQ(s.queries.at(2).triggering_save_seq, 20u);
  EXPECT_EQ(s.queries.at(2).triggering_save_version, 5u);
  // A person's query has no trigger.
  ApplySubjectEvent(
      s,
      event(23, 8, "query.opened",
            Value::Object{
                {"query", int64_t{3}}, {"visit", "WEEK8"}, {"form", "VS"}, {"item", "PULSE"}, {"message", "confirm"}}));
  EXPECT_EQ(s.queries.at(3).triggering_save_seq, 0u);
  EXPECT_FALSE(s.queries.at(3).raised_by_check());
}

TEST_F(CaptureTest, HardChecksAndBadValuesRefuseTheSaveAndStoreNothing) {
  Screen("701-1002");
  uint64_t before = store_->LastSeq().value();
  struct Case {
    const char* json;
    StatusCode code;
    const char* message;
  } cases[] = {
      {R"({"op":"form.save","subject":"701-1002","visit":"SCREENING1","form":"VS","items":{"VSPOS":"SITTING","SYSBP":400,"DIABP":80,"PULSE":70}})",
       StatusCode::kFailedPrecondition,
       "SYSBP.hard_range on SCREENING1/VS/SYSBP: Systolic blood pressure 400 mmHg is impossible: it must be 40 to "
       "300."},
      {R"({"op":"form.save","subject":"701-1002","visit":"SCREENING1","form":"VS","items":{"VSPOS":"SITTING","SYSBP":80,"DIABP":90,"PULSE":70}})",
       StatusCode::kFailedPrecondition,
       "VS01 on SCREENING1/VS/DIABP: Systolic pressure must be above diastolic pressure."},
      {R"({"op":"form.save","subject":"701-1002","visit":"SCREENING1","form":"VS","items":{"TEMP":"36.55"}})",
       StatusCode::kInvalidArgument, "TEMP: \"36.55\" has 2 decimal places; at most 1 are allowed"},
      {R"({"op":"form.save","subject":"701-1002","visit":"SCREENING1","form":"VS","items":{"VSPOS":"LYING"}})",
       StatusCode::kInvalidArgument, "is not a code of POSITION (SUPINE, SITTING, STANDING)"},
      {R"({"op":"form.save","subject":"701-1002","visit":"SCREENING1","form":"VS","items":{"SYSBP":"high"}})",
       StatusCode::kInvalidArgument, "SYSBP: \"high\" is not a whole number"},
      {R"({"op":"form.save","subject":"701-1002","visit":"SCREENING1","form":"VS","items":{"BMI":"22.0"}})",
       StatusCode::kInvalidArgument, "BMI is derived"},
      {R"({"op":"form.save","subject":"701-1002","visit":"SCREENING1","form":"VS","items":{"NOPE":"1"}})",
       StatusCode::kNotFound, "form VS has no item NOPE"},
      {R"({"op":"form.save","subject":"701-1002","visit":"WEEK10","form":"VS","items":{"SYSBP":120}})",
       StatusCode::kNotFound, "visit WEEK10 does not collect form VS"},
      {R"({"op":"form.save","subject":"701-1002","visit":"SCREENING1","form":"VS","items":{"SYSBP":120},"colour":"red"})",
       StatusCode::kInvalidArgument, "unknown field \"colour\""},
      {R"({"op":"form.save","subject":"999-9999","visit":"SCREENING1","form":"VS","items":{"SYSBP":120}})",
       StatusCode::kNotFound, "no subject 999-9999"},
      {R"({"op":"form.save","subject":"701-1002","visit":"SCREENING1","form":"DM","items":{"BRTHDTC":"2024-02-30"}})",
       StatusCode::kInvalidArgument, "\"2024-02-30\" is not a calendar date"},
      {R"({"op":"launch"})", StatusCode::kInvalidArgument, "unknown op \"launch\""},
      {R"({"op":"subject.screen","subject":"John Smith","site":"701"})", StatusCode::kInvalidArgument,
       "does not follow this study's numbering"},
      {R"({"op":"subject.screen","subject":"701-1002","site":"701"})", StatusCode::kAlreadyExists, "already exists"},
      {R"({"op":"subject.screen","subject":"701-1099","site":"999"})", StatusCode::kNotFound, "unknown site 999"},
  };
  for (const Case& c : cases) {
    auto r = Run(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), c.code) << c.json << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.message), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(store_->LastSeq().value(), before);
}

TEST_F(CaptureTest, RolesFromTheStudyDecideWhoEntersEachForm) {
  Screen("701-1003");
  auto r = Run(R"({"op":"form.save","subject":"701-1003","visit":"SCREENING1","form":"VS","items":{"SYSBP":120}})",
               kMonitor);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  // Eligibility is for investigators only.
  r = Run(
      R"({"op":"form.save","subject":"701-1003","visit":"SCREENING1","form":"IE","items":{"MMSE":19},"reason":"Other: rescored"})",
      kCoord);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
}

TEST_F(CaptureTest, EnrolmentNeedsEligibility) {
  Screen("701-1004");
  Ok(R"({"op":"form.save","subject":"701-1004","visit":"SCREENING1","form":"IE","items":{"MMSE":25},"reason":"Other: rescored"})",
     kInv);
  auto e = capture_->CheckEligibility("701-1004").value();
  EXPECT_EQ(e.overall, Eligibility::kNotEligible);
  EXPECT_EQ(e.Summary(), "not eligible: INCL03 not met");
  auto r = Run(R"({"op":"subject.enroll","subject":"701-1004"})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("INCL03 not met"), std::string::npos);
  Ok(R"({"op":"form.save","subject":"701-1004","visit":"SCREENING1","form":"IE","items":{"MMSE":20},"reason":"Other: scoring error"})",
     kInv);
  Ok(R"({"op":"subject.enroll","subject":"701-1004"})");
  EXPECT_EQ(capture_->Subject("701-1004")->status, "enrolled");
  r = Run(R"({"op":"subject.enroll","subject":"701-1004"})");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);

  Ok(R"({"op":"subject.screen","subject":"701-1005","site":"701"})");
  e = capture_->CheckEligibility("701-1005").value();
  EXPECT_EQ(e.overall, Eligibility::kIncomplete);
}

TEST_F(CaptureTest, VisitWindowsFollowTheAnchor) {
  Screen("701-1006");
  Ok(R"({"op":"subject.enroll","subject":"701-1006"})");
  Ok(R"({"op":"form.save","subject":"701-1006","visit":"BASELINE","form":"SV","items":{"SVSTDTC":"2024-01-08"}})");
  Ok(R"({"op":"form.save","subject":"701-1006","visit":"BASELINE","form":"RAND","items":{"RANDDT":"2024-01-08"}})");
  Ok(R"({"op":"form.save","subject":"701-1006","visit":"WEEK2","form":"SV","items":{"SVSTDTC":"2024-01-25"}})");  // day
                                                                                                                  // 18
                                                                                                                  // >
                                                                                                                  // 14+2
  Ok(R"({"op":"form.save","subject":"701-1006","visit":"WEEK4","form":"SV","items":{"SVSTDTC":"2024-02-02"}})");  // day
                                                                                                                  // 26,
                                                                                                                  // window
                                                                                                                  // 25-29
  Ok(R"({"op":"visit.missed","subject":"701-1006","visit":"WEEK6","reason":"subject in hospital"})");
  std::map<std::string, WindowStatus> status;
  std::vector<VisitSchedule> schedule = capture_->Schedule("701-1006").value();
  for (const auto& v : schedule) status[v.visit] = v.status;
  EXPECT_EQ(status["BASELINE"], WindowStatus::kInWindow);
  EXPECT_EQ(status["WEEK2"], WindowStatus::kLate);
  EXPECT_EQ(status["WEEK4"], WindowStatus::kInWindow);
  EXPECT_EQ(status["WEEK6"], WindowStatus::kMissed);
  EXPECT_EQ(status["ECGPLACE"], WindowStatus::kOverdue);  // day 13 = 2024-01-20, no window after
  EXPECT_EQ(status["WEEK8"], WindowStatus::kDue);         // day 56 = 2024-03-03, window from 02-29; now is 03-01
  EXPECT_EQ(status["WEEK12"], WindowStatus::kNotDue);
  EXPECT_EQ(status["AEFU"], WindowStatus::kUnscheduled);
}

TEST_F(CaptureTest, QueriesFollowTheirWorkflowAndRoles) {
  Screen("701-1007");
  Ok(R"({"op":"query.open","subject":"701-1007","visit":"SCREENING1","form":"DM","item":"RACE","message":"Please confirm race against source"})",
     kMonitor);
  auto r = Run(R"({"op":"query.close","subject":"701-1007","query":1})", kCoord);
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  Ok(R"({"op":"query.answer","subject":"701-1007","query":1,"message":"Confirmed in the clinic notes"})", kCoord);
  r = Run(R"({"op":"query.answer","subject":"701-1007","query":1,"message":"again"})", kCoord);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  Ok(R"({"op":"query.close","subject":"701-1007","query":1})", kMonitor);
  Ok(R"({"op":"query.reopen","subject":"701-1007","query":1,"message":"Notes say otherwise"})", kMonitor);
  auto q = capture_->Subject("701-1007")->queries.at(1);
  EXPECT_EQ(q.state, QueryState::kOpen);
  ASSERT_EQ(q.thread.size(), 4u);
  EXPECT_EQ(q.thread[1].message, "Confirmed in the clinic notes");
  EXPECT_EQ(q.thread[1].actor.user, "coord.701");
  r = Run(R"({"op":"query.answer","subject":"701-1007","query":9,"message":"x"})", kCoord);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST_F(CaptureTest, VerificationIsResetByAChange) {
  Screen("701-1008");
  Ok(R"({"op":"sdv.verify","subject":"701-1008","visit":"SCREENING1","form":"DM"})", kMonitor);
  EXPECT_TRUE(capture_->Subject("701-1008")->visits["SCREENING1"].forms["DM"].items["SEX"].verified);
  auto r = Run(
      R"({"op":"form.save","subject":"701-1008","visit":"SCREENING1","form":"DM","items":{"RACE":"ASIAN"},"reason":"Other: source corrected"})");
  ASSERT_TRUE(r.ok());
  auto s = capture_->Subject("701-1008").value();
  EXPECT_FALSE(s.visits["SCREENING1"].forms["DM"].items["RACE"].verified);
  EXPECT_TRUE(s.visits["SCREENING1"].forms["DM"].items["SEX"].verified);
  EXPECT_NE(r->messages[1].find("verification of SCREENING1/DM/RACE is reset"), std::string::npos);
  // The result names it too, for the application to word.
  EXPECT_EQ(ToJson(*r->result.Find("verification_reset")), R"([{"form":"DM","item":"RACE","visit":"SCREENING1"}])");
  auto sdv = Run(R"({"op":"sdv.verify","subject":"701-1008","visit":"SCREENING1","form":"DM"})", kMonitor);
  ASSERT_TRUE(sdv.ok()) << sdv.status().ToString();
  EXPECT_TRUE(capture_->Subject("701-1008")->visits["SCREENING1"].forms["DM"].items["RACE"].verified);
}

// Issue 15, point 10: verifying a whole form leaves out derived items
// (computed, not copied from a source) and items whose query awaits the
// site, and names the latter; a derived item named on its own is refused.
TEST_F(CaptureTest, VerificationSkipsDerivedItemsAndItemsWithOpenQueriesAndNamesThem) {
  Screen("701-1020", "1990-01-01");  // 34 at consent: DM02 opens a query on BRTHDTC
  ASSERT_EQ(Queries("701-1020", QueryState::kOpen).size(), 1u);
  const int query = Queries("701-1020", QueryState::kOpen)[0].number;
  auto r = Run(R"({"op":"sdv.verify","subject":"701-1020","visit":"SCREENING1","form":"DM"})", kMonitor);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ToJson(*r->result.Find("verified")), R"([{"item":"RACE"},{"item":"SEX"}])");
  EXPECT_EQ(ToJson(*r->result.Find("skipped")), R"([{"item":"BRTHDTC","query":)" + std::to_string(query) + "}]");
  EXPECT_EQ(r->messages[0], "verified 2 items on SCREENING1/DM");
  EXPECT_EQ(r->messages[1], "not verified: BRTHDTC has open query " + std::to_string(query));
  auto dm = capture_->Subject("701-1020")->visits["SCREENING1"].forms["DM"];
  EXPECT_FALSE(dm.items["AGE"].verified) << "derived";
  EXPECT_FALSE(dm.items["BRTHDTC"].verified) << "its query awaits the site";
  EXPECT_TRUE(dm.items["SEX"].verified);

  const uint64_t before = store_->LastSeq().value();
  auto derived =
      Run(R"({"op":"sdv.verify","subject":"701-1020","visit":"SCREENING1","form":"DM","items":["AGE"]})", kMonitor);
  EXPECT_EQ(derived.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(derived.status().message().find("DM.AGE is derived"), std::string::npos) << derived.status().message();
  auto waiting =
      Run(R"({"op":"sdv.verify","subject":"701-1020","visit":"SCREENING1","form":"DM","items":["BRTHDTC"]})", kMonitor);
  ASSERT_TRUE(waiting.ok());
  EXPECT_EQ(waiting->messages[0], "nothing verified on SCREENING1/DM");
  EXPECT_EQ(store_->LastSeq().value(), before) << "nothing stored";

  // Once the site has answered, the item is verified with the monitor's review of the answer.
  Ok(R"({"op":"query.answer","subject":"701-1020","query":)" + std::to_string(query) +
     R"(,"message":"Date of birth confirmed from the passport"})");
  auto answered = Run(R"({"op":"sdv.verify","subject":"701-1020","visit":"SCREENING1","form":"DM"})", kMonitor);
  ASSERT_TRUE(answered.ok());
  EXPECT_EQ(ToJson(*answered->result.Find("verified")), R"([{"item":"BRTHDTC"}])");
  EXPECT_TRUE(capture_->Subject("701-1020")->visits["SCREENING1"].forms["DM"].items["BRTHDTC"].verified);
}

TEST_F(CaptureTest, SignatureIsBoundToWhatWasSignedAndBreaksOnChange) {
  Screen("701-1009");
  auto r = Run(
      R"({"op":"sign","subject":"701-1009","visit":"SCREENING1","form":"DM","meaning":"approval","name":"Dr Ada Byron"})",
      kCoord);
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  r = Run(
      R"({"op":"sign","subject":"701-1009","visit":"SCREENING1","form":"DM","meaning":"approval","name":"Dr Ada Byron"})",
      kInv);
  ASSERT_TRUE(r.ok());
  std::string hash = r->result.Find("content_hash")->as_string();
  EXPECT_EQ(hash.size(), 64u);
  // Saving another form leaves the signature intact.
  Ok(R"({"op":"form.save","subject":"701-1009","visit":"SCREENING1","form":"VS","items":{"VSPOS":"SITTING","SYSBP":120,"DIABP":80,"PULSE":70}})");
  EXPECT_FALSE(capture_->Subject("701-1009")->signatures.at(1).broken);
  auto change = Run(
      R"({"op":"form.save","subject":"701-1009","visit":"SCREENING1","form":"DM","items":{"ETHNIC":"NOT REPORTED"}})");
  ASSERT_TRUE(change.ok());
  EXPECT_TRUE(capture_->Subject("701-1009")->signatures.at(1).broken);
  EXPECT_EQ(change->events.back().type, "signature.invalidated");
  // Signing again binds to the new content.
  auto again = Run(
      R"({"op":"sign","subject":"701-1009","visit":"SCREENING1","form":"DM","meaning":"approval","name":"Dr Ada Byron"})",
      kInv);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->result.Find("content_hash")->as_string(), hash);
}

TEST_F(CaptureTest, DatabaseLockStopsEveryWrite) {
  Screen("701-1010");
  auto r = Run(kLock, kDm);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  r = Run(
      R"({"op":"form.save","subject":"701-1010","visit":"SCREENING1","form":"DM","items":{"ETHNIC":"NOT REPORTED"}})");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("locked"), std::string::npos);
  r = Run(R"({"op":"subject.screen","subject":"701-1011","site":"701"})");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  r = Run(R"({"op":"study.unlock","name":"Dana Manager"})", kDm);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);  // needs a reason
  Ok(R"({"op":"study.unlock","reason":"late lab data","name":"Dana Manager"})", kDm);
  Ok(R"({"op":"form.save","subject":"701-1010","visit":"SCREENING1","form":"DM","items":{"ETHNIC":"NOT REPORTED"}})");
}

// The lock's checklist is read from the projection tables; each item is
// resolved or accepted with a reason (queries only resolved), and the lock
// and unlock are events signed with the data manager's name that keep the
// checklist's counts and what was accepted, and why.
TEST_F(CaptureTest, DatabaseLockNeedsItsChecklistResolvedOrAcceptedAndIsSigned) {
  Screen("701-1016");
  auto count = [&](const std::string& id) -> int64_t {
    auto c = ReadLockChecklist(store_.get(), "CDISCPILOT01", false);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    for (const auto& it : c->items) {
      if (it.id == id) return it.count;
    }
    ADD_FAILURE() << "no item " << id;
    return -1;
  };
  auto checklist = ReadLockChecklist(store_.get(), "CDISCPILOT01", false, 2).value();
  ASSERT_EQ(checklist.items.size(), 5u);
  EXPECT_EQ(checklist.items[0].id, "subjects_on_study");
  EXPECT_EQ(checklist.items[0].count, 1);
  ASSERT_EQ(checklist.items[0].listed.size(), 1u);
  EXPECT_EQ(checklist.items[0].listed[0].subject, "701-1016");
  EXPECT_EQ(checklist.items[0].listed[0].detail, "screening");
  EXPECT_EQ(count("unsigned_casebooks"), 1);
  EXPECT_EQ(count("broken_signatures"), 0);
  const int64_t unverified = count("unverified_forms");
  EXPECT_GE(unverified, 4) << "the four screening forms entered";
  EXPECT_EQ(checklist.items[3].listed.size(), 2u) << "listed up to the bound";
  EXPECT_FALSE(checklist.locked);

  // Refusals name what is wrong and change nothing.
  auto refused = [&](const std::string& cmd, StatusCode code, const std::string& wanted) {
    auto r = Run(cmd, kDm);
    EXPECT_EQ(r.status().code(), code) << cmd << " " << r.status().ToString();
    EXPECT_NE(r.status().message().find(wanted), std::string::npos) << r.status().ToString();
  };
  refused(R"({"op":"study.lock"})", StatusCode::kInvalidArgument, "missing field \"name\"");
  refused(R"({"op":"study.lock","name":"Dana Manager"})", StatusCode::kFailedPrecondition,
          "Subjects still on study or in screening: 1");
  refused(R"({"op":"study.lock","name":"Dana Manager","accept":{"subjects_on_study":"interim"}})",
          StatusCode::kFailedPrecondition, "Casebooks without a valid signature: 1");
  refused(R"({"op":"study.lock","name":"D","accept":{"visits_missing":"x"}})", StatusCode::kInvalidArgument,
          "\"visits_missing\", which is no item of the lock checklist");
  refused(R"({"op":"study.lock","name":"D","accept":{"subjects_on_study":""}})", StatusCode::kInvalidArgument,
          "accepting \"subjects_on_study\" needs a reason");
  refused(R"({"op":"study.lock","name":"D","accept":{"unresolved_queries":"later"}})", StatusCode::kInvalidArgument,
          "cannot be accepted");
  EXPECT_EQ(Run(kLock, kCoord).status().code(), StatusCode::kPermissionDenied);

  // An open query refuses the lock whatever is accepted, as before.
  Ok(R"({"op":"query.open","subject":"701-1016","visit":"SCREENING1","form":"DM","item":"RACE","message":"Confirm"})",
     kMonitor);
  EXPECT_EQ(count("unresolved_queries"), 1);
  refused(kLock, StatusCode::kFailedPrecondition, "1 queries are still open or answered");
  Ok(R"({"op":"query.close","subject":"701-1016","query":1})", kMonitor);

  // A casebook signed, then changed: broken until signed again.
  Ok(R"({"op":"sign","subject":"701-1016","meaning":"approval","name":"Dr Ada Byron"})", kInv);
  EXPECT_EQ(count("unsigned_casebooks"), 0);
  Ok(R"({"op":"form.save","subject":"701-1016","visit":"SCREENING1","form":"DM","items":{"ETHNIC":"NOT REPORTED"}})");
  EXPECT_EQ(count("broken_signatures"), 1);
  EXPECT_EQ(count("unsigned_casebooks"), 1);
  Ok(R"({"op":"sign","subject":"701-1016","meaning":"approval","name":"Dr Ada Byron"})", kInv);
  EXPECT_EQ(count("broken_signatures"), 0);
  EXPECT_EQ(count("unsigned_casebooks"), 0);
  // Verifying a form resolves it.
  Ok(R"({"op":"sdv.verify","subject":"701-1016","visit":"SCREENING1","form":"SV"})", kMonitor);
  EXPECT_EQ(count("unverified_forms"), unverified - 1);

  // What is left is accepted with reasons: the lock is taken, signed.
  auto locked = Run(R"({"op":"study.lock","name":"Dana Manager","reason":"final lock","accept":{)"
                    R"("subjects_on_study":"701-1016 followed up outside the database",)"
                    R"("unverified_forms":"risk-based plan: remaining forms out of scope",)"
                    R"("broken_signatures":"nothing broken, accepted in advance"}})",
                    kDm);
  ASSERT_TRUE(locked.ok()) << locked.status().ToString();
  ASSERT_EQ(locked->events.size(), 1u);
  const Event& e = locked->events[0];
  EXPECT_EQ(e.type, "study.locked");
  EXPECT_EQ(e.reason, "final lock");
  EXPECT_EQ(e.actor.user, "dm.1");
  EXPECT_EQ(e.payload.Find("signer_name")->as_string(), "Dana Manager");
  EXPECT_EQ(e.payload.Find("checklist")->Find("subjects_on_study")->as_int(), 1);
  EXPECT_EQ(e.payload.Find("checklist")->Find("unresolved_queries")->as_int(), 0);
  const Value& accepted = *e.payload.Find("accepted");
  EXPECT_EQ(accepted.Find("subjects_on_study")->as_string(), "701-1016 followed up outside the database");
  EXPECT_NE(accepted.Find("unverified_forms"), nullptr);
  EXPECT_EQ(accepted.Find("broken_signatures"), nullptr) << "an accepted item with nothing outstanding is not kept";
  EXPECT_TRUE(ReadLockChecklist(store_.get(), "CDISCPILOT01", false)->locked);
  refused(kLock, StatusCode::kFailedPrecondition, "already locked");

  refused(R"({"op":"study.unlock","reason":"late data"})", StatusCode::kInvalidArgument, "missing field \"name\"");
  auto unlocked = Run(R"({"op":"study.unlock","reason":"late laboratory data","name":"Dana Manager"})", kDm);
  ASSERT_TRUE(unlocked.ok()) << unlocked.status().ToString();
  EXPECT_EQ(unlocked->events[0].type, "study.unlocked");
  EXPECT_EQ(unlocked->events[0].reason, "late laboratory data");
  EXPECT_EQ(unlocked->events[0].payload.Find("signer_name")->as_string(), "Dana Manager");
  EXPECT_FALSE(ReadLockChecklist(store_.get(), "CDISCPILOT01", false)->locked);
  // The history of locks, each with its signer, reason and what was accepted.
  auto history = ReadLockHistory(store_.get(), "CDISCPILOT01").value();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_TRUE(history[0].locked);
  EXPECT_EQ(history[0].signer_name, "Dana Manager");
  EXPECT_EQ(history[0].user, "dm.1");
  EXPECT_EQ(history[0].reason, "final lock");
  EXPECT_EQ(history[0].accepted.size(), 2u);
  EXPECT_EQ(history[0].accepted.at("unverified_forms"), "risk-based plan: remaining forms out of scope");
  EXPECT_FALSE(history[1].locked);
  EXPECT_EQ(history[1].reason, "late laboratory data");
  EXPECT_GE(history[1].time_us, history[0].time_us);
}

// The form page's read-only reason and the commands' refusals follow one
// rule: the first of database lock, subject lock and freeze, form lock and
// freeze, missed visit; each undone in turn gives way to the next.
TEST_F(CaptureTest, WhyReadOnlyNamesTheFirstReasonAFormCannotChangeAndSavesAreRefusedForIt) {
  Screen("701-1013");
  Ok(R"({"op":"visit.missed","subject":"701-1013","visit":"WEEK2","reason":"patient travelling"})");
  auto why = [&](const std::string& visit, const std::string& form) {
    SubjectState s = capture_->Subject("701-1013").value();
    return std::string(ReadOnlyName(WhyReadOnly(capture_->DatabaseLocked(), s, visit, form)));
  };
  const std::string dm = R"("subject":"701-1013","visit":"SCREENING1","form":"DM")";
  auto save_refused = [&](const std::string& wanted) {
    auto r = Run(R"({"op":"form.save",)" + dm + R"(,"items":{"ETHNIC":"NOT REPORTED"},"reason":"x"})");
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << wanted;
    EXPECT_NE(r.status().message().find(wanted), std::string::npos) << r.status().ToString();
  };
  EXPECT_EQ(why("SCREENING1", "DM"), "");
  EXPECT_EQ(why("WEEK2", "VS"), "visit_missed");
  EXPECT_EQ(why("WEEK4", "VS"), "") << "a visit not yet begun";
  Ok(R"({"op":"form.freeze",)" + dm + "}", kDm);
  EXPECT_EQ(why("SCREENING1", "DM"), "form_frozen");
  EXPECT_EQ(why("SCREENING1", "VS"), "") << "only that form";
  save_refused("SCREENING1/DM is frozen");
  Ok(R"({"op":"form.lock",)" + dm + "}", kDm);
  EXPECT_EQ(why("SCREENING1", "DM"), "form_locked");
  save_refused("SCREENING1/DM is locked");
  Ok(R"({"op":"subject.freeze","subject":"701-1013"})", kDm);
  EXPECT_EQ(why("SCREENING1", "DM"), "subject_frozen");
  EXPECT_EQ(why("SCREENING1", "VS"), "subject_frozen");
  save_refused("subject 701-1013 is frozen");
  Ok(R"({"op":"subject.lock","subject":"701-1013"})", kDm);
  EXPECT_EQ(why("SCREENING1", "VS"), "subject_locked");
  EXPECT_EQ(why("", ""), "subject_locked");
  save_refused("subject 701-1013 is locked");
  Ok(kLock, kDm);
  EXPECT_TRUE(capture_->DatabaseLocked());
  EXPECT_EQ(why("SCREENING1", "VS"), "database_locked");
  save_refused("the study database is locked");
  Ok(R"({"op":"study.unlock","reason":"query found late","name":"Dana Manager"})", kDm);
  EXPECT_FALSE(capture_->DatabaseLocked());
  EXPECT_EQ(why("SCREENING1", "VS"), "subject_locked");
}

TEST_F(CaptureTest, RepeatingGroupsRunRowChecksAndCrossFormChecksRaiseQueries) {
  Screen("701-1012");
  auto r = Run(
      R"({"op":"form.save","subject":"701-1012","visit":"LOGS","form":"AE","rows":[{"group":"AE","items":{"AETERM":"HEADACHE","AESTDTC":"2024-01-10","AEONGO":false,"AEENDTC":"2024-01-05","AESEV":"MILD","AESER":"N","AEREL":"NONE","AEACN":"DOSE NOT CHANGED","AEOUT":"RECOVERED/RESOLVED"}}]})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("AE01 on LOGS/AE/AE[1]/AEENDTC: The end date is before the start date."),
            std::string::npos)
      << r.status().message();
  Ok(R"({"op":"form.save","subject":"701-1012","visit":"LOGS","form":"AE","rows":[{"group":"AE","items":{"AETERM":"HEADACHE","AESTDTC":"2024-01-10","AEONGO":false,"AEENDTC":"2024-01-12","AESEV":"MILD","AESER":"N","AEREL":"NONE","AEACN":"DOSE NOT CHANGED","AEOUT":"RECOVERED/RESOLVED"}}]})");
  Ok(R"({"op":"form.save","subject":"701-1012","visit":"LOGS","form":"AE","rows":[{"group":"AE","items":{"AETERM":"SYNCOPE","AESTDTC":"2024-01-15","AEONGO":true,"AESEV":"SEVERE","AESER":"Y","AEREL":"POSSIBLE","AEACN":"DRUG INTERRUPTED","AEOUT":"RECOVERING/RESOLVING"}}]})");
  auto s = capture_->Subject("701-1012").value();
  ASSERT_EQ(s.visits["LOGS"].forms["AE"].rows["AE"].size(), 2u);
  auto open = Queries("701-1012", QueryState::kOpen);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].check, "AE05");  // serious without a criterion
  EXPECT_EQ(open[0].row, 2);
  // Removing a row needs a reason and clears its values.
  r = Run(R"({"op":"row.remove","subject":"701-1012","visit":"LOGS","form":"AE","group":"AE","row":2})");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  Ok(R"({"op":"sign","subject":"701-1012","visit":"LOGS","form":"AE","meaning":"review","name":"Dr Ada Byron"})", kInv);
  r = Run(
      R"({"op":"row.remove","subject":"701-1012","visit":"LOGS","form":"AE","group":"AE","row":2,"reason":"Other: entered for the wrong subject"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  s = capture_->Subject("701-1012").value();
  EXPECT_TRUE(s.visits["LOGS"].forms["AE"].rows["AE"][2].removed);
  // The row's query has nothing left to ask about; the signature covered the row.
  EXPECT_TRUE(Queries("701-1012", QueryState::kOpen).empty());
  EXPECT_EQ(s.queries.at(open[0].number).state, QueryState::kClosed);
  EXPECT_TRUE(s.signatures.at(1).broken);
  std::vector<std::string> types;
  for (const auto& e : r->events) types.push_back(e.type);
  // The row was serious: its safety case is put up for nullification with the removal's reason.
  EXPECT_EQ(types, (std::vector<std::string>{"row.removed", "query.closed", "safety.case.nullification_proposed",
                                             "signature.invalidated"}));
  EXPECT_EQ(r->events[2].reason, "Other: entered for the wrong subject");
}

// Issue 15 point 5: the study numbers subjects (site, '-', the site's
// sequence from 1001); a number typed by hand must follow the scheme.
TEST_F(CaptureTest, TheServerAssignsSubjectNumbersPerSiteAndRefusesOnesOffTheScheme) {
  auto first = Run(R"({"op":"subject.screen","site":"701"})");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->result.Find("subject")->as_string(), "701-1001");
  auto other_site = Run(R"({"op":"subject.screen","site":"702"})");
  ASSERT_TRUE(other_site.ok()) << other_site.status().ToString();
  EXPECT_EQ(other_site->result.Find("subject")->as_string(), "702-1001") << "each site counts its own";
  // A number typed by hand that the sequence reaches later is skipped.
  Ok(R"({"op":"subject.screen","subject":"701-1002","site":"701"})");
  auto next = Run(R"({"op":"subject.screen","site":"701"})");
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->result.Find("subject")->as_string(), "701-1003");

  const uint64_t before = store_->LastSeq().value();
  for (const char* wrong : {"1099", "702-1005", "701-105", "701-10050"}) {
    auto r = Run(std::string(R"({"op":"subject.screen","site":"701","subject":")") + wrong + "\"}");
    ASSERT_FALSE(r.ok()) << wrong;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << wrong;
    EXPECT_NE(r.status().message().find("does not follow this study's numbering: the site, '-', then 4 digits, such "
                                        "as 701-1001"),
              std::string::npos)
        << r.status().message();
  }
  EXPECT_EQ(store_->LastSeq().value(), before) << "nothing stored";
}

// Issue 15 point 5: a subject screened in error is inactivated with a reason:
// kept, read-only, left out of lists and counts unless asked for.
TEST_F(CaptureTest, AnInactivatedSubjectIsKeptReadOnlyAndLeftOutOfListsUnlessAskedFor) {
  Ok(R"({"op":"subject.screen","subject":"701-1001","site":"701"})");
  Ok(R"({"op":"subject.screen","subject":"701-1002","site":"701"})");
  auto no_reason = Run(R"({"op":"subject.inactivate","subject":"701-1002"})");
  EXPECT_EQ(no_reason.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(no_reason.status().message().find("needs a reason"), std::string::npos);
  auto monitor = Run(R"({"op":"subject.inactivate","subject":"701-1002","reason":"x"})", kMonitor);
  EXPECT_EQ(monitor.status().code(), StatusCode::kPermissionDenied);

  auto r =
      Run(R"({"op":"subject.inactivate","subject":"701-1002","reason":"screened twice: same patient as 701-1001"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_EQ(r->events[0].type, "subject.inactivated");
  EXPECT_EQ(r->events[0].reason, "screened twice: same patient as 701-1001");
  SubjectState s = capture_->Subject("701-1002").value();
  EXPECT_TRUE(s.inactive);
  // Nor does it hold up the database lock.
  auto checklist = ReadLockChecklist(store_.get(), "CDISCPILOT01", false).value();
  ASSERT_EQ(checklist.items[0].id, "subjects_on_study");
  ASSERT_EQ(checklist.items[0].listed.size(), 1u);
  EXPECT_EQ(checklist.items[0].listed[0].subject, "701-1001");
  ASSERT_EQ(checklist.items[1].id, "unsigned_casebooks");
  EXPECT_EQ(checklist.items[1].count, 1);
  EXPECT_EQ(s.inactive_reason, "screened twice: same patient as 701-1001");

  auto save = Run(
      R"({"op":"form.save","subject":"701-1002","visit":"SCREENING1","form":"SV","items":{"SVSTDTC":"2024-01-02"}})");
  EXPECT_EQ(save.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(save.status().message().find("701-1002 is inactivated (screened twice"), std::string::npos)
      << save.status().message();

  Viewer all;
  all.all_sites = true;
  all.unblinded_everywhere = true;
  auto listed = ListSubjects(store_.get(), "CDISCPILOT01", all, {}, 0, 100).value();
  ASSERT_EQ(listed.subjects.size(), 1u);
  EXPECT_EQ(listed.subjects[0].id, "701-1001");
  EXPECT_EQ(listed.total, 1);
  SubjectFilter with_inactive;
  with_inactive.with_inactive = true;
  auto with = ListSubjects(store_.get(), "CDISCPILOT01", all, with_inactive, 0, 100).value();
  ASSERT_EQ(with.subjects.size(), 2u);
  EXPECT_TRUE(with.subjects[1].inactive);
  auto dashboard = Dashboard(store_.get(), "CDISCPILOT01", all, kNow).value();
  EXPECT_EQ(dashboard.subjects_by_site["701"]["screening"], 1);
  // The number stays taken: the sequence goes on after it.
  auto next = Run(R"({"op":"subject.screen","site":"701"})");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->result.Find("subject")->as_string(), "701-1003");

  Ok(R"({"op":"subject.reactivate","subject":"701-1002","reason":"inactivated by mistake"})", kDm);
  EXPECT_FALSE(capture_->Subject("701-1002").value().inactive);
  EXPECT_EQ(ListSubjects(store_.get(), "CDISCPILOT01", all, {}, 0, 100).value().total, 3);
}

// Issue 15 point 6: the study lists standard reasons for change; anything
// else must be "Other: " and the user's own words.
TEST_F(CaptureTest, AReasonForChangeIsAStandardOneOrOtherWithWords) {
  Screen("701-1001", "1990-01-01");
  const std::string save =
      R"({"op":"form.save","subject":"701-1001","visit":"SCREENING1","form":"DM","items":{"BRTHDTC":"1950-01-01"},"reason":")";
  const uint64_t before = store_->LastSeq().value();
  for (const char* wrong : {"typo", "Other:", "Other:   ", "transcription error, corrected from source"}) {
    auto r = Run(save + wrong + "\"}");
    ASSERT_FALSE(r.ok()) << wrong;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << wrong;
    EXPECT_NE(r.status().message().find("must be one of the study's reasons (\"Transcription error, corrected from "
                                        "source\"; \"Data clarified from source\""),
              std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find("or \"Other: \" followed by your own words"), std::string::npos);
  }
  EXPECT_EQ(store_->LastSeq().value(), before);
  Ok(save + "Data clarified from source\"}");
  auto other = Run(
      R"({"op":"form.save","subject":"701-1001","visit":"SCREENING1","form":"DM","items":{"BRTHDTC":"1951-01-01"},"reason":"Other: the patient brought a passport"})");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(other->events[0].reason, "Other: the patient brought a passport");
}

// Issue 15 point 7: a visit's forms wait for its date; the visit date form
// itself, and visits without one (the logs), do not.
TEST_F(CaptureTest, AVisitsFormsWaitForItsDate) {
  Ok(R"({"op":"subject.screen","subject":"701-1001","site":"701"})");
  const uint64_t before = store_->LastSeq().value();
  auto r =
      Run(R"({"op":"form.save","subject":"701-1001","visit":"SCREENING1","form":"IC","items":{"ICDTC":"2024-01-02"}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("enter the visit date first: SCREENING1 has no Visit date yet (form Visit)"),
            std::string::npos)
      << r.status().message();
  EXPECT_EQ(store_->LastSeq().value(), before);
  // form.check still answers (the page asks it while the user types).
  EXPECT_TRUE(
      Run(R"({"op":"form.check","subject":"701-1001","visit":"SCREENING1","form":"IC","items":{"ICDTC":"2024-01-02"}})")
          .ok());
  Ok(R"({"op":"form.save","subject":"701-1001","visit":"LOGS","form":"CM","rows":[{"group":"CM","items":{"CMTRT":"ASPIRIN"}}]})");
  Ok(R"({"op":"form.save","subject":"701-1001","visit":"SCREENING1","form":"SV","items":{"SVSTDTC":"2024-01-02"}})");
  Ok(R"({"op":"form.save","subject":"701-1001","visit":"SCREENING1","form":"IC","items":{"ICDTC":"2024-01-02"}})");
  // Another visit's date does not count.
  r = Run(R"({"op":"form.save","subject":"701-1001","visit":"SCREENING2","form":"VS","items":{"PULSE":70}})");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(CaptureTest, ReplayingTheLogGivesTheSameState) {
  Screen("701-1013", "1990-01-01");
  Ok(R"({"op":"form.save","subject":"701-1013","visit":"SCREENING1","form":"DM","items":{"BRTHDTC":"1949-02-03"},"reason":"Other: typo"})");
  Ok(R"({"op":"sdv.verify","subject":"701-1013","visit":"SCREENING1","form":"DM"})", kMonitor);
  Ok(R"({"op":"sign","subject":"701-1013","meaning":"approval","name":"Dr Ada Byron"})", kInv);
  auto reopened = Capture::Open(store_.get(), &env_, "CDISCPILOT01").value();
  auto a = capture_->Subject("701-1013").value();
  auto b = reopened->Subject("701-1013").value();
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.visits["SCREENING1"].forms["DM"].items["AGE"].value,
            b.visits["SCREENING1"].forms["DM"].items["AGE"].value);
  EXPECT_EQ(a.queries.size(), b.queries.size());
  EXPECT_EQ(a.signatures.at(1).content_hash, b.signatures.at(1).content_hash);
  EXPECT_TRUE(b.visits["SCREENING1"].forms["DM"].items["SEX"].verified);
}

TEST_F(CaptureTest, AmendmentsAreCheckedAgainstStoredData) {
  Screen("701-1014");
  // Version 2 removes the code WHITE in use, and adds a required item to DM.
  std::string source = study_->source;
  auto replace = [&](const std::string& from, const std::string& to) {
    size_t at = source.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    source.replace(at, from.size(), to);
  };
  replace("version: \"1.0\"", "version: \"2.0\"");
  replace("RACE: [WHITE, ", "RACE: [");
  replace("{id: ETHNIC, label: Ethnicity, type: choice, codelist: ETHNIC}",
          "{id: ETHNIC, label: Ethnicity, type: choice, codelist: ETHNIC}\n          - {id: HANDED, label: Handedness, "
          "type: text, required: true}");
  std::vector<study::StudyError> errors;
  auto v2 = study::LoadStudy(source, "v2.yaml", &errors);
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  auto r = capture_->PublishStudy(*v2, kAdmin);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  auto plan = capture_->PlanMigration(*v2).value();
  EXPECT_TRUE(plan.blocked());
  bool race = false, handed = false;
  for (const auto& i : plan.issues) {
    if (i.where == "SCREENING1/DM/RACE" && i.blocking) race = true;
    if (i.where == "SCREENING1/DM/HANDED" && !i.blocking) handed = true;
  }
  EXPECT_TRUE(race);
  EXPECT_TRUE(handed);
  uint64_t before = store_->LastSeq().value();
  auto m = capture_->Migrate(*v2, kAdmin, "amendment 2");
  EXPECT_EQ(m.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->LastSeq().value(), before);
  // Once the data fit, the migration runs and the new version is in force.
  Ok(R"({"op":"form.save","subject":"701-1014","visit":"SCREENING1","form":"DM","items":{"RACE":"OTHER"},"reason":"Other: recoded for amendment 2"})");
  m = capture_->Migrate(*v2, kAdmin, "amendment 2");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(capture_->study()->version, "2.0");
  // A service opened afresh reads the new version from the log.
  auto reopened = Capture::Open(store_.get(), &env_, capture_->study_id());
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ((*reopened)->study()->version, "2.0");
}

TEST_F(CaptureTest, TwoWritersOnOneStoreNeverDecideOnStaleState) {
  Screen("701-1015");
  // A second service on the same store, as a second server process would be.
  auto other = std::move(Capture::Open(store_.get(), &env_, "CDISCPILOT01").value());
  Ok(R"({"op":"form.save","subject":"701-1015","visit":"SCREENING1","form":"DM","items":{"ETHNIC":"NOT REPORTED"}})");
  // The other one has not seen that save: changing the value without a
  // reason must still be refused, once it has caught up.
  auto cmd = ParseJson(
      R"({"op":"form.save","subject":"701-1015","visit":"SCREENING1","form":"DM","items":{"ETHNIC":"HISPANIC OR LATINO"}})");
  auto r = other->Execute(*cmd, kCoord);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("reason for change is required: ETHNIC"), std::string::npos)
      << r.status().ToString();
  // A database lock taken by the first stops the second.
  Ok(kLock, kDm);
  cmd = ParseJson(R"({"op":"form.save","subject":"701-1015","visit":"SCREENING1","form":"VS","items":{"SYSBP":120}})");
  r = other->Execute(*cmd, kCoord);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("locked"), std::string::npos) << r.status().ToString();
}

// ---- Blinding (issue 12): what a blinded role's commands may not learn ----

class BlindingTest : public CaptureTest {
 protected:
  // A screened subject with a randomisation date and the exposure form of
  // BASELINE entered by the pharmacist (ex: the EX items).
  void Randomised(const std::string& id, const std::string& ex) {
    Screen(id);
    Ok(R"({"op":"form.save","subject":")" + id +
       R"(","visit":"BASELINE","form":"SV","items":{"SVSTDTC":"2024-01-08"}})");
    Ok(R"({"op":"form.save","subject":")" + id +
       R"(","visit":"BASELINE","form":"RAND","items":{"RANDDT":"2024-01-08"}})");
    Ok(R"({"op":"form.save","subject":")" + id + R"(","visit":"BASELINE","form":"EX","items":)" + ex + "}", kPharm);
  }
  std::string Messages(const Outcome& out) {
    std::string all;
    for (const auto& m : out.messages) all += m + "\n";
    return all;
  }
};

constexpr int kFirstHidden = kHiddenQueryBase + 1;
// The SHA-256 of the canonical encoding (doc/event_log_format.md, section 1)
// of {"SCREENING1/DM/BRTHDTC":"1940-05-10","SCREENING1/DM/SEX":"M",
// "subject":"701-1001"}, computed apart from trialcore from the document.
const std::string kOldHash = "a36bb98c445974076e773dc5510805b62353cedf41eda60a3f5beeaf8a5af392";

TEST_F(BlindingTest, QueriesOnHiddenItemsAreNumberedApartSoBlindedNumbersHaveNoGaps) {
  Randomised("701-1030", R"({"EXSTDTC":"2024-01-08","EXDOSE":50,"PATCHES":2})");  // EX02: not a dose of the study
  auto open = Queries("701-1030", QueryState::kOpen);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].number, kFirstHidden);
  EXPECT_EQ(open[0].item, "EXDOSE");
  auto r = Run(
      R"({"op":"query.open","subject":"701-1030","visit":"SCREENING1","form":"DM","item":"RACE","message":"Confirm"})",
      kMonitor);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->result.Find("query")->as_int(), 1) << "the first query a blinded role sees is number 1";
  Ok(R"({"op":"form.save","subject":"701-1030","visit":"BASELINE","form":"EX","items":{"PATCHES":4},"reason":"Other: two more"})",
     kPharm);
  EXPECT_TRUE(capture_->Subject("701-1030")->queries.contains(kFirstHidden + 1)) << "EX05 joins the hidden sequence";
}

TEST_F(BlindingTest, BlindedRolesFindNoHiddenItemOrQueryToActOn) {
  Randomised("701-1031", R"({"EXSTDTC":"2024-01-08","EXDOSE":50,"PATCHES":2})");
  auto on_dose =
      Run(R"({"op":"query.open","subject":"701-1031","visit":"BASELINE","form":"EX","item":"EXDOSE","message":"?"})",
          kMonitor);
  auto on_nothing =
      Run(R"({"op":"query.open","subject":"701-1031","visit":"BASELINE","form":"EX","item":"NOSUCH","message":"?"})",
          kMonitor);
  EXPECT_EQ(on_dose.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(on_dose.status().message(), "unknown item EX.EXDOSE") << "the answer for an item that does not exist";
  EXPECT_EQ(on_nothing.status().message(), "unknown item EX.NOSUCH");
  const std::string hidden = std::to_string(kFirstHidden);
  for (const auto& [op, who] : std::vector<std::pair<std::string, Actor>>{{"query.answer", kCoord},
                                                                          {"query.answer", kInv},
                                                                          {"query.close", kMonitor},
                                                                          {"query.cancel", kDm},
                                                                          {"query.reopen", kMonitor}}) {
    auto r = Run(R"({"op":")" + op + R"(","subject":"701-1031","query":)" + hidden + R"(,"message":"x"})", who);
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << op;
    EXPECT_EQ(r.status().message(), "subject 701-1031 has no query " + hidden) << op;
  }
  auto save =
      Run(R"({"op":"form.save","subject":"701-1031","visit":"BASELINE","form":"EX","items":{"EXDOSE":54}})", kCoord);
  EXPECT_EQ(save.status().code(), StatusCode::kPermissionDenied) << "the form is the pharmacist's";
  // The pharmacist answers it.
  Ok(R"({"op":"query.answer","subject":"701-1031","query":)" + hidden + R"(,"message":"confirmed: 50 mg"})", kPharm);
}

TEST_F(BlindingTest, ABlindedMonitorsVerificationAnswersAlikeWhateverTheDose) {
  Randomised("701-1032", R"({"EXSTDTC":"2024-01-08","EXDOSE":0,"PATCHES":0,"EXADJ":"per schedule"})");
  Randomised("701-1033", R"({"EXSTDTC":"2024-01-08","EXDOSE":81,"PATCHES":3})");
  for (const char* id : {"701-1032", "701-1033"}) {
    auto adj = Run(std::string(R"({"op":"sdv.verify","subject":")") + id +
                       R"(","visit":"BASELINE","form":"EX","items":["EXADJ"]})",
                   kMonitor);
    EXPECT_EQ(adj.status().code(), StatusCode::kNotFound) << id;
    EXPECT_EQ(adj.status().message(), "unknown item EX.EXADJ") << id;
    auto all =
        Run(std::string(R"({"op":"sdv.verify","subject":")") + id + R"(","visit":"BASELINE","form":"EX"})", kMonitor);
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    EXPECT_EQ(all->messages, std::vector<std::string>{"verified 1 items on BASELINE/EX"}) << id;
    const FormState ex = capture_->Subject(id)->visits.at("BASELINE").forms.at("EX");
    EXPECT_TRUE(ex.Find("EXSTDTC")->verified);
    EXPECT_FALSE(ex.Find("EXDOSE")->verified) << "a blinded monitor cannot have verified a dose";
  }
}

TEST_F(BlindingTest, ASignatureHashesANonceSoGuessedDosesDoNotMatchIt) {
  Randomised("701-1034", R"({"EXSTDTC":"2024-01-08","EXDOSE":81,"PATCHES":3})");
  auto r =
      Run(R"({"op":"sign","subject":"701-1034","visit":"BASELINE","meaning":"approval","name":"Dr Ada Byron"})", kInv);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->result.Find("content_hash"), nullptr) << "a blinded signer is not given a hash over the dose";
  EXPECT_EQ(r->messages.back().find("SHA-256"), std::string::npos) << r->messages.back();
  SubjectState s = capture_->Subject("701-1034").value();
  const Signature& sig = s.signatures.at(1);
  ASSERT_EQ(sig.nonce.size(), 32u);
  EXPECT_EQ(sig.content_hash, SignatureContentHash(s, "BASELINE", "", sig.nonce));
  // The attack of the issue: every dose and patch count, hashed without the nonce.
  for (int dose : {0, 54, 81}) {
    for (int patches = 0; patches <= 4; ++patches) {
      SubjectState guess = s;
      FormState& ex = guess.visits["BASELINE"].forms["EX"];
      ex.items["EXDOSE"].value = Value(int64_t{dose});
      ex.items["PATCHES"].value = Value(int64_t{patches});
      EXPECT_NE(SignatureContentHash(guess, "BASELINE", "", ""), sig.content_hash) << dose << " " << patches;
    }
  }
  // A scope without hidden items keeps its hash for everyone.
  auto dm = Run(
      R"({"op":"sign","subject":"701-1034","visit":"SCREENING1","form":"DM","meaning":"approval","name":"Dr Ada Byron"})",
      kInv);
  ASSERT_TRUE(dm.ok());
  EXPECT_NE(dm->result.Find("content_hash"), nullptr);
}

TEST(SignatureContentHash, SignaturesMadeBeforeNoncesKeepTheirFrozenHash) {
  // What trialcore wrote before nonces (doc/event_log_format.md, version 1
  // payloads without "nonce"): the hash over the values alone, frozen here.
  SubjectState s;
  s.id = "701-1001";
  s.visits["SCREENING1"].forms["DM"].items["SEX"].value = Value("M");
  s.visits["SCREENING1"].forms["DM"].items["BRTHDTC"].value = Value("1940-05-10");
  EXPECT_EQ(SignatureContentHash(s, "SCREENING1", "DM", ""), kOldHash);
  EXPECT_NE(SignatureContentHash(s, "SCREENING1", "DM", "00"), kOldHash);
}

TEST_F(BlindingTest, ASaveOfAVisibleItemDoesNotNameTheHiddenQueryItCloses) {
  Randomised("701-1035", R"({"EXSTDTC":"2024-01-08","EXDOSE":50,"PATCHES":2})");
  Ok(R"({"op":"form.save","subject":"701-1035","visit":"BASELINE","form":"EX","items":{"EXDOSE":54},"reason":"Other: typo"})",
     kPharm);
  ASSERT_EQ(capture_->Subject("701-1035")->queries.at(kFirstHidden).state, QueryState::kClosed);
  // A database written before blinded roles were refused holds a hidden query
  // a monitor re-opened though its data pass.
  AppendRequest req;
  req.study = "CDISCPILOT01";
  req.expected_versions["subject/701-1035"] = static_cast<int64_t>(capture_->Subject("701-1035")->version);
  EventDraft d;
  d.stream = "subject/701-1035";
  d.type = "query.reopened";
  d.actor = kMonitor;
  d.reason = "look again";
  d.payload = Value::Object{
      {"query", int64_t{kFirstHidden}},
      {"message", "look again"},
      {"set", Value::Object{{"subject/701-1035/queries/" + std::to_string(kFirstHidden) + "/state", "open"}}}};
  req.events.push_back(d);
  ASSERT_TRUE(store_->Append(req).ok());
  auto r = Run(
      R"({"op":"form.save","subject":"701-1035","visit":"BASELINE","form":"RAND","items":{"RANDDT":"2024-01-07"},"reason":"Other: wrong day"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(capture_->Subject("701-1035")->queries.at(kFirstHidden).state, QueryState::kClosed) << "it did close";
  EXPECT_EQ(Messages(*r).find("EX02"), std::string::npos) << Messages(*r);
  EXPECT_EQ(Messages(*r).find(std::to_string(kFirstHidden)), std::string::npos) << Messages(*r);
}

TEST_F(BlindingTest, HiddenChangesLeaveTheVersionBlindedRolesReadAlone) {
  Randomised("701-1036", R"({"EXSTDTC":"2024-01-08","EXDOSE":54,"PATCHES":2})");
  SubjectState before = capture_->Subject("701-1036").value();
  Ok(R"({"op":"form.save","subject":"701-1036","visit":"BASELINE","form":"EX","items":{"EXDOSE":81},"reason":"Other: typo"})",
     kPharm);
  SubjectState after = capture_->Subject("701-1036").value();
  EXPECT_EQ(after.version, before.version + 1);
  EXPECT_EQ(after.blinded_version, before.blinded_version);
  // A coordinator who read before the dose changed is not told it changed.
  auto cmd = ParseJson(
      R"({"op":"form.save","subject":"701-1036","visit":"BASELINE","form":"SV","items":{"SVSTDTC":"2024-01-08"}})");
  EXPECT_TRUE(capture_->Execute(*cmd, kCoord, before.blinded_version).ok());
  // Replaying the log counts the same.
  auto reopened = Capture::Open(store_.get(), &env_, "CDISCPILOT01").value();
  EXPECT_EQ(reopened->Subject("701-1036")->blinded_version, capture_->Subject("701-1036")->blinded_version);
}

TEST_F(BlindingTest, ANewQueryNeverTakesTheNumberOfAHiddenOneFromAnOldDatabase) {
  Randomised("701-1037", R"({"EXSTDTC":"2024-01-08","EXDOSE":54,"PATCHES":2})");
  Ok(R"({"op":"query.open","subject":"701-1037","visit":"SCREENING1","form":"DM","item":"RACE","message":"Confirm"})",
     kMonitor);
  // A database written before the two sequences: the pharmacist's query on
  // the dose took the next number of the one sequence, 2.
  AppendRequest req;
  req.study = "CDISCPILOT01";
  req.expected_versions["subject/701-1037"] = static_cast<int64_t>(capture_->Subject("701-1037")->version);
  EventDraft d;
  d.stream = "subject/701-1037";
  d.type = "query.opened";
  d.actor = kPharm;
  d.payload = Value::Object{{"query", int64_t{2}},
                            {"visit", "BASELINE"},
                            {"form", "EX"},
                            {"item", "EXDOSE"},
                            {"message", "kit 81 mg?"},
                            {"set", Value::Object{{"subject/701-1037/queries/2/state", "open"}}}};
  req.events.push_back(d);
  ASSERT_TRUE(store_->Append(req).ok());
  auto r =
      Run(R"({"op":"query.open","subject":"701-1037","visit":"SCREENING1","form":"DM","item":"SEX","message":"Check"})",
          kMonitor);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->result.Find("query")->as_int(), 3) << "2 is taken by the hidden query";
  SubjectState s = capture_->Subject("701-1037").value();
  const Query& hidden = s.queries.at(2);
  EXPECT_EQ(hidden.item, "EXDOSE") << "the old query is not overwritten";
  EXPECT_EQ(hidden.form, "EX");
  ASSERT_EQ(hidden.thread.size(), 1u);
  EXPECT_EQ(hidden.thread[0].message, "kit 81 mg?");
  EXPECT_EQ(s.queries.at(3).item, "SEX");
  // The hidden sequence starts above both (EX02: not a dose of the study).
  Ok(R"({"op":"form.save","subject":"701-1037","visit":"BASELINE","form":"EX","items":{"EXDOSE":50},"reason":"Other: typo"})",
     kPharm);
  ASSERT_TRUE(capture_->Subject("701-1037")->queries.contains(kFirstHidden));
  EXPECT_EQ(capture_->Subject("701-1037")->queries.at(kFirstHidden).item, "EXDOSE");
  EXPECT_EQ(capture_->Subject("701-1037")->queries.at(2).thread.size(), 1u) << "the old query is left alone";
}

// Issue 13: 4294967297 is 2^32 + 1, which an int cast made query 1.
TEST_F(CaptureTest, AQueryNumberOutsideItsRangeIsRefusedNotWrapped) {
  Screen("701-1009");
  Ok(R"({"op":"query.open","subject":"701-1009","visit":"SCREENING1","form":"DM","item":"RACE","message":"Confirm race"})",
     kMonitor);
  for (const char* n : {"4294967297", "-4294967295", "0", "-1", "2147483648", "9223372036854775807"}) {
    auto r =
        Run(std::string(R"({"op":"query.answer","subject":"701-1009","query":)") + n + R"(,"message":"x"})", kCoord);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << n << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find("from 1 to 2147483647, not " + std::string(n)), std::string::npos)
        << r.status().message();
  }
  EXPECT_EQ(capture_->Subject("701-1009")->queries.at(1).state, QueryState::kOpen) << "query 1 was not answered";
}

TEST(QueryNumber, PathTextIsAWholeNumberInRange) {
  EXPECT_EQ(*ParseQueryNumber("1"), 1);
  EXPECT_EQ(*ParseQueryNumber("1000001"), kHiddenQueryBase + 1);
  EXPECT_EQ(*ParseQueryNumber("2147483647"), kMaxQueryNumber);
  for (const char* bad : {"", "0", "01", "-1", "+1", "1.0", "1e3", " 1", "2147483648", "4294967297",
                          "99999999999999999999", "18446744073709551617", "abc"}) {
    auto n = ParseQueryNumber(bad);
    ASSERT_FALSE(n.ok()) << bad;
    EXPECT_EQ(n.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(n.status().message().find("a query number is a whole number from 1 to 2147483647"), std::string::npos);
  }
  EXPECT_FALSE(QueryNumber(Value(int64_t{4294967297})).ok());
  EXPECT_FALSE(QueryNumber(Value("1")).ok());
  EXPECT_EQ(*QueryNumber(Value(int64_t{7})), 7);
}

TEST(NextQueryNumber, ChoosesByRangeOverEveryQueryWhateverItsItem) {
  SubjectState s;
  EXPECT_EQ(NextQueryNumber(s, false), 1);
  EXPECT_EQ(NextQueryNumber(s, true), kFirstHidden);
  // Old numbers (an item since made hidden, or a query from before the two
  // sequences) and the hidden sequence.
  s.queries[1].item = "RACE";
  s.queries[2].item = "EXDOSE";
  s.queries[kFirstHidden].item = "PATCHES";
  s.queries[kFirstHidden + 4].item = "RACE";  // an item since made visible
  EXPECT_EQ(NextQueryNumber(s, false), 3);
  EXPECT_EQ(NextQueryNumber(s, true), kFirstHidden + 5);
}

TEST_F(BlindingTest, AQueryEventTheStateDoesNotKnowIsHiddenUnlessItShowsItIsNot) {
  SubjectState none;  // a reader's state that lags the stream: no queries yet
  auto event = [](const std::string& type, Value::Object payload) {
    Event e;
    e.stream = "subject/701-1038";
    e.type = type;
    e.payload = std::move(payload);
    return e;
  };
  // Numbered in the hidden sequence.
  EXPECT_TRUE(HiddenEvent(*study_, none, event("query.answered", {{"query", int64_t{kFirstHidden}}})));
  // A low number names no item: it may be an old database's hidden query.
  EXPECT_TRUE(HiddenEvent(*study_, none, event("query.closed", {{"query", int64_t{2}}})));
  EXPECT_TRUE(HiddenEvent(*study_, none, event("query.closed", {})));
  // The event names its item: that decides.
  EXPECT_TRUE(
      HiddenEvent(*study_, none, event("query.opened", {{"query", int64_t{2}}, {"form", "EX"}, {"item", "EXDOSE"}})));
  EXPECT_FALSE(
      HiddenEvent(*study_, none, event("query.opened", {{"query", int64_t{2}}, {"form", "DM"}, {"item", "RACE"}})));
  // A query the state knows is decided by its item.
  SubjectState known;
  known.queries[2].form = "DM";
  known.queries[2].item = "RACE";
  known.queries[3].form = "EX";
  known.queries[3].item = "EXDOSE";
  EXPECT_FALSE(HiddenEvent(*study_, known, event("query.closed", {{"query", int64_t{2}}})));
  EXPECT_TRUE(HiddenEvent(*study_, known, event("query.closed", {{"query", int64_t{3}}})));
}

TEST(CaptureVisits, RepeatingAndUnscheduledVisitsHaveOccurrences) {
  const char* yaml = R"(
study: {id: REPEAT01, title: Occurrences, version: "1"}
anchor: {form: SV, item: VDT}
visit_date: {form: SV, item: VDT}
visits:
  - {id: BASE, name: Baseline, day: 1, forms: [SV, SUM]}
  - {id: PHONE, name: Phone call, day: 8, window: {before: 1, after: 1}, repeat: {every: 7, until: 29}, forms: [SV, PH]}
  - {id: UNS, name: Unscheduled, unscheduled: true, forms: [SV, PH]}
forms:
  - id: SV
    name: Visit
    groups: [{id: SV, items: [{id: VDT, label: Date, type: date}]}]
  - id: PH
    name: Phone
    groups: [{id: PH, items: [{id: SCORE, label: Score, type: integer}]}]
  - id: SUM
    name: Summary
    groups: [{id: SUM, items: [{id: NOTE, label: Note, type: text}, {id: LAST, label: Last score, type: integer, derive: PH.SCORE}]}]
)";
  MemEnv env;
  env.SetNowMicros(ParseTimeMicros("2024-01-20T12:00:00Z").value());
  StoreOpenOptions opts;
  opts.env = &env;
  auto store = std::move(testing_util::OpenTestStore("/mem/r.db", opts).value());
  std::vector<study::StudyError> errors;
  auto definition = study::LoadStudy(yaml, "repeat.yaml", &errors);
  ASSERT_TRUE(definition.ok()) << definition.status().ToString();
  auto capture = std::move(Capture::Open(store.get(), &env, "REPEAT01").value());
  ASSERT_TRUE(capture->PublishStudy(*definition, kAdmin).ok());
  auto run = [&](const std::string& json) { return capture->Execute(*ParseJson(json), kCoord); };
  ASSERT_TRUE(run(R"({"op":"subject.screen","subject":"S-001","site":"1"})").ok());
  ASSERT_TRUE(
      run(R"({"op":"form.save","subject":"S-001","visit":"BASE","form":"SV","items":{"VDT":"2024-01-01"}})").ok());
  ASSERT_TRUE(
      run(R"({"op":"form.save","subject":"S-001","visit":"BASE","form":"SUM","items":{"NOTE":"started"}})").ok());
  ASSERT_TRUE(run(R"({"op":"form.save","subject":"S-001","visit":"PHONE","form":"PH","items":{"SCORE":3}})").ok());
  ASSERT_TRUE(
      run(R"({"op":"form.save","subject":"S-001","visit":"PHONE#2","form":"SV","items":{"VDT":"2024-01-17"}})").ok());
  ASSERT_TRUE(run(R"({"op":"form.save","subject":"S-001","visit":"PHONE#2","form":"PH","items":{"SCORE":5}})").ok());
  // The most recent occurrence is what a reference to PH.SCORE reads.
  EXPECT_EQ(capture->Subject("S-001")->visits["BASE"].forms["SUM"].items["LAST"].value, Value(int64_t{5}));
  ASSERT_TRUE(run(R"({"op":"form.save","subject":"S-001","visit":"UNS#2","form":"PH","items":{"SCORE":7}})").ok());
  EXPECT_EQ(capture->Subject("S-001")->visits["BASE"].forms["SUM"].items["LAST"].value, Value(int64_t{7}));

  auto bad = run(R"({"op":"form.save","subject":"S-001","visit":"PHONE#5","form":"PH","items":{"SCORE":1}})");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("planned 4 times; there is no occurrence 5"), std::string::npos);
  bad = run(R"({"op":"form.save","subject":"S-001","visit":"BASE#2","form":"SV","items":{"VDT":"2024-01-02"}})");
  EXPECT_NE(bad.status().message().find("happens once"), std::string::npos) << bad.status().ToString();
  bad = run(R"({"op":"form.save","subject":"S-001","visit":"PHONE#x","form":"SV","items":{"VDT":"2024-01-02"}})");
  EXPECT_NE(bad.status().message().find("must be a number"), std::string::npos) << bad.status().ToString();

  std::map<std::string, std::pair<WindowStatus, int64_t>> got;
  std::vector<VisitSchedule> schedule = capture->Schedule("S-001").value();
  for (const auto& v : schedule) got[v.visit] = {v.status, v.planned_day.value_or(0)};
  ASSERT_EQ(got.count("PHONE#4"), 1u);
  EXPECT_EQ(rules::FormatDateDays(got["PHONE"].second), "2024-01-08");
  EXPECT_EQ(rules::FormatDateDays(got["PHONE#4"].second), "2024-01-29");
  EXPECT_EQ(got["PHONE"].first, WindowStatus::kOverdue);   // no date entered, window closed on 01-09
  EXPECT_EQ(got["PHONE#2"].first, WindowStatus::kLate);    // planned 01-15 + 1, done 01-17
  EXPECT_EQ(got["PHONE#3"].first, WindowStatus::kNotDue);  // planned 01-22, today 01-20
  EXPECT_EQ(got["UNS#2"].first, WindowStatus::kUnscheduled);
}

// Issue 15: what an identifying item discloses is the strictest of the
// roles a request is answered for; no role at all sees nothing of it.
TEST(Privacy, DisclosesTheStrictestOfTheRolesAndOnlyTheYear) {
  study::Item dob;
  dob.id = "BRTHDTC";
  dob.type = study::ItemType::kDate;
  dob.identifying = {{"sponsor_viewer", study::Disclosure::kYearOnly}, {"data_manager", study::Disclosure::kHidden}};
  using D = study::Disclosure;
  EXPECT_EQ(DisclosureTo(dob, {"monitor"}), D::kFull);
  EXPECT_EQ(DisclosureTo(dob, {"sponsor_viewer"}), D::kYearOnly);
  EXPECT_EQ(DisclosureTo(dob, {"monitor", "sponsor_viewer"}), D::kYearOnly);
  EXPECT_EQ(DisclosureTo(dob, {"sponsor_viewer", "data_manager"}), D::kHidden);
  EXPECT_EQ(DisclosureTo(dob, {}), D::kHidden);
  study::Item plain;
  EXPECT_EQ(DisclosureTo(plain, {}), D::kFull) << "an item no role is restricted from";
  EXPECT_EQ(Disclosed("1941-07-23", D::kYearOnly), Value("1941"));
  EXPECT_EQ(Disclosed("1941-07", D::kYearOnly), Value("1941"));  // a partial date
  EXPECT_EQ(Disclosed("1941-07-23T08:30", D::kYearOnly), Value("1941"));
  EXPECT_EQ(Disclosed("UN-UNK-1941", D::kYearOnly), Value()) << "no readable year: nothing";
  EXPECT_EQ(Disclosed(Value(), D::kYearOnly), Value());
  EXPECT_EQ(Disclosed("JQP", D::kHidden), Value());
  EXPECT_EQ(Disclosed("JQP", D::kFull), Value("JQP"));
}

}  // namespace
}  // namespace trialcore::capture

// Issue 16, point 1: a serious AE saved on the CRF opens a safety case in
// the same batch, exactly once per AE row; later changes to the row are
// follow-ups; the case's facts are the row's.
namespace trialcore::capture {
namespace {

constexpr char kSerious[] =
    R"({"op":"form.save","subject":"701-1013","visit":"LOGS","form":"AE","rows":[{"group":"AE","items":{"AETERM":"SYNCOPE","AESTDTC":"2024-02-15","AEONGO":true,"AESEV":"SEVERE","AESER":"Y","AESHOSP":true,"AEREL":"POSSIBLE","AEACN":"DRUG INTERRUPTED","AEOUT":"RECOVERING/RESOLVING"}}]})";

std::vector<std::string> Types(const Outcome& out) {
  std::vector<std::string> types;
  for (const auto& e : out.events) types.push_back(e.type);
  return types;
}

struct CaseRow {
  std::string case_id, term, criteria, state;
  int64_t serious = 0, fatal_lt = 0, aware_us = 0, followups = 0;
};

class SafetyCaseTest : public CaptureTest {
 protected:
  std::vector<CaseRow> Cases() {
    std::vector<CaseRow> out;
    Status s = store_->QueryProjections(
        "SELECT case_id, term, criteria, state, serious, fatal_lt, aware_us, followups FROM cap_safety_cases "
        "WHERE study = $1 ORDER BY subject, number",
        {Value("CDISCPILOT01")}, [&](const ProjectionRow& r) {
          out.push_back({r[0].as_string(), r[1].as_string(), r[2].as_string(), r[3].as_string(), r[4].as_int(),
                         r[5].as_int(), r[6].as_int(), r[7].as_int()});
          return Status::Ok();
        });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
};

TEST_F(SafetyCaseTest, ASeriousEventOpensOneCaseInTheSameBatchAndItsChangesAreFollowUps) {
  Screen("701-1013");
  // Not serious: no case.
  auto mild = Run(
      R"({"op":"form.save","subject":"701-1013","visit":"LOGS","form":"AE","rows":[{"group":"AE","items":{"AETERM":"HEADACHE","AESTDTC":"2024-02-10","AEONGO":true,"AESEV":"MILD","AESER":"N","AEREL":"NONE","AEACN":"DOSE NOT CHANGED","AEOUT":"RECOVERING/RESOLVING"}}]})");
  ASSERT_TRUE(mild.ok()) << mild.status().ToString();
  EXPECT_EQ(Types(*mild), (std::vector<std::string>{"form.saved"}));
  EXPECT_TRUE(Cases().empty());

  const int64_t saved_at = kNow + 3'600'000'000LL;
  env_.SetNowMicros(saved_at);
  auto serious = Run(kSerious);
  ASSERT_TRUE(serious.ok()) << serious.status().ToString();
  ASSERT_EQ(Types(*serious), (std::vector<std::string>{"form.saved", "safety.case.opened"}));
  const Event& opened = serious->events[1];
  EXPECT_EQ(opened.payload.Find("case")->as_string(), "701-1013-SAE1");
  EXPECT_EQ(opened.payload.Find("row")->as_int(), 2);
  EXPECT_EQ(opened.payload.Find("facts")->Find("term")->as_string(), "SYNCOPE");
  EXPECT_EQ(opened.payload.Find("product")->as_string(), "Xanomeline TTS");
  EXPECT_EQ(opened.seq, serious->events[0].seq + 1) << "one batch";
  bool told = false;
  for (const auto& m : serious->messages)
    told = told || m.find("safety case 701-1013-SAE1 opened") != std::string::npos;
  EXPECT_TRUE(told);

  auto cases = Cases();
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].case_id, "701-1013-SAE1");
  EXPECT_EQ(cases[0].term, "SYNCOPE");
  EXPECT_EQ(cases[0].criteria, "hospitalisation");
  EXPECT_EQ(cases[0].serious, 1);
  EXPECT_EQ(cases[0].fatal_lt, 0);
  EXPECT_EQ(cases[0].state, "open");
  EXPECT_EQ(cases[0].aware_us, opened.time_us) << "day 0 is the save";
  EXPECT_EQ(cases[0].followups, 0);

  // The same row changed: a follow-up, never a second case.
  env_.SetNowMicros(saved_at + 86'400'000'000LL);
  auto worse = Run(
      R"({"op":"form.save","subject":"701-1013","visit":"LOGS","form":"AE","rows":[{"group":"AE","row":2,"items":{"AESLIFE":true}}]})");
  ASSERT_TRUE(worse.ok()) << worse.status().ToString();
  ASSERT_EQ(Types(*worse), (std::vector<std::string>{"form.saved", "safety.case.followup"}));
  EXPECT_EQ(worse->events[1].payload.Find("changes")->as_array().size(), 1u);
  cases = Cases();
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].criteria, "hospitalisation,life_threatening");
  EXPECT_EQ(cases[0].fatal_lt, 1);
  EXPECT_EQ(cases[0].followups, 1);
  EXPECT_EQ(cases[0].aware_us, opened.time_us) << "the first awareness stays day 0";

  // The other, non-serious row changed: nothing for safety.
  auto other = Run(
      R"({"op":"form.save","subject":"701-1013","visit":"LOGS","form":"AE","rows":[{"group":"AE","row":1,"items":{"AESEV":"MODERATE"}}],"reason":"Other: worse than first noted"})");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(Types(*other), (std::vector<std::string>{"form.saved"}));

  // A second serious event is a second case.
  auto second = Run(
      R"({"op":"form.save","subject":"701-1013","visit":"LOGS","form":"AE","rows":[{"group":"AE","items":{"AETERM":"FALL","AESTDTC":"2024-02-20","AEONGO":true,"AESEV":"SEVERE","AESER":"Y","AESDTH":true,"AEREL":"NONE","AEACN":"DRUG WITHDRAWN","AEOUT":"FATAL"}}]})");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  cases = Cases();
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[1].case_id, "701-1013-SAE2");
  EXPECT_EQ(cases[1].fatal_lt, 1);
}

TEST_F(SafetyCaseTest, AnEventMadeSeriousLaterOpensItsCaseThenAndOneNoLongerSeriousIsAFollowUp) {
  Screen("701-1014");
  Ok(R"({"op":"form.save","subject":"701-1014","visit":"LOGS","form":"AE","rows":[{"group":"AE","items":{"AETERM":"DIZZINESS","AESTDTC":"2024-02-10","AEONGO":true,"AESEV":"MILD","AESER":"N","AEREL":"NONE","AEACN":"DOSE NOT CHANGED","AEOUT":"RECOVERING/RESOLVING"}}]})");
  const int64_t later = kNow + 5 * 86'400'000'000LL;
  env_.SetNowMicros(later);
  auto upgraded = Run(
      R"({"op":"form.save","subject":"701-1014","visit":"LOGS","form":"AE","rows":[{"group":"AE","row":1,"items":{"AESER":"Y","AESHOSP":true}}],"reason":"Other: admitted to hospital"})");
  ASSERT_TRUE(upgraded.ok()) << upgraded.status().ToString();
  EXPECT_EQ(Types(*upgraded), (std::vector<std::string>{"form.saved", "safety.case.opened"}));
  auto cases = Cases();
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].aware_us, later);

  auto downgraded = Run(
      R"({"op":"form.save","subject":"701-1014","visit":"LOGS","form":"AE","rows":[{"group":"AE","row":1,"items":{"AESER":"N","AESHOSP":null}}],"reason":"Other: not admitted after all"})");
  ASSERT_TRUE(downgraded.ok()) << downgraded.status().ToString();
  ASSERT_EQ(Types(*downgraded), (std::vector<std::string>{"form.saved", "safety.case.followup"}));
  EXPECT_FALSE(downgraded->events[1].payload.Find("serious")->as_bool());
  cases = Cases();
  ASSERT_EQ(cases.size(), 1u) << "the case stays, for the safety team to decide";
  EXPECT_EQ(cases[0].serious, 0);
  EXPECT_EQ(cases[0].followups, 1);
}

TEST_F(SafetyCaseTest, ARebuildGivesTheSameCasesAsTheCommits) {
  Screen("701-1015");
  std::string save = kSerious;
  save.replace(save.find("701-1013"), 8, "701-1015");
  Ok(save);
  auto before = Cases();
  ASSERT_EQ(before.size(), 1u);
  ASSERT_TRUE(RewriteStudyProjections(store_.get(), "CDISCPILOT01").ok());
  auto after = Cases();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].case_id, before[0].case_id);
  EXPECT_EQ(after[0].aware_us, before[0].aware_us);
  EXPECT_EQ(after[0].criteria, before[0].criteria);
}

}  // namespace
}  // namespace trialcore::capture
