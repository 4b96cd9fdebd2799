// The trialcore command as a user meets it: real binary, real files.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <cmath>
#include <map>

#include "core/json.h"
#include "run_command.h"
#include "store/sqlite/sqlite_event_store.h"

namespace trialcore {
namespace {

using testing_util::CommandResult;
using testing_util::RunCommand;
namespace fs = std::filesystem;

const std::string kBin = TRIALCORE_BIN;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_util::FreshTestDir("cli_"); }

  CommandResult Run(const std::string& args) { return RunCommand(dir_, kBin + " " + args); }

  CommandResult Demo() {
    auto r = Run("demo --db demo.db --key key.pem --no-serve");
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return r;
  }

  // Events of every study in the database (the demo's and the system log of
  // users and logins), as db info states it.
  std::string AllEvents() {
    auto info = Run("db info --db demo.db");
    const std::string tag = "events:          ";
    size_t at = info.out.find(tag);
    EXPECT_NE(at, std::string::npos) << info.out;
    return info.out.substr(at + tag.size(), info.out.find('\n', at) - at - tag.size());
  }

  // The demo's size, as its audit summary states it.
  std::string DemoEvents(const CommandResult& demo) {
    const std::string tag = "  events:            ";
    size_t at = demo.out.find(tag);
    EXPECT_NE(at, std::string::npos) << demo.out;
    return demo.out.substr(at + tag.size(), demo.out.find('\n', at) - at - tag.size());
  }

  void Sql(const std::string& sql) {
    sqlite3* db;
    ASSERT_EQ(sqlite3_open((dir_ + "/demo.db").c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_close(db);
  }

  std::string dir_;
};

int Lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

TEST_F(CliTest, VersionAndHelpDocumentTheExitCodes) {
  auto v = Run("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("trialcore " TRIALCORE_VERSION), std::string::npos) << v.out;
  auto h = Run("--help");
  EXPECT_EQ(h.exit_code, 0);
  for (const char* word : {"demo", "audit", "db", "Exit codes", "verification failed", "disk failed"}) {
    EXPECT_NE(h.out.find(word), std::string::npos) << word;
  }
  auto ah = Run("audit --help");
  for (const char* word : {"verify", "log", "checkpoint", "prove", "verify-proof", "public-key"}) {
    EXPECT_NE(ah.out.find(word), std::string::npos) << word;
  }
}

TEST_F(CliTest, BadArgumentsGetOneClearLineAndExitCode2) {
  for (const char* args : {"frobnicate", "audit verify --nope", "audit", "audit prove --db x.db",
                           "audit verify-proof p.json", "audit prove --seq 1 --from 2"}) {
    auto r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.out << r.err;
    EXPECT_EQ(Lines(r.err), 1) << args << ": " << r.err;
    EXPECT_EQ(r.err.rfind("trialcore: ", 0), 0u) << r.err;
  }
}

TEST_F(CliTest, MissingFilesAreNamed) {
  auto r = Run("audit verify --db nowhere.db");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err,
            "trialcore: database nowhere.db does not exist (create the demo one with `trialcore demo --db "
            "nowhere.db`)\n");
  r = Run("audit verify-proof missing.json --key missing.pem");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("missing.pem"), std::string::npos);
  r = Run("db info --db nowhere.db");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(fs::exists(dir_ + "/nowhere.db")) << "reading must not create a database";
}

TEST_F(CliTest, ANonDatabaseFileIsRefusedAndLeftAlone) {
  { std::ofstream(dir_ + "/notes.db") << std::string(4096, 'x'); }
  auto r = Run("audit verify --db notes.db");
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("notes.db is not a trialcore database"), std::string::npos) << r.err;
  EXPECT_EQ(testing_util::Slurp(dir_ + "/notes.db"), std::string(4096, 'x'));
}

