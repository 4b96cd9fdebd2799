#include "api/audit_trail.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "core/csv_field.h"
#include "core/event.h"
#include "core/json.h"

namespace trialcore::api {
namespace {

constexpr int64_t kMicrosPerDay = 86'400'000'000;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) return out;
    start = slash + 1;
  }
}

// Whether an entry's path is of the visit, form and item asked for:
// subject/ID/VISIT/FORM/ITEM[/verified|/not_done], or with GROUP/ROW before
// the item. A visit matches its occurrences too (PHONE: PHONE#2).
bool PlaceMatches(const AuditQuery& q, const std::string& path) {
  if (!q.visit && !q.form && !q.item) return true;
  const std::vector<std::string> seg = Segments(path);
  if (seg.size() < 4 || seg[0] != "subject" || seg[2] == "queries" || seg[2] == "signatures") return false;
  if (q.visit && seg[2] != *q.visit && seg[2].substr(0, seg[2].find('#')) != *q.visit) return false;
  if (q.form && seg[3] != *q.form) return false;
  if (q.item) {
    size_t last = seg.size() - 1;
    if (seg[last] == "verified" || seg[last] == "not_done") --last;
    if (last < 4 || seg[last] != *q.item) return false;
  }
  return true;
}

Result<std::string> NonEmpty(const std::multimap<std::string, std::string>& params, const std::string& name) {
  auto it = params.find(name);
  if (it->second.empty()) return InvalidArgument("query parameter " + name + " is empty");
  if (it->second.size() > 200) return InvalidArgument("query parameter " + name + " is longer than 200 characters");
  return it->second;
}

Result<uint64_t> Count(const std::string& name, const std::string& text, uint64_t max) {
  if (text.empty() || text.size() > 18 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidArgument("query parameter " + name + " must be a whole number, not \"" + text + "\"");
  }
  const uint64_t n = std::stoull(text);
  if (n > max) return InvalidArgument("query parameter " + name + " must be at most " + std::to_string(max));
  return n;
}

// The identifying item ("FORM/ITEM") whose value an entry's path records
// (subject/ID/VISIT/FORM/ITEM, or with GROUP/ROW before the item), if the
// caller is not to see it in full.
const study::Disclosure* WithheldAt(const AuditVisibility& v, const std::string& path) {
  if (v.withheld.empty()) return nullptr;
  const std::vector<std::string> seg = Segments(path);
  if (seg.size() != 5 && seg.size() != 7) return nullptr;
  if (seg[0] != "subject" || seg[2] == "queries" || seg[2] == "signatures") return nullptr;
  auto it = v.withheld.find(seg[3] + "/" + seg.back());
  return it == v.withheld.end() ? nullptr : &it->second;
}

// Whole event's entries shown or not, by what the caller may see.
bool Hides(const AuditVisibility& v, const std::string& path) {
  return HidesPath(v.hidden, path) || HidesQueryPath(v.hidden_queries, v.blinded, path);
}

}  // namespace

Result<AuditQuery> ParseAuditQuery(const std::multimap<std::string, std::string>& params) {
  static const std::set<std::string> kKnown = {"path", "user", "event",  "visit", "form",  "item",
                                               "from", "to",   "reason", "limit", "after", "format"};
  AuditQuery q;
  for (const auto& [name, value] : params) {
    if (!kKnown.contains(name)) {
      return InvalidArgument("unknown query parameter " + name +
                             " (the audit trail takes path, user, event, visit, form, item, from, to, reason, limit, "
                             "after and format)");
    }
    if (params.count(name) > 1) return InvalidArgument("query parameter " + name + " is given more than once");
  }
  auto text = [&](const char* name, std::optional<std::string>* out) -> Status {
    if (!params.contains(name)) return Status::Ok();
    TC_ASSIGN_OR_RETURN(*out, NonEmpty(params, name));
    return Status::Ok();
  };
  TC_RETURN_IF_ERROR(text("path", &q.path));
  TC_RETURN_IF_ERROR(text("user", &q.user));
  TC_RETURN_IF_ERROR(text("event", &q.event));
  TC_RETURN_IF_ERROR(text("visit", &q.visit));
  TC_RETURN_IF_ERROR(text("form", &q.form));
  TC_RETURN_IF_ERROR(text("item", &q.item));
  TC_RETURN_IF_ERROR(text("reason", &q.reason));
  if (q.reason) q.reason = Lower(*q.reason);
  for (const char* name : {"from", "to"}) {
    if (!params.contains(name)) continue;
    const std::string value = params.find(name)->second;
    auto t = ParseTimeMicros(value);
    if (!t.ok()) {
      return InvalidArgument(std::string("query parameter ") + name + " must be a UTC date (2026-03-05) or time " +
                             "(2026-03-05T09:30:00Z), not \"" + value + "\"");
    }
    // A day as the end of a span means the whole of that day.
    if (std::string(name) == "to" && value.size() == 10) *t += kMicrosPerDay - 1;
    (std::string(name) == "from" ? q.from_us : q.to_us) = *t;
  }
  if (q.from_us && q.to_us && *q.from_us > *q.to_us) {
    return InvalidArgument("query parameter from lies after to");
  }
  if (params.contains("limit")) {
    TC_ASSIGN_OR_RETURN(uint64_t limit, Count("limit", params.find("limit")->second, kAuditPageMax));
    if (limit == 0) return InvalidArgument("query parameter limit must be at least 1");
    q.limit = limit;
  }
  if (params.contains("after")) {
    TC_ASSIGN_OR_RETURN(q.after, Count("after", params.find("after")->second, UINT64_MAX));
  }
  if (params.contains("format")) {
    const std::string format = params.find("format")->second;
    if (format != "csv" && format != "json") {
      return InvalidArgument("query parameter format must be json or csv, not \"" + format + "\"");
    }
    q.csv = format == "csv";
  }
  return q;
}

