// The trialcore command: parses arguments and calls the functions of
// commands.h; exit codes come from exit_codes.h.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#ifdef TRIALCORE_SHIFTED_CLOCK
#include "cli/shifted_clock_env.h"
#endif
#include "signal/prior.h"

namespace trialcore::cli {
namespace {

std::string DefaultDb() {
  if (const char* db = std::getenv("TRIALCORE_DB"); db && *db) return db;
  return "trialcore.db";
}

int Run(int argc, char** argv, Env* env) {
  CLI::App app{"trialcore: a clinical trial's data, end to end, on one verifiable audit trail"};
  app.set_version_flag("--version", std::string("trialcore ") + TRIALCORE_VERSION);
  app.footer(std::string("\n") + ExitCodeHelp() +
             "\nEnvironment: TRIALCORE_DB (default database), TRIALCORE_KEY (default signing key path)");
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::simple);

  Context ctx{env, std::cout, std::cerr};
  Status status;
  std::string db = DefaultDb();
  std::string key = DefaultKeyPath();
  auto add_db = [&](CLI::App* cmd) {
    cmd->add_option("--db", db, "SQLite file or postgresql:// URL (default $TRIALCORE_DB or trialcore.db)");
  };
  auto add_key = [&](CLI::App* cmd) {
    cmd->add_option("--key", key,
                    "Ed25519 signing key (PEM), created with mode 0600 on first use "
                    "(default $TRIALCORE_KEY or ~/.trialcore/signing-key.pem)");
  };

  // demo
  auto* demo =
      app.add_subcommand("demo", "Create the demo study (CDISCPILOT01) if missing and print its audit summary");
  add_db(demo);
  add_key(demo);
  ServeArgs serve_args;
  bool no_serve = false;
  demo->add_option("--port", serve_args.port, "Port to serve on")->capture_default_str();
  demo->add_option("--bind", serve_args.bind, "Address to serve on")->capture_default_str();
  demo->add_option("--web", serve_args.web_root, "The built web application (default: web/ beside the program)");
  demo->add_flag("--no-serve", no_serve, "Only create the database and print its audit summary");
  demo->callback([&] {
    serve_args.db = db;
    status = Demo(db, key, no_serve ? nullptr : &serve_args, ctx);
  });

  // serve
  auto* serve = app.add_subcommand("serve", "Serve the HTTP API (doc/api.md)");
  add_db(serve);
  serve->add_option("--port", serve_args.port, "Port")->capture_default_str();
  serve->add_option("--bind", serve_args.bind, "Address")->capture_default_str();
  serve->add_option("--tls-cert", serve_args.tls_cert, "TLS certificate (PEM); with --tls-key serves HTTPS");
  serve->add_option("--tls-key", serve_args.tls_key, "TLS private key (PEM)");
  serve->add_option("--session-idle", serve_args.session_idle_seconds, "Idle session timeout, seconds")
      ->capture_default_str();
  serve->add_option("--session-max", serve_args.session_max_seconds, "Absolute session lifetime, seconds")
      ->capture_default_str();
  serve->add_option("--login-rate", serve_args.login_rate, "Login attempts a minute per client address")
      ->capture_default_str();
  serve->add_option("--trusted-proxy", serve_args.trusted_proxies,
                    "Address of a load balancer in front (repeatable): its X-Forwarded-For names the client");
  serve->add_option("--metrics-token-file", serve_args.metrics_token_file,
                    "A file holding the bearer token (32 characters or more) that opens /metrics; without it "
                    "/metrics is off");
  serve->add_option("--web", serve_args.web_root, "The built web application (default: web/ beside the program)");
  serve->add_option("--nats", serve_args.nats_url,
                    "Also publish every committed event to NATS JetStream at this URL (nats://host:port)");
  serve->add_option("--nats-stream", serve_args.nats_stream, "The JetStream stream to publish to (default TRIALCORE)");
  serve->add_option("--smtp", serve_args.smtp_url,
                    "Also tell each study's unblinded contacts by e-mail through this SMTP server "
                    "(smtp://host:port or smtps://host:port) when a case is unblinded");
  serve->add_option("--mail-from", serve_args.mail_from, "The address those e-mails are sent from (with --smtp)");
  serve->callback([&] {
    serve_args.db = db;
    status = Serve(serve_args, ctx);
  });