// Issue 13: `apply` reads its lines through the JSON parser that a deep
// document overflowed; a deep line is refused by its line number and stores
// nothing, and the lines around it still run.
TEST_F(CliTest, ApplyRefusesADeepLineByNumberAndStoresNothingOfIt) {
  Demo();
  {
    std::ofstream f(dir_ + "/cmds.jsonl");
    f << R"({"op":"subject.screen","site":"701","subject":"701-9201"})"
      << "\n";
    f << R"({"op":"subject.screen","site":"701","subject":"701-9202","x":)" << std::string(200'000, '[')
      << std::string(200'000, ']') << "}\n";
    f << std::string(300'000, '[') << std::string(300'000, ']') << "\n";
  }
  auto r = Run("apply cmds.jsonl --db demo.db --as coord.701 --role coordinator");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("cmds.jsonl:2: invalid JSON at line 1, column 125: arrays and objects nest more than 64 levels "
                       "deep (nothing from this line was stored)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("cmds.jsonl:3: invalid JSON at line 1, column 65: arrays and objects nest more than 64"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("1 applied, 2 failed"), std::string::npos) << r.out;
  // 701-9202 was not stored: screening it now succeeds (701-9201, stored, is refused).
  {
    std::ofstream f(dir_ + "/again.jsonl");
    f << R"({"op":"subject.screen","site":"701","subject":"701-9202"})"
      << "\n";
    f << R"({"op":"subject.screen","site":"701","subject":"701-9201"})"
      << "\n";
  }
  r = Run("apply again.jsonl --db demo.db --as coord.701 --role coordinator");
  EXPECT_NE(r.out.find("1 applied, 1 failed"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.err.find("again.jsonl:2:"), std::string::npos) << r.err;
}

// Regression: "the database has no study NOPE" and "SQLite: database disk
// image is malformed" reached the user without the database they came from.
TEST_F(CliTest, ErrorsFromADatabaseNameIt) {
  Demo();
  auto r = Run("audit log --db demo.db --study NOPE");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err, "trialcore: database demo.db has no study NOPE\n");

  // A damaged payload of the study's own stream (read when the study opens;
  // subjects are read when needed) stops the commands before they run.
  {
    std::ofstream(dir_ + "/cmds.jsonl") << R"({"op":"subject.screen","site":"701","subject":"701-9001"})"
                                        << "\n";
  }
  Sql("UPDATE events SET payload = X'FF' WHERE seq = (SELECT max(seq) FROM events WHERE study = 'CDISCPILOT01' AND "
      "stream = 'study')");
  r = Run("apply cmds.jsonl --db demo.db --as coord.701 --role coordinator");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.err.rfind("trialcore: loading study CDISCPILOT01 from demo.db: payload of event ", 0), 0u) << r.err;

  // A third of the file's pages overwritten: SQLite's own error names the file.
  const auto size = fs::file_size(dir_ + "/demo.db");
  {
    std::fstream f(dir_ + "/demo.db", std::ios::in | std::ios::out | std::ios::binary);
    for (auto page = size / 4096 / 3; page < 2 * size / 4096 / 3; ++page) {
      f.seekp(static_cast<std::streamoff>(page * 4096));
      f << std::string(4096, '\xff');
    }
  }
  r = Run("audit verify --db demo.db");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("SQLite on " + dir_ + "/demo.db: database disk image is malformed"), std::string::npos) << r.err;
}

TEST_F(CliTest, DemoCreatesASignedStudyOnceAndPrintsItsAuditSummary) {
  auto r = Demo();
  std::string n = DemoEvents(r);
  EXPECT_GT(std::stoi(n), 300) << "the simulated demo study";
  EXPECT_NE(r.out.find("Audit summary of CDISCPILOT01"), std::string::npos);
  EXPECT_NE(r.out.find("verification:      OK"), std::string::npos) << r.out;
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = Demo();
  EXPECT_EQ(again.out.find("creating the demo study"), std::string::npos) << "the second run reuses the database";
  auto info = Run("db info --db demo.db");
  EXPECT_EQ(info.exit_code, 0);
  EXPECT_NE(info.out.find("CDISCPILOT01: " + n + " events"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("1 checkpoint(s)"), std::string::npos) << info.out;
}

// `db backup` and `db restore` as a user runs them: a verified backup file,
// brought back into a new database that verifies with the same heads; an
// existing file is never overwritten.
TEST_F(CliTest, BackupAndRestoreGiveBackTheSameVerifiedLog) {
  Demo();
  auto backup = Run("db backup --db demo.db --to backup.db");
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  EXPECT_NE(backup.out.find("(verified)"), std::string::npos) << backup.out;
  auto restore = Run("db restore --from backup.db --db restored.db");
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  auto verify = Run("audit verify --db restored.db");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  auto heads = [&](const std::string& db) {
    std::string out = Run("db info --db " + db).out;
    return out.substr(out.find("studies:"));
  };
  EXPECT_EQ(heads("restored.db"), heads("demo.db"));
  const std::string before = testing_util::Slurp(dir_ + "/backup.db");
  auto again = Run("db backup --db demo.db --to backup.db");
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("backup.db exists already"), std::string::npos) << again.err;
  EXPECT_EQ(testing_util::Slurp(dir_ + "/backup.db"), before) << "an existing file is left alone";
  auto into_full = Run("db restore --from backup.db --db demo.db");
  EXPECT_NE(into_full.exit_code, 0);
  EXPECT_NE(into_full.err.find("already holds"), std::string::npos) << into_full.err;
}

TEST_F(CliTest, VerifyReportsCountAndHeadThenNamesTamperedEvents) {
  Demo();
  auto ok = Run("audit verify --db demo.db");
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("OK: " + AllEvents() + " events in 3 studies verified"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("head "), std::string::npos);

  Sql("UPDATE events SET payload = substr(payload, 1, 20) || X'00' || substr(payload, 22) WHERE seq = 40");
  auto bad = Run("audit verify --db demo.db");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("FAILED: study CDISCPILOT01, event 40 (position 39): content does not match its hash"),
            std::string::npos)
      << bad.out;
  EXPECT_NE(bad.err.find("does not verify"), std::string::npos);
}

TEST_F(CliTest, VerifyNamesADeletedEventAndATruncatedTail) {
  Demo();
  Sql("DELETE FROM events WHERE seq = 60");
  auto r = Run("audit verify --db demo.db");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("event 61 (position 60): expected the event at position 59 but found position 60"),
            std::string::npos)
      << r.out;

  SetUp();
  std::string n = DemoEvents(Demo());
  Sql("DELETE FROM events WHERE seq > 100");
  r = Run("audit verify --db demo.db");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("covers " + n + " events but the log has only 100: events were removed from the end"),
            std::string::npos)
      << r.out;
}

