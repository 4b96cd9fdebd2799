#include "store/audit.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <cstring>
#include <map>
#include <unordered_map>

#include "core/canonical.h"
#include "core/merkle.h"

namespace trialcore {
namespace {

bool BytesEqual(std::string_view bytes, const Hash& h) {
  return bytes.size() == h.size() && std::memcmp(bytes.data(), h.data(), h.size()) == 0;
}

std::string Short(std::string_view hex) { return std::string(hex.substr(0, 16)) + "…"; }

bool UnderPrefix(std::string_view path, std::string_view prefix) {
  return path == prefix ||
         (path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix && path[prefix.size()] == '/');
}

}  // namespace

namespace {

// Stored records copied out of the store in batches, so that reading the
// store and hashing run on two cores at once.
struct RecordBatch {
  struct Span {
    uint32_t offset, size;
  };
  struct Item {
    RecordFields fields;  // its views are filled in by the hasher
    int64_t format_version;
    Span stream, type, user, role, reason, payload, prev, hash;
  };
  std::string bytes;
  std::vector<Item> items;

  Span Put(std::string_view data) {
    Span s{static_cast<uint32_t>(bytes.size()), static_cast<uint32_t>(data.size())};
    bytes.append(data);
    return s;
  }
  std::string_view View(Span s) const { return std::string_view(bytes).substr(s.offset, s.size); }
};

class BatchQueue {
 public:
  void Push(RecordBatch batch) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return queue_.size() < kDepth || cancelled_; });
    queue_.push_back(std::move(batch));
    not_empty_.notify_one();
  }
  // Empty optional once the producer has finished and the queue is drained.
  std::optional<RecordBatch> Pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !queue_.empty() || finished_; });
    if (queue_.empty()) return std::nullopt;
    RecordBatch b = std::move(queue_.front());
    queue_.pop_front();
    not_full_.notify_one();
    return b;
  }
  void Finish() {
    std::lock_guard lock(mu_);
    finished_ = true;
    not_empty_.notify_all();
  }
  // The consumer stops early (a problem was found): unblock the producer.
  void Cancel() {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    queue_.clear();
    not_full_.notify_all();
  }
  bool cancelled() {
    std::lock_guard lock(mu_);
    return cancelled_;
  }

 private:
  static constexpr size_t kDepth = 4;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<RecordBatch> queue_;
  bool finished_ = false;
  bool cancelled_ = false;
};

constexpr size_t kBatchRecords = 4096;

}  // namespace

