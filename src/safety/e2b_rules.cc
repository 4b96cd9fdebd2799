// FDA's business rules over an ICSR (E2bRules, declared in e2b_validate.h)
// and the one call that prepares a submission.
#include <algorithm>
#include <cctype>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "safety/e2b_validate.h"

namespace trialcore::safety {

// --- Business rules --------------------------------------------------------------

bool HasRejection(const std::vector<E2bFinding>& findings) {
  return std::any_of(findings.begin(), findings.end(), [](const E2bFinding& f) { return f.rejection; });
}

namespace {

// RFC 4180 records (quoted fields may hold commas, quotes and line breaks);
// `line` is where each record starts, for errors.
struct CsvRecord {
  std::vector<std::string> fields;
  int line = 0;
};

std::vector<CsvRecord> ReadCsv(std::string_view text) {
  std::vector<CsvRecord> out;
  CsvRecord rec;
  std::string field;
  bool quoted = false, any = false;
  int line = 1;
  rec.line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      rec.fields.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !field.empty()) {
        rec.fields.push_back(std::move(field));
        out.push_back(std::move(rec));
      }
      field.clear();
      rec = CsvRecord{};
      any = false;
      rec.line = ++line;
    } else {
      field += c;
      any = true;
    }
  }
  if (any || !field.empty()) {
    rec.fields.push_back(std::move(field));
    out.push_back(std::move(rec));
  }
  return out;
}

std::string Trim(std::string s) {
  const char* ws = " \t\r\n\xc2\xa0";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

bool StartsWith(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

// Numeric codes of a "VALUES ALLOWED" cell: "1=Spontaneous report 2=Report from study ..." -> 1, 2.
std::vector<std::string> AllowedCodes(const std::string& cell) {
  std::vector<std::string> codes;
  for (size_t i = 0; i < cell.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(cell[i]))) continue;
    if (i > 0 && (std::isalnum(static_cast<unsigned char>(cell[i - 1])) || cell[i - 1] == '.' || cell[i - 1] == '>' ||
                  cell[i - 1] == '-')) {
      continue;
    }
    size_t j = i;
    while (j < cell.size() && std::isdigit(static_cast<unsigned char>(cell[j]))) ++j;
    size_t k = j;
    while (k < cell.size() && cell[k] == ' ') ++k;
    if (k < cell.size() && cell[k] == '=' && j - i <= 3) codes.push_back(cell.substr(i, j - i));
    i = j;
  }
  return codes;
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct ParsedDate {
  bool ok = false;
  int digits = 0;            // 4, 6, 8, 10, 12 or 14
  int64_t earliest_utc = 0;  // start of the period the value names
  bool has_offset = false;
};

// CCYY[MM[DD[hh[mm[ss]]]]][.f][+-ZZzz] as in ICH's Appendix II.
ParsedDate ParseHl7Date(const std::string& v) {
  ParsedDate p;
  size_t n = 0;
  while (n < v.size() && std::isdigit(static_cast<unsigned char>(v[n]))) ++n;
  if (n < 4 || n > 14 || n % 2) return p;
  size_t rest = n;
  if (rest < v.size() && v[rest] == '.') {
    ++rest;
    while (rest < v.size() && std::isdigit(static_cast<unsigned char>(v[rest]))) ++rest;
  }
  int offset_min = 0;
  if (rest < v.size()) {
    if ((v[rest] != '+' && v[rest] != '-') || v.size() - rest != 5) return p;
    for (size_t i = rest + 1; i < v.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(v[i]))) return p;
    }
    offset_min = std::stoi(v.substr(rest + 1, 2)) * 60 + std::stoi(v.substr(rest + 3, 2));
    if (v[rest] == '-') offset_min = -offset_min;
    p.has_offset = true;
  }
  auto part = [&](size_t at, int def) { return at + 2 <= n ? std::stoi(v.substr(at, 2)) : def; };
  const int year = std::stoi(v.substr(0, 4));
  const int month = part(4, 1), day = part(6, 1), hour = part(8, 0), minute = part(10, 0), second = part(12, 0);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return p;
  p.ok = true;
  p.digits = static_cast<int>(n);
  p.earliest_utc = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60;
  return p;
}

