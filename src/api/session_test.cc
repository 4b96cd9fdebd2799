// The HTTP server in process, on the test Env's clock: who may grant what,
// event streams that end with the session or the access, logins and
// signatures under one lockout, failed logins that all look alike, and the
// smaller limits on what a request may ask (issue 12).
#include <gtest/gtest.h>
#include <httplib.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "api/server.h"
#include "api/users.h"
#include "capture/capture.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/test_env.h"
#include "store/test_store.h"
#include "study/study.h"

namespace trialcore::api {
namespace {

constexpr char kStudy[] = "CDISCPILOT01";
const std::string kPassword = "correct horse battery";
const std::string kS = "/api/v1/studies/CDISCPILOT01";
constexpr int64_t kMinute = 60'000'000;

struct Login {
  std::string cookie;
  std::string csrf;
};

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOpenOptions so;
    so.env = &env_;
    store_ = std::move(testing_util::OpenTestStore("/mem/session.db", so).value());
    std::vector<study::StudyError> errors;
    auto definition = study::LoadStudyFile(std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml", &errors);
    ASSERT_TRUE(definition.ok()) << definition.status().ToString();
    auto capture = std::move(capture::Capture::Open(store_.get(), &env_, kStudy).value());
    ASSERT_TRUE(capture->PublishStudy(*definition, Actor{"setup", "study_admin"}).ok());
    auto users = std::move(UserDirectory::Open(store_.get(), &env_).value());
    const Actor setup{"setup", "system_admin"};
    struct {
      const char* id;
      const char* role;
      const char* site;
    } accounts[] = {{"sysadmin", "system_admin", "*"},   {"admin", "study_admin", "*"},
                    {"coord.701", "coordinator", "701"}, {"inv.701", "investigator", "701"},
                    {"cra.1", "monitor", "*"},           {"pharm.701", "unblinded_pharmacist", "701"},
                    {"dm.1", "data_manager", "*"}};
    for (const auto& a : accounts) {
      ASSERT_TRUE(users->Add(a.id, std::string("Full name of ") + a.id, kPassword, setup).ok());
      ASSERT_TRUE(users->AddGrant(a.id, Grant{kStudy, a.role, a.site}, "", setup).ok());
    }
    ServerOptions o;
    o.port = 0;
    o.session_idle_us = 15 * kMinute;
    o.session_max_us = 20 * kMinute;
    o.login_attempts_per_minute = 1000;
    server_ = std::move(Server::Create(store_.get(), &env_, o).value());
    ASSERT_TRUE(server_->Listen().ok());
    thread_ = std::thread([this] { (void)server_->Run(); });
  }

  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  httplib::Client Client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(20, 0);
    return c;
  }

  httplib::Result PostLogin(const std::string& user, const std::string& password) {
    return Client().Post("/api/v1/session", ToJson(Value::Object{{"user", user}, {"password", password}}),
                         "application/json");
  }

  Login LogIn(const std::string& user) {
    auto r = PostLogin(user, kPassword);
    EXPECT_TRUE(r && r->status == 200) << user << ": " << (r ? r->body : "no answer");
    if (!r || r->status != 200) return {};
    std::string cookie = r->get_header_value("Set-Cookie");
    return Login{cookie.substr(0, cookie.find(';')), ParseJson(r->body)->Find("csrf_token")->as_string()};
  }

  httplib::Result Get(const Login& s, const std::string& path, httplib::Headers extra = {}) {
    extra.emplace("Cookie", s.cookie);
    return Client().Get(path.c_str(), extra);
  }

  httplib::Result Post(const Login& s, const std::string& path, const std::string& body,
                       const std::string& type = "application/json") {
    return Client().Post(path.c_str(), httplib::Headers{{"Cookie", s.cookie}, {"X-CSRF-Token", s.csrf}}, body,
                         type.c_str());
  }

  httplib::Result Screen(const Login& coord, const std::string& subject) {
    return Post(coord, kS + "/commands", R"({"op":"subject.screen","subject":")" + subject + R"(","site":"701"})");
  }

  // Events of the system log of a type, in order.
  std::vector<Event> SystemEvents(const std::string& type) {
    std::vector<Event> out;
    EventFilter f;
    f.study = kSystemStudy;
    EXPECT_TRUE(store_
                    ->ForEachEvent(f,
                                   [&](const Event& e) {
                                     if (e.type == type) out.push_back(e);
                                     return Status::Ok();
                                   })
                    .ok());
    return out;
  }

  // An event stream read on its own thread until the server ends it.
  class Stream {
   public:
    Stream(SessionTest* t, const httplib::Headers& headers) {
      thread_ = std::thread([this, t, headers] {
        auto c = t->Client();
        auto r = c.Get((kS + "/events").c_str(), headers, [&](const char* data, size_t len) {
          std::lock_guard lock(mu_);
          text_.append(data, len);
          cv_.notify_all();
          return true;
        });
        std::lock_guard lock(mu_);
        ended_cleanly_ = r && r->status == 200;
        finished_ = true;
        cv_.notify_all();
      });
    }
    ~Stream() {
      if (thread_.joinable()) thread_.join();
    }
    // Whether the stream has carried this text, waiting for it a while (a
    // bound for polling, not a timing that is asserted).
    bool Carried(const std::string& text, std::chrono::milliseconds wait) {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, wait, [&] { return text_.find(text) != std::string::npos || finished_; });
      return text_.find(text) != std::string::npos;
    }
    // Waits for the server to end the stream; true when it ended it (the
    // reply complete), false when the client gave up reading.
    bool Ended() {
      thread_.join();
      std::lock_guard lock(mu_);
      return ended_cleanly_;
    }
    std::string text() {
      std::lock_guard lock(mu_);
      return text_;
    }