  // user
  UserArgs user_args;
  auto* user = app.add_subcommand("user", "Accounts and their roles per study and site (doc/roles.md)");
  user->require_subcommand(1);
  auto user_cmd = [&](const char* name, const char* help) {
    auto* c = user->add_subcommand(name, help);
    add_db(c);
    c->add_option("--as", user_args.as_user, "Administrator the change is attributed to")->capture_default_str();
    c->callback([&, name] {
      user_args.db = db;
      user_args.action = name;
      status = UserCommand(user_args, ctx);
    });
    return c;
  };
  auto* uadd =
      user_cmd("add", "Add a user; the password (12+ characters) comes from --password-stdin or $TRIALCORE_PASSWORD");
  uadd->add_option("ID", user_args.id, "User id (a-z, 0-9, . _ -)")->required();
  uadd->add_option("--name", user_args.full_name, "Full name, shown with their signatures")->required();
  uadd->add_flag("--password-stdin", user_args.password_stdin, "Read the password from standard input");
  auto* udis = user_cmd("disable", "Disable a user");
  udis->add_option("ID", user_args.id, "User id")->required();
  udis->add_option("--reason", user_args.reason, "Why")->required();
  auto* ureset = user_cmd("reset-password", "Set a new password (and unlock)");
  ureset->add_option("ID", user_args.id, "User id")->required();
  ureset->add_flag("--password-stdin", user_args.password_stdin, "Read the password from standard input");
  for (const char* action : {"grant", "revoke"}) {
    auto* g = user_cmd(action, std::string(action) == "grant" ? "Grant a role on a study at a site" : "Revoke a role");
    g->add_option("ID", user_args.id, "User id")->required();
    g->add_option("--study", user_args.study, "Study id")->required();
    g->add_option("--role", user_args.role, "Role (doc/roles.md)")->required();
    g->add_option("--site", user_args.site, "Site id, or * for every site")->capture_default_str();
    if (std::string(action) == "revoke") {
      g->add_option("--reason", user_args.reason, "Why")->required();
    } else {
      g->add_option("--reason", user_args.reason, "Why (needed to grant again a role that was revoked)");
    }
  }
  auto* utoken =
      user_cmd("token", "Issue an API token for one of a user's roles (printed once; only its hash is kept)");
  utoken->add_option("ID", user_args.id, "User id")->required();
  utoken->add_option("--study", user_args.study, "Study id")->required();
  utoken->add_option("--role", user_args.role, "Role")->required();
  utoken->add_option("--site", user_args.site, "Site id, or *")->capture_default_str();
  auto* urevoke = user_cmd("revoke-token", "Revoke an API token by the first digits of its hash (see user list)");
  urevoke->add_option("ID", user_args.id, "User id")->required();
  urevoke->add_option("HASH", user_args.token_hash, "First 8+ hex digits of the token's hash")->required();
  urevoke->add_option("--reason", user_args.reason, "Why")->required();
  user_cmd("list", "List users, their status, roles and tokens");

  // study
  std::string as_user = "admin", as_role = "study_admin";
  auto add_actor = [&](CLI::App* cmd) {
    cmd->add_option("--as", as_user, "User id the events are attributed to")->capture_default_str();
    cmd->add_option("--role", as_role, "Role the user acts in (doc/roles.md)")->capture_default_str();
  };
  auto* studycmd = app.add_subcommand("study", "Study definitions: validate, publish, compare, migrate, test");
  studycmd->require_subcommand(1);
  std::vector<std::string> validate_files;
  auto* validate = studycmd->add_subcommand("validate", "Check study files; every error names file, line and column");
  validate->add_option("FILE", validate_files, "Study definition (YAML)")->required();
  validate->callback([&] { status = StudyValidate(validate_files, ctx); });

  std::string publish_file;
  auto* publish = studycmd->add_subcommand("publish", "Freeze a study version (content hash) as an event");
  publish->add_option("FILE", publish_file, "Study definition (YAML)")->required();
  add_db(publish);
  add_actor(publish);
  publish->callback([&] { status = StudyPublish(publish_file, db, Actor{as_user, as_role}, ctx); });

  std::string diff_from, diff_to;
  auto* diff = studycmd->add_subcommand("diff", "Show what changed between two versions of a study");
  diff->add_option("FROM", diff_from, "Earlier version (YAML)")->required();
  diff->add_option("TO", diff_to, "Later version (YAML)")->required();
  diff->callback([&] { status = StudyDiff(diff_from, diff_to, ctx); });