// "E.i.2.1b" -> "E.i": the number up to its first repeat letter.
std::string SectionOfRepeat(const std::string& full_number) {
  const std::string number(IchPart(full_number));
  size_t start = 0;
  while (start < number.size()) {
    size_t dot = number.find('.', start);
    if (dot == std::string::npos) dot = number.size();
    std::string seg = number.substr(start, dot - start);
    if (seg == "r" || seg == "i" || seg == "k") return number.substr(0, dot);
    start = dot + 1;
  }
  return number;
}

// The elements whose precision ICH's Appendix II fixes: full (to the second)
// for the transmission and creation times, the day for the report dates.
int MinimumDigits(const std::string& number) {
  if (number == "N.1.5" || number == "N.2.r.4" || number == "C.1.2") return 14;
  if (number == "C.1.4" || number == "C.1.5") return 8;
  return 4;
}

// The report as the rules see it: elements found by number through an
// index, since forty rules ask about a few elements each.
using ElementIndex = std::unordered_map<std::string_view, std::vector<const E2bElement*>>;

struct Ctx {
  const E2bBatchHeader& header;
  const Icsr& icsr;
  FdaRoute route;
  const ElementIndex& index;

  const E2bElement* Get(std::string_view n, const std::vector<uint16_t>& idx = {}) const {
    auto it = index.find(n);
    if (it == index.end()) return nullptr;
    for (const E2bElement* e : it->second) {
      if (e->index == idx) return e;
    }
    return nullptr;
  }
  const std::vector<const E2bElement*>& All(std::string_view n) const {
    static const std::vector<const E2bElement*> kNone;
    auto it = index.find(n);
    return it == index.end() ? kNone : it->second;
  }
  bool Has(std::string_view n, const std::vector<uint16_t>& idx = {}) const { return Get(n, idx) != nullptr; }
  const std::string& V(std::string_view n, const std::vector<uint16_t>& idx = {}) const {
    static const std::string kEmpty;
    const E2bElement* e = Get(n, idx);
    return e ? e->value : kEmpty;
  }
  bool NullOr(std::string_view n, std::string_view value) const {
    const E2bElement* e = Get(n);
    return e && (e->null_flavor == "NI" || e->value == value);
  }
  const std::string& Receiver() const { return header.receiver; }
  const std::string& Center() const { return V("N.2.r.3"); }
  bool PremarketCenter() const {
    return Center() == "CDER_IND" || Center() == "CBER_IND" || Center() == "CDER_IND_EXEMPT_BA_BE";
  }
  bool Ind() const { return Center() == "CDER_IND" || Center() == "CBER_IND"; }
};

bool In(const std::string& v, std::initializer_list<const char*> set) {
  return std::any_of(set.begin(), set.end(), [&](const char* s) { return v == s; });
}

// FDA's rules by id: when `applies` holds, the report breaks the rule.
struct CaseRule {
  const char* id;
  const char* element;
  std::function<bool(const Ctx&)> breaks;
};

