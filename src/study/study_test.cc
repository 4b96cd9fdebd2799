#include "study/study.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <sstream>

#include "core/value.h"

namespace trialcore::study {
namespace {

const std::string kDemo = std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml";

std::string Errors(const std::vector<StudyError>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.ToString() + "\n";
  return out;
}

// A mistake made in the demo study by replacing `from` with `to`, and the
// error it must give.
struct Mistake {
  std::string from, to, error;
};

// Each mistake fails the load with its error, and every error is placed at
// or after `first_line` (the section the mistakes are made in).
void ExpectMistakesNamed(const std::string& demo, std::span<const Mistake> mistakes, int first_line) {
  for (const Mistake& c : mistakes) {
    SCOPED_TRACE(c.to);
    std::string text = demo;
    const size_t at = text.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    text.replace(at, c.from.size(), c.to);
    std::vector<StudyError> errors;
    ASSERT_FALSE(LoadStudy(text, "mistake.yaml", &errors).ok());
    const std::string all = Errors(errors);
    EXPECT_NE(all.find(c.error), std::string::npos) << all;
    for (const auto& e : errors) EXPECT_GE(e.loc.line, first_line) << e.ToString();
  }
}

TEST(DemoStudy, LoadsAndCompilesEveryExpression) {
  std::vector<StudyError> errors;
  auto s = LoadStudyFile(kDemo, &errors);
  ASSERT_TRUE(s.ok()) << Errors(errors);
  const Study& study = **s;
  EXPECT_EQ(study.id, "CDISCPILOT01");
  EXPECT_EQ(study.arms.size(), 3u);
  EXPECT_EQ(study.visits.size(), 22u);
  size_t checks = 0;
  for (const Form& f : study.forms) {
    for (const Check& c : f.checks) {
      ++checks;
      EXPECT_TRUE(c.expr.has_value()) << c.id;
    }
  }
  EXPECT_GE(checks, 40u);
  EXPECT_EQ(study.eligibility.size(), 13u);
  EXPECT_TRUE(study.visit_date_first);
  ASSERT_TRUE(study.subject_numbering.has_value());
  EXPECT_TRUE(study.subject_numbering->site_prefix);
  EXPECT_EQ(study.subject_numbering->digits, 4);
  EXPECT_EQ(study.subject_numbering->first, 1001);
  ASSERT_EQ(study.reasons_for_change.size(), 4u);
  EXPECT_EQ(study.reasons_for_change[0], "Transcription error, corrected from source");
}

// Issue 15 points 5, 6, 7: the numbering scheme, the standard reasons for
// change and the visit date first are read strictly, every error located.
TEST(DemoStudy, NumberingReasonsAndVisitDateFirstAreCheckedWhereTheyStand) {
  std::ifstream in(kDemo);
  std::stringstream demo;
  demo << in.rdbuf();
  const std::string text = demo.str();
  struct Case {
    std::string find, replace, error;
  };
  const Case cases[] = {
      {"subject_numbering: {site_prefix: true, digits: 4,", "subject_numbering: {site_prefix: true, digits: 12,",
       "'digits' of subject_numbering must be from 1 to 9"},
      {"subject_numbering: {site_prefix: true,", "subject_numbering: {site_prefix: maybe,",
       "'site_prefix' of subject_numbering must be true or false"},
      {"  - Data clarified from source\n", "  - Data clarified from source\n  - Data clarified from source\n",
       "reason for change 'Data clarified from source' is listed twice"},
      {"  - Data clarified from source\n", "  - Other reasons\n",
       "reason for change 'Other reasons' must not start with 'Other'"},
      {"visit_date: {form: SV, item: SVSTDTC, first: true}", "visit_date: {form: SV, item: SVSTDTC, first: often}",
       "'first' of visit_date must be true or false"},
  };
  for (const Case& c : cases) {
    size_t at = text.find(c.find);
    ASSERT_NE(at, std::string::npos) << c.find;
    std::string changed = text;
    changed.replace(at, c.find.size(), c.replace);
    const int line =
        static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n')) + 1;
    std::vector<StudyError> errors;
    ASSERT_FALSE(LoadStudy(changed, "study.yaml", &errors).ok()) << c.replace;
    ASSERT_EQ(errors.size(), 1u) << Errors(errors);
    EXPECT_NE(errors[0].message.find(c.error), std::string::npos) << Errors(errors);
    EXPECT_GE(errors[0].loc.line, line) << Errors(errors);
    EXPECT_LE(errors[0].loc.line, line + 1) << Errors(errors);
    EXPECT_GT(errors[0].loc.column, 0);
  }
}

// Issue 12: a rule whose outcome blinded roles see (a query or refusal on a
// visible item, a visible item's value or visibility, eligibility) cannot read
// an unblinded_only item, or the outcome would tell them the dose.
TEST(Blinding, RulesBlindedRolesSeeCannotReadUnblindedOnlyItems) {
  std::ifstream in(kDemo);
  std::stringstream demo;
  demo << in.rdbuf();
  const std::string text = demo.str();
  struct Case {
    std::string find, replace, error;
  };
  const Case cases[] = {
      {"{id: EX01, condition: EXENDTC is missing or EXENDTC >= EXSTDTC,",
       "{id: EX01, condition: EXENDTC is missing or EXDOSE > 0,", "check EX01 on EXENDTC reads EX.EXDOSE"},
      {"{id: EXENDTC, label: End date, type: date}",
       "{id: EXENDTC, label: End date, type: date, visible_if: PATCHES > 2}", "visible_if of EXENDTC reads EX.PATCHES"},
  };
  for (const Case& c : cases) {
    size_t at = text.find(c.find);
    ASSERT_NE(at, std::string::npos) << c.find;
    std::string changed = text;
    changed.replace(at, c.find.size(), c.replace);
    std::vector<StudyError> errors;
    auto s = LoadStudy(changed, "study.yaml", &errors);
    ASSERT_FALSE(s.ok()) << c.replace;
    EXPECT_NE(Errors(errors).find(c.error + ", which is unblinded_only"), std::string::npos) << Errors(errors);
    // A version published before the rule still loads from the log.
    EXPECT_TRUE(LoadStudy(changed, "study.yaml", &errors, LoadOptions{.published = true}).ok()) << Errors(errors);
  }
  // The same reads are fine in rules only the unblinded see (EX04 on EXADJ reads EXDOSE).
  std::vector<StudyError> errors;
  EXPECT_TRUE(LoadStudy(text, "study.yaml", &errors).ok()) << Errors(errors);
}

// Issue 15: identifying items name, per role, what of their value the server
// discloses; a mistake names the file, line and column and what is wrong.
TEST(Identifying, DemoMarksDateOfBirthAndInitialsPerRole) {
  std::vector<StudyError> errors;
  auto s = LoadStudyFile(kDemo, &errors);
  ASSERT_TRUE(s.ok()) << Errors(errors);
  const Item* dob = (*s)->FindForm("DM")->FindItem("BRTHDTC");
  const Item* initials = (*s)->FindForm("DM")->FindItem("INITIALS");
  ASSERT_NE(dob, nullptr);
  ASSERT_NE(initials, nullptr);
  EXPECT_EQ(dob->identifying.at("sponsor_viewer"), Disclosure::kYearOnly);
  EXPECT_FALSE(dob->identifying.contains("monitor"));
  EXPECT_EQ(initials->identifying.at("sponsor_viewer"), Disclosure::kHidden);
}

TEST(Identifying, MistakesAreLocatedAndNamed) {
  std::ifstream in(kDemo);
  std::stringstream demo;
  demo << in.rdbuf();
  const std::string text = demo.str();
  const std::string dob =
      "identifying: {sponsor_viewer: year_only, medical_monitor: year_only, safety_physician: year_only}";
  struct Case {
    std::string replace, error;
  } cases[] = {
      {"identifying: {sponsr_viewer: year_only}", "unknown role 'sponsr_viewer' in identifying of item BRTHDTC"},
      {"identifying: {sponsor_viewer: yearly}",
       "'sponsor_viewer' of identifying of item BRTHDTC must be hidden or year_only, not 'yearly'"},
      {"identifying: [sponsor_viewer]", "identifying of item BRTHDTC must map roles to hidden or year_only"},
      {"identifying: {coordinator: hidden}",
       "item BRTHDTC is identifying for coordinator, who enters form DM: a role that enters a form sees its values "
       "in full"},
  };
  const size_t at = text.find(dob);
  ASSERT_NE(at, std::string::npos);
  const int line = static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n')) + 1;
  for (const Case& c : cases) {
    std::string changed = text;
    changed.replace(at, dob.size(), c.replace);
    std::vector<StudyError> errors;
    ASSERT_FALSE(LoadStudy(changed, "study.yaml", &errors).ok()) << c.replace;
    const std::string all = Errors(errors);
    EXPECT_NE(all.find(c.error), std::string::npos) << all;
    EXPECT_NE(all.find("study.yaml:" + std::to_string(c.error.starts_with("item") ? line - 1 : line) + ":"),
              std::string::npos)
        << all;
  }
  // year_only needs a date: the initials are text.
  std::string changed = text;
  const std::string hidden = "identifying: {sponsor_viewer: hidden, data_manager: hidden";
  changed.replace(changed.find(hidden), hidden.size(), "identifying: {sponsor_viewer: year_only, data_manager: hidden");
  std::vector<StudyError> errors;
  ASSERT_FALSE(LoadStudy(changed, "study.yaml", &errors).ok());
  EXPECT_NE(Errors(errors).find("item INITIALS is not a date; year_only applies to date, partial_date and datetime"),
            std::string::npos)
      << Errors(errors);
}

}  // namespace
}  // namespace trialcore::study

