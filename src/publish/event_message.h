// One committed event as a message on NATS JetStream (doc/events_on_nats.md):
// its subject, its de-duplication id and its versioned JSON body. Pure
// functions, so the format is tested without a server.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/event.h"
#include "core/status.h"

namespace trialcore::publish {

// The body's "format"; readers refuse any other (Unimplemented).
inline constexpr char kEventMessageFormat[] = "trialcore-event/1";
// Every subject starts with this token; a JetStream stream of trialcore
// events listens on "trialcore.>".
inline constexpr char kSubjectRoot[] = "trialcore";
// Headers each message carries besides Nats-Msg-Id: the event's global
// sequence number, from which a publisher resumes.
inline constexpr char kSeqHeader[] = "Trialcore-Seq";

// A subject token for any text: bytes other than ASCII letters, digits, '_'
// and '-' become %XX (upper-case hex), so a '.' in a study id ("ACME.01")
// cannot split the token and distinct texts give distinct tokens.
std::string SubjectToken(std::string_view text);
// "trialcore.<study>.<stream type>", the stream type being the stream's
// first segment ("subject/1015" -> "subject").
std::string EventSubject(const Event& event);
// Every event of one study: "trialcore.<study>.>".
std::string StudySubjects(std::string_view study);
// Nats-Msg-Id: "<study>:<seq>" (':' never occurs in a study id).
std::string EventMessageId(const Event& event);

// The JSON body (compact, one line): format, study, seq, study_index, stream,
// stream_version, type, time, time_us, actor {user, role}, reason, payload,
// prev_hash and hash (hex).
std::string EventMessageJson(const Event& event);
// Reads a body back. InvalidArgument names the missing or malformed member;
// Unimplemented for another format.
Result<Event> ParseEventMessage(std::string_view json);

}  // namespace trialcore::publish
