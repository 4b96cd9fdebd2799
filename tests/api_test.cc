// The HTTP API against a real `trialcore serve` on the demo database:
// logins, sessions, CSRF, site scoping, optimistic concurrency, signatures,
// and malformed requests.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "core/event.h"
#include "core/hash.h"
#include "core/json.h"
#include "run_command.h"
#include "server_process.h"
#include "store/test_store.h"

namespace trialcore {
namespace {

const std::string kBin = TRIALCORE_BIN;
constexpr char kPassword[] = "demo-password-2026";
constexpr char kMetricsToken[] = "api-test-metrics-token-0123456789abcdef";

struct Session {
  std::string cookie;
  std::string csrf;
};

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // One directory per process: ctest runs the cases of this suite in parallel.
    dir_ = new std::string(
        (std::filesystem::path(testing::TempDir()) / ("api_suite_" + std::to_string(getpid()))).string());
    std::filesystem::remove_all(*dir_);
    std::filesystem::create_directories(*dir_);
    // The demo's database: a file in the suite's folder, or, when the suite
    // runs on PostgreSQL (api_test_postgres), a database of its own there.
    auto db = testing_util::TestDbArgument("demo.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = new std::string("'" + *db + "'");
    auto demo = testing_util::RunCommand(*dir_, kBin + " demo --db " + Db() + " --key key.pem --no-serve");
    ASSERT_EQ(demo.exit_code, 0) << demo.err;
    std::ofstream(*dir_ + "/metrics.token") << kMetricsToken << "\n";
    server_ =
        new ServerProcess(*dir_, "--db " + Db() + " --port 0 --login-rate 1000 --metrics-token-file metrics.token");
    ASSERT_GT(server_->port(), 0) << testing_util::Slurp(*dir_ + "/serve.log");
  }
  // A failure in SetUpTestSuite only marks the tests skipped, which CI counts as passed.
  void SetUp() override { ASSERT_TRUE(server_ != nullptr && server_->port() > 0) << "the demo server did not start"; }
  // The --db argument, quoted for the shell.
  static const std::string& Db() { return *db_; }
  static void TearDownTestSuite() {
    delete server_;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  httplib::Client Client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(10, 0);
    return c;
  }

  Session Login(const std::string& user) {
    auto c = Client();
    auto r = c.Post("/api/v1/session", R"({"user":")" + user + R"(","password":")" + kPassword + R"("})",
                    "application/json");
    EXPECT_TRUE(r) << "no response";
    if (!r) return {};
    EXPECT_EQ(r->status, 200) << r->body;
    if (r->status != 200) return {};
    std::string cookie = r->get_header_value("Set-Cookie");
    EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
    EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos) << cookie;
    auto body = ParseJson(r->body);
    return Session{cookie.substr(0, cookie.find(';')), body->Find("csrf_token")->as_string()};
  }

  // The status GET path answers once the server has taken in an account
  // change another process made (doc/api.md: within a second), polling for
  // at most five seconds; the last status seen otherwise.
  int StatusOnceChanged(const std::string& path, const httplib::Headers& h, int wanted) {
    auto c = Client();
    int status = 0;
    for (int i = 0; i < 100; ++i) {
      auto r = c.Get(path.c_str(), h);
      status = r ? r->status : 0;
      if (status == wanted) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return status;
  }

  httplib::Result Get(const Session& s, const std::string& path) {
    auto c = Client();
    return c.Get(path.c_str(), httplib::Headers{{"Cookie", s.cookie}});
  }

  httplib::Result Post(const Session& s, const std::string& path, const std::string& body, httplib::Headers extra = {},
                       bool csrf = true) {
    auto c = Client();
    httplib::Headers h{{"Cookie", s.cookie}};
    if (csrf) h.emplace("X-CSRF-Token", s.csrf);
    for (auto& kv : extra) h.insert(kv);
    return c.Post(path.c_str(), h, body, "application/json");
  }

  // The study takes a visit's date before its other forms: enters it when
  // the visit has none yet.
  void EnterVisitDate(const Session& s, const std::string& subject, const std::string& visit) {
    auto casebook = ParseJson(Get(s, "/api/v1/studies/CDISCPILOT01/subjects/" + subject)->body);
    ASSERT_TRUE(casebook.ok());
    const Value* v = casebook->Find("visits")->Find(visit);
    const Value* sv = v == nullptr ? nullptr : v->Find("forms")->Find("SV");
    if (sv != nullptr && sv->Find("items")->Find("SVSTDTC") != nullptr) return;
    auto r = Post(s, "/api/v1/studies/CDISCPILOT01/commands",
                  R"({"op":"form.save","subject":")" + subject + R"(","visit":")" + visit +
                      R"(","form":"SV","items":{"SVSTDTC":"2025-01-01"}})");
    ASSERT_EQ(r->status, 200) << r->body;
  }

  static std::string Code(const httplib::Result& r) {
    auto v = ParseJson(r->body);
    if (!v.ok() || v->Find("code") == nullptr) return "(not a JSON error: " + r->body + ")";
    return v->Find("code")->as_string();
  }

  static std::string* dir_;
  static std::string* db_;
  static ServerProcess* server_;
};

std::string* ApiTest::dir_ = nullptr;
std::string* ApiTest::db_ = nullptr;
ServerProcess* ApiTest::server_ = nullptr;

TEST_F(ApiTest, LoginRefusesWrongPasswordsAndUnknownUsersAlike) {
  auto c = Client();
  auto wrong = c.Post("/api/v1/session", R"({"user":"coord.701","password":"not the password"})", "application/json");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto unknown = c.Post("/api/v1/session", R"({"user":"nobody","password":"not the password"})", "application/json");
  EXPECT_EQ(unknown->status, 401);
  EXPECT_EQ(ParseJson(wrong->body)->Find("message")->as_string(),
            ParseJson(unknown->body)->Find("message")->as_string());
  auto no_session = c.Get("/api/v1/studies");
  EXPECT_EQ(no_session->status, 401);
  EXPECT_EQ(Code(no_session), "unauthenticated");
}

// Each request leaves one line of JSON in the server's log: who asked for
// what, the answer's status, and the request id a 500 is reported under.
TEST_F(ApiTest, EachRequestLeavesOneJsonLineInTheLog) {
  Session s = Login("coord.701");
  const std::string path = "/api/v1/studies/CDISCPILOT01/subjects/NO-SUCH-" + std::to_string(getpid());
  EXPECT_EQ(Get(s, path)->status, 404);
  std::optional<Value> line;
  for (int tries = 0; tries < 100 && !line; ++tries) {
    std::istringstream log(testing_util::Slurp(*dir_ + "/serve.log"));
    for (std::string text; std::getline(log, text);) {
      auto v = ParseJson(text);
      if (v.ok() && v->Find("path") != nullptr && v->Find("path")->as_string() == path) line = *v;
    }
    if (!line) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(line.has_value()) << "no log line of " << path;
  EXPECT_EQ(line->Find("method")->as_string(), "GET");
  EXPECT_EQ(line->Find("status")->as_int(), 404);
  EXPECT_EQ(line->Find("client")->as_string(), "127.0.0.1");
  EXPECT_FALSE(line->Find("request_id")->as_string().empty());
  auto when = ParseTimeMicros(line->Find("time")->as_string());
  ASSERT_TRUE(when.ok()) << line->Find("time")->as_string();
  EXPECT_EQ(line->as_object().size(), 6u) << ToJson(*line);
}

TEST_F(ApiTest, ASiteSeesOnlyItsOwnSubjects) {
  Session s = Login("coord.701");
  auto studies = Get(s, "/api/v1/studies");
  ASSERT_EQ(studies->status, 200) << studies->body;
  EXPECT_NE(studies->body.find("CDISCPILOT01"), std::string::npos);
  auto list = Get(s, "/api/v1/studies/CDISCPILOT01/subjects");
  ASSERT_EQ(list->status, 200) << list->body;
  auto subjects = ParseJson(list->body)->Find("subjects")->as_array();
  ASSERT_FALSE(subjects.empty());
  for (const auto& sub : subjects) EXPECT_EQ(sub.Find("site")->as_string(), "701");
  // Another site's subject does not exist for this user: 404, not 403.
  auto other = Get(s, "/api/v1/studies/CDISCPILOT01/subjects/708-1006");
  EXPECT_EQ(other->status, 404) << other->body;
  auto own = Get(s, "/api/v1/studies/CDISCPILOT01/subjects/701-1001");
  ASSERT_EQ(own->status, 200);
  EXPECT_FALSE(own->get_header_value("ETag").empty());
  // A study the user holds no role on does not exist for them either.
  EXPECT_EQ(Get(s, "/api/v1/studies/OTHERSTUDY/subjects")->status, 404);
  // The monitor sees every site.
  Session cra = Login("cra.1");
  auto all = ParseJson(Get(cra, "/api/v1/studies/CDISCPILOT01/subjects")->body)->Find("total")->as_int();
  EXPECT_GT(all, static_cast<int64_t>(subjects.size()));
}

TEST_F(ApiTest, StateChangesNeedTheCsrfTokenAndAFreshETag) {
  Session s = Login("coord.701");
  std::string save =
      R"({"op":"form.save","subject":"701-1001","visit":"AEFU","form":"VS","items":{"VSPOS":"SITTING","SYSBP":128,"DIABP":80,"PULSE":70}})";
  EnterVisitDate(s, "701-1001", "AEFU");
  auto no_csrf = Post(s, "/api/v1/studies/CDISCPILOT01/commands", save, {}, /*csrf=*/false);
  EXPECT_EQ(no_csrf->status, 403);
  EXPECT_EQ(Code(no_csrf), "csrf");
  auto read = Get(s, "/api/v1/studies/CDISCPILOT01/subjects/701-1001");
  std::string etag = read->get_header_value("ETag");
  auto ok = Post(s, "/api/v1/studies/CDISCPILOT01/commands", save, {{"If-Match", etag}});
  ASSERT_EQ(ok->status, 200) << ok->body;
  EXPECT_NE(ok->get_header_value("ETag"), etag);
  // A second user who read the same version loses, and nothing is overwritten.
  std::string other =
      R"({"op":"form.save","subject":"701-1001","visit":"AEFU","form":"VS","items":{"PULSE":72},"reason":"Other: remeasured"})";
  auto stale = Post(s, "/api/v1/studies/CDISCPILOT01/commands", other, {{"If-Match", etag}});
  EXPECT_EQ(stale->status, 412) << stale->body;
  auto now = ParseJson(Get(s, "/api/v1/studies/CDISCPILOT01/subjects/701-1001")->body);
  EXPECT_EQ(now->Find("visits")
                ->Find("AEFU")
                ->Find("forms")
                ->Find("VS")
                ->Find("items")
                ->Find("PULSE")
                ->Find("value")
                ->as_int(),
            70);
}

TEST_F(ApiTest, RolesAndSitesDecideWhatACommandMayDo) {
  Session coord = Login("coord.708");
  auto foreign =
      Post(coord, "/api/v1/studies/CDISCPILOT01/commands",
           R"({"op":"form.save","subject":"701-1001","visit":"AEFU","form":"SV","items":{"SVSTDTC":"2025-01-01"}})");
  EXPECT_EQ(foreign->status, 404) << foreign->body;
  auto screen = Post(coord, "/api/v1/studies/CDISCPILOT01/commands",
                     R"({"op":"subject.screen","subject":"701-9001","site":"701"})");
  EXPECT_EQ(screen->status, 403) << screen->body;
  Session cra = Login("cra.1");
  auto monitor_saves =
      Post(cra, "/api/v1/studies/CDISCPILOT01/commands",
           R"({"op":"form.save","subject":"708-1006","visit":"AEFU","form":"SV","items":{"SVSTDTC":"2025-01-01"}})");
  EXPECT_EQ(monitor_saves->status, 403) << monitor_saves->body;
  EXPECT_EQ(Code(monitor_saves), "permission_denied");
}

TEST_F(ApiTest, SigningNeedsThePasswordAndShowsTheSignersFullName) {
  Session inv = Login("inv.701");
  std::string sign = R"({"op":"sign","subject":"701-1001","visit":"SCREENING1","form":"DM","meaning":"approval")";
  auto without = Post(inv, "/api/v1/studies/CDISCPILOT01/commands", sign + "}");
  EXPECT_EQ(without->status, 400) << without->body;
  auto wrong =
      Post(inv, "/api/v1/studies/CDISCPILOT01/commands", sign + R"(,"user":"inv.701","password":"wrong password!!"})");
  EXPECT_EQ(wrong->status, 403) << wrong->body;
  auto no_id = Post(inv, "/api/v1/studies/CDISCPILOT01/commands", sign + R"(,"password":")" + kPassword + R"("})");
  EXPECT_EQ(no_id->status, 400) << no_id->body;
  EXPECT_NE(no_id->body.find("first signing of a session needs your"), std::string::npos) << no_id->body;
  auto as_other = Post(inv, "/api/v1/studies/CDISCPILOT01/commands",
                       sign + R"(,"user":"inv.708","password":")" + kPassword + R"("})");
  EXPECT_EQ(as_other->status, 403) << as_other->body;
  auto ok = Post(inv, "/api/v1/studies/CDISCPILOT01/commands",
                 sign + R"(,"user":"inv.701","password":")" + kPassword + R"("})");
  ASSERT_EQ(ok->status, 200) << ok->body;
  // Later signings of the same session need the password only.
  auto again = Post(inv, "/api/v1/studies/CDISCPILOT01/commands",
                    R"({"op":"sign","subject":"701-1001","visit":"SCREENING1","meaning":"review","password":")" +
                        std::string(kPassword) + R"("})");
  EXPECT_EQ(again->status, 200) << again->body;
  auto subject = ParseJson(Get(inv, "/api/v1/studies/CDISCPILOT01/subjects/701-1001")->body);
  bool found = false;
  for (const auto& sig : subject->Find("signatures")->as_array()) {
    if (sig.Find("form")->as_string() == "DM" && !sig.Find("broken")->as_bool()) {
      found = true;
      EXPECT_EQ(sig.Find("signer_name")->as_string(), "Dr. Ivy Investigator");
      EXPECT_EQ(sig.Find("meaning")->as_string(), "approval");
      EXPECT_TRUE(sig.Find("time")->as_string().ends_with("Z"));
    }
  }
  EXPECT_TRUE(found) << subject.value().Find("signatures");
}

