#include "store/audit.h"

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_map>

#include "core/canonical.h"
#include "core/merkle.h"

namespace trialcore {
namespace {

bool BytesEqual(std::string_view bytes, const Hash& h) {
  return bytes.size() == h.size() && std::memcmp(bytes.data(), h.data(), h.size()) == 0;
}

std::string Short(std::string_view hex) { return std::string(hex.substr(0, 16)) + "…"; }

}  // namespace

namespace {

// One stored event as read and hashed by a worker.
struct CheckedRecord {
  uint64_t seq = 0;
  uint64_t study_index = 0;
  int64_t format_version = 0;
  Hash stored_prev{};
  Hash stored_hash{};
  Hash computed{};  // SHA-256(stored prev || record)
  uint32_t record_size = 0;
  uint8_t stored_prev_size = 0;
  uint8_t stored_hash_size = 0;
  // Whether the record rebuilt from the columns is one DecodeEventRecord
  // accepts: a matching hash over a non-canonical payload (unsorted keys,
  // bad UTF-8) is still a log no reader can trust.
  Status decodable;
};

// Where the chain stands after the last event found good.
struct ChainState {
  uint64_t events = 0;  // the position the next event must have
  uint64_t last_seq = 0;
  Hash prev{};
};

// The checks of one event against the chain before it, in the order the
// problems are reported; nullopt when the event is good.
std::optional<std::string> CheckLink(const ChainState& s, const CheckedRecord& r) {
  std::string_view stored_prev(reinterpret_cast<const char*>(r.stored_prev.data()),
                               std::min<size_t>(r.stored_prev_size, 32));
  std::string_view stored_hash(reinterpret_cast<const char*>(r.stored_hash.data()),
                               std::min<size_t>(r.stored_hash_size, 32));
  if (r.format_version != kEventFormatVersion) {
    return "event format version " + std::to_string(r.format_version) + " is not known to this trialcore";
  }
  if (r.study_index != s.events) {
    return "expected the event at position " + std::to_string(s.events) + " but found position " +
           std::to_string(r.study_index) + ": events are missing or out of order";
  }
  if (r.seq <= s.last_seq) return "sequence number is not after the previous event's " + std::to_string(s.last_seq);
  if (r.stored_prev_size != 32 || !BytesEqual(stored_prev, s.prev)) {
    return "link to the previous event is broken: stored previous hash " + Short(ToHex(stored_prev)) +
           " but the previous event's hash is " + Short(ToHex(s.prev));
  }
  // The stored previous hash equals prev here, so computed is the chain hash.
  if (r.stored_hash_size != 32 || !BytesEqual(stored_hash, r.computed)) {
    return "content does not match its hash (stored " + Short(ToHex(stored_hash)) + ", computed " +
           Short(ToHex(r.computed)) + "): the event was altered";
  }
  if (!r.decodable.ok()) return "the event is not in the canonical encoding: " + r.decodable.message();
  return std::nullopt;
}

Hash CopyHash(std::string_view bytes, uint8_t* size) {
  Hash h{};
  *size = static_cast<uint8_t>(std::min<size_t>(bytes.size(), 255));
  std::memcpy(h.data(), bytes.data(), std::min(bytes.size(), h.size()));
  return h;
}

// Aligned subtrees of this many leaves are hashed by the workers, so the
// in-order pass adds one node for them instead of every leaf.
constexpr size_t kBlockLevel = 8;
constexpr uint64_t kBlock = uint64_t{1} << kBlockLevel;
constexpr size_t kRangesAhead = 3;  // per worker; bounds memory: ranges hashed but not yet walked

// What a worker found in one range of sequence numbers. Its first event is
// checked by the in-order pass against the range before; every later one the
// worker checked against its predecessor, stopping at the first problem.
struct Range {
  bool ready = false;
  Status status;
  bool empty = true;
  CheckedRecord first;
  // The events found good, from the first on (its position is first.study_index).
  std::vector<Hash> leaves;    // Merkle leaf hashes
  std::vector<Hash> computed;  // chain hashes
  std::vector<uint64_t> seqs;
  std::vector<uint32_t> sizes;
  // Roots of the aligned blocks of kBlock leaves wholly among the good
  // events: blocks[k] covers leaves from block_offset + k * kBlock.
  std::vector<Hash> blocks;
  size_t block_offset = 0;
  std::optional<VerifyProblem> problem;  // the first bad event after the first
};

void ReadRange(EventStore& store, const std::string& study, int64_t from, int64_t to, Range* range) {
  std::string hashed;
  ChainState state;
  // At most one event a sequence number; reserved so the vectors never move.
  const size_t most = static_cast<size_t>(std::min<int64_t>(to - std::max<int64_t>(from, 0) + 1, 1 << 16));
  range->leaves.reserve(most);
  range->computed.reserve(most);
  range->seqs.reserve(most);
  range->sizes.reserve(most);
  range->status = store.ForEachStoredRecord(study, from, to, [&](const StoredRecord& r) -> Status {
    if (range->problem) return Status::Ok();  // the rest of the range is not needed
    CheckedRecord c;
    c.seq = r.fields.seq;
    c.study_index = r.fields.study_index;
    c.format_version = r.format_version;
    c.stored_prev = CopyHash(r.prev_hash, &c.stored_prev_size);
    c.stored_hash = CopyHash(r.hash, &c.stored_hash_size);
    hashed.assign(AsBytes(c.stored_prev));
    EncodeEventRecord(r.fields, r.payload, &hashed);
    c.record_size = static_cast<uint32_t>(hashed.size() - 32);
    c.computed = Sha256(hashed);
    c.decodable = ValidateEventRecord(std::string_view(hashed).substr(32));
    if (range->empty) {
      range->empty = false;
      range->first = c;
    } else if (auto bad = CheckLink(state, c)) {
      range->problem = VerifyProblem{c.seq, c.study_index, std::move(*bad)};
      return Status::Ok();
    }
    // Good, or the first event (which the in-order pass judges): the next
    // one is checked against it.
    state = ChainState{c.study_index + 1, c.seq, c.computed};
    range->leaves.push_back(MerkleLeafHash(AsBytes(c.computed)));
    range->seqs.push_back(c.seq);
    range->sizes.push_back(c.record_size);
    range->computed.push_back(c.computed);
    return Status::Ok();
  });
  if (range->empty) return;
  range->block_offset = static_cast<size_t>((kBlock - range->first.study_index % kBlock) % kBlock);
  for (size_t at = range->block_offset; at + kBlock <= range->leaves.size(); at += kBlock) {
    range->blocks.push_back(MerkleRoot(std::span(range->leaves).subspan(at, kBlock)));
  }
}

}  // namespace

Result<StudyVerification> VerifyStudy(EventStore& store, const std::string& study,
                                      const std::vector<Checkpoint>& extra_checkpoints,
                                      const std::optional<std::string>& trusted_key,
                                      const std::function<void(uint64_t)>& progress, const VerifyOptions& options) {
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
  TC_ASSIGN_OR_RETURN(uint64_t last_stored_seq, store.LastSeq());
  size_t next_checkpoint = 0;
  MerkleAccumulator tree;
  ChainState chain;

  auto check_checkpoints = [&]() -> std::optional<std::string> {
    while (next_checkpoint < checkpoints.size() && checkpoints[next_checkpoint].tree_size <= tree.size()) {
      const Checkpoint& c = checkpoints[next_checkpoint++];
      if (c.tree_size == 0) continue;
      Status sig = VerifyCheckpoint(c, trusted_key ? *trusted_key : c.public_key);
      if (!sig.ok()) return "checkpoint at size " + std::to_string(c.tree_size) + ": " + sig.message();
      if (tree.Root() != c.root_hash) {
        return "the log's first " + std::to_string(c.tree_size) + " events do not match the checkpoint signed at " +
               FormatTimeMicros(c.time_us) +
               " (Merkle root differs): events up to here were altered, removed or "
               "reordered";
      }
      ++v.checkpoints_checked;
    }
    return std::nullopt;
  };

  // Adds the good events of a range to the tree in order, checking the
  // checkpoints that fall among them; false at the first problem.
  auto add_range = [&](const Range& r) -> bool {
    const size_t n = r.leaves.size();
    for (size_t j = 0; j < n;) {
      const uint64_t index = r.first.study_index + j;  // == tree.size()
      size_t added = 1;
      if (index % kBlock == 0 && j + kBlock <= n &&
          (next_checkpoint >= checkpoints.size() || checkpoints[next_checkpoint].tree_size >= index + kBlock)) {
        tree.AddSubtree(r.blocks[(j - r.block_offset) / kBlock], kBlockLevel);
        added = kBlock;
      } else {
        tree.Add(r.leaves[j]);
      }
      for (size_t k = j; k < j + added; ++k) v.bytes += r.sizes[k];
      v.events += added;
      j += added;
      chain = ChainState{index + added, r.seqs[j - 1], r.computed[j - 1]};
      if (auto bad = check_checkpoints()) {
        v.problem = VerifyProblem{r.seqs[j - 1], index + added - 1, std::move(*bad)};
        return false;
      }
    }
    return true;
  };

  // Workers read, hash and check ranges of sequence numbers in parallel (an
  // event's chain hash needs only its own stored fields, and it is checked
  // against its predecessor's); this thread then walks the ranges in order,
  // checking each range's first event against the end of the range before
  // and growing the tree.
  const size_t workers_count =
      options.threads > 0 ? options.threads : std::max<size_t>(1, std::thread::hardware_concurrency());
  const int64_t range_seqs = std::max<int64_t>(1, options.range_seqs);
  const size_t range_count = static_cast<size_t>(last_stored_seq / static_cast<uint64_t>(range_seqs)) + 1;
  std::deque<Range> ranges(range_count);
  std::mutex mu;
  std::condition_variable cv;
  size_t next_range = 0, walked = 0;
  bool cancelled = false;
  auto work = [&] {
    while (true) {
      size_t i;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] {
          return cancelled || next_range >= range_count || next_range < walked + kRangesAhead * workers_count;
        });
        if (cancelled || next_range >= range_count) return;
        i = next_range++;
      }
      const int64_t from = i == 0 ? INT64_MIN : static_cast<int64_t>(i) * range_seqs;
      const int64_t to = static_cast<int64_t>(i + 1) * range_seqs - 1;
      Range r;
      ReadRange(store, study, from, to, &r);
      std::lock_guard lock(mu);
      ranges[i] = std::move(r);
      ranges[i].ready = true;
      cv.notify_all();
    }
  };
  std::vector<std::thread> workers;
  for (size_t w = 0; w < workers_count; ++w) workers.emplace_back(work);
  Status walk;
  for (size_t i = 0; i < range_count && walk.ok() && !v.problem; ++i) {
    Range r;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return ranges[i].ready; });
      r = std::move(ranges[i]);
      ranges[i] = Range{};
    }
    walk = r.status;
    if (walk.ok() && !r.empty) {
      if (auto bad = CheckLink(chain, r.first)) {
        v.problem = VerifyProblem{r.first.seq, r.first.study_index, std::move(*bad)};
      } else if (add_range(r) && r.problem) {
        v.problem = std::move(r.problem);
      }
    }
    {
      std::lock_guard lock(mu);
      walked = i + 1;
      cv.notify_all();
    }
    if (progress) progress(v.events);
  }
  {
    std::lock_guard lock(mu);
    cancelled = true;
    cv.notify_all();
  }
  for (auto& w : workers) w.join();
  if (!walk.ok()) return walk;
  v.head = chain.prev;
  v.root = tree.Root();
  if (!v.problem && next_checkpoint < checkpoints.size()) {
    const Checkpoint& c = checkpoints[next_checkpoint];
    v.problem = VerifyProblem{chain.last_seq + 1, v.events,
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
      if (shown && (!filter.path_prefix || IsUnderPath(e.stream, *filter.path_prefix))) {
        AuditEntry a{e.seq, e.time_us, e.actor, e.type, e.stream, e.stream, std::nullopt, std::nullopt, e.reason, {}};
        if (e.payload.is_object()) a.details = e.payload.as_object();
        TC_RETURN_IF_ERROR(fn(a));
      }
      return Status::Ok();
    }
    for (const auto& [path, value] : set->as_object()) {
      auto it = current.find(path);
      std::optional<Value> old;
      if (it != current.end()) old = it->second;
      if (shown && (!filter.path_prefix || IsUnderPath(path, *filter.path_prefix))) {
        AuditEntry a{e.seq, e.time_us, e.actor, e.type, e.stream, path, old, value, e.reason, {}};
        TC_RETURN_IF_ERROR(fn(a));
      }
      current[path] = value;
    }
    return Status::Ok();
  });
}

