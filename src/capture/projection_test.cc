// The capture projection tables: kept in step with every command in the
// append's transaction, equal to a rebuild from the log, and answering the
// lists and the dashboard as the subjects' states say.
#include "capture/projection.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <sstream>

#include "capture/reads.h"
#include "capture/sim.h"
#include "core/json.h"
#include "core/test_env.h"
#include "rules/rules.h"
#include "store/test_store.h"

namespace trialcore::capture {
namespace {

const Actor kAdmin{"admin", "study_admin"};

Viewer SeesEverything() {
  Viewer v;
  v.all_sites = true;
  v.unblinded_everywhere = true;
  return v;
}

Viewer SeesSites(std::vector<std::string> sites) {
  Viewer v;
  v.sites = sites;
  v.unblinded_sites = std::move(sites);
  return v;
}

std::shared_ptr<const study::Study> DemoStudy() {
  std::vector<study::StudyError> errors;
  return study::LoadStudyFile(std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml", &errors).value();
}

class ProjectionTest : public ::testing::Test {
 protected:
  void Open(int subjects, int threads = 1, size_t cache_subjects = 16) {
    env_.SetNowMicros(ParseTimeMicros("2026-12-01T12:00:00Z").value());
    StoreOpenOptions o;
    o.env = &env_;
    store_ = testing_util::OpenTestStore("/mem/projection.db", o).value();
    // A small cache: most subjects are read back from their streams.
    capture_ =
        Capture::Open(store_.get(), &env_, "CDISCPILOT01", CaptureOptions{.cache_subjects = cache_subjects}).value();
    ASSERT_TRUE(capture_->PublishStudy(DemoStudy(), kAdmin).ok());
    SimOptions sim;
    sim.subjects = subjects;
    sim.threads = threads;
    auto r = Simulate(*capture_, sim);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // Every subject's state, read one by one.
  std::vector<SubjectState> Subjects() {
    std::vector<SubjectState> out;
    const std::vector<std::string> ids = SubjectIds(store_.get(), "CDISCPILOT01").value();
    for (const auto& id : ids) out.push_back(capture_->Subject(id).value());
    return out;
  }

  MemEnv env_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<Capture> capture_;
};

// cap_forms.data is written straight as JSON: byte for byte what ToJson
// makes of the form's values as a tree (what the rows held before, so that
// a rebuild equals tables written by earlier builds).
TEST(FormDataTest, IsTheJsonOfTheFormsValuesByteForByte) {
  EXPECT_EQ(FormData(FormState{}), "") << "never saved";
  FormState f;
  f.touched = true;
  EXPECT_EQ(FormData(f), ToJson(Value::Object{{"items", Value::Object{}}, {"rows", Value::Array{}}}));
  f.items["SYSBP"].value = Value(int64_t{120});
  f.items["NOTE"].value = Value(std::string("says \"hi\"\n\u00e9"));
  f.items["EMPTY"].value = Value();  // cleared: left out
  f.items["TEMP"].not_done = "not measured";
  f.items["CODES"].value = Value(Value::Array{Value("a"), Value(true)});
  f.rows["AE"][2].items["AETERM"].value = Value("Headache");
  f.rows["AE"][2].items["AESER"].not_done = "unknown";
  f.rows["AE"][1].items["AETERM"].value = Value("Nausea");
  f.rows["AE"][3].removed = true;
  f.rows["AE"][3].items["AETERM"].value = Value("gone");
  f.rows["CM"][1];  // a row with no values
  Value::Object items{{"SYSBP", Value(int64_t{120})},
                      {"NOTE", Value(std::string("says \"hi\"\n\u00e9"))},
                      {"TEMP", Value::Object{{"not_done", Value("not measured")}}},
                      {"CODES", Value::Array{Value("a"), Value(true)}}};
  Value::Array rows{
      Value::Object{
          {"group", Value("AE")}, {"row", Value(int64_t{1})}, {"items", Value::Object{{"AETERM", Value("Nausea")}}}},
      Value::Object{{"group", Value("AE")},
                    {"row", Value(int64_t{2})},
                    {"items", Value::Object{{"AETERM", Value("Headache")},
                                            {"AESER", Value::Object{{"not_done", Value("unknown")}}}}}},
      Value::Object{{"group", Value("CM")}, {"row", Value(int64_t{1})}, {"items", Value::Object{}}}};
  EXPECT_EQ(FormData(f), ToJson(Value::Object{{"items", std::move(items)}, {"rows", std::move(rows)}}));
}

TEST_F(ProjectionTest, RebuildFromTheLogEqualsTheLiveTablesOnA500SubjectStudy) {
  Open(500);
  auto live = store_->DumpProjections();
  ASSERT_TRUE(live.ok());
  EXPECT_GT(std::count(live->begin(), live->end(), '\n'), 500 * 10) << "the tables hold every subject's rows";
  auto replayed = RewriteStudyProjections(store_.get(), "CDISCPILOT01");
  ASSERT_TRUE(replayed.ok()) << replayed.status().ToString();
  EXPECT_EQ(*replayed, store_->LastSeq().value());
  auto rebuilt = store_->DumpProjections();
  ASSERT_TRUE(rebuilt.ok());
  if (*rebuilt != *live) {
    // The first line that differs, not a megabyte of dump.
    std::istringstream a(*live), b(*rebuilt);
    std::string la, lb;
    while (std::getline(a, la) && std::getline(b, lb) && la == lb) {
    }
    FAIL() << "live:    " << la << "\nrebuilt: " << lb;
  }
}

// Concurrent commands compute their rows before the store's write lock, and
// some are computed again inside it (their time moved): the tables still
// equal a rebuild, and the subjects' states (each item's seq) the log's.
TEST_F(ProjectionTest, RowsComputedByConcurrentWritersEqualARebuild) {
  Open(120, 4, 1000);  // every subject stays cached as its last command left it
  auto live = store_->DumpProjections();
  ASSERT_TRUE(live.ok());
  const std::vector<SubjectState> cached = Subjects();
  ASSERT_TRUE(RewriteStudyProjections(store_.get(), "CDISCPILOT01").ok());
  EXPECT_TRUE(*store_->DumpProjections() == *live) << "rebuilt tables differ from the live ones";
  // Read back from the log, not the cache.
  capture_ = Capture::Open(store_.get(), &env_, "CDISCPILOT01", CaptureOptions{.cache_subjects = 16}).value();
  const std::vector<SubjectState> replayed = Subjects();
  ASSERT_EQ(cached.size(), replayed.size());
  std::string first_difference;
  size_t items = 0;
  for (size_t i = 0; i < cached.size(); ++i) {
    for (const auto& [vid, v] : replayed[i].visits) {
      for (const auto& [fid, f] : v.forms) {
        for (const auto& [item, st] : f.items) {
          ++items;
          if (first_difference.empty() && cached[i].visits.at(vid).forms.at(fid).items.at(item).seq != st.seq) {
            first_difference = replayed[i].id + " " + vid + " " + fid + " " + item;
          }
        }
      }
    }
  }
  EXPECT_GT(items, 1000u);
  EXPECT_EQ(first_difference, "") << "an item's seq in the cached state differs from the log's";
}

TEST_F(ProjectionTest, ListsAndCountsAgreeWithTheSubjectsStates) {
  Open(60);
  // The site answers one open query: it then awaits the monitor, no longer the site.
  for (const SubjectState& s : Subjects()) {
    auto q = std::find_if(s.queries.begin(), s.queries.end(),
                          [](const auto& nq) { return nq.second.state == QueryState::kOpen; });
    if (q == s.queries.end()) continue;
    auto answered = capture_->Execute(Value::Object{{"op", "query.answer"},
                                                    {"subject", s.id},
                                                    {"query", static_cast<int64_t>(q->first)},
                                                    {"message", "confirmed"}},
                                      Actor{"coord." + s.site, "coordinator"});
    ASSERT_TRUE(answered.ok()) << answered.status().ToString();
    break;
  }
  const auto subjects = Subjects();
  const Viewer all = SeesEverything();
  auto page = ListSubjects(store_.get(), "CDISCPILOT01", all, {}, 0, 1000);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->total, static_cast<int64_t>(subjects.size()));
  int64_t total_open = 0, total_answered = 0;
  for (size_t i = 0; i < subjects.size(); ++i) {
    const SubjectState& s = subjects[i];
    EXPECT_EQ(page->subjects[i].id, s.id);
    EXPECT_EQ(page->subjects[i].status, s.status);
    // Counted by QueryState: open awaits the site, answered the reviewer.
    int64_t open = 0, answered = 0;
    for (const auto& [n, q] : s.queries) {
      open += q.state == QueryState::kOpen;
      answered += q.state == QueryState::kAnswered;
    }
    EXPECT_EQ(page->subjects[i].open_queries, open) << s.id;
    EXPECT_EQ(page->subjects[i].answered_queries, answered) << s.id;
    total_open += open;
    total_answered += answered;
  }
  EXPECT_GT(total_open, 0) << "the simulation leaves some queries open";
  EXPECT_GT(total_answered, 0) << "the simulation leaves some queries answered";
  // The dashboard's figure of each state is the inbox's total for it.
  auto figures = Dashboard(store_.get(), "CDISCPILOT01", all, env_.NowMicros());
  ASSERT_TRUE(figures.ok()) << figures.status().ToString();
  auto sum = [](const std::array<int64_t, 3>& a) { return a[0] + a[1] + a[2]; };
  EXPECT_EQ(sum(figures->open_queries_by_age), total_open);
  EXPECT_EQ(sum(figures->answered_queries_by_age), total_answered);
  auto answered_listed = ListQueries(store_.get(), "CDISCPILOT01", all, {"answered", "", ""}, 0, 1);
  ASSERT_TRUE(answered_listed.ok());
  EXPECT_EQ(answered_listed->total, total_answered);

  // One site's second page of five.
  const std::string site = subjects.front().site;
  const Viewer one_site = SeesSites({site});
  auto second = ListSubjects(store_.get(), "CDISCPILOT01", one_site, {}, 5, 5);
  ASSERT_TRUE(second.ok());
  std::vector<std::string> at_site;
  for (const auto& s : subjects) {
    if (s.site == site) at_site.push_back(s.id);
  }
  EXPECT_EQ(second->total, static_cast<int64_t>(at_site.size()));
  for (size_t i = 0; i < second->subjects.size(); ++i) EXPECT_EQ(second->subjects[i].id, at_site[5 + i]);
  // A site the viewer does not see is not there, even when asked for.
  const Viewer nowhere = SeesSites({"999"});
  auto none = ListSubjects(store_.get(), "CDISCPILOT01", nowhere, {site, ""}, 0, 100);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->total, 0);

  auto queries = ListQueries(store_.get(), "CDISCPILOT01", all, {"open", "", ""}, 0, 100000);
  ASSERT_TRUE(queries.ok());
  int64_t open_only = 0;
  for (const auto& s : subjects) {
    for (const auto& [n, q] : s.queries) open_only += q.state == QueryState::kOpen;
  }
  EXPECT_EQ(queries->total, open_only);
  EXPECT_EQ(static_cast<int64_t>(queries->queries->size()), open_only);
}

// The dashboard's overdue visits are decided by the day it is read: the
// same tables give different figures as the clock moves, and each agrees
// with the schedule computed from the subjects' states on that day.
// Issue 15, point 10: the SDV plan's progress and the monitor's worklist, as
// SQL over the tables, agree with counting the subjects' states by the plan.
TEST_F(ProjectionTest, SdvProgressAndWorklistAgreeWithThePlanOverTheSubjectsStates) {
  Open(120);
  auto study = DemoStudy();
  const study::SdvPlan& plan = study->sdv_plan;
  std::map<std::string, std::array<int64_t, 4>> by_site;  // subjects, sampled, required, verified
  std::map<std::string, std::pair<int64_t, int64_t>> by_subject;
  int64_t pending_forms = 0, pending_forms_701 = 0;
  for (const SubjectState& s : Subjects()) {
    const bool sampled = plan.Sampled(s.site, s.id);
    int64_t required = 0, done = 0;
    for (const auto& [vid, visit] : s.visits) {
      for (const auto& [fid, f] : visit.forms) {
        const study::Form* form = study->FindForm(fid);
        int64_t form_required = 0, form_done = 0;
        auto count = [&](const std::string& id, const ItemState& it) {
          const study::Item* def = form->FindItem(id);
          if (it.value.is_null() && it.not_done.empty()) return;
          if (!def->derive.empty() || def->unblinded_only || !plan.Requires(fid, id, sampled)) return;
          ++form_required;
          form_done += it.verified;
        };
        for (const auto& [id, it] : f.items) count(id, it);
        for (const auto& [g, rows] : f.rows) {
          for (const auto& [n, row] : rows) {
            if (row.removed) continue;
            for (const auto& [id, it] : row.items) count(id, it);
          }
        }
        required += form_required;
        done += form_done;
        pending_forms += form_done < form_required;
        pending_forms_701 += form_done < form_required && s.site == "701";
      }
    }
    auto& site = by_site[s.site];
    site[0] += 1;
    site[1] += sampled;
    site[2] += required;
    site[3] += done;
    by_subject[s.id] = {required, done};
  }
  auto sites = SdvBySite(store_.get(), "CDISCPILOT01", SeesEverything());
  ASSERT_TRUE(sites.ok()) << sites.status().ToString();
  ASSERT_EQ(sites->size(), by_site.size());
  int64_t verified = 0, sampled_low = 0, subjects_low = 0;
  for (const SdvProgress& p : *sites) {
    SCOPED_TRACE(p.site);
    EXPECT_EQ((std::array<int64_t, 4>{p.subjects, p.sampled, p.required, p.verified}), by_site[p.site]);
    verified += p.verified;
    if (plan.PercentAt(p.site) == 20) {
      sampled_low += p.sampled;
      subjects_low += p.subjects;
    }
  }
  EXPECT_GT(verified, 0) << "the simulated monitors verified something";
  EXPECT_LT(sampled_low, subjects_low) << "low-risk sites have subjects outside the sample";

  auto subjects = SdvBySubject(store_.get(), "CDISCPILOT01", SeesEverything(), "", 0, 1000);
  ASSERT_TRUE(subjects.ok());
  ASSERT_EQ(subjects->total, static_cast<int64_t>(by_subject.size()));
  double last_share = -1;
  for (const SdvProgress& p : subjects->subjects) {
    EXPECT_EQ(std::make_pair(p.required, p.verified), by_subject[p.subject]) << p.subject;
    if (p.required == 0) continue;
    const double share = static_cast<double>(p.verified) / static_cast<double>(p.required);
    EXPECT_GE(share + 1e-6, last_share) << "least verified first";
    last_share = share;
  }

  auto work = ListSdvWork(store_.get(), "CDISCPILOT01", SeesEverything(), "", "", 0, 1000);
  ASSERT_TRUE(work.ok()) << work.status().ToString();
  EXPECT_EQ(work->total, pending_forms);
  EXPECT_GT(work->total, 0);
  for (const SdvWork& w : work->forms)
    EXPECT_LT(w.verified, w.required) << w.subject << " " << w.visit << " " << w.form;
  // A page of it, and a monitor of site 701 sees only 701.
  auto page = ListSdvWork(store_.get(), "CDISCPILOT01", SeesEverything(), "", "", 5, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->forms.size(), std::min<size_t>(10, work->forms.size() - 5));
  EXPECT_EQ(page->forms[0].subject + page->forms[0].visit + page->forms[0].form,
            work->forms[5].subject + work->forms[5].visit + work->forms[5].form);
  auto at_701 = ListSdvWork(store_.get(), "CDISCPILOT01", SeesSites({"701"}), "", "", 0, 1000);
  ASSERT_TRUE(at_701.ok());
  EXPECT_EQ(at_701->total, pending_forms_701);
  for (const SdvWork& w : at_701->forms) EXPECT_EQ(w.site, "701");
  auto hidden_site = SdvBySite(store_.get(), "CDISCPILOT01", SeesSites({"701"}));
  ASSERT_TRUE(hidden_site.ok());
  ASSERT_EQ(hidden_site->size(), 1u);
}

// Issue 15, point 18: the reports, as SQL over the tables, agree with the
// subjects' states, at several days of reading for what depends on today.
TEST_F(ProjectionTest, ReportsAgreeWithTheSubjectsStatesOnSeveralDays) {
  Open(120);
  auto study = DemoStudy();
  const int64_t now_us = env_.NowMicros();
  const std::vector<SubjectState> subjects = Subjects();
  constexpr int64_t kDayUs = 86'400'000'000;
  for (int64_t later_days : {0, 45, 400}) {
    SCOPED_TRACE(later_days);
    const int64_t read_us = now_us + later_days * kDayUs, today = read_us / kDayUs;
    std::map<std::pair<std::string, std::string>, int64_t> missing;
    std::map<std::string, std::array<int64_t, 5>> lag;         // forms, days, within 2, over 7, max
    std::map<std::string, std::array<int64_t, 6>> turnaround;  // opened, answered, answer us, closed, close us, old
    for (const SubjectState& s : subjects) {
      for (const PlannedVisit& v : PlanVisits(*study, s)) {
        auto instance = study->FindVisitInstance(v.visit);
        ASSERT_TRUE(instance.ok());
        auto state = s.visits.find(v.visit);
        auto started = [&](const std::string& form) {
          if (state == s.visits.end()) return false;
          auto f = state->second.forms.find(form);
          return f != state->second.forms.end() && f->second.touched;
        };
        const bool overdue = !v.unscheduled && !v.missed && !v.actual_day && v.planned_day &&
                             *v.planned_day + v.window_after < today && s.status == "enrolled";
        for (const std::string& form : instance->visit->forms) {
          if ((v.actual_day && !started(form)) || overdue) ++missing[{s.site, v.visit}];
        }
        if (!v.actual_day || state == s.visits.end()) continue;
        for (const auto& [fid, f] : state->second.forms) {
          if (!f.touched) continue;
          const int64_t days = f.first_saved_us / kDayUs - *v.actual_day;
          auto& l = lag[s.site];
          l[4] = l[0] == 0 ? days : std::max(l[4], days);
          l[0] += 1;
          l[1] += days;
          l[2] += days <= 2;
          l[3] += days > 7;
        }
      }
      for (const auto& [n, q] : s.queries) {
        auto& t = turnaround[s.site];
        t[0] += 1;
        int64_t answered = 0, closed = 0;
        for (const QueryMessage& m : q.thread) {
          if (m.action == "answered" && answered == 0) answered = m.time_us;
          if (m.action == "closed") closed = m.time_us;
        }
        if (answered) {
          t[1] += 1;
          t[2] += answered - q.thread.front().time_us;
        }
        if (q.state == QueryState::kClosed) {
          t[3] += 1;
          t[4] += closed - q.thread.front().time_us;
        }
        t[5] += (q.state == QueryState::kOpen || q.state == QueryState::kAnswered) &&
                q.thread.front().time_us < read_us - 30 * kDayUs;
      }
    }
    auto pages = MissingPagesBySite(store_.get(), "CDISCPILOT01", SeesEverything(), "", today);
    ASSERT_TRUE(pages.ok()) << pages.status().ToString();
    std::map<std::pair<std::string, std::string>, int64_t> got;
    for (const MissingPages& m : *pages) got[{m.site, m.visit}] = m.forms;
    EXPECT_EQ(got, missing);
    if (later_days == 0) {
      EXPECT_FALSE(got.empty()) << "the simulation leaves some pages missing";
    }

    auto lags = EntryLagBySite(store_.get(), "CDISCPILOT01", SeesEverything(), "");
    ASSERT_TRUE(lags.ok()) << lags.status().ToString();
    ASSERT_EQ(lags->size(), lag.size());
    for (const EntryLag& l : *lags) {
      EXPECT_EQ((std::array<int64_t, 5>{l.forms, l.days_total, l.within_2_days, l.over_7_days, l.max_days}),
                lag[l.site])
          << l.site;
    }
    auto times = QueryTurnaroundBySite(store_.get(), "CDISCPILOT01", SeesEverything(), "", read_us);
    ASSERT_TRUE(times.ok()) << times.status().ToString();
    ASSERT_EQ(times->size(), turnaround.size());
    int64_t old = 0;
    for (const QueryTurnaround& t : *times) {
      EXPECT_EQ((std::array<int64_t, 6>{t.opened, t.answered, t.answer_us_total, t.closed, t.close_us_total,
                                        t.unresolved_over_30_days}),
                turnaround[t.site])
          << t.site;
      old += t.unresolved_over_30_days;
    }
    if (later_days == 400) {
      EXPECT_GT(old, 0) << "a year on, the unresolved queries are all old";
    }
  }

  // A listing of the vital signs holds every form instance entered, with its values.
  int64_t vs_forms = 0;
  for (const SubjectState& s : subjects) {
    for (const auto& [vid, v] : s.visits) {
      auto f = v.forms.find("VS");
      vs_forms += f != v.forms.end() && f->second.touched;
    }
  }
  ListingFilter vs;
  vs.form = "VS";
  auto listing = ListFormValues(store_.get(), "CDISCPILOT01", SeesEverything(), vs, 0, 1000000);
  ASSERT_TRUE(listing.ok()) << listing.status().ToString();
  EXPECT_EQ(listing->total, vs_forms);
  ASSERT_EQ(static_cast<int64_t>(listing->rows.size()), vs_forms);
  const ListingRow& first = listing->rows.front();
  SubjectState listed = capture_->Subject(first.subject).value();
  const ItemState& sysbp = listed.visits[first.visit].forms["VS"].items["SYSBP"];
  EXPECT_EQ(ParseJson(first.data)->Find("items")->Find("SYSBP")->as_int(), sysbp.value.as_int());
  ListingFilter vs_baseline = vs;
  vs_baseline.visit = "BASELINE";
  auto at_701 = ListFormValues(store_.get(), "CDISCPILOT01", SeesSites({"701"}), vs_baseline, 0, 1000);
  ASSERT_TRUE(at_701.ok());
  for (const ListingRow& r : at_701->rows) {
    EXPECT_EQ(r.site, "701");
    EXPECT_EQ(r.visit, "BASELINE");
  }
  EXPECT_GT(at_701->total, 0);
}

TEST_F(ProjectionTest, OverdueVisitsFollowTheDayTheyAreReadOn) {
  Open(60);
  const auto subjects = Subjects();
  const auto definition = capture_->study();
  const Viewer all = SeesEverything();
  std::vector<int64_t> seen;
  for (const char* day : {"2026-12-01T12:00:00Z", "2027-03-01T00:00:00Z", "2027-12-31T23:59:59Z"}) {
    const int64_t now = ParseTimeMicros(day).value();
    auto d = Dashboard(store_.get(), "CDISCPILOT01", all, now);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    int64_t overdue = 0, out_of_window = 0;
    for (const auto& s : subjects) {
      for (const auto& v : ScheduleOf(PlanVisits(*definition, s), now / rules::kMicrosPerDay)) {
        overdue += v.status == WindowStatus::kOverdue;
        out_of_window += v.status == WindowStatus::kEarly || v.status == WindowStatus::kLate;
      }
    }
    EXPECT_EQ(d->overdue_visits, overdue) << day;
    EXPECT_EQ(d->visits_out_of_window, out_of_window) << day;
    EXPECT_EQ(d->overdue.size(), static_cast<size_t>(std::min<int64_t>(overdue, 200))) << day;
    seen.push_back(overdue);
  }
  EXPECT_LT(seen.front(), seen.back()) << "more visits fall overdue as time passes";
}

void ExpectSameFigures(const DashboardFigures& a, const DashboardFigures& b, const std::string& where) {
  EXPECT_EQ(a.subjects_by_site, b.subjects_by_site) << where;
  EXPECT_EQ(a.open_queries_by_age, b.open_queries_by_age) << where;
  EXPECT_EQ(a.overdue_visits, b.overdue_visits) << where;
  EXPECT_EQ(a.visits_out_of_window, b.visits_out_of_window) << where;
  EXPECT_EQ(a.unsigned_casebooks, b.unsigned_casebooks) << where;
  EXPECT_EQ(a.database_locked, b.database_locked) << where;
  auto refs = [](const std::vector<VisitRef>& v) {
    std::vector<std::string> out;
    for (const auto& r : v) out.push_back(r.subject + "/" + r.visit + "/" + r.status);
    return out;
  };
  EXPECT_EQ(refs(a.overdue), refs(b.overdue)) << where;
  EXPECT_EQ(refs(a.out_of_window), refs(b.out_of_window)) << where;
  EXPECT_EQ(refs(a.unsigned_casebook_list), refs(b.unsigned_casebook_list)) << where;
}

// The read cache answers what the tables say: the same counts and figures
// as reads without it, for each viewer and filter, as the clock moves within
// a day and across days (query ages, overdue visits) and after each commit.
TEST_F(ProjectionTest, CachedReadsAnswerAsFreshOnesAcrossCommitsAndTheClock) {
  Open(60);
  ReadCache cache;
  const std::string site = Subjects().front().site;
  const std::vector<Viewer> viewers = {SeesEverything(), SeesSites({site}), SeesSites({"999"})};
  const int64_t start = env_.NowMicros();
  auto compare = [&](const std::string& when) {
    for (int twice = 0; twice < 2; ++twice) {
      auto cached = SitesWithSubjects(store_.get(), "CDISCPILOT01", &cache);
      auto fresh = SitesWithSubjects(store_.get(), "CDISCPILOT01");
      ASSERT_TRUE(cached.ok() && fresh.ok()) << when;
      EXPECT_EQ(*cached, *fresh) << when;
    }
    for (size_t v = 0; v < viewers.size(); ++v) {
      const std::string where = when + ", viewer " + std::to_string(v);
      for (const SubjectFilter& f : {SubjectFilter{}, SubjectFilter{site, ""}, SubjectFilter{"", "screened"}}) {
        for (int twice = 0; twice < 2; ++twice) {
          auto cached = ListSubjects(store_.get(), "CDISCPILOT01", viewers[v], f, 0, 7, &cache);
          auto fresh = ListSubjects(store_.get(), "CDISCPILOT01", viewers[v], f, 0, 7);
          ASSERT_TRUE(cached.ok() && fresh.ok()) << where;
          EXPECT_EQ(cached->total, fresh->total) << where;
          ASSERT_EQ(cached->subjects.size(), fresh->subjects.size()) << where;
          for (size_t i = 0; i < fresh->subjects.size(); ++i) {
            EXPECT_EQ(cached->subjects[i].id, fresh->subjects[i].id) << where;
            EXPECT_EQ(cached->subjects[i].open_queries, fresh->subjects[i].open_queries) << where;
          }
        }
      }
      auto summary = [](const QuerySummary& q) {
        return std::to_string(q.number) + "/" + q.subject + "/" + q.state + "/" + q.message;
      };
      for (const QueryFilter& f : {QueryFilter{}, QueryFilter{"open", "", ""}, QueryFilter{"", "", site}}) {
        for (size_t offset : {size_t{0}, size_t{5}}) {
          for (int twice = 0; twice < 2; ++twice) {
            auto cached = ListQueries(store_.get(), "CDISCPILOT01", viewers[v], f, offset, 5, &cache);
            auto fresh = ListQueries(store_.get(), "CDISCPILOT01", viewers[v], f, offset, 5);
            ASSERT_TRUE(cached.ok() && fresh.ok()) << where;
            EXPECT_EQ(cached->total, fresh->total) << where;
            ASSERT_EQ(cached->queries->size(), fresh->queries->size()) << where;
            for (size_t i = 0; i < fresh->queries->size(); ++i) {
              EXPECT_EQ(summary((*cached->queries)[i]), summary((*fresh->queries)[i])) << where << " offset " << offset;
            }
          }
        }
      }
      // Within a day (query ages move, overdue visits do not) and across days.
      for (int64_t later : {int64_t{0}, rules::kMicrosPerDay / 3, 8 * rules::kMicrosPerDay - 1,
                            8 * rules::kMicrosPerDay, 31 * rules::kMicrosPerDay, 90 * rules::kMicrosPerDay}) {
        const int64_t now = env_.NowMicros() + later;
        auto cached = Dashboard(store_.get(), "CDISCPILOT01", viewers[v], now, 200, &cache);
        auto again = Dashboard(store_.get(), "CDISCPILOT01", viewers[v], now, 200, &cache);
        auto fresh = Dashboard(store_.get(), "CDISCPILOT01", viewers[v], now, 200);
        ASSERT_TRUE(cached.ok() && again.ok() && fresh.ok()) << where;
        ExpectSameFigures(*cached, *fresh, where + " +" + std::to_string(later) + " us");
        ExpectSameFigures(*again, *fresh, where + " +" + std::to_string(later) + " us, again");
      }
    }
  };
  compare("as simulated");
  EXPECT_GT(cache.size(), 0u) << "answers were kept";
  // A query opened, then a subject screened: each commit changes counts the
  // cache held.
  auto all_before = ListQueries(store_.get(), "CDISCPILOT01", viewers[0], {}, 0, 1, &cache).value().total;
  const std::string subject = Subjects().front().id;
  const size_t subject_queries_before =
      ListQueries(store_.get(), "CDISCPILOT01", viewers[0], {"", subject, ""}, 0, 100, &cache).value().queries->size();
  auto opened = capture_->Execute(
      ParseJson(R"({"op":"query.open","subject":")" + subject +
                R"(","visit":"SCREENING1","form":"DM","item":"RACE","message":"Please confirm race against source"})")
          .value(),
      Actor{"monitor", "monitor"});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(ListQueries(store_.get(), "CDISCPILOT01", viewers[0], {}, 0, 1, &cache).value().total, all_before + 1);
  auto of_subject = ListQueries(store_.get(), "CDISCPILOT01", viewers[0], {"", subject, ""}, 0, 100, &cache).value();
  ASSERT_EQ(of_subject.queries->size(), subject_queries_before + 1);
  EXPECT_EQ(of_subject.queries->back().message, "Please confirm race against source")
      << "a cached page of the inbox shows the query the commit opened";
  compare("after a query opened");
  auto screened = capture_->Execute(
      ParseJson(R"({"op":"subject.screen","subject":")" + site + R"(-9999","site":")" + site + R"("})").value(),
      Actor{"coord", "coordinator"});
  ASSERT_TRUE(screened.ok()) << screened.status().ToString();
  compare("after a subject screened");
  env_.SetNowMicros(start + 40 * rules::kMicrosPerDay);
  compare("forty days on");
}

