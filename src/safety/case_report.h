// A safety case as the case workflow knows it, and the E2B(R3) ICSR sent for
// it (to FDA as an IND safety report, premarket route, and to the EU).
//
// Why the ICSR is only ever built here, from a CaseReport: the case and the
// message sent for it can then never disagree. Every value the ICSR carries
// comes from a fact of the case version (or a fixed choice of this file, the
// same for every case), nothing is typed into the message by hand or patched
// afterwards, so what a regulator received can be re-derived from the stored
// case version at any time, and the same case version always gives the same
// bytes (the message id is stable, the reaction and drug ids are derived by
// export from C.1.1). The struct holds plain values only, so the workflow in
// capture/ fills it without this library knowing its storage or study files.
//
// What this file does not do: decide whether a case is reported (that is
// reporting_clock.h's), check FDA's rules (e2b_validate.h: an uncoded
// reaction is FDA's "required E.i.2.1b" rejection there, so it cannot be
// sent), or write XML (e2b_export.h).
//
// Thread safety: free functions over values; call from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "safety/e2b_export.h"
#include "safety/icsr.h"

namespace trialcore::safety {

// Everything a case version says, as plain values. "" means "not known" for
// text fields: each such field says what the ICSR carries then (a null
// flavour, or nothing). Codes the CRF uses are translated to E2B's here.
struct CaseReport {
  // --- Sender (C.3) and routing --------------------------------------------
  std::string sender_id;            // N.1.3, N.2.r.2, and C.1.1's company part ("TRIALCORE-DEMO")
  std::string sender_organisation;  // C.3.2 (the sponsor)
  std::string sender_country;       // C.3.4.5, ISO 3166-1 alpha-2; C.1.1's country when reporter_country is ""
  std::string sender_type = "1";    // C.3.1: 1 pharmaceutical company
  // The sponsor's safety contact, C.3.3 and C.3.4 ("" = not sent). FDA
  // requires every one of them on every report ("regionally required"), with
  // no null flavour, so an FDA report without them is refused naming each.
  std::string sender_department;                                          // C.3.3.1
  std::string sender_contact_title;                                       // C.3.3.2 ("Dr.")
  std::string sender_contact_given, sender_contact_family;                // C.3.3.3, C.3.3.5
  std::string sender_street, sender_city, sender_state, sender_postcode;  // C.3.4.1 .. C.3.4.4
  std::string sender_phone, sender_fax, sender_email;                     // C.3.4.6, C.3.4.7, C.3.4.8
  // N.2.r.3: "CDER_IND" or "CBER_IND" for an IND safety report; the EU's
  // receiver identifier for a report to EudraVigilance. FDA's regional
  // elements (FDA.*, the IND as G.k.3.1) are sent to FDA's receivers only.
  std::string message_receiver = "CDER_IND";

  // --- The case version (C.1) -----------------------------------------------
  std::string case_id;             // our case id ("701-1001-SAE1"): C.1.1's report number
  int version = 1;                 // 1 initial, 2.. follow-ups; part of N.2.r.1
  int64_t first_received_us = 0;   // C.1.4: day 0, first awareness (microseconds since the epoch, UTC)
  int64_t latest_received_us = 0;  // C.1.5: the most recent information in this version
  int64_t transmission_us = 0;     // C.1.2, N.2.r.4 (and N.1.5 via BatchHeaderFor): to the second
  // The sponsor's fixed UTC offset in minutes: C.1.4 and C.1.5 are calendar
  // days there, the days reporting_clock.h counts, not UTC days.
  int utc_offset_minutes = 0;
  std::string report_type = "2";  // C.1.3: 2 report from study
  // C.1.7. FDA.C.1.7.1 follows from the facts: 6 (7-Day) when fatal or
  // life-threatening (21 CFR 312.32(c)(2)), else 1 (15-Day); 2 (non-expedited)
  // when false.
  bool expedited = true;
  bool combination_product = false;  // FDA.C.1.12
  std::string worldwide_case_id;     // C.1.8.1; "" = C.1.1 (we are the case's first sender)
  std::string first_sender = "2";    // C.1.8.2: 1 regulator, 2 other (a sponsor)
  // C.1.9.1 (other case identifiers in previous transmissions) is always NI:
  // a study case starts with us.
  bool nullification = false;        // C.1.11.1 = 1; not allowed on version 1 (FDA R0101)
  std::string nullification_reason;  // C.1.11.2, required with a nullification

  // --- Study (C.5) -----------------------------------------------------------
  std::string study_id;          // C.5.3 sponsor study number
  std::string study_title;       // C.5.2 study name
  std::string study_type = "1";  // C.5.4: 1 clinical trial
  // FDA.C.5.5a, digits only ("123456"); also G.k.3.1 "IND123456" with G.k.3.2
  // "US" for the suspect product, as FDA's premarket example writes it.
  // "" for a study with no IND (EU only).
  std::string ind_number;
  // FDA.C.5.6.r: other INDs the report is cross-reported to; none = NA, as
  // FDA asks whenever FDA.C.5.5a is given.
  std::vector<std::string> cross_reported_inds;
  std::string registration_number;   // C.5.1.r.1, e.g. the EU CT number ("" = none sent)
  std::string registration_country;  // C.5.1.r.2 ("EU" for an EU CT number)

