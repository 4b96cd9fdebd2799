// The fixture of the capture tests: a study published on a test store
// (SQLite, or PostgreSQL with TRIALCORE_TEST_BACKEND=postgres) at a fixed
// clock, with helpers to run commands and screen subjects. Shared by the
// capture test files; each includes it once.
#pragma once

#include <gtest/gtest.h>

#include "capture/capture.h"
#include "core/json.h"
#include "core/test_env.h"
#include "store/test_store.h"

namespace trialcore::capture {
namespace {

const Actor kCoord{"coord.701", "coordinator"};
const Actor kInv{"inv.701", "investigator"};
const Actor kMonitor{"cra.1", "monitor"};
const Actor kDm{"dm.1", "data_manager"};
const Actor kAdmin{"admin.1", "study_admin"};
const Actor kPharm{"pharm.701", "unblinded_pharmacist"};

// 2024-03-01T12:00:00Z
constexpr int64_t kNow = 1709294400LL * 1'000'000;

class CaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.SetNowMicros(kNow);
    StoreOpenOptions opts;
    opts.env = &env_;
    store_ = std::move(testing_util::OpenTestStore("/mem/trial.db", opts).value());
    std::vector<study::StudyError> errors;
    study_ = LoadStudyFile(std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml", &errors);
    capture_ = std::move(Capture::Open(store_.get(), &env_, "CDISCPILOT01").value());
    ASSERT_TRUE(capture_->PublishStudy(study_, kAdmin).ok());
  }

  static std::shared_ptr<const study::Study> LoadStudyFile(const std::string& path,
                                                           std::vector<study::StudyError>* errors) {
    return study::LoadStudyFile(path, errors).value();
  }

  Result<Outcome> Run(const std::string& json, const Actor& actor = kCoord) {
    auto cmd = ParseJson(json);
    EXPECT_TRUE(cmd.ok()) << json;
    return capture_->Execute(*cmd, actor);
  }

  void Ok(const std::string& json, const Actor& actor = kCoord) {
    auto r = Run(json, actor);
    ASSERT_TRUE(r.ok()) << json << "\n" << r.status().ToString();
  }

  // A subject through screening with every screening form complete.
  void Screen(const std::string& id, const std::string& birth = "1940-05-10") {
    Ok(R"({"op":"subject.screen","subject":")" + id + R"(","site":"701"})");
    Ok(R"({"op":"form.save","subject":")" + id +
       R"(","visit":"SCREENING1","form":"SV","items":{"SVSTDTC":"2024-01-02"}})");
    Ok(R"({"op":"form.save","subject":")" + id +
       R"(","visit":"SCREENING1","form":"IC","items":{"ICDTC":"2024-01-02","ICVER":"v3","ICCGVR":"Y"}})");
    Ok(R"({"op":"form.save","subject":")" + id + R"(","visit":"SCREENING1","form":"DM","items":{"BRTHDTC":")" + birth +
       R"(","SEX":"M","RACE":"WHITE"}})");
    Ok(R"({"op":"form.save","subject":")" + id +
           R"(","visit":"SCREENING1","form":"IE","items":{"IEDTC":"2024-01-03","MMSE":18,"HACHIN":2,"INCL02":"Y","INCL05":"Y","INCL06":"Y","INCL07":"Y","INCL08":"Y","EXCL10":"N","EXCL11":"N","EXCL16":"N","EXCL17":"N","EXCL27":"N"}})",
       kInv);
  }

  // A database lock signed by the data manager, accepting what the
  // checklist lets be accepted (queries must still be closed).
  static constexpr char kLock[] =
      R"({"op":"study.lock","name":"Dana Manager","accept":{"subjects_on_study":"interim lock",)"
      R"("unsigned_casebooks":"interim lock","broken_signatures":"interim lock","unverified_forms":"interim lock"}})";

  std::vector<Query> Queries(const std::string& subject, QueryState state) {
    std::vector<Query> out;
    SubjectState s = capture_->Subject(subject).value();
    for (const auto& [n, q] : s.queries) {
      if (q.state == state) out.push_back(q);
    }
    return out;
  }

  MemEnv env_;
  std::unique_ptr<EventStore> store_;
  std::shared_ptr<const study::Study> study_;
  std::unique_ptr<Capture> capture_;
};

}  // namespace
}  // namespace trialcore::capture
