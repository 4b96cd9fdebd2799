// Invariant: a report contributes rows only if its DEMO version is the latest
// of its case and the case is not deleted; drugs and reactions are matched to
// it by primaryid (ISR in legacy files).
#include "signal/faers.h"

#include <zip.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace trialcore::signal {
namespace {

namespace fs = std::filesystem;

// Lines of one extract file, from disk or from inside a zip.
class LineSource {
 public:
  virtual ~LineSource() = default;
  virtual Result<bool> Next(std::string* line) = 0;
  const std::string& name() const { return name_; }
  uint64_t line_number() const { return line_number_; }

 protected:
  std::string name_;
  uint64_t line_number_ = 0;
};

class FileLines final : public LineSource {
 public:
  explicit FileLines(const std::string& path) : in_(path, std::ios::binary) { name_ = path; }
  bool ok() const { return static_cast<bool>(in_); }
  Result<bool> Next(std::string* line) override {
    if (!std::getline(in_, *line)) return false;
    ++line_number_;
    if (!line->empty() && line->back() == '\r') line->pop_back();
    return true;
  }

 private:
  std::ifstream in_;
};

class ZipLines final : public LineSource {
 public:
  ZipLines(zip_t* archive, zip_uint64_t index, const std::string& name) {
    name_ = name;
    file_ = zip_fopen_index(archive, index, 0);
  }
  ~ZipLines() override {
    if (file_) zip_fclose(file_);
  }
  bool ok() const { return file_ != nullptr; }
  Result<bool> Next(std::string* line) override {
    line->clear();
    while (true) {
      size_t nl = buffer_.find('\n', pos_);
      if (nl != std::string::npos) {
        line->append(buffer_, pos_, nl - pos_);
        pos_ = nl + 1;
        break;
      }
      line->append(buffer_, pos_, std::string::npos);
      buffer_.resize(1 << 20);
      zip_int64_t got = zip_fread(file_, buffer_.data(), buffer_.size());
      // A corrupt entry is malformed input, not lost stored data.
      if (got < 0) {
        return InvalidArgument(name_ + ": the zip entry is corrupt (" + zip_file_strerror(file_) + ")");
      }
      buffer_.resize(static_cast<size_t>(got));
      pos_ = 0;
      if (got == 0) {
        if (line->empty()) return false;
        break;
      }
    }
    ++line_number_;
    if (!line->empty() && line->back() == '\r') line->pop_back();
    return true;
  }

 private:
  zip_file_t* file_ = nullptr;
  std::string buffer_;
  size_t pos_ = 0;
};

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};

enum class Kind { kDemo, kDrug, kReac, kDeleted, kOther };

Kind Classify(const std::string& path) {
  std::string base = fs::path(path).filename().string();
  std::string upper;
  for (char c : base) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (upper.size() < 4 || upper.substr(upper.size() - 4) != ".TXT") return Kind::kOther;
  if (upper.rfind("DEMO", 0) == 0) return Kind::kDemo;
  if (upper.rfind("DRUG", 0) == 0) return Kind::kDrug;
  if (upper.rfind("REAC", 0) == 0) return Kind::kReac;
  if (upper.rfind("DELE", 0) == 0) return Kind::kDeleted;
  return Kind::kOther;
}

// One quarter's files, opened lazily.
struct Quarter {
  std::string source;
  std::shared_ptr<zip_t> archive;  // null for a folder
  std::map<Kind, std::vector<std::pair<std::string, zip_uint64_t>>> files;

  Result<std::unique_ptr<LineSource>> Open(const std::pair<std::string, zip_uint64_t>& f) const {
    if (archive) {
      auto z = std::make_unique<ZipLines>(archive.get(), f.second, source + ":" + f.first);
      if (!z->ok()) return InvalidArgument(source + ": cannot read " + f.first + " (a corrupt or encrypted entry)");
      return std::unique_ptr<LineSource>(std::move(z));
    }
    auto file = std::make_unique<FileLines>(f.first);
    if (!file->ok()) return NotFound("cannot open " + f.first);
    return std::unique_ptr<LineSource>(std::move(file));
  }
};

