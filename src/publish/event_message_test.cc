#include "publish/event_message.h"

#include <gtest/gtest.h>

#include "core/json.h"

namespace trialcore::publish {
namespace {

Event SampleEvent() {
  Event e;
  e.seq = 42;
  e.study = "ACME.01";
  e.stream = "subject/1015";
  e.stream_version = 3;
  e.study_index = 17;
  e.type = "item.set";
  e.time_us = 1764547200123456;
  e.actor = {"coord.701", "coordinator"};
  e.reason = "transcription \"error\"";
  e.payload = *ParseJson(R"({"set":{"subject/1015/form/VS/item/SYSBP":120.50,"n":-3,"s":"ü\n","a":[true,null]}})");
  for (size_t i = 0; i < e.hash.size(); ++i) {
    e.prev_hash[i] = static_cast<uint8_t>(i);
    e.hash[i] = static_cast<uint8_t>(255 - i);
  }
  return e;
}

TEST(EventMessageTest, SubjectIsRootStudyAndStreamTypeWithDotsEscaped) {
  Event e = SampleEvent();
  EXPECT_EQ(EventSubject(e), "trialcore.ACME%2E01.subject");
  e.stream = "study";
  EXPECT_EQ(EventSubject(e), "trialcore.ACME%2E01.study");
  e.stream = "case s*>/7";
  EXPECT_EQ(EventSubject(e), "trialcore.ACME%2E01.case%20s%2A%3E");
  EXPECT_EQ(StudySubjects("ACME.01"), "trialcore.ACME%2E01.>");
  EXPECT_EQ(SubjectToken("a_b-C9"), "a_b-C9");
  // '%' is never kept, so distinct texts stay distinct tokens.
  EXPECT_EQ(SubjectToken("a%2E"), "a%252E");
  EXPECT_NE(SubjectToken("a.b"), SubjectToken("a%2Eb"));
}

TEST(EventMessageTest, MessageIdIsStudyAndSequenceNumber) { EXPECT_EQ(EventMessageId(SampleEvent()), "ACME.01:42"); }

TEST(EventMessageTest, JsonCarriesEveryFieldWithHashesAsHex) {
  Event e = SampleEvent();
  std::string json = EventMessageJson(e);
  EXPECT_EQ(json.find('\n'), std::string::npos) << "one line per event";
  auto v = ParseJson(json);
  ASSERT_TRUE(v.ok()) << v.status().ToString() << "\n" << json;
  EXPECT_EQ(v->Find("format")->as_string(), "trialcore-event/1");
  EXPECT_EQ(v->Find("time")->as_string(), "2025-12-01T00:00:00.123456Z");
  EXPECT_EQ(v->Find("hash")->as_string(), ToHex(e.hash));
  EXPECT_EQ(v->Find("prev_hash")->as_string(), "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  // Written in canonical order, as ToJson would write the same object.
  EXPECT_EQ(json, ToJson(*v));
}

TEST(EventMessageTest, RoundTripGivesTheSameEvent) {
  Event e = SampleEvent();
  auto back = ParseEventMessage(EventMessageJson(e));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, e);
}

TEST(EventMessageTest, OtherFormatsAndMalformedMessagesAreRefusedByName) {
  std::string json = EventMessageJson(SampleEvent());
  std::string newer = json;
  newer.replace(newer.find("trialcore-event/1"), 17, "trialcore-event/2");
  auto s = ParseEventMessage(newer);
  EXPECT_EQ(s.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(s.status().message().find("trialcore-event/2"), std::string::npos) << s.status().ToString();

  std::string no_hash = json;
  no_hash.replace(no_hash.find("\"hash\""), 6, "\"hush\"");
  s = ParseEventMessage(no_hash);
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("no \"hash\""), std::string::npos) << s.status().ToString();

  std::string bad_seq = json;
  bad_seq.replace(bad_seq.find("\"seq\":42"), 8, "\"seq\":\"42\"");
  s = ParseEventMessage(bad_seq);
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("\"seq\" is not an integer"), std::string::npos) << s.status().ToString();

  s = ParseEventMessage("{\"format\":");
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("event message"), std::string::npos) << s.status().ToString();
}

}  // namespace
}  // namespace trialcore::publish
