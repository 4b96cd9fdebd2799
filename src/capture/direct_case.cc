#include "capture/direct_case.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "safety/reporting_clock.h"

namespace trialcore::capture {
namespace {

const Value* Member(const Value& o, std::string_view key) { return o.is_object() ? o.Find(key) : nullptr; }

std::string Text(const Value& o, std::string_view key) {
  const Value* v = Member(o, key);
  return v != nullptr && v->is_string() ? v->as_string() : "";
}

int64_t Int(const Value& o, std::string_view key) {
  const Value* v = Member(o, key);
  return v != nullptr && v->kind() == Value::Kind::kInt ? v->as_int() : 0;
}

std::string Lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// The names of E.i.3.2a..f, in that order, as the study's safety section
// names its seriousness criteria.
constexpr const char* kCriteria[] = {"death",      "life_threatening",   "hospitalisation",
                                     "disability", "congenital_anomaly", "other_medically_important"};

constexpr std::pair<const char*, const char*> kOutcomes[] = {{"1", "RECOVERED"},     {"2", "RECOVERING"},
                                                             {"3", "NOT_RECOVERED"}, {"4", "RECOVERED_WITH_SEQUELAE"},
                                                             {"5", "FATAL"},         {"0", "UNKNOWN"}};

constexpr const char* kQualifications[] = {"physician", "pharmacist", "other_health_professional", "lawyer",
                                           "consumer"};

// "20220516", "20220516120000+0000", "202205", "2022" as "2022-05-16",
// "2022-05", "2022"; "" for anything else.
std::string IsoDateOfE2b(const std::string& ts) {
  if (ts.size() < 4 || !std::all_of(ts.begin(), ts.begin() + 4, ::isdigit)) return "";
  std::string out = ts.substr(0, 4);
  if (ts.size() >= 6) out += "-" + ts.substr(4, 2);
  if (ts.size() >= 8) out += "-" + ts.substr(6, 2);
  return out;
}

Status Only(const Value& o, std::string_view where, std::initializer_list<std::string_view> allowed) {
  if (!o.is_object()) return InvalidArgument("\"" + std::string(where) + "\" must be an object");
  for (const auto& [key, v] : o.as_object()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return InvalidArgument("\"" + std::string(where) + "\" has no field \"" + key + "\"");
    }
  }
  return Status::Ok();
}

Status CheckText(const Value& o, std::string_view where, std::string_view key, size_t max) {
  const Value* v = Member(o, key);
  if (v == nullptr || v->is_null()) return Status::Ok();
  if (!v->is_string()) return InvalidArgument("\"" + std::string(where) + "." + std::string(key) + "\" must be text");
  if (v->as_string().size() > max) {
    return InvalidArgument("\"" + std::string(where) + "." + std::string(key) + "\" is longer than " +
                           std::to_string(max) + " characters");
  }
  return Status::Ok();
}

bool PartialDate(const std::string& s) {
  if (s.size() == 4) return std::all_of(s.begin(), s.end(), ::isdigit);
  if (s.size() == 7) return PartialDate(s.substr(0, 4)) && s[4] == '-' && safety::ParseDate(s + "-01").has_value();
  return safety::ParseDate(s).has_value();
}

}  // namespace

int64_t StartOfDay(safety::CivilDate day, int utc_offset_minutes) {
  const int64_t days = safety::DaysBetween(safety::CivilDate{1970, 1, 1}, day);
  return days * 86'400'000'000 - int64_t{utc_offset_minutes} * 60'000'000;
}

std::string DirectCaseId(int number) { return "DC-" + std::to_string(number); }
std::string DirectCaseStream(const std::string& id) { return "case/" + id; }
bool IsDirectCaseStream(std::string_view stream) { return stream.starts_with("case/"); }

std::optional<int> DirectCaseNumber(std::string_view id) {
  if (!id.starts_with("DC-") || id.size() < 4 || id.size() > 12 || id[3] == '0') return std::nullopt;
  int n = 0;
  auto [end, error] = std::from_chars(id.data() + 3, id.data() + id.size(), n);
  if (error != std::errc() || end != id.data() + id.size() || n <= 0) return std::nullopt;
  return n;
}

