#include "core/value.h"

#include <gtest/gtest.h>

#include "core/json.h"

namespace trialcore {
namespace {

TEST(DecimalTest, KeepsExactTextAndRefusesAmbiguousForms) {
  EXPECT_EQ(Decimal::Parse("5.00")->text(), "5.00");
  EXPECT_EQ(Decimal::Parse("-0.5")->text(), "-0.5");
  EXPECT_EQ(Decimal::Parse("120")->text(), "120");
  for (const char* bad : {"", "-", "01.5", "1.", ".5", "1e3", "-0", "-0.00", "1.5x", "+1"}) {
    EXPECT_FALSE(Decimal::Parse(bad).ok()) << bad;
    EXPECT_NE(DecimalTextProblem(bad), nullptr) << bad;
  }
  EXPECT_EQ(DecimalTextProblem("-0.5"), nullptr);
  EXPECT_EQ(Decimal::Parse("1e3").status().message(),
            "invalid decimal \"1e3\": unexpected character 'e' (exponents are not allowed)");
  EXPECT_EQ(Decimal::Parse("-0.00").status().message(), "invalid decimal \"-0.00\": negative zero");
  EXPECT_NE(Value(*Decimal::Parse("5.0")), Value(*Decimal::Parse("5.00")));
}

TEST(JsonTest, RoundTripsWithDecimalsAsText) {
  auto v = ParseJson(R"({"b":[1,2.50,-3],"a":"x\"y","c":null,"d":true,"e":0.1})");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->Find("b")->as_array()[1].as_decimal().text(), "2.50");
  EXPECT_EQ(ToJson(*v), R"({"a":"x\"y","b":[1,2.50,-3],"c":null,"d":true,"e":0.1})");
}

TEST(JsonTest, ErrorsNameLineAndColumn) {
  auto v = ParseJson("{\n  \"a\": 1,\n  \"b\": ]\n}");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(v.status().message().find("line 3"), std::string::npos) << v.status().message();
}

TEST(JsonTest, RefusesDuplicateKeysExponentsAndHugeIntegers) {
  EXPECT_NE(ParseJson(R"({"a":1,"a":2})").status().message().find("duplicate key \"a\""), std::string::npos);
  EXPECT_NE(ParseJson("[1e3]").status().message().find("exponents"), std::string::npos);
  EXPECT_NE(ParseJson("[18446744073709551615]").status().message().find("64 bits"), std::string::npos);
  EXPECT_EQ(ParseJson("[9223372036854775807]")->as_array()[0].as_int(), INT64_MAX);
}

TEST(Utf8Test, RefusesOverlongsSurrogatesAndTruncation) {
  EXPECT_TRUE(IsValidUtf8("Grüße, 日本, 😀"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xE6\x97"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  // Wherever the bad sequence falls among ASCII read eight bytes at a time.
  for (size_t before = 0; before < 20; ++before) {
    for (size_t after : {0, 1, 7, 8, 9}) {
      const std::string a(before, 'a'), b(after, 'b');
      for (const char* bad : {"\xC0\xAF", "\xED\xA0\x80", "\xE6\x97", "\x80", "\xFF"}) {
        EXPECT_FALSE(IsValidUtf8(a + bad + b)) << before << " " << after;
      }
      EXPECT_TRUE(IsValidUtf8(a + "\xC3\xA9" + b)) << before << " " << after;
    }
  }
}

}  // namespace
}  // namespace trialcore
