#include "notify/notifier.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>

#include "notify/smtp.h"
#include "notify/unblinding_mail.h"
#include "study/study.h"

namespace trialcore::notify {
namespace {

constexpr char kPlanned[] = "notification.planned";
constexpr char kClaimed[] = "notification.claimed";
constexpr char kSent[] = "notification.sent";
constexpr char kFailed[] = "notification.failed";
constexpr char kScanned[] = "notification.scanned";
constexpr char kScanner[] = "scanner";
// The checkpoint is recorded after this many events read since the last
// one: often enough that a restart rereads little, seldom enough that the
// audit trail is not filled with it.
constexpr uint64_t kCheckpointEvery = 10'000;
constexpr size_t kReadBatch = 1024;
// The longest the running notifier sleeps: bounds a wake-up it missed.
constexpr int64_t kIdlePollUs = 60'000'000;

const Actor kNotifierActor{"trialcore-notifier", "system"};

std::string PlannedStream(uint64_t seq) { return "unblinding/" + std::to_string(seq); }
std::string RecipientStream(uint64_t seq, size_t k) { return PlannedStream(seq) + "/to/" + std::to_string(k); }

std::string Text(const Value& v, const char* key) {
  const Value* f = v.Find(key);
  return f && f->is_string() ? f->as_string() : "";
}
int64_t Int(const Value& v, const char* key) {
  const Value* f = v.Find(key);
  return f && f->kind() == Value::Kind::kInt ? f->as_int() : 0;
}

EventDraft Draft(const std::string& stream, const char* type, std::string reason, Value entity) {
  EventDraft d;
  d.stream = stream;
  d.type = type;
  d.actor = kNotifierActor;
  d.reason = std::move(reason);
  d.payload = Value::Object{{"set", Value::Object{{stream, std::move(entity)}}}};
  return d;
}

// The contacts of the study version in force now: a contact added by an
// amendment is told of an unblinding that was not yet notified.
Result<std::vector<study::UnblindedContact>> ContactsOf(EventStore& store, const std::string& study_id) {
  EventFilter f;
  f.study = study_id;
  f.stream = "study";
  std::string source, version;
  TC_RETURN_IF_ERROR(store.ForEachEvent(f, [&](const Event& e) {
    if (e.type == "study.published" || e.type == "study.migrated") {
      source = Text(e.payload, "source");
      version = Text(e.payload, "version");
    }
    return Status::Ok();
  }));
  if (source.empty()) return std::vector<study::UnblindedContact>{};
  std::vector<study::StudyError> errors;
  const std::string name = "study " + study_id + " version " + version;
  auto loaded = study::LoadStudy(source, name, &errors, study::LoadOptions{.published = true});
  if (!loaded.ok()) return DataLoss("the published definition of " + name + " no longer loads");
  return (*loaded)->safety.unblinded_contacts;
}

std::string DefaultInstance() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "localhost") + ":" + std::to_string(getpid());
}

// The planned entities ("unblinding/<seq>"), oldest unblinding first.
Result<std::vector<EntityValue>> PlannedEntities(EventStore& store) {
  std::vector<std::string> paths;
  TC_RETURN_IF_ERROR(store.QueryProjections(
      "SELECT path FROM entity_values WHERE study = $1", {Value(kNotificationsLog)}, [&](const ProjectionRow& r) {
        const std::string& p = r[0].as_string();
        if (p.starts_with("unblinding/") && p.find('/', 11) == std::string::npos) {
          paths.push_back(p);
        }
        return Status::Ok();
      }));
  std::vector<EntityValue> out;
  for (const auto& p : paths) {
    TC_ASSIGN_OR_RETURN(auto v, store.ReadEntity(kNotificationsLog, p));
    if (v) out.push_back(std::move(*v));
  }
  std::sort(out.begin(), out.end(),
            [](const EntityValue& a, const EntityValue& b) { return Int(a.value, "seq") < Int(b.value, "seq"); });
  return out;
}

