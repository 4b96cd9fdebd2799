// The MedDRA autocoder: a verbatim term (as a site or reporter wrote it) to an
// LLT, by three rules in order:
//   1. exact: the verbatim equals a current LLT's name byte for byte;
//   2. normalised: equal after NormaliseMeddraTerm (below) to exactly one
//      current LLT's normalised name, or to several under one PT;
//   3. otherwise no code, and a ranked list of candidates for a person to
//      choose from (at most `max_candidates`; see meddra_coder.cc for why the
//      ranking is what it is).
// Non-current LLTs are never coded to; they may appear among candidates,
// marked non-current. When a rule matches current LLTs under different PTs
// the term is ambiguous: nothing is coded and those LLTs lead the candidates.
//
// Thread safety: Code() may be called from any number of threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "safety/meddra.h"

namespace trialcore::safety {

enum class CodingRule {
  kExact,       // rule 1
  kNormalised,  // rule 2
  kAmbiguous,   // rule 1 or 2 matched current LLTs under different PTs: a person chooses
  kCandidates,  // rule 3: nothing matched; candidates (perhaps none) for a person
};
std::string_view CodingRuleName(CodingRule rule);

// Lower case, diacritics folded, punctuation out, single spaces: the form
// rule 2 compares.
//  - ASCII letters and the Latin-1 letters (U+00C0-U+00FF) lose case and
//    accents ("Éruption" -> "eruption", "ß" -> "ss", "æ" -> "ae"); other
//    characters (Greek, Japanese ...) are kept as they are.
//  - An apostrophe (' or U+2019) disappears, so "Crohn's" and "Crohns" meet;
//    every other ASCII punctuation mark, and tab and line breaks, become a
//    space, so "non-Hodgkin" meets "non Hodgkin" and "Rash, macular" meets
//    "rash macular".
//  - Runs of spaces become one; leading and trailing spaces go.
// Bytes that are not UTF-8 are kept as they are.
std::string NormaliseMeddraTerm(std::string_view verbatim);

struct MeddraTermRef {
  uint32_t code = 0;
  std::string_view name;  // points into the dictionary
};

// An LLT and its primary path up to the SOC. The PT's other paths are in
// dictionary().FindPt(pt.code)->paths.
struct MeddraCoding {
  MeddraTermRef llt, pt, hlt, hlgt, soc;
  bool llt_current = true;
};

struct MeddraCandidate {
  MeddraCoding coding;
  double score = 0;  // 1 for a match of the whole normalised name; else trigram similarity in (0, 1)
};

struct MeddraCodingResult {
  CodingRule rule = CodingRule::kCandidates;
  MeddraCoding coding;                      // when rule is kExact or kNormalised
  std::vector<MeddraCandidate> candidates;  // best first; kAmbiguous and kCandidates only
  bool coded() const { return rule == CodingRule::kExact || rule == CodingRule::kNormalised; }
};

struct MeddraCoderOptions {
  size_t max_candidates = 10;
  // Candidates below this trigram similarity are left out (PostgreSQL's
  // pg_trgm uses 0.3 as its default for the same measure).
  double min_similarity = 0.3;
};

class MeddraCoder {
 public:
  // Indexes the dictionary (which the coder shares and keeps alive).
  explicit MeddraCoder(std::shared_ptr<const MeddraDictionary> dictionary, MeddraCoderOptions options = {});
  ~MeddraCoder();
  MeddraCoder(MeddraCoder&&) noexcept;
  MeddraCoder& operator=(MeddraCoder&&) noexcept;

  // The result's names point into dictionary(), valid while the coder or
  // another holder of the dictionary lives.
  MeddraCodingResult Code(std::string_view verbatim) const;

  // A lowest level term a person chose, with its primary path: nullopt when
  // this version has no such code.
  std::optional<MeddraCoding> CodingOfLlt(uint32_t code) const;

  const MeddraDictionary& dictionary() const;

 private:
  struct Index;
  std::unique_ptr<Index> index_;
};

}  // namespace trialcore::safety
