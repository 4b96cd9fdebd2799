#include "safety/meddra_coder.h"

#include <algorithm>
#include <bit>
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
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",   // C0-CF
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",  // D0-DF
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",   // E0-EF
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

// The words of a normalised name (single spaces between them).
std::vector<std::string_view> Words(std::string_view norm) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < norm.size()) {
    size_t end = norm.find(' ', i);
    if (end == std::string_view::npos) end = norm.size();
    out.push_back(norm.substr(i, end - i));
    i = end + 1;
  }
  return out;
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
  std::vector<uint8_t> seen;  // per normalised name; zero between calls
  std::vector<uint32_t> touched;
  std::vector<uint32_t> query;
  std::vector<std::span<const uint32_t>> lists;
  std::vector<uint32_t> name_state;  // per normalised name (see WordSearch); zero between calls
  std::vector<uint32_t> word_mask;   // per vocabulary word: the verbatim words it matches (bits); zero between calls
  std::vector<uint32_t> match_words, match_offsets;        // per verbatim word, its dictionary words
  std::vector<std::pair<uint64_t, uint32_t>> match_names;  // (names holding them, verbatim word)
  std::vector<uint32_t> word_hits;                         // per vocabulary word; zero between calls
  std::vector<uint32_t> matched;                           // vocabulary words matching one query word
  std::vector<uint8_t> mark;                               // per trigram number: in the verbatim; zero between calls
  std::vector<uint32_t> marked;
  std::vector<uint32_t> level;  // names holding matches for so many verbatim words
  std::vector<std::string_view> query_words;
  std::vector<uint32_t> word_query, hit_words;
  std::vector<std::pair<double, uint32_t>> near;
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
  // Trigrams are numbered densely (tri_ids). The trigrams of each
  // normalised name (CSR, by number), and the names holding each trigram.
  std::unordered_map<uint32_t, uint32_t> tri_ids;
  std::vector<uint32_t> tri_offsets{0};
  std::vector<uint32_t> tris;
  std::vector<uint32_t> post_offsets;  // trigram number -> [post_offsets[i], post_offsets[i + 1]) in posted
  std::vector<uint32_t> posted;
  // Each LLT's PT and the PT's primary path, resolved once.
  struct Up {
    const MeddraPt* pt;
    const MeddraGroup *hlt, *hlgt, *soc;
  };
  std::vector<Up> up;  // per LLT index
  // The words of the normalised names: their trigrams (CSR), the words
  // holding each trigram, and the names holding each word (CSR).
  std::vector<std::string> words;
  std::unordered_map<std::string_view, uint32_t> word_ids;
  std::vector<uint32_t> word_tri_offsets{0}, word_tris;
  std::unordered_map<uint32_t, std::vector<uint32_t>> words_with_tri;
  std::vector<uint32_t> word_name_offsets{0}, word_names;
  std::vector<uint32_t> name_word_offsets{0}, name_words;  // the words of each normalised name

  MeddraCoding CodingOf(uint32_t llt_index) const;
  void Search(const std::string& norm, MeddraCodingResult* out) const;
  void WordSearch(const std::string& norm, Scratch& s) const;
  void FullSearch(const std::string& norm, Scratch& s) const;
  // Jaccard similarity of the trigrams of name id and the query's.
  double Similarity(uint32_t id, const Scratch& s) const;
  // The verbatim's trigrams into s.query, and those the dictionary has
  // marked in s.mark (s.marked lists them).
  void MarkQuery(const std::string& norm, Scratch& s) const;
  // Current LLTs of a match: coded when they share one PT, else ambiguous.
  bool Decide(std::span<const uint32_t> group, CodingRule rule, const std::string& norm, MeddraCodingResult* out) const;
};

