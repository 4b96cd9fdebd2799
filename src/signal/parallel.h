// Work spread over the machine's cores, for the stages that dominate a run:
// fitting starts, likelihood evaluations split in parts, scoring.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace trialcore::signal {

inline unsigned Cores() { return std::max(1u, std::thread::hardware_concurrency()); }

// Runs body(i) for every i in [0, count), `block` indices at a time, on at
// most one thread per core (the caller's among them) and never more threads
// than blocks.
template <typename Body>
void ParallelFor(size_t count, size_t block, const Body& body) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(block)) < count;) {
      for (size_t k = i; k < std::min(count, i + block); ++k) body(k);
    }
  };
  const size_t blocks = (count + block - 1) / block;
  std::vector<std::thread> threads;
  for (size_t w = 1; w < std::min<size_t>(Cores(), blocks); ++w) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
}

}  // namespace trialcore::signal