const std::vector<CaseRule>& CaseRules() {
  static const std::vector<CaseRule> rules = {
      {"R0004", "N.1.4", [](const Ctx& c) { return c.route == FdaRoute::kPostmarket && c.Receiver() != "ZZFDA"; }},
      {"R0005", "N.1.4",
       [](const Ctx& c) { return c.route == FdaRoute::kPremarket && c.Receiver() != "ZZFDA_PREMKT"; }},
      {"R0100", "N.2.r.2", [](const Ctx& c) { return c.V("N.2.r.2") != c.header.sender; }},
      {"R0006", "N.2.r.3", [](const Ctx& c) { return c.Receiver() == "ZZFDA" && c.Center() != "CDER"; }},
      {"R0007", "N.2.r.3", [](const Ctx& c) { return c.Receiver() == "ZZFDA_PREMKT" && !c.PremarketCenter(); }},
      {"R0008", "C.1.3",
       [](const Ctx& c) {
         return c.Receiver() == "ZZFDA_PREMKT" && c.PremarketCenter() && (c.Has("FDA.C.5.5a") || c.Has("FDA.C.5.5b")) &&
                In(c.V("C.5.4"), {"1", "2", "3"}) && c.V("C.1.3") != "2";
       }},
      {"R0110", "C.1.3",
       [](const Ctx& c) {
         return c.Receiver() == "ZZFDA_PREMKT" && c.Ind() && c.Has("FDA.C.5.5a") && !c.Has("C.5.4") &&
                c.V("C.1.3") != "1";
       }},
      {"R0111", "C.1.3",
       [](const Ctx& c) {
         return c.Receiver() == "ZZFDA_PREMKT" && c.Center() == "CDER_IND_EXEMPT_BA_BE" && c.V("C.1.3") != "2";
       }},
      {"R0112", "C.1.3",
       [](const Ctx& c) {
         return c.Receiver() == "ZZFDA_PREMKT" && c.Ind() && In(c.V("C.1.3"), {"3", "4"});
       }},
      {"R0009", "C.1.6.1.r.1", [](const Ctx& c) { return c.V("C.1.6.1") == "true" && c.All("C.1.6.1.r.1").empty(); }},
      // R0012-R0015 are FDA's rules for postmarket reports, R0016 for
      // premarket ones: a 7-Day IND safety report (6) is premarket only.
      {"R0012", "FDA.C.1.7.1",
       [](const Ctx& c) {
         return c.route == FdaRoute::kPostmarket && c.V("FDA.C.1.12") == "true" && c.V("C.1.7") == "true" &&
                !In(c.V("FDA.C.1.7.1"), {"1", "4"});
       }},
      {"R0013", "FDA.C.1.7.1",
       [](const Ctx& c) {
         return c.route == FdaRoute::kPostmarket && c.V("FDA.C.1.12") == "true" && c.NullOr("C.1.7", "false") &&
                !In(c.V("FDA.C.1.7.1"), {"2", "5"});
       }},
      {"R0014", "FDA.C.1.7.1",
       [](const Ctx& c) {
         return c.route == FdaRoute::kPostmarket && c.NullOr("FDA.C.1.12", "false") && c.V("C.1.7") == "true" &&
                c.V("FDA.C.1.7.1") != "1";
       }},
      {"R0015", "FDA.C.1.7.1",
       [](const Ctx& c) {
         return c.route == FdaRoute::kPostmarket && c.NullOr("FDA.C.1.12", "false") && c.NullOr("C.1.7", "false") &&
                c.V("FDA.C.1.7.1") != "2";
       }},
      {"R0016", "FDA.C.1.7.1",
       [](const Ctx& c) {
         return c.route == FdaRoute::kPremarket && c.V("C.1.7") == "true" && In(c.V("C.1.3"), {"1", "2"}) &&
                !In(c.V("FDA.C.1.7.1"), {"1", "6"});
       }},
      {"R0017", "C.1.9.1.r.1", [](const Ctx& c) { return c.V("C.1.9.1") == "true" && c.All("C.1.9.1.r.1").empty(); }},
      {"R0021", "C.2.r.5",
       [](const Ctx& c) {
         for (const auto* e : c.All("C.2.r.5")) {
           if (e->value == "1") return false;
         }
         return true;
       }},
      {"R0022", "C.3.2",
       [](const Ctx& c) {
         return In(c.V("C.3.1"), {"1", "2", "3", "4", "5", "6"}) && !c.Has("C.3.2");
       }},
      {"R0023", "C.5.4", [](const Ctx& c) { return c.V("C.1.3") == "2" && !c.Has("C.5.4"); }},
      {"R0102", "C.5.4",
       [](const Ctx& c) {
         return c.V("C.1.3") == "2" && c.PremarketCenter() && c.Receiver() == "ZZFDA_PREMKT" &&
                !In(c.V("C.5.4"), {"1", "2", "3"});
       }},
      {"R0103", "C.5.4", [](const Ctx& c) { return c.V("C.1.3") == "1" && c.Center() == "CDER" && c.Has("C.5.4"); }},
      {"R0104", "C.5.4",
       [](const Ctx& c) {
         return c.V("C.1.3") == "2" && c.Center() == "CDER" && c.Receiver() == "ZZFDA" &&
                !In(c.V("C.5.4"), {"1", "2", "3"});
       }},
      {"R0113", "C.5.4",
       [](const Ctx& c) { return c.Receiver() == "ZZFDA_PREMKT" && c.Ind() && c.V("C.1.3") == "1" && c.Has("C.5.4"); }},
      {"R0024", "FDA.C.5.5a",
       [](const Ctx& c) {
         return In(c.V("C.1.3"), {"1", "2"}) && c.Ind() && !c.Has("FDA.C.5.5a");
       }},
      {"R0107", "FDA.C.5.5a",
       [](const Ctx& c) {
         return In(c.Center(), {"CDER", "CBER"}) && c.Receiver() == "ZZFDA" && c.Has("FDA.C.5.5a");
       }},
      {"R0025", "FDA.C.5.5b",
       [](const Ctx& c) {
         return c.V("C.1.3") == "2" && c.Center() == "CDER_IND_EXEMPT_BA_BE" && !c.Has("FDA.C.5.5b");
       }},
      {"R0108", "FDA.C.5.5b",
       [](const Ctx& c) {
         return In(c.Center(), {"CDER", "CBER"}) && c.Receiver() == "ZZFDA" && c.Has("FDA.C.5.5b");
       }},
      {"R0026", "FDA.C.5.6.r", [](const Ctx& c) { return c.Has("FDA.C.5.5a") && c.All("FDA.C.5.6.r").empty(); }},
      {"R0109", "FDA.C.5.6.r",
       [](const Ctx& c) {
         return In(c.Center(), {"CDER", "CBER"}) && c.Receiver() == "ZZFDA" && !c.All("FDA.C.5.6.r").empty();
       }},
      {"R0041", "D.9.1",
       [](const Ctx& c) {
         if (c.V("C.1.3") != "2" || !c.Ind() || c.Has("D.9.1")) return false;
         for (const auto* e : c.All("E.i.3.2a")) {
           if (e->value == "true") return true;
         }
         return false;
       }},
      {"R0045", "D.9.3", [](const Ctx& c) { return c.Has("D.9.1") && !c.Has("D.9.3"); }},
      {"R0069", "G.k.1",
       [](const Ctx& c) {
         if (c.Center() != "CDER") return false;
         for (const auto* e : c.All("G.k.1")) {
           if (In(e->value, {"1", "3", "4"})) return false;
         }
         return true;
       }},
      {"R0070", "G.k.1",
       [](const Ctx& c) {
         if (c.V("C.1.3") != "2" || !c.Ind()) return false;
         for (const auto* e : c.All("G.k.1")) {
           if (In(e->value, {"1", "3"})) return false;
         }
         return true;
       }},
      {"W0005", "G.k.1",
       [](const Ctx& c) {
         auto drugs = c.icsr.Instances("G.k");
         return !drugs.empty() && !In(c.V("G.k.1", {drugs.front()[0]}), {"1", "3", "4"});
       }},
      {"R0071", "G.k.1",
       [](const Ctx& c) {
         if (c.V("C.1.3") != "2" || c.Center() != "CDER_IND_EXEMPT_BA_BE") return false;
         for (const auto* e : c.All("G.k.1")) {
           if (In(e->value, {"1", "3", "4"})) return false;
         }
         return true;
       }},
      {"R0114", "G.k.3.1",
       [](const Ctx& c) {
         if (c.Receiver() != "ZZFDA" || c.Center() != "CDER" || c.V("C.1.3") != "2" || !In(c.V("C.5.4"), {"2", "3"})) {
           return false;
         }
         for (const auto* e : c.All("G.k.3.1")) {
           if (e->value.find("IND") != std::string::npos || e->value.find("PANDA") != std::string::npos) return true;
         }
         return false;
       }},
      // D.7.2 when D.7.1 says nothing.
      {"R0035", "D.7.2", [](const Ctx& c) { return c.icsr.Instances("D.7.1.r").empty() && !c.Has("D.7.2"); }},
      {"R0051", "D.10.6", [](const Ctx& c) { return !c.icsr.Instances("D.10").empty() && !c.Has("D.10.6"); }},
      // An aggregate report (D.1 AGGREGRATE, as FDA spells it) links its cases and is a clinical trial's.
      {"W0001", "C.1.10.r", [](const Ctx& c) { return c.V("D.1") == "AGGREGRATE" && c.All("C.1.10.r").empty(); }},
      {"W0002", "C.5.4", [](const Ctx& c) { return c.V("D.1") == "AGGREGRATE" && c.V("C.5.4") != "1"; }},
      {"W0003", "FDA.D.11.r",
       [](const Ctx& c) {
         const E2bElement* d1 = c.icsr.Find("D.1");
         if (!d1 || !(d1->null_flavor == "NA" || In(d1->value, {"SUMMARY", "AGGREGRATE"}))) return false;
         auto race = c.All("FDA.D.11.r.1");
         return race.empty() || race.front()->null_flavor != "NA";
       }},
      {"W0004", "FDA.D.12",
       [](const Ctx& c) {
         const E2bElement* d1 = c.icsr.Find("D.1");
         if (!d1 || !(d1->null_flavor == "NA" || In(d1->value, {"SUMMARY", "AGGREGRATE"}))) return false;
         const E2bElement* ethnicity = c.icsr.Find("FDA.D.12");
         return !ethnicity || ethnicity->null_flavor != "NA";
       }},
      {"W0010", "D.1",
       [](const Ctx& c) {
         return c.V("C.1.3") == "2" && !c.All("C.1.10.r").empty() && c.Has("FDA.C.5.5a") && c.V("D.1") != "AGGREGATE" &&
                c.V("D.1") != "AGGREGRATE";
       }},
  };
  return rules;
}

