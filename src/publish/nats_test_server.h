// For tests only: a real NATS server with JetStream (Debian's nats-server,
// installed by scripts/install-deps.sh), its store in a temporary folder,
// listening on a free port of 127.0.0.1; killed and removed when this object
// goes. Kill() and Restart() let a test take it away and bring it back with
// the same port and the same stored streams.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace trialcore::publish {

class NatsTestServer {
 public:
  // Errors say what failed and how to fix it (no binary: install
  // nats-server; a failed start: the server's log).
  static Result<std::unique_ptr<NatsTestServer>> Start();
  ~NatsTestServer();
  NatsTestServer(const NatsTestServer&) = delete;
  NatsTestServer& operator=(const NatsTestServer&) = delete;

  // nats://127.0.0.1:<port>
  std::string Url() const;
  int port() const { return port_; }

  // SIGKILL, as a crash would: what JetStream had not written is lost.
  void Kill();
  // Starts it again on the same port and store folder.
  Status Restart();

 private:
  NatsTestServer() = default;
  Status Launch();
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// One message as a JetStream stream holds it.
struct StoredMessage {
  uint64_t stream_seq = 0;
  std::string subject;
  std::string msg_id;      // Nats-Msg-Id
  std::string seq_header;  // Trialcore-Seq
  std::string data;
};
// Makes a stream as the publisher would, but with JetStream's duplicate
// window (Nats-Msg-Id) as short as window_ms.
Status CreateStream(const std::string& url, const std::string& stream, int64_t window_ms);
// How many messages the stream holds (its last sequence: the publisher
// never deletes), without reading them (NotFound: no stream).
Result<uint64_t> StreamSize(const std::string& url, const std::string& stream);
// Every message of the stream, in stream order (NotFound: no stream).
Result<std::vector<StoredMessage>> ReadStream(const std::string& url, const std::string& stream);

}  // namespace trialcore::publish
