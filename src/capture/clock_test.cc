// The simulator and the protocol scenarios at chosen clock times: nothing
// they produce may depend on the hour or the day they run (issue 11:
// `trialcore sim` failed before 09:30 UTC because a lab sample "taken today at
// 09:30" lay in the future).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "capture/reads.h"
#include "capture/scenario.h"
#include "capture/sim.h"
#include "core/test_env.h"
#include "rules/rules.h"
#include "store/test_store.h"

namespace trialcore::capture {
namespace {

// Midnight, a minute before the simulated samples' 09:30, the last minute of
// a day, the last day of a month, the end of a year and a leap day.
const char* const kClocks[] = {
    "2026-12-01T00:00:00Z", "2026-12-01T01:00:00Z", "2026-12-01T09:29:00Z",
    "2026-12-01T23:59:59Z", "2026-11-30T23:59:00Z", "2026-12-31T00:00:00Z",
    "2028-02-29T00:00:00Z", "2028-02-29T09:29:00Z", "2028-02-29T23:59:00Z",
};

class SimulatorClockTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    now_ = ParseTimeMicros(GetParam()).value();
    env_.SetNowMicros(now_);
    StoreOpenOptions opts;
    opts.env = &env_;
    store_ = std::move(testing_util::OpenTestStore("/mem/sim.db", opts).value());
    std::vector<study::StudyError> errors;
    auto definition = study::LoadStudyFile(std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml", &errors);
    ASSERT_TRUE(definition.ok()) << definition.status().ToString();
    capture_ = std::move(Capture::Open(store_.get(), &env_, "CDISCPILOT01").value());
    ASSERT_TRUE(capture_->PublishStudy(*definition, Actor{"admin", "study_admin"}).ok());
  }

  int64_t Today() const { return now_ / rules::kMicrosPerDay; }

  // Every date and time stored in the study, with where it is, that lies after the clock.
  std::vector<std::string> ValuesAfterTheClock() {
    std::vector<std::string> late;
    auto check = [&](const std::string& where, const ItemState& item) {
      if (!item.value.is_string()) return;
      const std::string& text = item.value.as_string();
      if (text.size() == 10 && text[4] == '-' && text[7] == '-') {
        auto day = rules::ParseDateDays(text);
        if (day.ok() && *day > Today()) late.push_back(where + " = " + text);
      } else if (text.size() > 10 && text[4] == '-' && text[10] == 'T') {
        auto us = ParseTimeMicros(text);
        if (us.ok() && *us > now_) late.push_back(where + " = " + text);
      }
    };
    auto ids = SubjectIds(capture_->store(), capture_->study_id());
    EXPECT_TRUE(ids.ok()) << ids.status().ToString();
    for (const std::string& id : ids.ok() ? *ids : std::vector<std::string>{}) {
      auto read = capture_->Subject(id);
      EXPECT_TRUE(read.ok()) << read.status().ToString();
      if (!read.ok()) continue;
      const SubjectState& subject = *read;
      for (const auto& [visit, v] : subject.visits) {
        for (const auto& [form, f] : v.forms) {
          std::string at = id + "/" + visit + "/" + form + "/";
          for (const auto& [item, state] : f.items) check(at + item, state);
          for (const auto& [group, rows] : f.rows) {
            for (const auto& [n, row] : rows) {
              for (const auto& [item, state] : row.items)
                check(at + group + "#" + std::to_string(n) + "/" + item, state);
            }
          }
        }
      }
    }
    return late;
  }

