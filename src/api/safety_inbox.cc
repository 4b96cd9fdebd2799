#include "api/safety_inbox.h"

#include <algorithm>
#include <climits>

#include "core/event.h"
#include "safety/reporting_clock.h"

namespace trialcore::api {
namespace {

std::vector<safety::Destination> DestinationsOf(const study::Study& study) {
  std::vector<safety::Destination> out;
  for (const auto& d : study.safety.destinations) {
    out.push_back(d == "EU" ? safety::Destination::kEu : safety::Destination::kFda);
  }
  return out;
}

Value Strings(const std::vector<std::string>& list) {
  Value::Array a;
  for (const auto& s : list) a.push_back(Value(s));
  return a;
}

}  // namespace

SafetyInbox BuildSafetyInbox(const study::Study& study, std::vector<capture::SafetyCaseLine> lines, int64_t now_us) {
  const int offset = study.safety.utc_offset_minutes;
  const std::vector<safety::Destination> destinations = DestinationsOf(study);
  struct Ranked {
    int days_left;
    int64_t aware_us;
    Value json;
  };
  std::vector<Ranked> ranked;
  SafetyInbox inbox;
  for (const auto& c : lines) {
    safety::CaseFacts facts;
    facts.aware_us = c.aware_us;
    facts.serious = c.serious;
    facts.fatal_or_life_threatening = c.fatal_or_life_threatening;
    // Pending assessment: counted as a SUSAR, the earliest it could be due.
    facts.unexpected = true;
    facts.suspected = true;
    const bool open = c.state == "open";
    Value::Array reports;
    int days_left = INT_MAX;
    if (open) {
      for (const auto& due : safety::ExpeditedReportsDue(facts, destinations, offset)) {
        const int left = safety::DaysLeft(due.due, now_us, offset);
        days_left = std::min(days_left, left);
        Value::Object r;
        r["destination"] = Value(std::string(safety::DestinationName(due.destination)));
        r["kind"] = Value(std::string(safety::ReportKindName(due.kind)));
        r["days"] = Value(static_cast<int64_t>(due.days));
        r["rule"] = Value(due.rule);
        r["due"] = Value(safety::FormatDate(due.due));
        r["days_left"] = Value(static_cast<int64_t>(left));
        if (due.follow_up_due) r["follow_up_due"] = Value(safety::FormatDate(*due.follow_up_due));
        reports.push_back(Value(std::move(r)));
      }
    }
    Value::Object o;
    o["case"] = Value(c.case_id);
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
    o["assessment"] = Value("pending");
    o["aware"] = Value(FormatTimeMicros(c.aware_us));
    o["day0"] = Value(safety::FormatDate(safety::LocalDate(c.aware_us, offset)));
    o["updated"] = Value(FormatTimeMicros(c.updated_us));
    o["followups"] = Value(c.followups);
    o["reports"] = Value(std::move(reports));
    if (days_left != INT_MAX) o["days_left"] = Value(static_cast<int64_t>(days_left));
    if (open) {
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
