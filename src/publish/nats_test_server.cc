#include "publish/nats_test_server.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/loopback.h"
#include "publish/event_message.h"
#include "publish/nats_conn.h"

namespace trialcore::publish {
namespace {

constexpr const char* kServerBinary = "/usr/sbin/nats-server";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<std::unique_ptr<NatsTestServer>> NatsTestServer::Start() {
  if (access(kServerBinary, X_OK) != 0) {
    return FailedPrecondition(std::string("nats-server is not installed (no ") + kServerBinary +
                              "): run scripts/install-deps.sh, which installs nats-server");
  }
  std::unique_ptr<NatsTestServer> server(new NatsTestServer());
  std::string tmpl = "/tmp/trialcore-nats-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return IoError("cannot make a temporary folder for nats-server under /tmp");
  server->dir_ = tmpl;
  // Another process may take the free port first: try a few.
  Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    server->port_ = FreeLoopbackPort();
    last = server->Launch();
    if (last.ok()) return server;
  }
  return last;
}

Status NatsTestServer::Launch() {
  const std::string log = dir_ + "/server.log";
  const std::string port = std::to_string(port_);
  const std::string store = dir_ + "/jetstream";
  pid_t pid = fork();
  if (pid < 0) return IoError("cannot fork to start nats-server");
  if (pid == 0) {
    execl(kServerBinary, "nats-server", "-js", "-sd", store.c_str(), "-a", "127.0.0.1", "-p", port.c_str(), "-l",
          log.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_ = pid;
  // Ready once it accepts connections (it opens JetStream before it listens).
  for (int i = 0; i < 500; ++i) {
    if (LoopbackAccepts(port_)) return Status::Ok();
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return Internal("nats-server exited at start on port " + port + ":\n" + ReadFile(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
  return Internal("nats-server did not listen on port " + port + " within 10 s:\n" + ReadFile(log));
}

std::string NatsTestServer::Url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

void NatsTestServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

Status NatsTestServer::Restart() {
  Kill();
  return Launch();
}

NatsTestServer::~NatsTestServer() {
  Kill();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

Status CreateStream(const std::string& url, const std::string& stream, int64_t window_ms) {
  TC_ASSIGN_OR_RETURN(auto conn, NatsConn::Connect(url, 5000));
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const std::string subjects = std::string(kSubjectRoot) + ".>";
  const char* subject_list[] = {subjects.c_str()};
  cfg.Name = stream.c_str();
  cfg.Subjects = subject_list;
  cfg.SubjectsLen = 1;
  cfg.Duplicates = window_ms * 1'000'000;  // nanoseconds
  jsStreamInfo* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_AddStream(&raw, conn->js(), &cfg, nullptr, &jerr);
  StreamInfoPtr info(raw);
  if (s != NATS_OK) return NatsError(s, jerr, "creating stream " + stream);
  return Status::Ok();
}

Result<uint64_t> StreamSize(const std::string& url, const std::string& stream) {
  TC_ASSIGN_OR_RETURN(auto conn, NatsConn::Connect(url, 5000));
  return StreamLastSeq(conn->js(), stream);
}

Result<std::vector<StoredMessage>> ReadStream(const std::string& url, const std::string& stream) {
  TC_ASSIGN_OR_RETURN(auto conn, NatsConn::Connect(url, 5000));
  TC_ASSIGN_OR_RETURN(uint64_t last, StreamLastSeq(conn->js(), stream));
  std::vector<StoredMessage> out;
  for (uint64_t seq = 1; seq <= last; ++seq) {
    natsMsg* raw = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetMsg(&raw, conn->js(), stream.c_str(), seq, nullptr, &jerr);
    NatsMsgPtr msg(raw);
    if (s != NATS_OK) return NatsError(s, jerr, "reading message " + std::to_string(seq) + " of " + stream);
    StoredMessage m;
    m.stream_seq = seq;
    m.subject = natsMsg_GetSubject(msg.get());
    const char* value = nullptr;
    if (natsMsgHeader_Get(msg.get(), "Nats-Msg-Id", &value) == NATS_OK && value != nullptr) m.msg_id = value;
    value = nullptr;
    if (natsMsgHeader_Get(msg.get(), kSeqHeader, &value) == NATS_OK && value != nullptr) m.seq_header = value;
    m.data.assign(natsMsg_GetData(msg.get()), static_cast<size_t>(natsMsg_GetDataLength(msg.get())));
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace trialcore::publish