std::vector<study::UnblindedContact> RecipientsOf(const EntityValue& planned) {
  std::vector<study::UnblindedContact> out;
  const Value* r = planned.value.Find("recipients");
  if (r == nullptr || r->kind() != Value::Kind::kArray) return out;
  for (const Value& c : r->as_array()) {
    study::UnblindedContact contact;
    contact.name = Text(c, "name");
    contact.email = Text(c, "email");
    contact.role = Text(c, "role");
    out.push_back(std::move(contact));
  }
  return out;
}

}  // namespace

std::string_view NotificationStateName(NotificationState state) {
  switch (state) {
    case NotificationState::kSent:
      return "sent";
    case NotificationState::kFailed:
      return "failed";
    case NotificationState::kPending:
      break;
  }
  return "pending";
}

// Invariant: position_ only says how far this process has read the log for
// unblindings it planned; it may be behind the stored checkpoint, never
// ahead of an unblinding not planned.
class Notifier::Impl {
 public:
  Impl(EventStore* store, NotifierOptions options) : store_(store), o_(std::move(options)) {
    if (o_.instance.empty()) o_.instance = DefaultInstance();
    transport_ = o_.transport ? o_.transport
                              : std::shared_ptr<MailTransport>(MakeSmtpTransport(o_.smtp_url, o_.smtp_timeout_ms));
  }
  ~Impl() { Stop(); }

  Result<DeliveryCounts> DeliverDue() {
    DeliveryCounts c;
    TC_ASSIGN_OR_RETURN(uint64_t through, store_->LastSeq());
    TC_RETURN_IF_ERROR(Scan(through, &c));
    TC_RETURN_IF_ERROR(Deliver(&c));
    return c;
  }

  void Start() {
    if (thread_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      stop_ = false;
      final_ = Status::Ok();
    }
    auto last = store_->LastSeq();
    subscription_ = store_->Subscribe(last.ok() ? *last : 0, [this](const Event& e) {
      if (e.type != kUnblindedEvent) return;
      std::lock_guard lock(mu_);
      wake_ = true;
      cv_.notify_all();
    });
    thread_ = std::thread([this] { Loop(); });
  }

  void RequestStop() {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }

  void Stop() {
    RequestStop();
    (void)Wait();
  }

  Status Wait() {
    {
      std::lock_guard join_lock(join_mu_);
      if (thread_.joinable()) thread_.join();
      subscription_.reset();
    }
    std::lock_guard lock(mu_);
    return final_;
  }

