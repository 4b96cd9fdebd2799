#include "core/canonical.h"

#include <gtest/gtest.h>

#include "core/json.h"

namespace trialcore {
namespace {

Event SampleEvent() {
  Event e;
  e.seq = 7;
  e.study = "CDISCPILOT01";
  e.stream = "subject/01-701-1015";
  e.stream_version = 3;
  e.study_index = 6;
  e.type = "item.set";
  e.time_us = 1'763'900'000'123'456;
  e.actor = {"coord.701", "coordinator"};
  e.reason = "transcription error";
  e.payload = *ParseJson(R"({"set":{"subject/01-701-1015/visit/V1/form/VS/item/TEMP":36.60}})");
  return e;
}

TEST(CanonicalTest, EncodingIsSpecifiedByteForByte) {
  // The example of doc/event_log_format.md §4; if this changes, the format
  // version must change too.
  Event e;
  e.seq = 1;
  e.study = "S";
  e.stream = "study";
  e.stream_version = 1;
  e.study_index = 0;
  e.type = "study.created";
  e.time_us = 1;
  e.actor = {"u", "r"};
  e.payload = Value::Object{{"n", Value(int64_t{2})}};
  auto rec = EncodeEventRecord(e);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(ToHex(*rec),
            "54434556"                                  // magic TCEV
            "0001"                                      // format version 1
            "0000000000000001"                          // seq
            "0000000153"                                // study "S"
            "000000057374756479"                        // stream "study"
            "0000000000000001"                          // stream_version
            "0000000000000000"                          // study_index
            "0000000d73747564792e63726561746564"        // type "study.created"
            "0000000000000001"                          // time_us
            "0000000175"                                // actor user "u"
            "0000000172"                                // actor role "r"
            "00000000"                                  // reason ""
            "0700000001000000016e030000000000000002");  // payload {"n":2}
}

TEST(CanonicalTest, RoundTripsEveryField) {
  Event e = SampleEvent();
  auto rec = EncodeEventRecord(e);
  ASSERT_TRUE(rec.ok());
  auto back = DecodeEventRecord(*rec);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, e);
}

TEST(CanonicalTest, EqualValuesGiveEqualBytesWhateverTheKeyOrder) {
  std::string a, b;
  ASSERT_TRUE(EncodeValue(*ParseJson(R"({"x":1,"y":[true,null]})"), &a).ok());
  ASSERT_TRUE(EncodeValue(*ParseJson(R"({"y":[true,null],"x":1})"), &b).ok());
  EXPECT_EQ(a, b);
  std::string c;
  ASSERT_TRUE(EncodeValue(*ParseJson(R"({"x":1.0,"y":[true,null]})"), &c).ok());
  EXPECT_NE(a, c) << "an integer and a decimal must differ";
}

TEST(CanonicalTest, RefusesUnknownFormatVersion) {
  auto rec = *EncodeEventRecord(SampleEvent());
  rec[5] = 2;
  auto back = DecodeEventRecord(rec);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(back.status().message().find("event format version 2 is not known"), std::string::npos);
}

TEST(CanonicalTest, RefusesEveryTruncationAndTrailingBytes) {
  auto rec = *EncodeEventRecord(SampleEvent());
  for (size_t n = 0; n < rec.size(); ++n) {
    EXPECT_FALSE(DecodeEventRecord(rec.substr(0, n)).ok()) << "truncated to " << n;
  }
  EXPECT_FALSE(DecodeEventRecord(rec + "x").ok());
}

// An object's encoding written by hand, its one-byte keys in the order
// given (so possibly unsorted or repeated), each with a null value.
std::string NullMembers(std::initializer_list<const char*> keys) {
  std::string bytes = std::string("\x07\x00\x00\x00", 4) + static_cast<char>(keys.size());
  for (const char* k : keys) bytes += std::string("\x00\x00\x00\x01", 4) + k + std::string(1, '\0');
  return bytes;
}

TEST(CanonicalTest, RefusesUnsortedKeysAndBadUtf8) {
  // {"b":null,"a":null} written by hand with keys out of order.
  std::string bytes = NullMembers({"b", "a"});
  auto v = DecodeValue(bytes);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("strictly increasing"), std::string::npos);
  std::string out;
  EXPECT_FALSE(EncodeValue(Value(std::string("\xff")), &out).ok());
}

TEST(CanonicalTest, RefusesDeepNesting) {
  std::string bytes;
  for (int i = 0; i < 100; ++i) bytes += std::string("\x06\x00\x00\x00\x01", 5);
  bytes += std::string(1, '\0');
  EXPECT_NE(DecodeValue(bytes).status().message().find("nested deeper"), std::string::npos);
}

// The validator the verifier runs over a long log must refuse exactly what
// the decoder refuses, with the same message: both are one parser.
template <typename Decode, typename Validate>
void ExpectAgreement(Decode decode, Validate validate, std::string_view bytes) {
  auto decoded = decode(bytes);
  Status validated = validate(bytes);
  EXPECT_EQ(validated.ok(), decoded.ok()) << ToHex(bytes);
  if (!decoded.ok()) {
    EXPECT_EQ(validated.ToString(), decoded.status().ToString()) << ToHex(bytes);
  }
}

void ExpectValidatorAgrees(std::string_view bytes) {
  ExpectAgreement([](std::string_view b) { return DecodeValue(b); },
                  [](std::string_view b) { return ValidateValue(b); }, bytes);
}

void ExpectRecordValidatorAgrees(std::string_view record) {
  ExpectAgreement([](std::string_view b) { return DecodeEventRecord(b); },
                  [](std::string_view b) { return ValidateEventRecord(b); }, record);
}