// "A must be provided when B is provided", within the same repeat.
struct PairRule {
  const char* id;
  const char* required;
  const char* when;
};

constexpr PairRule kPairRules[] = {
    {"R0029", "D.2.2a", "D.2.2b"},
    {"R0030", "D.2.2b", "D.2.2a"},
    {"R0031", "D.2.2.1a", "D.2.2.1b"},
    {"R0032", "D.2.2.1b", "D.2.2.1a"},
    {"R0033", "D.7.1.r.1a", "D.7.1.r.1b"},
    {"R0034", "D.7.1.r.1b", "D.7.1.r.1a"},
    {"R0036", "D.8.r.1", "D.8.r.2b"},
    {"R0036", "D.8.r.1", "D.8.r.4"},
    {"R0042", "D.9.2.r.1a", "D.9.2.r.1b"},
    {"R0043", "D.9.2.r.1b", "D.9.2.r.1a"},
    {"R0044", "D.9.2.r.2", "D.9.2.r.1b"},
    {"R0046", "D.9.4.r.1a", "D.9.4.r.1b"},
    {"R0047", "D.9.4.r.1b", "D.9.4.r.1a"},
    {"R0048", "D.9.4.r.2", "D.9.4.r.1b"},
    {"R0058", "E.i.1.1b", "E.i.1.1a"},
    {"R0059", "E.i.6a", "E.i.6b"},
    {"R0060", "E.i.6b", "E.i.6a"},
    {"R0061", "F.r.1", "F.r.2.1"},
    {"R0061", "F.r.1", "F.r.2.2b"},
    {"R0063", "F.r.2.2a", "F.r.2.2b"},
    {"R0067", "F.r.3.3", "F.r.3.2"},
    {"R0073", "G.k.2.3.r.3b", "G.k.2.3.r.3a"},
    {"R0074", "G.k.3.2", "G.k.3.1"},
    {"R0075", "G.k.4.r.1b", "G.k.4.r.1a"},
    {"R0079", "G.k.5a", "G.k.5b"},
    {"R0080", "G.k.5b", "G.k.5a"},
    {"R0081", "G.k.6a", "G.k.6b"},
    {"R0082", "G.k.6b", "G.k.6a"},
    {"R0088", "G.k.9.i.3.1a", "G.k.9.i.3.1b"},
    {"R0089", "G.k.9.i.3.1b", "G.k.9.i.3.1a"},
    {"R0090", "G.k.9.i.3.2a", "G.k.9.i.3.2b"},
    {"R0091", "G.k.9.i.3.2b", "G.k.9.i.3.2a"},
    {"R0083", "G.k.7.r.2a", "G.k.7.r.2b"},
    {"R0084", "G.k.7.r.2b", "G.k.7.r.2a"},
    {"R0018", "C.1.9.1.r.2", "C.1.9.1.r.1"},
    {"R0019", "C.2.r.3", "C.2.r.5"},
    {"R0020", "C.2.r.4", "C.2.r.5"},
    {"R0097", "H.3.r.1a", "H.3.r.1b"},
    {"R0098", "H.3.r.1b", "H.3.r.1a"},
    {"R0099", "H.5.r.1b", "H.5.r.1a"},
};

