#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "api/access.h"
#include "api/client_address.h"
#include "api/credentials.h"
#include "api/positions.h"
#include "api/server.h"
#include "api/sessions.h"
#include "api/signing_rule.h"
#include "api/users.h"
#include "api/views.h"
#include "capture/blinding.h"
#include "core/json.h"
#include "core/test_env.h"
#include "rules/rules.h"
#include "store/sqlite/sqlite_event_store.h"

namespace trialcore::api {
namespace {

const Actor kAdmin{"admin", "system_admin"};
const std::string kPassword = "correct horse battery";

class UsersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteStoreOptions o;
    o.env = &env_;
    store_ = std::move(OpenSqliteEventStore("/mem/u.db", o).value());
    users_ = std::move(UserDirectory::Open(store_.get(), &env_).value());
  }
  MemEnv env_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<UserDirectory> users_;
};

TEST_F(UsersTest, PasswordsAreHashedWithArgon2idAndCheckedOnLogin) {
  EXPECT_EQ(users_->Add("coord.701", "Casey Coordinator", "short", kAdmin).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(users_->Add("Coord 701", "Casey Coordinator", kPassword, kAdmin).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(users_->Add("coord.701", "Casey Coordinator", kPassword, kAdmin).ok());
  EXPECT_EQ(users_->Add("coord.701", "Someone Else", kPassword, kAdmin).code(), StatusCode::kAlreadyExists);
  auto u = users_->Find("coord.701").value();
  EXPECT_TRUE(u.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << u.password_hash;
  EXPECT_EQ(u.password_hash.find(kPassword), std::string::npos);
  EXPECT_TRUE(users_->Login("coord.701", kPassword, "10.0.0.1").ok());
  auto wrong = users_->Login("coord.701", "correct horse battery!", "10.0.0.1");
  auto unknown = users_->Login("nobody", kPassword, "10.0.0.1");
  EXPECT_EQ(wrong.status().message(), unknown.status().message()) << "no hint that the account exists";
  // Every attempt is in the audit trail.
  std::vector<std::string> types;
  EventFilter f;
  f.study = kSystemStudy;
  ASSERT_TRUE(store_
                  ->ForEachEvent(f,
                                 [&](const Event& e) {
                                   types.push_back(e.type);
                                   return Status::Ok();
                                 })
                  .ok());
  EXPECT_EQ(types, (std::vector<std::string>{"user.added", "user.login", "user.login_failed", "user.login_failed"}));
  EXPECT_EQ(users_->Find("nobody").status().code(), StatusCode::kNotFound) << "a failed login makes up no account";
}

TEST_F(UsersTest, RepeatedFailuresLockTheAccountWithBackOff) {
  ASSERT_TRUE(users_->Add("inv.701", "Ivy Investigator", kPassword, kAdmin).ok());
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(users_->Login("inv.701", "wrong password!!", "10.0.0.2").ok());
  auto locked = users_->Login("inv.701", kPassword, "10.0.0.2");
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.status().message(), kLoginFailed);
  env_.AdvanceMicros(61'000'000);
  EXPECT_FALSE(users_->Login("inv.701", "wrong password!!", "10.0.0.2").ok());  // 6th failure: 2 minutes
  env_.AdvanceMicros(61'000'000);
  EXPECT_FALSE(users_->Login("inv.701", kPassword, "10.0.0.2").ok()) << "still locked after one minute";
  env_.AdvanceMicros(120'000'000);
  EXPECT_TRUE(users_->Login("inv.701", kPassword, "10.0.0.2").ok());
  EXPECT_EQ(users_->Find("inv.701")->failed_logins, 0);
  EXPECT_EQ(LockoutMicros(4), 0);
  EXPECT_EQ(LockoutMicros(5), 60'000'000);
  EXPECT_EQ(LockoutMicros(30), 3'600'000'000);
}

TEST_F(UsersTest, DisabledAccountsCannotLogInAndGrantsSurviveReopening) {
  ASSERT_TRUE(users_->Add("cra.1", "Morgan Monitor", kPassword, kAdmin).ok());
  ASSERT_TRUE(users_->AddGrant("cra.1", Grant{"CDISCPILOT01", "monitor", "*"}, "", kAdmin).ok());
  ASSERT_TRUE(users_->AddGrant("cra.1", Grant{"CDISCPILOT01", "data_manager", "701"}, "", kAdmin).ok());
  EXPECT_EQ(users_->AddGrant("cra.1", Grant{"CDISCPILOT01", "monitor", "*"}, "", kAdmin).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(users_->RevokeGrant("cra.1", Grant{"CDISCPILOT01", "data_manager", "701"}, "", kAdmin).code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(users_->RevokeGrant("cra.1", Grant{"CDISCPILOT01", "data_manager", "701"}, "left the CRO", kAdmin).ok());
  auto reopened = std::move(UserDirectory::Open(store_.get(), &env_).value());
  auto u = reopened->Find("cra.1").value();
  ASSERT_EQ(u.grants.size(), 1u);
  EXPECT_EQ(u.grants[0].role, "monitor");
  ASSERT_TRUE(users_->Disable("cra.1", "left the CRO", kAdmin).ok());
  auto login = users_->Login("cra.1", kPassword, "10.0.0.3");
  EXPECT_EQ(login.status().message(), kLoginFailed);
}

TEST_F(UsersTest, NoOneGrantsOrRevokesTheirOwnRoles) {
  const Actor study_admin{"admin.1", "study_admin"}, system_admin{"sys.1", "system_admin"};
  ASSERT_TRUE(users_->Add("admin.1", "Ada Admin", kPassword, kAdmin).ok());
  ASSERT_TRUE(users_->Add("sys.1", "Sam Sysadmin", kPassword, kAdmin).ok());
  EXPECT_EQ(users_->AddGrant("admin.1", Grant{"S1", "monitor", "*"}, "", study_admin).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(users_->AddGrant("sys.1", Grant{"S1", "monitor", "*"}, "", system_admin).code(),
            StatusCode::kPermissionDenied);
  ASSERT_TRUE(users_->AddGrant("sys.1", Grant{"S1", "system_admin", "*"}, "", kAdmin).ok());
  EXPECT_EQ(users_->RevokeGrant("sys.1", Grant{"S1", "system_admin", "*"}, "stepping down", system_admin).code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(users_->Find("admin.1")->grants.empty());
}

TEST_F(UsersTest, OnlySystemAdministratorsGrantOrRevokeUnblindedAndSystemRoles) {
  const Actor study_admin{"admin.1", "study_admin"}, system_admin{"sys.1", "system_admin"};
  ASSERT_TRUE(users_->Add("pharm.1", "Pat Pharmacist", kPassword, kAdmin).ok());
  for (const char* role : {"unblinded_pharmacist", "system_admin"}) {
    auto refused = users_->AddGrant("pharm.1", Grant{"S1", role, "701"}, "", study_admin);
    EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied) << role;
    EXPECT_NE(refused.message().find(std::string("only a system administrator grants or revokes ") + role),
              std::string::npos);
  }
  ASSERT_TRUE(users_->AddGrant("pharm.1", Grant{"S1", "unblinded_pharmacist", "701"}, "", system_admin).ok());
  EXPECT_EQ(users_->RevokeGrant("pharm.1", Grant{"S1", "unblinded_pharmacist", "701"}, "moved", study_admin).code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(users_->AddGrant("pharm.1", Grant{"S1", "coordinator", "701"}, "", study_admin).ok());
  EXPECT_FALSE(capture::BlindedRole("unblinded_pharmacist"));  // the one rule grants follow too
  EXPECT_TRUE(capture::BlindedRole("study_admin"));
}

TEST_F(UsersTest, ARevokedRoleCanBeGrantedAgainWithAReason) {
  ASSERT_TRUE(users_->Add("cra.1", "Morgan Monitor", kPassword, kAdmin).ok());
  const Grant g{"S1", "monitor", "*"};
  ASSERT_TRUE(users_->AddGrant("cra.1", g, "", kAdmin).ok());
  ASSERT_TRUE(users_->RevokeGrant("cra.1", g, "on leave", kAdmin).ok());
  auto without = users_->AddGrant("cra.1", g, "", kAdmin);
  EXPECT_EQ(without.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(without.message().find("after it was revoked, needs a reason"), std::string::npos) << without.message();
  ASSERT_TRUE(users_->AddGrant("cra.1", g, "back from leave", kAdmin).ok());
  EXPECT_EQ(users_->Find("cra.1")->grants, std::vector<Grant>{g});
  // And revoked and granted once more.
  ASSERT_TRUE(users_->RevokeGrant("cra.1", g, "left again", kAdmin).ok());
  ASSERT_TRUE(users_->AddGrant("cra.1", g, "returned", kAdmin).ok());
  auto reopened = std::move(UserDirectory::Open(store_.get(), &env_).value());
  EXPECT_EQ(reopened->Find("cra.1")->grants, std::vector<Grant>{g});
}

TEST_F(UsersTest, SigningPasswordsCountTowardsTheLoginLockoutAndAreRefusedWhileLocked) {
  ASSERT_TRUE(users_->Add("inv.1", "Ivy Investigator", kPassword, kAdmin).ok());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(users_->Reauthenticate("inv.1", "wrong password!!", "10.0.0.4").message(), kLoginFailed);
  }
  EXPECT_EQ(users_->Reauthenticate("inv.1", kPassword, "10.0.0.4").message(), kLoginFailed) << "locked";
  EXPECT_FALSE(users_->Login("inv.1", kPassword, "10.0.0.4").ok()) << "the login shares the lock";
  env_.AdvanceMicros(61'000'000);
  EXPECT_TRUE(users_->Reauthenticate("inv.1", kPassword, "10.0.0.4").ok());
  EXPECT_EQ(users_->Find("inv.1")->failed_logins, 0) << "a right password clears the failures";
}

TEST_F(UsersTest, EveryFailedLoginIsRecordedWithTheSameAnswer) {
  ASSERT_TRUE(users_->Add("a.1", "A One", kPassword, kAdmin).ok());
  ASSERT_TRUE(users_->Add("d.1", "D One", kPassword, kAdmin).ok());
  ASSERT_TRUE(users_->Disable("d.1", "left", kAdmin).ok());
  const std::string long_id(100'000, 'z');
  std::vector<Status> answers = {
      users_->Login("nobody", kPassword, "c").status(), users_->Login("a.1", "wrong password!!", "c").status(),
      users_->Login("d.1", kPassword, "c").status(), users_->Login(long_id, kPassword, "c").status(),
      users_->Login("", kPassword, "c").status()};
  for (const Status& st : answers) {
    EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(st.message(), kLoginFailed);
  }
  std::vector<std::pair<std::string, std::string>> failures;  // stream, why
  EventFilter f;
  f.study = kSystemStudy;
  auto collect = [&](const Event& e) {
    if (e.type != "user.login_failed") return Status::Ok();
    failures.push_back({e.stream, e.payload.Find("why")->as_string()});
    if (e.stream == "logins/unknown") {
      EXPECT_LE(e.actor.user.size(), 67u) << "the id is kept short";
    }
    return Status::Ok();
  };
  ASSERT_TRUE(store_->ForEachEvent(f, collect).ok());
  EXPECT_EQ(failures, (std::vector<std::pair<std::string, std::string>>{{"logins/unknown", "unknown user"},
                                                                        {"user/a.1", "password"},
                                                                        {"user/d.1", "disabled"},
                                                                        {"logins/unknown", "unknown user"},
                                                                        {"logins/unknown", "unknown user"}}));
}

TEST(AccessTest, SitesAndRolesComeFromTheGrantsOfTheStudy) {
  User u;
  u.id = "coord.701";
  u.grants = {
      {"CDISCPILOT01", "coordinator", "701"}, {"CDISCPILOT01", "investigator", "708"}, {"OTHER", "monitor", "*"}};
  Access a(u, "CDISCPILOT01");
  EXPECT_TRUE(a.SeesSite("701"));
  EXPECT_TRUE(a.SeesSite("708"));
  EXPECT_FALSE(a.SeesSite("702"));
  EXPECT_FALSE(a.SeesAllSites());
  EXPECT_EQ(a.ActingRole(std::nullopt, "701").value(), "coordinator");
  EXPECT_EQ(a.ActingRole(std::nullopt, "708").value(), "investigator");
  EXPECT_EQ(a.ActingRole(std::nullopt, "").status().code(), StatusCode::kPermissionDenied);  // two roles: choose
  EXPECT_EQ(a.ActingRole("investigator", "701").status().code(), StatusCode::kPermissionDenied);
  Access other(u, "OTHER");
  EXPECT_TRUE(other.SeesAllSites());
  Access none(u, "THIRD");
  EXPECT_FALSE(none.AnyGrant());
}

}  // namespace
}  // namespace trialcore::api

// Every route the server registers is in doc/openapi.json, and every path
// and method of the document is served.
namespace trialcore::api {
namespace {

TEST(OpenApi, DocumentsExactlyTheRoutesServed) {
  MemEnv env;
  SqliteStoreOptions o;
  o.env = &env;
  auto store = std::move(OpenSqliteEventStore("/mem/o.db", o).value());
  auto server = std::move(Server::Create(store.get(), &env, ServerOptions{}).value());
  std::set<std::pair<std::string, std::string>> served;
  for (const auto& [method, path] : server->Routes()) {
    std::string lower = method;
    for (char& c : lower) c = static_cast<char>(std::tolower(c));
    served.insert({lower, path});
  }
  auto doc = nlohmann::json::parse(OpenApiJson());
  EXPECT_EQ(doc.at("openapi"), "3.0.3");
  std::set<std::pair<std::string, std::string>> documented;
  for (const auto& [path, item] : doc.at("paths").items()) {
    for (const auto& [method, op] : item.items()) {
      documented.insert({method, path});
      EXPECT_TRUE(op.contains("summary")) << method << " " << path;
      EXPECT_TRUE(op.contains("responses")) << method << " " << path;
    }
  }
  EXPECT_EQ(served, documented);
  EXPECT_GE(served.size(), 20u);
}

// Issue 12 (review): the audit trail is read after the caller's hidden queries
// are listed, so a query opened in between is hidden by its number.
TEST(HidesQueryPath, HidesQueriesNumberedAsHiddenOnesAndThoseListedForBlindedCallersOnly) {
  const std::set<std::string> listed{"subject/701-1001/queries/2"};
  EXPECT_TRUE(HidesQueryPath(listed, true, "subject/701-1001/queries/2"));
  EXPECT_TRUE(HidesQueryPath(listed, true, "subject/701-1001/queries/2/messages/1"));
  EXPECT_FALSE(HidesQueryPath(listed, true, "subject/701-1001/queries/20"));
  EXPECT_FALSE(HidesQueryPath(listed, true, "subject/701-1001/queries/3"));
  EXPECT_TRUE(HidesQueryPath({}, true, "subject/701-1001/queries/1000003"));
  EXPECT_TRUE(HidesQueryPath({}, true, "subject/701-1001/queries/1000003/state"));
  EXPECT_FALSE(HidesQueryPath({}, true, "subject/701-1001/queries/1000000"));
  EXPECT_FALSE(HidesQueryPath({}, true, "subject/701-1001/BASELINE/EX/EXSTDTC"));
  EXPECT_FALSE(HidesQueryPath(listed, false, "subject/701-1001/queries/2"));
  EXPECT_FALSE(HidesQueryPath({}, false, "subject/701-1001/queries/1000003"));
}

// Issue 12: event positions count hidden events, so the stream's ids are sealed.
TEST(PositionSeal, OpensOnlyWhatItSealedAndTellsNothingOfThePosition) {
  MemEnv env(7);
  auto seal = PositionSeal::Create(&env).value();
  auto other = PositionSeal::Create(&env).value();  // another key: another server, or this one restarted
  const std::string t41 = seal.Seal(41), t42 = seal.Seal(42);
  EXPECT_EQ(t42.size(), 96u);
  EXPECT_EQ(seal.Seal(42), t42) << "one position reads the same every time";
  EXPECT_NE(t41, t42);
  EXPECT_EQ(t42.find("42"), std::string::npos);
  EXPECT_EQ(seal.Open(t42), 42u);
  EXPECT_EQ(seal.Open(seal.Seal(UINT64_MAX)), UINT64_MAX);
  EXPECT_EQ(other.Open(t42), std::nullopt);
  std::string tampered = t42;
  tampered[60] = tampered[60] == '0' ? '1' : '0';
  EXPECT_EQ(seal.Open(tampered), std::nullopt);
  EXPECT_EQ(seal.Open("42"), std::nullopt);
  EXPECT_EQ(seal.Open(""), std::nullopt);
  EXPECT_EQ(seal.Open(std::string(96, 'z')), std::nullopt);
}

// ---- Issue 13, item 6: secrets read by exact name and compared in constant time ----

TEST(Credentials, TheSessionCookieIsMatchedByItsExactName) {
  EXPECT_EQ(CookieValue("tc_session=abc", "tc_session"), "abc");
  EXPECT_EQ(CookieValue("theme=dark; tc_session=abc; lang=en", "tc_session"), "abc");
  EXPECT_EQ(CookieValue("theme=dark;tc_session=abc", "tc_session"), "abc");
  // Look-alikes another application on the host (or an attacker's subdomain) may set.
  EXPECT_EQ(CookieValue("xtc_session=evil", "tc_session"), std::nullopt);
  EXPECT_EQ(CookieValue("tc_session_old=evil", "tc_session"), std::nullopt);
  EXPECT_EQ(CookieValue("a=xtc_session=evil", "tc_session"), std::nullopt);
  EXPECT_EQ(CookieValue("xtc_session=evil; tc_session=good", "tc_session"), "good");
  EXPECT_EQ(CookieValue("", "tc_session"), std::nullopt);
  EXPECT_EQ(CookieValue("tc_session", "tc_session"), std::nullopt);
}

TEST(Credentials, BearerTokensAndSecretComparison) {
  EXPECT_EQ(BearerToken("Bearer tct_1"), "tct_1");
  EXPECT_EQ(BearerToken("bearer tct_1"), "tct_1");
  EXPECT_EQ(BearerToken("Basic dXNlcjpwdw=="), std::nullopt);
  EXPECT_EQ(BearerToken("Bearer "), std::nullopt);
  EXPECT_TRUE(SameSecret("a3f0", "a3f0"));
  EXPECT_FALSE(SameSecret("a3f0", "a3f1"));
  EXPECT_FALSE(SameSecret("a3f0", "a3f00"));
  EXPECT_FALSE(SameSecret("", "a"));
  EXPECT_NE(SessionKey("token"), "token");
  EXPECT_EQ(SessionKey("token").size(), 64u);
}

TEST(Credentials, TheCsrfTokenIsAnHmacKeyedByTheCookieToken) {
  // HMAC-SHA256(key "token", "trialcore csrf token v1"), as Python's hmac module computes it.
  EXPECT_EQ(CsrfToken("token"), "f88d2b5c1dcbe63577432e3a7dc32e0f1ab8236cb9a475fde089b5680d54a0e7");
  EXPECT_NE(CsrfToken("token"), CsrfToken("tokem"));
  EXPECT_NE(CsrfToken("token"), SessionKey("token")) << "the stored key does not give the CSRF token";
}

// Sessions on the store's ServerState, on the test Env's clock.
class SessionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteStoreOptions o;
    o.env = &env_;
    store_ = std::move(OpenSqliteEventStore("/mem/sessions.db", o).value());
    sessions_.emplace(&store_->server_state(), &env_, SessionLimits{15 * kMinute, 60 * kMinute, 3});
  }
  SessionRecord Stored(const std::string& token) {
    auto found = store_->server_state().FindSession(SessionKey(token));
    EXPECT_TRUE(found.ok() && found->has_value()) << token;
    return found.ok() && found->has_value() ? **found : SessionRecord{};
  }
  static constexpr int64_t kMinute = 60'000'000;
  MemEnv env_;
  std::unique_ptr<EventStore> store_;
  std::optional<Sessions> sessions_;
};

TEST_F(SessionsTest, EveryServerOfADatabaseSealsPositionsWithTheSameKey) {
  auto a = PositionSeal::Shared(&env_, store_->server_state());
  auto b = PositionSeal::Shared(&env_, store_->server_state());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(b->Open(a->Seal(42)), 42u);
  auto own = PositionSeal::Create(&env_);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->Open(a->Seal(42)), std::nullopt) << "a key of its own opens nothing of theirs";
}

TEST_F(SessionsTest, OnlyTheDigestOfTheTokenIsStoredAndTheCsrfTokenIsDerived) {
  auto started = sessions_->Start("alice");
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  const auto& [token, session] = *started;
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(session.csrf, CsrfToken(token));
  EXPECT_EQ(Stored(token).user, "alice");
  EXPECT_FALSE(store_->server_state().FindSession(token)->has_value()) << "no row under the token itself";
  auto resumed = sessions_->Resume(token);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(resumed->user, "alice");
  EXPECT_EQ(resumed->csrf, session.csrf);
  auto read_only = sessions_->Resume(token, /*with_csrf=*/false);
  ASSERT_TRUE(read_only.ok()) << read_only.status().ToString();
  EXPECT_EQ(read_only->user, "alice");
  EXPECT_EQ(read_only->csrf, "") << "a read that hands out no token does not derive it";
  EXPECT_EQ(sessions_->Resume("not a token").status().code(), StatusCode::kNotFound);
}

TEST_F(SessionsTest, TheLastUseIsWrittenAtMostOnceATouchIntervalAndIdleExpiryIsJudgedOnIt) {
  EXPECT_EQ(sessions_->TouchInterval(), kMinute);
  const std::string token = sessions_->Start("alice")->first;
  const int64_t login = Stored(token).last_used_us;
  env_.AdvanceMicros(kMinute - 1);
  ASSERT_TRUE(sessions_->Resume(token).ok());
  EXPECT_EQ(Stored(token).last_used_us, login) << "no write within the interval";
  env_.AdvanceMicros(1);
  ASSERT_TRUE(sessions_->Resume(token).ok());
  EXPECT_EQ(Stored(token).last_used_us, login + kMinute) << "written once the stored use is a minute old";
  env_.AdvanceMicros(15 * kMinute);
  ASSERT_TRUE(sessions_->Peek(SessionKey(token)).ok()) << "15 minutes since the stored use: still open";
  EXPECT_EQ(Stored(token).last_used_us, login + kMinute) << "a peek is no use";
  env_.AdvanceMicros(1);
  auto expired = sessions_->Resume(token);
  EXPECT_EQ(expired.status().code(), StatusCode::kUnauthenticated) << expired.status().ToString();
  EXPECT_FALSE(store_->server_state().FindSession(SessionKey(token))->has_value()) << "an expired session is removed";
  EXPECT_EQ(sessions_->Resume(token).status().code(), StatusCode::kNotFound);
}

TEST_F(SessionsTest, TheAbsoluteLifetimeEndsAnActiveSessionAndALoginClearsExpiredOnes) {
  const std::string token = sessions_->Start("alice")->first;
  for (int i = 0; i < 6; ++i) {
    env_.AdvanceMicros(10 * kMinute);
    ASSERT_TRUE(sessions_->Resume(token).ok()) << "at " << 10 * (i + 1) << " minutes";
  }
  const std::string idle = sessions_->Start("bob")->first;
  env_.AdvanceMicros(1);
  EXPECT_EQ(sessions_->Resume(token).status().code(), StatusCode::kUnauthenticated) << "past the hour";
  EXPECT_EQ(*sessions_->CountLive(), 1u);
  env_.AdvanceMicros(16 * kMinute);
  EXPECT_EQ(*sessions_->CountLive(), 0u);
  ASSERT_TRUE(sessions_->Start("carol").ok());
  EXPECT_FALSE(store_->server_state().FindSession(SessionKey(idle))->has_value()) << "removed by the login";
}

TEST_F(SessionsTest, LoginsPerClientAreLimitedToTheLimitAMinute) {
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(*sessions_->LoginAllowed("10.0.0.1")) << i;
  EXPECT_FALSE(*sessions_->LoginAllowed("10.0.0.1"));
  EXPECT_TRUE(*sessions_->LoginAllowed("10.0.0.2"));
  env_.AdvanceMicros(kMinute);
  EXPECT_TRUE(*sessions_->LoginAllowed("10.0.0.1")) << "a minute later";
}

TEST(Credentials, MetricsOpenOnlyToTheConfiguredToken) {
  const std::string token(40, 'm');
  EXPECT_EQ(MetricsAllowed("", "Bearer " + token).code(), StatusCode::kNotFound) << "off unless configured";
  EXPECT_TRUE(MetricsAllowed(token, "Bearer " + token).ok());
  EXPECT_EQ(MetricsAllowed(token, "Bearer " + token + "x").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(MetricsAllowed(token, "").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(MetricsAllowed(token, token).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(SecretFromText(token + "\n", "f").value(), token);
  EXPECT_EQ(SecretFromText("short\n", "--metrics-token-file m").status().message(),
            "--metrics-token-file m must hold a secret of at least 32 characters (it has 5)");
}

TEST(PositionSeal, ResumesAfterSealedIdsAndPlainNumbersAndRefusesAnythingElse) {
  MemEnv env;
  auto seal = PositionSeal::Create(&env).value();
  auto other = PositionSeal::Create(&env).value();
  EXPECT_EQ(seal.ResumeAfter("").value(), std::nullopt);
  EXPECT_EQ(seal.ResumeAfter(seal.Seal(42)).value(), 42u);
  EXPECT_EQ(seal.ResumeAfter("42").value(), 42u);
  EXPECT_EQ(seal.ResumeAfter("9999999999999999999").value(), 9999999999999999999u);
  EXPECT_EQ(seal.ResumeAfter(other.Seal(42)).value(), std::nullopt) << "sealed before a restart: from now";
  for (const std::string& bad :
       std::vector<std::string>{"-1", "abc", "42 ", "1e3", "99999999999999999999", "0x10", std::string(96, 'g'),
                                seal.Seal(42).substr(1), seal.Seal(42) + "0"}) {
    auto r = seal.ResumeAfter(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("Last-Event-ID"), std::string::npos);
  }
}

// ---- Issue 13, item 3: the signing and grant rules as functions ----

User WithGrants(const std::string& id, std::vector<Grant> grants) {
  User u;
  u.id = id;
  u.grants = std::move(grants);
  return u;
}

TEST(SigningRule, TheFirstSigningOfASessionNeedsIdAndPasswordLaterOnesThePassword) {
  const Value both = ParseJson(R"({"op":"sign","user":"inv.701","password":"pw"})").value();
  const Value password_only = ParseJson(R"({"op":"sign","password":"pw"})").value();
  const Value other = ParseJson(R"({"op":"sign","user":"inv.708","password":"pw"})").value();
  const Value no_password = ParseJson(R"({"op":"sign","user":"inv.701"})").value();
  EXPECT_EQ(SigningPassword(both, "inv.701", "investigator", false).value(), "pw");
  auto first = SigningPassword(password_only, "inv.701", "investigator", false);
  EXPECT_EQ(first.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(first.status().message(), "the first signing of a session needs your \"user\" id and \"password\"");
  EXPECT_EQ(SigningPassword(password_only, "inv.701", "investigator", true).value(), "pw");
  EXPECT_EQ(SigningPassword(both, "inv.701", "investigator", true).value(), "pw");
  EXPECT_EQ(SigningPassword(other, "inv.701", "investigator", false).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(SigningPassword(other, "inv.701", "investigator", true).status().code(), StatusCode::kPermissionDenied)
      << "an id given later must still be the signer's";
  EXPECT_EQ(SigningPassword(no_password, "inv.701", "investigator", true).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SigningPassword(both, "inv.701", "coordinator", false).status().message(), "role coordinator may not sign");
}

// A database lock and unlock are signed as a signature is, by the roles that take them.
TEST(SigningRule, ADatabaseLockIsSignedByTheDataManagerOrStudyAdministrator) {
  const Value both = ParseJson(R"({"op":"study.lock","user":"dm.1","password":"pw"})").value();
  const Value password_only = ParseJson(R"({"op":"study.unlock","password":"pw","reason":"r"})").value();
  EXPECT_EQ(LockSigningPassword(both, "dm.1", "data_manager", false).value(), "pw");
  EXPECT_EQ(LockSigningPassword(both, "dm.1", "study_admin", false).value(), "pw");
  EXPECT_EQ(LockSigningPassword(password_only, "dm.1", "data_manager", false).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(LockSigningPassword(password_only, "dm.1", "data_manager", true).value(), "pw");
  EXPECT_EQ(LockSigningPassword(both, "cra.1", "data_manager", false).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(LockSigningPassword(both, "dm.1", "investigator", false).status().message(),
            "role investigator may not lock or unlock the database");
}

TEST(GrantRules, WhoManagesAccessAndWhichGrantsAStudyTakes) {
  User sys = WithGrants("sys", {{"S1", "system_admin", "*"}});
  User admin = WithGrants("adm", {{"S1", "study_admin", "*"}});
  User cra = WithGrants("cra", {{"S1", "monitor", "*"}});
  EXPECT_TRUE(MayManageAccess(Access(sys, "S1"), true).ok());
  EXPECT_TRUE(MayManageAccess(Access(admin, "S1"), false).ok());
  EXPECT_EQ(MayManageAccess(Access(admin, "S1"), true).message(), "only a system administrator manages accounts");
  EXPECT_EQ(MayManageAccess(Access(cra, "S1"), false).message(), "only study and system administrators manage access");
  EXPECT_EQ(MayManageAccess(Access(admin, "S2"), false).code(), StatusCode::kPermissionDenied) << "another study";
  EXPECT_EQ(AccessAdminRole(Access(sys, "S1")), "system_admin");
  EXPECT_EQ(AccessAdminRole(Access(admin, "S1")), "study_admin");
  study::Study st;
  study::Site site;
  site.id = "701";
  site.name = "Site 701";
  st.sites.push_back(site);
  EXPECT_TRUE(ValidateGrant(st, Grant{"S1", "monitor", "701"}).ok());
  EXPECT_TRUE(ValidateGrant(st, Grant{"S1", "monitor", "*"}).ok());
  EXPECT_EQ(ValidateGrant(st, Grant{"S1", "monitor", "708"}).message(),
            "the study has no site \"708\" (give a site id, or *)");
  EXPECT_EQ(ValidateGrant(st, Grant{"S1", "wizard", "701"}).message(), "unknown role \"wizard\" (see doc/roles.md)");
}

// ---- Issue 13, item 6: unblinded access follows the acting grant ----

TEST(AccessTest, UnblindedAccessFollowsTheActingGrant) {
  User u = WithGrants("pharm", {{"S1", "unblinded_pharmacist", "701"}, {"S1", "sponsor_viewer", "708"}});
  Access a(u, "S1");
  EXPECT_TRUE(a.Unblinded(std::nullopt, "701"));
  EXPECT_FALSE(a.Unblinded(std::nullopt, "708"));
  EXPECT_FALSE(a.Unblinded("unblinded_pharmacist", "708")) << "not held at 708: naming it does not unblind";
  // Study-wide views span 708 too.
  EXPECT_FALSE(a.Unblinded("unblinded_pharmacist", ""));
  User only = WithGrants("p", {{"S1", "unblinded_pharmacist", "701"}});
  EXPECT_TRUE(Access(only, "S1").Unblinded(std::nullopt, ""));
  User everywhere = WithGrants("p", {{"S1", "unblinded_pharmacist", "*"}, {"S1", "monitor", "708"}});
  EXPECT_TRUE(Access(everywhere, "S1").Unblinded("unblinded_pharmacist", ""));
  EXPECT_TRUE(Access(everywhere, "S1").Unblinded("unblinded_pharmacist", "708"));
  EXPECT_FALSE(Access(everywhere, "S1").Unblinded("monitor", "708"));
  EXPECT_FALSE(Access(everywhere, "S1").Unblinded(std::nullopt, "708")) << "the role left to choose";
}

// ---- Issue 13, item 5: no lock across argon2id or an fsync ----

// Forwards to a store, and holds the system log's appends at a gate while it
// is closed: a login is then inside its durable write for as long as the
// test wants, and whatever must not wait for it can be tried meanwhile.
class GatedStore final : public EventStore {
 public:
  explicit GatedStore(EventStore* base) : base_(base) {}
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  void Open() {
    std::lock_guard lock(mu_);
    closed_ = false;
    cv_.notify_all();
  }
  // Waits until an append is held at the gate.
  void AwaitHeld() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return held_ > 0; });
  }
  Result<std::vector<Event>> Append(const AppendRequest& r) override {
    {
      std::unique_lock lock(mu_);
      ++held_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !closed_; });
      --held_;
    }
    return base_->Append(r);
  }
  Status ForEachEvent(const EventFilter& f, const std::function<Status(const Event&)>& fn) override {
    return base_->ForEachEvent(f, fn);
  }
  Status ForEachStoredRecord(const std::string& s, int64_t a, int64_t b,
                             const std::function<Status(const StoredRecord&)>& fn) override {
    return base_->ForEachStoredRecord(s, a, b, fn);
  }
  Result<std::vector<StudyHead>> Heads() override { return base_->Heads(); }
  StoreMetrics Metrics() override { return base_->Metrics(); }
  Result<uint64_t> LastSeq() override { return base_->LastSeq(); }
  std::unique_ptr<Subscription> Subscribe(uint64_t after, std::function<void(const Event&)> h) override {
    return base_->Subscribe(after, std::move(h));
  }
  Result<std::optional<EntityValue>> ReadEntity(const std::string& s, const std::string& p) override {
    return base_->ReadEntity(s, p);
  }
  Result<std::vector<EntityValue>> ReadStreamAsOf(const std::string& s, const std::string& st,
                                                  std::optional<int64_t> as_of) override {
    return base_->ReadStreamAsOf(s, st, as_of);
  }
  Result<uint64_t> RebuildProjections() override { return base_->RebuildProjections(); }
  Result<std::string> DumpProjections() override { return base_->DumpProjections(); }
  Result<bool> RegisterProjections(const ProjectionSet& set) override { return base_->RegisterProjections(set); }
  ServerState& server_state() override { return base_->server_state(); }
  Status RewriteProjections(const std::string& set, const std::string& study,
                            const std::function<Status(ProjectionWriter&, const StudyEventsByStream&)>& fn) override {
    return base_->RewriteProjections(set, study, fn);
  }
  Status QueryProjections(const std::string& sql, const std::vector<Value>& params,
                          const std::function<Status(const ProjectionRow&)>& fn) override {
    return base_->QueryProjections(sql, params, fn);
  }
  Result<Checkpoint> CreateCheckpoint(const std::string& s, const SigningKey& k) override {
    return base_->CreateCheckpoint(s, k);
  }
  Result<std::vector<Checkpoint>> Checkpoints(const std::string& s) override { return base_->Checkpoints(s); }
  Result<InclusionProof> ProveInclusion(uint64_t seq) override { return base_->ProveInclusion(seq); }
  Result<ConsistencyProof> ProveConsistency(const std::string& s, uint64_t a, uint64_t b) override {
    return base_->ProveConsistency(s, a, b);
  }

 private:
  EventStore* base_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  int held_ = 0;
};

// Runs `slow` on a thread while its durable write is held at the gate, and
// checks that reads of the directory complete meanwhile: they are done
// before the gate opens, so they cannot have waited for the write. (Were a
// lock held across the write, the reads would wait for the gate, which
// opens only after them: the test would fail at its bound, not hang.)
void ExpectReadsGoOnDuring(GatedStore& gated, UserDirectory& users, const std::function<void()>& slow) {
  gated.Close();
  std::thread writer(slow);
  gated.AwaitHeld();
  std::atomic<bool> reads_done{false};
  std::thread reader([&] {
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(users.Find("coord.701").ok());
      ASSERT_TRUE(users.FindByToken("tct_no_such_token").status().code() == StatusCode::kPermissionDenied);
      ASSERT_EQ(users.All().size(), 2u);
    }
    reads_done = true;
  });
  // A bound for failure only (the reads take microseconds when they do not wait).
  for (int i = 0; i < 1000 && !reads_done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const bool done_while_held = reads_done.load();
  gated.Open();
  reader.join();
  writer.join();
  EXPECT_TRUE(done_while_held) << "reads waited for a durable write";
}

class UsersLockTest : public UsersTest {
 protected:
  void SetUp() override {
    UsersTest::SetUp();
    ASSERT_TRUE(users_->Add("coord.701", "Casey Coordinator", kPassword, kAdmin).ok());
    ASSERT_TRUE(users_->Add("inv.701", "Ivy Investigator", kPassword, kAdmin).ok());
    gated_ = std::make_unique<GatedStore>(store_.get());
    gated_users_ = std::move(UserDirectory::Open(gated_.get(), &env_).value());
  }
  std::unique_ptr<GatedStore> gated_;
  std::unique_ptr<UserDirectory> gated_users_;
};

TEST_F(UsersLockTest, ALoginHoldsNoLockAcrossItsDurableWrite) {
  ExpectReadsGoOnDuring(*gated_, *gated_users_,
                        [&] { EXPECT_TRUE(gated_users_->Login("inv.701", kPassword, "t").ok()); });
  ExpectReadsGoOnDuring(*gated_, *gated_users_, [&] {
    EXPECT_EQ(gated_users_->Login("inv.701", "wrong password!!", "t").status().code(), StatusCode::kPermissionDenied);
  });
  ExpectReadsGoOnDuring(*gated_, *gated_users_,
                        [&] { EXPECT_TRUE(gated_users_->Reauthenticate("inv.701", kPassword, "t").ok()); });
  // An audited view's record.
  ExpectReadsGoOnDuring(*gated_, *gated_users_, [&] {
    EXPECT_TRUE(gated_users_->Record("audit.viewed", Actor{"inv.701", "user"}, Value::Object{{"subject", "1"}}).ok());
  });
  // The failure recorded while reads went on still counts towards the lockout.
  EXPECT_EQ(gated_users_->Find("inv.701")->failed_logins, 0) << "the reauthentication after it cleared it";
}

// A login during a burst of reads: the reads complete while the login's
// argon2id verification is still running. Proven by order, not speed: a
// reader loops on Find() and stamps each completion; the login stamps its
// start and end; some read must complete in the middle third of the login,
// which is argon2id (tens of milliseconds), where a lock held across the
// verification would let none through. Tried up to three times, so that one
// unlucky descheduling of the reader on a loaded machine does not fail it.
TEST_F(UsersLockTest, ReadsDuringALoginCompleteWhileItsPasswordHashRuns) {
  using Clock = std::chrono::steady_clock;
  bool seen = false;
  for (int attempt = 0; attempt < 3 && !seen; ++attempt) {
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::vector<Clock::time_point> reads;
    std::thread reader([&] {
      while (!stop) {
        ASSERT_TRUE(users_->Find("coord.701").ok());
        std::lock_guard lock(mu);
        reads.push_back(Clock::now());
      }
    });
    const auto start = Clock::now();
    ASSERT_TRUE(users_->Login("inv.701", kPassword, "t").ok());
    const auto end = Clock::now();
    stop = true;
    reader.join();
    const auto third = (end - start) / 3;
    std::lock_guard lock(mu);
    seen = std::any_of(reads.begin(), reads.end(), [&](auto t) { return t > start + third && t < end - third; });
  }
  EXPECT_TRUE(seen) << "no read completed while the login's password hash ran";
}

// Behind haproxy (option forwardfor) the client is the address the trusted
// proxy saw; anyone else's X-Forwarded-For is ignored, and a client cannot
// pass for another by sending its own header first.
TEST(ClientAddressTest, OnlyATrustedProxysForwardedForNamesTheClient) {
  const std::vector<std::string> proxies{"127.0.0.1", "10.0.0.2"};
  EXPECT_EQ(ClientAddress("192.0.2.7", "", proxies), "192.0.2.7");
  EXPECT_EQ(ClientAddress("192.0.2.7", "203.0.113.9", proxies), "192.0.2.7") << "not a proxy: its header is ignored";
  EXPECT_EQ(ClientAddress("127.0.0.1", "203.0.113.9", proxies), "203.0.113.9");
  EXPECT_EQ(ClientAddress("127.0.0.1", "", proxies), "127.0.0.1") << "a proxy's own request";
  EXPECT_EQ(ClientAddress("127.0.0.1", "6.6.6.6, 203.0.113.9", proxies), "203.0.113.9")
      << "the spoofed entry the client sent comes before the one the proxy added";
  EXPECT_EQ(ClientAddress("127.0.0.1", "203.0.113.9 , 10.0.0.2", proxies), "203.0.113.9") << "through two proxies";
  EXPECT_EQ(ClientAddress("127.0.0.1", "10.0.0.2", proxies), "10.0.0.2") << "every entry a proxy";
  EXPECT_EQ(ClientAddress("127.0.0.1", " , ", proxies), "127.0.0.1") << "empty entries";
  EXPECT_EQ(ClientAddress("127.0.0.1", "203.0.113.9", {}), "127.0.0.1") << "no proxy trusted";
}

}  // namespace
// The dashboard's text is what ToJson writes for the same figures as
// objects: keys in byte order, text escaped, empty lists and sites too.
TEST(DashboardJsonTextTest, IsWhatToJsonWritesForTheSameObjects) {
  capture::DashboardFigures d;
  auto as_value = [](const capture::DashboardFigures& f, int64_t planned) {
    Value::Object by_site;
    for (const auto& [site, statuses] : f.subjects_by_site) {
      Value::Object counts;
      for (const auto& [status, n] : statuses) counts[status] = n;
      by_site[site] = counts;
    }
    auto list = [](const std::vector<capture::VisitRef>& refs) {
      Value::Array out;
      for (const auto& r : refs) {
        Value::Object o;
        o["subject"] = Value(r.subject);
        o["visit"] = Value(r.visit);
        o["status"] = Value(r.status);
        out.emplace_back(std::move(o));
      }
      return out;
    };
    auto ages = [](const std::array<int64_t, 3>& age) {
      return Value::Object{{"0-7 days", age[0]}, {"8-30 days", age[1]}, {"over 30 days", age[2]}};
    };
    Value::Object out{{"planned_subjects", planned},
                      {"subjects_by_site", by_site},
                      {"open_queries_by_age", ages(f.open_queries_by_age)},
                      {"answered_queries_by_age", ages(f.answered_queries_by_age)},
                      {"overdue_visits", f.overdue_visits},
                      {"visits_out_of_window", f.visits_out_of_window},
                      {"unsigned_casebooks", f.unsigned_casebooks}};
    out["database_locked"] = f.database_locked;
    out["overdue"] = list(f.overdue);
    out["out_of_window"] = list(f.out_of_window);
    out["unsigned"] = list(f.unsigned_casebook_list);
    return ToJson(Value(out));
  };
  EXPECT_EQ(DashboardJsonText(d, 0), as_value(d, 0));
  d.subjects_by_site["701"] = {{"enrolled", 12}, {"completed", 3}};
  d.subjects_by_site["7\"02\\"] = {};
  d.subjects_by_site["703"] = {{"screen_failed", -1}};
  d.open_queries_by_age = {5, 0, 123456789012};
  d.answered_queries_by_age = {0, 7, 1};
  d.overdue_visits = 2;
  d.visits_out_of_window = 1;
  d.unsigned_casebooks = 1;
  d.database_locked = true;
  d.overdue = {{"701-1001", "WEEK2", "overdue"}, {"701-1002", "WEEK\n4", "overdue"}};
  d.out_of_window = {{"701-1003", "WEEK8", "late"}};
  d.unsigned_casebook_list = {{"701-1004", "", "completed"}};
  EXPECT_EQ(DashboardJsonText(d, 300), as_value(d, 300));
}

// The inbox's text is what ToJson writes for the same page as objects,
// at several clock times (ages move with the clock, not with the data).
TEST(QueryInboxJsonTextTest, IsWhatToJsonWritesForTheSameObjects) {
  auto as_value = [](const capture::QueryPage& page, size_t offset, size_t limit, int64_t now) {
    Value::Array items;
    for (const auto& q : *page.queries) {
      Value::Object o;
      o["query"] = Value(static_cast<int64_t>(q.number));
      o["raised_by"] = RaisedByJson(q.check, q.message, q.opened_by, q.opened_role, 0, false);
      for (const auto& [k, v] : {std::pair<const char*, const std::string*>{"visit", &q.visit},
                                 {"form", &q.form},
                                 {"item", &q.item},
                                 {"check", &q.check},
                                 {"state", &q.state},
                                 {"subject", &q.subject},
                                 {"site", &q.site},
                                 {"message", &q.message}}) {
        o[k] = Value(*v);
      }
      if (!q.group.empty()) {
        o["group"] = q.group;
        o["row"] = static_cast<int64_t>(q.row);
      }
      o["age_days"] = (now - (q.opened_us != 0 ? q.opened_us : now)) / rules::kMicrosPerDay;
      items.emplace_back(std::move(o));
    }
    Value::Object out;
    out["queries"] = Value(items);
    out["total"] = Value(page.total);
    out["offset"] = Value(static_cast<int64_t>(offset));
    out["limit"] = Value(static_cast<int64_t>(limit));
    return ToJson(Value(out));
  };
  capture::QueryPage page;
  EXPECT_EQ(QueryInboxJsonText(page, 0, 100, 0), as_value(page, 0, 100, 0));
  const int64_t day = rules::kMicrosPerDay, opened = 1'700'000'000'000'000;
  capture::QuerySummary plain;
  plain.number = 3;
  plain.subject = "701-1001";
  plain.site = "701";
  plain.visit = "WEEK2";
  plain.form = "VS";
  plain.item = "WEIGHT";
  plain.check = "VS01";
  plain.state = "open";
  plain.message = "Weight \"differs\"\nplease check\\ \u00e9";
  plain.opened_us = opened;
  plain.opened_by = "coord.701";
  plain.opened_role = "coordinator";
  capture::QuerySummary in_group = plain;
  in_group.opened_by = "cra.\"1";
  in_group.opened_role = "monitor";
  in_group.number = 2147483647;
  in_group.group = "AE";
  in_group.row = 12;
  in_group.check = "";
  in_group.state = "answered";
  capture::QuerySummary unknown_age = plain;
  unknown_age.opened_us = 0;
  page.queries = std::make_shared<const std::vector<capture::QuerySummary>>(
      std::vector<capture::QuerySummary>{plain, in_group, unknown_age});
  page.total = 1234567;
  for (int64_t now : {opened, opened + day - 1, opened + day, opened + 45 * day + 7}) {
    EXPECT_EQ(QueryInboxJsonText(page, 200, 100, now), as_value(page, 200, 100, now)) << now;
  }
  EXPECT_NE(QueryInboxJsonText(page, 0, 100, opened + 45 * day).find("\"age_days\":45"), std::string::npos);
  // A check's query is the system's, after the save of the user named.
  const std::string text = QueryInboxJsonText(page, 0, 100, opened);
  EXPECT_NE(text.find(R"("raised_by":{"check":"VS01","kind":"edit_check","message":)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("triggered_by":{"role":"coordinator","user":"coord.701"}})"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("raised_by":{"kind":"user","role":"monitor","user":"cra.\"1"})"), std::string::npos) << text;
}

// A form's text is what ToJson writes for FormJson's object with the
// subject, visit, form and status added: for blinded and unblinded callers,
// with hidden items in plain and repeating groups, removed rows, items not
// done, and a form with nothing entered.
TEST(FormJsonTextTest, IsWhatToJsonWritesForFormJson) {
  study::Form def;
  def.id = "EX";
  auto item = [](const char* id, bool hidden) {
    study::Item it;
    it.id = id;
    it.unblinded_only = hidden;
    return it;
  };
  study::ItemGroup main_group, rows_group;
  main_group.id = "MAIN";
  main_group.items = {item("DATE", false), item("DOSE", true), item("NOTE", false)};
  rows_group.id = "KITS";
  rows_group.repeating = true;
  rows_group.items = {item("KIT", true), item("QTY", false)};
  def.groups = {main_group, rows_group};
  study::Study st;
  st.forms = {def};

  capture::FormState f;
  f.items["DATE"].value = Value(std::string("2026-01-02"));
  f.items["DATE"].verified = true;
  f.items["DOSE"].value = Value(*Decimal::Parse("12.50"));
  f.items["NOTE"].not_done = "not \"asked\"";
  f.items["GONE"].value = Value(int64_t{7});  // no longer in the definition
  f.rows["KITS"][1].items["KIT"].value = Value(std::string("K-1"));
  f.rows["KITS"][1].items["QTY"].value = Value(int64_t{2});
  f.rows["KITS"][2].removed = true;
  f.rows["KITS"][3].items["QTY"].value = Value();
  // A row's MedDRA coding (an adverse event's): the form page shows it as the casebook does.
  capture::SafetyCoding& coding = f.rows["KITS"][3].coding.emplace();
  coding.verbatim = "Head \"ache\"";
  coding.meddra_version = "27.1";
  coding.method = "normalised";
  coding.llt = 40000001;
  coding.llt_name = "Headache";
  coding.pt = 40000001;
  coding.pt_name = "Headache";
  coding.soc = 10000001;
  coding.soc_name = "Nervous system disorders";
  f.rows["EMPTY"];
  f.frozen = true;
  auto expected = [&](const capture::FormState* state, bool blind, std::string_view read_only) {
    Value::Object o = FormJson(state, def.id, HiddenItems(st, blind)).as_object();
    o["subject"] = Value(std::string("701-1001"));
    o["visit"] = Value(std::string("WEEK\n2"));
    o["form"] = Value(def.id);
    o["status"] = Value(std::string("in_progress"));
    if (!read_only.empty()) o["read_only"] = Value(std::string(read_only));
    return ToJson(Value(o));
  };
  for (bool blind : {true, false}) {
    for (const capture::FormState* state : std::vector<const capture::FormState*>{&f, nullptr}) {
      for (std::string_view read_only : {"", "database_locked", "form_frozen"}) {
        EXPECT_EQ(FormJsonText({"701-1001", "WEEK\n2", "in_progress", state, read_only}, def, blind),
                  expected(state, blind, read_only))
            << blind << read_only;
      }
    }
  }
  EXPECT_EQ(FormJsonText({"701-1001", "WEEK2", "in_progress", &f}, def, true).find("K-1"), std::string::npos);
  EXPECT_NE(FormJsonText({"701-1001", "WEEK2", "in_progress", &f}, def, false).find("K-1"), std::string::npos);
  EXPECT_NE(FormJsonText({"701-1001", "WEEK2", "in_progress", &f}, def, true).find("\"pt\":{\"code\":40000001"),
            std::string::npos);
}

// The subject list's text is what ToJson writes for the same page as objects.
TEST(SubjectListJsonTextTest, IsWhatToJsonWritesForTheSameObjects) {
  auto as_value = [](const capture::SubjectPage& page, size_t offset, size_t limit) {
    Value::Array items;
    for (const auto& s : page.subjects) {
      Value::Object o;
      o["id"] = Value(s.id);
      o["site"] = Value(s.site);
      o["status"] = Value(s.status);
      o["inactive"] = Value(s.inactive);
      o["open_queries"] = Value(s.open_queries);
      o["answered_queries"] = Value(s.answered_queries);
      items.emplace_back(std::move(o));
    }
    Value::Object out;
    out["subjects"] = Value(items);
    out["total"] = Value(page.total);
    out["offset"] = Value(static_cast<int64_t>(offset));
    out["limit"] = Value(static_cast<int64_t>(limit));
    return ToJson(Value(out));
  };
  capture::SubjectPage page;
  EXPECT_EQ(SubjectListJsonText(page, 0, 100), as_value(page, 0, 100));
  capture::SubjectSummary a, b;
  a.id = "701-1001";
  a.site = "701";
  a.status = "enrolled";
  a.open_queries = 3;
  a.answered_queries = 2;
  b.id = "7\"08-1\\002";
  b.site = "708";
  b.status = "screen_failed";
  b.inactive = true;
  page.subjects = {a, b};
  page.total = 30000;
  EXPECT_EQ(SubjectListJsonText(page, 900, 100), as_value(page, 900, 100));
}

}  // namespace trialcore::api