  std::string migrate_to, migrate_reason;
  bool dry_run = false;
  auto* migrate = studycmd->add_subcommand(
      "migrate", "Put an amendment in force: list per subject what changes and what stored data would not fit");
  migrate->add_option("--to", migrate_to, "The new version (YAML)")->required();
  migrate->add_flag("--dry-run", dry_run, "Only show the plan");
  migrate->add_option("--reason", migrate_reason, "The amendment this implements (required unless --dry-run)");
  add_db(migrate);
  add_actor(migrate);
  migrate->callback([&] {
    status = StudyMigrate(db, migrate_to, dry_run, migrate_reason, Actor{as_user, as_role}, ctx);
  });

  StudyTestArgs test_args;
  auto* studytest = studycmd->add_subcommand("test", "Run Gherkin protocol scenarios against a study in memory");
  studytest->add_option("STUDY", test_args.study_file, "Study definition (YAML)")->required();
  studytest->add_option("FEATURES", test_args.features, "Feature files or folders of them")->required();
  studytest->add_option("--junit", test_args.junit, "Also write a JUnit XML report to this file");
  studytest->add_option("--now", test_args.now,
                        "The clock each scenario starts at, UTC (default 2024-06-01T12:00:00Z); "
                        "`the date is` keeps its time of day");
  studytest->callback([&] { status = StudyTest(test_args, ctx); });

  // import
  auto* importcmd =
      app.add_subcommand("import", "A study from another system: CDISC ODM 1.3.2, REDCap data dictionary, SDTM");
  importcmd->require_subcommand(1);
  ImportOdmArgs odm_args;
  auto* import_odm = importcmd->add_subcommand("odm", "Import an ODM 1.3.2 file's study metadata as a study file");
  import_odm->add_option("FILE", odm_args.file, "ODM 1.3.2 (or 1.3.1) XML")->required();
  // Required while the study file is all `import odm` writes; the clinical
  // data (--db) will be the other choice, with one of the two required.
  import_odm->add_option("--study-out", odm_args.study_out, "The study file (YAML) to write")->required();
  import_odm->add_option("--language", odm_args.language,
                         "xml:lang of the labels (default: the file's first language, or en)");
  import_odm->add_option("--schema", odm_args.schema,
                         "The ODM 1.3.2 schema's ODM1-3-2.xsd (default: the one built in)");
  import_odm->add_flag("--force", odm_args.force, "Replace an existing study file");
  import_odm->callback([&] { status = ImportOdm(odm_args, ctx); });

  ImportRedcapArgs redcap_args;
  auto* import_redcap = importcmd->add_subcommand("redcap", "Import a REDCap data dictionary (CSV) as a study file");
  import_redcap->add_option("DICTIONARY", redcap_args.dictionary, "The data dictionary (CSV)")->required();
  import_redcap->add_option("--study-out", redcap_args.study_out, "The study file (YAML) to write")->required();
  import_redcap->add_option("--study-id", redcap_args.study_id,
                            "The study's id (default: the dictionary's folder name)");
  import_redcap->add_option("--repeating", redcap_args.repeating,
                            "An instrument (Form Name) that repeats (repeatable); the dictionary does not say");
  import_redcap->add_flag("--keep-going", redcap_args.keep_going,
                          "List branching logic and calculations that do not translate in the report, and go on");
  import_redcap->add_flag("--force", redcap_args.force, "Replace an existing study file");
  import_redcap->callback([&] { status = ImportRedcap(redcap_args, ctx); });
  ImportSdtmArgs sdtm_import_args;
  auto* import_sdtm = importcmd->add_subcommand(
      "sdtm", "SDTM datasets (SAS XPT v5) into the published study by its sdtm mapping, all or nothing");
  import_sdtm->add_option("DIR", sdtm_import_args.dir, "The directory of dm.xpt, ae.xpt, ...")->required();
  add_db(import_sdtm);
  import_sdtm->add_option("--study", sdtm_import_args.study, "The study (default: the only one)");
  import_sdtm->add_option("--as", sdtm_import_args.as_user, "The user the data is entered as (each form in its role)")
      ->required();
  import_sdtm->add_flag("--skip-existing", sdtm_import_args.skip_existing,
                        "Leave out (and report) subjects already in the study instead of refusing");
  import_sdtm->callback([&] {
    sdtm_import_args.db = db;
    status = ImportSdtm(sdtm_import_args, ctx);
  });

  // apply
  std::string apply_file;
  std::optional<std::string> apply_study;
  auto* apply = app.add_subcommand("apply", "Apply a file of capture commands, one JSON object per line");
  apply->add_option("FILE", apply_file, "Commands (JSON lines; doc/capture_commands.md)")->required();
  add_db(apply);
  apply->add_option("--study", apply_study, "Study (default: the only one)");
  add_actor(apply);
  apply->callback([&] { status = Apply(db, apply_study, Actor{as_user, as_role}, apply_file, ctx); });

