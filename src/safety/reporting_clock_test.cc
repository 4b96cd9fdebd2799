#include "safety/reporting_clock.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "core/event.h"

namespace trialcore::safety {
namespace {

constexpr std::array<Destination, 1> kFda = {Destination::kFda};
constexpr std::array<Destination, 1> kEu = {Destination::kEu};
constexpr std::array<Destination, 2> kBoth = {Destination::kFda, Destination::kEu};
constexpr int kUtc = 0;

int64_t T(const std::string& text) {
  auto t = ParseTimeMicros(text);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status().ToString();
  return t.ok() ? *t : 0;
}

CaseFacts Susar(const std::string& aware, bool fatal) {
  CaseFacts f;
  f.aware_us = T(aware);
  f.serious = true;
  f.unexpected = true;
  f.suspected = true;
  f.fatal_or_life_threatening = fatal;
  return f;
}

// The due date of a non-fatal SUSAR (15 days) or a fatal one (7 days) whose
// awareness was at noon UTC on `day0`, for one destination.
std::string DueFor(const std::string& day0, bool fatal, Destination d = Destination::kFda) {
  const std::array<Destination, 1> dest = {d};
  auto r = ExpeditedReportsDue(Susar(day0 + "T12:00:00Z", fatal), dest, kUtc);
  if (r.size() != 1) return "size " + std::to_string(r.size());
  return FormatDate(r[0].due);
}

TEST(ReportingClockDateTest, FormatsAndCounts) {
  EXPECT_EQ(FormatDate({2024, 2, 29}), "2024-02-29");
  EXPECT_EQ(FormatDate({987, 1, 5}), "0987-01-05");
  EXPECT_EQ(AddDays({2024, 1, 28}, 7), (CivilDate{2024, 2, 4}));
  EXPECT_EQ(AddDays({2024, 3, 1}, -1), (CivilDate{2024, 2, 29}));
  EXPECT_EQ(AddDays({2023, 3, 1}, -1), (CivilDate{2023, 2, 28}));
  EXPECT_EQ(DaysBetween({2023, 12, 28}, {2024, 1, 12}), 15);
  EXPECT_EQ(DaysBetween({2024, 1, 12}, {2023, 12, 28}), -15);
  EXPECT_LT((CivilDate{2024, 2, 29}), (CivilDate{2024, 3, 1}));
  EXPECT_LT((CivilDate{2023, 12, 31}), (CivilDate{2024, 1, 1}));
}

TEST(ReportingClockDueTest, CrossesMonthEnds) {
  EXPECT_EQ(DueFor("2024-01-28", true), "2024-02-04");
  EXPECT_EQ(DueFor("2023-01-28", false), "2023-02-12");
  EXPECT_EQ(DueFor("2024-04-30", true), "2024-05-07");  // a 30-day month
  EXPECT_EQ(DueFor("2024-01-31", false), "2024-02-15");
}

TEST(ReportingClockDueTest, CrossesYearEnds) {
  EXPECT_EQ(DueFor("2023-12-28", false), "2024-01-12");
  EXPECT_EQ(DueFor("2024-12-28", true, Destination::kEu), "2025-01-04");
  EXPECT_EQ(DueFor("2024-12-31", false, Destination::kEu), "2025-01-15");
}

TEST(ReportingClockDueTest, CountsLeapDays) {
  EXPECT_EQ(DueFor("2024-02-27", true), "2024-03-05");  // 2024-02-29 is one of the 7
  EXPECT_EQ(DueFor("2023-02-27", true), "2023-03-06");
  EXPECT_EQ(DueFor("2024-02-29", true), "2024-03-07");  // a leap day as day 0
  EXPECT_EQ(DueFor("2024-02-29", false), "2024-03-15");
  EXPECT_EQ(DueFor("2024-02-14", false), "2024-02-29");  // due on the leap day
  EXPECT_EQ(DueFor("2100-02-27", true), "2100-03-06");   // 2100 is no leap year
  EXPECT_EQ(DueFor("2000-02-27", true), "2000-03-05");   // 2000 is
}

TEST(ReportingClockDay0Test, IsTheLocalDayOfAwareness) {
  // 23:30 UTC on 31 January is already 1 February at +02:00.
  EXPECT_EQ(LocalDate(T("2024-01-31T23:30:00Z"), 120), (CivilDate{2024, 2, 1}));
  EXPECT_EQ(LocalDate(T("2024-01-31T23:30:00Z"), kUtc), (CivilDate{2024, 1, 31}));
  // 03:00 UTC is still the evening before at -05:00 ...
  EXPECT_EQ(LocalDate(T("2024-03-01T03:00:00Z"), -300), (CivilDate{2024, 2, 29}));
  // ... and 05:00 UTC is that day's first moment there.
  EXPECT_EQ(LocalDate(T("2024-03-01T05:00:00Z"), -300), (CivilDate{2024, 3, 1}));
  EXPECT_EQ(LocalDate(T("2024-03-01T04:59:59.999999Z"), -300), (CivilDate{2024, 2, 29}));
  // Half-hour offsets, and before 1970 (floor, not truncation).
  EXPECT_EQ(LocalDate(T("2024-06-30T18:29:59Z"), 330), (CivilDate{2024, 6, 30}));
  EXPECT_EQ(LocalDate(T("2024-06-30T18:30:00Z"), 330), (CivilDate{2024, 7, 1}));
  EXPECT_EQ(LocalDate(-1, kUtc), (CivilDate{1969, 12, 31}));
}

TEST(ReportingClockDay0Test, DueDatesFollowTheLocalDay0) {
  CaseFacts f = Susar("2024-01-31T23:30:00Z", true);
  auto east = ExpeditedReportsDue(f, kFda, 120);
  ASSERT_EQ(east.size(), 1u);
  EXPECT_EQ(east[0].day0, (CivilDate{2024, 2, 1}));
  EXPECT_EQ(east[0].due, (CivilDate{2024, 2, 8}));
  auto utc = ExpeditedReportsDue(f, kFda, kUtc);
  ASSERT_EQ(utc.size(), 1u);
  EXPECT_EQ(utc[0].day0, (CivilDate{2024, 1, 31}));
  EXPECT_EQ(utc[0].due, (CivilDate{2024, 2, 7}));

  f = Susar("2024-03-01T03:00:00Z", false);
  auto west = ExpeditedReportsDue(f, kEu, -300);
  ASSERT_EQ(west.size(), 1u);
  EXPECT_EQ(west[0].day0, (CivilDate{2024, 2, 29}));
  EXPECT_EQ(west[0].due, (CivilDate{2024, 3, 15}));
}

TEST(ReportingClockReportsTest, NonSusarsNeedNoExpeditedReport) {
  CaseFacts f = Susar("2024-05-02T09:00:00Z", false);
  EXPECT_EQ(ExpeditedReportsDue(f, kBoth, kUtc).size(), 2u);
  CaseFacts not_serious = f;
  not_serious.serious = false;
  EXPECT_TRUE(ExpeditedReportsDue(not_serious, kBoth, kUtc).empty());
  CaseFacts expected = f;
  expected.unexpected = false;
  EXPECT_TRUE(ExpeditedReportsDue(expected, kBoth, kUtc).empty());
  CaseFacts unrelated = f;
  unrelated.suspected = false;
  EXPECT_TRUE(ExpeditedReportsDue(unrelated, kBoth, kUtc).empty());
  // Expected deaths are not expedited either: the RSI already lists them.
  CaseFacts expected_death = Susar("2024-05-02T09:00:00Z", true);
  expected_death.unexpected = false;
  EXPECT_TRUE(ExpeditedReportsDue(expected_death, kBoth, kUtc).empty());
  // Fatal is serious even when the flag was left unset.
  CaseFacts fatal = Susar("2024-05-02T09:00:00Z", true);
  fatal.serious = false;
  EXPECT_EQ(ExpeditedReportsDue(fatal, kBoth, kUtc).size(), 2u);
  // No destination, no report.
  EXPECT_TRUE(ExpeditedReportsDue(f, {}, kUtc).empty());
}

TEST(ReportingClockReportsTest, NonFatalSusarIs15DaysForEach) {
  auto r = ExpeditedReportsDue(Susar("2024-05-02T09:00:00Z", false), kBoth, kUtc);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].destination, Destination::kFda);
  EXPECT_EQ(r[0].kind, ReportKind::kInitial);
  EXPECT_EQ(r[0].days, 15);
  EXPECT_EQ(r[0].rule, "21 CFR 312.32(c)(1)(i)");
  EXPECT_EQ(r[0].day0, (CivilDate{2024, 5, 2}));
  EXPECT_EQ(r[0].due, (CivilDate{2024, 5, 17}));
  EXPECT_FALSE(r[0].follow_up_due.has_value());
  EXPECT_EQ(r[1].destination, Destination::kEu);
  EXPECT_EQ(r[1].days, 15);
  EXPECT_EQ(r[1].rule, "EU CTR Art. 42(2)(b)");
  EXPECT_EQ(r[1].due, (CivilDate{2024, 5, 17}));
  EXPECT_FALSE(r[1].follow_up_due.has_value());
}

