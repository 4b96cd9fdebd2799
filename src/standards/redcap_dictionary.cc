// A REDCap dictionary to a study draft: the CSV is read whole (dictionaries
// are small) with each field's line kept, so that errors inside branching
// logic or calculations name the line and column where they are.
#include "standards/redcap_dictionary.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "standards/expression_translate.h"

namespace trialcore::standards {
namespace {

constexpr const char* kColumns[] = {"Variable / Field Name",
                                    "Form Name",
                                    "Section Header",
                                    "Field Type",
                                    "Field Label",
                                    "Choices, Calculations, OR Slider Labels",
                                    "Field Note",
                                    "Text Validation Type OR Show Slider Number",
                                    "Text Validation Min",
                                    "Text Validation Max",
                                    "Identifier?",
                                    "Branching Logic (Show field only if...)",
                                    "Required Field?",
                                    "Custom Alignment",
                                    "Question Number (surveys only)",
                                    "Matrix Group Name",
                                    "Matrix Ranking?",
                                    "Field Annotation"};
enum Column {
  kVariable,
  kForm,
  kSection,
  kType,
  kLabel,
  kChoices,
  kNote,
  kValidation,
  kMin,
  kMax,
  kIdentifier,
  kBranching,
  kRequired,
  kAlignment,
  kQuestionNumber,
  kMatrix,
  kMatrixRanking,
  kAnnotation,
  kColumnCount
};

struct CsvField {
  std::string value;
  int line = 0;  // where the field starts
};
struct CsvRecord {
  std::vector<CsvField> fields;
  int line = 0;
};

// RFC 4180: quoted fields may hold commas, "" and line breaks; CRLF or LF.
Result<std::vector<CsvRecord>> ParseCsv(std::string_view text, const std::string& source) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  std::vector<CsvRecord> records;
  size_t i = 0;
  int line = 1;
  while (i < text.size()) {
    CsvRecord rec;
    rec.line = line;
    while (true) {
      CsvField field;
      field.line = line;
      if (i < text.size() && text[i] == '"') {
        const int open_line = line;
        ++i;
        bool closed = false;
        while (i < text.size()) {
          char c = text[i];
          if (c == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field.value += '"';
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          if (c == '\n') ++line;
          if (c != '\r') field.value += c;
          ++i;
        }
        if (!closed) {
          return InvalidArgument(source + ":" + std::to_string(open_line) + ": a quoted field is never closed");
        }
        if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          return InvalidArgument(source + ":" + std::to_string(line) + ": text after the closing quote of a field");
        }
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') field.value += text[i++];
      }
      rec.fields.push_back(std::move(field));
      if (i < text.size() && text[i] == ',') {
        ++i;
        continue;
      }
      if (i < text.size() && text[i] == '\r') ++i;
      if (i < text.size() && text[i] == '\n') {
        ++i;
        ++line;
      }
      break;
    }
    const bool blank = rec.fields.size() == 1 && rec.fields[0].value.empty();
    if (!blank) records.push_back(std::move(rec));
  }
  return records;
}

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}
std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "1, Male | 2, Female" (a code, a comma, its label).
std::vector<study::Code> ParseChoices(const std::string& text) {
  std::vector<study::Code> codes;
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, '|');) {
    part = Trim(part);
    if (part.empty()) continue;
    size_t comma = part.find(',');
    study::Code code;
    code.code = Trim(part.substr(0, comma));
    code.label = comma == std::string::npos ? code.code : Trim(part.substr(comma + 1));
    codes.push_back(code);
  }
  return codes;
}

// REDCap's checkbox columns: field___code, the code lower-cased with
// anything but letters and digits as '_'.
std::string CheckboxColumn(const std::string& field, const std::string& code) {
  std::string out = field + "___";
  for (char c : code) {
    out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                                                       : '_';
  }
  return out;
}

struct FieldPlace {
  std::string form;
  study::ItemType type = study::ItemType::kText;
  std::vector<std::string> checkbox_codes;  // a checkbox field: its options
};

// An expression waiting for every field to be known.
struct PendingLogic {
  std::string form, group, item;
  bool derive = false;
  std::string text;
  int line = 0;  // where the CSV field holding it starts
  std::string field;
};

class DictionaryImporter {
 public:
  DictionaryImporter(std::string source, const RedcapImportOptions& options, ImportedStudy* out)
      : source_(std::move(source)), options_(options), out_(out), s_(out->study), report_(out->report) {}

