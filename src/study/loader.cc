// YAML to Study: strict reading (unknown keys are errors), then checks across
// the document, then compilation of every expression. Errors are collected,
// not stopped at, so an author sees every problem in one run.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "core/canonical.h"
#include "core/event.h"
#include "study/study.h"

namespace trialcore::study {

std::string StudyError::ToString() const {
  std::string out = file;
  if (loc.line > 0) out += ":" + std::to_string(loc.line) + ":" + std::to_string(loc.column);
  return out + ": " + message;
}

namespace {

Location LocOf(const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  if (m.line < 0) return {};
  return {m.line + 1, m.column + 1};
}

Value YamlToValue(const YAML::Node& n) {
  if (n.IsMap()) {
    Value::Object o;
    for (const auto& kv : n) o[kv.first.as<std::string>()] = YamlToValue(kv.second);
    return o;
  }
  if (n.IsSequence()) {
    Value::Array a;
    for (const auto& e : n) a.push_back(YamlToValue(e));
    return a;
  }
  if (n.IsScalar()) return n.as<std::string>();
  return nullptr;
}

class Reader {
 public:
  Reader(std::string file, std::string_view text, std::vector<StudyError>* errors)
      : file_(std::move(file)), text_(text), errors_(errors) {}

  void Error(Location loc, std::string message) { errors_->push_back({file_, loc, std::move(message)}); }
  void Error(const YAML::Node& n, std::string message) { Error(LocOf(n), std::move(message)); }

  // Keys outside allowed are reported; returns false when n is not a map.
  bool ExpectMap(const YAML::Node& n, std::string_view what, std::initializer_list<std::string_view> allowed) {
    if (!n.IsMap()) {
      Error(n, std::string(what) + " must be a mapping of keys to values");
      return false;
    }
    for (const auto& kv : n) {
      std::string key = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        Error(kv.first, "unknown key '" + key + "' in " + std::string(what) + " (allowed: " + list + ")");
      }
    }
    return true;
  }

  std::string Text(const YAML::Node& parent, const char* key, std::string_view what, bool required) {
    YAML::Node n = parent[key];
    if (!n) {
      if (required) Error(parent, std::string(what) + " needs '" + key + "'");
      return "";
    }
    if (!n.IsScalar()) {
      Error(n, "'" + std::string(key) + "' of " + std::string(what) + " must be a single value");
      return "";
    }
    return n.Scalar();
  }

  std::optional<int> Int(const YAML::Node& parent, const char* key, std::string_view what) {
    YAML::Node n = parent[key];
    if (!n) return std::nullopt;
    try {
      if (n.IsScalar()) return n.as<int>();
    } catch (const YAML::Exception&) {
    }
    Error(n, "'" + std::string(key) + "' of " + std::string(what) + " must be a whole number, not '" +
                 (n.IsScalar() ? n.Scalar() : std::string("a collection")) + "'");
    return std::nullopt;
  }

  std::optional<double> Number(const YAML::Node& n, std::string_view what) {
    try {
      if (n.IsScalar()) return n.as<double>();
    } catch (const YAML::Exception&) {
    }
    Error(n, std::string(what) + " must be a number");
    return std::nullopt;
  }

  bool Bool(const YAML::Node& parent, const char* key, std::string_view what) {
    YAML::Node n = parent[key];
    if (!n) return false;
    try {
      if (n.IsScalar()) return n.as<bool>();
    } catch (const YAML::Exception&) {
    }
    Error(n, "'" + std::string(key) + "' of " + std::string(what) + " must be true or false");
    return false;
  }

  std::vector<std::string> TextList(const YAML::Node& parent, const char* key, std::string_view what) {
    std::vector<std::string> out;
    YAML::Node n = parent[key];
    if (!n) return out;
    if (!n.IsSequence()) {
      Error(n, "'" + std::string(key) + "' of " + std::string(what) + " must be a list");
      return out;
    }
    for (const auto& e : n) {
      if (e.IsScalar()) {
        out.push_back(e.Scalar());
      } else {
        Error(e, "'" + std::string(key) + "' of " + std::string(what) + " must list single values");
      }
    }
    return out;
  }

  // Where the text of an expression starts in the file: after an opening
  // quote, or on the line after a block scalar's '|' or '>'.
  Location ExpressionStart(const YAML::Node& n) {
    Location loc = LocOf(n);
    size_t pos = static_cast<size_t>(std::max(0, n.Mark().pos));
    if (pos < text_.size() && (text_[pos] == '"' || text_[pos] == '\'')) {
      ++loc.column;
    } else if (pos < text_.size() && (text_[pos] == '|' || text_[pos] == '>')) {
      size_t eol = text_.find('\n', pos);
      if (eol != std::string_view::npos) {
        size_t indent = 0;
        while (eol + 1 + indent < text_.size() && text_[eol + 1 + indent] == ' ') ++indent;
        loc = {loc.line + 1, static_cast<int>(indent) + 1};
      }
    }
    return loc;
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::string_view text_;
  std::vector<StudyError>* errors_;
};

ItemType ParseItemType(const std::string& s, bool* ok) {
  static const std::map<std::string, ItemType> kTypes = {
      {"text", ItemType::kText},
      {"integer", ItemType::kInteger},
      {"decimal", ItemType::kDecimal},
      {"date", ItemType::kDate},
      {"partial_date", ItemType::kPartialDate},
      {"time", ItemType::kTime},
      {"datetime", ItemType::kDateTime},
      {"boolean", ItemType::kBoolean},
      {"choice", ItemType::kChoice},
      {"multi_choice", ItemType::kMultiChoice},
      {"attachment", ItemType::kAttachment},
  };
  auto it = kTypes.find(s);
  *ok = it != kTypes.end();
  return *ok ? it->second : ItemType::kText;
}

struct Builder {
  Reader& r;
  Study& s;

  void ReadStudyHeader(const YAML::Node& n) {
    if (!r.ExpectMap(n, "study", {"id", "title", "version", "sponsor", "phase", "planned_subjects"})) return;
    s.id = r.Text(n, "id", "study", true);
    s.title = r.Text(n, "title", "study", true);
    s.version = r.Text(n, "version", "study", true);
    s.sponsor = r.Text(n, "sponsor", "study", false);
    s.phase = r.Text(n, "phase", "study", false);
    s.planned_subjects = r.Int(n, "planned_subjects", "study").value_or(0);
    auto valid = ValidateStudyIdText(s.id);
    if (!s.id.empty() && !valid.empty()) r.Error(n["id"], valid);
  }