TEST(ReportingClockReportsTest, FatalSusarIs7DaysAndTheEuWantsItCompletedIn8More) {
  auto r = ExpeditedReportsDue(Susar("2024-05-02T09:00:00Z", true), kBoth, kUtc);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].destination, Destination::kFda);
  EXPECT_EQ(r[0].days, 7);
  EXPECT_EQ(r[0].rule, "21 CFR 312.32(c)(2)");
  EXPECT_EQ(r[0].due, (CivilDate{2024, 5, 9}));
  EXPECT_FALSE(r[0].follow_up_due.has_value());
  EXPECT_EQ(r[1].destination, Destination::kEu);
  EXPECT_EQ(r[1].days, 7);
  EXPECT_EQ(r[1].rule, "EU CTR Art. 42(2)(a); completion: EU CTR Annex III section 2.4");
  EXPECT_EQ(r[1].due, (CivilDate{2024, 5, 9}));
  ASSERT_TRUE(r[1].follow_up_due.has_value());
  EXPECT_EQ(*r[1].follow_up_due, (CivilDate{2024, 5, 17}));  // 7 + 8 days from day 0
}

TEST(ReportingClockReportsTest, OneReportPerDestinationAskedInOrder) {
  const std::array<Destination, 2> eu_first = {Destination::kEu, Destination::kFda};
  auto r = ExpeditedReportsDue(Susar("2024-05-02T09:00:00Z", false), eu_first, kUtc);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].destination, Destination::kEu);
  EXPECT_EQ(r[1].destination, Destination::kFda);
  auto fda = ExpeditedReportsDue(Susar("2024-05-02T09:00:00Z", false), kFda, kUtc);
  ASSERT_EQ(fda.size(), 1u);
  EXPECT_EQ(fda[0].destination, Destination::kFda);
  EXPECT_EQ(DestinationName(Destination::kFda), "FDA");
  EXPECT_EQ(DestinationName(Destination::kEu), "EU");
  EXPECT_EQ(ReportKindName(ReportKind::kFollowUp), "follow-up");
}

