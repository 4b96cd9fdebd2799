// Internals of the capture service shared by its source files.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "capture/capture.h"

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

class Capture::Impl {
 public:
  Impl(EventStore* store, Env* env, std::string study_id) : store_(store), env_(env), study_id_(std::move(study_id)) {}

  Status Load();
  Status CatchUp();  // applies events appended since the last one seen
  // For reads: what this process wrote is always in; other processes'
  // writes are taken in at most every 20 ms, not on every read.
  Status CatchUpForRead();
  int64_t last_read_catchup_us_ = 0;
  Status LoadStudyVersion();
  // Applies one event to the state (ApplyEvent), counts it in its subject's
  // blinded_version when a blinded role sees it, and loads a study version
  // as soon as it is published, so later events are judged by it.
  Status Apply(const Event& e);

  // Appends the batch for one subject (or the study stream) with optimistic
  // concurrency on that stream, then applies it.
  Result<std::vector<Event>> Commit(const std::string& stream, uint64_t expected_version,
                                    std::vector<EventDraft> drafts);

  Result<Outcome> Execute(const Value& cmd, const Actor& actor);
  Result<Outcome> SaveForm(const Value& cmd, const Actor& actor);
  Result<Outcome> SubjectCommand(const std::string& op, const Value& cmd, const Actor& actor);
  Result<Outcome> QueryCommand(const std::string& op, const Value& cmd, const Actor& actor);
  Result<Outcome> SdvCommand(const Value& cmd, const Actor& actor);
  Result<Outcome> FreezeLockCommand(const std::string& op, const Value& cmd, const Actor& actor);
  Result<Outcome> SignCommand(const Value& cmd, const Actor& actor);
  Result<Outcome> VisitMissed(const Value& cmd, const Actor& actor);
  Result<Outcome> RemoveRow(const Value& cmd, const Actor& actor);

  // Checks of one form instance (visit, form) of a subject, including ranges.
  std::vector<Failure> RunChecks(const SubjectState& s, const std::string& visit, const study::Form& form,
                                 int64_t now) const;
  // Recomputes derived items and clears hidden ones on a form instance;
  // returns what it changed, for the event, with the reason.
  void DeriveAndHide(SubjectState& s, const std::string& visit, const study::Form& form, int64_t now,
                     std::vector<std::string>* auto_reasons) const;
  EligibilityResult Eligibility(const SubjectState& s) const;

  Result<SubjectState*> FindSubject(const std::string& id);
  Status CheckWritable(const SubjectState& s, const std::string& visit, const std::string& form) const;

  EventStore* store_;
  Env* env_;
  std::string study_id_;
  mutable std::mutex mu_;
  StudyState state_;
  std::shared_ptr<const study::Study> study_;
  uint64_t last_seq_ = 0;
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
