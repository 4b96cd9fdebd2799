// The read side of data capture at study size: lists, counts and the study
// home page's figures as SQL over the projection tables (capture/projection.h),
// for what a caller may see. Nothing here reads a study's log or copies its
// state: each answer costs what its page holds, not what the study holds.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/value.h"
#include "store/event_store.h"

namespace trialcore::capture {

// What a caller may see of a study: their sites, and at which of them hidden
// (unblinded-only) data too. The API decides both from the caller's grants.
struct Viewer {
  bool all_sites = false;
  std::vector<std::string> sites;  // when not all_sites
  bool unblinded_everywhere = false;
  std::vector<std::string> unblinded_sites;  // when not unblinded_everywhere
};

// Answers whose cost grows with the study (the counts of a list, the
// dashboard's figures), kept with the position of the log they were read
// at, for the viewer and filter they were read for. Asked again with no
// commit since, an answer costs two short reads (the log's last position and
// whether the rows are current), not the aggregates; the first commit after
// makes every entry stale. An answer is kept only when no commit came while
// it was read, so one kept is the tables' state at its position. Holds at
// most `max_entries`; safe from any thread.
class ReadCache {
 public:
  explicit ReadCache(size_t max_entries = 256);
  ~ReadCache();
  ReadCache(const ReadCache&) = delete;
  ReadCache& operator=(const ReadCache&) = delete;
  size_t size() const;
  struct State;  // (reads.cc)
  State& state() const { return *state_; }