   private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::string text_;
    bool finished_ = false;
    bool ended_cleanly_ = false;
    std::thread thread_;
  };

  // Opens cra.1's stream, sees it carry a change, runs `end`, and checks
  // that the stream ended and did not carry the change made after.
  // With `bearer`, the stream is opened with that token instead of cra.1's session.
  void ExpectStreamEndsWhen(const std::function<void(const Login& cra)>& end, const std::string& bearer = "") {
    Login cra = LogIn("cra.1");
    Login coord = LogIn("coord.701");
    Stream stream(this, bearer.empty() ? httplib::Headers{{"Cookie", cra.cookie}}
                                       : httplib::Headers{{"Authorization", "Bearer " + bearer}});
    // Changes until the stream carries one: then it is open.
    bool open = false;
    for (int i = 0; i < 100 && !open; ++i) {
      ASSERT_EQ(Screen(coord, "701-8" + std::to_string(100 + i))->status, 200);
      open = stream.Carried("subject/701-8", std::chrono::milliseconds(200));
    }
    ASSERT_TRUE(open) << stream.text();
    end(cra);
    Login again = LogIn("coord.701");  // the coordinator's own session may have ended too
    ASSERT_EQ(Screen(again, "701-9999")->status, 200);
    EXPECT_TRUE(stream.Ended()) << "the stream stayed open: " << stream.text();
    EXPECT_EQ(stream.text().find("subject/701-9999"), std::string::npos) << stream.text();
  }

  MemEnv env_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

// Points 5 and 7: a blinded stream carries no sequence number, whose gaps
// would count hidden events; its ids are sealed positions, and resuming after
// one delivers what came after it.
TEST_F(SessionTest, ABlindedEventStreamCarriesNoSequenceNumbersAndResumesFromItsSealedIds) {
  Login cra = LogIn("cra.1");
  Login coord = LogIn("coord.701");
  std::string id;
  {
    Stream stream(this, httplib::Headers{{"Cookie", cra.cookie}});
    bool open = false;
    for (int i = 0; i < 100 && !open; ++i) {
      ASSERT_EQ(Screen(coord, "701-7" + std::to_string(100 + i))->status, 200);
      open = stream.Carried("subject/701-7", std::chrono::milliseconds(200));
    }
    ASSERT_TRUE(open) << stream.text();
    const std::string text = stream.text();
    EXPECT_EQ(text.find("\"seq\""), std::string::npos) << text;
    size_t at = text.rfind("id: ");
    ASSERT_NE(at, std::string::npos) << text;
    id = text.substr(at + 4, text.find('\n', at) - at - 4);
    EXPECT_EQ(id.size(), 96u) << id;
    Client().Delete("/api/v1/session", httplib::Headers{{"Cookie", cra.cookie}, {"X-CSRF-Token", cra.csrf}});
    ASSERT_TRUE(stream.Ended());
  }
  // Changed while no stream was open: a stream resumed after the id carries it.
  ASSERT_EQ(Screen(coord, "701-7999")->status, 200);
  Login again = LogIn("cra.1");
  Stream resumed(this, httplib::Headers{{"Cookie", again.cookie}, {"Last-Event-ID", id}});
  EXPECT_TRUE(resumed.Carried("subject/701-7999", std::chrono::seconds(10))) << resumed.text();
  Client().Delete("/api/v1/session", httplib::Headers{{"Cookie", again.cookie}, {"X-CSRF-Token", again.csrf}});
  EXPECT_TRUE(resumed.Ended());
  // Nor do command replies and the audit trail give blinded roles sequence numbers.
  auto reply = Screen(coord, "701-7998");
  ASSERT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body.find("\"seq\""), std::string::npos) << reply->body;
  auto audit = Get(coord, kS + "/subjects/701-7998/audit");
  ASSERT_EQ(audit->status, 200);
  EXPECT_EQ(audit->body.find("\"seq\""), std::string::npos) << audit->body;
  // The unblinded pharmacist, who sees every event, still reads them.
  Login pharm = LogIn("pharm.701");
  auto theirs = Get(pharm, kS + "/subjects/701-7998/audit");
  ASSERT_EQ(theirs->status, 200);
  EXPECT_NE(theirs->body.find("\"seq\""), std::string::npos) << theirs->body;
}

// Point 7: an open stream ends with the session or the access that opened it.
TEST_F(SessionTest, EventStreamEndsAtLogout) {
  ExpectStreamEndsWhen([&](const Login& cra) {
    auto out = Client().Delete("/api/v1/session", httplib::Headers{{"Cookie", cra.cookie}, {"X-CSRF-Token", cra.csrf}});
    ASSERT_EQ(out->status, 200);
  });
}

TEST_F(SessionTest, EventStreamEndsWhenTheSessionIdlesOut) {
  ExpectStreamEndsWhen([&](const Login&) { env_.AdvanceMicros(16 * kMinute); });
}

TEST_F(SessionTest, EventStreamEndsAtTheSessionsAbsoluteLifetime) {
  ExpectStreamEndsWhen([&](const Login& cra) {
    env_.AdvanceMicros(10 * kMinute);
    ASSERT_EQ(Get(cra, "/api/v1/session")->status, 200);  // active: not idle
    env_.AdvanceMicros(11 * kMinute);                     // 21 minutes in all, of 20
  });
}

TEST_F(SessionTest, EventStreamEndsWhenTheAccountIsDisabled) {
  ExpectStreamEndsWhen([&](const Login&) {
    Login sys = LogIn("sysadmin");
    auto r = Post(sys, kS + "/users/cra.1/disable", R"({"reason":"left the CRO"})");
    ASSERT_EQ(r->status, 200) << r->body;
  });
}

TEST_F(SessionTest, EventStreamEndsWhenTheGrantIsRevoked) {
  ExpectStreamEndsWhen([&](const Login&) {
    Login admin = LogIn("admin");
    auto r = Post(admin, kS + "/users/cra.1/revoke", R"({"role":"monitor","site":"*","reason":"reassigned"})");
    ASSERT_EQ(r->status, 200) << r->body;
  });
}

TEST_F(SessionTest, EventStreamOnATokenEndsWhenTheTokenIsRevoked) {
  // Account changes made elsewhere (trialcore user) reach the server as the store announces them
  // (and within a second of its clock at the latest).
  auto users = std::move(UserDirectory::Open(store_.get(), &env_).value());
  const Actor sys{"sysadmin", "system_admin"};
  auto token = users->IssueToken("cra.1", Grant{kStudy, "monitor", "*"}, sys);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  env_.AdvanceMicros(2'000'000);
  ExpectStreamEndsWhen(
      [&](const Login&) {
        ASSERT_TRUE(users->RevokeToken("cra.1", ToHex(Sha256(*token)).substr(0, 12), "integration retired", sys).ok());
        env_.AdvanceMicros(2'000'000);
      },
      *token);
}

