// The demo study: CDISCPILOT01 (xanomeline vs placebo in mild to moderate
// Alzheimer's disease), two of its real sites and subject identifiers, with
// screening, consent, demographics and vital signs, corrections with their
// reasons, a monitor's query and an investigator's signature. Until the
// protocol layer exists this is written directly as events.
#include <map>
#include <ostream>
#include <random>
#include <set>

#include "cli/commands.h"
#include "cli/store_access.h"
#include "core/json.h"
#include "store/audit.h"
#include "store/sqlite/sqlite_event_store.h"

namespace trialcore::cli {
namespace {

constexpr char kStudy[] = "CDISCPILOT01";

struct DemoUsers {
  Actor admin{"admin", "study_administrator"};
  Actor coord701{"coord.701", "coordinator"};
  Actor coord708{"coord.708", "coordinator"};
  Actor inv701{"inv.701", "investigator"};
  Actor inv708{"inv.708", "investigator"};
  Actor monitor{"cra.1", "monitor"};
};

EventDraft Draft(std::string stream, std::string type, Actor actor, Value::Object set, std::string reason = "",
                 Value::Object extra = {}) {
  EventDraft d;
  d.stream = std::move(stream);
  d.type = std::move(type);
  d.actor = std::move(actor);
  d.reason = std::move(reason);
  if (!set.empty()) extra["set"] = Value(std::move(set));
  d.payload = Value(std::move(extra));
  return d;
}

Value Dec(const std::string& text) { return Value(*Decimal::Parse(text)); }

std::string OneDecimal(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

Status Append(EventStore& store, std::vector<EventDraft> drafts) {
  AppendRequest r;
  r.study = kStudy;
  r.events = std::move(drafts);
  return store.Append(r).status();
}

Status WriteDemoStudy(EventStore& store) {
  DemoUsers u;
  std::mt19937 rng(20261123);
  TC_RETURN_IF_ERROR(Append(store, {Draft("study", "study.created", u.admin,
                                          {{"study/title", "Safety and Efficacy of the Xanomeline Transdermal "
                                                           "Therapeutic System (TTS) in Patients with Mild to "
                                                           "Moderate Alzheimer's Disease"},
                                           {"study/phase", "2"},
                                           {"study/sponsor", "Eli Lilly and Company"},
                                           {"study/planned_subjects", int64_t{300}}})}));
  const std::map<std::string, std::pair<std::string, Actor>> sites = {
      {"701", {"Site 701", u.inv701}}, {"708", {"Site 708", u.inv708}}};
  for (const auto& [id, site] : sites) {
    std::string s = "site/" + id;
    TC_RETURN_IF_ERROR(Append(store, {Draft(s, "site.activated", u.admin,
                                            {{s + "/name", site.first}, {s + "/investigator", site.second.user}})}));
  }
  // Real CDISCPILOT01 subject identifiers (pseudonyms; no names are stored).
  const std::vector<std::string> subjects = {"01-701-1015", "01-701-1023", "01-701-1028", "01-701-1033",
                                             "01-701-1034", "01-701-1047", "01-708-1019", "01-708-1029",
                                             "01-708-1032", "01-708-1084", "01-708-1087", "01-708-1096"};
  std::uniform_int_distribution<int> age(55, 88), sys(110, 165), dia(65, 95), pulse(56, 92);
  std::normal_distribution<double> temp(36.7, 0.3), weight(72.0, 12.0);
  const std::vector<std::string> visits = {"SCREENING", "BASELINE", "WEEK2", "WEEK4"};
  int n = 0;
  for (const auto& id : subjects) {
    std::string site = id.substr(3, 3);
    const Actor& coord = site == "701" ? u.coord701 : u.coord708;
    const Actor& inv = site == "701" ? u.inv701 : u.inv708;
    std::string s = "subject/" + id;
    TC_RETURN_IF_ERROR(Append(store, {Draft(s, "subject.screened", coord, {{s + "/site", site}, {s + "/status", "screening"}}),
                                      Draft(s, "consent.signed", coord, {{s + "/consent/version", "2.0"},
                                                                          {s + "/consent/date", "2026-11-02"}})}));
    std::string dm = s + "/visit/SCREENING/form/DM/item/";
    TC_RETURN_IF_ERROR(Append(store, {Draft(s, "item.set", coord,
                                            {{dm + "AGE", int64_t{age(rng)}},
                                             {dm + "SEX", n % 3 == 0 ? "M" : "F"},
                                             {dm + "RACE", "WHITE"},
                                             {dm + "ETHNIC", "NOT HISPANIC OR LATINO"}})}));
    double w = weight(rng);
    for (const auto& visit : visits) {
      std::string vs = s + "/visit/" + visit + "/form/VS/item/";
      TC_RETURN_IF_ERROR(Append(store, {Draft(s, "item.set", coord,
                                              {{vs + "SYSBP", int64_t{sys(rng)}},
                                               {vs + "DIABP", int64_t{dia(rng)}},
                                               {vs + "PULSE", int64_t{pulse(rng)}},
                                               {vs + "TEMP", Dec(OneDecimal(temp(rng)))},
                                               {vs + "WEIGHT", Dec(OneDecimal(w))}})}));
    }
    bool screen_fail = n == 4 || n == 9;
    TC_RETURN_IF_ERROR(Append(store, {Draft(s, screen_fail ? "subject.screen_failed" : "subject.enrolled", coord,
                                            {{s + "/status", screen_fail ? "screen_failed" : "enrolled"}},
                                            screen_fail ? "MMSE score outside 10-23 (inclusion criterion 5)"
                                                        : "eligibility confirmed")}));
    if (n % 4 == 1) {
      // A transcription error found at monitoring: query, answer, correction, close.
      std::string item = s + "/visit/BASELINE/form/VS/item/WEIGHT";
      std::string q = s + "/query/Q1";
      TC_RETURN_IF_ERROR(Append(store, {Draft(s, "query.opened", u.monitor,
                                              {{q + "/item", item},
                                               {q + "/status", "open"},
                                               {q + "/text", "Weight differs from source document; please check."}})}));
      TC_RETURN_IF_ERROR(Append(store, {Draft(s, "query.answered", coord,
                                              {{q + "/status", "answered"},
                                               {q + "/answer", "Source says 81.4 kg; corrected."}},
                                              "answer to query"),
                                        Draft(s, "item.set", coord, {{item, Dec("81.4")}},
                                              "transcription error, corrected from source")}));
      TC_RETURN_IF_ERROR(Append(store, {Draft(s, "query.closed", u.monitor, {{q + "/status", "closed"}}, "resolved")}));
    }
    if (!screen_fail) {
      TC_RETURN_IF_ERROR(Append(store, {Draft(s, "casebook.signed", inv,
                                              {{s + "/signature/meaning", "I approve the data in this casebook"},
                                               {s + "/signature/signer", inv.user}})}));
    }
    ++n;
  }
  return Status::Ok();
}

}  // namespace

Status Demo(const std::string& db, const std::string& key_path, Context& ctx) {
  bool fresh = !ctx.env->FileExists(db);
  TC_ASSIGN_OR_RETURN(auto store, OpenSqliteEventStore(db, SqliteStoreOptions{ctx.env}));
  TC_ASSIGN_OR_RETURN(auto heads, store->Heads());
  bool has_demo = false;
  for (const auto& h : heads) has_demo |= h.study == kStudy;
  if (!has_demo) {
    if (!fresh && !heads.empty()) {
      return FailedPrecondition(db + " holds other studies; give the demo its own file with --db");
    }
    ctx.out << "creating the demo study " << kStudy << " in " << db << "\n";
    TC_RETURN_IF_ERROR(WriteDemoStudy(*store));
  }
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
          << "Next: trialcore audit log --db " << db << " --subject 01-701-1023\n"
          << "      trialcore audit verify --db " << db << "\n";
  return Status::Ok();
}

}  // namespace trialcore::cli
