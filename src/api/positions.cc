// Invariant: a token is nonce (24 bytes, a keyed hash of the position, so
// sealing is deterministic and no nonce is used for two positions) followed by
// XSalsa20-Poly1305 of the position's 8 big-endian bytes.
#include "api/positions.h"

#include <sodium.h>

#include <algorithm>
#include <string_view>

#include "core/hash.h"

namespace trialcore::api {

static_assert(crypto_secretbox_KEYBYTES == 32);

Result<PositionSeal> PositionSeal::Create(Env* env) {
  if (sodium_init() < 0) return Internal("libsodium could not be initialised");
  PositionSeal seal;
  TC_RETURN_IF_ERROR(env->RandomBytes(std::span<uint8_t>(seal.key_.data(), seal.key_.size())));
  return seal;
}

Result<PositionSeal> PositionSeal::Shared(Env* env, ServerState& state) {
  TC_ASSIGN_OR_RETURN(PositionSeal proposed, Create(env));
  const std::string proposed_hex =
      ToHex(std::string_view(reinterpret_cast<const char*>(proposed.key_.data()), proposed.key_.size()));
  TC_ASSIGN_OR_RETURN(std::string stored, state.SharedValue("event_position_key", proposed_hex));
  auto bytes = FromHex(stored);
  PositionSeal seal;
  if (!bytes.ok() || bytes->size() != seal.key_.size()) {
    return DataLoss("the stored key of event stream positions is not 64 hex digits");
  }
  std::copy(bytes->begin(), bytes->end(), seal.key_.begin());
  return seal;
}

std::string PositionSeal::Seal(uint64_t seq) const {
  unsigned char plain[8];
  for (int i = 0; i < 8; ++i) plain[i] = static_cast<unsigned char>(seq >> (56 - 8 * i));
  unsigned char token[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + sizeof plain];
  crypto_generichash(token, crypto_secretbox_NONCEBYTES, plain, sizeof plain, key_.data(), key_.size());
  crypto_secretbox_easy(token + crypto_secretbox_NONCEBYTES, plain, sizeof plain, token, key_.data());
  return ToHex(std::string_view(reinterpret_cast<const char*>(token), sizeof token));
}

std::optional<uint64_t> PositionSeal::Open(const std::string& token) const {
  auto bytes = FromHex(token);
  constexpr size_t kSize = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 8;
  if (!bytes.ok() || bytes->size() != kSize) return std::nullopt;
  const auto* in = reinterpret_cast<const unsigned char*>(bytes->data());
  unsigned char plain[8];
  if (crypto_secretbox_open_easy(plain, in + crypto_secretbox_NONCEBYTES, kSize - crypto_secretbox_NONCEBYTES, in,
                                 key_.data()) != 0) {
    return std::nullopt;
  }
  uint64_t seq = 0;
  for (unsigned char b : plain) seq = seq << 8 | b;
  return seq;
}

Result<std::optional<uint64_t>> PositionSeal::ResumeAfter(const std::string& last_event_id) const {
  if (last_event_id.empty()) return std::optional<uint64_t>();
  auto all = [&](auto pred) { return std::all_of(last_event_id.begin(), last_event_id.end(), pred); };
  if (all([](char c) { return c >= '0' && c <= '9'; }) && last_event_id.size() <= 19) {
    return std::optional<uint64_t>(std::stoull(last_event_id));
  }
  constexpr size_t kTokenDigits = 2 * (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 8);
  if (last_event_id.size() == kTokenDigits &&
      all([](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    return Open(last_event_id);  // nullopt when sealed under another key: from now
  }
  return InvalidArgument("Last-Event-ID must be an id this stream sent, or a sequence number (up to 19 digits)");
}

}  // namespace trialcore::api
