#include "api/views.h"

#include <algorithm>
#include <set>

#include "capture/blinding.h"
#include "capture/capture.h"
#include "capture/safety_workflow.h"
#include "core/json.h"
#include "rules/rules.h"

namespace trialcore::api {

Value ItemJson(const capture::ItemState& st, study::Disclosure disclosure) {
  Value::Object o{{"value", capture::Disclosed(st.value, disclosure)}, {"verified", st.verified}};
  if (!st.not_done.empty()) o["not_done"] = st.not_done;
  if (disclosure != study::Disclosure::kFull) o["withheld"] = std::string(study::DisclosureName(disclosure));
  return o;
}

std::vector<std::string> ViewingRoles(const Access& access, const std::optional<std::string>& wanted,
                                      const std::string& site) {
  if (auto acting = access.ActingRole(wanted, site); acting.ok()) return {*acting};
  return access.RolesAt(site);
}

capture::Withheld WithheldFor(const study::Study& st, const Access& access, const std::optional<std::string>& wanted,
                              const std::string& site) {
  return capture::WithheldFrom(st, ViewingRoles(access, wanted, site));
}

bool SeesHidden(const Access& access, const std::optional<std::string>& wanted, const std::string& site) {
  return access.Unblinded(wanted, site);
}

Result<capture::Viewer> ViewerFor(const capture::Capture& cap, const Access& access,
                                  const std::optional<std::string>& wanted) {
  std::set<std::string> sites;
  if (auto definition = cap.study()) {
    for (const auto& s : definition->sites) sites.insert(s.id);
  }
  TC_ASSIGN_OR_RETURN(auto with_subjects, capture::SitesWithSubjects(cap.store(), cap.study_id(), cap.read_cache()));
  sites.insert(with_subjects.begin(), with_subjects.end());
  capture::Viewer v;
  v.all_sites = access.SeesAllSites();
  for (const std::string& site : sites) {
    if (!access.SeesSite(site)) continue;
    if (!v.all_sites) v.sites.push_back(site);
    if (SeesHidden(access, wanted, site)) v.unblinded_sites.push_back(site);
  }
  return v;
}

std::string DashboardJsonText(const capture::DashboardFigures& d, int64_t planned_subjects) {
  std::string out;
  out.reserve(128 + 64 * (d.overdue.size() + d.out_of_window.size() + d.unsigned_casebook_list.size()));
  auto key = [&](std::string_view k) {
    if (out.back() != '{') out += ',';
    AppendJsonString(&out, k);
    out += ':';
  };
  auto number = [&](std::string_view k, int64_t n) {
    key(k);
    out += std::to_string(n);
  };
  // Objects of the lists: their keys in byte order, as ToJson writes them.
  auto list = [&](std::string_view k, const std::vector<capture::VisitRef>& refs) {
    key(k);
    out += '[';
    for (size_t i = 0; i < refs.size(); ++i) {
      if (i) out += ',';
      out += "{\"status\":";
      AppendJsonString(&out, refs[i].status);
      out += ",\"subject\":";
      AppendJsonString(&out, refs[i].subject);
      out += ",\"visit\":";
      AppendJsonString(&out, refs[i].visit);
      out += '}';
    }
    out += ']';
  };
  auto ages = [&](std::string_view k, const std::array<int64_t, 3>& age) {
    key(k);
    out += '{';
    number("0-7 days", age[0]);
    number("8-30 days", age[1]);
    number("over 30 days", age[2]);
    out += '}';
  };
  out += '{';
  ages("answered_queries_by_age", d.answered_queries_by_age);
  key("database_locked");
  out += d.database_locked ? "true" : "false";
  ages("open_queries_by_age", d.open_queries_by_age);
  list("out_of_window", d.out_of_window);
  list("overdue", d.overdue);
  number("overdue_visits", d.overdue_visits);
  number("planned_subjects", planned_subjects);
  key("subjects_by_site");
  out += '{';
  for (const auto& [site, statuses] : d.subjects_by_site) {
    key(site);
    out += '{';
    for (const auto& [status, n] : statuses) number(status, n);
    out += '}';
  }
  out += '}';
  list("unsigned", d.unsigned_casebook_list);
  number("unsigned_casebooks", d.unsigned_casebooks);
  number("visits_out_of_window", d.visits_out_of_window);
  out += '}';
  return out;
}

std::string SubjectListJsonText(const capture::SubjectPage& page, size_t offset, size_t limit) {
  std::string out;
  out.reserve(96 + 80 * page.subjects.size());
  out += "{\"limit\":" + std::to_string(limit) + ",\"offset\":" + std::to_string(offset) + ",\"subjects\":[";
  for (size_t i = 0; i < page.subjects.size(); ++i) {
    const capture::SubjectSummary& s = page.subjects[i];
    out += i ? ",{\"answered_queries\":" : "{\"answered_queries\":";
    out += std::to_string(s.answered_queries) + ",\"id\":";
    AppendJsonString(&out, s.id);
    out += s.inactive ? ",\"inactive\":true" : ",\"inactive\":false";
    out += ",\"open_queries\":" + std::to_string(s.open_queries) + ",\"site\":";
    AppendJsonString(&out, s.site);
    out += ",\"status\":";
    AppendJsonString(&out, s.status);
    out += '}';
  }
  out += "],\"total\":" + std::to_string(page.total) + "}";
  return out;
}

std::string QueryInboxJsonText(const capture::QueryPage& page, size_t offset, size_t limit, int64_t now_us) {
  std::string out;
  size_t text = 0;
  const std::vector<capture::QuerySummary>& queries = *page.queries;
  for (const auto& q : queries)
    text += q.subject.size() + q.visit.size() + q.form.size() + q.item.size() + q.message.size();
  out.reserve(96 + 192 * queries.size() + text);
  auto string = [&](std::string_view k, const std::string& v) {
    out += k;
    AppendJsonString(&out, v);
  };
  auto number = [&](std::string_view k, int64_t n) {
    out += k;
    out += std::to_string(n);
  };
  // Keys in byte order, as ToJson writes them.
  number("{\"limit\":", static_cast<int64_t>(limit));
  number(",\"offset\":", static_cast<int64_t>(offset));
  out += ",\"queries\":[";
  for (size_t i = 0; i < queries.size(); ++i) {
    const capture::QuerySummary& q = queries[i];
    if (i) out += ',';
    int64_t opened = q.opened_us != 0 ? q.opened_us : now_us;
    number("{\"age_days\":", (now_us - opened) / rules::kMicrosPerDay);
    string(",\"check\":", q.check);
    string(",\"form\":", q.form);
    if (!q.group.empty()) string(",\"group\":", q.group);
    string(",\"item\":", q.item);
    string(",\"message\":", q.message);
    number(",\"query\":", q.number);
    out += ",\"raised_by\":";
    out += ToJson(RaisedByJson(q.check, q.message, q.opened_by, q.opened_role, 0, false));
    if (!q.group.empty()) number(",\"row\":", q.row);
    string(",\"site\":", q.site);
    string(",\"state\":", q.state);
    string(",\"subject\":", q.subject);
    string(",\"visit\":", q.visit);
    out += '}';
  }
  number("],\"total\":", page.total);
  out += '}';
  return out;
}

Hidden HiddenItems(const study::Study& st, bool blinded) {
  Hidden hidden;
  if (!blinded) return hidden;
  for (const auto& f : st.forms) {
    for (const auto& g : f.groups) {
      for (const auto& it : g.items) {
        if (it.unblinded_only) hidden.insert(f.id + "/" + it.id);
      }
    }
  }
  return hidden;
}

bool HidesPath(const Hidden& hidden, const std::string& path) {
  if (hidden.empty()) return false;
  std::vector<std::string> seg;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    seg.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (seg.size() < 5 || seg[0] != "subject") return false;
  return hidden.contains(seg[3] + "/" + seg[4]) || (seg.size() >= 7 && hidden.contains(seg[3] + "/" + seg[6]));
}

bool HidesQueryPath(const std::set<std::string>& queries, bool blinded, const std::string& path) {
  const size_t at = path.find("/queries/");
  if (!blinded || at == std::string::npos) return false;
  const size_t slash = path.find('/', at + 9);
  // Numbered as a hidden query: hidden also when it was opened after the
  // caller's set was taken (the audit trail is read after it).
  const std::string number = path.substr(at + 9, slash == std::string::npos ? std::string::npos : slash - at - 9);
  const bool digits = !number.empty() && number.size() <= 18 &&
                      std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits && std::stoll(number) > capture::kHiddenQueryBase) return true;
  return queries.contains(path.substr(0, slash));
}