TEST(ReportingClockDaysLeftTest, CountsDownToZeroOnTheDueDayThenNegative) {
  CaseFacts f = Susar("2024-02-27T10:00:00Z", true);
  auto r = ExpeditedReportsDue(f, kFda, kUtc);
  ASSERT_EQ(r.size(), 1u);
  const CivilDate due = r[0].due;                                // 2024-03-05
  EXPECT_EQ(DaysLeft(due, T("2024-02-27T10:00:00Z"), kUtc), 7);  // day 0
  EXPECT_EQ(DaysLeft(due, T("2024-02-29T00:00:00Z"), kUtc), 5);  // the leap day counts
  EXPECT_EQ(DaysLeft(due, T("2024-03-04T23:59:59Z"), kUtc), 1);
  EXPECT_EQ(DaysLeft(due, T("2024-03-05T00:00:00Z"), kUtc), 0);  // the due day
  EXPECT_EQ(DaysLeft(due, T("2024-03-05T23:59:59Z"), kUtc), 0);
  EXPECT_EQ(DaysLeft(due, T("2024-03-06T00:00:00Z"), kUtc), -1);  // late
  EXPECT_EQ(DaysLeft(due, T("2024-04-05T12:00:00Z"), kUtc), -31);
  // At -05:00, 02:00 UTC on the 6th is still the due day.
  EXPECT_EQ(DaysLeft(due, T("2024-03-06T02:00:00Z"), -300), 0);
}

