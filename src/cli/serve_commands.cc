// trialcore serve and trialcore user: the HTTP API and its accounts.
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <ostream>
#include <thread>

#include "api/credentials.h"
#include "api/server.h"
#include "api/users.h"
#include "capture/projection.h"
#include "cli/commands.h"
#include "cli/mail_notifier.h"
#include "cli/nats_publisher.h"
#include "cli/progress.h"
#include "cli/stop_signals.h"
#include "cli/store_access.h"
#include "store/open_store.h"
#include "study/study.h"

namespace trialcore::cli {

namespace {

// scripts/build.sh builds the web application into build/web, beside the program.
std::string DefaultWebRoot() {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return "";
  std::string exe(path, static_cast<size_t>(n));
  return exe.substr(0, exe.rfind('/')) + "/web";
}

}  // namespace

Status Serve(const ServeArgs& args, Context& ctx) {
  Env* env = ctx.env;
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(args.db, env, StoreUse::kServer));
  // A database whose capture tables are missing or of an older build gets
  // them rebuilt before the first request, with progress, not during it.
  std::unique_ptr<Progress> progress;
  std::string rebuilding;
  TC_RETURN_IF_ERROR(capture::EnsureProjections(store.get(), [&](const std::string& study, uint64_t done, uint64_t of) {
    if (study != rebuilding) {
      if (progress) progress->Done();
      progress = std::make_unique<Progress>(ctx, "rebuilding the capture tables of " + study, of);
      rebuilding = study;
    }
    progress->Update(done);
  }));
  if (progress) progress->Done();
  return ServeStore(*store, args, env, ctx);
}

Status ServeStore(EventStore& store, const ServeArgs& args, Env* env, Context& ctx) {
  api::ServerOptions o;
  o.bind = args.bind;
  o.port = args.port;
  o.tls_cert = args.tls_cert;
  o.tls_key = args.tls_key;
  if (args.session_idle_seconds <= 0 || args.session_max_seconds <= 0) {
    return InvalidArgument("session timeouts must be positive numbers of seconds");
  }
  o.session_idle_us = args.session_idle_seconds * 1'000'000;
  o.session_max_us = args.session_max_seconds * 1'000'000;
  if (args.login_rate < 1) return InvalidArgument("--login-rate must be at least 1");
  o.login_attempts_per_minute = args.login_rate;
  o.trusted_proxies = args.trusted_proxies;
  o.web_root = args.web_root.empty() ? DefaultWebRoot() : args.web_root;
  if (!args.metrics_token_file.empty()) {
    TC_ASSIGN_OR_RETURN(std::string text, env->ReadFileToString(args.metrics_token_file));
    TC_ASSIGN_OR_RETURN(o.metrics_token, api::SecretFromText(text, "--metrics-token-file " + args.metrics_token_file));
  }
  if (!args.web_root.empty() && !env->FileExists(args.web_root + "/index.html")) {
    return InvalidArgument("--web " + args.web_root +
                           ": no index.html there (build the web application with scripts/build.sh)");
  }
  StopSignals stop_signals;  // before the server's threads start
  // Publishing runs beside the server and stops with it; a NATS server that
  // is away is retried, and nothing is lost meanwhile (the log is the outbox).
  std::unique_ptr<publish::EventPublisher> publisher;
  if (!args.nats_url.empty()) {
    TC_ASSIGN_OR_RETURN(publisher, MakePublisher(&store, args.nats_url, args.nats_stream, ctx));
  }
  // Telling unblinded contacts runs beside the server too, from the same log.
  std::unique_ptr<notify::Notifier> notifier;
  if (!args.smtp_url.empty() || !args.mail_from.empty()) {
    if (args.smtp_url.empty()) return InvalidArgument("--mail-from needs --smtp, the server that sends the mail");
    if (args.mail_from.empty()) return InvalidArgument("--mail-from: give the address notifications are sent from");
    TC_ASSIGN_OR_RETURN(notifier, MakeNotifier(&store, args.smtp_url, args.mail_from, ctx));
  }
  TC_ASSIGN_OR_RETURN(auto server, api::Server::Create(&store, env, o));
  TC_RETURN_IF_ERROR(server->Listen());
  ctx.out << "serving the web application at " << server->url() << "/ and the API at " << server->url()
          << "/api/v1 (stop with Ctrl-C)" << std::endl;
  if (publisher) {
    publisher->Start();
    ctx.out << "publishing every committed event to NATS at " << args.nats_url << std::endl;
  }
  if (notifier) {
    notifier->Start();
    ctx.out << "telling unblinded contacts by e-mail through " << args.smtp_url << std::endl;
  }
  Status st = stop_signals.RunUntilStopped([&] { return server->Run(); }, [&] { server->Stop(); });
  if (notifier) notifier->Stop();
  if (publisher) publisher->Stop();
  ctx.out << "stopped" << std::endl;
  return st;
}

