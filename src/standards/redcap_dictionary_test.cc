// REDCap data dictionaries: the example projects, each field type's mapping,
// and every malformed input named by line (and column inside logic).
#include "standards/redcap_dictionary.h"

#include <gtest/gtest.h>

namespace trialcore::standards {
namespace {

const std::string kData = TRIALCORE_SHARED_DATA;
const std::string kHeader =
    "\"Variable / Field Name\",\"Form Name\",\"Section Header\",\"Field Type\",\"Field Label\",\"Choices, "
    "Calculations, OR Slider Labels\",\"Field Note\",\"Text Validation Type OR Show Slider Number\",\"Text "
    "Validation Min\",\"Text Validation Max\",Identifier?,\"Branching Logic (Show field only if...)\",\"Required "
    "Field?\",\"Custom Alignment\",\"Question Number (surveys only)\",\"Matrix Group Name\",\"Matrix Ranking?\","
    "\"Field Annotation\"\n";

// A row from its first columns; the rest empty.
std::string Row(std::vector<std::string> fields) {
  fields.resize(18);
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) out += (i ? "," : "") + fields[i];
  return out + "\n";
}

ImportedStudy Import(std::string_view csv, RedcapImportOptions options = {}) {
  auto imported = ImportRedcapDictionaryText(csv, "dictionary.csv", options);
  EXPECT_TRUE(imported.ok()) << imported.status().message();
  if (!imported.ok()) return {};
  std::vector<study::StudyError> errors;
  auto loaded = study::LoadStudy(imported->yaml, "out.yaml", &errors);
  EXPECT_TRUE(loaded.ok()) << (errors.empty() ? loaded.status().message() : errors.front().ToString()) << "\n"
                           << imported->yaml;
  return std::move(*imported);
}

std::string Error(std::string_view csv, RedcapImportOptions options = {}) {
  auto imported = ImportRedcapDictionaryText(csv, "dictionary.csv", options);
  EXPECT_FALSE(imported.ok());
  return imported.ok() ? "" : imported.status().message();
}

const study::Item* Item(const ImportedStudy& s, const std::string& form, const std::string& item,
                        const study::ItemGroup** group = nullptr) {
  const study::Form* f = s.study.FindForm(form);
  return f ? f->FindItem(item, group) : nullptr;
}

uint64_t Read(const ImportedStudy& s, const std::string& what) {
  for (const auto& c : s.report.counts) {
    if (c.what == what) return c.read;
  }
  return 9999;
}

TEST(RedcapDictionary, EveryExampleImportsIntoAStudyThatLoads) {
  for (const char* project : {"checkboxes-1", "dag", "decimal-comma-and-dot", "longitudinal"}) {
    SCOPED_TRACE(project);
    auto imported = ImportRedcapDictionary(kData + "/redcap/" + project + "/dictionary.csv");
    ASSERT_TRUE(imported.ok()) << imported.status().message();
    std::vector<study::StudyError> errors;
    auto loaded = study::LoadStudy(imported->yaml, "out.yaml", &errors);
    EXPECT_TRUE(loaded.ok()) << (errors.empty() ? loaded.status().message() : errors.front().ToString());
    EXPECT_EQ(imported->study.id, project);
  }
}

TEST(RedcapDictionary, LongitudinalFieldsFormsLogicAndCalculations) {
  auto imported = ImportRedcapDictionary(kData + "/redcap/longitudinal/dictionary.csv");
  ASSERT_TRUE(imported.ok()) << imported.status().message();
  const ImportedStudy& s = *imported;
  EXPECT_EQ(Read(s, "items"), 95u);  // one row per field
  EXPECT_EQ(Read(s, "forms"), 9u);
  EXPECT_EQ(Read(s, "conditions"), 2u);
  EXPECT_EQ(Read(s, "methods"), 2u);
  EXPECT_EQ(Item(s, "demographics", "num_children")->visible_if, "(sex = \"0\") and (given_birth = true)");
  EXPECT_EQ(Item(s, "demographics", "num_children")->hard_range->min, 0);
  EXPECT_EQ(Item(s, "demographics", "bmi")->derive, "round((weight * 10000) / ((height * height)), 1)");
  EXPECT_EQ(Item(s, "demographics", "given_birth")->type, study::ItemType::kBoolean);
  EXPECT_EQ(Item(s, "demographics", "ethnicity")->type, study::ItemType::kChoice);
  EXPECT_EQ(Item(s, "demographics", "height")->hard_range->max, 215);
  EXPECT_EQ(Item(s, "demographics", "dob")->type, study::ItemType::kDate);
  EXPECT_EQ(Item(s, "demographics", "patient_document")->type, study::ItemType::kAttachment);
  EXPECT_EQ(Item(s, "demographics", "specify_mood")->hard_range->max, 100);  // a slider
  // Identifier? y: hidden from the sponsor's and safety roles, the year of a date.
  EXPECT_EQ(Item(s, "demographics", "first_name")->identifying.at("sponsor_viewer"), study::Disclosure::kHidden);
  EXPECT_EQ(Item(s, "demographics", "dob")->identifying.at("sponsor_viewer"), study::Disclosure::kYearOnly);
  // Checkboxes: an option a yes/no item, as REDCap stores field___code.
  const study::ItemGroup* group = nullptr;
  const study::Item* monday = Item(s, "demographics", "gym___0", &group);
  ASSERT_NE(monday, nullptr);
  EXPECT_EQ(monday->type, study::ItemType::kBoolean);
  EXPECT_EQ(monday->label, "Gym (Weight Training): Monday");
  // The matrix weekly_schedule is a group of its own.
  EXPECT_EQ(group->id, "weekly_schedule");
  EXPECT_EQ(group->oid, "weekly_schedule");
  EXPECT_EQ(s.study.FindForm("demographics")->oid, "demographics");
}

TEST(RedcapDictionary, DagCalculationWithDatediff) {
  auto imported = ImportRedcapDictionary(kData + "/redcap/dag/dictionary.csv");
  ASSERT_TRUE(imported.ok()) << imported.status().message();
  EXPECT_EQ(Item(*imported, "demographics", "age")->derive, "floor((days(today() - dob) / 365.2425))");
}

TEST(RedcapDictionary, DecimalCommaAndPrecision) {
  auto imported = ImportRedcapDictionary(kData + "/redcap/decimal-comma-and-dot/dictionary.csv");
  ASSERT_TRUE(imported.ok()) << imported.status().message();
  const study::Item* comma = Item(*imported, "demographics", "weight_comma");
  EXPECT_EQ(comma->type, study::ItemType::kDecimal);
  EXPECT_EQ(comma->hard_range->min, 35);
  std::string csv =
      kHeader + Row({"id", "f", "", "text", "Id"}) + Row({"temp", "f", "", "text", "T", "", "", "number_1dp"});
  EXPECT_EQ(Item(Import(csv), "f", "temp")->precision, 1);
}

TEST(RedcapDictionary, BomCrlfQuotedNewlinesAndDateBounds) {
  std::string csv = "\xEF\xBB\xBF" + kHeader + Row({"id", "f", "", "text", "Id"}) +
                    Row({"visit", "f", "", "text", "\"Visit\ndate, \"\"first\"\"\"", "", "", "date_ymd", "2020-01-01",
                         "today", "", "", "y"});
  for (char& c : csv) {
    if (c == '\n') c = '\n';
  }
  std::string crlf;
  for (char c : csv) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  ImportedStudy s = Import(crlf);
  const study::Item* visit = Item(s, "f", "visit");
  ASSERT_NE(visit, nullptr);
  EXPECT_EQ(visit->label, "Visit\ndate, \"first\"");
  EXPECT_TRUE(visit->required);
  ASSERT_EQ(s.study.FindForm("f")->checks.size(), 1u);
  EXPECT_EQ(s.study.FindForm("f")->checks[0].condition, "visit >= date(\"2020-01-01\") and visit <= today()");
}

TEST(RedcapDictionary, RepeatingInstrumentsAreNamedByTheUser) {
  std::string csv = kHeader + Row({"id", "base", "", "text", "Id"}) + Row({"aeterm", "ae", "", "text", "Term"});
  RedcapImportOptions options;
  options.repeating_forms = {"ae"};
  ImportedStudy s = Import(csv, options);
  EXPECT_TRUE(s.study.FindForm("ae")->groups.at(0).repeating);
  EXPECT_FALSE(s.study.FindForm("base")->groups.at(0).repeating);
  options.study_id = "trialcore-x";
  EXPECT_EQ(Error(csv, options), "study id 'trialcore-x' begins with 'trialcore-'");
  options.study_id = "";
  options.repeating_forms = {"nosuch"};
  EXPECT_EQ(Error(csv, options), "dictionary.csv: --repeating names form 'nosuch', which the dictionary lacks");
}

TEST(RedcapDictionary, MissingOrRenamedColumnIsNamedByLine) {
  std::string missing = kHeader;
  missing.erase(missing.find(",\"Field Annotation\""));
  missing += "\n" + Row({"id", "f", "", "text", "Id"});
  EXPECT_EQ(Error(missing), "dictionary.csv:1: the header lacks column 18 \"Field Annotation\"");
  std::string renamed = kHeader;
  renamed.replace(renamed.find("Form Name"), 9, "Instrument");
  EXPECT_EQ(Error(renamed + Row({"id", "f", "", "text", "Id"})),
            "dictionary.csv:1: column 2 of the header is \"Instrument\", not \"Form Name\" (a REDCap data dictionary)");
}

TEST(RedcapDictionary, MalformedRowsAreNamedByLine) {
  std::string csv = kHeader + Row({"id", "f", "", "text", "Id"}) + "age,f,,text,Age\n";
  EXPECT_EQ(Error(csv), "dictionary.csv:3: the row has 5 fields; the header has 18");
  csv = kHeader + Row({"id", "f", "", "text", "Id"}) + Row({"x", "g", "", "text", "X"}) +
        Row({"y", "f", "", "text", "Y"});
  EXPECT_EQ(Error(csv),
            "dictionary.csv:4: form f comes back after form g; a form's fields are together (first at "
            "line 2)");
  csv = kHeader + Row({"id", "f", "", "colour", "Id"});
  EXPECT_EQ(Error(csv), "dictionary.csv:2: field id has unknown field type 'colour'");
  csv = kHeader + Row({"id", "f", "", "text", "\"Id"});
  EXPECT_EQ(Error(csv), "dictionary.csv:2: a quoted field is never closed");
}

TEST(RedcapDictionary, LogicThatDoesNotTranslateIsAnErrorAtItsLineAndColumn) {
  // The row starts on line 3 with a label of two lines, so the logic starts
  // on line 4; the error is on the logic's second line, column 5.
  std::string csv =
      kHeader + Row({"age", "f", "", "text", "Age", "", "", "integer"}) +
      Row({"x", "f", "", "text", "\"Two\nlines\"", "", "", "", "", "", "", "\"[age] > 1\nand sqrt([age]) > 2\""});
  EXPECT_EQ(Error(csv),
            "dictionary.csv:5:5: unknown function sqrt() (translated: round, rounddown, roundup, abs, min, max, sum, "
            "mean, if, datediff) (in the branching logic of x)");

  RedcapImportOptions keep_going;
  keep_going.keep_going = true;
  ImportedStudy s = Import(csv, keep_going);
  EXPECT_EQ(Item(s, "f", "x")->visible_if, "");
  ASSERT_FALSE(s.report.not_carried.empty());
  EXPECT_EQ(s.report.not_carried.back().where, "dictionary.csv:5:5");

  // A calculation, and a reference that is not a field.
  csv = kHeader + Row({"a", "f", "", "calc", "A", "\"[nosuch] * 2\""});
  EXPECT_EQ(Error(csv), "dictionary.csv:2:1: [nosuch] is not a field of the dictionary (in the calculation of a)");
}

TEST(RedcapDictionary, LogicThatTranslatesButDoesNotTypeCheckIsAnError) {
  // A date field compared with a number.
  std::string csv = kHeader + Row({"d", "f", "", "text", "D", "", "", "date_ymd"}) +
                    Row({"x", "f", "", "text", "X", "", "", "", "", "", "", "\"datediff([d], [d], 'd') > [d]\""});
  std::string error = Error(csv);
  EXPECT_NE(error.find("dictionary.csv:3: branching logic of x translates to"), std::string::npos) << error;
  EXPECT_NE(error.find("which does not compile"), std::string::npos) << error;
}

TEST(RedcapDictionary, ChoicesBecomeSharedCodeLists) {
  std::string csv = kHeader + Row({"a", "f", "", "radio", "A", "\"0, No | 1, Yes\""}) +
                    Row({"b", "f", "", "dropdown", "B", "\"0, No | 1, Yes\""}) +
                    Row({"c", "f", "", "checkbox", "C", "\"1, one|2, two\"", "", "", "", "", "", "[c(2)] = '1'"}) +
                    Row({"d", "f", "", "descriptive", "Read this"});
  ImportedStudy s = Import(csv);
  EXPECT_EQ(s.study.codelists.size(), 1u);
  EXPECT_EQ(Item(s, "f", "b")->codelist, "a");
  EXPECT_EQ(Item(s, "f", "c___1")->visible_if, "c___2 = true");
  EXPECT_EQ(Item(s, "f", "d"), nullptr);
  EXPECT_EQ(s.report.not_carried.at(0).what, "descriptive field d");
}

}  // namespace
}  // namespace trialcore::standards