MeddraCoder::MeddraCoder(std::shared_ptr<const MeddraDictionary> dictionary, MeddraCoderOptions options)
    : index_(std::make_unique<Index>()) {
  Index& x = *index_;
  x.dict = std::move(dictionary);
  x.options = options;
  const auto llts = x.dict->llts();

  x.up.reserve(llts.size());
  for (const auto& l : llts) {
    const MeddraPt* pt = x.dict->FindPt(l.pt);  // Build() checked that these exist
    const MeddraPath& p = pt->primary();
    x.up.push_back({pt, x.dict->FindHlt(p.hlt), x.dict->FindHlgt(p.hlgt), x.dict->FindSoc(p.soc)});
  }

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
  std::vector<uint32_t> counts;
  for (const auto& name : x.norm_names) {
    Trigrams(name, &t);
    for (uint32_t g : t) {
      auto [it, added] = x.tri_ids.emplace(g, static_cast<uint32_t>(counts.size()));
      if (added) counts.push_back(0);
      ++counts[it->second];
      x.tris.push_back(it->second);
    }
    x.tri_offsets.push_back(static_cast<uint32_t>(x.tris.size()));
  }
  x.post_offsets.assign(counts.size() + 1, 0);
  for (size_t i = 0; i < counts.size(); ++i) x.post_offsets[i + 1] = x.post_offsets[i] + counts[i];
  x.posted.resize(x.post_offsets.back());
  std::vector<uint32_t> fill(x.post_offsets.begin(), x.post_offsets.end() - 1);
  for (uint32_t id = 0; id < x.norm_names.size(); ++id) {
    for (uint32_t k = x.tri_offsets[id]; k < x.tri_offsets[id + 1]; ++k) x.posted[fill[x.tris[k]]++] = id;
  }

  // The vocabulary: complete before views into it are taken.
  for (const auto& name : x.norm_names) {
    for (std::string_view w : Words(name)) x.words.emplace_back(w);
  }
  std::sort(x.words.begin(), x.words.end());
  x.words.erase(std::unique(x.words.begin(), x.words.end()), x.words.end());
  for (uint32_t w = 0; w < x.words.size(); ++w) {
    x.word_ids.emplace(x.words[w], w);
    Trigrams(x.words[w], &t);
    x.word_tris.insert(x.word_tris.end(), t.begin(), t.end());
    x.word_tri_offsets.push_back(static_cast<uint32_t>(x.word_tris.size()));
    for (uint32_t g : t) x.words_with_tri[g].push_back(w);
  }
  std::vector<std::vector<uint32_t>> names_of_word(x.words.size());
  for (uint32_t id = 0; id < x.norm_names.size(); ++id) {
    for (std::string_view w : Words(x.norm_names[id])) {
      const uint32_t wid = x.word_ids.at(w);
      auto& list = names_of_word[wid];
      if (list.empty() || list.back() != id) list.push_back(id);
      x.name_words.push_back(wid);
    }
    x.name_word_offsets.push_back(static_cast<uint32_t>(x.name_words.size()));
  }
  for (const auto& list : names_of_word) {
    x.word_names.insert(x.word_names.end(), list.begin(), list.end());
    x.word_name_offsets.push_back(static_cast<uint32_t>(x.word_names.size()));
  }
}

MeddraCoder::~MeddraCoder() = default;
MeddraCoder::MeddraCoder(MeddraCoder&&) noexcept = default;
MeddraCoder& MeddraCoder::operator=(MeddraCoder&&) noexcept = default;

const MeddraDictionary& MeddraCoder::dictionary() const { return *index_->dict; }

std::optional<MeddraCoding> MeddraCoder::CodingOfLlt(uint32_t code) const {
  const MeddraLlt* llt = index_->dict->FindLlt(code);
  if (llt == nullptr) return std::nullopt;
  return index_->CodingOf(static_cast<uint32_t>(llt - index_->dict->llts().data()));
}

