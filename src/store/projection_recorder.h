// What every back end's group commit does with a batch's projection rows
// (store/projection.h): the projector runs on the appending caller's thread,
// before the write lock, whenever the events it will be given are known
// there, and its writes are recorded for the commit to apply.
#pragma once

#include <string>
#include <vector>

#include "store/event_store.h"
#include "store/projection.h"

namespace trialcore {

class RecordingProjectionWriter final : public ProjectionWriter {
 public:
  struct Write {
    bool put = true;  // else a delete
    std::string table;
    ProjectionRow row;
  };

  Status Put(const std::string& table, const ProjectionRow& row) override {
    writes_.push_back({true, table, row});
    return Status::Ok();
  }
  Status Delete(const std::string& table, const ProjectionRow& key) override {
    writes_.push_back({false, table, key});
    return Status::Ok();
  }

  Status ApplyTo(ProjectionWriter& writer) const {
    for (const Write& w : writes_)
      TC_RETURN_IF_ERROR(w.put ? writer.Put(w.table, w.row) : writer.Delete(w.table, w.row));
    return Status::Ok();
  }
  void Clear() { writes_.clear(); }

 private:
  std::vector<Write> writes_;
};

// A batch's rows computed ahead of its commit.
struct ProjectedAhead {
  bool projected = false;     // false: the commit runs the projector itself
  std::vector<Event> events;  // as given to the projector
  RecordingProjectionWriter rows;
};

// Runs req.project on the events as they will be stored but for seq,
// study_index and the hashes, stamped time_us, when every stream's version is
// fixed by an expected version (otherwise leaves *out unprojected).
Status ProjectAhead(const AppendRequest& req, int64_t time_us, ProjectedAhead* out);

// Whether rows projected ahead still hold for the events as stored: same
// time and stream versions (the projector's rows may not depend on the rest).
bool ProjectedAheadHolds(const ProjectedAhead& ahead, const std::vector<Event>& stored);

}  // namespace trialcore