// Point 6: no one grants themselves anything; unblinded roles need a system
// administrator.
TEST_F(SessionTest, AStudyAdministratorCannotGrantThemselvesNorAnUnblindedRole) {
  Login admin = LogIn("admin");
  auto self = Post(admin, kS + "/users/admin/grant", R"({"role":"unblinded_pharmacist","site":"*"})");
  EXPECT_EQ(self->status, 403) << self->body;
  EXPECT_NE(self->body.find("no one grants or revokes their own roles"), std::string::npos) << self->body;
  EXPECT_EQ(Post(admin, kS + "/users/admin/grant", R"({"role":"monitor","site":"*"})")->status, 403)
      << "not even a blinded role";
  auto unblinded = Post(admin, kS + "/users/cra.1/grant", R"({"role":"unblinded_pharmacist","site":"701"})");
  EXPECT_EQ(unblinded->status, 403) << unblinded->body;
  EXPECT_NE(unblinded->body.find("only a system administrator grants or revokes unblinded_pharmacist"),
            std::string::npos)
      << unblinded->body;
  EXPECT_EQ(Post(admin, kS + "/users/pharm.701/revoke", R"({"role":"unblinded_pharmacist","site":"701","reason":"x"})")
                ->status,
            403);
  // The study's arms stay hidden from the study administrator.
  EXPECT_EQ(Get(admin, kS)->body.find("Xanomeline High Dose"), std::string::npos);
  // A system administrator grants the unblinded role to someone else, but not to themselves.
  Login sys = LogIn("sysadmin");
  EXPECT_EQ(Post(sys, kS + "/users/cra.1/grant", R"({"role":"unblinded_pharmacist","site":"701"})")->status, 200);
  EXPECT_EQ(Post(sys, kS + "/users/sysadmin/grant", R"({"role":"unblinded_pharmacist","site":"701"})")->status, 403);
  EXPECT_EQ(Post(sys, kS + "/users/sysadmin/revoke", R"({"role":"system_admin","site":"*","reason":"x"})")->status,
            403);
  // A study administrator still grants blinded roles to others.
  EXPECT_EQ(Post(admin, kS + "/users/coord.701/grant", R"({"role":"coordinator","site":"708"})")->status, 200);
}

// Point 10.
TEST_F(SessionTest, ARevokedRoleCanBeGrantedAgainWithAReason) {
  Login admin = LogIn("admin");
  const std::string users = kS + "/users/coord.701";
  ASSERT_EQ(Post(admin, users + "/revoke", R"({"role":"coordinator","site":"701","reason":"on leave"})")->status, 200);
  auto without = Post(admin, users + "/grant", R"({"role":"coordinator","site":"701"})");
  EXPECT_EQ(without->status, 400) << without->body;
  EXPECT_NE(without->body.find("again, after it was revoked, needs a reason"), std::string::npos) << without->body;
  auto with = Post(admin, users + "/grant", R"({"role":"coordinator","site":"701","reason":"back from leave"})");
  ASSERT_EQ(with->status, 200) << with->body;
  EXPECT_EQ(Get(LogIn("coord.701"), kS + "/subjects")->status, 200);
  auto granted = SystemEvents("role.granted");
  ASSERT_FALSE(granted.empty());
  EXPECT_EQ(granted.back().reason, "back from leave");
}

// Point 8: the signing password is under the login's lockout.
TEST_F(SessionTest, SigningPasswordsShareTheLoginsLockout) {
  Login coord = LogIn("coord.701");
  ASSERT_EQ(Screen(coord, "701-7001")->status, 200);
  Login inv = LogIn("inv.701");
  auto sign = [&](const std::string& password) {
    return Post(inv, kS + "/commands",
                ToJson(Value::Object{{"op", "sign"},
                                     {"subject", "701-7001"},
                                     {"meaning", "approval"},
                                     {"user", "inv.701"},
                                     {"password", password}}));
  };
  std::string first_answer;
  for (int i = 0; i < 5; ++i) {
    auto wrong = sign("wrong password!!");
    ASSERT_EQ(wrong->status, 403) << wrong->body;
    if (i == 0) first_answer = wrong->body;
    EXPECT_EQ(wrong->body, first_answer) << "the same answer each time";
  }
  // Locked now: the right password is refused at signing and at login alike.
  auto locked = sign(kPassword);
  EXPECT_EQ(locked->status, 403) << locked->body;
  EXPECT_EQ(ParseJson(locked->body)->Find("message")->as_string(), kLoginFailed);
  auto login = PostLogin("inv.701", kPassword);
  EXPECT_EQ(login->status, 401);
  EXPECT_EQ(ParseJson(login->body)->Find("message")->as_string(), kLoginFailed);
  // Every failure is recorded; the lock lifts after a minute.
  int failures = 0;
  for (const Event& e : SystemEvents("user.login_failed")) failures += e.stream == "user/inv.701";
  EXPECT_EQ(failures, 7);
  env_.AdvanceMicros(kMinute + 1'000'000);
  Login again = LogIn("inv.701");
  auto signed_now = Post(again, kS + "/commands",
                         ToJson(Value::Object{{"op", "sign"},
                                              {"subject", "701-7001"},
                                              {"meaning", "approval"},
                                              {"user", "inv.701"},
                                              {"password", kPassword}}));
  EXPECT_EQ(signed_now->status, 200) << signed_now->body;
}

// Point 9: an unknown id, a wrong password, a locked and a disabled account
// get the same bytes back, and every attempt is recorded (the same durable
// write in each case).
TEST_F(SessionTest, FailedLoginsAnswerAlikeWhateverTheCauseAndAreAllRecorded) {
  Login sys = LogIn("sysadmin");
  ASSERT_EQ(Post(sys, kS + "/users/cra.1/disable", R"({"reason":"left"})")->status, 200);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(PostLogin("inv.701", "wrong password!!")->status, 401);
  size_t before = SystemEvents("user.login_failed").size();
  auto unknown = PostLogin("nobody.at.all", kPassword);
  auto wrong = PostLogin("coord.701", "wrong password!!");
  auto locked = PostLogin("inv.701", kPassword);
  auto disabled = PostLogin("cra.1", kPassword);
  for (const auto* r : {&unknown, &wrong, &locked, &disabled}) {
    ASSERT_TRUE(*r);
    EXPECT_EQ((*r)->status, 401);
    EXPECT_EQ((*r)->body, unknown->body);
  }
  auto failed = SystemEvents("user.login_failed");
  ASSERT_EQ(failed.size(), before + 4);
  std::vector<std::string> why;
  for (size_t i = before; i < failed.size(); ++i) why.push_back(failed[i].payload.Find("why")->as_string());
  EXPECT_EQ(why, (std::vector<std::string>{"unknown user", "password", "locked", "disabled"}));
  EXPECT_EQ(failed[before].stream, "logins/unknown");
  // Not what was typed (it may be a password), but its digest.
  EXPECT_EQ(failed[before].actor.user, UnknownIdDigest("nobody.at.all"));
  EXPECT_EQ(failed[before].actor.user.find("nobody"), std::string::npos);
}