  static std::string ValidateStudyIdText(const std::string& id) {
    if (IsSystemLog(id)) {
      return "study id '" + id + "' begins with '" + std::string(kSystemLogPrefix) +
             "', which names the system's own logs";
    }
    for (char c : id) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
        return "study id '" + id + "' may hold only letters, digits, '-' and '_'";
      }
    }
    return "";
  }

  // Identifiers referenced from expressions: letters, digits and '_', not
  // starting with a digit.
  void CheckIdentifier(const YAML::Node& n, const std::string& id, std::string_view what) {
    bool ok = !id.empty() && !std::isdigit(static_cast<unsigned char>(id[0]));
    for (char c : id) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!ok)
      r.Error(n, std::string(what) + " id '" + id + "' must be letters, digits and '_', not starting with a digit");
  }

  ItemRef ReadItemRef(const YAML::Node& n, std::string_view what,
                      std::initializer_list<std::string_view> allowed = {"form", "item"}) {
    ItemRef ref;
    if (!n) {
      r.Error(Location{}, "the study needs '" + std::string(what) + "' naming a form and item");
      return ref;
    }
    if (!r.ExpectMap(n, what, allowed)) return ref;
    ref.form = r.Text(n, "form", what, true);
    ref.item = r.Text(n, "item", what, true);
    return ref;
  }

  void ReadVisitDate(const YAML::Node& n) {
    s.visit_date = ReadItemRef(n, "visit_date", {"form", "item", "first"});
    if (n && n.IsMap()) s.visit_date_first = r.Bool(n, "first", "visit_date");
  }

  void ReadSubjectNumbering(const YAML::Node& n) {
    if (!n) return;
    if (!r.ExpectMap(n, "subject_numbering", {"site_prefix", "digits", "first"})) return;
    SubjectNumbering numbering;
    numbering.loc = LocOf(n);
    if (n["site_prefix"]) numbering.site_prefix = r.Bool(n, "site_prefix", "subject_numbering");
    numbering.digits = r.Int(n, "digits", "subject_numbering").value_or(numbering.digits);
    numbering.first = r.Int(n, "first", "subject_numbering").value_or(numbering.first);
    if (numbering.digits < 1 || numbering.digits > 9) {
      r.Error(n["digits"], "'digits' of subject_numbering must be from 1 to 9");
    }
    if (numbering.first < 0) r.Error(n["first"], "'first' of subject_numbering must not be negative");
    s.subject_numbering = numbering;
  }

  void ReadReasonsForChange(const YAML::Node& n) {
    if (!n) return;
    if (!n.IsSequence() || n.size() == 0) {
      r.Error(n, "reasons_for_change must list at least one reason");
      return;
    }
    std::set<std::string> seen;
    for (const auto& e : n) {
      if (!e.IsScalar() || e.Scalar().empty()) {
        r.Error(e, "each reason for change must be a line of text");
        continue;
      }
      const std::string& reason = e.Scalar();
      if (reason.starts_with("Other")) {
        r.Error(e, "reason for change '" + reason + "' must not start with 'Other': the form offers Other itself");
      } else if (!seen.insert(reason).second) {
        r.Error(e, "reason for change '" + reason + "' is listed twice");
      }
      s.reasons_for_change.push_back(reason);
    }
  }

  void ReadArms(const YAML::Node& n) {
    if (!n) return;
    for (const auto& a : n) {
      if (!r.ExpectMap(a, "arm", {"code", "name"})) continue;
      s.arms.push_back({r.Text(a, "code", "arm", true), r.Text(a, "name", "arm", true)});
    }
  }

  void ReadSites(const YAML::Node& n) {
    if (!n) return;
    for (const auto& a : n) {
      if (!r.ExpectMap(a, "site", {"id", "name", "country", "investigator"})) continue;
      Site& site = s.sites.emplace_back();
      site.id = r.Text(a, "id", "site", true);
      site.name = r.Text(a, "name", "site", true);
      site.country = r.Text(a, "country", "site", false);
      if (YAML::Node pi = a["investigator"]) {
        if (r.ExpectMap(pi, "site investigator", {"given", "family", "email"})) {
          site.investigator_given = r.Text(pi, "given", "site investigator", true);
          site.investigator_family = r.Text(pi, "family", "site investigator", true);
          site.investigator_email = r.Text(pi, "email", "site investigator", false);
        }
      }
    }
  }

  // safety: where the CRF records adverse events (a repeating group), so a
  // serious one opens a case; the suspect product; the reporting settings.
  void ReadSafetySender(const YAML::Node& n, SafetySender* out) {
    if (!n) return;
    if (!r.ExpectMap(n, "safety sender",
                     {"id", "organisation", "country", "department", "contact", "address", "phone", "fax", "email"})) {
      return;
    }
    out->id = r.Text(n, "id", "safety sender", true);
    out->organisation = r.Text(n, "organisation", "safety sender", false);
    out->department = r.Text(n, "department", "safety sender", false);
    out->phone = r.Text(n, "phone", "safety sender", false);
    out->fax = r.Text(n, "fax", "safety sender", false);
    if (YAML::Node address = n["address"]) {
      if (r.ExpectMap(address, "safety sender address", {"street", "city", "state", "postcode"})) {
        out->street = r.Text(address, "street", "safety sender address", false);
        out->city = r.Text(address, "city", "safety sender address", false);
        out->state = r.Text(address, "state", "safety sender address", false);
        out->postcode = r.Text(address, "postcode", "safety sender address", false);
      }
    }
    out->email = r.Text(n, "email", "safety sender", false);
    if (YAML::Node contact = n["contact"]) {
      if (r.ExpectMap(contact, "safety sender contact", {"title", "given", "family"})) {
        out->contact_title = r.Text(contact, "title", "safety sender contact", false);
        out->contact_given = r.Text(contact, "given", "safety sender contact", true);
        out->contact_family = r.Text(contact, "family", "safety sender contact", true);
      }
    }
    if (n["country"]) out->country = r.Text(n, "country", "safety sender", true);
    const bool alpha2 = out->country.size() == 2 && std::isupper(static_cast<unsigned char>(out->country[0])) &&
                        std::isupper(static_cast<unsigned char>(out->country[1]));
    if (!alpha2) r.Error(n["country"], "safety sender country '" + out->country + "' must be ISO 3166 alpha-2 (US)");
  }

  // Each contact is mailed on its own, so a malformed address or the same
  // address twice is caught here rather than when a case is unblinded.
  void ReadUnblindedContacts(const YAML::Node& n, std::vector<UnblindedContact>* out) {
    if (!n) return;
    if (!n.IsSequence()) {
      r.Error(n, "'unblinded_contacts' of safety must be a list of {name, email, role}");
      return;
    }
    std::set<std::string> seen;
    size_t index = 0;
    for (const auto& c : n) {
      const std::string what = "safety unblinded contact " + std::to_string(++index);
      if (!r.ExpectMap(c, what, {"name", "email", "role"})) continue;
      UnblindedContact contact;
      contact.loc = LocOf(c);
      contact.name = r.Text(c, "name", what, true);
      contact.email = r.Text(c, "email", what, true);
      contact.role = r.Text(c, "role", what, true);
      if (c["name"] && contact.name.empty()) r.Error(c["name"], "'name' of " + what + " is empty");
      if (c["role"] && contact.role.empty()) r.Error(c["role"], "'role' of " + what + " is empty");
      if (!contact.email.empty()) {
        const std::string& e = contact.email;
        const size_t at = e.find('@');
        const bool spaced = std::any_of(e.begin(), e.end(), [](unsigned char ch) { return std::isspace(ch) != 0; });
        if (at == std::string::npos || at == 0 || at + 1 == e.size() || e.find('@', at + 1) != std::string::npos ||
            spaced) {
          r.Error(c["email"], "'email' of " + what + " '" + e + "' is not an e-mail address (name@domain)");
        } else if (!seen.insert(e).second) {
          r.Error(c["email"], "'email' of " + what + " '" + e + "' is listed twice");
        }
      } else if (c["email"]) {
        r.Error(c["email"], "'email' of " + what + " is empty");
      }
      out->push_back(std::move(contact));
    }
  }

  // "DM.SEX": an item of a non-repeating group, of one of the types.
  ItemRef ReadPatientItem(const YAML::Node& n, const char* key, std::initializer_list<ItemType> types) {
    ItemRef ref;
    if (!n[key]) return ref;
    const std::string text = r.Text(n, key, "safety patient", true);
    const size_t dot = text.find('.');
    if (dot == std::string::npos) {
      r.Error(n[key], "safety patient " + std::string(key) + " '" + text + "' must be FORM.ITEM");
      return ref;
    }
    ref.form = text.substr(0, dot);
    ref.item = text.substr(dot + 1);
    const Form* form = s.FindForm(ref.form);
    const ItemGroup* group = nullptr;
    const Item* it = form ? form->FindItem(ref.item, &group) : nullptr;
    if (!it) {
      r.Error(n[key], "safety patient " + std::string(key) + " names item " + text + ", which the study lacks");
      return {};
    }
    if (group->repeating) {
      r.Error(n[key], "safety patient " + std::string(key) + " " + text + " must not be in a repeating group");
      return {};
    }
    if (it->unblinded_only) {
      r.Error(n[key], "safety patient " + std::string(key) + " " + text +
                          " is unblinded_only; a safety case is read by blinded roles too");
      return {};
    }
    if (std::find(types.begin(), types.end(), it->type) == types.end()) {
      r.Error(n[key], "safety patient " + std::string(key) + " " + text + " is " + std::string(ItemTypeName(it->type)) +
                          ", which cannot say the patient's " + key);
      return {};
    }
    return ref;
  }

  void ReadSafety(const YAML::Node& n) {
    if (!n) return;
    SafetySettings& out = s.safety;
    out.loc = LocOf(n);
    if (!r.ExpectMap(n, "safety",
                     {"adverse_events", "suspect_product", "utc_offset", "destinations", "ind_number", "sender",
                      "reference_safety_information", "patient", "unblinded_contacts"})) {
      return;
    }
    out.declared = true;
    out.suspect_product = r.Text(n, "suspect_product", "safety", true);
    out.ind_number = r.Text(n, "ind_number", "safety", false);
    ReadSafetySender(n["sender"], &out.sender);
    if (out.sender.organisation.empty()) out.sender.organisation = s.sponsor;
    if (YAML::Node rsi = n["reference_safety_information"]) {
      if (r.ExpectMap(rsi, "safety reference_safety_information", {"document", "expected"})) {
        out.reference_safety_information.document =
            r.Text(rsi, "document", "safety reference_safety_information", true);
        out.reference_safety_information.expected = r.TextList(rsi, "expected", "safety reference_safety_information");
      }
    }
    if (YAML::Node patient = n["patient"]) {
      if (r.ExpectMap(patient, "safety patient", {"sex", "age"})) {
        out.patient_sex = ReadPatientItem(patient, "sex", {ItemType::kChoice, ItemType::kText});
        out.patient_age = ReadPatientItem(patient, "age", {ItemType::kInteger});
      }
    }
    if (YAML::Node offset = n["utc_offset"]) {
      std::string text = r.Text(n, "utc_offset", "safety", true);
      if (auto minutes = ParseUtcOffset(text); minutes.ok()) {
        out.utc_offset_minutes = *minutes;
      } else {
        r.Error(offset, "'utc_offset' of safety: " + minutes.status().message());
      }
    }
    ReadUnblindedContacts(n["unblinded_contacts"], &out.unblinded_contacts);
    out.destinations = r.TextList(n, "destinations", "safety");
    for (const auto& d : out.destinations) {
      if (d != "FDA" && d != "EU") r.Error(n["destinations"], "unknown destination '" + d + "' (known: FDA, EU)");
    }
    YAML::Node ae = n["adverse_events"];
    if (!ae) {
      r.Error(n, "safety needs 'adverse_events': the form and items that record adverse events");
      return;
    }
    if (!r.ExpectMap(ae, "safety adverse_events",
                     {"form", "term", "serious", "onset", "outcome", "causality", "related", "criteria"})) {
      return;
    }
    SafetyAeMapping& m = out.adverse_events;
    m.form = r.Text(ae, "form", "safety adverse_events", true);
    const Form* form = s.FindForm(m.form);
    if (!form) {
      if (!m.form.empty())
        r.Error(ae["form"], "safety adverse_events names form " + m.form + ", which the study lacks");
      return;
    }
    // Each named item must be on the form, in one repeating group, of a type
    // that can say what it is used for.
    auto item = [&](const YAML::Node& at, const std::string& id, const char* use,
                    std::initializer_list<ItemType> types) -> bool {
      const ItemGroup* group = nullptr;
      const Item* it = form->FindItem(id, &group);
      if (!it) {
        r.Error(at, "safety adverse_events " + std::string(use) + " names item " + id + ", which form " + m.form +
                        " lacks");
        return false;
      }
      if (!group->repeating) {
        r.Error(at, "safety adverse_events " + std::string(use) + " " + id +
                        " must be in a repeating group (a row per adverse event)");
        return false;
      }
      if (m.group.empty()) m.group = group->id;
      if (group->id != m.group) {
        r.Error(at, "safety adverse_events items must all be in one group; " + id + " is in " + group->id + ", not " +
                        m.group);
        return false;
      }
      if (it->unblinded_only) {
        r.Error(at, "safety adverse_events " + std::string(use) + " " + id +
                        " is unblinded_only; a safety case is read by blinded roles too");
        return false;
      }
      if (std::find(types.begin(), types.end(), it->type) == types.end()) {
        std::string allowed;
        for (ItemType t : types) allowed += (allowed.empty() ? "" : " or ") + std::string(ItemTypeName(t));
        r.Error(at, "safety adverse_events " + std::string(use) + " " + id + " is " +
                        std::string(ItemTypeName(it->type)) + "; it must be " + allowed);
        return false;
      }
      return true;
    };
    auto field = [&](const char* key, std::string* to, bool required, std::initializer_list<ItemType> types) {
      *to = r.Text(ae, key, "safety adverse_events", required);
      if (!to->empty() && !item(ae[key], *to, key, types)) to->clear();
    };
    field("term", &m.term, true, {ItemType::kText});
    field("serious", &m.serious, true, {ItemType::kChoice, ItemType::kBoolean});
    field("onset", &m.onset, true, {ItemType::kDate, ItemType::kPartialDate});
    field("outcome", &m.outcome, false, {ItemType::kChoice, ItemType::kText});
    field("causality", &m.causality, false, {ItemType::kChoice, ItemType::kText});
    m.related = r.TextList(ae, "related", "safety adverse_events");
    if (!m.causality.empty() && m.related.empty()) {
      r.Error(ae["causality"], "safety adverse_events names causality " + m.causality +
                                   " but not 'related': the values that mean the product may have caused the event");
    }
    if (m.causality.empty() && !m.related.empty()) {
      r.Error(ae["related"], "safety adverse_events gives 'related' without 'causality'");
    }
    if (YAML::Node criteria = ae["criteria"]) {
      if (!criteria.IsMap()) {
        r.Error(criteria, "safety adverse_events criteria maps each seriousness criterion to a yes/no item");
        return;
      }
      for (const auto& kv : criteria) {
        const std::string name = kv.first.Scalar();
        if (std::find(std::begin(kSeriousnessCriteria), std::end(kSeriousnessCriteria), name) ==
            std::end(kSeriousnessCriteria)) {
          std::string known;
          for (auto c : kSeriousnessCriteria) known += (known.empty() ? "" : ", ") + std::string(c);
          r.Error(kv.first, "unknown seriousness criterion '" + name + "' (known: " + known + ")");
          continue;
        }
        const std::string id = kv.second.IsScalar() ? kv.second.Scalar() : "";
        if (item(kv.second, id, "criterion", {ItemType::kBoolean})) m.criteria[name] = id;
      }
    }
  }

  // sdv_plan: forms and items verified on every subject (`always`), and the
  // share of subjects whose other data are verified, by the site's risk.
  void ReadSdvPlan(const YAML::Node& n) {
    if (!n) return;
    SdvPlan& plan = s.sdv_plan;
    plan.loc = LocOf(n);
    if (!r.ExpectMap(n, "sdv_plan", {"always", "sample"})) return;
    plan.declared = true;
    plan.seed = s.id;
    if (YAML::Node always = n["always"]) {
      for (const std::string& entry : r.TextList(n, "always", "sdv_plan")) {
        const size_t dot = entry.find('.');
        ItemRef ref{entry.substr(0, dot), dot == std::string::npos ? "" : entry.substr(dot + 1)};
        const Form* form = s.FindForm(ref.form);
        if (form == nullptr) {
          r.Error(always, "sdv_plan always names '" + entry + "', but the study has no form " + ref.form);
        } else if (!ref.item.empty() && form->FindItem(ref.item) == nullptr) {
          r.Error(always, "sdv_plan always names '" + entry + "', but form " + ref.form + " has no item " + ref.item);
        }
        plan.always.push_back(std::move(ref));
      }
    }
    YAML::Node sample = n["sample"];
    if (!sample) {
      r.Error(n, "sdv_plan needs 'sample': the share of subjects whose other data are verified, by site risk");
      return;
    }
    if (!r.ExpectMap(sample, "sdv_plan sample", {"percent", "default_risk", "site_risk", "seed"})) return;
    if (sample["seed"]) plan.seed = r.Text(sample, "seed", "sdv_plan sample", true);
    YAML::Node percent = sample["percent"];
    if (!percent || !percent.IsMap() || percent.size() == 0) {
      r.Error(percent ? percent : sample,
              "sdv_plan sample needs 'percent' mapping each risk level to a percent of subjects, such as {high: 100, "
              "low: 20}");
      return;
    }
    for (const auto& kv : percent) {
      std::optional<int> p = r.Int(percent, kv.first.Scalar().c_str(), "sdv_plan sample percent");
      if (p && (*p < 0 || *p > 100))
        r.Error(kv.second, "the percent for risk '" + kv.first.Scalar() + "' must be from 0 to 100");
      plan.percent_by_risk[kv.first.Scalar()] = p.value_or(100);
    }
    auto known_risk = [&](const YAML::Node& at, const std::string& risk) {
      if (plan.percent_by_risk.contains(risk)) return;
      std::string list;
      for (const auto& [k, v] : plan.percent_by_risk) list += (list.empty() ? "" : ", ") + k;
      r.Error(at, "unknown risk level '" + risk + "' (sdv_plan sample percent has: " + list + ")");
    };
    plan.default_risk = r.Text(sample, "default_risk", "sdv_plan sample", true);
    if (sample["default_risk"]) known_risk(sample["default_risk"], plan.default_risk);
    if (YAML::Node sites = sample["site_risk"]) {
      if (!sites.IsMap()) {
        r.Error(sites, "site_risk must map site ids to risk levels");
        return;
      }
      for (const auto& kv : sites) {
        const std::string site = kv.first.Scalar();
        if (std::none_of(s.sites.begin(), s.sites.end(), [&](const Site& x) { return x.id == site; })) {
          r.Error(kv.first, "site_risk names site '" + site + "', which is not one of the study's sites");
        }
        if (!kv.second.IsScalar()) {
          r.Error(kv.second, "the risk of site " + site + " must be a single value");
          continue;
        }
        known_risk(kv.second, kv.second.Scalar());
        plan.site_risk[site] = kv.second.Scalar();
      }
    }
  }

  void ReadCodeLists(const YAML::Node& n) {
    if (!n) return;
    if (!n.IsMap()) {
      r.Error(n, "codelists must map each code list's id to its codes");
      return;
    }
    for (const auto& kv : n) {
      CodeList cl;
      cl.id = kv.first.Scalar();
      cl.loc = LocOf(kv.first);
      // A list of codes, or {oid, codes} when the list came from another
      // system and keeps its identifier there.
      YAML::Node codes = kv.second;
      if (codes.IsMap()) {
        if (!r.ExpectMap(codes, "code list " + cl.id, {"oid", "codes"})) continue;
        cl.oid = r.Text(codes, "oid", "code list " + cl.id, false);
        codes = codes["codes"];
        if (!codes) {
          r.Error(kv.second, "code list " + cl.id + " needs 'codes'");
          continue;
        }
      }
      if (!codes.IsSequence() || codes.size() == 0) {
        r.Error(codes, "code list " + cl.id + " must list at least one code");
        continue;
      }
      std::set<std::string> seen;
      for (const auto& c : codes) {
        Code code;
        if (c.IsScalar()) {
          code.code = code.label = c.Scalar();
        } else if (r.ExpectMap(c, "code", {"code", "label"})) {
          code.code = r.Text(c, "code", "code", true);
          code.label = r.Text(c, "label", "code", false);
          if (code.label.empty()) code.label = code.code;
        }
        if (code.code.empty()) continue;
        if (!seen.insert(code.code).second) r.Error(c, "code " + code.code + " appears twice in code list " + cl.id);
        cl.codes.push_back(code);
      }
      s.codelists.push_back(std::move(cl));
    }
  }

  std::optional<Range> ReadRange(const YAML::Node& n, std::string_view what) {
    if (!n) return std::nullopt;
    if (!r.ExpectMap(n, what, {"min", "max"})) return std::nullopt;
    Range range;
    if (n["min"]) range.min = r.Number(n["min"], std::string(what) + " min");
    if (n["max"]) range.max = r.Number(n["max"], std::string(what) + " max");
    if (range.min && range.max && *range.min > *range.max) r.Error(n, std::string(what) + " has min above max");
    return range;
  }

  Item ReadItem(const YAML::Node& n) {
    Item it;
    if (!r.ExpectMap(n, "item",
                     {"id", "oid", "label", "type", "unit", "precision", "max_length", "codelist", "required",
                      "hard_range", "soft_range", "visible_if", "derive", "unblinded_only", "identifying"})) {
      return it;
    }
    it.loc = LocOf(n);
    it.id = r.Text(n, "id", "item", true);
    it.oid = r.Text(n, "oid", "item " + it.id, false);
    CheckIdentifier(n["id"] ? n["id"] : n, it.id, "item");
    it.label = r.Text(n, "label", "item " + it.id, true);
    std::string type = r.Text(n, "type", "item " + it.id, true);
    bool ok = true;
    it.type = ParseItemType(type, &ok);
    if (!ok && !type.empty()) {
      r.Error(n["type"], "unknown item type '" + type +
                             "' (text, integer, decimal, date, partial_date, time, datetime, boolean, choice, "
                             "multi_choice, attachment)");
    }
    it.unit = r.Text(n, "unit", "item " + it.id, false);
    it.precision = r.Int(n, "precision", "item " + it.id).value_or(-1);
    it.max_length = r.Int(n, "max_length", "item " + it.id).value_or(0);
    it.codelist = r.Text(n, "codelist", "item " + it.id, false);
    it.required = r.Bool(n, "required", "item " + it.id);
    it.unblinded_only = r.Bool(n, "unblinded_only", "item " + it.id);
    ReadIdentifying(n["identifying"], &it);
    it.hard_range = ReadRange(n["hard_range"], "hard_range of item " + it.id);
    it.soft_range = ReadRange(n["soft_range"], "soft_range of item " + it.id);
    it.visible_if = r.Text(n, "visible_if", "item " + it.id, false);
    if (n["visible_if"]) it.visible_loc = r.ExpressionStart(n["visible_if"]);
    it.derive = r.Text(n, "derive", "item " + it.id, false);
    if (n["derive"]) it.derive_loc = r.ExpressionStart(n["derive"]);

    bool coded = it.type == ItemType::kChoice || it.type == ItemType::kMultiChoice;
    if (coded && it.codelist.empty()) r.Error(n, "item " + it.id + " is a " + type + " and needs a codelist");
    if (!coded && !it.codelist.empty())
      r.Error(n["codelist"], "item " + it.id + " is not a choice; it cannot have a codelist");
    if (!coded && !it.codelist.empty()) it.codelist.clear();
    bool numeric = it.type == ItemType::kInteger || it.type == ItemType::kDecimal;
    if (!numeric && (it.hard_range || it.soft_range)) {
      r.Error(n["hard_range"] ? n["hard_range"] : n["soft_range"],
              "item " + it.id + " is not a number; ranges apply to integer and decimal items");
    }
    if (it.precision >= 0 && it.type != ItemType::kDecimal)
      r.Error(n["precision"], "precision applies to decimal items only");
    if (!it.derive.empty() && it.required)
      r.Error(n["required"], "derived item " + it.id + " is computed; it cannot be required");
    return it;
  }

  // identifying: {ROLE: hidden | year_only, ...}: what of the item's value
  // each named role sees (doc/roles.md, "Identifying items").
  void ReadIdentifying(const YAML::Node& n, Item* it) {
    if (!n) return;
    const std::string what = "identifying of item " + it->id;
    if (!n.IsMap()) {
      r.Error(n, what + " must map roles to hidden or year_only");
      return;
    }
    for (const auto& kv : n) {
      const std::string role = kv.first.Scalar();
      if (!IsKnownRole(role)) {
        r.Error(kv.first, "unknown role '" + role + "' in " + what + " (see doc/roles.md)");
        continue;
      }
      const std::string shown = kv.second.IsScalar() ? kv.second.Scalar() : "";
      if (shown == "hidden") {
        it->identifying[role] = Disclosure::kHidden;
      } else if (shown == "year_only") {
        if (it->type != ItemType::kDate && it->type != ItemType::kPartialDate && it->type != ItemType::kDateTime) {
          r.Error(kv.second, "item " + it->id + " is not a date; year_only applies to date, partial_date and " +
                                 "datetime items (use hidden)");
          continue;
        }
        it->identifying[role] = Disclosure::kYearOnly;
      } else {
        r.Error(kv.second, "'" + role + "' of " + what + " must be hidden or year_only, not '" + shown + "'");
      }
    }
  }

  Check ReadCheck(const YAML::Node& n) {
    Check c;
    if (!r.ExpectMap(n, "check", {"id", "condition", "severity", "message", "item"})) return c;
    c.loc = LocOf(n);
    c.id = r.Text(n, "id", "check", true);
    c.condition = r.Text(n, "condition", "check " + c.id, true);
    if (n["condition"]) c.condition_loc = r.ExpressionStart(n["condition"]);
    std::string severity = r.Text(n, "severity", "check " + c.id, true);
    if (severity == "hard") {
      c.hard = true;
    } else if (severity != "soft" && !severity.empty()) {
      r.Error(n["severity"], "severity of check " + c.id + " must be hard or soft, not '" + severity + "'");
    }
    c.message = r.Text(n, "message", "check " + c.id, true);
    c.item = r.Text(n, "item", "check " + c.id, true);
    return c;
  }

  void ReadForms(const YAML::Node& n) {
    if (!n || !n.IsSequence()) {
      r.Error(n ? LocOf(n) : Location{}, "the study needs 'forms', a list");
      return;
    }
    for (const auto& f : n) {
      if (!r.ExpectMap(f, "form", {"id", "oid", "name", "roles", "groups", "checks"})) continue;
      Form form;
      form.loc = LocOf(f);
      form.id = r.Text(f, "id", "form", true);
      form.oid = r.Text(f, "oid", "form " + form.id, false);
      CheckIdentifier(f["id"] ? f["id"] : f, form.id, "form");
      form.name = r.Text(f, "name", "form " + form.id, true);
      form.roles = r.TextList(f, "roles", "form " + form.id);
      for (size_t i = 0; i < form.roles.size(); ++i) {
        if (!IsKnownRole(form.roles[i])) {
          r.Error(f["roles"][i], "unknown role '" + form.roles[i] + "' (see doc/roles.md)");
        }
      }
      if (!f["groups"] || !f["groups"].IsSequence() || f["groups"].size() == 0) {
        r.Error(f, "form " + form.id + " needs 'groups', a list with at least one item group");
      } else {
        for (const auto& g : f["groups"]) {
          if (!r.ExpectMap(g, "item group", {"id", "oid", "label", "repeating", "items"})) continue;
          ItemGroup group;
          group.loc = LocOf(g);
          group.id = r.Text(g, "id", "item group", true);
          group.oid = r.Text(g, "oid", "item group " + group.id, false);
          CheckIdentifier(g["id"] ? g["id"] : g, group.id, "item group");
          group.label = r.Text(g, "label", "item group " + group.id, false);
          group.repeating = r.Bool(g, "repeating", "item group " + group.id);
          if (!g["items"] || !g["items"].IsSequence() || g["items"].size() == 0) {
            r.Error(g, "item group " + group.id + " needs 'items', a list with at least one item");
          } else {
            for (const auto& item : g["items"]) group.items.push_back(ReadItem(item));
          }
          form.groups.push_back(std::move(group));
        }
      }
      if (f["checks"]) {
        for (const auto& c : f["checks"]) form.checks.push_back(ReadCheck(c));
      }
      // Whoever enters the form sees what they enter: withholding an item
      // from them would have them save over values they cannot see.
      for (const auto& group : form.groups) {
        for (const auto& item : group.items) {
          if (!item.identifying.empty() && form.roles.empty()) {
            r.Error(item.loc, "item " + item.id + " is identifying but form " + form.id +
                                  " names no roles, so every role enters it: list the roles that enter it");
          }
          for (const auto& [role, shown] : item.identifying) {
            if (std::find(form.roles.begin(), form.roles.end(), role) != form.roles.end()) {
              r.Error(item.loc, "item " + item.id + " is identifying for " + role + ", who enters form " + form.id +
                                    ": a role that enters a form sees its values in full");
            }
          }
        }
      }
      s.forms.push_back(std::move(form));
    }
  }

  void ReadVisits(const YAML::Node& n) {
    if (!n || !n.IsSequence()) {
      r.Error(n ? LocOf(n) : Location{}, "the study needs 'visits', a list");
      return;
    }
    for (const auto& v : n) {
      if (!r.ExpectMap(v, "visit", {"id", "oid", "name", "day", "window", "unscheduled", "repeat", "forms"})) continue;
      Visit visit;
      visit.loc = LocOf(v);
      visit.id = r.Text(v, "id", "visit", true);
      visit.oid = r.Text(v, "oid", "visit " + visit.id, false);
      CheckIdentifier(v["id"] ? v["id"] : v, visit.id, "visit");
      visit.name = r.Text(v, "name", "visit " + visit.id, true);
      visit.day = r.Int(v, "day", "visit " + visit.id);
      visit.unscheduled = r.Bool(v, "unscheduled", "visit " + visit.id);
      if (v["window"] && r.ExpectMap(v["window"], "window of visit " + visit.id, {"before", "after"})) {
        visit.window_before = r.Int(v["window"], "before", "window").value_or(0);
        visit.window_after = r.Int(v["window"], "after", "window").value_or(0);
        if (visit.window_before < 0 || visit.window_after < 0) {
          r.Error(v["window"], "window days of visit " + visit.id + " cannot be negative");
        }
      }
      if (v["repeat"] && r.ExpectMap(v["repeat"], "repeat of visit " + visit.id, {"every", "until"})) {
        visit.repeat_every = r.Int(v["repeat"], "every", "repeat").value_or(0);
        visit.repeat_until = r.Int(v["repeat"], "until", "repeat").value_or(0);
        if (visit.repeat_every <= 0)
          r.Error(v["repeat"], "repeat of visit " + visit.id + " needs 'every' days above 0");
        if (!visit.day || visit.repeat_until < *visit.day) {
          r.Error(v["repeat"], "repeat of visit " + visit.id + " needs a planned 'day' and 'until' on or after it");
        }
      }
      if (visit.unscheduled && visit.day)
        r.Error(v["day"], "unscheduled visit " + visit.id + " cannot have a planned day");
      if (!visit.unscheduled && !visit.day)
        r.Error(v, "visit " + visit.id + " needs a planned 'day' or 'unscheduled: true'");
      visit.forms = r.TextList(v, "forms", "visit " + visit.id);
      for (size_t i = 0; i < visit.forms.size(); ++i) {
        if (std::none_of(s.forms.begin(), s.forms.end(), [&](const Form& f) { return f.id == visit.forms[i]; })) {
          r.Error(v["forms"][i], "visit " + visit.id + " lists unknown form " + visit.forms[i]);
        }
      }
      s.visits.push_back(std::move(visit));
    }
  }

  void ReadEligibility(const YAML::Node& n) {
    if (!n) return;
    for (const auto& c : n) {
      if (!r.ExpectMap(c, "criterion", {"id", "kind", "text", "condition"})) continue;
      Criterion cr;
      cr.loc = LocOf(c);
      cr.id = r.Text(c, "id", "criterion", true);
      std::string kind = r.Text(c, "kind", "criterion " + cr.id, true);
      if (kind == "exclusion") {
        cr.inclusion = false;
      } else if (kind != "inclusion" && !kind.empty()) {
        r.Error(c["kind"], "kind of criterion " + cr.id + " must be inclusion or exclusion");
      }
      cr.text = r.Text(c, "text", "criterion " + cr.id, true);
      cr.condition = r.Text(c, "condition", "criterion " + cr.id, true);
      if (c["condition"]) cr.condition_loc = r.ExpressionStart(c["condition"]);
      s.eligibility.push_back(std::move(cr));
    }
  }
};