// An investigator's list of what awaits their signature: their sites'
// casebooks of subjects who left the study unsigned, and broken signatures
// until signed again.
TEST_F(ApiTest, AwaitingSignatureListsWhatTheInvestigatorMustSignAtTheirSites) {
  Session inv = Login("inv.701");
  Session coord = Login("coord.701");
  const std::string base = "/api/v1/studies/CDISCPILOT01";
  auto awaiting = [&](const Session& s) {
    auto r = Get(s, base + "/awaiting-signature");
    EXPECT_EQ(r->status, 200) << r->body;
    return ParseJson(r->body).value();
  };
  auto broken_on = [&](const Value& list, const std::string& subject) {
    for (const Value& w : list.Find("listed")->as_array()) {
      if (w.Find("subject")->as_string() == subject && w.Find("why")->as_string() == "broken" &&
          w.Find("form")->as_string() == "VS")
        return true;
    }
    return false;
  };
  const Value first = awaiting(inv);
  for (const Value& w : first.Find("listed")->as_array()) {
    EXPECT_TRUE(w.Find("subject")->as_string().starts_with("701-")) << "only the caller's site";
  }
  EXPECT_GE(first.Find("total")->as_int(), static_cast<int64_t>(first.Find("listed")->as_array().size()));
  const std::string sign = R"({"op":"sign","subject":"701-1001","visit":"SCREENING1","form":"VS","meaning":"approval",)"
                           R"("user":"inv.701","password":")" +
                           std::string(kPassword) + R"("})";
  ASSERT_EQ(Post(inv, base + "/commands", sign)->status, 200);
  EXPECT_FALSE(broken_on(awaiting(inv), "701-1001"));
  auto c = Client();
  auto save = c.Patch((base + "/subjects/701-1001/visits/SCREENING1/forms/VS/items/PULSE").c_str(),
                      httplib::Headers{{"Cookie", coord.cookie}, {"X-CSRF-Token", coord.csrf}},
                      R"({"value":77,"reason":"Data clarified from source"})", "application/json");
  ASSERT_EQ(save->status, 200) << save->body;
  EXPECT_TRUE(broken_on(awaiting(inv), "701-1001"));
  EXPECT_FALSE(broken_on(awaiting(Login("inv.708")), "701-1001")) << "another site's investigator is not asked";
  ASSERT_EQ(Post(inv, base + "/commands", sign)->status, 200);
  EXPECT_FALSE(broken_on(awaiting(inv), "701-1001")) << "signed again";
}

TEST_F(ApiTest, MalformedRequestsGetClearErrorsAndChangeNothing) {
  Session s = Login("coord.701");
  EnterVisitDate(s, "701-1001", "RASHFU");
  auto before = Get(s, "/api/v1/studies/CDISCPILOT01/subjects/701-1001")->get_header_value("ETag");
  struct Case {
    std::string body;
    int status;
    std::string code;
    std::string message;
  } cases[] = {
      {"{not json", 400, "invalid_argument", "not valid JSON"},
      {"[1,2]", 400, "invalid_argument", "must be a JSON object"},
      {R"({"op":"form.save","subject":"701-1001","visit":"AEFU","form":"VS","items":{"SYSBP":"high"}})", 400,
       "invalid_argument", "SYSBP: \"high\" is not a whole number"},
      {R"({"op":"form.save","subject":"701-1001","visit":"AEFU","form":"VS","items":{"SYSBP":120},"colour":"red"})",
       400, "invalid_argument", "unknown field \"colour\""},
      {R"({"subject":"701-1001"})", 400, "invalid_argument", "missing field \"op\""},
      {R"({"op":"form.save","subject":"701-1001","visit":"RASHFU","form":"VS","items":{"SYSBP":4000}})", 409,
       "failed_precondition", "must be 40 to 300"},
  };
  for (const Case& c : cases) {
    auto r = Post(s, "/api/v1/studies/CDISCPILOT01/commands", c.body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, c.status) << c.body << " -> " << r->body;
    EXPECT_EQ(Code(r), c.code) << c.body;
    auto error = ParseJson(r->body);
    ASSERT_TRUE(error.ok()) << r->body;
    EXPECT_NE(error->Find("message")->as_string().find(c.message), std::string::npos) << r->body;
  }
  std::string huge = R"({"op":"form.save","subject":"701-1001","visit":"AEFU","form":"SV","items":{"SVSTDTC":")" +
                     std::string(2 << 20, 'x') + "\"}}";
  auto too_big = Post(s, "/api/v1/studies/CDISCPILOT01/commands", huge);
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413);
  EXPECT_EQ(Get(s, "/api/v1/studies/CDISCPILOT01/subjects/701-1001")->get_header_value("ETag"), before);
}

TEST_F(ApiTest, AuditTrailViewsAreThemselvesAuditedAndMetricsAreServed) {
  Session s = Login("cra.1");
  auto audit =
      Get(s, "/api/v1/studies/CDISCPILOT01/subjects/701-1001/audit?path=subject/701-1001/SCREENING1/VS/WEIGHT");
  ASSERT_EQ(audit->status, 200) << audit->body;
  EXPECT_NE(audit->body.find("Transcription error, corrected from source"), std::string::npos) << audit->body;
  auto log =
      testing_util::RunCommand(*dir_, kBin + " audit log --db " + Db() + " --study trialcore-system --user cra.1");
  EXPECT_NE(log.out.find("audit.viewed"), std::string::npos) << log.out;
  // The log says which subject was viewed (issue 12).
  size_t viewed = log.out.find("audit.viewed");
  std::string line = log.out.substr(viewed, log.out.find('\n', viewed) - viewed);
  EXPECT_NE(line.find(R"(""subject"":""701-1001"")"), std::string::npos) << line;
  EXPECT_NE(log.out.find("user.login"), std::string::npos) << log.out;
  // The counters count hidden events too: only for the metrics token's holder.
  EXPECT_EQ(Client().Get("/metrics")->status, 401);
  EXPECT_EQ(Get(s, "/metrics")->status, 401);
  EXPECT_EQ(Get(Login("sysadmin"), "/metrics")->status, 401) << "no user's session opens them";
  auto metrics = Client().Get("/metrics", httplib::Headers{{"Authorization", std::string("Bearer ") + kMetricsToken}});
  ASSERT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("trialcore_http_requests_total{status=\"200\"}"), std::string::npos) << metrics->body;
}

TEST_F(ApiTest, LogoutEndsTheSession) {
  Session s = Login("dm.1");
  EXPECT_EQ(Get(s, "/api/v1/session")->status, 200);
  auto c = Client();
  auto out = c.Delete("/api/v1/session", httplib::Headers{{"Cookie", s.cookie}, {"X-CSRF-Token", s.csrf}});
  EXPECT_EQ(out->status, 200);
  EXPECT_EQ(Get(s, "/api/v1/session")->status, 401);

  // Idle and absolute expiry move with the test Env's clock in process:
  // src/api/session_test.cc, SessionsExpireAndLockoutsLiftAsTheClockMoves.
}

TEST_F(ApiTest, FormsAndItemsAreReadAndPatchedWithReasonsAndETags) {
  Session s = Login("coord.701");
  const std::string form = "/api/v1/studies/CDISCPILOT01/subjects/701-1001/visits/RASHFU/forms/SV";
  auto empty = Get(s, form);
  ASSERT_EQ(empty->status, 200) << empty->body;
  EXPECT_EQ(ParseJson(empty->body)->Find("status")->as_string(), "not started");
  auto c = Client();
  auto patch = [&](const std::string& path, const std::string& body, const std::string& etag) {
    httplib::Headers h{{"Cookie", s.cookie}, {"X-CSRF-Token", s.csrf}};
    if (!etag.empty()) h.emplace("If-Match", etag);
    return c.Patch(path.c_str(), h, body, "application/json");
  };
  auto first = patch(form + "/items/SVSTDTC", R"({"value":"2025-01-10"})", empty->get_header_value("ETag"));
  ASSERT_EQ(first->status, 200) << first->body;
  auto change = patch(form + "/items/SVSTDTC", R"({"value":"2025-01-11"})", first->get_header_value("ETag"));
  EXPECT_EQ(change->status, 409) << change->body;
  EXPECT_NE(change->body.find("a reason for change is required"), std::string::npos);
  auto reasoned = patch(form + "/items/SVSTDTC", R"({"value":"2025-01-11","reason":"Other: date misread"})", "");
  ASSERT_EQ(reasoned->status, 200) << reasoned->body;
  auto now = ParseJson(Get(s, form)->body);
  EXPECT_EQ(now->Find("items")->Find("SVSTDTC")->Find("value")->as_string(), "2025-01-11");
  EXPECT_EQ(now->Find("status")->as_string(), "complete");
  auto unknown = patch(form, R"({"items":{"SVSTDTC":"2025-01-12"},"colour":"red"})", "");
  EXPECT_EQ(unknown->status, 400);
  auto bad_visit = Get(s, "/api/v1/studies/CDISCPILOT01/subjects/701-1001/visits/NOPE/forms/SV");
  EXPECT_EQ(bad_visit->status, 404);
  auto not_collected = Get(s, "/api/v1/studies/CDISCPILOT01/subjects/701-1001/visits/RASHFU/forms/EX");
  EXPECT_EQ(not_collected->status, 404) << not_collected->body;
}

// A form says why it cannot be changed, as the server will refuse its save:
// frozen, locked, the subject frozen or locked; nothing when it can be.
TEST_F(ApiTest, AFormSaysWhyItIsReadOnly) {
  Session coord = Login("coord.701");
  Session dm = Login("dm.1");
  const std::string form = "/api/v1/studies/CDISCPILOT01/subjects/701-1001/visits/SCREENING1/forms/DM";
  auto read_only = [&]() -> std::string {
    auto r = Get(coord, form);
    EXPECT_EQ(r->status, 200) << r->body;
    const Value form_json = ParseJson(r->body).value();
    const Value* why = form_json.Find("read_only");
    return why == nullptr ? "(none)" : why->as_string();
  };
  auto command = [&](const std::string& body) {
    auto r = Post(dm, "/api/v1/studies/CDISCPILOT01/commands", body);
    EXPECT_EQ(r->status, 200) << body << " " << r->body;
  };
  const std::string where = R"("subject":"701-1001","visit":"SCREENING1","form":"DM")";
  EXPECT_EQ(read_only(), "(none)");
  command(R"({"op":"form.freeze",)" + where + "}");
  EXPECT_EQ(read_only(), "form_frozen");
  auto c = Client();
  auto save = c.Patch(form.c_str(), httplib::Headers{{"Cookie", coord.cookie}, {"X-CSRF-Token", coord.csrf}},
                      R"({"items":{"ETHNIC":"NOT REPORTED"},"reason":"source"})", "application/json");
  EXPECT_EQ(save->status, 409) << save->body;
  EXPECT_NE(save->body.find("frozen"), std::string::npos) << save->body;
  command(R"({"op":"form.lock",)" + where + "}");
  EXPECT_EQ(read_only(), "form_locked");
  command(R"({"op":"subject.lock","subject":"701-1001"})");
  EXPECT_EQ(read_only(), "subject_locked");
  command(R"({"op":"subject.unlock","subject":"701-1001","reason":"late correction"})");
  command(R"({"op":"form.unlock",)" + where + R"(,"reason":"late correction"})");
  command(R"({"op":"form.unfreeze",)" + where + R"(,"reason":"late correction"})");
  EXPECT_EQ(read_only(), "(none)");
}

