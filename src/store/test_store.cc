#include "store/test_store.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <string_view>

#include "store/postgres/test_server.h"

namespace trialcore::testing_util {
namespace {

struct PostgresForTests {
  std::mutex mu;
  std::unique_ptr<pg::TestServer> server;
  Status started = Status::Ok();
  bool tried = false;
  std::map<std::string, std::string> urls;  // (test, name) -> database URL
  int databases = 0;
};

// Stopped, and its folder removed, when the test process exits.
PostgresForTests& Postgres() {
  static PostgresForTests p;
  return p;
}

std::string CurrentTest() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return info ? std::string(info->test_suite_name()) + "." + info->name() : "";
}

}  // namespace

bool TestingOnPostgres() {
  const char* backend = std::getenv("TRIALCORE_TEST_BACKEND");
  return backend != nullptr && std::string_view(backend) == "postgres";
}

std::string TestBackendName() { return TestingOnPostgres() ? "PostgreSQL" : "SQLite"; }

Result<std::string> TestDbArgument(const std::string& name) {
  if (!TestingOnPostgres()) return name;
  PostgresForTests& p = Postgres();
  std::lock_guard lock(p.mu);
  if (!p.tried) {
    p.tried = true;
    auto s = pg::TestServer::Start();
    if (s.ok()) {
      p.server = std::move(s).value();
    } else {
      p.started = s.status();
    }
  }
  if (!p.server) return p.started.WithContext("starting PostgreSQL 15 for a test on the PostgreSQL back end");
  const std::string key = CurrentTest() + "|" + name;
  auto it = p.urls.find(key);
  if (it == p.urls.end()) {
    TC_ASSIGN_OR_RETURN(std::string made, p.server->CreateDatabase("t" + std::to_string(++p.databases)));
    it = p.urls.emplace(key, made).first;
  }
  return it->second;
}

Result<std::unique_ptr<EventStore>> OpenTestStore(const std::string& name, const StoreOpenOptions& options) {
  TC_ASSIGN_OR_RETURN(std::string db, TestDbArgument(name));
  // On PostgreSQL its clock is options.env's, as on SQLite.
  return OpenEventStore(db, options);
}

}  // namespace trialcore::testing_util