  int64_t now_ = 0;
  MemEnv env_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<Capture> capture_;
};

// A subject who screens today is screened in the morning (09:00 to 12:00)
// if that moment has come, and has its screening sample taken today: at
// 09:30 when that has passed, otherwise no later than now.
TEST_P(SimulatorClockTest, ASubjectScreenedTodayHasItsSampleTakenNoLaterThanNow) {
  SimOptions o;
  o.subjects = 1;
  o.start_day = Today();
  o.error_rate = 0;
  auto r = Simulate(*capture_, o);
  ASSERT_TRUE(r.ok()) << GetParam() << ": " << r.status().ToString();
  auto subject = capture_->Subject("701-1001");
  if (r->subjects == 0) {
    EXPECT_FALSE(subject.ok()) << "nothing of a screening still to come is recorded";
    EXPECT_LT(now_ % rules::kMicrosPerDay, 12 * int64_t{3'600'000'000}) << "the screening came by noon";
    return;
  }
  EXPECT_EQ(r->subjects, 1);
  ASSERT_TRUE(subject.ok()) << subject.status().ToString();
  const ItemState* taken = subject->visits["SCREENING1"].forms["LB"].Find("LBDTC");
  ASSERT_NE(taken, nullptr);
  int64_t at = ParseTimeMicros(taken->value.as_string()).value();
  EXPECT_LE(at, now_) << taken->value.as_string();
  EXPECT_EQ(at / rules::kMicrosPerDay, Today()) << taken->value.as_string();
  int64_t half_past_nine = Today() * rules::kMicrosPerDay + (9 * 60 + 30) * 60 * int64_t{1'000'000};
  EXPECT_EQ(at, std::min(half_past_nine, now_ / 1'000'000 * 1'000'000)) << taken->value.as_string();
}

// A subject screens every day up to today, so that every kind of visit and
// every form falls on today for someone; the whole run succeeds and nothing
// it recorded lies after the clock.
TEST_P(SimulatorClockTest, AStudyWhoseVisitsFallOnEveryDayUpToTodayRecordsNothingInTheFuture) {
  SimOptions o;
  o.subjects = 200;
  o.enrol_every_days = 1;
  o.start_day = Today() - 199;
  o.seed = 11;
  o.error_rate = 0.2;
  auto r = Simulate(*capture_, o);
  ASSERT_TRUE(r.ok()) << GetParam() << ": " << r.status().ToString();
  // Today's subject screens in the morning, if that has come.
  EXPECT_EQ(r->subjects, now_ % rules::kMicrosPerDay >= 12 * int64_t{3'600'000'000} ? 200 : r->subjects);
  EXPECT_GE(r->subjects, 199);
  EXPECT_GT(r->enrolled, 100);
  EXPECT_EQ(ValuesAfterTheClock(), std::vector<std::string>{}) << GetParam();
}

std::string ClockName(const ::testing::TestParamInfo<const char*>& clock) {
  std::string name = "At";
  for (const char* c = clock.param; *c != '\0'; ++c) {
    if (std::isdigit(static_cast<unsigned char>(*c))) name += *c;
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Clocks, SimulatorClockTest, ::testing::ValuesIn(kClocks), ClockName);

std::shared_ptr<const study::Study> DemoStudy() {
  std::vector<study::StudyError> errors;
  return study::LoadStudyFile(std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml", &errors).value();
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ScenarioClockTest : public ::testing::TestWithParam<const char*> {};

// The demo study's scenarios, as CI runs them, pass whatever the clock they
// start at: those that need a date set it with `the date is`.
TEST_P(ScenarioClockTest, TheDemoStudysScenariosPass) {
  ScenarioOptions o;
  o.start_micros = ParseTimeMicros(GetParam()).value();
  auto study = DemoStudy();
  std::vector<std::string> files;
  for (const auto& e :
       std::filesystem::directory_iterator(std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01-features")) {
    if (e.path().extension() == ".feature") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 7u);
  int scenarios = 0;
  for (const auto& file : files) {
    auto results = RunFeature(study, file, Slurp(file), o);
    ASSERT_TRUE(results.ok()) << results.status().ToString();
    for (const auto& r : *results) {
      ++scenarios;
      std::string why;
      for (const auto& step : r.steps) {
        if (!step.passed && !step.skipped) {
          why = "line " + std::to_string(step.line) + ": " + step.text + "; expected " + step.expected + "; actual " +
                step.actual;
        }
      }
      EXPECT_TRUE(r.passed()) << GetParam() << ": " << file << ": " << r.name << ": " << why;
    }
  }
  EXPECT_GT(scenarios, 30);
}

INSTANTIATE_TEST_SUITE_P(Clocks, ScenarioClockTest, ::testing::ValuesIn(kClocks), ClockName);

// Runs one feature text at the default clock (or another) and returns each
// scenario's name with PASS or FAIL and the failing step's actual outcome.
std::vector<std::string> Outcomes(const std::string& feature, const ScenarioOptions& o = {}) {
  auto results = RunFeature(DemoStudy(), "clock.feature", feature, o);
  EXPECT_TRUE(results.ok()) << results.status().ToString();
  std::vector<std::string> out;
  if (!results.ok()) return out;
  for (const auto& r : *results) {
    std::string line = (r.passed() ? "PASS " : "FAIL ") + r.name;
    for (const auto& step : r.steps) {
      if (!step.passed && !step.skipped) line += ": " + step.actual;
    }
    out.push_back(line);
  }
  return out;
}

constexpr char kSampleToday[] = R"(Feature: A sample taken today
  Background:
    Given a subject "701-1001" at site "701"
    And the form "SV" at visit "SCREENING1" is saved with:
      | SVSTDTC    |
      | 2024-01-02 |
    And the form "IC" at visit "SCREENING1" is saved with:
      | ICDTC      | ICVER | ICCGVR |
      | 2024-01-02 | v2    | Y      |

  Scenario: At the default clock's noon, 09:30 has passed
    Given the date is "2024-01-02"
    When the form "LB" at visit "SCREENING1" is saved with:
      | LBDTC                |
      | 2024-01-02T09:30:00Z |
    Then the save succeeds

  Scenario: At 09:00, 09:30 lies in the future
    Given the date is "2024-01-02T09:00:00Z"
    When the form "LB" at visit "SCREENING1" is saved with:
      | LBDTC                |
      | 2024-01-02T09:30:00Z |
    Then the save is rejected with "cannot be in the future"
)";

TEST(ScenarioClock, TheDefaultClockIsNoonOnTheFirstOfJune2024) {
  EXPECT_EQ(ScenarioOptions{}.start_micros, ParseTimeMicros("2024-06-01T12:00:00Z").value());
}

TEST(ScenarioClock, TheDateIsSetsTheDayAtTheRunsTimeOfDayOrAnExactTime) {
  EXPECT_EQ(Outcomes(kSampleToday), (std::vector<std::string>{"PASS At the default clock's noon, 09:30 has passed",
                                                              "PASS At 09:00, 09:30 lies in the future"}));
  // Started at 09:29, "the date is 2024-01-02" is 09:29 that day: the first
  // scenario now finds its sample in the future.
  ScenarioOptions early;
  early.start_micros = ParseTimeMicros("2026-12-01T09:29:00Z").value();
  auto outcomes = Outcomes(kSampleToday, early);
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].rfind("FAIL At the default clock's noon, 09:30 has passed: ", 0), 0u) << outcomes[0];
  EXPECT_NE(outcomes[0].find("The collection time cannot be in the future."), std::string::npos) << outcomes[0];
  EXPECT_EQ(outcomes[1], "PASS At 09:00, 09:30 lies in the future");
}

TEST(ScenarioClock, AMalformedDateFailsItsStep) {
  auto outcomes = Outcomes(R"(Feature: Bad date
  Scenario: Not a date
    Given the date is "1 March"
)");
  EXPECT_EQ(outcomes, (std::vector<std::string>{"FAIL Not a date: 1 March"}));
}

}  // namespace
}  // namespace trialcore::capture