  Status Run(const std::vector<CsvRecord>& records) {
    TC_RETURN_IF_ERROR(CheckHeader(records));
    for (size_t r = 1; r < records.size(); ++r) TC_RETURN_IF_ERROR(Row(records[r]));
    for (const auto& name : options_.repeating_forms) {
      auto it = std::find_if(s_.forms.begin(), s_.forms.end(), [&](const study::Form& f) { return f.oid == name; });
      if (it == s_.forms.end()) {
        return InvalidArgument(source_ + ": --repeating names form '" + name + "', which the dictionary lacks");
      }
      for (auto& g : it->groups) g.repeating = true;
    }
    Visits();
    TC_RETURN_IF_ERROR(Logic());
    for (const auto& [column, lines] : unused_columns_) {
      std::string list;
      for (size_t i = 0; i < lines.size() && i < 12; ++i) list += (i ? ", " : "") + std::to_string(lines[i]);
      if (lines.size() > 12) list += " … (" + std::to_string(lines.size()) + " fields)";
      report_.not_carried.push_back(
          {source_ + ":" + list, "\"" + column + "\"", "presentation or annotation; a study file has no place for it"});
    }
    return Status::Ok();
  }

 private:
  std::string At(int line, int column = 0) const {
    return source_ + ":" + std::to_string(line) + (column > 0 ? ":" + std::to_string(column) : "");
  }

  void NotCarried(int line, std::string what, std::string why) {
    report_.not_carried.push_back({At(line), std::move(what), std::move(why)});
  }

  Status CheckHeader(const std::vector<CsvRecord>& records) {
    if (records.empty()) return InvalidArgument(source_ + ": the dictionary is empty");
    const CsvRecord& header = records[0];
    for (size_t c = 0; c < kColumnCount; ++c) {
      if (c >= header.fields.size()) {
        return InvalidArgument(At(header.line) + ": the header lacks column " + std::to_string(c + 1) + " \"" +
                               kColumns[c] + "\"");
      }
      if (Lower(Trim(header.fields[c].value)) != Lower(kColumns[c])) {
        return InvalidArgument(At(header.line) + ": column " + std::to_string(c + 1) + " of the header is \"" +
                               header.fields[c].value + "\", not \"" + kColumns[c] + "\" (a REDCap data dictionary)");
      }
    }
    if (header.fields.size() > kColumnCount) {
      return InvalidArgument(At(header.line) + ": the header has " + std::to_string(header.fields.size()) +
                             " columns; a REDCap data dictionary has " + std::to_string(kColumnCount));
    }
    return Status::Ok();
  }

  study::Form& FormFor(const std::string& name, int line, Status* status) {
    if (!s_.forms.empty() && s_.forms.back().oid == name) return s_.forms.back();
    if (auto earlier = form_lines_.find(name); earlier != form_lines_.end()) {
      *status =
          InvalidArgument(At(line) + ": form " + name + " comes back after form " + s_.forms.back().oid +
                          "; a form's fields are together (first at line " + std::to_string(earlier->second) + ")");
      return s_.forms.back();
    }
    form_lines_[name] = line;
    study::Form form;
    form.oid = name;  // REDCap's own instrument name, for data imported later
    form.id = ids_.Make(name, "F");
    form.name = name;
    s_.forms.push_back(std::move(form));
    group_ids_ = IdMaker();
    item_ids_ = IdMaker();
    return s_.forms.back();
  }

  // The group a field goes to: a new one at a section header or when a
  // matrix starts or ends.
  study::ItemGroup& GroupFor(study::Form& form, const std::string& section, const std::string& matrix) {
    const bool fresh = form.groups.empty() || !section.empty() || matrix != current_matrix_;
    current_matrix_ = matrix;
    if (!fresh) return form.groups.back();
    study::ItemGroup g;
    g.id = group_ids_.Make(matrix.empty() ? form.id : matrix, "G");
    if (!matrix.empty()) g.oid = matrix;
    g.label = section;
    form.groups.push_back(std::move(g));
    return form.groups.back();
  }

  std::string CodeListFor(const std::string& field, const std::vector<study::Code>& codes) {
    // Dictionaries repeat "0, No | 1, Yes" on many fields: one list serves all.
    for (const auto& cl : s_.codelists) {
      if (cl.codes.size() != codes.size()) continue;
      bool same = true;
      for (size_t i = 0; i < codes.size() && same; ++i) {
        same = cl.codes[i].code == codes[i].code && cl.codes[i].label == codes[i].label;
      }
      if (same) return cl.id;
    }
    study::CodeList cl;
    cl.id = codelist_ids_.Make(field, "CL");
    cl.codes = codes;
    s_.codelists.push_back(cl);
    report_.CountOf("code lists").read++;
    return cl.id;
  }

