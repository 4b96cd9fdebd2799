// trialcore meddra load | versions | code | diff: the user's licensed MedDRA
// copy into the database, and coding against it (safety/meddra_store.h).
#include <algorithm>
#include <charconv>
#include <ostream>

#include "cli/commands.h"
#include "cli/store_access.h"
#include "core/json.h"
#include "safety/meddra_coder.h"
#include "safety/meddra_diff.h"
#include "safety/meddra_store.h"
#include "store/open_store.h"

namespace trialcore::cli {
namespace {

using safety::MeddraVersionInfo;

// "27.1" before "27.10" before "28.0": dotted numbers compared as numbers.
bool OlderVersion(const std::string& a, const std::string& b) {
  auto parts = [](const std::string& v) {
    std::vector<uint64_t> out;
    size_t start = 0;
    while (start <= v.size()) {
      size_t dot = v.find('.', start);
      if (dot == std::string::npos) dot = v.size();
      uint64_t n = 0;
      std::from_chars(v.data() + start, v.data() + dot, n);
      out.push_back(n);
      start = dot + 1;
    }
    return out;
  };
  auto pa = parts(a), pb = parts(b);
  if (pa != pb) return pa < pb;
  return a < b;
}

// The version asked for, or else the newest loaded.
Result<std::string> ChooseVersion(EventStore& store, const std::string& db, const std::optional<std::string>& asked) {
  if (asked) return *asked;
  TC_ASSIGN_OR_RETURN(auto versions, safety::ListMeddraVersions(store));
  if (versions.empty()) {
    return NotFound("database " + db + " has no MedDRA version; load one with `trialcore meddra load DIR`");
  }
  auto newest = std::max_element(versions.begin(), versions.end(),
                                 [](const auto& x, const auto& y) { return OlderVersion(x.version, y.version); });
  return newest->version;
}

Result<std::shared_ptr<const safety::MeddraDictionary>> LoadStored(EventStore& store, const std::string& version,
                                                                   const std::string& language) {
  TC_ASSIGN_OR_RETURN(auto tables, safety::ReadStoredMeddra(store, version, language));
  TC_ASSIGN_OR_RETURN(auto built, safety::MeddraDictionary::Build(std::move(tables)));
  return std::make_shared<const safety::MeddraDictionary>(std::move(built));
}

std::string Term(const char* level, const safety::MeddraTermRef& t) {
  return std::string(level) + " " + std::to_string(t.code) + " " + std::string(t.name);
}

std::string Hierarchy(const safety::MeddraCoding& c) {
  return Term("LLT", c.llt) + (c.llt_current ? "" : " (not current)") + "; " + Term("PT", c.pt) + "; " +
         Term("HLT", c.hlt) + "; " + Term("HLGT", c.hlgt) + "; " + Term("SOC", c.soc) + " (primary)";
}

// Built member by member: GCC 12 warns falsely about Values in an
// initializer list (-Wmaybe-uninitialized).
Value CodingValue(const safety::MeddraCoding& c) {
  auto term = [](const safety::MeddraTermRef& t) {
    Value::Object o;
    o["code"] = Value(static_cast<int64_t>(t.code));
    o["name"] = Value(std::string(t.name));
    return Value(std::move(o));
  };
  Value::Object o;
  o["llt"] = term(c.llt);
  o["llt_current"] = Value(c.llt_current);
  o["pt"] = term(c.pt);
  o["hlt"] = term(c.hlt);
  o["hlgt"] = term(c.hlgt);
  o["soc"] = term(c.soc);
  return o;
}

}  // namespace

Status MeddraLoad(const MeddraLoadArgs& args, Context& ctx) {
  safety::MeddraLoadOptions options;
  if (args.version) options.version = *args.version;
  if (args.language) options.language = *args.language;
  TC_ASSIGN_OR_RETURN(auto read, safety::ReadMeddraAscii(ctx.env, args.dir, options));
  TC_ASSIGN_OR_RETURN(auto store, OpenOrCreate(args.db, ctx.env));
  TC_ASSIGN_OR_RETURN(MeddraVersionInfo info,
                      safety::StoreMeddraVersion(*store, read.tables, read.files, Actor{args.as_user, "system_admin"}));
  ctx.out << "loaded MedDRA " << info.version << " " << info.language << " from " << args.dir << ": " << info.llts
          << " LLTs, " << info.pts << " PTs (event " << info.seq << ")\n";
  for (const auto& f : info.files)
    ctx.out << "  " << f.name << "  " << f.bytes << " bytes  sha256 " << f.sha256 << "\n";
  return Status::Ok();
}

Status MeddraVersions(const std::string& db, Context& ctx) {
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(db, ctx.env));
  TC_ASSIGN_OR_RETURN(auto versions, safety::ListMeddraVersions(*store));
  if (versions.empty()) {
    ctx.out << "no MedDRA version is loaded; load one with `trialcore meddra load DIR`\n";
    return Status::Ok();
  }
  for (const auto& v : versions) {
    ctx.out << v.version << "  " << v.language << "  " << v.llts << " LLTs, " << v.pts << " PTs  loaded "
            << FormatTimeMicros(v.time_us) << " by " << v.loaded_by.user << "\n";
  }
  return Status::Ok();
}

