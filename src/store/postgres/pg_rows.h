// Reading the PostgreSQL store's rows back into the store's types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/canonical.h"
#include "core/event.h"
#include "core/merkle.h"
#include "core/status.h"
#include "core/value.h"
#include "store/postgres/pg_conn.h"

namespace trialcore::pg {

// A hash from a bytea column; all zeros when the column holds no hash.
Hash HashFromBytes(std::string_view b);

// One row of a query of the events table's columns in their stored order
// (seq, study, stream, stream_version, study_index, type, time_us,
// actor_user, actor_role, reason, payload, prev_hash, hash, format_version),
// owned: libpq's text form decoded.
struct EventRow {
  int64_t seq = 0, stream_version = 0, study_index = 0, time_us = 0, format_version = 0;
  std::string study, stream, type, actor_user, actor_role, reason, payload, prev_hash, hash;

  static EventRow From(const Rows& r, int i);
  // The fields its hash covers besides the payload.
  RecordFields Fields() const;
  // Unimplemented for a format version this build does not know.
  // for_rewrite: the payload without its member "set", as a projection
  // set's rewrite reads it (EventStore::RewriteProjections).
  Result<Event> ToEvent(bool for_rewrite = false) const;
};

// A projection row's value from a result column: integers (and integral
// numerics, such as sum() of integers) as ints, booleans as 0/1, the rest as
// text, as SQLite gives them.
Value ValueOf(const Rows& r, int row, int col);

}  // namespace trialcore::pg
