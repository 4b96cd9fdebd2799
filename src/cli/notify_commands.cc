// trialcore notify send and trialcore notify list: e-mail to a study's
// unblinded contacts when a case is unblinded (src/notify, doc/notifications.md).
#include <ostream>

#include "cli/commands.h"
#include "cli/mail_notifier.h"
#include "cli/stop_signals.h"
#include "cli/store_access.h"
#include "core/json.h"
#include "notify/smtp.h"

namespace trialcore::cli {

Result<std::unique_ptr<notify::Notifier>> MakeNotifier(EventStore* store, const std::string& smtp_url,
                                                       const std::string& mail_from, Context& ctx) {
  notify::NotifierOptions o;
  o.smtp_url = smtp_url;
  o.mail_from = mail_from;
  o.env = ctx.env;
  o.on_problem = [&ctx, smtp_url](const Status& s) {
    if (s.ok()) {
      ctx.err << "trialcore: sending notifications through " << smtp_url << " again" << std::endl;
    } else {
      ctx.err << "trialcore: notifications: " << s.message() << " (tried again later)" << std::endl;
    }
  };
  return notify::Notifier::Create(store, std::move(o));
}

Status NotifySend(const NotifySendArgs& args, Context& ctx) {
  // The options first: a mistake there is named before the database is opened.
  TC_RETURN_IF_ERROR_CTX(notify::CheckSmtpUrl(args.smtp_url), "--smtp");
  if (args.mail_from.empty()) return InvalidArgument("--mail-from: give the address notifications are sent from");
  TC_RETURN_IF_ERROR_CTX(notify::CheckMailAddress(args.mail_from), "--mail-from");
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(args.db, ctx.env, args.once ? StoreUse::kCommand : StoreUse::kServer));
  TC_ASSIGN_OR_RETURN(auto notifier, MakeNotifier(store.get(), args.smtp_url, args.mail_from, ctx));
  if (args.once) {
    TC_ASSIGN_OR_RETURN(notify::DeliveryCounts c, notifier->DeliverDue());
    ctx.out << "unblindings planned: " << c.unblindings << "; mails sent: " << c.sent << "; failed: " << c.failed
            << "; claimed by another notifier: " << c.skipped << std::endl;
    for (const std::string& e : c.errors) ctx.err << "trialcore: not sent: " << e << std::endl;
    if (c.next_due_us > 0) {
      ctx.out << "the next attempt is due at " << FormatTimeMicros(c.next_due_us) << std::endl;
    }
    // A mail not sent is recorded and will be retried; the run still failed to send it.
    if (c.failed > 0)
      return IoError(std::to_string(c.failed) + " notification(s) not sent; see `trialcore notify list`");
    return Status::Ok();
  }
  StopSignals stop_signals;  // before the notifier's thread starts
  notifier->Start();
  ctx.out << "sending notifications of unblinded cases in " << args.db << " through " << args.smtp_url
          << " as cases are unblinded (stop with Ctrl-C)" << std::endl;
  Status st = stop_signals.RunUntilStopped([&] { return notifier->Wait(); }, [&] { notifier->RequestStop(); });
  ctx.out << "stopped" << std::endl;
  return st;
}

Status NotifyList(const NotifyListArgs& args, Context& ctx) {
  if (args.format != "text" && args.format != "json") {
    return InvalidArgument("--format must be text or json, not " + args.format);
  }
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(args.db, ctx.env));
  TC_ASSIGN_OR_RETURN(auto list, notify::ListNotifications(*store, args.study));
  if (args.format == "json") {
    for (const auto& n : list) {
      Value::Object o;
      o["study"] = Value(n.study);
      o["unblinding_seq"] = Value(static_cast<int64_t>(n.unblinding_seq));
      o["case"] = Value(n.case_id);
      o["name"] = Value(n.name);
      o["email"] = Value(n.email);
      o["role"] = Value(n.role);
      o["state"] = Value(std::string(notify::NotificationStateName(n.state)));
      o["attempts"] = Value(n.attempts);
      if (n.updated_us > 0) o["updated"] = Value(FormatTimeMicros(n.updated_us));
      if (!n.mail_subject.empty()) o["subject"] = Value(n.mail_subject);
      if (!n.smtp_response.empty()) o["smtp_response"] = Value(n.smtp_response);
      if (!n.error.empty()) o["error"] = Value(n.error);
      if (n.next_attempt_us > 0) o["next_attempt"] = Value(FormatTimeMicros(n.next_attempt_us));
      ctx.out << ToJson(Value(std::move(o))) << "\n";
    }
    return Status::Ok();
  }
  if (list.empty()) {
    ctx.out << "no notifications" << (args.study.empty() ? "" : " of study " + args.study) << std::endl;
    return Status::Ok();
  }
  for (const auto& n : list) {
    ctx.out << n.study << "  case " << n.case_id << " (event " << n.unblinding_seq << ")  " << n.name << " <" << n.email
            << "> " << n.role << "  " << notify::NotificationStateName(n.state);
    if (n.attempts > 0) ctx.out << " after " << n.attempts << (n.attempts == 1 ? " attempt" : " attempts");
    if (n.updated_us > 0) ctx.out << " at " << FormatTimeMicros(n.updated_us);
    if (n.state == notify::NotificationState::kSent) ctx.out << ": " << n.smtp_response;
    if (n.state == notify::NotificationState::kFailed) {
      ctx.out << ": " << n.error << "; next attempt at " << FormatTimeMicros(n.next_attempt_us);
    }
    ctx.out << "\n";
  }
  return Status::Ok();
}

}  // namespace trialcore::cli