AuditReader::AuditReader(EventStore& store, std::string study, std::string stream, size_t batch)
    : store_(store), study_(std::move(study)), stream_(std::move(stream)), batch_size_(std::max<size_t>(batch, 1)) {}

Result<bool> AuditReader::Next(std::vector<AuditEntry>* entries) {
  entries->clear();
  if (batch_.empty() && !ended_) {
    EventFilter f;
    f.study = study_;
    f.stream = stream_;
    f.after_seq = after_seq_;
    f.limit = batch_size_;
    TC_RETURN_IF_ERROR(store_.ForEachEvent(f, [&](const Event& e) -> Status {
      batch_.push_back(e);
      return Status::Ok();
    }));
    if (batch_.size() < batch_size_) ended_ = true;
    if (!batch_.empty()) after_seq_ = batch_.back().seq;
  }
  if (batch_.empty()) return false;
  const Event e = std::move(batch_.front());
  batch_.pop_front();
  const Value* set = e.payload.Find("set");
  if (!set || !set->is_object() || set->as_object().empty()) {
    AuditEntry a{e.seq, e.time_us, e.actor, e.type, e.stream, e.stream, std::nullopt, std::nullopt, e.reason, {}};
    if (e.payload.is_object()) a.details = e.payload.as_object();
    entries->push_back(std::move(a));
    return true;
  }
  for (const auto& [path, value] : set->as_object()) {
    auto it = current_.find(path);
    std::optional<Value> old;
    if (it != current_.end()) old = it->second;
    entries->push_back(AuditEntry{e.seq, e.time_us, e.actor, e.type, e.stream, path, old, value, e.reason, {}});
    current_[path] = value;
  }
  return true;
}

}  // namespace trialcore