 private:
  void Loop() {
    std::string reported;
    int64_t error_delay_us = std::min<int64_t>(o_.retry_delay_us, 1'000'000);
    while (true) {
      {
        std::lock_guard lock(mu_);
        if (stop_) return;
        wake_ = false;
      }
      int64_t wait_us = kIdlePollUs;
      auto r = DeliverDue();
      if (!r.ok()) {
        Report(r.status(), &reported);
        wait_us = error_delay_us;
        error_delay_us = std::min(error_delay_us * 2, o_.max_retry_delay_us);
      } else {
        error_delay_us = std::min<int64_t>(o_.retry_delay_us, 1'000'000);
        if (!r->errors.empty()) {
          Report(IoError(r->errors.front()), &reported);
        } else if (r->sent > 0) {
          Report(Status::Ok(), &reported);
        }
        if (r->next_due_us > 0) wait_us = std::clamp<int64_t>(r->next_due_us - o_.env->NowMicros(), 1000, kIdlePollUs);
      }
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::microseconds(wait_us), [&] { return stop_ || wake_; });
    }
  }

  void Report(const Status& s, std::string* reported) {
    std::string text = s.ok() ? "" : s.ToString();
    if (text == *reported) return;
    *reported = text;
    if (o_.on_problem) o_.on_problem(s);
  }

  Result<uint64_t> StoredCheckpoint() {
    TC_ASSIGN_OR_RETURN(auto v, store_->ReadEntity(kNotificationsLog, kScanner));
    return v ? static_cast<uint64_t>(Int(v->value, "through")) : 0;
  }

  // Plans every unblinding of a study with seq <= through.
  Status Scan(uint64_t through, DeliveryCounts* c) {
    TC_ASSIGN_OR_RETURN(uint64_t stored, StoredCheckpoint());
    uint64_t position = std::max(position_, stored);
    while (position < through) {
      std::vector<Event> found;
      uint64_t last = position;
      EventFilter f;
      f.after_seq = position;
      f.limit = kReadBatch;
      TC_RETURN_IF_ERROR(store_->ForEachEvent(f, [&](const Event& e) {
        if (e.seq > through) return Status::Ok();
        last = e.seq;
        if (e.type == kUnblindedEvent && !IsSystemLog(e.study)) found.push_back(e);
        return Status::Ok();
      }));
      if (last == position) break;
      for (const Event& e : found) TC_RETURN_IF_ERROR(Plan(e, c));
      position = last;
    }
    position_ = position;
    if (position_ >= stored + kCheckpointEvery) {
      AppendRequest r;
      r.study = kNotificationsLog;
      r.events.push_back(Draft(kScanner, kScanned,
                               "the log was read for unblindings through event " + std::to_string(position_),
                               Value::Object{{"through", static_cast<int64_t>(position_)}}));
      TC_RETURN_IF_ERROR(store_->Append(r).status());
    }
    return Status::Ok();
  }

  // Records who will be told of one unblinding; once, whoever gets there first.
  Status Plan(const Event& e, DeliveryCounts* c) {
    const std::string stream = PlannedStream(e.seq);
    TC_ASSIGN_OR_RETURN(auto existing, store_->ReadEntity(kNotificationsLog, stream));
    if (existing) return Status::Ok();
    TC_ASSIGN_OR_RETURN_CTX(UnblindingFacts facts, UnblindingFactsOf(e), "planning notifications");
    TC_ASSIGN_OR_RETURN_CTX(auto contacts, ContactsOf(*store_, e.study),
                            "reading the unblinded contacts of study " + e.study);
    Value::Array recipients;
    for (const auto& ct : contacts) {
      recipients.push_back(Value::Object{{"name", ct.name}, {"email", ct.email}, {"role", ct.role}});
    }
    Value::Object entity{{"study", e.study},
                         {"seq", static_cast<int64_t>(e.seq)},
                         {"case", facts.case_id},
                         {"recipients", std::move(recipients)}};
    AppendRequest r;
    r.study = kNotificationsLog;
    r.expected_versions[stream] = kNoStream;
    r.events.push_back(Draft(stream, kPlanned, "", Value(std::move(entity))));
    auto appended = store_->Append(r);
    if (!appended.ok() && appended.status().code() == StatusCode::kAborted) return Status::Ok();  // another planned it
    TC_RETURN_IF_ERROR(appended.status());
    ++c->unblindings;
    return Status::Ok();
  }

  // When a recipient's mail is due next, from the state its stream's latest
  // event set (a claim, a failure); never once it was sent.
  int64_t DueAt(const Value& state, int64_t time_us) const {
    const std::string st = Text(state, "state");
    if (st == "sent") return std::numeric_limits<int64_t>::max();
    return st == "failed" ? Int(state, "next_attempt_us") : time_us + o_.claim_timeout_us;
  }

  Status Deliver(DeliveryCounts* c) {
    TC_ASSIGN_OR_RETURN(auto planned, PlannedEntities(*store_));
    for (const EntityValue& p : planned) {
      const auto recipients = RecipientsOf(p);
      for (size_t k = 0; k < recipients.size(); ++k) {
        const uint64_t seq = static_cast<uint64_t>(Int(p.value, "seq"));
        TC_ASSIGN_OR_RETURN(auto state, store_->ReadEntity(kNotificationsLog, RecipientStream(seq, k)));
        const int64_t now = o_.env->NowMicros();
        if (state) {
          const int64_t due = DueAt(state->value, state->time_us);
          if (due == std::numeric_limits<int64_t>::max()) continue;
          if (now < due) {
            c->next_due_us = c->next_due_us == 0 ? due : std::min(c->next_due_us, due);
            continue;
          }
        }
        TC_RETURN_IF_ERROR(Attempt(p, seq, k, recipients[k], c));
      }
    }
    return Status::Ok();
  }

  int64_t Backoff(int64_t attempts) const {
    int64_t d = std::max<int64_t>(o_.retry_delay_us, 1);
    for (int64_t i = 1; i < attempts && d < o_.max_retry_delay_us; ++i) d *= 2;
    return std::min(d, o_.max_retry_delay_us);
  }

  // Claims the mail, sends it, records the outcome.
  Status Attempt(const EntityValue& planned, uint64_t seq, size_t k, const study::UnblindedContact& to,
                 DeliveryCounts* c) {
    const std::string stream = RecipientStream(seq, k);
    int64_t version = 0;
    int64_t attempts = 1;
    EventFilter f;
    f.study = kNotificationsLog;
    f.stream = stream;
    Value last;
    int64_t last_time_us = 0;
    TC_RETURN_IF_ERROR(store_->ForEachEvent(f, [&](const Event& e) {
      version = static_cast<int64_t>(e.stream_version);
      if (e.type == kClaimed) ++attempts;
      // The state this event set (Draft), as the stream's entity holds it.
      const Value* set = e.payload.Find("set");
      const Value* state = set != nullptr ? set->Find(stream) : nullptr;
      last = state != nullptr ? *state : Value();
      last_time_us = e.time_us;
      return Status::Ok();
    }));
    // Decided again on this read, whose version the claim expects: the
    // state Deliver read may be older than it (another notifier may have
    // claimed and sent in between, on another server).
    if (version > 0 && o_.env->NowMicros() < DueAt(last, last_time_us)) {
      ++c->skipped;
      return Status::Ok();
    }
    Value::Object entity{{"study", Text(planned.value, "study")},
                         {"seq", static_cast<int64_t>(seq)},
                         {"case", Text(planned.value, "case")},
                         {"name", to.name},
                         {"email", to.email},
                         {"role", to.role},
                         {"attempts", attempts},
                         {"instance", o_.instance}};
    Value::Object claimed = entity;
    claimed["state"] = Value("sending");
    AppendRequest claim;
    claim.study = kNotificationsLog;
    claim.expected_versions[stream] = version;
    claim.events.push_back(Draft(stream, kClaimed, "attempt " + std::to_string(attempts) + " by " + o_.instance,
                                 Value(std::move(claimed))));
    auto won = store_->Append(claim);
    if (!won.ok() && won.status().code() == StatusCode::kAborted) {
      ++c->skipped;  // another notifier claimed it first and sends it
      return Status::Ok();
    }
    TC_RETURN_IF_ERROR(won.status());

    Result<std::string> sent = Internal("not sent");
    std::string mail_subject;
    auto unblinding = store_->ReadEvent(seq);
    Result<UnblindingFacts> facts =
        unblinding.ok() ? UnblindingFactsOf(*unblinding) : Result<UnblindingFacts>(unblinding.status());
    const int64_t now = o_.env->NowMicros();
    if (facts.ok()) {
      const std::string id = "unblinding." + std::to_string(seq) + "." + std::to_string(k) + "." +
                             std::to_string(attempts) + "." + facts->study;
      Mail mail = UnblindingMail(*facts, to, o_.mail_from, now, id);
      mail_subject = mail.subject;
      sent = transport_->Send(o_.mail_from, to.email, mail.text);
    } else {
      sent = facts.status();
    }
    Value::Object outcome = entity;
    AppendRequest record;
    record.study = kNotificationsLog;
    if (sent.ok()) {
      outcome["state"] = Value("sent");
      outcome["to"] = Value(to.email);
      outcome["subject"] = Value(mail_subject);
      outcome["smtp_response"] = Value(*sent);
      record.events.push_back(Draft(stream, kSent, "sent to " + to.email, Value(std::move(outcome))));
      ++c->sent;
    } else {
      const int64_t next = now + Backoff(attempts);
      outcome["state"] = Value("failed");
      outcome["error"] = Value(sent.status().message());
      outcome["next_attempt_us"] = Value(next);
      record.events.push_back(
          Draft(stream, kFailed, "not sent to " + to.email + "; tried again later", Value(std::move(outcome))));
      ++c->failed;
      c->errors.push_back(sent.status().message());
      c->next_due_us = c->next_due_us == 0 ? next : std::min(c->next_due_us, next);
    }
    // Recorded whoever holds the stream now: a mail sent must be on the trail.
    return store_->Append(record).status();
  }

  EventStore* store_;
  NotifierOptions o_;
  std::shared_ptr<MailTransport> transport_;
  uint64_t position_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool wake_ = false;
  Status final_;
  std::mutex join_mu_;
  std::thread thread_;
  std::unique_ptr<Subscription> subscription_;
};