template <typename T, typename Id>
void CheckUnique(Reader& r, const std::vector<T>& list, Id id_of, std::string_view what, std::string_view scope = "") {
  std::map<std::string, Location> seen;
  for (const auto& e : list) {
    const std::string& id = id_of(e);
    if (id.empty()) continue;
    auto [it, fresh] = seen.emplace(id, e.loc);
    if (!fresh) {
      r.Error(e.loc, "duplicate " + std::string(what) + " id " + id + std::string(scope) + " (first defined at line " +
                         std::to_string(it->second.line) + ")");
    }
  }
}

void CrossCheck(Reader& r, Study& s) {
  CheckUnique(
      r, s.forms, [](const Form& f) -> const std::string& { return f.id; }, "form");
  CheckUnique(
      r, s.visits, [](const Visit& v) -> const std::string& { return v.id; }, "visit");
  CheckUnique(
      r, s.eligibility, [](const Criterion& c) -> const std::string& { return c.id; }, "criterion");
  for (const Visit& v : s.visits) {
    if (s.FindForm(v.id) != nullptr)
      r.Error(v.loc, "visit id " + v.id + " is also a form id; references would be ambiguous");
  }
  for (Form& f : s.forms) {
    std::vector<Item> all;
    std::vector<ItemGroup> groups = f.groups;
    CheckUnique(
        r, groups, [](const ItemGroup& g) -> const std::string& { return g.id; }, "item group", " in form " + f.id);
    for (const ItemGroup& g : f.groups) all.insert(all.end(), g.items.begin(), g.items.end());
    CheckUnique(
        r, all, [](const Item& i) -> const std::string& { return i.id; }, "item", " in form " + f.id);
    CheckUnique(
        r, f.checks, [](const Check& c) -> const std::string& { return c.id; }, "check", " in form " + f.id);
    for (const ItemGroup& g : f.groups) {
      for (const Item& it : g.items) {
        if (!it.codelist.empty() && s.FindCodeList(it.codelist) == nullptr) {
          r.Error(it.loc, "item " + it.id + " uses unknown code list " + it.codelist);
        }
      }
    }
    for (Check& c : f.checks) {
      const ItemGroup* group = nullptr;
      if (!c.item.empty() && f.FindItem(c.item, &group) == nullptr) {
        r.Error(c.loc, "check " + c.id + " puts its query on unknown item " + c.item + " of form " + f.id);
      } else if (group != nullptr && group->repeating) {
        c.group = group->id;
      }
    }
  }
  // Windows of scheduled visits must not overlap, or a visit date could not
  // tell which visit it is.
  std::vector<const Visit*> scheduled;
  for (const Visit& v : s.visits) {
    if (v.day && v.repeat_every == 0) scheduled.push_back(&v);
  }
  std::sort(scheduled.begin(), scheduled.end(), [](const Visit* a, const Visit* b) { return *a->day < *b->day; });
  for (size_t i = 1; i < scheduled.size(); ++i) {
    const Visit* a = scheduled[i - 1];
    const Visit* b = scheduled[i];
    if (*a->day + a->window_after >= *b->day - b->window_before) {
      r.Error(b->loc, "the window of visit " + b->id + " (days " + std::to_string(*b->day - b->window_before) + " to " +
                          std::to_string(*b->day + b->window_after) + ") overlaps the window of " + a->id + " (days " +
                          std::to_string(*a->day - a->window_before) + " to " +
                          std::to_string(*a->day + a->window_after) + ")");
    }
  }
  for (const ItemRef* ref : {&s.anchor, &s.visit_date}) {
    if (ref->form.empty()) continue;
    const char* what = ref == &s.anchor ? "anchor" : "visit_date";
    const Form* f = s.FindForm(ref->form);
    const ItemGroup* g = nullptr;
    const Item* it = f ? f->FindItem(ref->item, &g) : nullptr;
    if (it == nullptr) {
      r.Error(Location{}, std::string(what) + " names unknown item " + ref->form + "." + ref->item);
    } else if (it->type != ItemType::kDate) {
      r.Error(it->loc, std::string(what) + " item " + ref->form + "." + ref->item + " must be a date");
    }
  }
}

