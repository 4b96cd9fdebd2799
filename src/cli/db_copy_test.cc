// `trialcore db copy`: a study copied from SQLite to PostgreSQL (and back)
// keeps its events, numbers, hashes and checkpoints, verifies, and its
// projections are the same rows as the source's.
#include <gtest/gtest.h>

#include <sstream>

#include "cli/commands.h"
#include "core/test_env.h"
#include "store/open_store.h"
#include "store/postgres/test_server.h"

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
  EXPECT_NE(out.str().find("checkpoint(s) from /mem/demo.db to " + *url), std::string::npos) << out.str();
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

}  // namespace
}  // namespace trialcore::cli