// The JSON Schema in schema/ and the loader must accept the same keys: each
// probe puts an unknown key in one place of the demo study, and the loader's
// error lists the keys it allows there.
namespace trialcore::study {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(StudySchema, DeclaresExactlyTheKeysTheLoaderAccepts) {
  nlohmann::json schema =
      nlohmann::json::parse(ReadFile(std::string(TRIALCORE_SOURCE_DIR) + "/schema/study.schema.json"));
  std::string demo = ReadFile(kDemo);
  struct Probe {
    const char* pointer;
    const char* from;
    const char* to;
  } probes[] = {
      {"", "study:\n  id: CDISCPILOT01", "zz_probe: 1\nstudy:\n  id: CDISCPILOT01"},
      {"/properties/study", "study:\n  id: CDISCPILOT01", "study:\n  zz_probe: 1\n  id: CDISCPILOT01"},
      {"/properties/arms/items", "{code: Pbo, name: Placebo}", "{code: Pbo, name: Placebo, zz_probe: 1}"},
      {"/properties/sites/items", "{id: \"701\", name: Site 701, country: USA,",
       "{id: \"701\", name: Site 701, country: USA, zz_probe: 1,"},
      {"/properties/sites/items/properties/investigator", "investigator: {given: Ada,",
       "investigator: {zz_probe: 1, given: Ada,"},
      {"/$defs/codes/items/oneOf/1", "{code: M, label: Male}", "{code: M, label: Male, zz_probe: 1}"},
      {"/properties/visits/items", "{id: SCREENING1, name:", "{zz_probe: 1, id: SCREENING1, name:"},
      {"/properties/visits/items/properties/window", "window: {before: 7, after: 3}",
       "window: {before: 7, after: 3, zz_probe: 1}"},
      {"/$defs/itemRef", "anchor: {form: RAND, item: RANDDT}", "anchor: {form: RAND, item: RANDDT, zz_probe: 1}"},
      {"/properties/forms/items", "  - id: SV\n    name: Visit", "  - id: SV\n    zz_probe: 1\n    name: Visit"},
      {"/properties/forms/items/properties/groups/items",
       "      - id: SV\n        items:", "      - id: SV\n        zz_probe: 1\n        items:"},
      {"/$defs/item", "{id: SVSTDTC, label: Visit date, type: date, required: true}",
       "{id: SVSTDTC, label: Visit date, type: date, required: true, zz_probe: 1}"},
      {"/$defs/check", "{id: SV01, condition:", "{zz_probe: 1, id: SV01, condition:"},
      {"/$defs/range", "hard_range: {min: 0, max: 30}", "hard_range: {min: 0, max: 30, zz_probe: 1}"},
      {"/properties/eligibility/items", "{id: INCL01, kind: inclusion,", "{zz_probe: 1, id: INCL01, kind: inclusion,"},
      {"/properties/sdv_plan", "sdv_plan:\n", "sdv_plan:\n  zz_probe: 1\n"},
      {"/properties/sdv_plan/properties/sample", "  sample:\n", "  sample:\n    zz_probe: 1\n"},
      {"/properties/visit_date", "visit_date: {form: SV,", "visit_date: {zz_probe: 1, form: SV,"},
      {"/properties/subject_numbering", "subject_numbering: {", "subject_numbering: {zz_probe: 1, "},
      {"/properties/safety", "safety:\n", "safety:\n  zz_probe: 1\n"},
      {"/properties/safety/properties/adverse_events", "  adverse_events:\n", "  adverse_events:\n    zz_probe: 1\n"},
      {"/properties/safety/properties/sender", "  sender:\n", "  sender:\n    zz_probe: 1\n"},
      {"/properties/safety/properties/sender/properties/contact", "contact: {title: Dr.,",
       "contact: {zz_probe: 1, title: Dr.,"},
      {"/properties/safety/properties/sender/properties/address",
       "address: {street:", "address: {zz_probe: 1, street:"},
      {"/properties/safety/properties/patient", "patient: {sex:", "patient: {zz_probe: 1, sex:"},
      {"/properties/safety/properties/unblinded_contacts/items", "- {name: Uma Statistician,",
       "- {zz_probe: 1, name: Uma Statistician,"},
      {"/properties/safety/properties/reference_safety_information", "  reference_safety_information:\n",
       "  reference_safety_information:\n    zz_probe: 1\n"},
  };
  for (const Probe& p : probes) {
    SCOPED_TRACE(p.pointer);
    std::string text = demo;
    size_t at = text.find(p.from);
    ASSERT_NE(at, std::string::npos) << p.from;
    text.replace(at, std::strlen(p.from), p.to);
    std::vector<StudyError> errors;
    ASSERT_FALSE(LoadStudy(text, "probe.yaml", &errors).ok());
    std::string message;
    for (const auto& e : errors) {
      if (e.message.find("unknown key 'zz_probe'") != std::string::npos) message = e.message;
    }
    ASSERT_FALSE(message.empty()) << errors.front().ToString();
    std::string list = message.substr(message.find("(allowed: ") + 10);
    list.pop_back();
    std::set<std::string> loader;
    std::stringstream ss(list);
    for (std::string key; std::getline(ss, key, ',');) loader.insert(key.substr(key.find_first_not_of(' ')));
    const nlohmann::json& node = schema.at(nlohmann::json::json_pointer(p.pointer));
    EXPECT_EQ(node.at("additionalProperties"), false);
    std::set<std::string> declared;
    for (const auto& [key, value] : node.at("properties").items()) declared.insert(key);
    EXPECT_EQ(loader, declared);
  }
}

}  // namespace
}  // namespace trialcore::study

