// The database lock checklist: what still stands between the study's data
// and a lock, read from the projection tables (capture/projection.h), and
// the rule study.lock applies to it: every item resolved or, where it may
// be, accepted with a reason (doc/capture_commands.md, "Database lock").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "capture/reads.h"
#include "core/status.h"
#include "store/event_store.h"

namespace trialcore::capture {

// Where an item of the checklist points: a subject, and a visit and form
// when it is about one; `detail` says what about it ("screening", "WEEK2/VS").
struct LockCheckRef {
  std::string subject, visit, form, detail;
};

struct LockCheckItem {
  std::string id;     // subjects_on_study, unsigned_casebooks, broken_signatures, unverified_forms, unresolved_queries
  std::string title;  // in the user's words
  int64_t count = 0;  // 0: resolved
  // Whether a data manager may lock with it outstanding, giving a reason.
  // Unresolved queries may not be accepted: they are closed first.
  bool acceptable = true;
  std::vector<LockCheckRef> listed;  // the first of them, by subject
};

struct LockChecklist {
  std::vector<LockCheckItem> items;  // always every item, in this order
  // For a blinded caller: queries on hidden items are still unresolved
  // (told without a count, doc/roles.md); they keep the lock off too.
  bool hidden_queries_unresolved = false;
  bool locked = false;
};

// The checklist of a study. A blinded caller's unresolved_queries counts
// the queries they see; `listed` bounds each item's list.
Result<LockChecklist> ReadLockChecklist(EventStore* store, const std::string& study, bool blinded, size_t listed = 100);

// Why a lock with these acceptances (item id -> reason) is refused, in a
// sentence naming each outstanding item; OK when it may be taken. An
// acceptance of an unknown item, with an empty reason, or of an item that
// may not be accepted is InvalidArgument; acceptances of resolved items are
// ignored (AcceptedOutstanding leaves them out of the event).
Status LockRefusal(const LockChecklist& checklist, const std::map<std::string, std::string>& accepted);
std::map<std::string, std::string> AcceptedOutstanding(const LockChecklist& checklist,
                                                       const std::map<std::string, std::string>& accepted);

// A database lock or unlock as its signed event records it.
struct LockEvent {
  bool locked = true;  // false: an unlock
  int64_t time_us = 0;
  std::string user, role, signer_name, reason;
  std::map<std::string, std::string> accepted;  // of a lock: item id -> reason
};
// The study's locks and unlocks, oldest first (read from its own stream,
// which holds only publications, migrations and these).
Result<std::vector<LockEvent>> ReadLockHistory(EventStore* store, const std::string& study);

// What awaits an investigator's signature at the viewer's sites, by subject:
// casebooks of subjects who completed or withdrew without a valid casebook
// signature (detail "casebook"), and broken signatures not signed again
// (detail "broken", with their visit and form). Also counted by the lock's
// checklist. `total` counts all; the first `listed` are given.
struct AwaitingSignature {
  std::vector<LockCheckRef> listed;
  int64_t total = 0;
};
Result<AwaitingSignature> ReadAwaitingSignature(EventStore* store, const std::string& study, const Viewer& viewer,
                                                size_t listed = 200);

}  // namespace trialcore::capture
