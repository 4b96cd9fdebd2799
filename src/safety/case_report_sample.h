// A sponsor's sender block as FDA requires it on every ICSR (C.3), for the
// tests and benchmarks that build cases by hand: one copy, so a rule FDA
// adds changes one place.
#pragma once

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

}  // namespace trialcore::safety