std::string Describe(const std::vector<std::pair<std::string, std::string>>& d, const std::string& id) {
  for (const auto& [k, v] : d) {
    if (k == id) return v;
  }
  return id;
}

}  // namespace

Result<E2bRules> E2bRules::Parse(std::string_view elements_csv, std::string_view rules_csv) {
  E2bRules rules;
  auto records = ReadCsv(elements_csv);
  if (records.size() < 3 || records[1].fields.size() < 12 || Trim(records[1].fields[2]) != "DATA ELEMENT NUMBER") {
    return InvalidArgument("fda-icsr-data-elements.csv:2: expected FDA's header with DATA ELEMENT NUMBER in column 3");
  }
  for (size_t r = 2; r < records.size(); ++r) {
    const auto& f = records[r].fields;
    if (f.size() < 12) continue;
    ElementRule e;
    e.number = Trim(f[2]);
    if (e.number.empty() || e.number[0] == '(') continue;  // (Header) rows
    e.name = Trim(f[3]);
    const std::string len = Trim(f[4]);
    if (!len.empty() &&
        std::all_of(len.begin(), len.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); })) {
      e.max_length = std::stoi(len);
    }
    e.data_type = Trim(f[5]);
    if (e.data_type == "N") e.values = AllowedCodes(f[6]);
    e.required_ich = StartsWith(Trim(f[7]), "Required");
    e.required_post = StartsWith(Trim(f[9]), "Required");
    e.required_pre = StartsWith(Trim(f[11]), "Required");
    rules.elements_.push_back(std::move(e));
  }
  for (const auto& rec : ReadCsv(rules_csv)) {
    if (rec.fields.size() < 7) continue;
    std::string id = Trim(rec.fields[5]);
    if (id.size() == 5 && (id[0] == 'R' || id[0] == 'W')) rules.descriptions_.push_back({id, Trim(rec.fields[6])});
  }
  for (size_t n = 0; n < rules.elements_.size(); ++n) rules.by_number_.emplace(rules.elements_[n].number, n);
  auto known = [&](const std::string& id) {
    return std::any_of(rules.descriptions_.begin(), rules.descriptions_.end(),
                       [&](const auto& d) { return d.first == id; });
  };
  for (const auto& r : CaseRules()) {
    if (!known(r.id)) return InvalidArgument(std::string("fda-rejection-warning-rules.csv has no rule ") + r.id);
  }
  for (const auto& r : kPairRules) {
    if (!known(r.id)) return InvalidArgument(std::string("fda-rejection-warning-rules.csv has no rule ") + r.id);
  }
  return rules;
}

