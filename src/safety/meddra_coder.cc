#include "safety/meddra_coder.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <unordered_map>

namespace trialcore::safety {

std::string_view CodingRuleName(CodingRule rule) {
  switch (rule) {
    case CodingRule::kExact:
      return "exact";
    case CodingRule::kNormalised:
      return "normalised";
    case CodingRule::kAmbiguous:
      return "ambiguous";
    case CodingRule::kCandidates:
      return "candidates";
  }
  return "?";
}

namespace {

// Latin-1 letters U+00C0..U+00FF without case and accent; "" keeps the
// character as it is (× and ÷).
constexpr const char* kLatin1Fold[64] = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",   // C0-CF
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",  // D0-DF
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",   // E0-EF
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y",   // F0-FF
};

}  // namespace

std::string NormaliseMeddraTerm(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool space = false;  // a space is owed before the next character
  auto put = [&](std::string_view text) {
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.append(text);
  };
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      if (c >= 'A' && c <= 'Z') {
        char lower = static_cast<char>(c - 'A' + 'a');
        put({&lower, 1});
      } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        put({s.data() + i - 1, 1});
      } else if (c != '\'') {
        space = true;  // punctuation, spaces, control characters
      }
      continue;
    }
    // Two-byte UTF-8 for U+0080..U+07FF; the Latin-1 letters fold.
    if ((c & 0xE0) == 0xC0 && i + 1 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xC0) == 0x80) {
      uint32_t cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
      if (cp == 0xA0) {
        space = true;  // no-break space
      } else if (cp >= 0xC0 && cp <= 0xFF && *kLatin1Fold[cp - 0xC0] != '\0') {
        put(kLatin1Fold[cp - 0xC0]);
      } else {
        put(s.substr(i, 2));
      }
      i += 2;
      continue;
    }
    if (s.substr(i, 3) == "\xE2\x80\x99") {  // U+2019, the typographic apostrophe
      i += 3;
      continue;
    }
    put(s.substr(i, 1));  // other characters, byte by byte as they are
    ++i;
  }
  return out;
}

namespace {

// pg_trgm's trigrams: each word padded with two spaces before and one after,
// every three consecutive bytes; sorted, without repeats.
void Trigrams(std::string_view norm, std::vector<uint32_t>* out) {
  out->clear();
  size_t i = 0;
  while (i < norm.size()) {
    size_t end = norm.find(' ', i);
    if (end == std::string_view::npos) end = norm.size();
    uint32_t a = ' ', b = ' ';
    for (size_t k = i; k <= end; ++k) {
      uint32_t c = k < end ? static_cast<unsigned char>(norm[k]) : ' ';
      out->push_back((a << 16) | (b << 8) | c);
      a = b;
      b = c;
    }
    i = end + 1;
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
}

// Names (exact or normalised) to the LLTs that carry them.
struct NameIndex {
  std::unordered_map<std::string_view, uint32_t> ids;  // name -> id
  std::vector<uint32_t> offsets{0};                    // id -> llts[offsets[id], offsets[id + 1])
  std::vector<uint32_t> llts;                          // indexes into dictionary.llts()
  std::span<const uint32_t> Find(std::string_view name) const {
    auto it = ids.find(name);
    if (it == ids.end()) return {};
    return {llts.data() + offsets[it->second], llts.data() + offsets[it->second + 1]};
  }
};

// Groups LLT indexes by a key, sorted so that current LLTs come first and
// then by code; keys must outlive the index.
void BuildNameIndex(const std::vector<std::string_view>& key_of_llt, std::span<const MeddraLlt> llts,
                    NameIndex* index) {
  std::vector<uint32_t> order(llts.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (key_of_llt[a] != key_of_llt[b]) return key_of_llt[a] < key_of_llt[b];
    if (llts[a].current != llts[b].current) return llts[a].current;
    return llts[a].code < llts[b].code;
  });
  index->ids.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    if (i == 0 || key_of_llt[order[i]] != key_of_llt[order[i - 1]]) {
      if (i > 0) index->offsets.push_back(static_cast<uint32_t>(i));
      index->ids.emplace(key_of_llt[order[i]], static_cast<uint32_t>(index->ids.size()));
    }
    index->llts.push_back(order[i]);
  }
  if (!order.empty()) index->offsets.push_back(static_cast<uint32_t>(order.size()));
}

// Per-thread scratch of the candidate search, reused from call to call.
struct Scratch {
  std::vector<uint16_t> hits;  // per normalised name; zero between calls
  std::vector<uint32_t> touched;
  std::vector<uint32_t> query;
  std::vector<std::span<const uint32_t>> lists;
  struct Scored {
    double score;
    uint32_t name;
  };
  std::vector<Scored> scored;
};

}  // namespace

