// Ed25519 keys (OpenSSL) and signed checkpoints: a checkpoint states that a
// study's log had tree_size events with the given Merkle root at a time, and
// anyone holding the public key can check it offline.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/env.h"
#include "core/event.h"
#include "core/hash.h"
#include "core/status.h"
#include "core/value.h"

namespace trialcore {

class SigningKey {
 public:
  ~SigningKey();
  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;

  // Loads the PEM private key at path, creating it (mode 0600) if missing.
  // Refuses a key file that others can read.
  static Result<SigningKey> LoadOrCreate(Env* env, const std::string& path);
  static Result<SigningKey> Load(Env* env, const std::string& path);

  std::string public_key() const { return public_key_; }  // 32 raw bytes
  std::string PublicKeyPem() const;
  std::string Sign(std::string_view message) const;  // 64 bytes

 private:
  struct Impl;
  explicit SigningKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string public_key_;
};

// The raw 32-byte key from a PEM "PUBLIC KEY" block; InvalidArgument if it is
// not an Ed25519 public key.
Result<std::string> ParsePublicKeyPem(std::string_view pem);
// DataLoss if the signature does not verify.
Status VerifySignature(std::string_view public_key, std::string_view message, std::string_view signature);

struct Checkpoint {
  std::string study;
  uint64_t tree_size = 0;
  Hash root_hash{};
  int64_t time_us = 0;
  std::string public_key;  // raw 32 bytes of the signer
  std::string signature;   // raw 64 bytes
  bool operator==(const Checkpoint&) const = default;
};

// The exact bytes that are signed (doc/event_log_format.md, "Checkpoints").
std::string CheckpointMessage(const Checkpoint& c);
Checkpoint SignCheckpoint(const SigningKey& key, std::string study, uint64_t tree_size, const Hash& root,
                          int64_t time_us);
// Verifies the signature with the given public key (not the one the checkpoint claims).
Status VerifyCheckpoint(const Checkpoint& c, std::string_view public_key);

Value CheckpointToValue(const Checkpoint& c);
Result<Checkpoint> CheckpointFromValue(const Value& v);

}  // namespace trialcore