Result<StudyVerification> VerifyStudy(EventStore& store, const std::string& study,
                                      const std::vector<Checkpoint>& extra_checkpoints,
                                      const std::optional<std::string>& trusted_key,
                                      const std::function<void(uint64_t)>& progress) {
  StudyVerification v;
  v.study = study;
  TC_ASSIGN_OR_RETURN(std::vector<Checkpoint> checkpoints, store.Checkpoints(study));
  for (const auto& c : extra_checkpoints) {
    if (c.study != study) {
      return InvalidArgument("checkpoint is for study " + c.study + ", not " + study);
    }
    checkpoints.push_back(c);
  }
  std::stable_sort(checkpoints.begin(), checkpoints.end(),
                   [](const Checkpoint& a, const Checkpoint& b) { return a.tree_size < b.tree_size; });
  size_t next_checkpoint = 0;
  MerkleAccumulator tree;
  Hash prev{};
  uint64_t last_seq = 0;

  auto check_checkpoints = [&]() -> std::optional<std::string> {
    while (next_checkpoint < checkpoints.size() && checkpoints[next_checkpoint].tree_size <= tree.size()) {
      const Checkpoint& c = checkpoints[next_checkpoint++];
      if (c.tree_size == 0) continue;
      Status sig = VerifyCheckpoint(c, trusted_key ? *trusted_key : c.public_key);
      if (!sig.ok()) return "checkpoint at size " + std::to_string(c.tree_size) + ": " + sig.message();
      if (tree.Root() != c.root_hash) {
        return "the log's first " + std::to_string(c.tree_size) + " events do not match the checkpoint signed at " +
               FormatTimeMicros(c.time_us) + " (Merkle root differs): events up to here were altered, removed or "
               "reordered";
      }
      ++v.checkpoints_checked;
    }
    return std::nullopt;
  };

  // Returns false at the first problem, which it records in v.
  std::string hashed;  // prev || record, reused
  auto check = [&](const RecordBatch& b, const RecordBatch::Item& item) -> bool {
    RecordFields r = item.fields;
    r.study = study;
    r.stream = b.View(item.stream);
    r.type = b.View(item.type);
    r.actor_user = b.View(item.user);
    r.actor_role = b.View(item.role);
    r.reason = b.View(item.reason);
    auto fail = [&](std::string what) {
      v.problem = VerifyProblem{r.seq, r.study_index, std::move(what)};
      return false;
    };
    std::string_view stored_prev = b.View(item.prev);
    std::string_view stored_hash = b.View(item.hash);
    if (item.format_version != kEventFormatVersion) {
      return fail("event format version " + std::to_string(item.format_version) + " is not known to this trialcore");
    }
    if (r.study_index != v.events) {
      return fail("expected the event at position " + std::to_string(v.events) + " but found position " +
                  std::to_string(r.study_index) + ": events are missing or out of order");
    }
    if (r.seq <= last_seq) return fail("sequence number is not after the previous event's " + std::to_string(last_seq));
    if (!BytesEqual(stored_prev, prev)) {
      return fail("link to the previous event is broken: stored previous hash " + Short(ToHex(stored_prev)) +
                  " but the previous event's hash is " + Short(ToHex(prev)));
    }
    hashed.assign(AsBytes(prev));
    EncodeEventRecord(r, b.View(item.payload), &hashed);
    Hash computed = Sha256(hashed);
    if (!BytesEqual(stored_hash, computed)) {
      return fail("content does not match its hash (stored " + Short(ToHex(stored_hash)) + ", computed " +
                  Short(ToHex(computed)) + "): the event was altered");
    }
    prev = computed;
    last_seq = r.seq;
    v.bytes += hashed.size() - 32;
    ++v.events;
    tree.Add(MerkleLeafHash(AsBytes(computed)));
    if (auto bad = check_checkpoints()) return fail(*bad);
    return true;
  };

  BatchQueue queue;
  std::thread hasher([&] {
    while (auto batch = queue.Pop()) {
      for (const auto& item : batch->items) {
        if (!check(*batch, item)) {
          queue.Cancel();
          return;
        }
      }
      if (progress) progress(v.events);
    }
  });
  auto fresh_batch = [] {
    RecordBatch b;
    b.bytes.reserve(kBatchRecords * 320);
    b.items.reserve(kBatchRecords);
    return b;
  };
  RecordBatch batch = fresh_batch();
  Status walk = store.ForEachStoredRecord(study, [&](const StoredRecord& r) -> Status {
    RecordBatch::Item item;
    item.fields = r.fields;
    item.format_version = r.format_version;
    item.stream = batch.Put(r.fields.stream);
    item.type = batch.Put(r.fields.type);
    item.user = batch.Put(r.fields.actor_user);
    item.role = batch.Put(r.fields.actor_role);
    item.reason = batch.Put(r.fields.reason);
    item.payload = batch.Put(r.payload);
    item.prev = batch.Put(r.prev_hash);
    item.hash = batch.Put(r.hash);
    batch.items.push_back(item);
    if (batch.items.size() == kBatchRecords) {
      if (queue.cancelled()) return Aborted("stop");
      queue.Push(std::move(batch));
      batch = fresh_batch();
    }
    return Status::Ok();
  });
  if (walk.ok() && !batch.items.empty()) queue.Push(std::move(batch));
  queue.Finish();
  hasher.join();
  if (!walk.ok() && !v.problem) return walk;
  v.head = prev;
  v.root = tree.Root();
  if (!v.problem && next_checkpoint < checkpoints.size()) {
    const Checkpoint& c = checkpoints[next_checkpoint];
    v.problem = VerifyProblem{last_seq + 1, v.events,
                              "the checkpoint signed at " + FormatTimeMicros(c.time_us) + " covers " +
                                  std::to_string(c.tree_size) + " events but the log has only " +
                                  std::to_string(v.events) + ": events were removed from the end"};
  }
  return v;
}

Status ForEachAuditEntry(EventStore& store, const AuditFilter& filter,
                         const std::function<Status(const AuditEntry&)>& fn) {
  TC_RETURN_IF_ERROR(ValidateStudyId(filter.study));
  EventFilter f;
  f.study = filter.study;
  if (filter.subject) {
    if (filter.subject->empty()) return InvalidArgument("subject id is empty");
    f.stream = "subject/" + *filter.subject;
  }
  f.until_time_us = filter.to_us;
  // Old values come from replaying earlier events, so the walk starts at the
  // beginning even when the filter starts later.
  std::unordered_map<std::string, Value> current;
  return store.ForEachEvent(f, [&](const Event& e) -> Status {
    bool shown = (!filter.user || e.actor.user == *filter.user) && (!filter.from_us || e.time_us >= *filter.from_us);
    const Value* set = e.payload.Find("set");
    if (!set || !set->is_object() || set->as_object().empty()) {
      if (shown && (!filter.path_prefix || UnderPrefix(e.stream, *filter.path_prefix))) {
        AuditEntry a{e.seq, e.time_us, e.actor, e.type, e.stream, e.stream, std::nullopt, std::nullopt, e.reason};
        TC_RETURN_IF_ERROR(fn(a));
      }
      return Status::Ok();
    }
    for (const auto& [path, value] : set->as_object()) {
      auto it = current.find(path);
      std::optional<Value> old;
      if (it != current.end()) old = it->second;
      if (shown && (!filter.path_prefix || UnderPrefix(path, *filter.path_prefix))) {
        AuditEntry a{e.seq, e.time_us, e.actor, e.type, e.stream, path, old, value, e.reason};
        TC_RETURN_IF_ERROR(fn(a));
      }
      current[path] = value;
    }
    return Status::Ok();
  });
}

}  // namespace trialcore
