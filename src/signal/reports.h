// Spontaneous reports reduced to what disproportionality analysis needs: which
// products and events each report names, and the report's stratum; and the
// counts over them (N, E and margins), computed from unique reports as
// openEBGM's processRaw does.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace trialcore::signal {

// Gives each distinct string a dense id.
class Dictionary {
 public:
  uint32_t Intern(std::string_view s);
  const std::string& Name(uint32_t id) const { return names_[id]; }
  size_t size() const { return names_.size(); }

 private:
  // Looked up by string_view: no string is built for a name already known.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> ids_;
  std::vector<std::string> names_;
};

struct ReportRow {
  uint32_t report, product, event, stratum;
};

struct ReportTable {
  Dictionary reports, products, events, strata;
  std::vector<ReportRow> rows;  // one per (report, product, event) mention; duplicates allowed
  // Reports numbered without names (generated data); counted with the named ones.
  uint32_t unnamed_reports = 0;
  uint64_t report_count() const { return std::max<uint64_t>(reports.size(), unnamed_reports); }
};

// Reads the layout openEBGM takes: a header with id, var1 (product), var2
// (event) and optional stratification columns whose names contain "strat".
// With stratify, a row's stratum is the combination of those columns.
// Errors name the file and line; nothing is returned on error.
Result<ReportTable> LoadReportCsv(const std::string& path, bool stratify);

struct PairCount {
  uint32_t product, event;
  uint32_t n;          // reports naming both
  double e;            // expected count (stratified when the table has strata)
  uint32_t n_product;  // reports naming the product
  uint32_t n_event;    // reports naming the event
};

struct Counts {
  std::vector<PairCount> pairs;  // sorted by product then event name, n >= min_count
  uint64_t reports = 0;          // unique reports
  size_t strata = 1;
};

Counts CountPairs(const ReportTable& table, uint32_t min_count);

}  // namespace trialcore::signal
