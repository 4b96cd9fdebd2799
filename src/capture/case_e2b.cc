#include "capture/case_e2b.h"

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "capture/capture.h"
#include "capture/reads.h"
#include "capture/sae_reaction.h"
#include "capture/safety_workflow.h"
#include "safety/case_report.h"
#include "safety/e2b_ack.h"
#include "safety/e2b_export.h"
#include "safety/e2b_reference.h"

namespace trialcore::capture {
namespace {

// A value of a non-repeating item, from whichever visit collects its form.
std::string SubjectItem(const SubjectState& subject, const study::ItemRef& ref) {
  if (ref.form.empty()) return "";
  for (const auto& [visit, v] : subject.visits) {
    auto f = v.forms.find(ref.form);
    if (f == v.forms.end()) continue;
    const ItemState* item = f->second.Find(ref.item);
    if (item == nullptr || item->value.is_null()) continue;
    if (item->value.is_string()) return item->value.as_string();
    if (item->value.kind() == Value::Kind::kInt) return std::to_string(item->value.as_int());
  }
  return "";
}

// ISO 3166 alpha-2 of a site's country as study files write it ("USA",
// "US"); empty when not known here (the sender's country is used then).
std::string Alpha2(const std::string& country) {
  static const std::pair<const char*, const char*> kAlpha3[] = {
      {"USA", "US"}, {"GBR", "GB"}, {"DEU", "DE"}, {"FRA", "FR"}, {"ESP", "ES"}, {"ITA", "IT"}, {"NLD", "NL"},
      {"BEL", "BE"}, {"POL", "PL"}, {"CAN", "CA"}, {"AUS", "AU"}, {"JPN", "JP"}, {"CHE", "CH"}, {"SWE", "SE"}};
  if (country.size() == 2) return country;
  for (const auto& [a3, a2] : kAlpha3) {
    if (country == a3) return a2;
  }
  return "";
}

std::string Causality(const study::Study& study, const std::string& value) {
  if (value.empty()) return "";
  const auto& related = study.safety.adverse_events.related;
  return std::find(related.begin(), related.end(), value) != related.end() ? "related" : "not_related";
}

// The CRF's outcome (CDISC's OUT terms, or the same words with '_') as
// case_report.h names them.
std::string OutcomeCode(const std::string& crf) {
  static const std::pair<const char*, const char*> kOutcomes[] = {
      {"RECOVERED/RESOLVED WITH SEQUELAE", "RECOVERED_WITH_SEQUELAE"},
      {"RECOVERED/RESOLVED", "RECOVERED"},
      {"RECOVERING/RESOLVING", "RECOVERING"},
      {"NOT RECOVERED/NOT RESOLVED", "NOT_RECOVERED"},
      {"FATAL", "FATAL"},
      {"UNKNOWN", "UNKNOWN"}};
  for (const auto& [cdisc, code] : kOutcomes) {
    if (crf == cdisc) return code;
  }
  return crf;
}

// The reaction (E.i): the term, its coding, the seriousness criteria, onset
// and outcome (the CRF's outcome words as case_report.h names them).
void FillReaction(const AdverseEventFacts& facts, const SafetyCoding& coding, safety::CaseReport* report) {
  safety::CaseReport& r = *report;
  r.verbatim_term = facts.term;
  r.meddra_version = coding.meddra_version;
  r.llt_code = std::to_string(coding.llt);
  auto criterion = [&](std::string_view name) {
    return std::find(facts.criteria.begin(), facts.criteria.end(), name) != facts.criteria.end();
  };
  r.death = criterion("death") || facts.outcome == "FATAL";
  r.life_threatening = criterion("life_threatening");
  r.hospitalisation = criterion("hospitalisation");
  r.disability = criterion("disability");
  r.congenital_anomaly = criterion("congenital_anomaly");
  r.other_medically_important = criterion("other_medically_important");
  r.onset_date = facts.onset;
  r.outcome = OutcomeCode(facts.outcome);
}

// Which case version is sent, when and to whom (C.1.1's report number,
// N.2.r.1's version, C.1.4, C.1.5, C.1.2, N.2.r.3).
void FillCaseVersion(const SafetyCase& c, const std::string& case_id, const std::string& destination, int64_t now_us,
                     safety::CaseReport* report) {
  safety::CaseReport& r = *report;
  r.case_id = case_id;
  // A nullification is a report of its own, after every version sent
  // (FDA's R0101: never a case's first message).
  r.version = c.nullified ? c.version + 1 : c.version;
  r.first_received_us = c.aware_us;
  r.latest_received_us = std::max(c.updated_us, c.version_aware_us);
  r.transmission_us = now_us;
  r.message_receiver = destination == "FDA" ? "CDER_IND" : "EVCTMPROD";
}

// The sponsor as the sender of every report (N.1.3, N.2.r.2, C.3).
void FillSender(const study::SafetySettings& settings, safety::CaseReport* report) {
  safety::CaseReport& r = *report;
  r.sender_id = settings.sender.id;
  r.sender_organisation = settings.sender.organisation;
  r.sender_country = settings.sender.country;
  r.sender_department = settings.sender.department;
  r.sender_contact_title = settings.sender.contact_title;
  r.sender_contact_given = settings.sender.contact_given;
  r.sender_contact_family = settings.sender.contact_family;
  r.sender_street = settings.sender.street;
  r.sender_city = settings.sender.city;
  r.sender_state = settings.sender.state;
  r.sender_postcode = settings.sender.postcode;
  r.sender_phone = settings.sender.phone;
  r.sender_fax = settings.sender.fax;
  r.sender_email = settings.sender.email;
  r.utc_offset_minutes = settings.utc_offset_minutes;
}

Status CheckReportable(const study::Study& study, const SafetyCase& c, const std::string& case_id,
                       const std::string& destination) {
  if (destination != "FDA" && destination != "EU") {
    return InvalidArgument("\"destination\" may be FDA or EU, not \"" + destination + "\"");
  }
  const auto& destinations = study.safety.destinations;
  if (std::find(destinations.begin(), destinations.end(), destination) == destinations.end()) {
    return FailedPrecondition("study " + study.id + " does not report to " + destination + " (its safety section)");
  }
  if (!c.coding) {
    return FailedPrecondition("safety case " + case_id + " has no MedDRA coding; code it before it is reported");
  }
  return Status::Ok();
}

// A direct case's report as entered, in the same CaseReport as a CRF case.
Result<CaseIcsr> EnteredCaseIcsr(const study::Study& study, const DirectCase& dc, const std::string& destination,
                                 const std::string& batch_number, int64_t now_us) {
  const AdverseEventFacts facts = FactsOfDirectCase(study, dc);
  const study::SafetySettings& settings = study.safety;
  const SafetyCase& c = dc.c;
  safety::CaseReport r;
  FillSender(settings, &r);
  FillCaseVersion(c, dc.id, destination, now_us, &r);
  r.report_type = "1";  // spontaneous; a literature report too, unless it describes a study
  r.ind_number = settings.ind_number;
  const Value* reporter = dc.facts.Find("reporter");
  auto reporter_text = [&](std::string_view key) -> std::string {
    const Value* v = reporter != nullptr && reporter->is_object() ? reporter->Find(key) : nullptr;
    return v != nullptr && v->is_string() ? v->as_string() : "";
  };
  static const std::pair<const char*, const char*> kQualification[] = {
      {"physician", "1"}, {"pharmacist", "2"}, {"other_health_professional", "3"}, {"lawyer", "4"}, {"consumer", "5"}};
  r.reporter_qualification = "";
  for (const auto& [name, code] : kQualification) {
    if (reporter_text("qualification") == name) r.reporter_qualification = code;
  }
  r.reporter_given_name = reporter_text("given");
  r.reporter_family_name = reporter_text("family");
  r.reporter_email = reporter_text("email");
  r.reporter_country = reporter_text("country").empty() ? settings.sender.country : reporter_text("country");
  const Value* patient = dc.facts.Find("patient");
  if (patient != nullptr && patient->is_object()) {
    if (const Value* sex = patient->Find("sex"); sex != nullptr && sex->is_string()) r.sex = sex->as_string();
    if (const Value* age = patient->Find("age"); age != nullptr && age->is_string()) r.age_years = age->as_string();
  }
  FillReaction(facts, *c.coding, &r);
  const Value* product = dc.facts.Find("product");
  r.product_name = product != nullptr && product->is_string() ? product->as_string() : settings.suspect_product;
  r.investigator_causality = facts.related_by_reporter ? "related" : facts.causality;
  if (c.assessment) r.sponsor_causality = c.assessment->sponsor_causality;
  if (const Value* n = dc.facts.Find("narrative"); n != nullptr && n->is_string()) r.narrative = n->as_string();
  r.nullification = c.nullified;
  r.nullification_reason = c.nullification_reason;

  CaseIcsr out;
  out.receiver = destination == "FDA" ? "ZZFDA_PREMKT" : "EVHUMAN";
  out.message_id = safety::MessageIdOf(r);
  out.safety_report_id = safety::SafetyReportIdOf(r);
  TC_ASSIGN_OR_RETURN(out.icsr, safety::IcsrFromCase(r));
  // Not a study report: no study section (the IND stays: it routes the
  // report to the product's file at FDA).
  for (const char* number : {"C.5.2", "C.5.3", "C.5.4"}) out.icsr.Remove(number, {});
  if (const Value* ref = dc.facts.Find("reference"); ref != nullptr && ref->is_string()) {
    out.icsr.Set("C.4.r.1", {1}, ref->as_string());
  }
  out.header = safety::BatchHeaderFor(r, out.receiver, batch_number);
  return out;
}

// An imported report as received, sent on by this sponsor: its own
// transmission (N.2.r, C.1.2) and sender (C.3), the case's coding of the
// first reaction, the sponsor's causality and a nullification; every other
// element as it came.
Result<CaseIcsr> ImportedCaseIcsr(const study::Study& study, const DirectCase& dc, const std::string& destination,
                                  const std::string& batch_number, int64_t now_us) {
  const study::SafetySettings& settings = study.safety;
  const SafetyCase& c = dc.c;
  safety::CaseReport r;
  FillSender(settings, &r);
  FillCaseVersion(c, dc.id, destination, now_us, &r);
  r.reporter_country = settings.sender.country;
  // The sender's part of the message built the same way as for every other
  // report, then moved onto the report received.
  safety::CaseReport header_only = r;
  header_only.verbatim_term = "-";
  header_only.product_name = "-";
  header_only.llt_code = "1";
  header_only.meddra_version = "1";
  TC_ASSIGN_OR_RETURN(safety::Icsr ours, safety::IcsrFromCase(header_only));
  safety::Icsr icsr = *dc.report;
  auto senders = [](const std::string& number) {
    return number.starts_with("N.2.r.") || number == "C.1.2" || number.starts_with("C.3.");
  };
  std::vector<std::string> replaced;
  for (const safety::E2bElement& e : icsr.elements()) {
    if (senders(e.number) || e.number.starts_with("C.1.11.")) replaced.push_back(e.number);
  }
  for (const std::string& number : replaced) icsr.Remove(number, {});
  for (const safety::E2bElement& e : ours.elements()) {
    if (senders(e.number)) icsr.Put(e);
  }
  // N.2.r.1 is this sender's message, per case version.
  const std::string message_id = settings.sender.id + "-" + dc.id + "-v" + std::to_string(r.version);
  icsr.Set("N.2.r.1", {}, message_id);
  if (c.coding) {
    icsr.Set("E.i.2.1a", {1}, c.coding->meddra_version);
    icsr.Set("E.i.2.1b", {1}, std::to_string(c.coding->llt));
  }
  if (c.nullified) {
    icsr.Set("C.1.11.1", {}, "1");
    icsr.Set("C.1.11.2", {}, c.nullification_reason);
  }
  if (c.assessment) {
    // The sponsor's own assessment beside the reporter's, for each suspect
    // product and the first reaction (G.k.9.i.2.r, the next r).
    for (const auto& drug : icsr.suspect_drugs()) {
      uint16_t next = 1;
      for (const auto& existing : icsr.causality()) {
        if (existing.k == drug.k && existing.i == 1) next = std::max<uint16_t>(next, existing.r + 1);
      }
      icsr.Set("G.k.9.i.2.r.1", {drug.k, 1, next}, "Sponsor");
      icsr.Set("G.k.9.i.2.r.2", {drug.k, 1, next}, "Global Introspection");
      icsr.Set("G.k.9.i.2.r.3", {drug.k, 1, next},
               c.assessment->sponsor_causality == "related" ? "Suspected" : "Not Suspected");
    }
  }
  CaseIcsr out;
  out.receiver = destination == "FDA" ? "ZZFDA_PREMKT" : "EVHUMAN";
  out.message_id = message_id;
  out.safety_report_id = icsr.safety_report_id();
  out.icsr = std::move(icsr);
  out.header = safety::BatchHeaderFor(r, out.receiver, batch_number);
  return out;
}

Result<CaseE2b> FinishCaseE2b(CaseIcsr built, const std::string& batch_number, bool nullified,
                              const std::string& destination, int64_t now_us, bool strict) {
  CaseE2b out;
  out.destination = destination;
  out.receiver = built.receiver;
  out.nullification = nullified;
  out.message_id = built.message_id;
  out.safety_report_id = built.safety_report_id;
  out.batch_number = batch_number;
  if (strict) {
    TC_ASSIGN_OR_RETURN(safety::E2bSubmission sent, PrepareCaseBatch(built.header, {built.icsr}, destination, now_us));
    out.xml = std::move(sent.xml);
    out.findings = std::move(sent.warnings);
    return out;
  }
  // For the case page: every finding, and the message when it can be made.
  TC_ASSIGN_OR_RETURN(auto reference, CachedE2bReference());
  if (destination == "FDA") {
    out.findings = reference->rules.Check(built.header, built.icsr, safety::FdaRoute::kPremarket, now_us / 1'000'000);
  }
  auto xml = safety::ExportE2bBatch(built.header, std::vector<safety::Icsr>{built.icsr}, reference->schemas.get());
  if (xml.ok()) {
    out.xml = std::move(*xml);
  } else {
    out.findings.push_back({"schema", "", true, xml.status().message()});
  }
  return out;
}

}  // namespace

// The reference files, loaded once per process and directory.
Result<std::shared_ptr<const safety::E2bReference>> CachedE2bReference() {
  static std::mutex mu;
  static std::unordered_map<std::string, std::shared_ptr<const safety::E2bReference>> loaded;
  const std::string dir = safety::DefaultE2bDir();
  std::lock_guard lock(mu);
  if (auto it = loaded.find(dir); it != loaded.end()) return it->second;
  TC_ASSIGN_OR_RETURN(auto reference, safety::E2bReference::Load(dir));
  loaded.emplace(dir, reference);
  return reference;
}

Result<CaseIcsr> CaseIcsrOf(const study::Study& study, const DirectCase& dc, const std::string& destination,
                            const std::string& batch_number, int64_t now_us) {
  TC_RETURN_IF_ERROR(CheckReportable(study, dc.c, dc.id, destination));
  if (dc.report) return ImportedCaseIcsr(study, dc, destination, batch_number, now_us);
  return EnteredCaseIcsr(study, dc, destination, batch_number, now_us);
}

Result<CaseE2b> BuildCaseE2b(const study::Study& study, const DirectCase& dc, const std::string& destination,
                             int submission, int64_t now_us, bool strict) {
  const std::string batch_number = dc.id + "-" + std::to_string(submission);
  TC_ASSIGN_OR_RETURN(CaseIcsr built, CaseIcsrOf(study, dc, destination, batch_number, now_us));
  return FinishCaseE2b(std::move(built), batch_number, dc.c.nullified, destination, now_us, strict);
}

Result<CaseIcsr> CaseIcsrOf(const study::Study& study, const SubjectState& subject, const SafetyCase& c,
                            const std::string& destination, const std::string& batch_number, int64_t now_us) {
  TC_RETURN_IF_ERROR(CheckReportable(study, c, SafetyCaseId(subject.id, c.number), destination));
  const AdverseEventFacts row = FactsOfCase(study, subject, c);
  const study::SafetySettings& settings = study.safety;

  safety::CaseReport r;
  FillSender(settings, &r);
  FillCaseVersion(c, SafetyCaseId(subject.id, c.number), destination, now_us, &r);
  r.study_id = study.id;
  r.study_title = study.title;
  r.ind_number = settings.ind_number;
  r.subject_id = subject.id;
  r.sex = SubjectItem(subject, settings.patient_sex);
  r.age_years = SubjectItem(subject, settings.patient_age);
  for (const study::Site& site : study.sites) {
    if (site.id != subject.site) continue;
    r.reporter_country = Alpha2(site.country);
    r.reporter_given_name = site.investigator_given;
    r.reporter_family_name = site.investigator_family;
    r.reporter_email = site.investigator_email;
  }
  if (r.reporter_country.empty()) r.reporter_country = settings.sender.country;
  FillReaction(row, *c.coding, &r);
  r.product_name = settings.suspect_product;
  r.investigator_causality = Causality(study, row.causality);
  if (c.assessment) r.sponsor_causality = c.assessment->sponsor_causality;
  r.nullification = c.nullified;
  r.nullification_reason = c.nullification_reason;

  CaseIcsr out;
  out.receiver = destination == "FDA" ? "ZZFDA_PREMKT" : "EVHUMAN";
  out.message_id = safety::MessageIdOf(r);
  out.safety_report_id = safety::SafetyReportIdOf(r);
  TC_ASSIGN_OR_RETURN(out.icsr, safety::IcsrFromCase(r));
  out.header = safety::BatchHeaderFor(r, out.receiver, batch_number);
  return out;
}

Result<safety::E2bSubmission> PrepareCaseBatch(const safety::E2bBatchHeader& header,
                                               const std::vector<safety::Icsr>& icsrs, const std::string& destination,
                                               int64_t now_us) {
  TC_ASSIGN_OR_RETURN(auto reference, CachedE2bReference());
  if (destination == "FDA") {
    return safety::PrepareE2bSubmission(header, icsrs, *reference->schemas, reference->rules,
                                        safety::FdaRoute::kPremarket, now_us / 1'000'000);
  }
  // EudraVigilance takes the ICH message; FDA's regional rules are not its.
  TC_ASSIGN_OR_RETURN(std::string xml, safety::ExportE2bBatch(header, icsrs, reference->schemas.get()));
  return safety::E2bSubmission{std::move(xml), {}};
}

Result<CaseE2b> BuildCaseE2b(const study::Study& study, const SubjectState& subject, const SafetyCase& c,
                             const std::string& destination, int submission, int64_t now_us, bool strict) {
  const std::string batch_number = SafetyCaseId(subject.id, c.number) + "-" + std::to_string(submission);
  TC_ASSIGN_OR_RETURN(CaseIcsr built, CaseIcsrOf(study, subject, c, destination, batch_number, now_us));
  return FinishCaseE2b(std::move(built), batch_number, c.nullified, destination, now_us, strict);
}

Result<std::vector<AckApplied>> ApplyE2bAck(Capture& capture, std::string_view xml, std::string_view source,
                                            const Actor& actor) {
  TC_ASSIGN_OR_RETURN(auto reference, CachedE2bReference());
  TC_ASSIGN_OR_RETURN(safety::E2bAck ack, safety::ParseE2bAck(xml, source, reference->schemas.get()));
  TC_ASSIGN_OR_RETURN(std::vector<SafetySubmissionLine> sent,
                      FindSafetySubmissions(capture.store(), capture.study_id(), ack.acked_batch_number));
  if (ack.acked_batch_number.empty() || sent.empty()) {
    return NotFound(std::string(source) + ": acknowledges batch \"" + ack.acked_batch_number + "\", which study " +
                    capture.study_id() + " never sent");
  }
  std::vector<std::string> ids;
  for (const auto& line : sent) {
    ids.push_back(line.message_id);
    ids.push_back(line.safety_report_id);
  }
  if (Status targets = safety::CheckAckTargets(ack, ack.acked_batch_number, ids); !targets.ok()) {
    return NotFound(std::string(source) + ": " + targets.message());
  }
  std::vector<AckApplied> out;
  for (const auto& line : sent) {
    if (!line.ack.empty()) {
      return FailedPrecondition(std::string(source) + ": submission " + std::to_string(line.submission) + " of " +
                                line.case_id + " (batch " + line.batch_number + ") was " + line.ack + " already");
    }
    AckApplied a;
    a.subject = line.subject;
    a.case_id = line.case_id;
    a.destination = line.destination;
    a.submission = line.submission;
    // A message-level answer when the receiver gave one; else the batch's
    // (AA accepted, AE and AR: not every report accepted).
    const safety::E2bAck::Message* message = nullptr;
    for (const auto& m : ack.messages) {
      if (m.Names(line.message_id) || m.Names(line.safety_report_id)) message = &m;
    }
    if (message != nullptr) {
      a.ack = message->accepted() ? "accepted" : "rejected";
      a.code = message->code;
      a.errors = message->errors;
    } else {
      a.ack = ack.batch_code == "AA" ? "accepted" : "rejected";
      a.code = ack.batch_code;
    }
    a.errors.insert(a.errors.end(), ack.batch_errors.begin(), ack.batch_errors.end());
    out.push_back(std::move(a));
  }
  for (const AckApplied& a : out) {
    Value::Array errors;
    for (const auto& e : a.errors) errors.push_back(Value(e));
    Value::Object cmd;
    cmd["op"] = Value("safety.acknowledge");
    if (!a.subject.empty()) cmd["subject"] = Value(a.subject);
    cmd["case"] = Value(a.case_id);
    cmd["submission"] = Value(a.submission);
    cmd["ack"] = Value(a.ack);
    cmd["code"] = Value(a.code);
    cmd["errors"] = Value(std::move(errors));
    TC_RETURN_IF_ERROR(capture.Execute(Value(std::move(cmd)), actor).status());
  }
  return out;
}

}  // namespace trialcore::capture
