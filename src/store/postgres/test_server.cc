#include "store/postgres/test_server.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "core/loopback.h"
#include "store/postgres/pg_conn.h"

namespace trialcore::pg {
namespace {

constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";
constexpr const char* kUser = "trialcore";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Status TestServer::Run(const std::string& command, const std::string& what) const {
  const std::string line = as_user_ + command + " >>" + dir_ + "/commands.log 2>&1";
  int rc = std::system(line.c_str());
  if (rc != 0) {
    return Internal(what + " failed (exit " + std::to_string(rc) + "): " + line + "\n" +
                    ReadFile(dir_ + "/commands.log") + ReadFile(dir_ + "/server.log"));
  }
  return Status::Ok();
}

Result<std::unique_ptr<TestServer>> TestServer::Start(bool durable) {
  for (const char* bin : {"initdb", "pg_ctl", "postgres"}) {
    if (access((std::string(kBinDir) + "/" + bin).c_str(), X_OK) != 0) {
      return FailedPrecondition(std::string("PostgreSQL 15 is not installed (no ") + kBinDir + "/" + bin +
                                "): run scripts/install-deps.sh, which installs postgresql-15");
    }
  }
  std::unique_ptr<TestServer> server(new TestServer());
  // Short, under /tmp: a unix socket's path must stay under 108 bytes.
  std::string tmpl = "/tmp/trialcore-pg-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return IoError("cannot make a temporary folder for PostgreSQL under /tmp");
  server->dir_ = tmpl;
  if (geteuid() == 0) {
    // initdb and postgres refuse root: run them as nobody, who owns the folder.
    passwd* nobody = getpwnam("nobody");
    if (nobody == nullptr) return FailedPrecondition("running as root, and there is no user nobody to run PostgreSQL");
    if (chown(server->dir_.c_str(), nobody->pw_uid, nobody->pw_gid) != 0) {
      return IoError("cannot give " + server->dir_ + " to user nobody");
    }
    server->as_user_ = "setpriv --reuid=" + std::to_string(nobody->pw_uid) +
                       " --regid=" + std::to_string(nobody->pw_gid) + " --clear-groups -- ";
  }
  const std::string data = server->dir_ + "/data";
  // Trust on the socket and on 127.0.0.1 only; --no-sync and fsync=off since a
  // test's cluster never has to survive a crash of the machine.
  TC_RETURN_IF_ERROR(server->Run(std::string(kBinDir) + "/initdb -D " + data + " -U " + kUser +
                                     (durable ? "" : " --no-sync") +
                                     " --auth=trust --no-instructions -E UTF8 --locale=C",
                                 "initdb"));
  Status started;
  for (int attempt = 0; attempt < 5; ++attempt) {
    server->port_ = FreeLoopbackPort();
    started = server->Run(std::string(kBinDir) + "/pg_ctl -D " + data + " -l " + server->dir_ +
                              "/server.log -w -t 60 " + "-o \"-p " + std::to_string(server->port_) + " -k " +
                              server->dir_ + " -c listen_addresses=127.0.0.1 -c fsync=" + (durable ? "on" : "off") +
                              " -c max_connections=200\" start",
                          "starting PostgreSQL on port " + std::to_string(server->port_));
    if (started.ok()) break;
  }
  TC_RETURN_IF_ERROR(started);
  server->started_ = true;
  return server;
}

TestServer::~TestServer() {
  if (started_) (void)Run(std::string(kBinDir) + "/pg_ctl -D " + dir_ + "/data -m immediate -w stop", "stopping");
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

std::string TestServer::Url(const std::string& database) const {
  return "postgresql://" + std::string(kUser) + "@/" + database + "?host=" + dir_ + "&port=" + std::to_string(port_);
}

std::string TestServer::TcpUrl(const std::string& database) const {
  return "postgresql://" + std::string(kUser) + "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

Result<std::string> TestServer::CreateDatabase(const std::string& name) {
  TC_ASSIGN_OR_RETURN(auto conn, Conn::Connect(Url("postgres")));
  TC_RETURN_IF_ERROR(conn->Exec("CREATE DATABASE " + name));
  return Url(name);
}

TestServer* SharedTestServer(std::string* error) {
  static std::unique_ptr<TestServer> server;
  static std::string failure;
  static std::once_flag once;
  std::call_once(once, [] {
    auto s = TestServer::Start();
    if (s.ok()) {
      server = std::move(s).value();
    } else {
      failure = s.status().ToString();
    }
  });
  *error = failure;
  return server.get();
}

}  // namespace trialcore::pg
