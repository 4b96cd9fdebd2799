// Event positions that tell nothing. A position in the log (its sequence
// number) counts every event of the installation, those of hidden items
// included, so a gap between two a blinded caller sees says that hidden
// events happened (issue 12). The event stream gives callers sealed positions
// instead: the number encrypted and authenticated with a key the servers of
// one database share (kept in it), which only they can open again to resume
// a stream (Last-Event-ID), on whichever of them the client reaches.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "core/env.h"
#include "core/status.h"
#include "store/server_state.h"

namespace trialcore::api {

class PositionSeal {
 public:
  // A new random key from the Env: positions sealed by another process (or
  // before a restart) do not open.
  static Result<PositionSeal> Create(Env* env);
  // The key every server of the store's database uses: the one the first of
  // them stored (a random one from the Env, if none has).
  static Result<PositionSeal> Shared(Env* env, ServerState& state);

  // 96 hex digits; one position always seals to the same text under one key.
  std::string Seal(uint64_t seq) const;
  // The position, when `token` was sealed with this key; nullopt otherwise.
  std::optional<uint64_t> Open(const std::string& token) const;

  // Where an event stream resumes, from its Last-Event-ID header: after the
  // position a token of this key opens to, or after a plain sequence number
  // (up to 19 digits; it tells the client nothing it did not say). nullopt,
  // to start from now: no header, or a sealed token this key does not open
  // (sealed before a restart: a browser's EventSource sends it again on its
  // own, and a refusal would end its reconnecting for good). Anything else
  // is InvalidArgument naming the header.
  Result<std::optional<uint64_t>> ResumeAfter(const std::string& last_event_id) const;

 private:
  std::array<unsigned char, 32> key_{};
};

}  // namespace trialcore::api