  // sim
  SimArgs sim_args;
  auto* sim = app.add_subcommand("sim", "Simulate a realistic study through the capture commands");
  add_db(sim);
  sim->add_option("--study", sim_args.study_file, "Study definition (default: the demo study CDISCPILOT01)");
  sim->add_option("--subjects", sim_args.subjects, "Subjects to screen")->capture_default_str();
  sim->add_option("--seed", sim_args.seed, "Random seed")->capture_default_str();
  sim->add_option("--error-rate", sim_args.error_rate, "Fraction of entries typed wrong")->capture_default_str();
  sim->add_option("--threads", sim_args.threads,
                  "Subjects simulated at the same time. Each subject has its own random stream from the seed and "
                  "its number, so a seed gives the same subjects and data with any number of threads; only the "
                  "order of their events in the log differs")
      ->capture_default_str();
  sim->add_flag("--sync-each-commit", sim_args.sync_each_commit,
                "Sync every commit to disk as the server does. By default a simulation is a bulk load: commits "
                "are synced together at the end, and a crash may lose the last ones (the database stays "
                "consistent; run it again)");
  sim->callback([&] {
    sim_args.db = db;
    status = Sim(sim_args, ctx);
  });

  // audit
  auto* audit = app.add_subcommand("audit", "Verify, read, sign and prove the audit trail");
  audit->require_subcommand(1);

  VerifyArgs verify_args;
  auto* verify = audit->add_subcommand("verify",
                                       "Recompute every hash and check every checkpoint; "
                                       "exit 1 naming the first bad event");
  add_db(verify);
  verify->add_option("--study", verify_args.study, "Only this study (default: all)");
  verify->add_option("--checkpoint", verify_args.checkpoint_files,
                     "A checkpoint file kept elsewhere (from `audit checkpoint --out`); repeatable");
  verify->add_option("--public-key", verify_args.public_key_file,
                     "Trust only checkpoints signed by this public key (PEM)");
  verify->callback([&] {
    verify_args.db = db;
    status = AuditVerify(verify_args, ctx);
  });

  AuditLogArgs log_args;
  auto* log = audit->add_subcommand("log", "List who changed what, when, old and new value, and why");
  add_db(log);
  log->add_option("--study", log_args.study, "Study (default: the only one)");
  log->add_option("--subject", log_args.subject, "Only this subject's entries");
  log->add_option("--path", log_args.path, "Only this entity path or those below it");
  log->add_option("--user", log_args.user, "Only changes by this user");
  log->add_option("--from", log_args.from, "From this UTC date or time (2026-11-23 or 2026-11-23T18:00:00Z)");
  log->add_option("--to", log_args.to, "Up to this UTC date or time, inclusive");
  log->add_option("--format", log_args.format, "csv or json")->capture_default_str();
  log->add_option("--out", log_args.out, "Write to this file instead of standard output");
  log->callback([&] {
    log_args.db = db;
    status = AuditLog(log_args, ctx);
  });

  std::optional<std::string> cp_study, cp_out;
  auto* checkpoint = audit->add_subcommand("checkpoint", "Verify the log, then sign its Merkle root (Ed25519)");
  add_db(checkpoint);
  add_key(checkpoint);
  checkpoint->add_option("--study", cp_study, "Study (default: the only one)");
  checkpoint->add_option("--out", cp_out, "Also keep the signed checkpoint in this file");
  checkpoint->callback([&] { status = AuditCheckpoint(db, cp_study, key, cp_out, ctx); });

  std::optional<uint64_t> prove_seq, prove_from, prove_to;
  std::optional<std::string> prove_study, prove_out;
  auto* prove = audit->add_subcommand(
      "prove", "Write an inclusion proof of an event (--seq) or a consistency proof between two checkpoints (--from)");
  add_db(prove);
  auto* seq_opt = prove->add_option("--seq", prove_seq, "Prove this event is in the latest checkpoint");
  auto* from_opt = prove->add_option("--from", prove_from, "Tree size of the older checkpoint");
  prove->add_option("--to", prove_to, "Tree size of the newer checkpoint (default: latest)")->needs(from_opt);
  prove->add_option("--study", prove_study, "Study of the checkpoints (default: the only one)");
  prove->add_option("--out", prove_out, "Write the proof to this file instead of standard output");
  seq_opt->excludes(from_opt);
  prove->callback([&] {
    if (prove_seq) {
      status = AuditProveInclusion(db, *prove_seq, prove_out, ctx);
    } else if (prove_from) {
      status = AuditProveConsistency(db, prove_study, *prove_from, prove_to, prove_out, ctx);
    } else {
      throw CLI::ValidationError("audit prove needs --seq N or --from SIZE");
    }
  });

