// Every count is over unique reports: a report naming a product twice counts
// once, so expected counts use unique-report margins, as openEBGM does.
#include "signal/reports.h"

#include <algorithm>
#include <bit>
#include <tuple>
#include <unordered_map>

#include "signal/csv.h"

namespace trialcore::signal {

uint32_t Dictionary::Intern(std::string_view s) {
  auto it = ids_.find(s);
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
    if (name == "id")
      id_col = i;
    else if (name == "var1")
      var1_col = i;
    else if (name == "var2")
      var2_col = i;
    else if (name.find("strat") != std::string::npos)
      strat_cols.push_back(i);
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
    // Built only for an error: most rows have none.
    auto where = [&] { return path + ":" + std::to_string(csv.line()); };
    if (fields.size() != width) {
      return InvalidArgument(where() + ": " + std::to_string(fields.size()) + " fields, but the header has " +
                             std::to_string(width) + " (a truncated line or an unquoted comma?)");
    }
    if (fields[id_col].empty()) return InvalidArgument(where() + ": the report id is empty");
    if (fields[var1_col].empty()) return InvalidArgument(where() + ": the product (var1) is empty");
    if (fields[var2_col].empty()) return InvalidArgument(where() + ": the event (var2) is empty");
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

// Reports per product-event key, in one array with linear probing:
// std::unordered_map allocates a node per pair, tens of millions of them at
// FAERS scale, and each count would be a cache miss through a pointer.
class PairCounter {
 public:
  explicit PairCounter(size_t expected) { Rehash(std::bit_ceil(std::max<size_t>(16, 2 * expected))); }

  void Increment(uint64_t key) {
    for (size_t i = Slot(key);; i = (i + 1) & mask_) {
      Entry& e = entries_[i];
      if (e.key == key) {
        ++e.count;
        return;
      }
      if (e.key == kEmpty) {
        e = Entry{key, 1};
        if (++size_ * 2 > entries_.size()) Rehash(entries_.size() * 2);
        return;
      }
    }
  }

  size_t size() const { return size_; }

  template <typename F>
  void ForEach(F f) const {
    for (const Entry& e : entries_) {
      if (e.key != kEmpty) f(e.key, e.count);
    }
  }

 private:
  struct Entry {
    uint64_t key;
    uint32_t count;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // no product or event id is 2^32 - 1

  size_t Slot(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_); }

  void Rehash(size_t capacity) {
    std::vector<Entry> old = std::move(entries_);
    entries_.assign(capacity, Entry{kEmpty, 0});
    mask_ = capacity - 1;
    shift_ = 64 - std::countr_zero(capacity);
    for (const Entry& e : old) {
      if (e.key == kEmpty) continue;
      size_t i = Slot(e.key);
      while (entries_[i].key != kEmpty) i = (i + 1) & mask_;
      entries_[i] = e;
    }
  }

  std::vector<Entry> entries_;
  size_t size_ = 0, mask_ = 0;
  int shift_ = 64;
};

}  // namespace

Counts CountPairs(const ReportTable& t, uint32_t min_count) {
  Counts out;
  const size_t strata = std::max<size_t>(1, t.strata.size());
  out.strata = strata;
  out.reports = t.report_count();

  // One pass over the rows, a report at a time: rows are grouped by report
  // (every loader writes them so); if not, group them first.
  std::vector<uint32_t> order;
  bool grouped = true;
  {
    std::vector<uint8_t> seen(out.reports, 0);
    for (size_t i = 0; i < t.rows.size() && grouped; ++i) {
      if (i > 0 && t.rows[i].report == t.rows[i - 1].report) continue;
      if (seen[t.rows[i].report]) grouped = false;
      seen[t.rows[i].report] = 1;
    }
  }
  if (!grouped) {
    order.resize(t.rows.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return t.rows[a].report < t.rows[b].report; });
  }
  auto row_at = [&](size_t i) -> const ReportRow& { return grouped ? t.rows[i] : t.rows[order[i]]; };

  std::vector<uint32_t> n_product(t.products.size(), 0), n_event(t.events.size(), 0);
  std::vector<uint32_t> n_product_s(t.products.size() * strata, 0), n_event_s(t.events.size() * strata, 0);
  std::vector<uint32_t> n_s(strata, 0);
  PairCounter pair_n(t.rows.size() / 6);  // product << 32 | event -> reports
  std::vector<uint64_t> pairs;
  std::vector<uint32_t> products, events;
  for (size_t i = 0; i < t.rows.size();) {
    const ReportRow& first = row_at(i);
    size_t j = i;
    pairs.clear();
    products.clear();
    events.clear();
    for (; j < t.rows.size() && row_at(j).report == first.report; ++j) {
      const ReportRow& r = row_at(j);
      pairs.push_back(uint64_t{r.product} << 32 | r.event);
      products.push_back(r.product);
      events.push_back(r.event);
    }
    const uint32_t s = first.stratum;
    auto unique = [](auto& v) {
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
    };
    unique(pairs);
    unique(products);
    unique(events);
    for (uint64_t key : pairs) pair_n.Increment(key);
    for (uint32_t p : products) {
      n_product[p]++;
      n_product_s[p * strata + s]++;
    }
    for (uint32_t e : events) {
      n_event[e]++;
      n_event_s[e * strata + s]++;
    }
    n_s[s]++;
    i = j;
  }
  out.pairs.reserve(pair_n.size());
  pair_n.ForEach([&](uint64_t key, uint32_t n) {
    if (n < min_count) return;
    uint32_t p = static_cast<uint32_t>(key >> 32), e = static_cast<uint32_t>(key);
    double expected = 0;
    for (size_t s = 0; s < strata; ++s) {
      if (n_s[s] == 0) continue;
      expected += static_cast<double>(n_product_s[p * strata + s]) * n_event_s[e * strata + s] / n_s[s];
    }
    out.pairs.push_back(PairCount{p, e, n, expected, n_product[p], n_event[e]});
  });
  // Sorted by name through each name's rank: integer comparisons, where
  // comparing the strings of millions of pairs costs seconds.
  auto ranks = [](const Dictionary& d) {
    std::vector<uint32_t> by_name(d.size());
    for (uint32_t i = 0; i < by_name.size(); ++i) by_name[i] = i;
    std::sort(by_name.begin(), by_name.end(), [&](uint32_t a, uint32_t b) { return d.Name(a) < d.Name(b); });
    std::vector<uint32_t> rank(d.size());
    for (uint32_t r = 0; r < by_name.size(); ++r) rank[by_name[r]] = r;
    return rank;
  };
  const std::vector<uint32_t> product_rank = ranks(t.products), event_rank = ranks(t.events);
  std::sort(out.pairs.begin(), out.pairs.end(), [&](const PairCount& a, const PairCount& b) {
    return product_rank[a.product] != product_rank[b.product] ? product_rank[a.product] < product_rank[b.product]
                                                              : event_rank[a.event] < event_rank[b.event];
  });
  return out;
}

}  // namespace trialcore::signal
