// For tests outside C++ (the browser tests): starts a PostgreSQL 15 test
// server (test_server.h) with one database, prints its URL on one line, and
// stops it, removing its folder, when it gets SIGTERM or SIGINT or its
// standard input closes.
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <string>
#include <thread>

#include "store/postgres/test_server.h"

int main(int argc, char** argv) {
  // Blocked here and taken by sigwait below, so that the server is stopped
  // by its destructor, never left running by a default SIGTERM.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  const std::string database = argc > 1 ? argv[1] : "trialcore";
  auto server = trialcore::pg::TestServer::Start();
  if (!server.ok()) {
    std::cerr << server.status().ToString() << "\n";
    return 1;
  }
  auto url = (*server)->CreateDatabase(database);
  if (!url.ok()) {
    std::cerr << url.status().ToString() << "\n";
    return 1;
  }
  std::cout << *url << std::endl;
  std::thread([] {
    std::string line;
    while (std::getline(std::cin, line)) {
    }
    kill(getpid(), SIGUSR1);
  }).detach();
  int signal = 0;
  sigwait(&stop, &signal);
  return 0;
}