  std::string proof_file, public_key_file;
  auto* verify_proof = audit->add_subcommand("verify-proof", "Check a proof offline with only the public key");
  verify_proof->add_option("file", proof_file, "Proof file from `audit prove`")->required();
  verify_proof->add_option("--key", public_key_file, "Public key (PEM) from `audit public-key`")->required();
  verify_proof->callback([&] { status = AuditVerifyProof(proof_file, public_key_file, ctx); });

  std::optional<std::string> pub_out;
  auto* public_key = audit->add_subcommand("public-key", "Print the public key that verifies checkpoints");
  add_key(public_key);
  public_key->add_option("--out", pub_out, "Write to this file instead of standard output");
  public_key->callback([&] { status = AuditPublicKey(key, pub_out, ctx); });

  // signal
  SignalArgs signal_args;
  auto* signal = app.add_subcommand(
      "signal", "Disproportionality analysis of spontaneous reports: PRR, ROR, chi-square, BCPNN IC, EBGM");
  signal->add_option("--csv", signal_args.csv, "Reports as CSV with columns id,var1 (product),var2 (event)[,strat...]");
  signal->add_option("--faers", signal_args.faers, "FAERS quarterly zip files or folders (current or legacy layout)");
  signal->add_option("--roles", signal_args.roles, "FAERS drug roles that count: PS (primary suspect) or suspect")
      ->capture_default_str();
  signal->add_option("--strata", signal_args.strata, "FAERS strata for expected counts: any of age,sex,year");
  signal->add_flag("--dedup-content", signal_args.dedup_by_content,
                   "FAERS: also drop reports repeating another's event date, age, sex, country, drugs and reactions");
  signal->add_flag("--stratify", signal_args.stratify, "Stratify expected counts by the strat* columns");
  signal->add_option("--min-count", signal_args.min_count, "Only pairs with at least this many reports")
      ->capture_default_str();
  signal->add_option("--out", signal_args.out, "Write every pair to this .csv or .json file");
  signal->add_option("--top", signal_args.top, "Print the strongest pairs as a table");
  signal->add_option("--plot", signal_args.plot, "Draw EB05 against N, strongest pairs labelled, as an .svg file");
  signal->add_option("--by", signal_args.by, "Order for --top: EB05, EBGM, EB95, PRR, ROR, IC025 or N")
      ->capture_default_str();
  auto* prior = signal
                    ->add_option("--prior", signal_args.prior,
                                 "Score with this prior instead of fitting one: alpha1,beta1,alpha2,beta2,P")
                    ->check(CLI::Validator(
                        [](std::string& text) {
                          auto parsed = signal::ParsePrior(text, "");
                          return parsed.ok() ? std::string() : parsed.status().message();
                        },
                        "A1,B1,A2,B2,P"));
  signal
      ->add_option("--prior-from", signal_args.prior_from,
                   "Score with the prior a previous run wrote to its --out file (.csv or .json)")
      ->excludes(prior);
  signal
      ->add_option("--quantiles", signal_args.quantiles,
                   "EB05 and EB95: exact, or openebgm (its bisection, to 0.01, as openEBGM prints them)")
      ->check(CLI::IsMember({"exact", "openebgm"}))
      ->capture_default_str();
  signal->callback([&] { status = Signal(signal_args, ctx); });

  // db
  auto* dbcmd = app.add_subcommand("db", "Inspect and maintain the database");
  dbcmd->require_subcommand(1);
  auto* info = dbcmd->add_subcommand("info", "Format version, studies, heads and checkpoints");
  add_db(info);
  info->callback([&] { status = DbInfo(db, ctx); });
  auto* rebuild = dbcmd->add_subcommand("rebuild", "Drop the projections and replay the whole log into them");
  add_db(rebuild);
  rebuild->callback([&] { status = DbRebuild(db, ctx); });
  auto* copy = dbcmd->add_subcommand("copy", "Copy every study, with its hashes and checkpoints, to a new database");
  std::string copy_from, copy_to;
  copy->add_option("--from", copy_from, "SQLite file or postgresql:// URL to copy from")->required();
  copy->add_option("--to", copy_to, "New SQLite file or postgresql:// URL (an empty database) to copy to")->required();
  copy->callback([&] { status = DbCopy(copy_from, copy_to, ctx); });
  auto* backup = dbcmd->add_subcommand("backup", "Copy the database, while it serves, to a new verified backup file");
  add_db(backup);
  std::string backup_to;
  backup->add_option("--to", backup_to, "New file to write the backup to (SQLite)")->required();
  backup->callback([&] { status = DbBackup(db, backup_to, ctx); });
  auto* restore = dbcmd->add_subcommand("restore", "Bring a backup back into a new, empty database, verified");
  add_db(restore);
  std::string restore_from;
  restore->add_option("--from", restore_from, "Backup file made by `db backup`")->required();
  restore->callback([&] { status = DbRestore(restore_from, db, ctx); });