// The lock checklist is a read for those who lock; the lock itself is an
// e-signature of the data manager, refused while queries are unresolved or
// an item is neither resolved nor accepted; once locked, every form says so.
TEST_F(ApiTest, DatabaseLockFollowsItsChecklistAndIsSignedWithThePassword) {
  Session dm = Login("dm.1");
  const std::string base = "/api/v1/studies/CDISCPILOT01";
  for (const char* user : {"coord.701", "cra.1", "inv.701"}) {
    auto r = Get(Login(user), base + "/lock-checklist");
    EXPECT_EQ(r->status, 403) << user << " " << r->body;
  }
  auto checklist = [&]() {
    auto r = Get(dm, base + "/lock-checklist");
    EXPECT_EQ(r->status, 200) << r->body;
    std::map<std::string, int64_t> counts;
    auto v = ParseJson(r->body);
    for (const Value& it : v->Find("items")->as_array())
      counts[it.Find("id")->as_string()] = it.Find("count")->as_int();
    counts["locked"] = v->Find("locked")->as_bool();
    return counts;
  };
  auto before = checklist();
  EXPECT_EQ(before.size(), 6u);
  EXPECT_GT(before["subjects_on_study"], 0) << "the demo's subjects are on study";
  EXPECT_GT(before["unresolved_queries"], 0) << "the demo has open queries";
  const std::string accept = R"("accept":{"subjects_on_study":"interim lock","unsigned_casebooks":"interim lock",)"
                             R"("broken_signatures":"interim lock","unverified_forms":"interim lock"})";
  auto lock = [&](const std::string& extra) {
    return Post(dm, base + "/commands", R"({"op":"study.lock",)" + accept + extra + "}");
  };
  EXPECT_EQ(lock("")->status, 400) << "an e-signature needs the password";
  EXPECT_EQ(lock(R"(,"user":"dm.1","password":"not the password!!")")->status, 403);
  auto open = lock(R"(,"user":"dm.1","password":")" + std::string(kPassword) + R"(")");
  EXPECT_EQ(open->status, 409) << open->body;
  EXPECT_NE(open->body.find("queries are still open or answered"), std::string::npos) << open->body;
  // Resolve every query the data manager sees, then lock.
  for (const char* state : {"open", "answered", "open"}) {
    auto inbox = ParseJson(Get(dm, base + "/queries?limit=1000&state=" + state)->body);
    for (const Value& q : inbox->Find("queries")->as_array()) {
      auto closed = Post(dm,
                         base + "/subjects/" + q.Find("subject")->as_string() + "/queries/" +
                             std::to_string(q.Find("query")->as_int()) + "/close",
                         R"({"message":"resolved at the database review"})");
      ASSERT_EQ(closed->status, 200) << closed->body;
    }
  }
  EXPECT_EQ(checklist()["unresolved_queries"], 0);
  auto without_accepting =
      Post(dm, base + "/commands", R"({"op":"study.lock","password":")" + std::string(kPassword) + R"("})");
  EXPECT_EQ(without_accepting->status, 409) << without_accepting->body;
  EXPECT_NE(without_accepting->body.find("resolve each item or accept it with a reason"), std::string::npos);
  auto locked = lock(R"(,"password":")" + std::string(kPassword) + R"(")");
  ASSERT_EQ(locked->status, 200) << locked->body;
  EXPECT_EQ(checklist()["locked"], 1);
  auto form = ParseJson(Get(Login("coord.701"), base + "/subjects/701-1001/visits/SCREENING1/forms/DM")->body);
  EXPECT_EQ(form->Find("read_only")->as_string(), "database_locked");
  // Every page learns it from the list of studies, to show it and offer nothing.
  auto studies = ParseJson(Get(Login("coord.701"), "/api/v1/studies")->body);
  EXPECT_TRUE(studies->Find("studies")->as_array()[0].Find("locked")->as_bool());
  // Whatever a page might still offer, each role's actions are refused, and the answer says why.
  const std::string password = std::string(R"("password":")") + kPassword + R"(")";
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"coord.701", R"({"op":"form.save","subject":"701-1001","visit":"SCREENING1","form":"DM",)"
                    R"("items":{"ETHNIC":"NOT REPORTED"},"reason":"Other: source"})"},
      {"coord.701", R"({"op":"subject.screen","site":"701"})"},
      {"coord.701", R"({"op":"visit.missed","subject":"701-1001","visit":"WEEK26","reason":"no show"})"},
      {"cra.1", R"({"op":"query.open","subject":"701-1001","visit":"SCREENING1","form":"DM","item":"RACE",)"
                R"("message":"Please confirm"})"},
      {"cra.1", R"({"op":"sdv.verify","subject":"701-1001","visit":"SCREENING1","form":"DM"})"},
      {"inv.701", R"({"op":"sign","subject":"701-1001","meaning":"approval","user":"inv.701",)" + password + "}"},
      {"dm.1", R"({"op":"subject.freeze","subject":"701-1001"})"},
      {"dm.1", R"({"op":"subject.inactivate","subject":"701-1001","reason":"screened in error"})"},
  };
  for (const auto& [user, command] : refused) {
    auto r = Post(user == "dm.1" ? dm : Login(user), base + "/commands", command);
    EXPECT_EQ(r->status, 409) << user << " " << command << ": " << r->body;
    EXPECT_NE(r->body.find("the study database is locked; nothing can change until it is unlocked"), std::string::npos)
        << user << " " << command << ": " << r->body;
  }
  auto no_reason =
      Post(dm, base + "/commands", R"({"op":"study.unlock","password":")" + std::string(kPassword) + R"("})");
  EXPECT_EQ(no_reason->status, 409) << no_reason->body;
  auto unlocked =
      Post(dm, base + "/commands",
           R"({"op":"study.unlock","reason":"late laboratory data","password":")" + std::string(kPassword) + R"("})");
  ASSERT_EQ(unlocked->status, 200) << unlocked->body;
  EXPECT_EQ(checklist()["locked"], 0);
  // Both are signed events with the account's name, kept on the study's record.
  auto history = ParseJson(Get(dm, base + "/lock-checklist")->body).value();
  const Value::Array& events = history.Find("history")->as_array();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].Find("action")->as_string(), "locked");
  EXPECT_EQ(events[0].Find("signer_name")->as_string(), "Dana Data-Manager");
  EXPECT_EQ(events[0].Find("accepted")->Find("subjects_on_study")->as_string(), "interim lock");
  EXPECT_EQ(events[1].Find("action")->as_string(), "unlocked");
  EXPECT_EQ(events[1].Find("signer_name")->as_string(), "Dana Data-Manager");
  EXPECT_EQ(events[1].Find("reason")->as_string(), "late laboratory data");
}

TEST_F(ApiTest, QueriesAreRaisedAnsweredAndClosedThroughTheirRoutes) {
  Session cra = Login("cra.1");
  auto raised =
      Post(cra, "/api/v1/studies/CDISCPILOT01/subjects/701-1001/queries",
           R"({"visit":"SCREENING1","form":"DM","item":"RACE","message":"Please confirm race against the chart"})");
  ASSERT_EQ(raised->status, 200) << raised->body;
  int64_t n = ParseJson(raised->body)->Find("result")->Find("query")->as_int();
  std::string base = "/api/v1/studies/CDISCPILOT01/subjects/701-1001/queries/" + std::to_string(n);
  Session coord = Login("coord.701");
  auto answered = Post(coord, base + "/answer", R"({"message":"Confirmed"})");
  ASSERT_EQ(answered->status, 200) << answered->body;
  auto closed_by_coord = Post(coord, base + "/close", "{}");
  EXPECT_EQ(closed_by_coord->status, 403);
  auto closed = Post(cra, base + "/close", "{}");
  ASSERT_EQ(closed->status, 200) << closed->body;
  EXPECT_EQ(Post(cra, base + "/explode", "{}")->status, 404);
  auto list = ParseJson(Get(cra, "/api/v1/studies/CDISCPILOT01/queries?state=closed&subject=701-1001")->body);
  bool found = false;
  for (const auto& q : list->Find("queries")->as_array()) found |= q.Find("query")->as_int() == n;
  EXPECT_TRUE(found);
}

// Issue 15: a query an edit check raises is the system's, attributed to the
// check, with the save that made the check fail; the user who saved is only
// the trigger (API, subject JSON and audit trail alike).
TEST_F(ApiTest, EditCheckQueriesAreRaisedByTheSystemAfterTheSaveThatTriggeredThem) {
  Session coord = Login("coord.701");
  const std::string subject = "/api/v1/studies/CDISCPILOT01/subjects/701-1001";
  EnterVisitDate(coord, "701-1001", "RASHFU");
  auto c = Client();
  auto saved = c.Patch((subject + "/visits/RASHFU/forms/VS").c_str(),
                       httplib::Headers{{"Cookie", coord.cookie}, {"X-CSRF-Token", coord.csrf}},
                       R"({"items":{"SYSBP":"170","DIABP":"80"},"reason":"Other: re-measured"})", "application/json");
  ASSERT_EQ(saved->status, 200) << saved->body;
  auto reply = *ParseJson(saved->body);
  // Positions in the log count hidden events: only a caller who sees them all
  // (here the unblinded pharmacist) is given the save's.
  Session pharm = Login("pharm.701");
  int64_t save_seq = 0;
  const Value trail = *ParseJson(Get(pharm, subject + "/audit?path=subject/701-1001/RASHFU/VS/SYSBP")->body);
  for (const Value& e : trail.Find("entries")->as_array()) {
    if (e.Find("event")->as_string() == "form.saved") save_seq = e.Find("seq")->as_int();
  }
  ASSERT_GT(save_seq, 0) << ToJson(trail);
  // The save's result names the query it opened, for the application to word.
  const auto& opened = reply.Find("result")->Find("queries_opened")->as_array();
  ASSERT_EQ(opened.size(), 1u) << saved->body;
  EXPECT_EQ(opened[0].Find("check")->as_string(), "SYSBP.soft_range");
  EXPECT_EQ(opened[0].Find("item")->as_string(), "SYSBP");
  const int64_t n = opened[0].Find("query")->as_int();

  auto raised_by = [&](const Value& query) { return ToJson(*query.Find("raised_by")); };
  // The inbox names the check and the user; the casebook and the audit trail also the save.
  const std::string expected_in_inbox = R"({"check":"SYSBP.soft_range","kind":"edit_check","message":")" +
                                        opened[0].Find("message")->as_string() +
                                        R"(","triggered_by":{"role":"coordinator","user":"coord.701"}})";
  const std::string expected = expected_in_inbox.substr(0, expected_in_inbox.size() - 1) +
                               R"(,"triggering_save_seq":)" + std::to_string(save_seq) + "}";
  Session cra = Login("cra.1");
  // The unblinded caller's casebook names the save by its position; a blinded one's all but that.
  for (const auto& [who, wanted] : {std::pair{&pharm, expected}, std::pair{&cra, expected_in_inbox}}) {
    const Value casebook = *ParseJson(Get(*who, subject)->body);
    bool in_casebook = false;
    for (const Value& q : casebook.Find("queries")->as_array()) {
      if (q.Find("query")->as_int() != n) continue;
      in_casebook = true;
      EXPECT_EQ(raised_by(q), wanted);
    }
    EXPECT_TRUE(in_casebook) << ToJson(casebook);
  }
  const Value inbox = *ParseJson(Get(cra, "/api/v1/studies/CDISCPILOT01/queries?subject=701-1001&state=open")->body);
  bool in_inbox = false;
  for (const Value& q : inbox.Find("queries")->as_array()) {
    if (q.Find("query")->as_int() != n) continue;
    in_inbox = true;
    EXPECT_EQ(raised_by(q), expected_in_inbox);
  }
  EXPECT_TRUE(in_inbox) << ToJson(inbox);

  // A query a monitor raises is the monitor's.
  auto asked = Post(cra, subject + "/queries",
                    R"({"visit":"RASHFU","form":"VS","item":"PULSE","message":"Please confirm the pulse"})");
  ASSERT_EQ(asked->status, 200) << asked->body;
  const int64_t m = ParseJson(asked->body)->Find("result")->Find("query")->as_int();
  const Value after_raise = *ParseJson(Get(cra, subject)->body);
  for (const Value& q : after_raise.Find("queries")->as_array()) {
    if (q.Find("query")->as_int() == m) {
      EXPECT_EQ(raised_by(q), R"({"kind":"user","role":"monitor","user":"cra.1"})");
    }
  }

  // The audit trail: the opening names the check; the user stays the trigger.
  const Value audit = *ParseJson(Get(pharm, subject + "/audit?path=subject/701-1001/queries")->body);
  bool check_entry = false, monitor_entry = false;
  for (const Value& e : audit.Find("entries")->as_array()) {
    if (e.Find("event")->as_string() != "query.opened") continue;
    if (e.Find("path")->as_string() == "subject/701-1001/queries/" + std::to_string(n) + "/state") {
      check_entry = true;
      EXPECT_EQ(e.Find("user")->as_string(), "coord.701");
      ASSERT_NE(e.Find("raised_by"), nullptr) << ToJson(e);
      EXPECT_EQ(ToJson(*e.Find("raised_by")), expected);
    }
    if (e.Find("path")->as_string() == "subject/701-1001/queries/" + std::to_string(m) + "/state") {
      monitor_entry = true;
      EXPECT_EQ(e.Find("raised_by"), nullptr) << ToJson(e);
    }
  }
  EXPECT_TRUE(check_entry && monitor_entry) << ToJson(audit);
}

