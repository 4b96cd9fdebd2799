#include "capture/safety_signals.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "capture/capture.h"
#include "capture/direct_case.h"
#include "capture/reads.h"
#include "capture/safety_workflow.h"
#include "safety/meddra_coder.h"
#include "signal/analysis.h"
#include "signal/measures.h"
#include "signal/reports.h"
#include "study/study.h"

namespace trialcore::capture {
namespace {

bool Counted(const SafetyCaseLine& line) {
  return line.stage != "invalid" && line.stage != "duplicate" && line.stage != "nullified" &&
         line.stage != "nullification";
}

std::string Number(double x) {
  if (!std::isfinite(x)) return x > 0 ? "Inf" : "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", x);
  return buf;
}

Value RowsValue(const StudySignals& signals) {
  auto number = [](double x, bool present) -> Value {
    if (!present) return Value();
    auto d = Decimal::Parse(Number(x));
    return d.ok() ? Value(*d) : Value(Number(x));
  };
  Value::Array rows;
  for (const StudySignalRow& r : signals.rows) {
    Value::Object o;
    o["product"] = Value(r.product);
    o["event"] = Value(r.event);
    o["n"] = Value(int64_t{r.n});
    o["expected"] = number(r.expected, true);
    o["prr"] = number(r.prr, true);
    o["prr_lower95"] = number(r.prr_lower, true);
    o["ror"] = number(r.ror, true);
    o["ror_lower95"] = number(r.ror_lower, true);
    o["ic025"] = number(r.ic025, true);
    o["ebgm"] = number(r.ebgm, r.scored);
    o["eb05"] = number(r.eb05, r.scored);
    o["eb95"] = number(r.eb95, r.scored);
    rows.push_back(Value(std::move(o)));
  }
  return Value(std::move(rows));
}

}  // namespace

Result<StudySignals> DetectStudySignals(Capture& capture) {
  Viewer everyone;
  everyone.all_sites = true;
  everyone.unblinded_everywhere = true;
  return DetectStudySignals(capture, everyone);
}