  // export
  auto* exportcmd = app.add_subcommand("export", "A study's data out in the formats the field exchanges");
  exportcmd->require_subcommand(1);
  ExportOdmArgs export_odm;
  auto* eodm = exportcmd->add_subcommand(
      "odm", "CDISC ODM 1.3.2: the study's definition, every change of its data with its audit record, signatures");
  add_db(eodm);
  eodm->add_option("--study", export_odm.study, "The study (default: the only one)");
  eodm->add_option("--to", export_odm.to, "The ODM file to write")->required();
  eodm->add_option("--role", export_odm.role,
                   "Whose view: a role (data_manager, monitor, ...; what it may not see is left out) or all");
  eodm->callback([&] {
    export_odm.db = db;
    status = ExportOdm(export_odm, ctx);
  });
  ExportSdtmArgs export_sdtm;
  auto* esdtm = exportcmd->add_subcommand(
      "sdtm", "SDTM datasets by the study file's mapping, as SAS XPT v5, Dataset-JSON or NDJSON, with define.xml");
  add_db(esdtm);
  esdtm->add_option("--study", export_sdtm.study, "The study (default: the only one)");
  esdtm->add_option("--to", export_sdtm.to, "The directory to write into (made when missing)")->required();
  esdtm->add_option("--format", export_sdtm.format, "xpt, json or ndjson")->capture_default_str();
  esdtm->add_option("--role", export_sdtm.role, "Whose view: a role (what it may not see is left out) or all");
  esdtm->add_option("--domain", export_sdtm.domains, "Only this domain (repeatable; default: every mapped one)");
  esdtm->add_option("--site", export_sdtm.sites, "Only this site's subjects (repeatable)");
  esdtm->callback([&] {
    export_sdtm.db = db;
    status = ExportSdtm(export_sdtm, ctx);
  });
  ExportCasebooksArgs export_casebooks;
  auto* ecasebooks = exportcmd->add_subcommand(
      "casebooks", "The site archive: each subject of a site as a PDF casebook with its audit trail and signatures");
  add_db(ecasebooks);
  ecasebooks->add_option("--study", export_casebooks.study, "The study (default: the only one)");
  ecasebooks->add_option("--site", export_casebooks.site, "The site whose subjects' casebooks to write")->required();
  ecasebooks->add_option("--to", export_casebooks.to, "The directory to write <subject>.pdf into (made when missing)")
      ->required();
  ecasebooks->add_option("--role", export_casebooks.role,
                         "Whose view: all (the site's archive: everything, unblinded) or a role");
  ecasebooks->callback([&] {
    export_casebooks.db = db;
    status = ExportCasebooks(export_casebooks, ctx);
  });

