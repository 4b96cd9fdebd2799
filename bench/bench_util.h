// Shared pieces of the benchmarks: realistic events and timing.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/json.h"
#include "store/event_store.h"

namespace trialcore::bench {

inline double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// This thread's CPU seconds: on a shared machine the wall clock also counts
// the time other processes had the core.
inline double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The machine's one-minute load: a rate is only comparable on an idle machine.
inline double LoadAverage() {
  double load = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = 0;
    std::fclose(f);
  }
  return load;
}

// An item entered on a vital-signs form: the most common event of a study.
inline EventDraft ItemEvent(uint64_t i) {
  EventDraft d;
  std::string subject = "01-7" + std::to_string(i % 17) + "-" + std::to_string(1000 + (i / 17) % 300);
  d.stream = "subject/" + subject;
  d.type = "item.set";
  d.actor = {"coord.70" + std::to_string(i % 9), "coordinator"};
  static const char* kItems[] = {"SYSBP", "DIABP", "PULSE", "TEMP", "WEIGHT", "HEIGHT", "RESP"};
  std::string path = d.stream + "/visit/WEEK" + std::to_string((i / 5100) % 26) + "/form/VS/item/" + kItems[i % 7];
  Value::Object set;
  set[path] = Value(*Decimal::Parse(std::to_string(60 + i % 90) + "." + std::to_string(i % 10)));
  d.reason = "entered from source";  // repeated entries of one item are changes, so they carry a reason
  d.payload = Value(Value::Object{{"set", Value(std::move(set))}});
  return d;
}

inline std::string FreshDir(const std::string& name) {
  auto dir = std::filesystem::path(std::getenv("TRIALCORE_BENCH_DIR") ? std::getenv("TRIALCORE_BENCH_DIR") : "/tmp") /
             ("trialcore_bench_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// Appends n events in batches of `batch` through the store.
inline Status Fill(EventStore& store, const std::string& study, uint64_t n, uint64_t batch) {
  for (uint64_t i = 0; i < n; i += batch) {
    AppendRequest r;
    r.study = study;
    for (uint64_t k = i; k < std::min(n, i + batch); ++k) r.events.push_back(ItemEvent(k));
    TC_RETURN_IF_ERROR(store.Append(r).status());
  }
  return Status::Ok();
}

// Runs worker on `threads` threads at once for `seconds` (each loops until
// stop is set, counting what it did in *done): the count per second.
inline double CountPerSecond(int threads, double seconds, const std::atomic<uint64_t>& done,
                             const std::function<void(const std::atomic<bool>& stop)>& worker) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> pool;
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) pool.emplace_back([&] { worker(stop); });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : pool) t.join();
  return static_cast<double>(done) / Seconds(start);
}

// Appends of one event each (ItemEvent) from `writers` threads for `seconds`:
// appends per second; prints the store's appends, commits and their ratio.
inline double ConcurrentAppendRate(EventStore& store, int writers, double seconds) {
  std::atomic<uint64_t> next{0}, done{0};
  const double rate = CountPerSecond(writers, seconds, done, [&](const std::atomic<bool>& stop) {
    while (!stop) {
      AppendRequest r;
      r.study = "BENCH";
      r.events.push_back(ItemEvent(next++));
      auto res = store.Append(r);
      if (!res.ok()) {
        std::fprintf(stderr, "append failed: %s\n", res.status().ToString().c_str());
        std::exit(1);
      }
      ++done;
    }
  });
  StoreMetrics m = store.Metrics();
  std::printf("  EventStore, %2d writer(s): %llu appends in %llu commits (%.1f appends per commit)\n", writers,
              static_cast<unsigned long long>(m.appends), static_cast<unsigned long long>(m.commits),
              m.commits ? static_cast<double>(m.appends) / static_cast<double>(m.commits) : 0.0);
  return rate;
}

inline void Row(const char* what, double rate, const char* unit, double ratio, const char* ratio_of) {
  std::printf("  %-58s %12.0f %-9s %6.2fx %s\n", what, rate, unit, ratio, ratio_of);
}

}  // namespace trialcore::bench
