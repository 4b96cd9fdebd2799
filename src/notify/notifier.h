// Telling a study's unblinded contacts (its study file's
// safety.unblinded_contacts) by e-mail when the safety role unblinds a case:
// a reaction to safety.case.unblinded events, with the event log as the
// outbox. What was planned, claimed, sent and failed is itself recorded as
// events of the system log "trialcore-notifications" in the same database,
// on the verifiable audit trail; the notifier keeps nothing in memory that
// its correctness needs, and resumes after a restart from that log.
//
// The system log holds:
//   stream "unblinding/<seq>"           notification.planned: the study, the
//                                       case and the recipients (the study's
//                                       contacts when the unblinding was met);
//   stream "unblinding/<seq>/to/<k>"    per recipient k: notification.claimed
//                                       (before sending), then
//                                       notification.sent {to, subject, SMTP
//                                       response} or notification.failed
//                                       {error, next attempt}, claimed again
//                                       when the attempt is due;
//   stream "scanner"                    notification.scanned: how far the log
//                                       was read (a checkpoint, now and then).
// Each entity of those streams holds its state (ListNotifications).
//
// Once per recipient, also with several notifiers on one database: a claim
// is appended with the recipient stream's expected version, decided on the
// same read of that stream (whether the mail is due), and only the notifier
// whose claim is stored sends; the other skips. A claim whose
// notifier never recorded an outcome (it died while sending) is taken over
// after claim_timeout_us, so a crash at that moment may send a mail twice,
// never lose one.
//
// Thread safety: DeliverDue, Start and Stop from one thread at a time;
// RequestStop and Wait from any. Destroy the notifier before its store.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/status.h"
#include "store/event_store.h"

namespace trialcore::notify {

inline constexpr char kNotificationsLog[] = "trialcore-notifications";

class MailTransport;

struct NotifierOptions {
  std::string smtp_url;   // smtp://host:port or smtps://host:port
  std::string mail_from;  // name@domain: the envelope sender and From
  Env* env = nullptr;     // the clock of due attempts and Date headers; required
  // The wait after a failed attempt, doubling with each failure up to max.
  int64_t retry_delay_us = 30'000'000;
  int64_t max_retry_delay_us = 3600'000'000LL;
  // A claim with no outcome after this long is taken over: longer than any send.
  int64_t claim_timeout_us = 600'000'000;
  int64_t smtp_timeout_ms = 30'000;
  // Who claims, on the audit trail (default: host name and process id).
  std::string instance;
  // For tests: the transport instead of SMTP to smtp_url.
  std::shared_ptr<MailTransport> transport;
  // Called on Start's thread when a send fails or the log cannot be read,
  // and with Ok when it works again; each problem once.
  std::function<void(const Status&)> on_problem;
};

struct DeliveryCounts {
  uint64_t unblindings = 0;  // unblinding events planned by this call
  uint64_t sent = 0;
  uint64_t failed = 0;
  uint64_t skipped = 0;             // claimed by another notifier first
  int64_t next_due_us = 0;          // the earliest attempt still to come (failed ones), 0 when none
  std::vector<std::string> errors;  // why each failed send failed
};

class Notifier {
 public:
  // InvalidArgument naming --smtp or --mail-from for a bad URL or address.
  static Result<std::unique_ptr<Notifier>> Create(EventStore* store, NotifierOptions options);
  ~Notifier();  // stops Start's thread
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Plans every unblinding committed before the call, then sends every
  // mail that is due (never tried, or failed and its wait over). A failed
  // send is recorded and counted, not returned; errors are the store's.
  Result<DeliveryCounts> DeliverDue();

  // Delivers on a thread of its own as unblindings are committed and
  // retries fall due, until Stop.
  void Start();
  void RequestStop();
  void Stop();  // RequestStop and Wait
  Status Wait();

 private:
  class Impl;
  explicit Notifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

enum class NotificationState { kPending, kSent, kFailed };
std::string_view NotificationStateName(NotificationState state);

// One mail to one contact about one unblinding, as the system log has it.
struct NotificationInfo {
  std::string study;
  uint64_t unblinding_seq = 0;
  std::string case_id;
  std::string name, email, role;
  // Pending: not sent yet (never tried, or being sent); failed: the last
  // attempt failed, another is due at next_attempt_us.
  NotificationState state = NotificationState::kPending;
  int64_t attempts = 0;
  int64_t updated_us = 0;  // the last event's time (0: never tried)
  std::string mail_subject, smtp_response, error;
  int64_t next_attempt_us = 0;
};

// Every notification, of one study or (empty) of all, by unblinding and recipient.
Result<std::vector<NotificationInfo>> ListNotifications(EventStore& store, const std::string& study = "");

}  // namespace trialcore::notify