TEST_F(CliTest, ACheckpointKeptElsewhereCatchesTruncationAfterStoredCheckpointsAreGone) {
  Demo();
  auto cp = Run("audit checkpoint --db demo.db --key key.pem --out kept.json");
  ASSERT_EQ(cp.exit_code, 0) << cp.err;
  Run("audit public-key --key key.pem --out pub.pem");
  Sql("DELETE FROM events WHERE seq > 100; DELETE FROM checkpoints;");
  EXPECT_EQ(Run("audit verify --db demo.db").exit_code, 0) << "undetectable without a checkpoint";
  auto r = Run("audit verify --db demo.db --checkpoint kept.json --public-key pub.pem");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("events were removed from the end"), std::string::npos) << r.out;
}

TEST_F(CliTest, AuditLogFiltersAndShowsOldNewAndReason) {
  Demo();
  auto r = Run("audit log --db demo.db --subject 701-1001 --path subject/701-1001/SCREENING1/VS/WEIGHT");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(Lines(r.out), 4) << r.out;  // header, first entry, correction, verification
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')),
            "seq,time_utc,user,role,event,stream,path,old_value,new_value,reason,details");
  EXPECT_NE(r.out.find(",81.4,\"Transcription error, corrected from source\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cra.1,monitor,sdv.verified"), std::string::npos) << r.out;

  auto by_monitor = Run("audit log --db demo.db --user cra.1 --format json");
  ASSERT_EQ(by_monitor.exit_code, 0);
  auto json = ParseJson(by_monitor.out);
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  ASSERT_GT(json->as_array().size(), 3u);
  for (const auto& row : json->as_array()) EXPECT_EQ(row.Find("user")->as_string(), "cra.1");

  auto future = Run("audit log --db demo.db --from 2999-01-01");
  EXPECT_EQ(Lines(future.out), 1) << "only the header";
  auto bad_time = Run("audit log --db demo.db --from yesterday");
  EXPECT_EQ(bad_time.exit_code, 4);
  EXPECT_NE(bad_time.err.find("invalid time \"yesterday\""), std::string::npos);
  auto bad_format = Run("audit log --db demo.db --format xml");
  EXPECT_EQ(bad_format.exit_code, 4);
  auto to_file = Run("audit log --db demo.db --out log.csv");
  EXPECT_EQ(to_file.exit_code, 0);
  EXPECT_GT(Lines(testing_util::Slurp(dir_ + "/log.csv")), 390);
}

