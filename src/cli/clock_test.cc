// The commands a new user runs first — `trialcore sim`, `trialcore demo` and
// `trialcore study test` — at chosen clock times, in process with the test
// Env's clock: none of them may depend on the hour or the day (issue 11:
// `trialcore sim --subjects 100` failed before 09:30 UTC).
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "core/test_env.h"

namespace trialcore::cli {
namespace {

// Midnight, the 01:00, a minute before the simulated samples' 09:30,
// the last minute of a day, the last day of a month, a year's last day and a
// leap day.
const char* const kClocks[] = {
    "2026-12-01T00:00:00Z", "2026-12-01T01:00:00Z", "2026-12-01T09:29:00Z",
    "2026-12-01T23:59:59Z", "2026-11-30T23:59:00Z", "2026-12-31T00:00:00Z",
    "2028-02-29T00:00:00Z", "2028-02-29T09:29:00Z", "2028-02-29T23:59:00Z",
};

class CommandClockTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { env_.SetNowMicros(ParseTimeMicros(GetParam()).value()); }

  Context ctx_{&env_, out_, err_};
  MemEnv env_;
  std::ostringstream out_, err_;
};

TEST_P(CommandClockTest, SimOfAHundredSubjectsSucceedsAndVerifies) {
  SimArgs args;
  args.db = "/mem/sim.db";
  args.subjects = 100;
  Status s = Sim(args, ctx_);
  ASSERT_TRUE(s.ok()) << GetParam() << ": " << s.ToString() << "\n" << err_.str();
  EXPECT_NE(out_.str().find("simulated 100 subjects"), std::string::npos) << out_.str();
  VerifyArgs verify;
  verify.db = args.db;
  EXPECT_TRUE(AuditVerify(verify, ctx_).ok()) << out_.str();
}

TEST_P(CommandClockTest, DemoCreatesItsStudyAndItsAuditTrailVerifies) {
  Status s = Demo("/mem/demo.db", "/mem/key.pem", nullptr, ctx_);
  ASSERT_TRUE(s.ok()) << GetParam() << ": " << s.ToString() << "\n" << err_.str();
  EXPECT_NE(out_.str().find("creating the demo study CDISCPILOT01"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("verification:      OK"), std::string::npos) << out_.str();
}

// `trialcore study test studies/cdiscpilot01.yaml studies/cdiscpilot01-features --now T`.
TEST_P(CommandClockTest, TheDemoStudysScenariosPassWhenTheyStartAtThisTime) {
  StudyTestArgs args;
  args.study_file = std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml";
  args.features = {std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01-features"};
  args.now = GetParam();
  // The command reads feature files through the Env: the test's in-memory
  // one gets a copy of them.
  for (const auto& f : std::filesystem::directory_iterator(args.features[0])) {
    std::ifstream in(f.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    ASSERT_TRUE(env_.WriteFileAtomically(f.path().string(), text.str()).ok()) << f.path();
  }
  Status s = StudyTest(args, ctx_);
  EXPECT_TRUE(s.ok()) << GetParam() << ": " << s.ToString() << "\n" << out_.str();
  EXPECT_NE(out_.str().find(" passed, 0 failed\n"), std::string::npos) << out_.str();
}

std::string ClockName(const ::testing::TestParamInfo<const char*>& clock) {
  std::string name = "At";
  for (const char* c = clock.param; *c != '\0'; ++c) {
    if (std::isdigit(static_cast<unsigned char>(*c))) name += *c;
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Clocks, CommandClockTest, ::testing::ValuesIn(kClocks), ClockName);

TEST(StudyTestClock, AMalformedNowIsRefusedNamingTheOption) {
  MemEnv env;
  std::ostringstream out, err;
  Context ctx{&env, out, err};
  StudyTestArgs args;
  args.study_file = std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml";
  args.features = {std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01-features"};
  args.now = "tomorrow";
  Status s = StudyTest(args, ctx);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("--now: invalid time \"tomorrow\"", 0), 0u) << s.message();
}

}  // namespace
}  // namespace trialcore::cli
