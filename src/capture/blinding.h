// What a blinded role may not learn (doc/roles.md, "Blinding"): items marked
// unblinded_only, the queries on them, and the events that change only those.
// One place for the rule, so that capture's replies and the API's views and
// event stream hide the same things.
#pragma once

#include <string>
#include <string_view>

#include "capture/state.h"
#include "core/event.h"
#include "core/status.h"
#include "core/value.h"
#include "study/study.h"

namespace trialcore::capture {

// Every role but the unblinded pharmacist is blinded; what is visible follows
// the role a user acts in, not every role they hold.
bool BlindedRole(std::string_view role);

// Whether an item of a form is hidden from blinded roles (unknown items are not).
bool HiddenItem(const study::Study& study, const std::string& form, const std::string& item);
bool HiddenQuery(const study::Study& study, const Query& query);

// Queries on hidden items are numbered in their own sequence, from
// kHiddenQueryBase + 1, so that the numbers blinded roles see (1, 2, 3 ...)
// have no gaps that count them. Databases written before kept their numbers,
// hidden ones among the low: the next number is chosen by range over every
// query (visible: one past the highest at or below kHiddenQueryBase; hidden:
// one past the highest above it), never by which items are hidden now.
constexpr int kHiddenQueryBase = 1'000'000;
int NextQueryNumber(const SubjectState& subject, bool hidden);

// Query numbers run from 1 (visible) and kHiddenQueryBase + 1 (hidden) up to
// kMaxQueryNumber, the largest the state's int keys hold. A number named by a
// request (a path's text, a command's "query") outside 1..kMaxQueryNumber is
// InvalidArgument, never narrowed: 4294967297 would otherwise wrap to query 1.
constexpr int kMaxQueryNumber = 2'147'483'647;
Result<int> ParseQueryNumber(std::string_view text);
Result<int> QueryNumber(const Value& value);

// The subject version a caller reads and writes against (the ETag an If-Match
// names): blinded roles get one that moves only with what they may see. The
// one rule for every reader and for capture's check of a write, decided by the
// role (BlindedRole), not by whether the study has hidden items now.
uint64_t SubjectVersion(const SubjectState& subject, bool blinded);

// Whether an event of the subject's stream tells a blinded role nothing it may
// know: a query event of a hidden query, or a save, removal or verification
// that changed only hidden items. `subject` is the state the event applies to
// (before or after it; a query's item is known from its opening).
bool HiddenEvent(const study::Study& study, const SubjectState& subject, const Event& event);

// Whether a signature's scope (casebook, visit or form) can hold hidden items,
// by the study's definition, whatever has been entered: its content hash is
// then withheld from blinded roles.
bool ScopeHoldsHidden(const study::Study& study, const std::string& visit, const std::string& form);

}  // namespace trialcore::capture