Location Offset(Location base, const rules::Diagnostic& d) {
  if (base.line == 0) return base;
  if (d.line <= 1) return {base.line, base.column + d.column - 1};
  return {base.line + d.line - 1, d.column + base.column - 1};
}

// The unblinded-only item an expression reads, if any ("" when none). What
// blinded roles see (a visible item's derived value or visibility, a query or
// refusal landing on a visible item, eligibility) must not be computed from
// one: its outcome would tell them what they may not see (doc/roles.md).
std::string HiddenItemRead(const Study& s, const rules::Expression& e) {
  auto hidden = [&](const std::string& key) {  // "[VISIT.]FORM.ITEM"
    size_t dot = key.rfind('.');
    if (dot == std::string::npos || dot == 0) return false;
    size_t start = key.rfind('.', dot - 1);
    start = start == std::string::npos ? 0 : start + 1;
    const Form* f = s.FindForm(key.substr(start, dot - start));
    const Item* it = f == nullptr ? nullptr : f->FindItem(key.substr(dot + 1));
    return it != nullptr && it->unblinded_only;
  };
  for (const std::string& key : e.scalars()) {
    if (hidden(key)) return key;
  }
  for (const rules::TableRef& t : e.tables()) {
    for (const std::string& key : t.column_keys) {
      if (hidden(key)) return key;
    }
  }
  return "";
}