  Status Row(const CsvRecord& rec) {
    if (rec.fields.size() != kColumnCount) {
      return InvalidArgument(At(rec.line) + ": the row has " + std::to_string(rec.fields.size()) + " fields; the " +
                             "header has " + std::to_string(kColumnCount));
    }
    auto value = [&](Column c) { return Trim(rec.fields[c].value); };
    const std::string name = value(kVariable);
    const std::string form_name = value(kForm);
    const std::string type = Lower(value(kType));
    if (name.empty()) return InvalidArgument(At(rec.line) + ": the row names no field (\"Variable / Field Name\")");
    if (form_name.empty()) return InvalidArgument(At(rec.line) + ": field " + name + " names no form");
    Status status;
    study::Form& form = FormFor(form_name, rec.line, &status);
    TC_RETURN_IF_ERROR(status);
    report_.CountOf("items").read++;

    for (Column c : {kNote, kAlignment, kQuestionNumber, kMatrixRanking, kAnnotation}) {
      if (!value(c).empty()) unused_columns_[kColumns[c]].push_back(rec.line);
    }
    if (type == "descriptive") {
      NotCarried(rec.line, "descriptive field " + name, "display text, not data");
      return Status::Ok();
    }
    study::ItemGroup& group = GroupFor(form, value(kSection), value(kMatrix));
    study::Item item;
    item.oid = name;
    item.id = item_ids_.Make(name, "I");
    item.label = value(kLabel);
    if (item.label.empty()) item.label = name;
    item.required = Lower(value(kRequired)) == "y";
    const std::string validation = Lower(value(kValidation));
    const std::string choices = rec.fields[kChoices].value;

    if (type == "text") {
      TextType(validation, rec.line, &item);
      if (!value(kMin).empty() || !value(kMax).empty()) Bounds(value(kMin), value(kMax), rec.line, form, &item);
    } else if (type == "notes") {
      item.type = study::ItemType::kText;
    } else if (type == "dropdown" || type == "radio") {
      auto codes = ParseChoices(choices);
      if (codes.empty())
        return InvalidArgument(At(rec.fields[kChoices].line) + ": " + type + " field " + name +
                               " lists no choices (\"1, Male | 2, Female\")");
      item.type = study::ItemType::kChoice;
      item.codelist = CodeListFor(name, codes);
    } else if (type == "yesno" || type == "truefalse") {
      item.type = study::ItemType::kBoolean;
    } else if (type == "checkbox") {
      auto codes = ParseChoices(choices);
      if (codes.empty())
        return InvalidArgument(At(rec.fields[kChoices].line) + ": checkbox field " + name +
                               " lists no choices (\"1, Male | 2, Female\")");
      // REDCap stores each option as its own 0/1 column, field___code.
      FieldPlace place{form.id, study::ItemType::kBoolean, {}};
      for (const auto& code : codes) {
        study::Item option = item;
        option.oid = CheckboxColumn(name, code.code);
        option.id = item_ids_.Make(option.oid, "I");
        option.label = item.label + ": " + code.label;
        option.type = study::ItemType::kBoolean;
        option.required = false;
        place.checkbox_codes.push_back(code.code);
        group.items.push_back(std::move(option));
      }
      if (item.required) {
        NotCarried(rec.line, "required checkbox " + name, "each option is its own yes/no item; none is required");
      }
      fields_[name] = place;
      if (!value(kBranching).empty()) {
        for (const auto& it : group.items) {
          if (it.oid.starts_with(name + "___")) {
            pending_.push_back(
                {form.id, group.id, it.id, false, rec.fields[kBranching].value, rec.fields[kBranching].line, name});
          }
        }
      }
      return Status::Ok();
    } else if (type == "calc") {
      item.type = study::ItemType::kDecimal;
      item.required = false;
      pending_.push_back({form.id, group.id, item.id, true, choices, rec.fields[kChoices].line, name});
    } else if (type == "slider") {
      // REDCap stores a slider's position, 0 to 100.
      item.type = study::ItemType::kInteger;
      item.hard_range = study::Range{0, 100};
      if (!Trim(choices).empty()) NotCarried(rec.line, "slider labels of " + name, "presentation");
    } else if (type == "file") {
      item.type = study::ItemType::kAttachment;
    } else if (type == "sql") {
      item.type = study::ItemType::kText;
      NotCarried(rec.line, "sql field " + name, "its choices come from a query of REDCap's database; imported as text");
    } else {
      return InvalidArgument(At(rec.line) + ": field " + name + " has unknown field type '" + value(kType) + "'");
    }
    if (Lower(value(kIdentifier)) == "y") Identifying(form, &item);
    if (!value(kBranching).empty()) {
      pending_.push_back(
          {form.id, group.id, item.id, false, rec.fields[kBranching].value, rec.fields[kBranching].line, name});
    }
    fields_[name] = FieldPlace{form.id, item.type, {}};
    group.items.push_back(std::move(item));
    return Status::Ok();
  }