// Issue 15: a warning the site confirmed shows where its query stands
// (open, answered, closed) instead of asking again.
TEST_F(ApiTest, AWarningWithAQueryShowsTheQuerysState) {
  Session coord = Login("coord.701");
  Session cra = Login("cra.1");
  const std::string subject = "/api/v1/studies/CDISCPILOT01/subjects/701-1001";
  const std::string form = subject + "/visits/RASHFU/forms/VS";
  EnterVisitDate(coord, "701-1001", "RASHFU");
  auto warning = [&]() -> std::pair<int64_t, std::string> {
    auto r = Post(coord, form + "/check", "{}");
    EXPECT_EQ(r->status, 200) << r->body;
    const Value reply = *ParseJson(r->body);
    for (const Value& p : reply.Find("result")->Find("problems")->as_array()) {
      if (p.Find("check")->as_string() != "SYSBP.soft_range") continue;
      const Value* q = p.Find("query");
      return {q ? q->as_int() : 0, q ? p.Find("query_state")->as_string() : ""};
    }
    return {-1, "no warning: " + r->body};
  };
  auto c = Client();
  auto saved = c.Patch(form.c_str(), httplib::Headers{{"Cookie", coord.cookie}, {"X-CSRF-Token", coord.csrf}},
                       R"({"items":{"SYSBP":"170","DIABP":"80"},"reason":"Other: re-measured"})", "application/json");
  ASSERT_EQ(saved->status, 200) << saved->body;
  const int64_t n =
      ParseJson(saved->body)->Find("result")->Find("queries_opened")->as_array().at(0).Find("query")->as_int();
  EXPECT_EQ(warning(), std::make_pair(n, std::string("open")));
  const std::string query = subject + "/queries/" + std::to_string(n);
  ASSERT_EQ(Post(coord, query + "/answer", R"({"message":"Confirmed against the chart"})")->status, 200);
  EXPECT_EQ(warning(), std::make_pair(n, std::string("answered")));
  ASSERT_EQ(Post(cra, query + "/close", "{}")->status, 200);
  EXPECT_EQ(warning(), std::make_pair(n, std::string("closed")));
  // A hard problem never carries a query.
  auto hard = Post(coord, form + "/check", R"({"items":{"PULSE":"400"}})");
  const Value hard_reply = *ParseJson(hard->body);
  for (const Value& p : hard_reply.Find("result")->Find("problems")->as_array()) {
    if (p.Find("hard")->as_bool()) {
      EXPECT_EQ(p.Find("query"), nullptr) << hard->body;
    }
  }
}

// Issue 15: one definition of each state; the dashboard, the inbox and the
// subject list count alike (open: awaiting the site; answered: awaiting the
// monitor), and each dashboard figure is the total its inbox filter lists.
TEST_F(ApiTest, QueryStatesAreCountedAlikeByTheDashboardTheInboxAndTheSubjectList) {
  Session coord = Login("coord.701");
  Session cra = Login("cra.1");
  const std::string study = "/api/v1/studies/CDISCPILOT01";
  auto raise = [&](const std::string& item) {
    auto r = Post(cra, study + "/subjects/701-1001/queries",
                  R"({"visit":"WEEK20","form":"VS","item":")" + item + R"(","message":"Please confirm"})");
    EXPECT_EQ(r->status, 200) << r->body;
    return ParseJson(r->body)->Find("result")->Find("query")->as_int();
  };
  raise("SYSBP");
  const int64_t answered = raise("PULSE");
  ASSERT_EQ(Post(coord, study + "/subjects/701-1001/queries/" + std::to_string(answered) + "/answer",
                 R"({"message":"Confirmed"})")
                ->status,
            200);
  for (const Session* who : {&coord, &cra}) {
    auto dashboard = ParseJson(Get(*who, study + "/dashboard")->body);
    auto sum = [&](const char* key) {
      int64_t total = 0;
      for (const auto& [age, count] : dashboard->Find(key)->as_object()) total += count.as_int();
      return total;
    };
    auto inbox_total = [&](const std::string& filter) {
      return ParseJson(Get(*who, study + "/queries?limit=1&" + filter)->body)->Find("total")->as_int();
    };
    EXPECT_EQ(sum("open_queries_by_age"), inbox_total("state=open"));
    EXPECT_EQ(sum("answered_queries_by_age"), inbox_total("state=answered"));
    EXPECT_GE(sum("open_queries_by_age"), 1);
    EXPECT_GE(sum("answered_queries_by_age"), 1);
    // The subject list's counts are the inbox's for that subject.
    auto subjects = ParseJson(Get(*who, study + "/subjects?site=701&limit=1000")->body);
    bool seen = false;
    for (const Value& s : subjects->Find("subjects")->as_array()) {
      if (s.Find("id")->as_string() != "701-1001") continue;
      seen = true;
      EXPECT_EQ(s.Find("open_queries")->as_int(), inbox_total("state=open&subject=701-1001"));
      EXPECT_EQ(s.Find("answered_queries")->as_int(), inbox_total("state=answered&subject=701-1001"));
      EXPECT_GE(s.Find("answered_queries")->as_int(), 1);
    }
    EXPECT_TRUE(seen) << ToJson(*subjects);
  }
  auto unknown = Get(cra, study + "/queries?state=pending");
  EXPECT_EQ(unknown->status, 400);
  EXPECT_NE(unknown->body.find("open, answered, closed or cancelled"), std::string::npos) << unknown->body;
}