namespace trialcore::study {
namespace {

TEST(FormatBound, GivesPlainDecimalTextThatReadsBackExactly) {
  EXPECT_EQ(FormatBound(35.5), "35.5");
  EXPECT_EQ(FormatBound(160), "160");
  EXPECT_EQ(FormatBound(-2.25), "-2.25");
  EXPECT_EQ(FormatBound(0.00001), "0.00001");
  EXPECT_EQ(FormatBound(1e-7), "0.0000001");
  EXPECT_EQ(FormatBound(-0.0), "0");
  for (double d : {35.5, 0.1, 1e-7, 123456.789, -0.3}) {
    std::string text = FormatBound(d);
    EXPECT_TRUE(trialcore::Decimal::Parse(text).ok()) << text;  // the API sends bounds as decimals
    EXPECT_EQ(std::stod(text), d) << text;
  }
}

}  // namespace
}  // namespace trialcore::study

// Issue 15, point 10: the SDV plan names forms, items, sites and risk levels
// the study has, each mistake with its place; the sample is reproducible.
namespace trialcore::study {
namespace {

TEST(SdvPlan, MistakesAreNamedWithTheirPlace) {
  const Mistake mistakes[] = {
      {"always: [COG, AE, DS, IC]", "always: [COG, AEX, DS, IC]",
       "sdv_plan always names 'AEX', but the study has no form AEX"},
      {"always: [COG, AE, DS, IC]", "always: [COG.ADAZ]", "form COG has no item ADAZ"},
      {"site_risk: {\"701\": high,", "site_risk: {\"799\": high,",
       "site_risk names site '799', which is not one of the study's sites"},
      {"\"705\": low,", "\"705\": lowest,",
       "unknown risk level 'lowest' (sdv_plan sample percent has: high, low, medium)"},
      {"percent: {high: 100,", "percent: {high: 101,", "the percent for risk 'high' must be from 0 to 100"},
      {"    default_risk: medium\n", "", "sdv_plan sample needs 'default_risk'"},
  };
  // Every error is placed on a line of the plan, near the end of the file.
  ExpectMistakesNamed(ReadFile(kDemo), mistakes, 300);
}

TEST(SdvPlan, TheSampleFollowsTheSiteRiskAndIsReproducible) {
  std::vector<StudyError> errors;
  auto loaded = LoadStudyFile(kDemo, &errors);
  ASSERT_TRUE(loaded.ok()) << Errors(errors);
  const SdvPlan& plan = (*loaded)->sdv_plan;
  ASSERT_TRUE(plan.declared);
  EXPECT_EQ(plan.PercentAt("701"), 100);  // high
  EXPECT_EQ(plan.PercentAt("702"), 50);   // the default, medium
  EXPECT_EQ(plan.PercentAt("705"), 20);   // low
  auto again = LoadStudyFile(kDemo, &errors).value();
  int sampled_702 = 0, sampled_705 = 0, moved_by_seed = 0;
  SdvPlan reseeded = plan;
  reseeded.seed = "another seed";
  for (int i = 0; i < 2000; ++i) {
    const std::string subject = "70X-" + std::to_string(1000 + i);
    EXPECT_TRUE(plan.Sampled("701", subject));
    sampled_702 += plan.Sampled("702", subject);
    sampled_705 += plan.Sampled("705", subject);
    EXPECT_EQ(plan.Sampled("705", subject), again->sdv_plan.Sampled("705", subject)) << "the same on every load";
    moved_by_seed += plan.Sampled("702", subject) != reseeded.Sampled("702", subject);
  }
  // Shares near the percents (binomial, n = 2000: these bounds are over 5 sigma wide).
  EXPECT_NEAR(sampled_702, 1000, 150);
  EXPECT_NEAR(sampled_705, 400, 120);
  EXPECT_GT(moved_by_seed, 500) << "the seed decides the draw";
  // A subject at a low-risk site outside the sample still has its always-verified data verified.
  EXPECT_TRUE(plan.Requires("COG", "ADAS", false));
  EXPECT_TRUE(plan.Requires("AE", "AETERM", false));
  EXPECT_FALSE(plan.Requires("VS", "SYSBP", false));
  EXPECT_TRUE(plan.Requires("VS", "SYSBP", true));
  // Without a plan, everything is to be verified on everyone.
  SdvPlan none;
  EXPECT_TRUE(none.Sampled("705", "705-1001"));
  EXPECT_TRUE(none.Requires("VS", "SYSBP", false));
}

}  // namespace
}  // namespace trialcore::study

