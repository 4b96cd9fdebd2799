// The differential blinding test (issue 12): two databases built by the same
// commands, differing only in the arms (and so the doses) the subjects were
// given; every route, the event stream and the replies to the commands each
// role may issue are compared for every blinded role, byte for byte once the
// ids that legitimately differ are normalised. Any other difference is a leak.
// Then one regression test per way a blinded user learned an arm.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "api/server.h"
#include "api/users.h"
#include "api/views.h"
#include "capture/blinding.h"
#include "capture/capture.h"
#include "capture/reads.h"
#include "capture/sim.h"
#include "core/json.h"
#include "core/test_env.h"
#include "store/test_store.h"
#include "study/study.h"

namespace trialcore::api {
namespace {

constexpr char kStudy[] = "CDISCPILOT01";
constexpr char kPassword[] = "differential-password";
constexpr int64_t kNow = 1'795'000'000'000'000;  // 2026-11-18; the clock stands still in both worlds
const std::string kS = "/api/v1/studies/CDISCPILOT01";

struct Account {
  const char* id;
  const char* role;
  const char* site;
};
// The demo's accounts, and one holding a blinded and the unblinded role at one site.
const Account kAccounts[] = {
    {"coord.701", "coordinator", "701"},
    {"coord.708", "coordinator", "708"},
    {"inv.701", "investigator", "701"},
    {"inv.708", "investigator", "708"},
    {"cra.1", "monitor", "*"},
    {"dm.1", "data_manager", "*"},
    {"mm.1", "medical_monitor", "*"},
    {"safety.1", "safety_physician", "*"},
    {"sponsor.1", "sponsor_viewer", "*"},
    {"pharm.701", "unblinded_pharmacist", "701"},
    {"pharm.708", "unblinded_pharmacist", "708"},
    {"admin", "study_admin", "*"},
    {"sysadmin", "system_admin", "*"},
    {"dual.701", "coordinator", "701"},
    {"dual.701", "unblinded_pharmacist", "701"},
    // Unblinded at 701, read-only (and so blinded) at 708 (issue 13).
    {"pharm.701.viewer.708", "unblinded_pharmacist", "701"},
    {"pharm.701.viewer.708", "sponsor_viewer", "708"},
};

// Who is compared: every blinded role, and the dual account acting as
// coordinator and leaving the role to choose (blinded both ways).
struct Viewer {
  std::string user;
  std::string role;  // X-Trialcore-Role; empty: none sent
};
const std::vector<Viewer> kViewers = {
    {"coord.701", ""}, {"coord.708", ""}, {"inv.701", ""},  {"inv.708", ""},
    {"cra.1", ""},     {"dm.1", ""},      {"mm.1", ""},     {"safety.1", ""},
    {"sponsor.1", ""}, {"admin", ""},     {"sysadmin", ""}, {"dual.701", "coordinator"},
    {"dual.701", ""},
};

struct Recipe {
  std::string name;
  capture::SimOptions sim;
  bool demo_script = false;  // the demo's query, correction, verification and signature on 701-1001
};

Recipe Demo() {
  Recipe r{"demo", {}, true};
  r.sim.subjects = 12;
  r.sim.seed = 20261123;
  r.sim.enrol_every_days = 20;
  r.sim.sites = {"701", "702", "703", "704", "705", "708"};  // as cli/demo.cc
  return r;
}

Recipe Simulated() {
  Recipe r{"sim", {}, false};
  r.sim.subjects = 16;
  r.sim.seed = 7;
  r.sim.enrol_every_days = 15;
  r.sim.error_rate = 0.3;  // many typed-wrong doses, so many queries on hidden items
  return r;
}

// One database and its server, in process, on the test Env's clock and seed.
class World {
 public:
  World() : env_(42, kNow) {}
  ~World() { Stop(); }
  // An event stream's worker notices its client has gone at its next
  // keep-alive (15 s), so worlds are best stopped side by side.
  void Stop() {
    if (server_ != nullptr) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  Status Build(const Recipe& recipe, int arm_rotation) {
    StoreOpenOptions o;
    o.env = &env_;
    TC_ASSIGN_OR_RETURN(store_, testing_util::OpenTestStore("/mem/world.db", o));
    std::vector<study::StudyError> errors;
    TC_ASSIGN_OR_RETURN(
        auto definition,
        study::LoadStudyFile(std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml", &errors));
    TC_ASSIGN_OR_RETURN(auto cap, capture::Capture::Open(store_.get(), &env_, kStudy));
    TC_RETURN_IF_ERROR(cap->PublishStudy(definition, Actor{"admin", "study_admin"}).status());
    capture::SimOptions sim = recipe.sim;
    sim.arm_rotation = arm_rotation;
    TC_RETURN_IF_ERROR(capture::Simulate(*cap, sim).status());
    if (recipe.demo_script) TC_RETURN_IF_ERROR(DemoScript(*cap));
    TC_ASSIGN_OR_RETURN(auto users, UserDirectory::Open(store_.get(), &env_));
    const Actor by{"setup", "system_admin"};  // not an account of the test: no one grants themselves
    std::set<std::string> added;
    for (const Account& a : kAccounts) {
      if (added.insert(a.id).second) TC_RETURN_IF_ERROR(users->Add(a.id, a.id, kPassword, by));
      TC_RETURN_IF_ERROR(users->AddGrant(a.id, Grant{kStudy, a.role, a.site}, "", by));
    }
    ServerOptions so;
    so.port = 0;
    so.login_attempts_per_minute = 100000;
    TC_ASSIGN_OR_RETURN(server_, Server::Create(store_.get(), &env_, so));
    TC_RETURN_IF_ERROR(server_->Listen());
    thread_ = std::thread([this] { (void)server_->Run(); });
    return Status::Ok();
  }

  Server& server() { return *server_; }
  int port() const { return server_->port(); }
  EventStore& store() { return *store_; }

 private:
  static Status DemoScript(capture::Capture& cap) {
    const Actor cra{"cra.1", "monitor"}, coord{"coord.701", "coordinator"}, inv{"inv.701", "investigator"};
    TC_ASSIGN_OR_RETURN(
        auto opened,
        cap.Execute(
            ParseJson(
                R"({"op":"query.open","subject":"701-1001","visit":"SCREENING1","form":"VS","item":"WEIGHT","message":"Weight differs from the clinic chart"})")
                .value(),
            cra));
    const std::string q = std::to_string(opened.result.Find("query")->as_int());
    for (
        auto [json, who] : std::vector<std::pair<std::string, Actor>>{
            {R"({"op":"query.answer","subject":"701-1001","query":)" + q + R"(,"message":"Chart says 81.4 kg"})",
             coord},
            {R"({"op":"form.save","subject":"701-1001","visit":"SCREENING1","form":"VS","items":{"WEIGHT":"81.4"},"reason":"Other: transcription error"})",
             coord},
            {R"({"op":"query.close","subject":"701-1001","query":)" + q + R"(,"message":"Verified"})", cra},
            {R"({"op":"sdv.verify","subject":"701-1001","visit":"SCREENING1","form":"VS"})", cra},
            {R"({"op":"sign","subject":"701-1001","visit":"BASELINE","meaning":"approval","name":"Dr. Inv 701"})",
             inv}}) {
      TC_RETURN_IF_ERROR(cap.Execute(ParseJson(json).value(), who).status());
    }
    return Status::Ok();
  }

  MemEnv env_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

// A logged-in viewer of one world.
struct Session {
  std::string cookie, csrf, role;
};

// What was asked and what came back, normalised; one per request.
struct Exchange {
  std::string route;    // "GET /api/v1/studies/{study}" : the template it exercises
  std::string request;  // what was sent
  std::string reply;    // status, ETag and body, normalised
};

// What is normalised, and why:
// - the event stream's "id:" is a sealed position (api/positions.h): the
//   log's sequence number encrypted with the server's key, unreadable to the
//   client, so that it differs with the number of hidden events says nothing;
//   sequence numbers themselves ("seq") reach no blinded role, so they are not
//   normalised: one in a reply is a difference;
// - the session's CSRF token is a random secret of the session;
// - the operator's metrics count every event the installation appended;
//   only the scraper holding the metrics token receives them (no user's
//   session or token opens them; these worlds configure none: 404 to all).
// Times are not normalised: the clock stands still in both worlds.
std::string Normalise(std::string s) {
  static const std::regex id(R"((^|\n)id: [0-9a-f]{96}\n)"), csrf(R"("csrf_token":"[0-9a-f]+")");
  s = std::regex_replace(s, id, "$1id: #\n");
  s = std::regex_replace(s, csrf, "\"csrf_token\":#");
  static const std::regex appended(R"(\n(trialcore_events_appended_total|trialcore_commits_total) \d+)");
  s = std::regex_replace(s, appended, "\n$1 #");
  return s;
}

class Crawler {
 public:
  explicit Crawler(World& w) : w_(w), client_("127.0.0.1", w.port()) {
    client_.set_read_timeout(20, 0);
    client_.set_keep_alive(true);
    client_.set_tcp_nodelay(true);
  }

  httplib::Result Send(const Session& s, const std::string& method, const std::string& path, const std::string& body,
                       httplib::Headers extra = {}) {
    httplib::Client& c = client_;
    httplib::Headers h{{"Cookie", s.cookie}};
    if (!s.csrf.empty()) h.emplace("X-CSRF-Token", s.csrf);
    if (!s.role.empty()) h.emplace("X-Trialcore-Role", s.role);
    for (auto& kv : extra) h.insert(kv);
    if (method == "GET") return c.Get(path, h);
    if (method == "POST") return c.Post(path, h, body, "application/json");
    if (method == "PATCH") return c.Patch(path, h, body, "application/json");
    return c.Delete(path, h);
  }

  // Sends and records one exchange for the route template it exercises.
  Value Do(const Session& s, const std::string& route, const std::string& method, const std::string& path,
           const std::string& body = "", httplib::Headers extra = {}) {
    auto r = Send(s, method, path, body, extra);
    std::string reply = r ? std::to_string(r->status) + " ETag " + r->get_header_value("ETag") + "\n" + r->body
                          : "no reply: " + httplib::to_string(r.error());
    log.push_back({route, method + " " + path + " " + body, Normalise(reply)});
    covered.insert(route);
    if (!r) return Value();
    auto v = ParseJson(r->body);
    return v.ok() ? *v : Value();
  }

  Session Login(const Viewer& v) {
    httplib::Client& c = client_;
    auto r = c.Post("/api/v1/session", R"({"user":")" + v.user + R"(","password":")" + kPassword + R"("})",
                    "application/json");
    covered.insert("POST /api/v1/session");
    if (!r || r->status != 200) return {};
    log.push_back({"POST /api/v1/session", "login " + v.user, Normalise(std::to_string(r->status) + r->body)});
    std::string cookie = r->get_header_value("Set-Cookie");
    return Session{cookie.substr(0, cookie.find(';')), ParseJson(r->body)->Find("csrf_token")->as_string(), v.role};
  }

  // The event stream from the beginning of the log, until it has been quiet
  // for a second (the server writes its backlog at once; a shorter wait was
  // cut short on a loaded machine).
  void Events(const Session& s) {
    httplib::Client c("127.0.0.1", w_.port());
    c.set_read_timeout(1, 0);
    std::string got;
    httplib::Headers h{{"Cookie", s.cookie}, {"Last-Event-ID", "0"}};
    if (!s.role.empty()) h.emplace("X-Trialcore-Role", s.role);
    c.Get(kS + "/events", h, [&](const char* data, size_t n) {
      got.append(data, n);
      return true;
    });
    // From the beginning of the log every role sees some events: an empty
    // stream would compare equal and prove nothing.
    EXPECT_NE(got.find("\ndata: "), std::string::npos) << "no events reached a session acting as " << s.role;
    log.push_back({"GET /api/v1/studies/{study}/events", "events", Normalise(got)});
    covered.insert("GET /api/v1/studies/{study}/events");
  }

  // Every read route a viewer may use, over everything it lists.
  void Reads(const Session& s, bool deep) {
    const std::string study = "/api/v1/studies/{study}", subject = study + "/subjects/{subject}";
    Do(s, "GET /api/v1/session", "GET", "/api/v1/session");
    Do(s, "GET /api/v1/studies", "GET", "/api/v1/studies");
    Do(s, "GET " + study, "GET", kS);
    Do(s, "GET " + study + "/dashboard", "GET", kS + "/dashboard");
    Do(s, "GET " + study + "/lock-checklist", "GET", kS + "/lock-checklist");
    Do(s, "GET " + study + "/awaiting-signature", "GET", kS + "/awaiting-signature");
    for (const char* q : {"", "?state=open", "?state=answered", "?state=closed", "?site=701"}) {
      Do(s, "GET " + study + "/queries", "GET", kS + "/queries" + q);
    }
    for (const char* q : {"?status=enrolled", "?site=708", "?inactive=include"})
      Do(s, "GET " + study + "/subjects", "GET", kS + "/subjects" + q);
    Do(s, "GET " + study + "/sdv", "GET", kS + "/sdv");
    Do(s, "GET " + study + "/sdv/subjects", "GET", kS + "/sdv/subjects?limit=1000");
    for (const char* q : {"?limit=1000", "?site=701"})
      Do(s, "GET " + study + "/sdv/worklist", "GET", kS + "/sdv/worklist" + q);
    for (const char* form : {"EX", "VS", "AE"}) {
      for (const char* q : {"", "&format=csv", "&site=701&visit=WEEK2"}) {
        Do(s, "GET " + study + "/reports/listing", "GET", kS + "/reports/listing?limit=1000&form=" + form + q);
      }
    }
    for (const char* report : {"/reports/missing-pages", "/reports/entry-lag", "/reports/query-turnaround"}) {
      Do(s, "GET " + study + report, "GET", kS + report);
    }
    // The safety inbox and every case it lists (issue 16), and one that does not exist.
    Value cases = Do(s, "GET " + study + "/safety/cases", "GET", kS + "/safety/cases");
    for (const char* q : {"?state=open", "?state=nullification_proposed", "?site=701"}) {
      Do(s, "GET " + study + "/safety/cases", "GET", kS + "/safety/cases" + q);
    }
    // The demo's case, whether or not this world has it, and every case listed.
    std::set<std::string> case_ids = {"701-1001-SAE1"};
    if (const Value* listed = cases.Find("cases")) {
      for (const Value& k : listed->as_array()) case_ids.insert(k.Find("case")->as_string());
    }
    {
      for (const std::string& case_id : case_ids) {
        const std::string one = kS + "/safety/cases/" + case_id;
        Do(s, "GET " + study + "/safety/cases/{case}", "GET", one);
        Do(s, "GET " + study + "/safety/cases/{case}/coding", "GET", one + "/coding");
        Do(s, "GET " + study + "/safety/cases/{case}/e2b", "GET", one + "/e2b?destination=FDA");
        Do(s, "GET " + study + "/safety/cases/{case}/notifications", "GET", one + "/notifications");
        Do(s, "GET " + study + "/safety/cases/{case}/submissions/{submission}/file", "GET",
           one + "/submissions/1/file");
      }
    }
    Do(s, "GET " + study + "/safety/cases/{case}", "GET", kS + "/safety/cases/701-1001-SAE99");
    Do(s, "GET " + study + "/safety/cases", "GET", kS + "/safety/cases?format=csv");
    for (const char* q : {"", "?format=csv"}) {
      Do(s, "GET " + study + "/safety/tabulation", "GET", kS + "/safety/tabulation" + q);
      Do(s, "GET " + study + "/safety/signals", "GET", kS + "/safety/signals" + q);
    }
    Value list = Do(s, "GET " + study + "/subjects", "GET", kS + "/subjects?limit=1000");
    Do(s, "GET " + study + "/users", "GET", kS + "/users");
    const Value* subjects = list.Find("subjects");
    if (subjects == nullptr) return;
    for (const Value& sub : subjects->as_array()) {
      const std::string id = sub.Find("id")->as_string(), base = kS + "/subjects/" + id;
      Value casebook = Do(s, "GET " + subject, "GET", base);
      Do(s, "GET " + subject, "GET", base + "?as_of=" + FormatTimeMicros(kNow));
      Do(s, "GET " + subject + "/schedule", "GET", base + "/schedule");
      Do(s, "GET " + subject + "/eligibility", "GET", base + "/eligibility");
      Do(s, "GET " + subject + "/audit", "GET", base + "/audit");
      // The issue's path, and the numbers of both query sequences.
      for (int n : {1, 2, 9, capture::kHiddenQueryBase + 1, capture::kHiddenQueryBase + 2}) {
        Do(s, "GET " + subject + "/audit", "GET", base + "/audit?path=subject/" + id + "/queries/" + std::to_string(n));
      }
      Do(s, "GET " + subject + "/audit", "GET", base + "/audit?path=subject/" + id + "/BASELINE/EX");
      // Its filters, pages (their cursors) and exports (issue 15): what they
      // match, count and hold must not differ either.
      std::string after;
      for (int page = 0; page < 100; ++page) {
        Value p = Do(s, "GET " + subject + "/audit", "GET", base + "/audit?limit=40" + after);
        const Value* next = p.Find("next");
        if (next == nullptr) break;
        after = "&after=" + next->as_string();
      }
      for (const std::string& q : std::vector<std::string>{
               "?form=EX", "?form=EX&item=EXDOSE", "?reason=transcription", "?reason=mg",
               "?event=form.saved&visit=BASELINE", "?user=pharm." + id.substr(0, id.find('-')), "?format=csv",
               "?format=csv&form=EX", "?format=csv&reason=mg", "?format=csv&event=query.opened"}) {
        Do(s, "GET " + subject + "/audit", "GET", base + "/audit" + q);
      }
      if (!deep) continue;
      const Value* visits = casebook.Find("visits");
      if (visits == nullptr) continue;
      for (const auto& [vid, v] : visits->as_object()) {
        for (const auto& [fid, f] : v.Find("forms")->as_object()) {
          Do(s, "GET " + subject + "/visits/{visit}/forms/{form}", "GET", base + "/visits/" + vid + "/forms/" + fid);
        }
      }
    }
  }

  std::vector<Exchange> log;
  std::set<std::string> covered;

 private:
  World& w_;
  httplib::Client client_;  // one kept-alive connection for every request but the streams
};

// The commands each blinded role may issue, the same in both worlds: on
// hidden items and queries (which must not exist for them), and on visible
// ones whose replies must not differ.
void Commands(Crawler& c, const std::map<std::string, Session>& as) {
  const std::string study = "/api/v1/studies/{study}", subject = study + "/subjects/{subject}";
  const std::string form = subject + "/visits/{visit}/forms/{form}";
  const std::string commands = "POST " + study + "/commands";
  const std::string hidden = std::to_string(capture::kHiddenQueryBase + 1);
  const Session& cra = as.at("cra.1");
  const Session& coord = as.at("coord.701");
  // Source data verification of exposure, with and without items.
  for (const char* id : {"701-1001", "701-1007", "708-1002", "708-1006", "701-1013"}) {
    for (const char* visit : {"BASELINE", "WEEK2", "WEEK16"}) {
      const std::string sdv =
          std::string(R"({"op":"sdv.verify","subject":")") + id + R"(","visit":")" + visit + R"(","form":"EX")";
      c.Do(cra, commands, "POST", kS + "/commands", sdv + R"(,"items":["EXADJ"]})");
      c.Do(cra, commands, "POST", kS + "/commands", sdv + R"(,"items":["EXSTDTC"]})");
      c.Do(cra, commands, "POST", kS + "/commands", sdv + "}");
    }
  }
  // An acknowledgement that is no E2B(R3) message: the same refusal for all.
  c.Do(as.at("safety.1"), "POST " + study + "/safety/acks", "POST", kS + "/safety/acks", "<MCCI_IN200101UV01");
  // And an import of E2B(R3) reports that is none.
  c.Do(as.at("safety.1"), "POST " + study + "/safety/imports", "POST", kS + "/safety/imports?file=x.xml",
       "<MCCI_IN200100UV01");
  // Queries: on a hidden item, and the numbers of both sequences.
  for (const char* id : {"701-1001", "701-1007", "708-1006"}) {
    const std::string base = kS + "/subjects/" + id;
    c.Do(cra, "POST " + subject + "/queries", "POST", base + "/queries",
         R"({"visit":"WEEK6","form":"EX","item":"EXDOSE","message":"Please confirm the dose"})");
    Value opened =
        c.Do(cra, "POST " + subject + "/queries", "POST", base + "/queries",
             R"({"visit":"BASELINE","form":"EX","item":"EXSTDTC","message":"Please confirm the start date"})");
    const Value* n = opened.Find("result") ? opened.Find("result")->Find("query") : nullptr;
    const std::string visible = n != nullptr ? std::to_string(n->as_int()) : "1";
    const std::string action = "POST " + subject + "/queries/{query}/{action}";
    for (const std::string& q : {hidden, std::string("2"), visible}) {
      c.Do(as.at(std::string(id).starts_with("701") ? "coord.701" : "coord.708"), action, "POST",
           base + "/queries/" + q + "/answer", R"({"message":"confirmed from the source"})");
      c.Do(cra, action, "POST", base + "/queries/" + q + "/close", R"({"message":"ok"})");
      c.Do(cra, action, "POST", base + "/queries/" + q + "/reopen", R"({"message":"please look again"})");
      c.Do(as.at("dm.1"), action, "POST", base + "/queries/" + q + "/cancel", R"({"message":"raised in error"})");
    }
  }
  // Saves of visible items that re-run the exposure form's checks (EX03 reads
  // the randomisation date), a check, and the dual account acting as coordinator.
  for (const Session* who : {&coord, &as.at("dual.701")}) {
    const std::string base = kS + "/subjects/701-1007/visits/BASELINE/forms/RAND";
    Value rand = c.Do(*who, "GET " + form, "GET", base);
    const Value* date = rand.Find("items") ? rand.Find("items")->Find("RANDDT") : nullptr;
    const std::string was = date != nullptr ? date->Find("value")->as_string() : "2026-01-01";
    c.Do(*who, "POST " + form + "/check", "POST", base + "/check", R"({"items":{"RANDDT":"2020-01-01"}})");
    c.Do(*who, "PATCH " + form + "/items/{item}", "PATCH", base + "/items/RANDDT",
         R"({"value":"2020-01-01","reason":"Other: typed the wrong year"})");
    c.Do(*who, "PATCH " + form, "PATCH", base,
         R"({"items":{"RANDDT":")" + was + R"("},"reason":"Other: the right date"})");
    c.Do(*who, commands, "POST", kS + "/commands",
         R"({"op":"form.save","subject":"701-1007","visit":"WEEK2","form":"EX","items":{"EXDOSE":54}})");
  }
  // Signatures over the exposure form, the visit and the casebook.
  const Session& inv = as.at("inv.701");
  for (const char* scope :
       {R"("visit":"BASELINE","form":"EX")", R"("visit":"BASELINE")", R"("visit":"SCREENING1")", ""}) {
    std::string sign = std::string(R"({"op":"sign","subject":"701-1001","meaning":"review",)") + scope +
                       (std::string(scope).empty() ? "" : ",") + R"("user":"inv.701","password":")" + kPassword + "\"}";
    c.Do(inv, commands, "POST", kS + "/commands", sign);
  }
  // Account administration answers alike in both worlds (no study data in it).
  c.Do(as.at("sysadmin"), "POST " + study + "/users", "POST", kS + "/users", R"({"id":"x"})");
  c.Do(as.at("admin"), "POST " + study + "/users/{user}/{action}", "POST", kS + "/users/cra.1/grant",
       R"({"role":"wizard","site":"*"})");
}

// The routes reached other than through a study, which hold no study data.
void Elsewhere(Crawler& c, const Session& s) {
  c.Do(s, "GET /api/openapi.json", "GET", "/api/openapi.json");
  // The request counts and sessions of the server; the same requests in both.
  c.Do(s, "GET /metrics", "GET", "/metrics");
  c.Do(s, "DELETE /api/v1/session", "DELETE", "/api/v1/session");
}

std::vector<Exchange> Crawl(World& w) {
  Crawler c(w);
  std::map<std::string, Session> sessions;
  for (const Viewer& v : kViewers) {
    Session s = c.Login(v);
    EXPECT_FALSE(s.cookie.empty()) << v.user;
    sessions[v.user + "/" + v.role] = s;
    c.Reads(s, true);
  }
  std::map<std::string, Session> as;
  for (const Viewer& v : kViewers) {
    if (v.role.empty() || v.user == "dual.701") as[v.user] = sessions.at(v.user + "/" + v.role);
  }
  Commands(c, as);
  for (const Viewer& v : kViewers) c.Events(sessions.at(v.user + "/" + v.role));
  for (const Viewer& v : kViewers) c.Reads(sessions.at(v.user + "/" + v.role), false);
  Elsewhere(c, sessions.at("cra.1/"));
  // Every route has a crawl rule: one added without one fails here.
  for (const auto& [method, path] : w.server().Routes()) {
    EXPECT_TRUE(c.covered.contains(method + " " + path)) << "no crawl rule reaches " << method << " " << path;
  }
  return c.log;
}

// Every subject as it stands, read one by one (a test's small study).
std::map<std::string, capture::SubjectState> AllSubjects(const capture::Capture& cap) {
  std::map<std::string, capture::SubjectState> out;
  const std::vector<std::string> ids = capture::SubjectIds(cap.store(), cap.study_id()).value();
  for (const std::string& id : ids) {
    out.emplace(id, cap.Subject(id).value());
  }
  return out;
}

// Every dose entered, as the unblinded pharmacist reads them, from
// the store (the servers are stopped).
std::string PharmacistsExposure(World& w) {
  auto cap = capture::Capture::Open(&w.store(), Env::Default(), kStudy);
  if (!cap.ok()) return cap.status().ToString();
  std::string out;
  for (const auto& [id, s] : AllSubjects(**cap)) {
    for (const auto& [vid, v] : s.visits) {
      if (auto f = v.forms.find("EX"); f != v.forms.end() && f->second.Find("EXDOSE") != nullptr) {
        out += id + "/" + vid + "=" + ToJson(f->second.Find("EXDOSE")->value) + " ";
      }
    }
  }
  return out;
}

// The first lines where two replies part, for the failure message.
std::string Difference(const std::string& a, const std::string& b) {
  size_t at = 0;
  while (at < a.size() && at < b.size() && a[at] == b[at]) ++at;
  size_t from = at < 160 ? 0 : at - 160;
  return "\n  one:   ..." + a.substr(from, 320) + "\n  other: ..." + b.substr(from, 320);
}

void ExpectNoDifference(const Recipe& recipe) {
  // Rotations 0 and 1: every subject's arm differs between the worlds
  // (placebo, low and high dose move round), nothing else does.
  // The two worlds are built and crawled side by side: each is
  // deterministic on its own, and most of a crawl's time is spent waiting.
  World a, b;
  Status built_a, built_b;
  std::thread build_a([&] { built_a = a.Build(recipe, 0); });
  built_b = b.Build(recipe, 1);
  build_a.join();
  ASSERT_TRUE(built_a.ok()) << built_a.ToString();
  ASSERT_TRUE(built_b.ok()) << built_b.ToString();
  std::vector<Exchange> one, other;
  std::thread crawl_a([&] {
    one = Crawl(a);
    a.Stop();
  });
  other = Crawl(b);
  b.Stop();
  crawl_a.join();
  // Not vacuous: the unblinded pharmacist sees the two worlds differ.
  EXPECT_NE(PharmacistsExposure(a), PharmacistsExposure(b)) << "the worlds do not differ in arms";
  ASSERT_EQ(one.size(), other.size()) << recipe.name << ": the crawls took different paths";
  int differences = 0;
  std::map<std::string, int> by_route;
  for (size_t i = 0; i < one.size(); ++i) {
    if (one[i].reply == other[i].reply) continue;
    ++by_route[one[i].route];
    if (++differences <= 15) {
      ADD_FAILURE() << recipe.name << ": a blinded reply differs by arm: " << one[i].request
                    << Difference(one[i].reply, other[i].reply);
    }
  }
  std::string routes;
  for (const auto& [route, n] : by_route) routes += "\n  " + route + ": " + std::to_string(n);
  EXPECT_EQ(differences, 0) << recipe.name << ": " << one.size()
                            << " exchanges compared; differing by route:" << routes;
  EXPECT_GT(one.size(), 1000u) << "the crawl reached too little to mean anything";
}

TEST(DifferentialBlinding, TheDemoAnswersEveryBlindedRoleAlikeWhateverTheArms) { ExpectNoDifference(Demo()); }

TEST(DifferentialBlinding, ASimulatedStudyAnswersEveryBlindedRoleAlikeWhateverTheArms) {
  ExpectNoDifference(Simulated());
}

}  // namespace
}  // namespace trialcore::api

// ---- One regression test per way the issue found an arm ----

namespace trialcore::api {
namespace {

class BlindedApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = new World();
    built_ = world_->Build(Demo(), 0);
    if (built_.ok()) crawler_ = new Crawler(*world_);
  }
  // A world that could not be built fails every test (a failure in
  // SetUpTestSuite would only mark them skipped, which CI counts as passed).
  void SetUp() override { ASSERT_TRUE(built_.ok()) << built_.ToString(); }
  static void TearDownTestSuite() {
    delete crawler_;
    delete world_;
  }

  static Session As(const std::string& user, const std::string& role = "") { return crawler_->Login({user, role}); }
  static Value Get(const Session& s, const std::string& path) { return crawler_->Do(s, "", "GET", path); }
  static std::pair<int, std::string> Post(const Session& s, const std::string& path, const std::string& body) {
    auto r = crawler_->Send(s, "POST", path, body);
    return r ? std::make_pair(r->status, r->body) : std::make_pair(0, std::string("no reply"));
  }
  // The state as the unblinded see it, for choosing what to ask.
  static capture::StudyState State() {
    auto cap = capture::Capture::Open(&world_->store(), Env::Default(), kStudy);
    capture::StudyState state;
    state.subjects = AllSubjects(**cap);
    return state;
  }
  // A subject with a query on a hidden item, and that query's number, at a
  // site the accounts of the test work at (701, 708).
  static std::pair<std::string, int> HiddenQuery() {
    auto definition = capture::Capture::Open(&world_->store(), Env::Default(), kStudy).value()->study();
    for (const auto& [id, s] : State().subjects) {
      if (!id.starts_with("701-") && !id.starts_with("708-")) continue;
      for (const auto& [n, q] : s.queries) {
        if (capture::HiddenQuery(*definition, q)) return {id, n};
      }
    }
    return {"", 0};
  }

  static World* world_;
  static Crawler* crawler_;
  static Status built_;
};
Status BlindedApiTest::built_;
World* BlindedApiTest::world_ = nullptr;
Crawler* BlindedApiTest::crawler_ = nullptr;

TEST_F(BlindedApiTest, ASignaturesContentHashOverTheDoseDoesNotReachBlindedRoles) {
  auto signatures = [&](const Session& s) { return *Get(s, kS + "/subjects/701-1001").Find("signatures"); };
  const Value blinded = signatures(As("coord.701"));
  const Value unblinded = signatures(As("pharm.701"));
  // The demo's investigator signs each visit some weeks after it, and the
  // script signs BASELINE (whose exposure form holds the dose) once more.
  ASSERT_EQ(blinded.as_array().size(), unblinded.as_array().size()) << ToJson(blinded);
  size_t baseline = 0;
  for (size_t i = 0; i < blinded.as_array().size(); ++i) {
    const Value& b = blinded.as_array()[i];
    if (b.Find("visit")->as_string() != "BASELINE") continue;
    ++baseline;
    EXPECT_EQ(b.Find("content_hash"), nullptr) << ToJson(b);
    EXPECT_EQ(unblinded.as_array()[i].Find("content_hash")->as_string().size(), 64u);
  }
  ASSERT_GE(baseline, 1u) << ToJson(blinded);
  EXPECT_FALSE(blinded.as_array().back().Find("broken")->as_bool()) << "the state is what they see";
  EXPECT_EQ(ToJson(blinded).find("nonce"), std::string::npos);
}

TEST_F(BlindedApiTest, SourceDataVerificationAnswersAlikeForPlaceboAndActiveDoses) {
  // One subject of each dose, as the pharmacist entered it at WEEK2.
  std::map<int64_t, std::string> by_dose;
  for (const auto& [id, s] : State().subjects) {
    auto v = s.visits.find("WEEK2");
    if (v == s.visits.end() || !v->second.forms.contains("EX")) continue;
    const capture::ItemState* dose = v->second.forms.at("EX").Find("EXDOSE");
    if (dose != nullptr && dose->value.kind() == Value::Kind::kInt) by_dose.emplace(dose->value.as_int(), id);
  }
  ASSERT_GE(by_dose.size(), 2u) << "the demo has subjects of two doses at WEEK2";
  Session cra = As("cra.1");
  std::set<std::string> answers, answers_without_items;
  for (const auto& [dose, id] : by_dose) {
    const std::string sdv = R"({"op":"sdv.verify","subject":")" + id + R"(","visit":"WEEK2","form":"EX")";
    auto adj = Post(cra, kS + "/commands", sdv + R"(,"items":["EXADJ"]})");
    EXPECT_EQ(adj.first, 404) << adj.second;
    auto parsed = ParseJson(adj.second);
    const Value* message = parsed.ok() ? parsed->Find("message") : nullptr;
    answers.insert(message != nullptr ? message->as_string() : adj.second);
    auto all = Post(cra, kS + "/commands", sdv + "}");
    EXPECT_EQ(all.first, 200) << all.second;
    answers_without_items.insert(ToJson(*ParseJson(all.second)->Find("messages")));
  }
  EXPECT_EQ(answers, std::set<std::string>{"unknown item EX.EXADJ"});
  EXPECT_EQ(answers_without_items.size(), 1u)
      << *answers_without_items.begin() << " / " << *answers_without_items.rbegin();
}

TEST_F(BlindedApiTest, TheAuditTrailHasNoQueryOnAHiddenItemNorItsText) {
  auto [id, n] = HiddenQuery();
  ASSERT_FALSE(id.empty()) << "the demo has a query on a hidden item";
  EXPECT_GT(n, capture::kHiddenQueryBase);
  const std::string path = kS + "/subjects/" + id + "/audit?path=subject/" + id + "/queries/" + std::to_string(n);
  Session coord = As(id.starts_with("701") ? "coord.701" : "coord.708");
  EXPECT_TRUE(Get(coord, path).Find("entries")->as_array().empty());
  Session pharm = As(id.starts_with("701") ? "pharm.701" : "pharm.708");
  EXPECT_FALSE(Get(pharm, path).Find("entries")->as_array().empty())
      << "the unblinded see it: the check is not vacuous";
  const std::string all = ToJson(Get(coord, kS + "/subjects/" + id + "/audit"));
  EXPECT_EQ(all.find("/queries/" + std::to_string(n)), std::string::npos);
  EXPECT_EQ(all.find("EX02"), std::string::npos);
}

TEST_F(BlindedApiTest, BlindedRolesCannotActOnHiddenItemsOrQueriesNorLearnOfThem) {
  auto [id, n] = HiddenQuery();
  ASSERT_FALSE(id.empty());
  const std::string base = kS + "/subjects/" + id, q = base + "/queries/" + std::to_string(n);
  Session cra = As("cra.1"), dm = As("dm.1"), coord = As(id.starts_with("701") ? "coord.701" : "coord.708");
  auto raise = Post(cra, base + "/queries", R"({"visit":"WEEK6","form":"EX","item":"EXDOSE","message":"dose?"})");
  EXPECT_EQ(raise.first, 404) << raise.second;
  for (const auto& [who, action] : std::vector<std::pair<Session, std::string>>{
           {coord, "answer"}, {cra, "close"}, {cra, "reopen"}, {dm, "cancel"}}) {
    auto r = Post(who, q + "/" + action, R"({"message":"x"})");
    EXPECT_EQ(r.first, 404) << action << " " << r.second;
    auto parsed = ParseJson(r.second);
    const Value* message = parsed.ok() ? parsed->Find("message") : nullptr;
    EXPECT_EQ(message != nullptr ? message->as_string() : r.second,
              "subject " + id + " has no query " + std::to_string(n));
  }
  // A save of the randomisation date re-runs the exposure form's checks; its
  // reply names no check or query of hidden items.
  auto rand = Get(coord, base + "/visits/BASELINE/forms/RAND");
  const Value* date = rand.Find("items")->Find("RANDDT");
  ASSERT_NE(date, nullptr) << "the subject with a hidden query was randomised: " << ToJson(rand);
  ASSERT_NE(date->Find("value"), nullptr) << ToJson(rand);
  ASSERT_TRUE(date->Find("value")->is_string()) << ToJson(rand);
  auto save = crawler_->Send(coord, "PATCH", base + "/visits/BASELINE/forms/RAND/items/RANDDT",
                             R"({"value":")" + date->Find("value")->as_string() + R"("})");
  ASSERT_TRUE(save);
  EXPECT_EQ(save->status, 200) << save->body;
  EXPECT_EQ(save->body.find("EX0"), std::string::npos) << save->body;
}

TEST_F(BlindedApiTest, CountsNumbersAndTheEventStreamDoNotRevealHiddenQueries) {
  auto [id, n] = HiddenQuery();
  ASSERT_FALSE(id.empty());
  Session coord = As(id.starts_with("701") ? "coord.701" : "coord.708");
  Value casebook = Get(coord, kS + "/subjects/" + id);
  int64_t open = 0, answered = 0, messages = 0;
  std::vector<int64_t> numbers;
  for (const Value& q : casebook.Find("queries")->as_array()) {
    numbers.push_back(q.Find("query")->as_int());
    const std::string state = q.Find("state")->as_string();
    open += state == "open";
    answered += state == "answered";
    messages += static_cast<int64_t>(q.Find("thread")->as_array().size());
  }
  for (size_t i = 0; i < numbers.size(); ++i) EXPECT_EQ(numbers[i], static_cast<int64_t>(i) + 1) << "no gaps";
  const Value list = Get(coord, kS + "/subjects?limit=1000");
  for (const Value& sub : list.Find("subjects")->as_array()) {
    if (sub.Find("id")->as_string() == id) {
      EXPECT_EQ(sub.Find("open_queries")->as_int(), open);
      EXPECT_EQ(sub.Find("answered_queries")->as_int(), answered);
    }
  }
  // The stream carries exactly the query events of the queries the casebook shows.
  crawler_->Events(coord);
  const std::string stream = crawler_->log.back().reply;
  int64_t query_events = 0;
  for (size_t at = 0; (at = stream.find("event: query.", at)) != std::string::npos; ++at) {
    size_t end = stream.find("\n\n", at);
    query_events += stream.substr(at, end - at).find("\"subject/" + id + "\"") != std::string::npos;
  }
  EXPECT_EQ(query_events, messages);
}

TEST_F(BlindedApiTest, AReasonGivenForAChangeThatAlsoCoveredTheDoseIsWithheld) {
  // The pharmacist corrects a visible and a hidden item of one form at once,
  // of a subject no other test of the suite relies on (not 701-1001, whose
  // signatures one reads; none with a query on a hidden item): the tests
  // share one world and run in any order.
  auto definition = capture::Capture::Open(&world_->store(), Env::Default(), kStudy).value()->study();
  std::string id, visit, seen;
  for (const auto& [sid, st] : State().subjects) {
    seen += " " + sid + "(" + std::to_string(st.signatures.size()) + " signed)";
    if (!(sid.starts_with("701-") || sid.starts_with("708-")) || sid == "701-1001") continue;
    if (std::any_of(st.queries.begin(), st.queries.end(),
                    [&](const auto& q) { return capture::HiddenQuery(*definition, q.second); })) {
      continue;
    }
    for (const auto& [vid, v] : st.visits) {
      if (!v.forms.contains("EX") || !id.empty()) continue;
      const capture::ItemState* dose = v.forms.at("EX").Find("EXDOSE");
      const capture::ItemState* start = v.forms.at("EX").Find("EXSTDTC");
      if (dose != nullptr && dose->value.kind() == Value::Kind::kInt && start != nullptr && start->value.is_string()) {
        id = sid, visit = vid;
      }
    }
    if (!id.empty()) break;
  }
  ASSERT_FALSE(id.empty()) << "the demo has a subject (not 701-1001) of a site with a pharmacist (701, 708) with EX "
                           << "and no hidden query:" << seen;
  const std::string site = id.substr(0, 3);
  Session pharm = As("pharm." + site);
  const std::string ex = kS + "/subjects/" + id + "/visits/" + visit + "/forms/EX";
  Value form = Get(pharm, ex);
  const std::string start = form.Find("items")->Find("EXSTDTC")->Find("value")->as_string();
  const int64_t dose = form.Find("items")->Find("EXDOSE")->Find("value")->as_int();
  auto r = crawler_->Send(pharm, "PATCH", ex,
                          R"({"items":{"EXSTDTC":")" + start + R"(","EXENDTC":")" + start + R"(","EXDOSE":)" +
                              std::to_string(dose == 81 ? 54 : 81) +
                              R"(},"reason":"Other: dose corrected to 81 mg, high dose kit"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const std::string audit = kS + "/subjects/" + id + "/audit?path=subject/" + id + "/" + visit + "/EX/EXENDTC";
  const std::string blinded = ToJson(Get(As("coord." + site), audit));
  EXPECT_NE(blinded.find("EXENDTC"), std::string::npos) << "the visible change is there: " << blinded;
  EXPECT_EQ(blinded.find("81 mg"), std::string::npos) << blinded;
  EXPECT_NE(ToJson(Get(pharm, audit)).find("81 mg"), std::string::npos) << "the unblinded read the reason";
}

TEST_F(BlindedApiTest, VisibilityFollowsTheActingRoleNotEveryRoleHeld) {
  const std::string ex = kS + "/subjects/701-1001/visits/BASELINE/forms/EX";
  EXPECT_EQ(Get(As("dual.701", "coordinator"), ex).Find("items")->Find("EXDOSE"), nullptr);
  EXPECT_EQ(Get(As("dual.701"), ex).Find("items")->Find("EXDOSE"), nullptr) << "the role left to choose: blinded";
  EXPECT_NE(Get(As("dual.701", "unblinded_pharmacist"), ex).Find("items")->Find("EXDOSE"), nullptr);
  EXPECT_EQ(Get(As("dual.701", "coordinator"), kS).Find("arms"), nullptr);
  EXPECT_NE(Get(As("dual.701", "unblinded_pharmacist"), kS).Find("arms"), nullptr);
}

// Issue 13: unblinded access follows the acting grant. A pharmacist at 701
// who only reads at 708 sees at 708 what any blinded role sees, whatever
// role they name, in the casebook, a form, the audit trail, the event
// stream and study-wide views.
TEST_F(BlindedApiTest, AnUnblindedPharmacistAt701IsBlindedAt708) {
  std::string at701, at708;
  for (const auto& [id, s] : State().subjects) {
    for (const auto& [vid, v] : s.visits) {
      auto ex = v.forms.find("EX");
      if (ex == v.forms.end() || ex->second.Find("EXDOSE") == nullptr) continue;
      if (id.starts_with("701-") && at701.empty()) at701 = id + "/visits/" + vid;
      if (id.starts_with("708-") && at708.empty()) at708 = id + "/visits/" + vid;
    }
  }
  ASSERT_FALSE(at701.empty() || at708.empty()) << "the demo has doses entered at 701 and 708";
  const std::string subject708 = at708.substr(0, at708.find('/'));
  for (const std::string role : {"", "unblinded_pharmacist", "sponsor_viewer"}) {
    Session s = As("pharm.701.viewer.708", role);
    const std::string casebook = ToJson(Get(s, kS + "/subjects/" + subject708));
    EXPECT_NE(casebook.find(subject708), std::string::npos) << "they read the casebook: " << role;
    EXPECT_EQ(casebook.find("EXDOSE"), std::string::npos) << role << ": " << casebook.substr(0, 300);
    const Value form = Get(s, kS + "/subjects/" + at708 + "/forms/EX");
    ASSERT_NE(form.Find("items"), nullptr) << role << ": " << ToJson(form);
    EXPECT_EQ(form.Find("items")->Find("EXDOSE"), nullptr) << role;
    const std::string audit = ToJson(Get(s, kS + "/subjects/" + subject708 + "/audit"));
    EXPECT_EQ(audit.find("EXDOSE"), std::string::npos) << role;
    EXPECT_EQ(audit.find("\"seq\""), std::string::npos) << role;
    // Study-wide: no arms, and the stream carries no sequence numbers.
    EXPECT_EQ(Get(s, kS).Find("arms"), nullptr) << role;
    crawler_->Events(s);
    EXPECT_EQ(crawler_->log.back().reply.find("\"seq\""), std::string::npos) << role;
  }
  // At 701, acting as the pharmacist, they see the dose: the checks above are not vacuous.
  const Value theirs = Get(As("pharm.701.viewer.708", "unblinded_pharmacist"), kS + "/subjects/" + at701 + "/forms/EX");
  EXPECT_NE(theirs.Find("items")->Find("EXDOSE"), nullptr) << ToJson(theirs);
  EXPECT_NE(Get(As("pharm.708"), kS + "/subjects/" + at708 + "/forms/EX").Find("items")->Find("EXDOSE"), nullptr)
      << "708's own pharmacist sees the dose there";
}

// The version a blinded caller reads is the one capture checks its If-Match
// against, decided by the role alone: a migration that leaves the study without
// hidden items must not leave blinded writers refused (409) for ever.
TEST(BlindedVersion, ABlindedWriteAgainstTheVersionItReadPassesAfterTheLastHiddenItemGoes) {
  MemEnv env;
  env.SetNowMicros(kNow);
  StoreOpenOptions opts;
  opts.env = &env;
  auto store = testing_util::OpenTestStore("/mem/version.db", opts).value();
  std::vector<study::StudyError> errors;
  auto v1 = study::LoadStudyFile(std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml", &errors).value();
  auto cap = capture::Capture::Open(store.get(), &env, kStudy).value();
  const Actor admin{"admin.1", "study_admin"}, coord{"coord.701", "coordinator"}, inv{"inv.701", "investigator"},
      pharm{"pharm.701", "unblinded_pharmacist"};
  ASSERT_TRUE(cap->PublishStudy(v1, admin).ok());
  auto ok = [&](const std::string& json, const Actor& who) {
    auto r = cap->Execute(ParseJson(json).value(), who);
    ASSERT_TRUE(r.ok()) << json << "\n" << r.status().ToString();
  };
  const std::string sv = R"({"op":"form.save","subject":"701-1040","visit":)";
  ok(R"({"op":"subject.screen","subject":"701-1040","site":"701"})", coord);
  ok(sv + R"("SCREENING1","form":"SV","items":{"SVSTDTC":"2024-01-02"}})", coord);
  ok(sv + R"("SCREENING1","form":"IC","items":{"ICDTC":"2024-01-02","ICVER":"v3","ICCGVR":"Y"}})", coord);
  ok(sv + R"("SCREENING1","form":"DM","items":{"BRTHDTC":"1940-05-10","SEX":"M","RACE":"WHITE"}})", coord);
  ok(sv +
         R"("SCREENING1","form":"IE","items":{"IEDTC":"2024-01-03","MMSE":18,"HACHIN":2,"INCL02":"Y","INCL05":"Y","INCL06":"Y","INCL07":"Y","INCL08":"Y","EXCL10":"N","EXCL11":"N","EXCL16":"N","EXCL17":"N","EXCL27":"N"}})",
     inv);
  ok(sv + R"("BASELINE","form":"SV","items":{"SVSTDTC":"2024-01-08"}})", coord);
  ok(sv + R"("BASELINE","form":"RAND","items":{"RANDDT":"2024-01-08"}})", coord);
  ok(sv + R"("BASELINE","form":"EX","items":{"EXSTDTC":"2024-01-08","EXDOSE":54,"PATCHES":2}})", pharm);
  ok(sv + R"("BASELINE","form":"EX","items":{"EXDOSE":81},"reason":"Other: kit"})", pharm);
  // Version 2 hides nothing.
  std::string source = v1->source;
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{{"version: \"1.0\"", "version: \"2.0\""},
                                                                          {", unblinded_only: true}", "}"},
                                                                          {", unblinded_only: true}", "}"},
                                                                          {", unblinded_only: true}", "}"}}) {
    size_t at = source.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    source.replace(at, from.size(), to);
  }
  ASSERT_EQ(source.find("unblinded_only"), std::string::npos);
  auto v2 = study::LoadStudy(source, "v2.yaml", &errors);
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  auto m = cap->Migrate(*v2, admin, "amendment 2: the dose is no longer blinded");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_TRUE(HiddenItems(*cap->study(), true).empty());
  // The coordinator reads the casebook, then saves against what it read.
  capture::SubjectState s = cap->Subject("701-1040").value();
  ASSERT_NE(s.version, s.blinded_version) << "the pharmacist's change of the dose alone moved only one";
  const int64_t read = SubjectJson(s, *cap->study(), true).Find("version")->as_int();
  EXPECT_EQ(static_cast<uint64_t>(read), capture::SubjectVersion(s, true));
  auto save = cap->Execute(ParseJson(sv + R"("BASELINE","form":"SV","items":{"SVSTDTC":"2024-01-08"}})").value(), coord,
                           static_cast<uint64_t>(read));
  EXPECT_TRUE(save.ok()) << save.status().ToString();
  // The pharmacist reads and writes against the other.
  s = cap->Subject("701-1040").value();
  const int64_t unblinded = SubjectJson(s, *cap->study(), false).Find("version")->as_int();
  EXPECT_EQ(static_cast<uint64_t>(unblinded), s.version);
  auto dose =
      cap->Execute(ParseJson(sv + R"("BASELINE","form":"EX","items":{"EXDOSE":54},"reason":"Other: kit"})").value(),
                   pharm, static_cast<uint64_t>(unblinded));
  EXPECT_TRUE(dose.ok()) << dose.status().ToString();
}

}  // namespace
}  // namespace trialcore::api
