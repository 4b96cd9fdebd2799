#include "core/signing.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstring>

namespace trialcore {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

std::string RawPublicKey(EVP_PKEY* key) {
  size_t len = 32;
  std::string out(32, '\0');
  EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(out.data()), &len);
  out.resize(len);
  return out;
}

void PutU64(std::string* out, uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) out->push_back(static_cast<char>(v >> s));
}

}  // namespace

struct SigningKey::Impl {
  PkeyPtr key;
};

SigningKey::SigningKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  public_key_ = RawPublicKey(impl_->key.get());
}
SigningKey::~SigningKey() = default;
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;

Result<SigningKey> SigningKey::Load(Env* env, const std::string& path) {
  TC_ASSIGN_OR_RETURN(unsigned mode, env->FileMode(path));
  if (mode & 077) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04o", mode);
    return PermissionDenied("signing key " + path + " has mode " + buf +
                            " so others can read it; it must be 0600 (chmod 600 " + path + ")");
  }
  TC_ASSIGN_OR_RETURN(std::string pem, env->ReadFileToString(path));
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key || EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return InvalidArgument("signing key " + path + " is not a PEM Ed25519 private key");
  }
  auto impl = std::make_unique<Impl>();
  impl->key = std::move(key);
  return SigningKey(std::move(impl));
}

Result<SigningKey> SigningKey::LoadOrCreate(Env* env, const std::string& path) {
  if (env->FileExists(path)) return Load(env, path);
  // The key's bytes come from the Env so tests can make them repeatable.
  uint8_t seed[32];
  TC_RETURN_IF_ERROR(env->RandomBytes(seed));
  PkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, sizeof seed));
  std::memset(seed, 0, sizeof seed);
  if (!key) return Internal("OpenSSL could not create an Ed25519 key");
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<size_t>(len));
  auto slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) TC_RETURN_IF_ERROR(env->CreateDirs(path.substr(0, slash)));
  TC_RETURN_IF_ERROR_CTX(env->WriteFileAtomically(path, pem, 0600), "creating signing key");
  auto impl = std::make_unique<Impl>();
  impl->key = std::move(key);
  return SigningKey(std::move(impl));
}

std::string SigningKey::PublicKeyPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), impl_->key.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string SigningKey::Sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->key.get());
  std::string sig(64, '\0');
  size_t len = sig.size();
  EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(message.data()), message.size());
  sig.resize(len);
  return sig;
}

Result<std::string> ParsePublicKeyPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key || EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return InvalidArgument("not a PEM Ed25519 public key (expected a \"-----BEGIN PUBLIC KEY-----\" block)");
  }
  return RawPublicKey(key.get());
}

Status VerifySignature(std::string_view public_key, std::string_view message, std::string_view signature) {
  PkeyPtr key(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(public_key.data()), public_key.size()));
  if (!key) return InvalidArgument("public key is not a 32-byte Ed25519 key");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return Internal("OpenSSL could not start an Ed25519 verification");
  }
  int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                            reinterpret_cast<const unsigned char*>(message.data()), message.size());
  if (rc != 1) return DataLoss("signature does not verify with the given public key");
  return Status::Ok();
}

std::string CheckpointMessage(const Checkpoint& c) {
  std::string m = "trialcore checkpoint v1\n";
  PutU64(&m, c.study.size());
  m += c.study;
  PutU64(&m, c.tree_size);
  m.append(AsBytes(c.root_hash));
  PutU64(&m, static_cast<uint64_t>(c.time_us));
  return m;
}

Checkpoint SignCheckpoint(const SigningKey& key, std::string study, uint64_t tree_size, const Hash& root,
                          int64_t time_us) {
  Checkpoint c;
  c.study = std::move(study);
  c.tree_size = tree_size;
  c.root_hash = root;
  c.time_us = time_us;
  c.public_key = key.public_key();
  c.signature = key.Sign(CheckpointMessage(c));
  return c;
}

Status VerifyCheckpoint(const Checkpoint& c, std::string_view public_key) {
  return VerifySignature(public_key, CheckpointMessage(c), c.signature)
      .WithContext("checkpoint of " + c.study + " at size " + std::to_string(c.tree_size));
}

Value CheckpointToValue(const Checkpoint& c) {
  Value::Object o;
  o["study"] = c.study;
  o["tree_size"] = static_cast<int64_t>(c.tree_size);
  o["root_hash"] = ToHex(c.root_hash);
  o["time_us"] = c.time_us;
  o["time"] = FormatTimeMicros(c.time_us);
  o["public_key"] = ToHex(c.public_key);
  o["signature"] = ToHex(c.signature);
  return Value(std::move(o));
}

Result<Checkpoint> CheckpointFromValue(const Value& v) {
  auto field = [&](const char* name, Value::Kind kind) -> Result<const Value*> {
    const Value* f = v.Find(name);
    if (!f || f->kind() != kind) {
      return InvalidArgument(std::string("checkpoint field \"") + name + "\" is missing or of the wrong type");
    }
    return f;
  };
  Checkpoint c;
  TC_ASSIGN_OR_RETURN(const Value* study, field("study", Value::Kind::kString));
  TC_ASSIGN_OR_RETURN(const Value* size, field("tree_size", Value::Kind::kInt));
  TC_ASSIGN_OR_RETURN(const Value* root, field("root_hash", Value::Kind::kString));
  TC_ASSIGN_OR_RETURN(const Value* time, field("time_us", Value::Kind::kInt));
  TC_ASSIGN_OR_RETURN(const Value* pub, field("public_key", Value::Kind::kString));
  TC_ASSIGN_OR_RETURN(const Value* sig, field("signature", Value::Kind::kString));
  if (size->as_int() < 0) return InvalidArgument("checkpoint tree_size is negative");
  c.study = study->as_string();
  c.tree_size = static_cast<uint64_t>(size->as_int());
  TC_ASSIGN_OR_RETURN(c.root_hash, HashFromHex(root->as_string()));
  c.time_us = time->as_int();
  TC_ASSIGN_OR_RETURN(c.public_key, FromHex(pub->as_string()));
  TC_ASSIGN_OR_RETURN(c.signature, FromHex(sig->as_string()));
  return c;
}

}  // namespace trialcore