  // Identifying fields (names, dates of birth, contact details): the
  // sponsor's and the safety side's roles do not see them; dates show their
  // year. Who enters the form sees them, so the form names its roles.
  void Identifying(study::Form& form, study::Item* item) {
    const bool dated = item->type == study::ItemType::kDate || item->type == study::ItemType::kDateTime;
    for (const char* role : {"sponsor_viewer", "data_manager", "medical_monitor", "safety_physician"}) {
      item->identifying[role] = dated ? study::Disclosure::kYearOnly : study::Disclosure::kHidden;
    }
    if (form.roles.empty()) form.roles = {"coordinator", "investigator"};
  }

  void TextType(const std::string& validation, int line, study::Item* item) {
    if (validation.empty()) {
      item->type = study::ItemType::kText;
    } else if (validation.starts_with("date_")) {
      item->type = study::ItemType::kDate;
    } else if (validation.starts_with("datetime_")) {
      item->type = study::ItemType::kDateTime;
    } else if (validation == "time") {
      item->type = study::ItemType::kTime;
    } else if (validation == "integer") {
      item->type = study::ItemType::kInteger;
    } else if (validation.starts_with("number")) {
      item->type = study::ItemType::kDecimal;
      // number_2dp, number_2dp_comma_decimal: two digits after the separator.
      if (validation.size() > 8 && std::isdigit(static_cast<unsigned char>(validation[7])) &&
          validation.substr(8, 2) == "dp") {
        item->precision = validation[7] - '0';
      }
      if (validation.find("comma_decimal") != std::string::npos) {
        out_->notes.push_back("field " + item->oid +
                              " is entered with a decimal comma in REDCap; trialcore keeps "
                              "decimals with a point");
      }
    } else {
      item->type = study::ItemType::kText;
      NotCarried(line, "validation " + validation + " of " + item->oid,
                 "the study file has no such format; the item is free text");
    }
  }

  // Validation min and max: one check read.
  void Bounds(const std::string& min, const std::string& max, int line, study::Form& form, study::Item* item) {
    report_.CountOf("checks").read++;
    const bool numeric = item->type == study::ItemType::kInteger || item->type == study::ItemType::kDecimal;
    if (numeric) {
      study::Range range;
      for (auto [text, bound] : {std::pair{&min, &range.min}, std::pair{&max, &range.max}}) {
        if (text->empty()) continue;
        char* end = nullptr;
        double v = std::strtod(text->c_str(), &end);
        if (end == text->c_str() || *end != '\0') {
          NotCarried(line, "validation bound '" + *text + "' of " + item->oid, "not a number");
          continue;
        }
        *bound = v;
      }
      if (range.min || range.max) item->hard_range = range;
      return;
    }
    if (item->type == study::ItemType::kDate) {
      // Ranges are for numbers; a date's bounds are a hard check.
      std::vector<std::string> parts;
      for (auto [text, op] : {std::pair{&min, ">="}, std::pair{&max, "<="}}) {
        if (text->empty()) continue;
        std::string bound = Lower(*text) == "today" ? "today()" : "date(" + RuleString(*text) + ")";
        parts.push_back(item->id + " " + op + " " + bound);
      }
      study::Check check;
      check.id = "RANGE_" + item->id;
      check.hard = true;
      check.item = item->id;
      check.message = item->label + ": the date must be" + (min.empty() ? "" : " on or after " + min) +
                      (!min.empty() && !max.empty() ? " and" : "") + (max.empty() ? "" : " on or before " + max);
      for (const auto& p : parts) check.condition += (check.condition.empty() ? "" : " and ") + p;
      form.checks.push_back(std::move(check));
      return;
    }
    NotCarried(line, "validation min/max of " + item->oid, "bounds apply to numbers and dates");
  }

