#include "api/safety_inbox.h"

#include <algorithm>
#include <climits>

#include "core/event.h"
#include "safety/reporting_clock.h"

namespace trialcore::api {
namespace {

Value Strings(const std::vector<std::string>& list) {
  Value::Array a;
  for (const auto& s : list) a.push_back(Value(s));
  return a;
}

const std::string* Text(const Value& o, std::string_view key) {
  const Value* v = o.Find(key);
  return v != nullptr && v->is_string() ? &v->as_string() : nullptr;
}

}  // namespace

SafetyInbox BuildSafetyInbox(const study::Study& study, std::vector<capture::SafetyCaseLine> lines, int64_t now_us) {
  const int offset = study.safety.utc_offset_minutes;
  struct Ranked {
    int days_left;
    int64_t aware_us;
    Value json;
  };
  std::vector<Ranked> ranked;
  SafetyInbox inbox;
  for (auto& c : lines) {
    // The projection holds the due days; what is left of them depends on now.
    Value::Array reports;
    int days_left = INT_MAX;
    if (c.reports.kind() == Value::Kind::kArray) {
      for (Value report : c.reports.as_array()) {
        const std::string* due = Text(report, "due");
        const bool sent = report.Find("submitted") != nullptr;
        if (const Value* late = report.Find("late"); late != nullptr && late->as_bool()) ++inbox.late;
        if (due != nullptr && !sent) {
          if (auto day = safety::ParseDate(*due)) {
            const int left = safety::DaysLeft(*day, now_us, offset);
            days_left = std::min(days_left, left);
            report.as_object()["days_left"] = Value(static_cast<int64_t>(left));
          }
        }
        reports.push_back(std::move(report));
      }
    }
    Value::Object o;
    o["case"] = Value(c.case_id);
    o["source"] = Value(c.source);
    o["subject"] = Value(c.subject);
    o["site"] = Value(c.site);
    o["visit"] = Value(c.visit);
    o["form"] = Value(c.form);
    o["group"] = Value(c.group);
    o["row"] = Value(c.row);
    o["term"] = Value(c.term);
    o["onset"] = Value(c.onset);
    o["outcome"] = Value(c.outcome);
    o["causality"] = Value(c.causality);
    o["criteria"] = Strings(c.criteria);
    o["serious"] = Value(c.serious);
    o["fatal_or_life_threatening"] = Value(c.fatal_or_life_threatening);
    o["state"] = Value(c.state);
    o["stage"] = Value(c.stage);
    o["version"] = Value(c.version);
    if (!c.pt.empty()) {
      Value::Object coding;
      coding["llt"] = Value(c.llt);
      coding["pt"] = Value(c.pt);
      coding["soc"] = Value(c.soc);
      o["coding"] = Value(std::move(coding));
    }
    o["assessment"] = std::move(c.assessment);
    o["aware"] = Value(FormatTimeMicros(c.aware_us));
    o["day0"] = Value(safety::FormatDate(safety::LocalDate(c.aware_us, offset)));
    o["updated"] = Value(FormatTimeMicros(c.updated_us));
    o["followups"] = Value(c.followups);
    o["reports"] = Value(std::move(reports));
    if (c.unblinded) o["unblinded"] = Value(true);
    if (days_left != INT_MAX) o["days_left"] = Value(static_cast<int64_t>(days_left));
    if (c.state == "open") {
      ++inbox.open;
      if (days_left < 0) {
        ++inbox.overdue;
      } else if (days_left <= 3) {
        ++inbox.due_within_3_days;
      }
    }
    ranked.push_back({days_left, c.aware_us, Value(std::move(o))});
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    return std::tie(a.days_left, a.aware_us) < std::tie(b.days_left, b.aware_us);
  });
  for (auto& r : ranked) inbox.cases.push_back(std::move(r.json));
  return inbox;
}

}  // namespace trialcore::api
