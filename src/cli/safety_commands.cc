// trialcore safety cases | export-e2b | import-e2b | import-ack: the safety cases of a
// study from the command line, beside the web application's Safety page.
#include <fstream>
#include <ostream>
#include <sstream>

#include "capture/capture.h"
#include "capture/case_e2b.h"
#include "capture/direct_case.h"
#include "capture/reads.h"
#include "capture/safety_signals.h"
#include "capture/safety_workflow.h"
#include "cli/commands.h"
#include "cli/store_access.h"
#include "core/json.h"
#include "study/study.h"

namespace trialcore::cli {
namespace {

Result<std::unique_ptr<capture::Capture>> OpenStudy(EventStore& store, const std::string& db,
                                                    const std::optional<std::string>& study, Context& ctx) {
  TC_ASSIGN_OR_RETURN(std::string id, ChooseStudy(store, db, study));
  TC_ASSIGN_OR_RETURN(auto capture, capture::Capture::Open(&store, ctx.env, id));
  if (!capture->study()->safety.declared) {
    return FailedPrecondition("study " + id + " in " + db + " declares no safety section; it has no safety cases");
  }
  return capture;
}

Result<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Status SafetyCases(const SafetyCasesArgs& args, Context& ctx) {
  if (args.format != "csv" && args.format != "json") {
    return InvalidArgument("--format may be csv or json, not \"" + args.format + "\"");
  }
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(args.db, ctx.env));
  TC_ASSIGN_OR_RETURN(auto capture, OpenStudy(*store, args.db, args.study, ctx));
  // Whoever holds the database file sees every site.
  capture::Viewer viewer;
  viewer.all_sites = true;
  TC_ASSIGN_OR_RETURN(auto lines, capture::ListSafetyCases(store.get(), capture->study_id(), viewer, {}));
  std::string text;
  if (args.format == "json" && !args.tabulation) {
    for (const auto& c : lines) {
      Value::Object o;
      o["case"] = Value(c.case_id);
      o["subject"] = Value(c.subject);
      o["site"] = Value(c.site);
      o["term"] = Value(c.term);
      o["llt"] = Value(c.llt);
      o["pt"] = Value(c.pt);
      o["soc"] = Value(c.soc);
      o["stage"] = Value(c.stage);
      o["version"] = Value(c.version);
      o["aware"] = Value(FormatTimeMicros(c.aware_us));
      o["assessment"] = c.assessment;
      o["reports"] = c.reports;
      text += ToJson(Value(std::move(o))) + "\n";
    }
    return WriteOutput(args.out, text, ctx);
  }
  if (args.tabulation) {
    return WriteOutput(args.out, capture::TabulationCsv(capture::TabulateSeriousReactions(lines)), ctx);
  }
  return WriteOutput(args.out, capture::SafetyLineListingCsv(lines), ctx);
}

Status SafetySignals(const SafetyCasesArgs& args, Context& ctx) {
  if (args.format != "csv" && args.format != "json") {
    return InvalidArgument("--format may be csv or json, not \"" + args.format + "\"");
  }
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(args.db, ctx.env));
  TC_ASSIGN_OR_RETURN(auto capture, OpenStudy(*store, args.db, args.study, ctx));
  TC_ASSIGN_OR_RETURN(capture::StudySignals signals, capture::DetectStudySignals(*capture));
  ctx.err << signals.cases << " case" << (signals.cases == 1 ? "" : "s") << " counted over " << signals.products.size()
          << " product" << (signals.products.size() == 1 ? "" : "s");
  if (signals.not_coded > 0) ctx.err << "; " << signals.not_coded << " left out, not coded yet";
  ctx.err << "\n";
  if (!signals.why_not.empty()) ctx.err << signals.why_not << "\n";
  if (args.format == "csv") return WriteOutput(args.out, capture::StudySignalsCsv(signals), ctx);
  return WriteOutput(args.out, ToJson(capture::StudySignalsValue(signals)) + "\n", ctx);
}

