#include "notify/smtp_test_sink.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/loopback.h"

namespace trialcore::notify {
namespace {

// Debian's Python, which python3-aiosmtpd installs into (not whatever
// python3 comes first on PATH).
constexpr const char* kPython = "/usr/bin/python3";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<std::unique_ptr<SmtpTestSink>> SmtpTestSink::Start() {
  if (access(kPython, X_OK) != 0 || !std::filesystem::exists("/usr/lib/python3/dist-packages/aiosmtpd/__main__.py")) {
    return FailedPrecondition(
        "aiosmtpd is not installed for /usr/bin/python3: run scripts/install-deps.sh, which installs python3-aiosmtpd");
  }
  std::unique_ptr<SmtpTestSink> sink(new SmtpTestSink());
  std::string tmpl = "/tmp/trialcore-smtp-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return IoError("cannot make a temporary folder for aiosmtpd under /tmp");
  sink->dir_ = tmpl;
  Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    sink->port_ = FreeLoopbackPort();
    last = sink->Launch();
    if (last.ok()) return sink;
  }
  return last;
}

Status SmtpTestSink::Launch() {
  const std::string log = dir_ + "/server.log";
  const std::string listen = "127.0.0.1:" + std::to_string(port_);
  const std::string maildir = dir_ + "/mail";
  pid_t pid = fork();
  if (pid < 0) return IoError("cannot fork to start aiosmtpd");
  if (pid == 0) {
    FILE* out = std::freopen(log.c_str(), "a", stdout);
    FILE* err = std::freopen(log.c_str(), "a", stderr);
    (void)out;
    (void)err;
    execl(kPython, "python3", "-m", "aiosmtpd", "-n", "-l", listen.c_str(), "-c", "aiosmtpd.handlers.Mailbox",
          maildir.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_ = pid;
  for (int i = 0; i < 500; ++i) {
    if (LoopbackAccepts(port_)) return Status::Ok();
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return Internal("aiosmtpd exited at start on " + listen + ":\n" + ReadFile(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
  return Internal("aiosmtpd did not listen on " + listen + " within 10 s:\n" + ReadFile(log));
}

std::string SmtpTestSink::Url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

void SmtpTestSink::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

Status SmtpTestSink::Restart() {
  Kill();
  return Launch();
}

std::vector<std::string> SmtpTestSink::Mails() const {
  std::vector<std::string> out;
  for (const char* sub : {"/mail/new", "/mail/cur"}) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_ + sub, ec)) {
      if (entry.is_regular_file()) out.push_back(ReadFile(entry.path().string()));
    }
  }
  return out;
}

SmtpTestSink::~SmtpTestSink() {
  Kill();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace trialcore::notify