// Point 12.
TEST_F(SessionTest, NegativeOrNonNumericPagingIsRefusedNamingTheParameter) {
  Login cra = LogIn("cra.1");
  for (std::string query : {"offset=-1", "offset=abc", "limit=-5", "limit=1e3", "offset=12abc", "limit=0", "offset="}) {
    auto r = Get(cra, kS + "/subjects?" + query);
    EXPECT_EQ(r->status, 400) << query << ": " << r->body;
    EXPECT_NE(r->body.find(query.substr(0, query.find('=')) + " must be a whole number"), std::string::npos) << r->body;
    EXPECT_EQ(Get(cra, kS + "/queries?" + query)->status, 400) << query;
  }
  EXPECT_EQ(Get(cra, kS + "/subjects?offset=0&limit=5")->status, 200);
}

// Routes match their templates segment by segment: a parameter is one
// segment, never empty; literal segments match only themselves (the dot of
// openapi.json is no wildcard).
TEST_F(SessionTest, RoutesMatchTheirTemplatesSegmentBySegment) {
  Login cra = LogIn("cra.1");
  EXPECT_EQ(Get(cra, kS + "/subjects")->status, 200);
  EXPECT_EQ(Get(cra, kS + "/dashboard")->status, 200);
  EXPECT_EQ(Get(cra, "/api/openapi.json")->status, 200);
  EXPECT_EQ(Get(cra, "/api/openapiXjson")->status, 404);
  EXPECT_EQ(Get(cra, kS + "/subjects/extra/segments/here/too/many")->status, 404);
  EXPECT_EQ(Get(cra, "/api/v1/studies//subjects")->status, 404);
  EXPECT_EQ(Get(cra, kS + "/dashboard/")->status, 404);
}

TEST_F(SessionTest, ManyByteRangesInOneRequestAreRefused) {
  Login cra = LogIn("cra.1");
  std::string ranges = "bytes=0-0";
  for (int i = 1; i < 1000; ++i) ranges += ",0-0";
  auto many = Get(cra, kS, {{"Range", ranges}});
  EXPECT_EQ(many->status, 416);
  EXPECT_LT(many->body.size(), 200u) << "the answer does not grow with the ranges";
  EXPECT_EQ(Get(cra, kS, {{"Range", "bytes=0-0,2-3"}})->status, 416);
  // One range on the API is ignored: its replies are whole JSON documents.
  auto one = Get(cra, kS, {{"Range", "bytes=0-0"}});
  EXPECT_EQ(one->status, 200);
  EXPECT_TRUE(ParseJson(one->body).ok()) << one->body.substr(0, 100);
}

TEST_F(SessionTest, RequestBodiesThatAreNotJsonAreRefused) {
  const std::string login = ToJson(Value::Object{{"user", "cra.1"}, {"password", kPassword}});
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"}) {
    auto r = Client().Post("/api/v1/session", login, type);
    EXPECT_EQ(r->status, 415) << type << ": " << r->body;
  }
  EXPECT_EQ(Client().Post("/api/v1/session", login, "application/json; charset=utf-8")->status, 200);
  Login cra = LogIn("cra.1");
  auto query = Post(cra, kS + "/subjects/701-1001/queries", R"({"visit":"SCREENING1"})", "text/plain");
  EXPECT_EQ(query->status, 415) << query->body;
}

