#include "api/reports.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "core/csv_field.h"
#include "core/json.h"

namespace trialcore::api {
namespace {

// The value a filter's text stands for, as the item stores it
// (capture/form_save.cc): the comparison is of stored values, not of text.
Result<Value> FilterValue(const study::Study& study, const study::Item& item, const std::string& text) {
  using study::ItemType;
  auto not_one = [&](const std::string& what) {
    return InvalidArgument("item " + item.id + " holds " + what + ", not \"" + text + "\"");
  };
  switch (item.type) {
    case ItemType::kInteger: {
      int64_t n = 0;
      auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (error != std::errc() || end != text.data() + text.size()) return not_one("whole numbers");
      return Value(n);
    }
    case ItemType::kDecimal: {
      auto d = Decimal::Parse(text);
      if (!d.ok()) return not_one("numbers");
      return Value(*d);
    }
    case ItemType::kBoolean:
      if (text != "true" && text != "false") return not_one("true or false");
      return Value(text == "true");
    case ItemType::kChoice: {
      std::string codes;
      if (const study::CodeList* list = study.FindCodeList(item.codelist)) {
        for (const study::Code& c : list->codes) {
          if (c.code == text) return Value(text);
          codes += (codes.empty() ? "" : ", ") + c.code;
        }
      }
      return not_one("a code of " + item.codelist + " (" + codes + ")");
    }
    case ItemType::kMultiChoice:
    case ItemType::kAttachment:
      // A list's codes cannot be told apart in the tables' text without JSON
      // functions, which differ between the back ends.
      return InvalidArgument("the listing filters by items that hold one value; item " + item.id + " is " +
                             std::string(study::ItemTypeName(item.type)));
    default:
      return Value(text);
  }
}

// A coded value as its code list's label (a code without one stays as it is).
Value Decoded(const study::Study& study, const study::Item& item, const Value& value) {
  if (item.type != study::ItemType::kChoice && item.type != study::ItemType::kMultiChoice) return value;
  const study::CodeList* list = study.FindCodeList(item.codelist);
  if (list == nullptr) return value;
  auto label = [&](const Value& code) {
    if (!code.is_string()) return code;
    for (const study::Code& c : list->codes) {
      if (c.code == code.as_string()) return c.label.empty() ? code : Value(c.label);
    }
    return code;
  };
  if (value.kind() != Value::Kind::kArray) return label(value);
  Value::Array out;
  for (const Value& code : value.as_array()) out.push_back(label(code));
  return Value(std::move(out));
}

// What one form instance's lines show the caller and which of them the
// filter keeps.
struct LineRules {
  const study::Study& study;
  const study::Form& form;
  const ListingQuery& query;
  const Value* wanted = nullptr;  // the filter's value; null: no filter
  bool wanted_in_rows = false;    // the filter's item is of a repeating group
};

void AppendLines(const LineRules& rules, const capture::ListingRow& row, const capture::Withheld& withheld,
                 std::vector<ListingLine>* out) {
  auto data = ParseJson(row.data);
  if (!data.ok()) return;
  auto shown = [&](const Value* values) {
    Value::Object items;
    if (values == nullptr || !values->is_object()) return items;
    for (const auto& [id, v] : values->as_object()) {
      const study::Item* it = rules.form.FindItem(id);
      if (it == nullptr || (it->unblinded_only && !row.unblinded)) continue;
      auto w = withheld.find(rules.form.id + "/" + id);
      Value disclosed = w == withheld.end() ? v : capture::Disclosed(v, w->second);
      items[id] = rules.query.labels ? Decoded(rules.study, *it, disclosed) : std::move(disclosed);
    }
    return items;
  };
  // The filter's item is never withheld nor hidden from its caller: its
  // stored value is the one shown.
  auto kept = [&](const Value* values) {
    if (rules.wanted == nullptr || !rules.wanted_in_rows) return true;
    const Value* v = values == nullptr ? nullptr : values->Find(rules.query.item);
    return v != nullptr && *v == *rules.wanted;
  };
  const Value* rows = data->Find("rows");
  const bool repeating = rows != nullptr && rows->kind() == Value::Kind::kArray && !rows->as_array().empty();
  Value::Object own = shown(data->Find("items"));
  if ((!repeating || !own.empty()) && !rules.wanted_in_rows) {
    out->push_back({row.subject, row.site, row.visit, "", 0, std::move(own)});
  }
  if (!repeating) return;
  for (const Value& r : rows->as_array()) {
    if (!kept(r.Find("items"))) continue;
    const Value* group = r.Find("group");
    const Value* number = r.Find("row");
    out->push_back({row.subject, row.site, row.visit, group != nullptr && group->is_string() ? group->as_string() : "",
                    number != nullptr && number->kind() == Value::Kind::kInt ? number->as_int() : 0,
                    shown(r.Find("items"))});
  }
}

}  // namespace

Result<Listing> ReadListing(EventStore* store, const std::string& study_id, const study::Study& study,
                            const ListingQuery& query, const ListingReader& reader, size_t offset, size_t limit) {
  const study::Form* form = study.FindForm(query.form);
  if (form == nullptr) {
    return query.form.empty() ? InvalidArgument("\"form\" is required: the form to list")
                              : NotFound("unknown form \"" + query.form + "\"");
  }
  capture::ListingFilter filter;
  filter.form = query.form;
  filter.site = query.site;
  filter.visit = query.visit;
  filter.subject = query.subject;
  filter.with_inactive = query.with_inactive;
  const study::ItemGroup* group = nullptr;
  if (!query.item.empty() || !query.value.empty()) {
    if (query.item.empty()) return InvalidArgument("\"value\" filters by an item: name it in \"item\"");
    const study::Item* item = form->FindItem(query.item, &group);
    // A hidden item answers as one the form does not have: the refusal tells nothing.
    if (item == nullptr || (item->unblinded_only && !reader.unblinded) ||
        reader.withheld("").contains(form->id + "/" + item->id)) {
      return NotFound("form " + form->id + " has no item \"" + query.item + "\"");
    }
    if (query.value.empty()) return InvalidArgument("\"item\" filters by a value: give it in \"value\"");
    TC_ASSIGN_OR_RETURN(filter.value, FilterValue(study, *item, query.value));
    filter.item = item->id;
  }
  TC_ASSIGN_OR_RETURN(capture::ListingPage page,
                      capture::ListFormValues(store, study_id, reader.viewer, filter, offset, limit));
  Listing out;
  out.form = form;
  out.total = page.total;
  out.hidden_columns = !page.rows.empty() && std::all_of(page.rows.begin(), page.rows.end(),
                                                         [](const capture::ListingRow& r) { return r.unblinded; });
  const LineRules rules{study, *form, query, filter.item.empty() ? nullptr : &filter.value,
                        group != nullptr && group->repeating};
  // Identifying items as the caller's roles at each line's site disclose them.
  std::map<std::string, capture::Withheld> withheld_at;
  for (const capture::ListingRow& row : page.rows) {
    auto w = withheld_at.find(row.site);
    if (w == withheld_at.end()) w = withheld_at.emplace(row.site, reader.withheld(row.site)).first;
    AppendLines(rules, row, w->second, &out.lines);
  }
  return out;
}

Value ListingLineJson(const ListingLine& line) {
  Value::Object o{{"subject", line.subject}, {"site", line.site}, {"visit", line.visit}, {"items", line.items}};
  if (!line.group.empty()) {
    o["group"] = line.group;
    o["row"] = line.row;
  }
  return Value(std::move(o));
}

std::string ListingCsv(const Listing& listing) {
  std::vector<const study::Item*> columns;
  for (const auto& g : listing.form->groups) {
    for (const auto& it : g.items) {
      if (!it.unblinded_only || listing.hidden_columns) columns.push_back(&it);
    }
  }
  std::string out = "subject,site,visit,group,row";
  for (const study::Item* it : columns) out += "," + CsvSafeField(it->id);
  out += "\r\n";
  for (const ListingLine& line : listing.lines) {
    out += CsvSafeField(line.subject) + "," + CsvSafeField(line.site) + "," + CsvSafeField(line.visit) + "," +
           (line.group.empty() ? "," : CsvSafeField(line.group) + "," + std::to_string(line.row));
    for (const study::Item* it : columns) {
      out += ",";
      auto v = line.items.find(it->id);
      if (v == line.items.end()) continue;
      if (const Value* nd = v->second.Find("not_done"); nd != nullptr && nd->is_string()) {
        out += CsvSafeField("not done: " + nd->as_string());
      } else if (v->second.is_string()) {
        out += CsvSafeField(v->second.as_string());
      } else {
        out += CsvSafeField(ToJson(v->second));
      }
    }
    out += "\r\n";
  }
  return out;
}

Value::Array QueryTurnaroundJson(const std::vector<capture::QueryTurnaround>& sites) {
  // Means in whole hours (the answer has no fractions), rounded half up.
  constexpr int64_t kHourUs = 3'600'000'000;
  auto mean_hours = [](int64_t total_us, int64_t n) { return n ? (total_us / n + kHourUs / 2) / kHourUs : 0; };
  Value::Array out;
  for (const auto& t : sites) {
    out.push_back(Value::Object{{"site", t.site},
                                {"opened", t.opened},
                                {"answered", t.answered},
                                {"mean_hours_to_answer", mean_hours(t.answer_us_total, t.answered)},
                                {"closed", t.closed},
                                {"mean_hours_to_close", mean_hours(t.close_us_total, t.closed)},
                                {"unresolved_over_30_days", t.unresolved_over_30_days}});
  }
  return out;
}

}  // namespace trialcore::api
