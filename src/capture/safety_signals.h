// Signal detection over a study's own safety cases (issue 16, point 7), with
// the `signal` engine `trialcore signal` runs on FAERS: each case is a
// report naming its products and its MedDRA preferred terms, and every
// product-event pair gets its disproportionality (PRR, ROR, IC) and, where
// the counts allow the prior to be fitted, its empirical Bayes scores (EBGM,
// EB05, EB95).
//
// Why "where counts allow": disproportionality compares products. The cases
// of a single-product study (its serious AEs on the CRF) all name one
// product, so their counts are listed and nothing is mined; imported and
// spontaneous reports naming other suspect or interacting products give a
// comparison. The answer says which it is and why.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/value.h"

namespace trialcore::capture {

class Capture;
struct Viewer;

struct StudySignalRow {
  std::string product, event;
  uint32_t n = 0;  // cases naming both
  double expected = 0;
  double prr = 0, prr_lower = 0, ror = 0, ror_lower = 0, ic025 = 0;
  bool scored = false;  // EBGM and its interval computed (the prior was fitted)
  double ebgm = 0, eb05 = 0, eb95 = 0;
};

struct StudySignals {
  uint64_t cases = 0;                 // reports counted: valid, not duplicates, not nullified, coded
  uint64_t not_coded = 0;             // cases left out for want of a MedDRA PT
  std::vector<std::string> products;  // distinct products named
  bool mined = false;                 // compared across products
  bool scored = false;                // the empirical Bayes prior was fitted
  std::string why_not;                // when not mined or not scored, why, in words
  std::vector<StudySignalRow> rows;   // most disproportionate first (EB05, else PRR's lower bound), then by n
};

// Reads the study's cases as its safety physician sees them (every site;
// the products of an imported report: its suspect and interacting drugs),
// or, given a viewer, the cases that viewer sees (a site's own).
Result<StudySignals> DetectStudySignals(Capture& capture);
Result<StudySignals> DetectStudySignals(Capture& capture, const Viewer& viewer);

// The whole answer as JSON: cases, not_coded, products, mined, scored,
// why_not and rows, each with the CSV's columns (numbers as numbers, "Inf"
// for an infinite ratio, null when not scored).
Value StudySignalsValue(const StudySignals& signals);

// product,event,n,expected,prr,prr_lower95,ror,ror_lower95,ic025,ebgm,eb05,eb95 (empty when not scored).
std::string StudySignalsCsv(const StudySignals& signals);

}  // namespace trialcore::capture
