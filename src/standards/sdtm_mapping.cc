#include "standards/sdtm_mapping.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "standards/xpt_writer.h"

namespace trialcore::standards {

namespace {

// SDTM's labels for variables whose meaning does not depend on the domain,
// by full name or by the suffix after the domain's two letters.
const std::map<std::string, std::string, std::less<>>& StandardLabels() {
  static const std::map<std::string, std::string, std::less<>> labels = {
      {"STUDYID", "Study Identifier"},
      {"DOMAIN", "Domain Abbreviation"},
      {"RDOMAIN", "Related Domain Abbreviation"},
      {"USUBJID", "Unique Subject Identifier"},
      {"SUBJID", "Subject Identifier for the Study"},
      {"SITEID", "Study Site Identifier"},
      {"RFSTDTC", "Subject Reference Start Date/Time"},
      {"RFENDTC", "Subject Reference End Date/Time"},
      {"RFICDTC", "Date/Time of Informed Consent"},
      {"BRTHDTC", "Date/Time of Birth"},
      {"AGE", "Age"},
      {"AGEU", "Age Units"},
      {"SEX", "Sex"},
      {"RACE", "Race"},
      {"ETHNIC", "Ethnicity"},
      {"COUNTRY", "Country"},
      {"VISITNUM", "Visit Number"},
      {"VISIT", "Visit Name"},
      {"VISITDY", "Planned Study Day of Visit"},
      {"EPOCH", "Epoch"},
      {"IDVAR", "Identifying Variable"},
      {"IDVARVAL", "Identifying Variable Value"},
      {"QNAM", "Qualifier Variable Name"},
      {"QLABEL", "Qualifier Variable Label"},
      {"QVAL", "Data Value"},
      {"QORIG", "Origin"},
      {"QEVAL", "Evaluator"},
  };
  return labels;
}

const std::map<std::string, std::string, std::less<>>& SuffixLabels() {
  static const std::map<std::string, std::string, std::less<>> labels = {
      {"SEQ", "Sequence Number"},
      {"SPID", "Sponsor-Defined Identifier"},
      {"TESTCD", "Test or Examination Short Name"},
      {"TEST", "Test or Examination Name"},
      {"CAT", "Category"},
      {"ORRES", "Result or Finding in Original Units"},
      {"ORRESU", "Original Units"},
      {"ORNRLO", "Reference Range Lower Limit in Orig Unit"},
      {"ORNRHI", "Reference Range Upper Limit in Orig Unit"},
      {"STRESC", "Character Result/Finding in Std Format"},
      {"STRESN", "Numeric Result/Finding in Standard Units"},
      {"STRESU", "Standard Units"},
      {"STAT", "Completion Status"},
      {"REASND", "Reason Not Done"},
      {"POS", "Position of Subject"},
      {"TERM", "Reported Term"},
      {"DECOD", "Dictionary-Derived Term"},
      {"LLT", "Lowest Level Term"},
      {"LLTCD", "Lowest Level Term Code"},
      {"PTCD", "Preferred Term Code"},
      {"HLT", "High Level Term"},
      {"HLGT", "High Level Group Term"},
      {"BODSYS", "Body System or Organ Class"},
      {"SOC", "Primary System Organ Class"},
      {"SOCCD", "Primary System Organ Class Code"},
      {"SEV", "Severity/Intensity"},
      {"SER", "Serious Event"},
      {"ACN", "Action Taken with Study Treatment"},
      {"REL", "Causality"},
      {"OUT", "Outcome"},
      {"SDTH", "Results in Death"},
      {"SHOSP", "Requires or Prolongs Hospitalization"},
      {"SLIFE", "Is Life Threatening"},
      {"TRT", "Reported Name of Treatment"},
      {"INDC", "Indication"},
      {"DOSE", "Dose per Administration"},
      {"DOSU", "Dose Units"},
      {"DOSFRM", "Dose Form"},
      {"DOSFRQ", "Dosing Frequency per Interval"},
      {"FAST", "Fasting Status"},
      {"ROUTE", "Route of Administration"},
      {"DTC", "Date/Time of Collection"},
      {"DY", "Study Day of Visit/Collection/Exam"},
      {"STDTC", "Start Date/Time of Observation"},
      {"ENDTC", "End Date/Time of Observation"},
      {"STDY", "Study Day of Start of Observation"},
      {"ENDY", "Study Day of End of Observation"},
      {"ENRF", "End Relative to Reference Period"},
  };
  return labels;
}

study::Location LocOf(const YAML::Node& n) {
  if (!n.IsDefined() || n.Mark().is_null()) return {};
  return {n.Mark().line + 1, n.Mark().column + 1};
}

DataType DataTypeOf(const study::Item& item) {
  switch (item.type) {
    case study::ItemType::kInteger:
      return DataType::kInteger;
    case study::ItemType::kDecimal:
      return DataType::kFloat;
    case study::ItemType::kDate:
    case study::ItemType::kPartialDate:
      return DataType::kDate;
    case study::ItemType::kDateTime:
      return DataType::kDateTime;
    case study::ItemType::kTime:
      return DataType::kTime;
    default:
      return DataType::kString;
  }
}

// Bytes a character variable needs: what the item can hold (its code list,
// its maximum length, an ISO 8601 date), else the transport format's limit.
int LengthOf(const study::Study& study, const study::Item& item) {
  switch (item.type) {
    case study::ItemType::kDate:
    case study::ItemType::kPartialDate:
      return 10;
    case study::ItemType::kDateTime:
      return 20;
    case study::ItemType::kTime:
      return 8;
    case study::ItemType::kBoolean:
      return 1;  // Y or N
    case study::ItemType::kChoice: {
      const study::CodeList* cl = study.FindCodeList(item.codelist);
      size_t longest = 1;
      if (cl != nullptr) {
        for (const auto& code : cl->codes) longest = std::max(longest, code.code.size());
      }
      return static_cast<int>(longest);
    }
    case study::ItemType::kText:
      return item.max_length > 0 ? std::min(item.max_length, 200) : 200;
    default:
      return 200;
  }
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > kXptMaxNameLength || !std::isupper(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isupper(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
  });
}

class Reader {
 public:
  Reader(const study::Study& study, std::vector<study::StudyError>* errors) : study_(study), errors_(errors) {}

