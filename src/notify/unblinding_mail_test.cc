// The mail of an unblinding: what it says, and that it never says the
// treatment, whatever the event beside it holds.
#include "notify/unblinding_mail.h"

#include <gtest/gtest.h>

#include "notify/smtp.h"

namespace trialcore::notify {
namespace {

// 2024-03-01T12:00:00Z
constexpr int64_t kNow = 1709294400LL * 1'000'000;

Event Unblinded() {
  Event e;
  e.seq = 42;
  e.study = "CDISCPILOT01";
  e.stream = "subject/701-1020";
  e.type = kUnblindedEvent;
  e.time_us = kNow + 5'000'000;
  e.actor = {"safety.1", "safety_physician"};
  e.reason = "A SUSAR: the expedited report needs the treatment";
  // What a future event could carry beside the case: the mail must not
  // take it along.
  e.payload = Value::Object{
      {"case", "701-1020-SAE1"}, {"case_number", 1}, {"arm", "Xanomeline High Dose"}, {"kit", "KIT-0042"}};
  return e;
}

study::UnblindedContact Stats() {
  study::UnblindedContact c;
  c.name = "Uma Statistician";
  c.email = "unblinded.stats@example.org";
  c.role = "unblinded statistician";
  return c;
}

TEST(UnblindingMail, NamesStudyCaseWhoWhenAndWhyButNeverTheTreatment) {
  auto facts = UnblindingFactsOf(Unblinded());
  ASSERT_TRUE(facts.ok()) << facts.status().ToString();
  Mail m = UnblindingMail(*facts, Stats(), "trialcore@example.org", kNow + 6'000'000, "unblinding.42.0.1");
  EXPECT_EQ(m.subject, "[trialcore] CDISCPILOT01: safety case 701-1020-SAE1 was unblinded");
  const std::string& t = m.text;
  EXPECT_NE(t.find("Subject: " + m.subject + "\r\n"), std::string::npos) << t;
  EXPECT_NE(t.find("To: \"Uma Statistician\" <unblinded.stats@example.org>\r\n"), std::string::npos) << t;
  EXPECT_NE(t.find("From: trialcore@example.org\r\n"), std::string::npos) << t;
  EXPECT_NE(t.find("Date: Fri, 01 Mar 2024 12:00:06 +0000\r\n"), std::string::npos) << t;
  EXPECT_NE(t.find("Dear Uma Statistician (unblinded statistician),"), std::string::npos) << t;
  EXPECT_NE(t.find("Safety case 701-1020-SAE1 of study CDISCPILOT01 (subject 701-1020)"), std::string::npos) << t;
  EXPECT_NE(t.find("Unblinded by: safety.1 (safety_physician)\r\n"), std::string::npos) << t;
  EXPECT_NE(t.find("When:         2024-03-01 12:00:05 UTC\r\n"), std::string::npos) << t;
  EXPECT_NE(t.find("Reason:       A SUSAR: the expedited report needs the treatment\r\n"), std::string::npos) << t;
  EXPECT_EQ(t.find("Xanomeline High Dose"), std::string::npos) << "the arm is in the mail:\n" << t;
  EXPECT_EQ(t.find("KIT-0042"), std::string::npos) << "the kit is in the mail:\n" << t;
  EXPECT_EQ(t.find("Xanomeline"), std::string::npos) << t;
  // Every line ends in CRLF, as SMTP requires.
  for (size_t at = t.find('\n'); at != std::string::npos; at = t.find('\n', at + 1)) {
    ASSERT_GT(at, 0u);
    EXPECT_EQ(t[at - 1], '\r') << "a bare LF at byte " << at;
  }
}

TEST(UnblindingMail, ALineBreakInANameOrReasonStartsNoHeader) {
  Event e = Unblinded();
  e.reason = "first line\nBcc: someone@example.com";
  auto facts = UnblindingFactsOf(e);
  ASSERT_TRUE(facts.ok());
  study::UnblindedContact c = Stats();
  c.name = "Uma\r\nBcc: other@example.com";
  Mail m = UnblindingMail(*facts, c, "trialcore@example.org", kNow, "id");
  const std::string headers = m.text.substr(0, m.text.find("\r\n\r\n"));
  EXPECT_EQ(headers.find("\r\nBcc:"), std::string::npos) << headers;
  EXPECT_NE(m.text.find("Reason:       first line\r\nBcc: someone@example.com\r\n"), std::string::npos)
      << "the reason stays whole in the body";
}

TEST(UnblindingMail, OnlyAnUnblindingOfASubjectsCaseMakesOne) {
  Event e = Unblinded();
  e.type = "safety.case.approved";
  EXPECT_EQ(UnblindingFactsOf(e).status().code(), StatusCode::kInvalidArgument);
  e = Unblinded();
  e.payload = Value::Object{{"arm", "Placebo"}};
  auto no_case = UnblindingFactsOf(e);
  EXPECT_EQ(no_case.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_case.status().message().find("names no case"), std::string::npos);
  e = Unblinded();
  e.stream = "study";
  EXPECT_EQ(UnblindingFactsOf(e).status().code(), StatusCode::kInvalidArgument);
}

TEST(SmtpOptions, AnythingButAnSmtpUrlOrAnAddressIsRefusedByName) {
  EXPECT_TRUE(CheckSmtpUrl("smtp://127.0.0.1:2525").ok());
  EXPECT_TRUE(CheckSmtpUrl("smtps://mail.example.org").ok());
  EXPECT_TRUE(CheckSmtpUrl("smtp://mail.example.org:587/").ok());
  auto http = CheckSmtpUrl("http://mail.example.org");
  EXPECT_EQ(http.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(http.message().find("'http://mail.example.org' is not an SMTP URL"), std::string::npos) << http.message();
  EXPECT_NE(CheckSmtpUrl("smtp://").message().find("names no host"), std::string::npos);
  EXPECT_NE(CheckSmtpUrl("smtp://host:99999").message().find("port '99999'"), std::string::npos);
  EXPECT_NE(CheckSmtpUrl("smtp://host:x").message().find("port 'x'"), std::string::npos);
  EXPECT_TRUE(CheckMailAddress("trialcore@example.org").ok());
  EXPECT_NE(CheckMailAddress("trialcore").message().find("'trialcore' is not an e-mail address"), std::string::npos);
  EXPECT_FALSE(CheckMailAddress("a b@example.org").ok());
  EXPECT_FALSE(CheckMailAddress("<a@example.org>").ok());
}

}  // namespace
}  // namespace trialcore::notify
