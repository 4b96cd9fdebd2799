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
  if (!language.empty()) return CoderFor(store, version, language);
  const std::tuple<const EventStore*, std::string> which{&store, version};
  std::string remembered;
  {
    std::lock_guard lock(mu_);
    auto it = languages_.find(which);
    if (it != languages_.end()) remembered = it->second;
  }
  if (!remembered.empty()) return CoderFor(store, version, remembered);
  // The version's only language; anything else gets ReadStoredMeddra's own
  // error (NotFound naming the versions there are, or several languages).
  TC_ASSIGN_OR_RETURN(auto versions, ListMeddraVersions(store));
  std::string resolved;
  int matches = 0;
  for (const auto& v : versions) {
    if (v.version == version) {
      resolved = v.language;
      ++matches;
    }
  }
  if (matches != 1) {
    TC_ASSIGN_OR_RETURN(MeddraTables tables, ReadStoredMeddra(store, version, ""));
    resolved = tables.language;  // loaded since the listing
  }
  {
    std::lock_guard lock(mu_);
    languages_[which] = resolved;
  }
  return CoderFor(store, version, resolved);
}

Result<std::shared_ptr<const MeddraCoder>> MeddraCache::CoderFor(EventStore& store, const std::string& version,
                                                                 const std::string& language) {
  Key key{&store, version, language};
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
  auto tables = ReadStoredMeddra(store, version, language);
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
    auto it = slots_.find(key);
    const bool still_kept = it != slots_.end() && it->second == slot;  // not forgotten meanwhile
    if (coder) {
      ++builds_;
      if (still_kept) EvictLocked();
    } else if (still_kept) {
      slots_.erase(it);  // not kept: the next request tries again
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

void MeddraCache::Forget(const EventStore& store) {
  std::lock_guard lock(mu_);
  std::erase_if(slots_, [&](const auto& entry) { return std::get<0>(entry.first) == &store; });
  std::erase_if(languages_, [&](const auto& entry) { return std::get<0>(entry.first) == &store; });
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