  // meddra
  auto* meddra = app.add_subcommand("meddra", "MedDRA: load your licensed copy, code verbatim terms, compare versions");
  meddra->require_subcommand(1);
  MeddraLoadArgs meddra_load;
  auto* mload = meddra->add_subcommand("load", "Load a MedDRA ASCII distribution (a version once) into the database");
  mload->add_option("DIR", meddra_load.dir, "Folder of the ASCII files (llt.asc, pt.asc, mdhier.asc ...)")->required();
  add_db(mload);
  mload->add_option("--version", meddra_load.version, "The version, when the folder has no meddra_release.asc");
  mload->add_option("--language", meddra_load.language, "The language, likewise (default English)");
  mload->add_option("--as", meddra_load.as_user, "User id the load is attributed to")->capture_default_str();
  mload->callback([&] {
    meddra_load.db = db;
    status = MeddraLoad(meddra_load, ctx);
  });
  auto* mversions = meddra->add_subcommand("versions", "List the loaded MedDRA versions");
  add_db(mversions);
  mversions->callback([&] { status = MeddraVersions(db, ctx); });
  MeddraCodeArgs meddra_code;
  auto* mcode = meddra->add_subcommand("code", "Code verbatim terms: exact, then normalised, else candidates");
  mcode->add_option("TERM", meddra_code.terms, "Verbatim terms, as written")->required();
  add_db(mcode);
  mcode->add_option("--version", meddra_code.version, "MedDRA version (default: the newest loaded)");
  mcode->add_option("--language", meddra_code.language, "Language, when the version is loaded in several");
  mcode->add_option("--format", meddra_code.format, "text or json (one object a line)")->capture_default_str();
  mcode->callback([&] {
    meddra_code.db = db;
    status = MeddraCode(meddra_code, ctx);
  });
  std::string mdiff_from, mdiff_to;
  auto* mdiff = meddra->add_subcommand("diff", "What changed between two loaded versions, for recoding");
  mdiff->add_option("--from", mdiff_from, "The older version")->required();
  mdiff->add_option("--to", mdiff_to, "The newer version")->required();
  add_db(mdiff);
  mdiff->callback([&] { status = MeddraDiffCommand(db, mdiff_from, mdiff_to, ctx); });
  MeddraRecodeArgs meddra_recode;
  auto* mrecode =
      meddra->add_subcommand("recode", "The study's codings in a newer version: carried over, moved, or for review");
  mrecode->add_option("--to", meddra_recode.to, "The loaded version to recode to")->required();
  add_db(mrecode);
  mrecode->add_option("--study", meddra_recode.study, "The study (default: the only one)");
  mrecode->add_flag("--apply", meddra_recode.apply,
                    "Record the recodings carried over and moved (default: only report)");
  mrecode->add_option("--as", meddra_recode.as_user, "With --apply: the user (who may code) they are recorded as");
  mrecode->add_option("--reason", meddra_recode.reason, "With --apply: the reason the audit trail gives");
  mrecode->add_option("--format", meddra_recode.format, "text or json (one object a line)")->capture_default_str();
  mrecode->callback([&] {
    meddra_recode.db = db;
    status = MeddraRecode(meddra_recode, ctx);
  });

  // safety
  auto* safety = app.add_subcommand("safety", "Safety cases: the line listing, E2B(R3) export, acknowledgements");
  safety->require_subcommand(1);
  SafetyCasesArgs safety_cases;
  auto* scases = safety->add_subcommand("cases", "The study's safety cases as a line listing (CSV) or JSON lines");
  add_db(scases);
  scases->add_option("--study", safety_cases.study, "The study (default: the only one)");
  scases->add_option("--format", safety_cases.format, "csv or json")->capture_default_str();
  scases->add_option("--out", safety_cases.out, "File to write (default: standard output)");
  scases->add_flag("--tabulation", safety_cases.tabulation,
                   "Serious adverse reactions counted by SOC and PT, for a DSUR (CSV), instead of the listing");
  scases->callback([&] {
    safety_cases.db = db;
    status = SafetyCases(safety_cases, ctx);
  });
  SafetyCasesArgs safety_signals;
  auto* ssignals = safety->add_subcommand(
      "signals", "Signal detection over the study's cases: each product-event pair's PRR, ROR, IC and EBGM");
  add_db(ssignals);
  ssignals->add_option("--study", safety_signals.study, "The study (default: the only one)");
  ssignals->add_option("--format", safety_signals.format, "csv or json")->capture_default_str();
  ssignals->add_option("--out", safety_signals.out, "File to write (default: standard output)");
  ssignals->callback([&] {
    safety_signals.db = db;
    status = SafetySignals(safety_signals, ctx);
  });
  SafetyExportArgs safety_export;
  auto* sexport = safety->add_subcommand(
      "export-e2b", "Cases as they stand as one E2B(R3) batch, schema-valid and checked against FDA's rules");
  add_db(sexport);
  sexport->add_option("--study", safety_export.study, "The study (default: the only one)");
  sexport->add_option("--case", safety_export.cases, "Case id (701-1001-SAE1); several make one batch")->required();
  sexport->add_option("--destination", safety_export.destination, "FDA or EU")->capture_default_str();
  sexport->add_option("--to", safety_export.to, "File to write (default: standard output)");
  sexport->callback([&] {
    safety_export.db = db;
    status = SafetyExportE2b(safety_export, ctx);
  });
  SafetyImportAckArgs safety_ack;
  auto* sack = safety->add_subcommand("import-ack", "Apply a receiver's E2B(R3) acknowledgement to the cases it names");
  sack->add_option("FILE", safety_ack.file, "The acknowledgement (MCCI_IN200101UV01)")->required();
  add_db(sack);
  sack->add_option("--study", safety_ack.study, "The study (default: the only one)");
  sack->add_option("--as", safety_ack.as_user, "User id (a safety physician) it is recorded as")->capture_default_str();
  sack->callback([&] {
    safety_ack.db = db;
    status = SafetyImportAck(safety_ack, ctx);
  });
  SafetyImportAckArgs safety_import;
  auto* simport = safety->add_subcommand(
      "import-e2b",
      "Import the reports of an E2B(R3) message as safety cases (a newer report of a case: new information)");
  simport->add_option("FILE", safety_import.file, "The ICH ICSR batch message (MCCI_IN200100UV01)")->required();
  add_db(simport);
  simport->add_option("--study", safety_import.study, "The study (default: the only one)");
  simport->add_option("--as", safety_import.as_user, "User id (a safety physician) it is recorded as")
      ->capture_default_str();
  simport->callback([&] {
    safety_import.db = db;
    status = SafetyImportE2b(safety_import, ctx);
  });