// The subject cache is bounded by the bytes its subjects take, whatever
// their number: reading every subject of the study keeps about as many as
// the bound holds, and reads from it are the subjects as they stand.
TEST_F(ProjectionTest, TheSubjectCacheHoldsAsManySubjectsAsItsBytesAllow) {
  Open(60);
  const auto subjects = Subjects();
  size_t all_bytes = 0;
  for (const auto& s : subjects) all_bytes += SubjectCacheBytes(s);
  const size_t average = all_bytes / subjects.size();
  EXPECT_GT(average, 1000u) << "a simulated subject's forms and values take some kilobytes";
  auto bounded = Capture::Open(store_.get(), &env_, "CDISCPILOT01",
                               CaptureOptions{.cache_subjects = 1000, .cache_bytes = 10 * average})
                     .value();
  for (const auto& s : subjects) {
    auto read = bounded->Subject(s.id);
    ASSERT_TRUE(read.ok());
    EXPECT_EQ(read->version, s.version);
    EXPECT_EQ(read->visits.size(), s.visits.size());
  }
  auto [count, bytes] = bounded->CachedSubjects();
  EXPECT_LE(bytes, 10 * average);
  EXPECT_GE(count, 3u);
  EXPECT_LT(count, subjects.size());
  // Counted bytes cover at least what the states themselves estimate.
  EXPECT_GE(bytes, count * average / 4);
}

