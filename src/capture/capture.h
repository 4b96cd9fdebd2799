// Electronic data capture on the event store: subjects, visits, form saves
// checked by the study's rules, queries, source data verification, freeze and
// lock, and signatures bound to what was signed. Every operation is a
// command (a JSON object with "op"; doc/capture_commands.md) that either
// appends its events atomically or changes nothing and says why.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "capture/state.h"
#include "core/env.h"
#include "core/status.h"
#include "store/event_store.h"
#include "study/study.h"

namespace trialcore::capture {

struct DirectCase;

class ReadCache;  // capture/reads.h

struct Outcome {
  std::vector<Event> events;          // what was appended
  std::vector<std::string> messages;  // what the user should see: queries opened and closed, warnings
  Value result;                       // op-specific: {"query": 3}, {"eligible": false, ...}
};

enum class Eligibility { kEligible, kNotEligible, kIncomplete };

struct CriterionResult {
  std::string id;
  bool inclusion = true;
  rules::Truth met = rules::Truth::kUnknown;  // inclusion met / exclusion applies
  std::string text;                           // the criterion as the protocol words it
  // The form instance that answers it (for a criterion not yet answerable,
  // the first it reads that has no data yet); empty when it reads none.
  std::string visit, form;
};

struct EligibilityResult {
  Eligibility overall = Eligibility::kIncomplete;
  std::vector<CriterionResult> criteria;
  std::string Summary() const;  // "not eligible: INCL03 not met, EXCL10 applies"
};

enum class WindowStatus { kNotDue, kDue, kOverdue, kInWindow, kEarly, kLate, kMissed, kUnscheduled };
std::string_view WindowStatusName(WindowStatus s);

struct VisitSchedule {
  std::string visit;
  std::optional<int64_t> planned_day;  // days since 1970, from the anchor
  std::optional<int64_t> actual_day;
  WindowStatus status = WindowStatus::kNotDue;
};

enum class FormStatus { kNotStarted, kInProgress, kComplete };
std::string_view FormStatusName(FormStatus s);

// The SHA-256 (hex) a signature binds: the canonical encoding
// (doc/event_log_format.md, "Signatures") of every value in its scope
// (the casebook, a visit, or a form of a visit) with the signature's nonce;
// an empty nonce is that of a signature made before nonces.
std::string SignatureContentHash(const SubjectState& subject, const std::string& visit, const std::string& form,
                                 const std::string& nonce);

struct CaptureOptions {
  // Subjects kept in memory as they stand, most recently used first; others
  // are read from their streams when needed. Both bounds hold: they bound
  // the memory a study takes, whatever its size. A subject with a long
  // history (hundreds of forms, queries, repeating rows) takes many times
  // an average one's memory, so the bytes, not the count, are the bound
  // that matters. 96 MiB holds about 1,400 average subjects of the demo
  // study (about 68 KB each): more than the thousand a site's worth of
  // users read in turn, so that they are not replayed on every read.
  size_t cache_subjects = 2000;
  size_t cache_bytes = size_t{96} << 20;  // as SubjectCacheBytes estimates them
};

// The memory a subject's state takes, estimated from its contents (strings,
// values and the nodes of its maps), as the subject cache counts it.
size_t SubjectCacheBytes(const SubjectState& subject);

class Capture {
 public:
  // Opens the study: its definition and its own stream only (subjects are
  // read when needed), with the projection tables registered and, if they
  // were made empty, rebuilt. The study must have been published
  // (PublishStudy) before commands other than publishing run.
  static Result<std::unique_ptr<Capture>> Open(EventStore* store, Env* env, const std::string& study_id,
                                               const CaptureOptions& options = {});

  // Publishes the first version of a study, or the same version again (no-op).
  // A live study (with subjects) changes only through Migrate.
  Result<Outcome> PublishStudy(std::shared_ptr<const study::Study> study, const Actor& actor);

  // The amendment plan: per subject, what changes and what stored data would
  // no longer fit. Blocking problems stop the real migration.
  struct MigrationIssue {
    std::string subject;
    std::string where;  // "WEEK2/VS/SYSBP"
    std::string problem;
    bool blocking = true;
  };
  struct MigrationPlan {
    std::string from_version, to_version;
    std::vector<study::Change> changes;
    std::vector<MigrationIssue> issues;
    size_t subjects = 0;
    bool blocked() const;
  };
  Result<MigrationPlan> PlanMigration(std::shared_ptr<const study::Study> to) const;
  Result<Outcome> Migrate(std::shared_ptr<const study::Study> to, const Actor& actor, const std::string& reason);

  // Runs one command. Errors: InvalidArgument (malformed command or values),
  // NotFound (unknown subject, visit, form, item, query), FailedPrecondition
  // (the state forbids it: locked, hard check failed, reason missing),
  // PermissionDenied (role may not), Aborted (a concurrent writer won; retry).
  // expected_version: the subject's version the caller decided on (an
  // HTTP If-Match); Aborted when the subject has changed since.
  Result<Outcome> Execute(const Value& command, const Actor& actor,
                          std::optional<uint64_t> expected_version = std::nullopt);

  // Reads; safe to call from any thread.
  std::shared_ptr<const study::Study> study() const;
  int64_t NowMicros() const;  // the clock checks run on (today(), now(), overdue visits)
  EventStore* store() const;
  const std::string& study_id() const;
  // The study's cache of list counts and dashboard figures (capture/reads.h),
  // for the read side to share across requests.
  ReadCache* read_cache() const;
  // What the subject cache holds now: subjects, and their estimated bytes.
  std::pair<size_t, size_t> CachedSubjects() const;
  Result<SubjectState> Subject(const std::string& id) const;
  // A safety case entered or imported by the safety team (direct_case.h),
  // read from its stream; NotFound when there is none.
  Result<DirectCase> ReadDirectCase(const std::string& id) const;
  // Reads a subject in place, without copying it.
  Status ReadSubject(const std::string& id, const std::function<void(const SubjectState&)>& fn) const;
  // Whether the database is locked (study.lock), as this process follows the
  // study's stream: with a subject just read, as of that read.
  bool DatabaseLocked() const;
  // Reads follow other processes' commits within kReadFollowLagUs; after
  // this call, they see every commit made before it, by any process (one
  // read of the log's new events): for a client that has just written
  // through another server and must read its own write.
  static constexpr int64_t kReadFollowLagUs = 20'000;
  Status SeeAllCommits() const;
  // The subject as it stood at a past moment: its events up to then, replayed.
  // NotFound when it did not exist yet.
  Result<SubjectState> SubjectAsOf(const std::string& id, int64_t until_us) const;
  Result<EligibilityResult> CheckEligibility(const std::string& subject) const;
  Result<std::vector<VisitSchedule>> Schedule(const std::string& subject) const;
  Result<FormStatus> StatusOfForm(const std::string& subject, const std::string& visit, const std::string& form) const;

 private:
  Capture(EventStore* store, Env* env, std::string study_id, const CaptureOptions& options);
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace trialcore::capture
