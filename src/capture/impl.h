// Internals of the capture service shared by its source files.
#pragma once

#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "capture/capture.h"
#include "capture/direct_case.h"
#include "capture/projection.h"
#include "capture/reads.h"

namespace trialcore::capture {

// Binds an expression's references to a subject's values: the current visit
// and form (and row, for row-level checks) first, else the most recent visit
// that holds the value.
class Binder {
 public:
  Binder(const study::Study& study, const SubjectState& subject, std::string visit, std::string form,
         const RowState* row, std::string row_group, int64_t now_us);
  rules::Bindings Bind(const rules::Expression& e);
  rules::Truth Test(const rules::Expression& e) { return e.Test(Bind(e)); }
  rules::RValue Evaluate(const rules::Expression& e) { return e.Evaluate(Bind(e)); }

 private:
  const Value* FindValue(const std::string& key) const;
  const std::map<int, RowState>* FindRows(const std::string& group_key) const;
  rules::RValue Convert(const Value* v, rules::Type type);
  // The subject's visit instances in schedule order, worked out once per
  // binder (only references to forms of other visits need it).
  const std::vector<std::string>& VisitOrder() const;

  const study::Study& study_;
  const SubjectState& subject_;
  std::string visit_, form_;
  const RowState* row_;
  std::string row_group_;
  int64_t now_us_;
  std::vector<rules::RValue> scalars_;
  std::vector<rules::Table> tables_;
  std::deque<std::string> scratch_;  // joined code sets the values view into
  mutable std::optional<std::vector<std::string>> visit_order_;
};

std::vector<std::string> SplitKey(const std::string& key);

// The subject's visit instances ("WEEK2", "PHONE#3") in schedule order:
// the study's visit order, then occurrence.
std::vector<std::string> VisitInstancesInOrder(const study::Study& study, const SubjectState& subject);

// A problem a check found on a form instance.
struct Failure {
  std::string check;  // check id, or "ITEM.range"
  std::string item;
  std::string group;
  int row = 0;
  std::string message;
  bool hard = false;
  std::string Key() const { return check + "|" + item + "|" + group + "|" + std::to_string(row); }
};

// The subjects most recently read or written, as they stand, up to a bound
// (a study's size does not decide the process's memory). Entries are
// immutable: a commit replaces its subject's.
class SubjectCache {
 public:
  // At most `capacity` subjects and `max_bytes` (as SubjectCacheBytes and
  // RowMapBytes estimate them), but always the last one put.
  SubjectCache(size_t capacity, size_t max_bytes) : capacity_(std::max<size_t>(capacity, 1)), max_bytes_(max_bytes) {}
  std::shared_ptr<const SubjectState> Get(const std::string& id);
  // Keeps the newer of the cached and the given state, with its projection
  // rows when known (computed under the study version `rows_of`).
  void Put(std::shared_ptr<const SubjectState> subject, std::shared_ptr<const RowMap> rows = nullptr,
           const study::Study* rows_of = nullptr);
  // The rows of the subject at this version under this study version, when
  // the last commit left them: a commit then computes only its rows after.
  std::shared_ptr<const RowMap> Rows(const std::string& id, uint64_t version, const study::Study* rows_of) const;
  void Erase(const std::string& id);
  size_t size() const { return entries_.size(); }
  size_t bytes() const { return bytes_; }

