// ParseJson on hostile input (issue 13, item 6): a deep document killed the
// server through its unauthenticated login route; each limit here is refused
// with InvalidArgument naming where, and never crashes.
#include "core/json.h"

#include <gtest/gtest.h>

#include <string>

namespace trialcore {
namespace {

std::string Nested(size_t depth, char open, char close, std::string_view inner = "") {
  std::string s;
  for (size_t i = 0; i < depth; ++i) s += open == '{' ? std::string("{\"k\":") : std::string(1, open);
  s += inner.empty() ? (open == '{' ? std::string("1") : std::string()) : std::string(inner);
  for (size_t i = 0; i < depth; ++i) s += close;
  return s;
}

void ExpectRefused(std::string_view text, std::string_view says) {
  auto v = ParseJson(text);
  ASSERT_FALSE(v.ok()) << text.substr(0, 80);
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(v.status().message().find(says), std::string::npos) << v.status().message();
}

TEST(JsonLimits, TheCrashInputOfTheLoginRouteIsRefusedWithItsPlace) {
  // 300,000 '[' then 300,000 ']': the body that overflowed the server's stack.
  const std::string crash = std::string(300'000, '[') + std::string(300'000, ']');
  auto v = ParseJson(crash);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(),
            "invalid JSON at line 1, column 65: arrays and objects nest more than 64 levels deep");
}

TEST(JsonLimits, SixtyFourLevelsAreReadAndSixtyFiveAreNot) {
  EXPECT_TRUE(ParseJson(Nested(64, '[', ']')).ok());
  EXPECT_TRUE(ParseJson(Nested(64, '{', '}')).ok());
  ExpectRefused(Nested(65, '[', ']'), "more than 64 levels deep");
  ExpectRefused(Nested(65, '{', '}'), "more than 64 levels deep");
  // Mixed, and deep objects given on a later line: the place names the line.
  ExpectRefused("{\"a\":\n" + Nested(70, '[', ']') + "}", "at line 2, column 64");
  ExpectRefused(Nested(200'000, '{', '}'), "more than 64 levels deep");
}

TEST(JsonLimits, BracketsInsideStringsDoNotCount) {
  const std::string deep_text = "[\"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"]";
  auto v = ParseJson(deep_text);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->as_array()[0].as_string().size(), 2001u);
}

TEST(JsonLimits, HugeNumbersAreRefusedNotWidenedNorRounded) {
  ExpectRefused("[1e999999]", "");
  ExpectRefused("{\"n\":-1e999999}", "");
  ExpectRefused("[" + std::string(400, '9') + "]", "a number of 400 characters (at most 64)");
  ExpectRefused("[0." + std::string(400, '1') + "]", "at line 1, column 2");
  // Too large for 64 bits but short: an integer, refused as one (it used to become a decimal).
  ExpectRefused("[99999999999999999999]", "integer 99999999999999999999 does not fit in 64 bits");
  ExpectRefused("[-9223372036854775809]", "does not fit in 64 bits");
  EXPECT_EQ(ParseJson("[-9223372036854775808]")->as_array()[0].as_int(), INT64_MIN);
  EXPECT_EQ(ParseJson("[12.50]")->as_array()[0].as_decimal().text(), "12.50");
}

TEST(JsonLimits, LongStringsAreReadWhole) {
  // Length is bounded by whoever reads the text (the server's body limit),
  // not by the parser: a long comment is legitimate.
  const std::string text = "{\"s\":\"" + std::string(900'000, 'x') + "\"}";
  auto v = ParseJson(text);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->Find("s")->as_string().size(), 900'000u);
}

// Strings are written with exactly the escapes JSON requires, whatever
// surrounds them, and read back byte for byte.
TEST(JsonStrings, EscapesOnlyWhatJsonRequiresAndReadsBackWhole) {
  auto written = [](std::string_view s) {
    std::string out;
    AppendJsonString(&out, s);
    return out;
  };
  EXPECT_EQ(written(""), "\"\"");
  EXPECT_EQ(written("plain text"), "\"plain text\"");
  EXPECT_EQ(written("\"q\"\\\n\r\t"), "\"\\\"q\\\"\\\\\\n\\r\\t\"");
  EXPECT_EQ(written(std::string("a\x01\x1f\x7f\0b", 6)), "\"a\\u0001\\u001f\x7f\\u0000b\"");
  EXPECT_EQ(written("caf\xc3\xa9 \xe2\x80\x94"), "\"caf\xc3\xa9 \xe2\x80\x94\"");
  std::string every;
  for (int c = 0; c < 0x80; ++c) every += static_cast<char>(c);
  for (const std::string& s : {every, every + every, std::string("\\") + every + "tail"}) {
    auto back = ParseJson("[" + written(s) + "]");
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->as_array()[0].as_string(), s);
  }
}

}  // namespace
}  // namespace trialcore
