// Structural comparison of two study versions, the basis of `study diff` and
// of amendment migration plans.
#include <algorithm>
#include <map>
#include <set>

#include "study/study.h"

namespace trialcore::study {

std::string Change::ToString() const {
  const char* mark = kind == Kind::kAdded ? "+ " : kind == Kind::kRemoved ? "- " : "~ ";
  return mark + what + (detail.empty() ? "" : ": " + detail);
}

namespace {

std::string RangeText(const std::optional<Range>& r) {
  if (!r) return "none";
  auto num = [](const std::optional<double>& d) { return d ? FormatBound(*d) : std::string("-"); };
  return '[' + num(r->min) + ", " + num(r->max) + "]";
}

std::string IdentifyingText(const Item& it) {
  std::string out;
  for (const auto& [role, shown] : it.identifying) {
    out += (out.empty() ? "" : ", ") + role + ": " + std::string(DisclosureName(shown));
  }
  return out;
}

class Differ {
 public:
  std::vector<Change> out;

  void Field(const std::string& what, const std::string& field, const std::string& a, const std::string& b) {
    if (a != b) out.push_back({Change::Kind::kChanged, what, field + " " + Show(a) + " -> " + Show(b)});
  }

  static std::string Show(const std::string& s) { return s.empty() ? "(none)" : "'" + s + "'"; }

  template <typename T, typename Fn>
  void Lists(const std::vector<T>& a, const std::vector<T>& b, const std::string& prefix, Fn compare) {
    for (const T& x : a) {
      const T* y = Find(b, x.id);
      if (y == nullptr) {
        out.push_back({Change::Kind::kRemoved, prefix + x.id, ""});
      } else {
        compare(x, *y);
      }
    }
    for (const T& y : b) {
      if (Find(a, y.id) == nullptr) out.push_back({Change::Kind::kAdded, prefix + y.id, ""});
    }
  }

  template <typename T>
  static const T* Find(const std::vector<T>& list, const std::string& id) {
    for (const T& e : list) {
      if (e.id == id) return &e;
    }
    return nullptr;
  }

  void Items(const Form& fa, const Form& fb) {
    std::vector<Item> a, b;
    std::map<std::string, std::pair<std::string, bool>> group_a, group_b;
    for (const ItemGroup& g : fa.groups) {
      for (const Item& it : g.items) {
        a.push_back(it);
        group_a[it.id] = {g.id, g.repeating};
      }
    }
    for (const ItemGroup& g : fb.groups) {
      for (const Item& it : g.items) {
        b.push_back(it);
        group_b[it.id] = {g.id, g.repeating};
      }
    }
    Lists(a, b, "item " + fa.id + ".", [&](const Item& x, const Item& y) {
      std::string what = "item " + fa.id + "." + x.id;
      Field(what, "type", std::string(ItemTypeName(x.type)), std::string(ItemTypeName(y.type)));
      Field(what, "label", x.label, y.label);
      Field(what, "unit", x.unit, y.unit);
      Field(what, "codelist", x.codelist, y.codelist);
      Field(what, "required", x.required ? "yes" : "no", y.required ? "yes" : "no");
      Field(what, "precision", x.precision < 0 ? "" : std::to_string(x.precision),
            y.precision < 0 ? "" : std::to_string(y.precision));
      Field(what, "max_length", x.max_length == 0 ? "" : std::to_string(x.max_length),
            y.max_length == 0 ? "" : std::to_string(y.max_length));
      Field(what, "hard_range", RangeText(x.hard_range), RangeText(y.hard_range));
      Field(what, "soft_range", RangeText(x.soft_range), RangeText(y.soft_range));
      Field(what, "visible_if", x.visible_if, y.visible_if);
      Field(what, "derive", x.derive, y.derive);
      Field(what, "unblinded_only", x.unblinded_only ? "yes" : "no", y.unblinded_only ? "yes" : "no");
      Field(what, "identifying", IdentifyingText(x), IdentifyingText(y));
      Field(what, "group", group_a[x.id].first, group_b[x.id].first);
    });
  }

  void Forms(const Study& a, const Study& b) {
    Lists(a.forms, b.forms, "form ", [&](const Form& x, const Form& y) {
      Field("form " + x.id, "name", x.name, y.name);
      std::string ra, rb;
      for (const auto& r : x.roles) ra += (ra.empty() ? "" : ",") + r;
      for (const auto& r : y.roles) rb += (rb.empty() ? "" : ",") + r;
      Field("form " + x.id, "roles", ra, rb);
      Items(x, y);
      Lists(x.checks, y.checks, "check " + x.id + ".", [&](const Check& p, const Check& q) {
        std::string what = "check " + x.id + "." + p.id;
        Field(what, "condition", p.condition, q.condition);
        Field(what, "severity", p.hard ? "hard" : "soft", q.hard ? "hard" : "soft");
        Field(what, "message", p.message, q.message);
        Field(what, "item", p.item, q.item);
      });
    });
  }

  void Visits(const Study& a, const Study& b) {
    Lists(a.visits, b.visits, "visit ", [&](const Visit& x, const Visit& y) {
      std::string what = "visit " + x.id;
      Field(what, "name", x.name, y.name);
      Field(what, "day", x.day ? std::to_string(*x.day) : "", y.day ? std::to_string(*y.day) : "");
      Field(what, "window", std::to_string(x.window_before) + "/" + std::to_string(x.window_after),
            std::to_string(y.window_before) + "/" + std::to_string(y.window_after));
      std::set<std::string> fa(x.forms.begin(), x.forms.end()), fb(y.forms.begin(), y.forms.end());
      for (const auto& f : fa) {
        if (!fb.contains(f)) out.push_back({Change::Kind::kRemoved, what + " form " + f, ""});
      }
      for (const auto& f : fb) {
        if (!fa.contains(f)) out.push_back({Change::Kind::kAdded, what + " form " + f, ""});
      }
    });
  }

  void CodeLists(const Study& a, const Study& b) {
    Lists(a.codelists, b.codelists, "codelist ", [&](const CodeList& x, const CodeList& y) {
      for (const Code& c : x.codes) {
        auto it = std::find_if(y.codes.begin(), y.codes.end(), [&](const Code& d) { return d.code == c.code; });
        if (it == y.codes.end()) {
          out.push_back({Change::Kind::kRemoved, "code " + x.id + "/" + c.code, ""});
        } else {
          Field("code " + x.id + "/" + c.code, "label", c.label, it->label);
        }
      }
      for (const Code& c : y.codes) {
        if (std::none_of(x.codes.begin(), x.codes.end(), [&](const Code& d) { return d.code == c.code; })) {
          out.push_back({Change::Kind::kAdded, "code " + x.id + "/" + c.code, ""});
        }
      }
    });
  }

  void Eligibility(const Study& a, const Study& b) {
    Lists(a.eligibility, b.eligibility, "criterion ", [&](const Criterion& x, const Criterion& y) {
      Field("criterion " + x.id, "text", x.text, y.text);
      Field("criterion " + x.id, "condition", x.condition, y.condition);
    });
  }
};

}  // namespace

std::vector<Change> DiffStudies(const Study& from, const Study& to) {
  Differ d;
  d.Field("study", "title", from.title, to.title);
  d.Field("study", "version", from.version, to.version);
  d.CodeLists(from, to);
  d.Forms(from, to);
  d.Visits(from, to);
  d.Eligibility(from, to);
  return d.out;
}

}  // namespace trialcore::study