  void Error(const YAML::Node& at, const std::string& message) {
    errors_->push_back({study_.file, LocOf(at), message});
  }
  bool failed() const { return !errors_->empty(); }

  std::string Text(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) {
      Error(n, what + " must be text");
      return "";
    }
    return n.Scalar();
  }

  bool ExpectMap(const YAML::Node& n, const std::string& what, std::initializer_list<std::string_view> keys) {
    if (!n.IsMap()) {
      Error(n, what + " must be a map");
      return false;
    }
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        std::string known;
        for (auto k : keys) known += (known.empty() ? "" : ", ") + std::string(k);
        Error(kv.first, "unknown key '" + key + "' in " + what + " (known: " + known + ")");
      }
    }
    return true;
  }

  // "FORM.ITEM" or "ITEM" (of `form`): the item, or nullptr after an error.
  const study::Item* ResolveItem(const YAML::Node& at, const std::string& ref, const std::string& form,
                                 std::string* form_out, const std::string& what) {
    std::string form_id = form, item_id = ref;
    if (const size_t dot = ref.find('.'); dot != std::string::npos) {
      form_id = ref.substr(0, dot);
      item_id = ref.substr(dot + 1);
    }
    const study::Form* f = study_.FindForm(form_id);
    if (f == nullptr) {
      Error(at, what + " names form " + form_id + ", which the study lacks");
      return nullptr;
    }
    const study::Item* item = f->FindItem(item_id);
    if (item == nullptr) {
      Error(at, what + " names item " + item_id + ", which form " + form_id + " lacks");
      return nullptr;
    }
    if (form_out != nullptr) *form_out = form_id == form ? "" : form_id;
    return item;
  }

  std::string Label(const YAML::Node& at, const std::string& domain, const std::string& name, const std::string& given,
                    const study::Item* item) {
    std::string label = given;
    if (label.empty()) {
      if (auto it = StandardLabels().find(name); it != StandardLabels().end()) {
        label = it->second;
      } else if (name.size() > 2 && name.compare(0, 2, domain.substr(0, 2)) == 0) {
        if (auto s = SuffixLabels().find(std::string_view(name).substr(2)); s != SuffixLabels().end())
          label = s->second;
      }
    }
    if (label.empty() && item != nullptr) label = item->label;
    if (label.empty()) Error(at, "variable " + name + " of " + domain + " needs a 'label'");
    if (label.size() > kXptMaxLabelLength) {
      Error(at, "the label of " + domain + "." + name + " (\"" + label + "\") is " + std::to_string(label.size()) +
                    " characters; SAS transport files allow " + std::to_string(kXptMaxLabelLength) +
                    " (give a shorter 'label')");
    }
    return label;
  }

  SdtmMapping Read(const YAML::Node& n) {
    SdtmMapping m;
    m.declared = true;
    if (!ExpectMap(n, "sdtm", {"ig_version", "usubjid", "reference_start", "visit_numbers", "domains"})) return m;
    if (n["ig_version"]) m.ig_version = Text(n["ig_version"], "sdtm ig_version");
    if (n["usubjid"]) {
      m.usubjid = Text(n["usubjid"], "sdtm usubjid");
      if (m.usubjid.find("{subject}") == std::string::npos && m.usubjid.find("{number}") == std::string::npos) {
        Error(n["usubjid"], "sdtm usubjid must contain {subject} or {number}, or it would not tell subjects apart");
      }
    }
    if (const YAML::Node rs = n["reference_start"]) {
      const std::string ref = Text(rs, "sdtm reference_start");
      if (ref.find('.') == std::string::npos) {
        Error(rs, "sdtm reference_start '" + ref + "' must be FORM.ITEM");
      } else if (const study::Item* item = ResolveItem(rs, ref, "", nullptr, "sdtm reference_start")) {
        if (item->type != study::ItemType::kDate && item->type != study::ItemType::kDateTime) {
          Error(rs, "sdtm reference_start " + ref + " must be a date");
        }
        m.reference_start = {ref.substr(0, ref.find('.')), ref.substr(ref.find('.') + 1)};
      }
    }
    if (const YAML::Node vn = n["visit_numbers"]) {
      if (!vn.IsMap()) {
        Error(vn, "sdtm visit_numbers must map visit ids to numbers");
      } else {
        for (const auto& kv : vn) {
          const std::string visit = kv.first.Scalar();
          if (study_.FindVisit(visit) == nullptr)
            Error(kv.first, "sdtm visit_numbers names visit " + visit + ", which the study lacks");
          try {
            m.visit_numbers[visit] = kv.second.as<double>();
          } catch (const YAML::Exception&) {
            Error(kv.second, "the number of visit " + visit + " must be a number");
          }
        }
      }
    }
    const YAML::Node domains = n["domains"];
    if (!domains || !domains.IsSequence()) {
      Error(domains ? domains : n, "sdtm needs 'domains': a list of {domain, form, variables}");
      return m;
    }
    std::set<std::string> names;
    for (const auto& d : domains) {
      SdtmDomain domain = ReadDomain(d);
      if (domain.domain.empty()) continue;
      if (!names.insert(domain.domain).second) Error(d["domain"], "domain " + domain.domain + " is mapped twice");
      m.domains.push_back(std::move(domain));
    }
    return m;
  }

 private:
  void Add(SdtmDomain& d, const YAML::Node& at, std::string name, SdtmSource source, DataType type, int length,
           const study::Item* item, const std::string& label = "") {
    if (!ValidName(name)) {
      Error(at, d.domain + " variable name '" + name +
                    "' must be 1 to 8 uppercase letters, digits or underscores, starting with a letter");
      return;
    }
    for (const auto& v : d.variables) {
      if (v.variable.name == name) {
        Error(at, d.domain + " has variable " + name + " twice");
        return;
      }
    }
    SdtmVariable v;
    v.variable.name = name;
    v.variable.label = Label(at, d.domain, name, label, item);
    v.variable.data_type = type;
    v.variable.length = StorageType(type) == VariableType::kCharacter ? std::max(length, 1) : 8;
    v.variable.origin = source.kind == SdtmSource::Kind::kItem || source.kind == SdtmSource::Kind::kDecode ? "Collected"
                        : source.kind == SdtmSource::Kind::kConstant                                       ? "Assigned"
                                                                                                           : "Derived";
    if (v.variable.origin == "Collected") v.variable.origin_source = "Investigator";
    v.source = std::move(source);
    d.variables.push_back(std::move(v));
  }

  SdtmSource ParseSource(SdtmDomain& d, const YAML::Node& at, const std::string& text, const study::Item** item_out) {
    SdtmSource s;
    *item_out = nullptr;
    if (!text.empty() && text[0] == '=') {
      s.kind = SdtmSource::Kind::kConstant;
      s.text = text.substr(1);
      return s;
    }
    const size_t open = text.find('(');
    if (open != std::string::npos) {
      if (text.back() != ')') {
        Error(at, "source '" + text + "' of " + d.domain + ": a function call ends with ')'");
        return s;
      }
      const std::string fn = text.substr(0, open);
      const std::string arg = text.substr(open + 1, text.size() - open - 2);
      if (fn == "day") {
        s.kind = SdtmSource::Kind::kStudyDay;
        s.text = arg;
        bool known = false;
        for (const auto& v : d.variables) known |= v.variable.name == arg;
        if (!known) Error(at, "day(" + arg + ") of " + d.domain + " needs " + arg + " mapped before it");
        return s;
      }
      static const std::set<std::string> meddra = {"llt",   "lltcd", "pt",     "ptcd", "hlt",
                                                   "hltcd", "hlgt",  "hlgtcd", "soc",  "soccd"};
      if (fn != "decode" && meddra.count(fn) == 0) {
        Error(at, "source '" + text + "' of " + d.domain + ": unknown function " + fn +
                      " (known: day, decode, llt, pt, hlt, hlgt, soc and their codes with cd)");
        return s;
      }
      s.kind = fn == "decode" ? SdtmSource::Kind::kDecode : SdtmSource::Kind::kMeddra;
      s.text = fn;
      *item_out = ResolveItem(at, arg, d.form, &s.form, "source " + text + " of " + d.domain);
      if (*item_out != nullptr) {
        s.item = (*item_out)->id;
        if (s.kind == SdtmSource::Kind::kDecode && (*item_out)->codelist.empty()) {
          Error(at, "decode(" + arg + ") of " + d.domain + ": the item has no code list");
        }
      }
      return s;
    }
    *item_out = ResolveItem(at, text, d.form, &s.form, "source " + text + " of " + d.domain);
    if (*item_out != nullptr) s.item = (*item_out)->id;
    return s;
  }

  SdtmDomain ReadDomain(const YAML::Node& n) {
    SdtmDomain d;
    if (!ExpectMap(
            n, "an sdtm domain",
            {"domain", "label", "class", "structure", "form", "group", "visit", "dtc", "tests", "variables", "supp"})) {
      return d;
    }
    const std::string name = n["domain"] ? Text(n["domain"], "sdtm domain") : "";
    if (name.size() != 2 || !ValidName(name)) {
      Error(n["domain"] ? n["domain"] : n, "an sdtm domain needs 'domain': two uppercase letters (AE, VS)");
      return d;
    }
    d.domain = name;
    d.dataset.name = name;
    d.dataset.label = n["label"] ? Text(n["label"], "domain label") : name;
    if (d.dataset.label.size() > kXptMaxLabelLength) {
      Error(n["label"],
            "the label of domain " + name + " is longer than " + std::to_string(kXptMaxLabelLength) + " characters");
    }
    if (n["class"]) d.dataset.dataset_class = Text(n["class"], "domain class");
    if (n["structure"]) d.dataset.structure = Text(n["structure"], "domain structure");
    d.form = n["form"] ? Text(n["form"], "domain form") : "";
    const study::Form* form = study_.FindForm(d.form);
    if (form == nullptr) {
      Error(n["form"] ? n["form"] : n, "domain " + name + " needs 'form', one of the study's forms");
      return SdtmDomain{};
    }
    if (n["group"]) {
      d.group = Text(n["group"], "domain group");
      const auto g = std::find_if(form->groups.begin(), form->groups.end(),
                                  [&](const study::ItemGroup& grp) { return grp.id == d.group; });
      if (g == form->groups.end() || !g->repeating) {
        Error(n["group"], "domain " + name + ": form " + d.form + " has no repeating group " + d.group);
      }
    }
    if (n["visit"]) d.visit = n["visit"].as<bool>(true);
    if (n["dtc"]) {
      const std::string ref = Text(n["dtc"], "domain dtc");
      if (ResolveItem(n["dtc"], ref, d.form, nullptr, "dtc of " + name) != nullptr) d.dtc_item = ref;
    }
    const std::string& p = name;  // variable prefix
    const study::Item* none = nullptr;
    auto standard = [&](const std::string& var, DataType type, int length) {
      SdtmSource s;
      s.kind = SdtmSource::Kind::kStandard;
      s.text = var;
      Add(d, n, var, s, type, length, none);
    };
    standard("STUDYID", DataType::kString, static_cast<int>(std::max<size_t>(study_.id.size(), 1)));
    standard("DOMAIN", DataType::kString, 2);
    standard("USUBJID", DataType::kString, 40);
    if (name == "DM") {
      standard("SUBJID", DataType::kString, 20);
      standard("SITEID", DataType::kString, 20);
    } else {
      standard(p + "SEQ", DataType::kInteger, 8);
    }
    if (const YAML::Node tests = n["tests"]) {
      if (!tests.IsMap() || tests.size() == 0) {
        Error(tests, "tests of " + name + " must map each test code to {item, test}");
      } else {
        int longest_test = 1, longest_code = 1;
        for (const auto& kv : tests) {
          SdtmTest t;
          t.testcd = kv.first.Scalar();
          if (!ValidName(t.testcd))
            Error(kv.first, "test code '" + t.testcd + "' of " + name + " must be a SAS name of 8 characters at most");
          if (!ExpectMap(kv.second, "test " + t.testcd + " of " + name, {"item", "test"})) continue;
          t.test = kv.second["test"] ? Text(kv.second["test"], "test name") : "";
          if (t.test.empty() || t.test.size() > kXptMaxLabelLength) {
            Error(kv.second, "test " + t.testcd + " of " + name + " needs 'test', its name of at most 40 characters");
          }
          t.item = kv.second["item"] ? Text(kv.second["item"], "test item") : "";
          const study::Item* item = ResolveItem(kv.second["item"] ? kv.second["item"] : kv.second, t.item, d.form,
                                                nullptr, "test " + t.testcd + " of " + name);
          if (item == nullptr) continue;
          longest_test = std::max(longest_test, static_cast<int>(t.test.size()));
          longest_code = std::max(longest_code, static_cast<int>(t.testcd.size()));
          d.tests.push_back(std::move(t));
        }
        standard(p + "TESTCD", DataType::kString, longest_code);
        standard(p + "TEST", DataType::kString, longest_test);
        standard(p + "ORRES", DataType::kString, 200);
        standard(p + "ORRESU", DataType::kString, 40);
        standard(p + "STRESC", DataType::kString, 200);
        standard(p + "STRESN", DataType::kFloat, 8);
        standard(p + "STRESU", DataType::kString, 40);
      }
    }
    if (const YAML::Node vars = n["variables"]) {
      if (!vars.IsMap()) {
        Error(vars, "variables of " + name + " must map each SDTM variable to its source");
      } else {
        for (const auto& kv : vars) {
          const std::string var = kv.first.Scalar();
          std::string text, label;
          if (kv.second.IsMap()) {
            if (!ExpectMap(kv.second, name + "." + var, {"source", "label"})) continue;
            text = kv.second["source"] ? Text(kv.second["source"], name + "." + var + " source") : "";
            if (kv.second["label"]) label = Text(kv.second["label"], name + "." + var + " label");
          } else {
            text = Text(kv.second, name + "." + var);
          }
          if (text.empty()) {
            Error(kv.second, name + "." + var + " needs a source");
            continue;
          }
          const study::Item* item = nullptr;
          SdtmSource s = ParseSource(d, kv.second, text, &item);
          if (failed() && s.item.empty() && s.kind != SdtmSource::Kind::kConstant &&
              s.kind != SdtmSource::Kind::kStudyDay) {
            continue;
          }
          DataType type = DataType::kString;
          int length = 200;
          if (s.kind == SdtmSource::Kind::kStudyDay) {
            type = DataType::kInteger;
          } else if (s.kind == SdtmSource::Kind::kConstant) {
            length = static_cast<int>(std::max<size_t>(s.text.size(), 1));
          } else if (s.kind == SdtmSource::Kind::kMeddra) {
            length = s.text.ends_with("cd") ? 8 : 100;
          } else if (s.kind == SdtmSource::Kind::kDecode) {
            length = 200;
          } else if (item != nullptr) {
            type = DataTypeOf(*item);
            length = LengthOf(study_, *item);
          }
          // Results and reference ranges in original units are character
          // in SDTM, whatever the item holds (the numeric form is --STRESN).
          static const std::vector<std::string> kCharacter = {"ORRES", "ORNRLO", "ORNRHI", "STRESC"};
          for (const auto& suffix : kCharacter) {
            if (var.size() == 2 + suffix.size() && var.ends_with(suffix) &&
                StorageType(type) == VariableType::kNumeric) {
              type = DataType::kString;
              length = 40;
            }
          }
          Add(d, kv.first, var, s, type, length, item, label);
        }
      }
    }
    if (d.visit) {
      standard("VISITNUM", DataType::kFloat, 8);
      standard("VISIT", DataType::kString, 40);
      standard("VISITDY", DataType::kInteger, 8);
      // SV's own dates (SVSTDTC) are its timing; others get --DTC and --DY.
      bool has_dtc = false;
      for (const auto& v : d.variables) has_dtc |= v.variable.name == p + "DTC";
      if (!has_dtc && name != "SV") {
        // A date, unless --DTC comes from a date-time item.
        DataType type = DataType::kDate;
        int length = 10;
        if (!d.dtc_item.empty()) {
          if (const study::Item* item = ResolveItem(n["dtc"], d.dtc_item, d.form, nullptr, "dtc of " + name)) {
            type = DataTypeOf(*item);
            length = LengthOf(study_, *item);
          }
        } else if (!study_.visit_date.form.empty()) {
          if (const study::Item* item = ResolveItem(n, study_.visit_date.form + "." + study_.visit_date.item, "",
                                                    nullptr, "the study's visit date")) {
            type = DataTypeOf(*item);
            length = LengthOf(study_, *item);
          }
        }
        standard(p + "DTC", type, length);
      }
      if (name != "SV") standard(p + "DY", DataType::kInteger, 8);
    }
    if (const YAML::Node supp = n["supp"]) {
      if (!supp.IsMap()) {
        Error(supp, "supp of " + name + " must map each QNAM to {item, label}");
      } else {
        for (const auto& kv : supp) {
          SdtmSupp s;
          s.qnam = kv.first.Scalar();
          if (!ValidName(s.qnam))
            Error(kv.first, "QNAM '" + s.qnam + "' of SUPP" + name + " must be a SAS name of 8 characters at most");
          if (!ExpectMap(kv.second, "supp " + s.qnam + " of " + name, {"item", "label"})) continue;
          s.item = kv.second["item"] ? Text(kv.second["item"], "supp item") : "";
          s.qlabel = kv.second["label"] ? Text(kv.second["label"], "supp label") : "";
          const study::Item* item = ResolveItem(kv.second["item"] ? kv.second["item"] : kv.second, s.item, d.form,
                                                nullptr, "supp " + s.qnam + " of " + name);
          if (item != nullptr && s.qlabel.empty()) s.qlabel = item->label;
          if (s.qlabel.size() > kXptMaxLabelLength)
            Error(kv.second, "the label of QNAM " + s.qnam + " is longer than 40 characters");
          d.supp.push_back(std::move(s));
        }
      }
    }
    int key = 0;
    for (auto& v : d.variables) {
      if (v.variable.name == "STUDYID" || v.variable.name == "USUBJID" || v.variable.name == p + "SEQ" ||
          v.variable.name == p + "TESTCD") {
        v.variable.key_sequence = ++key;
      }
      d.dataset.variables.push_back(v.variable);
    }
    return d;
  }

  const study::Study& study_;
  std::vector<study::StudyError>* errors_;
};

}  // namespace

