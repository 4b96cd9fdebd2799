// A subject's audit trail as one caller may see it: filtered by who, what,
// when and why, in pages (GET .../audit) or whole as CSV (format=csv).
// What a blinded caller may not see (hidden items, queries on them, and the
// reasons of changes that also covered them) is left out before any filter,
// page or export sees the trail, so that none of them can tell it exists.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/views.h"
#include "core/status.h"
#include "store/audit.h"

namespace trialcore::api {

// The filters and page of a request (doc/api.md, "Audit trail").
struct AuditQuery {
  std::optional<std::string> path;   // an entity path or a prefix of it, at a '/' boundary
  std::optional<std::string> user;   // who: the user id
  std::optional<std::string> event;  // what: the event type (form.saved)
  std::optional<std::string> visit, form, item;
  std::optional<int64_t> from_us, to_us;  // when: inclusive
  std::optional<std::string> reason;      // words the shown reason holds, in any case
  size_t limit = 100;
  // Where the page starts: after this event (its sequence number) for a
  // caller who sees every event; after this many matching events for a
  // blinded caller, whose pages must not count hidden events.
  uint64_t after = 0;
  bool csv = false;
};

inline constexpr size_t kAuditPageMax = 1000;

// Reads the query parameters; InvalidArgument names the parameter and what
// it must be. A date as `to` means to the end of that day.
Result<AuditQuery> ParseAuditQuery(const std::multimap<std::string, std::string>& params);

// What one caller may see of one subject's trail.
struct AuditVisibility {
  bool blinded = false;
  Hidden hidden;                         // items
  std::set<std::string> hidden_queries;  // "subject/ID/queries/N"
  capture::Withheld withheld;            // identifying items shown in part or not at all, by "FORM/ITEM"
};

// One line as the caller sees it.
struct ShownAuditEntry {
  const AuditEntry* entry = nullptr;
  // Withheld from a blinded caller when the change also covered hidden
  // items, and from any caller when it changed an identifying item withheld
  // from them (the reason may quote the value: "date of birth is 1948-03-02").
  std::string reason;
  // The values as disclosed to the caller (capture/privacy.h).
  std::optional<Value> old_value, new_value;
};

// The subject's trail from its start, event by event, as the caller may see
// it and the query's filters match (its page aside).
class AuditTrailWalk {
 public:
  AuditTrailWalk(EventStore& store, const std::string& study, const std::string& subject, AuditVisibility visibility,
                 AuditQuery query);
  // The next matching event's entries (their pointers valid until the next
  // call); false at the end of the trail.
  Result<bool> Next(std::vector<ShownAuditEntry>* shown);
  // The cursor that starts a page after the event Next last gave.
  uint64_t Cursor() const { return visibility_.blinded ? matching_events_ : last_seq_; }

 private:
  AuditReader reader_;
  const AuditVisibility visibility_;
  const AuditQuery query_;
  std::vector<AuditEntry> entries_;
  uint64_t matching_events_ = 0, last_seq_ = 0;
};

// Calls fn for the entries of the query's page: whole events after its
// cursor, until they reach its limit. Returns the cursor of the next page,
// or nullopt when nothing matching follows.
Result<std::optional<uint64_t>> ReadAuditPage(AuditTrailWalk& walk, const AuditQuery& query,
                                              const std::function<Status(const ShownAuditEntry&)>& fn);

// The CSV header and one line of the export (RFC 4180, fields made safe
// for spreadsheets); the sequence number only for a caller who sees every event.
std::string AuditCsvHeader(bool with_seq);
std::string AuditCsvLine(const ShownAuditEntry& e, bool with_seq);

}  // namespace trialcore::api