// Issue 16: the safety section names a repeating group's items of the right
// types, each mistake with its place.
namespace trialcore::study {
namespace {

TEST(Safety, TheDemoMapsItsAdverseEventLog) {
  std::vector<StudyError> errors;
  auto loaded = LoadStudyFile(kDemo, &errors);
  ASSERT_TRUE(loaded.ok()) << Errors(errors);
  const SafetySettings& s = (*loaded)->safety;
  EXPECT_TRUE(s.declared);
  EXPECT_EQ(s.adverse_events.form, "AE");
  EXPECT_EQ(s.adverse_events.group, "AE");
  EXPECT_EQ(s.adverse_events.serious, "AESER");
  EXPECT_EQ(s.adverse_events.criteria.at("death"), "AESDTH");
  EXPECT_EQ(s.suspect_product, "Xanomeline TTS");
  EXPECT_EQ(s.destinations, (std::vector<std::string>{"FDA", "EU"}));
  EXPECT_EQ(s.utc_offset_minutes, 0);
  ASSERT_EQ(s.unblinded_contacts.size(), 2u);
  EXPECT_EQ(s.unblinded_contacts[0].name, "Uma Statistician");
  EXPECT_EQ(s.unblinded_contacts[0].email, "unblinded.stats@example.org");
  EXPECT_EQ(s.unblinded_contacts[0].role, "unblinded statistician");
  EXPECT_EQ(s.unblinded_contacts[1].role, "DSMB chair");
}

// Point 6: who is told of an unblinding; each contact's mistake with its
// place, since a wrong address would only show when a case is unblinded.
TEST(Safety, UnblindedContactMistakesAreNamedWithTheirPlace) {
  const std::string demo = ReadFile(kDemo);
  const std::string first =
      "{name: Uma Statistician, email: unblinded.stats@example.org, role: unblinded statistician}";
  const Mistake mistakes[] = {
      {"email: unblinded.stats@example.org", "email: unblinded.stats.example.org",
       "'email' of safety unblinded contact 1 'unblinded.stats.example.org' is not an e-mail address (name@domain)"},
      {"email: dsmb.chair@example.org", "email: \"dsmb chair@example.org\"",
       "'email' of safety unblinded contact 2 'dsmb chair@example.org' is not an e-mail address"},
      {"email: dsmb.chair@example.org", "email: unblinded.stats@example.org",
       "'email' of safety unblinded contact 2 'unblinded.stats@example.org' is listed twice"},
      {first, "{name: Uma Statistician, email: unblinded.stats@example.org}",
       "safety unblinded contact 1 needs 'role'"},
      {first, "{email: unblinded.stats@example.org, role: x}", "safety unblinded contact 1 needs 'name'"},
      {first, "{name: Uma, email: a@example.org, role: x, phone: 1}",
       "unknown key 'phone' in safety unblinded contact 1 (allowed: name, email, role)"},
      {"  unblinded_contacts:\n    - " + first +
           "\n    - {name: Dana Chair, email: dsmb.chair@example.org, role: DSMB chair}\n",
       "  unblinded_contacts: stats@example.org\n",
       "'unblinded_contacts' of safety must be a list of {name, email, role}"},
  };
  ExpectMistakesNamed(demo, mistakes, 390);
}

TEST(Safety, MistakesAreNamedWithTheirPlace) {
  const std::string demo = ReadFile(kDemo);
  const Mistake mistakes[] = {
      {"    form: AE\n    term", "    form: AEX\n    term",
       "safety adverse_events names form AEX, which the study lacks"},
      {"    term: AETERM", "    term: AEDECOD", "safety adverse_events term names item AEDECOD, which form AE lacks"},
      {"    onset: AESTDTC", "    onset: AESEV",
       "safety adverse_events onset AESEV is choice; it must be date or partial_date"},
      {"criteria: {death: AESDTH,", "criteria: {dead: AESDTH,", "unknown seriousness criterion 'dead' (known: death,"},
      {"criteria: {death: AESDTH,", "criteria: {death: AEOUT,",
       "safety adverse_events criterion AEOUT is choice; it must be boolean"},
      {"utc_offset: \"+00:00\"", "utc_offset: \"+1\"", "'utc_offset' of safety: UTC offset \"+1\" is not Z or ±HH:MM"},
      {"destinations: [FDA, EU]", "destinations: [FDA, MHRA]", "unknown destination 'MHRA' (known: FDA, EU)"},
      {"  suspect_product: Xanomeline TTS\n", "", "safety needs 'suspect_product'"},
      // Cases are read by blinded roles: no item that reveals the arm.
      {"{id: AEOUT, label: Outcome, type: choice, codelist: OUT, required: true}",
       "{id: AEOUT, label: Outcome, type: choice, codelist: OUT, required: true, unblinded_only: true}",
       "safety adverse_events outcome AEOUT is unblinded_only"},
      // A group that does not repeat cannot hold a row per event.
      {"    form: AE\n    term: AETERM", "    form: SV\n    term: SVSTDTC",
       "term SVSTDTC must be in a repeating group"},
  };
  ExpectMistakesNamed(demo, mistakes, 300);
}

TEST(Safety, AnOffsetSetsTheSponsorsDay) {
  std::string text = ReadFile(kDemo);
  const std::string from = "utc_offset: \"+00:00\"";
  text.replace(text.find(from), from.size(), "utc_offset: \"-05:30\"");
  std::vector<StudyError> errors;
  auto loaded = LoadStudy(text, "safety.yaml", &errors);
  ASSERT_TRUE(loaded.ok()) << Errors(errors);
  EXPECT_EQ((*loaded)->safety.utc_offset_minutes, -330);
}

}  // namespace
}  // namespace trialcore::study

