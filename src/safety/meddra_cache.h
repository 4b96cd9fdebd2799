// Built MedDRA coders for stored versions, kept by a process and shared by
// its requests. Reading a stored version (~80,000 LLTs) and building its
// coder takes far too long to do per request, and a stored version with its
// language never changes (meddra_store.h loads it once), so a coder once
// built serves every later request for that version of that store.
//
// Entries are keyed by what was loaded: the version, the language and the
// SHA-256 of each distribution file, as the store records them (read on
// every request: a few rows). So one process may serve several databases,
// a store closed and another opened in its place never gets the other's
// coder, and databases holding the same files share one. At most
// max_versions coders are kept; beyond that the least recently used one is
// dropped (holders of its shared_ptr keep it alive).
//
// Thread safety: every member may be called from any number of threads at
// once. Concurrent first requests for one version build it once: the first
// reads and builds, the others wait for it and share the result.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "core/status.h"
#include "safety/meddra_coder.h"
#include "safety/meddra_store.h"

namespace trialcore {
class EventStore;
}

namespace trialcore::safety {

class MeddraCache {
 public:
  explicit MeddraCache(size_t max_versions = 4);
  ~MeddraCache();
  MeddraCache(const MeddraCache&) = delete;
  MeddraCache& operator=(const MeddraCache&) = delete;

  // The coder for a stored version (empty language: the version's only one),
  // built once per process and shared. NotFound (naming the versions there
  // are) when the version is not stored; InvalidArgument when the language is
  // empty and the version is stored in several. A failed read is not kept:
  // the next request tries again (a version may be loaded meanwhile).
  Result<std::shared_ptr<const MeddraCoder>> Coder(EventStore& store, const std::string& version,
                                                   const std::string& language = "");

  // The newest loaded version (latest load): what a new coding uses by
  // default. Read from the store on every call, so a load by another process
  // is seen. NotFound when none is loaded.
  Result<MeddraVersionInfo> Latest(EventStore& store);

  // How many coders this cache has built (read and indexed) so far, and how
  // many it holds now: for metrics and tests.
  uint64_t builds() const;
  size_t size() const;

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // version, language, the files' SHA-256
  struct Slot;

  Result<std::shared_ptr<const MeddraCoder>> CoderFor(EventStore& store, const MeddraVersionInfo& stored);
  void EvictLocked();

  const size_t max_versions_;
  mutable std::mutex mu_;
  std::condition_variable built_;  // a slot's build finished
  std::map<Key, std::shared_ptr<Slot>> slots_;
  uint64_t tick_ = 0;
  uint64_t builds_ = 0;
};

}  // namespace trialcore::safety