struct MeddraCoder::Index {
  std::shared_ptr<const MeddraDictionary> dict;
  MeddraCoderOptions options;
  NameIndex by_exact;
  std::vector<std::string> norm_names;  // normalised name id -> text
  NameIndex by_norm;                    // its ids are those of norm_names
  // Trigrams of each normalised name (CSR), and the names holding each trigram.
  std::vector<uint32_t> tri_offsets{0};
  std::vector<uint32_t> tris;
  std::unordered_map<uint32_t, std::pair<uint32_t, uint32_t>> postings;  // trigram -> [begin, end) in posted
  std::vector<uint32_t> posted;

  MeddraCoding CodingOf(uint32_t llt_index) const;
  void Search(const std::string& norm, MeddraCodingResult* out) const;
  // Current LLTs of a match: coded when they share one PT, else ambiguous.
  bool Decide(std::span<const uint32_t> group, CodingRule rule, const std::string& norm,
              MeddraCodingResult* out) const;
};

MeddraCoder::MeddraCoder(std::shared_ptr<const MeddraDictionary> dictionary, MeddraCoderOptions options)
    : index_(std::make_unique<Index>()) {
  Index& x = *index_;
  x.dict = std::move(dictionary);
  x.options = options;
  const auto llts = x.dict->llts();

  std::vector<std::string_view> keys(llts.size());
  for (size_t i = 0; i < llts.size(); ++i) keys[i] = llts[i].name;
  BuildNameIndex(keys, llts, &x.by_exact);

  // Normalised names, each text once; norm_names is complete before any view
  // into it is taken.
  std::vector<std::string> norm(llts.size());
  for (size_t i = 0; i < llts.size(); ++i) norm[i] = NormaliseMeddraTerm(llts[i].name);
  std::vector<std::string> unique = norm;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  x.norm_names = std::move(unique);
  for (size_t i = 0; i < llts.size(); ++i) {
    keys[i] = *std::lower_bound(x.norm_names.begin(), x.norm_names.end(), norm[i]);
  }
  BuildNameIndex(keys, llts, &x.by_norm);
  // BuildNameIndex numbers names in sorted order, as norm_names is.

  std::vector<uint32_t> t;
  std::unordered_map<uint32_t, uint32_t> counts;
  for (const auto& name : x.norm_names) {
    Trigrams(name, &t);
    x.tris.insert(x.tris.end(), t.begin(), t.end());
    x.tri_offsets.push_back(static_cast<uint32_t>(x.tris.size()));
    for (uint32_t g : t) ++counts[g];
  }
  uint32_t at = 0;
  for (const auto& [g, n] : counts) {
    x.postings[g] = {at, at};
    at += n;
  }
  x.posted.resize(at);
  for (uint32_t id = 0; id < x.norm_names.size(); ++id) {
    for (uint32_t k = x.tri_offsets[id]; k < x.tri_offsets[id + 1]; ++k) x.posted[x.postings[x.tris[k]].second++] = id;
  }
}

MeddraCoder::~MeddraCoder() = default;
MeddraCoder::MeddraCoder(MeddraCoder&&) noexcept = default;
MeddraCoder& MeddraCoder::operator=(MeddraCoder&&) noexcept = default;

const MeddraDictionary& MeddraCoder::dictionary() const { return *index_->dict; }

MeddraCoding MeddraCoder::Index::CodingOf(uint32_t llt_index) const {
  const MeddraLlt& l = dict->llts()[llt_index];
  const MeddraPt* pt = dict->FindPt(l.pt);  // Build() checked that it exists
  const MeddraPath& p = pt->primary();
  const MeddraGroup* hlt = dict->FindHlt(p.hlt);
  const MeddraGroup* hlgt = dict->FindHlgt(p.hlgt);
  const MeddraGroup* soc = dict->FindSoc(p.soc);
  MeddraCoding c;
  c.llt = {l.code, l.name};
  c.pt = {pt->code, pt->name};
  c.hlt = {hlt->code, hlt->name};
  c.hlgt = {hlgt->code, hlgt->name};
  c.soc = {soc->code, soc->name};
  c.llt_current = l.current;
  return c;
}

bool MeddraCoder::Index::Decide(std::span<const uint32_t> group, CodingRule rule, const std::string& norm,
                                MeddraCodingResult* out) const {
  const auto llts = dict->llts();
  // Current LLTs come first in a group.
  if (group.empty() || !llts[group[0]].current) return false;
  for (uint32_t i : group) {
    if (!llts[i].current) break;
    if (llts[i].pt != llts[group[0]].pt) {
      out->rule = CodingRule::kAmbiguous;
      Search(norm, out);
      return true;
    }
  }
  out->rule = rule;
  out->coding = CodingOf(group[0]);
  return true;
}

MeddraCodingResult MeddraCoder::Code(std::string_view verbatim) const {
  const Index& x = *index_;
  MeddraCodingResult out;
  std::string norm;
  auto exact = x.by_exact.Find(verbatim);
  if (!exact.empty()) {
    norm = NormaliseMeddraTerm(verbatim);
    if (x.Decide(exact, CodingRule::kExact, norm, &out)) return out;
  } else {
    norm = NormaliseMeddraTerm(verbatim);
  }
  if (x.Decide(x.by_norm.Find(norm), CodingRule::kNormalised, norm, &out)) return out;
  out.rule = CodingRule::kCandidates;
  x.Search(norm, &out);
  return out;
}