TEST_F(ApiTest, ServerSentEventsCarryChangesToTheSitesThatMaySeeThem) {
  Session cra = Login("cra.1");
  Session other_site = Login("coord.708");
  EnterVisitDate(Login("coord.701"), "701-1001", "RASHFU");
  std::string seen_by_cra, seen_by_708;
  auto listen = [&](const Session& s, std::string* into, int timeout_seconds) {
    return std::thread([this, s, into, timeout_seconds] {
      auto c = Client();
      c.set_read_timeout(timeout_seconds, 0);
      c.Get("/api/v1/studies/CDISCPILOT01/events", httplib::Headers{{"Cookie", s.cookie}},
            [&](const char* data, size_t len) {
              into->append(data, len);
              return into->find("form.saved") == std::string::npos;
            });
    });
  };
  std::thread a = listen(cra, &seen_by_cra, 6);
  std::thread b = listen(other_site, &seen_by_708, 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // both streams open before the change
  Session coord = Login("coord.701");
  auto saved =
      Post(coord, "/api/v1/studies/CDISCPILOT01/commands",
           R"({"op":"form.save","subject":"701-1001","visit":"RASHFU","form":"VS","items":{"VSPOS":"SUPINE"}})");
  ASSERT_EQ(saved->status, 200) << saved->body;
  a.join();
  b.join();
  EXPECT_NE(seen_by_cra.find("event: form.saved"), std::string::npos) << seen_by_cra;
  EXPECT_NE(seen_by_cra.find("subject/701-1001"), std::string::npos);
  EXPECT_EQ(seen_by_708.find("subject/701-1001"), std::string::npos)
      << "site 708 must not hear of site 701: " << seen_by_708;
}

TEST_F(ApiTest, BlindedRolesNeverSeeAnArmOrAnUnblindedValue) {
  const std::vector<std::string> arms = {
      "Xanomeline High Dose", "Xanomeline Low Dose", "Placebo",   "Xan_Hi",    "Xan_Lo", "\"Pbo\"",
      "\"EXDOSE\"",           "\"PATCHES\"",         "\"EXADJ\"", "Daily dose"};
  const std::vector<std::string> routes = {
      "/api/v1/studies",
      "/api/v1/studies/CDISCPILOT01",
      "/api/v1/studies/CDISCPILOT01/dashboard",
      "/api/v1/studies/CDISCPILOT01/queries",
      "/api/v1/studies/CDISCPILOT01/subjects",
      "/api/v1/studies/CDISCPILOT01/subjects/701-1001",
      "/api/v1/studies/CDISCPILOT01/subjects/701-1001/schedule",
      "/api/v1/studies/CDISCPILOT01/subjects/701-1001/audit",
      "/api/v1/studies/CDISCPILOT01/subjects/701-1001/visits/BASELINE/forms/EX",
      "/api/v1/studies/CDISCPILOT01/subjects/701-1001/visits/WEEK2/forms/EX",
  };
  for (const char* user : {"coord.701", "inv.701", "cra.1", "dm.1", "mm.1", "safety.1", "sponsor.1", "admin"}) {
    Session s = Login(user);
    for (const auto& route : routes) {
      auto r = Get(s, route);
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << user << " " << route << " " << r->body;
      for (const auto& arm : arms) {
        EXPECT_EQ(r->body.find(arm), std::string::npos) << user << " sees " << arm << " in " << route;
      }
    }
  }
  // The unblinded pharmacist does see them.
  Session pharm = Login("pharm.701");
  EXPECT_NE(Get(pharm, "/api/v1/studies/CDISCPILOT01")->body.find("Xanomeline High Dose"), std::string::npos);
  EXPECT_NE(Get(pharm, "/api/v1/studies/CDISCPILOT01")->body.find("\"EXDOSE\""), std::string::npos);
  EXPECT_NE(
      Get(pharm, "/api/v1/studies/CDISCPILOT01/subjects/701-1001/visits/BASELINE/forms/EX")->body.find("EXDOSE\":{"),
      std::string::npos);
}

TEST_F(ApiTest, LoginsAreRateLimitedPerClientAddress) {
  // Attempts are counted in the database, by every server of it (this
  // suite's shared server logs in from this address too): a copy of its own.
  std::filesystem::remove(*dir_ + "/rate.db");
  auto rate_db = testing_util::TestDbArgument("rate.db");
  ASSERT_TRUE(rate_db.ok()) << rate_db.status().ToString();
  const std::string rate = "'" + *rate_db + "'";
  auto copy = testing_util::RunCommand(*dir_, kBin + " db copy --from " + Db() + " --to " + rate);
  ASSERT_EQ(copy.exit_code, 0) << copy.err;
  ServerProcess own(*dir_, "--db " + rate + " --port 0");
  ASSERT_GT(own.port(), 0);
  httplib::Client c("127.0.0.1", own.port());
  int limited = 0;
  for (int i = 0; i < 22; ++i) {
    auto r = c.Post("/api/v1/session", R"({"user":"sponsor.1","password":"wrong password!!"})", "application/json");
    if (r && r->status == 429) ++limited;
  }
  EXPECT_EQ(limited, 2) << "20 attempts a minute from one address";
}

// Every role, at its own site, another site and no site of the study, against
// reads and writes of one subject: allowed, refused (403) or not there (404).
TEST_F(ApiTest, EveryRoleAtItsSiteAnotherSiteAndNoSite) {
  auto add = testing_util::RunCommand(*dir_, "TRIALCORE_PASSWORD=" + std::string(kPassword) + " " + kBin +
                                                 " user add outsider --name 'Out Sider' --db " + Db() + " && " + kBin +
                                                 " user grant outsider --study OTHERSTUDY --role monitor --db " + Db());
  ASSERT_EQ(add.exit_code, 0) << add.err;
  struct Who {
    const char* user;
    const char* role;
    const char* site;  // "*" all, "" none
  } people[] = {
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
      {"outsider", "monitor", ""},
  };
  const std::string subject = "/api/v1/studies/CDISCPILOT01/subjects/701-1001";
  for (const Who& w : people) {
    SCOPED_TRACE(w.user);
    Session s = Login(w.user);
    std::string site = w.site, role = w.role;
    bool sees = site == "*" || site == "701";
    int read = sees ? 200 : 404;
    EXPECT_EQ(Get(s, subject)->status, read);
    EXPECT_EQ(Get(s, subject + "/visits/SCREENING1/forms/DM")->status, read);
    EXPECT_EQ(Get(s, subject + "/audit?path=subject/701-1001/SCREENING1/DM")->status, read);
    EXPECT_EQ(Get(s, "/api/v1/studies/CDISCPILOT01/subjects")->status, site.empty() ? 404 : 200);
    EXPECT_EQ(Get(s, "/api/v1/studies/CDISCPILOT01/dashboard")->status, site.empty() ? 404 : 200);
    // Writes the role may make are refused for their content (400), so the
    // matrix changes nothing; writes it may not make are refused (403).
    bool enters = role == "coordinator" || role == "investigator";
    auto save = Post(
        s, "/api/v1/studies/CDISCPILOT01/commands",
        R"({"op":"form.save","subject":"701-1001","visit":"RASHFU","form":"SV","items":{"SVSTDTC":"not a date"}})");
    EXPECT_EQ(save->status, !sees ? 404 : enters ? 400 : 403) << save->body;
    bool reviews = role == "monitor" || role == "data_manager" || role == "medical_monitor";
    auto query = Post(s, subject + "/queries", R"({"visit":"SCREENING1","form":"DM","item":"RACE"})");
    EXPECT_EQ(query->status, !sees ? 404 : reviews ? 400 : 403) << query->body;
    auto sign = Post(s, "/api/v1/studies/CDISCPILOT01/commands",
                     R"({"op":"sign","subject":"701-1001","meaning":"approval","user":")" + std::string(w.user) +
                         R"(","password":"wrong password!!"})");
    // Only an investigator gets as far as the password check.
    EXPECT_EQ(sign->status, !sees ? 404 : 403) << sign->body;

    // The remaining routes of doc/openapi.json.
    bool in_study = !site.empty();
    EXPECT_EQ(Get(s, "/api/v1/session")->status, 200);
    EXPECT_EQ(Get(s, "/api/v1/studies")->status, 200);
    EXPECT_EQ(Get(s, "/api/v1/studies/CDISCPILOT01")->status, in_study ? 200 : 404);
    EXPECT_EQ(Get(s, "/api/v1/studies/CDISCPILOT01/queries")->status, in_study ? 200 : 404);
    EXPECT_EQ(Get(s, subject + "/schedule")->status, read);
    auto c = Client();
    httplib::Headers h{{"Cookie", s.cookie}, {"X-CSRF-Token", s.csrf}};
    auto patch_form = c.Patch((subject + "/visits/RASHFU/forms/SV").c_str(), h, R"({"items":{"SVSTDTC":"not a date"}})",
                              "application/json");
    EXPECT_EQ(patch_form->status, !sees ? 404 : enters ? 400 : 403) << patch_form->body;
    auto patch_item = c.Patch((subject + "/visits/RASHFU/forms/SV/items/SVSTDTC").c_str(), h,
                              R"({"value":"not a date"})", "application/json");
    EXPECT_EQ(patch_item->status, !sees ? 404 : enters ? 400 : 403) << patch_item->body;
    bool answers = enters || role == "unblinded_pharmacist";
    auto answer = Post(s, subject + "/queries/1/answer", "{}");  // no message: refused for its content
    EXPECT_EQ(answer->status, !sees ? 404 : answers ? 400 : 403) << answer->body;
    EXPECT_EQ(c.Get("/api/openapi.json")->status, 200);
    EXPECT_EQ(Get(s, "/metrics")->status, 401);
    if (!in_study) {
      EXPECT_EQ(Get(s, "/api/v1/studies/CDISCPILOT01/events")->status, 404);
    }
    // (The event stream itself, for those who may read it, is tested above.)
    auto out = c.Delete("/api/v1/session", h);
    EXPECT_EQ(out->status, 200);
  }
}

TEST_F(ApiTest, ACasebookCanBeReadAsItStoodAtAPastMoment) {
  Session s = Login("coord.701");
  const std::string form = "/api/v1/studies/CDISCPILOT01/subjects/701-1007/visits/RASHFU/forms/SV";
  auto c = Client();
  httplib::Headers h{{"Cookie", s.cookie}, {"X-CSRF-Token", s.csrf}};
  auto first = c.Patch((form + "/items/SVSTDTC").c_str(), h, R"({"value":"2025-02-01"})", "application/json");
  ASSERT_EQ(first->status, 200) << first->body;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::string between = FormatTimeMicros(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(c.Patch((form + "/items/SVSTDTC").c_str(), h, R"({"value":"2025-02-02","reason":"Other: wrong day"})",
                    "application/json")
                ->status,
            200);
  auto then = Get(s, "/api/v1/studies/CDISCPILOT01/subjects/701-1007?as_of=" + between);
  ASSERT_EQ(then->status, 200) << then->body;
  auto value = [](const Value& subject) {
    return subject.Find("visits")
        ->Find("RASHFU")
        ->Find("forms")
        ->Find("SV")
        ->Find("items")
        ->Find("SVSTDTC")
        ->Find("value")
        ->as_string();
  };
  EXPECT_EQ(value(*ParseJson(then->body)), "2025-02-01");
  EXPECT_EQ(value(*ParseJson(Get(s, "/api/v1/studies/CDISCPILOT01/subjects/701-1007")->body)), "2025-02-02");
  EXPECT_EQ(Get(s, "/api/v1/studies/CDISCPILOT01/subjects/701-1007?as_of=yesterday")->status, 400);
  EXPECT_EQ(Get(s, "/api/v1/studies/CDISCPILOT01/subjects/701-1007?as_of=2000-01-01")->status, 404);
}

TEST_F(ApiTest, MachineClientsUseTokensScopedToOneRole) {
  auto issued = testing_util::RunCommand(
      *dir_, kBin + " user token cra.1 --study CDISCPILOT01 --role monitor --site '*' --db " + Db());
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  std::string token = issued.out.substr(0, issued.out.find('\n'));
  ASSERT_TRUE(token.starts_with("tct_")) << token;
  auto c = Client();
  httplib::Headers bearer{{"Authorization", "Bearer " + token}};
  EXPECT_EQ(StatusOnceChanged("/api/v1/studies/CDISCPILOT01/subjects", bearer, 200), 200)
      << "a token issued while the server runs works";
  // No cookie, so no CSRF token is needed; the role is the token's.
  auto raise = c.Post("/api/v1/studies/CDISCPILOT01/subjects/701-1001/queries", bearer,
                      R"({"visit":"SCREENING1","form":"DM","item":"ETHNIC","message":"Token-raised query"})",
                      "application/json");
  EXPECT_EQ(raise->status, 200) << raise->body;
  auto save =
      c.Post("/api/v1/studies/CDISCPILOT01/commands", bearer,
             R"({"op":"form.save","subject":"701-1001","visit":"RASHFU","form":"SV","items":{"SVSTDTC":"2025-01-01"}})",
             "application/json");
  EXPECT_EQ(save->status, 403) << save->body;
  auto other_role = testing_util::RunCommand(
      *dir_, kBin + " user token cra.1 --study CDISCPILOT01 --role investigator --site 701 --db " + Db());
  EXPECT_EQ(other_role.exit_code, 5);
  EXPECT_NE(other_role.err.find("a token can only carry a role its user holds"), std::string::npos) << other_role.err;
  auto users = testing_util::RunCommand(*dir_, kBin + " user list --db " + Db());
  EXPECT_EQ(users.out.find(token), std::string::npos) << "only the hash is kept";
  size_t at = users.out.find("token ");
  ASSERT_NE(at, std::string::npos) << users.out;
  std::string prefix = users.out.substr(at + 6, 12);
  auto revoke = testing_util::RunCommand(
      *dir_, kBin + " user revoke-token cra.1 " + prefix + " --reason 'integration retired' --db " + Db());
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  EXPECT_EQ(StatusOnceChanged("/api/v1/studies/CDISCPILOT01/subjects", bearer, 401), 401)
      << "a token revoked while the server runs stops working";
  EXPECT_EQ(
      c.Get("/api/v1/studies/CDISCPILOT01/subjects", httplib::Headers{{"Authorization", "Bearer tct_forged"}})->status,
      401);
}

TEST_F(ApiTest, FormChecksAnswerOnEachItemAndStoreNothing) {
  Session s = Login("coord.701");
  const std::string subject = "/api/v1/studies/CDISCPILOT01/subjects/701-1001";
  const std::string form = subject + "/visits/WEEK20/forms/VS";
  auto before = Get(s, subject);
  ASSERT_EQ(before->status, 200);
  auto r = Post(s, form + "/check", R"({"items":{"SYSBP":"170","DIABP":"abc","PULSE":"400"}})");
  ASSERT_EQ(r->status, 200) << r->body;
  auto problems = ParseJson(r->body)->Find("result")->Find("problems")->as_array();
  std::map<std::string, std::pair<std::string, bool>> by_item;
  for (const Value& p : problems) {
    by_item[p.Find("item")->as_string()] = {p.Find("check")->as_string(), p.Find("hard")->as_bool()};
  }
  EXPECT_EQ(by_item["SYSBP"], std::make_pair(std::string("SYSBP.soft_range"), false)) << r->body;
  EXPECT_EQ(by_item["DIABP"], std::make_pair(std::string("format"), true)) << r->body;
  EXPECT_EQ(by_item["PULSE"], std::make_pair(std::string("PULSE.hard_range"), true)) << r->body;
  // Nothing stored, no query opened: the subject's version is unchanged.
  EXPECT_EQ(Get(s, subject)->get_header_value("ETag"), before->get_header_value("ETag"));
  EXPECT_EQ(Post(s, form + "/check", R"({"items":{"SYSBP":"120"},"reason":"x"})")->status, 400);
  // Visibility follows the proposal: the reason for a dose adjustment is
  // asked only when the dose is 0.
  Session pharm = Login("pharm.701");
  auto hidden = [&](const std::string& dose) {
    auto reply = Post(pharm, subject + "/visits/WEEK20/forms/EX/check", R"({"items":{"EXDOSE":)" + dose + "}}");
    EXPECT_EQ(reply->status, 200) << reply->body;
    return ToJson(*ParseJson(reply->body)->Find("result")->Find("hidden"));
  };
  EXPECT_EQ(hidden("54"), R"(["EXADJ"])");
  EXPECT_EQ(hidden("0"), "[]");
  // Rows: an added row's number, its problems and the items it does not ask.
  auto rows = Post(s, subject + "/visits/LOGS/forms/CM/check",
                   R"({"rows":[{"group":"CM","items":{"CMTRT":"Aspirin","CMONGO":true}}]})");
  ASSERT_EQ(rows->status, 200) << rows->body;
  auto result = *ParseJson(rows->body)->Find("result");
  ASSERT_EQ(result.Find("new_rows")->Find("CM")->as_array().size(), 1u) << rows->body;
  int64_t number = result.Find("new_rows")->Find("CM")->as_array()[0].as_int();
  bool indication = false, end_date_hidden = false;
  for (const Value& p : result.Find("problems")->as_array()) {
    indication |= p.Find("item")->as_string() == "CMINDC" && p.Find("row")->as_int() == number;
  }
  for (const Value& h : result.Find("hidden_in_rows")->as_array()) {
    end_date_hidden |= h.Find("item")->as_string() == "CMENDTC" && h.Find("row")->as_int() == number;
  }
  EXPECT_TRUE(indication) << rows->body;
  EXPECT_TRUE(end_date_hidden) << rows->body;
  // The monitor may not enter vital signs, so may not check them either.
  Session cra = Login("cra.1");
  EXPECT_EQ(Post(cra, form + "/check", R"({"items":{"SYSBP":"120"}})")->status, 403);
}

TEST_F(ApiTest, TheScheduleGivesEachFormsCompletion) {
  Session s = Login("coord.701");
  auto r = Get(s, "/api/v1/studies/CDISCPILOT01/subjects/701-1001/schedule");
  ASSERT_EQ(r->status, 200) << r->body;
  auto visits = ParseJson(r->body)->Find("visits")->as_array();
  ASSERT_FALSE(visits.empty());
  std::set<std::string> statuses;
  for (const Value& v : visits) {
    ASSERT_NE(v.Find("forms"), nullptr) << r->body;
    for (const Value& f : v.Find("forms")->as_array()) statuses.insert(f.Find("status")->as_string());
  }
  EXPECT_TRUE(statuses.contains("complete")) << r->body;
  EXPECT_TRUE(statuses.contains("not started")) << r->body;
}

// Issue 15 point 5: the server numbers subjects as the study declares; a
// subject screened in error is inactivated with a reason and leaves lists.
TEST_F(ApiTest, SubjectsAreNumberedByTheServerAndInactivatedWithAReason) {
  Session coord = Login("coord.701");
  const std::string commands = "/api/v1/studies/CDISCPILOT01/commands";
  auto screened = Post(coord, commands, R"({"op":"subject.screen","site":"701"})");
  ASSERT_EQ(screened->status, 200) << screened->body;
  const std::string id = ParseJson(screened->body)->Find("result")->Find("subject")->as_string();
  EXPECT_TRUE(id.size() == 8 && id.starts_with("701-")) << id;
  auto keyed = Post(coord, commands, R"({"op":"subject.screen","subject":"1099","site":"701"})");
  EXPECT_EQ(keyed->status, 400) << keyed->body;
  EXPECT_NE(keyed->body.find("does not follow this study's numbering"), std::string::npos) << keyed->body;

  Session cra = Login("cra.1");
  auto monitor = Post(cra, commands, R"({"op":"subject.inactivate","subject":")" + id + R"(","reason":"duplicate"})");
  EXPECT_EQ(monitor->status, 403) << monitor->body;
  auto bare = Post(coord, commands, R"({"op":"subject.inactivate","subject":")" + id + R"("})");
  EXPECT_EQ(bare->status, 409) << bare->body;
  auto done = Post(coord, commands,
                   R"({"op":"subject.inactivate","subject":")" + id + R"(","reason":"screened twice by mistake"})");
  ASSERT_EQ(done->status, 200) << done->body;

  const std::string list = "/api/v1/studies/CDISCPILOT01/subjects?site=701&limit=1000";
  EXPECT_EQ(Get(coord, list)->body.find("\"" + id + "\""), std::string::npos) << "left out by default";
  auto with = Get(coord, list + "&inactive=include");
  ASSERT_EQ(with->status, 200);
  bool listed = false;
  const Value page = *ParseJson(with->body);
  for (const Value& s : page.Find("subjects")->as_array()) {
    if (s.Find("id")->as_string() == id) listed = s.Find("inactive")->as_bool();
  }
  EXPECT_TRUE(listed) << with->body;
  EXPECT_EQ(Get(coord, list + "&inactive=maybe")->status, 400);
  auto casebook = ParseJson(Get(coord, "/api/v1/studies/CDISCPILOT01/subjects/" + id)->body);
  EXPECT_TRUE(casebook->Find("inactive")->as_bool());
  EXPECT_EQ(casebook->Find("inactive_reason")->as_string(), "screened twice by mistake");
  auto save = Post(coord, commands,
                   R"({"op":"form.save","subject":")" + id +
                       R"(","visit":"SCREENING1","form":"SV","items":{"SVSTDTC":"2025-01-01"}})");
  EXPECT_EQ(save->status, 409) << save->body;
  auto trail = Get(coord, "/api/v1/studies/CDISCPILOT01/subjects/" + id + "/audit?event=subject.inactivated");
  EXPECT_NE(trail->body.find("screened twice by mistake"), std::string::npos) << trail->body;
}

