// Databases written by earlier versions of the format must stay readable:
// tests/data/compat/ holds a database written by format version 1, frozen,
// with what a reader must find in it.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/json.h"
#include "run_command.h"
#include "store/audit.h"
#include "store/sqlite/sqlite_event_store.h"

namespace trialcore {
namespace {

namespace fs = std::filesystem;
const fs::path kCompat = fs::path(TRIALCORE_SOURCE_DIR) / "tests/data/compat";

TEST(CompatTest, FormatVersion1DatabaseIsReadAndVerifies) {
  // Work on a copy: opening may touch the file (WAL), and the fixture is frozen.
  fs::path dir = fs::path(testing::TempDir()) / "trialcore_compat";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(kCompat / "v1-demo.db", dir / "v1-demo.db");
  auto expected = ParseJson(testing_util::Slurp((kCompat / "v1-demo.expected.json").string()));
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  auto key = ParsePublicKeyPem(testing_util::Slurp((kCompat / "v1-demo.pub.pem").string()));
  ASSERT_TRUE(key.ok());

  auto store = OpenSqliteEventStore((dir / "v1-demo.db").string());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const std::string study = expected->Find("study")->as_string();
  auto v = VerifyStudy(**store, study, {}, *key);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_FALSE(v->problem) << v->problem->what;
  EXPECT_EQ(static_cast<int64_t>(v->events), expected->Find("events")->as_int());
  EXPECT_EQ(ToHex(v->head), expected->Find("head_hash")->as_string());
  EXPECT_EQ(v->checkpoints_checked, 1u);

  // Every event decodes, and chosen ones read exactly as they were written.
  auto events = (*store)->ReadEvents({});
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  for (const auto& sample : expected->Find("samples")->as_array()) {
    const Event& e = (*events)[static_cast<size_t>(sample.Find("seq")->as_int() - 1)];
    EXPECT_EQ(e.type, sample.Find("type")->as_string());
    EXPECT_EQ(e.actor.user, sample.Find("user")->as_string());
    EXPECT_EQ(e.reason, sample.Find("reason")->as_string());
    EXPECT_EQ(ToJson(e.payload), ToJson(*sample.Find("payload")));
  }
  auto rebuilt_before = (*store)->DumpProjections();
  ASSERT_TRUE((*store)->RebuildProjections().ok());
  EXPECT_EQ(*(*store)->DumpProjections(), *rebuilt_before);
}

}  // namespace
}  // namespace trialcore
