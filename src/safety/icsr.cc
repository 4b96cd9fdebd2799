#include "safety/icsr.h"

#include <algorithm>
#include <set>

namespace trialcore::safety {

namespace {

// A repeat letter is a whole segment "r", "i" or "k" ("E.i.2.1b", "G.k.9.i.2.r.1").
bool IsRepeatSegment(std::string_view s) { return s == "r" || s == "i" || s == "k"; }

template <typename F>
void ForEachSegment(std::string_view number, F f) {
  size_t start = 0;
  while (start <= number.size()) {
    size_t dot = number.find('.', start);
    if (dot == std::string_view::npos) dot = number.size();
    f(number.substr(start, dot - start));
    start = dot + 1;
  }
}

// An element belongs to a section when its number continues the section's
// ("E.i.2.1b" in "E.i") or is the section (C.1.10.r repeats and holds the value).
bool HasPrefixSection(std::string_view number, std::string_view section) {
  number = IchPart(number);
  section = IchPart(section);
  return number.size() >= section.size() && number.substr(0, section.size()) == section &&
         (number.size() == section.size() || number[section.size()] == '.');
}

}  // namespace

std::string_view IchPart(std::string_view number) { return number.substr(0, 4) == "FDA." ? number.substr(4) : number; }

int RepeatDepth(std::string_view number) {
  // N.2.r is the message: one ICSR per message, so its r is not an index.
  if (number.substr(0, 5) == "N.2.r") return 0;
  int depth = 0;
  ForEachSegment(number, [&](std::string_view s) { depth += IsRepeatSegment(s); });
  return depth;
}

std::string ElementLabel(std::string_view number, const std::vector<uint16_t>& index) {
  std::string out(number);
  if (index.empty()) return out;
  out += '[';
  for (size_t n = 0; n < index.size(); ++n) {
    if (n) out += ',';
    out += std::to_string(index[n]);
  }
  out += ']';
  return out;
}

void Icsr::Put(E2bElement element) {
  for (auto& e : elements_) {
    if (e.number == element.number && e.index == element.index) {
      e = std::move(element);
      return;
    }
  }
  elements_.push_back(std::move(element));
}

void Icsr::Set(std::string_view number, std::vector<uint16_t> index, std::string value) {
  Put(E2bElement{std::string(number), std::move(index), std::move(value), "", ""});
}

void Icsr::SetNull(std::string_view number, std::vector<uint16_t> index, std::string null_flavor) {
  Put(E2bElement{std::string(number), std::move(index), "", std::move(null_flavor), ""});
}

bool Icsr::Remove(std::string_view number, const std::vector<uint16_t>& index) {
  auto it = std::find_if(elements_.begin(), elements_.end(),
                         [&](const E2bElement& e) { return e.number == number && e.index == index; });
  if (it == elements_.end()) return false;
  elements_.erase(it);
  return true;
}

const E2bElement* Icsr::Find(std::string_view number, const std::vector<uint16_t>& index) const {
  for (const auto& e : elements_) {
    if (e.number == number && e.index == index) return &e;
  }
  return nullptr;
}

std::string Icsr::Value(std::string_view number, const std::vector<uint16_t>& index) const {
  const E2bElement* e = Find(number, index);
  return e ? e->value : std::string();
}

std::vector<const E2bElement*> Icsr::All(std::string_view number) const {
  std::vector<const E2bElement*> out;
  for (const auto& e : elements_) {
    if (e.number == number) out.push_back(&e);
  }
  return out;
}

std::vector<std::vector<uint16_t>> Icsr::Instances(std::string_view section) const {
  const int depth = RepeatDepth(section);
  std::set<std::vector<uint16_t>> seen;
  for (const auto& e : elements_) {
    if (!HasPrefixSection(e.number, section) || static_cast<int>(e.index.size()) < depth) continue;
    seen.insert(std::vector<uint16_t>(e.index.begin(), e.index.begin() + depth));
  }
  return {seen.begin(), seen.end()};
}

Icsr::Patient Icsr::patient() const {
  Patient p;
  if (const E2bElement* d1 = Find("D.1")) p.initials = d1->null_flavor.empty() ? d1->value : d1->null_flavor;
  p.age = Value("D.2.2a");
  p.age_unit = Value("D.2.2b");
  p.sex = Value("D.5");
  return p;
}

std::vector<Icsr::Reaction> Icsr::reactions() const {
  static constexpr const char* kSeriousness[7] = {"E.i.3.2a", "E.i.3.2b", "E.i.3.2c",    "E.i.3.2d",
                                                  "E.i.3.2e", "E.i.3.2f", "FDA.E.i.3.2h"};
  std::vector<Reaction> out;
  for (const auto& idx : Instances("E.i")) {
    Reaction r;
    r.i = idx[0];
    r.reported_term = Value("E.i.1.2", idx);
    if (r.reported_term.empty()) r.reported_term = Value("E.i.1.1a", idx);
    r.meddra_version = Value("E.i.2.1a", idx);
    r.meddra_llt_code = Value("E.i.2.1b", idx);
    for (int n = 0; n < 7; ++n) r.seriousness[n] = Value(kSeriousness[n], idx) == "true";
    r.outcome = Value("E.i.7", idx);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<Icsr::Drug> Icsr::drugs() const {
  std::vector<Drug> out;
  for (const auto& idx : Instances("G.k")) {
    out.push_back(Drug{idx[0], Value("G.k.2.2", idx), Value("G.k.1", idx)});
  }
  return out;
}

std::vector<Icsr::Drug> Icsr::suspect_drugs() const {
  std::vector<Drug> out;
  for (auto& d : drugs()) {
    if (d.characterisation == "1" || d.characterisation == "3") out.push_back(std::move(d));
  }
  return out;
}

std::vector<Icsr::Causality> Icsr::causality() const {
  std::vector<Causality> out;
  for (const auto& idx : Instances("G.k.9.i.2.r")) {
    out.push_back(Causality{idx[0], idx[1], idx[2], Value("G.k.9.i.2.r.1", idx), Value("G.k.9.i.2.r.2", idx),
                            Value("G.k.9.i.2.r.3", idx)});
  }
  return out;
}

}  // namespace trialcore::safety
