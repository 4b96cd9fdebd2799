// The demo study: CDISCPILOT01 (xanomeline vs placebo in mild to moderate
// Alzheimer's disease) from studies/cdiscpilot01.yaml, published and run by
// the simulator through the capture commands at its sites over the months
// before today, with a monitor's query and its answer, a correction with its
// reason, source data verification and an investigator's signature, a
// subject screened in error and inactivated, and
// queries still open today; then checkpointed.
#include <functional>
#include <map>
#include <ostream>
#include <set>

#include "api/users.h"
#include "capture/capture.h"
#include "capture/sim.h"
#include "cli/commands.h"
#include "cli/demo_study.h"
#include "cli/store_access.h"
#include "core/json.h"
#include "core/simulated_clock_env.h"
#include "rules/rules.h"
#include "safety/meddra_demo.h"
#include "safety/meddra_store.h"
#include "store/audit.h"
#include "store/open_store.h"

namespace trialcore::cli {
namespace {

constexpr char kStudy[] = "CDISCPILOT01";

// The steps a reviewer of the demo looks for, on its first subject, at a
// monitoring visit five weeks into the study: a monitor's query, the site's
// answer and correction days later, the query closed and the form verified,
// then the investigator's signature.
Status DemoScript(capture::Capture& capture, const std::function<Status(int64_t)>& at, int64_t start_day) {
  const Actor coord{"coord.701", "coordinator"}, cra{"cra.1", "monitor"}, inv{"inv.701", "investigator"};
  constexpr int64_t kHour = 3'600'000'000;
  struct Step {
    int day, hour;
    const char* command;
    const Actor* actor;
  };
  const Step script[] = {
      {35, 10,
       R"({"op":"query.open","subject":"701-1001","visit":"SCREENING1","form":"VS","item":"WEIGHT","message":"Weight differs from the clinic chart; please check the source"})",
       &cra},
      {37, 14, R"({"op":"query.answer","subject":"701-1001","query":QUERY,"message":"Chart says 81.4 kg; corrected"})",
       &coord},
      {37, 14,
       R"({"op":"form.save","subject":"701-1001","visit":"SCREENING1","form":"VS","items":{"WEIGHT":"81.4"},"reason":"Transcription error, corrected from source"})",
       &coord},
      {40, 11, R"({"op":"query.close","subject":"701-1001","query":QUERY,"message":"Verified against the chart"})",
       &cra},
      {40, 11, R"({"op":"sdv.verify","subject":"701-1001","visit":"SCREENING1","form":"VS"})", &cra},
      {46, 16, R"({"op":"sign","subject":"701-1001","visit":"SCREENING1","meaning":"approval","name":"Dr. Inv 701"})",
       &inv},
      // A patient screened twice by mistake: the number the server gave is
      // inactivated with its reason, kept in the audit trail, off the lists.
      {48, 9, R"({"op":"subject.screen","site":"701"})", &coord},
      {48, 10,
       R"({"op":"subject.inactivate","subject":"NEWSUBJECT","reason":"screened in error: the patient was already screened as 701-1001"})",
       &coord},
  };
  int64_t query = 0, minute = 0;
  std::string screened;
  for (const Step& step : script) {
    TC_RETURN_IF_ERROR(at((start_day + step.day) * rules::kMicrosPerDay + step.hour * kHour + ++minute * 60'000'000));
    std::string json = step.command;
    if (auto pos = json.find("QUERY"); pos != std::string::npos) json.replace(pos, 5, std::to_string(query));
    if (auto pos = json.find("NEWSUBJECT"); pos != std::string::npos) json.replace(pos, 10, screened);
    TC_ASSIGN_OR_RETURN(Value cmd, ParseJson(json));
    TC_ASSIGN_OR_RETURN(capture::Outcome out, capture.Execute(cmd, *step.actor));
    if (const Value* q = out.result.Find("query")) query = q->as_int();
    if (const Value* s = out.result.Find("subject")) screened = s->as_string();
  }
  return Status::Ok();
}

// Queries still open today, raised by the monitor three weeks ago and by the
// data manager three days ago, so that the inbox and the dashboard's ages
// show work waiting; and a serious adverse event two days ago, whose safety
// case has 13 days left on its clock, triaged and coded, awaiting review.
Status DemoOpenQueries(capture::Capture& capture, const std::function<Status(int64_t)>& at, int64_t today) {
  constexpr int64_t kHour = 3'600'000'000;
  struct Step {
    int days_ago, hour;
    const char* command;
    Actor actor;
  };
  const Step script[] = {
      {21, 10,
       R"({"op":"query.open","subject":"701-1001","visit":"SCREENING1","form":"VS","item":"PULSE","message":"The pulse differs from the ECG printout; please check the source"})",
       Actor{"cra.1", "monitor"}},
      {3, 11,
       R"({"op":"query.open","subject":"701-1001","visit":"SCREENING1","form":"DM","item":"BRTHDTC","message":"The date of birth differs from the screening log; please confirm"})",
       Actor{"dm.1", "data_manager"}},
      // A serious adverse event reported two days ago: a safety case whose
      // reporting clock is running (the Safety page).
      {2, 15,
       R"({"op":"form.save","subject":"701-1001","visit":"LOGS","form":"AE","rows":[{"group":"AE","items":{"AETERM":"SYNCOPE","AESTDTC":"ONSET","AEONGO":true,"AESEV":"SEVERE","AESER":"Y","AESHOSP":true,"AEREL":"POSSIBLE","AEACN":"DRUG INTERRUPTED","AEOUT":"RECOVERING/RESOLVING"}}]})",
       Actor{"coord.701", "coordinator"}},
      // The safety physician triaged and coded it yesterday: it awaits medical review.
      {1, 9, R"({"op":"safety.triage","subject":"701-1001","case":"701-1001-SAE1","decision":"valid"})",
       Actor{"safety.1", "safety_physician"}},
      {1, 10, R"({"op":"safety.code","subject":"701-1001","case":"701-1001-SAE1"})",
       Actor{"safety.1", "safety_physician"}},
  };
  // The made-up demo dictionary in MedDRA's layout (safety/meddra_demo.h),
  // loaded a month ago as a sponsor loads its licensed copy.
  TC_RETURN_IF_ERROR(at((today - 30) * rules::kMicrosPerDay + 9 * kHour));
  const safety::MeddraTables meddra = safety::DemoMeddraTables();
  TC_RETURN_IF_ERROR(safety::StoreMeddraVersion(*capture.store(), meddra, safety::MeddraTablesFiles(meddra),
                                                Actor{"admin", "system_admin"})
                         .status());
  for (const Step& step : script) {
    TC_RETURN_IF_ERROR(at((today - step.days_ago) * rules::kMicrosPerDay + step.hour * kHour));
    std::string json = step.command;
    // The event began the day before it was reported.
    if (auto pos = json.find("ONSET"); pos != std::string::npos) {
      json.replace(pos, 5, FormatTimeMicros((today - step.days_ago - 1) * rules::kMicrosPerDay).substr(0, 10));
    }
    TC_ASSIGN_OR_RETURN(Value cmd, ParseJson(json));
    TC_RETURN_IF_ERROR(capture.Execute(cmd, step.actor).status());
  }
  return Status::Ok();
}

// The demo's history is simulated on the clock the store stamps with: the
// study published three weeks before the first subject screens, then months
// of visits, queries, verification and signatures up to the present. (The
// accounts are written after it, now: the study's events keep the log's
// first sequence numbers, which the audit commands' tests tamper with.)
Status WriteDemoStudy(EventStore& store, SimulatedClockEnv* clock) {
  std::vector<study::StudyError> errors;
  TC_ASSIGN_OR_RETURN(auto definition, study::LoadStudy(DemoStudyYaml(), kDemoStudyName, &errors));
  TC_ASSIGN_OR_RETURN(auto capture, capture::Capture::Open(&store, clock, kStudy));
  capture::SimOptions o;
  o.subjects = 12;
  o.seed = 20261123;
  o.enrol_every_days = 20;  // screening over 8 months: some subjects done, some mid-study
  // The demo's own sites; the study lists the CDISC pilot's others too, for
  // its SDTM to load (`trialcore import sdtm`).
  o.sites = {"701", "702", "703", "704", "705", "708"};
  o.clock = clock;
  const int64_t start = capture::SimulationStartDay(o, clock->BaseNowMicros() / rules::kMicrosPerDay);
  constexpr int64_t kHour = 3'600'000'000;
  {
    SimulatedTimeScope at(clock, (start - 21) * rules::kMicrosPerDay + 11 * kHour);
    TC_RETURN_IF_ERROR(capture->PublishStudy(definition, Actor{"admin", "study_admin"}).status());
  }
  capture::Capture* cap = capture.get();
  o.steps.push_back(
      capture::SimStep{start * rules::kMicrosPerDay,
                       [cap, start](const std::function<Status(int64_t)>& at) { return DemoScript(*cap, at, start); }});
  const int64_t today = clock->BaseNowMicros() / rules::kMicrosPerDay;
  o.steps.push_back(capture::SimStep{
      (today - 21) * rules::kMicrosPerDay,
      [cap, today](const std::function<Status(int64_t)>& at) { return DemoOpenQueries(*cap, at, today); }});
  return capture::Simulate(*capture, o).status();
}

constexpr char kDemoPassword[] = "demo-password-2026";

struct DemoUser {
  const char* id;
  const char* name;
  const char* role;
  const char* site;
};
// One user for every role, the site roles at two sites.
const DemoUser kDemoUsers[] = {
    {"coord.701", "Casey Coordinator", "coordinator", "701"},
    {"coord.708", "Robin Coordinator", "coordinator", "708"},
    {"inv.701", "Dr. Ivy Investigator", "investigator", "701"},
    {"inv.708", "Dr. Noor Investigator", "investigator", "708"},
    {"cra.1", "Morgan Monitor", "monitor", "*"},
    {"dm.1", "Dana Data-Manager", "data_manager", "*"},
    {"mm.1", "Dr. Max Medical-Monitor", "medical_monitor", "*"},
    {"safety.1", "Dr. Sam Safety", "safety_physician", "*"},
    {"sponsor.1", "Sasha Sponsor", "sponsor_viewer", "*"},
    {"pharm.701", "Pat Pharmacist", "unblinded_pharmacist", "701"},
    {"pharm.708", "Lee Pharmacist", "unblinded_pharmacist", "708"},
    {"admin", "Alex Study-Admin", "study_admin", "*"},
    {"sysadmin", "Sys Admin", "system_admin", "*"},
};

Status WriteDemoUsers(EventStore& store, Env* env) {
  TC_ASSIGN_OR_RETURN(auto users, api::UserDirectory::Open(&store, env));
  if (!users->All().empty()) return Status::Ok();
  // Not one of the accounts it creates: no one grants themselves a role.
  Actor by{"trialcore-demo", "system_admin"};
  for (const DemoUser& u : kDemoUsers) {
    TC_RETURN_IF_ERROR(users->Add(u.id, u.name, kDemoPassword, by));
    TC_RETURN_IF_ERROR(users->AddGrant(u.id, api::Grant{kStudy, u.role, u.site}, "", by));
  }
  return Status::Ok();
}

}  // namespace

Status Demo(const std::string& db, const std::string& key_path, const ServeArgs* serve, Context& ctx) {
  // Only the simulation's own thread, while it simulates, reads another
  // time from this clock; the server reads the real one.
  SimulatedClockEnv clock(ctx.env);
  TC_ASSIGN_OR_RETURN(auto store, OpenEventStore(db, StoreOpenOptions{.env = &clock}));
  TC_ASSIGN_OR_RETURN(auto heads, store->Heads());
  bool has_demo = false;
  for (const auto& h : heads) has_demo |= h.study == kStudy;
  if (!has_demo) {
    if (!heads.empty()) {
      return FailedPrecondition(db + " holds other studies; give the demo its own file with --db");
    }
    ctx.out << "creating the demo study " << kStudy << " in " << db << "\n";
    TC_RETURN_IF_ERROR(WriteDemoStudy(*store, &clock));
  }
  TC_RETURN_IF_ERROR(WriteDemoUsers(*store, ctx.env));
  bool key_created = !ctx.env->FileExists(key_path);
  TC_ASSIGN_OR_RETURN(SigningKey key, SigningKey::LoadOrCreate(ctx.env, key_path));
  if (key_created) ctx.out << "created signing key " << key_path << " (mode 0600)\n";
  TC_ASSIGN_OR_RETURN(auto checkpoints, store->Checkpoints(kStudy));
  TC_ASSIGN_OR_RETURN(heads, store->Heads());
  uint64_t size = 0;
  for (const auto& h : heads) {
    if (h.study == kStudy) size = h.size;
  }
  if (checkpoints.empty() || checkpoints.back().tree_size < size) {
    TC_ASSIGN_OR_RETURN(Checkpoint c, store->CreateCheckpoint(kStudy, key));
    checkpoints.push_back(c);
  }

  // The audit summary.
  std::map<std::string, int> by_type, by_user;
  std::set<std::string> subjects;
  int changes = 0, corrections = 0;
  AuditFilter f;
  f.study = kStudy;
  TC_RETURN_IF_ERROR(ForEachAuditEntry(*store, f, [&](const AuditEntry& a) -> Status {
    if (a.new_value) ++changes;
    if (a.old_value && !a.reason.empty() && a.old_value != a.new_value) ++corrections;
    if (a.stream.rfind("subject/", 0) == 0) subjects.insert(a.stream.substr(8));
    return Status::Ok();
  }));
  EventFilter ef;
  ef.study = kStudy;
  TC_RETURN_IF_ERROR(store->ForEachEvent(ef, [&](const Event& e) -> Status {
    by_type[e.type]++;
    by_user[e.actor.user + " (" + e.actor.role + ")"]++;
    return Status::Ok();
  }));
  TC_ASSIGN_OR_RETURN(StudyVerification v, VerifyStudy(*store, kStudy, {}, key.public_key()));
  const Checkpoint& c = checkpoints.back();
  ctx.out << "\nAudit summary of " << kStudy << " (" << db << ")\n"
          << "  events:            " << v.events << "\n"
          << "  subjects:          " << subjects.size() << "\n"
          << "  values recorded:   " << changes << ", of which " << corrections << " changed with a reason\n"
          << "  by event type:\n";
  for (const auto& [type, count] : by_type) ctx.out << "    " << type << ": " << count << "\n";
  ctx.out << "  by user:\n";
  for (const auto& [user, count] : by_user) ctx.out << "    " << user << ": " << count << "\n";
  ctx.out << "  head hash:         " << ToHex(v.head) << "\n"
          << "  checkpoint:        " << c.tree_size << " events, root " << ToHex(c.root_hash) << ",\n"
          << "                     signed " << FormatTimeMicros(c.time_us) << " with Ed25519 key "
          << ToHex(c.public_key).substr(0, 16) << "…\n";
  if (v.problem) {
    ctx.out << "  verification:      FAILED at event " << v.problem->seq << ": " << v.problem->what << "\n";
    return DataLoss("the demo study's audit trail does not verify");
  }
  ctx.out << "  verification:      OK (" << v.events << " hashes recomputed, " << v.checkpoints_checked
          << " checkpoint(s) checked)\n\n"
          << "Next: trialcore audit log --db " << db << " --subject 701-1001\n"
          << "      trialcore audit verify --db " << db << "\n";
  if (serve == nullptr) return Status::Ok();
  ctx.out << "\nDemo logins (password " << kDemoPassword << " for all):\n";
  for (const DemoUser& u : kDemoUsers) {
    ctx.out << "  " << u.id << std::string(12 - std::string(u.id).size(), ' ') << u.role
            << (std::string(u.site) == "*" ? " (all sites)" : std::string(" at site ") + u.site) << "\n";
  }
  ctx.out << "\n";
  return ServeStore(*store, *serve, ctx.env, ctx);
}

}  // namespace trialcore::cli
