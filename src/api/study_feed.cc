#include "api/study_feed.h"

#include <algorithm>

namespace trialcore::api {

const std::string& FeedEvent::Text(bool variant,
                                   const std::function<std::string(const Event&, bool variant)>& make) const {
  std::call_once(made_[variant ? 1 : 0], [&] { text_[variant ? 1 : 0] = make(event_, variant); });
  return text_[variant ? 1 : 0];
}

// Invariant: a reader in live_ has returned (or skipped) every event of the
// study up to joined_at_ once its gap is read, and its queue holds the
// study's events after joined_at_, in order, at most queue_limit_ of them.

Result<std::shared_ptr<StudyFeed>> StudyFeed::Create(EventStore* store, std::string study, size_t queue_limit) {
  std::shared_ptr<StudyFeed> feed(new StudyFeed(store, std::move(study), std::max<size_t>(queue_limit, 1)));
  TC_ASSIGN_OR_RETURN(feed->delivered_, store->LastSeq());
  StudyFeed* raw = feed.get();  // the subscription stops (and joins) before the feed goes
  feed->subscription_ = store->Subscribe(feed->delivered_, [raw](const Event& e) { raw->Deliver(e); });
  return feed;
}

StudyFeed::~StudyFeed() { Stop(); }

void StudyFeed::Stop() { subscription_.reset(); }

void StudyFeed::Deliver(const Event& e) {
  std::lock_guard lock(mu_);
  delivered_ = std::max(delivered_, e.seq);
  if (e.study != study_) return;
  auto shared = std::make_shared<const FeedEvent>(e);
  for (auto it = live_.begin(); it != live_.end();) {
    Reader* r = *it;
    if (r->queue_.size() - r->queue_head_ >= queue_limit_) {
      // Too slow: what it has not read is dropped with it, so memory stays bounded.
      r->queue_ = {};
      r->queue_head_ = 0;
      r->dropped_ = true;
      it = live_.erase(it);
    } else {
      r->queue_.push_back(shared);
      ++it;
    }
    r->wake_();
  }
}

std::unique_ptr<StudyFeed::Reader> StudyFeed::Join(uint64_t after_seq, std::function<void()> wake) {
  return std::unique_ptr<Reader>(new Reader(shared_from_this(), after_seq, std::move(wake)));
}

StudyFeed::Reader::Reader(std::shared_ptr<StudyFeed> feed, uint64_t after_seq, std::function<void()> wake)
    : feed_(std::move(feed)), wake_(std::move(wake)), position_(after_seq) {}

StudyFeed::Reader::~Reader() {
  std::lock_guard lock(feed_->mu_);
  feed_->live_.erase(this);
}

bool StudyFeed::Reader::dropped() {
  std::lock_guard lock(feed_->mu_);
  return dropped_;
}

Result<std::vector<SharedEvent>> StudyFeed::Reader::Next(size_t max) {
  max = std::max<size_t>(max, 1);
  std::vector<SharedEvent> out;
  auto read_log = [&](size_t n) -> Result<std::vector<Event>> {
    EventFilter f;
    f.study = feed_->study_;
    f.after_seq = position_;
    f.limit = n;
    return feed_->store_->ReadEvents(f, n);
  };
  if (phase_ == Phase::kBacklog) {
    // Read from the log in pages (a stream resumed from long ago does not
    // hold its whole backlog), without the feed until near its head.
    TC_ASSIGN_OR_RETURN(std::vector<Event> page, read_log(max));
    for (Event& e : page) out.push_back(std::make_shared<const FeedEvent>(std::move(e)));
    if (!out.empty()) position_ = out.back()->event().seq;
    if (out.size() < max) {
      // Near the head: join the feed; what was committed between that read
      // and now (up to joined_at_) is the gap, read from the log next.
      std::lock_guard lock(feed_->mu_);
      joined_at_ = feed_->delivered_;
      feed_->live_.insert(this);
      phase_ = joined_at_ > position_ ? Phase::kGap : Phase::kLive;
    }
    if (!out.empty()) return out;
  }
  if (phase_ == Phase::kGap) {
    TC_ASSIGN_OR_RETURN(std::vector<Event> page, read_log(max));
    for (Event& e : page) {
      if (e.seq > joined_at_) break;
      out.push_back(std::make_shared<const FeedEvent>(std::move(e)));
    }
    if (out.size() == max && out.back()->event().seq < joined_at_) {
      position_ = out.back()->event().seq;
    } else {
      position_ = std::max(position_, joined_at_);
      phase_ = Phase::kLive;
    }
    if (!out.empty()) return out;
  }
  std::lock_guard lock(feed_->mu_);
  while (queue_head_ < queue_.size() && out.size() < max) {
    SharedEvent e = std::move(queue_[queue_head_++]);
    if (e->event().seq <= position_) continue;  // already read from the log
    position_ = e->event().seq;
    out.push_back(std::move(e));
  }
  // What was read leaves the vector once it is half of it (at once when
  // all of it), so a reader that never quite catches up holds at most twice
  // the feed's bound; clear keeps the capacity for the next events.
  if (queue_head_ * 2 >= queue_.size()) {
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(queue_head_));
    queue_head_ = 0;
  }
  return out;
}

StudyFeeds::~StudyFeeds() {
  for (auto& [study, feed] : feeds_) feed->Stop();
}

Result<std::shared_ptr<StudyFeed>> StudyFeeds::For(const std::string& study) {
  std::lock_guard lock(mu_);
  auto it = feeds_.find(study);
  if (it != feeds_.end()) return it->second;
  TC_ASSIGN_OR_RETURN(auto feed, StudyFeed::Create(store_, study, queue_limit_));
  feeds_[study] = feed;
  return feed;
}

}  // namespace trialcore::api