  void Visits() {
    study::Visit v;
    v.id = ids_.Make("EVENT_1", "V");
    v.name = "Event 1";
    v.day = 1;
    for (const auto& f : s_.forms) v.forms.push_back(f.id);
    s_.visits.push_back(std::move(v));
    out_->notes.push_back("a data dictionary holds no events: one visit, " + s_.visits.back().id +
                          ", collects every form; add the project's events as visits");
  }

  Result<RuleRef> Resolve(const ExprNode& ref, const std::string& from_form, int line) {
    std::vector<std::string> parts = ref.ref_parts;
    if (parts.size() == 2) {
      // [event][field]: the dictionary has no events to name.
      if (!qualified_events_.contains(parts[0])) {
        qualified_events_.insert(parts[0]);
        NotCarried(line, "event qualifier [" + parts[0] + "]",
                   "the dictionary holds no events; the field is read at the same visit, else its latest value");
      }
      parts.erase(parts.begin());
    }
    if (parts.size() != 1) return InvalidArgument("a reference is [field] or [event][field]");
    std::string field = parts[0];
    std::string code;
    if (size_t open = field.find('('); open != std::string::npos && field.back() == ')') {
      code = field.substr(open + 1, field.size() - open - 2);
      field = field.substr(0, open);
    }
    if (field.find(':') != std::string::npos || field.find('-') != std::string::npos) {
      return InvalidArgument("[" + parts[0] + "] is a smart variable or piping, which has no translation");
    }
    auto it = fields_.find(field);
    if (it == fields_.end()) return NotFound("[" + field + "] is not a field of the dictionary");
    const FieldPlace& place = it->second;
    std::string item = field;
    ValueKind kind = ValueKindOf(place.type);
    if (!place.checkbox_codes.empty()) {
      if (code.empty())
        return InvalidArgument("checkbox [" + field + "] is read one option at a time: [" + field + "(CODE)]");
      if (std::find(place.checkbox_codes.begin(), place.checkbox_codes.end(), code) == place.checkbox_codes.end()) {
        return NotFound("checkbox " + field + " has no option " + code);
      }
      item = CheckboxColumn(field, code);
      kind = ValueKind::kBoolean;
    } else if (!code.empty()) {
      return InvalidArgument("[" + field + "(" + code + ")] reads an option, but " + field + " is not a checkbox");
    }
    // Ids are the field names made safe; find the item's id in its form.
    std::string id = item;
    for (const auto& f : s_.forms) {
      if (f.id != place.form) continue;
      for (const auto& g : f.groups) {
        for (const auto& i : g.items) {
          if (i.oid == item) id = i.id;
        }
      }
    }
    return RuleRef{place.form == from_form ? id : place.form + "." + id, kind};
  }

  study::Item* FindItem(const std::string& form, const std::string& item) {
    for (auto& f : s_.forms) {
      if (f.id != form) continue;
      for (auto& g : f.groups) {
        for (auto& i : g.items) {
          if (i.id == item) return &i;
        }
      }
    }
    return nullptr;
  }

  Status Logic() {
    std::vector<std::string> errors;
    for (const PendingLogic& p : pending_) {
      TranslateError error;
      int ref_line = p.line;
      auto resolve = [&](const ExprNode& ref) { return Resolve(ref, p.form, ref_line); };
      std::string rule = TranslateExpression(p.text, ExpressionDialect::kRedcap, resolve, &error);
      study::Item* item = FindItem(p.form, p.item);
      if (rule.empty()) {
        auto [l, c] = LineAndColumn(p.text, error.offset);
        std::string what = (p.derive ? "calculation of " : "branching logic of ") + p.field;
        if (!options_.keep_going) {
          errors.push_back(At(p.line + l - 1, c) + ": " + error.message + " (in the " + what + ")");
        } else {
          report_.not_carried.push_back({At(p.line + l - 1, c), what + ": '" + p.text + "'", error.message});
        }
        continue;
      }
      if (item == nullptr) continue;
      if (p.derive) {
        item->derive = rule;
        report_.CountOf("methods").read++;
      } else {
        item->visible_if = rule;
        report_.CountOf("conditions").read++;
      }
      origins_[p.form + "." + p.item + (p.derive ? "/derive" : "/visible_if")] = {p.line, p.field, p.text};
    }
    if (!errors.empty()) {
      std::string all;
      for (const auto& e : errors) all += (all.empty() ? "" : "\n") + e;
      return InvalidArgument(all);
    }
    return Status::Ok();
  }

