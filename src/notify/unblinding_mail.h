// The e-mail that tells a study's unblinded contact that a safety case was
// unblinded: which study and case, by whom (user id), when (UTC) and why.
// E-mail is not a blinded channel, so it never carries the treatment arm or
// kit: it is built from named fields of the event only, and the recipient
// reads the treatment in trialcore. Pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "core/event.h"
#include "core/status.h"
#include "study/study.h"

namespace trialcore::notify {

inline constexpr char kUnblindedEvent[] = "safety.case.unblinded";

// What the mail may say of one unblinding, and nothing else.
struct UnblindingFacts {
  std::string study;
  uint64_t seq = 0;  // the safety.case.unblinded event
  std::string case_id;
  std::string subject;  // the subject's id (the stream subject/<id>)
  Actor by;
  int64_t time_us = 0;
  std::string reason;
};

// InvalidArgument when e is not a safety.case.unblinded event of a
// subject's stream with a case id.
Result<UnblindingFacts> UnblindingFactsOf(const Event& e);

struct Mail {
  std::string subject;  // the Subject header's text
  std::string text;     // the whole RFC 5322 message: headers, a blank line, the body; CRLF line ends
};

// date_us: the Date header's time; message_id: unique per notification
// (the part before '@'). Header values are kept to one line.
Mail UnblindingMail(const UnblindingFacts& facts, const study::UnblindedContact& to, const std::string& from,
                    int64_t date_us, const std::string& message_id);

}  // namespace trialcore::notify
