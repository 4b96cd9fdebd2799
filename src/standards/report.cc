#include "standards/report.h"

#include <ostream>

namespace trialcore::standards {

namespace {
std::string Grouped(uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}
}  // namespace

TransferReport::Count& TransferReport::CountOf(const std::string& what) {
  for (auto& c : counts) {
    if (c.what == what) return c;
  }
  counts.push_back({what, 0, 0});
  return counts.back();
}

void PrintReport(const TransferReport& report, std::ostream& out) {
  for (const auto& c : report.counts) {
    out << c.what << ": " << Grouped(c.read) << " read, " << Grouped(c.written) << " written\n";
  }
  if (report.not_carried.empty()) return;
  out << "not carried over (" << report.not_carried.size() << "):\n";
  for (const auto& n : report.not_carried) out << "  " << n.where << ": " << n.what << ": " << n.why << "\n";
}

}  // namespace trialcore::standards
