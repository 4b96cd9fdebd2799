// What changed between two MedDRA versions, for recoding: the LLTs a coded
// term may need moving from (no longer current, removed, or under another
// PT) and the PTs whose primary SOC moved (their counts move in SOC tables).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "safety/meddra.h"

namespace trialcore::safety {

struct MeddraChanges {
  struct Llt {
    uint32_t code = 0;
    std::string name;  // in the newer version, or the older one when removed
  };
  struct LltMove {
    uint32_t code = 0;
    std::string name;
    uint32_t from_pt = 0, to_pt = 0;
  };
  struct PtSocMove {
    uint32_t code = 0;
    std::string name;
    uint32_t from_soc = 0, to_soc = 0;
  };

  std::string from_version, to_version;
  // Each list sorted by code.
  std::vector<Llt> became_non_current;  // current in `from`, non-current in `to`
  std::vector<Llt> became_current;      // the reverse
  std::vector<LltMove> moved;           // under another PT (including an LLT whose PT was demoted)
  std::vector<Llt> removed;             // in `from`, not in `to`
  std::vector<Llt> added;               // in `to`, not in `from`
  std::vector<PtSocMove> primary_soc_changed;

  // True when nothing a recoding cares about changed (added LLTs aside).
  bool NeedsNoRecoding() const {
    return became_non_current.empty() && moved.empty() && removed.empty() && primary_soc_changed.empty();
  }
};

MeddraChanges DiffMeddra(const MeddraDictionary& from, const MeddraDictionary& to);

// Release order: "27.1" before "27.10" before "28.0", the dotted numbers
// compared as numbers (then as text, so that the order is total).
bool OlderMeddraVersion(std::string_view a, std::string_view b);

}  // namespace trialcore::safety
