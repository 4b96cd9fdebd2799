// Regulatory reporting clocks for safety cases: which expedited reports a case
// needs, to whom, and by which calendar day; how many days are left and
// whether a submission was late (issue 16, point 3).
//
// Pure: nothing here reads a clock or storage. Callers pass times in (the
// injected Env's clock in production, fixed instants in tests) and the
// sponsor's fixed UTC offset from the study file. A fixed offset rather than
// a time zone because GCC 12's <chrono> has the calendar but not the tz
// database; a sponsor whose offset changes with daylight saving states the
// one it counts days in.
//
// Counting, for both destinations: day 0 is the calendar day on which anyone
// at the sponsor or a CRO working for it first had the information; a report
// due in N days is due on day N, weekends and holidays included, and is on
// time if submitted on or before that day (at the sponsor's offset).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace trialcore::safety {

enum class Destination {
  kFda,  // FDA, IND safety reports (21 CFR 312.32)
  kEu,   // EudraVigilance via the EMA (Regulation (EU) No 536/2014, Art. 42)
};
std::string_view DestinationName(Destination destination);  // "FDA", "EU"

struct CivilDate {
  int year = 0, month = 0, day = 0;
  auto operator<=>(const CivilDate&) const = default;
};
std::string FormatDate(CivilDate date);  // "2024-02-29"
// The reverse of FormatDate; nullopt for anything else (no such day either).
std::optional<CivilDate> ParseDate(std::string_view text);
// N calendar days later (or earlier when negative), across months and years.
CivilDate AddDays(CivilDate date, int days);
// Calendar days from `from` to `to`: negative when `to` is earlier.
int DaysBetween(CivilDate from, CivilDate to);

// The calendar day of a moment at the sponsor's fixed UTC offset in minutes
// (+60 for +01:00). Whole days are counted there, not in UTC, so that an
// awareness late in the sponsor's evening is not moved to the next day.
CivilDate LocalDate(int64_t time_us, int utc_offset_minutes);

// What decides whether and how fast a case is reported. The assessments are
// the sponsor's or the investigator's (whichever is the more severe: the
// sponsor may not downgrade the investigator's causality, EU CTR Annex III
// 2.1(4)); this file does not make them, it only counts days from them.
struct CaseFacts {
  int64_t aware_us = 0;     // first awareness by anyone at the sponsor or CRO: day 0
  bool serious = false;     // death, life-threatening, hospitalisation, disability, anomaly ...
  bool unexpected = false;  // not in the reference safety information
  bool suspected = false;   // a reasonable possibility that the product caused it
  bool fatal_or_life_threatening = false;

  // A SUSAR: the only kind of case either destination wants expedited.
  // Fatal or life-threatening implies serious, whatever `serious` says.
  bool Susar() const { return (serious || fatal_or_life_threatening) && unexpected && suspected; }
};

enum class ReportKind {
  kInitial,   // the first report of the case to that destination
  kUpgrade,   // a reported case turned out fatal or life-threatening: a shorter clock
  kFollowUp,  // relevant new information on a case already reported
};
std::string_view ReportKindName(ReportKind kind);  // "initial", "upgrade", "follow-up"

struct ReportDue {
  Destination destination = Destination::kFda;
  ReportKind kind = ReportKind::kInitial;
  int days = 0;      // 7 or 15 calendar days after day 0
  std::string rule;  // the citation: "21 CFR 312.32(c)(2)", "EU CTR Art. 42(2)(a)" ...
  CivilDate day0, due;
  // EU fatal or life-threatening SUSARs only: when the initial report had to
  // go out incomplete to meet its 7 days, the completed report is due within
  // an additional 8 days, i.e. 8 days after `due` (Annex III section 2.4).
  // Counted from the due date, not from the day the incomplete report went,
  // because the Annex adds the 8 days to the 7.
  std::optional<CivilDate> follow_up_due;
  bool operator==(const ReportDue&) const = default;
};

// The expedited reports a new case needs, one per destination asked for, in
// the order asked; none when it is not a SUSAR. Day 0 is facts.aware_us.
//   FDA: 21 CFR 312.32(c)(1)(i), 15 calendar days; (c)(2), unexpected fatal or
//        life-threatening suspected adverse reaction, 7 calendar days.
//   EU:  Art. 42(2)(b), 15 days; Art. 42(2)(a), fatal or life-threatening,
//        7 days, completed within 8 more (Annex III section 2.4).
// The IND annual safety report and the EU annual safety report (Art. 43) are
// periodic, not per case, and are not counted here.
std::vector<ReportDue> ExpeditedReportsDue(const CaseFacts& facts, std::span<const Destination> destinations,
                                           int utc_offset_minutes);

// The reports owed when new information on a case arrives: `before` is the
// case as last assessed, `after` the case with the new information, and
// after.aware_us when that information first reached anyone at the sponsor or
// CRO (day 0 of its own clock; before.aware_us is not used).
//   - not a SUSAR before, one now: an initial report as ExpeditedReportsDue
//     counts it, day 0 being the new information (FDA 312.32(d)(3) for the 15
//     days; the 7 days of (c)(2) and Art. 42(2)(a) run from it too).
//   - a SUSAR before that now turns out fatal or life-threatening: 7 days
//     under both (FDA 312.32(c)(2); EU Art. 42(2)(c)), kind kUpgrade.
//   - otherwise a SUSAR still: a follow-up report, 15 days under both (FDA
//     312.32(d)(2) with FDA's guidance; see the .cc for the EU).
//   - not a SUSAR now: none here; withdrawing or downgrading a reported case
//     is a person's decision, not a clock.
std::vector<ReportDue> FollowUpReportsDue(const CaseFacts& before, const CaseFacts& after,
                                          std::span<const Destination> destinations, int utc_offset_minutes);

// Days left until `due` as seen at `now_us`: 0 on the due day itself,
// negative once late (-1 the day after).
int DaysLeft(CivilDate due, int64_t now_us, int utc_offset_minutes);

// Whether a report submitted at `submitted_us` missed `due`: on time up to the
// last microsecond of the due day at the sponsor's offset.
bool Late(CivilDate due, int64_t submitted_us, int utc_offset_minutes);

}  // namespace trialcore::safety
