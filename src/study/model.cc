#include <algorithm>
#include <charconv>

#include "study/study.h"

namespace trialcore::study {

std::string_view DisclosureName(Disclosure d) {
  switch (d) {
    case Disclosure::kFull:
      return "full";
    case Disclosure::kYearOnly:
      return "year_only";
    case Disclosure::kHidden:
      return "hidden";
  }
  return "full";
}

std::string_view ItemTypeName(ItemType type) {
  switch (type) {
    case ItemType::kText:
      return "text";
    case ItemType::kInteger:
      return "integer";
    case ItemType::kDecimal:
      return "decimal";
    case ItemType::kDate:
      return "date";
    case ItemType::kPartialDate:
      return "partial_date";
    case ItemType::kTime:
      return "time";
    case ItemType::kDateTime:
      return "datetime";
    case ItemType::kBoolean:
      return "boolean";
    case ItemType::kChoice:
      return "choice";
    case ItemType::kMultiChoice:
      return "multi_choice";
    case ItemType::kAttachment:
      return "attachment";
  }
  return "?";
}

std::string FormatBound(double value) {
  if (value == 0) return "0";  // also -0, which is no decimal
  char buf[400];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(value);
}

rules::Type RuleTypeOf(ItemType type) {
  switch (type) {
    case ItemType::kInteger:
    case ItemType::kDecimal:
      return rules::Type::kNumber;
    case ItemType::kDate:
    case ItemType::kPartialDate:
      return rules::Type::kDate;
    case ItemType::kTime:
      return rules::Type::kTime;
    case ItemType::kDateTime:
      return rules::Type::kDateTime;
    case ItemType::kBoolean:
      return rules::Type::kBool;
    case ItemType::kMultiChoice:
      return rules::Type::kCodes;
    default:
      return rules::Type::kText;
  }
}

const Item* Form::FindItem(std::string_view item_id, const ItemGroup** group) const {
  for (const ItemGroup& g : groups) {
    for (const Item& it : g.items) {
      if (it.id == item_id) {
        if (group != nullptr) *group = &g;
        return &it;
      }
    }
  }
  return nullptr;
}

template <typename T>
static const T* FindById(const std::vector<T>& list, std::string_view id) {
  auto it = std::find_if(list.begin(), list.end(), [&](const T& e) { return e.id == id; });
  return it == list.end() ? nullptr : &*it;
}

const Form* Study::FindForm(std::string_view form_id) const { return FindById(forms, form_id); }
const Visit* Study::FindVisit(std::string_view visit_id) const { return FindById(visits, visit_id); }
const CodeList* Study::FindCodeList(std::string_view list_id) const { return FindById(codelists, list_id); }

std::vector<int> PlannedDays(const Visit& visit) {
  std::vector<int> days;
  if (!visit.day) return days;
  days.push_back(*visit.day);
  if (visit.repeat_every > 0) {
    for (int d = *visit.day + visit.repeat_every; d <= visit.repeat_until; d += visit.repeat_every) days.push_back(d);
  }
  return days;
}

std::string VisitInstanceId(const Visit& visit, int occurrence) {
  return occurrence <= 1 ? visit.id : visit.id + "#" + std::to_string(occurrence);
}

Result<Study::VisitInstance> Study::FindVisitInstance(std::string_view instance_id) const {
  size_t hash = instance_id.find('#');
  std::string_view base = instance_id.substr(0, hash);
  const Visit* v = FindVisit(base);
  if (v == nullptr) return NotFound("unknown visit " + std::string(base));
  if (hash == std::string_view::npos) return VisitInstance{v, 1};
  std::string_view number = instance_id.substr(hash + 1);
  int n = 0;
  for (char c : number) {
    if (c < '0' || c > '9' || n > 100000)
      return InvalidArgument("visit \"" + std::string(instance_id) + "\": the occurrence after '#' must be a number");
    n = n * 10 + (c - '0');
  }
  if (number.empty() || n < 1)
    return InvalidArgument("visit \"" + std::string(instance_id) + "\": occurrences count from 1");
  if (!v->unscheduled && v->repeat_every == 0 && n > 1) {
    return InvalidArgument("visit " + v->id + " happens once; only repeating and unscheduled visits have occurrences");
  }
  if (v->repeat_every > 0 && n > static_cast<int>(PlannedDays(*v).size())) {
    return InvalidArgument("visit " + v->id + " is planned " + std::to_string(PlannedDays(*v).size()) +
                           " times; there is no occurrence " + std::to_string(n));
  }
  return VisitInstance{v, n};
}

namespace {

class StudyResolver : public rules::Resolver {
 public:
  StudyResolver(const Study& s, std::string form, std::string row_group)
      : s_(s), form_(std::move(form)), row_group_(std::move(row_group)) {}