Result<Quarter> OpenQuarter(const std::string& source) {
  Quarter q;
  q.source = source;
  std::error_code ec;
  if (fs::is_directory(source, ec)) {
    for (const auto& e : fs::recursive_directory_iterator(source, ec)) {
      if (e.is_regular_file()) q.files[Classify(e.path().string())].push_back({e.path().string(), 0});
    }
  } else if (fs::is_regular_file(source, ec)) {
    int err = 0;
    zip_t* z = zip_open(source.c_str(), ZIP_RDONLY, &err);
    if (!z) {
      zip_error_t error;
      zip_error_init_with_code(&error, err);
      std::string msg = zip_error_strerror(&error);
      zip_error_fini(&error);
      return InvalidArgument(source + " is not a readable zip file: " + msg);
    }
    q.archive = std::shared_ptr<zip_t>(z, ZipCloser());
    zip_int64_t n = zip_get_num_entries(z, 0);
    for (zip_int64_t i = 0; i < n; ++i) {
      const char* name = zip_get_name(z, static_cast<zip_uint64_t>(i), 0);
      if (name) q.files[Classify(name)].push_back({name, static_cast<zip_uint64_t>(i)});
    }
  } else {
    return NotFound(source + " is neither a FAERS quarterly zip file nor a folder");
  }
  for (Kind k : {Kind::kDemo, Kind::kDrug, Kind::kReac}) {
    if (q.files[k].size() != 1) {
      const char* what = k == Kind::kDemo ? "DEMO" : k == Kind::kDrug ? "DRUG" : "REAC";
      return InvalidArgument(source + ": expected one " + what + "*.txt file, found " +
                             std::to_string(q.files[k].size()));
    }
  }
  return q;
}

std::vector<std::string_view> Split(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t d = line.find('$', start);
    if (d == std::string_view::npos) {
      out.push_back(line.substr(start));
      return out;
    }
    out.push_back(line.substr(start, d - start));
    start = d + 1;
  }
}

std::string Upper(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  std::string out;
  for (size_t i = b; i < e; ++i) out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(s[i]))));
  return out;
}

// Reads a $-delimited file with a header, calling fn with the fields of each
// data row; columns are looked up by name (case-insensitive), the first of
// the given alternatives that exists.
class DollarFile {
 public:
  static Result<DollarFile> Open(std::unique_ptr<LineSource> src) {
    DollarFile f(std::move(src));
    std::string header;
    TC_ASSIGN_OR_RETURN(bool any, f.src_->Next(&header));
    if (!any) return InvalidArgument(f.src_->name() + ": the file is empty (expected a header)");
    for (auto v : Split(header)) f.header_.push_back(Upper(v));
    return f;
  }
  Result<size_t> Column(std::initializer_list<const char*> names) const {
    for (const char* n : names) {
      auto it = std::find(header_.begin(), header_.end(), Upper(n));
      if (it != header_.end()) return static_cast<size_t>(it - header_.begin());
    }
    return InvalidArgument(src_->name() + ":1: no column " + *names.begin() + " in the header");
  }
  std::optional<size_t> OptionalColumn(std::initializer_list<const char*> names) const {
    auto c = Column(names);
    return c.ok() ? std::optional<size_t>(*c) : std::nullopt;
  }
  // fn(fields) for each row; rows shorter than needed are an error.
  Status ForEach(size_t needed, const std::function<Status(const std::vector<std::string_view>&)>& fn) {
    std::string line;
    while (true) {
      TC_ASSIGN_OR_RETURN(bool more, src_->Next(&line));
      if (!more) return Status::Ok();
      if (line.empty()) continue;
      auto fields = Split(line);
      if (fields.size() < needed) {
        return InvalidArgument(src_->name() + ":" + std::to_string(src_->line_number()) + ": " +
                               std::to_string(fields.size()) + " fields, expected at least " + std::to_string(needed) +
                               " (truncated line?)");
      }
      TC_RETURN_IF_ERROR(fn(fields).WithContext(src_->name() + ":" + std::to_string(src_->line_number())));
    }
  }

 private:
  explicit DollarFile(std::unique_ptr<LineSource> src) : src_(std::move(src)) {}
  std::unique_ptr<LineSource> src_;
  std::vector<std::string> header_;
};

struct Version {
  std::string primaryid;
  uint64_t version = 0;
  std::string event_date, age, sex, country, year;
};

// A whole number that fits in 64 bits; what names the field. Larger numbers
// are refused, not wrapped: a wrapped version would pick the wrong report as
// a case's latest.
Result<uint64_t> ParseNumber(std::string_view s, const char* what) {
  uint64_t v = 0;
  if (s.empty()) return InvalidArgument(std::string(what) + " is empty");
  for (char c : s) {
    if (c < '0' || c > '9') return InvalidArgument(std::string(what) + " \"" + std::string(s) + "\" is not a number");
    const auto digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) {
      return InvalidArgument(std::string(what) + " \"" + std::string(s) + "\" is too large (at most " +
                             std::to_string(UINT64_MAX) + ")");
    }
    v = v * 10 + digit;
  }
  return v;
}