// An adverse event row's MedDRA coding, as the casebook shows it.
static Value RowCodingJson(const capture::SafetyCoding& k) {
  const auto term = capture::MeddraTermValue;
  Value::Object o;
  o["verbatim"] = Value(k.verbatim);
  o["meddra_version"] = Value(k.meddra_version);
  o["method"] = Value(k.method);
  o["llt"] = term(k.llt, k.llt_name);
  o["pt"] = term(k.pt, k.pt_name);
  o["soc"] = term(k.soc, k.soc_name);
  return Value(std::move(o));
}

Value FormJson(const capture::FormState* f, const std::string& form_id, const Hidden& hidden,
               const capture::Withheld& withheld) {
  auto disclosure = [&](const std::string& item) {
    auto it = withheld.find(form_id + "/" + item);
    return it == withheld.end() ? study::Disclosure::kFull : it->second;
  };
  Value::Object items, groups;
  if (f != nullptr) {
    for (const auto& [iid, st] : f->items) {
      if (!hidden.contains(form_id + "/" + iid)) items[iid] = ItemJson(st, disclosure(iid));
    }
    for (const auto& [gid, rows] : f->rows) {
      Value::Array list;
      for (const auto& [n, row] : rows) {
        if (row.removed) continue;
        Value::Object ri;
        for (const auto& [iid, st] : row.items) {
          if (!hidden.contains(form_id + "/" + iid)) ri[iid] = ItemJson(st, disclosure(iid));
        }
        Value::Object entry{{"row", static_cast<int64_t>(n)}, {"items", ri}};
        if (row.coding) entry["coding"] = RowCodingJson(*row.coding);
        list.push_back(std::move(entry));
      }
      groups[gid] = list;
    }
  }
  Value::Object o{{"items", items}, {"rows", groups}};
  o["frozen"] = f != nullptr && f->frozen;
  o["locked"] = f != nullptr && f->locked;
  return o;
}

