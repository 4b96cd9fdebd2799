// Appends batches of three events from four threads, forever, printing the
// last sequence number of each batch once Append has returned (that is, once
// it is durable). The crash test kills it with SIGKILL at random moments.
#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/json.h"
#include "store/sqlite/sqlite_event_store.h"

using namespace trialcore;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: crash_appender DB\n");
    return 2;
  }
  auto store = OpenSqliteEventStore(argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  std::mutex out_mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0;; ++i) {
        AppendRequest r;
        r.study = "CRASH";
        for (int k = 0; k < 3; ++k) {
          EventDraft d;
          d.stream = "subject/" + std::to_string(t);
          d.type = "item.set";
          d.actor = {"writer." + std::to_string(t), "coordinator"};
          d.reason = "update";
          Value::Object set;
          set[d.stream + "/item/I" + std::to_string(k)] = Value(static_cast<int64_t>(i));
          d.payload = Value(Value::Object{{"set", Value(std::move(set))}, {"batch", Value(static_cast<int64_t>(i))}});
          r.events.push_back(std::move(d));
        }
        auto res = (*store)->Append(r);
        if (!res.ok()) {
          std::fprintf(stderr, "append failed: %s\n", res.status().ToString().c_str());
          std::_Exit(1);
        }
        std::lock_guard lock(out_mu);
        std::printf("%llu\n", static_cast<unsigned long long>(res->back().seq));
        std::fflush(stdout);
      }
    });
  }
  for (auto& t : threads) t.join();
}