// Issue 15 points 6 and 7: a reason for change is one of the study's or
// "Other: " with words; a visit's date comes before its other forms.
TEST_F(ApiTest, ReasonsForChangeAndTheVisitDateFollowTheStudy) {
  Session coord = Login("coord.701");
  auto definition = ParseJson(Get(coord, "/api/v1/studies/CDISCPILOT01")->body);
  ASSERT_TRUE(definition.ok());
  EXPECT_EQ(definition->Find("reasons_for_change")->as_array().size(), 4u);
  EXPECT_TRUE(definition->Find("visit_date")->Find("first")->as_bool());
  EXPECT_TRUE(definition->Find("subject_numbers_assigned")->as_bool());
  // The AE log's rows are the ones whose MedDRA coding the pages show.
  ASSERT_NE(definition->Find("adverse_events"), nullptr) << "the demo study declares its safety section";
  EXPECT_EQ(ToJson(*definition->Find("adverse_events")), R"({"form":"AE","group":"AE","term":"AETERM"})");

  const std::string commands = "/api/v1/studies/CDISCPILOT01/commands";
  auto early = Post(coord, commands,
                    R"({"op":"form.save","subject":"701-1001","visit":"RETRIEVAL","form":"VS","items":{"PULSE":70}})");
  EXPECT_EQ(early->status, 409) << early->body;
  EXPECT_NE(early->body.find("enter the visit date first: RETRIEVAL has no Visit date yet"), std::string::npos)
      << early->body;
  EnterVisitDate(coord, "701-1001", "RETRIEVAL");
  ASSERT_EQ(Post(coord, commands,
                 R"({"op":"form.save","subject":"701-1001","visit":"RETRIEVAL","form":"VS","items":{"PULSE":70}})")
                ->status,
            200);

  const std::string change =
      R"({"op":"form.save","subject":"701-1001","visit":"RETRIEVAL","form":"VS","items":{"PULSE":72},"reason":")";
  auto free_text = Post(coord, commands, change + R"(typo"})");
  EXPECT_EQ(free_text->status, 400) << free_text->body;
  EXPECT_NE(free_text->body.find("one of the study's reasons"), std::string::npos) << free_text->body;
  EXPECT_EQ(Post(coord, commands, change + R"(Data clarified from source"})")->status, 200);
  const std::string again =
      R"({"op":"form.save","subject":"701-1001","visit":"RETRIEVAL","form":"VS","items":{"PULSE":74},"reason":")";
  EXPECT_EQ(Post(coord, commands, again + R"(Other: re-measured after rest"})")->status, 200);
}

// Issue 15 point 4: why a subject cannot be enrolled, criterion by criterion
// in the protocol's words, with the form that answers each.
TEST_F(ApiTest, EligibilityShowsEachCriterionWithItsResultAndForm) {
  Session coord = Login("coord.701");
  const std::string commands = "/api/v1/studies/CDISCPILOT01/commands";
  auto screened = Post(coord, commands, R"({"op":"subject.screen","site":"701"})");
  ASSERT_EQ(screened->status, 200) << screened->body;
  const std::string id = ParseJson(screened->body)->Find("result")->Find("subject")->as_string();
  const std::string save = R"({"op":"form.save","subject":")" + id + R"(","visit":"SCREENING1","form":")";
  ASSERT_EQ(Post(coord, commands, save + R"(SV","items":{"SVSTDTC":"2025-01-02"}})")->status, 200);
  ASSERT_EQ(Post(coord, commands, save + R"(IC","items":{"ICDTC":"2025-01-02","ICVER":"v2","ICCGVR":"Y"}})")->status,
            200);
  // 35 years old: INCL01 is not met.
  ASSERT_EQ(Post(coord, commands, save + R"(DM","items":{"BRTHDTC":"1990-01-01","SEX":"M","RACE":"WHITE"}})")->status,
            200);
  auto refused = Post(coord, commands, R"({"op":"subject.enroll","subject":")" + id + R"("})");
  EXPECT_EQ(refused->status, 409) << refused->body;

  auto r = Get(coord, "/api/v1/studies/CDISCPILOT01/subjects/" + id + "/eligibility");
  ASSERT_EQ(r->status, 200) << r->body;
  const Value e = *ParseJson(r->body);
  EXPECT_EQ(e.Find("eligible")->as_string(), "no");
  std::map<std::string, const Value*> by_id;
  for (const Value& c : e.Find("criteria")->as_array()) by_id[c.Find("id")->as_string()] = &c;
  ASSERT_EQ(by_id.size(), 13u) << r->body;
  const Value& incl01 = *by_id["INCL01"];
  EXPECT_EQ(incl01.Find("result")->as_string(), "not_met");
  EXPECT_EQ(incl01.Find("text")->as_string(), "Males and postmenopausal females at least 50 years of age.");
  EXPECT_EQ(incl01.Find("form")->as_string(), "DM");
  EXPECT_EQ(incl01.Find("visit")->as_string(), "SCREENING1");
  const Value& incl03 = *by_id["INCL03"];
  EXPECT_EQ(incl03.Find("result")->as_string(), "not_yet_answerable");
  EXPECT_EQ(incl03.Find("form")->as_string(), "IE");
  // INCL06 reads the eligibility form and the consent: the one still empty answers it.
  EXPECT_EQ(by_id["INCL06"]->Find("form")->as_string(), "IE");
  EXPECT_EQ(by_id["EXCL10"]->Find("kind")->as_string(), "exclusion");

  // A subject the demo enrolled met every criterion.
  auto enrolled = ParseJson(Get(coord, "/api/v1/studies/CDISCPILOT01/subjects/701-1001/eligibility")->body);
  EXPECT_EQ(enrolled->Find("eligible")->as_string(), "yes");
  for (const Value& c : enrolled->Find("criteria")->as_array()) EXPECT_EQ(c.Find("result")->as_string(), "met");
  // Another site's subject does not exist for this user.
  EXPECT_EQ(Get(coord, "/api/v1/studies/CDISCPILOT01/subjects/708-1006/eligibility")->status, 404);
}

TEST_F(ApiTest, AdministratorsManageAccountsAndGrants) {
  const std::string users = "/api/v1/studies/CDISCPILOT01/users";
  Session coord = Login("coord.701");
  EXPECT_EQ(Get(coord, users)->status, 403);
  Session admin = Login("admin");  // study administrator
  auto list = Get(admin, users);
  ASSERT_EQ(list->status, 200) << list->body;
  EXPECT_NE(list->body.find("\"coord.701\""), std::string::npos);
  // Only a system administrator creates accounts.
  const std::string account = R"({"id":"cra.2","full_name":"Casey Monitor","password":"a long enough password"})";
  EXPECT_EQ(Post(admin, users, account)->status, 403);
  Session sys = Login("sysadmin");
  auto created = Post(sys, users, account);
  ASSERT_EQ(created->status, 200) << created->body;
  EXPECT_EQ(Post(sys, users, account)->status, 409) << "an id is taken once";
  EXPECT_EQ(Post(sys, users, R"({"id":"x","full_name":"X","password":"short"})")->status, 400);
  // The study administrator grants the new monitor site 708 only.
  EXPECT_EQ(Post(admin, users + "/cra.2/grant", R"({"role":"wizard","site":"708"})")->status, 400);
  EXPECT_EQ(Post(admin, users + "/cra.2/grant", R"({"role":"monitor","site":"999"})")->status, 400);
  EXPECT_EQ(Post(admin, users + "/cra.2/grant", R"({"role":"system_admin","site":"*"})")->status, 403)
      << "a study administrator cannot make a system administrator";
  auto granted = Post(admin, users + "/cra.2/grant", R"({"role":"monitor","site":"708"})");
  ASSERT_EQ(granted->status, 200) << granted->body;
  // Changes made through this server apply at once.
  auto c = Client();
  auto login = c.Post("/api/v1/session", R"({"user":"cra.2","password":"a long enough password"})", "application/json");
  ASSERT_EQ(login->status, 200) << login->body;
  Session cra2{login->get_header_value("Set-Cookie").substr(0, login->get_header_value("Set-Cookie").find(';')), ""};
  EXPECT_EQ(Get(cra2, "/api/v1/studies/CDISCPILOT01/subjects/701-1001")->status, 404);
  EXPECT_EQ(Get(cra2, "/api/v1/studies/CDISCPILOT01/subjects?site=708")->status, 200);
  EXPECT_EQ(Post(admin, users + "/cra.2/revoke", R"({"role":"monitor","site":"708"})")->status, 400)
      << "a revocation needs a reason";
  EXPECT_EQ(Post(admin, users + "/cra.2/revoke", R"({"role":"monitor","site":"708","reason":"left"})")->status, 200);
  EXPECT_EQ(Post(admin, users + "/cra.2/disable", R"({"reason":"left"})")->status, 403);
  EXPECT_EQ(Post(sys, users + "/cra.2/disable", R"({"reason":"left the CRO"})")->status, 200);
  EXPECT_EQ(Post(sys, users + "/cra.2/promote", "{}")->status, 404);
}

