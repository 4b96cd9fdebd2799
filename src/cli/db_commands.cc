// db info | rebuild | copy
#include <chrono>
#include <ostream>

#include "capture/projection.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/store_access.h"
#include "store/open_store.h"

namespace trialcore::cli {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Capture's tables, study by study, each in one transaction.
Status RewriteCaptureTables(EventStore& store, Context& ctx) {
  TC_RETURN_IF_ERROR(store.RegisterProjections(capture::CaptureProjections()).status());
  TC_ASSIGN_OR_RETURN(auto heads, store.Heads());
  for (const auto& h : heads) {
    TC_ASSIGN_OR_RETURN(auto published, store.ReadEntity(h.study, "study/version"));
    if (!published) continue;  // not a study of data capture (the user directory's log)
    auto study_start = std::chrono::steady_clock::now();
    TC_ASSIGN_OR_RETURN(uint64_t n, capture::RewriteStudyProjections(&store, h.study));
    ctx.out << "  " << h.study << ": " << n << " events replayed into its capture tables in "
            << SecondsSince(study_start) << " s\n";
  }
  return Status::Ok();
}

}  // namespace

Status DbInfo(const std::string& db, Context& ctx) {
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(db, ctx.env));
  TC_ASSIGN_OR_RETURN(auto heads, store->Heads());
  TC_ASSIGN_OR_RETURN(uint64_t last, store->LastSeq());
  ctx.out << "database:        " << db << "\n"
          << "format version:  " << kDatabaseFormatVersion << " (event records: " << kEventFormatVersion << ")\n"
          << "events:          " << last << "\n"
          << "studies:         " << heads.size() << "\n";
  for (const auto& h : heads) {
    TC_ASSIGN_OR_RETURN(auto cps, store->Checkpoints(h.study));
    ctx.out << "  " << h.study << ": " << h.size << " events, head " << ToHex(h.head_hash) << ", " << cps.size()
            << " checkpoint(s)";
    if (!cps.empty()) {
      ctx.out << ", latest at " << cps.back().tree_size << " events signed " << FormatTimeMicros(cps.back().time_us);
    }
    ctx.out << "\n";
  }
  return Status::Ok();
}

Status DbRebuild(const std::string& db, Context& ctx) {
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(db, ctx.env));
  auto start = std::chrono::steady_clock::now();
  TC_ASSIGN_OR_RETURN(uint64_t replayed, store->RebuildProjections());
  ctx.out << "  entity values: " << SecondsSince(start) << " s\n";
  TC_RETURN_IF_ERROR(RewriteCaptureTables(*store, ctx));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ctx.out << "rebuilt projections from " << replayed << " events in " << secs << " s ("
          << static_cast<uint64_t>(secs > 0 ? replayed / secs : 0) << " events/s)\n";
  return Status::Ok();
}

Status DbCopy(const std::string& from, const std::string& to, Context& ctx) {
  if (from == to) return InvalidArgument("db copy needs two different databases, got " + from + " twice");
  TC_ASSIGN_OR_RETURN(auto source, OpenExisting(from, ctx.env));
  StoreOpenOptions o;
  o.env = ctx.env;
  // A copy that fails can be run again into a new database: commits need
  // not be synced one by one; Sync() below makes all of it durable.
  o.bulk_load = true;
  TC_ASSIGN_OR_RETURN_CTX(auto target, OpenEventStore(to, o), "opening " + to);
  TC_ASSIGN_OR_RETURN(uint64_t already, target->LastSeq());
  if (already > 0) {
    return FailedPrecondition(to + " already holds " + std::to_string(already) +
                              " events: copy into a new, empty database");
  }
  TC_ASSIGN_OR_RETURN(uint64_t total, source->LastSeq());
  auto start = std::chrono::steady_clock::now();
  Progress progress(ctx, "copying events", total);
  // Batches of a few thousand: one transaction each on the target.
  constexpr size_t kBatch = 4096;
  std::vector<Event> batch;
  uint64_t copied = 0;
  auto flush = [&]() -> Status {
    TC_RETURN_IF_ERROR_CTX(target->ImportEvents(batch), "copying into " + to);
    copied += batch.size();
    batch.clear();
    progress.Update(copied);
    return Status::Ok();
  };
  TC_RETURN_IF_ERROR(source->ForEachEvent({}, [&](const Event& e) -> Status {
    batch.push_back(e);
    return batch.size() == kBatch ? flush() : Status::Ok();
  }));
  TC_RETURN_IF_ERROR(flush());
  progress.Done();
  ctx.out << "copied " << copied << " events in " << SecondsSince(start) << " s\n";
  // Checkpoints as signed, then the projections from the copied log.
  TC_ASSIGN_OR_RETURN(auto heads, source->Heads());
  size_t checkpoints = 0;
  for (const auto& h : heads) {
    TC_ASSIGN_OR_RETURN(auto cps, source->Checkpoints(h.study));
    for (const auto& c : cps) TC_RETURN_IF_ERROR(target->ImportCheckpoint(c));
    checkpoints += cps.size();
  }
  TC_RETURN_IF_ERROR_CTX(target->RebuildProjections().status(), "rebuilding the projections of " + to);
  TC_RETURN_IF_ERROR(RewriteCaptureTables(*target, ctx));
  TC_RETURN_IF_ERROR_CTX(target->Sync(), "making " + to + " durable");
  // The events a source still being written got after the copy started are
  // not in it; the heads of what was copied must match.
  TC_ASSIGN_OR_RETURN(auto copied_heads, target->Heads());
  for (const auto& h : copied_heads) {
    ctx.out << "  " << h.study << ": " << h.size << " events, head " << ToHex(h.head_hash) << "\n";
  }
  ctx.out << "copied " << copied << " events of " << copied_heads.size() << " studies and " << checkpoints
          << " checkpoint(s) from " << from << " to " << to << "; run `trialcore audit verify --db " << to
          << "` to check them\n";
  return Status::Ok();
}

}  // namespace trialcore::cli
