// trialcore study validate|publish|diff|migrate, apply and sim: the protocol
// as code and data capture from the command line.
#include <map>
#include <ostream>
#include <sstream>

#include "capture/capture.h"
#include "capture/sim.h"
#include "cli/commands.h"
#include "cli/demo_study.h"
#include "cli/progress.h"
#include "cli/store_access.h"
#include "core/json.h"
#include "core/simulated_clock_env.h"
#include "rules/rules.h"
#include "standards/sdtm_mapping.h"
#include "store/open_store.h"
#include "study/study.h"

namespace trialcore::cli {

namespace {

// Loads a study file, or the built-in demo study when file is empty.
Result<std::shared_ptr<const study::Study>> LoadReporting(const std::string& file, Context& ctx) {
  std::vector<study::StudyError> errors;
  auto s =
      file.empty() ? study::LoadStudy(DemoStudyYaml(), kDemoStudyName, &errors) : study::LoadStudyFile(file, &errors);
  // The SDTM mapping is read by its own library (standards/sdtm_mapping.h)
  // but is part of the file: a file whose mapping is wrong is refused too.
  if (s.ok()) (void)standards::ReadSdtmMapping(**s, &errors);
  if (!errors.empty()) {
    for (const auto& e : errors) ctx.err << e.ToString() << "\n";
    return Status(s.ok() ? StatusCode::kInvalidArgument : s.status().code(),
                  std::to_string(errors.size()) + " error" + (errors.size() == 1 ? "" : "s") + " in " +
                      (file.empty() ? kDemoStudyName : file));
  }
  return s;
}

// ", SDTM mapping of 9 domains" when the file maps its data to SDTM.
std::string SdtmSummary(const study::Study& st) {
  std::vector<study::StudyError> errors;
  auto mapping = standards::ReadSdtmMapping(st, &errors);
  if (!mapping.ok() || !mapping->declared) return "";
  return ", SDTM mapping of " + std::to_string(mapping->domains.size()) + " domains";
}

}  // namespace

Status StudyValidate(const std::vector<std::string>& files, Context& ctx) {
  Status first;
  for (const auto& file : files) {
    auto s = LoadReporting(file, ctx);
    if (!s.ok()) {
      if (first.ok()) first = s.status();
      continue;
    }
    const study::Study& st = **s;
    size_t items = 0, checks = 0;
    for (const auto& f : st.forms) {
      checks += f.checks.size();
      for (const auto& g : f.groups) items += g.items.size();
    }
    ctx.out << file << ": study " << st.id << " version " << st.version << " is valid: " << st.arms.size() << " arms, "
            << st.visits.size() << " visits, " << st.forms.size() << " forms, " << items << " items, " << checks
            << " edit checks, " << st.eligibility.size() << " eligibility criteria" << SdtmSummary(st)
            << "; content hash " << ToHex(st.content_hash) << "\n";
  }
  return first;
}

Status StudyPublish(const std::string& file, const std::string& db, const Actor& actor, Context& ctx) {
  TC_ASSIGN_OR_RETURN(auto s, LoadReporting(file, ctx));
  TC_ASSIGN_OR_RETURN(auto store, OpenOrCreate(db, ctx.env));
  TC_ASSIGN_OR_RETURN_CTX(auto capture, capture::Capture::Open(store.get(), ctx.env, s->id),
                          "loading study " + s->id + " from " + db);
  TC_ASSIGN_OR_RETURN(capture::Outcome out, capture->PublishStudy(s, actor));
  for (const auto& m : out.messages) ctx.out << m << "\n";
  return Status::Ok();
}

Status StudyDiff(const std::string& from_file, const std::string& to_file, Context& ctx) {
  TC_ASSIGN_OR_RETURN(auto a, LoadReporting(from_file, ctx));
  TC_ASSIGN_OR_RETURN(auto b, LoadReporting(to_file, ctx));
  auto changes = study::DiffStudies(*a, *b);
  ctx.out << "study " << a->id << ": version " << a->version << " -> " << b->version << ", " << changes.size()
          << " change" << (changes.size() == 1 ? "" : "s") << "\n";
  for (const auto& c : changes) ctx.out << c.ToString() << "\n";
  return Status::Ok();
}

Status StudyMigrate(const std::string& db, const std::string& to_file, bool dry_run, const std::string& reason,
                    const Actor& actor, Context& ctx) {
  TC_ASSIGN_OR_RETURN(auto s, LoadReporting(to_file, ctx));
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(db, ctx.env));
  TC_ASSIGN_OR_RETURN_CTX(auto capture, capture::Capture::Open(store.get(), ctx.env, s->id),
                          "loading study " + s->id + " from " + db);
  TC_ASSIGN_OR_RETURN(auto plan, capture->PlanMigration(s));
  ctx.out << "migration of " << s->id << " from version " << plan.from_version << " to " << plan.to_version << " ("
          << plan.subjects << " subjects)\n";
  ctx.out << "changes:\n";
  for (const auto& c : plan.changes) ctx.out << "  " << c.ToString() << "\n";
  std::map<std::string, std::vector<const capture::Capture::MigrationIssue*>> by_subject;
  for (const auto& i : plan.issues) by_subject[i.subject].push_back(&i);
  size_t blocking = 0;
  ctx.out << "stored data:\n";
  if (by_subject.empty()) ctx.out << "  every stored value fits the new version\n";
  for (const auto& [subject, issues] : by_subject) {
    ctx.out << "  subject " << (subject.empty() ? "(study)" : subject) << ":\n";
    for (const auto* i : issues) {
      blocking += i->blocking;
      ctx.out << "    " << (i->blocking ? "BLOCKING " : "to enter ") << i->where << ": " << i->problem << "\n";
    }
  }
  if (dry_run) {
    ctx.out << (blocking == 0 ? "dry run: the migration can run\n"
                              : "dry run: " + std::to_string(blocking) + " blocking problems must be resolved first\n");
    return Status::Ok();
  }
  TC_ASSIGN_OR_RETURN(capture::Outcome out, capture->Migrate(s, actor, reason));
  for (const auto& m : out.messages) ctx.out << m << "\n";
  return Status::Ok();
}