TEST(ReportingClockLateTest, OnTimeUntilTheLastMomentOfTheDueDay) {
  const CivilDate due{2024, 3, 5};
  EXPECT_FALSE(Late(due, T("2024-02-27T10:00:00Z"), kUtc));
  EXPECT_FALSE(Late(due, T("2024-03-05T23:59:59Z"), kUtc));
  EXPECT_FALSE(Late(due, T("2024-03-05T23:59:59.999999Z"), kUtc));
  EXPECT_TRUE(Late(due, T("2024-03-06T00:00:00Z"), kUtc));
  EXPECT_TRUE(Late(due, T("2024-03-06T00:00:01Z"), kUtc));
  // At +01:00 the due day ends at 23:00 UTC.
  EXPECT_FALSE(Late(due, T("2024-03-05T22:59:59Z"), 60));
  EXPECT_TRUE(Late(due, T("2024-03-05T23:00:00Z"), 60));
  // At -05:00 it ends at 05:00 UTC the next day.
  EXPECT_FALSE(Late(due, T("2024-03-06T04:59:59Z"), -300));
  EXPECT_TRUE(Late(due, T("2024-03-06T05:00:00Z"), -300));
}

TEST(ReportingClockFollowUpTest, NewInformationHasItsOwn15DayClock) {
  CaseFacts before = Susar("2024-01-10T09:00:00Z", false);
  CaseFacts after = before;
  after.aware_us = T("2024-02-20T16:00:00Z");
  auto r = FollowUpReportsDue(before, after, kBoth, kUtc);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].destination, Destination::kFda);
  EXPECT_EQ(r[0].kind, ReportKind::kFollowUp);
  EXPECT_EQ(r[0].days, 15);
  EXPECT_EQ(r[0].rule, "21 CFR 312.32(d)(2)");
  EXPECT_EQ(r[0].day0, (CivilDate{2024, 2, 20}));
  EXPECT_EQ(r[0].due, (CivilDate{2024, 3, 6}));  // through the leap day
  EXPECT_EQ(r[1].destination, Destination::kEu);
  EXPECT_EQ(r[1].kind, ReportKind::kFollowUp);
  EXPECT_EQ(r[1].days, 15);
  EXPECT_EQ(r[1].due, (CivilDate{2024, 3, 6}));
  EXPECT_FALSE(r[1].follow_up_due.has_value());
}

TEST(ReportingClockFollowUpTest, BecomingFatalIs7DaysFromThatAwareness) {
  CaseFacts before = Susar("2024-01-10T09:00:00Z", false);
  CaseFacts after = before;
  after.fatal_or_life_threatening = true;
  after.aware_us = T("2024-12-30T22:30:00Z");  // already 31 December at +02:00
  auto r = FollowUpReportsDue(before, after, kBoth, 120);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].kind, ReportKind::kUpgrade);
  EXPECT_EQ(r[0].days, 7);
  EXPECT_EQ(r[0].rule, "21 CFR 312.32(c)(2)");
  EXPECT_EQ(r[0].day0, (CivilDate{2024, 12, 31}));
  EXPECT_EQ(r[0].due, (CivilDate{2025, 1, 7}));
  EXPECT_EQ(r[1].kind, ReportKind::kUpgrade);
  EXPECT_EQ(r[1].days, 7);
  EXPECT_EQ(r[1].rule, "EU CTR Art. 42(2)(c); completion: EU CTR Annex III section 2.4");
  EXPECT_EQ(r[1].due, (CivilDate{2025, 1, 7}));
  ASSERT_TRUE(r[1].follow_up_due.has_value());
  EXPECT_EQ(*r[1].follow_up_due, (CivilDate{2025, 1, 15}));
}

