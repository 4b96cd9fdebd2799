// For tests only: a real SMTP server, Debian's aiosmtpd (python3-aiosmtpd,
// installed by scripts/install-deps.sh), on a free port of 127.0.0.1,
// keeping every mail it accepts in a maildir of a temporary folder; killed
// and removed when this object goes. Kill() and Restart() take it away and
// bring it back on the same port with the same mailbox.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace trialcore::notify {

class SmtpTestSink {
 public:
  // Errors say what failed and how to mend it (no aiosmtpd: install it).
  static Result<std::unique_ptr<SmtpTestSink>> Start();
  ~SmtpTestSink();
  SmtpTestSink(const SmtpTestSink&) = delete;
  SmtpTestSink& operator=(const SmtpTestSink&) = delete;

  std::string Url() const;  // smtp://127.0.0.1:<port>
  int port() const { return port_; }
  void Kill();
  Status Restart();

  // Every mail received, each as its file holds it (headers and body), in
  // no particular order.
  std::vector<std::string> Mails() const;

 private:
  SmtpTestSink() = default;
  Status Launch();
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace trialcore::notify
