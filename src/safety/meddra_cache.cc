#include "safety/meddra_cache.h"

#include <algorithm>

#include "store/event_store.h"

namespace trialcore::safety {

// One version's coder: being built until `done`, then the coder or why not.
struct MeddraCache::Slot {
  bool done = false;
  Status status;
  std::shared_ptr<const MeddraCoder> coder;
  uint64_t last_used = 0;
};

MeddraCache::MeddraCache(size_t max_versions) : max_versions_(std::max<size_t>(1, max_versions)) {}
MeddraCache::~MeddraCache() = default;

Result<std::shared_ptr<const MeddraCoder>> MeddraCache::Coder(EventStore& store, const std::string& version,
                                                              const std::string& language) {
  TC_ASSIGN_OR_RETURN(auto versions, ListMeddraVersions(store));
  const MeddraVersionInfo* stored = nullptr;
  int matches = 0;
  for (const auto& v : versions) {
    if (v.version == version && (language.empty() || v.language == language)) {
      stored = &v;
      ++matches;
    }
  }
  // None, or several languages to choose from: ReadStoredMeddra's own error
  // (NotFound naming the versions there are, or which languages).
  if (matches != 1) return ReadStoredMeddra(store, version, language).status();
  return CoderFor(store, *stored);
}

Result<std::shared_ptr<const MeddraCoder>> MeddraCache::CoderFor(EventStore& store, const MeddraVersionInfo& stored) {
  std::string files;
  for (const MeddraSourceFile& f : stored.files) files += f.name + "=" + f.sha256 + ";";
  Key key{stored.version, stored.language, files};
  std::shared_ptr<Slot> slot;
  {
    std::unique_lock lock(mu_);
    auto it = slots_.find(key);
    if (it != slots_.end()) {
      slot = it->second;
      slot->last_used = ++tick_;
      built_.wait(lock, [&] { return slot->done; });
      if (slot->coder) return slot->coder;
      return slot->status;
    }
    slot = std::make_shared<Slot>();
    slot->last_used = ++tick_;
    slots_.emplace(key, slot);
  }

  // Read and build without the lock: other versions are served meanwhile.
  Status status;
  std::shared_ptr<const MeddraCoder> coder;
  auto tables = ReadStoredMeddra(store, stored.version, stored.language);
  if (!tables.ok()) {
    status = tables.status();
  } else {
    auto dictionary = MeddraDictionary::Build(std::move(*tables));
    if (!dictionary.ok()) {
      status = dictionary.status();
    } else {
      coder = std::make_shared<const MeddraCoder>(std::make_shared<const MeddraDictionary>(std::move(*dictionary)));
    }
  }

  {
    std::lock_guard lock(mu_);
    slot->done = true;
    slot->status = status;
    slot->coder = coder;
    slot->last_used = ++tick_;
    // (A slot being built is never evicted, so it is still there.)
    if (coder) {
      ++builds_;
      EvictLocked();
    } else {
      slots_.erase(key);  // not kept: the next request tries again
    }
  }
  built_.notify_all();
  if (coder) return coder;
  return status;
}

void MeddraCache::EvictLocked() {
  while (true) {
    size_t built = 0;
    auto oldest = slots_.end();
    for (auto it = slots_.begin(); it != slots_.end(); ++it) {
      if (!it->second->done) continue;  // being built: its waiters need it
      ++built;
      if (oldest == slots_.end() || it->second->last_used < oldest->second->last_used) oldest = it;
    }
    if (built <= max_versions_) return;
    slots_.erase(oldest);
  }
}

Result<MeddraVersionInfo> MeddraCache::Latest(EventStore& store) {
  TC_ASSIGN_OR_RETURN(auto versions, ListMeddraVersions(store));
  if (versions.empty()) return NotFound("no MedDRA version is loaded; load one with `trialcore meddra load DIR`");
  return std::move(versions.back());
}

uint64_t MeddraCache::builds() const {
  std::lock_guard lock(mu_);
  return builds_;
}

size_t MeddraCache::size() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [key, slot] : slots_) n += slot->done ? 1 : 0;
  return n;
}

}  // namespace trialcore::safety