TEST(ReportingClockFollowUpTest, BecomingASusarStartsAnInitialClock) {
  CaseFacts before = Susar("2024-01-10T09:00:00Z", false);
  before.suspected = false;  // first thought unrelated
  CaseFacts after = before;
  after.suspected = true;
  after.aware_us = T("2024-02-01T09:00:00Z");
  auto r = FollowUpReportsDue(before, after, kBoth, kUtc);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].kind, ReportKind::kInitial);
  EXPECT_EQ(r[0].rule, "21 CFR 312.32(d)(3)");
  EXPECT_EQ(r[0].day0, (CivilDate{2024, 2, 1}));
  EXPECT_EQ(r[0].due, (CivilDate{2024, 2, 16}));
  EXPECT_EQ(r[1].kind, ReportKind::kInitial);
  EXPECT_EQ(r[1].rule, "EU CTR Art. 42(2)(b)");
  EXPECT_EQ(r[1].due, (CivilDate{2024, 2, 16}));

  after.fatal_or_life_threatening = true;
  r = FollowUpReportsDue(before, after, kFda, kUtc);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].days, 7);
  EXPECT_EQ(r[0].rule, "21 CFR 312.32(c)(2)");
  EXPECT_EQ(r[0].due, (CivilDate{2024, 2, 8}));
}

TEST(ReportingClockFollowUpTest, NoClockOnceItIsNoLongerASusar) {
  CaseFacts before = Susar("2024-01-10T09:00:00Z", true);
  CaseFacts after = before;
  after.unexpected = false;  // the RSI was updated
  after.aware_us = T("2024-02-01T09:00:00Z");
  EXPECT_TRUE(FollowUpReportsDue(before, after, kBoth, kUtc).empty());
  // Still fatal, more information: a follow-up, not another 7-day report.
  after = before;
  after.aware_us = T("2024-02-01T09:00:00Z");
  auto r = FollowUpReportsDue(before, after, kFda, kUtc);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].kind, ReportKind::kFollowUp);
  EXPECT_EQ(r[0].days, 15);
}

TEST(ReportingClockOffsetTest, ParsesGoodOffsets) {
  struct Case {
    const char* text;
    int minutes;
  };
  for (const Case& c : {Case{"Z", 0}, Case{"+00:00", 0}, Case{"-00:00", 0}, Case{"+01:00", 60}, Case{"-05:30", -330},
                        Case{"+05:45", 345}, Case{"+14:00", 840}, Case{"-12:00", -720}}) {
    auto m = ParseUtcOffset(c.text);
    ASSERT_TRUE(m.ok()) << c.text << ": " << m.status().ToString();
    EXPECT_EQ(*m, c.minutes) << c.text;
  }
}

TEST(ReportingClockOffsetTest, RejectsBadOffsetsNamingThem) {
  for (const char* text : {"", "z", "UTC", "01:00", "+1:00", "+0100", "+01:0", "+01:000", "+01-00", "+a1:00", "+01:60",
                           "+14:01", "-12:30", "+99:00", " +01:00"}) {
    auto m = ParseUtcOffset(text);
    ASSERT_FALSE(m.ok()) << '"' << text << "\" parsed as " << *m;
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(m.status().message().find('"' + std::string(text) + '"'), std::string::npos) << m.status().message();
  }
}

}  // namespace
}  // namespace trialcore::safety
