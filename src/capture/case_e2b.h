// A safety case's expedited report as an E2B(R3) message: the case's facts
// (its AE row, the subject's demographics, the coding and the assessments)
// put into safety::CaseReport, and the message checked as it will be sent:
// against the ICH schema, and for FDA against FDA's business rules. The
// submission command stores exactly these bytes; the case page previews
// them without sending.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "capture/direct_case.h"
#include "capture/state.h"
#include "core/event.h"
#include "core/status.h"
#include "safety/e2b_export.h"
#include "safety/e2b_reference.h"
#include "safety/e2b_validate.h"
#include "safety/icsr.h"
#include "study/study.h"

namespace trialcore::capture {

struct CaseE2b {
  std::string destination;  // FDA | EU
  std::string receiver;     // N.1.4: ZZFDA_PREMKT, EVCTMPROD
  std::string batch_number, message_id, safety_report_id;
  std::string xml;                           // empty when it cannot be sent
  std::vector<safety::E2bFinding> findings;  // rejections (then no xml) and warnings
  bool nullification = false;
};

// The case's ICSR and the batch header it is sent under, unchecked.
struct CaseIcsr {
  safety::Icsr icsr;
  safety::E2bBatchHeader header;
  std::string receiver, message_id, safety_report_id;
};
Result<CaseIcsr> CaseIcsrOf(const study::Study& study, const SubjectState& subject, const SafetyCase& c,
                            const std::string& destination, const std::string& batch_number, int64_t now_us);

// The same for a direct case (direct_case.h): an entered case's facts in the
// same CaseReport as a CRF case; an imported report as received, with this
// sponsor's transmission (N.2.r, C.1.2) and sender (C.3), the case's
// coding of its first reaction, the sponsor's causality and a
// nullification; every other element as it came.
Result<CaseIcsr> CaseIcsrOf(const study::Study& study, const DirectCase& dc, const std::string& destination,
                            const std::string& batch_number, int64_t now_us);

// The E2B schemas and FDA's rules (safety::DefaultE2bDir()), loaded once
// per process.
Result<std::shared_ptr<const safety::E2bReference>> CachedE2bReference();

// Checks and renders a batch of ICSRs for a destination: the ICH schema, and
// for FDA its business rules. FailedPrecondition listing FDA's rejections
// or InvalidArgument with the schema's errors, naming each report.
Result<safety::E2bSubmission> PrepareCaseBatch(const safety::E2bBatchHeader& header,
                                               const std::vector<safety::Icsr>& icsrs, const std::string& destination,
                                               int64_t now_us);

// The message for submission number `submission` of the case's current
// version to `destination`, at now_us (its transmission time).
// FailedPrecondition when the case has no coding, or (with `strict`) when a
// rejection finding or a schema error would make the receiver refuse it;
// without `strict` those are returned as findings, for the case page.
Result<CaseE2b> BuildCaseE2b(const study::Study& study, const SubjectState& subject, const SafetyCase& c,
                             const std::string& destination, int submission, int64_t now_us, bool strict);

Result<CaseE2b> BuildCaseE2b(const study::Study& study, const DirectCase& dc, const std::string& destination,
                             int submission, int64_t now_us, bool strict);

class Capture;

// An acknowledgement (MCCI_IN200101UV01) from a receiver, applied: each
// report it names moves to accepted, or to rejected with the receiver's
// errors (the case goes back to correction). Checked whole before anything
// is stored: NotFound when the batch was never sent from this study or a
// message is not one of the batch's, FailedPrecondition when a report was
// acknowledged already, InvalidArgument (file and line) for a malformed or
// schema-invalid message.
struct AckApplied {
  std::string subject, case_id, destination;
  int64_t submission = 0;
  std::string ack, code;
  std::vector<std::string> errors;
};
Result<std::vector<AckApplied>> ApplyE2bAck(Capture& capture, std::string_view xml, std::string_view source,
                                            const Actor& actor);

// An E2B(R3) batch (ICH ICSR message) imported as direct safety cases
// (capture/direct_case.h), one per report in the batch's order: a new case,
// or new information on the case already imported with the same worldwide
// case id (C.1.8.1) when its C.1.5 is later. Returns the case ids.
// InvalidArgument naming file, line and element for a message that does not
// parse or breaks the schema; AlreadyExists for a report imported before;
// nothing of a refused report is stored.
Result<std::vector<std::string>> ImportE2bCases(Capture& capture, std::string_view xml, std::string_view source,
                                                const Actor& actor);

}  // namespace trialcore::capture