AuditTrailWalk::AuditTrailWalk(EventStore& store, const std::string& study, const std::string& subject,
                               AuditVisibility visibility, AuditQuery query)
    : reader_(store, study, "subject/" + subject), visibility_(std::move(visibility)), query_(std::move(query)) {}

Result<bool> AuditTrailWalk::Next(std::vector<ShownAuditEntry>* shown) {
  const AuditQuery& q = query_;
  for (;;) {
    shown->clear();
    TC_ASSIGN_OR_RETURN(bool more, reader_.Next(&entries_));
    if (!more) return false;
    const AuditEntry& first = entries_.front();
    // Only what the caller may see of the event, before any filter: a
    // reason given for a change that also covered hidden items may name
    // them (a pharmacist's "dose corrected to 81 mg"), so it is withheld.
    bool mixed = false, identifying = false;
    for (const AuditEntry& a : entries_) {
      if (Hides(visibility_, a.path)) {
        mixed = true;
        continue;
      }
      ShownAuditEntry e{&a, a.reason, a.old_value, a.new_value};
      if (const study::Disclosure* d = WithheldAt(visibility_, a.path)) {
        identifying = true;
        if (e.old_value) e.old_value = capture::Disclosed(*e.old_value, *d);
        if (e.new_value) e.new_value = capture::Disclosed(*e.new_value, *d);
      }
      shown->push_back(std::move(e));
    }
    if (shown->empty()) continue;
    if (q.user && first.actor.user != *q.user) continue;
    if (q.event && first.type != *q.event) continue;
    if (q.from_us && first.time_us < *q.from_us) continue;
    if (q.to_us && first.time_us > *q.to_us) continue;
    std::erase_if(*shown, [&](ShownAuditEntry& e) {
      if (mixed && !e.reason.empty()) e.reason = "(withheld: the change also covered items your role does not see)";
      if (identifying && !e.reason.empty() && !mixed) {
        e.reason = "(withheld: the change covered identifying data your role does not see in full)";
      }
      if (q.path && !IsUnderPath(e.entry->path, *q.path)) return true;
      if (!PlaceMatches(q, e.entry->path)) return true;
      return q.reason && Lower(e.reason).find(*q.reason) == std::string::npos;
    });
    if (shown->empty()) continue;
    ++matching_events_;
    last_seq_ = first.seq;
    return true;
  }
}

Result<std::optional<uint64_t>> ReadAuditPage(AuditTrailWalk& walk, const AuditQuery& query,
                                              const std::function<Status(const ShownAuditEntry&)>& fn) {
  std::vector<ShownAuditEntry> shown;
  size_t emitted = 0;
  uint64_t before = walk.Cursor();
  for (;;) {
    TC_ASSIGN_OR_RETURN(bool more, walk.Next(&shown));
    if (!more) return std::optional<uint64_t>();
    // The cursor counts (or numbers) events up to and including this one.
    const uint64_t here = walk.Cursor();
    if (here <= query.after) {
      before = here;
      continue;
    }
    if (emitted >= query.limit) return std::optional<uint64_t>(before);
    for (const ShownAuditEntry& e : shown) TC_RETURN_IF_ERROR(fn(e));
    emitted += shown.size();
    before = here;
  }
}

std::string AuditCsvHeader(bool with_seq) {
  return std::string(with_seq ? "seq," : "") + "time_utc,user,role,event,path,old_value,new_value,reason\r\n";
}

std::string AuditCsvLine(const ShownAuditEntry& e, bool with_seq) {
  const AuditEntry& a = *e.entry;
  auto value = [](const std::optional<Value>& v) -> std::string {
    if (!v || v->is_null()) return "";
    if (v->is_string()) return v->as_string();
    return ToJson(*v);
  };
  std::string line;
  if (with_seq) line += std::to_string(a.seq) + ",";
  for (const std::string& field : {FormatTimeMicros(a.time_us), a.actor.user, a.actor.role, a.type, a.path,
                                   value(e.old_value), value(e.new_value), e.reason}) {
    line += CsvSafeField(field);
    line += ',';
  }
  line.back() = '\r';
  line += '\n';
  return line;
}

}  // namespace trialcore::api