std::string FormJsonText(const FormAnswer& answer, const study::Form& form, bool blind,
                         const capture::Withheld& withheld) {
  // Hidden: an item of the form's definition only unblinded roles may see.
  bool any_hidden = false;
  if (blind) {
    for (const auto& g : form.groups) {
      for (const auto& it : g.items) any_hidden = any_hidden || it.unblinded_only;
    }
  }
  auto hidden = [&](const std::string& item) {
    if (!any_hidden) return false;
    const study::Item* def = form.FindItem(item);
    return def != nullptr && def->unblinded_only;
  };
  std::string out;
  out.reserve(256);
  // Objects' keys in byte order, as ToJson writes them.
  auto items = [&](const std::map<std::string, capture::ItemState>& states) {
    out += '{';
    bool first = true;
    for (const auto& [id, st] : states) {
      if (hidden(id)) continue;
      if (!first) out += ',';
      first = false;
      AppendJsonString(&out, id);
      out += ':';
      if (!st.not_done.empty()) {
        out += "{\"not_done\":";
        AppendJsonString(&out, st.not_done);
        out += ",\"value\":";
      } else {
        out += "{\"value\":";
      }
      auto w = withheld.empty() ? withheld.end() : withheld.find(form.id + "/" + id);
      if (w == withheld.end()) {
        AppendJson(&out, st.value);
        out += st.verified ? ",\"verified\":true}" : ",\"verified\":false}";
        continue;
      }
      AppendJson(&out, capture::Disclosed(st.value, w->second));
      out += st.verified ? ",\"verified\":true" : ",\"verified\":false";
      out += ",\"withheld\":";
      AppendJsonString(&out, study::DisclosureName(w->second));
      out += '}';
    }
    out += '}';
  };
  const capture::FormState* f = answer.state;
  out += "{\"form\":";
  AppendJsonString(&out, form.id);
  out += f != nullptr && f->frozen ? ",\"frozen\":true" : ",\"frozen\":false";
  out += ",\"items\":";
  if (f != nullptr) {
    items(f->items);
  } else {
    out += "{}";
  }
  out += f != nullptr && f->locked ? ",\"locked\":true" : ",\"locked\":false";
  if (!answer.read_only.empty()) {
    out += ",\"read_only\":";
    AppendJsonString(&out, answer.read_only);
  }
  out += ",\"rows\":{";
  if (f != nullptr) {
    bool first_group = true;
    for (const auto& [gid, rows] : f->rows) {
      if (!first_group) out += ',';
      first_group = false;
      AppendJsonString(&out, gid);
      out += ":[";
      bool first_row = true;
      for (const auto& [n, row] : rows) {
        if (row.removed) continue;
        if (!first_row) out += ',';
        first_row = false;
        out += '{';
        if (row.coding) {
          out += "\"coding\":";
          AppendJson(&out, RowCodingJson(*row.coding));
          out += ',';
        }
        out += "\"items\":";
        items(row.items);
        out += ",\"row\":";
        out += std::to_string(n);
        out += '}';
      }
      out += ']';
    }
  }
  out += "},\"status\":";
  AppendJsonString(&out, answer.status);
  out += ",\"subject\":";
  AppendJsonString(&out, answer.subject);
  out += ",\"visit\":";
  AppendJsonString(&out, answer.visit);
  out += '}';
  return out;
}