  // --- Patient (D) -------------------------------------------------------------
  // D.1 is always sent masked (null flavour MSK): initials are not ours to send.
  std::string subject_id;       // D.1.1.4 patient investigation number (at most 20 characters)
  std::string sex;              // D.5: "M" 1, "F" 2, "" null flavour UNK
  std::string age_years;        // D.2.2a with D.2.2b "a"; "" = not sent
  std::string race;             // FDA.D.11.r.1, an NCI code ("C41260"); "" = UNK
  std::string ethnicity;        // FDA.D.12, an NCI code ("C41222"); "" = UNK
  std::string medical_history;  // D.7.2; "" = UNK (FDA wants D.7.2 when there is no D.7.1)
  // Death (with the death criterion): D.9.1 ("YYYY-MM-DD"; "" = ASKU) and
  // D.9.3 autopsy ("yes", "no", "" = UNK). The coded reaction is also sent as
  // the reported cause of death (D.9.2.r).
  std::string death_date;
  std::string autopsy;

  // --- Reporter: the site's investigator, the primary source (C.2.r, r = 1) ---
  std::string reporter_country;                           // C.2.r.3; also C.1.1's country
  std::string reporter_qualification = "1";               // C.2.r.4: 1 physician
  std::string reporter_given_name, reporter_family_name;  // C.2.r.1.2, C.2.r.1.4 ("" = not sent)
  std::string reporter_email;                             // FDA.C.2.r.2.8 ("" = not sent)

  // --- Reaction (E.i, i = 1: one per case) -----------------------------------
  std::string verbatim_term;              // E.i.1.1a
  std::string verbatim_language = "eng";  // E.i.1.1b, ISO 639-2
  std::string meddra_version, llt_code;   // E.i.2.1a, E.i.2.1b ("" when not coded yet: not sendable)
  // E.i.3.2a..f: true, or null flavour NI when the criterion does not hold
  // (ICH allows no "false"). FDA.E.i.3.2h is NI, as FDA wants for premarket.
  bool death = false, life_threatening = false, hospitalisation = false, disability = false, congenital_anomaly = false,
       other_medically_important = false;
  std::string onset_date;  // E.i.4: "YYYY-MM-DD", "YYYY-MM" or "YYYY"; "" = not sent
  // E.i.7 from the CRF's codes: RECOVERED 1, RECOVERING 2, NOT_RECOVERED 3,
  // RECOVERED_WITH_SEQUELAE 4, FATAL 5, UNKNOWN or "" 0 (E2B(R3)'s "unknown" is 0).
  std::string outcome;

  // --- Suspect product (G.k, k = 1; G.k.1 = 1 suspect) -----------------------
  std::string product_name;  // G.k.2.2
  std::string indication;    // G.k.7.r.1 as reported ("" = not sent)
  // G.k.9.i.2.r, one assessment each, kept apart: "related" / "not_related" /
  // "" (not assessed, nothing sent). Sent as source "Sponsor" (r = 1, FDA's
  // default source) then "Investigator", result "Suspected" / "Not Suspected"
  // (the wording FDA's rules ask for). An IND report with neither is FDA's
  // rejection R0085-R0087.
  std::string investigator_causality;
  std::string sponsor_causality;
  std::string causality_method = "FDA";  // G.k.9.i.2.r.2: FDA asks for "FDA" on premarket reports

  // --- Narrative ---------------------------------------------------------------
  std::string narrative;  // H.1; "" = built from the facts above (DefaultNarrative)
};

// The ICSR of a case version: ICH E2B(R3) and FDA regional element numbers,
// all of them mapped by e2b_map. InvalidArgument, naming the field, for a
// value outside its vocabulary (sex, outcome, causality, a date that is not
// one), missing identity (sender_id, case_id, transmission time), times out of
// order, or a nullification of version 1 or without a reason. Not an error
// here: what only a regulator's rules require (an uncoded reaction, no
// causality); E2bRules names those, so the workflow shows FDA's wording.
Result<Icsr> IcsrFromCase(const CaseReport& c);

// N.2.r.1: C.1.1 and the version ("US-TRIALCOREDEMO-701-1001-SAE1-v2"), so
// each case version has its own message id and sending it again does not
// make a new one.
std::string MessageIdOf(const CaseReport& c);

// C.1.1 in ICH's format country-company-report number: the primary source's
// country (the sender's when unknown), sender_id without '-' (ICH asks for
// no hyphen in the company part so the three parts can be told apart), and
// case_id. The same for every version of a case.
std::string SafetyReportIdOf(const CaseReport& c);

// H.1 when the case gives none: who, what, when, how serious, the outcome and
// both causality assessments (FDA asks for the investigator's in H.1).
std::string DefaultNarrative(const CaseReport& c);

// N.1: a batch from `first`'s sender, sent at its transmission time.
// `receiver` is N.1.4 ("ZZFDA_PREMKT" for IND safety reports).
E2bBatchHeader BatchHeaderFor(const CaseReport& first, std::string receiver, std::string batch_number);

// E2B time stamps: CCYYMMDDhhmmss+0000 (UTC) and the calendar day CCYYMMDD
// at a fixed offset.
std::string E2bTimestamp(int64_t time_us);
std::string E2bDate(int64_t time_us, int utc_offset_minutes);

}  // namespace trialcore::safety