TEST_F(SessionTest, ErrorMessagesQuoteOnlyAShortPrefixOfTheInput) {
  Login cra = LogIn("cra.1");
  const std::string huge(100'000, 'x');
  struct Case {
    std::string method, path, body;
  } cases[] = {
      {"PATCH", kS + "/subjects/701-1001/visits/SCREENING1/forms/DM/items/RACE", R"({"value":1,")" + huge + R"(":1})"},
      {"POST", kS + "/commands", R"({"op":")" + huge + R"("})"},
      {"POST", kS + "/commands", R"({"op":"form.save","subject":")" + huge + R"(","items":{}})"},
      {"POST", kS + "/commands", "[\"" + huge},
  };
  httplib::Headers h{{"Cookie", cra.cookie}, {"X-CSRF-Token", cra.csrf}};
  for (const Case& c : cases) {
    auto r = c.method == "PATCH" ? Client().Patch(c.path.c_str(), h, c.body, "application/json")
                                 : Client().Post(c.path.c_str(), h, c.body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_GE(r->status, 400);
    EXPECT_LT(r->body.size(), 1200u) << r->body.substr(0, 300);
    EXPECT_NE(r->body.find("xxxx…"), std::string::npos) << r->body.substr(0, 300);
  }
}

TEST_F(SessionTest, ReadingACasebookAsItStoodIsAudited) {
  Login coord = LogIn("coord.701");
  ASSERT_EQ(Screen(coord, "701-6001")->status, 200);
  env_.AdvanceMicros(kMinute);
  auto then = Get(coord, kS + "/subjects/701-6001?as_of=" + FormatTimeMicros(env_.NowMicros()));
  ASSERT_EQ(then->status, 200) << then->body;
  auto viewed = SystemEvents("audit.viewed");
  ASSERT_EQ(viewed.size(), 1u);
  EXPECT_EQ(viewed[0].actor.user, "coord.701");
  EXPECT_EQ(viewed[0].payload.Find("subject")->as_string(), "701-6001");
  EXPECT_EQ(viewed[0].payload.Find("as_of")->as_string(), FormatTimeMicros(env_.NowMicros()));
}

// ---- Issue 13, item 6 ----

// The body that killed the server (300,000 '[' then as many ']', under the
// 1 MiB limit, before any authentication) and its relatives: each a 400
// that says what is wrong, and the server answers the next login.
TEST_F(SessionTest, TheDeepBodyThatKilledTheServerAndItsRelativesAre400AndTheServerLives) {
  struct Case {
    std::string name, body, says;
  } cases[] = {
      {"deep arrays", std::string(300'000, '[') + std::string(300'000, ']'), "nest more than 64 levels deep"},
      {"deep objects",
       [] {
         std::string b;
         for (int i = 0; i < 100'000; ++i) b += "{\"a\":";
         return b + "1" + std::string(100'000, '}');
       }(),
       "nest more than 64 levels deep"},
      {"deep inside a field", R"({"user":"cra.1","password":)" + std::string(65, '[') + std::string(65, ']') + "}",
       "at line 1, column 91: arrays and objects nest more than 64 levels deep"},
      {"a huge exponent", R"({"user":"cra.1","password":1e999999})", "invalid JSON"},
      {"a 400-digit integer", R"({"user":"cra.1","password":)" + std::string(400, '7') + "}",
       "a number of 400 characters"},
      {"a long user id", R"({"user":")" + std::string(700'000, 'u') + R"(","password":"x"})",
       "is longer than any user id (at most 64 characters)"},
      {"a long password", R"({"user":"cra.1","password":")" + std::string(700'000, 'p') + R"("})",
       "is longer than any password (at most 1024 bytes)"},
  };
  for (const Case& c : cases) {
    auto r = Client().Post("/api/v1/session", c.body, "application/json");
    ASSERT_TRUE(r) << c.name << ": no answer (the server died?)";
    EXPECT_EQ(r->status, 400) << c.name << ": " << r->body.substr(0, 300);
    EXPECT_NE(r->body.find(c.says), std::string::npos) << c.name << ": " << r->body.substr(0, 300);
    EXPECT_LT(r->body.size(), 1200u) << c.name;
  }
  EXPECT_EQ(PostLogin("cra.1", kPassword)->status, 200) << "the server lives";
  // No login attempt was recorded for any of them: they were refused unread.
  EXPECT_TRUE(SystemEvents("user.login_failed").empty());
}

TEST_F(SessionTest, OnlyTheCookieOfTheExactNameIsTheSession) {
  Login cra = LogIn("cra.1");
  const std::string token = cra.cookie.substr(cra.cookie.find('=') + 1);
  ASSERT_EQ(Get(cra, "/api/v1/session")->status, 200);
  for (const std::string& cookie : {"xtc_session=" + token, "tc_session_old=" + token, "a=tc_session=" + token}) {
    auto r = Client().Get("/api/v1/session", httplib::Headers{{"Cookie", cookie}});
    EXPECT_EQ(r->status, 401) << cookie;
  }
  EXPECT_EQ(
      Client().Get("/api/v1/session", httplib::Headers{{"Cookie", "xtc_session=bad; tc_session=" + token}})->status,
      200);
  // The CSRF token: the right one passes, one differing in its last digit does not.
  std::string wrong = cra.csrf;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  auto refused =
      Client().Post((kS + "/subjects/701-1001/queries").c_str(),
                    httplib::Headers{{"Cookie", cra.cookie}, {"X-CSRF-Token", wrong}}, "{}", "application/json");
  EXPECT_EQ(refused->status, 403);
  EXPECT_NE(refused->body.find("X-CSRF-Token"), std::string::npos) << refused->body;
}

TEST_F(SessionTest, AQueryNumberOutsideItsRangeIs400NeverWrapped) {
  Login coord = LogIn("coord.701");
  ASSERT_EQ(Screen(coord, "701-5001")->status, 200);
  Login cra = LogIn("cra.1");
  auto opened = Post(cra, kS + "/subjects/701-5001/queries",
                     R"({"visit":"SCREENING1","form":"DM","item":"RACE","message":"Confirm race"})");
  ASSERT_EQ(opened->status, 200) << opened->body;
  ASSERT_EQ(ParseJson(opened->body)->Find("result")->Find("query")->as_int(), 1);
  for (const char* n : {"99999999999999999999", "4294967297", "2147483648", "0", "-1", "1e3"}) {
    auto r = Post(coord, kS + "/subjects/701-5001/queries/" + std::string(n) + "/answer", R"({"message":"x"})");
    EXPECT_EQ(r->status, 400) << n << ": " << r->body;
    EXPECT_NE(r->body.find("a query number is a whole number from 1 to 2147483647"), std::string::npos) << r->body;
  }
  auto body =
      Post(coord, kS + "/commands", R"({"op":"query.answer","subject":"701-5001","query":4294967297,"message":"x"})");
  EXPECT_EQ(body->status, 400) << body->body;
  auto casebook = ParseJson(Get(coord, kS + "/subjects/701-5001")->body).value();
  EXPECT_EQ(casebook.Find("queries")->as_array()[0].Find("state")->as_string(), "open") << "query 1 untouched";
}

TEST_F(SessionTest, AMalformedLastEventIdIs400) {
  Login cra = LogIn("cra.1");
  for (const char* id : {"garbage", "-5", "12345678901234567890123", "1 2"}) {
    auto r = Get(cra, kS + "/events", {{"Last-Event-ID", id}});
    ASSERT_TRUE(r) << id;
    EXPECT_EQ(r->status, 400) << id << ": " << r->body;
    EXPECT_NE(r->body.find("Last-Event-ID"), std::string::npos) << r->body;
  }
}

TEST_F(SessionTest, MetricsOpenOnlyToTheMetricsToken) {
  // This server has no token configured: /metrics is off, even for a system administrator.
  Login sys = LogIn("sysadmin");
  EXPECT_EQ(Get(sys, "/metrics")->status, 404);
  const std::string token = "metrics-token-of-forty-characters-000000";
  ServerOptions o;
  o.port = 0;
  o.metrics_token = token;
  auto server = std::move(Server::Create(store_.get(), &env_, o).value());
  ASSERT_TRUE(server->Listen().ok());
  std::thread run([&] { (void)server->Run(); });
  httplib::Client c("127.0.0.1", server->port());
  EXPECT_EQ(c.Get("/metrics")->status, 401);
  EXPECT_EQ(c.Get("/metrics", httplib::Headers{{"Authorization", "Bearer " + token + "1"}})->status, 401);
  auto users = std::move(UserDirectory::Open(store_.get(), &env_).value());
  auto api_token = users->IssueToken("sysadmin", Grant{kStudy, "system_admin", "*"}, Actor{"setup", "system_admin"});
  ASSERT_TRUE(api_token.ok());
  EXPECT_EQ(c.Get("/metrics", httplib::Headers{{"Authorization", "Bearer " + *api_token}})->status, 401)
      << "no user's token opens them";
  auto ok = c.Get("/metrics", httplib::Headers{{"Authorization", "Bearer " + token}});
  EXPECT_EQ(ok->status, 200);
  EXPECT_NE(ok->body.find("trialcore_events_appended_total"), std::string::npos) << ok->body;
  server->Stop();
  run.join();
}

// Issue 13, item 4: time moves on the test Env's clock (it did through
// `serve --clock-file` and sleeps): the idle limit (15 minutes here), the
// absolute lifetime (20 minutes here) however active, and the lockout's
// minute.
TEST_F(SessionTest, SessionsExpireAndLockoutsLiftAsTheClockMoves) {
  Login idle = LogIn("cra.1");
  env_.AdvanceMicros(14 * kMinute);
  EXPECT_EQ(Get(idle, "/api/v1/session")->status, 200) << "14 minutes idle: still open";
  env_.AdvanceMicros(15 * kMinute + 1);
  auto expired = Get(idle, "/api/v1/session");
  EXPECT_EQ(expired->status, 401);
  EXPECT_EQ(ParseJson(expired->body)->Find("code")->as_string(), "session_expired");

  Login active = LogIn("cra.1");
  for (int minutes = 6; minutes < 20; minutes += 6) {
    env_.AdvanceMicros(6 * kMinute);
    ASSERT_EQ(Get(active, "/api/v1/session")->status, 200) << "at " << minutes << " minutes, active";
  }
  env_.AdvanceMicros(3 * kMinute);  // 21 minutes, never idle for more than 6
  EXPECT_EQ(Get(active, "/api/v1/session")->status, 401) << "past the absolute lifetime";

  for (int i = 0; i < 5; ++i) EXPECT_EQ(PostLogin("coord.701", "wrong password!!")->status, 401);
  EXPECT_EQ(PostLogin("coord.701", kPassword)->status, 401) << "locked";
  env_.AdvanceMicros(59'000'000);
  EXPECT_EQ(PostLogin("coord.701", kPassword)->status, 401) << "still locked after 59 seconds";
  env_.AdvanceMicros(2'000'000);
  EXPECT_EQ(PostLogin("coord.701", kPassword)->status, 200) << "the lock lifted after a minute";
}

}  // namespace
}  // namespace trialcore::api

// ---- Issue 15, point 10: verification by plan over HTTP ----

namespace trialcore::api {
namespace {

TEST_F(SessionTest, VerificationSkipsItemsAwaitingTheSiteAndTheWorklistShowsWhatIsLeft) {
  Login coord = LogIn("coord.701");
  Login cra = LogIn("cra.1");
  ASSERT_EQ(Screen(coord, "701-7001")->status, 200);
  // The study takes the visit date first; verified at once, it leaves the vital signs alone on the worklist.
  auto dated = Post(coord, kS + "/commands",
                    R"({"op":"form.save","subject":"701-7001","visit":"SCREENING1","form":"SV",)"
                    R"("items":{"SVSTDTC":")" +
                        FormatTimeMicros(env_.NowMicros()).substr(0, 10) + R"("}})");
  ASSERT_EQ(dated->status, 200) << dated->body;
  auto dated_verified =
      Post(cra, kS + "/commands", R"({"op":"sdv.verify","subject":"701-7001","visit":"SCREENING1","form":"SV"})");
  ASSERT_EQ(dated_verified->status, 200) << dated_verified->body;
  // A pulse of 130 with no adverse event on the log: its soft range opens query 1 on PULSE, check VS05 query 2.
  auto saved = Post(coord, kS + "/commands",
                    R"({"op":"form.save","subject":"701-7001","visit":"SCREENING1","form":"VS",)"
                    R"("items":{"VSPOS":"SITTING","SYSBP":120,"DIABP":80,"PULSE":130}})");
  ASSERT_EQ(saved->status, 200) << saved->body;
  auto verified =
      Post(cra, kS + "/commands", R"({"op":"sdv.verify","subject":"701-7001","visit":"SCREENING1","form":"VS"})");
  ASSERT_EQ(verified->status, 200) << verified->body;
  Value result = *ParseJson(verified->body)->Find("result");
  EXPECT_EQ(ToJson(*result.Find("skipped")), R"([{"item":"PULSE","query":1}])");
  EXPECT_EQ(result.Find("verified")->as_array().size(), 3u);

  auto work = Get(cra, kS + "/sdv/worklist?subject=701-7001");
  ASSERT_EQ(work->status, 200) << work->body;
  EXPECT_EQ(ToJson(*ParseJson(work->body)->Find("forms")),
            R"([{"form":"VS","open_queries":2,"required":4,"site":"701","subject":"701-7001","verified":3,)"
            R"("visit":"SCREENING1"}])");
  auto subjects = Get(cra, kS + "/sdv/subjects?site=701");
  ASSERT_EQ(subjects->status, 200) << subjects->body;
  EXPECT_EQ(ToJson(*ParseJson(subjects->body)->Find("subjects")),
            R"([{"required":5,"sampled":true,"site":"701","subject":"701-7001","verified":4}])");
  auto overview = Get(cra, kS + "/sdv");
  ASSERT_EQ(overview->status, 200) << overview->body;
  Value o = *ParseJson(overview->body);
  EXPECT_EQ(ToJson(*o.Find("plan")->Find("always")), R"(["COG","AE","DS","IC"])");
  EXPECT_EQ(ToJson(*o.Find("sites")),
            R"([{"percent":100,"required":5,"risk":"high","sampled":1,"site":"701","subjects":1,"verified":4}])");
  auto bad_page = Get(cra, kS + "/sdv/worklist?limit=0");
  EXPECT_EQ(bad_page->status, 400);

  // Site staff do not learn which subjects the sample holds.
  for (const char* user : {"coord.701", "inv.701", "pharm.701"}) {
    Login site = LogIn(user);
    for (const char* path : {"/sdv", "/sdv/subjects", "/sdv/worklist"}) {
      auto r = Get(site, kS + path);
      EXPECT_EQ(r->status, 403) << user << " " << path << ": " << r->body;
    }
  }
}

}  // namespace
}  // namespace trialcore::api

