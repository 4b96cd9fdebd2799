// Durable item saves in process through capture, from several threads at
// once: the peer of the HTTP PATCH in bench/server_bench.sh, at the same
// concurrency and on a copy of the same database. Each thread saves one item
// of its own subjects in turn (as the wrk script does over HTTP), with a
// reason, so every save changes a value and is an fsynced event.
//
//   capture_load DB STUDY SUBJECTS_FILE VISIT FORM ITEM [threads=16] [seconds=5]
//
// Prints one line: threads=N saves=N seconds=S saves_per_s=R conflicts=N errors=N
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "capture/capture.h"
#include "core/json.h"
#include "store/sqlite/sqlite_event_store.h"

using namespace trialcore;

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: capture_load DB STUDY SUBJECTS_FILE VISIT FORM ITEM [threads] [seconds]\n");
    return 2;
  }
  const std::string db = argv[1], study = argv[2], visit = argv[4], form = argv[5], item = argv[6];
  const int threads = argc > 7 ? std::stoi(argv[7]) : 16;
  const double seconds = argc > 8 ? std::stod(argv[8]) : 5;
  std::vector<std::string> subjects;
  {
    std::ifstream in(argv[3]);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) subjects.push_back(line);
    }
  }
  if (subjects.empty()) {
    std::fprintf(stderr, "no subjects in %s\n", argv[3]);
    return 2;
  }
  // Opened as `trialcore serve` opens it (cli/store_access.cc), so that the
  // two rates differ by the HTTP path alone, not by the store's settings.
  SqliteStoreOptions options;
  options.create_if_missing = false;
  options.writer_map_bytes = kBoundedMapBytes;
  auto store = OpenSqliteEventStore(db, options);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 70;
  }
  auto capture = capture::Capture::Open(store->get(), Env::Default(), study);
  if (!capture.ok()) {
    std::fprintf(stderr, "%s\n", capture.status().ToString().c_str());
    return 70;
  }
  std::atomic<uint64_t> saves{0}, conflicts{0}, errors{0};
  std::atomic<bool> stop{false};
  std::string first_error;
  std::mutex error_mu;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (uint64_t i = static_cast<uint64_t>(t); !stop.load(); i += static_cast<uint64_t>(threads)) {
        const std::string& s = subjects[i % subjects.size()];
        int value = 60 + static_cast<int>((i / subjects.size()) % 40);
        auto cmd =
            ParseJson(R"({"op":"form.save","subject":")" + s + R"(","visit":")" + visit + R"(","form":")" + form +
                      R"(","items":{")" + item + "\":" + std::to_string(value) + R"(},"reason":"bench"})");
        auto r = (*capture)->Execute(*cmd, Actor{"bench", "coordinator"});
        if (r.ok()) {
          saves.fetch_add(1);
        } else if (r.status().code() == StatusCode::kAborted) {
          conflicts.fetch_add(1);
        } else {
          errors.fetch_add(1);
          std::lock_guard lock(error_mu);
          if (first_error.empty()) first_error = r.status().ToString();
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("threads=%d saves=%llu seconds=%.2f saves_per_s=%.0f conflicts=%llu errors=%llu\n", threads,
              static_cast<unsigned long long>(saves.load()), secs, static_cast<double>(saves.load()) / secs,
              static_cast<unsigned long long>(conflicts.load()), static_cast<unsigned long long>(errors.load()));
  if (!first_error.empty()) std::fprintf(stderr, "first error: %s\n", first_error.c_str());
  return 0;
}
