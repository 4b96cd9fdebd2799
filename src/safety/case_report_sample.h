// Samples for the tests and benchmarks that build cases by hand: a sponsor's
// sender block as FDA requires it on every ICSR (C.3), and a typical IND
// serious adverse event. One copy, so a rule FDA adds changes one place.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "safety/case_report.h"

namespace trialcore::safety {

inline void SetSampleSender(CaseReport* c, std::string sender_id) {
  c->sender_id = std::move(sender_id);
  c->sender_organisation = "Trialcore Pharma";
  c->sender_country = "US";
  c->sender_department = "Drug Safety";
  c->sender_contact_title = "Dr.";
  c->sender_contact_given = "Sam";
  c->sender_contact_family = "Safety";
  c->sender_street = "1 Trial Way";
  c->sender_city = "Boston";
  c->sender_state = "MA";
  c->sender_postcode = "02110";
  c->sender_phone = "+16175550100";
  c->sender_fax = "+16175550101";
  c->sender_email = "safety@trialcore.example";
}

// A hospitalised study subject, coded, related by investigator and sponsor:
// day 0 on 2026-11-28 10:00 UTC, the latest information on 2026-11-30
// 15:00, sent on 2026-12-01 09:30.
inline CaseReport SampleIndSae(std::string sender_id, std::string case_id, std::string subject_id) {
  constexpr int64_t kSecondUs = 1'000'000;
  CaseReport c;
  SetSampleSender(&c, std::move(sender_id));
  c.case_id = std::move(case_id);
  c.first_received_us = 1795860000 * kSecondUs;
  c.latest_received_us = 1796050800 * kSecondUs;
  c.transmission_us = 1796117400 * kSecondUs;
  c.study_id = "TC-101";
  c.study_title = "TC-101 Phase II";
  c.ind_number = "123456";
  c.subject_id = std::move(subject_id);
  c.sex = "F";
  c.age_years = "54";
  c.race = "C41260";
  c.ethnicity = "C41222";
  c.reporter_country = "US";
  c.reporter_given_name = "Ann";
  c.reporter_family_name = "Investigator";
  c.reporter_email = "investigator@site.example";
  c.verbatim_term = "pneumonia requiring admission";
  c.meddra_version = "27.1";
  c.llt_code = "10035664";
  c.hospitalisation = true;
  c.onset_date = "2026-11-25";
  c.outcome = "NOT_RECOVERED";
  c.product_name = "TC-101 (investigational)";
  c.indication = "Asthma";
  c.investigator_causality = "related";
  c.sponsor_causality = "related";
  return c;
}

}  // namespace trialcore::safety
