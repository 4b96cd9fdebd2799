#include "notify/smtp.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

namespace trialcore::notify {
namespace {

// libcurl's global state, made once before any handle (it is not thread safe).
void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Upload {
  const std::string* text;
  size_t offset = 0;
};

size_t ReadBody(char* buffer, size_t size, size_t count, void* user) {
  auto* u = static_cast<Upload*>(user);
  const size_t n = std::min(size * count, u->text->size() - u->offset);
  std::memcpy(buffer, u->text->data() + u->offset, n);
  u->offset += n;
  return n;
}

// The server's replies, for the last one: what the audit trail records.
int OnDebug(CURL*, curl_infotype type, char* data, size_t size, void* user) {
  if (type == CURLINFO_HEADER_IN) {
    std::string line(data, size);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (!line.empty()) *static_cast<std::string*>(user) = line;
  }
  return 0;
}

class SmtpTransport : public MailTransport {
 public:
  SmtpTransport(std::string url, int64_t timeout_ms) : url_(std::move(url)), timeout_ms_(timeout_ms) {}

  Result<std::string> Send(const std::string& from, const std::string& to, const std::string& message) override {
    InitCurlOnce();
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
    if (!curl) return Internal("libcurl could not make a handle");
    curl_slist* raw = curl_slist_append(nullptr, ("<" + to + ">").c_str());
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> recipients(raw, &curl_slist_free_all);
    Upload upload{&message};
    std::string last_reply;
    char error[CURL_ERROR_SIZE] = {};
    const std::string mail_from = "<" + from + ">";
    CURL* h = curl.get();
    curl_easy_setopt(h, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from.c_str());
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, recipients.get());
    curl_easy_setopt(h, CURLOPT_READFUNCTION, &ReadBody);
    curl_easy_setopt(h, CURLOPT_READDATA, &upload);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms_));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms_));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // a server thread must not get SIGALRM
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, &OnDebug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, &last_reply);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);  // the debug callback sees replies only when verbose
    // smtp:// upgrades to TLS when the server offers it; smtps:// is TLS from the start.
    curl_easy_setopt(h, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
      std::string why = error[0] != '\0' ? error : curl_easy_strerror(rc);
      if (!last_reply.empty() && why.find(last_reply) == std::string::npos) why += " (server: " + last_reply + ")";
      return IoError("sending mail to " + to + " through " + url_ + ": " + why);
    }
    return last_reply;
  }

 private:
  std::string url_;
  int64_t timeout_ms_;
};

}  // namespace

Status CheckSmtpUrl(const std::string& url) {
  std::string rest;
  if (url.starts_with("smtp://")) {
    rest = url.substr(7);
  } else if (url.starts_with("smtps://")) {
    rest = url.substr(8);
  } else {
    return InvalidArgument("'" + url + "' is not an SMTP URL: give smtp://HOST:PORT or smtps://HOST:PORT");
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.front() == ':' || rest.find_first_of("/ ?#") != std::string::npos) {
    return InvalidArgument("'" + url + "' names no host: give smtp://HOST:PORT or smtps://HOST:PORT");
  }
  if (size_t colon = rest.rfind(':'); colon != std::string::npos && rest.find(']') == std::string::npos) {
    const std::string port = rest.substr(colon + 1);
    const bool digits = !port.empty() && port.size() <= 5 &&
                        std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
    if (!digits || std::stoi(port) < 1 || std::stoi(port) > 65535) {
      return InvalidArgument("'" + url + "' has port '" + port + "', not a number from 1 to 65535");
    }
  }
  return Status::Ok();
}

Status CheckMailAddress(const std::string& address) {
  const size_t at = address.find('@');
  const bool bad_char = std::any_of(address.begin(), address.end(), [](unsigned char c) {
    return std::isspace(c) != 0 || c == '<' || c == '>' || c == ',' || c < 0x20;
  });
  if (at == std::string::npos || at == 0 || at + 1 == address.size() ||
      address.find('@', at + 1) != std::string::npos || bad_char) {
    return InvalidArgument("'" + address + "' is not an e-mail address (name@domain)");
  }
  return Status::Ok();
}

std::unique_ptr<MailTransport> MakeSmtpTransport(const std::string& url, int64_t timeout_ms) {
  return std::make_unique<SmtpTransport>(url, timeout_ms);
}

}  // namespace trialcore::notify