// Issue 12: reasons are free text; the CSV export must not carry a formula a
// spreadsheet would run, nor raw control bytes.
TEST_F(CliTest, AuditCsvNeutralisesFormulasAndEscapesControlCharacters) {
  Demo();
  auto revoke = Run(R"x(user revoke coord.708 --study CDISCPILOT01 --role coordinator --site 708 --db demo.db )x"
                    R"x(--reason "$(printf '=HYPERLINK("http://evil.example","x")\007\033')")x");
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  auto log = Run("audit log --db demo.db --study trialcore-system --user admin");
  ASSERT_EQ(log.exit_code, 0) << log.err;
  EXPECT_NE(log.out.find(R"x("'=HYPERLINK(""http://evil.example"",""x"")\x07\x1b")x"), std::string::npos) << log.out;
  EXPECT_EQ(log.out.find(",=HYPERLINK"), std::string::npos) << log.out;
  EXPECT_EQ(log.out.find('\x07'), std::string::npos);
  EXPECT_EQ(log.out.find('\x1b'), std::string::npos);
  // JSON keeps the reason as it was given.
  auto json = Run("audit log --db demo.db --study trialcore-system --user admin --format json");
  EXPECT_NE(json.out.find(R"x(=HYPERLINK(\"http://evil.example\",\"x\")\u0007\u001b)x"), std::string::npos) << json.out;
}

// Issue 12, points 6 and 10 at the command line.
TEST_F(CliTest, NoOneGrantsThemselvesARoleFromTheCommandLine) {
  Demo();
  auto self = Run("user grant admin --study CDISCPILOT01 --role unblinded_pharmacist --site 701 --db demo.db");
  EXPECT_EQ(self.exit_code, 5) << self.err;
  EXPECT_NE(self.err.find("no one grants or revokes their own roles"), std::string::npos) << self.err;
  auto other =
      Run("user grant admin --study CDISCPILOT01 --role unblinded_pharmacist --site 701 --as sysadmin --db demo.db");
  EXPECT_EQ(other.exit_code, 0) << other.err;
}

TEST_F(CliTest, UserGrantTakesAReasonSoARevokedRoleCanBeGrantedAgain) {
  Demo();
  const std::string role = " coord.701 --study CDISCPILOT01 --role coordinator --site 701 --db demo.db";
  ASSERT_EQ(Run("user revoke" + role + " --reason 'on leave'").exit_code, 0);
  auto without = Run("user grant" + role);
  EXPECT_EQ(without.exit_code, 4) << without.err;
  EXPECT_NE(without.err.find("again, after it was revoked, needs a reason"), std::string::npos) << without.err;
  auto with = Run("user grant" + role + " --reason 'back from leave'");
  EXPECT_EQ(with.exit_code, 0) << with.err;
  EXPECT_NE(Run("user list --db demo.db").out.find("CDISCPILOT01:coordinator@701"), std::string::npos);
  auto log = Run("audit log --db demo.db --study trialcore-system --path user/coord.701");
  EXPECT_NE(log.out.find("role.granted,user/coord.701,user/coord.701/grants/CDISCPILOT01/701/coordinator,false,true,"
                         "back from leave"),
            std::string::npos)
      << log.out;
}

TEST_F(CliTest, InclusionProofVerifiesOfflineAndFailsWhenForgedOrWithAnotherKey) {
  Demo();
  ASSERT_EQ(Run("audit prove --db demo.db --seq 42 --out proof.json").exit_code, 0);
  ASSERT_EQ(Run("audit public-key --key key.pem --out pub.pem").exit_code, 0);
  fs::remove(dir_ + "/demo.db");  // offline: nothing but the proof and the key
  auto ok = Run("audit verify-proof proof.json --key pub.pem");
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("OK: event 42"), std::string::npos) << ok.out;

  std::string proof = testing_util::Slurp(dir_ + "/proof.json");
  auto forged = ParseJson(proof);
  ASSERT_TRUE(forged.ok());
  std::string record = forged->Find("record")->as_string();
  record[record.size() - 3] = record[record.size() - 3] == '0' ? '1' : '0';
  forged->as_object()["record"] = record;
  { std::ofstream(dir_ + "/forged.json") << ToJson(*forged); }
  auto bad = Run("audit verify-proof forged.json --key pub.pem");
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("FAILED"), std::string::npos);

  ASSERT_EQ(Run("audit public-key --key other.pem --out other.pub").exit_code, 3) << "no such key yet";
  Run("demo --db other.db --key other.pem --no-serve");
  Run("audit public-key --key other.pem --out other.pub");
  auto wrong_key = Run("audit verify-proof proof.json --key other.pub");
  EXPECT_EQ(wrong_key.exit_code, 1);
  EXPECT_NE(wrong_key.out.find("signature does not verify"), std::string::npos) << wrong_key.out;

  { std::ofstream(dir_ + "/garbage.json") << "{\"format\": 12"; }
  auto garbage = Run("audit verify-proof garbage.json --key pub.pem");
  EXPECT_EQ(garbage.exit_code, 4);
  EXPECT_NE(garbage.err.find("garbage.json"), std::string::npos) << garbage.err;
}