namespace {

Result<std::string> ReadPassword(bool from_stdin) {
  if (!from_stdin) {
    if (const char* p = std::getenv("TRIALCORE_PASSWORD"); p && *p) return std::string(p);
    return InvalidArgument("give the password on standard input with --password-stdin, or in $TRIALCORE_PASSWORD");
  }
  std::string line;
  if (!std::getline(std::cin, line)) return InvalidArgument("no password on standard input");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

Status UserCommand(const UserArgs& args, Context& ctx) {
  StoreOpenOptions so;
  so.env = ctx.env;
  TC_ASSIGN_OR_RETURN(auto store, OpenEventStore(args.db, so));
  TC_ASSIGN_OR_RETURN(auto users, api::UserDirectory::Open(store.get(), ctx.env));
  Actor by{args.as_user, "system_admin"};
  if (args.action == "add") {
    TC_ASSIGN_OR_RETURN(std::string password, ReadPassword(args.password_stdin));
    TC_RETURN_IF_ERROR(users->Add(args.id, args.full_name, password, by));
    ctx.out << "added user " << args.id << " (" << args.full_name << ")\n";
  } else if (args.action == "disable") {
    TC_RETURN_IF_ERROR(users->Disable(args.id, args.reason, by));
    ctx.out << "disabled user " << args.id << "\n";
  } else if (args.action == "reset-password") {
    TC_ASSIGN_OR_RETURN(std::string password, ReadPassword(args.password_stdin));
    TC_RETURN_IF_ERROR(users->ResetPassword(args.id, password, by));
    ctx.out << "reset the password of " << args.id << "\n";
  } else if (args.action == "grant" || args.action == "revoke") {
    if (!study::IsKnownRole(args.role)) {
      return InvalidArgument("unknown role '" + args.role + "' (see doc/roles.md)");
    }
    api::Grant g{args.study, args.role, args.site};
    if (args.action == "grant") {
      TC_RETURN_IF_ERROR(users->AddGrant(args.id, g, args.reason, by));
      ctx.out << "granted " << args.role << " on " << args.study << " at site " << args.site << " to " << args.id
              << "\n";
    } else {
      TC_RETURN_IF_ERROR(users->RevokeGrant(args.id, g, args.reason, by));
      ctx.out << "revoked " << args.role << " on " << args.study << " at site " << args.site << " from " << args.id
              << "\n";
    }
  } else if (args.action == "token") {
    TC_ASSIGN_OR_RETURN(std::string token,
                        users->IssueToken(args.id, api::Grant{args.study, args.role, args.site}, by));
    ctx.out << token << "\n";
    ctx.err << "an API token for " << args.id << " as " << args.role << " on " << args.study << " at site " << args.site
            << "; it is shown only now (only its hash is kept): send it as 'Authorization: Bearer <token>'\n";
  } else if (args.action == "revoke-token") {
    TC_RETURN_IF_ERROR(users->RevokeToken(args.id, args.token_hash, args.reason, by));
    ctx.out << "revoked the token " << args.token_hash << "… of " << args.id << "\n";
  } else if (args.action == "list") {
    for (const auto& u : users->All()) {
      ctx.out << u.id << "\t" << u.full_name << "\t" << (u.disabled ? "disabled" : "active");
      for (const auto& g : u.grants) ctx.out << "\t" << g.study << ":" << g.role << "@" << g.site;
      for (const auto& t : u.tokens) {
        ctx.out << "\ttoken " << t.hash.substr(0, 12) << (t.revoked ? " (revoked)" : "") << " " << t.grant.role << "@"
                << t.grant.site;
      }
      ctx.out << "\n";
    }
  } else {
    return InvalidArgument("unknown user action " + args.action);
  }
  return Status::Ok();
}

}  // namespace trialcore::cli
