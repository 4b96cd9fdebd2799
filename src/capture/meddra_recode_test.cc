// Issue 16, point 5: a study's codings moved to a newly loaded MedDRA
// version. Small dictionaries in MedDRA's ASCII layout
// (safety/meddra_test_util.h): 26.1, and 27.0 in which one coded LLT stays as
// it was, one is no longer current, one moved to another PT, one was removed
// and one PT's primary SOC changed.
#include "capture/meddra_recode.h"

#include <filesystem>

#include "capture/capture_test_fixture.h"
#include "capture/direct_case.h"
#include "capture/reads.h"
#include "safety/meddra_store.h"
#include "safety/meddra_test_util.h"

namespace trialcore::capture {
namespace {

using safety::testing::Hier;
using safety::testing::Llt;
using safety::testing::MeddraFiles;
using safety::testing::Row;

const Actor kSafety{"safety.1", "safety_physician"};
const Recoder kSafetyRecoder{"safety.1", {"safety_physician"}};

MeddraFiles Version27() {
  MeddraFiles f = MeddraFiles::Small("27.0");
  auto& llt = f.lines["llt.asc"];
  llt[3] = Llt("50000003", "Feeling sick", "40000002", false);  // no longer current
  llt[9] = Llt("50000005", "Stomach flu", "40000002", true);    // moved: Gastroenteritis -> Nausea
  llt.erase(llt.begin() + 11);                                  // 50000006 Crohn's colitis removed
  // Rash macular's primary SOC moves from Skin to Infections.
  f.lines["hlt_pt.asc"].push_back(Row({"30000004", "40000005"}));
  f.lines["mdhier.asc"][5] = Hier("40000005", "30000003", "20000003", "10000003", "10000004", false);
  f.lines["mdhier.asc"].push_back(Hier("40000005", "30000004", "20000004", "10000004", "10000004", true));
  f.lines["pt.asc"][4] = safety::testing::Pt("40000005", "Rash macular", "10000004");
  return f;
}

std::string AeRow(const std::string& term, bool serious) {
  return R"({"group":"AE","items":{"AETERM":")" + term +
         R"(","AESTDTC":"2024-02-10","AEONGO":true,"AESEV":"MILD","AESER":")" + (serious ? "Y" : "N") + R"(",)" +
         (serious ? R"("AESHOSP":true,)" : "") +
         R"("AEREL":"NONE","AEACN":"DOSE NOT CHANGED","AEOUT":"RECOVERING/RESOLVING"}})";
}