  Result<rules::Resolved> ResolveItem(std::span<const std::string> path) const override {
    std::string visit, form, item;
    if (path.size() == 1) {
      if (form_.empty()) {
        return InvalidArgument("name the form of " + path[0] + " (FORM." + path[0] +
                               "): this expression is not written on a form");
      }
      form = form_;
      item = path[0];
    } else if (path.size() == 2) {
      form = path[0];
      item = path[1];
    } else if (path.size() == 3) {
      visit = path[0];
      form = path[1];
      item = path[2];
    } else {
      return InvalidArgument("a reference is ITEM, FORM.ITEM or VISIT.FORM.ITEM, not " + Join(path));
    }
    const Form* f = s_.FindForm(form);
    if (f == nullptr) {
      if (path.size() == 2 && s_.FindVisit(form) != nullptr) {
        return InvalidArgument(form + " is a visit; name the form too: " + form + ".FORM." + item);
      }
      return NotFound("unknown form " + form + " in " + Join(path));
    }
    if (!visit.empty()) {
      const Visit* v = s_.FindVisit(visit);
      if (v == nullptr) return NotFound("unknown visit " + visit + " in " + Join(path));
      if (std::find(v->forms.begin(), v->forms.end(), form) == v->forms.end()) {
        return NotFound("visit " + visit + " does not collect form " + form);
      }
    }
    const ItemGroup* g = nullptr;
    const Item* it = f->FindItem(item, &g);
    if (it == nullptr) {
      return NotFound(path.size() == 1
                          ? "unknown item " + item + " on form " + form
                          : "unknown item " + Join(path) + " (form " + form + " has no item " + item + ")");
    }
    rules::Resolved r;
    r.key = (visit.empty() ? "" : visit + ".") + form + "." + item;
    r.type = RuleTypeOf(it->type);
    if (const CodeList* cl = s_.FindCodeList(it->codelist)) {
      for (const Code& c : cl->codes) r.codes.push_back(c.code);
    }
    // A bare ITEM in a row-level expression is the current row's value; a
    // qualified FORM.ITEM always means the whole group, for aggregates.
    bool current_row = path.size() == 1 && g->id == row_group_;
    if (g->repeating && !current_row) r.group = (visit.empty() ? "" : visit + ".") + form + "." + g->id;
    return r;
  }

  Result<std::string> ResolveGroup(std::span<const std::string> path) const override {
    // GROUP (on this form), FORM (its one repeating group), FORM.GROUP, VISIT.FORM.GROUP.
    std::string visit, form, group;
    if (path.size() == 1) {
      if (!form_.empty()) {
        const Form* f = s_.FindForm(form_);
        for (const ItemGroup& g : f->groups) {
          if (g.id == path[0] && g.repeating) return form_ + "." + g.id;
        }
      }
      form = path[0];
    } else if (path.size() == 2) {
      form = path[0];
      group = path[1];
    } else if (path.size() == 3) {
      visit = path[0];
      form = path[1];
      group = path[2];
    }
    const Form* f = s_.FindForm(form);
    if (f == nullptr) return NotFound("unknown item or repeating group " + Join(path));
    std::string prefix = (visit.empty() ? "" : visit + ".") + form + ".";
    const ItemGroup* found = nullptr;
    int repeating = 0;
    for (const ItemGroup& g : f->groups) {
      if (!g.repeating) continue;
      ++repeating;
      if (group.empty() || g.id == group) found = &g;
    }
    if (found == nullptr) return NotFound(Join(path) + " is not a repeating group");
    if (group.empty() && repeating > 1) {
      return InvalidArgument("form " + form + " has several repeating groups; name one: " + form + ".GROUP");
    }
    return prefix + found->id;
  }

 private:
  static std::string Join(std::span<const std::string> path) {
    std::string out;
    for (const auto& p : path) out += (out.empty() ? "" : ".") + p;
    return out;
  }

  const Study& s_;
  std::string form_;
  std::string row_group_;
};

}  // namespace

std::unique_ptr<rules::Resolver> MakeResolver(const Study& study, std::string form, std::string row_group) {
  return std::make_unique<StudyResolver>(study, std::move(form), std::move(row_group));
}

}  // namespace trialcore::study

namespace trialcore::study {

int SdvPlan::PercentAt(const std::string& site) const {
  if (!declared) return 100;
  auto risk = site_risk.find(site);
  auto percent = percent_by_risk.find(risk == site_risk.end() ? default_risk : risk->second);
  return percent == percent_by_risk.end() ? 100 : percent->second;
}

bool SdvPlan::Sampled(const std::string& site, const std::string& subject) const {
  const int percent = PercentAt(site);
  if (percent >= 100) return true;
  if (percent <= 0) return false;
  const Hash h = Sha256(seed + "/" + subject);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n = n << 8 | h[i];
  return static_cast<int>(n % 100) < percent;
}

bool SdvPlan::Requires(const std::string& form, const std::string& item, bool subject_sampled) const {
  if (!declared || subject_sampled) return true;
  for (const ItemRef& r : always) {
    if (r.form == form && (r.item.empty() || r.item == item)) return true;
  }
  return false;
}

}  // namespace trialcore::study