Status MeddraCode(const MeddraCodeArgs& args, Context& ctx) {
  if (args.terms.empty()) return InvalidArgument("give at least one verbatim term to code");
  if (args.format != "text" && args.format != "json") {
    return InvalidArgument("--format must be text or json, not " + args.format);
  }
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(args.db, ctx.env));
  TC_ASSIGN_OR_RETURN(std::string version, ChooseVersion(*store, args.db, args.version));
  TC_ASSIGN_OR_RETURN(auto dictionary, LoadStored(*store, version, args.language.value_or("")));
  safety::MeddraCoder coder(dictionary);
  for (const auto& verbatim : args.terms) {
    auto r = coder.Code(verbatim);
    if (args.format == "json") {
      Value::Object o;
      o["verbatim"] = Value(verbatim);
      o["rule"] = Value(std::string(safety::CodingRuleName(r.rule)));
      o["version"] = Value(dictionary->version());
      if (r.coded()) o["coding"] = CodingValue(r.coding);
      Value::Array candidates;
      for (const auto& c : r.candidates) {
        Value candidate = CodingValue(c.coding);
        candidate.as_object()["similarity_percent"] = Value(static_cast<int64_t>(c.score * 100 + 0.5));
        candidates.push_back(std::move(candidate));
      }
      if (!r.coded()) o["candidates"] = Value(std::move(candidates));
      ctx.out << ToJson(Value(std::move(o))) << "\n";
      continue;
    }
    ctx.out << "\"" << verbatim << "\": ";
    if (r.coded()) {
      ctx.out << "coded (" << safety::CodingRuleName(r.rule) << ", MedDRA " << dictionary->version() << ") to "
              << Hierarchy(r.coding) << "\n";
      continue;
    }
    ctx.out << (r.rule == safety::CodingRule::kAmbiguous ? "ambiguous, a person chooses" : "not coded")
            << (r.candidates.empty() ? "; no candidate" : "; candidates:") << "\n";
    for (size_t i = 0; i < r.candidates.size(); ++i) {
      char score[16];
      std::snprintf(score, sizeof score, "%.2f", r.candidates[i].score);
      ctx.out << "  " << i + 1 << ". " << Hierarchy(r.candidates[i].coding) << "  (similarity " << score << ")\n";
    }
  }
  return Status::Ok();
}

Status MeddraDiffCommand(const std::string& db, const std::string& from, const std::string& to, Context& ctx) {
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(db, ctx.env));
  TC_ASSIGN_OR_RETURN(auto a, LoadStored(*store, from, ""));
  TC_ASSIGN_OR_RETURN(auto b, LoadStored(*store, to, ""));
  auto changes = safety::DiffMeddra(*a, *b);
  ctx.out << "MedDRA " << from << " -> " << to << ": " << changes.added.size() << " LLTs added, "
          << changes.removed.size() << " removed, " << changes.became_non_current.size() << " no longer current, "
          << changes.became_current.size() << " current again, " << changes.moved.size() << " under another PT, "
          << changes.primary_soc_changed.size() << " PTs with another primary SOC\n";
  for (const auto& l : changes.became_non_current)
    ctx.out << "  no longer current: LLT " << l.code << " " << l.name << "\n";
  for (const auto& l : changes.removed) ctx.out << "  removed: LLT " << l.code << " " << l.name << "\n";
  for (const auto& m : changes.moved) {
    ctx.out << "  moved: LLT " << m.code << " " << m.name << " from PT " << m.from_pt << " to PT " << m.to_pt << "\n";
  }
  for (const auto& p : changes.primary_soc_changed) {
    ctx.out << "  primary SOC: PT " << p.code << " " << p.name << " from SOC " << p.from_soc << " to SOC " << p.to_soc
            << "\n";
  }
  if (changes.NeedsNoRecoding()) ctx.out << "no coded term needs recoding\n";
  return Status::Ok();
}

}  // namespace trialcore::cli