// A version already published is not refused for it: the rule came later,
// and refusing would strand the version's data.
void RefuseHiddenReads(Reader& r, bool published, const Study& s, const std::optional<rules::Expression>& e,
                       Location loc, const std::string& what) {
  if (!e || published) return;
  if (std::string key = HiddenItemRead(s, *e); !key.empty()) {
    r.Error(loc, what + " reads " + key + ", which is unblinded_only: what blinded roles see cannot depend on it");
  }
}

void CompileExpressions(Reader& r, Study& s, bool published) {
  auto compile = [&](const std::string& source, Location loc, const rules::Resolver& resolver,
                     std::string_view what) -> std::optional<rules::Expression> {
    rules::Diagnostic d;
    auto e = rules::Expression::Compile(source, resolver, &d);
    if (!e.ok()) {
      r.Error(Offset(loc, d), std::string(what) + ": " + d.message);
      return std::nullopt;
    }
    return *e;
  };
  for (Form& f : s.forms) {
    for (ItemGroup& g : f.groups) {
      auto resolver = MakeResolver(s, f.id, g.repeating ? g.id : "");
      for (Item& it : g.items) {
        if (!it.visible_if.empty()) {
          it.visible_expr = compile(it.visible_if, it.visible_loc, *resolver, "visible_if of " + it.id);
          if (it.visible_expr && it.visible_expr->type() != rules::Type::kBool) {
            r.Error(it.visible_loc, "visible_if of " + it.id + " must be a condition, not a " +
                                        std::string(rules::TypeName(it.visible_expr->type())));
          }
        }
        if (!it.derive.empty()) {
          it.derive_expr = compile(it.derive, it.derive_loc, *resolver, "derive of " + it.id);
          if (it.derive_expr && it.derive_expr->type() != RuleTypeOf(it.type)) {
            r.Error(it.derive_loc, "derive of " + it.id + " gives a " +
                                       std::string(rules::TypeName(it.derive_expr->type())) + " but the item is a " +
                                       std::string(ItemTypeName(it.type)));
          }
        }
        if (!it.unblinded_only) {
          RefuseHiddenReads(r, published, s, it.visible_expr, it.visible_loc, "visible_if of " + it.id);
          RefuseHiddenReads(r, published, s, it.derive_expr, it.derive_loc, "derive of " + it.id);
        }
      }
    }
    for (Check& c : f.checks) {
      if (c.condition.empty()) continue;
      auto resolver = MakeResolver(s, f.id, c.group);
      c.expr = compile(c.condition, c.condition_loc, *resolver, "check " + c.id);
      if (c.expr && c.expr->type() != rules::Type::kBool) {
        r.Error(c.condition_loc,
                "check " + c.id + " must be a condition, not a " + std::string(rules::TypeName(c.expr->type())));
      }
      const Item* target = c.item.empty() ? nullptr : f.FindItem(c.item);
      if (target == nullptr || !target->unblinded_only) {
        RefuseHiddenReads(r, published, s, c.expr, c.condition_loc,
                          "check " + c.id + " on " + (c.item.empty() ? f.id : c.item));
      }
    }
  }
  auto subject_level = MakeResolver(s, "", "");
  for (Criterion& c : s.eligibility) {
    if (c.condition.empty()) continue;
    c.expr = compile(c.condition, c.condition_loc, *subject_level, "criterion " + c.id);
    if (c.expr && c.expr->type() != rules::Type::kBool) {
      r.Error(c.condition_loc, "criterion " + c.id + " must be a condition");
    }
    RefuseHiddenReads(r, published, s, c.expr, c.condition_loc, "criterion " + c.id);
  }
}

}  // namespace

