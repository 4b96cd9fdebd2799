#include "safety/meddra_store.h"

#include <algorithm>

#include "core/value.h"
#include "store/event_store.h"

namespace trialcore::safety {
namespace {

constexpr char kLoaded[] = "meddra.version.loaded";
constexpr char kRows[] = "meddra.rows";

std::string StreamOf(const std::string& version, const std::string& language) {
  return "version/" + version + "/" + language;
}

// A version or language becomes one segment of a stream's path.
Status CheckSegment(const char* what, const std::string& text) {
  if (text.empty()) return InvalidArgument(std::string("the MedDRA ") + what + " is empty");
  for (unsigned char c : text) {
    if (!std::isalnum(c) && c != '.' && c != '-' && c != '_' && c != ' ') {
      return InvalidArgument(std::string("the MedDRA ") + what + " '" + text +
                             "' may hold only letters, digits, spaces, '.', '-' and '_'");
    }
  }
  return Status::Ok();
}

Value Code(uint32_t code) { return Value(static_cast<int64_t>(code)); }

// A row's fields, pushed one by one: GCC 12 warns falsely about Values in an
// initializer list (-Wmaybe-uninitialized).
template <typename... Fields>
Value::Array Tuple(Fields&&... fields) {
  Value::Array a;
  a.reserve(sizeof...(Fields));
  (a.emplace_back(std::forward<Fields>(fields)), ...);
  return a;
}

// Each table's rows as arrays of their fields (the order of MeddraTables'
// members), and back.
struct Rows {
  std::string table;
  Value::Array rows;
};

void Chunk(std::vector<Rows>* out, const std::string& table, Value::Array rows) {
  for (size_t i = 0; i < rows.size(); i += kMeddraRowsPerEvent) {
    size_t end = std::min(rows.size(), i + kMeddraRowsPerEvent);
    Rows r{table, {}};
    r.rows.assign(std::make_move_iterator(rows.begin() + static_cast<std::ptrdiff_t>(i)),
                  std::make_move_iterator(rows.begin() + static_cast<std::ptrdiff_t>(end)));
    out->push_back(std::move(r));
  }
}

std::vector<Rows> Encode(const MeddraTables& t) {
  std::vector<Rows> out;
  auto named = [&](const std::string& table, const std::vector<MeddraTables::Named>& rows, bool abbrev) {
    Value::Array a;
    for (const auto& r : rows) {
      Value::Array row = Tuple(Code(r.code), r.name);
      if (abbrev) row.push_back(r.abbrev);
      a.push_back(std::move(row));
    }
    Chunk(&out, table, std::move(a));
  };
  auto links = [&](const std::string& table, const std::vector<MeddraTables::Link>& rows) {
    Value::Array a;
    for (const auto& r : rows) a.push_back(Tuple(Code(r.parent), Code(r.child)));
    Chunk(&out, table, std::move(a));
  };
  named("soc.asc", t.socs, true);
  named("hlgt.asc", t.hlgts, false);
  named("hlt.asc", t.hlts, false);
  Value::Array pts;
  for (const auto& r : t.pts) pts.push_back(Tuple(Code(r.code), r.name, Code(r.soc)));
  Chunk(&out, "pt.asc", std::move(pts));
  Value::Array llts;
  for (const auto& r : t.llts) llts.push_back(Tuple(Code(r.code), r.name, Code(r.pt), r.current));
  Chunk(&out, "llt.asc", std::move(llts));
  links("hlt_pt.asc", t.hlt_pt);
  links("hlgt_hlt.asc", t.hlgt_hlt);
  links("soc_hlgt.asc", t.soc_hlgt);
  Value::Array hier;
  for (const auto& r : t.mdhier) {
    hier.push_back(Tuple(Code(r.pt), Code(r.hlt), Code(r.hlgt), Code(r.soc), r.primary));
  }
  Chunk(&out, "mdhier.asc", std::move(hier));
  return out;
}

// Decodes one stored row; stored rows passed these checks when they were
// loaded, so a failure here means the log was altered (DataLoss).
class RowReader {
 public:
  RowReader(const Event& e, const std::string& table, const Value& row, size_t fields)
      : event_(e), table_(table), row_(row) {
    ok_ = row.kind() == Value::Kind::kArray && row.as_array().size() == fields;
  }
  bool ok() const { return ok_; }
  uint32_t Code(size_t i) {
    const Value& v = row_.as_array()[i];
    if (v.kind() != Value::Kind::kInt || v.as_int() < 0 || v.as_int() > UINT32_MAX) ok_ = false;
    return ok_ ? static_cast<uint32_t>(v.as_int()) : 0;
  }
  std::string Text(size_t i) {
    const Value& v = row_.as_array()[i];
    if (!v.is_string()) ok_ = false;
    return ok_ ? v.as_string() : "";
  }
  bool Flag(size_t i) {
    const Value& v = row_.as_array()[i];
    if (v.kind() != Value::Kind::kBool) ok_ = false;
    return ok_ && v.as_bool();
  }
  Status Error() const {
    return DataLoss("MedDRA event " + std::to_string(event_.seq) + " holds a " + table_ +
                    " row that is not as `meddra load` writes it");
  }