TEST(CanonicalTest, TheValidatorRefusesWhatTheDecoderRefuses) {
  const std::string unsorted = NullMembers({"b", "a"});
  const std::string repeated = NullMembers({"a", "a"});
  const std::string bad_utf8 = std::string("\x05\x00\x00\x00\x02\xc0\xaf", 7);  // an overlong '/'
  const std::string surrogate = std::string("\x05\x00\x00\x00\x03\xed\xa0\x80", 8);
  const std::string bad_key = std::string("\x07\x00\x00\x00\x01\x00\x00\x00\x01\xff\x00", 11);
  const std::string exponent = std::string(
      "\x04\x00\x00\x00\x03"
      "1e5",
      8);
  const std::string negative_zero = std::string(
      "\x04\x00\x00\x00\x02"
      "-0",
      7);
  const std::string unknown_tag("\x08", 1);
  std::string deep, deepest;
  for (int i = 0; i < 64; ++i) deep += std::string("\x06\x00\x00\x00\x01", 5);
  deepest = deep + std::string("\x06\x00\x00\x00\x01", 5) + std::string(1, '\0');
  deep += std::string(1, '\0');
  EXPECT_TRUE(ValidateValue(deep).ok()) << "64 levels below the top are allowed";
  for (const std::string& bad :
       {unsorted, repeated, bad_utf8, surrogate, bad_key, exponent, negative_zero, unknown_tag, deepest}) {
    EXPECT_FALSE(ValidateValue(bad).ok()) << ToHex(bad);
    ExpectValidatorAgrees(bad);
  }
  EXPECT_NE(ValidateValue(unsorted).message().find("strictly increasing"), std::string::npos);
  EXPECT_NE(ValidateValue(repeated).message().find("strictly increasing"), std::string::npos);
  EXPECT_NE(ValidateValue(bad_utf8).message().find("UTF-8"), std::string::npos);
  EXPECT_NE(ValidateValue(deepest).message().find("nested deeper"), std::string::npos);

  // Every truncation, every trailing byte, and every single-byte change of a
  // payload with each kind of value.
  std::string payload;
  ASSERT_TRUE(
      EncodeValue(*ParseJson(R"({"a":[null,true,false,-3,"x\u00e9",1.50],"b":{"c":{}},"d":"é"})"), &payload).ok());
  ASSERT_TRUE(ValidateValue(payload).ok());
  for (size_t n = 0; n <= payload.size(); ++n) ExpectValidatorAgrees(payload.substr(0, n));
  ExpectValidatorAgrees(payload + '\0');
  for (size_t i = 0; i < payload.size(); ++i) {
    for (int b : {0x00, 0x01, 0x07, 0x08, 0x2f, 0x7f, 0x80, 0xc3, 0xff}) {
      std::string changed = payload;
      changed[i] = static_cast<char>(b);
      ExpectValidatorAgrees(changed);
    }
  }
}

TEST(CanonicalTest, TheRecordValidatorRefusesWhatTheRecordDecoderRefuses) {
  const std::string rec = *EncodeEventRecord(SampleEvent());
  EXPECT_TRUE(ValidateEventRecord(rec).ok());
  for (size_t n = 0; n < rec.size(); ++n) ExpectRecordValidatorAgrees(rec.substr(0, n));
  ExpectRecordValidatorAgrees(rec + "x");
  for (size_t i = 0; i < rec.size(); ++i) {
    for (int b : {0x00, 0x02, 0x05, 0x07, 0x7f, 0x80, 0xff}) {
      std::string changed = rec;
      changed[i] = static_cast<char>(b);
      ExpectRecordValidatorAgrees(changed);
    }
  }
  std::string v2 = rec;
  v2[5] = 2;
  EXPECT_EQ(ValidateEventRecord(v2).code(), StatusCode::kUnimplemented);
}

TEST(CanonicalTest, ChainHashCoversPreviousHash) {
  auto rec = *EncodeEventRecord(SampleEvent());
  Hash zero{};
  Hash one{};
  one[0] = 1;
  EXPECT_NE(ChainHash(zero, rec), ChainHash(one, rec));
  EXPECT_EQ(ChainHash(zero, rec), Sha256(std::string(32, '\0') + rec));
}

TEST(TimeTest, FormatsAndParsesUtc) {
  EXPECT_EQ(FormatTimeMicros(1'763'900'000'123'456), "2025-11-23T12:13:20.123456Z");
  EXPECT_EQ(*ParseTimeMicros("2025-11-23T12:13:20.123456Z"), 1'763'900'000'123'456);
  EXPECT_EQ(*ParseTimeMicros("2025-11-23"), 1'763'856'000'000'000);
  EXPECT_FALSE(ParseTimeMicros("2025-13-01").ok());
  EXPECT_FALSE(ParseTimeMicros("yesterday").ok());
  EXPECT_FALSE(ParseTimeMicros("2025-11-23T12:13:20").ok()) << "a time without Z is ambiguous";
}

TEST(ValidationTest, NamesTheBadIdentifier) {
  EXPECT_NE(ValidateStudyId("bad id").message().find("\"bad id\""), std::string::npos);
  EXPECT_FALSE(ValidateStream("/subject/1").ok());
  EXPECT_FALSE(ValidateStream("subject//1").ok());
  EXPECT_TRUE(ValidateStream("subject/01-701-1015").ok());
  EXPECT_FALSE(ValidateEventType("Item.Set").ok());
  EXPECT_TRUE(ValidateEventType("lab.result.received").ok());
}

}  // namespace
}  // namespace trialcore