// ---- Issue 15, point 18: listings and reports over HTTP ----

namespace trialcore::api {
namespace {

TEST_F(SessionTest, ListingsAndReportsAnswerFromTheTablesForTheCallersSites) {
  constexpr int64_t kDay = 24 * 60 * kMinute;
  Login coord = LogIn("coord.701");
  Login cra = LogIn("cra.1");
  ASSERT_EQ(Screen(coord, "701-7101")->status, 200);
  // The visit took place three days ago; its visit date and vital signs are entered today.
  const std::string visit_day = FormatTimeMicros(env_.NowMicros() - 3 * kDay).substr(0, 10);
  auto save = [&](const std::string& form, const std::string& items) {
    auto r = Post(coord, kS + "/commands",
                  R"({"op":"form.save","subject":"701-7101","visit":"SCREENING1","form":")" + form + R"(","items":)" +
                      items + "}");
    ASSERT_EQ(r->status, 200) << r->body;
  };
  save("SV", R"({"SVSTDTC":")" + visit_day + R"("})");
  save("VS", R"({"VSPOS":"SITTING","SYSBP":120,"DIABP":80,"PULSE":115})");  // its soft range opens query 1

  auto listing = Get(cra, kS + "/reports/listing?form=VS");
  ASSERT_EQ(listing->status, 200) << listing->body;
  EXPECT_EQ(ToJson(*ParseJson(listing->body)->Find("rows")),
            R"([{"items":{"DIABP":80,"PULSE":115,"SYSBP":120,"VSPOS":"SITTING"},"site":"701","subject":"701-7101",)"
            R"("visit":"SCREENING1"}])");
  auto csv = Get(cra, kS + "/reports/listing?form=VS&format=csv");
  ASSERT_EQ(csv->status, 200) << csv->body;
  EXPECT_EQ(csv->body,
            "subject,site,visit,group,row,VSTM,VSPOS,SYSBP,DIABP,PULSE,TEMP,WEIGHT,HEIGHT,BMI\r\n"
            "701-7101,701,SCREENING1,,,,SITTING,120,80,115,,,,\r\n");
  EXPECT_EQ(Get(cra, kS + "/reports/listing")->status, 400) << "the form is required";
  EXPECT_EQ(Get(cra, kS + "/reports/listing?form=NOPE")->status, 404);
  EXPECT_EQ(Get(cra, kS + "/reports/listing?form=VS&format=xml")->status, 400);

  auto lag = Get(cra, kS + "/reports/entry-lag");
  ASSERT_EQ(lag->status, 200) << lag->body;
  EXPECT_EQ(ToJson(*ParseJson(lag->body)->Find("sites")),
            R"([{"days_total":6,"forms":2,"max_days":3,"over_7_days":0,"site":"701","within_2_days":0}])");
  auto missing = Get(cra, kS + "/reports/missing-pages");
  ASSERT_EQ(missing->status, 200) << missing->body;
  EXPECT_EQ(ToJson(*ParseJson(missing->body)->Find("lines")), R"([{"forms":6,"site":"701","visit":"SCREENING1"}])")
      << "SCREENING1 collects 8 forms, 2 are started";

  // The site answers two hours later; read now, and 31 days on.
  env_.AdvanceMicros(120 * kMinute);
  coord = LogIn("coord.701");
  cra = LogIn("cra.1");
  auto answered = Post(coord, kS + "/subjects/701-7101/queries/1/answer", R"({"message":"confirmed"})");
  ASSERT_EQ(answered->status, 200) << answered->body;
  auto turnaround = [&]() {
    return ToJson(*ParseJson(Get(cra, kS + "/reports/query-turnaround")->body)->Find("sites"));
  };
  EXPECT_EQ(turnaround(),
            R"([{"answered":1,"closed":0,"mean_hours_to_answer":2,"mean_hours_to_close":0,"opened":1,"site":"701",)"
            R"("unresolved_over_30_days":0}])");
  env_.AdvanceMicros(31 * kDay);
  coord = LogIn("coord.701");
  cra = LogIn("cra.1");
  EXPECT_EQ(turnaround(),
            R"([{"answered":1,"closed":0,"mean_hours_to_answer":2,"mean_hours_to_close":0,"opened":1,"site":"701",)"
            R"("unresolved_over_30_days":1}])");
  auto closed = Post(cra, kS + "/subjects/701-7101/queries/1/close", R"({"message":"ok"})");
  ASSERT_EQ(closed->status, 200) << closed->body;
  auto after = ParseJson(Get(cra, kS + "/reports/query-turnaround")->body)->Find("sites")->as_array();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].Find("closed")->as_int(), 1);
  EXPECT_EQ(after[0].Find("mean_hours_to_close")->as_int(), 31 * 24 + 2);
  EXPECT_EQ(after[0].Find("unresolved_over_30_days")->as_int(), 0);
}

}  // namespace
}  // namespace trialcore::api