 public:
  struct Origin {
    int line = 0;
    std::string field, text;
  };
  const Origin* OriginOf(const RejectedExpression& r) const {
    auto it = origins_.find(r.form + "." + r.target + "/" + std::string(KindName(r.kind)));
    return it == origins_.end() ? nullptr : &it->second;
  }

 private:
  std::string source_;
  const RedcapImportOptions& options_;
  ImportedStudy* out_;
  study::Study& s_;
  TransferReport& report_;
  IdMaker ids_, group_ids_, item_ids_, codelist_ids_;
  std::string current_matrix_;
  std::map<std::string, int> form_lines_;
  std::map<std::string, FieldPlace> fields_;
  std::vector<PendingLogic> pending_;
  std::set<std::string> qualified_events_;
  std::map<std::string, std::vector<int>> unused_columns_;
  std::map<std::string, Origin> origins_;
};

// The dictionary's folder names the project (REDCap's exports are all
// called dictionary.csv or PROJECT_DataDictionary_DATE.csv).
std::string StudyIdOfFile(const std::string& source) {
  std::filesystem::path p(source);
  std::string name = p.has_parent_path() ? p.parent_path().filename().string() : p.stem().string();
  if (name.empty() || name == "." || name == "..") name = p.stem().string();
  return StudyIdFrom(name.empty() ? "REDCAP" : name);
}

}  // namespace

Result<ImportedStudy> ImportRedcapDictionaryText(std::string_view csv, const std::string& source,
                                                 const RedcapImportOptions& options) {
  TC_ASSIGN_OR_RETURN(std::vector<CsvRecord> records, ParseCsv(csv, source));
  ImportedStudy out;
  study::Study& s = out.study;
  if (!options.study_id.empty()) {
    if (std::string problem = StudyIdProblem(options.study_id); !problem.empty()) return InvalidArgument(problem);
  }
  s.id = options.study_id.empty() ? StudyIdOfFile(source) : options.study_id;
  s.title = s.id;
  s.version = "1";
  for (const char* what :
       {"visits", "forms", "item groups", "items", "code lists", "checks", "conditions", "methods"}) {
    out.report.CountOf(what);  // in the order every import reports them
  }
  DictionaryImporter importer(source, options, &out);
  TC_RETURN_IF_ERROR(importer.Run(records));
  // Every form and item of a dictionary is read as it is written: the counts
  // read are those of the draft, checkbox options aside.
  out.report.CountOf("visits").read = 0;
  out.report.CountOf("forms").read = s.forms.size();
  out.report.CountOf("item groups").read = 0;
  out.report.CountOf("code lists");
  out.report.CountOf("conditions");
  out.report.CountOf("methods");

  const std::string header = "Imported from the REDCap data dictionary " + source + " by trialcore import redcap.\n" +
                             "Each form's 'oid' is its REDCap instrument, each item's its REDCap variable.";
  TC_ASSIGN_OR_RETURN(FinishedStudy finished, FinishDraft(out.study, header));
  std::vector<std::string> errors;
  for (const auto& r : finished.rejected) {
    const auto* origin = importer.OriginOf(r);
    std::string where = origin ? source + ":" + std::to_string(origin->line) : std::string(KindName(r.kind));
    std::string what = std::string(r.kind == RejectedExpression::Kind::kDerive ? "calculation of " : "") +
                       (r.kind == RejectedExpression::Kind::kVisibleIf ? "branching logic of " : "") +
                       (r.kind == RejectedExpression::Kind::kCheck ? "check " : "") +
                       (origin ? origin->field : r.target);
    std::string why = "translates to '" + r.text + "', which does not compile: " + r.message;
    if (options.keep_going || r.kind == RejectedExpression::Kind::kCheck) {
      out.report.not_carried.push_back({where, what, why});
    } else {
      errors.push_back(where + ": " + what + " " + why);
    }
  }
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors) all += (all.empty() ? "" : "\n") + e;
    return InvalidArgument(all);
  }
  out.yaml = std::move(finished.yaml);
  out.study = std::move(finished.study);
  out.notes.insert(out.notes.end(), finished.notes.begin(), finished.notes.end());
  AddStructureCounts(out.study, &out.report);
  out.report.CountOf("item groups").read = out.report.CountOf("item groups").written;
  return out;
}

Result<ImportedStudy> ImportRedcapDictionary(const std::string& path, const RedcapImportOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ImportRedcapDictionaryText(ss.str(), path, options);
}

}  // namespace trialcore::standards
