// The trialcore subcommands as plain functions: main.cc parses arguments and
// calls these; each returns a Status that exit_codes.h maps to an exit code.
// Output goes to the given streams so tests can read it.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/event.h"
#include "core/status.h"
#include "store/event_store.h"

namespace trialcore::cli {

struct Context {
  Env* env;
  std::ostream& out;
  std::ostream& err;
};

// Where the signing key lives unless --key says otherwise.
std::string DefaultKeyPath();

struct VerifyArgs {
  std::string db;
  std::optional<std::string> study;            // all studies when empty
  std::vector<std::string> checkpoint_files;   // checkpoints kept elsewhere
  std::optional<std::string> public_key_file;  // trust only this key
};
// DataLoss when anything does not verify (after printing what and where).
Status AuditVerify(const VerifyArgs& args, Context& ctx);

struct AuditLogArgs {
  std::string db;
  std::optional<std::string> study;
  std::optional<std::string> subject;
  std::optional<std::string> path;
  std::optional<std::string> user;
  std::optional<std::string> from;  // UTC date or time
  std::optional<std::string> to;
  std::string format = "csv";      // csv | json
  std::optional<std::string> out;  // file; stdout when empty
};
Status AuditLog(const AuditLogArgs& args, Context& ctx);

Status AuditCheckpoint(const std::string& db, const std::optional<std::string>& study, const std::string& key_path,
                       const std::optional<std::string>& out, Context& ctx);
Status AuditProveInclusion(const std::string& db, uint64_t seq, const std::optional<std::string>& out, Context& ctx);
Status AuditProveConsistency(const std::string& db, const std::optional<std::string>& study, uint64_t from_size,
                             std::optional<uint64_t> to_size, const std::optional<std::string>& out, Context& ctx);
// Needs nothing but the proof file and the public key: works offline.
Status AuditVerifyProof(const std::string& proof_file, const std::string& public_key_file, Context& ctx);
Status AuditPublicKey(const std::string& key_path, const std::optional<std::string>& out, Context& ctx);

Status DbInfo(const std::string& db, Context& ctx);
Status DbRebuild(const std::string& db, Context& ctx);
// Copies every event (same numbers, times and hashes), checkpoint and study
// from one database to a new, empty one, of either back end, with progress;
// rebuilds the copy's projections.
Status DbCopy(const std::string& from, const std::string& to, Context& ctx);
// A consistent online copy of db (SQLite or PostgreSQL, while it serves) into
// a new SQLite file: every event committed when it starts, with its
// checkpoints and projections, verified before it is kept.
Status DbBackup(const std::string& db, const std::string& to, Context& ctx);
// A verified backup into a new, empty database of either back end.
Status DbRestore(const std::string& from, const std::string& db, Context& ctx);

// MedDRA (safety/meddra_store.h): the user's licensed copy, loaded once per
// version and language, and coding against what is loaded.
struct MeddraLoadArgs {
  std::string dir;  // the ASCII distribution (MedAscii)
  std::string db;
  std::optional<std::string> version;   // when the folder has no meddra_release.asc
  std::optional<std::string> language;  // likewise
  std::string as_user = "admin";
};
Status MeddraLoad(const MeddraLoadArgs& args, Context& ctx);
Status MeddraVersions(const std::string& db, Context& ctx);
struct MeddraCodeArgs {
  std::vector<std::string> terms;
  std::string db;
  std::optional<std::string> version;  // the newest loaded unless given
  std::optional<std::string> language;
  std::string format = "text";  // text | json (one object a line)
};
Status MeddraCode(const MeddraCodeArgs& args, Context& ctx);
// What changed between two loaded versions, for recoding.
Status MeddraDiffCommand(const std::string& db, const std::string& from, const std::string& to, Context& ctx);
// A study's codings moved to a loaded version (capture/meddra_recode.h): a
// report, and with `apply` the recodings recorded as `as_user`.
struct MeddraRecodeArgs {
  std::string db;
  std::string to;
  std::optional<std::string> study;
  bool apply = false;
  std::optional<std::string> as_user;  // required with apply: a user who may code
  std::optional<std::string> reason;   // likewise
  std::string format = "text";         // text | json (one object a line, then a summary)
};
Status MeddraRecode(const MeddraRecodeArgs& args, Context& ctx);

// Safety cases (capture/safety_workflow.h): the line listing, an E2B(R3)
// batch of cases as they stand, and acknowledgements from a receiver.
struct SafetyCasesArgs {
  std::string db;
  std::optional<std::string> study;
  std::string format = "csv";  // csv | json (one object a line)
  bool tabulation = false;     // the DSUR tabulation by SOC and PT instead of the listing (CSV)
  std::optional<std::string> out;
};
Status SafetyCases(const SafetyCasesArgs& args, Context& ctx);
// Signal detection over the study's cases (the same arguments; csv or json).
Status SafetySignals(const SafetyCasesArgs& args, Context& ctx);
struct SafetyExportArgs {
  std::string db;
  std::optional<std::string> study;
  std::vector<std::string> cases;
  std::string destination = "FDA";
  std::optional<std::string> to;  // stdout when not given
};
Status SafetyExportE2b(const SafetyExportArgs& args, Context& ctx);
struct SafetyImportAckArgs {
  std::string file;
  std::string db;
  std::optional<std::string> study;
  std::string as_user = "admin";
};
Status SafetyImportAck(const SafetyImportAckArgs& args, Context& ctx);
// The reports of an E2B(R3) batch as direct safety cases (the same arguments).
Status SafetyImportE2b(const SafetyImportAckArgs& args, Context& ctx);

struct SignalArgs {
  std::string csv;                 // report file in openEBGM's layout
  std::vector<std::string> faers;  // or FAERS quarterly zips / folders
  std::string roles = "suspect";   // PS | suspect
  std::string strata;              // FAERS: comma-separated age,sex,year
  bool dedup_by_content = false;
  bool stratify = false;
  uint32_t min_count = 1;
  std::optional<std::string> out;         // .csv or .json
  std::optional<size_t> top;              // print the strongest pairs
  std::string by = "EB05";                // EB05 | EBGM | EB95 | PRR | ROR | IC025 | N
  std::optional<std::string> plot;        // SVG chart of EB05 against N
  std::optional<std::string> prior;       // alpha1,beta1,alpha2,beta2,P: score with it, do not fit
  std::optional<std::string> prior_from;  // or the prior a previous run's --out file holds
  std::string quantiles = "exact";        // exact | openebgm: how EB05 and EB95 are found
};
// Signal detection over spontaneous reports; stages and rates go to ctx.err.
Status Signal(const SignalArgs& args, Context& ctx);

// The protocol as code (src/study) and data capture (src/capture).
Status StudyValidate(const std::vector<std::string>& files, Context& ctx);
Status StudyPublish(const std::string& file, const std::string& db, const Actor& actor, Context& ctx);
Status StudyDiff(const std::string& from_file, const std::string& to_file, Context& ctx);
Status StudyMigrate(const std::string& db, const std::string& to_file, bool dry_run, const std::string& reason,
                    const Actor& actor, Context& ctx);
struct StudyTestArgs {
  std::string study_file;
  std::vector<std::string> features;
  std::optional<std::string> junit;  // JUnit XML report
  std::optional<std::string> now;    // the clock each scenario starts at (UTC); default 2024-06-01T12:00:00Z
};
Status StudyTest(const StudyTestArgs& args, Context& ctx);

// import: a study file from another system's definition (src/standards/).
// Each prints the report (counts read and written, what was not carried
// over), refuses an existing study_out unless force, and writes nothing
// when it fails.
struct ImportOdmArgs {
  std::string file;
  std::string study_out;                // the study file to write
  std::optional<std::string> language;  // xml:lang of the labels
  std::optional<std::string> schema;    // the ODM 1.3.2 schema's ODM1-3-2.xsd
  bool force = false;
};
Status ImportOdm(const ImportOdmArgs& args, Context& ctx);
struct ImportRedcapArgs {
  std::string dictionary;
  std::string study_out;
  std::optional<std::string> study_id;
  std::vector<std::string> repeating;  // instruments that repeat
  bool keep_going = false;             // untranslatable logic: report it and go on
  bool force = false;
};
Status ImportRedcap(const ImportRedcapArgs& args, Context& ctx);
// SDTM datasets into the published study by its mapping (standards/sdtm_import.h).
struct ImportSdtmArgs {
  std::string dir;
  std::string db;
  std::optional<std::string> study;
  std::string as_user;
  bool skip_existing = false;
};
Status ImportSdtm(const ImportSdtmArgs& args, Context& ctx);
// One command per line (JSON); each line is applied or refused on its own.
Status Apply(const std::string& db, const std::optional<std::string>& study, const Actor& actor,
             const std::string& file, Context& ctx);
struct SimArgs {
  std::string db;
  std::string study_file;
  int subjects = 12;
  uint64_t seed = 1;
  double error_rate = 0.05;
  int threads = 4;
  bool sync_each_commit = false;
};
Status Sim(const SimArgs& args, Context& ctx);

// The HTTP API (src/api).
struct ServeArgs {
  std::string db;
  std::string bind = "127.0.0.1";
  int port = 8080;
  std::string tls_cert, tls_key;
  int64_t session_idle_seconds = 15 * 60;
  int64_t session_max_seconds = 12 * 3600;
  int login_rate = 20;                       // login attempts a minute per client address
  std::string web_root;                      // the built web application; default: "web" beside the program
  std::string metrics_token_file;            // holds the bearer token that opens /metrics; empty: /metrics is off
  std::vector<std::string> trusted_proxies;  // load balancers whose X-Forwarded-For is believed
  std::string nats_url;                      // publish every committed event to NATS JetStream; empty: no
  std::string nats_stream;                   // the JetStream stream; empty: TRIALCORE
  std::string smtp_url;                      // tell unblinded contacts by e-mail through it; empty: no
  std::string mail_from;                     // the address they are sent from (required with smtp_url)
};
Status Serve(const ServeArgs& args, Context& ctx);
Status ServeStore(EventStore& store, const ServeArgs& args, Env* env, Context& ctx);

// Events on NATS JetStream (doc/events_on_nats.md). Publishing resumes where
// the stream's acknowledged events stop; the system log stays unpublished.
struct EventsPublishArgs {
  std::string db;
  std::string nats_url;
  std::string stream;  // empty: TRIALCORE
  bool once = false;   // publish what is committed, then exit; else until SIGINT/SIGTERM
};
Status EventsPublish(const EventsPublishArgs& args, Context& ctx);
struct EventsTailArgs {
  std::string nats_url;
  std::string stream;  // empty: TRIALCORE
  std::string study;
  bool from_start = false;        // every event the stream holds; else only new ones
  std::optional<uint64_t> limit;  // exit after this many events
};
// One JSON event per line on ctx.out.
Status EventsTail(const EventsTailArgs& args, Context& ctx);

// E-mail to a study's unblinded contacts when a case is unblinded
// (doc/notifications.md), recorded in the system log trialcore-notifications.
struct NotifySendArgs {
  std::string db;
  std::string smtp_url;   // smtp://host:port or smtps://host:port
  std::string mail_from;  // name@domain
  bool once = false;      // send what is due, then exit; else until SIGINT/SIGTERM
};
Status NotifySend(const NotifySendArgs& args, Context& ctx);
struct NotifyListArgs {
  std::string db;
  std::string study;            // empty: every study
  std::string format = "text";  // text | json (one object a line)
};
Status NotifyList(const NotifyListArgs& args, Context& ctx);

struct UserArgs {
  std::string db;
  std::string action;  // add, disable, reset-password, grant, revoke, token, revoke-token, list
  std::string token_hash;
  std::string id, full_name, reason;
  std::string study, role, site = "*";
  bool password_stdin = false;
  std::string as_user = "admin";
};
Status UserCommand(const UserArgs& args, Context& ctx);

// Creates the demo study's database if there is none, checkpoints it and
// prints its audit summary.
// With serve, then serves it with a user for every role at two sites.
Status Demo(const std::string& db, const std::string& key_path, const ServeArgs* serve, Context& ctx);

// Writes the study as CDISC ODM 1.3.2 (definition, clinical data with audit
// records, signatures) as `role` may see it ("all": everything, unblinded).
struct ExportOdmArgs {
  std::string db;
  std::optional<std::string> study;
  std::string to;
  std::optional<std::string> role;
};
Status ExportOdm(const ExportOdmArgs& args, Context& ctx);

// Writes the study's SDTM datasets (its `sdtm` mapping) and define.xml into
// a directory, made when missing.
struct ExportSdtmArgs {
  std::string db;
  std::optional<std::string> study;
  std::string to;
  std::string format = "xpt";
  std::optional<std::string> role;
  std::vector<std::string> domains, sites;
};
Status ExportSdtm(const ExportSdtmArgs& args, Context& ctx);

// Writes the site archive: one PDF casebook per subject of the site
// (`<to>/<subject>.pdf`: data, audit trail, signatures, bookmarks by visit
// and form), into a directory made when missing.
struct ExportCasebooksArgs {
  std::string db;
  std::optional<std::string> study;
  std::string site;
  std::string to;
  std::optional<std::string> role;
};
Status ExportCasebooks(const ExportCasebooksArgs& args, Context& ctx);

}  // namespace trialcore::cli
