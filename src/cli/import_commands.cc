// trialcore import odm | redcap: a study file from another system's study
// definition (src/standards/), with the report of what was read, written
// and not carried over. The study file appears whole or not at all.
#include <ostream>

#include "capture/capture.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/store_access.h"
#include "standards/odm_metadata.h"
#include "standards/redcap_dictionary.h"
#include "standards/sdtm_import.h"
#include "standards/sdtm_mapping.h"

namespace trialcore::cli {
namespace {

Status CheckTarget(const std::string& path, bool force, Context& ctx) {
  if (path.empty()) return InvalidArgument("--study-out names no file");
  if (!force && ctx.env->FileExists(path)) {
    return AlreadyExists(path + " exists; pass --force to replace it");
  }
  return Status::Ok();
}

Status WriteImported(const standards::ImportedStudy& imported, const std::string& path, Context& ctx) {
  standards::PrintReport(imported.report, ctx.out);
  for (const auto& note : imported.notes) ctx.out << "note: " << note << "\n";
  // A temporary file beside it, renamed over it: a failed write leaves nothing.
  TC_RETURN_IF_ERROR(ctx.env->WriteFileAtomically(path, imported.yaml).WithContext("writing " + path));
  ctx.out << "wrote " << path << " (study " << imported.study.id << "); check it with: trialcore study validate "
          << path << "\n";
  return Status::Ok();
}

}  // namespace

Status ImportOdm(const ImportOdmArgs& args, Context& ctx) {
  TC_RETURN_IF_ERROR(CheckTarget(args.study_out, args.force, ctx));
  standards::OdmImportOptions options;
  options.language = args.language.value_or("");
  options.schema_path = args.schema.value_or("");
  TC_ASSIGN_OR_RETURN(standards::ImportedStudy imported, standards::ImportOdmMetadata(args.file, options));
  return WriteImported(imported, args.study_out, ctx);
}

Status ImportRedcap(const ImportRedcapArgs& args, Context& ctx) {
  TC_RETURN_IF_ERROR(CheckTarget(args.study_out, args.force, ctx));
  standards::RedcapImportOptions options;
  options.study_id = args.study_id.value_or("");
  options.repeating_forms = args.repeating;
  options.keep_going = args.keep_going;
  TC_ASSIGN_OR_RETURN(standards::ImportedStudy imported, standards::ImportRedcapDictionary(args.dictionary, options));
  return WriteImported(imported, args.study_out, ctx);
}

Status ImportSdtm(const ImportSdtmArgs& args, Context& ctx) {
  if (args.as_user.empty()) return InvalidArgument("name the user the data is entered as (--as dm.1)");
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(args.db, ctx.env));
  TC_ASSIGN_OR_RETURN(std::string id, ChooseStudy(*store, args.db, args.study));
  TC_ASSIGN_OR_RETURN(auto capture, capture::Capture::Open(store.get(), ctx.env, id));
  std::vector<study::StudyError> errors;
  auto mapping = standards::ReadSdtmMapping(*capture->study(), &errors);
  if (!mapping.ok()) {
    for (const auto& e : errors) ctx.err << e.ToString() << "\n";
    return mapping.status();
  }
  standards::SdtmImportOptions options;
  options.user = args.as_user;
  options.skip_existing = args.skip_existing;
  Progress progress(ctx, "subjects", 0);
  options.progress = [&](size_t done, size_t) { progress.Update(done); };
  TC_ASSIGN_OR_RETURN(standards::TransferReport report,
                      standards::ImportSdtm(*capture, *mapping, ctx.env, args.dir, options));
  progress.Done();
  ctx.out << "imported " << args.dir << " into study " << id << " version " << capture->study()->version << " as "
          << args.as_user << "\n";
  standards::PrintReport(report, ctx.out);
  return Status::Ok();
}

}  // namespace trialcore::cli
