#include "store/stream_values.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/canonical.h"
#include "core/json.h"
#include "store/append_rules.h"

namespace trialcore {
namespace {

std::string Payload(const std::string& json) {
  auto v = ParseJson(json);
  EXPECT_TRUE(v.ok()) << json;
  std::string bytes;
  EXPECT_TRUE(EncodeValue(*v, &bytes).ok());
  return bytes;
}

std::string Encoded(const Value& v) {
  std::string bytes;
  EXPECT_TRUE(EncodeValue(v, &bytes).ok());
  return bytes;
}

// "path@seq=value bytes;" for each path drained.
std::string Drained(StreamValues& values) {
  std::string out;
  Status s = values.Drain([&](std::string_view path, std::string_view value, uint64_t seq) {
    out += std::string(path) + "@" + std::to_string(seq) + "=" + std::string(value) + ";";
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST(StreamValuesTest, EachPathKeepsItsLastValueInPathOrder) {
  StreamValues values;
  ASSERT_TRUE(values.Add("subject/1", 3, Payload(R"({"set": {"subject/1/b": 1, "subject/1/a": "x"}})")).ok());
  ASSERT_TRUE(values.Add("subject/1", 8, Payload(R"({"set": {"subject/1/b": "longer"}})")).ok());
  ASSERT_TRUE(values.Add("subject/1", 9, Payload(R"({"type": "no values"})")).ok());
  ASSERT_TRUE(values.Add("subject/1", 12, Payload(R"({"set": {"subject/1/a": null, "subject/1/c": 2}})")).ok());
  EXPECT_EQ(Drained(values), "subject/1/a@12=" + Encoded(Value()) +
                                 ";subject/1/b@8=" + Encoded(Value(std::string("longer"))) +
                                 ";subject/1/c@12=" + Encoded(Value(int64_t{2})) + ";");
  // Drained: the next stream starts empty.
  ASSERT_TRUE(values.Add("subject/2", 4, Payload(R"({"set": {"subject/2/a": 1}})")).ok());
  EXPECT_EQ(Drained(values).substr(0, 14), "subject/2/a@4=");
}

TEST(StreamValuesTest, APathOutsideItsStreamIsDataLossNamingTheEvent) {
  StreamValues values;
  Status s = values.Add("subject/1", 17, Payload(R"({"set": {"subject/10/a": 1}})"));
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("event 17"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("subject/10/a"), std::string::npos) << s.message();
}

// What a projection set's rewrite reads: every member but "set", decoded.
TEST(PayloadWithoutSetTest, KeepsEveryOtherMemberAndDecodesNonObjectsWhole) {
  auto p = DecodePayloadWithoutSet(
      Payload(R"({"changes": [{"item": "SYSBP", "value": 120}], "form": "VS", "set": {"subject/1/VS/SYSBP": 120}})"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(ToJson(*p), R"({"changes":[{"item":"SYSBP","value":120}],"form":"VS"})");
  auto only_set = DecodePayloadWithoutSet(Payload(R"({"set": {"subject/1/a": 1}})"));
  ASSERT_TRUE(only_set.ok());
  EXPECT_EQ(ToJson(*only_set), "{}");
  auto not_object = DecodePayloadWithoutSet(Payload("[1, 2]"));
  ASSERT_TRUE(not_object.ok());
  EXPECT_EQ(ToJson(*not_object), "[1,2]");
  std::string truncated = Payload(R"({"form": "VS", "visit": "WEEK2"})");
  truncated.pop_back();
  EXPECT_EQ(DecodePayloadWithoutSet(truncated).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace trialcore