 private:
  std::unique_ptr<State> state_;
};

// Each read below takes an optional cache (nullptr: none); with one, the
// answer is the same as without.

struct SubjectFilter {
  std::string site, status;    // empty: any
  bool with_inactive = false;  // inactivated subjects too (else left out)
};
struct SubjectSummary {
  std::string id, site, status;
  bool inactive = false;
  // That the viewer sees, by state (QueryState): open awaits the site, answered the reviewer.
  int64_t open_queries = 0, answered_queries = 0;
};
struct SubjectPage {
  std::vector<SubjectSummary> subjects;  // by id
  int64_t total = 0;                     // matching, over all pages
};
Result<SubjectPage> ListSubjects(EventStore* store, const std::string& study, const Viewer& viewer,
                                 const SubjectFilter& filter, size_t offset, size_t limit, ReadCache* cache = nullptr);

struct QueryFilter {
  std::string state, subject, site;  // empty: any
};
struct QuerySummary {
  int number = 0;
  std::string subject, site, visit, form, item, group, check, state, message;
  int row = 0;
  int64_t opened_us = 0;  // 0: unknown
  // Who opened it: the user who raised it, or whose save made `check` fail.
  std::string opened_by, opened_role;
};
struct QueryPage {
  // By subject, then number; shared with the read cache (never null).
  std::shared_ptr<const std::vector<QuerySummary>> queries = std::make_shared<const std::vector<QuerySummary>>();
  int64_t total = 0;
};
Result<QueryPage> ListQueries(EventStore* store, const std::string& study, const Viewer& viewer,
                              const QueryFilter& filter, size_t offset, size_t limit, ReadCache* cache = nullptr);

struct VisitRef {
  std::string subject, visit, status;
};
struct DashboardFigures {
  std::map<std::string, std::map<std::string, int64_t>> subjects_by_site;  // site -> status -> subjects
  // By state as QueryState defines them, each by age: 0-7 days, 8-30 days, over 30 days.
  std::array<int64_t, 3> open_queries_by_age{}, answered_queries_by_age{};
  int64_t overdue_visits = 0, visits_out_of_window = 0, unsigned_casebooks = 0;
  // The first `listed` of each, by subject and schedule (the counts are exact).
  std::vector<VisitRef> overdue, out_of_window, unsigned_casebook_list;
  bool database_locked = false;
};
Result<DashboardFigures> Dashboard(EventStore* store, const std::string& study, const Viewer& viewer, int64_t now_us,
                                   size_t listed = 200, ReadCache* cache = nullptr);

Result<size_t> CountSubjects(EventStore* store, const std::string& study);
// Subjects ever screened at a site (every site when empty), inactivated ones
// included: where a site's sequence of subject numbers stands.
Result<int64_t> CountSubjectsAt(EventStore* store, const std::string& study, const std::string& site);
Result<std::vector<std::string>> SubjectIds(EventStore* store, const std::string& study);
// The sites that have subjects, in order (a seek per site, not a scan).
// Every list a caller reads asks it (api::ViewerFor): with a cache, a study
// of hundreds of sites pays those seeks once per commit, not per request.
Result<std::vector<std::string>> SitesWithSubjects(EventStore* store, const std::string& study,
                                                   ReadCache* cache = nullptr);

struct UnresolvedQueries {
  int64_t visible = 0, hidden = 0;  // open or answered; hidden: on unblinded-only items
};
Result<UnresolvedQueries> CountUnresolvedQueries(EventStore* store, const std::string& study);

// Source data verification by the study's plan (study::SdvPlan), for the
// sites a viewer sees. Counts are of the items the plan asks for on each
// subject that are entered (derived and hidden items are never verified, so
// blinded and unblinded viewers read the same figures). Inactivated
// subjects (screened in error) count nowhere: nobody verifies their data.
struct SdvProgress {
  std::string site, subject;          // subject empty in a site's line
  int64_t subjects = 0, sampled = 0;  // a subject's line: 1, and whether in the sample
  int64_t required = 0, verified = 0;
};
// One line per site, by site.
Result<std::vector<SdvProgress>> SdvBySite(EventStore* store, const std::string& study, const Viewer& viewer);
struct SdvSubjectPage {
  std::vector<SdvProgress> subjects;  // least verified share first, then by subject
  int64_t total = 0;
};
Result<SdvSubjectPage> SdvBySubject(EventStore* store, const std::string& study, const Viewer& viewer,
                                    const std::string& site, size_t offset, size_t limit);
// The monitor's worklist: forms with items the plan asks for not yet verified.
struct SdvWork {
  std::string subject, site, visit, form;
  int64_t required = 0, verified = 0;
  int64_t open_queries = 0;  // on visible items of the form, awaiting the site: those items wait
};
struct SdvWorklist {
  std::vector<SdvWork> forms;  // by site, subject and schedule
  int64_t total = 0;
};
Result<SdvWorklist> ListSdvWork(EventStore* store, const std::string& study, const Viewer& viewer,
                                const std::string& site, const std::string& subject, size_t offset, size_t limit);

// The data manager's listings and reports (issue 15, point 18), for the
// sites a viewer sees.

// A form's values across subjects, a page of form instances at a time, by
// site, subject and schedule. `data` is the form's values as the
// projection keeps them ({"items": {...}, "rows": [{"group", "row",
// "items"}]}), hidden items included: `unblinded` says whether the viewer
// may see them at the row's site (the API leaves them out otherwise).
// Inactivated subjects' forms are left out unless asked for.
struct ListingFilter {
  std::string form;                  // required
  std::string site, visit, subject;  // empty: any; a visit matches its occurrences
  // Form instances where the item `item` (of the form or of a row) holds
  // exactly `value`, a number, boolean or text (a code); empty item: any.
  // Whether the viewer may filter on that item is the caller's to decide.
  std::string item;
  Value value;
  bool with_inactive = false;
};
struct ListingRow {
  std::string subject, site, visit, data;
  bool unblinded = false;
};
struct ListingPage {
  std::vector<ListingRow> rows;
  int64_t total = 0;  // form instances matching
};
Result<ListingPage> ListFormValues(EventStore* store, const std::string& study, const Viewer& viewer,
                                   const ListingFilter& filter, size_t offset, size_t limit);

// Forms not started at visits that took place (have a visit date) or, for
// enrolled subjects, are overdue on `today` (days since 1970), by site and
// visit instance.
// Neither this nor the entry lag below counts inactivated subjects: the
// tables plan no visit of theirs (capture/projection.cc).
struct MissingPages {
  std::string site, visit;
  int64_t forms = 0;
};
Result<std::vector<MissingPages>> MissingPagesBySite(EventStore* store, const std::string& study, const Viewer& viewer,
                                                     const std::string& site, int64_t today);

// Days from each visit's date to the first save of each of its forms, by site.
struct EntryLag {
  std::string site;
  int64_t forms = 0, days_total = 0, within_2_days = 0, over_7_days = 0, max_days = 0;
};
Result<std::vector<EntryLag>> EntryLagBySite(EventStore* store, const std::string& study, const Viewer& viewer,
                                             const std::string& site);

// Queries raised by site, how long the site took to answer (first answer)
// and how long until closed, and those unresolved for over 30 days on
// now_us. Queries on hidden items count only where the viewer is unblinded.
struct QueryTurnaround {
  std::string site;
  int64_t opened = 0, answered = 0, answer_us_total = 0, closed = 0, close_us_total = 0, unresolved_over_30_days = 0;
};
Result<std::vector<QueryTurnaround>> QueryTurnaroundBySite(EventStore* store, const std::string& study,
                                                           const Viewer& viewer, const std::string& site,
                                                           int64_t now_us);

// Safety cases opened by serious adverse events on the CRF (capture/
// sae_reaction.h) at the sites the viewer sees, oldest awareness first:
// the rows of cap_safety_cases. The clocks are the caller's to work out.
struct SafetyCaseLine {
  std::string case_id, subject, site, visit, form, group;
  int64_t row = 0;
  std::string term, onset, outcome, causality;
  std::vector<std::string> criteria;
  bool serious = false, fatal_or_life_threatening = false;
  std::string state;  // open | nullification_proposed | closed (capture/safety_workflow.h)
  int64_t aware_us = 0, updated_us = 0, followups = 0;
  std::string stage;  // capture/safety_workflow.h
  int64_t version = 1;
  std::string llt, pt, soc;  // the MedDRA coding, when coded
  Value assessment;          // AssessmentValue
  Value reports;             // ReportsValue: due dates and what was sent
  bool unblinded = false;
  std::string source;        // crf | spontaneous | literature | e2b (capture/direct_case.h)
  std::string worldwide_id;  // an imported report's C.1.8.1
};
struct SafetyCaseFilter {
  std::string site, subject, state, case_id;  // empty: any
};
Result<std::vector<SafetyCaseLine>> ListSafetyCases(EventStore* store, const std::string& study, const Viewer& viewer,
                                                    const SafetyCaseFilter& filter);

// The reports sent in one batch (E2B(R3) N.1.2), for an acknowledgement to
// find its cases. Not scoped by site: the acknowledgement is the sponsor's.
struct SafetySubmissionLine {
  std::string subject, case_id, site, destination, batch_number, message_id, safety_report_id, ack;
  int64_t submission = 0, version = 0;
};
Result<std::vector<SafetySubmissionLine>> FindSafetySubmissions(EventStore* store, const std::string& study,
                                                                const std::string& batch_number);

}  // namespace trialcore::capture
