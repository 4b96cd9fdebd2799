#include "api/server.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <span>
#include <thread>

#include "api/access.h"
#include "api/credentials.h"
#include "api/positions.h"
#include "api/signing_rule.h"
#include "api/users.h"
#include "api/views.h"
#include "capture/blinding.h"
#include "capture/capture.h"
#include "core/hash.h"
#include "core/json.h"
#include "rules/rules.h"
#include "store/audit.h"
#include "study/study.h"

namespace trialcore::api {

namespace {

constexpr const char* kCookie = kSessionCookie;

struct Session {
  std::string user;
  std::string csrf;
  int64_t created_us = 0;
  int64_t last_us = 0;
  bool has_signed = false;  // 21 CFR 11.200: the first signing needs ID and password
};

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kAborted:
      return 412;
    case StatusCode::kResourceExhausted:
      return 413;
    case StatusCode::kUnimplemented:
      return 501;
    default:
      return 500;
  }
}

std::string CodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
      return "invalid_argument";
    case StatusCode::kNotFound:
      return "not_found";
    case StatusCode::kAlreadyExists:
      return "already_exists";
    case StatusCode::kFailedPrecondition:
      return "failed_precondition";
    case StatusCode::kPermissionDenied:
      return "permission_denied";
    case StatusCode::kAborted:
      return "precondition_failed";
    case StatusCode::kResourceExhausted:
      return "too_large";
    default:
      return "internal";
  }
}

// A request body may name only the fields its route takes; the refusal
// lists them.
Status OnlyFields(const Value& body, std::span<const std::string_view> allowed) {
  for (const auto& [k, v] : body.as_object()) {
    if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
    std::string names;
    for (std::string_view a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
    return InvalidArgument("unknown field \"" + k + "\" (allowed: " + names + ")");
  }
  return Status::Ok();
}
Status OnlyFields(const Value& body, std::initializer_list<std::string_view> allowed) {
  return OnlyFields(body, std::span<const std::string_view>(allowed.begin(), allowed.size()));
}

// The same, for bodies of text fields only, of which `required` must be there.
Status TextFields(const Value& body, std::initializer_list<std::string_view> allowed,
                  std::initializer_list<std::string_view> required) {
  TC_RETURN_IF_ERROR(OnlyFields(body, allowed));
  for (const auto& [k, v] : body.as_object()) {
    if (!v.is_string()) return InvalidArgument("field \"" + k + "\" must be text");
  }
  for (std::string_view field : required) {
    if (body.Find(field) == nullptr) return InvalidArgument("missing field \"" + std::string(field) + "\"");
  }
  return Status::Ok();
}

// An error message as sent: each quoted part ('…' or "…", where requests'
// ids, field names, values and JSON tokens are quoted) cut to 64 bytes and
// the whole to 1 KiB, so that no reply echoes a large input back.
std::string ShortMessage(std::string_view message) {
  constexpr size_t kQuoted = 64, kWhole = 1024;
  auto cut = [](std::string_view text, size_t max) {
    size_t end = max;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    return std::string(text.substr(0, end)) + "…";
  };
  std::string out;
  size_t i = 0;
  while (i < message.size()) {
    char c = message[i];
    // An apostrophe within a word ("server's") opens no quote.
    bool opens = c == '"' || (c == '\'' && (i == 0 || !std::isalpha(static_cast<unsigned char>(message[i - 1]))));
    if (!opens) {
      out += c;
      ++i;
      continue;
    }
    size_t close = message.find(c, i + 1);
    std::string_view inside =
        message.substr(i + 1, close == std::string_view::npos ? std::string_view::npos : close - i - 1);
    out += c;
    out += inside.size() > kQuoted ? cut(inside, kQuoted) : std::string(inside);
    if (close == std::string_view::npos) break;
    out += c;
    i = close + 1;
  }
  return out.size() > kWhole ? cut(out, kWhole) : out;
}

// A whole number from `least` to 10^9 in a query parameter, or a 400 naming it.
Result<size_t> Count(const httplib::Request& req, const std::string& name, size_t fallback, size_t least) {
  if (!req.has_param(name.c_str())) return fallback;
  const std::string text = req.get_param_value(name.c_str());
  bool digits = !text.empty() && text.size() <= 9 &&
                std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || std::stoul(text) < least) {
    return InvalidArgument(name + " must be a whole number from " + std::to_string(least) + ", not \"" + text + "\"");
  }
  return static_cast<size_t>(std::stoul(text));
}

// The capture command on the form a route's path names.
Value::Object FormCommand(const std::string& op, const httplib::Request& req) {
  return Value::Object{{"op", op},
                       {"subject", std::string(req.matches[2])},
                       {"visit", std::string(req.matches[3])},
                       {"form", std::string(req.matches[4])}};
}

// The role a request asks to act in (X-Trialcore-Role), if it names one.
std::optional<std::string> WantedRole(const httplib::Request& req) {
  if (!req.has_header("X-Trialcore-Role")) return std::nullopt;
  return req.get_header_value("X-Trialcore-Role");
}

}  // namespace

class Server::Impl {
 public:
  Impl(EventStore* store, Env* env, ServerOptions options) : store_(store), env_(env), options_(std::move(options)) {}

  Status Init() {
    TC_ASSIGN_OR_RETURN(users_, UserDirectory::Open(store_, env_));
    TC_ASSIGN_OR_RETURN(PositionSeal seal, PositionSeal::Create(env_));
    positions_.emplace(seal);
    if (!options_.tls_cert.empty() || !options_.tls_key.empty()) {
      if (options_.tls_cert.empty() || options_.tls_key.empty()) {
        return InvalidArgument("TLS needs both --tls-cert and --tls-key");
      }
      auto tls = std::make_unique<httplib::SSLServer>(options_.tls_cert.c_str(), options_.tls_key.c_str());
      if (!tls->is_valid()) return InvalidArgument("cannot load the TLS certificate or key");
      http_ = std::move(tls);
      secure_ = true;
    } else {
      http_ = std::make_unique<httplib::Server>();
    }
    http_->set_payload_max_length(options_.max_body_bytes);
    // Small JSON replies written in two parts would otherwise wait on
    // Nagle's algorithm and the peer's delayed ACK (40 ms each).
    http_->set_tcp_nodelay(true);
    http_->set_keep_alive_max_count(10000);
    // Server-sent event streams hold a worker each.
    http_->new_task_queue = [] { return new httplib::ThreadPool(32); };
    Routes();
    return Status::Ok();
  }

  Status Listen() {
    if (options_.port == 0) {
      port_ = http_->bind_to_any_port(options_.bind.c_str());
      if (port_ < 0) return IoError("cannot bind " + options_.bind);
    } else {
      if (!http_->bind_to_port(options_.bind.c_str(), options_.port)) {
        return IoError("cannot listen on " + options_.bind + ":" + std::to_string(options_.port) +
                       " (in use, or not allowed)");
      }
      port_ = options_.port;
    }
    return Status::Ok();
  }