TEST_F(ApiTest, ServesTheWebApplicationWithAStrictContentPolicy) {
  std::string web = *dir_ + "/web";
  std::filesystem::create_directories(web + "/assets");
  std::ofstream(web + "/index.html") << "<!doctype html><title>app</title>";
  std::ofstream(web + "/assets/app-1234.js") << "console.log(1)";
  ServerProcess served(*dir_, "--db " + Db() + " --port 0 --web web");
  ASSERT_GT(served.port(), 0);
  httplib::Client c("127.0.0.1", served.port());
  auto index = c.Get("/");
  ASSERT_EQ(index->status, 200);
  EXPECT_EQ(index->body, "<!doctype html><title>app</title>");
  EXPECT_NE(index->get_header_value("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(c.Get("/assets/app-1234.js")->get_header_value("Cache-Control"), "public, max-age=31536000, immutable");
  // The application's own links reload into it; the API's paths do not.
  EXPECT_EQ(c.Get("/studies/CDISCPILOT01/subjects/701-1001")->body, index->body);
  auto api = c.Get("/api/v1/nothing-here");
  EXPECT_EQ(api->status, 404);
  EXPECT_NE(api->body, index->body);
  auto missing = testing_util::RunCommand(*dir_, kBin + " serve --db " + Db() + " --port 0 --web no-such-dir");
  EXPECT_EQ(missing.exit_code, 4) << missing.out << missing.err;  // bad input
  EXPECT_NE(missing.err.find("no-such-dir"), std::string::npos) << missing.err;
}

// Issue 16: a serious AE saved by the site is a safety case at once, in the
// safety physician's inbox with its reporting clocks; other sites' staff do
// not see it.
TEST_F(ApiTest, ASeriousAdverseEventIsInTheSafetyInboxWithItsClocks) {
  Session coord = Login("coord.701");
  auto saved =
      Post(coord, "/api/v1/studies/CDISCPILOT01/commands",
           R"({"op":"form.save","subject":"701-1001","visit":"LOGS","form":"AE","rows":[{"group":"AE","items":)"
           R"({"AETERM":"API SYNCOPE","AESTDTC":"2024-01-15","AEONGO":true,"AESEV":"SEVERE","AESER":"Y",)"
           R"("AESHOSP":true,"AEREL":"POSSIBLE","AEACN":"DRUG INTERRUPTED","AEOUT":"RECOVERING/RESOLVING"}}]})");
  ASSERT_EQ(saved->status, 200) << saved->body;
  EXPECT_NE(saved->body.find("safety case 701-1001-SAE"), std::string::npos) << saved->body;

  Session safety = Login("safety.1");
  auto inbox = Get(safety, "/api/v1/studies/CDISCPILOT01/safety/cases");
  ASSERT_EQ(inbox->status, 200) << inbox->body;
  auto body = ParseJson(inbox->body);
  ASSERT_TRUE(body.ok());
  const Value* mine = nullptr;
  for (const Value& c : body->Find("cases")->as_array()) {
    if (c.Find("term")->as_string() == "API SYNCOPE") mine = &c;
  }
  ASSERT_NE(mine, nullptr) << inbox->body;
  EXPECT_GE(body->Find("open")->as_int(), 1);
  EXPECT_EQ(mine->Find("site")->as_string(), "701");
  EXPECT_EQ(mine->Find("assessment")->Find("status")->as_string(), "pending");
  EXPECT_EQ(mine->Find("stage")->as_string(), "triage");
  EXPECT_EQ(mine->Find("criteria")->as_array().size(), 1u);
  // Hospitalisation, not fatal: 15 days for the FDA and the EU, from today.
  const auto& reports = mine->Find("reports")->as_array();
  ASSERT_EQ(reports.size(), 2u) << inbox->body;
  EXPECT_EQ(reports[0].Find("destination")->as_string(), "FDA");
  EXPECT_EQ(reports[0].Find("rule")->as_string(), "21 CFR 312.32(c)(1)(i)");
  EXPECT_EQ(reports[0].Find("days")->as_int(), 15);
  EXPECT_EQ(reports[1].Find("destination")->as_string(), "EU");
  const int64_t left = mine->Find("days_left")->as_int();
  EXPECT_TRUE(left == 15 || left == 14) << left << " (14 only across a midnight during the test)";

  const std::string id = mine->Find("case")->as_string();
  auto one = Get(safety, "/api/v1/studies/CDISCPILOT01/safety/cases/" + id);
  ASSERT_EQ(one->status, 200) << one->body;
  EXPECT_NE(one->body.find("\"API SYNCOPE\""), std::string::npos);

  // A site that is not the case's: neither listed nor found.
  Session other = Login("pharm.708");
  auto theirs = Get(other, "/api/v1/studies/CDISCPILOT01/safety/cases");
  ASSERT_EQ(theirs->status, 200) << theirs->body;
  EXPECT_EQ(theirs->body.find("API SYNCOPE"), std::string::npos);
  auto hidden = Get(other, "/api/v1/studies/CDISCPILOT01/safety/cases/" + id);
  EXPECT_EQ(hidden->status, 404) << hidden->body;
  EXPECT_EQ(Get(safety, "/api/v1/studies/CDISCPILOT01/safety/cases/701-1001-SAE999")->status, 404);

  auto bad = Get(safety, "/api/v1/studies/CDISCPILOT01/safety/cases?state=shut");
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("may be open, nullification_proposed or closed, not"), std::string::npos) << bad->body;
}

// Issue 16, points 2, 4 and 8: the safety physician takes a case from triage
// to an acknowledged E2B(R3) report over HTTP: commands for each step, the
// coding candidates, the message checked before it is sent, the file as
// sent, and the regulator's acknowledgement; the dashboard shows the clock.
TEST_F(ApiTest, ASafetyCaseGoesFromTriageToAnAcknowledgedReportOverHttp) {
  Session coord = Login("coord.701");
  auto saved =
      Post(coord, "/api/v1/studies/CDISCPILOT01/commands",
           R"({"op":"form.save","subject":"701-1001","visit":"LOGS","form":"AE","rows":[{"group":"AE","items":)"
           R"({"AETERM":"Syncope","AESTDTC":"2024-01-16","AEONGO":true,"AESEV":"SEVERE","AESER":"Y",)"
           R"("AESHOSP":true,"AEREL":"PROBABLE","AEACN":"DRUG INTERRUPTED","AEOUT":"RECOVERING/RESOLVING"}}]})");
  ASSERT_EQ(saved->status, 200) << saved->body;
  auto saved_json = ParseJson(saved->body);
  ASSERT_TRUE(saved_json.ok());
  std::string id;
  for (const Value& m : saved_json->Find("messages")->as_array()) {
    const std::string& text = m.as_string();
    if (size_t at = text.find("safety case 701-1001-SAE"); at != std::string::npos) {
      id = text.substr(at + 12, text.find(' ', at + 12) - at - 12);
    }
  }
  ASSERT_FALSE(id.empty()) << saved->body;
  const std::string study = "/api/v1/studies/CDISCPILOT01", one = study + "/safety/cases/" + id;
  Session safety = Login("safety.1");
  auto step = [&](const std::string& op, const std::string& fields) {
    auto r = Post(safety, study + "/commands",
                  R"({"op":"safety.)" + op + R"(","subject":"701-1001","case":")" + id + "\"" +
                      (fields.empty() ? "" : "," + fields) + "}");
    EXPECT_EQ(r->status, 200) << op << ": " << r->body;
    return r;
  };
  auto stage = [&] { return ParseJson(Get(safety, one)->body)->Find("stage")->as_string(); };

  // The coordinator may not work the case.
  auto refused = Post(coord, study + "/commands",
                      R"({"op":"safety.triage","subject":"701-1001","case":")" + id + R"(","decision":"valid"})");
  EXPECT_EQ(refused->status, 403) << refused->body;
  step("triage", R"("decision":"valid")");
  auto candidates = Get(safety, one + "/coding");
  ASSERT_EQ(candidates->status, 200) << candidates->body;
  auto coding = ParseJson(candidates->body);
  EXPECT_EQ(coding->Find("rule")->as_string(), "exact") << candidates->body;
  EXPECT_EQ(coding->Find("coding")->Find("pt")->Find("name")->as_string(), "Syncope");
  auto search = ParseJson(Get(safety, one + "/coding?term=hedache")->body);
  ASSERT_FALSE(search->Find("candidates")->as_array().empty());
  EXPECT_EQ(search->Find("candidates")->as_array()[0].Find("pt")->Find("name")->as_string(), "Headache");
  step("code", "");
  step("assess", R"("causality":"related","expectedness":"unexpected")");
  EXPECT_EQ(stage(), "approval");
  step("approve", "");
  EXPECT_EQ(stage(), "submission");

  // The message as it would be sent: valid, with FDA's rules met.
  auto preview = Get(safety, one + "/e2b?destination=FDA");
  ASSERT_EQ(preview->status, 200) << preview->body;
  auto checked = ParseJson(preview->body);
  EXPECT_TRUE(checked->Find("valid")->as_bool()) << preview->body;
  EXPECT_NE(checked->Find("xml")->as_string().find("MCCI_IN200100UV01"), std::string::npos);
  step("submit", R"("destination":"FDA")");
  step("submit", R"("destination":"EU")");
  auto detail = ParseJson(Get(safety, one)->body);
  ASSERT_TRUE(detail.ok());
  EXPECT_EQ(detail->Find("stage")->as_string(), "awaiting_ack");
  const auto& sent = detail->Find("submissions")->as_array();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].Find("ack")->as_string(), "awaiting");
  auto file = Get(safety, one + "/submissions/1/file");
  ASSERT_EQ(file->status, 200);
  EXPECT_EQ(file->get_header_value("Content-Type"), "application/xml");
  EXPECT_EQ(ToHex(Sha256(file->body)), sent[0].Find("file_sha256")->as_string());
  EXPECT_EQ(Get(safety, one + "/submissions/9/file")->status, 404);
  bool history_has_submission = false;
  for (const Value& h : detail->Find("history")->as_array()) {
    history_has_submission = history_has_submission || h.Find("type")->as_string() == "safety.case.submitted";
    EXPECT_EQ(h.Find("details")->Find("file"), nullptr) << "the file is fetched on its own";
  }
  EXPECT_TRUE(history_has_submission);

  // The acknowledgements: FDA's example, made to answer each batch.
  auto ack_for = [&](const Value& submission) {
    std::ifstream in(std::string(TRIALCORE_SOURCE_DIR) + "/../shared/data/e2b/examples/R3ack-positive.ack");
    std::stringstream text;
    text << in.rdbuf();
    std::string xml = text.str();
    auto put = [&](const std::string& element, const std::string& value) {
      const size_t ext = xml.find("extension=\"", xml.find("<" + element + ">")) + 11;
      xml.replace(ext, xml.find('"', ext) - ext, value);
    };
    put("targetBatch", submission.Find("batch_number")->as_string());
    put("targetMessage", submission.Find("message_id")->as_string());
    return xml;
  };
  auto xml_post = [&](const std::string& body) {
    auto c = Client();
    return c.Post((study + "/safety/acks").c_str(),
                  httplib::Headers{{"Cookie", safety.cookie}, {"X-CSRF-Token", safety.csrf}}, body, "application/xml");
  };
  auto bad_ack = xml_post("<MCCI_IN200101UV01");
  EXPECT_EQ(bad_ack->status, 400) << bad_ack->body;
  for (const Value& submission : sent) {
    auto acked = xml_post(ack_for(submission));
    ASSERT_EQ(acked->status, 200) << acked->body;
    EXPECT_NE(acked->body.find("\"accepted\""), std::string::npos) << acked->body;
  }
  EXPECT_EQ(stage(), "complete");
  auto again = xml_post(ack_for(sent[0]));
  EXPECT_EQ(again->status, 409) << again->body;

  // The line listing and the DSUR tabulation.
  auto listing = Get(safety, study + "/safety/cases?format=csv");
  ASSERT_EQ(listing->status, 200);
  EXPECT_NE(listing->body.find("case,subject,site,verbatim"), std::string::npos) << listing->body;
  EXPECT_NE(listing->body.find(id + ",701-1001,701,Syncope,"), std::string::npos) << listing->body;
  auto tabulation = ParseJson(Get(safety, study + "/safety/tabulation")->body);
  ASSERT_TRUE(tabulation.ok());
  bool syncope = false;
  for (const Value& row : tabulation->Find("rows")->as_array()) {
    if (row.Find("pt")->as_string() == "Syncope") {
      syncope = true;
      EXPECT_GE(row.Find("serious_adverse_reactions")->as_int(), 1);
      EXPECT_GE(row.Find("unexpected")->as_int(), 1);
    }
  }
  EXPECT_TRUE(syncope);

  // The dashboard carries the safety figures.
  auto dashboard = ParseJson(Get(safety, study + "/dashboard")->body);
  ASSERT_TRUE(dashboard.ok());
  ASSERT_NE(dashboard->Find("safety"), nullptr);
  EXPECT_NE(dashboard->Find("safety")->Find("open"), nullptr);
}