// A store whose capture tables are gone (an older build's, or dropped)
// gets them back from the log when a study is opened.
TEST_F(ProjectionTest, TablesMissingAStudyAreRebuiltWhenItOpens) {
  Open(20);
  const std::string live = store_->DumpProjections().value();
  ASSERT_TRUE(store_
                  ->RewriteProjections("capture", "CDISCPILOT01",
                                       [](ProjectionWriter&, const StudyEventsByStream&) { return Status::Ok(); })
                  .ok());
  EXPECT_NE(store_->DumpProjections().value(), live);
  capture_.reset();
  auto reopened = Capture::Open(store_.get(), &env_, "CDISCPILOT01");
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(store_->DumpProjections().value(), live);
}

}  // namespace
}  // namespace trialcore::capture

namespace trialcore::capture {
namespace {

// Rows computed under a version no longer in force (a migration whose
// rewrite did not finish) are never shown: the lists refuse, and opening the
// study rewrites them.
TEST_F(ProjectionTest, RowsOfAnotherVersionAreRefusedThenRewrittenWhenTheStudyOpens) {
  Open(10);
  const std::string live = store_->DumpProjections().value();
  std::string hash, version;
  ASSERT_TRUE(store_
                  ->QueryProjections("SELECT content_hash, version FROM cap_study", {},
                                     [&](const ProjectionRow& r) {
                                       hash = r[0].as_string();
                                       version = r[1].as_string();
                                       return Status::Ok();
                                     })
                  .ok());
  ASSERT_EQ(hash.size(), 64u);
  // As a migration leaves it between its event and its rewrite.
  StudyState state;
  state.version = version;
  state.content_hash = hash;
  ASSERT_TRUE(store_
                  ->RewriteProjections("capture", "CDISCPILOT01",
                                       [&](ProjectionWriter& w, const StudyEventsByStream&) {
                                         return w.Put("cap_study",
                                                      StudyRow("CDISCPILOT01", state, "an older version's hash"));
                                       })
                  .ok());
  const Viewer all = SeesEverything();
  EXPECT_EQ(ListSubjects(store_.get(), "CDISCPILOT01", all, {}, 0, 10).status().code(), StatusCode::kAborted);
  EXPECT_EQ(ListQueries(store_.get(), "CDISCPILOT01", all, {}, 0, 10).status().code(), StatusCode::kAborted);
  EXPECT_EQ(Dashboard(store_.get(), "CDISCPILOT01", all, env_.NowMicros()).status().code(), StatusCode::kAborted);
  capture_.reset();
  ASSERT_TRUE(Capture::Open(store_.get(), &env_, "CDISCPILOT01").ok());
  EXPECT_TRUE(ListSubjects(store_.get(), "CDISCPILOT01", all, {}, 0, 10).ok());
  EXPECT_EQ(store_->DumpProjections().value(), live);
}

}  // namespace
}  // namespace trialcore::capture
