// db info | rebuild
#include <chrono>
#include <ostream>

#include "capture/projection.h"
#include "cli/commands.h"
#include "cli/store_access.h"

namespace trialcore::cli {

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
  auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  ctx.out << "  entity values: " << seconds_since(start) << " s\n";
  // Capture's tables, study by study, each in one transaction.
  TC_RETURN_IF_ERROR(store->RegisterProjections(capture::CaptureProjections()).status());
  TC_ASSIGN_OR_RETURN(auto heads, store->Heads());
  for (const auto& h : heads) {
    TC_ASSIGN_OR_RETURN(auto published, store->ReadEntity(h.study, "study/version"));
    if (!published) continue;  // not a study of data capture (the user directory's log)
    auto study_start = std::chrono::steady_clock::now();
    TC_ASSIGN_OR_RETURN(uint64_t n, capture::RewriteStudyProjections(store.get(), h.study));
    ctx.out << "  " << h.study << ": " << n << " events replayed into its capture tables in "
            << seconds_since(study_start) << " s\n";
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ctx.out << "rebuilt projections from " << replayed << " events in " << secs << " s ("
          << static_cast<uint64_t>(secs > 0 ? replayed / secs : 0) << " events/s)\n";
  return Status::Ok();
}

}  // namespace trialcore::cli
