#include "api/server.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <span>
#include <string_view>
#include <thread>

#include "api/access.h"
#include "api/audit_trail.h"
#include "api/client_address.h"
#include "api/credentials.h"
#include "api/http_server.h"
#include "api/http_status.h"
#include "api/positions.h"
#include "api/reports.h"
#include "api/safety_case.h"
#include "api/safety_inbox.h"
#include "api/sessions.h"
#include "api/signing_rule.h"
#include "api/study_feed.h"
#include "api/users.h"
#include "api/views.h"
#include "api/web_files.h"
#include "capture/blinding.h"
#include "capture/capture.h"
#include "capture/case_e2b.h"
#include "capture/lock_checklist.h"
#include "capture/projection.h"
#include "capture/safety_signals.h"
#include "capture/safety_workflow.h"
#include "core/csv_field.h"
#include "core/hash.h"
#include "core/json.h"
#include "notify/notifier.h"
#include "rules/rules.h"
#include "store/audit.h"
#include "study/study.h"

namespace trialcore::api {

namespace {

using http::Request;
using http::Response;

constexpr const char* kCookie = kSessionCookie;
// When the client last wrote (this server's clock, in microseconds): for a
// short while after, every server it reaches takes in all commits before
// reading, so that it reads its own write whichever server took it. Only
// the time of the client's own write, which it knows anyway: never a
// position of the log, which would count events a blinded role may not
// know of.
constexpr const char* kWroteCookie = "tc_wrote";
// Servers' clocks may differ by this much.
constexpr int64_t kClockSkewUs = 1'000'000;

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
Result<size_t> Count(const Request& req, const std::string& name, size_t fallback, size_t least) {
  if (!req.has_param(name.c_str())) return fallback;
  const std::string text = req.get_param_value(name.c_str());
  bool digits = !text.empty() && text.size() <= 9 &&
                std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || std::stoul(text) < least) {
    return InvalidArgument(name + " must be a whole number from " + std::to_string(least) + ", not \"" + text + "\"");
  }
  return static_cast<size_t>(std::stoul(text));
}

// A listing's query parameters (api/reports.h): form, site, visit, subject,
// item and value; labels=true decodes coded values; inactive=include adds
// inactivated subjects' forms, as the subject list does.
Result<ListingQuery> ListingQueryOf(const Request& req) {
  ListingQuery q;
  q.form = req.get_param_value("form");
  q.site = req.get_param_value("site");
  q.visit = req.get_param_value("visit");
  q.subject = req.get_param_value("subject");
  q.item = req.get_param_value("item");
  q.value = req.get_param_value("value");
  const std::string labels = req.get_param_value("labels"), inactive = req.get_param_value("inactive");
  if (!labels.empty() && labels != "true" && labels != "false") {
    return InvalidArgument("labels must be true or false, not \"" + labels + "\"");
  }
  if (!inactive.empty() && inactive != "include" && inactive != "exclude") {
    return InvalidArgument("inactive must be include or exclude, not \"" + inactive + "\"");
  }
  q.labels = labels == "true";
  q.with_inactive = inactive == "include";
  return q;
}

// The capture command on the form a route's path names.
Value::Object FormCommand(const std::string& op, const Request& req) {
  return Value::Object{{"op", op},
                       {"subject", std::string(req.matches[2])},
                       {"visit", std::string(req.matches[3])},
                       {"form", std::string(req.matches[4])}};
}

// The role a request asks to act in (X-Trialcore-Role), if it names one.
std::optional<std::string> WantedRole(const Request& req) {
  if (!req.has_header("X-Trialcore-Role")) return std::nullopt;
  return req.get_header_value("X-Trialcore-Role");
}

}  // namespace

class Server::Impl {
 public:
  Impl(EventStore* store, Env* env, ServerOptions options) : store_(store), env_(env), options_(std::move(options)) {}

  Status Init() {
    TC_ASSIGN_OR_RETURN(users_, UserDirectory::Open(store_, env_));
    // Changes other servers make to accounts reach this one as the store
    // tells of them, not when it next looks.
    TC_RETURN_IF_ERROR(users_->Follow());
    sessions_.emplace(
        &store_->server_state(), env_,
        SessionLimits{options_.session_idle_us, options_.session_max_us, options_.login_attempts_per_minute});
    TC_ASSIGN_OR_RETURN(PositionSeal seal, PositionSeal::Shared(env_, store_->server_state()));
    positions_.emplace(seal);
    http::HttpOptions h;
    h.bind = options_.bind;
    h.port = options_.port;
    h.tls_cert = options_.tls_cert;
    h.tls_key = options_.tls_key;
    h.max_header_bytes = options_.max_header_bytes;
    h.max_body_bytes = options_.max_body_bytes;
    h.header_timeout_ms = options_.header_timeout_ms;
    h.body_timeout_ms = options_.body_timeout_ms;
    h.idle_timeout_ms = options_.idle_timeout_ms;
    h.write_timeout_ms = options_.write_timeout_ms;
    h.stop_grace_ms = options_.stop_grace_ms;
    h.io_threads = options_.io_threads;
    h.worker_threads = options_.worker_threads;
    h.stream_threads = options_.stream_threads;
    h.is_event_stream = [](std::string_view target) { return target.substr(0, target.find('?')).ends_with("/events"); };
    h.event_stream_send_buffer = options_.event_stream_send_buffer;
    TC_ASSIGN_OR_RETURN(http_,
                        http::HttpServer::Create(h, [this](Request& req, Response& res) { Dispatch(req, res); }));
    secure_ = http_->secure();
    feeds_.emplace(store_, options_.event_queue_limit);
    Routes();
    return Status::Ok();
  }

  Status Listen() { return http_->Listen(); }
  Status Run() { return http_->Run(); }
  // May come before Run (a signal right after start): Run then returns at once.
  void Stop() { http_->Stop(); }
  int port() const { return http_->port(); }
  std::string url() const {
    return std::string(http_->secure() ? "https" : "http") + "://" + options_.bind + ":" + std::to_string(port());
  }

 private:
  // A request's context once authenticated.
  struct Caller {
    User user;
    Session session;
    std::string token;  // the session's key (SessionKey of its cookie); empty for a bearer token
  };

  void Reply(Response& res, const Value& body) { Send(res, http_status::kOk, body); }

  // A page of a list: its items under `key`, with how many there are in all
  // and the page asked for (Page), as every paged route answers.
  void ReplyPage(Response& res, const std::string& key, Value::Array items, int64_t total, size_t offset,
                 size_t limit) {
    Reply(res, Value::Object{{key, std::move(items)},
                             {"total", total},
                             {"offset", static_cast<int64_t>(offset)},
                             {"limit", static_cast<int64_t>(limit)}});
  }

  void Send(Response& res, int status, const Value& body) {
    res.status = status;
    res.set_content(ToJson(body), "application/json");
  }

  void Error(Response& res, const Status& st, Value::Object details = {}) {
    Send(res, HttpStatusFor(st.code()),
         Value::Object{{"code", std::string(ErrorCodeName(st.code()))},
                       {"message", ShortMessage(st.message())},
                       {"details", details}});
  }

  // An error whose code names its cause more closely than its status code.
  void Error(Response& res, StatusCode status, const std::string& code, const std::string& message) {
    Error(res, HttpStatusFor(status), code, message);
  }

  // An error of the protocol itself (http_status).
  void Error(Response& res, int http, const std::string& code, const std::string& message) {
    Send(res, http, Value::Object{{"code", code}, {"message", ShortMessage(message)}, {"details", Value::Object{}}});
  }

  std::string Client(const Request& req) {
    if (options_.trusted_proxies.empty()) return req.remote_addr;
    // Every X-Forwarded-For field in order: a client may send its own before
    // the proxy adds the one it saw.
    std::string forwarded;
    auto [from, to] = req.headers.equal_range("X-Forwarded-For");
    for (auto it = from; it != to; ++it) forwarded += (forwarded.empty() ? "" : ", ") + it->second;
    return ClientAddress(req.remote_addr, forwarded, options_.trusted_proxies);
  }

  std::optional<std::string> CookieToken(const Request& req) {
    return CookieValue(req.get_header_value("Cookie"), kCookie);
  }

  // The session's user, or a 401 reply. State-changing requests also need
  // the session's CSRF token in X-CSRF-Token; the caller's session carries
  // it only for those and when `with_csrf` (a reply that hands it out).
  std::optional<Caller> Authenticate(const Request& req, Response& res, bool with_csrf = false) {
    // Machine clients: a bearer token, scoped to one grant; no cookie, so no CSRF.
    if (auto bearer = BearerToken(req.get_header_value("Authorization"))) {
      auto user = users_->FindByToken(*bearer);
      if (!user.ok()) {
        Error(res, StatusCode::kUnauthenticated, "unauthenticated", user.status().message());
        return std::nullopt;
      }
      return Caller{*user, Session{"", user->id, "", 0, false}, ""};
    }
    auto token = CookieToken(req);
    if (!token) {
      Error(res, StatusCode::kUnauthenticated, "unauthenticated", "log in first");
      return std::nullopt;
    }
    const bool changes = req.method != "GET" && req.method != "HEAD" && req.method != "OPTIONS";
    Result<Session> resumed = sessions_->Resume(*token, changes || with_csrf);
    if (!resumed.ok()) {
      const StatusCode code = resumed.status().code();
      if (code == StatusCode::kNotFound) {
        Error(res, StatusCode::kUnauthenticated, "unauthenticated", "log in first");
      } else if (code == StatusCode::kUnauthenticated) {
        Error(res, code, "session_expired", resumed.status().message());
      } else {
        Error(res, resumed.status());
      }
      return std::nullopt;
    }
    const Session& session = *resumed;
    if (changes && !SameSecret(req.get_header_value("X-CSRF-Token"), session.csrf)) {
      Error(res, StatusCode::kPermissionDenied, "csrf", "missing or wrong X-CSRF-Token header; nothing was changed");
      return std::nullopt;
    }
    auto user = users_->Find(session.user);
    if (!user.ok() || user->disabled) {
      Error(res, StatusCode::kUnauthenticated, "unauthenticated", "this account is no longer active");
      return std::nullopt;
    }
    return Caller{*user, session, session.key};
  }

