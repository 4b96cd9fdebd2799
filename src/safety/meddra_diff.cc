#include "safety/meddra_diff.h"

#include <charconv>

namespace trialcore::safety {

MeddraChanges DiffMeddra(const MeddraDictionary& from, const MeddraDictionary& to) {
  MeddraChanges c;
  c.from_version = from.version();
  c.to_version = to.version();
  // Both lists are sorted by code: one merge walk.
  const auto a = from.llts();
  const auto b = to.llts();
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].code < b[j].code)) {
      c.removed.push_back({a[i].code, a[i].name});
      ++i;
    } else if (i == a.size() || b[j].code < a[i].code) {
      c.added.push_back({b[j].code, b[j].name});
      ++j;
    } else {
      const MeddraLlt& x = a[i++];
      const MeddraLlt& y = b[j++];
      if (x.current && !y.current) c.became_non_current.push_back({y.code, y.name});
      if (!x.current && y.current) c.became_current.push_back({y.code, y.name});
      if (x.pt != y.pt) c.moved.push_back({y.code, y.name, x.pt, y.pt});
    }
  }
  for (const MeddraPt& p : from.pts()) {
    const MeddraPt* q = to.FindPt(p.code);
    if (q != nullptr && q->primary().soc != p.primary().soc) {
      c.primary_soc_changed.push_back({q->code, q->name, p.primary().soc, q->primary().soc});
    }
  }
  return c;
}

bool OlderMeddraVersion(std::string_view a, std::string_view b) {
  auto parts = [](std::string_view v) {
    std::vector<uint64_t> out;
    size_t start = 0;
    while (start <= v.size()) {
      size_t dot = v.find('.', start);
      if (dot == std::string_view::npos) dot = v.size();
      uint64_t n = 0;
      std::from_chars(v.data() + start, v.data() + dot, n);
      out.push_back(n);
      start = dot + 1;
    }
    return out;
  };
  const auto pa = parts(a), pb = parts(b);
  if (pa != pb) return pa < pb;
  return a < b;
}

}  // namespace trialcore::safety