const E2bRules::ElementRule* E2bRules::Find(std::string_view number) const {
  auto it = by_number_.find(std::string(number));
  return it == by_number_.end() ? nullptr : &elements_[it->second];
}

std::vector<E2bFinding> E2bRules::Check(const E2bBatchHeader& header, const Icsr& icsr, FdaRoute route,
                                        int64_t now_unix_seconds) const {
  std::vector<E2bFinding> out;
  // The batch header's elements are checked like the report's (without
  // copying the report: this runs for every ICSR sent).
  std::vector<E2bElement> header_elements;
  const std::pair<const char*, const std::string*> batch[] = {{"N.1.1", &header.message_type},
                                                              {"N.1.2", &header.batch_number},
                                                              {"N.1.3", &header.sender},
                                                              {"N.1.4", &header.receiver},
                                                              {"N.1.5", &header.transmission_time}};
  for (const auto& [number, value] : batch) {
    if (!value->empty()) header_elements.push_back(E2bElement{number, {}, *value, "", ""});
  }
  const Icsr& all = icsr;
  std::vector<const E2bElement*> every;
  every.reserve(icsr.elements().size() + header_elements.size());
  for (const E2bElement& e : header_elements) every.push_back(&e);
  for (const E2bElement& e : icsr.elements()) every.push_back(&e);

  // The report's elements by number, so each rule looks at its own few.
  ElementIndex present;
  for (const E2bElement* e : every) present[e->number].push_back(e);
  auto has = [&](const std::string& number, const std::vector<uint16_t>& idx) {
    auto it = present.find(number);
    if (it == present.end()) return false;
    return std::any_of(it->second.begin(), it->second.end(), [&](const E2bElement* e) { return e->index == idx; });
  };
  std::unordered_map<std::string, std::vector<std::vector<uint16_t>>> instances_of;

  for (const ElementRule& rule : elements_) {
    const bool required =
        rule.required_ich || (route == FdaRoute::kPostmarket ? rule.required_post : rule.required_pre);
    if (!required) continue;
    const int depth = RepeatDepth(rule.number);
    if (depth == 0 && !has(rule.number, {})) {
      out.push_back({"required", rule.number, true, "Data value required for tag " + rule.number});
    } else if (depth == 1) {
      // Required within each instance of its section; the first one must exist.
      std::string section = SectionOfRepeat(rule.number);
      auto cached = instances_of.find(section);
      if (cached == instances_of.end()) {
        auto found = all.Instances(section);
        if (found.empty()) found.push_back({1});
        cached = instances_of.emplace(section, std::move(found)).first;
      }
      for (const auto& idx : cached->second) {
        if (!has(rule.number, idx)) {
          out.push_back(
              {"required", ElementLabel(rule.number, idx), true, "Data value required for tag " + rule.number});
        }
      }
    }
  }

  for (const E2bElement* element : every) {
    const E2bElement& e = *element;
    const ElementRule* rule = Find(e.number);
    if (!rule || !e.null_flavor.empty()) continue;
    auto label = [&] { return ElementLabel(e.number, e.index); };
    // FDA counts characters, not bytes.
    const size_t chars = static_cast<size_t>(std::count_if(
        e.value.begin(), e.value.end(), [](char ch) { return (static_cast<unsigned char>(ch) & 0xC0) != 0x80; }));
    if (rule->max_length > 0 && chars > static_cast<size_t>(rule->max_length)) {
      out.push_back({"max-length", label(), true, "Maximum length exceeds for tag " + e.number});
    }
    // The allowed codes are the ICH list's; a value coded in another system
    // (a qualification in NCI terms) is that system's to judge.
    if (!rule->values.empty() && e.code_system.empty() &&
        std::find(rule->values.begin(), rule->values.end(), e.value) == rule->values.end()) {
      out.push_back({"allowed-values", label(), true, e.number + " contains invalid value " + e.value});
    }
    if (rule->data_type == "Boolean" && e.value != "true" && e.value != "false") {
      out.push_back({"allowed-values", label(), true, e.number + " contains invalid value " + e.value});
    }
    if (rule->data_type == "Date/Time") {
      ParsedDate d = ParseHl7Date(e.value);
      const int min_digits = MinimumDigits(e.number);
      if (!d.ok || d.digits < min_digits) {
        out.push_back({"date-precision", label(), true,
                       min_digits == 14 ? e.number + " does not contain full precision date"
                                        : e.number + " does not contain minimum precision of \"" +
                                              (min_digits == 8 ? "CCYYMMDD" : "CCYY") + "\""});
      }
      // Without an offset the value's zone is unknown; the earliest zone
      // (UTC+14) keeps a date that is today somewhere from being called future.
      if (d.ok && d.earliest_utc - (d.has_offset ? 0 : 14 * 3600) > now_unix_seconds) {
        out.push_back({"future-date", label(), true, e.number + " contains Future date"});
      }
    }
  }

  Ctx ctx{header, all, route, present};
  for (const CaseRule& r : CaseRules()) {
    if (r.breaks(ctx)) out.push_back({r.id, r.element, r.id[0] == 'R', Describe(descriptions_, r.id)});
  }
  for (const PairRule& r : kPairRules) {
    for (const E2bElement* when : ctx.All(r.when)) {
      if (!when->value.empty() && std::string_view(r.when) == "C.2.r.5" && when->value != "1") continue;
      if (!ctx.Has(r.required, when->index)) {
        out.push_back({r.id, ElementLabel(r.required, when->index), r.id[0] == 'R', Describe(descriptions_, r.id)});
      }
    }
  }
  // R0062/R0064: a dated test is named (free text or MedDRA); R0065/66/68: a named test has a result.
  for (const auto& idx : icsr.Instances("F.r")) {
    const bool named = icsr.Find("F.r.2.1", idx) || icsr.Find("F.r.2.2b", idx);
    if (icsr.Find("F.r.1", idx) && !named) {
      out.push_back({"R0062", ElementLabel("F.r.2.1", idx), true, Describe(descriptions_, "R0062")});
      out.push_back({"R0064", ElementLabel("F.r.2.2b", idx), true, Describe(descriptions_, "R0064")});
    }
    if (icsr.Find("F.r.2.2b", idx) && !icsr.Find("F.r.3.1", idx) && !icsr.Find("F.r.3.2", idx) &&
        !icsr.Find("F.r.3.4", idx)) {
      for (const char* id : {"R0065", "R0066", "R0068"}) {
        out.push_back({id, ElementLabel("F.r.3", idx), true, Describe(descriptions_, id)});
      }
    }
  }
  // R0085-R0087: an IND study report gives source, method and result of each causality assessment.
  if (all.Value("C.1.3") == "2" && all.Find("FDA.C.5.5a")) {
    const char* ids[] = {"R0085", "R0086", "R0087"};
    const char* parts[] = {"G.k.9.i.2.r.1", "G.k.9.i.2.r.2", "G.k.9.i.2.r.3"};
    auto assessments = all.Instances("G.k.9.i.2.r");
    for (int p = 0; p < 3; ++p) {
      if (assessments.empty()) {
        out.push_back({ids[p], parts[p], true, Describe(descriptions_, ids[p])});
      }
      for (const auto& idx : assessments) {
        if (!all.Find(parts[p], idx)) {
          out.push_back({ids[p], ElementLabel(parts[p], idx), true, Describe(descriptions_, ids[p])});
        }
      }
    }
  }
  return out;
}

Result<E2bSubmission> PrepareE2bSubmission(const E2bBatchHeader& header, std::span<const Icsr> icsrs,
                                           const E2bSchemas& schemas, const E2bRules& rules, FdaRoute route,
                                           int64_t now_unix_seconds) {
  E2bSubmission out;
  std::string rejections;
  for (const Icsr& icsr : icsrs) {
    for (auto& f : rules.Check(header, icsr, route, now_unix_seconds)) {
      if (f.rejection) {
        rejections += "\n" + icsr.safety_report_id() + ": " + f.rule + " " + f.element + ": " + f.message;
      } else {
        out.warnings.push_back(std::move(f));
      }
    }
  }
  if (!rejections.empty()) return FailedPrecondition("FDA would reject the batch; nothing was sent:" + rejections);
  TC_ASSIGN_OR_RETURN(out.xml, ExportE2bBatch(header, icsrs, &schemas));
  return out;
}

}  // namespace trialcore::safety