TEST_F(CliTest, ConsistencyProofBetweenTwoCheckpointsVerifiesOffline) {
  std::string n = DemoEvents(Demo());
  {
    auto store = std::move(OpenSqliteEventStore(dir_ + "/demo.db").value());
    AppendRequest r;
    r.study = "CDISCPILOT01";
    EventDraft d;
    d.stream = "subject/01-701-1015";
    d.type = "item.set";
    d.actor = {"coord.701", "coordinator"};
    d.payload = *ParseJson(R"({"set":{"subject/01-701-1015/visit/WEEK8/form/VS/item/PULSE":71}})");
    r.events = {d};
    ASSERT_TRUE(store->Append(r).ok());
  }
  ASSERT_EQ(Run("audit checkpoint --db demo.db --key key.pem").exit_code, 0);
  auto prove = Run("audit prove --db demo.db --from " + n + " --out cons.json");
  ASSERT_EQ(prove.exit_code, 0) << prove.err;
  Run("audit public-key --key key.pem --out pub.pem");
  auto ok = Run("audit verify-proof cons.json --key pub.pem");
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("with " + std::to_string(std::stoi(n) + 1) + " events extends the one signed at"),
            std::string::npos)
      << ok.out;
  auto missing = Run("audit prove --db demo.db --from 50");
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_NE(missing.err.find("no checkpoint at tree size 50"), std::string::npos);
}

TEST_F(CliTest, CheckpointRefusesToSignATamperedLog) {
  Demo();
  Sql("UPDATE events SET reason = 'forged' WHERE seq = 30");
  auto r = Run("audit checkpoint --db demo.db --key key.pem");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("refusing to sign a checkpoint"), std::string::npos) << r.err;
}

TEST_F(CliTest, RebuildReplaysTheLogIntoIdenticalProjections) {
  Demo();
  std::string n = AllEvents();
  std::string before;
  {
    auto store = std::move(OpenSqliteEventStore(dir_ + "/demo.db").value());
    before = *store->DumpProjections();
  }
  EXPECT_NE(before.find("cap_subjects|CDISCPILOT01|701-1001|701|"), std::string::npos) << before;
  // Projections are disposable: damaged or gone, they come back from the log.
  Sql("UPDATE entity_values SET value = X'00'; UPDATE cap_subjects SET status = 'x'; DELETE FROM cap_queries; "
      "DROP TABLE cap_visits");
  auto r = Run("db rebuild --db demo.db");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("rebuilt projections from " + n + " events"), std::string::npos) << r.out;
  auto store = std::move(OpenSqliteEventStore(dir_ + "/demo.db").value());
  EXPECT_EQ(*store->DumpProjections(), before);
}

TEST_F(CliTest, SigningKeyReadableByOthersIsRefused) {
  Demo();
  fs::permissions(dir_ + "/key.pem",
                  fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  auto r = Run("audit checkpoint --db demo.db --key key.pem");
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.err.find("must be 0600"), std::string::npos) << r.err;
}

const std::string kCaers = std::string(TRIALCORE_SOURCE_DIR) + "/../shared/data/caers/caers.csv";

TEST_F(CliTest, SignalPrintsTheStrongestPairsAndTheFittedPrior) {
  auto r = Run("signal --csv " + kCaers + " --top 5 --by EB05");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Lines(r.out), 6) << r.out;
  std::string first = r.out.substr(r.out.find('\n') + 1);
  EXPECT_EQ(first.rfind("REUMOFAN PLUS", 0), 0u) << r.out;
  for (const char* stage : {"reading", "counting", "fitting", "scoring", "rows/s", "prior: alpha1="}) {
    EXPECT_NE(r.err.find(stage), std::string::npos) << stage << "\n" << r.err;
  }
}

