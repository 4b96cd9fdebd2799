// The safety inbox (issue 16, points 3 and 8): the cases that serious adverse
// events opened, at the sites the caller sees, each with its reporting
// clocks worked out at the injected clock's now, most urgent first. The
// due days come from the case workflow (capture/safety_workflow.h): until a
// medical review assesses expectedness and causality, every serious case
// runs on the SUSAR clock (the earliest it could be due), marked pending:
// safety teams count from awareness before they know.
#pragma once

#include <cstdint>
#include <vector>

#include "capture/reads.h"
#include "core/status.h"
#include "core/value.h"
#include "study/study.h"

namespace trialcore::api {

struct SafetyInbox {
  Value::Array cases;  // JSON objects, most urgent first (doc/api.md, "Safety cases")
  // Open cases with a report due in 0 to 3 days, or past due and not sent;
  // reports sent after their due day.
  int64_t open = 0, due_within_3_days = 0, overdue = 0, late = 0;
};

SafetyInbox BuildSafetyInbox(const study::Study& study, std::vector<capture::SafetyCaseLine> lines, int64_t now_us);

}  // namespace trialcore::api