TEST_F(ApiTest, ASpontaneousReportIsEnteredAsACaseThatOnlyTheSponsorsRolesSee) {
  const std::string study = "/api/v1/studies/CDISCPILOT01";
  Session safety = Login("safety.1");
  const std::string report =
      R"({"op":"safety.receive","source":"spontaneous","received":"2024-01-20",)"
      R"("reporter":{"qualification":"pharmacist","country":"US"},"patient":{"sex":"M","age":"71"},)"
      R"("event":{"term":"Syncope","onset":"2024-01-18","outcome":"RECOVERED","criteria":["hospitalisation"]}})";
  Session coord = Login("coord.701");
  EXPECT_EQ(Post(coord, study + "/commands", report)->status, 403) << "a site does not enter safety cases";
  auto bad = Post(safety, study + "/commands",
                  R"({"op":"safety.receive","source":"spontaneous","received":"2024-01-20","event":{"term":"X"}})");
  EXPECT_EQ(bad->status, 400) << bad->body;
  EXPECT_NE(bad->body.find("qualification"), std::string::npos) << bad->body;
  auto entered = Post(safety, study + "/commands", report);
  ASSERT_EQ(entered->status, 200) << entered->body;
  EXPECT_EQ(ParseJson(entered->body)->Find("result")->Find("case")->as_string(), "DC-1");

  auto detail = Get(safety, study + "/safety/cases/DC-1");
  ASSERT_EQ(detail->status, 200) << detail->body;
  auto json = ParseJson(detail->body);
  EXPECT_EQ(json->Find("stage")->as_string(), "triage");
  EXPECT_EQ(json->Find("received")->Find("source")->as_string(), "spontaneous");
  EXPECT_EQ(json->Find("received")->Find("facts")->Find("patient")->Find("age")->as_string(), "71");
  EXPECT_FALSE(json->Find("history")->as_array().empty());
  auto listed = Get(safety, study + "/safety/cases");
  EXPECT_NE(listed->body.find("\"DC-1\""), std::string::npos) << listed->body;
  auto preview = Get(safety, study + "/safety/cases/DC-1/e2b?destination=EU");
  ASSERT_EQ(preview->status, 200) << preview->body;
  EXPECT_NE(ParseJson(preview->body)->Find("xml")->as_string().find("MCCI_IN200100UV01"), std::string::npos);

  // A direct case belongs to no site: a site's roles do not know of it.
  EXPECT_EQ(Get(coord, study + "/safety/cases/DC-1")->status, 404);
  EXPECT_EQ(Get(coord, study + "/safety/cases")->body.find("DC-1"), std::string::npos);
  auto triaged = Post(safety, study + "/commands", R"({"op":"safety.triage","case":"DC-1","decision":"valid"})");
  EXPECT_EQ(triaged->status, 200) << triaged->body;
  EXPECT_EQ(ParseJson(Get(safety, study + "/safety/cases/DC-1")->body)->Find("stage")->as_string(), "medical_review");
}

TEST_F(ApiTest, E2bReportsAreImportedFromTheirFileAsCasesOnlyBySafety) {
  const std::string study = "/api/v1/studies/CDISCPILOT01";
  const std::string examples = std::string(TRIALCORE_SOURCE_DIR) + "/../shared/data/e2b/examples/";
  auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  const std::string first = slurp(examples + "FAERS2022Scenario1.xml");
  const std::string newer = slurp(examples + "FAERS2022Scenario3.xml");
  ASSERT_FALSE(first.empty());
  auto post = [&](const Session& who, const std::string& query, const std::string& body,
                  const std::string& type = "application/xml") {
    auto c = Client();
    return c.Post((study + "/safety/imports" + query).c_str(),
                  httplib::Headers{{"Cookie", who.cookie}, {"X-CSRF-Token", who.csrf}}, body, type);
  };
  Session safety = Login("safety.1");
  Session coord = Login("coord.701");
  Session dm = Login("dm.1");
  auto listed = [&] { return Get(safety, study + "/safety/cases")->body; };
  auto counted = [&](const Session& who) -> int64_t {
    auto signals = ParseJson(Get(who, study + "/safety/signals")->body);
    EXPECT_TRUE(signals.ok());
    if (!signals.ok()) return -1;
    EXPECT_EQ(signals->Find("rows")->kind(), Value::Kind::kArray);
    return signals->Find("cases")->as_int() + signals->Find("not_coded")->as_int();
  };
  const int64_t safety_before = counted(safety), coord_before = counted(coord);

  EXPECT_EQ(post(coord, "?file=s1.xml", first)->status, 403) << "a site does not import safety cases";
  EXPECT_EQ(post(dm, "?file=s1.xml", first)->status, 403) << "nor does data management";
  EXPECT_EQ(post(safety, "?file=s1.xml", first, "text/plain")->status, 415);
  for (const char* name : {"../s1.xml", "s1%09.xml", "s%FF1.xml", ""}) {
    auto refused = post(safety, std::string("?file=") + name, first);
    EXPECT_EQ(refused->status, 400) << name << ": " << refused->body;
  }
  std::string broken = first;
  broken.resize(broken.size() / 2);
  auto bad = post(safety, "?file=broken.xml", broken);
  EXPECT_EQ(bad->status, 400) << bad->body;
  EXPECT_NE(bad->body.find("broken.xml"), std::string::npos) << "the error names the file: " << bad->body;
  EXPECT_EQ(listed().find("\"DC-"), std::string::npos) << "nothing was stored: " << listed();

  auto imported = post(safety, "?file=s1.xml", first);
  ASSERT_EQ(imported->status, 200) << imported->body;
  auto json = ParseJson(imported->body);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(json->Find("file")->as_string(), "s1.xml");
  ASSERT_EQ(json->Find("cases")->as_array().size(), 1u);
  const std::string id = json->Find("cases")->as_array()[0].as_string();
  EXPECT_EQ(id, "DC-1");
  auto detail = ParseJson(Get(safety, study + "/safety/cases/" + id)->body);
  EXPECT_EQ(detail->Find("received")->Find("source")->as_string(), "e2b");
  EXPECT_EQ(detail->Find("stage")->as_string(), "triage");
  EXPECT_EQ(Get(coord, study + "/safety/cases/" + id)->status, 404) << "a direct case belongs to no site";

  auto twice = post(safety, "?file=s1.xml", first);
  EXPECT_EQ(twice->status, 409) << twice->body;
  auto followup = post(safety, "?file=s3.xml", newer);
  ASSERT_EQ(followup->status, 200) << followup->body;
  EXPECT_EQ(ParseJson(followup->body)->Find("cases")->as_array()[0].as_string(), id)
      << "a newer report of the same case is its follow-up";
  EXPECT_EQ(listed().find("\"DC-2\""), std::string::npos) << listed();

  // Signal detection counts the cases the caller sees: the imported case is
  // the safety team's, not a site's (counted, or left out as not coded).
  EXPECT_EQ(counted(safety), safety_before + 1);
  EXPECT_EQ(counted(coord), coord_before);
  auto csv = Get(safety, study + "/safety/signals?format=csv");
  ASSERT_EQ(csv->status, 200);
  EXPECT_TRUE(csv->body.starts_with("product,event,n,expected,prr,")) << csv->body;
}

TEST_F(ApiTest, StopsCleanlyOnSigterm) {
  ServerProcess extra(*dir_, "--db " + Db() + " --port 0");
  ASSERT_GT(extra.port(), 0);
  EXPECT_EQ(extra.Stop(), 0);
}

TEST_F(ApiTest, StopsOnCtrlCAlsoWhenStartedInTheBackground) {
  // A shell starts background jobs with SIGINT ignored.
  ServerProcess background(*dir_, "--db " + Db() + " --port 0", "trap '' INT");
  ASSERT_GT(background.port(), 0);
  EXPECT_EQ(background.Stop(SIGINT), 0);
}

// Issue 14, part 4: two `trialcore serve` processes on one database, as
// behind a load balancer. A login through one is used through the other with
// the same cookie and CSRF token; a logout through the second ends it on the
// first.
TEST(StatelessServeTest, ALoginThroughOneServeProcessIsUsedThroughAnotherOfTheSameDatabase) {
  const std::string dir =
      (std::filesystem::path(testing::TempDir()) / ("stateless_serve_" + std::to_string(getpid()))).string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto demo = testing_util::RunCommand(dir, kBin + " demo --db demo.db --key key.pem --no-serve");
  ASSERT_EQ(demo.exit_code, 0) << demo.err;
  ServerProcess a(dir, "--db demo.db --port 0 --login-rate 1000");
  ASSERT_GT(a.port(), 0) << testing_util::Slurp(dir + "/serve.log");
  std::filesystem::rename(dir + "/serve.log", dir + "/serve_a.log");
  ServerProcess b(dir, "--db demo.db --port 0 --login-rate 1000");
  ASSERT_GT(b.port(), 0) << testing_util::Slurp(dir + "/serve.log");
  ASSERT_NE(a.port(), b.port());
  auto client = [](const ServerProcess& p) {
    httplib::Client c("127.0.0.1", p.port());
    c.set_read_timeout(10, 0);
    return c;
  };

  auto login = client(a).Post(
      "/api/v1/session", R"({"user":"coord.701","password":")" + std::string(kPassword) + R"("})", "application/json");
  ASSERT_TRUE(login);
  ASSERT_EQ(login->status, 200) << login->body;
  const std::string set_cookie = login->get_header_value("Set-Cookie");
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  const std::string csrf = ParseJson(login->body)->Find("csrf_token")->as_string();

  auto me = client(b).Get("/api/v1/session", httplib::Headers{{"Cookie", cookie}});
  ASSERT_TRUE(me);
  EXPECT_EQ(me->status, 200) << "A's cookie on B: " << me->body;
  EXPECT_EQ(ParseJson(me->body)->Find("csrf_token")->as_string(), csrf);
  auto screened = client(b).Post("/api/v1/studies/CDISCPILOT01/commands",
                                 httplib::Headers{{"Cookie", cookie}, {"X-CSRF-Token", csrf}},
                                 R"({"op":"subject.screen","subject":"701-9901","site":"701"})", "application/json");
  ASSERT_TRUE(screened);
  EXPECT_EQ(screened->status, 200) << "a change through B with A's CSRF token: " << screened->body;
  auto seen = client(a).Get("/api/v1/studies/CDISCPILOT01/subjects/701-9901", httplib::Headers{{"Cookie", cookie}});
  EXPECT_EQ(seen->status, 200) << "B's change read through A: " << seen->body;

  auto out = client(b).Delete("/api/v1/session", httplib::Headers{{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 200) << out->body;
  auto after = client(a).Get("/api/v1/session", httplib::Headers{{"Cookie", cookie}});
  EXPECT_EQ(after->status, 401) << "logged out through B, refused by A";
  a.Stop();
  b.Stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace trialcore