Value ReportValue(const safety::Icsr& icsr) {
  Value::Array out;
  for (const safety::E2bElement& e : icsr.elements()) {
    Value::Object o;
    o["element"] = Value(e.number);
    if (!e.index.empty()) {
      Value::Array index;
      for (uint16_t i : e.index) index.push_back(Value(int64_t{i}));
      o["index"] = Value(std::move(index));
    }
    if (!e.null_flavor.empty()) {
      o["null_flavor"] = Value(e.null_flavor);
    } else {
      o["value"] = Value(e.value);
    }
    if (!e.code_system.empty()) o["code_system"] = Value(e.code_system);
    out.push_back(Value(std::move(o)));
  }
  return Value(std::move(out));
}

Result<safety::Icsr> ReportOf(const Value& value) {
  if (value.kind() != Value::Kind::kArray) return DataLoss("a case's report is not a list of elements");
  safety::Icsr icsr;
  for (const Value& x : value.as_array()) {
    safety::E2bElement e;
    e.number = Text(x, "element");
    if (e.number.empty()) return DataLoss("a case's report has an element without a number");
    if (const Value* index = Member(x, "index"); index != nullptr && index->kind() == Value::Kind::kArray) {
      for (const Value& i : index->as_array()) {
        if (i.kind() != Value::Kind::kInt || i.as_int() <= 0 || i.as_int() > 65535) {
          return DataLoss("element " + e.number + " of a case's report has an index out of range");
        }
        e.index.push_back(static_cast<uint16_t>(i.as_int()));
      }
    }
    e.value = Text(x, "value");
    e.null_flavor = Text(x, "null_flavor");
    e.code_system = Text(x, "code_system");
    icsr.Put(std::move(e));
  }
  return icsr;
}

void ApplyDirectCaseEvent(DirectCase& dc, const Event& e) {
  dc.version = e.stream_version;
  const Value& p = e.payload;
  if (e.type == "safety.case.received" || e.type == "safety.case.information") {
    const bool first = e.type == "safety.case.received";
    if (first) {
      dc.id = Text(p, "case");
      dc.source = Text(p, "source");
      dc.received_date = Text(p, "received");
      dc.c.number = static_cast<int>(Int(p, "case_number"));
      dc.c.aware_us = std::min(Int(p, "aware_us"), e.time_us);
      dc.c.version_aware_us = dc.c.aware_us;
      dc.c.updated_us = e.time_us;
      dc.worldwide_id = Text(p, "worldwide_id");
    } else {
      dc.c.updated_us = e.time_us;
      ++dc.c.followups;
      // As a CRF case's follow-up: new information on an approved version
      // starts the next one, its day 0 that information's arrival.
      if (dc.c.approved_version == dc.c.version) {
        ++dc.c.version;
        dc.c.version_aware_us = std::min(Int(p, "aware_us") > 0 ? Int(p, "aware_us") : e.time_us, e.time_us);
      }
    }
    dc.latest_date = Text(p, "latest");
    dc.file_sha256 = Text(p, "file_sha256");
    if (const Value* facts = p.Find("facts"); facts != nullptr) dc.facts = *facts;
    if (const Value* report = p.Find("report"); report != nullptr) {
      auto icsr = ReportOf(*report);
      // A stored report that does not read back is DataLoss for audit
      // verify; here the case keeps what it had.
      if (icsr.ok()) dc.report = std::move(*icsr);
    }
    return;
  }
  if (e.type.starts_with("safety.case.")) ApplySafetyCaseEvent(dc.c, e);
}

AdverseEventFacts FactsOfDirectCase(const study::Study& study, const DirectCase& dc) {
  (void)study;
  AdverseEventFacts f;
  if (dc.report) {
    const safety::Icsr& r = *dc.report;
    const auto reactions = r.reactions();
    if (!reactions.empty()) {
      const safety::Icsr::Reaction& first = reactions.front();
      f.term = first.reported_term;
      f.onset = IsoDateOfE2b(r.Value("E.i.4", {first.i}));
      for (const auto& [code, name] : kOutcomes) {
        if (first.outcome == code) f.outcome = name;
      }
      for (size_t k = 0; k < std::size(kCriteria); ++k) {
        if (first.seriousness[k]) f.criteria.push_back(kCriteria[k]);
      }
      f.serious = std::any_of(std::begin(first.seriousness), std::end(first.seriousness), [](bool b) { return b; });
    }
    // A spontaneous report implies the reporter suspects the product; in
    // other reports, a causality result that says so.
    f.related_by_reporter = r.report_type() == "1";
    for (const auto& c : r.causality()) {
      const std::string result = Lower(c.result);
      const bool denied = result.find("not") != std::string::npos || result.find("unrelated") != std::string::npos;
      if (!denied && (result.find("related") != std::string::npos || result.find("suspected") != std::string::npos ||
                      result.find("possibl") != std::string::npos || result.find("probabl") != std::string::npos)) {
        f.related_by_reporter = true;
      }
      if (f.causality.empty()) f.causality = c.result;
    }
  } else {
    const Value* event = Member(dc.facts, "event");
    if (event != nullptr) {
      f.term = Text(*event, "term");
      f.onset = Text(*event, "onset");
      f.outcome = Text(*event, "outcome");
      if (const Value* criteria = Member(*event, "criteria");
          criteria != nullptr && criteria->kind() == Value::Kind::kArray) {
        for (const char* name : kCriteria) {
          for (const Value& c : criteria->as_array()) {
            if (c.is_string() && c.as_string() == name) f.criteria.push_back(name);
          }
        }
      }
    }
    f.serious = !f.criteria.empty();
    f.causality = Text(dc.facts, "causality");
    f.related_by_reporter = dc.source == "spontaneous" || f.causality == "related";
  }
  f.fatal_or_life_threatening = f.outcome == "FATAL" || std::count(f.criteria.begin(), f.criteria.end(), "death") > 0 ||
                                std::count(f.criteria.begin(), f.criteria.end(), "life_threatening") > 0;
  return f;
}

