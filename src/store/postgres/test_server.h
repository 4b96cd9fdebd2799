// For tests only: a real PostgreSQL 15 server from Debian's packages
// (postgresql-15, installed by scripts/install-deps.sh), made by initdb in a
// temporary folder, listening on a free port of 127.0.0.1 and on a unix
// socket in that folder, and stopped and removed when this object goes.
// initdb and postgres refuse to run as root: as root they run as `nobody`,
// who owns the folder; as any other user they run as that user.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"

namespace trialcore::pg {

class TestServer {
 public:
  // Errors say what failed and how to fix it (no binaries: install
  // postgresql-15; a failed start: the server's log).
  // durable: fsync on, as a production server runs (for benchmarks); tests
  // run without, since their cluster never has to survive the machine.
  static Result<std::unique_ptr<TestServer>> Start(bool durable = false);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  // A URL of a database on this server (over the unix socket).
  std::string Url(const std::string& database) const;
  // The same database over TCP, as a user's URL would name it.
  std::string TcpUrl(const std::string& database) const;
  // Creates a new, empty database and returns its URL.
  Result<std::string> CreateDatabase(const std::string& name);

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }

 private:
  TestServer() = default;
  Status Run(const std::string& command, const std::string& what) const;
  std::string dir_;
  std::string as_user_;  // "setpriv ... --" when run as root, else empty
  int port_ = 0;
  bool started_ = false;
};

// One server for the whole test process, started on first use and stopped
// when the process exits; nullptr with *error saying why it could not start.
TestServer* SharedTestServer(std::string* error);

}  // namespace trialcore::pg
