#include "store/audit.h"

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
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

// What a worker found about one stored event; the in-order pass decides.
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
};

struct Chunk {
  std::vector<CheckedRecord> records;
  Status status;
  bool ready = false;
};

constexpr int64_t kChunkSeqs = 1 << 16;  // sequence numbers per chunk
constexpr size_t kWorkers = 2;
constexpr size_t kChunksAhead = 4;  // bounds memory: chunks hashed but not yet checked

Hash CopyHash(std::string_view bytes, uint8_t* size) {
  Hash h{};
  *size = static_cast<uint8_t>(std::min<size_t>(bytes.size(), 255));
  std::memcpy(h.data(), bytes.data(), std::min(bytes.size(), h.size()));
  return h;
}

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
  TC_ASSIGN_OR_RETURN(uint64_t last_stored_seq, store.LastSeq());
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
               FormatTimeMicros(c.time_us) +
               " (Merkle root differs): events up to here were altered, removed or "
               "reordered";
      }
      ++v.checkpoints_checked;
    }
    return std::nullopt;
  };

  // In log order; returns false at the first problem, which it records in v.
  auto check = [&](const CheckedRecord& r) -> bool {
    auto fail = [&](std::string what) {
      v.problem = VerifyProblem{r.seq, r.study_index, std::move(what)};
      return false;
    };
    std::string_view stored_prev(reinterpret_cast<const char*>(r.stored_prev.data()),
                                 std::min<size_t>(r.stored_prev_size, 32));
    std::string_view stored_hash(reinterpret_cast<const char*>(r.stored_hash.data()),
                                 std::min<size_t>(r.stored_hash_size, 32));
    if (r.format_version != kEventFormatVersion) {
      return fail("event format version " + std::to_string(r.format_version) + " is not known to this trialcore");
    }
    if (r.study_index != v.events) {
      return fail("expected the event at position " + std::to_string(v.events) + " but found position " +
                  std::to_string(r.study_index) + ": events are missing or out of order");
    }
    if (r.seq <= last_seq) return fail("sequence number is not after the previous event's " + std::to_string(last_seq));
    if (r.stored_prev_size != 32 || !BytesEqual(stored_prev, prev)) {
      return fail("link to the previous event is broken: stored previous hash " + Short(ToHex(stored_prev)) +
                  " but the previous event's hash is " + Short(ToHex(prev)));
    }
    // The stored previous hash equals prev here, so computed is the chain hash.
    if (r.stored_hash_size != 32 || !BytesEqual(stored_hash, r.computed)) {
      return fail("content does not match its hash (stored " + Short(ToHex(stored_hash)) + ", computed " +
                  Short(ToHex(r.computed)) + "): the event was altered");
    }
    prev = r.computed;
    last_seq = r.seq;
    v.bytes += r.record_size;
    ++v.events;
    tree.Add(MerkleLeafHash(AsBytes(r.computed)));
    if (auto bad = check_checkpoints()) return fail(*bad);
    return true;
  };

  // Workers read and hash ranges of sequence numbers in parallel (the chain
  // hash of each event needs only its own stored fields); this thread then
  // walks the results in order, checking links, positions and the tree.
  const size_t chunk_count = static_cast<size_t>(last_stored_seq / kChunkSeqs) + 1;
  std::vector<Chunk> chunks(chunk_count);
  std::mutex mu;
  std::condition_variable cv;
  size_t next_chunk = 0, checked_chunks = 0;
  bool cancelled = false;
  auto work = [&] {
    std::string hashed;
    while (true) {
      size_t i;
      {
        std::unique_lock lock(mu);
        cv.wait(lock,
                [&] { return cancelled || next_chunk >= chunk_count || next_chunk < checked_chunks + kChunksAhead; });
        if (cancelled || next_chunk >= chunk_count) return;
        i = next_chunk++;
      }
      const int64_t from = i == 0 ? INT64_MIN : static_cast<int64_t>(i) * kChunkSeqs;
      const int64_t to = static_cast<int64_t>(i + 1) * kChunkSeqs - 1;
      std::vector<CheckedRecord> records;
      records.reserve(static_cast<size_t>(kChunkSeqs));
      Status s = store.ForEachStoredRecord(study, from, to, [&](const StoredRecord& r) -> Status {
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
        records.push_back(c);
        return Status::Ok();
      });
      std::lock_guard lock(mu);
      chunks[i].records = std::move(records);
      chunks[i].status = s;
      chunks[i].ready = true;
      cv.notify_all();
    }
  };
  std::vector<std::thread> workers;
  for (size_t w = 0; w < kWorkers; ++w) workers.emplace_back(work);
  Status walk;
  for (size_t i = 0; i < chunk_count && walk.ok() && !v.problem; ++i) {
    std::vector<CheckedRecord> records;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return chunks[i].ready; });
      walk = chunks[i].status;
      records = std::move(chunks[i].records);
    }
    if (walk.ok()) {
      for (const auto& r : records) {
        if (!check(r)) break;
      }
    }
    std::lock_guard lock(mu);
    checked_chunks = i + 1;
    cv.notify_all();
    if (progress) progress(v.events);
  }
  {
    std::lock_guard lock(mu);
    cancelled = true;
    cv.notify_all();
  }
  for (auto& w : workers) w.join();
  if (!walk.ok()) return walk;
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

}  // namespace trialcore
