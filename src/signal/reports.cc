// Every count is over unique reports: a report naming a product twice counts
// once, so expected counts use unique-report margins, as openEBGM does.
#include "signal/reports.h"

#include <algorithm>
#include <tuple>

#include "signal/csv.h"

namespace trialcore::signal {

uint32_t Dictionary::Intern(std::string_view s) {
  auto it = ids_.find(std::string(s));
  if (it != ids_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(names_.size());
  names_.emplace_back(s);
  ids_.emplace(names_.back(), id);
  return id;
}

Result<ReportTable> LoadReportCsv(const std::string& path, bool stratify) {
  TC_ASSIGN_OR_RETURN(CsvReader csv, CsvReader::Open(path));
  std::vector<std::string> fields;
  TC_ASSIGN_OR_RETURN(bool has_header, csv.Next(&fields));
  if (!has_header) return InvalidArgument(path + ": the file is empty (expected a header: id,var1,var2[,strat...])");
  int id_col = -1, var1_col = -1, var2_col = -1;
  std::vector<int> strat_cols;
  for (int i = 0; i < static_cast<int>(fields.size()); ++i) {
    const std::string& name = fields[i];
    if (name == "id") id_col = i;
    else if (name == "var1") var1_col = i;
    else if (name == "var2") var2_col = i;
    else if (name.find("strat") != std::string::npos) strat_cols.push_back(i);
  }
  if (id_col < 0 || var1_col < 0 || var2_col < 0) {
    return InvalidArgument(path + ":1: the header must name the columns id, var1 (product) and var2 (event)");
  }
  if (!stratify) strat_cols.clear();
  const size_t width = fields.size();
  ReportTable table;
  std::string stratum;
  while (true) {
    TC_ASSIGN_OR_RETURN(bool more, csv.Next(&fields));
    if (!more) break;
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    const std::string where = path + ":" + std::to_string(csv.line());
    if (fields.size() != width) {
      return InvalidArgument(where + ": " + std::to_string(fields.size()) + " fields, but the header has " +
                             std::to_string(width) + " (a truncated line or an unquoted comma?)");
    }
    if (fields[id_col].empty()) return InvalidArgument(where + ": the report id is empty");
    if (fields[var1_col].empty()) return InvalidArgument(where + ": the product (var1) is empty");
    if (fields[var2_col].empty()) return InvalidArgument(where + ": the event (var2) is empty");
    stratum.clear();
    for (int c : strat_cols) {
      stratum += fields[c];
      stratum.push_back('\x1f');
    }
    table.rows.push_back(ReportRow{table.reports.Intern(fields[id_col]), table.products.Intern(fields[var1_col]),
                                   table.events.Intern(fields[var2_col]), table.strata.Intern(stratum)});
  }
  if (table.rows.empty()) return InvalidArgument(path + ": no reports after the header");
  return table;
}

namespace {

// Number of distinct reports per key, where key(row) picks the grouping.
template <typename KeyFn>
std::vector<uint32_t> UniqueReportsPer(const ReportTable& t, size_t keys, KeyFn key) {
  std::vector<std::pair<uint64_t, uint32_t>> pairs;  // (key, report)
  pairs.reserve(t.rows.size());
  for (const auto& r : t.rows) pairs.emplace_back(key(r), r.report);
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  std::vector<uint32_t> counts(keys, 0);
  for (const auto& p : pairs) counts[p.first]++;
  return counts;
}

}  // namespace

Counts CountPairs(const ReportTable& t, uint32_t min_count) {
  Counts out;
  const size_t strata = std::max<size_t>(1, t.strata.size());
  out.strata = strata;
  out.reports = t.reports.size();
  const auto n_product = UniqueReportsPer(t, t.products.size(), [](const ReportRow& r) { return r.product; });
  const auto n_event = UniqueReportsPer(t, t.events.size(), [](const ReportRow& r) { return r.event; });
  const auto n_product_s = UniqueReportsPer(t, t.products.size() * strata, [&](const ReportRow& r) {
    return uint64_t{r.product} * strata + r.stratum;
  });
  const auto n_event_s = UniqueReportsPer(t, t.events.size() * strata, [&](const ReportRow& r) {
    return uint64_t{r.event} * strata + r.stratum;
  });
  const auto n_s = UniqueReportsPer(t, strata, [](const ReportRow& r) { return r.stratum; });

  std::vector<std::tuple<uint32_t, uint32_t, uint32_t>> triples;  // (product, event, report)
  triples.reserve(t.rows.size());
  for (const auto& r : t.rows) triples.emplace_back(r.product, r.event, r.report);
  std::sort(triples.begin(), triples.end());
  triples.erase(std::unique(triples.begin(), triples.end()), triples.end());
  for (size_t i = 0; i < triples.size();) {
    size_t j = i;
    while (j < triples.size() && std::get<0>(triples[j]) == std::get<0>(triples[i]) &&
           std::get<1>(triples[j]) == std::get<1>(triples[i])) {
      ++j;
    }
    uint32_t n = static_cast<uint32_t>(j - i);
    if (n >= min_count) {
      uint32_t p = std::get<0>(triples[i]), e = std::get<1>(triples[i]);
      double expected = 0;
      for (size_t s = 0; s < strata; ++s) {
        if (n_s[s] == 0) continue;
        expected += static_cast<double>(n_product_s[p * strata + s]) * n_event_s[e * strata + s] / n_s[s];
      }
      out.pairs.push_back(PairCount{p, e, n, expected, n_product[p], n_event[e]});
    }
    i = j;
  }
  std::sort(out.pairs.begin(), out.pairs.end(), [&](const PairCount& a, const PairCount& b) {
    const std::string& pa = t.products.Name(a.product);
    const std::string& pb = t.products.Name(b.product);
    if (pa != pb) return pa < pb;
    return t.events.Name(a.event) < t.events.Name(b.event);
  });
  return out;
}

}  // namespace trialcore::signal