Result<StudySignals> DetectStudySignals(Capture& capture, const Viewer& viewer) {
  TC_ASSIGN_OR_RETURN(std::vector<SafetyCaseLine> lines,
                      ListSafetyCases(capture.store(), capture.study_id(), viewer, {}));
  const study::Study& study = *capture.study();
  // An imported report's other reactions are counted by their PT when the
  // loaded MedDRA knows their LLT.
  auto coder = MeddraCoderFor(*capture.store(), "", "");

  signal::ReportTable table;
  StudySignals out;
  std::set<std::string> products;
  for (const SafetyCaseLine& line : lines) {
    if (!Counted(line)) continue;
    std::set<std::string> case_products, events;
    if (!line.pt.empty()) events.insert(line.pt);
    if (line.source == "crf") {
      if (!study.safety.suspect_product.empty()) case_products.insert(study.safety.suspect_product);
    } else {
      TC_ASSIGN_OR_RETURN(DirectCase dc, capture.ReadDirectCase(line.case_id));
      if (dc.report) {
        for (const auto& drug : dc.report->drugs()) {
          if ((drug.characterisation == "1" || drug.characterisation == "3") && !drug.name.empty()) {
            case_products.insert(drug.name);
          }
        }
        const auto reactions = dc.report->reactions();
        for (size_t i = 1; i < reactions.size() && coder.ok(); ++i) {
          const std::string& code = reactions[i].meddra_llt_code;
          if (code.empty() || code.size() > 9 || code.find_first_not_of("0123456789") != std::string::npos) continue;
          if (auto coding = (*coder)->CodingOfLlt(static_cast<uint32_t>(std::stoul(code)))) {
            events.insert(std::string(coding->pt.name));
          }
        }
      } else if (const Value* product = dc.facts.Find("product"); product != nullptr && product->is_string()) {
        case_products.insert(product->as_string());
      }
    }
    if (events.empty()) {
      ++out.not_coded;
      continue;
    }
    if (case_products.empty()) continue;
    ++out.cases;
    const uint32_t report = table.reports.Intern(line.case_id);
    const uint32_t stratum = table.strata.Intern("all");
    for (const std::string& p : case_products) {
      products.insert(p);
      for (const std::string& e : events) {
        table.rows.push_back({report, table.products.Intern(p), table.events.Intern(e), stratum});
      }
    }
  }
  out.products.assign(products.begin(), products.end());
  if (out.cases == 0) {
    out.why_not = "no coded case to count";
    return out;
  }
  // The counts and ratios need no fit; the empirical Bayes scores do.
  const signal::Counts counts = signal::CountPairs(table, 1);
  for (const signal::PairCount& pc : counts.pairs) {
    const signal::Disproportionality m = signal::Measure(pc.n, pc.n_product, pc.n_event, counts.reports, pc.e);
    StudySignalRow row;
    row.product = table.products.Name(pc.product);
    row.event = table.events.Name(pc.event);
    row.n = pc.n;
    row.expected = pc.e;
    row.prr = m.prr;
    row.prr_lower = m.prr_lower;
    row.ror = m.ror;
    row.ror_lower = m.ror_lower;
    row.ic025 = m.ic025;
    out.rows.push_back(std::move(row));
  }
  if (products.size() < 2) {
    out.why_not = "every counted case names one product (" + *products.begin() +
                  "): disproportionality compares products, so the cases are counted, not mined";
  } else {
    out.mined = true;
    signal::SignalOptions options;
    auto scored = signal::AnalyzeReports(table, options);
    if (scored.ok()) {
      out.scored = true;
      for (const signal::SignalRow& s : scored->rows) {
        for (StudySignalRow& row : out.rows) {
          if (row.product == s.product && row.event == s.event) {
            row.scored = true;
            row.ebgm = s.eb.ebgm;
            row.eb05 = s.eb.eb05;
            row.eb95 = s.eb.eb95;
          }
        }
      }
    } else {
      out.why_not = "too few cases to fit the empirical Bayes prior (" + scored.status().message() +
                    "): the ratios are given without EBGM";
    }
  }
  std::stable_sort(out.rows.begin(), out.rows.end(), [](const StudySignalRow& a, const StudySignalRow& b) {
    const double ka = a.scored ? a.eb05 : a.prr_lower, kb = b.scored ? b.eb05 : b.prr_lower;
    if (ka != kb) return ka > kb;
    return a.n > b.n;
  });
  return out;
}

Value StudySignalsValue(const StudySignals& signals) {
  Value::Object o;
  o["cases"] = Value(static_cast<int64_t>(signals.cases));
  o["not_coded"] = Value(static_cast<int64_t>(signals.not_coded));
  Value::Array products;
  for (const std::string& p : signals.products) products.push_back(Value(p));
  o["products"] = Value(std::move(products));
  o["mined"] = Value(signals.mined);
  o["scored"] = Value(signals.scored);
  o["why_not"] = Value(signals.why_not);
  o["rows"] = RowsValue(signals);
  return Value(std::move(o));
}

std::string StudySignalsCsv(const StudySignals& signals) {
  std::string text;
  CsvLine(&text, {"product", "event", "n", "expected", "prr", "prr_lower95", "ror", "ror_lower95", "ic025", "ebgm",
                  "eb05", "eb95"});
  for (const StudySignalRow& r : signals.rows) {
    CsvLine(&text, {r.product, r.event, std::to_string(r.n), Number(r.expected), Number(r.prr), Number(r.prr_lower),
                    Number(r.ror), Number(r.ror_lower), Number(r.ic025), r.scored ? Number(r.ebgm) : "",
                    r.scored ? Number(r.eb05) : "", r.scored ? Number(r.eb95) : ""});
  }
  return text;
}

}  // namespace trialcore::capture