  Result<Value> Body(const Request& req) {
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

  void Log(const Request& req, const Response& res) {
    // One JSON object a line, keys in byte order as ToJson writes them;
    // written in place, since every request pays for it.
    std::string line = "{\"client\":";
    line.reserve(160 + req.path.size());
    AppendJsonString(&line, Client(req));
    line += ",\"method\":";
    AppendJsonString(&line, req.method);
    line += ",\"path\":";
    AppendJsonString(&line, req.path);
    line += ",\"request_id\":";
    AppendJsonString(&line, req.request_id);
    line += ",\"status\":" + std::to_string(res.status) + ",\"time\":";
    AppendJsonString(&line, FormatTimeMicros(env_->NowMicros()));
    line += "}\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
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
  bool Screen(const Request& req, Response& res) {
    // The transport ignores a single range everywhere (whole replies).
    if (std::string range = req.get_header_value("Range"); range.find(',') != std::string::npos) {
      Error(res, http_status::kRangeNotSatisfiable, "range_not_satisfiable", "at most one byte range per request");
      return false;
    }
    // (The body itself is read after this, so its headers say whether there is one.)
    const std::string length = req.get_header_value("Content-Length");
    const bool body =
        req.has_header("Transfer-Encoding") || (!length.empty() && length.find_first_not_of('0') != std::string::npos);
    if (req.path.starts_with("/api/") && body) {
      std::string type = req.get_header_value("Content-Type");
      type = type.substr(0, type.find(';'));
      while (!type.empty() && type.back() == ' ') type.pop_back();
      for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      // An E2B(R3) acknowledgement is XML as the regulator sent it; no form
      // of another site can send application/xml either (it needs CORS).
      const bool xml =
          (req.path.ends_with("/safety/acks") || req.path.ends_with("/safety/imports")) && type == "application/xml";
      if (type != "application/json" && !xml) {
        Error(res, http_status::kUnsupportedMediaType, "unsupported_media_type",
              "request bodies must be JSON, sent with Content-Type: application/json");
        return false;
      }
    }
    return true;
  }

  struct RouteHandler {
    std::string method;
    std::vector<std::string> segments;  // of a template
    std::vector<bool> parameters;       // which of them are parameters
    std::optional<std::regex> pattern;  // or a regular expression
    http::Handler handler;
  };

  // Registers a route by its OpenAPI path template ("/api/v1/studies/{study}"):
  // each "{name}" is one segment, not empty. Matched segment by segment,
  // not by a regular expression: every request walks the routes.
  void Add(const std::string& method, const std::string& path, http::Handler handler) {
    routes_.push_back({method, path});
    RouteHandler r;
    r.method = method;
    for (std::string_view segment : Segments(path)) {
      const bool parameter = segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
      r.segments.emplace_back(parameter ? std::string_view() : segment);
      r.parameters.push_back(parameter);
    }
    r.handler = std::move(handler);
    handlers_.push_back(std::move(r));
  }
  // A route by a regular expression that must match the whole path.
  void AddPattern(const std::string& method, const std::string& pattern, http::Handler handler) {
    handlers_.push_back({method, {}, {}, std::regex(pattern), std::move(handler)});
  }

  // A path's segments between its slashes ("/a/b" is "", "a", "b").
  static std::vector<std::string_view> Segments(std::string_view path) {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (true) {
      size_t slash = path.find('/', start);
      out.push_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
      if (slash == std::string_view::npos) return out;
      start = slash + 1;
    }
  }

  // Whether a route takes the path; its matches are the whole path, then
  // each parameter (or each group of a pattern).
  static bool Matches(const RouteHandler& r, const std::string& path, const std::vector<std::string_view>& segments,
                      std::vector<std::string>* matches) {
    if (r.pattern) {
      std::smatch m;
      if (!std::regex_match(path, m, *r.pattern)) return false;
      matches->clear();
      for (const auto& group : m) matches->push_back(group.str());
      return true;
    }
    if (segments.size() != r.segments.size()) return false;
    for (size_t i = 0; i < segments.size(); ++i) {
      if (r.parameters[i] ? segments[i].empty() : segments[i] != r.segments[i]) return false;
    }
    matches->assign(1, path);
    for (size_t i = 0; i < segments.size(); ++i) {
      if (r.parameters[i]) matches->emplace_back(segments[i]);
    }
    return true;
  }

  // Every request: screened, routed and logged. An exception a route lets
  // out is a bug: logged with the request's id, answered 500 without details.
  void Dispatch(Request& req, Response& res) {
    try {
      if (Screen(req, res)) Route(req, res);
    } catch (const std::exception& e) {
      res = Response();
      std::fprintf(stderr, "%s\n",
                   ToJson(Value::Object{{"time", FormatTimeMicros(env_->NowMicros())},
                                        {"request_id", req.request_id},
                                        {"error", std::string("exception: ") + e.what()}})
                       .c_str());
      Error(res, StatusCode::kInternal, "internal", "internal error; please report it");
    }
    // Nothing the application loads may come from elsewhere, nor may another
    // site frame it.
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; "
                   "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    Log(req, res);
  }

  // The web application's files first (as a mount point at "/"), then the
  // routes; HEAD as GET. No route: 404 with no body.
  void Route(Request& req, Response& res) {
    const std::string method = req.method == "HEAD" ? "GET" : req.method;
    if (method == "GET" && !web_root_.empty() && ServeWebFile(env_, web_root_, req, res)) return;
    const std::vector<std::string_view> segments = Segments(req.path);
    for (const RouteHandler& r : handlers_) {
      if (r.method != method) continue;
      if (!Matches(r, req.path, segments, &req.matches)) continue;
      r.handler(req, res);
      return;
    }
    res.status = http_status::kNotFound;
  }

  void Routes() {
    Add("POST", "/api/v1/session", [this](const Request& req, Response& res) {
      Result<bool> allowed = sessions_->LoginAllowed(Client(req));
      if (!allowed.ok()) return Error(res, allowed.status());
      if (!*allowed) {
        return Error(res, StatusCode::kRateLimited, "rate_limited",
                     "too many login attempts from this address; wait a minute");
      }
      auto body = Body(req);
      if (!body.ok()) return Error(res, body.status());
      if (Status st = TextFields(*body, {"user", "password"}, {"user", "password"}); !st.ok()) return Error(res, st);
      if (Status st = ValidateLoginFields(body->Find("user")->as_string(), body->Find("password")->as_string());
          !st.ok()) {
        return Error(res, st);
      }
      auto u = users_->Login(body->Find("user")->as_string(), body->Find("password")->as_string(), Client(req));
      if (!u.ok()) return Error(res, StatusCode::kUnauthenticated, "login_failed", u.status().message());
      auto started = sessions_->Start(u->id);
      if (!started.ok()) return Error(res, started.status());
      const auto& [token, s] = *started;
      res.set_header("Set-Cookie", std::string(kCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict" +
                                       (secure_ ? "; Secure" : ""));
      Reply(res, MeJson(*u, s));
    });

    Add("DELETE", "/api/v1/session", [this](const Request& req, Response& res) {
      auto c = Authenticate(req, res);
      if (!c) return;
      if (Status ended = sessions_->End(c->token); !ended.ok()) return Error(res, ended);
      Status st = users_->RecordLogout(c->user.id, Client(req));
      if (!st.ok()) return Error(res, st);
      res.set_header("Set-Cookie", std::string(kCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
      Reply(res, Value::Object{{"logged_out", true}});
    });

    Add("GET", "/api/v1/session", [this](const Request& req, Response& res) {
      auto c = Authenticate(req, res, /*with_csrf=*/true);
      if (!c) return;
      Reply(res, MeJson(c->user, c->session));
    });

    Add("GET", "/api/v1/studies", [this](const Request& req, Response& res) {
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
        // Whether the database is locked, so that every page can say so and
        // offer nothing the server would refuse; as of every commit, since
        // the page asks again when it hears of a lock through another server.
        if (Status caught_up = (*cap)->SeeAllCommits(); !caught_up.ok()) return Error(res, caught_up);
        const bool locked = (*cap)->DatabaseLocked();
        list.push_back(Value::Object{
            {"id", st->id}, {"title", st->title}, {"version", st->version}, {"roles", roles}, {"locked", locked}});
      }
      Reply(res, Value::Object{{"studies", list}});
    });

    const std::string study = "/api/v1/studies/{study}";
    const std::string subject = study + "/subjects/{subject}";

    Add("GET", study + "/subjects", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto& [caller, cap, access] = *ctx;
      std::string site = req.get_param_value("site"), status = req.get_param_value("status");
      const std::string inactive = req.get_param_value("inactive");
      if (!inactive.empty() && inactive != "include" && inactive != "exclude") {
        return Error(res,
                     InvalidArgument("inactive must be include or exclude, not \"" + inactive.substr(0, 64) + "\""));
      }
      auto page = Page(req);
      if (!page.ok()) return Error(res, page.status());
      auto [offset, limit] = *page;
      auto viewer = ViewerFor(*cap, access, WantedRole(req));
      if (!viewer.ok()) return Error(res, viewer.status());
      auto listed = capture::ListSubjects(cap->store(), cap->study_id(), *viewer, {site, status, inactive == "include"},
                                          offset, limit, cap->read_cache());
      if (!listed.ok()) return Error(res, listed.status());
      res.status = http_status::kOk;
      res.set_content(SubjectListJsonText(*listed, offset, limit), "application/json");
    });

    Add("GET", subject, [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      const std::string id = req.matches[2];
      auto definition = std::get<1>(*ctx)->study();
      bool blind = true;
      capture::Withheld withheld;
      if (req.has_param("as_of")) {
        if (!SubjectVisible(*ctx, id, res, [&](const capture::SubjectState& s) {
              blind = !SeesHidden(std::get<2>(*ctx), WantedRole(req), s.site);
              withheld = WithheldFor(*definition, std::get<2>(*ctx), WantedRole(req), s.site);
            })) {
          return;
        }
        // The casebook as it stood then: the subject's events up to that
        // moment, replayed.
        auto when = ParseTimeMicros(req.get_param_value("as_of"));
        if (!when.ok()) return Error(res, InvalidArgument("as_of: " + when.status().message()));
        auto then = std::get<1>(*ctx)->SubjectAsOf(id, *when);
        if (!then.ok()) return Error(res, then.status());
        Value body = SubjectJson(*then, *definition, blind, withheld);
        body.as_object()["as_of"] = FormatTimeMicros(*when);
        // A past state of the casebook is a view of its audit trail: audited too.
        Status st = users_->Record(
            "audit.viewed", Actor{std::get<0>(*ctx).user.id, "user"},
            Value::Object{{"study", std::string(req.matches[1])}, {"subject", id}, {"as_of", FormatTimeMicros(*when)}});
        if (!st.ok()) return Error(res, st);
        return Reply(res, body);
      }
      Value body;
      uint64_t version = 0;
      if (!SubjectVisible(*ctx, id, res, [&](const capture::SubjectState& s) {
            blind = !SeesHidden(std::get<2>(*ctx), WantedRole(req), s.site);
            body = SubjectJson(s, *definition, blind,
                               WithheldFor(*definition, std::get<2>(*ctx), WantedRole(req), s.site));
            version = capture::SubjectVersion(s, blind);
          })) {
        return;
      }
      res.set_header("ETag", "\"" + std::to_string(version) + "\"");
      Reply(res, body);
    });

    Add("GET", subject + "/schedule", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      const std::string id = req.matches[2];
      if (!SubjectVisible(*ctx, id, res)) return;
      auto* cap = std::get<1>(*ctx);
      auto definition = cap->study();
      if (definition == nullptr) return Error(res, FailedPrecondition("the study is not published"));
      const int64_t now = cap->NowMicros();
      Value::Array visits;
      Status missing_form;
      // One read of the subject for the whole grid of visits and forms.
      Status read = cap->ReadSubject(id, [&](const capture::SubjectState& s) {
        for (const auto& v : capture::ScheduleOf(capture::PlanVisits(*definition, s), now / rules::kMicrosPerDay)) {
          Value::Object o{{"visit", v.visit}, {"status", std::string(capture::WindowStatusName(v.status))}};
          if (v.planned_day) o["planned"] = rules::FormatDateDays(*v.planned_day);
          if (v.actual_day) o["actual"] = rules::FormatDateDays(*v.actual_day);
          // Each form's completion, for the casebook's grid of visits and forms.
          Value::Array forms;
          if (auto inst = definition->FindVisitInstance(v.visit); inst.ok()) {
            for (const std::string& fid : inst->visit->forms) {
              const study::Form* f = definition->FindForm(fid);
              if (f == nullptr) {
                missing_form = NotFound("unknown form " + fid);
                return;
              }
              forms.push_back(Value::Object{{"form", fid},
                                            {"status", std::string(capture::FormStatusName(capture::StatusOfFormIn(
                                                           *definition, s, v.visit, *f, now)))}});
            }
          }
          o["forms"] = forms;
          visits.push_back(o);
        }
      });
      if (!read.ok()) return Error(res, read);
      if (!missing_form.ok()) return Error(res, missing_form);
      Reply(res, Value::Object{{"visits", visits}});
    });

    // Why a subject cannot be enrolled yet, in the protocol's words: each
    // criterion met, not met or not yet answerable, and the form answering it.
    Add("GET", subject + "/eligibility", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      const std::string id = req.matches[2];
      if (!SubjectVisible(*ctx, id, res)) return;
      auto judged = std::get<1>(*ctx)->CheckEligibility(id);
      if (!judged.ok()) return Error(res, judged.status());
      Reply(res, EligibilityJson(*judged));
    });

    Add("GET", subject + "/audit", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      const std::string id = req.matches[2];
      auto query = ParseAuditQuery(req.params);
      if (!query.ok()) return Error(res, query.status());
      // For a blinded caller, entries of hidden items and of queries on them
      // (by their paths, subject/ID/queries/N/...) do not exist, for every
      // filter, page and export alike (api/audit_trail.h).
      AuditVisibility visibility;
      // Who raised each query, by the path its opening sets: an edit check's
      // opening is the system's, not the user's whose save triggered it.
      std::map<std::string, Value> raised_by;
      // (Taken before the subject is read: the read holds capture's lock.)
      auto definition = std::get<1>(*ctx)->study();
      if (!SubjectVisible(*ctx, id, res, [&](const capture::SubjectState& s) {
            visibility.blinded = !SeesHidden(std::get<2>(*ctx), WantedRole(req), s.site);
            visibility.hidden = HiddenItems(*definition, visibility.blinded);
            visibility.withheld = WithheldFor(*definition, std::get<2>(*ctx), WantedRole(req), s.site);
            for (const auto& [n, q] : s.queries) {
              const std::string path = capture::SubjectStream(id) + "/queries/" + std::to_string(n);
              if (visibility.blinded && capture::HiddenQuery(*definition, q)) visibility.hidden_queries.insert(path);
              if (q.raised_by_check()) raised_by[path + "/state"] = QueryJson(n, q, !visibility.blinded)["raised_by"];
            }
          })) {
        return;
      }
      const std::string study_id = req.matches[1];
      // Positions count every event, hidden ones included: for those who see them.
      const bool with_seq = !visibility.blinded;
      // Views and exports of the audit trail are themselves audited, with
      // the filters they were made with.
      Value::Object details{{"study", study_id}, {"subject", id}};
      for (const auto& [name, value] : req.params) {
        if (name != "format" && name != "limit" && name != "after") details["filter_" + name] = value;
      }
      Status st = users_->Record(query->csv ? "audit.exported" : "audit.viewed",
                                 Actor{std::get<0>(*ctx).user.id, "user"}, details);
      if (!st.ok()) return Error(res, st);
      auto walk = std::make_shared<AuditTrailWalk>(*store_, study_id, id, std::move(visibility), *query);
      if (query->csv) {
        // Streamed: a few hundred events per chunk, never the whole trail at once.
        struct CsvStream final : http::EventStream {
          std::shared_ptr<AuditTrailWalk> walk;
          bool with_seq = false, header_sent = false;
          void Start(std::function<void()>) override {}
          Chunk Next(bool stopping) override {
            Chunk out;
            if (!header_sent) {
              out.text = AuditCsvHeader(with_seq);
              header_sent = true;
            }
            std::vector<ShownAuditEntry> shown;
            for (int events = 0; events < 256 && !stopping; ++events) {
              auto more = walk->Next(&shown);
              if (!more.ok()) {
                // A reader can tell an export cut short from a whole one.
                out.text += CsvSafeField("export stopped: " + more.status().message()) + "\r\n";
                out.end = true;
                return out;
              }
              if (!*more) {
                out.end = true;
                return out;
              }
              for (const ShownAuditEntry& e : shown) out.text += AuditCsvLine(e, with_seq);
            }
            out.end = stopping;
            out.more = !stopping;
            return out;
          }
        };
        auto stream = std::make_shared<CsvStream>();
        stream->walk = walk;
        stream->with_seq = with_seq;
        res.set_header("Cache-Control", "no-store");
        res.set_header("Content-Type", "text/csv; charset=utf-8");
        res.set_header("Content-Disposition", "attachment; filename=\"audit-" + study_id + "-" + id + ".csv\"");
        res.set_event_stream(std::move(stream));
        return;
      }
      Value::Array entries;
      auto next = ReadAuditPage(*walk, *query, [&](const ShownAuditEntry& shown) {
        const AuditEntry& a = *shown.entry;
        Value::Object e{{"time", FormatTimeMicros(a.time_us)},
                        {"user", a.actor.user},
                        {"role", a.actor.role},
                        {"event", a.type},
                        {"path", a.path},
                        {"reason", shown.reason}};
        e["old"] = shown.old_value ? *shown.old_value : Value();
        e["new"] = shown.new_value ? *shown.new_value : Value();
        if (with_seq) e["seq"] = static_cast<int64_t>(a.seq);
        if (a.type == "query.opened") {
          if (auto it = raised_by.find(a.path); it != raised_by.end()) e["raised_by"] = it->second;
        }
        entries.push_back(e);
        return Status::Ok();
      });
      if (!next.ok()) return Error(res, next.status());
      Value::Object page{{"entries", entries}, {"limit", static_cast<int64_t>(query->limit)}};
      if (*next) page["next"] = std::to_string(**next);
      Reply(res, page);
    });

    Add("POST", study + "/commands", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto body = Body(req);
      if (!body.ok()) return Error(res, body.status());
      RunCommand(*ctx, *body, req, res);
    });