MeddraCoding MeddraCoder::Index::CodingOf(uint32_t llt_index) const {
  const MeddraLlt& l = dict->llts()[llt_index];
  const Up& u = up[llt_index];
  MeddraCoding c;
  c.llt = {l.code, l.name};
  c.pt = {u.pt->code, u.pt->name};
  c.hlt = {u.hlt->code, u.hlt->name};
  c.hlgt = {u.hlgt->code, u.hlgt->name};
  c.soc = {u.soc->code, u.soc->name};
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
//    stays close to its LLT ("hedache" shares 6 of 11 with "headache");
//  - trigrams are taken word by word, so word order does not matter
//    ("rash macular" and "macular rash" score 1);
//  - the union in the denominator penalises length differences, so a long
//    LLT that merely contains the verbatim's words ranks below one that says
//    the same and no more.
// Ties: the verbatim's own normalised name before names that only have the
// same trigrams (another word order), current LLTs before non-current ones
// (a person should pick a current LLT), then the name nearer in length, then
// alphabetical order, so that the list is the same on every run.
//
// Which names are scored (WordSearch): MedDRA's words recur in thousands of
// LLTs ("acute", "pain"), so scoring every name that shares a trigram costs
// milliseconds. Instead each verbatim word is matched to dictionary words:
// itself when the dictionary has it, else the nearest few by trigram
// similarity (at least kWordSimilarity, within kWordSlack of the nearest).
// Names matching every matched verbatim word all hold a match of the rarest
// one, so only that word's names are read (each name's own words say which
// verbatim words it matches) and those matching all are scored. Only when
// none is, the second rarest word's names are read too (a name matching all
// words but one holds a match of one of the two) and the names matching the
// most words are scored. At most kMaxScoredPerLevel names are scored, those
// nearest the verbatim in trigram count: among names holding the same
// matched words, extra words only enlarge the union. So the list holds the
// names that say what the verbatim says, best first, rather than every name
// above min_similarity (that, FullSearch, is used only when the words find
// nothing: words run together or split, "head ache").
constexpr double kWordSimilarity = 0.4;
constexpr size_t kWordsPerQueryWord = 3;
constexpr double kWordSlack = 0.1;  // dictionary words this much less similar than the nearest are left out
constexpr size_t kMaxScoredPerLevel = 64;

void MeddraCoder::Index::MarkQuery(const std::string& norm, Scratch& s) const {
  Trigrams(norm, &s.query);
  if (s.mark.size() < post_offsets.size()) s.mark.resize(post_offsets.size());
  s.marked.clear();
  for (uint32_t g : s.query) {
    auto it = tri_ids.find(g);
    if (it == tri_ids.end()) continue;
    s.mark[it->second] = 1;
    s.marked.push_back(it->second);
  }
}

// One byte read per trigram of the name, without branches.
double MeddraCoder::Index::Similarity(uint32_t id, const Scratch& s) const {
  const uint32_t begin = tri_offsets[id], end = tri_offsets[id + 1];
  uint32_t shared = 0;
  for (uint32_t k = begin; k < end; ++k) shared += s.mark[tris[k]];
  const size_t m = end - begin;
  return static_cast<double>(shared) / static_cast<double>(s.query.size() + m - shared);
}

void MeddraCoder::Index::WordSearch(const std::string& norm, Scratch& s) const {
  if (s.name_state.size() < norm_names.size()) s.name_state.resize(norm_names.size());
  if (s.word_hits.size() < words.size()) {
    s.word_hits.resize(words.size());
    s.word_mask.resize(words.size());
  }
  std::vector<std::string_view>& query_words = s.query_words;
  query_words = Words(norm);
  std::sort(query_words.begin(), query_words.end());
  query_words.erase(std::unique(query_words.begin(), query_words.end()), query_words.end());
  if (query_words.size() > 32) query_words.resize(32);  // one bit each
  s.touched.clear();
  s.match_words.clear();
  s.match_offsets.assign(1, 0);
  s.match_names.clear();
  std::vector<uint32_t>& wt = s.word_query;
  for (uint32_t q = 0; q < query_words.size(); ++q) {
    s.matched.clear();
    if (auto it = word_ids.find(query_words[q]); it != word_ids.end()) {
      s.matched.push_back(it->second);
    } else {
      // The nearest dictionary words by trigram similarity.
      Trigrams(query_words[q], &wt);
      std::vector<uint32_t>& hit_words = s.hit_words;
      hit_words.clear();
      for (uint32_t g : wt) {
        auto it2 = words_with_tri.find(g);
        if (it2 == words_with_tri.end()) continue;
        for (uint32_t w : it2->second) {
          if (s.word_hits[w]++ == 0) hit_words.push_back(w);
        }
      }
      auto& near = s.near;
      near.clear();
      for (uint32_t w : hit_words) {
        const double shared = s.word_hits[w];
        s.word_hits[w] = 0;
        const double m = word_tri_offsets[w + 1] - word_tri_offsets[w];
        const double sim = shared / (static_cast<double>(wt.size()) + m - shared);
        if (sim >= kWordSimilarity) near.emplace_back(-sim, w);
      }
      const size_t keep = std::min(kWordsPerQueryWord, near.size());
      std::partial_sort(near.begin(), near.begin() + static_cast<std::ptrdiff_t>(keep), near.end());
      // The nearest, and those nearly as near (similarities are negated).
      for (size_t i = 0; i < keep && near[i].first <= near[0].first + kWordSlack; ++i) {
        s.matched.push_back(near[i].second);
      }
    }
    uint64_t names = 0;
    for (uint32_t w : s.matched) {
      s.word_mask[w] |= 1u << q;
      s.match_words.push_back(w);
      names += word_name_offsets[w + 1] - word_name_offsets[w];
    }
    s.match_offsets.push_back(static_cast<uint32_t>(s.match_words.size()));
    if (!s.matched.empty()) s.match_names.emplace_back(names, q);
  }
  std::sort(s.match_names.begin(), s.match_names.end());
  s.scored.clear();
  // Reads the names of verbatim word q's matches; each name's own words say
  // how many verbatim words it matches (name_state: that count + 1).
  uint32_t most = 0;
  auto read = [&](uint32_t q) {
    for (uint32_t k = s.match_offsets[q]; k < s.match_offsets[q + 1]; ++k) {
      const uint32_t w = s.match_words[k];
      for (uint32_t i = word_name_offsets[w]; i < word_name_offsets[w + 1]; ++i) {
        const uint32_t id = word_names[i];
        if (s.name_state[id] != 0) continue;
        uint32_t mask = 0;
        for (uint32_t j = name_word_offsets[id]; j < name_word_offsets[id + 1]; ++j) mask |= s.word_mask[name_words[j]];
        const auto c = static_cast<uint32_t>(std::popcount(mask));
        s.name_state[id] = c + 1;
        s.touched.push_back(id);
        most = std::max(most, c);
      }
    }
  };
  if (!s.match_names.empty()) {
    MarkQuery(norm, s);
    const long n = static_cast<long>(s.query.size());
    auto length_gap = [&](uint32_t id) {
      return std::abs(static_cast<long>(tri_offsets[id + 1] - tri_offsets[id]) - n);
    };
    auto score_level = [&](uint32_t level) {
      s.level.clear();
      for (uint32_t id : s.touched) {
        if (s.name_state[id] == level + 1) s.level.push_back(id);
      }
      if (s.level.size() > kMaxScoredPerLevel) {
        std::nth_element(s.level.begin(), s.level.begin() + kMaxScoredPerLevel, s.level.end(),
                         [&](uint32_t a, uint32_t b) { return length_gap(a) < length_gap(b); });
        s.level.resize(kMaxScoredPerLevel);
      }
      for (uint32_t id : s.level) {
        const double score = Similarity(id, s);
        if (score + 1e-12 >= options.min_similarity) s.scored.push_back({score, id});
      }
    };
    // Every name matching all matched verbatim words holds the rarest one's
    // match: read its names only, and score those matching them all.
    const auto all = static_cast<uint32_t>(s.match_names.size());
    read(s.match_names[0].second);
    if (most == all) score_level(all);
    // None: a name matching all words but one holds a match of one of the two
    // rarest; read the second's names too and score the best level found.
    if (s.scored.empty()) {
      if (s.match_names.size() > 1) read(s.match_names[1].second);
      score_level(most);
    }
  }
  for (uint32_t id : s.touched) s.name_state[id] = 0;
  for (uint32_t w : s.match_words) s.word_mask[w] = 0;
  for (uint32_t g : s.marked) s.mark[g] = 0;
  s.marked.clear();
}

// Every name that can reach min_similarity, exactly: such a name shares at
// least k = ceil(t * n) of the verbatim's n trigrams, so it is in one of the
// n - k + 1 rarest trigrams' posting lists (prefix filtering); the commonest
// trigrams' lists are never read.
void MeddraCoder::Index::FullSearch(const std::string& norm, Scratch& s) const {
  MarkQuery(norm, s);
  const size_t n = s.query.size();
  s.scored.clear();
  s.lists.clear();
  for (uint32_t g : s.marked) {
    s.lists.emplace_back(posted.data() + post_offsets[g], post_offsets[g + 1] - post_offsets[g]);
  }
  std::sort(s.lists.begin(), s.lists.end(), [](auto a, auto b) { return a.size() < b.size(); });
  if (s.seen.size() < norm_names.size()) s.seen.resize(norm_names.size());
  const double t = options.min_similarity;
  const size_t k = std::max<size_t>(1, static_cast<size_t>(std::ceil(t * static_cast<double>(n) - 1e-9)));
  s.touched.clear();
  for (size_t l = 0; l < s.lists.size() && l + k <= n; ++l) {
    for (uint32_t id : s.lists[l]) {
      if (s.seen[id]) continue;
      s.seen[id] = 1;
      s.touched.push_back(id);
      const size_t m = tri_offsets[id + 1] - tri_offsets[id];
      // The score is at most min(n, m) / max(n, m).
      if (static_cast<double>(std::min(n, m)) + 1e-9 < t * static_cast<double>(std::max(n, m))) continue;
      const double score = Similarity(id, s);
      if (score + 1e-12 >= t) s.scored.push_back({score, id});
    }
  }
  for (uint32_t id : s.touched) s.seen[id] = 0;
  for (uint32_t g : s.marked) s.mark[g] = 0;
  s.marked.clear();
}

void MeddraCoder::Index::Search(const std::string& norm, MeddraCodingResult* out) const {
  thread_local Scratch s;
  if (norm.empty()) return;
  WordSearch(norm, s);
  if (s.scored.empty()) FullSearch(norm, s);

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
  // A name may stand for several LLTs (current first, then by code).
  for (size_t i = 0; i < keep && out->candidates.size() < cap; ++i) {
    const uint32_t id = s.scored[i].name;
    for (uint32_t k = by_norm.offsets[id]; k < by_norm.offsets[id + 1] && out->candidates.size() < cap; ++k) {
      out->candidates.push_back({CodingOf(by_norm.llts[k]), s.scored[i].score});
    }
  }
}

}  // namespace trialcore::safety
