// MedDRA versions kept in the database: `trialcore meddra load` appends a
// version's rows, with the SHA-256 of every file they were read from, to the
// system log "trialcore-meddra" in one atomic batch, so the dictionary every
// coding used is in the same verifiable audit trail as the data, and anyone
// can later show which licensed copy it was. A version (with its language)
// is loaded once; several live side by side.
//
// The log holds, per version, one stream "version/<version>/<language>":
//   meddra.version.loaded  what was loaded (files, counts), set as the
//                          entity of the stream's own path;
//   meddra.rows            the rows of one table, at most kMeddraRowsPerEvent
//                          each, in the order they were read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "safety/meddra.h"

namespace trialcore {
class EventStore;
}

namespace trialcore::safety {

inline constexpr char kMeddraLog[] = "trialcore-meddra";
inline constexpr size_t kMeddraRowsPerEvent = 2000;

struct MeddraVersionInfo {
  std::string version;
  std::string language;
  std::vector<MeddraSourceFile> files;
  uint64_t llts = 0, pts = 0;
  uint64_t seq = 0;  // of the meddra.version.loaded event
  int64_t time_us = 0;
  Actor loaded_by;
};

// Checks the rows (MeddraDictionary::Build) and appends them. AlreadyExists
// when the version in that language is loaded (naming when and by whom);
// InvalidArgument for rows that do not build, or a version or language that
// cannot name a stream. Nothing is stored on any error.
Result<MeddraVersionInfo> StoreMeddraVersion(EventStore& store, const MeddraTables& tables,
                                             const std::vector<MeddraSourceFile>& files, const Actor& actor);

// Every loaded version, oldest load first.
Result<std::vector<MeddraVersionInfo>> ListMeddraVersions(EventStore& store);

// The version's rows as they were stored; NotFound names the versions there
// are. An empty language takes the version's only one.
Result<MeddraTables> ReadStoredMeddra(EventStore& store, const std::string& version, const std::string& language = "");

}  // namespace trialcore::safety