TEST_F(CliTest, SignalWritesEveryPairAsJsonWithThePrior) {
  auto r = Run("signal --csv " + kCaers + " --out results.json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto json = ParseJson(testing_util::Slurp(dir_ + "/results.json"));
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_EQ(json->Find("pairs")->as_array().size(), 17189u);
  EXPECT_NE(json->Find("prior")->Find("neg_log_likelihood"), nullptr);
  const Value& row = json->Find("pairs")->as_array()[0];
  for (const char* field :
       {"product", "event", "N", "E", "PRR", "ROR", "chi_square", "IC025", "EBGM", "EB05", "EB95"}) {
    EXPECT_NE(row.Find(field), nullptr) << field;
  }
}

TEST_F(CliTest, SignalDrawsEb05AgainstNWithTheStrongestPairsLabelled) {
  auto r = Run("signal --csv " + kCaers + " --plot chart.svg");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string svg = testing_util::Slurp(dir_ + "/chart.svg");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_GT(std::count(svg.begin(), svg.end(), '\n'), 17000) << "one circle per pair";
  EXPECT_NE(svg.find("REUMOFAN PLUS / WEIGHT INCREASED"), std::string::npos);
  EXPECT_NE(svg.find("EB05 = 2"), std::string::npos);
  EXPECT_EQ(Run("signal --csv " + kCaers + " --plot chart.png").exit_code, 4);
}

TEST_F(CliTest, SignalReadsFaersQuartersOfBothLayouts) {
  std::string data = std::string(TRIALCORE_SOURCE_DIR) + "/../shared/data/faers/";
  auto r = Run("signal --faers " + data + "aers_ascii_2004q1.zip " + data +
               "faers_ascii_2017q2.zip --strata age,sex --roles PS --top 3 --by N");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("200 report versions read"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("RISPERDAL"), std::string::npos) << r.out;
  auto bad = Run("signal --faers " + data + "faers_ascii_2017q2.zip --strata weight");
  EXPECT_EQ(bad.exit_code, 4);
  EXPECT_NE(bad.err.find("unknown stratum \"weight\""), std::string::npos) << bad.err;
}

TEST_F(CliTest, SignalRefusesACorruptFaersZipAsMalformedInput) {
  // The 2017 Q2 quarter with its DEMO entry's checksum changed, in the local
  // header and the central directory: the data no longer matches it.
  // Malformed input (4), not a failed verification (1).
  std::string zip =
      testing_util::Slurp(std::string(TRIALCORE_SOURCE_DIR) + "/../shared/data/faers/faers_ascii_2017q2.zip");
  const std::string name = "ascii/DEMO17Q2.txt";
  size_t local = zip.find(name), central = zip.find(name, local + 1);
  ASSERT_NE(central, std::string::npos);
  zip[local - 30 + 14] ^= 0x55;    // CRC-32 of the local file header
  zip[central - 46 + 16] ^= 0x55;  // CRC-32 of the central directory entry
  { std::ofstream(dir_ + "/corrupt.zip", std::ios::binary) << zip; }
  auto r = Run("signal --faers corrupt.zip --top 3");
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("corrupt.zip:ascii/DEMO17Q2.txt: the zip entry is corrupt ("), std::string::npos) << r.err;
}

TEST_F(CliTest, SignalRefusesAFaersVersionTooLargeInsteadOfWrappingIt) {
  fs::create_directories(dir_ + "/q");
  { std::ofstream(dir_ + "/q/DEMO24Q1.txt") << "primaryid$caseid$caseversion\n11$1$1\n12$1$18446744073709551616\n"; }
  { std::ofstream(dir_ + "/q/DRUG24Q1.txt") << "primaryid$caseid$drug_seq$role_cod$drugname\n11$1$1$PS$A\n"; }
  { std::ofstream(dir_ + "/q/REAC24Q1.txt") << "primaryid$caseid$pt\n11$1$X\n"; }
  auto r = Run("signal --faers q --top 3");
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("q/DEMO24Q1.txt:3: caseversion \"18446744073709551616\" is too large"), std::string::npos)
      << r.err;
}

TEST_F(CliTest, SignalRefusesBadInputWithFileAndLine) {
  { std::ofstream(dir_ + "/bad.csv") << "id,var1,var2\n1,A,B\n2,\"unclosed\n"; }
  auto r = Run("signal --csv bad.csv --top 3");
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("bad.csv:3: a quoted field is not closed"), std::string::npos) << r.err;
  EXPECT_EQ(Run("signal --csv missing.csv").exit_code, 3);
  auto by = Run("signal --csv " + kCaers + " --top 3 --by XYZ");
  EXPECT_EQ(by.exit_code, 4);
  EXPECT_NE(by.err.find("--by must be one of"), std::string::npos);
  auto out = Run("signal --csv " + kCaers + " --out results.txt");
  EXPECT_EQ(out.exit_code, 4);
  EXPECT_FALSE(fs::exists(dir_ + "/results.txt"));
}

// Each pair's scores from a --out .json file, keyed "product / event".
std::map<std::string, const Value*> PairsByName(const Value& doc) {
  std::map<std::string, const Value*> out;
  for (const Value& row : doc.Find("pairs")->as_array()) {
    out[row.Find("product")->as_string() + " / " + row.Find("event")->as_string()] = &row;
  }
  return out;
}