 private:
  struct Entry {
    std::shared_ptr<const SubjectState> subject;
    std::shared_ptr<const RowMap> rows;
    const study::Study* rows_of = nullptr;
    std::list<std::string>::iterator used;
    size_t bytes = 0;
  };
  static size_t BytesOf(const Entry& e);
  // Drops the least recently used until both bounds hold.
  void Trim();
  size_t capacity_;
  size_t max_bytes_;
  size_t bytes_ = 0;
  std::list<std::string> recency_;  // most recently used first
  std::unordered_map<std::string, Entry> entries_;
};

// A published study version and the sequence number of the event that put
// it in force: a subject's events after it are judged by it.
using StudyVersions = std::vector<std::pair<uint64_t, std::shared_ptr<const study::Study>>>;
const study::Study* VersionInForce(const StudyVersions& versions, uint64_t seq);

// Loads the study definition a study.published or study.migrated event
// stored (state holds its source, version and hash).
Result<std::shared_ptr<const study::Study>> LoadPublishedStudy(const std::string& study_id, const StudyState& state);

// Applies one of the subject's events and counts it in blinded_version when
// a blinded role sees it, judged by the version in force (capture/blinding.h).
void ApplyCounted(SubjectState& subject, const Event& e, const study::Study* in_force);

// Refuses a form of a visit whose date is not entered yet, when the study
// asks for the visit date first (study::Study::visit_date_first).
Status CheckVisitDateFirst(const study::Study& study, const SubjectState& subject, const std::string& visit,
                           const std::string& form);

// The study's safety cases but one (`except`): id, event term, onset.
Result<std::vector<std::tuple<std::string, std::string, std::string>>> CasesOfStudy(EventStore& store,
                                                                                    const std::string& study,
                                                                                    const std::string& except);

class Capture::Impl {
 public:
  Impl(EventStore* store, Env* env, std::string study_id, const CaptureOptions& options)
      : store_(store), env_(env), study_id_(std::move(study_id)), cache_(options.cache_subjects, options.cache_bytes) {}

  // Reads the study's own stream and starts following the log at its end:
  // subjects are read from their streams when needed, never all at once.
  Status Load();
  // Applies the study events appended since the last one seen and drops
  // cached subjects that another process changed.
  Status CatchUp();
  // For reads: what this process wrote is always in; other processes'
  // writes are taken in at most every 20 ms, not on every read.
  Status CatchUpForRead();
  // Takes in every commit made so far, whenever the last catch-up was.
  Status CatchUpNow();
  int64_t last_read_catchup_us_ = 0;
  Status ApplyStudyEvent(const Event& e);

  // The subject as it stands: cached, or replayed from its stream (NotFound
  // when it has no events). Call with mu_ held.
  Result<std::shared_ptr<const SubjectState>> LoadSubjectLocked(const std::string& id);
  // The same without holding mu_ while the stream is read.
  Result<std::shared_ptr<const SubjectState>> LoadSubject(const std::string& id);
  // Replays a subject's stream (up to a time) with the given versions.
  Result<SubjectState> ReplaySubject(const std::string& id, const StudyVersions& versions,
                                     std::optional<int64_t> until_us) const;

  // Appends the batch for one subject (or the study stream) with optimistic
  // concurrency on that stream, keeping the projection tables in step, then
  // takes the new state in.
  // A direct case's stream (capture/direct_case.h) is committed with the
  // case as it stood (none for its first event).
  Result<std::vector<Event>> Commit(const std::string& stream, uint64_t expected_version,
                                    std::vector<EventDraft> drafts, const DirectCase* case_before = nullptr);
  // A direct case as its stream holds it now; NotFound when there is none.
  Result<DirectCase> LoadDirectCase(const std::string& id);
  // Entering a direct case, new information on one, importing E2B reports.
  Result<Outcome> DirectCaseCommand(const std::string& op, const Value& cmd, const Actor& actor);

