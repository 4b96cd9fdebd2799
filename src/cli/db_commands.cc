// db info | rebuild | copy | backup | restore
#include <chrono>
#include <ostream>

#include "capture/projection.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/store_access.h"
#include "store/audit.h"
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

namespace {

// Copies source's events 1..up_to and the checkpoints within them into the
// empty target, rebuilds its projections and makes it durable. Events are
// never changed once committed and no reader skips one, so the first up_to
// events are a consistent state of the whole database, even while the
// source goes on taking appends.
Status CopyLog(EventStore& source, EventStore& target, uint64_t up_to, const std::string& to, Context& ctx) {
  TC_ASSIGN_OR_RETURN(uint64_t already, target.LastSeq());
  if (already > 0) {
    return FailedPrecondition(to + " already holds " + std::to_string(already) +
                              " events: copy into a new, empty database");
  }
  auto start = std::chrono::steady_clock::now();
  Progress progress(ctx, "copying events", up_to);
  // Batches of a few thousand: one transaction each on the target.
  constexpr size_t kBatch = 4096;
  std::vector<Event> batch;
  uint64_t copied = 0;
  auto flush = [&]() -> Status {
    TC_RETURN_IF_ERROR_CTX(target.ImportEvents(batch), "copying into " + to);
    copied += batch.size();
    batch.clear();
    progress.Update(copied);
    return Status::Ok();
  };
  bool past_snapshot = false;
  Status read = source.ForEachEvent({}, [&](const Event& e) -> Status {
    if (e.seq > up_to) {
      past_snapshot = true;
      return Aborted("past the snapshot");
    }
    batch.push_back(e);
    return batch.size() == kBatch ? flush() : Status::Ok();
  });
  if (!read.ok() && !past_snapshot) return read;
  TC_RETURN_IF_ERROR(flush());
  progress.Done();
  ctx.out << "copied " << copied << " events in " << SecondsSince(start) << " s\n";
  // Checkpoints as signed, of what was copied; then the projections.
  TC_ASSIGN_OR_RETURN(auto heads, target.Heads());
  size_t checkpoints = 0;
  for (const auto& h : heads) {
    TC_ASSIGN_OR_RETURN(auto cps, source.Checkpoints(h.study));
    for (const auto& c : cps) {
      if (c.tree_size > h.size) continue;
      TC_RETURN_IF_ERROR(target.ImportCheckpoint(c));
      ++checkpoints;
    }
  }
  TC_RETURN_IF_ERROR_CTX(target.RebuildProjections().status(), "rebuilding the projections of " + to);
  TC_RETURN_IF_ERROR(RewriteCaptureTables(target, ctx));
  TC_RETURN_IF_ERROR_CTX(target.Sync(), "making " + to + " durable");
  for (const auto& h : heads)
    ctx.out << "  " << h.study << ": " << h.size << " events, head " << ToHex(h.head_hash) << "\n";
  ctx.out << "copied " << copied << " events of " << heads.size() << " studies and " << checkpoints
          << " checkpoint(s)\n";
  return Status::Ok();
}

// Every study of store verified as `audit verify` does; DataLoss names the
// first study with a problem.
Status VerifyAll(EventStore& store, const std::string& name, Context& ctx) {
  TC_ASSIGN_OR_RETURN(auto heads, store.Heads());
  for (const auto& h : heads) {
    TC_ASSIGN_OR_RETURN(StudyVerification v, VerifyStudy(store, h.study, {}, std::nullopt, {}, {}));
    if (v.problem) {
      return DataLoss(name + ": study " + h.study + " does not verify at event " + std::to_string(v.problem->seq) +
                      ": " + v.problem->what);
    }
    ctx.out << "  verified " << h.study << ": " << v.events << " events, " << v.checkpoints_checked
            << " checkpoint(s)\n";
  }
  return Status::Ok();
}

// Each study of copy ends with the source's event of the same number and
// hash: the copy is the source's log as it was at some moment.
Status IsPrefixOf(EventStore& copy, EventStore& source, const std::string& source_name) {
  TC_ASSIGN_OR_RETURN(auto heads, copy.Heads());
  for (const auto& h : heads) {
    TC_ASSIGN_OR_RETURN(Event theirs, source.ReadEvent(h.last_seq));
    if (theirs.study != h.study || theirs.hash != h.head_hash) {
      return DataLoss("study " + h.study + " ends at event " + std::to_string(h.last_seq) + ", which " + source_name +
                      " holds otherwise");
    }
  }
  return Status::Ok();
}

}  // namespace

