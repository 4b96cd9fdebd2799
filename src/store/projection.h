// Projection tables owned by a library above the store (DESIGN.md §1): the
// library declares its tables and computes their rows; the store creates the
// tables, writes the rows in the same transaction as the events they follow
// from, and answers read-only SQL over them. Nothing here names a back end:
// tables are declared as columns of two types, and reads are SQL that SQLite
// and PostgreSQL both accept, with parameters $1, $2 ...
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "core/value.h"

namespace trialcore {

struct ProjectionColumn {
  enum class Type { kInt, kText };
  std::string name;
  Type type = Type::kText;
};

struct ProjectionTable {
  std::string name;
  // The first key_size columns form the primary key; the first of them is
  // the study, so that a study's rows can be replaced on their own.
  std::vector<ProjectionColumn> columns;
  size_t key_size = 1;
  std::vector<std::vector<std::string>> indexes;  // each a list of columns
};

struct ProjectionSet {
  std::string name;  // "capture"
  // Raised whenever the tables or what their rows hold change: a store whose
  // tables were made by another version drops them and they are rebuilt.
  int version = 1;
  std::vector<ProjectionTable> tables;
};

// A row: one Value per column, in declaration order; null, bool (stored as
// 0/1), int or string. Read back, bools come as ints.
using ProjectionRow = std::vector<Value>;

class ProjectionWriter {
 public:
  virtual ~ProjectionWriter() = default;
  // Inserts the row or replaces the one with its key.
  virtual Status Put(const std::string& table, const ProjectionRow& row) = 0;
  // Deletes the row with this key (the first key_size values); none is fine.
  virtual Status Delete(const std::string& table, const ProjectionRow& key) = 0;
};

// Computes the rows a batch changes; what it writes is written in the
// append's transaction, and an error fails the batch with nothing stored.
// A store may call it before taking its write lock, on the caller's thread,
// so that concurrent appends compute their rows in parallel: it then gets the
// events as they will be stored but for seq, study_index and the hashes
// (zero), and the writes it makes are kept and applied once the expected
// versions hold. If the events are stored with another time or stream
// version than it was given (a concurrent batch took a later time first, or
// no expected version fixed the stream's), it is called again inside the
// transaction with the events as stored. So the rows must not depend on
// seq, study_index or the hashes, and a second call must replace what the
// first computed.
using Projector = std::function<Status(const std::vector<Event>& stored, ProjectionWriter& writer)>;

// Calls its argument for every event of a study, ordered by stream and then
// by the stream's version (so one stream's events come together), each
// payload without its member "set" (see EventStore::RewriteProjections).
using EventVisitor = std::function<Status(const Event&)>;
using StudyEventsByStream = std::function<Status(const EventVisitor&)>;

}  // namespace trialcore