std::vector<std::string> MissingForValidity(const DirectCase& dc) {
  std::vector<std::string> missing;
  if (dc.report) {
    const safety::Icsr& r = *dc.report;
    const safety::Icsr::Patient patient = r.patient();
    if (patient.initials.empty() && patient.age.empty() && patient.sex.empty() && r.Find("D.1") == nullptr) {
      missing.push_back("identifiable patient");
    }
    if (r.Instances("C.2.r").empty()) missing.push_back("identifiable reporter");
    if (r.suspect_drugs().empty()) missing.push_back("suspect product");
    return missing;
  }
  const Value* patient = Member(dc.facts, "patient");
  if (patient == nullptr || !patient->is_object() || patient->as_object().empty()) {
    missing.push_back("identifiable patient");
  }
  if (Text(dc.facts, "product").empty()) missing.push_back("suspect product");
  return missing;
}

Result<Value> DirectCaseFacts(const study::Study& study, const Value& cmd, int64_t now_us, int utc_offset_minutes) {
  Value::Object out;
  const std::string source = Text(cmd, "source");
  if (source != "spontaneous" && source != "literature") {
    return InvalidArgument("\"source\" may be spontaneous or literature, not \"" + source + "\"");
  }
  out["source"] = Value(source);
  const std::string received = Text(cmd, "received");
  auto day = safety::ParseDate(received);
  if (!day) return InvalidArgument("\"received\" must be the day the report reached the sponsor, YYYY-MM-DD");
  if (*day > safety::LocalDate(now_us, utc_offset_minutes)) {
    return InvalidArgument("\"received\" (" + received + ") is in the future");
  }
  out["received"] = Value(received);

  Value::Object reporter;
  if (const Value* r = cmd.Find("reporter"); r != nullptr && !r->is_null()) {
    TC_RETURN_IF_ERROR(Only(*r, "reporter", {"given", "family", "qualification", "country", "email"}));
    for (const char* key : {"given", "family", "email"}) {
      TC_RETURN_IF_ERROR(CheckText(*r, "reporter", key, 60));
      if (!Text(*r, key).empty()) reporter[key] = Value(Text(*r, key));
    }
    const std::string q = Text(*r, "qualification");
    if (!q.empty() &&
        std::find(std::begin(kQualifications), std::end(kQualifications), q) == std::end(kQualifications)) {
      return InvalidArgument(
          "\"reporter.qualification\" may be physician, pharmacist, other_health_professional, lawyer or consumer, "
          "not \"" +
          q + "\"");
    }
    if (!q.empty()) reporter["qualification"] = Value(q);
    const std::string country = Text(*r, "country");
    if (!country.empty() && (country.size() != 2 || !std::isupper(static_cast<unsigned char>(country[0])) ||
                             !std::isupper(static_cast<unsigned char>(country[1])))) {
      return InvalidArgument("\"reporter.country\" must be an ISO 3166 two-letter code (\"US\"), not \"" + country +
                             "\"");
    }
    if (!country.empty()) reporter["country"] = Value(country);
  }
  // ICH E2A's four criteria of a valid case: the reporter must be
  // identifiable at least by qualification.
  if (!reporter.contains("qualification")) {
    return InvalidArgument("\"reporter.qualification\" is required: a case needs an identifiable reporter");
  }
  out["reporter"] = Value(std::move(reporter));

  Value::Object patient;
  if (const Value* p = cmd.Find("patient"); p != nullptr && !p->is_null()) {
    TC_RETURN_IF_ERROR(Only(*p, "patient", {"sex", "age"}));
    const std::string sex = Text(*p, "sex");
    if (!sex.empty() && sex != "M" && sex != "F") {
      return InvalidArgument("\"patient.sex\" may be M or F, not \"" + sex + "\"");
    }
    if (!sex.empty()) patient["sex"] = Value(sex);
    const std::string age = Text(*p, "age");
    if (!age.empty()) {
      if (age.size() > 3 || !std::all_of(age.begin(), age.end(), ::isdigit) || std::stoi(age) > 150) {
        return InvalidArgument("\"patient.age\" must be years, 0 to 150, not \"" + age + "\"");
      }
      patient["age"] = Value(age);
    }
  }
  out["patient"] = Value(std::move(patient));

  const Value* event = cmd.Find("event");
  if (event == nullptr) return InvalidArgument("\"event\" is required: {term, onset, outcome, criteria}");
  TC_RETURN_IF_ERROR(Only(*event, "event", {"term", "onset", "outcome", "criteria"}));
  TC_RETURN_IF_ERROR(CheckText(*event, "event", "term", 250));
  Value::Object ev;
  const std::string term = Text(*event, "term");
  if (term.empty()) return InvalidArgument("\"event.term\" is required: a case needs an event");
  ev["term"] = Value(term);
  const std::string onset = Text(*event, "onset");
  if (!onset.empty()) {
    if (!PartialDate(onset)) return InvalidArgument("\"event.onset\" must be YYYY, YYYY-MM or YYYY-MM-DD");
    ev["onset"] = Value(onset);
  }
  const std::string outcome = Text(*event, "outcome");
  if (!outcome.empty()) {
    const bool known =
        std::any_of(std::begin(kOutcomes), std::end(kOutcomes), [&](const auto& o) { return outcome == o.second; });
    if (!known) {
      return InvalidArgument(
          "\"event.outcome\" may be RECOVERED, RECOVERING, NOT_RECOVERED, RECOVERED_WITH_SEQUELAE, FATAL or "
          "UNKNOWN, not \"" +
          outcome + "\"");
    }
    ev["outcome"] = Value(outcome);
  }
  Value::Array criteria;
  const Value* given = Member(*event, "criteria");
  if (given != nullptr && given->kind() != Value::Kind::kArray) {
    return InvalidArgument("\"event.criteria\" must be a list");
  }
  if (given != nullptr) {
    for (const Value& c : given->as_array()) {
      const bool known = c.is_string() && std::any_of(std::begin(kCriteria), std::end(kCriteria),
                                                      [&](const char* k) { return c.as_string() == k; });
      if (!known) {
        return InvalidArgument(
            "\"event.criteria\" may hold death, life_threatening, hospitalisation, disability, congenital_anomaly "
            "and other_medically_important");
      }
      criteria.push_back(c);
    }
  }
  if (criteria.empty()) {
    return InvalidArgument("\"event.criteria\" names no seriousness criterion: only serious reports are safety cases");
  }
  ev["criteria"] = Value(std::move(criteria));
  out["event"] = Value(std::move(ev));

  const std::string product = Text(cmd, "product").empty() ? study.safety.suspect_product : Text(cmd, "product");
  if (product.empty()) return InvalidArgument("\"product\" is required: the study names no suspect product");
  out["product"] = Value(product);
  const std::string causality = Text(cmd, "causality");
  if (!causality.empty() && causality != "related" && causality != "not_related") {
    return InvalidArgument("\"causality\" may be related or not_related, not \"" + causality + "\"");
  }
  if (!causality.empty()) out["causality"] = Value(causality);
  TC_RETURN_IF_ERROR(CheckText(cmd, "case", "reference", 500));
  const std::string reference = Text(cmd, "reference");
  if (source == "literature" && reference.empty()) {
    return InvalidArgument("\"reference\" is required for a literature report: the article it comes from");
  }
  if (!reference.empty()) out["reference"] = Value(reference);
  const std::string narrative = Text(cmd, "narrative");
  if (narrative.size() > 100'000) return InvalidArgument("\"narrative\" is longer than 100,000 characters");
  if (!narrative.empty()) out["narrative"] = Value(narrative);
  return Value(std::move(out));
}

}  // namespace trialcore::capture
