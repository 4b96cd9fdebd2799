#include "safety/reporting_clock.h"

#include <chrono>
#include <cstdio>
#include <utility>

namespace trialcore::safety {
namespace {

namespace ch = std::chrono;

constexpr int64_t kMicrosPerMinute = int64_t{60} * 1000 * 1000;

ch::sys_days ToSysDays(CivilDate d) {
  return ch::sys_days(ch::year_month_day(ch::year(d.year), ch::month(static_cast<unsigned>(d.month)),
                                         ch::day(static_cast<unsigned>(d.day))));
}

CivilDate FromSysDays(ch::sys_days days) {
  const ch::year_month_day ymd(days);
  return {static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month())),
          static_cast<int>(static_cast<unsigned>(ymd.day()))};
}

ReportDue Due(Destination destination, ReportKind kind, int days, std::string rule, CivilDate day0) {
  ReportDue r;
  r.destination = destination;
  r.kind = kind;
  r.days = days;
  r.rule = std::move(rule);
  r.day0 = day0;
  r.due = AddDays(day0, days);
  return r;
}

// Annex III section 2.4: a fatal or life-threatening SUSAR reported
// incompletely within its 7 days is completed "within an additional eight
// days". Art. 42(2)(a) and (c) both lead here, so both get it.
void AddEuCompletion(ReportDue* r) {
  r->follow_up_due = AddDays(r->due, 8);
  r->rule += "; completion: EU CTR Annex III section 2.4";
}

// A case becoming reportable (new, or newly a SUSAR) at day 0.
ReportDue Initial(Destination destination, bool fatal_or_lt, const char* fda_15_day_rule, CivilDate day0) {
  switch (destination) {
    case Destination::kFda:
      // (c)(2) runs from "the sponsor's initial receipt of the information";
      // its report is the IND safety report itself, not a notice ahead of one.
      if (fatal_or_lt) return Due(destination, ReportKind::kInitial, 7, "21 CFR 312.32(c)(2)", day0);
      return Due(destination, ReportKind::kInitial, 15, fda_15_day_rule, day0);
    case Destination::kEu:
      if (fatal_or_lt) {
        ReportDue r = Due(destination, ReportKind::kInitial, 7, "EU CTR Art. 42(2)(a)", day0);
        AddEuCompletion(&r);
        return r;
      }
      return Due(destination, ReportKind::kInitial, 15, "EU CTR Art. 42(2)(b)", day0);
  }
  return {};
}

bool FatalOrLt(const CaseFacts& f) { return f.fatal_or_life_threatening; }

}  // namespace

std::string_view DestinationName(Destination destination) {
  switch (destination) {
    case Destination::kFda:
      return "FDA";
    case Destination::kEu:
      return "EU";
  }
  return "?";
}

std::string_view ReportKindName(ReportKind kind) {
  switch (kind) {
    case ReportKind::kInitial:
      return "initial";
    case ReportKind::kUpgrade:
      return "upgrade";
    case ReportKind::kFollowUp:
      return "follow-up";
  }
  return "?";
}

std::optional<CivilDate> ParseDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto number = [&](size_t at, size_t n) -> int {
    int v = 0;
    for (size_t k = at; k < at + n; ++k) {
      if (text[k] < '0' || text[k] > '9') return -1;
      v = v * 10 + (text[k] - '0');
    }
    return v;
  };
  const CivilDate d{number(0, 4), number(5, 2), number(8, 2)};
  if (d.year < 0 || d.month < 1 || d.month > 12 || d.day < 1) return std::nullopt;
  // A day that does not exist (2023-02-29) comes back as another one.
  if (AddDays(d, 0) != d) return std::nullopt;
  return d;
}

std::string FormatDate(CivilDate date) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", date.year, date.month, date.day);
  return buf;
}

CivilDate AddDays(CivilDate date, int days) { return FromSysDays(ToSysDays(date) + ch::days(days)); }

int DaysBetween(CivilDate from, CivilDate to) { return static_cast<int>((ToSysDays(to) - ToSysDays(from)).count()); }

CivilDate LocalDate(int64_t time_us, int utc_offset_minutes) {
  // floor, not truncation: moments before 1970 belong to the earlier day.
  const ch::sys_time<ch::microseconds> local(ch::microseconds(time_us + utc_offset_minutes * kMicrosPerMinute));
  return FromSysDays(ch::floor<ch::days>(local));
}

std::vector<ReportDue> ExpeditedReportsDue(const CaseFacts& facts, std::span<const Destination> destinations,
                                           int utc_offset_minutes) {
  std::vector<ReportDue> out;
  if (!facts.Susar()) return out;
  const CivilDate day0 = LocalDate(facts.aware_us, utc_offset_minutes);
  for (Destination d : destinations) out.push_back(Initial(d, FatalOrLt(facts), "21 CFR 312.32(c)(1)(i)", day0));
  return out;
}

std::vector<ReportDue> FollowUpReportsDue(const CaseFacts& before, const CaseFacts& after,
                                          std::span<const Destination> destinations, int utc_offset_minutes) {
  std::vector<ReportDue> out;
  if (!after.Susar()) return out;
  const CivilDate day0 = LocalDate(after.aware_us, utc_offset_minutes);
  if (!before.Susar()) {
    // Newly reportable: 312.32(d)(3) is the 15 days "after the determination
    // is made" for a case the sponsor's follow-up showed to be reportable.
    for (Destination d : destinations) out.push_back(Initial(d, FatalOrLt(after), "21 CFR 312.32(d)(3)", day0));
    return out;
  }
  const bool upgrade = FatalOrLt(after) && !FatalOrLt(before);
  for (Destination d : destinations) {
    if (upgrade) {
      if (d == Destination::kFda) {
        out.push_back(Due(d, ReportKind::kUpgrade, 7, "21 CFR 312.32(c)(2)", day0));
      } else {
        ReportDue r = Due(d, ReportKind::kUpgrade, 7, "EU CTR Art. 42(2)(c)", day0);
        AddEuCompletion(&r);
        out.push_back(std::move(r));
      }
      continue;
    }
    if (d == Destination::kFda) {
      // 312.32(d)(2) says "as soon as the information is available"; FDA's
      // guidance on IND safety reporting puts the outer limit at 15 calendar
      // days after receipt, which is what a clock can count.
      out.push_back(Due(d, ReportKind::kFollowUp, 15, "21 CFR 312.32(d)(2)", day0));
    } else {
      // Art. 42 sets no separate period for relevant follow-up information on
      // a reported SUSAR (Annex III 2.4's 8 days complete an incomplete
      // initial report, see follow_up_due). We hold it to the 15 days of
      // Art. 42(2)(b) from receipt rather than leave it without a clock, and
      // say so in the rule so that nobody mistakes it for the regulation's
      // own number.
      out.push_back(Due(d, ReportKind::kFollowUp, 15, "EU CTR Art. 42(2)(b), applied to follow-up", day0));
    }
  }
  return out;
}

int DaysLeft(CivilDate due, int64_t now_us, int utc_offset_minutes) {
  return DaysBetween(LocalDate(now_us, utc_offset_minutes), due);
}

bool Late(CivilDate due, int64_t submitted_us, int utc_offset_minutes) {
  return LocalDate(submitted_us, utc_offset_minutes) > due;
}

}  // namespace trialcore::safety