Value RaisedByJson(const std::string& check, const std::string& message, const std::string& user,
                   const std::string& role, int64_t triggering_save_seq, bool positions) {
  if (check.empty()) return Value::Object{{"kind", "user"}, {"user", user}, {"role", role}};
  // The system raised it; the user only saved the data its check judged.
  Value::Object o{{"kind", "edit_check"},
                  {"check", check},
                  {"message", message},
                  {"triggered_by", Value::Object{{"user", user}, {"role", role}}}};
  if (positions && triggering_save_seq != 0) o["triggering_save_seq"] = triggering_save_seq;
  return o;
}

Value::Object QueryJson(int number, const capture::Query& q, bool positions) {
  const capture::QueryMessage* first = q.thread.empty() ? nullptr : &q.thread.front();
  Value::Object o{{"query", static_cast<int64_t>(number)},
                  {"visit", q.visit},
                  {"form", q.form},
                  {"item", q.item},
                  {"check", q.check},
                  {"state", std::string(capture::QueryStateName(q.state))},
                  {"raised_by", RaisedByJson(q.check, first ? first->message : "", first ? first->actor.user : "",
                                             first ? first->actor.role : "",
                                             static_cast<int64_t>(q.triggering_save_seq), positions)}};
  if (!q.group.empty()) {
    o["group"] = q.group;
    o["row"] = static_cast<int64_t>(q.row);
  }
  return o;
}

Value SubjectJson(const capture::SubjectState& s, const study::Study& st, bool blinded,
                  const capture::Withheld& withheld) {
  const Hidden hidden = HiddenItems(st, blinded);
  Value::Object visits;
  for (const auto& [vid, v] : s.visits) {
    Value::Object forms;
    for (const auto& [fid, f] : v.forms) forms[fid] = FormJson(&f, fid, hidden, withheld);
    Value::Object vo{{"forms", forms}};
    vo["missed"] = v.missed;
    visits[vid] = vo;
  }
  Value::Array queries;
  for (const auto& [n, q] : s.queries) {
    if (blinded && capture::HiddenQuery(st, q)) continue;
    Value::Array thread;
    for (const auto& m : q.thread) {
      thread.push_back(Value::Object{{"action", m.action},
                                     {"message", m.message},
                                     {"user", m.actor.user},
                                     {"role", m.actor.role},
                                     {"time", FormatTimeMicros(m.time_us)}});
    }
    Value::Object o = QueryJson(n, q, !blinded);
    o["thread"] = thread;
    queries.push_back(o);
  }
  Value::Array signatures;
  for (const auto& [n, sig] : s.signatures) {
    // The manifestation of 21 CFR 11.50: printed name, time (UTC) and meaning.
    Value::Object o{{"signature", static_cast<int64_t>(n)},
                    {"visit", sig.visit},
                    {"form", sig.form},
                    {"meaning", sig.meaning},
                    {"signer", sig.signer.user},
                    {"signer_name", sig.signer_name},
                    {"time", FormatTimeMicros(sig.time_us)},
                    {"broken", sig.broken}};
    // Its state is what a blinded role sees: the hash covers values hidden from it.
    if (!blinded || !capture::ScopeHoldsHidden(st, sig.visit, sig.form)) o["content_hash"] = sig.content_hash;
    signatures.push_back(o);
  }
  return Value::Object{{"id", s.id},
                       {"site", s.site},
                       {"status", s.status},
                       {"version", static_cast<int64_t>(capture::SubjectVersion(s, blinded))},
                       {"frozen", s.frozen},
                       {"locked", s.locked},
                       {"inactive", s.inactive},
                       {"inactive_reason", s.inactive_reason},
                       {"visits", visits},
                       {"queries", queries},
                       {"signatures", signatures}};
}

Value EligibilityJson(const capture::EligibilityResult& e) {
  Value::Array criteria;
  for (const capture::CriterionResult& c : e.criteria) {
    std::string result = "not_yet_answerable";
    if (c.met != rules::Truth::kUnknown) result = (c.met == rules::Truth::kTrue) == c.inclusion ? "met" : "not_met";
    Value::Object o{{"id", c.id},       {"kind", c.inclusion ? "inclusion" : "exclusion"},
                    {"text", c.text},   {"result", result},
                    {"visit", c.visit}, {"form", c.form}};
    criteria.push_back(o);
  }
  const char* overall = e.overall == capture::Eligibility::kEligible      ? "yes"
                        : e.overall == capture::Eligibility::kNotEligible ? "no"
                                                                          : "not_yet";
  return Value::Object{{"eligible", overall}, {"criteria", criteria}};
}