Result<std::unique_ptr<Notifier>> Notifier::Create(EventStore* store, NotifierOptions options) {
  if (options.transport == nullptr) TC_RETURN_IF_ERROR_CTX(CheckSmtpUrl(options.smtp_url), "--smtp");
  if (options.mail_from.empty()) return InvalidArgument("--mail-from: give the address notifications are sent from");
  TC_RETURN_IF_ERROR_CTX(CheckMailAddress(options.mail_from), "--mail-from");
  if (options.env == nullptr) return InvalidArgument("the notifier needs an Env (its clock)");
  if (options.retry_delay_us <= 0 || options.max_retry_delay_us < options.retry_delay_us) {
    return InvalidArgument("the notifier's retry delays must be positive, the longest no shorter than the first");
  }
  return std::unique_ptr<Notifier>(new Notifier(std::make_unique<Impl>(store, std::move(options))));
}

Notifier::Notifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Notifier::~Notifier() = default;
Result<DeliveryCounts> Notifier::DeliverDue() { return impl_->DeliverDue(); }
void Notifier::Start() { impl_->Start(); }
void Notifier::RequestStop() { impl_->RequestStop(); }
void Notifier::Stop() { impl_->Stop(); }
Status Notifier::Wait() { return impl_->Wait(); }

Result<std::vector<NotificationInfo>> ListNotifications(EventStore& store, const std::string& study) {
  TC_ASSIGN_OR_RETURN(auto planned, PlannedEntities(store));
  std::vector<NotificationInfo> out;
  for (const EntityValue& p : planned) {
    if (!study.empty() && Text(p.value, "study") != study) continue;
    const uint64_t seq = static_cast<uint64_t>(Int(p.value, "seq"));
    const auto recipients = RecipientsOf(p);
    for (size_t k = 0; k < recipients.size(); ++k) {
      NotificationInfo n;
      n.study = Text(p.value, "study");
      n.unblinding_seq = seq;
      n.case_id = Text(p.value, "case");
      n.name = recipients[k].name;
      n.email = recipients[k].email;
      n.role = recipients[k].role;
      TC_ASSIGN_OR_RETURN(auto state, store.ReadEntity(kNotificationsLog, RecipientStream(seq, k)));
      if (state) {
        const std::string st = Text(state->value, "state");
        n.state = st == "sent"     ? NotificationState::kSent
                  : st == "failed" ? NotificationState::kFailed
                                   : NotificationState::kPending;
        n.attempts = Int(state->value, "attempts");
        n.updated_us = state->time_us;
        n.mail_subject = Text(state->value, "subject");
        n.smtp_response = Text(state->value, "smtp_response");
        n.error = Text(state->value, "error");
        n.next_attempt_us = Int(state->value, "next_attempt_us");
      }
      out.push_back(std::move(n));
    }
  }
  return out;
}

}  // namespace trialcore::notify
