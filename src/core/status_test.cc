#include "core/status.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace trialcore {
namespace {

Result<int> Half(int x) {
  if (x % 2) return InvalidArgument(std::to_string(x) + " is odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  TC_ASSIGN_OR_RETURN(int h, Half(x));
  TC_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(StatusTest, CarriesCodeMessageAndContext) {
  Status s = NotFound("no event 12").WithContext("reading trial.db");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ToString(), "NotFound: reading trial.db: no event 12");
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
}

TEST(StatusTest, AssignOrReturnPropagatesTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "3 is odd");
}

Status Check(int x) { return x % 2 ? InvalidArgument(std::to_string(x) + " is odd") : Status::Ok(); }

Status CheckAll(const std::vector<int>& xs, int* contexts_built) {
  for (size_t i = 0; i < xs.size(); ++i) {
    TC_RETURN_IF_ERROR_CTX(Check(xs[i]), (++*contexts_built, "item " + std::to_string(i + 1)));
  }
  return Status::Ok();
}

Result<int> HalfOfLine(int line, int x, int* contexts_built) {
  TC_ASSIGN_OR_RETURN_CTX(int h, Half(x), (++*contexts_built, "line " + std::to_string(line)));
  return h;
}

// Two levels: a file, then a line within it.
Result<int> SumOfHalves(const std::string& file, const std::vector<int>& lines, int* contexts_built) {
  int sum = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    TC_ASSIGN_OR_RETURN_CTX(int h, HalfOfLine(static_cast<int>(i + 1), lines[i], contexts_built), "reading " + file);
    sum += h;
  }
  return sum;
}

TEST(StatusTest, ReturnIfErrorCtxNamesWhereTheErrorHappenedAndKeepsTheCode) {
  int built = 0;
  Status s = CheckAll({2, 4, 7, 9}, &built);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "item 3: 7 is odd");
  EXPECT_EQ(built, 1) << "the context is built only for the error";
  built = 0;
  EXPECT_TRUE(CheckAll({2, 4}, &built).ok());
  EXPECT_EQ(built, 0);
}

TEST(StatusTest, AssignOrReturnCtxAddsContextAtEachLevelOnTheWayUp) {
  int built = 0;
  Result<int> ok = SumOfHalves("a.jsonl", {2, 4, 6}, &built);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 6);
  EXPECT_EQ(built, 0);
  Result<int> r = SumOfHalves("a.jsonl", {2, 5, 7}, &built);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().ToString(), "InvalidArgument: reading a.jsonl: line 2: 5 is odd");
  EXPECT_EQ(built, 1);
}

TEST(StatusTest, ResultFromOkStatusIsAnInternalError) {
  Result<int> r = Status::Ok();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace trialcore
