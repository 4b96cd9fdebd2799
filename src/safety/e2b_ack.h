// E2B(R3) acknowledgements (MCCI_IN200101UV01) as values: which batch and
// messages they acknowledge, with what code, and the receiver's error texts.
// What an ACK does to a case (acknowledged, or back to correction with the
// errors shown) is the workflow's; this only reads the message, with libxml2.
//
// Thread safety: free functions over values.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace trialcore::safety {

class E2bSchemas;

struct E2bAck {
  std::string ack_batch_number;           // ACK.M.1
  std::string ack_time;                   // ACK.M.4
  std::string sender;                     // ACK.M.2 (the regulator, "ZZFDA")
  std::string receiver;                   // ACK.M.3 (us)
  std::string acked_batch_number;         // ACK.A.1: our N.1.2
  std::string batch_code;                 // ACK.A.4: AA accepted, AE accepted with errors, AR rejected
  std::vector<std::string> batch_errors;  // ACK.A.5

  struct Message {
    // ACK.B.r.1 as the receiver wrote it: our N.2.r.1; FDA's gateway writes
    // "<N.2.r.1> <C.1.1>" (see Names()).
    std::string acked_message;
    std::string local_report_number;  // ACK.B.r.2: the receiver's number for the report
    std::string message_time;         // ACK.B.r.5: our N.2.r.4
    std::string code;                 // ACK.B.r.6: CA accepted, CR rejected
    std::vector<std::string> errors;  // ACK.B.r.7, split at ';'
    bool accepted() const { return code == "CA"; }
    // Does this acknowledge the message with this N.2.r.1 or C.1.1?
    bool Names(std::string_view message_id) const;
  };
  std::vector<Message> messages;
};

// Parses an acknowledgement; with `schemas`, validates it against the ACK
// schema first. InvalidArgument naming the file and line for malformed XML,
// a root that is not MCCI_IN200101UV01 (such as an ICSR sent back by
// mistake), a missing target batch or message id, or an acknowledgement code
// outside AA/AE/AR (batch) and CA/CR (message).
Result<E2bAck> ParseE2bAck(std::string_view xml, std::string_view source, const E2bSchemas* schemas = nullptr);

// OK when the ACK is for the batch we sent (`batch_number`, N.1.2) and each
// message it acknowledges is one of `message_ids` (N.2.r.1 or C.1.1);
// NotFound naming the id otherwise, so an ACK for an unknown message moves no
// case.
Status CheckAckTargets(const E2bAck& ack, std::string_view batch_number, std::span<const std::string> message_ids);

}  // namespace trialcore::safety