// ---- Issue 15, point 18: the listing's value filter and labels; point 5: inactivated subjects ----

namespace trialcore::api {
namespace {

TEST_F(SessionTest, TheListingFiltersByOneItemsValueAndShowsLabelsRefusingHiddenItemsAsUnknownOnes) {
  Login coord = LogIn("coord.701");
  Login cra = LogIn("cra.1");
  ASSERT_EQ(Screen(coord, "701-7301")->status, 200);
  auto save = [&](const std::string& form, const std::string& items) {
    auto r = Post(coord, kS + "/commands",
                  R"({"op":"form.save","subject":"701-7301","visit":"SCREENING1","form":")" + form + R"(","items":)" +
                      items + "}");
    ASSERT_EQ(r->status, 200) << r->body;
  };
  save("SV", R"({"SVSTDTC":")" + FormatTimeMicros(env_.NowMicros()).substr(0, 10) + R"("})");
  save("VS", R"({"VSPOS":"SITTING","SYSBP":120,"DIABP":80,"PULSE":72})");
  save("DM", R"({"INITIALS":"ABC","BRTHDTC":"1948-03-04","SEX":"M","RACE":"WHITE"})");

  auto rows = [&](const Login& who, const std::string& query) {
    auto r = Get(who, kS + "/reports/listing?" + query);
    EXPECT_EQ(r->status, 200) << query << ": " << r->body;
    return ToJson(*ParseJson(r->body)->Find("rows"));
  };
  EXPECT_EQ(rows(cra, "form=VS&item=SYSBP&value=120"),
            R"([{"items":{"DIABP":80,"PULSE":72,"SYSBP":120,"VSPOS":"SITTING"},"site":"701","subject":"701-7301",)"
            R"("visit":"SCREENING1"}])");
  EXPECT_EQ(rows(cra, "form=VS&item=SYSBP&value=12"), "[]") << "a number matches whole";
  EXPECT_EQ(rows(cra, "form=DM&item=SEX&value=F"), "[]");
  EXPECT_EQ(rows(cra, "form=DM&item=SEX&value=M&labels=true"),
            R"([{"items":{"BRTHDTC":"1948-03-04","INITIALS":"ABC","RACE":"WHITE","SEX":"Male"},"site":"701",)"
            R"("subject":"701-7301","visit":"SCREENING1"}])");
  auto csv = Get(cra, kS + "/reports/listing?form=DM&format=csv&labels=true");
  ASSERT_EQ(csv->status, 200) << csv->body;
  EXPECT_EQ(csv->body,
            "subject,site,visit,group,row,INITIALS,BRTHDTC,AGE,SEX,POSTMENO,RACE,ETHNIC\r\n"
            "701-7301,701,SCREENING1,,,ABC,1948-03-04,,Male,,WHITE,\r\n");
  auto refused = [&](const Login& who, const std::string& query) {
    auto r = Get(who, kS + "/reports/listing?" + query);
    EXPECT_EQ(r->status, 404) << query;
    return r->body;
  };
  // The dose is hidden from the blinded monitor, the initials from the data
  // manager: a filter on either answers as one on an item the form lacks.
  EXPECT_EQ(refused(cra, "form=EX&item=EXDOSE&value=54"),
            R"({"code":"not_found","details":{},"message":"form EX has no item \"EXDOSE\""})");
  EXPECT_EQ(refused(cra, "form=EX&item=EXDOSX&value=54"),
            R"({"code":"not_found","details":{},"message":"form EX has no item \"EXDOSX\""})");
  Login dm = LogIn("dm.1");
  EXPECT_EQ(refused(dm, "form=DM&item=INITIALS&value=ABC"),
            R"({"code":"not_found","details":{},"message":"form DM has no item \"INITIALS\""})");
  EXPECT_EQ(rows(LogIn("pharm.701"), "form=EX&item=EXDOSE&value=54"), "[]") << "the unblinded may filter on it";
  EXPECT_EQ(Get(cra, kS + "/reports/listing?form=VS&item=SYSBP&value=high")->status, 400);
  EXPECT_EQ(Get(cra, kS + "/reports/listing?form=VS&labels=yes")->status, 400);
}

