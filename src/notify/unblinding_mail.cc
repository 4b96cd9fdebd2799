#include "notify/unblinding_mail.h"

#include <ctime>

namespace trialcore::notify {
namespace {

// A header value on one line: a reason or a name with a line break must not
// start a header of its own.
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  }
  return text;
}

// "Fri, 01 Mar 2024 12:00:00 +0000" (RFC 5322 3.3), in UTC whatever the locale.
std::string RfcDate(int64_t time_us) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t seconds = static_cast<std::time_t>(time_us / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// "2024-03-01 12:00:00 UTC": a person reads it, so no microseconds.
std::string ReadableUtc(int64_t time_us) {
  std::string t = FormatTimeMicros(time_us);  // 2024-03-01T12:00:00.000000Z
  return t.substr(0, 10) + " " + t.substr(11, 8) + " UTC";
}

// A display name in a quoted string (RFC 5322 3.2.4).
std::string Quoted(const std::string& name) {
  std::string out = "\"";
  for (char c : OneLine(name)) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Body lines end in CRLF as SMTP requires, whatever the reason holds.
void AppendLines(std::string* out, const std::string& text) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    *out += line + "\r\n";
    if (end == std::string::npos) break;
    start = end + 1;
  }
}

}  // namespace

Result<UnblindingFacts> UnblindingFactsOf(const Event& e) {
  const std::string where = "event " + std::to_string(e.seq) + " of study " + e.study;
  if (e.type != kUnblindedEvent) return InvalidArgument(where + " is " + e.type + ", not " + kUnblindedEvent);
  if (!e.stream.starts_with("subject/")) return InvalidArgument(where + " is not of a subject's stream");
  const Value* c = e.payload.Find("case");
  if (c == nullptr || !c->is_string() || c->as_string().empty()) return InvalidArgument(where + " names no case");
  UnblindingFacts f;
  f.study = e.study;
  f.seq = e.seq;
  f.case_id = c->as_string();
  f.subject = e.stream.substr(8);
  f.by = e.actor;
  f.time_us = e.time_us;
  f.reason = e.reason;
  return f;
}

Mail UnblindingMail(const UnblindingFacts& f, const study::UnblindedContact& to, const std::string& from,
                    int64_t date_us, const std::string& message_id) {
  Mail m;
  m.subject = OneLine("[trialcore] " + f.study + ": safety case " + f.case_id + " was unblinded");
  std::string& t = m.text;
  t += "Date: " + RfcDate(date_us) + "\r\n";
  t += "From: " + OneLine(from) + "\r\n";
  t += "To: " + Quoted(to.name) + " <" + OneLine(to.email) + ">\r\n";
  t += "Subject: " + m.subject + "\r\n";
  t += "Message-ID: <" + OneLine(message_id) + "@trialcore>\r\n";
  t += "MIME-Version: 1.0\r\n";
  t += "Content-Type: text/plain; charset=utf-8\r\n";
  t += "Content-Transfer-Encoding: 8bit\r\n";
  t += "Auto-Submitted: auto-generated\r\n";
  t += "\r\n";
  std::string body;
  body += "Dear " + OneLine(to.name) + " (" + OneLine(to.role) + "),\n\n";
  body += "Safety case " + f.case_id + " of study " + f.study + " (subject " + f.subject +
          ") was unblinded for expedited reporting.\n\n";
  body += "Unblinded by: " + f.by.user + " (" + f.by.role + ")\n";
  body += "When:         " + ReadableUtc(f.time_us) + "\n";
  body += "Reason:       " + f.reason + "\n\n";
  body +=
      "This e-mail does not give the treatment: e-mail is not a blinded channel. "
      "Sign in to trialcore to read it on the case.\n\n";
  body += "You receive this as an unblinded contact of study " + f.study +
          " (its study file's safety.unblinded_contacts). Event " + std::to_string(f.seq) +
          " of the study's audit trail.\n";
  AppendLines(&t, body);
  return m;
}

}  // namespace trialcore::notify
