// Capture's projection tables (DESIGN.md §1): the current state of every
// subject, visit, form, query and signature of every study, as rows the
// store keeps in the append's transaction, so that lists, counts and the
// dashboard are SQL over them (capture/reads.h) and nothing copies a study.
//
// A subject's rows are a function of its state and the study version in
// force, never of the clock: a commit writes the difference between its rows
// before and after, and a rebuild writes them from a replay of the log, so
// the two give the same tables. Whatever depends on today (overdue visits,
// query ages) is decided when they are read.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>

#include "capture/capture.h"
#include "capture/direct_case.h"
#include "capture/state.h"
#include "store/event_store.h"
#include "study/study.h"

namespace trialcore::capture {

const ProjectionSet& CaptureProjections();

// Rows by (table, key), the key being the key columns joined.
using RowMap = std::map<std::pair<std::string, std::string>, ProjectionRow>;

// Every row of one subject; without a study definition, only the subject's.
RowMap SubjectRows(const std::string& study_id, const study::Study* study, const SubjectState& subject);
// The same rows, each handed to sink with its table and the number of key
// columns as it is made (a rewrite writes them so, without the map);
// returns sink's first error.
using SubjectRowSink = std::function<Status(const char* table, size_t key_size, ProjectionRow&& row)>;
Status ForEachSubjectRow(const std::string& study_id, const study::Study* study, const SubjectState& subject,
                         const SubjectRowSink& sink);
// The rows of a direct safety case (capture/direct_case.h); none without a
// study definition.
RowMap DirectCaseRows(const std::string& study_id, const study::Study* study, const DirectCase& dc);
Status ForEachDirectCaseRow(const std::string& study_id, const study::Study* study, const DirectCase& dc,
                            const SubjectRowSink& sink);
// The study's own row; rows_hash: the content hash of the version its
// subjects' rows were computed under (a new version's rows are written by a
// rewrite after the event that puts it in force; until then reads refuse).
ProjectionRow StudyRow(const std::string& study_id, const StudyState& state, const std::string& rows_hash);

// A form's values for listings (cap_forms.data): {"items": {id: value},
// "rows": [{"group", "items", "row"}]} as compact JSON, an item not done as
// {"not_done": reason}, removed rows left out; "" when nothing was ever saved.
std::string FormData(const FormState& f);

// Writes what changed from before to after: rows added or changed are put,
// rows gone are deleted.
Status WriteRowChanges(const RowMap& before, const RowMap& after, ProjectionWriter& writer);

// A visit instance as the schedule plans it, without the clock: its planned
// day and window (once the anchor date is known) and what the site recorded.
struct PlannedVisit {
  std::string visit;  // instance id: "WEEK2", "AEFU#2"
  int position = 0;   // in schedule order
  bool unscheduled = false;
  bool missed = false;
  std::optional<int64_t> planned_day;  // days since 1970
  int64_t window_before = 0, window_after = 0;
  std::optional<int64_t> actual_day;
};
std::vector<PlannedVisit> PlanVisits(const study::Study& study, const SubjectState& subject);
// Each planned visit's status on a day (days since 1970).
std::vector<VisitSchedule> ScheduleOf(const std::vector<PlannedVisit>& planned, int64_t today);

// The form's status from its items (required ones entered or not done),
// judged with the clock at now_us for visibility conditions that read it.
FormStatus StatusOfFormIn(const study::Study& study, const SubjectState& subject, const std::string& visit,
                          const study::Form& form, int64_t now_us);

// Reports a rewrite's progress: events of the study replayed, of its total.
using RewriteProgress = std::function<void(const std::string& study, uint64_t done, uint64_t of)>;

// Creates the tables if needed, and rewrites from the log every published
// study whose rows are missing (tables just made, of an older version of
// the set, or dropped).
Status EnsureProjections(EventStore* store, const RewriteProgress& progress = {});
// Rewrites one study's rows from its log (after a migration, for `db
// rebuild`); returns the events replayed.
Result<uint64_t> RewriteStudyProjections(EventStore* store, const std::string& study_id,
                                         const RewriteProgress& progress = {});

}  // namespace trialcore::capture