 private:
  const Event& event_;
  const std::string& table_;
  const Value& row_;
  bool ok_;
};

Status Decode(const Event& e, MeddraTables* t) {
  const Value* table = e.payload.Find("table");
  const Value* rows = e.payload.Find("rows");
  if (!table || !table->is_string() || !rows || rows->kind() != Value::Kind::kArray) {
    return DataLoss("MedDRA event " + std::to_string(e.seq) + " has no table and rows");
  }
  const std::string& name = table->as_string();
  auto line = [](size_t size) { return static_cast<uint32_t>(size + 1); };
  for (const Value& row : rows->as_array()) {
    auto read = [&](size_t fields, auto&& fill) -> Status {
      RowReader r(e, name, row, fields);
      if (r.ok()) fill(r);
      return r.ok() ? Status::Ok() : r.Error();
    };
    Status s;
    if (name == "soc.asc" || name == "hlgt.asc" || name == "hlt.asc") {
      auto* to = name == "soc.asc" ? &t->socs : name == "hlgt.asc" ? &t->hlgts : &t->hlts;
      bool abbrev = name == "soc.asc";
      s = read(abbrev ? 3 : 2, [&](RowReader& r) {
        to->push_back({r.Code(0), r.Text(1), abbrev ? r.Text(2) : "", line(to->size())});
      });
    } else if (name == "pt.asc") {
      s = read(3, [&](RowReader& r) { t->pts.push_back({r.Code(0), r.Text(1), r.Code(2), line(t->pts.size())}); });
    } else if (name == "llt.asc") {
      s = read(4, [&](RowReader& r) {
        t->llts.push_back({r.Code(0), r.Text(1), r.Code(2), r.Flag(3), line(t->llts.size())});
      });
    } else if (name == "hlt_pt.asc" || name == "hlgt_hlt.asc" || name == "soc_hlgt.asc") {
      auto* to = name == "hlt_pt.asc" ? &t->hlt_pt : name == "hlgt_hlt.asc" ? &t->hlgt_hlt : &t->soc_hlgt;
      s = read(2, [&](RowReader& r) { to->push_back({r.Code(0), r.Code(1), line(to->size())}); });
    } else if (name == "mdhier.asc") {
      s = read(5, [&](RowReader& r) {
        t->mdhier.push_back({r.Code(0), r.Code(1), r.Code(2), r.Code(3), r.Flag(4), line(t->mdhier.size())});
      });
    } else {
      return DataLoss("MedDRA event " + std::to_string(e.seq) + " names an unknown table " + name);
    }
    TC_RETURN_IF_ERROR(s);
  }
  return Status::Ok();
}

Value FilesValue(const std::vector<MeddraSourceFile>& files) {
  Value::Array a;
  for (const auto& f : files) {
    a.push_back(Value::Object{{"name", f.name}, {"sha256", f.sha256}, {"bytes", static_cast<int64_t>(f.bytes)}});
  }
  return a;
}

Result<MeddraVersionInfo> InfoFrom(const EntityValue& v) {
  MeddraVersionInfo info;
  auto text = [&](const char* key) -> std::string {
    const Value* f = v.value.Find(key);
    return f && f->is_string() ? f->as_string() : "";
  };
  auto count = [&](const char* key) -> uint64_t {
    const Value* f = v.value.Find(key);
    return f && f->kind() == Value::Kind::kInt ? static_cast<uint64_t>(f->as_int()) : 0;
  };
  info.version = text("version");
  info.language = text("language");
  info.llts = count("llts");
  info.pts = count("pts");
  if (const Value* files = v.value.Find("files"); files && files->kind() == Value::Kind::kArray) {
    for (const Value& f : files->as_array()) {
      const Value* name = f.Find("name");
      const Value* sha = f.Find("sha256");
      const Value* bytes = f.Find("bytes");
      if (!name || !name->is_string() || !sha || !sha->is_string() || !bytes || bytes->kind() != Value::Kind::kInt) {
        return DataLoss("MedDRA version entry " + v.path + " lists a file without name, sha256 and bytes");
      }
      info.files.push_back({name->as_string(), sha->as_string(), static_cast<uint64_t>(bytes->as_int())});
    }
  }
  info.seq = v.seq;
  info.time_us = v.time_us;
  info.loaded_by = v.actor;
  return info;
}

}  // namespace

Result<MeddraVersionInfo> StoreMeddraVersion(EventStore& store, const MeddraTables& tables,
                                             const std::vector<MeddraSourceFile>& files, const Actor& actor) {
  TC_RETURN_IF_ERROR(CheckSegment("version", tables.version));
  TC_RETURN_IF_ERROR(CheckSegment("language", tables.language));
  TC_ASSIGN_OR_RETURN(MeddraDictionary built, MeddraDictionary::Build(tables));
  const std::string stream = StreamOf(tables.version, tables.language);

  Value::Object entity{{"version", tables.version},
                       {"language", tables.language},
                       {"files", FilesValue(files)},
                       {"llts", static_cast<int64_t>(built.llts().size())},
                       {"pts", static_cast<int64_t>(built.pts().size())}};
  AppendRequest request;
  request.study = kMeddraLog;
  request.expected_versions[stream] = kNoStream;
  request.events.push_back({stream, kLoaded, actor, "", Value::Object{{"set", Value::Object{{stream, entity}}}}});
  for (Rows& r : Encode(tables)) {
    request.events.push_back(
        {stream, kRows, actor, "", Value::Object{{"table", r.table}, {"rows", std::move(r.rows)}}});
  }
  auto appended = store.Append(request);
  if (!appended.ok()) {
    if (appended.status().code() != StatusCode::kAborted) return appended.status();
    auto existing = store.ReadEntity(kMeddraLog, stream);
    if (existing.ok() && *existing) {
      return AlreadyExists("MedDRA " + tables.version + " " + tables.language + " was loaded on " +
                           FormatTimeMicros((*existing)->time_us) + " by " + (*existing)->actor.user +
                           "; a version is loaded once");
    }
    return appended.status();
  }
  TC_ASSIGN_OR_RETURN(auto stored, store.ReadEntity(kMeddraLog, stream));
  if (!stored) return Internal("MedDRA " + tables.version + " was appended but its entry cannot be read");
  return InfoFrom(*stored);
}

Result<std::vector<MeddraVersionInfo>> ListMeddraVersions(EventStore& store) {
  std::vector<std::string> paths;
  TC_RETURN_IF_ERROR(store.QueryProjections("SELECT path FROM entity_values WHERE study = $1 ORDER BY seq",
                                            {Value(kMeddraLog)}, [&](const ProjectionRow& r) {
                                              paths.push_back(r[0].as_string());
                                              return Status::Ok();
                                            }));
  std::vector<MeddraVersionInfo> out;
  for (const auto& p : paths) {
    TC_ASSIGN_OR_RETURN(auto v, store.ReadEntity(kMeddraLog, p));
    if (!v) continue;
    TC_ASSIGN_OR_RETURN(MeddraVersionInfo info, InfoFrom(*v));
    out.push_back(std::move(info));
  }
  return out;
}

Result<MeddraTables> ReadStoredMeddra(EventStore& store, const std::string& version, const std::string& language) {
  TC_ASSIGN_OR_RETURN(auto versions, ListMeddraVersions(store));
  std::vector<const MeddraVersionInfo*> matching;
  std::string there;
  for (const auto& v : versions) {
    there += (there.empty() ? "" : ", ") + v.version + " " + v.language;
    if (v.version == version && (language.empty() || v.language == language)) matching.push_back(&v);
  }
  const std::string asked = "MedDRA " + version + (language.empty() ? "" : " " + language);
  if (matching.empty()) {
    return NotFound(asked + " is not loaded" +
                    (there.empty() ? " (none is; load one with `trialcore meddra load`)" : " (loaded: " + there + ")"));
  }
  if (matching.size() > 1) {
    return InvalidArgument(asked + " is loaded in several languages (" + there + "): choose one");
  }
  MeddraTables t;
  t.version = matching[0]->version;
  t.language = matching[0]->language;
  EventFilter filter;
  filter.study = kMeddraLog;
  filter.stream = StreamOf(t.version, t.language);
  TC_RETURN_IF_ERROR(store.ForEachEvent(filter, [&](const Event& e) -> Status {
    if (e.type != kRows) return Status::Ok();
    return Decode(e, &t);
  }));
  return t;
}

}  // namespace trialcore::safety
