// For tests of the trialcore binary as a server: `trialcore serve` in a
// child process, and haproxy in front of several of them.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/loopback.h"

namespace trialcore {

inline const std::string kTrialcoreBin = TRIALCORE_BIN;

// Runs `trialcore serve` until destroyed; its first line of output names the URL.
class ServerProcess {
 public:
  // shell: run first by the shell that starts the server (e.g. a trap).
  // log: the file in dir that takes the server's standard error.
  ServerProcess(const std::string& dir, const std::string& args, const std::string& shell = "",
                const std::string& log = "serve.log") {
    int out[2];
    EXPECT_EQ(pipe(out), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      std::string err = dir + "/" + log;
      freopen(err.c_str(), "w", stderr);
      std::string cmd =
          "cd '" + dir + "' && " + (shell.empty() ? "" : shell + " && ") + "exec " + kTrialcoreBin + " serve " + args;
      execl("/bin/sh", "sh", "-c", cmd.c_str(), nullptr);
      _exit(127);
    }
    close(out[1]);
    FILE* f = fdopen(out[0], "r");
    char line[512] = {0};
    if (fgets(line, sizeof line, f) != nullptr) {
      std::string s(line);
      size_t at = s.find("http://127.0.0.1:");
      if (at != std::string::npos) port_ = std::stoi(s.substr(at + 17));
    }
    out_ = f;
  }
  ~ServerProcess() { Stop(); }
  int Stop(int sig = SIGTERM) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    if (out_ != nullptr) fclose(out_);
    out_ = nullptr;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  FILE* out_ = nullptr;
};

// Debian's haproxy in front of trialcore servers, as a deployment runs it
// (README): round robin, each server's health checked every 100 ms, a
// request whose server cannot be reached sent to another. Stopped when
// destroyed.
class HaproxyProcess {
 public:
  HaproxyProcess(const std::string& dir, const std::vector<int>& servers) {
    port_ = FreeLoopbackPort();
    const std::string config = dir + "/haproxy.cfg";
    std::ofstream cfg(config);
    cfg << "global\n  maxconn 4096\n"
        << "defaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n"
        << "  option redispatch\n  retries 2\n  option forwardfor\n"
        << "frontend trialcore\n  bind 127.0.0.1:" << port_ << "\n  default_backend servers\n"
        << "backend servers\n  balance roundrobin\n  option httpchk HEAD /api/openapi.json\n";
    for (size_t i = 0; i < servers.size(); ++i) {
      cfg << "  server s" << i + 1 << " 127.0.0.1:" << servers[i] << " check inter 100ms fall 1 rise 1\n";
    }
    cfg.close();
    pid_ = fork();
    if (pid_ == 0) {
      const std::string log = dir + "/haproxy.log";
      freopen(log.c_str(), "w", stdout);
      freopen(log.c_str(), "a", stderr);
      execlp("haproxy", "haproxy", "-db", "-f", config.c_str(), nullptr);
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!LoopbackAccepts(port_) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!LoopbackAccepts(port_)) port_ = 0;
  }
  ~HaproxyProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  // 0 when haproxy did not start (its log says why).
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace trialcore
