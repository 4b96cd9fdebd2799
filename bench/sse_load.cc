// Many server-sent event clients on one `trialcore serve` over loopback, and
// how long each takes to see a change: the load client of bench/server_bench.sh.
//
// Opens CLIENTS streams of GET /api/v1/studies/STUDY/events (one epoll loop,
// non-blocking sockets; the open-file limit is raised to its hard limit),
// then every INTERVAL ms makes a change through the API (PATCH of an item,
// on a connection of its own) and notes when the request was sent. Each
// client's delay for a change is the time from that send (an upper bound on
// the time from the commit) to the first event frame it receives after it.
// A change a client has not seen before the next change is sent counts as not
// seen: its delay is over the interval. Prints one line of key=value figures.
//
// Several servers on one database (bench/cross_server_bench.sh): with
// --patch-port the changes go to another server than the one the streams
// are open on, so a delay is the time from the write through one server to
// the frame from the other. With --read-path (a form's path; the PATCHed
// item is one of its items), after each PATCH is answered the stream's
// server is asked for that path again and again until the answer shows the
// new value: read_* figures are the time from the PATCH sent to the end of
// the first such answer, and reads_stale counts the answers that still
// showed the old value (what a browser moved to another server would read).
//
//   sse_load --port P --study S --cookie 'tc_session=...' --csrf TOKEN
//            --patch-path /api/v1/studies/S/subjects/X/visits/V/forms/F/items/I
//            [--clients 10000] [--changes 10] [--interval-ms 1000] [--connect-s 30]
//            [--patch-port P2] [--read-path /api/v1/studies/S/subjects/X/visits/V/forms/F]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "bench_http.h"

namespace {

using trialcore::bench::Percentile;
using trialcore::bench::Request;

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

struct Client {
  int fd = -1;
  bool connected = false;  // TCP connection made and request sent
  bool streaming = false;  // 200 and headers received
  bool failed = false;
  std::string in;                         // bytes not yet parsed
  std::vector<Clock::time_point> frames;  // arrival of each event frame
};

struct Args {
  int port = 0;
  int patch_port = 0;  // 0: the streams' port
  std::string study, cookie, csrf, patch_path, read_path;
  int clients = 10000, changes = 10, interval_ms = 1000, connect_s = 30;
};

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--port")
      a.port = std::stoi(v);
    else if (k == "--study")
      a.study = v;
    else if (k == "--cookie")
      a.cookie = v;
    else if (k == "--csrf")
      a.csrf = v;
    else if (k == "--patch-path")
      a.patch_path = v;
    else if (k == "--clients")
      a.clients = std::stoi(v);
    else if (k == "--changes")
      a.changes = std::stoi(v);
    else if (k == "--interval-ms")
      a.interval_ms = std::stoi(v);
    else if (k == "--connect-s")
      a.connect_s = std::stoi(v);
    else if (k == "--patch-port")
      a.patch_port = std::stoi(v);
    else if (k == "--read-path")
      a.read_path = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (a.port == 0 || a.study.empty() || a.patch_path.empty()) {
    std::fprintf(stderr, "usage: sse_load --port P --study S --cookie C --csrf T --patch-path PATH [--clients N]\n");
    return 2;
  }
  if (a.patch_port == 0) a.patch_port = a.port;
  // Every client is a descriptor: raise the soft limit as far as allowed.
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  getrlimit(RLIMIT_NOFILE, &lim);
  if (static_cast<rlim_t>(a.clients) + 64 > lim.rlim_cur) {
    std::fprintf(stderr, "open-file limit %llu is below %d clients; clients lowered\n",
                 static_cast<unsigned long long>(lim.rlim_cur), a.clients);
    a.clients = static_cast<int>(lim.rlim_cur) - 64;
  }