TEST_F(SessionTest, InactivatedSubjectsCountInNeitherVerificationNorReportsUnlessTheListingAsks) {
  constexpr int64_t kDay = 24 * 60 * kMinute;
  Login coord = LogIn("coord.701");
  Login cra = LogIn("cra.1");
  const std::string visit_day = FormatTimeMicros(env_.NowMicros() - 3 * kDay).substr(0, 10);
  for (const std::string subject : {"701-7401", "701-7402"}) {
    ASSERT_EQ(Screen(coord, subject)->status, 200);
    for (const auto& [form, items] : std::vector<std::pair<std::string, std::string>>{
             {"SV", R"({"SVSTDTC":")" + visit_day + R"("})"},
             {"VS", R"({"VSPOS":"SITTING","SYSBP":120,"DIABP":80,"PULSE":72})"}}) {
      auto r = Post(coord, kS + "/commands",
                    R"({"op":"form.save","subject":")" + subject + R"(","visit":"SCREENING1","form":")" + form +
                        R"(","items":)" + items + "}");
      ASSERT_EQ(r->status, 200) << r->body;
    }
  }
  auto inactivated =
      Post(coord, kS + "/commands", R"({"op":"subject.inactivate","subject":"701-7402","reason":"screened twice"})");
  ASSERT_EQ(inactivated->status, 200) << inactivated->body;

  auto json = [&](const std::string& path) {
    auto r = Get(cra, kS + path);
    EXPECT_EQ(r->status, 200) << path << ": " << r->body;
    return *ParseJson(r->body);
  };
  Value subjects = json("/sdv/subjects?site=701");
  EXPECT_EQ(subjects.Find("total")->as_int(), 1);
  ASSERT_EQ(subjects.Find("subjects")->as_array().size(), 1u);
  EXPECT_EQ(subjects.Find("subjects")->as_array()[0].Find("subject")->as_string(), "701-7401");
  EXPECT_EQ(json("/sdv").Find("total")->Find("subjects")->as_int(), 1);
  Value work = json("/sdv/worklist?site=701");
  EXPECT_EQ(work.Find("total")->as_int(), 2) << "701-7401's SV and VS";
  for (const Value& w : work.Find("forms")->as_array()) EXPECT_EQ(w.Find("subject")->as_string(), "701-7401");

  Value listing = json("/reports/listing?form=VS");
  EXPECT_EQ(listing.Find("total")->as_int(), 1);
  EXPECT_EQ(listing.Find("rows")->as_array()[0].Find("subject")->as_string(), "701-7401");
  EXPECT_EQ(json("/reports/listing?form=VS&inactive=include").Find("total")->as_int(), 2);
  EXPECT_EQ(Get(cra, kS + "/reports/listing?form=VS&inactive=all")->status, 400);
  EXPECT_EQ(ToJson(*json("/reports/entry-lag").Find("sites")),
            R"([{"days_total":6,"forms":2,"max_days":3,"over_7_days":0,"site":"701","within_2_days":0}])");
  EXPECT_EQ(ToJson(*json("/reports/missing-pages").Find("lines")),
            R"([{"forms":6,"site":"701","visit":"SCREENING1"}])");
}

}  // namespace
}  // namespace trialcore::api
