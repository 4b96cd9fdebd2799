// Sending one e-mail by SMTP (libcurl, kept out of this header).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace trialcore::notify {

// smtp://host[:port] or smtps://host[:port]; InvalidArgument naming the URL
// otherwise.
Status CheckSmtpUrl(const std::string& url);
// A bare address (name@domain) for the envelope and the From header.
Status CheckMailAddress(const std::string& address);

class MailTransport {
 public:
  virtual ~MailTransport() = default;
  // Sends message (RFC 5322 text) from one address to one; returns the
  // server's last reply ("250 OK ..."). IoError (unreachable, timed out, or
  // refused, with the server's reply) when it was not accepted.
  virtual Result<std::string> Send(const std::string& from, const std::string& to, const std::string& message) = 0;
};

// Each Send connects anew: notifications are rare, and a connection kept
// open would only go stale between them. Thread safety: Send from one
// thread at a time.
std::unique_ptr<MailTransport> MakeSmtpTransport(const std::string& url, int64_t timeout_ms);

}  // namespace trialcore::notify
