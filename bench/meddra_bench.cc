// MedDRA autocoding at issue 16's size: a generated dictionary of 80,000
// LLTs (25,000 PTs, 27 SOCs, about 1,700 HLTs and 340 HLGTs, a third of the
// PTs multi-axial, one LLT in ten non-current) written in MedDRA's ASCII
// layout, loaded (timed), indexed (timed), and 100,000 verbatim terms coded
// on one thread: exact LLT names, case/spacing/punctuation variants,
// non-current names and typos that need candidates. Prints terms/s beside the
// target (>= 100,000 terms/s) as a ratio, and the share and speed of each rule.
//
// usage: meddra_bench [terms, default 100000] [llts, default 80000]
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "core/env.h"
#include "safety/meddra.h"
#include "safety/meddra_coder.h"

using namespace trialcore;
using namespace trialcore::safety;

namespace {

using Clock = std::chrono::steady_clock;

using bench::LoadAverage;

const char* kSocs[] = {"Blood and lymphatic system disorders",
                       "Cardiac disorders",
                       "Congenital, familial and genetic disorders",
                       "Ear and labyrinth disorders",
                       "Endocrine disorders",
                       "Eye disorders",
                       "Gastrointestinal disorders",
                       "General disorders and administration site conditions",
                       "Hepatobiliary disorders",
                       "Immune system disorders",
                       "Infections and infestations",
                       "Injury, poisoning and procedural complications",
                       "Investigations",
                       "Metabolism and nutrition disorders",
                       "Musculoskeletal and connective tissue disorders",
                       "Neoplasms benign, malignant and unspecified (incl cysts and polyps)",
                       "Nervous system disorders",
                       "Pregnancy, puerperium and perinatal conditions",
                       "Psychiatric disorders",
                       "Renal and urinary disorders",
                       "Reproductive system and breast disorders",
                       "Respiratory, thoracic and mediastinal disorders",
                       "Skin and subcutaneous tissue disorders",
                       "Social circumstances",
                       "Surgical and medical procedures",
                       "Vascular disorders",
                       "Product issues"};

const std::vector<std::string> kRoots = {
    "hepat",    "nephr",    "cardi",    "gastr",      "enter",   "col",       "derm",    "arthr",      "my",
    "neur",     "enceph",   "mening",   "pneumon",    "bronch",  "laryng",    "pharyng", "rhin",       "ot",
    "ophthalm", "kerat",    "cyst",     "pyelonephr", "prostat", "oophor",    "salping", "mast",       "oste",
    "chondr",   "tendin",   "vascul",   "phleb",      "arter",   "lymphaden", "splen",   "pancreat",   "cholecyst",
    "oesophag", "duoden",   "ile",      "sigmoid",    "proct",   "gingiv",    "gloss",   "stomat",     "thyroid",
    "adren",    "pericard", "endocard", "myocard",    "pleur",   "tonsill",   "sinus",   "vagin",      "cervic",
    "urethr",   "orch",     "epididym", "retin",      "uve",     "scler",     "blephar", "dacryocyst", "cellul",
    "fasci",    "radicul",  "myel",     "spondyl",    "synov",   "capsul",    "periton"};
const std::vector<std::string> kSuffixes = {"itis",     "opathy", "algia",      "omegaly", "osis",   "ectasia",
                                            "orrhagia", "oma",    "osclerosis", "ospasm",  "odynia", "otomy"};
const std::vector<std::string> kQualifiers = {
    "acute",      "chronic",      "subacute",    "recurrent",     "bilateral",   "unilateral", "left",
    "right",      "congenital",   "allergic",    "infective",     "viral",       "bacterial",  "fungal",
    "toxic",      "drug-induced", "idiopathic",  "haemorrhagic",  "necrotising", "erosive",    "ulcerative",
    "atrophic",   "hypertrophic", "obstructive", "non-infective", "autoimmune",  "ischaemic",  "post-procedural",
    "severe",     "mild",         "neonatal",    "paediatric",    "focal",       "diffuse",    "transient",
    "persistent", "primary",      "secondary",   "traumatic",     "radiation"};
const std::vector<std::string> kSites = {
    "liver",   "kidney",     "heart",     "stomach",    "bowel",       "skin",        "joint",    "muscle",
    "nerve",   "brain",      "lung",      "bronchial",  "throat",      "nasal",       "ear",      "eye",
    "bladder", "prostatic",  "ovarian",   "breast",     "bone",        "tendon",      "vessel",   "vein",
    "artery",  "lymph node", "spleen",    "pancreatic", "gallbladder", "oesophageal", "duodenal", "rectal",
    "gum",     "tongue",     "mouth",     "thyroid",    "adrenal",     "pericardial", "pleural",  "sinus",
    "vaginal", "cervical",   "uterine",   "testicular", "retinal",     "eyelid",      "scalp",    "back",
    "neck",    "chest",      "abdominal", "pelvic",     "hand",        "foot",        "finger",   "toe",
    "knee",    "hip",        "shoulder",  "wrist",      "ankle",       "elbow",       "jaw",      "facial"};
const std::vector<std::string> kNouns = {
    "pain",        "swelling",   "infection",    "haemorrhage", "neoplasm",      "cyst",      "abscess",
    "ulcer",       "oedema",     "injury",       "fracture",    "discomfort",    "mass",      "lesion",
    "disorder",    "stenosis",   "obstruction",  "perforation", "fistula",       "atrophy",   "hypertrophy",
    "necrosis",    "fibrosis",   "inflammation", "rupture",     "calcification", "deformity", "dysfunction",
    "enlargement", "irritation", "pruritus",     "rash",        "numbness",      "weakness",  "stiffness",
    "spasm",       "thrombosis", "embolism",     "congestion",  "discolouration"};
const std::vector<std::string> kAnalytes = {"alanine aminotransferase",
                                            "aspartate aminotransferase",
                                            "blood bilirubin",
                                            "blood creatinine",
                                            "haemoglobin",
                                            "platelet count",
                                            "white blood cell count",
                                            "blood glucose",
                                            "blood potassium",
                                            "blood sodium",
                                            "blood urea",
                                            "gamma-glutamyltransferase",
                                            "blood pressure",
                                            "heart rate",
                                            "body temperature",
                                            "weight",
                                            "blood albumin",
                                            "blood calcium",
                                            "lipase",
                                            "amylase"};
const std::vector<std::string> kDirections = {"increased", "decreased", "abnormal", "normal"};

std::string Cap(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

template <typename T>
const T& Pick(std::mt19937_64& rng, const std::vector<T>& v) {
  return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
}

std::string PtName(std::mt19937_64& rng) {
  switch (std::uniform_int_distribution<int>(0, 9)(rng)) {
    case 0:
      return Cap(Pick(rng, kRoots) + Pick(rng, kSuffixes));
    case 1:
    case 2:
    case 3:
      return Cap(Pick(rng, kQualifiers) + " " + Pick(rng, kRoots) + Pick(rng, kSuffixes));
    case 4:
    case 5:
      return Cap(Pick(rng, kSites) + " " + Pick(rng, kNouns));
    case 6:
    case 7:
    case 8:
      return Cap(Pick(rng, kQualifiers) + " " + Pick(rng, kSites) + " " + Pick(rng, kNouns));
    default:
      return Cap(Pick(rng, kAnalytes) + " " + Pick(rng, kDirections));
  }
}

// Another name for the same concept, as MedDRA's LLTs are.
std::string LltVariant(std::mt19937_64& rng, const std::string& pt) {
  std::string lower = pt;
  lower[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(lower[0])));
  switch (std::uniform_int_distribution<int>(0, 5)(rng)) {
    case 0:
      return pt + " NOS";
    case 1:
      return Cap(Pick(rng, kQualifiers) + " " + lower);
    case 2:
      return pt + " " + Pick(rng, kQualifiers);
    case 3:
      return Cap(Pick(rng, kSites) + " " + lower);
    case 4:
      return pt + " aggravated";
    default:
      return Cap(lower + " of " + Pick(rng, kSites));
  }
}

struct Generated {
  std::vector<std::string> llt_names;
  std::vector<bool> llt_current;
};

Generated WriteDictionary(const std::string& dir, size_t llt_count, std::mt19937_64& rng) {
  const size_t pt_count = llt_count * 5 / 16;  // 25,000 of 80,000
  const size_t hlgt_count = 337, hlt_count = 1737;
  std::filesystem::create_directories(dir);
  auto open = [&](const char* name) { return std::ofstream(dir + "/" + name, std::ios::binary); };
  Generated g;
  {
    auto release = open("meddra_release.asc");
    release << "27.1$English$$$$\r\n";
  }
  auto soc_code = [](size_t i) { return 10000000 + static_cast<uint32_t>(i) * 1000 + 1; };
  auto hlgt_code = [](size_t i) { return 10100000 + static_cast<uint32_t>(i) * 7 + 3; };
  auto hlt_code = [](size_t i) { return 10200000 + static_cast<uint32_t>(i) * 7 + 5; };
  auto pt_code = [](size_t i) { return 10300000 + static_cast<uint32_t>(i) * 3 + 1; };
  auto llt_code = [](size_t i) { return 10600000 + static_cast<uint32_t>(i) * 3 + 2; };
  {
    auto soc = open("soc.asc");
    for (size_t i = 0; i < 27; ++i) {
      std::string abbrev = std::string(kSocs[i]).substr(0, 5);
      soc << soc_code(i) << '$' << kSocs[i] << '$' << abbrev << "$$$$$$$$\r\n";
    }
  }
  std::vector<size_t> hlgt_soc(hlgt_count), hlt_hlgt(hlt_count);
  {
    auto hlgt = open("hlgt.asc");
    auto soc_hlgt = open("soc_hlgt.asc");
    for (size_t i = 0; i < hlgt_count; ++i) {
      hlgt_soc[i] = i % 27;
      hlgt << hlgt_code(i) << '$' << Cap(Pick(rng, kSites) + " " + Pick(rng, kNouns) + " conditions") << "$$$$$$$$\r\n";
      soc_hlgt << soc_code(hlgt_soc[i]) << '$' << hlgt_code(i) << "$\r\n";
    }
    auto hlt = open("hlt.asc");
    auto hlgt_hlt = open("hlgt_hlt.asc");
    for (size_t i = 0; i < hlt_count; ++i) {
      hlt_hlgt[i] = i % hlgt_count;
      hlt << hlt_code(i) << '$' << Cap(Pick(rng, kSites) + " " + Pick(rng, kNouns) + "s NEC") << "$$$$$$$$\r\n";
      hlgt_hlt << hlgt_code(hlt_hlgt[i]) << '$' << hlt_code(i) << "$\r\n";
    }
  }
  std::set<std::string> seen;
  std::vector<std::string> pts;
  while (pts.size() < pt_count) {
    std::string n = PtName(rng);
    if (seen.insert(n).second) pts.push_back(std::move(n));
  }
  {
    auto pt = open("pt.asc");
    auto hlt_pt = open("hlt_pt.asc");
    auto mdhier = open("mdhier.asc");
    std::uniform_int_distribution<size_t> any_hlt(0, hlt_count - 1);
    for (size_t i = 0; i < pt_count; ++i) {
      size_t primary = any_hlt(rng);
      std::vector<size_t> hlts{primary};
      if (i % 3 == 0) {  // multi-axial: a second HLT under another SOC
        size_t other = any_hlt(rng);
        while (hlgt_soc[hlt_hlgt[other]] == hlgt_soc[hlt_hlgt[primary]]) other = any_hlt(rng);
        hlts.push_back(other);
      }
      const uint32_t psoc = soc_code(hlgt_soc[hlt_hlgt[primary]]);
      pt << pt_code(i) << '$' << pts[i] << "$$" << psoc << "$$$$$$$$\r\n";
      for (size_t h : hlts) {
        size_t hg = hlt_hlgt[h], s = hlgt_soc[hg];
        hlt_pt << hlt_code(h) << '$' << pt_code(i) << "$\r\n";
        mdhier << pt_code(i) << '$' << hlt_code(h) << '$' << hlgt_code(hg) << '$' << soc_code(s) << '$' << pts[i]
               << "$hlt$hlgt$" << kSocs[s] << "$abbr$$" << psoc << '$' << (h == primary ? 'Y' : 'N') << "$\r\n";
      }
    }
  }
  {
    auto llt = open("llt.asc");
    std::uniform_int_distribution<size_t> any_pt(0, pt_count - 1);
    std::set<std::string> llt_seen(pts.begin(), pts.end());
    for (size_t i = 0; i < llt_count; ++i) {
      size_t p;
      std::string name;
      bool current;
      if (i < pt_count) {  // every PT is also an LLT of its own name
        p = i, name = pts[i], current = true;
      } else {
        do {
          p = any_pt(rng);
          name = LltVariant(rng, pts[p]);
        } while (!llt_seen.insert(name).second);
        current = std::uniform_int_distribution<int>(0, 9)(rng) != 0;
      }
      // A PT's own LLT has the PT's code, as in MedDRA.
      llt << (i < pt_count ? pt_code(i) : llt_code(i)) << '$' << name << '$' << pt_code(p) << "$$$$$$$"
          << (current ? 'Y' : 'N') << "$$\r\n";
      g.llt_names.push_back(name);
      g.llt_current.push_back(current);
    }
  }
  return g;
}

enum Kind { kExactTerm, kVariant, kNonCurrentTerm, kTypo, kKinds };
const char* kKindNames[] = {"exact LLT names", "case/spacing/punctuation variants", "non-current LLT names", "typos"};

struct Verbatim {
  std::string text;
  Kind kind;
  size_t llt;  // the LLT it was made from
};

std::string Variant(std::mt19937_64& rng, std::string s) {
  switch (std::uniform_int_distribution<int>(0, 5)(rng)) {
    case 0:
      std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
      return s;
    case 1:
      std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
      return s;
    case 2: {  // doubled spaces and surrounding ones
      std::string out = "  ";
      for (char c : s) out += c == ' ' ? std::string("   ") : std::string(1, c);
      return out + " ";
    }
    case 3:
      return s + ".";
    case 4: {  // a comma after the first word
      size_t sp = s.find(' ');
      return sp == std::string::npos ? s + "," : s.substr(0, sp) + "," + s.substr(sp);
    }
    default:
      std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
      return s + " ";
  }
}

std::string Typo(std::mt19937_64& rng, std::string s) {
  const int typos = std::uniform_int_distribution<int>(0, 3)(rng) == 0 ? 2 : 1;
  for (int t = 0; t < typos; ++t) {
    // In a letter of a word at least four long, not its first letter.
    std::vector<size_t> at;
    size_t start = 0;
    while (start < s.size()) {
      size_t end = s.find(' ', start);
      if (end == std::string::npos) end = s.size();
      if (end - start >= 4) {
        for (size_t k = start + 1; k + 1 < end; ++k) at.push_back(k);
      }
      start = end + 1;
    }
    if (at.empty()) return s + "x";
    size_t k = at[std::uniform_int_distribution<size_t>(0, at.size() - 1)(rng)];
    char letter = static_cast<char>('a' + std::uniform_int_distribution<int>(0, 25)(rng));
    switch (std::uniform_int_distribution<int>(0, 3)(rng)) {
      case 0:
        s.erase(k, 1);
        break;
      case 1:
        std::swap(s[k], s[k + 1]);
        break;
      case 2:
        s[k] = letter;
        break;
      default:
        s.insert(k, 1, letter);
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t terms = argc > 1 ? std::stoul(argv[1]) : 100'000;
  const size_t llt_count = argc > 2 ? std::stoul(argv[2]) : 80'000;
  const double kTarget = 100'000;  // terms/s, issue 16
  std::mt19937_64 rng(16);

  const char* base = std::getenv("TRIALCORE_BENCH_DIR");
  const std::string dir = (std::filesystem::path(base ? base : "/tmp") / "trialcore_bench_meddra").string();
  std::filesystem::remove_all(dir);
  auto t0 = Clock::now();
  Generated g = WriteDictionary(dir, llt_count, rng);
  const double generate_s = bench::Seconds(t0);

  t0 = Clock::now();
  auto loaded = LoadMeddraAscii(Env::Default(), dir);
  const double load_s = bench::Seconds(t0);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
    return 1;
  }
  auto dict = std::make_shared<const MeddraDictionary>(std::move(loaded).value());
  t0 = Clock::now();
  MeddraCoder coder(dict);
  const double index_s = bench::Seconds(t0);
  size_t multi_axial = 0, non_current = 0;
  for (const auto& p : dict->pts()) multi_axial += p.paths.size() > 1;
  for (const auto& l : dict->llts()) non_current += !l.current;

  // The verbatim terms: 40% exact, 33% variants, 2% non-current names, 25% typos.
  std::vector<size_t> current, old;
  for (size_t i = 0; i < g.llt_names.size(); ++i) (g.llt_current[i] ? current : old).push_back(i);
  std::vector<Verbatim> verbatims;
  verbatims.reserve(terms);
  std::uniform_int_distribution<int> percent(0, 99);
  for (size_t i = 0; i < terms; ++i) {
    int p = percent(rng);
    size_t llt = Pick(rng, p >= 73 && p < 75 ? old : current);
    const std::string& name = g.llt_names[llt];
    if (p < 40) {
      verbatims.push_back({name, kExactTerm, llt});
    } else if (p < 73) {
      verbatims.push_back({Variant(rng, name), kVariant, llt});
    } else if (p < 75) {
      verbatims.push_back({name, kNonCurrentTerm, llt});
    } else {
      verbatims.push_back({Typo(rng, name), kTypo, llt});
    }
  }

  std::printf("MedDRA dictionary in %s: %zu LLTs (%zu non-current), %zu PTs (%zu multi-axial), 27 SOCs\n", dir.c_str(),
              dict->llts().size(), non_current, dict->pts().size(), multi_axial);
  std::printf("  generate and write the files   %8.3f s\n", generate_s);
  std::printf("  load (parse, check, build)     %8.3f s\n", load_s);
  std::printf("  index for the autocoder        %8.3f s\n", index_s);

  // Warm-up pass (page faults, the thread's scratch), then the timed pass.
  for (size_t i = 0; i < std::min<size_t>(terms, 2000); ++i) (void)coder.Code(verbatims[i].text);
  std::map<CodingRule, size_t> by_rule;
  std::map<CodingRule, double> time_by_rule;
  size_t kind_count[kKinds] = {}, kind_coded_right[kKinds] = {}, typo_in_list = 0, typo_first = 0, candidates = 0;
  const double load_before = LoadAverage();
  const double cpu_start = bench::ThreadCpuSeconds();
  auto start = Clock::now();
  for (const Verbatim& v : verbatims) {
    auto t = Clock::now();
    MeddraCodingResult r = coder.Code(v.text);
    time_by_rule[r.rule] += bench::Seconds(t);
    ++by_rule[r.rule];
    ++kind_count[v.kind];
    const uint32_t want = dict->llts()[v.llt].code;
    if (r.coded() && r.coding.llt.code == want) ++kind_coded_right[v.kind];
    candidates += r.candidates.size();
    if (v.kind == kTypo) {
      for (size_t c = 0; c < r.candidates.size(); ++c) {
        if (r.candidates[c].coding.llt.code == want) {
          ++typo_in_list;
          typo_first += c == 0;
          break;
        }
      }
    }
  }
  const double secs = bench::Seconds(start);
  const double cpu = bench::ThreadCpuSeconds() - cpu_start;
  const double rate = static_cast<double>(terms) / secs;
  const double cpu_rate = static_cast<double>(terms) / cpu;

  std::printf("\nautocoding %zu verbatim terms on one thread (timing of each call included):\n", terms);
  std::printf("  %-58s %12.0f %-9s %6.2fx %s\n", "trialcore MeddraCoder::Code, wall clock", rate, "terms/s",
              rate / kTarget, "of the target (100,000 terms/s)");
  std::printf("  %-58s %12.0f %-9s %6.2fx %s\n", "the same per second of this thread's CPU time", cpu_rate, "terms/s",
              cpu_rate / kTarget, "of the target");
  std::printf("  (load average %.1f before the run on %u cores: other processes take turns on the core)\n", load_before,
              std::thread::hardware_concurrency());
  std::printf("\n  %-12s %8s %7s %14s\n", "rule", "terms", "share", "terms/s");
  for (auto rule : {CodingRule::kExact, CodingRule::kNormalised, CodingRule::kAmbiguous, CodingRule::kCandidates}) {
    size_t n = by_rule[rule];
    std::printf("  %-12s %8zu %6.1f%% %14.0f\n", std::string(CodingRuleName(rule)).c_str(), n,
                100.0 * static_cast<double>(n) / static_cast<double>(terms),
                n ? static_cast<double>(n) / time_by_rule[rule] : 0.0);
  }
  std::printf("\n  %-36s %8s %s\n", "verbatim made as", "terms", "coded to the LLT it came from");
  for (int k = 0; k < kKinds; ++k) {
    std::printf(
        "  %-36s %8zu %6.1f%%\n", kKindNames[k], kind_count[k],
        kind_count[k] ? 100.0 * static_cast<double>(kind_coded_right[k]) / static_cast<double>(kind_count[k]) : 0.0);
  }
  std::printf(
      "  typos with their LLT among the candidates: %.1f%% (first: %.1f%%); %.2f candidates per term\n",
      kind_count[kTypo] ? 100.0 * static_cast<double>(typo_in_list) / static_cast<double>(kind_count[kTypo]) : 0.0,
      kind_count[kTypo] ? 100.0 * static_cast<double>(typo_first) / static_cast<double>(kind_count[kTypo]) : 0.0,
      static_cast<double>(candidates) / static_cast<double>(terms));
  if (!std::getenv("MEDDRA_BENCH_KEEP")) std::filesystem::remove_all(dir);
  return 0;
}