Value DefinitionJson(const study::Study& st, const Access& access, bool blinded) {
  auto range = [](const std::optional<study::Range>& r) -> Value {
    if (!r) return Value();
    Value::Object o;
    // Decimals keep the bound exactly as a number in the JSON.
    if (r->min) o["min"] = Value(Decimal::Parse(study::FormatBound(*r->min)).value());
    if (r->max) o["max"] = Value(Decimal::Parse(study::FormatBound(*r->max)).value());
    return o;
  };
  Value::Array forms;
  for (const auto& f : st.forms) {
    Value::Array groups;
    for (const auto& g : f.groups) {
      Value::Array items;
      for (const auto& it : g.items) {
        if (it.unblinded_only && blinded) continue;  // not even its label: it names what it reveals
        Value::Object o{{"id", it.id},
                        {"label", it.label},
                        {"type", std::string(study::ItemTypeName(it.type))},
                        {"unit", it.unit},
                        {"codelist", it.codelist},
                        {"visible_if", it.visible_if},
                        {"derive", it.derive},
                        {"hard_range", range(it.hard_range)},
                        {"soft_range", range(it.soft_range)}};
        o["required"] = it.required;
        if (it.precision >= 0) o["precision"] = static_cast<int64_t>(it.precision);
        items.push_back(o);
      }
      Value::Object go{{"id", g.id}, {"label", g.label}, {"items", items}};
      go["repeating"] = g.repeating;
      groups.push_back(go);
    }
    Value::Array roles;
    for (const auto& r : f.roles) roles.push_back(r);
    forms.push_back(Value::Object{{"id", f.id}, {"name", f.name}, {"roles", roles}, {"groups", groups}});
  }
  Value::Array visits;
  for (const auto& v : st.visits) {
    Value::Array vf;
    for (const auto& f : v.forms) vf.push_back(f);
    Value::Object o{{"id", v.id}, {"name", v.name}, {"forms", vf}};
    if (v.day) o["day"] = static_cast<int64_t>(*v.day);
    o["window_before"] = static_cast<int64_t>(v.window_before);
    o["window_after"] = static_cast<int64_t>(v.window_after);
    o["unscheduled"] = v.unscheduled;
    visits.push_back(o);
  }
  Value::Object codelists;
  for (const auto& cl : st.codelists) {
    Value::Array codes;
    for (const auto& c : cl.codes) codes.push_back(Value::Object{{"code", c.code}, {"label", c.label}});
    codelists[cl.id] = codes;
  }
  Value::Array sites;
  for (const auto& site : st.sites) {
    if (access.SeesSite(site.id)) sites.push_back(Value::Object{{"id", site.id}, {"name", site.name}});
  }
  Value::Array criteria;
  for (const auto& c : st.eligibility) {
    criteria.push_back(
        Value::Object{{"id", c.id}, {"kind", c.inclusion ? "inclusion" : "exclusion"}, {"text", c.text}});
  }
  Value::Object out{{"id", st.id},      {"title", st.title}, {"version", st.version},  {"sites", sites},
                    {"visits", visits}, {"forms", forms},    {"codelists", codelists}, {"eligibility", criteria}};
  // What the pages need to ask before the server would refuse: a number
  // the server assigns, a reason from the study's list, the visit date first.
  out["subject_numbers_assigned"] = st.subject_numbering.has_value();
  Value::Array reasons;
  for (const auto& r : st.reasons_for_change) reasons.push_back(r);
  out["reasons_for_change"] = reasons;
  out["visit_date"] =
      Value::Object{{"form", st.visit_date.form}, {"item", st.visit_date.item}, {"first", st.visit_date_first}};
  // Which rows are adverse events, so that pages show each one's MedDRA
  // coding, or that it has none yet.
  if (st.safety.declared) {
    const study::SafetyAeMapping& ae = st.safety.adverse_events;
    out["adverse_events"] = Value::Object{{"form", ae.form}, {"group", ae.group}, {"term", ae.term}};
  }
  if (!blinded) {
    Value::Array arms;
    for (const auto& a : st.arms) arms.push_back(Value::Object{{"code", a.code}, {"name", a.name}});
    out["arms"] = arms;
  }
  return out;
}

}  // namespace trialcore::api
