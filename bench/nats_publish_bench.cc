// NATS publish lag: from an event's commit (Append returned, durable) to
// JetStream's acknowledgement of its message, at a steady 1,000 events/s
// through the publisher as `serve --nats` runs it (in process, SQLite,
// every commit synced). Target (issue 14): p99 <= 100 ms. Starts its own
// nats-server (JetStream, file storage) in a temporary folder.
//
//   ./build/bench/nats_publish_bench [seconds=10] [events_per_second=1000]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "publish/event_publisher.h"
#include "publish/nats_test_server.h"
#include "store/open_store.h"

using namespace trialcore;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 10;
  const int rate = argc > 2 ? std::atoi(argv[2]) : 1000;
  if (seconds <= 0 || rate <= 0) {
    std::fprintf(stderr, "usage: nats_publish_bench [seconds>0] [events_per_second>0]\n");
    return 2;
  }
  const uint64_t total = static_cast<uint64_t>(seconds) * static_cast<uint64_t>(rate);
  auto nats = publish::NatsTestServer::Start();
  if (!nats.ok()) {
    std::fprintf(stderr, "%s\n", nats.status().ToString().c_str());
    return 1;
  }
  auto store = OpenEventStore(bench::FreshDir("nats_publish") + "/bench.db");
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }

  // Indexed by seq: the commit time, then the acknowledgement time.
  std::vector<Clock::time_point> committed(total + 1), acknowledged(total + 1);
  std::mutex mu;
  uint64_t acked = 0;
  publish::PublisherOptions o;
  o.nats_url = (*nats)->Url();
  o.on_acknowledged = [&](const Event& e) {
    auto now = Clock::now();
    std::lock_guard lock(mu);
    if (e.seq <= total) acknowledged[e.seq] = now;
    ++acked;
  };
  o.on_problem = [](const Status& s) { std::fprintf(stderr, "publisher: %s\n", s.ToString().c_str()); };
  auto publisher = publish::EventPublisher::Create(store->get(), o);
  if (!publisher.ok()) {
    std::fprintf(stderr, "%s\n", publisher.status().ToString().c_str());
    return 1;
  }
  (*publisher)->Start();

  // One event per 1/rate s, each its own durable commit, on a fixed schedule
  // (a late commit does not shift the ones after it).
  const auto start = Clock::now();
  const auto interval = std::chrono::nanoseconds(1'000'000'000LL / rate);
  for (uint64_t i = 0; i < total; ++i) {
    std::this_thread::sleep_until(start + interval * static_cast<int64_t>(i));
    AppendRequest r;
    r.study = "BENCH";
    r.events.push_back(bench::ItemEvent(i));
    auto appended = (*store)->Append(r);
    auto now = Clock::now();
    if (!appended.ok()) {
      std::fprintf(stderr, "%s\n", appended.status().ToString().c_str());
      return 1;
    }
    std::lock_guard lock(mu);
    committed[appended->front().seq] = now;
  }
  const double offered = static_cast<double>(total) / bench::Seconds(start);
  // Let the publisher finish (bounded), then measure.
  for (int i = 0; i < 60000; ++i) {
    {
      std::lock_guard lock(mu);
      if (acked >= total) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  (*publisher)->Stop();
  std::vector<double> lag_ms;
  {
    std::lock_guard lock(mu);
    for (uint64_t seq = 1; seq <= total; ++seq) {
      if (acknowledged[seq] == Clock::time_point{}) continue;
      lag_ms.push_back(std::chrono::duration<double, std::milli>(acknowledged[seq] - committed[seq]).count());
    }
  }
  if (lag_ms.size() != total) {
    std::fprintf(stderr, "only %zu of %llu events were acknowledged\n", lag_ms.size(),
                 static_cast<unsigned long long>(total));
    return 1;
  }
  std::sort(lag_ms.begin(), lag_ms.end());
  auto pct = [&](double p) { return lag_ms[std::min(lag_ms.size() - 1, static_cast<size_t>(p * lag_ms.size()))]; };
  std::printf("NATS publish lag, commit to JetStream acknowledgement: %llu events, %d s at %d/s (achieved %.0f/s)\n",
              static_cast<unsigned long long>(total), seconds, rate, offered);
  std::printf("  p50 %.2f ms   p90 %.2f ms   p99 %.2f ms   max %.2f ms\n", pct(0.50), pct(0.90), pct(0.99),
              lag_ms.back());
  std::printf("  p99 / target 100 ms: %.3fx (%s)\n", pct(0.99) / 100.0, pct(0.99) <= 100.0 ? "met" : "NOT met");
  return 0;
}
