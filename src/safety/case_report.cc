#include "safety/case_report.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <string_view>
#include <utility>

#include "safety/reporting_clock.h"

namespace trialcore::safety {

namespace {

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

// "YYYY-MM-DD", "YYYY-MM" or "YYYY" (CRFs record partial dates) to E2B's
// CCYYMMDD, CCYYMM or CCYY.
Result<std::string> E2bDateOf(std::string_view field, const std::string& date) {
  const bool shape_ok = (date.size() == 4 || date.size() == 7 || date.size() == 10) &&
                        AllDigits(std::string_view(date).substr(0, 4)) &&
                        (date.size() < 7 || (date[4] == '-' && AllDigits(std::string_view(date).substr(5, 2)))) &&
                        (date.size() < 10 || (date[7] == '-' && AllDigits(std::string_view(date).substr(8, 2))));
  if (!shape_ok) {
    return InvalidArgument(std::string(field) + " \"" + date + "\" is not YYYY-MM-DD, YYYY-MM or YYYY");
  }
  std::string out;
  std::copy_if(date.begin(), date.end(), std::back_inserter(out), [](char ch) { return ch != '-'; });
  return out;
}

// The CRF's outcome codes to E.i.7's.
Result<std::string> OutcomeCode(const std::string& outcome) {
  static const std::pair<const char*, const char*> kCodes[] = {{"RECOVERED", "1"},
                                                               {"RECOVERING", "2"},
                                                               {"NOT_RECOVERED", "3"},
                                                               {"RECOVERED_WITH_SEQUELAE", "4"},
                                                               {"FATAL", "5"},
                                                               {"UNKNOWN", "0"},
                                                               {"", "0"}};
  for (const auto& [crf, e2b] : kCodes) {
    if (outcome == crf) return std::string(e2b);
  }
  return InvalidArgument("outcome \"" + outcome +
                         "\" is not RECOVERED, RECOVERING, NOT_RECOVERED, RECOVERED_WITH_SEQUELAE, FATAL or UNKNOWN");
}

// "related" / "not_related" to the result wording FDA's rules ask for; "" = not assessed.
Result<std::string> CausalityResult(std::string_view field, const std::string& causality) {
  if (causality.empty()) return std::string();
  if (causality == "related") return std::string("Suspected");
  if (causality == "not_related") return std::string("Not Suspected");
  return InvalidArgument(std::string(field) + " \"" + causality + "\" is not related, not_related or empty");
}

Status CheckIdentity(const CaseReport& c) {
  if (c.sender_id.empty()) return InvalidArgument("sender_id is empty (N.2.r.2)");
  if (c.case_id.empty()) return InvalidArgument("case_id is empty (C.1.1)");
  if (c.version < 1) return InvalidArgument("version " + std::to_string(c.version) + " is not 1 or more");
  if (c.transmission_us <= 0) return InvalidArgument("transmission_us is not set (C.1.2)");
  if (c.first_received_us <= 0) return InvalidArgument("first_received_us is not set (C.1.4)");
  // A case version cannot know of information after it was sent, nor before day 0.
  if (c.latest_received_us < c.first_received_us || c.latest_received_us > c.transmission_us) {
    return InvalidArgument("latest_received_us is not between first_received_us and transmission_us (C.1.5)");
  }
  if (c.nullification && c.version == 1) {
    return InvalidArgument("a nullification cannot be the initial report (version 1; FDA R0101)");
  }
  if (c.nullification && c.nullification_reason.empty()) {
    return InvalidArgument("a nullification needs nullification_reason (C.1.11.2)");
  }
  return Status::Ok();
}

// FDA's regional elements (FDA.*, and the IND as G.k.3.1) go to FDA's
// receivers only: other regions have no use for FDA's code lists.
bool ForFda(const CaseReport& c) {
  static const char* const kFda[] = {"CDER_IND", "CBER_IND", "CDER_IND_EXEMPT_BA_BE", "CDER", "CBER"};
  return std::any_of(std::begin(kFda), std::end(kFda), [&](const char* r) { return c.message_receiver == r; });
}

void SetIfGiven(Icsr& icsr, std::string_view number, std::vector<uint16_t> index, const std::string& value) {
  if (!value.empty()) icsr.Set(number, std::move(index), value);
}

void SetOrNull(Icsr& icsr, std::string_view number, std::vector<uint16_t> index, const std::string& value,
               const char* null_flavor) {
  if (value.empty()) {
    icsr.SetNull(number, std::move(index), null_flavor);
  } else {
    icsr.Set(number, std::move(index), value);
  }
}

// N.2.r, C.1: who sends what to whom, when, and which report it is.
void AddIdentification(const CaseReport& c, Icsr& icsr) {
  const std::string report_id = SafetyReportIdOf(c);
  icsr.Set("N.2.r.1", {}, MessageIdOf(c));
  icsr.Set("N.2.r.2", {}, c.sender_id);
  icsr.Set("N.2.r.3", {}, c.message_receiver);
  icsr.Set("N.2.r.4", {}, E2bTimestamp(c.transmission_us));
  icsr.Set("C.1.1", {}, report_id);
  icsr.Set("C.1.2", {}, E2bTimestamp(c.transmission_us));
  icsr.Set("C.1.3", {}, c.report_type);
  icsr.Set("C.1.4", {}, E2bDate(c.first_received_us, c.utc_offset_minutes));
  icsr.Set("C.1.5", {}, E2bDate(c.latest_received_us, c.utc_offset_minutes));
  icsr.Set("C.1.6.1", {}, "false");  // no documents held: the CRF is the source
  icsr.Set("C.1.7", {}, c.expedited ? "true" : "false");
  if (ForFda(c)) {
    const bool seven_day = c.death || c.life_threatening;
    icsr.Set("FDA.C.1.7.1", {}, !c.expedited ? "2" : seven_day ? "6" : "1");
    icsr.Set("FDA.C.1.12", {}, c.combination_product ? "true" : "false");
  }
  icsr.Set("C.1.8.1", {}, c.worldwide_case_id.empty() ? report_id : c.worldwide_case_id);
  icsr.Set("C.1.8.2", {}, c.first_sender);
  icsr.SetNull("C.1.9.1", {}, "NI");
  if (c.nullification) {
    icsr.Set("C.1.11.1", {}, "1");
    icsr.Set("C.1.11.2", {}, c.nullification_reason);
  }
}

// C.2.r: the investigator, the one primary source.
void AddReporter(const CaseReport& c, Icsr& icsr) {
  SetIfGiven(icsr, "C.2.r.1.2", {1}, c.reporter_given_name);
  SetIfGiven(icsr, "C.2.r.1.4", {1}, c.reporter_family_name);
  if (ForFda(c)) SetIfGiven(icsr, "FDA.C.2.r.2.8", {1}, c.reporter_email);
  SetOrNull(icsr, "C.2.r.3", {1}, c.reporter_country, "UNK");
  SetOrNull(icsr, "C.2.r.4", {1}, c.reporter_qualification, "UNK");
  icsr.Set("C.2.r.5", {1}, "1");
}

// C.3: the sponsor.
void AddSender(const CaseReport& c, Icsr& icsr) {
  icsr.Set("C.3.1", {}, c.sender_type);
  SetIfGiven(icsr, "C.3.2", {}, c.sender_organisation);
  const std::pair<const char*, const std::string*> contact[] = {
      {"C.3.3.1", &c.sender_department},     {"C.3.3.2", &c.sender_contact_title}, {"C.3.3.3", &c.sender_contact_given},
      {"C.3.3.5", &c.sender_contact_family}, {"C.3.4.1", &c.sender_street},        {"C.3.4.2", &c.sender_city},
      {"C.3.4.3", &c.sender_state},          {"C.3.4.4", &c.sender_postcode},      {"C.3.4.5", &c.sender_country},
      {"C.3.4.6", &c.sender_phone},          {"C.3.4.7", &c.sender_fax},           {"C.3.4.8", &c.sender_email}};
  for (const auto& [number, value] : contact) SetIfGiven(icsr, number, {}, *value);
}

// C.5: the study, its registration and FDA's IND numbers.
void AddStudy(const CaseReport& c, Icsr& icsr) {
  if (!c.registration_number.empty()) {
    icsr.Set("C.5.1.r.1", {1}, c.registration_number);
    SetIfGiven(icsr, "C.5.1.r.2", {1}, c.registration_country);
  }
  SetIfGiven(icsr, "C.5.2", {}, c.study_title);
  SetIfGiven(icsr, "C.5.3", {}, c.study_id);
  icsr.Set("C.5.4", {}, c.study_type);
  if (c.ind_number.empty() || !ForFda(c)) return;
  icsr.Set("FDA.C.5.5a", {}, c.ind_number);
  if (c.cross_reported_inds.empty()) icsr.SetNull("FDA.C.5.6.r", {1}, "NA");
  for (size_t r = 0; r < c.cross_reported_inds.size(); ++r) {
    icsr.Set("FDA.C.5.6.r", {static_cast<uint16_t>(r + 1)}, c.cross_reported_inds[r]);
  }
}

// D: the patient, masked except for the study's own subject number.
Status AddPatient(const CaseReport& c, Icsr& icsr) {
  icsr.SetNull("D.1", {}, "MSK");
  SetIfGiven(icsr, "D.1.1.4", {}, c.subject_id);
  if (!c.age_years.empty()) {
    if (!AllDigits(c.age_years)) return InvalidArgument("age_years \"" + c.age_years + "\" is not a whole number");
    icsr.Set("D.2.2a", {}, c.age_years);
    icsr.Set("D.2.2b", {}, "a");
  }
  if (c.sex != "M" && c.sex != "F" && !c.sex.empty()) {
    return InvalidArgument("sex \"" + c.sex + "\" is not M, F or empty");
  }
  SetOrNull(icsr, "D.5", {}, c.sex == "M" ? "1" : c.sex == "F" ? "2" : "", "UNK");
  if (ForFda(c)) {
    SetOrNull(icsr, "FDA.D.11.r.1", {1}, c.race, "UNK");
    SetOrNull(icsr, "FDA.D.12", {}, c.ethnicity, "UNK");
  }
  SetOrNull(icsr, "D.7.2", {}, c.medical_history, "UNK");
  return Status::Ok();
}

// D.9: the death, when the reaction is fatal.
Status AddDeath(const CaseReport& c, Icsr& icsr) {
  if (!c.death) return Status::Ok();
  if (c.death_date.empty()) {
    icsr.SetNull("D.9.1", {}, "ASKU");
  } else {
    TC_ASSIGN_OR_RETURN(std::string date, E2bDateOf("death_date", c.death_date));
    icsr.Set("D.9.1", {}, date);
  }
  if (!c.llt_code.empty()) {
    icsr.Set("D.9.2.r.1a", {1}, c.meddra_version);
    icsr.Set("D.9.2.r.1b", {1}, c.llt_code);
    SetIfGiven(icsr, "D.9.2.r.2", {1}, c.verbatim_term);
  }
  if (c.autopsy != "yes" && c.autopsy != "no" && !c.autopsy.empty()) {
    return InvalidArgument("autopsy \"" + c.autopsy + "\" is not yes, no or empty");
  }
  SetOrNull(icsr, "D.9.3", {}, c.autopsy == "yes" ? "true" : c.autopsy == "no" ? "false" : "", "UNK");
  return Status::Ok();
}

// E.i, i = 1: the reaction, its seriousness and outcome.
Status AddReaction(const CaseReport& c, Icsr& icsr) {
  if (!c.verbatim_term.empty()) {
    icsr.Set("E.i.1.1a", {1}, c.verbatim_term);
    icsr.Set("E.i.1.1b", {1}, c.verbatim_language);
  }
  // An uncoded reaction leaves E.i.2.1a/b out, so FDA's rules name it.
  if (!c.llt_code.empty()) {
    icsr.Set("E.i.2.1a", {1}, c.meddra_version);
    icsr.Set("E.i.2.1b", {1}, c.llt_code);
  }
  const std::pair<const char*, bool> criteria[] = {
      {"E.i.3.2a", c.death},      {"E.i.3.2b", c.life_threatening},   {"E.i.3.2c", c.hospitalisation},
      {"E.i.3.2d", c.disability}, {"E.i.3.2e", c.congenital_anomaly}, {"E.i.3.2f", c.other_medically_important}};
  for (const auto& [number, holds] : criteria) SetOrNull(icsr, number, {1}, holds ? "true" : "", "NI");
  if (ForFda(c)) icsr.SetNull("FDA.E.i.3.2h", {1}, "NI");
  if (!c.onset_date.empty()) {
    TC_ASSIGN_OR_RETURN(std::string onset, E2bDateOf("onset_date", c.onset_date));
    icsr.Set("E.i.4", {1}, onset);
  }
  TC_ASSIGN_OR_RETURN(std::string outcome, OutcomeCode(c.outcome));
  icsr.Set("E.i.7", {1}, outcome);
  return Status::Ok();
}

// G.k, k = 1: the suspect product and the causality assessments, kept apart.
Status AddSuspectProduct(const CaseReport& c, Icsr& icsr) {
  icsr.Set("G.k.1", {1}, "1");
  SetIfGiven(icsr, "G.k.2.2", {1}, c.product_name);
  if (!c.ind_number.empty() && ForFda(c)) {
    icsr.Set("G.k.3.1", {1}, "IND" + c.ind_number);
    icsr.Set("G.k.3.2", {1}, "US");
  }
  SetIfGiven(icsr, "G.k.7.r.1", {1, 1}, c.indication);
  TC_ASSIGN_OR_RETURN(std::string sponsor, CausalityResult("sponsor_causality", c.sponsor_causality));
  TC_ASSIGN_OR_RETURN(std::string investigator, CausalityResult("investigator_causality", c.investigator_causality));
  const std::pair<const char*, const std::string*> assessments[] = {{"Sponsor", &sponsor},
                                                                    {"Investigator", &investigator}};
  uint16_t r = 0;
  for (const auto& [source, result] : assessments) {
    if (result->empty()) continue;
    ++r;
    icsr.Set("G.k.9.i.2.r.1", {1, 1, r}, source);
    icsr.Set("G.k.9.i.2.r.2", {1, 1, r}, c.causality_method);
    icsr.Set("G.k.9.i.2.r.3", {1, 1, r}, *result);
  }
  return Status::Ok();
}

std::string SeriousnessText(const CaseReport& c) {
  std::string out;
  const std::pair<bool, const char*> criteria[] = {{c.death, "death"},
                                                   {c.life_threatening, "life-threatening"},
                                                   {c.hospitalisation, "hospitalisation"},
                                                   {c.disability, "disability"},
                                                   {c.congenital_anomaly, "congenital anomaly"},
                                                   {c.other_medically_important, "medically important"}};
  for (const auto& [holds, name] : criteria) {
    if (holds) out += (out.empty() ? "" : ", ") + std::string(name);
  }
  return out;
}

std::string CausalityText(const std::string& causality) {
  if (causality.empty()) return "not assessed";
  return causality == "related" ? "related" : "not related";
}

std::string OutcomeText(const std::string& outcome) {
  if (outcome.empty() || outcome == "UNKNOWN") return "unknown";
  std::string text = outcome;
  std::replace(text.begin(), text.end(), '_', ' ');
  std::transform(text.begin(), text.end(), text.begin(), [](char ch) { return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch; });
  return text;
}

}  // namespace

std::string E2bTimestamp(int64_t time_us) {
  using namespace std::chrono;
  const sys_seconds t{seconds{time_us >= 0 ? time_us / 1000000 : (time_us - 999999) / 1000000}};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{t - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02u%02ld%02ld%02ld+0000", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                static_cast<long>(hms.seconds().count()));
  return buf;
}

std::string E2bDate(int64_t time_us, int utc_offset_minutes) {
  const CivilDate d = LocalDate(time_us, utc_offset_minutes);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d", d.year, d.month, d.day);
  return buf;
}

std::string SafetyReportIdOf(const CaseReport& c) {
  std::string company;
  std::copy_if(c.sender_id.begin(), c.sender_id.end(), std::back_inserter(company), [](char ch) { return ch != '-'; });
  const std::string& country = c.reporter_country.empty() ? c.sender_country : c.reporter_country;
  return country + "-" + company + "-" + c.case_id;
}

std::string MessageIdOf(const CaseReport& c) { return SafetyReportIdOf(c) + "-v" + std::to_string(c.version); }

std::string DefaultNarrative(const CaseReport& c) {
  std::string who = c.age_years.empty() ? "A" : "A " + c.age_years + "-year-old";
  who += c.sex == "M" ? " male" : c.sex == "F" ? " female" : "";
  who += " subject";
  if (!c.subject_id.empty()) who += " (" + c.subject_id + ")";
  std::string text = who;
  if (!c.study_id.empty()) text += " in study " + c.study_id;
  if (!c.product_name.empty()) text += " receiving " + c.product_name;
  text += " experienced " + (c.verbatim_term.empty() ? std::string("an adverse event") : c.verbatim_term);
  if (!c.llt_code.empty()) text += " (MedDRA " + c.meddra_version + " LLT " + c.llt_code + ")";
  if (!c.onset_date.empty()) text += " with onset on " + c.onset_date;
  text += ".";
  const std::string serious = SeriousnessText(c);
  if (!serious.empty()) text += " Seriousness: " + serious + ".";
  text += " Outcome: " + OutcomeText(c.outcome) + ".";
  text += " Investigator's causality assessment: " + CausalityText(c.investigator_causality) +
          "; sponsor's: " + CausalityText(c.sponsor_causality) + ".";
  if (c.nullification) text += " This report is nullified: " + c.nullification_reason + ".";
  return text;
}

Result<Icsr> IcsrFromCase(const CaseReport& c) {
  TC_RETURN_IF_ERROR(CheckIdentity(c));
  Icsr icsr;
  AddIdentification(c, icsr);
  AddReporter(c, icsr);
  AddSender(c, icsr);
  AddStudy(c, icsr);
  TC_RETURN_IF_ERROR(AddPatient(c, icsr));
  TC_RETURN_IF_ERROR(AddDeath(c, icsr));
  TC_RETURN_IF_ERROR(AddReaction(c, icsr));
  TC_RETURN_IF_ERROR(AddSuspectProduct(c, icsr));
  icsr.Set("H.1", {}, c.narrative.empty() ? DefaultNarrative(c) : c.narrative);
  return icsr;
}

E2bBatchHeader BatchHeaderFor(const CaseReport& first, std::string receiver, std::string batch_number) {
  E2bBatchHeader header;
  header.batch_number = std::move(batch_number);
  header.sender = first.sender_id;
  header.receiver = std::move(receiver);
  header.transmission_time = E2bTimestamp(first.transmission_us);
  return header;
}

}  // namespace trialcore::safety
