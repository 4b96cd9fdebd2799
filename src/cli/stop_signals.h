// How a long-running command (serve, events publish) stops: SIGINT and
// SIGTERM are taken by a thread of their own, since stopping is not safe
// from a signal handler.
#pragma once

#include <signal.h>

#include <functional>
#include <thread>

#include "core/status.h"

namespace trialcore::cli {

class StopSignals {
 public:
  // Blocks both in this thread and every thread started after it: construct
  // before any. A shell starts background jobs with SIGINT ignored; an
  // ignored signal never reaches sigwait, so both are restored to their
  // default first (blocked, the default never runs).
  StopSignals() {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }

  // Runs run() while a thread waits for a signal and then calls stop();
  // when run() returns on its own, the waiting thread is released.
  Status RunUntilStopped(const std::function<Status()>& run, const std::function<void()>& stop) {
    std::thread stopper([&] {
      int sig = 0;
      sigwait(&set_, &sig);
      stop();
    });
    Status st = run();
    pthread_kill(stopper.native_handle(), SIGTERM);
    stopper.join();
    return st;
  }

 private:
  sigset_t set_;
};

}  // namespace trialcore::cli
