// Saving a form: values are parsed against their items, derivations and
// visibility are applied, every check of the form and of the forms that read
// it runs on the result, and then either nothing is stored (a hard check
// failed, a reason is missing) or one atomic batch records the save with the
// queries it opened and closed and the signatures it broke.
#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <set>

#include "capture/ae_coding.h"
#include "capture/blinding.h"
#include "capture/impl.h"
#include "capture/sae_reaction.h"

namespace trialcore::capture {

namespace {

std::string ShowValue(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return "(empty)";
    case Value::Kind::kBool:
      return v.as_bool() ? "true" : "false";
    case Value::Kind::kInt:
      return std::to_string(v.as_int());
    case Value::Kind::kDecimal:
      return v.as_decimal().text();
    case Value::Kind::kString:
      return "\"" + v.as_string() + "\"";
    case Value::Kind::kArray: {
      std::string out;
      for (const Value& e : v.as_array()) out += (out.empty() ? "" : ", ") + ShowValue(e);
      return "[" + out + "]";
    }
    default:
      return "(object)";
  }
}

size_t Utf8Chars(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool IsCode(const study::Study& st, const study::Item& item, const std::string& code) {
  const study::CodeList* cl = st.FindCodeList(item.codelist);
  return cl != nullptr &&
         std::any_of(cl->codes.begin(), cl->codes.end(), [&](const study::Code& c) { return c.code == code; });
}

std::string Codes(const study::Study& st, const study::Item& item) {
  std::string out;
  if (const study::CodeList* cl = st.FindCodeList(item.codelist)) {
    for (const auto& c : cl->codes) out += (out.empty() ? "" : ", ") + c.code;
  }
  return out;
}

// The stored form of an entered value, or why it does not fit the item.
Result<Value> ParseInput(const study::Study& st, const study::Item& item, const Value& in) {
  using study::ItemType;
  if (in.is_null()) return Value();
  auto bad = [&](const std::string& why) { return InvalidArgument(item.id + ": " + ShowValue(in) + " " + why); };
  std::string text;
  if (in.is_string()) {
    text = in.as_string();
    if (text.empty()) return Value();
  }
  switch (item.type) {
    case ItemType::kText:
    case ItemType::kAttachment:
      if (!in.is_string()) return bad("is not text");
      if (!IsValidUtf8(text)) return bad("is not valid UTF-8");
      if (item.max_length > 0 && Utf8Chars(text) > static_cast<size_t>(item.max_length)) {
        return bad("is longer than " + std::to_string(item.max_length) + " characters");
      }
      return Value(text);
    case ItemType::kInteger: {
      if (in.kind() == Value::Kind::kInt) return in;
      if (!in.is_string()) return bad("is not a whole number");
      auto d = Decimal::Parse(text);
      if (!d.ok() || text.find('.') != std::string::npos) return bad("is not a whole number");
      try {
        return Value(static_cast<int64_t>(std::stoll(text)));
      } catch (const std::exception&) {
        return bad("is too large");
      }
    }
    case ItemType::kDecimal: {
      std::string t = in.kind() == Value::Kind::kInt       ? std::to_string(in.as_int())
                      : in.kind() == Value::Kind::kDecimal ? in.as_decimal().text()
                                                           : text;
      if (!in.is_string() && in.kind() != Value::Kind::kInt && in.kind() != Value::Kind::kDecimal) {
        return bad("is not a number");
      }
      auto d = Decimal::Parse(t);
      if (!d.ok()) return bad("is not a number");
      size_t dot = t.find('.');
      int places = dot == std::string::npos ? 0 : static_cast<int>(t.size() - dot - 1);
      if (item.precision >= 0 && places > item.precision) {
        return bad("has " + std::to_string(places) + " decimal places; at most " + std::to_string(item.precision) +
                   " are allowed");
      }
      return Value(*d);
    }
    case ItemType::kBoolean:
      if (in.kind() == Value::Kind::kBool) return in;
      if (text == "true" || text == "false") return Value(text == "true");
      return bad("is not true or false");
    case ItemType::kChoice:
      if (!in.is_string()) return bad("is not a code");
      if (!IsCode(st, item, text)) return bad("is not a code of " + item.codelist + " (" + Codes(st, item) + ")");
      return Value(text);
    case ItemType::kMultiChoice: {
      if (in.kind() != Value::Kind::kArray) return bad("is not a list of codes");
      std::set<std::string> seen;
      Value::Array out;
      for (const Value& c : in.as_array()) {
        if (!c.is_string() || !IsCode(st, item, c.as_string())) {
          return bad("holds " + ShowValue(c) + ", not a code of " + item.codelist + " (" + Codes(st, item) + ")");
        }
        if (!seen.insert(c.as_string()).second) return bad("lists " + c.as_string() + " twice");
        out.push_back(c);
      }
      if (out.empty()) return Value();
      return Value(out);
    }
    case ItemType::kDate:
    case ItemType::kPartialDate:
    case ItemType::kTime:
    case ItemType::kDateTime: {
      if (!in.is_string()) return bad("is not text");
      auto parsed = rules::ParseValue(study::RuleTypeOf(item.type), text);
      if (!parsed.ok()) return InvalidArgument(item.id + ": " + parsed.status().message());
      if (item.type == ItemType::kDate && parsed->null) return bad("is not a complete date (YYYY-MM-DD)");
      return Value(text);
    }
  }
  return bad("has an unknown type");
}

std::string RangeText(const study::Range& r) {
  auto num = [](double d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", d);
    return std::string(buf);
  };
  if (r.min && r.max) return num(*r.min) + " to " + num(*r.max);
  if (r.min) return "at least " + num(*r.min);
  return "at most " + num(*r.max);
}

std::optional<double> NumberOf(const Value& v) {
  if (v.kind() == Value::Kind::kInt) return static_cast<double>(v.as_int());
  if (v.kind() == Value::Kind::kDecimal) return std::strtod(v.as_decimal().text().c_str(), nullptr);
  return std::nullopt;
}

bool Outside(const study::Range& r, double x) { return (r.min && x < *r.min) || (r.max && x > *r.max); }

// The stored value of a derivation's result.
Value DerivedValue(const study::Item& item, rules::Type type, const rules::RValue& v) {
  if (v.null || (type == rules::Type::kNumber && !std::isfinite(v.number))) return Value();
  switch (item.type) {
    case study::ItemType::kInteger:
      return Value(static_cast<int64_t>(std::floor(v.number)));
    case study::ItemType::kDecimal: {
      auto d = Decimal::Parse(rules::FormatValue(type, v));
      return d.ok() ? Value(*d) : Value();
    }
    case study::ItemType::kBoolean:
      return Value(v.integer != 0);
    default:
      return Value(rules::FormatValue(type, v));
  }
}

std::string Where(const std::string& visit, const std::string& form, const std::string& group, int row,
                  const std::string& item) {
  return visit + "/" + form + "/" + (group.empty() ? "" : group + "[" + std::to_string(row) + "]/") + item;
}

// The form.saved event of one form instance: every item whose value or
// "not done" changed from before to after, or nothing when none did.
std::optional<EventDraft> FormSavedEvent(const study::Study& study, const SubjectState& before_subject,
                                         const SubjectState& after_subject, const std::string& vid,
                                         const std::string& fid, const Actor& actor, const std::string& reason,
                                         std::vector<std::string>* messages) {
  const std::string& subject = after_subject.id;
  Value::Array changes;
  Value::Object set;
  const FormState* before = nullptr;
  if (auto v = before_subject.visits.find(vid); v != before_subject.visits.end()) {
    if (auto f = v->second.forms.find(fid); f != v->second.forms.end()) before = &f->second;
  }
  const FormState& after = after_subject.visits.at(vid).forms.at(fid);
  auto one = [&](const std::string& group, int row, const std::string& item, const ItemState& a, const ItemState* b) {
    Value old = b ? b->value : Value();
    std::string old_nd = b ? b->not_done : "";
    if (a.value == old && a.not_done == old_nd) return;
    Value::Object c{{"item", item}, {"value", a.value}};
    if (!group.empty()) {
      c["group"] = group;
      c["row"] = static_cast<int64_t>(row);
    }
    if (!a.not_done.empty()) c["not_done"] = a.not_done;
    std::string path = ItemPath(subject, vid, fid, group, row, item);
    set[path] = a.value;
    if (a.not_done != old_nd) set[path + "/not_done"] = a.not_done.empty() ? Value() : Value(a.not_done);
    if (b != nullptr && b->verified) {
      c["verification_reset"] = true;
      set[path + "/verified"] = false;
      if (!BlindedRole(actor.role) || !HiddenItem(study, fid, item)) {
        messages->push_back("verification of " + Where(vid, fid, group, row, item) + " is reset");
      }
    }
    changes.push_back(c);
  };
  for (const auto& [iid, st] : after.items) one("", 0, iid, st, before ? before->Find(iid) : nullptr);
  for (const auto& [gid, rows] : after.rows) {
    for (const auto& [n, row] : rows) {
      for (const auto& [iid, st] : row.items) {
        const ItemState* b = nullptr;
        if (before) {
          if (auto g = before->rows.find(gid); g != before->rows.end()) {
            if (auto r = g->second.find(n); r != g->second.end()) {
              if (auto it = r->second.items.find(iid); it != r->second.items.end()) b = &it->second;
            }
          }
        }
        one(gid, n, iid, st, b);
      }
    }
  }
  if (changes.empty()) return std::nullopt;
  return Draft(SubjectStream(subject), "form.saved", actor, reason,
               Value::Object{{"visit", vid}, {"form", fid}, {"changes", changes}, {"set", set}});
}

// Queries of checks that now pass close themselves; checks that newly fail
// open one. A query a monitor closed stays closed until its item changes
// again (changed_now).
void ReconcileQueries(const study::Study& study, const SubjectState& subject,
                      const std::map<std::pair<std::string, std::string>, std::vector<Failure>>& failures,
                      const Actor& actor,
                      const std::function<bool(const std::string&, const std::string&, const Failure&)>& changed_now,
                      std::vector<EventDraft>* drafts, std::vector<std::string>* messages) {
  std::string stream = SubjectStream(subject.id);
  auto state_path = [&](int n) { return stream + "/queries/" + std::to_string(n) + "/state"; };
  // Queries on hidden items take numbers of their own sequence; a blinded
  // actor is not told of them (a save of a visible item can close one).
  int next_query = NextQueryNumber(subject, false);
  int next_hidden = NextQueryNumber(subject, true);
  const bool blind = BlindedRole(actor.role);
  // The save that triggers the checks: the command's first form.saved (its
  // user's own form), by the stream version the commit will give it.
  std::optional<int64_t> save_version;
  for (size_t i = 0; i < drafts->size() && !save_version; ++i) {
    if ((*drafts)[i].type == "form.saved") save_version = static_cast<int64_t>(subject.version + 1 + i);
  }
  for (const auto& [key, list] : failures) {
    const auto& [vid, fid] = key;
    std::set<std::string> failing;
    for (const Failure& x : list) failing.insert(x.Key());
    for (const auto& [n, q] : subject.queries) {
      if (q.visit != vid || q.form != fid || q.check.empty()) continue;
      if (!q.unresolved()) continue;
      if (failing.contains(Failure{q.check, q.item, q.group, q.row, "", false}.Key())) continue;
      drafts->push_back(QueryClosedDraft(subject.id, n, actor, "data corrected",
                                         "closed automatically: the data now pass " + q.check));
      if (!blind || !HiddenQuery(study, q)) {
        messages->push_back("query " + std::to_string(n) + " closed: " + q.check + " now passes");
      }
    }
    for (const Failure& x : list) {
      bool active = false, ever = false;
      for (const auto& [n, q] : subject.queries) {
        if (q.visit != vid || q.form != fid || Failure{q.check, q.item, q.group, q.row, "", false}.Key() != x.Key()) {
          continue;
        }
        ever = true;
        active = active || q.unresolved();
      }
      if (active || (ever && !changed_now(vid, fid, x))) continue;
      const bool hidden = HiddenItem(study, fid, x.item);
      int n = hidden ? next_hidden++ : next_query++;
      Value::Object p{{"query", static_cast<int64_t>(n)},
                      {"visit", vid},
                      {"form", fid},
                      {"item", x.item},
                      {"check", x.check},
                      {"message", x.message},
                      {"set", Value::Object{{state_path(n), "open"}}}};
      if (!x.group.empty()) {
        p["group"] = x.group;
        p["row"] = static_cast<int64_t>(x.row);
      }
      if (save_version) p["save"] = *save_version;
      drafts->push_back(Draft(stream, "query.opened", actor, "", p));
      if (!blind || !hidden) {
        messages->push_back("query " + std::to_string(n) + " opened on " + Where(vid, fid, x.group, x.row, x.item) +
                            " (" + x.check + "): " + x.message);
      }
    }
  }
}

}  // namespace

// Every valid signature whose scope holds a changed form (a save, a row
// removed) breaks.
void InvalidateSignatures(const SubjectState& subject, const Actor& actor, std::vector<EventDraft>* drafts,
                          std::vector<std::string>* messages) {
  std::string stream = SubjectStream(subject.id);
  std::vector<EventDraft> broken;
  for (const auto& [n, sig] : subject.signatures) {
    if (sig.broken) continue;
    bool covered = false;
    for (const auto& d : *drafts) {
      if (d.type != "form.saved" && d.type != "row.removed") continue;
      const std::string& vid = d.payload.Find("visit")->as_string();
      const std::string& fid = d.payload.Find("form")->as_string();
      covered = covered || ((sig.visit.empty() || sig.visit == vid) && (sig.form.empty() || sig.form == fid));
    }
    if (!covered) continue;
    broken.push_back(Draft(
        stream, "signature.invalidated", actor, "signed data changed",
        Value::Object{{"signature", static_cast<int64_t>(n)},
                      {"set", Value::Object{{stream + "/signatures/" + std::to_string(n) + "/state", "broken"}}}}));
    messages->push_back("signature " + std::to_string(n) + " (" + sig.meaning + " by " + sig.signer_name +
                        ") is broken by this change; it must be signed again");
  }
  drafts->insert(drafts->end(), broken.begin(), broken.end());
}

// What a save did besides storing its values, for the application to say in
// words of its own (the messages name codes): {"queries_opened":[{"query",
// "visit","form","item","group"?,"row"?,"check","message"}], "queries_closed":
// [the same, "message" saying why], "signatures_broken":[{"signature",
// "meaning","signer_name"}], "verification_reset":[{"visit","form","item",
// "group"?,"row"?}], "safety_cases":[{"case","row","action": "opened" or
// "followup"}]}; a blinded actor is told nothing of hidden items.
Value SaveResult(const study::Study& study, const SubjectState& subject, const std::vector<EventDraft>& drafts,
                 bool blind) {
  Value::Array opened, closed, broken, reset, cases;
  auto place = [](const Value& payload, const std::vector<std::string>& keys) {
    Value::Object o;
    for (const std::string& k : keys) {
      if (const Value* v = payload.Find(k)) o[k] = *v;
    }
    return o;
  };
  for (const EventDraft& d : drafts) {
    const Value& p = d.payload;
    if (d.type == "form.saved") {
      const std::string& form = p.Find("form")->as_string();
      for (const Value& c : p.Find("changes")->as_array()) {
        if (c.Find("verification_reset") == nullptr) continue;
        if (blind && HiddenItem(study, form, c.Find("item")->as_string())) continue;
        Value::Object o = place(c, {"item", "group", "row"});
        o["visit"] = *p.Find("visit");
        o["form"] = form;
        reset.push_back(o);
      }
    } else if (d.type == "query.opened") {
      if (blind && HiddenItem(study, p.Find("form")->as_string(), p.Find("item")->as_string())) continue;
      opened.push_back(place(p, {"query", "visit", "form", "item", "group", "row", "check", "message"}));
    } else if (d.type == "query.closed") {
      auto q = subject.queries.find(static_cast<int>(p.Find("query")->as_int()));
      if (q == subject.queries.end() || (blind && HiddenQuery(study, q->second))) continue;
      Value::Object o{{"query", static_cast<int64_t>(q->first)},
                      {"visit", q->second.visit},
                      {"form", q->second.form},
                      {"item", q->second.item},
                      {"check", q->second.check}};
      if (!q->second.group.empty()) {
        o["group"] = q->second.group;
        o["row"] = static_cast<int64_t>(q->second.row);
      }
      if (const Value* m = p.Find("message")) o["message"] = *m;
      closed.push_back(o);
    } else if (d.type == "safety.case.opened" || d.type == "safety.case.followup") {
      Value::Object o = place(p, {"case", "row"});
      o["action"] = Value(d.type == "safety.case.opened" ? "opened" : "followup");
      cases.push_back(Value(std::move(o)));
    } else if (d.type == "signature.invalidated") {
      auto sig = subject.signatures.find(static_cast<int>(p.Find("signature")->as_int()));
      if (sig == subject.signatures.end()) continue;
      broken.push_back(Value::Object{{"signature", static_cast<int64_t>(sig->first)},
                                     {"meaning", sig->second.meaning},
                                     {"signer_name", sig->second.signer_name}});
    }
  }
  return Value::Object{{"queries_opened", opened},
                       {"queries_closed", closed},
                       {"signatures_broken", broken},
                       {"verification_reset", reset},
                       {"safety_cases", cases}};
}

// What form.check answers: the proposal's problems (values that do not
// parse, items not asked) and failing checks, each on its item, the values
// derivations would store, and the changes that need a reason.
// A warning the site already confirmed names its query and the query's
// state, so that one answered or closed shows as such, not as a problem to
// act on again.
Outcome CheckOutcome(const FormState& proposed, const study::Form& form, const std::vector<Failure>& failures,
                     const std::function<const Query*(const Failure&)>& query_of, Value::Array problems,
                     const std::vector<std::string>& needs_reason, bool blind) {
  for (const Failure& x : failures) {
    Value::Object p{{"item", x.item}, {"check", x.check}, {"message", x.message}, {"hard", x.hard}};
    if (!x.group.empty()) {
      p["group"] = x.group;
      p["row"] = static_cast<int64_t>(x.row);
    }
    if (const Query* q = x.hard ? nullptr : query_of(x)) {
      p["query"] = static_cast<int64_t>(q->number);
      p["query_state"] = std::string(QueryStateName(q->state));
    }
    problems.push_back(p);
  }
  Value::Object derived;
  for (const study::ItemGroup& g : form.groups) {
    for (const study::Item& item : g.items) {
      if (!item.derive_expr || g.repeating || (blind && item.unblinded_only)) continue;
      const ItemState* st = proposed.Find(item.id);
      derived[item.id] = st != nullptr ? st->value : Value();
    }
  }
  Value::Array reasons;
  for (const auto& r : needs_reason) reasons.push_back(r);
  Outcome out;
  out.result = Value::Object{{"problems", problems}, {"derived", derived}, {"needs_reason", reasons}};
  out.messages.push_back(problems.empty() ? "no problems" : std::to_string(problems.size()) + " problem(s)");
  return out;
}

EventDraft QueryClosedDraft(const std::string& subject, int query, const Actor& actor, const std::string& reason,
                            const std::string& message) {
  const std::string stream = SubjectStream(subject);
  return Draft(
      stream, "query.closed", actor, reason,
      Value::Object{{"query", static_cast<int64_t>(query)},
                    {"message", message},
                    {"set", Value::Object{{stream + "/queries/" + std::to_string(query) + "/state", "closed"}}}});
}

std::vector<Failure> Capture::Impl::RunChecks(const SubjectState& s, const std::string& visit, const study::Form& form,
                                              int64_t now) const {
  std::vector<Failure> out;
  auto vit = s.visits.find(visit);
  if (vit == s.visits.end()) return out;
  auto fit = vit->second.forms.find(form.id);
  if (fit == vit->second.forms.end()) return out;
  const FormState& fs = fit->second;
  // Ranges first: they need no expression.
  auto range = [&](const study::Item& item, const ItemState& st, const std::string& group, int row) {
    std::optional<double> x = NumberOf(st.value);
    if (!x) return;
    if (item.hard_range && Outside(*item.hard_range, *x)) {
      out.push_back({item.id + ".hard_range", item.id, group, row,
                     item.label + " " + ShowValue(st.value) + (item.unit.empty() ? "" : " " + item.unit) +
                         " is impossible: it must be " + RangeText(*item.hard_range) + ".",
                     true});
    } else if (item.soft_range && Outside(*item.soft_range, *x)) {
      out.push_back({item.id + ".soft_range", item.id, group, row,
                     item.label + " " + ShowValue(st.value) + (item.unit.empty() ? "" : " " + item.unit) +
                         " is outside the expected " + RangeText(*item.soft_range) + "; please confirm.",
                     false});
    }
  };
  for (const study::ItemGroup& g : form.groups) {
    for (const study::Item& item : g.items) {
      if (!g.repeating) {
        if (const ItemState* st = fs.Find(item.id)) range(item, *st, "", 0);
        continue;
      }
      auto rows = fs.rows.find(g.id);
      if (rows == fs.rows.end()) continue;
      for (const auto& [n, row] : rows->second) {
        auto it = row.items.find(item.id);
        if (!row.removed && it != row.items.end()) range(item, it->second, g.id, n);
      }
    }
  }
  for (const study::Check& c : form.checks) {
    if (!c.expr) continue;
    if (c.group.empty()) {
      Binder b(*study_, s, visit, form.id, nullptr, "", now);
      if (b.Test(*c.expr) == rules::Truth::kFalse) out.push_back({c.id, c.item, "", 0, c.message, c.hard});
      continue;
    }
    auto rows = fs.rows.find(c.group);
    if (rows == fs.rows.end()) continue;
    for (const auto& [n, row] : rows->second) {
      if (row.removed) continue;
      Binder b(*study_, s, visit, form.id, &row, c.group, now);
      if (b.Test(*c.expr) == rules::Truth::kFalse) out.push_back({c.id, c.item, c.group, n, c.message, c.hard});
    }
  }
  return out;
}

void Capture::Impl::DeriveAndHide(SubjectState& s, const std::string& visit, const study::Form& form, int64_t now,
                                  std::vector<std::string>* auto_reasons) const {
  FormState& fs = s.visits[visit].forms[form.id];
  for (const study::ItemGroup& g : form.groups) {
    std::vector<std::pair<int, RowState*>> rows;
    if (g.repeating) {
      for (auto& [n, row] : fs.rows[g.id]) {
        if (!row.removed) rows.push_back({n, &row});
      }
    } else {
      rows.push_back({0, nullptr});
    }
    for (auto& [n, row] : rows) {
      for (const study::Item& item : g.items) {
        ItemState* st = nullptr;
        if (row == nullptr) {
          auto it = fs.items.find(item.id);
          st = it == fs.items.end() ? nullptr : &it->second;
        } else {
          auto it = row->items.find(item.id);
          st = it == row->items.end() ? nullptr : &it->second;
        }
        Binder b(*study_, s, visit, form.id, row, g.repeating ? g.id : "", now);
        if (item.derive_expr) {
          Value v = DerivedValue(item, item.derive_expr->type(), b.Evaluate(*item.derive_expr));
          Value old = st ? st->value : Value();
          if (v != old) {
            ItemState& target = row == nullptr ? fs.items[item.id] : row->items[item.id];
            target.value = v;
            if (!old.is_null()) auto_reasons->push_back(item.id + " recomputed by its derivation");
          }
          continue;
        }
        if (item.visible_expr && st != nullptr && !st->value.is_null() &&
            b.Test(*item.visible_expr) == rules::Truth::kFalse) {
          st->value = Value();
          auto_reasons->push_back(item.id + " cleared: hidden because " + item.visible_if + " is false");
        }
      }
    }
  }
}

Result<Outcome> Capture::Impl::SaveForm(const Value& cmd, const Actor& actor) {
  TC_RETURN_IF_ERROR(OnlyFields(cmd, {"op", "subject", "visit", "form", "items", "rows", "not_done", "reason"}));
  // form.check decides exactly as form.save would and stores nothing: a
  // form's edit checks answer while the user is still typing. Every problem
  // is reported at once, each on its item, instead of the first refusing.
  const Value* op = cmd.Find("op");
  const bool dry_run = op != nullptr && op->is_string() && op->as_string() == "form.check";
  Value::Array problems;
  auto problem = [&](const std::string& item, const std::string& group, int row, const std::string& check,
                     const std::string& message, bool hard) {
    Value::Object p{{"item", item}, {"check", check}, {"message", message}, {"hard", hard}};
    if (!group.empty()) {
      p["group"] = group;
      p["row"] = static_cast<int64_t>(row);
    }
    problems.push_back(p);
  };
  TC_ASSIGN_OR_RETURN(std::string subject_id, RequiredText(cmd, "subject"));
  TC_ASSIGN_OR_RETURN(std::string visit_id, RequiredText(cmd, "visit"));
  TC_ASSIGN_OR_RETURN(std::string form_id, RequiredText(cmd, "form"));
  std::string reason = OptionalText(cmd, "reason");
  // For a blinded role a hidden item does not exist (the answer is that for
  // an unknown item), and a check's reply says nothing of one.
  const bool blind = BlindedRole(actor.role);
  auto unknown = [&](const study::Item* item) { return item == nullptr || (blind && item->unblinded_only); };
  TC_ASSIGN_OR_RETURN(const SubjectState* current, FindSubject(subject_id));
  TC_ASSIGN_OR_RETURN(study::Study::VisitInstance instance, study_->FindVisitInstance(visit_id));
  const study::Visit* visit = instance.visit;
  const study::Form* form = study_->FindForm(form_id);
  if (form == nullptr) return NotFound("unknown form " + form_id);
  if (std::find(visit->forms.begin(), visit->forms.end(), form_id) == visit->forms.end()) {
    return NotFound("visit " + visit_id + " does not collect form " + form_id);
  }
  if (!form->roles.empty() && std::find(form->roles.begin(), form->roles.end(), actor.role) == form->roles.end()) {
    return PermissionDenied("role " + actor.role + " may not enter form " + form_id);
  }
  TC_RETURN_IF_ERROR(CheckWritable(*current, visit_id, form_id));
  if (current->visits.count(visit_id) && current->visits.at(visit_id).missed) {
    return FailedPrecondition("visit " + visit_id + " is marked missed");
  }

  int64_t now = env_->NowMicros();
  SubjectState next = *current;
  FormState& fs = next.visits[visit_id].forms[form_id];
  fs.touched = true;
  std::set<std::string> entered;  // items given in this command, as "group/row/item"
  Value::Object new_rows;         // group -> the numbers given to rows added, in order
  std::vector<std::string> needs_reason;

  auto set_item = [&](ItemState& st, const study::Item& item, const Value& input, const std::string& group, int row,
                      const std::string& not_done) -> Status {
    if (item.derive_expr) return InvalidArgument(item.id + " is derived (" + item.derive + "); it cannot be entered");
    Value v;
    if (not_done.empty()) {
      auto parsed = ParseInput(*study_, item, input);
      if (!parsed.ok() && dry_run) {
        problem(item.id, group, row, "format", parsed.status().message(), true);
        return Status::Ok();
      }
      if (!parsed.ok()) {
        return parsed.status().WithContext(visit_id + "/" + form_id +
                                           (group.empty() ? "" : "/" + group + "[" + std::to_string(row) + "]"));
      }
      v = *parsed;
    }
    if (!st.value.is_null() && v != st.value) {
      needs_reason.push_back(item.id + " from " + ShowValue(st.value) + " to " + ShowValue(v));
    } else if (!st.not_done.empty() && not_done != st.not_done) {
      needs_reason.push_back(item.id + " from not done (" + st.not_done + ") to " + ShowValue(v));
    }
    st.value = v;
    st.not_done = not_done;
    entered.insert(group + "/" + std::to_string(row) + "/" + item.id);
    return Status::Ok();
  };

  if (const Value* items = cmd.Find("items")) {
    if (!items->is_object()) return InvalidArgument("\"items\" must be an object of item ids to values");
    for (const auto& [id, input] : items->as_object()) {
      const study::ItemGroup* g = nullptr;
      const study::Item* item = form->FindItem(id, &g);
      if (unknown(item)) return NotFound("form " + form_id + " has no item " + id);
      if (g->repeating) {
        return InvalidArgument(id + " is in the repeating group " + g->id + "; give it in \"rows\"");
      }
      TC_RETURN_IF_ERROR(set_item(fs.items[id], *item, input, "", 0, ""));
    }
  }
  if (const Value* nd = cmd.Find("not_done")) {
    if (!nd->is_object()) return InvalidArgument("\"not_done\" must be an object of item ids to reasons");
    for (const auto& [id, why] : nd->as_object()) {
      const study::ItemGroup* g = nullptr;
      const study::Item* item = form->FindItem(id, &g);
      if (unknown(item)) return NotFound("form " + form_id + " has no item " + id);
      if (g->repeating) return InvalidArgument(id + " is in a repeating group; remove the row instead");
      if (!why.is_string() || why.as_string().empty()) {
        return InvalidArgument("not done needs a reason for " + id);
      }
      TC_RETURN_IF_ERROR(set_item(fs.items[id], *item, Value(), "", 0, why.as_string()));
    }
  }
  if (const Value* rows = cmd.Find("rows")) {
    if (rows->kind() != Value::Kind::kArray) return InvalidArgument("\"rows\" must be a list");
    for (const Value& r : rows->as_array()) {
      TC_RETURN_IF_ERROR(OnlyFields(r, {"group", "row", "items"}));
      TC_ASSIGN_OR_RETURN(std::string gid, RequiredText(r, "group"));
      const study::ItemGroup* g = nullptr;
      for (const auto& grp : form->groups) {
        if (grp.id == gid) g = &grp;
      }
      if (g == nullptr || !g->repeating) return NotFound("form " + form_id + " has no repeating group " + gid);
      auto& group_rows = fs.rows[gid];
      int n = 0;
      if (const Value* rn = r.Find("row")) {
        if (rn->kind() != Value::Kind::kInt || rn->as_int() < 1 || rn->as_int() > 100000) {
          return InvalidArgument("\"row\" must be a row number from 1");
        }
        n = static_cast<int>(rn->as_int());
      } else {
        n = group_rows.empty() ? 1 : group_rows.rbegin()->first + 1;
        Value& added = new_rows[gid];
        if (added.kind() != Value::Kind::kArray) added = Value::Array{};
        added.as_array().push_back(static_cast<int64_t>(n));
      }
      RowState& row = group_rows[n];
      if (row.removed) return FailedPrecondition(gid + " row " + std::to_string(n) + " was removed");
      const Value* items = r.Find("items");
      if (items == nullptr || !items->is_object()) return InvalidArgument("each row needs \"items\", an object");
      for (const auto& [id, input] : items->as_object()) {
        const study::ItemGroup* ig = nullptr;
        const study::Item* item = form->FindItem(id, &ig);
        if (unknown(item) || ig != g) return NotFound("group " + gid + " has no item " + id);
        TC_RETURN_IF_ERROR(set_item(row.items[id], *item, input, gid, n, ""));
      }
    }
  }
  if (entered.empty() && !dry_run) return InvalidArgument("form.save needs \"items\", \"rows\" or \"not_done\"");
  // Malformed values are answered first (above); then what the study's rules forbid.
  if (!dry_run) TC_RETURN_IF_ERROR(CheckReasonForChange(reason));
  if (!needs_reason.empty() && reason.empty() && !dry_run) {
    std::string list;
    for (const auto& n : needs_reason) list += (list.empty() ? "" : "; ") + n;
    return FailedPrecondition("a reason for change is required: " + list);
  }

  // Derivations and visibility on this form, then on the forms that read it.
  std::vector<std::string> auto_reasons;
  DeriveAndHide(next, visit_id, *form, now, &auto_reasons);
  // A value typed in this command for an item its condition hides is
  // refused; one stored earlier is cleared (above), with the reason recorded.
  if (const Value* items = cmd.Find("items")) {
    for (const auto& [id, input] : items->as_object()) {
      const study::Item* item = form->FindItem(id);
      const ItemState* st = fs.Find(id);
      bool typed = !input.is_null() && !(input.is_string() && input.as_string().empty());
      if (typed && item->visible_expr && st != nullptr && st->value.is_null()) {
        if (dry_run) {
          problem(id, "", 0, "visibility", id + " is not asked because " + item->visible_if + " is false", true);
          continue;
        }
        return FailedPrecondition(id + " is not asked because " + item->visible_if + " is false");
      }
    }
  }
  std::vector<std::pair<std::string, const study::Form*>> instances = {{visit_id, form}};
  if (auto dep = dependents_.find(form_id); dep != dependents_.end()) {
    for (const auto& [vid, vs] : next.visits) {
      for (const auto& [fid, f] : vs.forms) {
        if (f.touched && dep->second.contains(fid) && !(vid == visit_id && fid == form_id)) {
          instances.push_back({vid, study_->FindForm(fid)});
        }
      }
    }
  }
  for (size_t i = 1; i < instances.size(); ++i) {
    DeriveAndHide(next, instances[i].first, *instances[i].second, now, &auto_reasons);
  }

  // Checks: a hard failure on the saved form refuses the save.
  std::map<std::pair<std::string, std::string>, std::vector<Failure>> failures;
  std::vector<std::string> refused;
  for (const auto& [vid, f] : instances) {
    failures[{vid, f->id}] = RunChecks(next, vid, *f, now);
    if (vid == visit_id && f == form) {
      for (const Failure& x : failures[{vid, f->id}]) {
        if (x.hard) refused.push_back(x.check + " on " + Where(vid, f->id, x.group, x.row, x.item) + ": " + x.message);
      }
    }
  }
  if (dry_run) {
    // Which items the form asks now, also row by row, so the application
    // shows only those; and the numbers the added rows would get, so that
    // their problems land on them.
    Value::Array hidden, hidden_in_rows;
    const FormState& proposed = next.visits.at(visit_id).forms.at(form_id);
    for (const study::ItemGroup& g : form->groups) {
      if (!g.repeating) {
        Binder binder(*study_, next, visit_id, form_id, nullptr, "", now);
        for (const study::Item& item : g.items) {
          if (unknown(&item)) continue;
          if (item.visible_expr && binder.Test(*item.visible_expr) == rules::Truth::kFalse) hidden.push_back(item.id);
        }
        continue;
      }
      auto rows = proposed.rows.find(g.id);
      if (rows == proposed.rows.end()) continue;
      for (const auto& [n, row] : rows->second) {
        if (row.removed) continue;
        Binder binder(*study_, next, visit_id, form_id, &row, g.id, now);
        for (const study::Item& item : g.items) {
          if (unknown(&item)) continue;
          if (item.visible_expr && binder.Test(*item.visible_expr) == rules::Truth::kFalse) {
            hidden_in_rows.push_back(
                Value::Object{{"group", g.id}, {"row", static_cast<int64_t>(n)}, {"item", item.id}});
          }
        }
      }
    }
    std::vector<Failure> shown;
    for (const Failure& x : failures[{visit_id, form_id}]) {
      if (!unknown(form->FindItem(x.item))) shown.push_back(x);
    }
    // The latest query of the same check on the same item (and row) of this form.
    auto query_of = [&](const Failure& x) -> const Query* {
      const Query* latest = nullptr;
      for (const auto& [n, q] : current->queries) {
        if (q.visit == visit_id && q.form == form_id &&
            Failure{q.check, q.item, q.group, q.row, "", false}.Key() == x.Key()) {
          latest = &q;
        }
      }
      return latest;
    };
    Outcome out = CheckOutcome(proposed, *form, shown, query_of, std::move(problems), needs_reason, blind);
    out.result.as_object()["hidden"] = hidden;
    out.result.as_object()["hidden_in_rows"] = hidden_in_rows;
    out.result.as_object()["new_rows"] = new_rows;
    return out;
  }
  if (!refused.empty()) {
    std::string list;
    for (const auto& r : refused) list += (list.empty() ? "" : "; ") + r;
    return FailedPrecondition("not saved: " + list);
  }
  // Last of the refusals, so that whatever else is wrong with the values is
  // told at once: the visit's date comes before its other forms.
  TC_RETURN_IF_ERROR(CheckVisitDateFirst(*study_, *current, visit_id, form_id));

  // Events: the saves (user's and automatic), queries, broken signatures.
  std::string stream = SubjectStream(subject_id);
  std::vector<EventDraft> drafts;
  Outcome out;
  std::string event_reason = reason;
  if (event_reason.empty() && !auto_reasons.empty()) {
    for (const auto& r : auto_reasons) event_reason += (event_reason.empty() ? "" : "; ") + r;
  }
  for (const auto& [vid, f] : instances) {
    std::string why =
        vid == visit_id && f == form ? event_reason : "recomputed after " + visit_id + "/" + form_id + " changed";
    if (auto d = FormSavedEvent(*study_, *current, next, vid, f->id, actor, why, &out.messages)) {
      drafts.push_back(std::move(*d));
    }
  }
  if (drafts.empty()) {
    out.messages.push_back("nothing changed");
    return out;
  }
  ReconcileQueries(
      *study_, *current, failures, actor,
      [&](const std::string& vid, const std::string& fid, const Failure& x) {
        return vid == visit_id && fid == form_id &&
               entered.contains(x.group + "/" + std::to_string(x.row) + "/" + x.item);
      },
      &drafts, &out.messages);
  ReactToAdverseEvents(*study_, *current, next, actor, &drafts, &out.messages);
  AutocodeAdverseEvents(*store_, *study_, *current, next, actor, &drafts, &out.messages);
  InvalidateSignatures(*current, actor, &drafts, &out.messages);
  out.result = SaveResult(*study_, *current, drafts, BlindedRole(actor.role));
  TC_ASSIGN_OR_RETURN(out.events, Commit(stream, current->version, std::move(drafts)));
  out.messages.insert(out.messages.begin(), "saved " + visit_id + "/" + form_id + " for " + subject_id);
  return out;
}

}  // namespace trialcore::capture