  Result<Outcome> Execute(const Value& cmd, const Actor& actor);
  Result<Outcome> SaveForm(const Value& cmd, const Actor& actor);
  Result<Outcome> SubjectCommand(const std::string& op, const Value& cmd, const Actor& actor);
  Result<Outcome> ScreenSubject(const Value& cmd, const Actor& actor);
  Result<Outcome> InactivateCommand(const std::string& op, const Value& cmd, const Actor& actor);
  // The subject number screening gives at a site: as typed when the study
  // does not number subjects, else the site's next free one (a typed one
  // must then follow the scheme).
  Result<std::string> SubjectNumberFor(const std::string& typed, const std::string& site);
  // A reason for change as the study allows it: one of its standard reasons,
  // or "Other: " and the user's own words (any text when it lists none).
  Status CheckReasonForChange(const std::string& reason) const;
  Result<Outcome> QueryCommand(const std::string& op, const Value& cmd, const Actor& actor);
  Result<Outcome> SdvCommand(const Value& cmd, const Actor& actor);
  Result<Outcome> FreezeLockCommand(const std::string& op, const Value& cmd, const Actor& actor);
  Result<Outcome> DatabaseLockCommand(bool lock, const Value& cmd, const Actor& actor);
  Result<Outcome> SignCommand(const Value& cmd, const Actor& actor);
  Result<Outcome> VisitMissed(const Value& cmd, const Actor& actor);
  Result<Outcome> RemoveRow(const Value& cmd, const Actor& actor);
  Result<Outcome> SafetyCommand(const std::string& op, const Value& cmd, const Actor& actor);  // safety_commands.cc
  // The safety case a command names: a CRF case in its subject's stream
  // (subject and case id), or a direct case in its own (the id alone).
  struct NamedCase {
    const SubjectState* subject = nullptr;  // a CRF case's, valid as FindSubject's answer is
    const SafetyCase* crf_case = nullptr;
    std::optional<DirectCase> direct;
    const SafetyCase& Case() const { return direct ? direct->c : *crf_case; }
  };
  Result<NamedCase> FindNamedCase(const std::string& subject, const std::string& case_id);
  Result<Outcome> AeCodeCommand(const Value& cmd, const Actor& actor);        // ae_coding.cc
  Result<Outcome> SafetyRecodeCommand(const Value& cmd, const Actor& actor);  // meddra_recode.cc

  // Checks of one form instance (visit, form) of a subject, including ranges.
  std::vector<Failure> RunChecks(const SubjectState& s, const std::string& visit, const study::Form& form,
                                 int64_t now) const;
  // Recomputes derived items and clears hidden ones on a form instance;
  // returns what it changed, for the event, with the reason.
  void DeriveAndHide(SubjectState& s, const std::string& visit, const study::Form& form, int64_t now,
                     std::vector<std::string>* auto_reasons) const;
  EligibilityResult Eligibility(const SubjectState& s) const;

  // The subject a command decides on, as it stands (shared, not copied: a
  // command that tries changes out makes its own copy). Valid until the
  // command commits to that subject; FindSubject then gives the new state.
  Result<const SubjectState*> FindSubject(const std::string& id);
  Status CheckWritable(const SubjectState& s, const std::string& visit, const std::string& form) const;

  EventStore* store_;
  Env* env_;
  std::string study_id_;
  mutable std::mutex mu_;
  StudyState state_;  // the study's own stream; its subjects map stays empty
  std::shared_ptr<const study::Study> study_;
  StudyVersions versions_;
  uint64_t last_seq_ = 0;  // of the study, as followed by CatchUp
  SubjectCache cache_;
  ReadCache read_cache_;
  // form -> forms whose checks or derivations read it.
  std::map<std::string, std::set<std::string>> dependents_;
};

// Appends a signature.invalidated draft for every valid signature whose
// scope holds a form changed by the drafts (form.saved, row.removed).
void InvalidateSignatures(const SubjectState& subject, const Actor& actor, std::vector<EventDraft>* drafts,
                          std::vector<std::string>* messages);

// A query of the subject closed by the system (its data corrected, its row removed).
EventDraft QueryClosedDraft(const std::string& subject, int query, const Actor& actor, const std::string& reason,
                            const std::string& message);

// An event of a subject's or the study's stream.
inline EventDraft Draft(const std::string& stream, std::string type, const Actor& actor, std::string reason,
                        Value payload) {
  EventDraft d;
  d.stream = stream;
  d.type = std::move(type);
  d.actor = actor;
  d.reason = std::move(reason);
  d.payload = std::move(payload);
  return d;
}

// Command fields.
Result<std::string> RequiredText(const Value& cmd, std::string_view field);
std::string OptionalText(const Value& cmd, std::string_view field);
Status OnlyFields(const Value& cmd, std::initializer_list<std::string_view> allowed);
Status RequireRole(const Actor& actor, std::initializer_list<std::string_view> roles, std::string_view what);

}  // namespace trialcore::capture
