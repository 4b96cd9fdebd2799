// `trialcore export ...`: a study's data out in the formats the field
// exchanges (src/standards).
#include <filesystem>
#include <ostream>

#include "capture/blinding.h"
#include "capture/capture.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/store_access.h"
#include "standards/casebook_export.h"
#include "standards/odm_export.h"
#include "standards/sdtm_export.h"
#include "study/study.h"

namespace trialcore::cli {

namespace {

// The roles an export is read as: one role, or none for "all".
Result<std::vector<std::string>> ExportRoles(const std::optional<std::string>& role) {
  if (!role) {
    return InvalidArgument(
        "say whose view the file is: --role data_manager (or another role: what it may not see is left out), "
        "or --role all for the whole study, unblinded");
  }
  if (*role == "all") return std::vector<std::string>{};
  if (!study::IsKnownRole(*role)) return InvalidArgument("--role: unknown role \"" + *role + "\"");
  return std::vector<std::string>{*role};
}

std::string ViewName(const std::vector<std::string>& roles) {
  if (roles.empty()) return "unblinded, everything";
  return "as " + roles.front() + (capture::BlindedRole(roles.front()) ? " (blinded)" : "");
}

}  // namespace

Status ExportOdm(const ExportOdmArgs& args, Context& ctx) {
  if (args.to.empty()) return InvalidArgument("name the file to write (--to study.odm.xml)");
  TC_ASSIGN_OR_RETURN(std::vector<std::string> roles, ExportRoles(args.role));
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
          << capture->study()->version << ", " << ViewName(roles) << "\n";
  standards::PrintReport(report, ctx.out);
  return Status::Ok();
}

Status ExportSdtm(const ExportSdtmArgs& args, Context& ctx) {
  TC_ASSIGN_OR_RETURN(std::vector<std::string> roles, ExportRoles(args.role));
  TC_ASSIGN_OR_RETURN(standards::SdtmFormat format, standards::ParseSdtmFormat(args.format));
  std::error_code ec;
  if (!std::filesystem::is_directory(args.to, ec)) {
    if (std::filesystem::exists(args.to, ec)) return InvalidArgument(args.to + " is not a directory");
    if (!std::filesystem::create_directories(args.to, ec)) {
      return InvalidArgument(args.to + ": cannot make the directory (" + ec.message() + ")");
    }
  }
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(args.db, ctx.env));
  TC_ASSIGN_OR_RETURN(std::string id, ChooseStudy(*store, args.db, args.study));
  // Each subject is read once: a cache would only hold memory.
  capture::CaptureOptions read_once;
  read_once.cache_subjects = 1;
  read_once.cache_bytes = size_t{1} << 20;
  TC_ASSIGN_OR_RETURN(auto capture, capture::Capture::Open(store.get(), ctx.env, id, read_once));
  std::vector<study::StudyError> errors;
  auto mapping = standards::ReadSdtmMapping(*capture->study(), &errors);
  if (!mapping.ok()) {
    for (const auto& e : errors) ctx.err << e.ToString() << "\n";
    return mapping.status();
  }
  standards::SdtmExportOptions options;
  options.format = format;
  options.roles = roles;
  options.domains = args.domains;
  options.sites = args.sites;
  options.source_system_version = TRIALCORE_VERSION;
  Progress progress(ctx, "subjects", 0);
  options.progress = [&](size_t done, size_t) { progress.Update(done); };
  TC_ASSIGN_OR_RETURN(standards::TransferReport report,
                      standards::ExportSdtm(*capture, *mapping, options, ctx.env, args.to));
  progress.Done();
  ctx.out << "wrote " << args.to << ": SDTM (SDTMIG " << mapping->ig_version << ") as " << args.format
          << " with define.xml, of study " << id << " version " << capture->study()->version << ", " << ViewName(roles)
          << "\n";
  standards::PrintReport(report, ctx.out);
  return Status::Ok();
}

Status ExportCasebooks(const ExportCasebooksArgs& args, Context& ctx) {
  TC_ASSIGN_OR_RETURN(std::vector<std::string> roles, ExportRoles(args.role));
  std::error_code ec;
  if (std::filesystem::exists(args.to, ec) && !std::filesystem::is_directory(args.to, ec)) {
    return InvalidArgument(args.to + " is not a directory");
  }
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(args.db, ctx.env));
  TC_ASSIGN_OR_RETURN(std::string id, ChooseStudy(*store, args.db, args.study));
  // One subject at a time, each read once: a cache would only hold memory.
  capture::CaptureOptions read_once;
  read_once.cache_subjects = 1;
  read_once.cache_bytes = size_t{1} << 20;
  TC_ASSIGN_OR_RETURN(auto capture, capture::Capture::Open(store.get(), ctx.env, id, read_once));
  standards::CasebookExportOptions options;
  options.site = args.site;
  options.roles = roles;
  options.now_us = ctx.env->NowMicros();
  options.generated_by = "trialcore export casebooks, " + ViewName(roles);
  options.creator = std::string("trialcore ") + TRIALCORE_VERSION;
  Progress progress(ctx, "subjects", 0);
  options.progress = [&](size_t done, size_t) { progress.Update(done); };
  TC_ASSIGN_OR_RETURN(standards::TransferReport report,
                      standards::ExportCasebooks(*store, *capture, options, ctx.env, args.to));
  progress.Done();
  ctx.out << "wrote " << args.to << ": the casebooks of site " << args.site << " as PDF, study " << id << " version "
          << capture->study()->version << ", " << ViewName(roles) << "\n";
  standards::PrintReport(report, ctx.out);
  return Status::Ok();
}

}  // namespace trialcore::cli