// openEBGM 0.9.1's vignette "Posterior Calculation" (doc/signal_detection.md):
// caers, the prior its autoHyper fitted on squashed data, and the EBGM,
// QUANT_05 and QUANT_95 it prints for the first pairs and the five highest
// QUANT_05 (rows 1-6, 13924, 8187, 13886, 7793, 8220 of its processRaw).
struct Published {
  const char* pair;
  const char* e;
  double ebgm, eb05, eb95;
};
const Published kOpenEbgmVignette[] = {
    {"1-PHENYLALANINE / HEART RATE INCREASED", "0.0360548", 2.23, 0.49, 13.85},
    {"11 UNSPECIFIED VITAMINS / ASTHMA", "0.00387366", 2.58, 0.52, 15.78},
    {"11 UNSPECIFIED VITAMINS / CARDIAC FUNCTION TEST", "0.000297974", 2.63, 0.52, 16.02},
    {"11 UNSPECIFIED VITAMINS / CHEST PAIN", "0.0360548", 2.23, 0.49, 13.85},
    {"11 UNSPECIFIED VITAMINS / DYSPNOEA", "0.0765793", 1.92, 0.47, 11.77},
    {"11 UNSPECIFIED VITAMINS / HYPERSENSITIVITY", "0.0527414", 2.09, 0.48, 12.95},
    {"REUMOFAN PLUS / WEIGHT INCREASED", "0.406436", 23.26, 15.68, 33.48},
    {"HYDROXYCUT REGULAR RAPID RELEASE CAPLETS / EMOTIONAL DISTRESS", "0.896901", 16.78, 11.65, 23.55},
    {"REUMOFAN PLUS / IMMOBILE", "0.0786651", 18.28, 10.16, 30.83},
    {"HYDROXYCUT HARDCORE CAPSULES / CARDIO-RESPIRATORY DISTRESS", "0.304827", 15.25, 9.00, 24.52},
    {"HYDROXYCUT REGULAR RAPID RELEASE CAPLETS / INJURY", "0.56317", 14.28, 8.98, 21.78},
};
const char kOpenEbgmPrior[] = "3.25379356,0.39988854,2.02612692,1.90807970,0.06534557";

// A number from the JSON: "9" comes back as an integer, "9.5" as a decimal.
double Number(const Value& row, const char* field) {
  const Value* v = row.Find(field);
  return v->kind() == Value::Kind::kInt ? static_cast<double>(v->as_int()) : std::stod(v->as_decimal().text());
}

