// trialcore meddra load | versions | code | diff | recode: the user's licensed
// MedDRA copy into the database, coding against it (safety/meddra_store.h),
// and a study's codings moved to a new version (capture/meddra_recode.h).
#include <algorithm>
#include <ostream>

#include "api/users.h"
#include "capture/capture.h"
#include "capture/meddra_recode.h"
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

// The version asked for, or else the newest loaded.
Result<std::string> ChooseVersion(EventStore& store, const std::string& db, const std::optional<std::string>& asked) {
  if (asked) return *asked;
  TC_ASSIGN_OR_RETURN(auto versions, safety::ListMeddraVersions(store));
  if (versions.empty()) {
    return NotFound("database " + db + " has no MedDRA version; load one with `trialcore meddra load DIR`");
  }
  auto newest = std::max_element(versions.begin(), versions.end(), [](const auto& x, const auto& y) {
    return safety::OlderMeddraVersion(x.version, y.version);
  });
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

std::string PathText(const capture::RecodePath& p) {
  return "LLT " + std::to_string(p.llt.code) + " " + p.llt.name + " (PT " + p.pt.name + ", SOC " + p.soc.name + ")";
}

Value PathValue(const capture::RecodePath& p) {
  auto term = [](const capture::RecodeTerm& t) {
    Value::Object o;
    o["code"] = Value(static_cast<int64_t>(t.code));
    o["name"] = Value(t.name);
    return Value(std::move(o));
  };
  Value::Object o;
  o["llt"] = term(p.llt);
  o["pt"] = term(p.pt);
  o["soc"] = term(p.soc);
  return Value(std::move(o));
}

// One line of the report: where, the term, and what the new version makes of it.
void PrintRecodeItem(const capture::RecodeItem& i, std::ostream& out) {
  using capture::RecodeOutcome;
  static constexpr const char* kLabel[] = {"carried over", "moved       ", "needs review"};
  out << "  " << kLabel[static_cast<int>(i.outcome)] << "  " << capture::RecodeItemPlace(i) << " \"" << i.verbatim
      << "\" (MedDRA " << i.from_version << "): ";
  switch (i.outcome) {
    case RecodeOutcome::kCarriedOver:
      out << PathText(i.now) << "\n";
      break;
    case RecodeOutcome::kMoved:
      out << "LLT " << i.was.llt.code << " " << i.was.llt.name << ": PT " << i.was.pt.name << ", SOC " << i.was.soc.name
          << " -> PT " << i.now.pt.name << ", SOC " << i.now.soc.name << "\n";
      break;
    case RecodeOutcome::kNeedsReview:
      out << i.why << (i.candidates.empty() ? "; no candidate" : "; candidates:") << "\n";
      for (size_t n = 0; n < i.candidates.size(); ++n)
        out << "      " << n + 1 << ". " << PathText(i.candidates[n]) << "\n";
      break;
  }
}

Value RecodeItemValue(const capture::RecodeItem& i) {
  Value::Object o;
  o["outcome"] = Value(std::string(capture::RecodeOutcomeName(i.outcome)));
  o["kind"] = Value(std::string(i.case_id.empty() ? "ae_row" : "case"));
  if (!i.case_id.empty()) o["case"] = Value(i.case_id);
  o["subject"] = Value(i.subject);
  o["visit"] = Value(i.visit);
  o["form"] = Value(i.form);
  o["group"] = Value(i.group);
  o["row"] = Value(static_cast<int64_t>(i.row));
  o["verbatim"] = Value(i.verbatim);
  o["from_version"] = Value(i.from_version);
  o["was"] = PathValue(i.was);
  if (i.outcome == capture::RecodeOutcome::kNeedsReview) {
    o["why"] = Value(i.why);
    Value::Array candidates;
    for (const auto& c : i.candidates) candidates.push_back(PathValue(c));
    o["candidates"] = Value(std::move(candidates));
  } else {
    o["now"] = PathValue(i.now);
  }
  return Value(std::move(o));
}

// The roles a user holds on the study at every site: a recoding touches
// every site's subjects.
Result<capture::Recoder> RecoderOf(EventStore& store, Env* env, const std::string& user, const std::string& study) {
  TC_ASSIGN_OR_RETURN(auto users, api::UserDirectory::Open(&store, env));
  TC_ASSIGN_OR_RETURN(api::User u, users->Find(user));
  if (u.disabled) return PermissionDenied("user " + user + " is disabled");
  capture::Recoder by;
  by.user = user;
  for (const api::Grant& g : u.grants) {
    if (g.study == study && g.site == "*") by.roles.push_back(g.role);
  }
  return by;
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

Status MeddraRecode(const MeddraRecodeArgs& args, Context& ctx) {
  if (args.format != "text" && args.format != "json") {
    return InvalidArgument("--format must be text or json, not " + args.format);
  }
  if (args.apply && (!args.as_user || args.as_user->empty() || !args.reason || args.reason->empty())) {
    return InvalidArgument("--apply records audited recodings: give the user with --as and the reason with --reason");
  }
  if (!args.apply && (args.as_user || args.reason)) {
    return InvalidArgument("--as and --reason go with --apply; without it nothing is recorded");
  }
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(args.db, ctx.env));
  TC_ASSIGN_OR_RETURN(std::string study, ChooseStudy(*store, args.db, args.study));
  TC_ASSIGN_OR_RETURN(auto capture, capture::Capture::Open(store.get(), ctx.env, study));
  TC_ASSIGN_OR_RETURN(capture::RecodePlan plan, capture::PlanMeddraRecode(*capture, args.to));
  capture::Recoder by;
  if (args.apply) {
    TC_ASSIGN_OR_RETURN(by, RecoderOf(*store, ctx.env, *args.as_user, study));
  }
  // The recodings are recorded before the report is printed, so that an
  // error (a user who may not code) prints nothing but itself.
  capture::RecodeApplied applied;
  if (args.apply) {
    TC_ASSIGN_OR_RETURN(applied, capture::ApplyMeddraRecode(*capture, plan, by, *args.reason));
  }
  using capture::RecodeOutcome;
  const size_t carried = plan.Count(RecodeOutcome::kCarriedOver), moved = plan.Count(RecodeOutcome::kMoved),
               review = plan.Count(RecodeOutcome::kNeedsReview);
  if (args.format == "json") {
    for (const auto& i : plan.items) ctx.out << ToJson(RecodeItemValue(i)) << "\n";
    Value::Object summary;
    summary["study"] = Value(plan.study);
    summary["to_version"] = Value(plan.to_version);
    summary["carried_over"] = Value(static_cast<int64_t>(carried));
    summary["moved"] = Value(static_cast<int64_t>(moved));
    summary["needs_review"] = Value(static_cast<int64_t>(review));
    summary["up_to_date"] = Value(static_cast<int64_t>(plan.up_to_date));
    summary["applied"] = Value(args.apply);
    summary["recoded_ae_rows"] = Value(static_cast<int64_t>(applied.ae_rows));
    summary["recoded_cases"] = Value(static_cast<int64_t>(applied.cases));
    Value::Object line;
    line["summary"] = Value(std::move(summary));
    ctx.out << ToJson(Value(std::move(line))) << "\n";
    return Status::Ok();
  }
  ctx.out << "MedDRA recoding of study " << plan.study << " to " << plan.to_version << "\n";
  for (const auto& i : plan.items) PrintRecodeItem(i, ctx.out);
  ctx.out << "summary: " << carried << " carried over, " << moved << " moved, " << review << " need"
          << (review == 1 ? "s" : "") << " review; " << plan.up_to_date << " already in " << plan.to_version << "\n";
  if (args.apply) {
    ctx.out << "recorded as " << by.user << ": " << applied.ae_rows << " adverse event row"
            << (applied.ae_rows == 1 ? "" : "s") << " and " << applied.cases << " safety case"
            << (applied.cases == 1 ? "" : "s") << " recoded to " << plan.to_version << "; " << review
            << " left for a person to code (ae.code, safety.code)\n";
  } else if (carried + moved > 0) {
    ctx.out << "nothing recorded: --apply --as USER --reason TEXT records the " << carried + moved
            << " carried over and moved\n";
  }
  return Status::Ok();
}

}  // namespace trialcore::cli