    Add("GET", study, [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      const Access& access = std::get<2>(*ctx);
      Reply(res, DefinitionJson(*std::get<1>(*ctx)->study(), access, !SeesHidden(access, WantedRole(req), "")));
    });

    Add("GET", study + "/dashboard", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto figures = DashboardJson(*std::get<1>(*ctx), std::get<2>(*ctx), WantedRole(req));
      if (!figures.ok()) return Error(res, figures.status());
      res.status = http_status::kOk;
      res.set_content(std::move(*figures), "application/json");
    });

    // What awaits an investigator's signature at the caller's sites.
    Add("GET", study + "/awaiting-signature", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto& [caller, cap, access] = *ctx;
      auto viewer = ViewerFor(*cap, access, WantedRole(req));
      if (!viewer.ok()) return Error(res, viewer.status());
      auto awaiting = capture::ReadAwaitingSignature(cap->store(), cap->study_id(), *viewer);
      if (!awaiting.ok()) return Error(res, awaiting.status());
      Value::Array listed;
      for (const auto& r : awaiting->listed) {
        listed.push_back(
            Value::Object{{"subject", r.subject}, {"visit", r.visit}, {"form", r.form}, {"why", r.detail}});
      }
      Reply(res, Value::Object{{"listed", listed}, {"total", awaiting->total}});
    });

    // The database lock checklist (capture/lock_checklist.h), for those who
    // lock: it lists subjects of every site, so only to a caller who sees them all.
    Add("GET", study + "/lock-checklist", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto& [caller, cap, access] = *ctx;
      auto role = access.ActingRole(WantedRole(req), "");
      if (!role.ok()) return Error(res, role.status());
      if ((*role != "data_manager" && *role != "study_admin") || !access.SeesAllSites()) {
        return Error(res, PermissionDenied("the lock checklist is for data managers and study administrators of "
                                           "every site"));
      }
      // Blinded callers' counts leave out queries on hidden items, which they
      // learn of only when a lock is refused for them (doc/roles.md).
      auto checklist =
          capture::ReadLockChecklist(cap->store(), cap->study_id(), !SeesHidden(access, WantedRole(req), ""));
      if (!checklist.ok()) return Error(res, checklist.status());
      Value::Array items;
      for (const auto& it : checklist->items) {
        Value::Array listed;
        for (const auto& r : it.listed) {
          listed.push_back(
              Value::Object{{"subject", r.subject}, {"visit", r.visit}, {"form", r.form}, {"detail", r.detail}});
        }
        Value::Object o{{"id", it.id}, {"title", it.title}, {"count", it.count}, {"listed", listed}};
        o["acceptable"] = it.acceptable;
        items.push_back(o);
      }
      auto history = capture::ReadLockHistory(cap->store(), cap->study_id());
      if (!history.ok()) return Error(res, history.status());
      Value::Array signed_events;
      for (const auto& l : *history) {
        Value::Object accepted;
        for (const auto& [id, why] : l.accepted) accepted[id] = why;
        signed_events.push_back(Value::Object{{"action", l.locked ? "locked" : "unlocked"},
                                              {"time", FormatTimeMicros(l.time_us)},
                                              {"user", l.user},
                                              {"role", l.role},
                                              {"signer_name", l.signer_name},
                                              {"reason", l.reason},
                                              {"accepted", accepted}});
      }
      Value::Object out{{"items", items}, {"history", signed_events}};
      out["locked"] = checklist->locked;
      Reply(res, out);
    });

    Add("GET", study + "/queries", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto& [caller, cap, access] = *ctx;
      std::string state = req.get_param_value("state"), subject_id = req.get_param_value("subject"),
                  site = req.get_param_value("site");
      if (!state.empty() && !capture::QueryStateNamed(state)) {
        return Error(res, InvalidArgument("unknown query state \"" + state +
                                          "\" in \"state\": open, answered, closed or cancelled"));
      }
      auto page = Page(req);
      if (!page.ok()) return Error(res, page.status());
      auto [offset, limit] = *page;
      auto viewer = ViewerFor(*cap, access, WantedRole(req));
      if (!viewer.ok()) return Error(res, viewer.status());
      auto listed = capture::ListQueries(cap->store(), cap->study_id(), *viewer, {state, subject_id, site}, offset,
                                         limit, cap->read_cache());
      if (!listed.ok()) return Error(res, listed.status());
      res.status = http_status::kOk;
      res.set_content(QueryInboxJsonText(*listed, offset, limit, env_->NowMicros()), "application/json");
    });

    // Source data verification by plan: progress by site, by subject, and
    // the monitor's worklist. Not for site staff: knowing which subjects the
    // sample holds would let a site treat them differently.
    auto sdv_context = [this](const Request& req, Response& res) -> std::optional<StudyCtx> {
      auto ctx = StudyContext(req, res);
      if (!ctx) return std::nullopt;
      auto role = std::get<2>(*ctx).ActingRole(WantedRole(req), "");
      if (!role.ok()) {
        Error(res, role.status());
        return std::nullopt;
      }
      static const std::set<std::string> kReaders = {"monitor", "data_manager", "medical_monitor", "study_admin",
                                                     "sponsor_viewer"};
      if (!kReaders.contains(*role)) {
        Error(res, PermissionDenied("source data verification progress is for monitors, data managers and the "
                                    "sponsor, not for the role " +
                                    *role));
        return std::nullopt;
      }
      return ctx;
    };
    auto progress_json = [](const capture::SdvProgress& p) {
      Value::Object o{{"site", p.site}, {"required", p.required}, {"verified", p.verified}};
      if (p.subject.empty()) {
        o["subjects"] = p.subjects;
        o["sampled"] = p.sampled;
      } else {
        o["subject"] = p.subject;
        o["sampled"] = p.sampled != 0;
      }
      return Value(std::move(o));
    };

    Add("GET", study + "/sdv", [this, sdv_context, progress_json](const Request& req, Response& res) {
      auto ctx = sdv_context(req, res);
      if (!ctx) return;
      auto& [caller, cap, access] = *ctx;
      auto viewer = ViewerFor(*cap, access, WantedRole(req));
      if (!viewer.ok()) return Error(res, viewer.status());
      auto sites = capture::SdvBySite(cap->store(), cap->study_id(), *viewer);
      if (!sites.ok()) return Error(res, sites.status());
      const study::SdvPlan& plan = cap->study()->sdv_plan;
      Value::Array always, lines;
      for (const auto& ref : plan.always) always.push_back(ref.item.empty() ? ref.form : ref.form + "." + ref.item);
      capture::SdvProgress total;
      for (const auto& line : *sites) {
        Value o = progress_json(line);
        o.as_object()["risk"] =
            plan.declared ? (plan.site_risk.contains(line.site) ? plan.site_risk.at(line.site) : plan.default_risk)
                          : "";
        o.as_object()["percent"] = static_cast<int64_t>(plan.PercentAt(line.site));
        lines.push_back(std::move(o));
        total.subjects += line.subjects;
        total.sampled += line.sampled;
        total.required += line.required;
        total.verified += line.verified;
      }
      Value::Object percent;
      for (const auto& [risk, p] : plan.percent_by_risk) percent[risk] = static_cast<int64_t>(p);
      Reply(res, Value::Object{{"plan", Value::Object{{"declared", plan.declared},
                                                      {"always", always},
                                                      {"percent_by_risk", percent},
                                                      {"default_risk", plan.default_risk}}},
                               {"sites", lines},
                               {"total", progress_json(total)}});
    });

    Add("GET", study + "/sdv/subjects", [this, sdv_context, progress_json](const Request& req, Response& res) {
      auto ctx = sdv_context(req, res);
      if (!ctx) return;
      auto& [caller, cap, access] = *ctx;
      auto page = Page(req);
      if (!page.ok()) return Error(res, page.status());
      auto [offset, limit] = *page;
      auto viewer = ViewerFor(*cap, access, WantedRole(req));
      if (!viewer.ok()) return Error(res, viewer.status());
      auto listed =
          capture::SdvBySubject(cap->store(), cap->study_id(), *viewer, req.get_param_value("site"), offset, limit);
      if (!listed.ok()) return Error(res, listed.status());
      Value::Array subjects;
      for (const auto& p : listed->subjects) subjects.push_back(progress_json(p));
      ReplyPage(res, "subjects", std::move(subjects), listed->total, offset, limit);
    });

    Add("GET", study + "/sdv/worklist", [this, sdv_context](const Request& req, Response& res) {
      auto ctx = sdv_context(req, res);
      if (!ctx) return;
      auto& [caller, cap, access] = *ctx;
      auto page = Page(req);
      if (!page.ok()) return Error(res, page.status());
      auto [offset, limit] = *page;
      auto viewer = ViewerFor(*cap, access, WantedRole(req));
      if (!viewer.ok()) return Error(res, viewer.status());
      auto listed = capture::ListSdvWork(cap->store(), cap->study_id(), *viewer, req.get_param_value("site"),
                                         req.get_param_value("subject"), offset, limit);
      if (!listed.ok()) return Error(res, listed.status());
      Value::Array forms;
      for (const auto& w : listed->forms) {
        forms.push_back(Value::Object{{"subject", w.subject},
                                      {"site", w.site},
                                      {"visit", w.visit},
                                      {"form", w.form},
                                      {"required", w.required},
                                      {"verified", w.verified},
                                      {"open_queries", w.open_queries}});
      }
      ReplyPage(res, "forms", std::move(forms), listed->total, offset, limit);
    });

    // The data manager's listings and reports (issue 15, point 18): SQL over
    // the projection tables for the sites the caller sees, hidden items and
    // queries on them only where the caller is unblinded.
    Add("GET", study + "/reports/listing", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto& [caller, cap, access] = *ctx;
      const std::optional<std::string> wanted = WantedRole(req);
      auto query = ListingQueryOf(req);
      if (!query.ok()) return Error(res, query.status());
      const bool csv = req.get_param_value("format") == "csv";
      if (!csv && req.has_param("format")) return Error(res, InvalidArgument("\"format\" may only be csv"));
      auto page = Page(req);
      if (!page.ok()) return Error(res, page.status());
      auto [offset, limit] = *page;
      if (csv) {
        offset = 0;
        limit = std::numeric_limits<int32_t>::max();
      }
      auto viewer = ViewerFor(*cap, access, wanted);
      if (!viewer.ok()) return Error(res, viewer.status());
      auto definition = cap->study();
      ListingReader reader{*viewer, SeesHidden(access, wanted, ""),
                           [&](const std::string& site) { return WithheldFor(*definition, access, wanted, site); }};
      auto listing = ReadListing(cap->store(), cap->study_id(), *definition, *query, reader, offset, limit);
      if (!listing.ok()) return Error(res, listing.status());
      if (csv) {
        res.status = http_status::kOk;
        res.set_header("Content-Disposition",
                       "attachment; filename=\"listing-" + cap->study_id() + "-" + query->form + ".csv\"");
        res.set_content(ListingCsv(*listing), "text/csv; charset=utf-8");
        return;
      }
      Value::Array lines;
      for (const ListingLine& line : listing->lines) lines.push_back(ListingLineJson(line));
      ReplyPage(res, "rows", std::move(lines), listing->total, offset, limit);
    });

    Add("GET", study + "/reports/missing-pages", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto& [caller, cap, access] = *ctx;
      auto viewer = ViewerFor(*cap, access, WantedRole(req));
      if (!viewer.ok()) return Error(res, viewer.status());
      const int64_t today = env_->NowMicros() / 86'400'000'000;
      auto missing =
          capture::MissingPagesBySite(cap->store(), cap->study_id(), *viewer, req.get_param_value("site"), today);
      if (!missing.ok()) return Error(res, missing.status());
      Value::Array lines;
      for (const auto& m : *missing) {
        lines.push_back(Value::Object{{"site", m.site}, {"visit", m.visit}, {"forms", m.forms}});
      }
      Reply(res, Value::Object{{"lines", lines}});
    });

    Add("GET", study + "/reports/entry-lag", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto& [caller, cap, access] = *ctx;
      auto viewer = ViewerFor(*cap, access, WantedRole(req));
      if (!viewer.ok()) return Error(res, viewer.status());
      auto lag = capture::EntryLagBySite(cap->store(), cap->study_id(), *viewer, req.get_param_value("site"));
      if (!lag.ok()) return Error(res, lag.status());
      Value::Array sites;
      for (const auto& l : *lag) {
        sites.push_back(Value::Object{{"site", l.site},
                                      {"forms", l.forms},
                                      {"days_total", l.days_total},
                                      {"within_2_days", l.within_2_days},
                                      {"over_7_days", l.over_7_days},
                                      {"max_days", l.max_days}});
      }
      Reply(res, Value::Object{{"sites", sites}});
    });

    Add("GET", study + "/reports/query-turnaround", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto& [caller, cap, access] = *ctx;
      auto viewer = ViewerFor(*cap, access, WantedRole(req));
      if (!viewer.ok()) return Error(res, viewer.status());
      auto turnaround = capture::QueryTurnaroundBySite(cap->store(), cap->study_id(), *viewer,
                                                       req.get_param_value("site"), env_->NowMicros());
      if (!turnaround.ok()) return Error(res, turnaround.status());
      Reply(res, Value::Object{{"sites", QueryTurnaroundJson(*turnaround)}});
    });

    // The safety inbox (issue 16): cases that serious adverse events opened
    // at the caller's sites, with their reporting clocks at the server's now.
    auto safety_cases = [this](const Request& req, Response& res, const std::string& case_id) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto& [caller, cap, access] = *ctx;
      auto viewer = ViewerFor(*cap, access, WantedRole(req));
      if (!viewer.ok()) return Error(res, viewer.status());
      capture::SafetyCaseFilter filter{req.get_param_value("site"), req.get_param_value("subject"),
                                       req.get_param_value("state"), case_id};
      if (!filter.state.empty() && filter.state != "open" && filter.state != "nullification_proposed" &&
          filter.state != "closed") {
        return Error(res, InvalidArgument("\"state\" may be open, nullification_proposed or closed, not \"" +
                                          filter.state + "\""));
      }
      auto lines = capture::ListSafetyCases(cap->store(), cap->study_id(), *viewer, filter);
      if (!lines.ok()) return Error(res, lines.status());
      if (!case_id.empty() && lines->empty()) return Error(res, NotFound("no safety case " + case_id));
      if (case_id.empty() && req.get_param_value("format") == "csv") {
        res.set_header("Content-Disposition", "attachment; filename=\"safety-cases-" + cap->study_id() + ".csv\"");
        return res.set_content(capture::SafetyLineListingCsv(*lines), "text/csv; charset=utf-8");
      }
      SafetyInbox inbox = BuildSafetyInbox(*cap->study(), std::move(*lines), env_->NowMicros());
      if (!case_id.empty()) return SafetyCaseReply(*ctx, req, res, case_id, std::move(inbox.cases.front()));
      Value::Object body;
      body["total"] = Value(static_cast<int64_t>(inbox.cases.size()));
      body["cases"] = Value(std::move(inbox.cases));
      body["open"] = Value(inbox.open);
      body["due_within_3_days"] = Value(inbox.due_within_3_days);
      body["overdue"] = Value(inbox.overdue);
      body["late"] = Value(inbox.late);
      Reply(res, Value(std::move(body)));
    };
    Add("GET", study + "/safety/cases",
        [safety_cases](const Request& req, Response& res) { safety_cases(req, res, ""); });
    Add("GET", study + "/safety/cases/{case}",
        [safety_cases](const Request& req, Response& res) { safety_cases(req, res, req.matches[2]); });
    SafetyCaseRoutes(study);
    // The DSUR's cumulative tabulation of serious adverse reactions.
    Add("GET", study + "/safety/tabulation", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto& [caller, cap, access] = *ctx;
      auto viewer = ViewerFor(*cap, access, WantedRole(req));
      if (!viewer.ok()) return Error(res, viewer.status());
      auto lines = capture::ListSafetyCases(cap->store(), cap->study_id(), *viewer, {});
      if (!lines.ok()) return Error(res, lines.status());
      const std::vector<capture::TabulationRow> rows = capture::TabulateSeriousReactions(*lines);
      if (req.get_param_value("format") == "csv") {
        res.set_header("Content-Disposition", "attachment; filename=\"sar-tabulation-" + cap->study_id() + ".csv\"");
        return res.set_content(capture::TabulationCsv(rows), "text/csv; charset=utf-8");
      }
      Value::Array out;
      int64_t total = 0;
      for (const auto& r : rows) {
        total += r.reactions;
        Value::Object o;
        o["soc"] = Value(r.soc);
        o["pt"] = Value(r.pt);
        o["serious_adverse_reactions"] = Value(r.reactions);
        o["fatal"] = Value(r.fatal);
        o["unexpected"] = Value(r.unexpected);
        out.push_back(Value(std::move(o)));
      }
      Value::Object body;
      body["rows"] = Value(std::move(out));
      body["serious_adverse_reactions"] = Value(total);
      Reply(res, Value(std::move(body)));
    });
    // Signal detection over the cases the caller sees (doc/safety_cases.md).
    Add("GET", study + "/safety/signals", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto& [caller, cap, access] = *ctx;
      auto viewer = ViewerFor(*cap, access, WantedRole(req));
      if (!viewer.ok()) return Error(res, viewer.status());
      auto signals = capture::DetectStudySignals(*cap, *viewer);
      if (!signals.ok()) return Error(res, signals.status());
      if (req.get_param_value("format") == "csv") {
        res.set_header("Content-Disposition", "attachment; filename=\"safety-signals-" + cap->study_id() + ".csv\"");
        return res.set_content(capture::StudySignalsCsv(*signals), "text/csv; charset=utf-8");
      }
      Reply(res, capture::StudySignalsValue(*signals));
    });

    const std::string form = subject + "/visits/{visit}/forms/{form}";
    Add("GET", form, [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto* cap = std::get<1>(*ctx);
      const Access& access = std::get<2>(*ctx);
      std::string subject_id = req.matches[2], visit = req.matches[3], form_id = req.matches[4];
      auto definition = cap->study();
      auto inst = definition->FindVisitInstance(visit);
      if (!inst.ok()) return Error(res, inst.status());
      const study::Form* form_def = definition->FindForm(form_id);
      if (form_def == nullptr) return Error(res, NotFound("unknown form " + form_id));
      const auto& collected = inst->visit->forms;
      if (std::find(collected.begin(), collected.end(), form_id) == collected.end()) {
        return Error(res, NotFound("visit " + visit + " does not collect form " + form_id));
      }
      // Read once, in place: the subject is not copied for a form, and its
      // status is judged on the same state as its values.
      bool visible = false;
      std::string body;
      uint64_t version = 0;
      const int64_t now = cap->NowMicros();
      Status read = cap->ReadSubject(subject_id, [&](const capture::SubjectState& s) {
        if (!access.SeesSite(s.site)) return;
        visible = true;
        auto status = capture::StatusOfFormIn(*definition, s, visit, *form_def, now);
        const bool blind = !SeesHidden(access, WantedRole(req), s.site);
        version = capture::SubjectVersion(s, blind);
        const capture::FormState* fs = nullptr;
        if (auto v = s.visits.find(visit); v != s.visits.end()) {
          if (auto f = v->second.forms.find(form_id); f != v->second.forms.end()) fs = &f->second;
        }
        const auto read_only = capture::WhyReadOnly(cap->DatabaseLocked(), s, visit, form_id);
        body = FormJsonText({subject_id, visit, capture::FormStatusName(status), fs, capture::ReadOnlyName(read_only)},
                            *form_def, blind, WithheldFor(*definition, access, WantedRole(req), s.site));
      });
      if (!read.ok() || !visible) return Error(res, NotFound("no subject " + subject_id));
      res.set_header("ETag", "\"" + std::to_string(version) + "\"");
      res.status = http_status::kOk;
      res.set_content(std::move(body), "application/json");
    });

    // A save, and the same decision on a proposal with nothing stored (form.check).
    Add("PATCH", form, FormRoute("form.save", {"items", "rows", "not_done", "reason"}));
    Add("POST", form + "/check", FormRoute("form.check", {"items", "rows", "not_done"}));

    Add("PATCH", form + "/items/{item}", [this](const Request& req, Response& res) {
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

    Add("POST", subject + "/queries", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto body = Body(req);
      if (!body.ok()) return Error(res, body.status());
      Value cmd = *body;
      cmd.as_object()["op"] = "query.open";
      cmd.as_object()["subject"] = std::string(req.matches[2]);
      RunCommand(*ctx, cmd, req, res);
    });

    Add("POST", subject + "/queries/{query}/{action}", [this](const Request& req, Response& res) {
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

    Add("GET", study + "/events", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      StreamEvents(*ctx, req, res);
    });

    Add("GET", "/api/openapi.json",
        [](const Request&, Response& res) { res.set_content(OpenApiJson(), "application/json"); });

    // The installation's counters count every event, those of hidden items
    // included (issue 12): only for the scraper holding the metrics token
    // (serve --metrics-token-file, sent as its bearer token, compared in
    // constant time); no session or API token of any user opens them.
    Add("GET", "/metrics", [this](const Request& req, Response& res) {
      if (Status st = MetricsAllowed(options_.metrics_token, req.get_header_value("Authorization")); !st.ok()) {
        return st.code() == StatusCode::kNotFound
                   ? Error(res, st)
                   : Error(res, StatusCode::kUnauthenticated, "unauthenticated", st.message());
      }
      StoreMetrics m = store_->Metrics();
      std::string out =
          "# HELP trialcore_http_requests_total HTTP requests served.\n# TYPE trialcore_http_requests_total counter\n";
      {
        std::lock_guard lock(mu_);
        for (const auto& [status, n] : status_counts_) {
          out += "trialcore_http_requests_total{status=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
        }
      }
      // Every server's sessions: they live in the database.
      if (auto live = sessions_->CountLive(); live.ok()) {
        out +=
            "# HELP trialcore_sessions Live sessions (of every server of the database).\n"
            "# TYPE trialcore_sessions gauge\ntrialcore_sessions " +
            std::to_string(*live) + "\n";
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
  http::Handler FormRoute(std::string op, std::initializer_list<std::string_view> allowed) {
    return [this, op, fields = std::vector<std::string_view>(allowed)](const Request& req, Response& res) {
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
    auto admin = [this](const Request& req, Response& res, bool system_only) -> std::optional<StudyCtx> {
      auto ctx = StudyContext(req, res);
      if (!ctx) return std::nullopt;
      if (Status st = MayManageAccess(std::get<2>(*ctx), system_only); !st.ok()) {
        Error(res, st);
        return std::nullopt;
      }
      return ctx;
    };

    Add("GET", study + "/users", [this, admin](const Request& req, Response& res) {
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
      Reply(res, Value::Object{{"users", list}});
    });

    Add("POST", study + "/users", [this, admin](const Request& req, Response& res) {
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
      Reply(res, Value::Object{{"user", body->Find("id")->as_string()}});
    });

    Add("POST", study + "/users/{user}/{action}", [this, admin](const Request& req, Response& res) {
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
      Reply(res, Value::Object{{"user", id}, {"done", action}});
    });
  }

  // The web application: its files at "/", and index.html for any other
  // path outside the API so that the application's own links reload.
  void WebRoutes() {
    // (Their Content-Security-Policy and the other headers every reply gets: Dispatch.)
    if (options_.web_root.empty() || !env_->FileExists(options_.web_root + "/index.html")) {
      AddPattern("GET", "/", [](const Request&, Response& res) {
        res.set_content(
            "<!doctype html><title>trialcore</title><p>The web application is not built. Run "
            "<code>./scripts/build.sh</code> (it builds <code>web/</code> with npm), or start the server with "
            "<code>--web DIR</code>. The API is at <a href=\"/api/openapi.json\">/api/v1</a>.</p>",
            "text/html; charset=utf-8");
      });
      return;
    }
    web_root_ = options_.web_root;  // its files are served before the routes (Route)
    std::string index = options_.web_root + "/index.html";
    AddPattern("GET", R"(/(?!api/|api$|metrics$)[^.]*)", [this, index](const Request&, Response& res) {
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

  Result<std::pair<size_t, size_t>> Page(const Request& req) {
    TC_ASSIGN_OR_RETURN(size_t offset, Count(req, "offset", 0, 0));
    TC_ASSIGN_OR_RETURN(size_t limit, Count(req, "limit", 100, 1));
    return std::make_pair(offset, std::min<size_t>(limit, 1000));
  }

  // The figures of the study home page, for the sites the caller sees.
  Result<std::string> DashboardJson(capture::Capture& cap, const Access& access,
                                    const std::optional<std::string>& wanted) {
    TC_ASSIGN_OR_RETURN(capture::Viewer viewer, ViewerFor(cap, access, wanted));
    TC_ASSIGN_OR_RETURN(capture::DashboardFigures d, capture::Dashboard(cap.store(), cap.study_id(), viewer,
                                                                        env_->NowMicros(), 200, cap.read_cache()));
    std::string text = DashboardJsonText(d, static_cast<int64_t>(cap.study()->planned_subjects));
    if (!cap.study()->safety.declared) return text;
    // The safety clocks beside the data: open cases at the viewer's sites,
    // how many are due within 3 days or overdue, and the most urgent.
    TC_ASSIGN_OR_RETURN(auto lines, capture::ListSafetyCases(cap.store(), cap.study_id(), viewer, {}));
    SafetyInbox inbox = BuildSafetyInbox(*cap.study(), std::move(lines), env_->NowMicros());
    Value::Object safety;
    safety["open"] = Value(inbox.open);
    safety["due_within_3_days"] = Value(inbox.due_within_3_days);
    safety["overdue"] = Value(inbox.overdue);
    safety["late"] = Value(inbox.late);
    for (const Value& c : inbox.cases) {
      const Value* left = c.Find("days_left");
      if (left == nullptr || c.Find("state")->as_string() != "open") continue;
      Value::Object next;
      next["case"] = *c.Find("case");
      next["term"] = *c.Find("term");
      next["stage"] = *c.Find("stage");
      next["days_left"] = *left;
      safety["most_urgent"] = Value(std::move(next));
      break;
    }
    TC_ASSIGN_OR_RETURN(Value figures, ParseJson(text));
    figures.as_object()["safety"] = Value(std::move(safety));
    return ToJson(figures);
  }

  // Server-sent events: every new event of the study on a subject the
  // caller may see (no values; a client refetches what changed). The stream
  // ends when the session or token that opened it ends (logout, idle or
  // absolute expiry, revocation) or the account loses the study (disabled,
  // grant revoked): StreamAccess is asked again at least every second, and
  // what it gives decides which sites' events still go out.
  void StreamEvents(StudyCtx& ctx, const Request& req, Response& res) {
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
    auto feed = feeds_->For(study_id);
    if (!feed.ok()) return Error(res, feed.status());
    // The stream's state between the transport's calls, which come at least
    // every second (so access is asked again as often) and one at a time.
    struct Stream final : http::EventStream {
      Impl* self;
      std::shared_ptr<StudyFeed> feed;
      std::unique_ptr<StudyFeed::Reader> reader;
      uint64_t after;
      capture::Capture* cap;
      std::string session, bearer, study_id;
      std::optional<std::string> wanted;
      bool counts_hidden;
      int64_t last_write_us = 0;
      std::vector<SharedEvent> held;  // read, not sent yet: from one whose subject capture did not know yet
      uint64_t unknown_seq = 0;
      int unknown_tries = 0;

      void Start(std::function<void()> wake) override {
        last_write_us = self->env_->NowMicros();
        reader = feed->Join(after, std::move(wake));
      }

      Chunk Next(bool stopping) override {
        if (stopping) return {End("server_stopping"), true};
        std::optional<Access> current = self->StreamAccess(session, bearer, study_id);
        if (!current) return {"", true};
        const Access& access = *current;
        // More than the feed's bound behind: the client reconnects and
        // resumes from the last id it received.
        if (reader->dropped()) return {End("too_slow"), true};
        constexpr size_t kBatch = 256;
        // Events held back from the last call come first, in order.
        std::vector<SharedEvent> events(std::make_move_iterator(held.begin()), std::make_move_iterator(held.end()));
        held.clear();
        if (events.size() < kBatch) {
          auto next = reader->Next(kBatch - events.size());
          if (!next.ok()) return {End("internal"), true};
          events.insert(events.end(), std::make_move_iterator(next->begin()), std::make_move_iterator(next->end()));
        }
        int64_t now = self->env_->NowMicros();
        Chunk out;
        out.more = events.size() == kBatch;
        if (events.empty()) {
          if (now - last_write_us < 15'000'000) return out;
          last_write_us = now;
          out.text = ": keep-alive\n\n";
          return out;
        }
        for (size_t i = 0; i < events.size(); ++i) {
          const Event& e = events[i]->event();
          if (e.stream.starts_with("subject/")) {
            // Events of hidden items and queries do not exist for a blinded caller.
            bool visible = false;
            auto definition = cap->study();  // not under the read's lock
            Status found = cap->ReadSubject(e.stream.substr(8), [&](const capture::SubjectState& s) {
              visible = access.SeesSite(s.site) &&
                        (SeesHidden(access, wanted, s.site) || !capture::HiddenEvent(*definition, s, e));
            });
            // The store delivers a commit before the capture that made it has
            // applied it: a subject not known yet is asked for again at the
            // next call (a few times), with what follows it held back too.
            if (found.code() == StatusCode::kNotFound && e.seq != unknown_seq) {
              unknown_seq = e.seq;
              unknown_tries = 0;
            }
            if (found.code() == StatusCode::kNotFound && ++unknown_tries <= 5) {
              held.assign(std::make_move_iterator(events.begin() + static_cast<std::ptrdiff_t>(i)),
                          std::make_move_iterator(events.end()));
              out.more = false;
              return out;
            }
            if (!found.ok() || !visible) continue;
          } else if (capture::IsDirectCaseStream(e.stream) && !access.SeesAllSites()) {
            continue;  // a direct safety case belongs to no site: only callers of every site know of it
          }
          // The same frame for every stream that may count what it may not
          // see, and for every other: made once per event, by the first.
          out.text += events[i]->Text(counts_hidden, [this](const Event& ev, bool with_seq) {
            Value::Object fields{{"type", ev.type}, {"stream", ev.stream}, {"time", FormatTimeMicros(ev.time_us)}};
            if (with_seq) fields["seq"] = static_cast<int64_t>(ev.seq);
            return "id: " + self->positions_->Seal(ev.seq) + "\nevent: " + ev.type + "\ndata: " + ToJson(fields) +
                   "\n\n";
          });
          last_write_us = now;
        }
        return out;
      }

      // The stream's last frame when the server ends it for a reason of its own.
      static std::string End(const std::string& reason) {
        return "event: end\ndata: " + ToJson(Value::Object{{"reason", reason}}) + "\n\n";
      }
    };
    auto stream = std::make_shared<Stream>();
    stream->self = this;
    stream->feed = *feed;
    stream->after = after;
    stream->cap = cap;
    stream->session = session;
    stream->bearer = bearer;
    stream->study_id = study_id;
    stream->wanted = wanted;
    stream->counts_hidden = counts_hidden;
    res.set_header("Cache-Control", "no-store");
    res.set_header("Content-Type", "text/event-stream");
    res.set_event_stream(std::move(stream));
  }

  // The access of an open event stream's caller, as it is now: none once
  // the session (by its cookie token) or the bearer token no longer
  // authenticates, or the account holds no role on the study any more.
  // Reading does not keep a session from idling out.
  std::optional<Access> StreamAccess(const std::string& session, const std::string& bearer, const std::string& study) {
    auto current = [&]() -> Result<User> {
      if (!bearer.empty()) return users_->FindByToken(bearer);
      TC_ASSIGN_OR_RETURN(Session open, sessions_->Peek(session));
      return users_->Find(open.user);
    };
    Result<User> user = current();
    if (!user.ok() || user->disabled) return std::nullopt;
    Access access(*user, study);
    if (!access.AnyGrant()) return std::nullopt;
    return access;
  }

  // Runs a capture command for the caller: the site it touches must be one
  // of theirs, the role comes from their grants, an If-Match must still hold.
  void RunCommand(StudyCtx& ctx, const Value& body, const Request& req, Response& res) {
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
    const Value* op = command.Find("op");
    const std::string op_name = op != nullptr && op->is_string() ? op->as_string() : "";
    if (op_name == "sign" || op_name == "study.lock" || op_name == "study.unlock") {
      // 21 CFR 11.200: the first signing of a session needs both the user
      // id and the password, later ones the password; the signature shows
      // the signer's full name from the account, not from the request.
      // A database lock and unlock are signed so by the data manager.
      auto password = op_name == "sign"
                          ? SigningPassword(command, caller.user.id, *role, caller.session.has_signed)
                          : LockSigningPassword(command, caller.user.id, *role, caller.session.has_signed);
      if (!password.ok()) return Error(res, password.status());
      Status st = users_->Reauthenticate(caller.user.id, *password, Client(req));
      if (!st.ok()) return Error(res, st);
      command.as_object().erase("password");
      command.as_object().erase("user");
      command.as_object()["name"] = caller.user.full_name;
      if (!caller.token.empty()) {
        if (Status marked = sessions_->MarkSigned(caller.token); !marked.ok()) return Error(res, marked);
      }
    }
    auto out = cap->Execute(command, Actor{caller.user.id, *role}, expected);
    if (!out.ok()) return Error(res, out.status());
    if (!out->events.empty()) NoteWrite(res);
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
    Reply(res, reply);
  }

  // Whether the client wrote recently enough that this server may not have
  // followed that commit yet (capture::Capture::kReadFollowLagUs).
  bool WroteJustNow(const Request& req) {
    auto wrote = CookieValue(req.get_header_value("Cookie"), kWroteCookie);
    if (!wrote) return false;
    int64_t at = 0;
    auto [end, error] = std::from_chars(wrote->data(), wrote->data() + wrote->size(), at);
    if (error != std::errc() || end != wrote->data() + wrote->size()) return false;
    return env_->NowMicros() < at + capture::Capture::kReadFollowLagUs + kClockSkewUs;
  }

  void NoteWrite(Response& res) {
    res.set_header("Set-Cookie", std::string(kWroteCookie) + "=" + std::to_string(env_->NowMicros()) +
                                     "; Path=/; HttpOnly; SameSite=Strict; Max-Age=10" + (secure_ ? "; Secure" : ""));
  }

  // The caller, the study's capture service and the caller's access to it;
  // a study the caller holds no role on does not exist for them (404).
  // A case of a subject the caller sees, read in place: NotFound for a case
  // at another site, as for one that does not exist. A direct case
  // (capture/direct_case.h) has no site: only callers of every site see it.
  using CaseReader =
      std::function<void(const capture::SubjectState*, const capture::DirectCase*, const capture::SafetyCase&)>;
  bool SafetyCaseVisible(StudyCtx& ctx, const std::string& case_id, Response& res, const CaseReader& read = {}) {
    if (capture::DirectCaseNumber(case_id)) {
      if (!std::get<2>(ctx).SeesAllSites()) {
        Error(res, NotFound("no safety case " + case_id));
        return false;
      }
      auto dc = std::get<1>(ctx)->ReadDirectCase(case_id);
      if (!dc.ok()) {
        Error(res, dc.status().code() == StatusCode::kNotFound ? NotFound("no safety case " + case_id) : dc.status());
        return false;
      }
      if (read) read(nullptr, &*dc, dc->c);
      return true;
    }
    std::string subject;
    int number = 0;
    if (!ParseSafetyCaseId(case_id, &subject, &number)) {
      Error(res, NotFound("no safety case " + case_id));
      return false;
    }
    bool found = false;
    Status st = std::get<1>(ctx)->ReadSubject(subject, [&](const capture::SubjectState& s) {
      auto c = s.cases.find(number);
      if (!std::get<2>(ctx).SeesSite(s.site) || c == s.cases.end()) return;
      found = true;
      if (read) read(&s, nullptr, c->second);
    });
    if (!st.ok() || !found) Error(res, NotFound("no safety case " + case_id));
    return st.ok() && found;
  }

  // The events of one case, oldest first (its history and the files sent).
  Result<std::vector<Event>> SafetyCaseEvents(capture::Capture& cap, const std::string& case_id) {
    std::vector<Event> out;
    EventFilter filter;
    filter.study = cap.study_id();
    std::string subject;
    int number = 0;
    if (capture::DirectCaseNumber(case_id)) {
      filter.stream = capture::DirectCaseStream(case_id);
    } else {
      ParseSafetyCaseId(case_id, &subject, &number);
      filter.stream = capture::SubjectStream(subject);
    }
    TC_RETURN_IF_ERROR(store_->ForEachEvent(filter, [&](const Event& e) {
      const Value* n = e.payload.Find("case_number");
      if (e.type.starts_with("safety.case.") && n != nullptr && n->kind() == Value::Kind::kInt &&
          (number == 0 || n->as_int() == number)) {
        out.push_back(e);
      }
      return Status::Ok();
    }));
    return out;
  }

  void SafetyCaseReply(StudyCtx& ctx, const Request& req, Response& res, const std::string& case_id, Value line) {
    auto role = std::get<2>(ctx).ActingRole(WantedRole(req), "");
    auto events = SafetyCaseEvents(*std::get<1>(ctx), case_id);
    if (!events.ok()) return Error(res, events.status());
    auto definition = std::get<1>(ctx)->study();
    Value detail;
    if (!SafetyCaseVisible(
            ctx, case_id, res,
            [&](const capture::SubjectState* s, const capture::DirectCase* dc, const capture::SafetyCase& c) {
              detail = SafetyCaseDetail(*definition, s, dc, c, std::move(line), *events, role.ok() ? *role : "");
            })) {
      return;
    }
    Reply(res, detail);
  }

  // The safety case workflow's reads (its writes are capture commands,
  // POST .../commands): coding candidates, the E2B(R3) message as it would
  // be sent, the files sent, and acknowledgements coming back.
  void SafetyCaseRoutes(const std::string& study) {
    const std::string one = study + "/safety/cases/{case}";
    Add("GET", one + "/coding", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      std::string term = req.get_param_value("term");
      if (!SafetyCaseVisible(
              *ctx, req.matches[2], res,
              [&](const capture::SubjectState* s, const capture::DirectCase* dc, const capture::SafetyCase& c) {
                if (!term.empty()) return;
                const auto& definition = *std::get<1>(*ctx)->study();
                term = dc != nullptr ? capture::FactsOfDirectCase(definition, *dc).term
                                     : capture::FactsOfCase(definition, *s, c).term;
              })) {
        return;
      }
      if (term.empty()) return Error(res, InvalidArgument("the case has no event term; give \"term\""));
      auto coder = capture::MeddraCoderFor(*store_, req.get_param_value("meddra_version"), "");
      if (!coder.ok()) return Error(res, coder.status());
      Reply(res, MeddraCodingJson(**coder, term));
    });
    Add("GET", one + "/e2b", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      const std::string destination = req.has_param("destination") ? req.get_param_value("destination") : "FDA";
      Result<capture::CaseE2b> e2b = InvalidArgument("");
      if (!SafetyCaseVisible(
              *ctx, req.matches[2], res,
              [&](const capture::SubjectState* s, const capture::DirectCase* dc, const capture::SafetyCase& c) {
                const auto& definition = *std::get<1>(*ctx)->study();
                const int next = static_cast<int>(c.submissions.size()) + 1;
                e2b = dc != nullptr
                          ? capture::BuildCaseE2b(definition, *dc, destination, next, env_->NowMicros(), false)
                          : capture::BuildCaseE2b(definition, *s, c, destination, next, env_->NowMicros(), false);
              })) {
        return;
      }
      if (!e2b.ok()) return Error(res, e2b.status());
      Value::Object o;
      o["destination"] = Value(e2b->destination);
      o["receiver"] = Value(e2b->receiver);
      o["batch_number"] = Value(e2b->batch_number);
      o["message_id"] = Value(e2b->message_id);
      o["safety_report_id"] = Value(e2b->safety_report_id);
      bool rejected = e2b->xml.empty();
      Value::Array findings;
      for (const auto& f : e2b->findings) {
        rejected = rejected || f.rejection;
        findings.push_back(Value::Object{
            {"rule", f.rule}, {"element", f.element}, {"rejection", f.rejection}, {"message", f.message}});
      }
      o["findings"] = Value(std::move(findings));
      o["valid"] = Value(!rejected);
      o["xml"] = Value(e2b->xml);
      Reply(res, Value(std::move(o)));
    });
    // Who the study's unblinded contacts were told of the case's unblinding,
    // and whether each mail went (doc/notifications.md). The mails carry no
    // arm; the contacts' addresses are for the role that unblinds.
    Add("GET", one + "/notifications", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      const std::string case_id = req.matches[2];
      if (!SafetyCaseVisible(*ctx, case_id, res)) return;
      auto role = std::get<2>(*ctx).ActingRole(WantedRole(req), "");
      if (!role.ok()) return Error(res, role.status());
      if (*role != "safety_physician") {
        return Error(res, PermissionDenied("who was told of an unblinding is for the safety physician"));
      }
      auto all = notify::ListNotifications(*store_, std::get<1>(*ctx)->study_id());
      if (!all.ok()) return Error(res, all.status());
      Value::Array out;
      for (const notify::NotificationInfo& n : *all) {
        if (n.case_id != case_id) continue;
        Value::Object o;
        o["name"] = Value(n.name);
        o["email"] = Value(n.email);
        o["role"] = Value(n.role);
        o["state"] = Value(std::string(notify::NotificationStateName(n.state)));
        o["attempts"] = Value(n.attempts);
        o["updated"] = n.updated_us ? Value(FormatTimeMicros(n.updated_us)) : Value();
        o["error"] = Value(n.error);
        o["next_attempt"] = n.next_attempt_us ? Value(FormatTimeMicros(n.next_attempt_us)) : Value();
        out.push_back(Value(std::move(o)));
      }
      Reply(res, Value::Object{{"notifications", Value(std::move(out))}});
    });
    Add("GET", one + "/submissions/{submission}/file", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      const std::string case_id = req.matches[2];
      if (!SafetyCaseVisible(*ctx, case_id, res)) return;
      auto events = SafetyCaseEvents(*std::get<1>(*ctx), case_id);
      if (!events.ok()) return Error(res, events.status());
      for (const Event& e : *events) {
        const Value* n = e.payload.Find("submission");
        const Value* file = e.payload.Find("file");
        if (e.type != "safety.case.submitted" || n == nullptr || file == nullptr || !file->is_string() ||
            std::to_string(n->as_int()) != std::string(req.matches[3])) {
          continue;
        }
        res.set_header("Content-Disposition",
                       "attachment; filename=\"" + case_id + "-" + std::string(req.matches[3]) + ".xml\"");
        return res.set_content(file->as_string(), "application/xml");
      }
      Error(res, NotFound("safety case " + case_id + " has no submission " + std::string(req.matches[3])));
    });
    Add("POST", study + "/safety/acks", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto role = std::get<2>(*ctx).ActingRole(WantedRole(req), "");
      if (!role.ok()) return Error(res, role.status());
      auto applied = capture::ApplyE2bAck(*std::get<1>(*ctx), req.body, "acknowledgement",
                                          Actor{std::get<0>(*ctx).user.id, *role});
      if (!applied.ok()) return Error(res, applied.status());
      NoteWrite(res);
      Value::Array out;
      for (const auto& a : *applied) {
        Value::Array errors;
        for (const auto& e : a.errors) errors.push_back(Value(e));
        out.push_back(Value::Object{{"case", a.case_id},
                                    {"submission", a.submission},
                                    {"destination", a.destination},
                                    {"ack", a.ack},
                                    {"code", a.code},
                                    {"errors", Value(std::move(errors))}});
      }
      Reply(res, Value::Object{{"acknowledged", Value(std::move(out))}});
    });
    // E2B(R3) reports from a partner or a regulator's database, the batch
    // file as it came; each report becomes a case, or the follow-up of the
    // case an earlier report of it opened (doc/safety_cases.md).
    Add("POST", study + "/safety/imports", [this](const Request& req, Response& res) {
      auto ctx = StudyContext(req, res);
      if (!ctx) return;
      auto role = std::get<2>(*ctx).ActingRole(WantedRole(req), "");
      if (!role.ok()) return Error(res, role.status());
      const std::string file = req.has_param("file") ? req.get_param_value("file") : "upload.xml";
      const bool plain = IsValidUtf8(file) && std::none_of(file.begin(), file.end(), [](char c) {
                           return static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '/' || c == '\\';
                         });
      if (file.empty() || file.size() > 255 || !plain) {
        return Error(res, InvalidArgument("\"file\" must be the file's own name: 1 to 255 characters of UTF-8, no "
                                          "path and no control character"));
      }
      auto cases = capture::ImportE2bCases(*std::get<1>(*ctx), req.body, file, Actor{std::get<0>(*ctx).user.id, *role});
      if (!cases.ok()) return Error(res, cases.status());
      NoteWrite(res);
      Value::Array out;
      for (const std::string& c : *cases) out.push_back(Value(c));
      Reply(res, Value::Object{{"file", Value(file)}, {"cases", Value(std::move(out))}});
    });
  }

  std::optional<StudyCtx> StudyContext(const Request& req, Response& res) {
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
    if (WroteJustNow(req)) {
      if (Status seen = (*cap)->SeeAllCommits(); !seen.ok()) {
        Error(res, seen);
        return std::nullopt;
      }
    }
    return StudyCtx{*c, *cap, access};
  }

  // Another site's subject does not exist for a site-scoped caller (404,
  // not 403). Read in place: a casebook is not copied to learn its site.
  // With `read`, it also sees the subject while it is known visible.
  bool SubjectVisible(StudyCtx& ctx, const std::string& id, Response& res,
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
  std::unique_ptr<http::HttpServer> http_;
  bool secure_ = false;
  std::string web_root_;  // the web application's files, when they are served
  std::vector<RouteHandler> handlers_;
  // After http_, so destroyed before it: no subscription wakes a stream of a
  // transport that is gone.
  std::optional<StudyFeeds> feeds_;
  std::optional<PositionSeal> positions_;  // the event stream's ids
  std::unique_ptr<UserDirectory> users_;
  std::mutex mu_;
  std::optional<Sessions> sessions_;  // in the database: shared with every server of it
  std::map<std::string, std::unique_ptr<capture::Capture>> captures_;
  std::map<int, uint64_t> status_counts_;

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