Result<SdtmMapping> ReadSdtmMapping(const study::Study& study, std::vector<study::StudyError>* errors) {
  YAML::Node doc;
  try {
    doc = YAML::Load(study.source);
  } catch (const YAML::Exception& e) {
    errors->push_back({study.file, {e.mark.line + 1, e.mark.column + 1}, "YAML syntax: " + e.msg});
    return InvalidArgument(errors->back().ToString());
  }
  const YAML::Node section = doc.IsMap() ? doc["sdtm"] : YAML::Node();
  if (!section) return SdtmMapping{};
  const size_t before = errors->size();
  Reader reader(study, errors);
  SdtmMapping mapping = reader.Read(section);
  if (errors->size() > before) return InvalidArgument((*errors)[before].ToString());
  return mapping;
}

double VisitNumber(const SdtmMapping& mapping, const study::Study& study, const std::string& visit_id) {
  if (auto it = mapping.visit_numbers.find(visit_id); it != mapping.visit_numbers.end()) return it->second;
  for (size_t i = 0; i < study.visits.size(); ++i) {
    if (study.visits[i].id == visit_id) return static_cast<double>(i + 1);
  }
  return 0;
}

std::string Subjid(const std::string& subject, const std::string& site) {
  if (!site.empty() && subject.size() > site.size() + 1 && subject.compare(0, site.size(), site) == 0 &&
      subject[site.size()] == '-') {
    return subject.substr(site.size() + 1);
  }
  return subject;
}

std::string Usubjid(const SdtmMapping& mapping, const std::string& study_id, const std::string& subject,
                    const std::string& site) {
  std::string out;
  const std::string& pattern = mapping.usubjid;
  for (size_t i = 0; i < pattern.size();) {
    auto take = [&](std::string_view key, const std::string& value) {
      if (pattern.compare(i, key.size(), key) != 0) return false;
      out += value;
      i += key.size();
      return true;
    };
    if (take("{study}", study_id) || take("{subject}", subject) || take("{site}", site) ||
        take("{number}", Subjid(subject, site))) {
      continue;
    }
    out += pattern[i++];
  }
  return out;
}

}  // namespace trialcore::standards