  // notify
  auto* notify = app.add_subcommand(
      "notify", "E-mail to each study's unblinded contacts when a case is unblinded (doc/notifications.md)");
  notify->require_subcommand(1);
  NotifySendArgs notify_send;
  auto* nsend = notify->add_subcommand(
      "send", "Send the notifications that are due, resuming from the log trialcore-notifications");
  add_db(nsend);
  nsend->add_option("--smtp", notify_send.smtp_url, "SMTP server URL (smtp://host:port or smtps://host:port)")
      ->required();
  nsend->add_option("--mail-from", notify_send.mail_from, "The address the e-mails are sent from");
  nsend->add_flag("--once", notify_send.once,
                  "Send what is due now, then exit (default: run until stopped, sending as cases are unblinded)");
  nsend->callback([&] {
    notify_send.db = db;
    status = NotifySend(notify_send, ctx);
  });
  NotifyListArgs notify_list;
  auto* nlist = notify->add_subcommand("list", "Every notification with its state: sent, failed or pending");
  add_db(nlist);
  nlist->add_option("--study", notify_list.study, "Only this study's (default: every study's)");
  nlist->add_option("--format", notify_list.format, "text or json (one object a line)")->capture_default_str();
  nlist->callback([&] {
    notify_list.db = db;
    status = NotifyList(notify_list, ctx);
  });

  // events
  auto* events = app.add_subcommand("events", "Every committed event on NATS JetStream (doc/events_on_nats.md)");
  events->require_subcommand(1);
  EventsPublishArgs publish_args;
  auto* events_publish = events->add_subcommand(
      "publish", "Publish every committed event, once each and in order, resuming where the stream stops");
  add_db(events_publish);
  events_publish->add_option("--nats", publish_args.nats_url, "NATS server URL (nats://host:port)")->required();
  events_publish->add_option("--stream", publish_args.stream, "The JetStream stream (default TRIALCORE)");
  events_publish->add_flag("--once", publish_args.once,
                           "Publish what is committed now, then exit (default: go on until stopped)");
  events_publish->callback([&] {
    publish_args.db = db;
    status = EventsPublish(publish_args, ctx);
  });
  EventsTailArgs tail_args;
  auto* events_tail = events->add_subcommand("tail", "Print a study's events from JetStream, one JSON object a line");
  events_tail->add_option("--nats", tail_args.nats_url, "NATS server URL (nats://host:port)")->required();
  events_tail->add_option("--stream", tail_args.stream, "The JetStream stream (default TRIALCORE)");
  events_tail->add_option("--study", tail_args.study, "The study")->required();
  events_tail->add_flag("--from-start", tail_args.from_start,
                        "Every event the stream holds first (default: only events published from now on)");
  events_tail->add_option("--limit", tail_args.limit, "Exit after this many events (default: run until stopped)");
  events_tail->callback([&] { status = EventsTail(tail_args, ctx); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "trialcore: " << e.what() << " (see trialcore --help)\n";
    return kExitUsage;
  }
  if (!status.ok()) {
    std::cerr << "trialcore: " << status.message() << "\n";
    return ExitCodeFor(status);
  }
  return kExitOk;
}

}  // namespace
}  // namespace trialcore::cli

#ifdef TRIALCORE_SHIFTED_CLOCK
// The test program trialcore_shifted_clock: the same commands on a clock
// that tests move forward (cli/shifted_clock_env.h).
int main(int argc, char** argv) {
  auto env = trialcore::cli::ShiftedClockEnvFromEnvironment(trialcore::Env::Default());
  if (env == nullptr) return 2;
  return trialcore::cli::Run(argc, argv, env.get());
}
#else
int main(int argc, char** argv) { return trialcore::cli::Run(argc, argv, trialcore::Env::Default()); }
#endif