// The candidates, ranked by the Jaccard similarity of the trigram sets of
// the normalised verbatim and of the LLT's normalised name (pg_trgm's
// similarity): |shared| / |union|. Why this measure:
//  - a typo changes at most three trigrams of one word, so a misspelt term
//    stays close to its LLT ("hedache" shares 5 of 8 with "headache");
//  - trigrams are taken word by word, so word order does not matter
//    ("rash macular" and "macular rash" score 1);
//  - the union in the denominator penalises length differences, so a long
//    LLT that merely contains the verbatim's words ranks below one that says
//    the same and no more.
// Ties: the verbatim's own normalised name before names that only have the
// same trigrams (another word order), current LLTs before non-current ones (a person should pick a current
// LLT), then the name nearer in length, then alphabetical order and code, so
// that the list is the same on every run.
// Only names that can reach `min_similarity` are looked at: such a name
// shares at least k = ceil(t * n) of the verbatim's n trigrams, so it holds
// one of the n - k + 1 rarest of them (prefix filtering); the commonest
// trigrams' long posting lists are never read.
void MeddraCoder::Index::Search(const std::string& norm, MeddraCodingResult* out) const {
  thread_local Scratch s;
  Trigrams(norm, &s.query);
  const size_t n = s.query.size();
  if (n == 0) return;
  const double t = options.min_similarity;
  s.lists.clear();
  for (uint32_t g : s.query) {
    auto it = postings.find(g);
    if (it == postings.end()) {
      s.lists.emplace_back();
    } else {
      s.lists.emplace_back(posted.data() + it->second.first, it->second.second - it->second.first);
    }
  }
  std::sort(s.lists.begin(), s.lists.end(), [](auto a, auto b) { return a.size() < b.size(); });
  const size_t k = std::max<size_t>(1, static_cast<size_t>(std::ceil(t * static_cast<double>(n) - 1e-9)));
  if (s.hits.size() < norm_names.size()) s.hits.resize(norm_names.size());
  s.touched.clear();
  for (size_t l = 0; l + k <= n; ++l) {
    for (uint32_t id : s.lists[l]) {
      if (s.hits[id]++ == 0) s.touched.push_back(id);
    }
  }
  s.scored.clear();
  for (uint32_t id : s.touched) {
    s.hits[id] = 0;
    const uint32_t* a = tris.data() + tri_offsets[id];
    const uint32_t* a_end = tris.data() + tri_offsets[id + 1];
    const size_t m = static_cast<size_t>(a_end - a);
    if (static_cast<double>(m) * t > static_cast<double>(n) + 1e-9) continue;  // similarity <= n / m < t
    size_t shared = 0;
    const uint32_t* b = s.query.data();
    const uint32_t* b_end = b + n;
    while (a != a_end && b != b_end) {
      if (*a < *b) {
        ++a;
      } else if (*b < *a) {
        ++b;
      } else {
        ++shared, ++a, ++b;
      }
    }
    double score = static_cast<double>(shared) / static_cast<double>(n + m - shared);
    if (score + 1e-12 >= t) s.scored.push_back({score, id});
  }
  const auto llts = dict->llts();
  auto same = by_norm.ids.find(norm);
  const uint32_t same_id = same == by_norm.ids.end() ? UINT32_MAX : same->second;
  auto has_current = [&](uint32_t id) { return llts[by_norm.llts[by_norm.offsets[id]]].current; };
  auto before = [&](const Scratch::Scored& a, const Scratch::Scored& b) {
    if (a.score != b.score) return a.score > b.score;
    if ((a.name == same_id) != (b.name == same_id)) return a.name == same_id;
    bool ca = has_current(a.name), cb = has_current(b.name);
    if (ca != cb) return ca;
    auto da = std::abs(static_cast<long>(norm_names[a.name].size()) - static_cast<long>(norm.size()));
    auto db = std::abs(static_cast<long>(norm_names[b.name].size()) - static_cast<long>(norm.size()));
    if (da != db) return da < db;
    return a.name < b.name;  // ids are in alphabetical order
  };
  const size_t cap = options.max_candidates;
  const size_t keep = std::min(cap, s.scored.size());
  std::partial_sort(s.scored.begin(), s.scored.begin() + static_cast<std::ptrdiff_t>(keep), s.scored.end(), before);
  // A name may stand for several LLTs (current first, then by code). The
  // current LLTs of all kept names come before their non-current ones only
  // within one name; across names the order above holds.
  for (size_t i = 0; i < keep && out->candidates.size() < cap; ++i) {
    const uint32_t id = s.scored[i].name;
    for (uint32_t k2 = by_norm.offsets[id]; k2 < by_norm.offsets[id + 1] && out->candidates.size() < cap; ++k2) {
      out->candidates.push_back({CodingOf(by_norm.llts[k2]), s.scored[i].score});
    }
  }
}

}  // namespace trialcore::safety