namespace trialcore::study {
namespace {

// Imported studies keep the OIDs of the system they came from (ODM), so data
// exchanged later map to them; a code list keeps its OID as {oid, codes}.
TEST(StudyOid, VisitsFormsGroupsItemsAndCodeListsKeepTheirOids) {
  const char* yaml = R"(study: {id: S1, title: T, version: "1"}
codelists:
  SEX: {oid: CL.SEX, codes: [{code: M, label: Male}, F]}
  NY: [Y, N]
anchor: {form: DM, item: VISDAT}
visit_date: {form: DM, item: VISDAT}
visits:
  - {id: SCR, oid: SE.SCREENING, name: Screening, day: 1, forms: [DM]}
forms:
  - id: DM
    oid: F.DM
    name: Demographics
    groups:
      - id: DM
        oid: IG.DM
        items:
          - {id: VISDAT, oid: I.VISDAT, label: Visit date, type: date}
          - {id: SEX, oid: IT.DM.SEX, label: Sex, type: choice, codelist: SEX}
)";
  std::vector<StudyError> errors;
  auto s = LoadStudy(yaml, "oid.yaml", &errors);
  ASSERT_TRUE(s.ok()) << (errors.empty() ? s.status().message() : errors.front().ToString());
  const Study& st = **s;
  EXPECT_EQ(st.visits.at(0).oid, "SE.SCREENING");
  EXPECT_EQ(st.forms.at(0).oid, "F.DM");
  EXPECT_EQ(st.forms.at(0).groups.at(0).oid, "IG.DM");
  EXPECT_EQ(st.forms.at(0).groups.at(0).items.at(1).oid, "IT.DM.SEX");
  ASSERT_NE(st.FindCodeList("SEX"), nullptr);
  EXPECT_EQ(st.FindCodeList("SEX")->oid, "CL.SEX");
  EXPECT_EQ(st.FindCodeList("SEX")->codes.size(), 2u);
  EXPECT_EQ(st.FindCodeList("NY")->oid, "");

  std::string bad = yaml;
  bad.replace(bad.find("codes: [{code"), 5, "kodes");
  EXPECT_FALSE(LoadStudy(bad, "oid.yaml", &errors).ok());
  std::string all;
  for (const auto& e : errors) all += e.ToString() + "\n";
  EXPECT_NE(all.find("unknown key 'kodes' in code list SEX (allowed: oid, codes)"), std::string::npos) << all;
  EXPECT_NE(all.find("code list SEX needs 'codes'"), std::string::npos) << all;
}

}  // namespace
}  // namespace trialcore::study