  Status Run() {
    bool ok = stopping_ || http_->listen_after_bind();
    run_returned_ = true;
    if (!ok) return IoError("the server stopped with an error");
    return Status::Ok();
  }

  // A stop can come before Run listens (a signal right after start), when
  // the listener has nothing to stop yet: it is repeated until Run returns.
  void Stop() {
    stopping_ = true;
    while (!run_returned_) {
      http_->stop();
      if (run_returned_) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  int port() const { return port_; }
  std::string url() const {
    return std::string(secure_ ? "https" : "http") + "://" + options_.bind + ":" + std::to_string(port_);
  }

 private:
  // A request's context once authenticated.
  struct Caller {
    User user;
    Session session;
    std::string token;  // the session's key in sessions_ (SessionKey of its cookie); empty for a bearer token
  };

  void Reply(httplib::Response& res, int status, const Value& body) {
    res.status = status;
    res.set_content(ToJson(body), "application/json");
  }

  void Error(httplib::Response& res, const Status& st, Value::Object details = {}) {
    Reply(res, HttpStatusFor(st.code()),
          Value::Object{{"code", CodeName(st.code())}, {"message", ShortMessage(st.message())}, {"details", details}});
  }

  void Error(httplib::Response& res, int http, const std::string& code, const std::string& message) {
    Reply(res, http, Value::Object{{"code", code}, {"message", ShortMessage(message)}, {"details", Value::Object{}}});
  }

  std::string Client(const httplib::Request& req) { return req.remote_addr; }

  std::optional<std::string> CookieToken(const httplib::Request& req) {
    return CookieValue(req.get_header_value("Cookie"), kCookie);
  }

  // The session's user, or a 401 reply. State-changing requests also need
  // the session's CSRF token in X-CSRF-Token.
  std::optional<Caller> Authenticate(const httplib::Request& req, httplib::Response& res) {
    // Machine clients: a bearer token, scoped to one grant; no cookie, so no CSRF.
    if (auto bearer = BearerToken(req.get_header_value("Authorization"))) {
      auto user = users_->FindByToken(*bearer);
      if (!user.ok()) {
        Error(res, 401, "unauthenticated", user.status().message());
        return std::nullopt;
      }
      return Caller{*user, Session{user->id, "", 0, 0}, ""};
    }
    auto token = CookieToken(req);
    if (!token) {
      Error(res, 401, "unauthenticated", "log in first");
      return std::nullopt;
    }
    Session session;
    const std::string key = SessionKey(*token);
    {
      std::lock_guard lock(mu_);
      auto it = sessions_.find(key);
      int64_t now = env_->NowMicros();
      if (it == sessions_.end()) {
        Error(res, 401, "unauthenticated", "log in first");
        return std::nullopt;
      }
      if (now - it->second.last_us > options_.session_idle_us ||
          now - it->second.created_us > options_.session_max_us) {
        sessions_.erase(it);
        Error(res, 401, "session_expired", "your session has expired; log in again (nothing you sent was saved)");
        return std::nullopt;
      }
      it->second.last_us = now;
      session = it->second;
    }
    bool changes = req.method != "GET" && req.method != "HEAD" && req.method != "OPTIONS";
    if (changes && !SameSecret(req.get_header_value("X-CSRF-Token"), session.csrf)) {
      Error(res, 403, "csrf", "missing or wrong X-CSRF-Token header; nothing was changed");
      return std::nullopt;
    }
    auto user = users_->Find(session.user);
    if (!user.ok() || user->disabled) {
      Error(res, 401, "unauthenticated", "this account is no longer active");
      return std::nullopt;
    }
    return Caller{*user, session, key};
  }

  Result<Value> Body(const httplib::Request& req) {
    if (req.body.size() > options_.max_body_bytes) return ResourceExhausted("the request body is too large");
    auto v = ParseJson(req.body);
    if (!v.ok()) return InvalidArgument("the body is not valid JSON: " + v.status().message());
    if (!v->is_object()) return InvalidArgument("the body must be a JSON object");
    return *v;
  }

  Result<capture::Capture*> CaptureFor(const std::string& study) {
    std::lock_guard lock(mu_);
    auto it = captures_.find(study);
    if (it != captures_.end()) return it->second.get();
    TC_RETURN_IF_ERROR(ValidateStudyId(study));
    TC_ASSIGN_OR_RETURN(auto c, capture::Capture::Open(store_, env_, study));
    if (c->study() == nullptr) return NotFound("no study " + study);
    capture::Capture* raw = c.get();
    captures_[study] = std::move(c);
    return raw;
  }

  bool LoginAllowed(const std::string& client) {
    std::lock_guard lock(mu_);
    int64_t now = env_->NowMicros();
    auto& attempts = login_attempts_[client];
    while (!attempts.empty() && now - attempts.front() > 60'000'000) attempts.pop_front();
    if (static_cast<int>(attempts.size()) >= options_.login_attempts_per_minute) return false;
    attempts.push_back(now);
    return true;
  }

  void Log(const httplib::Request& req, const httplib::Response& res) {
    Value::Object line{{"time", FormatTimeMicros(env_->NowMicros())},
                       {"method", req.method},
                       {"path", req.path},
                       {"status", static_cast<int64_t>(res.status)},
                       {"client", req.remote_addr}};
    std::fprintf(stderr, "%s\n", ToJson(line).c_str());
    std::lock_guard lock(mu_);
    status_counts_[res.status]++;
  }

  // What every request must satisfy before its route sees it; false when
  // it was answered here. Many byte ranges in one request would multiply
  // the answer (a 6 KB request, a 1.4 MB reply): one range at most, and
  // none for the API, whose replies are whole JSON documents (the Range is
  // ignored, as RFC 9110 allows). A body sent to the API is JSON and says
  // so, so that no HTML form nor text/plain request of another site reaches
  // a route.
  bool Screen(const httplib::Request& req, httplib::Response& res) {
    // cpp-httplib cuts every reply, errors too, to the ranges parsed into
    // the request; the request is the server's own (non-const) object.
    auto& ranges = const_cast<httplib::Request&>(req).ranges;
    if (ranges.size() > 1) {
      ranges.clear();
      Error(res, 416, "range_not_satisfiable", "at most one byte range per request");
      return false;
    }
    if (req.path.starts_with("/api/")) ranges.clear();
    // (The body itself is read after this, so its headers say whether there is one.)
    const std::string length = req.get_header_value("Content-Length");
    const bool body =
        req.has_header("Transfer-Encoding") || (!length.empty() && length.find_first_not_of('0') != std::string::npos);
    if (req.path.starts_with("/api/") && body) {
      std::string type = req.get_header_value("Content-Type");
      type = type.substr(0, type.find(';'));
      while (!type.empty() && type.back() == ' ') type.pop_back();
      for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (type != "application/json") {
        Error(res, 415, "unsupported_media_type",
              "request bodies must be JSON, sent with Content-Type: application/json");
        return false;
      }
    }
    return true;
  }

  // Registers a route by its OpenAPI path template ("/api/v1/studies/{study}").
  void Add(const std::string& method, const std::string& path, httplib::Server::Handler handler) {
    routes_.push_back({method, path});
    std::string pattern = std::regex_replace(path, std::regex(R"(\{[a-z_]+\})"), "([^/]+)");
    if (method == "GET") http_->Get(pattern, std::move(handler));
    if (method == "POST") http_->Post(pattern, std::move(handler));
    if (method == "PATCH") http_->Patch(pattern, std::move(handler));
    if (method == "DELETE") http_->Delete(pattern, std::move(handler));
  }

  void Routes() {
    http_->set_logger([this](const httplib::Request& req, const httplib::Response& res) { Log(req, res); });
    http_->set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      Error(res, 500, "internal", "internal error; please report it");
    });

    http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      return Screen(req, res) ? httplib::Server::HandlerResponse::Unhandled : httplib::Server::HandlerResponse::Handled;
    });

    Add("POST", "/api/v1/session", [this](const httplib::Request& req, httplib::Response& res) {
      if (!LoginAllowed(Client(req))) {
        return Error(res, 429, "rate_limited", "too many login attempts from this address; wait a minute");
      }
      auto body = Body(req);
      if (!body.ok()) return Error(res, body.status());
      if (Status st = TextFields(*body, {"user", "password"}, {"user", "password"}); !st.ok()) return Error(res, st);
      if (Status st = ValidateLoginFields(body->Find("user")->as_string(), body->Find("password")->as_string());
          !st.ok()) {
        return Error(res, st);
      }
      auto u = users_->Login(body->Find("user")->as_string(), body->Find("password")->as_string(), Client(req));
      if (!u.ok()) return Error(res, 401, "login_failed", u.status().message());
      auto csrf = RandomToken(env_);
      auto token_or = RandomToken(env_);
      if (!csrf.ok() || !token_or.ok()) return Error(res, csrf.ok() ? token_or.status() : csrf.status());
      Session s{u->id, *csrf, env_->NowMicros(), env_->NowMicros()};
      const std::string& token = *token_or;
      {
        std::lock_guard lock(mu_);
        sessions_[SessionKey(token)] = s;
      }
      res.set_header("Set-Cookie", std::string(kCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict" +
                                       (secure_ ? "; Secure" : ""));
      Reply(res, 200, MeJson(*u, s));
    });

    Add("DELETE", "/api/v1/session", [this](const httplib::Request& req, httplib::Response& res) {
      auto c = Authenticate(req, res);
      if (!c) return;
      {
        std::lock_guard lock(mu_);
        sessions_.erase(c->token);
      }
      Status st = users_->RecordLogout(c->user.id, Client(req));
      if (!st.ok()) return Error(res, st);
      res.set_header("Set-Cookie", std::string(kCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
      Reply(res, 200, Value::Object{{"logged_out", true}});
    });

    Add("GET", "/api/v1/session", [this](const httplib::Request& req, httplib::Response& res) {
      auto c = Authenticate(req, res);
      if (!c) return;
      Reply(res, 200, MeJson(c->user, c->session));
    });

    Add("GET", "/api/v1/studies", [this](const httplib::Request& req, httplib::Response& res) {
      auto c = Authenticate(req, res);
      if (!c) return;
      Value::Array list;
      std::set<std::string> seen;
      for (const Grant& g : c->user.grants) {
        if (!seen.insert(g.study).second) continue;
        auto cap = CaptureFor(g.study);
        if (!cap.ok()) continue;  // granted before the study was published
        auto st = (*cap)->study();
        Access access(c->user, g.study);
        Value::Array roles;
        for (const auto& r : access.Roles()) roles.push_back(r);
        list.push_back(Value::Object{{"id", st->id}, {"title", st->title}, {"version", st->version}, {"roles", roles}});
      }
      Reply(res, 200, Value::Object{{"studies", list}});
    });

    const std::string study = "/api/v1/studies/{study}";
    const std::string subject = study + "/subjects/{subject}";

    Add("GET", study + "/subjects", [this](const httplib::Request& req, httplib::Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto& [caller, cap, access] = *ctx;
      std::string site = req.get_param_value("site"), status = req.get_param_value("status");
      auto page = Page(req);
      if (!page.ok()) return Error(res, page.status());
      auto [offset, limit] = *page;
      auto viewer = ViewerFor(*cap, access, WantedRole(req));
      if (!viewer.ok()) return Error(res, viewer.status());
      auto listed = capture::ListSubjects(cap->store(), cap->study_id(), *viewer, {site, status}, offset, limit);
      if (!listed.ok()) return Error(res, listed.status());
      Value::Array items;
      for (const auto& s : listed->subjects) {
        items.push_back(
            Value::Object{{"id", s.id}, {"site", s.site}, {"status", s.status}, {"open_queries", s.open_queries}});
      }
      const int64_t total = listed->total;
      Reply(res, 200,
            Value::Object{{"subjects", items},
                          {"total", total},
                          {"offset", static_cast<int64_t>(offset)},
                          {"limit", static_cast<int64_t>(limit)}});
    });

    Add("GET", subject, [this](const httplib::Request& req, httplib::Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      const std::string id = req.matches[2];
      auto definition = std::get<1>(*ctx)->study();
      bool blind = true;
      if (req.has_param("as_of")) {
        if (!SubjectVisible(*ctx, id, res, [&](const capture::SubjectState& s) {
              blind = !SeesHidden(std::get<2>(*ctx), WantedRole(req), s.site);
            })) {
          return;
        }
        // The casebook as it stood then: the subject's events up to that
        // moment, replayed.
        auto when = ParseTimeMicros(req.get_param_value("as_of"));
        if (!when.ok()) return Error(res, InvalidArgument("as_of: " + when.status().message()));
        auto then = std::get<1>(*ctx)->SubjectAsOf(id, *when);
        if (!then.ok()) return Error(res, then.status());
        Value body = SubjectJson(*then, *definition, blind);
        body.as_object()["as_of"] = FormatTimeMicros(*when);
        // A past state of the casebook is a view of its audit trail: audited too.
        Status st = users_->Record(
            "audit.viewed", Actor{std::get<0>(*ctx).user.id, "user"},
            Value::Object{{"study", std::string(req.matches[1])}, {"subject", id}, {"as_of", FormatTimeMicros(*when)}});
        if (!st.ok()) return Error(res, st);
        return Reply(res, 200, body);
      }
      Value body;
      uint64_t version = 0;
      if (!SubjectVisible(*ctx, id, res, [&](const capture::SubjectState& s) {
            blind = !SeesHidden(std::get<2>(*ctx), WantedRole(req), s.site);
            body = SubjectJson(s, *definition, blind);
            version = capture::SubjectVersion(s, blind);
          })) {
        return;
      }
      res.set_header("ETag", "\"" + std::to_string(version) + "\"");
      Reply(res, 200, body);
    });

    Add("GET", subject + "/schedule", [this](const httplib::Request& req, httplib::Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      const std::string id = req.matches[2];
      if (!SubjectVisible(*ctx, id, res)) return;
      auto sched = std::get<1>(*ctx)->Schedule(id);
      if (!sched.ok()) return Error(res, sched.status());
      auto* cap = std::get<1>(*ctx);
      Value::Array visits;
      for (const auto& v : *sched) {
        Value::Object o{{"visit", v.visit}, {"status", std::string(capture::WindowStatusName(v.status))}};
        if (v.planned_day) o["planned"] = rules::FormatDateDays(*v.planned_day);
        if (v.actual_day) o["actual"] = rules::FormatDateDays(*v.actual_day);
        // Each form's completion, for the casebook's grid of visits and forms.
        Value::Array forms;
        if (auto inst = cap->study()->FindVisitInstance(v.visit); inst.ok()) {
          for (const std::string& fid : inst->visit->forms) {
            auto status = cap->StatusOfForm(id, v.visit, fid);
            if (!status.ok()) return Error(res, status.status());
            forms.push_back(Value::Object{{"form", fid}, {"status", std::string(capture::FormStatusName(*status))}});
          }
        }
        o["forms"] = forms;
        visits.push_back(o);
      }
      Reply(res, 200, Value::Object{{"visits", visits}});
    });

    Add("GET", subject + "/audit", [this](const httplib::Request& req, httplib::Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      const std::string id = req.matches[2];
      // For a blinded caller, entries of hidden items and of queries on them
      // (by their paths, subject/ID/queries/N/...) do not exist.
      Hidden hidden;
      std::set<std::string> hidden_queries;
      // (Taken before the subject is read: the read holds capture's lock.)
      auto definition = std::get<1>(*ctx)->study();
      if (!SubjectVisible(*ctx, id, res, [&](const capture::SubjectState& s) {
            hidden = HiddenItems(*definition, !SeesHidden(std::get<2>(*ctx), WantedRole(req), s.site));
            for (const auto& [n, q] : s.queries) {
              if (!hidden.empty() && capture::HiddenQuery(*definition, q)) {
                hidden_queries.insert(capture::SubjectStream(id) + "/queries/" + std::to_string(n));
              }
            }
          })) {
        return;
      }
      AuditFilter f;
      f.study = req.matches[1];
      f.subject = id;
      if (req.has_param("path")) f.path_prefix = req.get_param_value("path");
      Value::Array entries;
      auto hides = [&](const AuditEntry& a) {
        return HidesPath(hidden, a.path) || HidesQueryPath(hidden_queries, !hidden.empty(), a.path);
      };
      // A reason given for a change that also covered hidden items may name
      // them (a pharmacist's "dose corrected to 81 mg"): it is withheld from
      // the entries a blinded caller sees, whatever path they asked for.
      std::set<uint64_t> mixed;
      if (!hidden.empty()) {
        AuditFilter whole = f;
        whole.path_prefix.reset();
        Status st = ForEachAuditEntry(*store_, whole, [&](const AuditEntry& a) {
          if (hides(a)) mixed.insert(a.seq);
          return Status::Ok();
        });
        if (!st.ok()) return Error(res, st);
      }
      Status st = ForEachAuditEntry(*store_, f, [&](const AuditEntry& a) {
        if (hides(a)) return Status::Ok();
        const std::string reason = mixed.contains(a.seq) && !a.reason.empty()
                                       ? "(withheld: the change also covered items your role does not see)"
                                       : a.reason;
        Value::Object e{{"time", FormatTimeMicros(a.time_us)},
                        {"user", a.actor.user},
                        {"role", a.actor.role},
                        {"event", a.type},
                        {"path", a.path},
                        {"reason", reason}};
        e["old"] = a.old_value ? *a.old_value : Value();
        e["new"] = a.new_value ? *a.new_value : Value();
        // Positions count every event, hidden ones included: for those who see them.
        if (hidden.empty()) e["seq"] = static_cast<int64_t>(a.seq);
        entries.push_back(e);
        return Status::Ok();
      });
      if (!st.ok()) return Error(res, st);
      // Views of the audit trail are themselves audited.
      st = users_->Record("audit.viewed", Actor{std::get<0>(*ctx).user.id, "user"},
                          Value::Object{{"study", f.study}, {"subject", id}});
      if (!st.ok()) return Error(res, st);
      Reply(res, 200, Value::Object{{"entries", entries}});
    });

    Add("POST", study + "/commands", [this](const httplib::Request& req, httplib::Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto body = Body(req);
      if (!body.ok()) return Error(res, body.status());
      RunCommand(*ctx, *body, req, res);
    });

    Add("GET", study, [this](const httplib::Request& req, httplib::Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      const Access& access = std::get<2>(*ctx);
      Reply(res, 200, DefinitionJson(*std::get<1>(*ctx)->study(), access, !SeesHidden(access, WantedRole(req), "")));
    });

    Add("GET", study + "/dashboard", [this](const httplib::Request& req, httplib::Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto figures = DashboardJson(*std::get<1>(*ctx), std::get<2>(*ctx), WantedRole(req));
      if (!figures.ok()) return Error(res, figures.status());
      Reply(res, 200, *figures);
    });

    Add("GET", study + "/queries", [this](const httplib::Request& req, httplib::Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto& [caller, cap, access] = *ctx;
      std::string state = req.get_param_value("state"), subject_id = req.get_param_value("subject"),
                  site = req.get_param_value("site");
      auto page = Page(req);
      if (!page.ok()) return Error(res, page.status());
      auto [offset, limit] = *page;
      auto viewer = ViewerFor(*cap, access, WantedRole(req));
      if (!viewer.ok()) return Error(res, viewer.status());
      auto listed =
          capture::ListQueries(cap->store(), cap->study_id(), *viewer, {state, subject_id, site}, offset, limit);
      if (!listed.ok()) return Error(res, listed.status());
      Value::Array items;
      int64_t now = env_->NowMicros();
      for (const auto& q : listed->queries) {
        Value::Object o{{"query", static_cast<int64_t>(q.number)},
                        {"visit", q.visit},
                        {"form", q.form},
                        {"item", q.item},
                        {"check", q.check},
                        {"state", q.state}};
        if (!q.group.empty()) {
          o["group"] = q.group;
          o["row"] = static_cast<int64_t>(q.row);
        }
        o["subject"] = q.subject;
        o["site"] = q.site;
        o["message"] = q.message;
        o["age_days"] = static_cast<int64_t>((now - (q.opened_us != 0 ? q.opened_us : now)) / rules::kMicrosPerDay);
        items.push_back(o);
      }
      const int64_t total = listed->total;
      Reply(res, 200,
            Value::Object{{"queries", items},
                          {"total", total},
                          {"offset", static_cast<int64_t>(offset)},
                          {"limit", static_cast<int64_t>(limit)}});
    });

    const std::string form = subject + "/visits/{visit}/forms/{form}";
    Add("GET", form, [this](const httplib::Request& req, httplib::Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto* cap = std::get<1>(*ctx);
      const Access& access = std::get<2>(*ctx);
      std::string subject_id = req.matches[2], visit = req.matches[3], form_id = req.matches[4];
      auto inst = cap->study()->FindVisitInstance(visit);
      if (!inst.ok()) return Error(res, inst.status());
      if (cap->study()->FindForm(form_id) == nullptr) return Error(res, NotFound("unknown form " + form_id));
      const auto& collected = inst->visit->forms;
      if (std::find(collected.begin(), collected.end(), form_id) == collected.end()) {
        return Error(res, NotFound("visit " + visit + " does not collect form " + form_id));
      }
      auto status = cap->StatusOfForm(subject_id, visit, form_id);
      auto definition = cap->study();
      // Read in place: the subject is not copied for a form.
      bool visible = false;
      Value::Object body;
      uint64_t version = 0;
      Status read = cap->ReadSubject(subject_id, [&](const capture::SubjectState& s) {
        if (!access.SeesSite(s.site)) return;
        visible = true;
        const bool blind = !SeesHidden(access, WantedRole(req), s.site);
        const Hidden hidden = HiddenItems(*definition, blind);
        version = capture::SubjectVersion(s, blind);
        const capture::FormState* fs = nullptr;
        if (auto v = s.visits.find(visit); v != s.visits.end()) {
          if (auto f = v->second.forms.find(form_id); f != v->second.forms.end()) fs = &f->second;
        }
        body = FormJson(fs, form_id, hidden).as_object();
      });
      if (!read.ok() || !visible || !status.ok()) return Error(res, NotFound("no subject " + subject_id));
      body["subject"] = subject_id;
      body["visit"] = visit;
      body["form"] = form_id;
      body["status"] = std::string(capture::FormStatusName(*status));
      res.set_header("ETag", "\"" + std::to_string(version) + "\"");
      Reply(res, 200, body);
    });

    // A save, and the same decision on a proposal with nothing stored (form.check).
    Add("PATCH", form, FormRoute("form.save", {"items", "rows", "not_done", "reason"}));
    Add("POST", form + "/check", FormRoute("form.check", {"items", "rows", "not_done"}));

    Add("PATCH", form + "/items/{item}", [this](const httplib::Request& req, httplib::Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto body = Body(req);
      if (!body.ok()) return Error(res, body.status());
      if (Status st = OnlyFields(*body, {"value", "reason"}); !st.ok()) return Error(res, st);
      const Value* value = body->Find("value");
      if (value == nullptr) return Error(res, InvalidArgument("missing field \"value\" (null clears the item)"));
      Value::Object cmd = FormCommand("form.save", req);
      cmd["items"] = Value::Object{{std::string(req.matches[5]), *value}};
      if (const Value* reason = body->Find("reason")) cmd["reason"] = *reason;
      RunCommand(*ctx, cmd, req, res);
    });

    Add("POST", subject + "/queries", [this](const httplib::Request& req, httplib::Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto body = Body(req);
      if (!body.ok()) return Error(res, body.status());
      Value cmd = *body;
      cmd.as_object()["op"] = "query.open";
      cmd.as_object()["subject"] = std::string(req.matches[2]);
      RunCommand(*ctx, cmd, req, res);
    });

    Add("POST", subject + "/queries/{query}/{action}", [this](const httplib::Request& req, httplib::Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto body = Body(req);
      if (!body.ok()) return Error(res, body.status());
      static const std::map<std::string, std::string> kOps = {
          {"answer", "query.answer"}, {"close", "query.close"}, {"cancel", "query.cancel"}, {"reopen", "query.reopen"}};
      auto op = kOps.find(req.matches[4]);
      if (op == kOps.end()) return Error(res, NotFound("queries can be answered, closed, cancelled or reopened"));
      auto number = capture::ParseQueryNumber(std::string(req.matches[3]));
      if (!number.ok()) return Error(res, number.status());
      Value cmd = *body;
      cmd.as_object()["op"] = op->second;
      cmd.as_object()["subject"] = std::string(req.matches[2]);
      cmd.as_object()["query"] = static_cast<int64_t>(*number);
      RunCommand(*ctx, cmd, req, res);
    });

    Add("GET", study + "/events", [this](const httplib::Request& req, httplib::Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      StreamEvents(*ctx, req, res);
    });

    Add("GET", "/api/openapi.json",
        [](const httplib::Request&, httplib::Response& res) { res.set_content(OpenApiJson(), "application/json"); });

    // The installation's counters count every event, those of hidden items
    // included (issue 12): only for the scraper holding the metrics token
    // (serve --metrics-token-file, sent as its bearer token, compared in
    // constant time); no session or API token of any user opens them.
    Add("GET", "/metrics", [this](const httplib::Request& req, httplib::Response& res) {
      if (Status st = MetricsAllowed(options_.metrics_token, req.get_header_value("Authorization")); !st.ok()) {
        return st.code() == StatusCode::kNotFound ? Error(res, st) : Error(res, 401, "unauthenticated", st.message());
      }
      StoreMetrics m = store_->Metrics();
      std::string out =
          "# HELP trialcore_http_requests_total HTTP requests served.\n# TYPE trialcore_http_requests_total counter\n";
      {
        std::lock_guard lock(mu_);
        for (const auto& [status, n] : status_counts_) {
          out += "trialcore_http_requests_total{status=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
        }
        out += "# HELP trialcore_sessions Active sessions.\n# TYPE trialcore_sessions gauge\ntrialcore_sessions " +
               std::to_string(sessions_.size()) + "\n";
      }
      out +=
          "# HELP trialcore_events_appended_total Events appended since start.\n"
          "# TYPE trialcore_events_appended_total counter\ntrialcore_events_appended_total " +
          std::to_string(m.events) + "\n";
      out +=
          "# HELP trialcore_commits_total Store transactions committed (fsyncs).\n"
          "# TYPE trialcore_commits_total counter\ntrialcore_commits_total " +
          std::to_string(m.commits) + "\n";
      res.set_content(out, "text/plain; version=0.0.4");
    });

    AdminRoutes(study);
    WebRoutes();
  }

  // A capture command on the form of the path, with the body's fields.
  httplib::Server::Handler FormRoute(std::string op, std::initializer_list<std::string_view> allowed) {
    return [this, op, fields = std::vector<std::string_view>(allowed)](const httplib::Request& req,
                                                                       httplib::Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto body = Body(req);
      if (!body.ok()) return Error(res, body.status());
      if (Status st = OnlyFields(*body, fields); !st.ok()) return Error(res, st);
      Value::Object cmd = FormCommand(op, req);
      for (const auto& [k, v] : body->as_object()) cmd[k] = v;
      RunCommand(*ctx, cmd, req, res);
    };
  }

  // Accounts of a study: study and system administrators see every account
  // with its grants on this study; study administrators grant and revoke
  // roles on it; only system administrators create and disable accounts.
  void AdminRoutes(const std::string& study) {
    auto admin = [this](const httplib::Request& req, httplib::Response& res,
                        bool system_only) -> std::optional<StudyCtx> {
      auto ctx = StudyContext(req, res);
      if (!ctx) return std::nullopt;
      if (Status st = MayManageAccess(std::get<2>(*ctx), system_only); !st.ok()) {
        Error(res, st);
        return std::nullopt;
      }
      return ctx;
    };

    Add("GET", study + "/users", [this, admin](const httplib::Request& req, httplib::Response& res) {
      auto ctx = admin(req, res, false);
      if (!ctx) return;
      std::string study_id = req.matches[1];
      Value::Array list;
      for (const User& u : users_->All()) {
        Value::Array grants;
        for (const Grant& g : u.grants) {
          if (g.study == study_id) grants.push_back(Value::Object{{"role", g.role}, {"site", g.site}});
        }
        Value::Object o{{"id", u.id}, {"full_name", u.full_name}, {"grants", grants}};
        o["disabled"] = u.disabled;
        list.push_back(o);
      }
      Reply(res, 200, Value::Object{{"users", list}});
    });

    Add("POST", study + "/users", [this, admin](const httplib::Request& req, httplib::Response& res) {
      auto ctx = admin(req, res, true);
      if (!ctx) return;
      auto body = Body(req);
      if (!body.ok()) return Error(res, body.status());
      if (Status st = TextFields(*body, {"id", "full_name", "password"}, {"id", "full_name", "password"}); !st.ok()) {
        return Error(res, st);
      }
      Status st = users_->Add(body->Find("id")->as_string(), body->Find("full_name")->as_string(),
                              body->Find("password")->as_string(), Actor{std::get<0>(*ctx).user.id, "system_admin"});
      if (!st.ok()) return Error(res, st);
      Reply(res, 200, Value::Object{{"user", body->Find("id")->as_string()}});
    });

    Add("POST", study + "/users/{user}/{action}", [this, admin](const httplib::Request& req, httplib::Response& res) {
      std::string action = req.matches[3];
      if (action != "grant" && action != "revoke" && action != "disable") {
        return Error(res, NotFound("an account can be granted a role, have one revoked, or be disabled"));
      }
      auto ctx = admin(req, res, action == "disable");
      if (!ctx) return;
      auto body = Body(req);
      if (!body.ok()) return Error(res, body.status());
      const std::string id = req.matches[2];
      const Actor by{std::get<0>(*ctx).user.id, AccessAdminRole(std::get<2>(*ctx))};
      if (Status st = action == "disable" ? TextFields(*body, {"reason"}, {})
                                          : TextFields(*body, {"role", "site", "reason"}, {"role", "site"});
          !st.ok()) {
        return Error(res, st);
      }
      const Value* reason = body->Find("reason");
      const std::string why = reason != nullptr ? reason->as_string() : "";
      Status st;
      if (action == "disable") {
        st = why.empty() ? InvalidArgument("disabling an account needs a \"reason\"") : users_->Disable(id, why, by);
      } else {
        const Grant grant{req.matches[1], body->Find("role")->as_string(), body->Find("site")->as_string()};
        if (Status valid = ValidateGrant(*std::get<1>(*ctx)->study(), grant); !valid.ok()) return Error(res, valid);
        if (action == "grant") {
          st = users_->AddGrant(id, grant, why, by);  // who may grant what: MayChangeGrant
        } else {
          st = why.empty() ? InvalidArgument("revoking a role needs a \"reason\"")
                           : users_->RevokeGrant(id, grant, why, by);
        }
      }
      if (!st.ok()) return Error(res, st);
      Reply(res, 200, Value::Object{{"user", id}, {"done", action}});
    });
  }

  // The web application: its files at "/", and index.html for any other
  // path outside the API so that the application's own links reload.
  void WebRoutes() {
    // Nothing the application loads may come from elsewhere, nor may another
    // site frame it.
    http_->set_default_headers({{"Content-Security-Policy",
                                 "default-src 'self'; img-src 'self' data:; "
                                 "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"},
                                {"X-Content-Type-Options", "nosniff"},
                                {"Referrer-Policy", "no-referrer"}});
    if (options_.web_root.empty() || !env_->FileExists(options_.web_root + "/index.html")) {
      http_->Get("/", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(
            "<!doctype html><title>trialcore</title><p>The web application is not built. Run "
            "<code>./scripts/build.sh</code> (it builds <code>web/</code> with npm), or start the server with "
            "<code>--web DIR</code>. The API is at <a href=\"/api/openapi.json\">/api/v1</a>.</p>",
            "text/html; charset=utf-8");
      });
      return;
    }
    http_->set_mount_point("/", options_.web_root);
    http_->set_file_request_handler([](const httplib::Request& req, httplib::Response& res) {
      // Built assets carry their content hash in their names.
      res.set_header("Cache-Control",
                     req.path.starts_with("/assets/") ? "public, max-age=31536000, immutable" : "no-cache");
    });
    std::string index = options_.web_root + "/index.html";
    http_->Get(R"(/(?!api/|api$|metrics$)[^.]*)", [this, index](const httplib::Request&, httplib::Response& res) {
      auto page = env_->ReadFileToString(index);
      if (!page.ok()) return Error(res, page.status());
      res.set_header("Cache-Control", "no-cache");
      res.set_content(*page, "text/html; charset=utf-8");
    });
  }

  Value MeJson(const User& u, const Session& s) {
    Value::Array grants;
    for (const Grant& g : u.grants) {
      grants.push_back(Value::Object{{"study", g.study}, {"role", g.role}, {"site", g.site}});
    }
    return Value::Object{{"user", u.id}, {"full_name", u.full_name}, {"csrf_token", s.csrf}, {"grants", grants}};
  }

  using StudyCtx = std::tuple<Caller, capture::Capture*, Access>;

  Result<std::pair<size_t, size_t>> Page(const httplib::Request& req) {
    TC_ASSIGN_OR_RETURN(size_t offset, Count(req, "offset", 0, 0));
    TC_ASSIGN_OR_RETURN(size_t limit, Count(req, "limit", 100, 1));
    return std::make_pair(offset, std::min<size_t>(limit, 1000));
  }

  // The figures of the study home page, for the sites the caller sees.
  Result<Value> DashboardJson(capture::Capture& cap, const Access& access, const std::optional<std::string>& wanted) {
    TC_ASSIGN_OR_RETURN(capture::Viewer viewer, ViewerFor(cap, access, wanted));
    TC_ASSIGN_OR_RETURN(capture::DashboardFigures d,
                        capture::Dashboard(cap.store(), cap.study_id(), viewer, env_->NowMicros()));
    Value::Object by_site;
    for (const auto& [site, statuses] : d.subjects_by_site) {
      Value::Object counts;
      for (const auto& [status, n] : statuses) counts[status] = n;
      by_site[site] = counts;
    }
    auto list = [](const std::vector<capture::VisitRef>& refs) {
      Value::Array out;
      for (const auto& r : refs)
        out.push_back(Value::Object{{"subject", r.subject}, {"visit", r.visit}, {"status", r.status}});
      return out;
    };
    const auto& age = d.open_queries_by_age;
    Value::Object out{
        {"planned_subjects", static_cast<int64_t>(cap.study()->planned_subjects)},
        {"subjects_by_site", by_site},
        {"open_queries_by_age", Value::Object{{"0-7 days", age[0]}, {"8-30 days", age[1]}, {"over 30 days", age[2]}}},
        {"overdue_visits", d.overdue_visits},
        {"visits_out_of_window", d.visits_out_of_window},
        {"unsigned_casebooks", d.unsigned_casebooks}};
    out["database_locked"] = d.database_locked;
    out["overdue"] = list(d.overdue);
    out["out_of_window"] = list(d.out_of_window);
    out["unsigned"] = list(d.unsigned_casebook_list);
    return Value(out);
  }

  // Server-sent events: every new event of the study on a subject the
  // caller may see (no values; a client refetches what changed). The stream
  // ends when the session or token that opened it ends (logout, idle or
  // absolute expiry, revocation) or the account loses the study (disabled,
  // grant revoked): StreamAccess is asked again at least every second, and
  // what it gives decides which sites' events still go out.
  void StreamEvents(StudyCtx& ctx, const httplib::Request& req, httplib::Response& res) {
    std::string study_id = req.matches[1];
    capture::Capture* cap = std::get<1>(ctx);
    const std::string session = std::get<0>(ctx).token;
    const std::string bearer = BearerToken(req.get_header_value("Authorization")).value_or("");
    std::optional<std::string> wanted = WantedRole(req);
    // Resumes after the position a client last received (sealed: see
    // api/positions.h); one this server cannot open (sealed before a restart)
    // or none starts from now; a malformed one is a 400.
    uint64_t after = 0;
    auto resume = positions_->ResumeAfter(req.get_header_value("Last-Event-ID"));
    if (!resume.ok()) return Error(res, resume.status());
    if (*resume) {
      after = **resume;
    } else if (auto last = store_->LastSeq(); last.ok()) {
      after = *last;
    }
    // Whether the caller may count every event (and so read sequence numbers).
    const bool counts_hidden = SeesHidden(std::get<2>(ctx), wanted, "");
    struct Feed {
      std::mutex mu;
      std::condition_variable cv;
      std::deque<Event> events;
      int64_t last_write_us = 0;
    };
    auto feed = std::make_shared<Feed>();
    feed->last_write_us = env_->NowMicros();
    auto subscription = std::shared_ptr<Subscription>(store_->Subscribe(after, [feed, study_id](const Event& e) {
      if (e.study != study_id) return;
      std::lock_guard lock(feed->mu);
      feed->events.push_back(e);
      feed->cv.notify_one();
    }));
    res.set_header("Cache-Control", "no-store");
    res.set_chunked_content_provider("text/event-stream", [this, feed, subscription, cap, session, bearer, study_id,
                                                           wanted, counts_hidden](size_t, httplib::DataSink& sink) {
      std::unique_lock lock(feed->mu);
      feed->cv.wait_for(lock, std::chrono::seconds(1), [&] { return !feed->events.empty() || stopping_; });
      if (stopping_) return false;
      lock.unlock();
      std::optional<Access> current = StreamAccess(session, bearer, study_id);
      if (!current) {
        sink.done();
        return true;
      }
      const Access& access = *current;
      lock.lock();
      int64_t now = env_->NowMicros();
      if (feed->events.empty()) {
        if (now - feed->last_write_us < 15'000'000) return true;
        feed->last_write_us = now;
        return sink.write(": keep-alive\n\n", 14);
      }
      while (!feed->events.empty()) {
        Event e = std::move(feed->events.front());
        feed->events.pop_front();
        if (e.stream.starts_with("subject/")) {
          // Events of hidden items and queries do not exist for a blinded caller.
          bool visible = false;
          auto definition = cap->study();  // not under the read's lock
          Status found = cap->ReadSubject(e.stream.substr(8), [&](const capture::SubjectState& s) {
            visible = access.SeesSite(s.site) &&
                      (SeesHidden(access, wanted, s.site) || !capture::HiddenEvent(*definition, s, e));
          });
          if (!found.ok() || !visible) continue;
        }
        Value::Object fields{{"type", e.type}, {"stream", e.stream}, {"time", FormatTimeMicros(e.time_us)}};
        if (counts_hidden) fields["seq"] = static_cast<int64_t>(e.seq);
        std::string frame =
            "id: " + positions_->Seal(e.seq) + "\nevent: " + e.type + "\ndata: " + ToJson(fields) + "\n\n";
        feed->last_write_us = now;
        if (!sink.write(frame.data(), frame.size())) return false;
      }
      return true;
    });
  }

  // The access of an open event stream's caller, as it is now: none once
  // the session (by its cookie token) or the bearer token no longer
  // authenticates, or the account holds no role on the study any more.
  // Reading does not keep a session from idling out.
  std::optional<Access> StreamAccess(const std::string& session, const std::string& bearer, const std::string& study) {
    auto current = [&]() -> Result<User> {
      if (!bearer.empty()) return users_->FindByToken(bearer);
      std::string id;
      {
        std::lock_guard lock(mu_);
        auto it = sessions_.find(session);
        if (it == sessions_.end()) return NotFound("the session ended");
        int64_t now = env_->NowMicros();
        if (now - it->second.last_us > options_.session_idle_us ||
            now - it->second.created_us > options_.session_max_us) {
          return NotFound("the session expired");
        }
        id = it->second.user;
      }
      return users_->Find(id);
    };
    Result<User> user = current();
    if (!user.ok() || user->disabled) return std::nullopt;
    Access access(*user, study);
    if (!access.AnyGrant()) return std::nullopt;
    return access;
  }

  // Runs a capture command for the caller: the site it touches must be one
  // of theirs, the role comes from their grants, an If-Match must still hold.
  void RunCommand(StudyCtx& ctx, const Value& body, const httplib::Request& req, httplib::Response& res) {
    auto& [caller, cap, access] = ctx;
    // The site the command touches decides whether the caller may touch it.
    std::string site;
    if (const Value* sid = body.Find("subject"); sid != nullptr && sid->is_string()) {
      if (const Value* op = body.Find("op"); op != nullptr && op->is_string() && op->as_string() == "subject.screen") {
        const Value* s = body.Find("site");
        site = s != nullptr && s->is_string() ? s->as_string() : "";
        if (!access.SeesSite(site)) return Error(res, PermissionDenied("you have no role at site " + site));
      } else {
        // Read in place: a save should not pay for a copy of the casebook.
        Status found = cap->ReadSubject(sid->as_string(), [&](const capture::SubjectState& s) { site = s.site; });
        if (!found.ok() || !access.SeesSite(site)) return Error(res, NotFound("no subject " + sid->as_string()));
      }
    }
    // Optimistic concurrency: a stale If-Match loses (412), nothing is overwritten.
    std::optional<uint64_t> expected;
    if (std::string if_match = req.get_header_value("If-Match"); !if_match.empty()) {
      std::string digits =
          if_match.size() > 2 && if_match.front() == '"' ? if_match.substr(1, if_match.size() - 2) : if_match;
      try {
        expected = std::stoull(digits);
      } catch (const std::exception&) {
        return Error(res, InvalidArgument("If-Match must be an ETag this server gave, such as \"12\""));
      }
    }
    std::optional<std::string> wanted;
    if (req.has_header("X-Trialcore-Role")) wanted = req.get_header_value("X-Trialcore-Role");
    auto role = access.ActingRole(wanted, site);
    if (!role.ok()) return Error(res, role.status());
    Value command = body;
    if (const Value* op = command.Find("op"); op != nullptr && op->is_string() && op->as_string() == "sign") {
      // 21 CFR 11.200: the first signing of a session needs both the user
      // id and the password, later ones the password; the signature shows
      // the signer's full name from the account, not from the request.
      auto password = SigningPassword(command, caller.user.id, *role, caller.session.has_signed);
      if (!password.ok()) return Error(res, password.status());
      Status st = users_->Reauthenticate(caller.user.id, *password, Client(req));
      if (!st.ok()) return Error(res, st);
      command.as_object().erase("password");
      command.as_object().erase("user");
      command.as_object()["name"] = caller.user.full_name;
      if (!caller.token.empty()) {
        std::lock_guard lock(mu_);
        if (auto it = sessions_.find(caller.token); it != sessions_.end()) it->second.has_signed = true;
      }
    }
    auto out = cap->Execute(command, Actor{caller.user.id, *role}, expected);
    if (!out.ok()) return Error(res, out.status());
    Value::Array messages;
    for (const auto& m : out->messages) messages.push_back(m);
    // Capture words its messages for the acting role; the events it appended
    // that a blinded role may not know of are left out here.
    const bool blind = capture::BlindedRole(*role);
    auto definition = cap->study();  // not under the reads' lock
    Value::Array events;
    for (const auto& e : out->events) {
      bool hidden = false;
      if (blind && e.stream.starts_with("subject/")) {
        Status read = cap->ReadSubject(e.stream.substr(8), [&](const capture::SubjectState& s) {
          hidden = capture::HiddenEvent(*definition, s, e);
        });
        hidden = hidden || !read.ok();
      }
      if (hidden) continue;
      Value::Object event{{"type", e.type}};
      if (!blind) event["seq"] = static_cast<int64_t>(e.seq);  // positions count hidden events
      events.push_back(std::move(event));
    }
    Value::Object reply{{"messages", messages}, {"events", events}, {"result", out->result}};
    if (const Value* sid = command.Find("subject"); sid != nullptr && sid->is_string()) {
      uint64_t version = 0;
      if (cap->ReadSubject(sid->as_string(),
                           [&](const capture::SubjectState& s) { version = capture::SubjectVersion(s, blind); })
              .ok()) {
        res.set_header("ETag", "\"" + std::to_string(version) + "\"");
        reply["version"] = static_cast<int64_t>(version);
      }
    }
    Reply(res, 200, reply);
  }

  // The caller, the study's capture service and the caller's access to it;
  // a study the caller holds no role on does not exist for them (404).
  std::optional<StudyCtx> StudyContext(const httplib::Request& req, httplib::Response& res) {
    auto c = Authenticate(req, res);
    if (!c) return std::nullopt;
    std::string id = req.matches[1];
    Access access(c->user, id);
    if (!access.AnyGrant()) {
      Error(res, NotFound("no study " + id));
      return std::nullopt;
    }
    auto cap = CaptureFor(id);
    if (!cap.ok()) {
      Error(res, cap.status());
      return std::nullopt;
    }
    return StudyCtx{*c, *cap, access};
  }

  // Another site's subject does not exist for a site-scoped caller (404,
  // not 403). Read in place: a casebook is not copied to learn its site.
  // With `read`, it also sees the subject while it is known visible.
  bool SubjectVisible(StudyCtx& ctx, const std::string& id, httplib::Response& res,
                      const std::function<void(const capture::SubjectState&)>& read = {}) {
    bool visible = false;
    Status found = std::get<1>(ctx)->ReadSubject(id, [&](const capture::SubjectState& s) {
      visible = std::get<2>(ctx).SeesSite(s.site);
      if (visible && read) read(s);
    });
    if (!found.ok() || !visible) Error(res, NotFound("no subject " + id));
    return found.ok() && visible;
  }

  EventStore* store_;
  Env* env_;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> http_;
  bool secure_ = false;
  int port_ = 0;
  std::optional<PositionSeal> positions_;  // the event stream's ids
  std::unique_ptr<UserDirectory> users_;
  std::mutex mu_;
  std::map<std::string, Session> sessions_;
  std::map<std::string, std::unique_ptr<capture::Capture>> captures_;
  std::map<std::string, std::deque<int64_t>> login_attempts_;
  std::map<int, uint64_t> status_counts_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> run_returned_{false};

 public:
  std::vector<std::pair<std::string, std::string>> routes_;  // method, path template
};

Result<std::unique_ptr<Server>> Server::Create(EventStore* store, Env* env, const ServerOptions& options) {
  std::unique_ptr<Server> s(new Server());
  s->impl_ = std::make_unique<Impl>(store, env, options);
  TC_RETURN_IF_ERROR(s->impl_->Init());
  return s;
}

Server::~Server() = default;
Status Server::Listen() { return impl_->Listen(); }
Status Server::Run() { return impl_->Run(); }
void Server::Stop() { impl_->Stop(); }
int Server::port() const { return impl_->port(); }
std::string Server::url() const { return impl_->url(); }
std::vector<std::pair<std::string, std::string>> Server::Routes() const { return impl_->routes_; }

}  // namespace trialcore::api