Status DbCopy(const std::string& from, const std::string& to, Context& ctx) {
  if (from == to) return InvalidArgument("db copy needs two different databases, got " + from + " twice");
  TC_ASSIGN_OR_RETURN(auto source, OpenExisting(from, ctx.env));
  StoreOpenOptions o;
  o.env = ctx.env;
  // A copy that fails can be run again into a new database: commits need
  // not be synced one by one; Sync() makes all of it durable.
  o.bulk_load = true;
  TC_ASSIGN_OR_RETURN_CTX(auto target, OpenEventStore(to, o), "opening " + to);
  TC_ASSIGN_OR_RETURN(uint64_t total, source->LastSeq());
  TC_RETURN_IF_ERROR(CopyLog(*source, *target, total, to, ctx));
  ctx.out << "copied from " << from << " to " << to << "; run `trialcore audit verify --db " << to
          << "` to check them\n";
  return Status::Ok();
}

}  // namespace trialcore::cli

namespace trialcore::cli {

Status DbBackup(const std::string& db, const std::string& to, Context& ctx) {
  if (IsPostgresUrl(to)) {
    return InvalidArgument("db backup writes a new file, not a database: " + to +
                           " (to copy into PostgreSQL, use `trialcore db copy`)");
  }
  if (ctx.env->FileExists(to)) return AlreadyExists("backup file " + to + " exists already; name a new one");
  TC_ASSIGN_OR_RETURN(auto source, OpenExisting(db, ctx.env));
  // The snapshot: every event committed when the backup starts.
  TC_ASSIGN_OR_RETURN(uint64_t up_to, source->LastSeq());
  StoreOpenOptions o;
  o.env = ctx.env;
  o.bulk_load = true;  // made durable at the end, by Sync()
  {
    TC_ASSIGN_OR_RETURN_CTX(auto backup, OpenEventStore(to, o), "creating " + to);
    Status made = CopyLog(*source, *backup, up_to, to, ctx);
    if (made.ok()) made = VerifyAll(*backup, to, ctx);
    if (made.ok()) made = IsPrefixOf(*backup, *source, db);
    if (!made.ok()) {
      backup.reset();
      (void)ctx.env->DeleteFile(to);
      (void)ctx.env->DeleteFile(to + "-wal");
      (void)ctx.env->DeleteFile(to + "-shm");
      return made.WithContext("backing up " + db + " (no backup was kept)");
    }
  }
  ctx.out << "backed up " << db << " as of event " << up_to << " to " << to
          << " (verified); bring it back with `trialcore db restore --from " << to << " --db NEW`\n";
  return Status::Ok();
}

Status DbRestore(const std::string& from, const std::string& db, Context& ctx) {
  if (from == db) return InvalidArgument("db restore needs a backup and another database, got " + from + " twice");
  TC_ASSIGN_OR_RETURN(auto backup, OpenExisting(from, ctx.env));
  TC_RETURN_IF_ERROR_CTX(VerifyAll(*backup, from, ctx), "checking the backup before restoring it");
  StoreOpenOptions o;
  o.env = ctx.env;
  o.bulk_load = true;
  TC_ASSIGN_OR_RETURN_CTX(auto target, OpenEventStore(db, o), "opening " + db);
  TC_ASSIGN_OR_RETURN(uint64_t total, backup->LastSeq());
  TC_RETURN_IF_ERROR(CopyLog(*backup, *target, total, db, ctx));
  TC_RETURN_IF_ERROR_CTX(VerifyAll(*target, db, ctx), "checking the restored database");
  TC_RETURN_IF_ERROR(IsPrefixOf(*target, *backup, from));
  TC_ASSIGN_OR_RETURN(uint64_t restored, target->LastSeq());
  if (restored != total) {
    return DataLoss(db + " holds " + std::to_string(restored) + " events after the restore, the backup " +
                    std::to_string(total));
  }
  ctx.out << "restored " << total << " events from " << from << " into " << db << " (verified)\n";
  return Status::Ok();
}

}  // namespace trialcore::cli