class MeddraRecodeTest : public CaptureTest {
 protected:
  void SetUp() override {
    CaptureTest::SetUp();
    dir_ = (std::filesystem::path(::testing::TempDir()) /
            ("meddra_recode_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name())))
               .string();
    std::filesystem::remove_all(dir_);
    Load(MeddraFiles::Small("26.1"), "v261");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Load(const MeddraFiles& files, const std::string& folder) {
    files.Write(dir_ + "/" + folder);
    auto read = safety::ReadMeddraAscii(Env::Default(), dir_ + "/" + folder);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    auto stored = safety::StoreMeddraVersion(*store_, read->tables, read->files, kAdmin);
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  }

  // Five AE rows coded in 26.1; the serious one (row 5, Rash macular) is a
  // case coded, assessed as not related and approved: closed, past the
  // stages at which safety.code may code it.
  void CodedIn261() {
    Screen("701-1020");
    Ok(R"({"op":"form.save","subject":"701-1020","visit":"LOGS","form":"AE","rows":[)" + AeRow("Headache", false) +
       "," + AeRow("Feeling sick", false) + "," + AeRow("Stomach flu", false) + "," + AeRow("Crohn's colitis", false) +
       "," + AeRow("Rash macular", true) + "]}");
    Case("triage", R"("decision":"valid")");
    Case("code");
    Case("assess", R"("causality":"not_related","expectedness":"unexpected")");
    Case("approve");
    ASSERT_EQ(Stage(), "closed");
  }

  void Case(const std::string& op, const std::string& fields = "") {
    Ok(R"({"op":"safety.)" + op + R"(","subject":"701-1020","case":"701-1020-SAE1")" +
           (fields.empty() ? "" : "," + fields) + "}",
       kSafety);
  }

  std::string Stage() {
    Viewer all;
    all.all_sites = true;
    auto lines = ListSafetyCases(store_.get(), "CDISCPILOT01", all, {});
    return lines.ok() && lines->size() == 1 ? lines->front().stage : "?";
  }

  const RowState& AeRowState(const SubjectState& s, int n) {
    return s.visits.at("LOGS").forms.at("AE").rows.at("AE").at(n);
  }

  std::string dir_;
};

const RecodeItem* Find(const RecodePlan& plan, int row, bool is_case) {
  for (const RecodeItem& i : plan.items) {
    if (i.row == row && i.case_id.empty() != is_case) return &i;
  }
  return nullptr;
}

TEST_F(MeddraRecodeTest, EachCodingIsCarriedOverMovedOrLeftForReview) {
  CodedIn261();
  Load(Version27(), "v270");
  auto plan = PlanMeddraRecode(*capture_, "27.0");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->to_version, "27.0");
  ASSERT_EQ(plan->items.size(), 6u) << "five AE rows and the case";
  EXPECT_EQ(plan->Count(RecodeOutcome::kCarriedOver), 1u);
  EXPECT_EQ(plan->Count(RecodeOutcome::kMoved), 3u);
  EXPECT_EQ(plan->Count(RecodeOutcome::kNeedsReview), 2u);
  EXPECT_EQ(plan->up_to_date, 0u);

  const RecodeItem* headache = Find(*plan, 1, false);
  ASSERT_NE(headache, nullptr);
  EXPECT_EQ(headache->outcome, RecodeOutcome::kCarriedOver);
  EXPECT_EQ(headache->from_version, "26.1");
  EXPECT_EQ(headache->now.pt.name, "Headache");

  const RecodeItem* sick = Find(*plan, 2, false);
  ASSERT_NE(sick, nullptr);
  EXPECT_EQ(sick->outcome, RecodeOutcome::kNeedsReview);
  EXPECT_EQ(sick->why, "LLT 50000003 Feeling sick is no longer current in MedDRA 27.0");
  for (const RecodePath& c : sick->candidates) EXPECT_NE(c.llt.code, 50000003u) << "only current LLTs are offered";

  const RecodeItem* flu = Find(*plan, 3, false);
  ASSERT_NE(flu, nullptr);
  EXPECT_EQ(flu->outcome, RecodeOutcome::kMoved);
  EXPECT_EQ(flu->was.pt.name, "Gastroenteritis");
  EXPECT_EQ(flu->now.pt.name, "Nausea");
  EXPECT_EQ(flu->now.soc.name, "Gastrointestinal disorders");

  const RecodeItem* crohn = Find(*plan, 4, false);
  ASSERT_NE(crohn, nullptr);
  EXPECT_EQ(crohn->outcome, RecodeOutcome::kNeedsReview);
  EXPECT_EQ(crohn->why, "LLT 50000006 Crohn's colitis is not in MedDRA 27.0");

  for (const bool is_case : {false, true}) {
    const RecodeItem* rash = Find(*plan, 5, is_case);
    ASSERT_NE(rash, nullptr) << is_case;
    EXPECT_EQ(rash->outcome, RecodeOutcome::kMoved) << "the same PT under another primary SOC";
    EXPECT_EQ(rash->was.soc.name, "Skin and subcutaneous tissue disorders");
    EXPECT_EQ(rash->now.soc.name, "Infections and infestations");
    EXPECT_EQ(rash->now.pt.code, rash->was.pt.code);
  }
  EXPECT_EQ(Find(*plan, 5, true)->case_id, "701-1020-SAE1");
}

TEST_F(MeddraRecodeTest, ApplyingRecordsAuditedRecodingsEvenOfAClosedCaseAndOnceOnly) {
  CodedIn261();
  Load(Version27(), "v270");
  auto plan = PlanMeddraRecode(*capture_, "27.0");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  const uint64_t before = store_->LastSeq().value();

  auto applied = ApplyMeddraRecode(*capture_, *plan, kSafetyRecoder, "MedDRA 27.0 in use from 2024-03");
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ(applied->ae_rows, 3u);
  EXPECT_EQ(applied->cases, 1u);
  EXPECT_EQ(store_->LastSeq().value(), before + 4) << "one event per recoding";

  const SubjectState s = capture_->Subject("701-1020").value();
  EXPECT_EQ(AeRowState(s, 1).coding->meddra_version, "27.0");
  EXPECT_EQ(AeRowState(s, 3).coding->pt_name, "Nausea");
  EXPECT_EQ(AeRowState(s, 3).coding->by.user, "safety.1");
  EXPECT_EQ(AeRowState(s, 2).coding->meddra_version, "26.1") << "left for a person";
  EXPECT_EQ(AeRowState(s, 4).coding->meddra_version, "26.1") << "left for a person";
  const SafetyCase& c = s.cases.at(1);
  EXPECT_EQ(c.coding->meddra_version, "27.0");
  EXPECT_EQ(c.coding->soc_name, "Infections and infestations");
  EXPECT_EQ(Stage(), "closed") << "a recoding is no new information: the case stays where it was";

  // Each an audited event with its reason, the case's naming the version it left.
  const Event last = store_->ReadEvent(before + 4).value();
  EXPECT_EQ(last.type, "safety.case.coded");
  EXPECT_EQ(last.reason, "MedDRA 27.0 in use from 2024-03");
  EXPECT_EQ(last.payload.Find("recoded_from")->as_string(), "26.1");
  const Event row = store_->ReadEvent(before + 3).value();
  EXPECT_EQ(row.type, "ae.coded");
  EXPECT_EQ(row.reason, "MedDRA 27.0 in use from 2024-03");

  // Again: nothing left to carry over, the two for review still listed, nothing stored.
  auto again = PlanMeddraRecode(*capture_, "27.0");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->up_to_date, 4u);
  EXPECT_EQ(again->items.size(), 2u);
  EXPECT_EQ(again->Count(RecodeOutcome::kNeedsReview), 2u);
  auto twice = ApplyMeddraRecode(*capture_, *again, kSafetyRecoder, "MedDRA 27.0 in use from 2024-03");
  ASSERT_TRUE(twice.ok()) << twice.status().ToString();
  EXPECT_EQ(twice->ae_rows + twice->cases, 0u);
  EXPECT_EQ(store_->LastSeq().value(), before + 4);

  // Back to the older version: refused, naming a coding it would take back.
  auto back = PlanMeddraRecode(*capture_, "26.1");
  EXPECT_EQ(back.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(back.status().message(),
            "subject 701-1020 LOGS/AE row 1 is coded in MedDRA 27.0, newer than 26.1 (and 3 more); recode to that "
            "version or a newer one");
}

TEST_F(MeddraRecodeTest, AnUnknownVersionOrAUserWhoMayNotCodeStoresNothing) {
  CodedIn261();
  Load(Version27(), "v270");
  auto unknown = PlanMeddraRecode(*capture_, "28.0");
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(safety::testing::Contains(unknown.status().message(),
                                        "MedDRA 28.0 is not loaded (loaded: 26.1 English, 27.0 English)"));

  auto plan = PlanMeddraRecode(*capture_, "27.0");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  const uint64_t before = store_->LastSeq().value();
  // A data manager codes AE rows, not cases: refused before the rows are touched.
  auto dm = ApplyMeddraRecode(*capture_, *plan, Recoder{"dm.1", {"data_manager"}}, "MedDRA 27.0");
  EXPECT_EQ(dm.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(dm.status().message(),
            "user dm.1 (data_manager) may not recode safety cases (a safety physician may), such as safety case "
            "701-1020-SAE1; nothing was recoded");
  auto monitor = ApplyMeddraRecode(*capture_, *plan, Recoder{"cra.1", {"monitor"}}, "MedDRA 27.0");
  EXPECT_EQ(monitor.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(monitor.status().message(),
            "user cra.1 (monitor) may not code MedDRA terms (a data manager, safety physician or medical monitor may); "
            "nothing was recoded");
  auto nobody = ApplyMeddraRecode(*capture_, *plan, Recoder{"ghost", {}}, "MedDRA 27.0");
  EXPECT_TRUE(safety::testing::Contains(nobody.status().message(),
                                        "user ghost (no role on study CDISCPILOT01 at every site) may not code"));
  EXPECT_EQ(ApplyMeddraRecode(*capture_, *plan, kSafetyRecoder, "").status().code(), StatusCode::kInvalidArgument);
  // Two roles: each recoding takes the one that may make it.
  EXPECT_EQ(store_->LastSeq().value(), before);
  auto both = ApplyMeddraRecode(*capture_, *plan, Recoder{"dm.1", {"data_manager", "safety_physician"}}, "27.0");
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  const SubjectState s = capture_->Subject("701-1020").value();
  EXPECT_EQ(AeRowState(s, 1).coding->by.role, "data_manager");
  EXPECT_EQ(s.cases.at(1).coding->by.role, "safety_physician");
}

// The op a recoding uses for a case keeps it narrow: the same LLT, a newer
// version, the safety physician, a reason.
TEST_F(MeddraRecodeTest, SafetyRecodeOnlyCarriesTheSameLltToANewerVersion) {
  CodedIn261();
  Load(Version27(), "v270");
  const uint64_t before = store_->LastSeq().value();
  const std::string recode = R"({"op":"safety.recode","subject":"701-1020","case":"701-1020-SAE1",)";
  auto other = Run(recode + R"("llt":40000003,"meddra_version":"27.0","reason":"upversioning"})", kSafety);
  EXPECT_EQ(other.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(safety::testing::Contains(other.status().message(), "a recoding keeps the case's LLT 40000005"));
  auto same = Run(recode + R"("llt":40000005,"meddra_version":"26.1","reason":"upversioning"})", kSafety);
  EXPECT_EQ(same.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(
      safety::testing::Contains(same.status().message(), "is coded in MedDRA 26.1; a recoding moves it to a newer"));
  auto no_reason = Run(recode + R"("llt":40000005,"meddra_version":"27.0"})", kSafety);
  EXPECT_EQ(no_reason.status().code(), StatusCode::kInvalidArgument);
  auto dm = Run(recode + R"("llt":40000005,"meddra_version":"27.0","reason":"upversioning"})", kDm);
  EXPECT_EQ(dm.status().code(), StatusCode::kPermissionDenied);
  auto code =
      Run(R"({"op":"safety.code","subject":"701-1020","case":"701-1020-SAE1","llt":40000005,"meddra_version":"27.0"})",
          kSafety);
  EXPECT_EQ(code.status().code(), StatusCode::kFailedPrecondition) << "a closed case is past coding";
  EXPECT_EQ(store_->LastSeq().value(), before);
  auto ok = Run(recode + R"("llt":40000005,"meddra_version":"27.0","reason":"upversioning"})", kSafety);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->messages.at(0),
            "safety case 701-1020-SAE1 recoded from MedDRA 26.1 to 27.0: Rash macular (Infections and infestations)");
}

// A case the safety team entered (no subject, a stream of its own) is
// recoded like a CRF case.
TEST_F(MeddraRecodeTest, ADirectCaseIsRecodedInItsOwnStream) {
  Ok(R"({"op":"safety.receive","source":"spontaneous","received":"2024-02-28",)"
     R"("reporter":{"given":"Ann","family":"Lee","qualification":"physician","country":"US"},)"
     R"("patient":{"sex":"F","age":"67"},)"
     R"("event":{"term":"Stomach flu","onset":"2024-02-26","outcome":"RECOVERING","criteria":["hospitalisation"]}})",
     kSafety);
  ASSERT_EQ(capture_->ReadDirectCase("DC-1").value().c.coding->meddra_version, "26.1") << "coded as received";
  Load(Version27(), "v270");
  auto plan = PlanMeddraRecode(*capture_, "27.0");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->items.size(), 1u);
  EXPECT_EQ(RecodeItemPlace(plan->items[0]), "safety case DC-1");
  EXPECT_EQ(plan->items[0].outcome, RecodeOutcome::kMoved);
  EXPECT_EQ(plan->items[0].now.pt.name, "Nausea");
  auto applied = ApplyMeddraRecode(*capture_, *plan, kSafetyRecoder, "MedDRA 27.0");
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ(applied->cases, 1u);
  const DirectCase dc = capture_->ReadDirectCase("DC-1").value();
  EXPECT_EQ(dc.c.coding->meddra_version, "27.0");
  EXPECT_EQ(dc.c.coding->pt_name, "Nausea");
  EXPECT_EQ(PlanMeddraRecode(*capture_, "27.0")->items.size(), 0u);
}

}  // namespace
}  // namespace trialcore::capture
