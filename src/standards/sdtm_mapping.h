// Where each SDTM dataset's values come from: the study file's `sdtm`
// section (doc/standards.md, "SDTM"), read from the study's own YAML so a
// published study carries its mapping on the audit trail with everything
// else. The study loader leaves the section to this reader; `study validate`
// runs both.
//
//   sdtm:
//     ig_version: "3.1.2"
//     usubjid: "01-{subject}"          # {study}, {subject}, {site}, {number}
//     reference_start: RAND.RANDDT     # RFSTDTC; study days count from it
//     visit_numbers: {SCREENING1: 1, BASELINE: 3, ECGPLACE: 3.5}
//     domains:
//       - domain: AE
//         label: Adverse Events
//         class: EVENTS
//         form: AE
//         group: AE                    # one record per row of the group
//         variables: {AETERM: AETERM, AESTDTC: AESTDTC, AESTDY: day(AESTDTC), AEDECOD: pt(AETERM)}
//         supp: {AEONGO: {item: AEONGO, label: Ongoing}}
//       - domain: VS
//         form: VS
//         tests:                       # a findings domain: one record per test entered
//           SYSBP: {item: SYSBP, test: Systolic Blood Pressure}
//         variables: {VSPOS: VSPOS}
//
// A variable's source: an item of the domain's form ("AETERM"), an item of
// another form ("RAND.RANDDT": its first value in the subject's visits), a
// constant ("=YEARS"), the study day of another variable ("day(AESTDTC)"),
// a code's label ("decode(SEX)"), or an AE term's MedDRA coding
// ("pt(AETERM)", "soc(AETERM)", "llt(AETERM)"). Identifiers (STUDYID, DOMAIN,
// USUBJID, SUBJID, SITEID, --SEQ), a findings domain's --TESTCD, --TEST,
// --ORRES, --ORRESU, --STRESC, --STRESN and --STRESU, and the timing
// variables VISITNUM, VISIT, VISITDY, --DTC and --DY are added in SDTM's
// order, unless the domain says `visit: false`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "standards/dataset.h"
#include "study/study.h"

namespace trialcore::standards {

struct SdtmSource {
  enum class Kind {
    kItem,      // item (of form, or of `form` when given)
    kConstant,  // text
    kStudyDay,  // of the variable named in text
    kDecode,    // the label of item's code
    kMeddra,    // item's coding: text is "pt", "soc", "llt", "hlt", "hlgt" (names) or "ptcd", ... (codes)
    kStandard,  // filled by the export (identifiers, test, result, timing): text names it
  };
  Kind kind = Kind::kItem;
  std::string form, item;  // form empty: the domain's own
  std::string text;
};

struct SdtmVariable {
  Variable variable;  // name, label, type, length for the dataset formats
  SdtmSource source;
};

struct SdtmTest {
  std::string testcd;  // VSTESTCD
  std::string test;    // VSTEST
  std::string item;    // the item holding the result (its unit is --ORRESU)
};

struct SdtmSupp {
  std::string qnam, qlabel;
  std::string item;
};

struct SdtmDomain {
  std::string domain;  // "AE"
  DatasetDescription dataset;
  std::string form, group;  // group: one record per row; empty: per form instance (findings: per test)
  bool visit = true;        // VISITNUM, VISIT, VISITDY, --DTC, --DY
  std::string dtc_item;     // --DTC's item; empty: the study's visit date
  std::vector<SdtmTest> tests;
  std::vector<SdtmVariable> variables;  // in the dataset's order, standard ones included
  std::vector<SdtmSupp> supp;
  bool findings() const { return !tests.empty(); }
};

struct SdtmMapping {
  bool declared = false;
  std::string ig_version = "3.3";
  std::string usubjid = "{study}-{subject}";
  study::ItemRef reference_start;               // form empty: none
  std::map<std::string, double> visit_numbers;  // by visit id; others: their place in the schedule
  std::vector<SdtmDomain> domains;
};

// Reads `sdtm` from the study's YAML (study.source). A study without the
// section has a mapping that is not declared. InvalidArgument with every
// problem in *errors, placed by line and column in study.file: an unknown
// form, group or item, a name or label the SAS transport format refuses
// (8 characters, 40), a variable named twice, a source that does not parse.
Result<SdtmMapping> ReadSdtmMapping(const study::Study& study, std::vector<study::StudyError>* errors);

// VISITNUM of a visit (its occurrence aside).
double VisitNumber(const SdtmMapping& mapping, const study::Study& study, const std::string& visit_id);

// The subject's USUBJID and SUBJID by the mapping's pattern.
std::string Usubjid(const SdtmMapping& mapping, const std::string& study_id, const std::string& subject,
                    const std::string& site);
std::string Subjid(const std::string& subject, const std::string& site);

}  // namespace trialcore::standards
