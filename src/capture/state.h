// The current state of a study's data capture: a projection of its events,
// rebuilt by replaying them (capture/replay.cc) and advanced by each event
// the capture service appends. Readers (scenarios, the API) use these types.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/value.h"

namespace trialcore::capture {

struct ItemState {
  Value value;            // null when empty
  std::string not_done;   // reason, when marked not done
  bool verified = false;  // source data verified since the last change
  uint64_t seq = 0;       // the event that last changed it
};

// A verbatim term coded to MedDRA: an adverse event row's (ae.coded) or a
// safety case's (safety.case.coded).
struct SafetyCoding {
  std::string verbatim;  // the term as coded; a different term on the row needs coding again
  std::string meddra_version, meddra_language;
  std::string method;  // exact | normalised | chosen
  uint32_t llt = 0, pt = 0, hlt = 0, hlgt = 0, soc = 0;
  std::string llt_name, pt_name, hlt_name, hlgt_name, soc_name;
  Actor by;
  int64_t time_us = 0;
};

struct RowState {
  std::map<std::string, ItemState> items;
  bool removed = false;
  // The row's adverse event term coded (the study's AE form only): by the
  // autocoder when it is saved, or by a person; gone when the term changes
  // to one the autocoder cannot code.
  std::optional<SafetyCoding> coding;
};

struct FormState {
  std::map<std::string, ItemState> items;               // non-repeating items
  std::map<std::string, std::map<int, RowState>> rows;  // group -> row number -> row
  bool frozen = false;
  bool locked = false;
  bool touched = false;        // anything was ever saved
  int64_t first_saved_us = 0;  // when it was first saved (0: never)
  const ItemState* Find(const std::string& item) const;
};

struct VisitState {
  std::map<std::string, FormState> forms;
  bool missed = false;
  std::string missed_reason;
};

// The states of a query, defined here once for the API, the dashboard, the
// inbox and the casebook (doc/api.md, "Query states"):
//   open      awaiting the site (raised, or re-opened by a reviewer);
//   answered  the site answered: awaiting the monitor or data manager;
//   closed    resolved by a reviewer, or by the data once its check passes;
//   cancelled withdrawn by a reviewer as raised in error.
// Open and answered together are "unresolved": they block a database lock.
enum class QueryState { kOpen, kAnswered, kClosed, kCancelled };
std::string_view QueryStateName(QueryState s);
std::optional<QueryState> QueryStateNamed(std::string_view name);  // nullopt: no such state
// Every state in the order lists show them.
inline constexpr QueryState kQueryStates[] = {QueryState::kOpen, QueryState::kAnswered, QueryState::kClosed,
                                              QueryState::kCancelled};

struct QueryMessage {
  std::string action;  // opened, answered, closed, cancelled, reopened
  std::string message;
  Actor actor;
  int64_t time_us = 0;
};

struct Query {
  int number = 0;
  std::string subject;
  std::string visit, form, item;
  std::string group;  // with row, for items of repeating groups
  int row = 0;
  std::string check;  // the edit check that raised it; empty when raised by a person
  QueryState state = QueryState::kOpen;
  std::vector<QueryMessage> thread;  // the first: its opening, by the user who raised it or whose save did
  // For a query an edit check raised: the save that made the check fail (the
  // user's own save of that command; for events written before query.opened
  // named it, the last save of the same command), by its version in the
  // subject's stream (projected: known before the batch is stored) and its
  // position in the log.
  uint64_t triggering_save_version = 0;
  uint64_t triggering_save_seq = 0;

  bool raised_by_check() const { return !check.empty(); }

  // Open or answered: still waiting for the site or for the monitor.
  bool unresolved() const { return state == QueryState::kOpen || state == QueryState::kAnswered; }
};

struct Signature {
  int number = 0;
  std::string visit;  // empty: the whole casebook
  std::string form;   // empty: the whole visit
  std::string meaning;
  std::string content_hash;  // hex SHA-256 of exactly what was signed
  std::string nonce;         // hex, hashed with it; empty for signatures made before nonces
  Actor signer;
  std::string signer_name;
  int64_t time_us = 0;
  bool broken = false;
};

// A safety case opened by a serious adverse event saved on the CRF (capture/
// sae_reaction.h). The case reads its facts (term, criteria, onset ...) from
// the AE row itself, so the case and the CRF cannot disagree.
//
// The workflow (doc/safety_cases.md) adds what the safety team decides: each
// step an event in the subject's stream, so the case, its CRF row and every
// decision share one history.

struct SafetyAssessment {
  int version = 0;                // the case version assessed
  std::string sponsor_causality;  // related | not_related
  std::string expectedness;       // expected | unexpected
  std::string rsi_document;       // the reference safety information it was assessed against
  std::string study_version;      // of the study file holding that RSI
  std::string comment;
  Actor by;
  int64_t time_us = 0;
};

struct SafetySubmission {
  int number = 0;  // per case, from 1
  int version = 0;
  std::string destination;  // FDA | EU
  std::string batch_number, message_id, safety_report_id;
  std::string file_sha256;  // of the E2B(R3) file as sent
  bool nullification = false;
  Actor by;
  int64_t time_us = 0;
  // The receiver's acknowledgement: "" (none yet), accepted or rejected.
  std::string ack;
  std::string ack_code;  // CA / CR (message), with the batch's AA / AE / AR
  std::vector<std::string> ack_errors;
  int64_t ack_us = 0;
};

struct SafetyCase {
  int number = 0;  // per subject, from 1: the case id is "<subject>-SAE<number>"
  std::string visit, form, group;
  int row = 0;
  int64_t aware_us = 0;    // the save that made it serious: day 0 of its clocks
  int64_t updated_us = 0;  // the latest follow-up from the CRF
  int followups = 0;
  bool nullification_proposed = false;  // its row was removed

