#include "safety/meddra.h"

#include <algorithm>
#include <charconv>
#include <unordered_map>

#include "core/env.h"
#include "core/hash.h"
#include "core/value.h"

namespace trialcore::safety {
namespace {

std::string Latin1ToUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

struct TableSpec {
  std::string_view file;
  size_t fields;  // without the empty one after the trailing '$'
};
constexpr TableSpec kTables[] = {
    {"soc.asc", 10},   {"hlgt.asc", 9},     {"hlt.asc", 9},      {"pt.asc", 11},     {"llt.asc", 11},
    {"hlt_pt.asc", 2}, {"hlgt_hlt.asc", 2}, {"soc_hlgt.asc", 2}, {"mdhier.asc", 12},
};
constexpr TableSpec kRelease{"meddra_release.asc", 5};

class LineError {
 public:
  LineError(const std::string& where, uint32_t line) : where_(where), line_(line) {}
  Status operator()(const std::string& what) const {
    return InvalidArgument(where_ + ":" + std::to_string(line_) + ": " + what);
  }

 private:
  const std::string& where_;
  uint32_t line_;
};

Result<uint32_t> Code(std::string_view field, int column, const char* name, const LineError& err, bool optional) {
  if (field.empty() && optional) return uint32_t{0};
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
  if (field.empty() || ec != std::errc() || end != field.data() + field.size() || v == 0) {
    return err("field " + std::to_string(column) + " (" + name + ") is not a MedDRA code: '" + std::string(field) +
               "'");
  }
  return v;
}

Result<bool> Flag(std::string_view field, int column, const char* name, const LineError& err) {
  if (field == "Y") return true;
  if (field == "N") return false;
  return err("field " + std::to_string(column) + " (" + name + ") is '" + std::string(field) + "', not Y or N");
}

Result<std::string> Name(std::string_view field, int column, const char* name, const LineError& err) {
  if (field.empty()) return err("field " + std::to_string(column) + " (" + name + ") is empty");
  return std::string(field);
}

// The text of one line after `pos`, without its line break; advances pos.
std::string_view NextLine(std::string_view text, size_t* pos) {
  size_t end = text.find('\n', *pos);
  if (end == std::string_view::npos) end = text.size();
  std::string_view line = text.substr(*pos, end - *pos);
  *pos = end + 1;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

Status Split(std::string_view line, const TableSpec& spec, const LineError& err, std::vector<std::string_view>* out) {
  out->clear();
  if (line.back() != '$') {
    return err("the line does not end in '$' (MedDRA's ASCII files end every line with '$')");
  }
  line.remove_suffix(1);
  size_t start = 0;
  while (true) {
    size_t d = line.find('$', start);
    out->push_back(line.substr(start, d == std::string_view::npos ? std::string_view::npos : d - start));
    if (d == std::string_view::npos) break;
    start = d + 1;
  }
  if (out->size() != spec.fields) {
    return err("expected " + std::to_string(spec.fields) + " '$'-delimited fields as " + std::string(spec.file) +
               " has, found " + std::to_string(out->size()));
  }
  return Status::Ok();
}

std::string Decode(std::string_view raw) {
  if (raw.size() >= 3 && raw.substr(0, 3) == "\xEF\xBB\xBF") raw.remove_prefix(3);
  return IsValidUtf8(raw) ? std::string(raw) : Latin1ToUtf8(raw);
}

const TableSpec* SpecOf(std::string_view file) {
  for (const auto& t : kTables) {
    if (t.file == file) return &t;
  }
  if (file == kRelease.file) return &kRelease;
  return nullptr;
}

}  // namespace

Status ParseMeddraTable(std::string_view file, std::string_view raw, const std::string& where, MeddraTables* t) {
  const TableSpec* spec = SpecOf(file);
  if (spec == nullptr) return InvalidArgument(where + ": not a MedDRA table this reader knows");
  const std::string text = Decode(raw);
  std::vector<std::string_view> f;
  size_t pos = 0;
  uint32_t line_no = 0;
  bool release_seen = false;
  while (pos < text.size()) {
    std::string_view line = NextLine(text, &pos);
    ++line_no;
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank lines carry nothing
    LineError err(where, line_no);
    TC_RETURN_IF_ERROR(Split(line, *spec, err, &f));
    if (file == "llt.asc") {
      MeddraTables::LltRow r;
      TC_ASSIGN_OR_RETURN(r.code, Code(f[0], 1, "llt_code", err, false));
      TC_ASSIGN_OR_RETURN(r.name, Name(f[1], 2, "llt_name", err));
      TC_ASSIGN_OR_RETURN(r.pt, Code(f[2], 3, "pt_code", err, false));
      TC_ASSIGN_OR_RETURN(r.current, Flag(f[9], 10, "llt_currency", err));
      r.line = line_no;
      t->llts.push_back(std::move(r));
    } else if (file == "pt.asc") {
      MeddraTables::PtRow r;
      TC_ASSIGN_OR_RETURN(r.code, Code(f[0], 1, "pt_code", err, false));
      TC_ASSIGN_OR_RETURN(r.name, Name(f[1], 2, "pt_name", err));
      TC_ASSIGN_OR_RETURN(r.soc, Code(f[3], 4, "pt_soc_code", err, true));
      r.line = line_no;
      t->pts.push_back(std::move(r));
    } else if (file == "soc.asc" || file == "hlgt.asc" || file == "hlt.asc") {
      const std::string level(file.substr(0, file.find('.')));
      MeddraTables::Named r;
      TC_ASSIGN_OR_RETURN(r.code, Code(f[0], 1, (level + "_code").c_str(), err, false));
      TC_ASSIGN_OR_RETURN(r.name, Name(f[1], 2, (level + "_name").c_str(), err));
      if (file == "soc.asc") r.abbrev = std::string(f[2]);
      r.line = line_no;
      (file == "soc.asc" ? t->socs : file == "hlgt.asc" ? t->hlgts : t->hlts).push_back(std::move(r));
    } else if (file == "hlt_pt.asc" || file == "hlgt_hlt.asc" || file == "soc_hlgt.asc") {
      const std::string parent(file.substr(0, file.find('_')));
      const std::string child(file.substr(file.find('_') + 1, file.find('.') - file.find('_') - 1));
      MeddraTables::Link r;
      TC_ASSIGN_OR_RETURN(r.parent, Code(f[0], 1, (parent + "_code").c_str(), err, false));
      TC_ASSIGN_OR_RETURN(r.child, Code(f[1], 2, (child + "_code").c_str(), err, false));
      r.line = line_no;
      (file == "hlt_pt.asc" ? t->hlt_pt : file == "hlgt_hlt.asc" ? t->hlgt_hlt : t->soc_hlgt).push_back(r);
    } else if (file == "mdhier.asc") {
      MeddraTables::HierRow r;
      TC_ASSIGN_OR_RETURN(r.pt, Code(f[0], 1, "pt_code", err, false));
      TC_ASSIGN_OR_RETURN(r.hlt, Code(f[1], 2, "hlt_code", err, false));
      TC_ASSIGN_OR_RETURN(r.hlgt, Code(f[2], 3, "hlgt_code", err, false));
      TC_ASSIGN_OR_RETURN(r.soc, Code(f[3], 4, "soc_code", err, false));
      TC_ASSIGN_OR_RETURN(r.primary, Flag(f[11], 12, "primary_soc_fg", err));
      r.line = line_no;
      t->mdhier.push_back(r);
    } else {  // meddra_release.asc
      if (release_seen) return err("meddra_release.asc has more than one line");
      release_seen = true;
      TC_ASSIGN_OR_RETURN(t->version, Name(f[0], 1, "version", err));
      TC_ASSIGN_OR_RETURN(t->language, Name(f[1], 2, "language", err));
    }
  }
  if (file == "meddra_release.asc" && !release_seen) return InvalidArgument(where + ": the file is empty");
  return Status::Ok();
}

Result<MeddraAsciiRead> ReadMeddraAscii(Env* env, const std::string& dir, const MeddraLoadOptions& options) {
  MeddraAsciiRead read;
  MeddraTables& t = read.tables;
  t.source = dir;
  auto record = [&](std::string_view file, const std::string& text) {
    read.files.push_back({std::string(file), ToHex(Sha256(text)), text.size()});
  };
  for (const auto& spec : kTables) {
    const std::string path = dir + "/" + std::string(spec.file);
    auto text = env->ReadFileToString(path);
    if (!text.ok()) {
      return Status(text.status().code(),
                    "MedDRA " + std::string(spec.file) + " cannot be read in " + dir + ": " + text.status().message());
    }
    TC_RETURN_IF_ERROR(ParseMeddraTable(spec.file, *text, path, &t));
    record(spec.file, *text);
  }
  const std::string release = dir + "/meddra_release.asc";
  if (env->FileExists(release)) {
    TC_ASSIGN_OR_RETURN(std::string text, env->ReadFileToString(release));
    TC_RETURN_IF_ERROR(ParseMeddraTable(kRelease.file, text, release, &t));
    record(kRelease.file, text);
    if (!options.version.empty() && options.version != t.version) {
      return FailedPrecondition(release + " says version " + t.version + ", but version " + options.version +
                                " was asked for");
    }
  } else {
    if (options.version.empty()) {
      return InvalidArgument(dir + " has no meddra_release.asc; give the MedDRA version it holds");
    }
    t.version = options.version;
    t.language = options.language;
  }
  return read;
}

Result<MeddraDictionary> LoadMeddraAscii(Env* env, const std::string& dir, const MeddraLoadOptions& options) {
  TC_ASSIGN_OR_RETURN(MeddraAsciiRead read, ReadMeddraAscii(env, dir, options));
  return MeddraDictionary::Build(std::move(read.tables));
}

namespace {

std::string At(const MeddraTables& t, std::string_view file, uint32_t line) {
  if (t.source.empty()) return std::string(file) + " row " + std::to_string(line);
  return t.source + "/" + std::string(file) + ":" + std::to_string(line);
}

template <typename Row>
const Row* FindCode(const std::vector<Row>& rows, uint32_t code) {
  auto it = std::lower_bound(rows.begin(), rows.end(), code, [](const Row& r, uint32_t c) { return r.code < c; });
  return it != rows.end() && it->code == code ? &*it : nullptr;
}

// Sorts rows by code; a code twice is an error naming the second row.
template <typename Row>
Status SortUnique(const MeddraTables& t, std::vector<Row>* rows, std::string_view file, const char* level) {
  std::stable_sort(rows->begin(), rows->end(), [](const Row& a, const Row& b) { return a.code < b.code; });
  for (size_t i = 1; i < rows->size(); ++i) {
    const Row& a = (*rows)[i - 1];
    const Row& b = (*rows)[i];
    if (a.code == b.code) {
      return InvalidArgument(At(t, file, std::max(a.line, b.line)) + ": " + level + " " + std::to_string(b.code) +
                             " appears twice (also line " + std::to_string(std::min(a.line, b.line)) + ")");
    }
  }
  return Status::Ok();
}

uint64_t Pair(uint32_t a, uint32_t b) { return (uint64_t{a} << 32) | b; }

template <typename P, typename C>
Status CheckLinks(const MeddraTables& t, const std::vector<MeddraTables::Link>& links, std::string_view file,
                  const std::vector<P>& parents, const char* parent, const std::vector<C>& children, const char* child,
                  std::vector<uint64_t>* set) {
  set->clear();
  for (const auto& l : links) {
    if (!FindCode(parents, l.parent)) {
      return InvalidArgument(At(t, file, l.line) + ": " + parent + " " + std::to_string(l.parent) + " is not in " +
                             parent + ".asc");
    }
    if (!FindCode(children, l.child)) {
      return InvalidArgument(At(t, file, l.line) + ": " + child + " " + std::to_string(l.child) + " is not in " +
                             child + ".asc");
    }
    set->push_back(Pair(l.parent, l.child));
  }
  std::sort(set->begin(), set->end());
  return Status::Ok();
}

}  // namespace

Result<MeddraDictionary> MeddraDictionary::Build(MeddraTables t) {
  TC_RETURN_IF_ERROR(SortUnique(t, &t.socs, "soc.asc", "SOC"));
  TC_RETURN_IF_ERROR(SortUnique(t, &t.hlgts, "hlgt.asc", "HLGT"));
  TC_RETURN_IF_ERROR(SortUnique(t, &t.hlts, "hlt.asc", "HLT"));
  TC_RETURN_IF_ERROR(SortUnique(t, &t.pts, "pt.asc", "PT"));
  TC_RETURN_IF_ERROR(SortUnique(t, &t.llts, "llt.asc", "LLT"));

  std::vector<uint64_t> hlt_pt, hlgt_hlt, soc_hlgt;
  TC_RETURN_IF_ERROR(CheckLinks(t, t.hlt_pt, "hlt_pt.asc", t.hlts, "hlt", t.pts, "pt", &hlt_pt));
  TC_RETURN_IF_ERROR(CheckLinks(t, t.hlgt_hlt, "hlgt_hlt.asc", t.hlgts, "hlgt", t.hlts, "hlt", &hlgt_hlt));
  TC_RETURN_IF_ERROR(CheckLinks(t, t.soc_hlgt, "soc_hlgt.asc", t.socs, "soc", t.hlgts, "hlgt", &soc_hlgt));

  MeddraDictionary d;
  d.version_ = std::move(t.version);
  d.language_ = std::move(t.language);

  // Paths per PT, in the order of pt.asc's sorted codes.
  std::vector<const MeddraTables::HierRow*> hier(t.mdhier.size());
  for (size_t i = 0; i < t.mdhier.size(); ++i) hier[i] = &t.mdhier[i];
  std::stable_sort(hier.begin(), hier.end(), [](auto* a, auto* b) { return a->pt < b->pt; });
  for (const auto* h : hier) {
    auto bad = [&](const std::string& what) { return InvalidArgument(At(t, "mdhier.asc", h->line) + ": " + what); };
    if (!FindCode(t.pts, h->pt)) return bad("PT " + std::to_string(h->pt) + " is not in pt.asc");
    if (!FindCode(t.hlts, h->hlt)) return bad("HLT " + std::to_string(h->hlt) + " is not in hlt.asc");
    if (!FindCode(t.hlgts, h->hlgt)) return bad("HLGT " + std::to_string(h->hlgt) + " is not in hlgt.asc");
    if (!FindCode(t.socs, h->soc)) return bad("SOC " + std::to_string(h->soc) + " is not in soc.asc");
    if (!std::binary_search(hlt_pt.begin(), hlt_pt.end(), Pair(h->hlt, h->pt))) {
      return bad("hlt_pt.asc does not link HLT " + std::to_string(h->hlt) + " to PT " + std::to_string(h->pt));
    }
    if (!std::binary_search(hlgt_hlt.begin(), hlgt_hlt.end(), Pair(h->hlgt, h->hlt))) {
      return bad("hlgt_hlt.asc does not link HLGT " + std::to_string(h->hlgt) + " to HLT " + std::to_string(h->hlt));
    }
    if (!std::binary_search(soc_hlgt.begin(), soc_hlgt.end(), Pair(h->soc, h->hlgt))) {
      return bad("soc_hlgt.asc does not link SOC " + std::to_string(h->soc) + " to HLGT " + std::to_string(h->hlgt));
    }
  }
  d.pts_.reserve(t.pts.size());
  size_t h = 0;
  for (auto& p : t.pts) {
    MeddraPt pt;
    pt.code = p.code;
    pt.name = std::move(p.name);
    const MeddraTables::HierRow* primary = nullptr;
    for (; h < hier.size() && hier[h]->pt == p.code; ++h) {
      const auto& r = *hier[h];
      if (r.primary) {
        if (primary != nullptr) {
          return InvalidArgument(At(t, "mdhier.asc", r.line) + ": PT " + std::to_string(p.code) +
                                 " has a second primary SOC path (the first is line " + std::to_string(primary->line) +
                                 ")");
        }
        primary = &r;
      }
      MeddraPath path{r.hlt, r.hlgt, r.soc, r.primary};
      if (std::find(pt.paths.begin(), pt.paths.end(), path) == pt.paths.end()) pt.paths.push_back(path);
    }
    if (primary == nullptr) {
      return InvalidArgument(At(t, "pt.asc", p.line) + ": PT " + std::to_string(p.code) + " (" + pt.name + ") has " +
                             (pt.paths.empty() ? "no path in mdhier.asc" : "no path marked primary in mdhier.asc"));
    }
    if (p.soc != 0 && p.soc != primary->soc) {
      return InvalidArgument(At(t, "pt.asc", p.line) + ": PT " + std::to_string(p.code) + " names primary SOC " +
                             std::to_string(p.soc) + ", but mdhier.asc line " + std::to_string(primary->line) +
                             " marks SOC " + std::to_string(primary->soc));
    }
    std::stable_partition(pt.paths.begin(), pt.paths.end(), [](const MeddraPath& x) { return x.primary; });
    d.pts_.push_back(std::move(pt));
  }

  d.llts_.reserve(t.llts.size());
  for (auto& l : t.llts) {
    if (!d.FindPt(l.pt)) {
      return InvalidArgument(At(t, "llt.asc", l.line) + ": LLT " + std::to_string(l.code) + " (" + l.name +
                             ") names PT " + std::to_string(l.pt) + ", which pt.asc does not have");
    }
    d.llts_.push_back({l.code, std::move(l.name), l.pt, l.current});
  }
  auto groups = [](std::vector<MeddraTables::Named>& rows, std::vector<MeddraGroup>* out) {
    out->reserve(rows.size());
    for (auto& r : rows) out->push_back({r.code, std::move(r.name), std::move(r.abbrev)});
  };
  groups(t.hlts, &d.hlts_);
  groups(t.hlgts, &d.hlgts_);
  groups(t.socs, &d.socs_);
  return d;
}

const MeddraLlt* MeddraDictionary::FindLlt(uint32_t code) const { return FindCode(llts_, code); }
const MeddraPt* MeddraDictionary::FindPt(uint32_t code) const { return FindCode(pts_, code); }
const MeddraGroup* MeddraDictionary::FindHlt(uint32_t code) const { return FindCode(hlts_, code); }
const MeddraGroup* MeddraDictionary::FindHlgt(uint32_t code) const { return FindCode(hlgts_, code); }
const MeddraGroup* MeddraDictionary::FindSoc(uint32_t code) const { return FindCode(socs_, code); }

}  // namespace trialcore::safety
