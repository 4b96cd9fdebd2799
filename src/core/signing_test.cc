#include "core/signing.h"

#include <gtest/gtest.h>

#include "core/test_env.h"

namespace trialcore {
namespace {

TEST(SigningTest, KeyIsCreatedOnFirstUseWithMode0600AndReloaded) {
  MemEnv env;
  auto key = SigningKey::LoadOrCreate(&env, "/keys/signing.pem");
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(*env.FileMode("/keys/signing.pem"), 0600u);
  auto again = SigningKey::LoadOrCreate(&env, "/keys/signing.pem");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(key->public_key(), again->public_key());
  EXPECT_EQ(*ParsePublicKeyPem(key->PublicKeyPem()), key->public_key());
}

TEST(SigningTest, CheckpointVerifiesOnlyUnchangedAndWithTheRightKey) {
  MemEnv env;
  auto key = SigningKey::LoadOrCreate(&env, "/k1.pem");
  MemEnv other_env(7);
  auto other = SigningKey::LoadOrCreate(&other_env, "/k2.pem");
  Hash root = Sha256("root");
  Checkpoint c = SignCheckpoint(*key, "CDISCPILOT01", 10, root, 123);
  EXPECT_TRUE(VerifyCheckpoint(c, key->public_key()).ok());
  EXPECT_FALSE(VerifyCheckpoint(c, other->public_key()).ok());
  for (int field = 0; field < 4; ++field) {
    Checkpoint t = c;
    if (field == 0) t.study = "OTHER";
    if (field == 1) t.tree_size = 9;
    if (field == 2) t.root_hash[31] ^= 1;
    if (field == 3) t.time_us = 124;
    EXPECT_FALSE(VerifyCheckpoint(t, key->public_key()).ok()) << "field " << field;
  }
  auto back = CheckpointFromValue(CheckpointToValue(c));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, c);
}

TEST(SigningTest, RefusesAKeyFileOthersCanRead) {
  MemEnv env;
  ASSERT_TRUE(SigningKey::LoadOrCreate(&env, "/k.pem").ok());
  std::string pem = *env.ReadFileToString("/k.pem");
  ASSERT_TRUE(env.WriteFileAtomically("/open.pem", pem, 0644).ok());
  auto loaded = SigningKey::Load(&env, "/open.pem");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(loaded.status().message().find("chmod 600"), std::string::npos);
}

TEST(SigningTest, RefusesGarbageKeys) {
  EXPECT_FALSE(ParsePublicKeyPem("not a key").ok());
  MemEnv env;
  ASSERT_TRUE(env.WriteFileAtomically("/bad.pem", "garbage", 0600).ok());
  EXPECT_EQ(SigningKey::Load(&env, "/bad.pem").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace trialcore