  // The version being prepared: 1 until a version is approved; follow-up
  // information after an approval starts the next one, whose own day 0 is
  // that information's arrival (version_aware_us).
  int version = 1;
  int64_t version_aware_us = 0;
  bool triaged = false, valid = false;
  std::vector<std::string> missing;  // what triage found missing for validity
  std::string duplicate_of;          // triage found it a duplicate of this case
  std::optional<SafetyCoding> coding;
  std::optional<SafetyAssessment> assessment;
  int approved_version = 0;
  Actor approved_by;
  int64_t approved_us = 0;
  std::vector<SafetySubmission> submissions;
  bool nullified = false;
  std::string nullification_reason;
  bool unblinded = false;  // one case unblinded for expedited reporting
};
std::string SafetyCaseId(const std::string& subject, int number);

struct SubjectState {
  std::string id;
  std::string site;
  std::string status;  // screening, enrolled, screen_failed, withdrawn, completed
  std::map<std::string, VisitState> visits;
  std::map<int, Query> queries;
  std::map<int, Signature> signatures;
  std::map<int, SafetyCase> cases;
  bool frozen = false;
  bool locked = false;
  // Inactivated (a subject screened in error, such as a mis-keyed number):
  // kept with its history, read-only, and left out of lists by default.
  bool inactive = false;
  std::string inactive_reason;
  uint64_t version = 0;  // of its stream
  // How many of its stream's events a blinded role sees (capture/blinding.h):
  // the version they read and write against, which hidden changes leave alone.
  uint64_t blinded_version = 0;
  // The saves (stream version, position) of the latest run of consecutive
  // form.saved events: a command's own saves, which the queries its checks
  // open name as their trigger (Query::triggering_save_seq).
  std::vector<std::pair<uint64_t, uint64_t>> last_saves;
  bool last_event_saved = false;
};

struct StudyState {
  std::string study_id;
  std::string version;       // the study definition in force
  std::string content_hash;  // hex
  std::string source;        // its YAML
  bool locked = false;
  uint64_t study_stream_version = 0;
  std::map<std::string, SubjectState> subjects;
};

// Why a form instance (or, with visit and form empty, the subject) cannot be
// changed now, the first of these that applies; kNone when it can. Commands
// refuse by it and the form page shows it, so the two never disagree.
enum class ReadOnly {
  kNone,
  kDatabaseLocked,
  kSubjectInactive,
  kSubjectLocked,
  kSubjectFrozen,
  kFormLocked,
  kFormFrozen,
  kVisitMissed
};
std::string_view ReadOnlyName(ReadOnly r);  // "database_locked", "subject_frozen" ...
ReadOnly WhyReadOnly(bool database_locked, const SubjectState& subject, const std::string& visit,
                     const std::string& form);

// Applies one event of the study to the state (the projection's one rule).
void ApplyEvent(StudyState& state, const Event& event);
// The same for one event of the subject's own stream.
// A row of a repeating group (removed ones too); nullptr when it never was.
const RowState* FindRow(const SubjectState& subject, const std::string& visit, const std::string& form,
                        const std::string& group, int row);
void ApplySubjectEvent(SubjectState& subject, const Event& event);
// The coding an ae.coded or safety.case.coded event records.
SafetyCoding CodingOf(const Event& event);
// A safety.case.* event on the case it names.
void ApplySafetyCaseEvent(SafetyCase& safety_case, const Event& event);

// Entity paths, also the audit trail's subjects of change.
std::string SubjectStream(const std::string& subject);
std::string ItemPath(const std::string& subject, const std::string& visit, const std::string& form,
                     const std::string& group, int row, const std::string& item);

}  // namespace trialcore::capture