// A score as openEBGM prints it: two decimals.
std::string TwoDecimals(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

TEST_F(CliTest, SignalWithOpenEbgmsPriorAndQuantilesReproducesItsPublishedScores) {
  auto r = Run("signal --csv " + kCaers + " --prior " + kOpenEbgmPrior + " --quantiles openebgm --out scores.json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("prior (given, not fitted): alpha1=3.25379 beta1=0.399889 alpha2=2.02613 beta2=1.90808 "
                       "P=0.0653456"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("fit:"), std::string::npos) << "nothing was fitted: " << r.err;
  auto json = ParseJson(testing_util::Slurp(dir_ + "/scores.json"));
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  auto pairs = PairsByName(*json);
  for (const auto& p : kOpenEbgmVignette) {
    SCOPED_TRACE(p.pair);
    ASSERT_TRUE(pairs.count(p.pair));
    const Value& row = *pairs[p.pair];
    EXPECT_EQ(row.Find("E")->as_decimal().text(), p.e);
    EXPECT_EQ(TwoDecimals(Number(row, "EBGM")), TwoDecimals(p.ebgm));
    EXPECT_EQ(TwoDecimals(Number(row, "EB05")), TwoDecimals(p.eb05));
    EXPECT_EQ(TwoDecimals(Number(row, "EB95")), TwoDecimals(p.eb95));
  }
  // "nrow(suspicious)": 131 of the 17,189 pairs have QUANT_05 >= 2.
  size_t flagged = 0;
  for (const auto& [name, row] : pairs) flagged += Number(*row, "EB05") >= 2;
  EXPECT_EQ(pairs.size(), 17189u);
  EXPECT_EQ(flagged, 131u);
}

TEST_F(CliTest, SignalsExactQuantilesLieWithinOpenEbgmsBisectionTolerance) {
  // The default quantiles are solved exactly; openEBGM's bisection stops
  // within 0.005 and rounds, so its two decimals may be 0.01 off ours
  // (REUMOFAN PLUS / WEIGHT INCREASED: EB05 15.6857, printed 15.68). EBGM
  // has a closed form: equal to the hundredth.
  auto r = Run("signal --csv " + kCaers + " --prior " + kOpenEbgmPrior + " --out exact.json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto json = ParseJson(testing_util::Slurp(dir_ + "/exact.json"));
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  auto pairs = PairsByName(*json);
  size_t off_by_a_hundredth = 0;
  for (const auto& p : kOpenEbgmVignette) {
    SCOPED_TRACE(p.pair);
    const Value& row = *pairs.at(p.pair);
    EXPECT_EQ(TwoDecimals(Number(row, "EBGM")), TwoDecimals(p.ebgm));
    for (auto [ours, theirs] : {std::pair{Number(row, "EB05"), p.eb05}, std::pair{Number(row, "EB95"), p.eb95}}) {
      EXPECT_LE(std::fabs(ours - theirs), 0.0100001) << ours << " against " << theirs;
      off_by_a_hundredth += TwoDecimals(ours) != TwoDecimals(theirs);
    }
  }
  size_t flagged = 0;
  for (const auto& [name, row] : pairs) flagged += Number(*row, "EB05") >= 2;
  EXPECT_EQ(flagged, 131u) << "none of the differences crosses EB05 = 2";
  EXPECT_EQ(off_by_a_hundredth, 7u) << "EB05 15.6857 (printed 15.68), 8.99332 (9.00); EB95 30.8361 (30.83), "
                                       "13.8561 (13.85, twice), 15.786 (15.78), 12.956 (12.95)";
}

TEST_F(CliTest, SignalReportsEveryOptimumTheStartsReached) {
  auto r = Run("signal --csv " + kCaers + " --out fitted.csv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("fit: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("  best       log-likelihood -4162.1808  alpha1=20.95"), std::string::npos) << r.err;
  // The prior written with the results scores the same pairs again.
  auto again = Run("signal --csv " + kCaers + " --prior-from fitted.csv --out again.csv");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("log-likelihood -4162.1808"), std::string::npos) << again.err;
  std::string first = testing_util::Slurp(dir_ + "/fitted.csv"), second = testing_util::Slurp(dir_ + "/again.csv");
  EXPECT_EQ(first.substr(first.find('\n')), second.substr(second.find('\n'))) << "every pair's scores";
  auto json = Run("signal --csv " + kCaers + " --prior-from fitted.csv --out again.json");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto from_json = Run("signal --csv " + kCaers + " --prior-from again.json --top 1");
  ASSERT_EQ(from_json.exit_code, 0) << from_json.err;
  EXPECT_NE(from_json.err.find("log-likelihood -4162.1808"), std::string::npos) << from_json.err;
}

TEST_F(CliTest, SignalRefusesABadPriorNamingWhatAndWhere) {
  struct Bad {
    const char* args;
    int exit_code;
    const char* message;
  };
  { std::ofstream(dir_ + "/short.csv") << "# prior: alpha1=1 beta1=2 alpha2=3 p=0.5\nproduct,event\n"; }
  { std::ofstream(dir_ + "/p.txt") << "# a prior\n1,2,3,4,1.5\n"; }
  { std::ofstream(dir_ + "/broken.json") << "{\"prior\": {\"alpha1\": 1,"; }
  const Bad bad[] = {
      {"--prior 1,2,3,4", 2, "--prior: expected five numbers alpha1,beta1,alpha2,beta2,P; found 4"},
      {"--prior 1,2,3,4,0.5,6", 2, "--prior: expected five numbers alpha1,beta1,alpha2,beta2,P; found 6"},
      {"--prior 1,-2,3,4,0.5", 2, "--prior: beta1 must be a positive number, not -2"},
      {"--prior 1,2,3,4,1.5", 2, "--prior: P must lie strictly between 0 and 1, not 1.5"},
      {"--prior 1,2,abc,4,0.5", 2, "--prior: alpha2 \"abc\" is not a number"},
      {"--prior 1,2,3,4,0.5 --prior-from p.txt", 2, "--prior excludes --prior-from"},
      {"--prior-from missing.csv", 3, "--prior-from: cannot open missing.csv"},
      {"--prior-from short.csv", 4, "short.csv:1: the prior line has no beta2"},
      {"--prior-from p.txt", 4, "p.txt:2: P must lie strictly between 0 and 1, not 1.5"},
      {"--prior-from broken.json", 4, "broken.json: "},
  };
  for (const auto& b : bad) {
    auto r = Run("signal --csv " + kCaers + " " + b.args + " --top 1");
    EXPECT_EQ(r.exit_code, b.exit_code) << b.args << ": " << r.err;
    EXPECT_NE(r.err.find(b.message), std::string::npos) << b.args << ": " << r.err;
    EXPECT_EQ(r.out, "") << b.args;
  }
}

}  // namespace
}  // namespace trialcore