Status SafetyExportE2b(const SafetyExportArgs& args, Context& ctx) {
  if (args.cases.empty()) return InvalidArgument("name at least one case (--case 701-1001-SAE1)");
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(args.db, ctx.env));
  TC_ASSIGN_OR_RETURN(auto capture, OpenStudy(*store, args.db, args.study, ctx));
  const int64_t now = ctx.env->NowMicros();
  const std::string batch_number = "EXPORT-" + FormatTimeMicros(now).substr(0, 19);
  std::vector<safety::Icsr> icsrs;
  safety::E2bBatchHeader header;
  for (const std::string& id : args.cases) {
    if (capture::DirectCaseNumber(id)) {
      TC_ASSIGN_OR_RETURN(capture::DirectCase dc, capture->ReadDirectCase(id));
      TC_ASSIGN_OR_RETURN(capture::CaseIcsr built,
                          capture::CaseIcsrOf(*capture->study(), dc, args.destination, batch_number, now));
      if (icsrs.empty()) header = built.header;
      icsrs.push_back(std::move(built.icsr));
      continue;
    }
    const size_t at = id.rfind("-SAE");
    if (at == std::string::npos) {
      return InvalidArgument("\"" + id + "\" is not a case id (701-1001-SAE1, or DC-1 for a direct case)");
    }
    const std::string subject = id.substr(0, at);
    Result<capture::CaseIcsr> built = NotFound("study " + capture->study_id() + " has no safety case " + id);
    TC_RETURN_IF_ERROR(capture->ReadSubject(subject, [&](const capture::SubjectState& s) {
      for (const auto& [n, c] : s.cases) {
        if (capture::SafetyCaseId(s.id, n) == id) {
          built = capture::CaseIcsrOf(*capture->study(), s, c, args.destination, batch_number, now);
        }
      }
    }));
    if (!built.ok()) return built.status();
    if (icsrs.empty()) header = built->header;
    icsrs.push_back(std::move(built->icsr));
  }
  TC_ASSIGN_OR_RETURN(safety::E2bSubmission batch, capture::PrepareCaseBatch(header, icsrs, args.destination, now));
  TC_RETURN_IF_ERROR(WriteOutput(args.to, batch.xml, ctx));
  ctx.err << "wrote " << icsrs.size() << " ICSR" << (icsrs.size() == 1 ? "" : "s") << " (batch " << batch_number
          << ", for " << args.destination << ", schema-valid" << (args.destination == "FDA" ? ", FDA's rules met" : "")
          << ") to " << args.to.value_or("standard output") << "\n";
  for (const auto& w : batch.warnings)
    ctx.err << "warning: " << w.rule << " " << w.element << ": " << w.message << "\n";
  return Status::Ok();
}

Status SafetyImportAck(const SafetyImportAckArgs& args, Context& ctx) {
  TC_ASSIGN_OR_RETURN(std::string xml, ReadTextFile(args.file));
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(args.db, ctx.env));
  TC_ASSIGN_OR_RETURN(auto capture, OpenStudy(*store, args.db, args.study, ctx));
  TC_ASSIGN_OR_RETURN(auto applied,
                      capture::ApplyE2bAck(*capture, xml, args.file, Actor{args.as_user, "safety_physician"}));
  for (const auto& a : applied) {
    ctx.out << a.case_id << " submission " << a.submission << " to " << a.destination << ": " << a.ack << " (" << a.code
            << ")\n";
    for (const auto& e : a.errors) ctx.out << "  " << e << "\n";
  }
  return Status::Ok();
}

Status SafetyImportE2b(const SafetyImportAckArgs& args, Context& ctx) {
  TC_ASSIGN_OR_RETURN(std::string xml, ReadTextFile(args.file));
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(args.db, ctx.env));
  TC_ASSIGN_OR_RETURN(auto capture, OpenStudy(*store, args.db, args.study, ctx));
  TC_ASSIGN_OR_RETURN(auto cases,
                      capture::ImportE2bCases(*capture, xml, args.file, Actor{args.as_user, "safety_physician"}));
  for (const std::string& id : cases) {
    TC_ASSIGN_OR_RETURN(capture::DirectCase dc, capture->ReadDirectCase(id));
    const capture::AdverseEventFacts facts = capture::FactsOfDirectCase(*capture->study(), dc);
    ctx.out << id << (dc.c.version > 1 || dc.c.followups > 0 ? " (new information)" : "") << ": " << dc.worldwide_id
            << ", " << facts.term << (dc.c.coding ? " coded to " + dc.c.coding->pt_name : std::string(" (not coded)"))
            << ", received " << dc.received_date << "\n";
  }
  return Status::Ok();
}

}  // namespace trialcore::cli