Status Apply(const std::string& db, const std::optional<std::string>& study_id, const Actor& actor,
             const std::string& file, Context& ctx) {
  TC_ASSIGN_OR_RETURN(std::string commands, ctx.env->ReadFileToString(file));
  std::istringstream in(commands);
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(db, ctx.env));
  TC_ASSIGN_OR_RETURN(std::string sid, ChooseStudy(*store, db, study_id));
  TC_ASSIGN_OR_RETURN_CTX(auto capture, capture::Capture::Open(store.get(), ctx.env, sid),
                          "loading study " + sid + " from " + db);
  std::string line;
  int number = 0, applied = 0, failed = 0;
  Status first;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string where = file + ":" + std::to_string(number);
    auto cmd = ParseJson(line);
    Status st;
    if (!cmd.ok()) {
      st = cmd.status();
    } else if (!cmd->is_object()) {
      st = InvalidArgument("a line must be one JSON object");
    } else {
      // Scripts run by an administrator may act in the name of the site
      // users they migrate data for: "as" and "role" on a line.
      Actor who = actor;
      Value c = *cmd;
      for (const char* key : {"as", "role"}) {
        if (const Value* v = c.Find(key)) {
          if (!v->is_string() || v->as_string().empty()) {
            st = InvalidArgument(std::string("\"") + key + "\" must be text");
            break;
          }
          (std::string_view(key) == "as" ? who.user : who.role) = v->as_string();
          c.as_object().erase(key);
        }
      }
      if (st.ok()) {
        auto r = capture->Execute(c, who);
        if (r.ok()) {
          ++applied;
          for (const auto& m : r->messages) ctx.out << where << ": " << m << "\n";
          continue;
        }
        st = r.status();
      }
    }
    ++failed;
    if (first.ok()) first = st;
    ctx.err << where << ": " << st.message() << " (nothing from this line was stored)\n";
  }
  ctx.out << applied << " applied, " << failed << " failed\n";
  if (!first.ok())
    return Status(first.code(), std::to_string(failed) + " of " + std::to_string(applied + failed) + " commands in " +
                                    file + " failed");
  return Status::Ok();
}

Status Sim(const SimArgs& args, Context& ctx) {
  if (args.subjects < 1 || args.subjects > 1'000'000) return InvalidArgument("--subjects must be 1 to 1000000");
  if (args.error_rate < 0 || args.error_rate > 1) return InvalidArgument("--error-rate must be between 0 and 1");
  if (args.threads < 1 || args.threads > 64) return InvalidArgument("--threads must be 1 to 64");
  TC_ASSIGN_OR_RETURN(auto s, LoadReporting(args.study_file, ctx));
  // A simulation can be run again, so it need not sync each commit (which
  // would take most of its time): it syncs once at the end, before it
  // reports success.
  // The simulated study has a history: its events are stamped at their
  // simulated moments, on this clock (the store never stamps a time before
  // one its log already holds, so a run into a database with later events
  // is stamped no earlier than those).
  SimulatedClockEnv clock(ctx.env);
  StoreOpenOptions so;
  so.env = &clock;
  so.bulk_load = !args.sync_each_commit;
  TC_ASSIGN_OR_RETURN(auto store, OpenEventStore(args.db, so));
  TC_ASSIGN_OR_RETURN_CTX(auto capture, capture::Capture::Open(store.get(), &clock, s->id),
                          "loading study " + s->id + " from " + args.db);
  capture::SimOptions o;
  o.subjects = args.subjects;
  o.seed = args.seed;
  o.error_rate = args.error_rate;
  o.threads = args.threads;
  o.clock = &clock;
  Actor admin{"admin", "study_admin"};
  if (capture->study() == nullptr) {
    // Published two weeks before its first subject screens.
    const int64_t start = capture::SimulationStartDay(o, clock.BaseNowMicros() / rules::kMicrosPerDay);
    SimulatedTimeScope at(&clock, (start - 14) * rules::kMicrosPerDay + 10 * int64_t{3'600'000'000});
    TC_ASSIGN_OR_RETURN(capture::Outcome out, capture->PublishStudy(s, admin));
    for (const auto& m : out.messages) ctx.out << m << "\n";
  }
  Progress progress(ctx, "simulating subjects", static_cast<uint64_t>(args.subjects));
  auto r = capture::Simulate(*capture, o, [&](int done, int) { progress.Update(static_cast<uint64_t>(done)); });
  progress.Done();
  // What was stored before a failure is kept too: made durable either way.
  Status synced = store->Sync();
  if (!r.ok()) return r.status();
  TC_RETURN_IF_ERROR_CTX(synced, "syncing the simulated study to disk");
  ctx.out << "simulated " << r->subjects << " subjects (" << r->enrolled << " enrolled, " << r->screen_failed
          << " screen failures): " << r->commands << " commands, " << r->events << " events, " << r->refused
          << " saves refused by hard checks, " << r->queries_opened << " queries opened, " << r->queries_closed
          << " closed\n";
  return Status::Ok();
}

}  // namespace trialcore::cli
