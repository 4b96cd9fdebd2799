// `trialcore export ...`: a study's data out in the formats the field
// exchanges (src/standards).
#include <ostream>

#include "capture/blinding.h"
#include "capture/capture.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/store_access.h"
#include "standards/odm_export.h"
#include "study/study.h"

namespace trialcore::cli {

Status ExportOdm(const ExportOdmArgs& args, Context& ctx) {
  if (args.to.empty()) return InvalidArgument("name the file to write (--to study.odm.xml)");
  if (!args.role) {
    return InvalidArgument(
        "say whose view the file is: --role data_manager (or another role: what it may not see is left out), "
        "or --role all for the whole study, unblinded");
  }
  std::vector<std::string> roles;
  if (*args.role != "all") {
    if (!study::IsKnownRole(*args.role)) return InvalidArgument("--role: unknown role \"" + *args.role + "\"");
    roles.push_back(*args.role);
  }
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(args.db, ctx.env));
  TC_ASSIGN_OR_RETURN(std::string id, ChooseStudy(*store, args.db, args.study));
  TC_ASSIGN_OR_RETURN(auto capture, capture::Capture::Open(store.get(), ctx.env, id));
  standards::OdmExportOptions options;
  options.roles = roles;
  options.now_us = ctx.env->NowMicros();
  options.source_system_version = TRIALCORE_VERSION;
  Progress progress(ctx, "subjects", 0);
  options.progress = [&](size_t done, size_t) { progress.Update(done); };
  TC_ASSIGN_OR_RETURN(standards::TransferReport report,
                      standards::ExportOdm(*store, id, *capture->study(), options, args.to));
  progress.Done();
  ctx.out << "wrote " << args.to << ": CDISC ODM 1.3.2 (Transactional) of study " << id << " version "
          << capture->study()->version << ", "
          << (roles.empty() ? std::string("unblinded, everything")
                            : "as " + roles.front() + (capture::BlindedRole(roles.front()) ? " (blinded)" : ""))
          << "\n";
  standards::PrintReport(report, ctx.out);
  return Status::Ok();
}

}  // namespace trialcore::cli
