// The safety case workflow's commands (doc/safety_cases.md): triage, MedDRA
// coding, medical review, approval, submission, acknowledgement,
// nullification and unblinding, each an event in the subject's stream next
// to the AE row the case comes from. They are the safety team's, not the
// site's: a frozen or locked casebook and a locked database do not stop them
// (safety reporting goes on after database lock), and they never change the
// CRF.
#include <algorithm>

#include "capture/case_e2b.h"
#include "capture/direct_case.h"
#include "capture/impl.h"
#include "capture/safety_workflow.h"
#include "core/hash.h"
#include "safety/meddra_cache.h"
#include "safety/meddra_coder.h"
#include "safety/meddra_store.h"

namespace trialcore::capture {
namespace {

const std::initializer_list<std::string_view> kSafetyRoles = {"safety_physician"};
// A medical monitor may review a case medically; the rest stays the safety team's.
const std::initializer_list<std::string_view> kReviewRoles = {"safety_physician", "medical_monitor"};

Value::Object CasePayload(const std::string& subject, const SafetyCase& c) {
  Value::Object p;
  p["case"] = Value(SafetyCaseId(subject, c.number));
  p["case_number"] = Value(static_cast<int64_t>(c.number));
  p["visit"] = Value(c.visit);
  p["form"] = Value(c.form);
  return p;
}

Value Strings(const std::vector<std::string>& list) {
  Value::Array a;
  for (const auto& s : list) a.push_back(Value(s));
  return Value(std::move(a));
}

std::string NormalisedTerm(const std::string& term) { return safety::NormaliseMeddraTerm(term); }

Status WrongStage(const std::string& id, std::string_view stage, std::string_view what) {
  return FailedPrecondition("safety case " + id + " is at " + std::string(stage) + "; it cannot " + std::string(what) +
                            " now");
}

safety::MeddraCache& SharedMeddraCache() {
  static safety::MeddraCache cache;
  return cache;
}

}  // namespace

Result<MeddraChoice> ChooseMeddraCoding(EventStore& store, const Value& cmd, const std::string& term) {
  MeddraChoice out;
  TC_ASSIGN_OR_RETURN(out.coder, MeddraCoderFor(store, OptionalText(cmd, "meddra_version"), ""));
  const safety::MeddraDictionary& dictionary = out.coder->dictionary();
  const safety::MeddraCodingResult auto_result = out.coder->Code(term);
  const Value* llt = cmd.Find("llt");
  if (llt != nullptr && !llt->is_null()) {
    int64_t code = 0;
    if (llt->kind() == Value::Kind::kInt) {
      code = llt->as_int();
    } else if (llt->is_string() && !llt->as_string().empty() &&
               llt->as_string().find_first_not_of("0123456789") == std::string::npos && llt->as_string().size() <= 9) {
      code = std::stoll(llt->as_string());
    } else {
      return InvalidArgument("\"llt\" must be a MedDRA lowest level term code (digits)");
    }
    const safety::MeddraLlt* chosen = dictionary.FindLlt(static_cast<uint32_t>(code));
    if (chosen == nullptr) {
      return NotFound("MedDRA " + dictionary.version() + " has no lowest level term " + std::to_string(code));
    }
    if (!chosen->current) {
      return FailedPrecondition("MedDRA " + dictionary.version() + " lowest level term " + std::to_string(code) + " (" +
                                chosen->name + ") is not current; choose a current one");
    }
    out.coding = *out.coder->CodingOfLlt(chosen->code);
    out.method = auto_result.coded() && auto_result.coding.llt.code == out.coding.llt.code
                     ? std::string(safety::CodingRuleName(auto_result.rule))
                     : "chosen";
    return out;
  }
  if (auto_result.coded()) {
    out.coding = auto_result.coding;
    out.method = std::string(safety::CodingRuleName(auto_result.rule));
    return out;
  }
  std::string list;
  for (size_t i = 0; i < auto_result.candidates.size() && i < 5; ++i) {
    const auto& k = auto_result.candidates[i].coding;
    list += (i ? "; " : "") + std::to_string(k.llt.code) + " " + std::string(k.llt.name) + " (PT " +
            std::string(k.pt.name) + ")";
  }
  return FailedPrecondition("\"" + term + "\" has no single match in MedDRA " + dictionary.version() +
                            "; choose a lowest level term (\"llt\")" +
                            (list.empty() ? std::string(": no candidates") : ", for instance: " + list));
}

void PutCoding(const MeddraChoice& choice, const std::string& verbatim, Value::Object* payload) {
  Value::Object& p = *payload;
  const safety::MeddraCoding& coding = choice.coding;
  p["verbatim"] = Value(verbatim);
  p["meddra_version"] = Value(choice.coder->dictionary().version());
  p["meddra_language"] = Value(choice.coder->dictionary().language());
  p["method"] = Value(choice.method);
  p["llt"] = MeddraTermValue(coding.llt.code, coding.llt.name);
  p["pt"] = MeddraTermValue(coding.pt.code, coding.pt.name);
  p["hlt"] = MeddraTermValue(coding.hlt.code, coding.hlt.name);
  p["hlgt"] = MeddraTermValue(coding.hlgt.code, coding.hlgt.name);
  p["soc"] = MeddraTermValue(coding.soc.code, coding.soc.name);
}

Result<std::shared_ptr<const safety::MeddraCoder>> MeddraCoderFor(EventStore& store, const std::string& version,
                                                                  const std::string& language) {
  safety::MeddraCache& cache = SharedMeddraCache();
  if (!version.empty()) return cache.Coder(store, version, language);
  TC_ASSIGN_OR_RETURN(safety::MeddraVersionInfo latest, cache.Latest(store));
  return cache.Coder(store, latest.version, latest.language);
}

Result<Capture::Impl::NamedCase> Capture::Impl::FindNamedCase(const std::string& subject, const std::string& case_id) {
  NamedCase named;
  if (subject.empty()) {
    if (!DirectCaseNumber(case_id)) {
      return InvalidArgument("\"subject\" is required for safety case " + case_id + " (a case from the CRF)");
    }
    TC_ASSIGN_OR_RETURN(named.direct, LoadDirectCase(case_id));
    return named;
  }
  TC_ASSIGN_OR_RETURN(named.subject, FindSubject(subject));
  for (const auto& [n, sc] : named.subject->cases) {
    if (SafetyCaseId(subject, n) == case_id) named.crf_case = &sc;
  }
  if (named.crf_case == nullptr) return NotFound("subject " + subject + " has no safety case " + case_id);
  return named;
}

Result<Outcome> Capture::Impl::SafetyCommand(const std::string& op, const Value& cmd, const Actor& actor) {
  if (!study_->safety.declared) return FailedPrecondition("study " + study_id_ + " declares no safety section");
  TC_RETURN_IF_ERROR(OnlyFields(
      cmd, {"op", "subject", "case", "decision", "duplicate_of", "note", "llt", "meddra_version", "causality",
            "expectedness", "comment", "destination", "reason", "submission", "ack", "code", "errors"}));
  TC_ASSIGN_OR_RETURN(std::string case_id, RequiredText(cmd, "case"));
  const std::string id = OptionalText(cmd, "subject");
  TC_ASSIGN_OR_RETURN(NamedCase named, FindNamedCase(id, case_id));
  const SubjectState* s = named.subject;
  const std::optional<DirectCase>& direct = named.direct;
  const SafetyCase* c = &named.Case();
  // The study's other cases, for triage's duplicate check: id, term, onset.
  std::vector<std::tuple<std::string, std::string, std::string>> others;
  const AdverseEventFacts row = direct ? FactsOfDirectCase(*study_, *direct) : FactsOfCase(*study_, *s, *c);
  const std::string_view stage = CaseStage(*study_, *c, row);
  const std::string stream = direct ? DirectCaseStream(case_id) : SubjectStream(id);
  Value::Object p;
  if (direct) {
    p["case"] = Value(case_id);
    p["case_number"] = Value(static_cast<int64_t>(c->number));
  } else {
    p = CasePayload(id, *c);
  }
  Outcome out;
  std::string type, reason;

  if (op == "safety.triage") {
    TC_RETURN_IF_ERROR(RequireRole(actor, kSafetyRoles, "triage a safety case"));
    if (stage != "triage" && stage != "invalid") return WrongStage(case_id, stage, "be triaged");
    TC_ASSIGN_OR_RETURN(std::string decision, RequiredText(cmd, "decision"));
    // Validity (ICH E2A): an identifiable patient and reporter, a suspect
    // product and an event. The patient is the subject, the reporter the
    // site's investigator; the product and the event are the study's and
    // the row's.
    std::vector<std::string> missing;
    if (row.term.empty()) missing.push_back("event term");
    if (study_->safety.suspect_product.empty() && !direct) missing.push_back("suspect product");
    if (direct) {
      for (std::string& m : MissingForValidity(*direct)) missing.push_back(std::move(m));
    }
    // Possible duplicates: other cases of the same event and onset (a CRF
    // case's among its subject's; a direct case's among all the study's).
    if (direct) {
      TC_ASSIGN_OR_RETURN(others, CasesOfStudy(*store_, study_id_, case_id));
    } else {
      for (const auto& [n, other] : s->cases) {
        if (n == c->number) continue;
        const AdverseEventFacts f = FactsOfCase(*study_, *s, other);
        others.emplace_back(SafetyCaseId(id, n), f.term, f.onset);
      }
    }
    Value::Array duplicates;
    for (const auto& [other_id, term, onset] : others) {
      if (!term.empty() && NormalisedTerm(term) == NormalisedTerm(row.term) && onset == row.onset) {
        duplicates.push_back(Value(other_id));
      }
    }
    p["possible_duplicates"] = Value(duplicates);
    if (decision == "valid") {
      if (!missing.empty()) {
        std::string list;
        for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
        return FailedPrecondition("safety case " + case_id + " is not a valid case yet: it has no " + list);
      }
      p["valid"] = Value(true);
      out.messages.push_back("safety case " + case_id + " triaged as valid; next: MedDRA coding");
    } else if (decision == "invalid") {
      TC_ASSIGN_OR_RETURN(std::string note, RequiredText(cmd, "note"));
      p["valid"] = Value(false);
      p["note"] = Value(note);
      out.messages.push_back("safety case " + case_id + " triaged as not valid yet: " + note);
    } else if (decision == "duplicate") {
      TC_ASSIGN_OR_RETURN(std::string of, RequiredText(cmd, "duplicate_of"));
      const bool known = std::any_of(others.begin(), others.end(), [&](const auto& o) { return std::get<0>(o) == of; });
      if (!known) {
        return NotFound((direct ? "study " + study_id_ : "subject " + id) + " has no other safety case " + of);
      }
      p["valid"] = Value(true);
      p["duplicate_of"] = Value(of);
      out.messages.push_back("safety case " + case_id + " triaged as a duplicate of " + of);
    } else {
      return InvalidArgument("\"decision\" may be valid, invalid or duplicate, not \"" + decision + "\"");
    }
    p["missing"] = Strings(missing);
    if (!duplicates.empty() && decision != "duplicate") {
      out.messages.push_back("possible duplicates (same event and onset): " + std::to_string(duplicates.size()));
    }
    type = "safety.case.triaged";
  } else if (op == "safety.code") {
    TC_RETURN_IF_ERROR(RequireRole(actor, kSafetyRoles, "code a safety case"));
    if (stage != "coding" && stage != "medical_review" && stage != "approval") {
      return WrongStage(case_id, stage, "be coded");
    }
    if (row.term.empty()) return FailedPrecondition("safety case " + case_id + " has no event term to code");
    TC_ASSIGN_OR_RETURN(MeddraChoice choice, ChooseMeddraCoding(*store_, cmd, row.term));
    PutCoding(choice, row.term, &p);
    type = "safety.case.coded";
    out.messages.push_back("safety case " + case_id + " coded to " + std::string(choice.coding.pt.name) + " (" +
                           std::string(choice.coding.soc.name) + "), MedDRA " + choice.coder->dictionary().version());
  } else if (op == "safety.assess") {
    TC_RETURN_IF_ERROR(RequireRole(actor, kReviewRoles, "assess a safety case"));
    if (stage != "medical_review" && stage != "approval") return WrongStage(case_id, stage, "be assessed");
    TC_ASSIGN_OR_RETURN(std::string causality, RequiredText(cmd, "causality"));
    TC_ASSIGN_OR_RETURN(std::string expectedness, RequiredText(cmd, "expectedness"));
    if (causality != "related" && causality != "not_related") {
      return InvalidArgument("\"causality\" may be related or not_related, not \"" + causality + "\"");
    }
    if (expectedness != "expected" && expectedness != "unexpected") {
      return InvalidArgument("\"expectedness\" may be expected or unexpected, not \"" + expectedness + "\"");
    }
    const study::ReferenceSafetyInformation& rsi = study_->safety.reference_safety_information;
    // Expected means listed: a reaction the reference safety information
    // does not list cannot be called expected (ICH E2A II.C). The reverse
    // is the physician's to judge (a listed reaction more severe than
    // described is unexpected).
    if (expectedness == "expected") {
      if (!rsi.declared()) {
        return FailedPrecondition("study version " + study_->version +
                                  " holds no reference safety information; nothing is expected");
      }
      if (!ExpectedByRsi(*study_, c->coding->pt_name)) {
        return FailedPrecondition(c->coding->pt_name + " is not listed in the reference safety information (" +
                                  rsi.document + "); it is unexpected");
      }
    }
    const std::string comment = OptionalText(cmd, "comment");
    const CaseAssessmentFacts before = AssessmentFactsOf(*study_, *c, row);
    if (causality == "not_related" && before.investigator_related && comment.empty()) {
      return FailedPrecondition(
          "the investigator assessed this event as related (" + row.causality +
          "); say in \"comment\" why the sponsor differs (the case stays reportable as suspected)");
    }
    p["version"] = Value(static_cast<int64_t>(c->version));
    p["sponsor_causality"] = Value(causality);
    p["investigator_causality"] = Value(row.causality);
    p["expectedness"] = Value(expectedness);
    p["rsi_document"] = Value(rsi.document);
    p["study_version"] = Value(study_->version);
    p["pt"] = MeddraTermValue(c->coding->pt, c->coding->pt_name);
    if (!comment.empty()) p["comment"] = Value(comment);
    SafetyCase assessed = *c;
    SafetyAssessment& a = assessed.assessment.emplace();
    a.version = c->version;
    a.sponsor_causality = causality;
    a.expectedness = expectedness;
    const CaseAssessmentFacts after = AssessmentFactsOf(*study_, assessed, row);
    p["susar"] = Value(after.facts.Susar());
    type = "safety.case.assessed";
    out.messages.push_back("safety case " + case_id + " assessed: " +
                           (after.facts.Susar() ? "a SUSAR, reportable" : "not a SUSAR, not expedited"));
  } else if (op == "safety.approve") {
    TC_RETURN_IF_ERROR(RequireRole(actor, kSafetyRoles, "approve a safety case"));
    if (stage != "approval") return WrongStage(case_id, stage, "be approved");
    p["version"] = Value(static_cast<int64_t>(c->version));
    type = "safety.case.approved";
    out.messages.push_back("safety case " + case_id + " version " + std::to_string(c->version) + " approved");
  } else if (op == "safety.acknowledge") {
    TC_RETURN_IF_ERROR(RequireRole(actor, kSafetyRoles, "record an acknowledgement"));
    const Value* n = cmd.Find("submission");
    if (n == nullptr || n->kind() != Value::Kind::kInt) {
      return InvalidArgument("\"submission\" must be the submission's number");
    }
    auto sub = std::find_if(c->submissions.begin(), c->submissions.end(),
                            [&](const SafetySubmission& x) { return x.number == n->as_int(); });
    if (sub == c->submissions.end()) {
      return NotFound("safety case " + case_id + " has no submission " + std::to_string(n->as_int()));
    }
    if (!sub->ack.empty()) {
      return FailedPrecondition("submission " + std::to_string(sub->number) + " of " + case_id + " was already " +
                                sub->ack);
    }
    TC_ASSIGN_OR_RETURN(std::string ack, RequiredText(cmd, "ack"));
    if (ack != "accepted" && ack != "rejected") {
      return InvalidArgument("\"ack\" may be accepted or rejected, not \"" + ack + "\"");
    }
    p["submission"] = Value(n->as_int());
    p["ack"] = Value(ack);
    p["code"] = Value(OptionalText(cmd, "code"));
    Value::Array errors;
    if (const Value* e = cmd.Find("errors"); e != nullptr && e->kind() == Value::Kind::kArray) {
      for (const Value& x : e->as_array()) {
        if (!x.is_string()) return InvalidArgument("\"errors\" must be a list of texts");
        errors.push_back(x);
      }
    }
    p["errors"] = Value(std::move(errors));
    type = "safety.case.acknowledged";
    out.messages.push_back("submission " + std::to_string(sub->number) + " of safety case " + case_id + " " + ack +
                           " by " + sub->destination);
  } else if (op == "safety.submit") {
    TC_RETURN_IF_ERROR(RequireRole(actor, kSafetyRoles, "submit a safety case"));
    if (stage != "submission" && stage != "correction") return WrongStage(case_id, stage, "be submitted");
    TC_ASSIGN_OR_RETURN(std::string destination, RequiredText(cmd, "destination"));
    // What this destination is owed now: the current version, or the
    // nullification of what it received.
    bool owed = false;
    if (c->nullified) {
      owed = std::any_of(c->submissions.begin(), c->submissions.end(),
                         [&](const SafetySubmission& x) { return x.destination == destination; });
    } else {
      for (const OwedReport& r : ReportsOwed(*study_, *c, row)) {
        owed = owed || safety::DestinationName(r.due.destination) == destination;
      }
    }
    if (!owed) return FailedPrecondition("safety case " + case_id + " owes " + destination + " no report");
    for (const SafetySubmission& x : c->submissions) {
      if (x.destination == destination && x.version == c->version && x.nullification == c->nullified &&
          x.ack != "rejected") {
        return FailedPrecondition("version " + std::to_string(c->version) + " of " + case_id + " was sent to " +
                                  destination + " already (submission " + std::to_string(x.number) + ")");
      }
    }
    const int number = static_cast<int>(c->submissions.size()) + 1;
    TC_ASSIGN_OR_RETURN(CaseE2b e2b, direct
                                         ? BuildCaseE2b(*study_, *direct, destination, number, env_->NowMicros(), true)
                                         : BuildCaseE2b(*study_, *s, *c, destination, number, env_->NowMicros(), true));
    p["submission"] = Value(static_cast<int64_t>(number));
    p["version"] = Value(static_cast<int64_t>(c->version));
    p["destination"] = Value(destination);
    p["receiver"] = Value(e2b.receiver);
    p["batch_number"] = Value(e2b.batch_number);
    p["message_id"] = Value(e2b.message_id);
    p["safety_report_id"] = Value(e2b.safety_report_id);
    p["nullification"] = Value(e2b.nullification);
    p["file_sha256"] = Value(ToHex(Sha256(e2b.xml)));
    // The bytes sent are the record: the file can be fetched from the trail.
    p["file"] = Value(e2b.xml);
    Value::Array warnings;
    for (const auto& f : e2b.findings) {
      warnings.push_back(Value(f.rule + " " + f.element + ": " + f.message));
    }
    p["warnings"] = Value(std::move(warnings));
    type = "safety.case.submitted";
    out.messages.push_back("safety case " + case_id + " version " + std::to_string(c->version) +
                           (c->nullified ? " (nullification)" : "") + " submitted to " + destination + " as batch " +
                           e2b.batch_number +
                           (e2b.findings.empty() ? "" : "; warnings: " + std::to_string(e2b.findings.size())));
  } else if (op == "safety.unblind") {
    TC_RETURN_IF_ERROR(RequireRole(actor, kSafetyRoles, "unblind a safety case"));
    if (c->unblinded) return FailedPrecondition("safety case " + case_id + " is unblinded already");
    if (direct) {
      return FailedPrecondition("safety case " + case_id +
                                " is not from a subject of the study: it has no study treatment to unblind");
    }
    TC_ASSIGN_OR_RETURN(reason, RequiredText(cmd, "reason"));
    type = "safety.case.unblinded";
    out.messages.push_back(
        "safety case " + case_id +
        " unblinded for expedited reporting: its treatment is shown on the case to the safety role only");
  } else if (op == "safety.nullify") {
    TC_RETURN_IF_ERROR(RequireRole(actor, kSafetyRoles, "nullify a safety case"));
    if (c->nullified) return FailedPrecondition("safety case " + case_id + " is already nullified");
    TC_ASSIGN_OR_RETURN(reason, RequiredText(cmd, "reason"));
    type = "safety.case.nullified";
    const bool sent = std::any_of(c->submissions.begin(), c->submissions.end(),
                                  [](const SafetySubmission& x) { return !x.nullification; });
    out.messages.push_back("safety case " + case_id + " nullified" +
                           (sent ? "; send a nullification report to each destination that received it" : ""));
  } else {
    return InvalidArgument("unknown op \"" + op + "\" (see doc/capture_commands.md)");
  }
  TC_ASSIGN_OR_RETURN(out.events, Commit(stream, direct ? direct->version : s->version,
                                         {Draft(stream, type, actor, reason, Value(p))}, direct ? &*direct : nullptr));
  return out;
}

}  // namespace trialcore::capture
