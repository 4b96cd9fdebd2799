// Blocking HTTP/1.1 over loopback and percentiles, for the benchmarks' load
// clients (bench/sse_load.cc, bench/sae_inbox_latency.cc). Plain sockets and
// the standard library only: the clients that include it link nothing of
// trialcore for it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace trialcore::bench {

// One blocking HTTP/1.1 request on a connection of its own; the status code, or -1.
// With body, the whole answer is read into it (the request must say
// Connection: close: the answer ends when the server closes).
inline int Request(int port, const std::string& request, std::string* body = nullptr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int status = -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    std::string head;
    while (body != nullptr || head.find("\r\n") == std::string::npos) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      head.append(buf, static_cast<size_t>(n));
    }
    if (head.starts_with("HTTP/1.1 ") && head.size() >= 12) status = std::atoi(head.c_str() + 9);
    if (body != nullptr) *body = std::move(head);
  }
  close(fd);
  return status;
}

// The p-th percentile (0..1) of v, the nearest rank; 0 when v is empty.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace trialcore::bench
