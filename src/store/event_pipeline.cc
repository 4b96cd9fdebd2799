// Invariant: the producer's thread is joined before PipelineEvents returns.
#include "store/event_pipeline.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace trialcore {

Status PipelineEvents(const std::function<Status(const EmitEvents&)>& produce, const EventVisitor& consume,
                      size_t max_batches) {
  std::mutex mu;
  std::condition_variable changed;
  std::deque<std::vector<Event>> queue;
  bool produced = false;  // the producer has returned
  bool stopped = false;   // the consumer has failed
  Status produce_status;

  std::thread producer([&] {
    EmitEvents emit = [&](std::vector<Event>&& batch) -> Status {
      std::unique_lock lock(mu);
      changed.wait(lock, [&] { return stopped || queue.size() < max_batches; });
      if (stopped) return Aborted("the consumer of the events stopped");
      queue.push_back(std::move(batch));
      changed.notify_all();
      return Status::Ok();
    };
    Status s = produce(emit);
    std::lock_guard lock(mu);
    produce_status = std::move(s);
    produced = true;
    changed.notify_all();
  });

  Status consumed;
  while (consumed.ok()) {
    std::vector<Event> batch;
    {
      std::unique_lock lock(mu);
      changed.wait(lock, [&] { return produced || !queue.empty(); });
      if (queue.empty()) break;  // and produced: everything is consumed
      batch = std::move(queue.front());
      queue.pop_front();
      changed.notify_all();
    }
    for (const Event& e : batch) {
      consumed = consume(e);
      if (!consumed.ok()) break;
    }
  }
  if (!consumed.ok()) {
    std::lock_guard lock(mu);
    stopped = true;
    changed.notify_all();
  }
  producer.join();
  if (!consumed.ok()) return consumed;
  return produce_status;
}

}  // namespace trialcore
