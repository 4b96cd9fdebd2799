// `trialcore db copy`: a study copied from SQLite to PostgreSQL (and back)
// keeps its events, numbers, hashes and checkpoints, verifies, and its
// projections are the same rows as the source's.
#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "core/test_env.h"
#include "store/open_store.h"
#include "store/postgres/test_server.h"
#include "store/test_util.h"

namespace trialcore::cli {
namespace {

void ExpectSameStore(EventStore& a, EventStore& b) {
  auto heads_a = a.Heads();
  auto heads_b = b.Heads();
  ASSERT_TRUE(heads_a.ok() && heads_b.ok());
  ASSERT_EQ(heads_a->size(), heads_b->size());
  for (size_t i = 0; i < heads_a->size(); ++i) {
    EXPECT_EQ((*heads_a)[i].study, (*heads_b)[i].study);
    EXPECT_EQ((*heads_a)[i].size, (*heads_b)[i].size);
    EXPECT_EQ((*heads_a)[i].head_hash, (*heads_b)[i].head_hash) << (*heads_a)[i].study;
    EXPECT_EQ(*a.Checkpoints((*heads_a)[i].study), *b.Checkpoints((*heads_a)[i].study));
  }
  EXPECT_EQ(*a.LastSeq(), *b.LastSeq());
  auto dump_a = a.DumpProjections();
  auto dump_b = b.DumpProjections();
  ASSERT_TRUE(dump_a.ok() && dump_b.ok());
  EXPECT_GT(dump_a->size(), 1000u);
  EXPECT_EQ(*dump_a, *dump_b) << "the copy's projections are the source's rows";
}

TEST(DbCopyTest, AStudyCopiedToPostgresAndBackKeepsItsHashesAndVerifies) {
  auto server = pg::TestServer::Start();
  ASSERT_TRUE(server.ok()) << "PostgreSQL 15 could not be started: " << server.status().ToString();
  MemEnv env;
  std::ostringstream out, err;
  Context ctx{&env, out, err};
  ASSERT_TRUE(Demo("/mem/demo.db", "/mem/key.pem", nullptr, ctx).ok()) << out.str() << err.str();
  ASSERT_TRUE(AuditCheckpoint("/mem/demo.db", std::nullopt, "/mem/key.pem", std::nullopt, ctx).ok()) << out.str();
  auto url = (*server)->CreateDatabase("copy");
  ASSERT_TRUE(url.ok()) << url.status().ToString();

  out.str("");
  Status copied = DbCopy("/mem/demo.db", *url, ctx);
  ASSERT_TRUE(copied.ok()) << copied.ToString() << "\n" << out.str();
  EXPECT_NE(out.str().find("copied from /mem/demo.db to " + *url), std::string::npos) << out.str();
  VerifyArgs verify;
  verify.db = *url;
  out.str("");
  Status verified = AuditVerify(verify, ctx);
  EXPECT_TRUE(verified.ok()) << verified.ToString() << "\n" << out.str();

  auto source = OpenEventStore("/mem/demo.db", StoreOpenOptions{.env = &env});
  auto copy = OpenEventStore(*url, StoreOpenOptions{.env = &env});
  ASSERT_TRUE(source.ok() && copy.ok()) << copy.status().ToString();
  ExpectSameStore(**source, **copy);

  // Into a database that holds events already: refused, nothing changed.
  Status again = DbCopy("/mem/demo.db", *url, ctx);
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(again.message().find("already holds"), std::string::npos) << again.ToString();
  ExpectSameStore(**source, **copy);

  // And back from PostgreSQL into a new SQLite file.
  ASSERT_TRUE(DbCopy(*url, "/mem/back.db", ctx).ok()) << out.str();
  auto back = OpenEventStore("/mem/back.db", StoreOpenOptions{.env = &env});
  ASSERT_TRUE(back.ok());
  ExpectSameStore(**source, **back);
}

// `db backup` of a PostgreSQL database while it takes appends: the backup
// holds every event committed when it started and nothing after, verifies,
// and `db restore` brings it back, verified, into PostgreSQL or SQLite.
TEST(DbBackupTest, AnOnlineBackupIsAConsistentVerifiedSnapshotThatRestores) {
  auto server = pg::TestServer::Start();
  ASSERT_TRUE(server.ok()) << "PostgreSQL 15 could not be started: " << server.status().ToString();
  MemEnv env;
  std::ostringstream out, err;
  Context ctx{&env, out, err};
  ASSERT_TRUE(Demo("/mem/demo.db", "/mem/key.pem", nullptr, ctx).ok()) << out.str() << err.str();
  ASSERT_TRUE(AuditCheckpoint("/mem/demo.db", std::nullopt, "/mem/key.pem", std::nullopt, ctx).ok()) << out.str();
  auto live = (*server)->CreateDatabase("live");
  ASSERT_TRUE(live.ok());
  ASSERT_TRUE(DbCopy("/mem/demo.db", *live, ctx).ok()) << out.str();

  // Appends go on all along the backup.
  auto writer = OpenEventStore(*live);
  ASSERT_TRUE(writer.ok());
  std::atomic<bool> stop{false};
  std::atomic<int> appended{0};
  std::thread appender([&] {
    for (int i = 0; !stop; ++i) {
      if ((*writer)->Append(testing_util::One("LOAD", testing_util::ItemSet("1", "I" + std::to_string(i), "1"))).ok()) {
        ++appended;
      }
    }
  });
  while (appended < 20) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  out.str("");
  Status backed_up = DbBackup(*live, "/mem/backup.db", ctx);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stop = true;
  appender.join();
  ASSERT_TRUE(backed_up.ok()) << backed_up.ToString() << "\n" << out.str();
  EXPECT_NE(out.str().find("(verified)"), std::string::npos) << out.str();

  auto backup = OpenEventStore("/mem/backup.db", StoreOpenOptions{.env = &env});
  ASSERT_TRUE(backup.ok());
  const uint64_t in_backup = *(*backup)->LastSeq();
  const uint64_t in_live = *(*writer)->LastSeq();
  EXPECT_GT(in_live, in_backup) << "appends went on after the backup's snapshot";
  EXPECT_GE(in_backup, in_live - static_cast<uint64_t>(appended - 20)) << "the snapshot was taken at its start";
  // What the backup holds is the live log's first events, hash for hash.
  auto backup_heads = (*backup)->Heads();
  ASSERT_TRUE(backup_heads.ok());
  const std::vector<StudyHead> heads = *backup_heads;
  for (const auto& h : heads) {
    auto theirs = (*writer)->ReadEvent(h.last_seq);
    ASSERT_TRUE(theirs.ok());
    EXPECT_EQ(theirs->hash, h.head_hash) << h.study;
  }

  // Restored into a new PostgreSQL database and into a new SQLite file.
  auto restored_url = (*server)->CreateDatabase("restored");
  ASSERT_TRUE(restored_url.ok());
  out.str("");
  Status restored = DbRestore("/mem/backup.db", *restored_url, ctx);
  ASSERT_TRUE(restored.ok()) << restored.ToString() << "\n" << out.str();
  auto into_pg = OpenEventStore(*restored_url);
  ASSERT_TRUE(into_pg.ok());
  ExpectSameStore(**backup, **into_pg);
  ASSERT_TRUE(DbRestore("/mem/backup.db", "/mem/restored.db", ctx).ok()) << out.str();
  auto into_sqlite = OpenEventStore("/mem/restored.db", StoreOpenOptions{.env = &env});
  ASSERT_TRUE(into_sqlite.ok());
  ExpectSameStore(**backup, **into_sqlite);

  // Refusals that leave everything as it was.
  Status over = DbBackup(*live, "/mem/backup.db", ctx);
  EXPECT_EQ(over.code(), StatusCode::kAlreadyExists) << over.ToString();
  EXPECT_EQ(*(*backup)->LastSeq(), in_backup);
  Status to_url = DbBackup("/mem/demo.db", *restored_url, ctx);
  EXPECT_EQ(to_url.code(), StatusCode::kInvalidArgument) << to_url.ToString();
  Status into_full = DbRestore("/mem/backup.db", *restored_url, ctx);
  EXPECT_EQ(into_full.code(), StatusCode::kFailedPrecondition) << into_full.ToString();
  ExpectSameStore(**backup, **into_pg);
  Status missing = DbRestore("/mem/no-such-backup.db", "/mem/other.db", ctx);
  EXPECT_EQ(missing.code(), StatusCode::kNotFound) << missing.ToString();
  EXPECT_FALSE(env.FileExists("/mem/other.db"));
}

}  // namespace
}  // namespace trialcore::cli
