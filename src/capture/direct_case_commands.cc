// Direct safety cases' own commands (capture/direct_case.h): entering a
// spontaneous or literature report, new information on one, and importing
// an E2B(R3) report. The workflow after intake (triage, coding ...) is
// safety_commands.cc's, the same as for a CRF case.
#include <algorithm>

#include "capture/case_e2b.h"
#include "capture/direct_case.h"
#include "capture/impl.h"
#include "capture/safety_workflow.h"
#include "core/hash.h"
#include "safety/e2b_export.h"
#include "safety/e2b_import.h"
#include "safety/e2b_reference.h"
#include "safety/meddra_coder.h"

namespace trialcore::capture {
namespace {

const std::initializer_list<std::string_view> kIntakeRoles = {"safety_physician"};

// The latest loaded MedDRA's coding of a received term: the LLT the report
// names when the dictionary has it current ("imported"), else the
// autocoder's exact or normalised match; nothing when neither (a person
// codes it) or no MedDRA is loaded.
void CodeOnIntake(EventStore& store, const std::string& stream, const std::string& case_id, int number,
                  const std::string& term, const std::string& llt_code, const Actor& actor,
                  std::vector<EventDraft>* drafts, std::vector<std::string>* messages) {
  if (term.empty()) return;
  auto coder = MeddraCoderFor(store, "", "");
  if (!coder.ok()) return;
  MeddraChoice choice;
  choice.coder = *coder;
  bool coded = false;
  if (!llt_code.empty() && llt_code.size() <= 9 && llt_code.find_first_not_of("0123456789") == std::string::npos) {
    const safety::MeddraLlt* llt = (*coder)->dictionary().FindLlt(static_cast<uint32_t>(std::stoul(llt_code)));
    if (llt != nullptr && llt->current) {
      choice.coding = *(*coder)->CodingOfLlt(llt->code);
      choice.method = "imported";
      coded = true;
    }
  }
  if (!coded) {
    const safety::MeddraCodingResult result = (*coder)->Code(term);
    if (!result.coded()) return;
    choice.coding = result.coding;
    choice.method = std::string(safety::CodingRuleName(result.rule));
  }
  Value::Object p;
  p["case"] = Value(case_id);
  p["case_number"] = Value(static_cast<int64_t>(number));
  PutCoding(choice, term, &p);
  drafts->push_back(Draft(stream, "safety.case.coded", actor, "", Value(std::move(p))));
  messages->push_back("\"" + term + "\" coded to " + std::string(choice.coding.pt.name) + " (" +
                      std::string(choice.coding.soc.name) + "), MedDRA " + (*coder)->dictionary().version());
}

std::string IsoDate(const std::string& e2b) {
  if (e2b.size() < 8) return "";
  return e2b.substr(0, 4) + "-" + e2b.substr(4, 2) + "-" + e2b.substr(6, 2);
}

Result<safety::Icsr> CheckedReport(const Value& cmd) {
  const Value* report = cmd.Find("report");
  if (report == nullptr) return InvalidArgument("\"report\" is required: the E2B(R3) elements of the report");
  auto icsr = ReportOf(*report);
  if (!icsr.ok()) return InvalidArgument("\"report\": " + icsr.status().message());
  // Only what the E2B(R3) map can carry, valid against the ICH schema: the
  // case must be sendable on as it came.
  TC_ASSIGN_OR_RETURN(auto reference, CachedE2bReference());
  safety::E2bBatchHeader header;
  header.batch_number = "check";
  header.sender = "check";
  header.receiver = "check";
  header.transmission_time = "20000101000000+0000";
  auto xml = safety::ExportE2bBatch(header, std::vector<safety::Icsr>{*icsr}, reference->schemas.get());
  if (!xml.ok()) return InvalidArgument("\"report\" is not a valid E2B(R3) report: " + xml.status().message());
  if (icsr->reactions().empty()) return InvalidArgument("\"report\" has no reaction (E.i): a case needs an event");
  if (IsoDate(icsr->Value("C.1.4")).empty() || !safety::ParseDate(IsoDate(icsr->Value("C.1.4")))) {
    return InvalidArgument("\"report\" has no date first received (C.1.4): the case's day 0");
  }
  return icsr;
}

// Every case of the study, as the safety team sees them (all sites).
Result<std::vector<SafetyCaseLine>> AllSafetyCases(EventStore& store, const std::string& study) {
  Viewer everyone;
  everyone.all_sites = true;
  everyone.unblinded_everywhere = true;
  return ListSafetyCases(&store, study, everyone, {});
}

}  // namespace

Result<std::vector<std::tuple<std::string, std::string, std::string>>> CasesOfStudy(EventStore& store,
                                                                                    const std::string& study,
                                                                                    const std::string& except) {
  TC_ASSIGN_OR_RETURN(std::vector<SafetyCaseLine> lines, AllSafetyCases(store, study));
  std::vector<std::tuple<std::string, std::string, std::string>> out;
  for (const SafetyCaseLine& line : lines) {
    if (line.case_id != except) out.emplace_back(line.case_id, line.term, line.onset);
  }
  return out;
}

Result<DirectCase> Capture::ReadDirectCase(const std::string& id) const {
  if (!DirectCaseNumber(id)) return NotFound("no safety case " + id);
  return impl_->LoadDirectCase(id);
}

Result<DirectCase> Capture::Impl::LoadDirectCase(const std::string& id) {
  DirectCase dc;
  EventFilter filter;
  filter.study = study_id_;
  filter.stream = DirectCaseStream(id);
  TC_RETURN_IF_ERROR(store_->ForEachEvent(filter, [&](const Event& e) {
    ApplyDirectCaseEvent(dc, e);
    return Status::Ok();
  }));
  if (dc.version == 0) return NotFound("study " + study_id_ + " has no safety case " + id);
  return dc;
}

Result<Outcome> Capture::Impl::DirectCaseCommand(const std::string& op, const Value& cmd, const Actor& actor) {
  if (!study_->safety.declared) return FailedPrecondition("study " + study_id_ + " declares no safety section");
  TC_RETURN_IF_ERROR(RequireRole(actor, kIntakeRoles, "enter or import a safety case"));
  const int offset = study_->safety.utc_offset_minutes;
  const int64_t now = env_->NowMicros();
  // The study's cases, read once: an import's earlier reports, the next
  // number, possible duplicates.
  TC_ASSIGN_OR_RETURN(const std::vector<SafetyCaseLine> lines, AllSafetyCases(*store_, study_id_));
  Outcome out;
  std::vector<EventDraft> drafts;
  Value::Object p;
  std::string reason;
  std::optional<DirectCase> existing;
  std::string term, llt_code;

  if (op == "safety.receive" || op == "safety.update") {
    TC_RETURN_IF_ERROR(OnlyFields(cmd, {"op", "case", "source", "received", "reporter", "patient", "event", "product",
                                        "causality", "reference", "narrative", "reason"}));
    TC_ASSIGN_OR_RETURN(Value facts, DirectCaseFacts(*study_, cmd, now, offset));
    p["source"] = Value(OptionalText(cmd, "source"));
    p["received"] = Value(OptionalText(cmd, "received"));
    p["latest"] = Value(safety::FormatDate(safety::LocalDate(now, offset)));
    // Day 0 of a new case is the day it was received; new information's is
    // its own arrival, now.
    p["aware_us"] =
        Value(op == "safety.update" ? now : StartOfDay(*safety::ParseDate(OptionalText(cmd, "received")), offset));
    term = facts.Find("event")->Find("term")->as_string();
    p["facts"] = std::move(facts);
  } else if (op == "safety.import") {
    TC_RETURN_IF_ERROR(OnlyFields(cmd, {"op", "report", "file", "file_sha256", "reason"}));
    TC_ASSIGN_OR_RETURN(safety::Icsr icsr, CheckedReport(cmd));
    const std::string worldwide = icsr.Value("C.1.8.1").empty() ? icsr.safety_report_id() : icsr.Value("C.1.8.1");
    if (worldwide.empty()) return InvalidArgument("\"report\" has no case identifier (C.1.8.1 or C.1.1)");
    const std::string received = IsoDate(icsr.Value("C.1.4"));
    const std::string latest = IsoDate(icsr.Value("C.1.5")).empty() ? received : IsoDate(icsr.Value("C.1.5"));
    if (*safety::ParseDate(received) > safety::LocalDate(now, offset)) {
      return InvalidArgument("the report's date first received (C.1.4, " + received + ") is in the future");
    }
    // A report of a case already here is its follow-up when it is newer,
    // and refused when it is not (the same message imported twice).
    for (const SafetyCaseLine& line : lines) {
      if (line.worldwide_id != worldwide) continue;
      TC_ASSIGN_OR_RETURN(existing, LoadDirectCase(line.case_id));
      if (latest <= existing->latest_date) {
        return AlreadyExists("case " + worldwide + " was imported already as " + line.case_id +
                             " with information up to " + existing->latest_date +
                             "; this report adds none newer (C.1.5 " + latest + ")");
      }
    }
    p["source"] = Value("e2b");
    p["received"] = Value(received);
    p["latest"] = Value(latest);
    p["aware_us"] = Value(existing ? StartOfDay(*safety::ParseDate(latest), offset)
                                   : StartOfDay(*safety::ParseDate(received), offset));
    p["worldwide_id"] = Value(worldwide);
    p["file"] = Value(OptionalText(cmd, "file"));
    p["file_sha256"] = Value(OptionalText(cmd, "file_sha256"));
    const auto reactions = icsr.reactions();
    term = reactions.front().reported_term;
    llt_code = reactions.front().meddra_llt_code;
    p["report"] = ReportValue(icsr);
  } else {
    return InvalidArgument("unknown op \"" + op + "\" (see doc/capture_commands.md)");
  }

  if (op == "safety.update") {
    TC_ASSIGN_OR_RETURN(std::string id, RequiredText(cmd, "case"));
    TC_ASSIGN_OR_RETURN(existing, LoadDirectCase(id));
    if (existing->report) {
      return FailedPrecondition("safety case " + id + " was imported: its new information comes as a newer report");
    }
    TC_ASSIGN_OR_RETURN(reason, RequiredText(cmd, "reason"));
    if (p["source"].as_string() != existing->source) {
      return InvalidArgument("safety case " + id + " is a " + existing->source + " report, not " +
                             p["source"].as_string());
    }
  }
  if (existing && existing->c.nullified) {
    return FailedPrecondition("safety case " + existing->id + " is nullified; it takes no new information");
  }
  int number = 0;
  if (existing) {
    number = existing->c.number;
  } else {
    // The next number of the study's direct cases. Two intakes at once may
    // pick the same one: the second's new stream then exists, its append is
    // refused (Aborted) and it is decided again.
    for (const SafetyCaseLine& line : lines) number = std::max(number, DirectCaseNumber(line.case_id).value_or(0));
    ++number;
  }
  const std::string case_id = existing ? existing->id : DirectCaseId(number);
  const std::string stream = DirectCaseStream(case_id);
  p["case"] = Value(case_id);
  p["case_number"] = Value(static_cast<int64_t>(number));
  const std::string type = existing ? "safety.case.information" : "safety.case.received";
  drafts.push_back(Draft(stream, type, actor, reason, Value(std::move(p))));
  if (existing) {
    out.messages.push_back("safety case " + case_id + " has new information" +
                           (existing->c.approved_version == existing->c.version
                                ? ": version " + std::to_string(existing->c.version + 1) + " is started"
                                : ""));
  } else {
    out.messages.push_back("safety case " + case_id + " received; next: triage");
  }
  // Coding the term when it is new or changed.
  const bool recode = !existing || !existing->c.coding ||
                      safety::NormaliseMeddraTerm(existing->c.coding->verbatim) != safety::NormaliseMeddraTerm(term);
  if (recode) CodeOnIntake(*store_, stream, case_id, number, term, llt_code, actor, &drafts, &out.messages);
  int possible = 0;
  for (const SafetyCaseLine& line : lines) {
    possible += line.case_id != case_id && !line.term.empty() &&
                safety::NormaliseMeddraTerm(line.term) == safety::NormaliseMeddraTerm(term);
  }
  if (possible > 0) {
    out.messages.push_back("possible duplicates (same event term): " + std::to_string(possible) + "; triage decides");
  }
  Value::Object result;
  result["case"] = Value(case_id);
  out.result = Value(std::move(result));
  TC_ASSIGN_OR_RETURN(
      out.events, Commit(stream, existing ? existing->version : 0, std::move(drafts), existing ? &*existing : nullptr));
  return out;
}

Result<std::vector<std::string>> ImportE2bCases(Capture& capture, std::string_view xml, std::string_view source,
                                                const Actor& actor) {
  TC_ASSIGN_OR_RETURN(auto reference, CachedE2bReference());
  TC_ASSIGN_OR_RETURN(safety::E2bBatch batch, safety::ImportE2bBatch(xml, source, reference->schemas.get()));
  if (batch.icsrs.empty()) return InvalidArgument(std::string(source) + ": the batch holds no report");
  const std::string sha = ToHex(Sha256(xml));
  std::vector<Value> commands;
  for (const safety::Icsr& icsr : batch.icsrs) {
    Value::Object cmd;
    cmd["op"] = Value("safety.import");
    cmd["report"] = ReportValue(icsr);
    cmd["file"] = Value(std::string(source));
    cmd["file_sha256"] = Value(sha);
    commands.push_back(Value(std::move(cmd)));
  }
  // Each report is its own case: one commit each, in the batch's order. A
  // refusal names the report, and the ones before it that were stored.
  std::vector<std::string> out;
  for (size_t i = 0; i < commands.size(); ++i) {
    auto done = capture.Execute(commands[i], actor);
    if (!done.ok()) {
      const std::string where = std::string(source) + ": report " + std::to_string(i + 1) + " of " +
                                std::to_string(commands.size()) + " (" + batch.icsrs[i].safety_report_id() + ")";
      if (i == 0) return Status(done.status().code(), where + ": " + done.status().message());
      return Status(done.status().code(),
                    where + ": " + done.status().message() + "; the reports before it were imported");
    }
    const Value* c = done->result.Find("case");
    out.push_back(c != nullptr && c->is_string() ? c->as_string() : "");
  }
  return out;
}

}  // namespace trialcore::capture
