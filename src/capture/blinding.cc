#include "capture/blinding.h"

#include <algorithm>

namespace trialcore::capture {

namespace {

bool FormHoldsHidden(const study::Form& form) {
  for (const auto& g : form.groups) {
    for (const auto& it : g.items) {
      if (it.unblinded_only) return true;
    }
  }
  return false;
}

std::string Text(const Value& v, std::string_view key) {
  const Value* f = v.Find(key);
  return f != nullptr && f->is_string() ? f->as_string() : "";
}

// Whether every entry of a list of {"item": ...} (a save's changes, a
// verification's items) is of a hidden item of the form.
bool OnlyHiddenItems(const study::Study& study, const std::string& form, const Value* list) {
  if (list == nullptr || list->kind() != Value::Kind::kArray || list->as_array().empty()) return false;
  for (const Value& c : list->as_array()) {
    if (!HiddenItem(study, form, Text(c, "item"))) return false;
  }
  return true;
}

}  // namespace

bool BlindedRole(std::string_view role) { return role != "unblinded_pharmacist"; }

bool HiddenItem(const study::Study& study, const std::string& form, const std::string& item) {
  const study::Form* f = study.FindForm(form);
  if (f == nullptr) return false;
  const study::Item* it = f->FindItem(item);
  return it != nullptr && it->unblinded_only;
}

bool HiddenQuery(const study::Study& study, const Query& query) { return HiddenItem(study, query.form, query.item); }

uint64_t SubjectVersion(const SubjectState& subject, bool blinded) {
  return blinded ? subject.blinded_version : subject.version;
}

int NextQueryNumber(const SubjectState& subject, bool hidden) {
  // By numeric range over every query, whatever its item: a database written
  // before the two sequences holds hidden queries among the low numbers, and a
  // study version may have toggled an item's unblinded_only since. A number
  // taken by any query is never given again (ApplyEvent would merge the two).
  int last = hidden ? kHiddenQueryBase : 0;
  for (const auto& entry : subject.queries) {
    const int n = entry.first;
    if (hidden ? n > last : n > last && n <= kHiddenQueryBase) last = n;
  }
  return last + 1;
}

namespace {
Status QueryNumberRange(std::string_view what) {
  std::string shown(what.substr(0, 24));
  if (what.size() > 24) shown += "…";
  return InvalidArgument("a query number is a whole number from 1 to " + std::to_string(kMaxQueryNumber) + ", not " +
                         shown);
}
}  // namespace

Result<int> ParseQueryNumber(std::string_view text) {
  // At most 10 digits, no sign, no leading zero: then it fits in 64 bits to compare.
  const bool digits = !text.empty() && text.size() <= 10 && text[0] != '0' &&
                      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || std::stoll(std::string(text)) > kMaxQueryNumber)
    return QueryNumberRange("\"" + std::string(text) + "\"");
  return static_cast<int>(std::stoll(std::string(text)));
}

Result<int> QueryNumber(const Value& value) {
  if (value.kind() != Value::Kind::kInt) return InvalidArgument("\"query\" must be the query's number");
  if (value.as_int() < 1 || value.as_int() > kMaxQueryNumber) return QueryNumberRange(std::to_string(value.as_int()));
  return static_cast<int>(value.as_int());
}

bool HiddenEvent(const study::Study& study, const SubjectState& subject, const Event& e) {
  const Value& p = e.payload;
  const std::string form = Text(p, "form");
  if (e.type.starts_with("query.")) {
    if (e.type == "query.opened") return HiddenItem(study, form, Text(p, "item"));
    const Value* n = p.Find("query");
    if (n == nullptr || n->kind() != Value::Kind::kInt) return true;
    auto q = subject.queries.find(static_cast<int>(n->as_int()));
    if (q != subject.queries.end()) return HiddenQuery(study, q->second);
    // A query the state does not hold yet (the reader's state may lag the
    // stream): its number or its own item decide, and failing both it is
    // hidden; a blinded role loses at most an event it would have seen.
    if (n->as_int() > kHiddenQueryBase) return true;
    if (!form.empty() && p.Find("item") != nullptr) return HiddenItem(study, form, Text(p, "item"));
    return true;
  }
  if (e.type == "form.saved") return OnlyHiddenItems(study, form, p.Find("changes"));
  if (e.type == "sdv.verified") return OnlyHiddenItems(study, form, p.Find("items"));
  return false;
}

bool ScopeHoldsHidden(const study::Study& study, const std::string& visit, const std::string& form) {
  if (!form.empty()) {
    const study::Form* f = study.FindForm(form);
    return f != nullptr && FormHoldsHidden(*f);
  }
  if (!visit.empty()) {
    auto inst = study.FindVisitInstance(visit);
    if (!inst.ok()) return false;
    for (const std::string& fid : inst->visit->forms) {
      const study::Form* f = study.FindForm(fid);
      if (f != nullptr && FormHoldsHidden(*f)) return true;
    }
    return false;
  }
  for (const auto& f : study.forms) {
    if (FormHoldsHidden(f)) return true;
  }
  return false;
}

}  // namespace trialcore::capture