std::string AgeGroup(std::string_view age, std::string_view unit) {
  char* end = nullptr;
  std::string a(age);
  double v = std::strtod(a.c_str(), &end);
  if (a.empty() || end == a.c_str()) return "unknown";
  std::string u = Upper(unit);
  if (u == "MON")
    v /= 12;
  else if (u == "WK")
    v /= 52;
  else if (u == "DY")
    v /= 365;
  else if (u == "HR")
    v /= 8760;
  else if (u == "DEC")
    v *= 10;
  else if (!u.empty() && u != "YR")
    return "unknown";
  if (v < 18) return "0-17";
  if (v < 45) return "18-44";
  if (v < 65) return "45-64";
  if (v < 75) return "65-74";
  return "75+";
}

}  // namespace

Result<ReportTable> LoadFaers(const FaersOptions& options, FaersStats* stats) {
  if (options.sources.empty()) return InvalidArgument("no FAERS quarter given");
  for (const auto& s : options.strata) {
    if (s != "age" && s != "sex" && s != "year") {
      return InvalidArgument("unknown stratum \"" + s + "\" (use age, sex, year)");
    }
  }
  std::vector<Quarter> quarters;
  for (const auto& src : options.sources) {
    TC_ASSIGN_OR_RETURN(Quarter q, OpenQuarter(src));
    quarters.push_back(std::move(q));
  }
  FaersStats local;
  FaersStats& st = stats ? *stats : local;
  st = FaersStats{};

  // Latest version of each case, across every quarter.
  std::unordered_map<std::string, Version> latest;  // caseid -> version
  std::unordered_set<std::string> deleted;
  for (const Quarter& q : quarters) {
    TC_ASSIGN_OR_RETURN(auto src, q.Open(q.files.at(Kind::kDemo)[0]));
    TC_ASSIGN_OR_RETURN(DollarFile demo, DollarFile::Open(std::move(src)));
    auto legacy_isr = demo.OptionalColumn({"isr"});
    TC_ASSIGN_OR_RETURN(size_t c_primary, demo.Column({"primaryid", "isr"}));
    TC_ASSIGN_OR_RETURN(size_t c_case, demo.Column({"caseid", "case"}));
    std::optional<size_t> c_version = legacy_isr ? std::nullopt : demo.OptionalColumn({"caseversion"});
    if (!legacy_isr && !c_version) return InvalidArgument(q.source + ": DEMO has neither caseversion nor isr");
    auto c_event = demo.OptionalColumn({"event_dt"});
    auto c_age = demo.OptionalColumn({"age"});
    auto c_age_cod = demo.OptionalColumn({"age_cod"});
    auto c_sex = demo.OptionalColumn({"sex", "gndr_cod"});
    auto c_country = demo.OptionalColumn({"occr_country", "reporter_country"});
    auto c_fda = demo.OptionalColumn({"fda_dt"});
    size_t needed = std::max(c_primary, c_case) + 1;
    if (c_version) needed = std::max(needed, *c_version + 1);
    auto field = [](const std::vector<std::string_view>& f, std::optional<size_t> c) {
      return c && *c < f.size() ? f[*c] : std::string_view();
    };
    TC_RETURN_IF_ERROR(demo.ForEach(needed, [&](const std::vector<std::string_view>& f) -> Status {
      ++st.report_versions;
      Version v;
      v.primaryid = std::string(f[c_primary]);
      if (v.primaryid.empty()) return InvalidArgument("empty report id");
      TC_ASSIGN_OR_RETURN(v.version,
                          c_version ? ParseNumber(f[*c_version], "caseversion") : ParseNumber(f[c_primary], "isr"));
      v.event_date = field(f, c_event);
      v.age = AgeGroup(field(f, c_age), field(f, c_age_cod));
      std::string sex = Upper(field(f, c_sex));
      v.sex = sex == "M" || sex == "F" ? sex : "unknown";
      v.country = Upper(field(f, c_country));
      std::string_view fda = field(f, c_fda);
      v.year = fda.size() >= 4 ? std::string(fda.substr(0, 4)) : "unknown";
      std::string caseid(f[c_case]);
      auto it = latest.find(caseid);
      if (it == latest.end() || v.version > it->second.version) latest[caseid] = std::move(v);
      return Status::Ok();
    }));
    for (const auto& dele : q.files.count(Kind::kDeleted) ? q.files.at(Kind::kDeleted)
                                                          : std::vector<std::pair<std::string, zip_uint64_t>>{}) {
      TC_ASSIGN_OR_RETURN(auto lines, q.Open(dele));
      std::string line;
      while (true) {
        TC_ASSIGN_OR_RETURN(bool more, lines->Next(&line));
        if (!more) break;
        std::string id = Upper(line);
        if (!id.empty() && std::isdigit(static_cast<unsigned char>(id[0]))) deleted.insert(id);
      }
    }
  }
  struct Kept {
    const Version* version;
    std::vector<std::string> drugs, reactions;
  };
  std::unordered_map<std::string, Kept> kept;  // primaryid -> report
  for (const auto& [caseid, v] : latest) {
    if (deleted.count(caseid)) {
      ++st.deleted;
      continue;
    }
    kept[v.primaryid] = Kept{&v, {}, {}};
  }

  for (const Quarter& q : quarters) {
    {
      TC_ASSIGN_OR_RETURN(auto src, q.Open(q.files.at(Kind::kDrug)[0]));
      TC_ASSIGN_OR_RETURN(DollarFile drug, DollarFile::Open(std::move(src)));
      TC_ASSIGN_OR_RETURN(size_t c_primary, drug.Column({"primaryid", "isr"}));
      TC_ASSIGN_OR_RETURN(size_t c_role, drug.Column({"role_cod"}));
      TC_ASSIGN_OR_RETURN(size_t c_name, drug.Column({"drugname"}));
      size_t needed = std::max({c_primary, c_role, c_name}) + 1;
      TC_RETURN_IF_ERROR(drug.ForEach(needed, [&](const std::vector<std::string_view>& f) -> Status {
        auto it = kept.find(std::string(f[c_primary]));
        if (it == kept.end()) return Status::Ok();
        std::string role = Upper(f[c_role]);
        if (role != "PS" && (options.primary_suspect_only || role != "SS")) return Status::Ok();
        std::string name = Upper(f[c_name]);
        if (!name.empty()) it->second.drugs.push_back(std::move(name));
        return Status::Ok();
      }));
    }
    TC_ASSIGN_OR_RETURN(auto src, q.Open(q.files.at(Kind::kReac)[0]));
    TC_ASSIGN_OR_RETURN(DollarFile reac, DollarFile::Open(std::move(src)));
    TC_ASSIGN_OR_RETURN(size_t c_primary, reac.Column({"primaryid", "isr"}));
    TC_ASSIGN_OR_RETURN(size_t c_pt, reac.Column({"pt"}));
    TC_RETURN_IF_ERROR(
        reac.ForEach(std::max(c_primary, c_pt) + 1, [&](const std::vector<std::string_view>& f) -> Status {
          auto it = kept.find(std::string(f[c_primary]));
          if (it == kept.end()) return Status::Ok();
          std::string pt = Upper(f[c_pt]);
          if (!pt.empty()) it->second.reactions.push_back(std::move(pt));
          return Status::Ok();
        }));
  }

  // Deterministic order: by report id.
  std::vector<std::pair<const std::string*, Kept*>> reports;
  for (auto& [id, k] : kept) reports.emplace_back(&id, &k);
  std::sort(reports.begin(), reports.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
  ReportTable table;
  std::unordered_set<std::string> seen_content;
  std::string stratum;
  for (auto& [id, k] : reports) {
    if (k->drugs.empty() || k->reactions.empty()) continue;
    std::sort(k->drugs.begin(), k->drugs.end());
    k->drugs.erase(std::unique(k->drugs.begin(), k->drugs.end()), k->drugs.end());
    std::sort(k->reactions.begin(), k->reactions.end());
    k->reactions.erase(std::unique(k->reactions.begin(), k->reactions.end()), k->reactions.end());
    if (options.dedup_by_content) {
      std::string key =
          k->version->event_date + "|" + k->version->age + "|" + k->version->sex + "|" + k->version->country + "|";
      for (const auto& d : k->drugs) key += d + ";";
      key += "|";
      for (const auto& r : k->reactions) key += r + ";";
      if (!seen_content.insert(key).second) {
        ++st.content_duplicates;
        continue;
      }
    }
    stratum.clear();
    for (const auto& s : options.strata) {
      stratum += s == "age" ? k->version->age : s == "sex" ? k->version->sex : k->version->year;
      stratum.push_back('\x1f');
    }
    uint32_t report = table.reports.Intern(*id);
    uint32_t strat = table.strata.Intern(stratum);
    for (const auto& d : k->drugs) {
      uint32_t product = table.products.Intern(d);
      for (const auto& r : k->reactions)
        table.rows.push_back(ReportRow{report, product, table.events.Intern(r), strat});
    }
    ++st.reports_kept;
  }
  if (table.rows.empty()) return InvalidArgument("no report with both a suspect drug and a reaction was found");
  return table;
}

}  // namespace trialcore::signal
