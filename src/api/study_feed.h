// The events of a study for its open event streams: one store subscription
// per study, fanned out to every stream's reader, never a thread per
// stream. Each event is held once, shared by every reader's queue, with
// the text streams write for it made once (FeedEvent): ten thousand
// streams cost ten thousand pointers per event, not ten thousand copies.
// Each reader's queue is bounded: a reader that falls further behind is
// dropped (it says so), not buffered without bound.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/event_store.h"

namespace trialcore::api {

// An event as every reader of a feed shares it.
class FeedEvent {
 public:
  explicit FeedEvent(Event e) : event_(std::move(e)) {}
  const Event& event() const { return event_; }
  // What `make` returns for this event, made by the first caller only:
  // every stream writes the same frames for an event, and all streams of a
  // server make them the same way. Safe from any thread.
  const std::string& Text(bool variant, const std::function<std::string(const Event&, bool variant)>& make) const;

 private:
  const Event event_;
  mutable std::once_flag made_[2];
  mutable std::string text_[2];
};
using SharedEvent = std::shared_ptr<const FeedEvent>;

class StudyFeed : public std::enable_shared_from_this<StudyFeed> {
 public:
  // Subscribes to the store from its last event on. The store outlives the feed.
  static Result<std::shared_ptr<StudyFeed>> Create(EventStore* store, std::string study, size_t queue_limit);
  ~StudyFeed();

  // One stream's view of the feed. Not thread-safe: one stream calls it.
  class Reader {
   public:
    ~Reader();  // leaves the feed
    // The study's next events after `after_seq` and those already returned,
    // in order, at most `max`: a resumed stream's backlog from the store
    // first, then the feed's as the subscription delivers them.
    Result<std::vector<SharedEvent>> Next(size_t max);
    // The reader fell more than the queue limit behind and left the feed:
    // Next returns nothing more.
    bool dropped();

   private:
    friend class StudyFeed;
    Reader(std::shared_ptr<StudyFeed> feed, uint64_t after_seq, std::function<void()> wake);
    enum class Phase { kBacklog, kGap, kLive };
    std::shared_ptr<StudyFeed> feed_;
    std::function<void()> wake_;
    uint64_t position_;  // every event of the study up to here was returned (or skipped as before the start)
    Phase phase_ = Phase::kBacklog;
    uint64_t joined_at_ = 0;  // the feed's position when the reader joined it
    // Guarded by the feed's mutex: the queue is queue_[queue_head_...]; a
    // vector allocates nothing until a first event, as most readers wait.
    std::vector<SharedEvent> queue_;
    size_t queue_head_ = 0;
    bool dropped_ = false;
  };

  // A reader of events after after_seq; `wake` is called (on the
  // subscription's thread) whenever it has something new to read.
  std::unique_ptr<Reader> Join(uint64_t after_seq, std::function<void()> wake);
  // Stops the subscription (joining its thread): no reader is woken after.
  void Stop();

 private:
  StudyFeed(EventStore* store, std::string study, size_t queue_limit)
      : store_(store), study_(std::move(study)), queue_limit_(queue_limit) {}
  void Deliver(const Event& e);

  EventStore* store_;
  const std::string study_;
  const size_t queue_limit_;
  std::mutex mu_;
  uint64_t delivered_ = 0;                      // the subscription has delivered every event (of any study) up to here
  std::set<Reader*> live_;                      // readers past their backlog, fed by Deliver
  std::unique_ptr<Subscription> subscription_;  // last: stopped first
};

// The feeds of a server, one per study, made at the first stream on a study
// and kept while the server lives: an installation holds tens of studies,
// and a subscription started and stopped with each stream would cost a
// thread start and a read of the log's end every time.
class StudyFeeds {
 public:
  StudyFeeds(EventStore* store, size_t queue_limit) : store_(store), queue_limit_(queue_limit) {}
  // Stops every feed's subscription, also of feeds readers still hold.
  ~StudyFeeds();
  Result<std::shared_ptr<StudyFeed>> For(const std::string& study);

 private:
  EventStore* store_;
  const size_t queue_limit_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<StudyFeed>> feeds_;
};

}  // namespace trialcore::api