Result<std::shared_ptr<const Study>> LoadStudy(std::string_view yaml_text, const std::string& file,
                                               std::vector<StudyError>* errors, LoadOptions options) {
  std::vector<StudyError> local;
  if (errors == nullptr) errors = &local;
  errors->clear();
  Reader r(file, yaml_text, errors);
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(yaml_text));
  } catch (const YAML::ParserException& e) {
    r.Error(Location{e.mark.line + 1, e.mark.column + 1}, "YAML syntax: " + e.msg);
    return InvalidArgument(errors->front().ToString());
  }
  auto study = std::make_shared<Study>();
  study->file = file;
  study->source = std::string(yaml_text);
  Builder b{r, *study};
  if (r.ExpectMap(doc, "the study file",
                  {"study", "arms", "sites", "codelists", "anchor", "visit_date", "subject_numbering",
                   "reasons_for_change", "visits", "forms", "eligibility", "sdv_plan", "safety",
                   // Read by standards/sdtm_mapping.h, which `study validate` also runs.
                   "sdtm"})) {
    if (!doc["study"]) {
      r.Error(Location{1, 1}, "the study file needs 'study' with its id, title and version");
    } else {
      b.ReadStudyHeader(doc["study"]);
    }
    b.ReadArms(doc["arms"]);
    b.ReadSites(doc["sites"]);
    b.ReadCodeLists(doc["codelists"]);
    b.ReadForms(doc["forms"]);
    b.ReadVisits(doc["visits"]);
    study->anchor = b.ReadItemRef(doc["anchor"], "anchor");
    b.ReadVisitDate(doc["visit_date"]);
    b.ReadSubjectNumbering(doc["subject_numbering"]);
    b.ReadReasonsForChange(doc["reasons_for_change"]);
    b.ReadEligibility(doc["eligibility"]);
    b.ReadSdvPlan(doc["sdv_plan"]);
    b.ReadSafety(doc["safety"]);
    CrossCheck(r, *study);
    // Expressions are compiled even when other parts are wrong, so one run
    // shows every problem; references to missing parts report themselves.
    CompileExpressions(r, *study, options.published);
  }
  if (!errors->empty()) {
    std::stable_sort(errors->begin(), errors->end(), [](const StudyError& x, const StudyError& y) {
      return std::tie(x.loc.line, x.loc.column) < std::tie(y.loc.line, y.loc.column);
    });
    std::string summary = errors->front().ToString();
    if (errors->size() > 1) summary += " (and " + std::to_string(errors->size() - 1) + " more)";
    return InvalidArgument(summary);
  }
  std::string canonical;
  TC_RETURN_IF_ERROR(EncodeValue(YamlToValue(doc), &canonical));
  study->content_hash = Sha256(canonical);
  return std::shared_ptr<const Study>(std::move(study));
}

Result<std::shared_ptr<const Study>> LoadStudyFile(const std::string& path, std::vector<StudyError>* errors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errors != nullptr) *errors = {StudyError{path, {}, "cannot open the file"}};
    return NotFound("cannot open study file " + path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadStudy(ss.str(), path, errors);
}

bool IsKnownRole(std::string_view role) {
  static const std::set<std::string, std::less<>> kRoles = {
      "investigator",   "coordinator",          "monitor",     "data_manager", "medical_monitor", "safety_physician",
      "sponsor_viewer", "unblinded_pharmacist", "study_admin", "system_admin"};
  return kRoles.contains(role);
}

}  // namespace trialcore::study
