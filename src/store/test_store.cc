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
  std::map<std::string, std::string> urls;  // (test, name) -> database URL
  int databases = 0;
};

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

namespace {

// The test process's server, started on first use.
Result<pg::TestServer*> Server() {
  std::string error;
  pg::TestServer* server = pg::SharedTestServer(&error);
  if (server == nullptr)
    return FailedPrecondition("starting PostgreSQL 15 for a test on the PostgreSQL back end: " + error);
  return server;
}

Result<std::string> ReadSmallFile(Env* env, const std::string& path) {
  TC_ASSIGN_OR_RETURN(auto f, env->OpenFile(path, {}));
  TC_ASSIGN_OR_RETURN(uint64_t size, f->Size());
  std::string text(size, '\0');
  size_t got = 0;
  TC_RETURN_IF_ERROR(f->Read(0, text.size(), text.data(), &got));
  text.resize(got);
  return text;
}

}  // namespace

Result<std::string> TestDbArgument(const std::string& name) {
  if (!TestingOnPostgres()) return name;
  PostgresForTests& p = Postgres();
  std::lock_guard lock(p.mu);
  TC_ASSIGN_OR_RETURN(pg::TestServer * server, Server());
  const std::string key = CurrentTest() + "|" + name;
  auto it = p.urls.find(key);
  if (it == p.urls.end()) {
    TC_ASSIGN_OR_RETURN(std::string made, server->CreateDatabase("t" + std::to_string(++p.databases)));
    it = p.urls.emplace(key, made).first;
  }
  return it->second;
}

Result<std::unique_ptr<EventStore>> OpenTestStore(const std::string& name, const StoreOpenOptions& options) {
  if (!TestingOnPostgres() || options.env->IsPosix()) {
    TC_ASSIGN_OR_RETURN(std::string db, TestDbArgument(name));
    return OpenEventStore(db, options);
  }
  // A path through an in-memory Env names a file of that Env only: a new Env
  // is a new database, the same Env again the same one. So the database's
  // URL is kept in the Env, beside where the file would be.
  const std::string marker = name + ".postgres-url";
  std::string url;
  if (options.env->FileExists(marker)) {
    TC_ASSIGN_OR_RETURN(url, ReadSmallFile(options.env, marker));
  } else {
    PostgresForTests& p = Postgres();
    {
      std::lock_guard lock(p.mu);
      TC_ASSIGN_OR_RETURN(pg::TestServer * server, Server());
      TC_ASSIGN_OR_RETURN(url, server->CreateDatabase("t" + std::to_string(++p.databases)));
    }
    OpenOptions create;
    create.create = true;
    TC_ASSIGN_OR_RETURN(auto f, options.env->OpenFile(marker, create));
    TC_RETURN_IF_ERROR(f->Write(0, url));
  }
  // On PostgreSQL its clock is options.env's, as on SQLite.
  return OpenEventStore(url, options);
}

}  // namespace trialcore::testing_util
