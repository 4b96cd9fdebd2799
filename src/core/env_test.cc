#include <gtest/gtest.h>

#include "core/test_env.h"

namespace trialcore {
namespace {

TEST(MemEnvTest, DropUnsyncedDataKeepsOnlyWhatWasSynced) {
  MemEnv env;
  OpenOptions create;
  create.create = true;
  auto f = std::move(env.OpenFile("/a", create).value());
  ASSERT_TRUE(f->Write(0, "durable").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Write(7, " lost").ok());
  EXPECT_EQ(*env.ReadFileToString("/a"), "durable lost");
  env.DropUnsyncedData();
  EXPECT_EQ(*env.ReadFileToString("/a"), "durable");
}

TEST(FaultInjectionEnvTest, FailsTheNthSyncAndEveryLaterOne) {
  MemEnv mem;
  FaultInjectionEnv env(&mem);
  OpenOptions create;
  create.create = true;
  auto f = std::move(env.OpenFile("/a", create).value());
  env.FailSyncAfter(2);
  EXPECT_TRUE(f->Sync().ok());
  EXPECT_EQ(f->Sync().code(), StatusCode::kIoError);
  EXPECT_EQ(f->Sync().code(), StatusCode::kIoError);
  env.Heal();
  EXPECT_TRUE(f->Sync().ok());
}

TEST(FaultInjectionEnvTest, FullDiskRefusesGrowthButAllowsOverwrite) {
  MemEnv mem;
  FaultInjectionEnv env(&mem);
  OpenOptions create;
  create.create = true;
  auto f = std::move(env.OpenFile("/a", create).value());
  env.SetDiskSpace(10);
  EXPECT_TRUE(f->Write(0, "12345678").ok());
  Status s = f->Write(8, "abc");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("No space left"), std::string::npos);
  EXPECT_TRUE(f->Write(0, "abcdefgh").ok());
}

TEST(FaultInjectionEnvTest, FailsTheNthWrite) {
  MemEnv mem;
  FaultInjectionEnv env(&mem);
  OpenOptions create;
  create.create = true;
  auto f = std::move(env.OpenFile("/a", create).value());
  env.FailWriteAfter(1);
  EXPECT_EQ(f->Write(0, "x").code(), StatusCode::kIoError);
}

TEST(PosixEnvTest, WritesAtomicallyWithTheRequestedMode) {
  Env* env = Env::Default();
  std::string path = testing::TempDir() + "/posix_env_test_secret";
  ASSERT_TRUE(env->WriteFileAtomically(path, "secret", 0600).ok());
  EXPECT_EQ(*env->ReadFileToString(path), "secret");
  EXPECT_EQ(*env->FileMode(path), 0600u);
  EXPECT_EQ(env->ReadFileToString(path + ".missing").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(env->DeleteFile(path).ok());
}

}  // namespace
}  // namespace trialcore