  const std::string stream_request =
      "GET /api/v1/studies/" + a.study +
      "/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nCookie: " + a.cookie + "\r\n\r\n";
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Client> clients(static_cast<size_t>(a.clients));
  auto start = Clock::now();
  // Connect in batches, so the listen queue is not flooded all at once.
  size_t next = 0;
  std::vector<epoll_event> events(1024);
  char buf[65536];
  auto pump = [&](int timeout_ms, bool count_frames) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), timeout_ms);
    auto now = Clock::now();
    for (int i = 0; i < n; ++i) {
      Client& c = clients[events[static_cast<size_t>(i)].data.u64];
      if (c.failed) continue;
      uint32_t ev = events[static_cast<size_t>(i)].events;
      if (!c.connected && (ev & EPOLLOUT)) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || send(c.fd, stream_request.data(), stream_request.size(), MSG_NOSIGNAL) !=
                            static_cast<ssize_t>(stream_request.size())) {
          c.failed = true;
          epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
          continue;
        }
        c.connected = true;
        epoll_event e{};
        e.events = EPOLLIN | EPOLLRDHUP;
        e.data.u64 = events[static_cast<size_t>(i)].data.u64;
        epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &e);
        continue;
      }
      if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        while (true) {
          ssize_t r = recv(c.fd, buf, sizeof buf, 0);
          if (r > 0) {
            c.in.append(buf, static_cast<size_t>(r));
            continue;
          }
          if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            c.failed = true;
            epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
          }
          break;
        }
        if (!c.streaming) {
          size_t end = c.in.find("\r\n\r\n");
          if (end == std::string::npos) continue;
          if (!c.in.starts_with("HTTP/1.1 200")) {
            c.failed = true;
            epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
            continue;
          }
          c.streaming = true;
          c.in.erase(0, end + 4);
        }
        // Chunked framing is left in place: a frame is counted by its
        // "data:" line, which a chunk boundary does not split in practice
        // (the server writes each frame as one chunk).
        size_t at;
        while ((at = c.in.find("\ndata: ")) != std::string::npos || c.in.starts_with("data: ")) {
          size_t from = c.in.starts_with("data: ") ? 0 : at + 1;
          size_t eol = c.in.find('\n', from);
          if (eol == std::string::npos) break;
          if (count_frames) c.frames.push_back(now);
          c.in.erase(0, eol + 1);
        }
        if (c.in.size() > 65536) c.in.erase(0, c.in.size() - 1024);
      }
    }
  };
  const auto connect_deadline = start + std::chrono::seconds(a.connect_s);
  while (Clock::now() < connect_deadline) {
    // Keep at most 512 connections in progress.
    size_t in_progress = 0;
    for (size_t i = 0; i < next; ++i) in_progress += !clients[i].streaming && !clients[i].failed;
    while (next < clients.size() && in_progress < 512) {
      Client& c = clients[next];
      c.fd = Connect(a.port);
      if (c.fd < 0) {
        c.failed = true;
      } else {
        epoll_event e{};
        e.events = EPOLLOUT;
        e.data.u64 = next;
        epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &e);
        ++in_progress;
      }
      ++next;
    }
    pump(50, false);
    size_t streaming = 0, failed = 0;
    for (const auto& c : clients) streaming += c.streaming, failed += c.failed;
    if (next == clients.size() && streaming + failed == clients.size()) break;
  }
  double connect_ms = Ms(start, Clock::now());
  size_t streaming = 0, failed = 0;
  for (const auto& c : clients) streaming += c.streaming, failed += c.failed;
  std::fprintf(stderr, "sse_load: %zu of %d streams open after %.0f ms (%zu failed)\n", streaming, a.clients,
               connect_ms, failed);

  // Changes at known times; frames counted from now on.
  std::vector<Clock::time_point> sent;
  std::vector<int> statuses;
  std::vector<double> patch_ms, read_delays;
  size_t reads_stale = 0, changes_stale = 0, reads_failed = 0, reads_unseen = 0;
  // The item as the form's answer writes it, "ITEM":{"value":V, (api/views.cc).
  const std::string item = a.patch_path.substr(a.patch_path.rfind('/') + 1);
  const std::string read_request =
      "GET " + a.read_path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nCookie: " + a.cookie + "\r\n\r\n";
  for (int k = 0; k < a.changes; ++k) {
    // 100..109: never a value the PATCH benchmarks leave behind (60..99), so
    // no change is a save of the value already stored, which makes no event.
    const int value = 100 + (k % 10);
    std::string body = "{\"value\":" + std::to_string(value) + ",\"reason\":\"sse bench\"}";
    std::string req =
        "PATCH " + a.patch_path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nCookie: " + a.cookie +
        "\r\nX-CSRF-Token: " + a.csrf +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    // The request is sent from this thread; frames are read between changes
    // (and while waiting for its answer nothing is read, which only makes
    // the measured delays longer, never shorter).
    sent.push_back(Clock::now());
    statuses.push_back(Request(a.patch_port, req));
    patch_ms.push_back(Ms(sent.back(), Clock::now()));
    auto until = sent.back() + std::chrono::milliseconds(a.interval_ms);
    if (!a.read_path.empty() && statuses.back() == 200) {
      // Read back from the streams' server until the new value shows; frames
      // that came meanwhile are taken between reads (so a read delays their
      // time by at most its own length). Not shown by the next change: unseen.
      const std::string match = "\"" + item + "\":{\"value\":" + std::to_string(value) + ",";
      size_t stale = 0;
      bool seen = false;
      while (Clock::now() < until) {
        std::string answer;
        int status = Request(a.port, read_request, &answer);
        auto now = Clock::now();
        if (status == 200 && answer.find(match) != std::string::npos) {
          read_delays.push_back(Ms(sent.back(), now));
          seen = true;
          break;
        }
        if (status == 200) {
          ++stale;
        } else {
          ++reads_failed;
        }
        pump(0, true);
      }
      reads_stale += stale;
      changes_stale += stale > 0;
      reads_unseen += !seen;
    }
    while (Clock::now() < until) pump(10, true);
  }
  // Delays: for each client and change, the first frame in [sent_k, sent_k+1).
  std::vector<double> delays;
  size_t expected = 0, unseen = 0;
  for (const auto& c : clients) {
    if (!c.streaming) {
      // A client that never got its stream saw none of the changes.
      expected += sent.size();
      unseen += sent.size();
      continue;
    }
    for (size_t k = 0; k < sent.size(); ++k) {
      ++expected;
      auto end = k + 1 < sent.size() ? sent[k + 1] : sent[k] + std::chrono::milliseconds(a.interval_ms);
      auto it = std::lower_bound(c.frames.begin(), c.frames.end(), sent[k]);
      if (it != c.frames.end() && *it < end) {
        delays.push_back(Ms(sent[k], *it));
      } else {
        ++unseen;
      }
    }
  }
  int ok_changes = static_cast<int>(std::count_if(statuses.begin(), statuses.end(), [](int s) { return s == 200; }));
  // With unseen ones as over the interval, the p99 over every (client, change)
  // pair, the clients that never got a stream included; p99_ms is over the
  // changes seen only.
  std::vector<double> all = delays;
  all.resize(all.size() + unseen, 1e9);
  double p99_all = Percentile(all, 0.99);
  std::printf(
      "clients=%d streaming=%zu failed=%zu connect_ms=%.0f changes=%zu changes_ok=%d seen=%zu unseen=%zu "
      "p50_ms=%.1f p99_ms=%.1f max_ms=%.1f p99_all_ms=%s patch_p50_ms=%.1f patch_p99_ms=%.1f",
      a.clients, streaming, failed, connect_ms, sent.size(), ok_changes, delays.size(), unseen, Percentile(delays, 0.5),
      Percentile(delays, 0.99), delays.empty() ? 0 : *std::max_element(delays.begin(), delays.end()),
      expected == 0 || p99_all >= 1e9 ? "inf" : std::to_string(p99_all).c_str(), Percentile(patch_ms, 0.5),
      Percentile(patch_ms, 0.99));
  if (!a.read_path.empty()) {
    std::printf(
        " read_seen=%zu read_unseen=%zu read_p50_ms=%.1f read_p99_ms=%.1f read_max_ms=%.1f reads_stale=%zu "
        "changes_with_stale_reads=%zu reads_failed=%zu",
        read_delays.size(), reads_unseen, Percentile(read_delays, 0.5), Percentile(read_delays, 0.99),
        read_delays.empty() ? 0 : *std::max_element(read_delays.begin(), read_delays.end()), reads_stale, changes_stale,
        reads_failed);
  }
  std::printf("\n");
  for (auto& c : clients) {
    if (c.fd >= 0) close(c.fd);
  }
  close(ep);
  return 0;
}
