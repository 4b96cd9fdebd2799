#include "standards/sdtm_export.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include "capture/blinding.h"
#include "capture/privacy.h"
#include "capture/reads.h"
#include "core/event.h"
#include "standards/dataset_json.h"
#include "standards/define_xml.h"
#include "standards/xpt_writer.h"

namespace trialcore::standards {

namespace {

using capture::FormState;
using capture::ItemState;
using capture::RowState;
using capture::SubjectState;

// Days since 1970-01-01 of an ISO 8601 date's first ten characters, or
// nothing when the value is not a full date (SDTM gives partial dates no
// study day).
std::optional<int64_t> DayNumber(std::string_view text) {
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int y = 0, m = 0, d = 0;
  if (std::from_chars(text.data(), text.data() + 4, y).ec != std::errc() ||
      std::from_chars(text.data() + 5, text.data() + 7, m).ec != std::errc() ||
      std::from_chars(text.data() + 8, text.data() + 10, d).ec != std::errc() || m < 1 || m > 12 || d < 1 || d > 31) {
    return std::nullopt;
  }
  // Howard Hinnant's days_from_civil.
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
}

// SDTM's study day: day 1 is the reference start; the day before is -1.
std::optional<int64_t> StudyDay(std::string_view date, std::string_view reference) {
  auto day = DayNumber(date), ref = DayNumber(reference);
  if (!day || !ref) return std::nullopt;
  return *day >= *ref ? *day - *ref + 1 : *day - *ref;
}

std::string ValueText(const trialcore::Value& value) {
  switch (value.kind()) {
    case trialcore::Value::Kind::kBool:
      return value.as_bool() ? "Y" : "N";
    case trialcore::Value::Kind::kInt:
      return std::to_string(value.as_int());
    case trialcore::Value::Kind::kDecimal:
      return value.as_decimal().text();
    case trialcore::Value::Kind::kString:
      return value.as_string();
    case trialcore::Value::Kind::kArray: {
      std::string out;
      for (const auto& v : value.as_array()) out += (out.empty() ? "" : ", ") + ValueText(v);
      return out;
    }
    default:
      return "";
  }
}

struct VisitRef {
  std::string instance;  // "AEFU#2"
  const study::Visit* visit = nullptr;
  int occurrence = 1;
  double number = 0;
  const capture::VisitState* state = nullptr;
};

// A value of one row as the export works it out, owned until the row is
// handed to its writer as Cells.
struct Field {
  bool missing = true;
  bool numeric = false;
  std::string text;
  double number = 0;
};

// A domain's writers (its own and its SUPP--) while the export runs.
struct DomainOutput {
  const SdtmDomain& domain;
  std::unique_ptr<DatasetWriter> writer, supp_writer;
  DatasetDescription supp_dataset;
  uint64_t records = 0, supp_records = 0;
};

Status WriteRow(DatasetWriter& writer, const DatasetDescription& dataset, const std::vector<Field>& cells,
                const std::string& subject) {
  std::vector<Cell> values;
  values.reserve(cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    const Field& c = cells[i];
    if (c.missing) {
      values.push_back(Cell::Missing());
    } else if (dataset.variables[i].type() == VariableType::kNumeric) {
      if (c.numeric) {
        values.push_back(Cell::Number(c.number));
      } else {
        double parsed = 0;
        const auto r = std::from_chars(c.text.data(), c.text.data() + c.text.size(), parsed);
        if (r.ec != std::errc() || r.ptr != c.text.data() + c.text.size()) {
          return InvalidArgument(dataset.name + "." + dataset.variables[i].name + " of subject " + subject + ": \"" +
                                 c.text + "\" is not a number");
        }
        values.push_back(Cell::Number(parsed));
      }
    } else {
      values.push_back(Cell::Text(c.text));
    }
  }
  Status status = writer.Row(values);
  if (!status.ok()) return InvalidArgument("subject " + subject + ": " + status.message());
  return status;
}

class SubjectRows {
 public:
  SubjectRows(const study::Study& study, const SdtmMapping& mapping, const SdtmExportOptions& options,
              const std::string& study_id, const SubjectState& subject, uint64_t* withheld)
      : study_(study),
        mapping_(mapping),
        options_(options),
        study_id_(study_id),
        subject_(subject),
        withheld_(withheld),
        blinded_(std::any_of(options.roles.begin(), options.roles.end(),
                             [](const std::string& r) { return capture::BlindedRole(r); })) {
    for (const auto& [instance, state] : subject.visits) {
      auto found = study.FindVisitInstance(instance);
      if (!found.ok()) continue;
      visits_.push_back(
          {instance, found->visit, found->occurrence, VisitNumber(mapping, study, found->visit->id), &state});
    }
    std::sort(visits_.begin(), visits_.end(), [](const VisitRef& a, const VisitRef& b) {
      return std::tie(a.number, a.occurrence) < std::tie(b.number, b.occurrence);
    });
    if (!mapping.reference_start.form.empty()) {
      reference_ = FirstValue(mapping.reference_start.form, mapping.reference_start.item);
    }
    usubjid_ = Usubjid(mapping, study_id, subject.id, subject.site);
  }

  Status Write(DomainOutput& out) {
    const SdtmDomain& d = out.domain;
    int64_t seq = 0;
    auto record = [&](const VisitRef* visit, const FormState* form, const RowState* row, const SdtmTest* test) {
      ++seq;
      std::vector<Field> cells(d.variables.size());
      for (size_t i = 0; i < d.variables.size(); ++i) {
        cells[i] = FieldOf(d, d.variables[i], cells, visit, form, row, test, seq);
      }
      ++out.records;
      TC_RETURN_IF_ERROR(WriteRow(*out.writer, out.domain.dataset, cells, subject_.id));
      for (const auto& s : d.supp) {
        const ItemState* state = Find(s.item, form, row);
        Field value = Disclose(d.form, s.item, state);
        if (value.missing) continue;
        std::vector<Field> supp(out.supp_dataset.variables.size());
        auto set = [&](const char* name, std::string text) {
          const int at = out.supp_dataset.IndexOf(name);
          supp[static_cast<size_t>(at)] = Field{text.empty(), false, std::move(text), 0};
        };
        set("STUDYID", study_id_);
        set("RDOMAIN", d.domain);
        set("USUBJID", usubjid_);
        set("IDVAR", d.domain == "DM" ? "" : d.domain + "SEQ");
        set("IDVARVAL", d.domain == "DM" ? "" : std::to_string(seq));
        set("QNAM", s.qnam);
        set("QLABEL", s.qlabel);
        set("QVAL", value.text);
        set("QORIG", "CRF");
        ++out.supp_records;
        TC_RETURN_IF_ERROR(WriteRow(*out.supp_writer, out.supp_dataset, supp, subject_.id));
      }
      return Status::Ok();
    };
    if (d.domain == "DM") {
      const VisitRef* visit = nullptr;
      const FormState* form = nullptr;
      for (const auto& v : visits_) {
        if (auto f = v.state->forms.find(d.form); f != v.state->forms.end() && f->second.touched) {
          visit = &v;
          form = &f->second;
          break;
        }
      }
      return record(visit, form, nullptr, nullptr);
    }
    for (const auto& v : visits_) {
      const auto f = v.state->forms.find(d.form);
      if (f == v.state->forms.end() || !f->second.touched) continue;
      const FormState& form = f->second;
      std::vector<const RowState*> rows;
      if (!d.group.empty()) {
        if (auto g = form.rows.find(d.group); g != form.rows.end()) {
          for (const auto& [n, row] : g->second) {
            if (!row.removed) rows.push_back(&row);
          }
        }
      } else {
        rows.push_back(nullptr);
      }
      for (const RowState* row : rows) {
        if (!d.findings()) {
          TC_RETURN_IF_ERROR(record(&v, &form, row, nullptr));
          continue;
        }
        for (const auto& test : d.tests) {
          const ItemState* state = Find(test.item, &form, row);
          if (state == nullptr || (state->value.is_null() && state->not_done.empty())) continue;
          if (Disclose(d.form, test.item, state).missing && state->not_done.empty()) continue;
          TC_RETURN_IF_ERROR(record(&v, &form, row, &test));
        }
      }
    }
    return Status::Ok();
  }

 private:
  // An item of the record's own form: its row's value when the item is in
  // the row's group, else the form's.
  const ItemState* Find(const std::string& item, const FormState* form, const RowState* row) const {
    if (row != nullptr) {
      if (auto it = row->items.find(item); it != row->items.end()) return &it->second;
    }
    if (form == nullptr) return nullptr;
    if (auto it = form->items.find(item); it != form->items.end()) return &it->second;
    return nullptr;
  }

  const ItemState* FirstState(const std::string& form, const std::string& item) const {
    for (const auto& v : visits_) {
      const auto f = v.state->forms.find(form);
      if (f == v.state->forms.end()) continue;
      if (auto it = f->second.items.find(item); it != f->second.items.end() && !it->second.value.is_null()) {
        return &it->second;
      }
    }
    return nullptr;
  }

  std::string FirstValue(const std::string& form, const std::string& item) const {
    const ItemState* s = FirstState(form, item);
    return s ? ValueText(s->value) : "";
  }

  // The value as the export's roles may see it; missing when they may not.
  Field Disclose(const std::string& form_id, const std::string& item_id, const ItemState* state) {
    if (state == nullptr || state->value.is_null()) return {};
    if (blinded_ && capture::HiddenItem(study_, form_id, item_id)) {
      ++*withheld_;
      return {};
    }
    trialcore::Value value = state->value;
    if (!options_.roles.empty()) {
      const study::Form* form = study_.FindForm(form_id);
      const study::Item* item = form ? form->FindItem(item_id) : nullptr;
      if (item != nullptr) {
        const study::Disclosure disclosure = capture::DisclosureTo(*item, options_.roles);
        if (disclosure != study::Disclosure::kFull) {
          ++*withheld_;
          value = capture::Disclosed(value, disclosure);
          if (value.is_null()) return {};
        }
      }
    }
    Field c{false, false, ValueText(value), 0};
    if (value.kind() == trialcore::Value::Kind::kInt) {
      c.numeric = true;
      c.number = static_cast<double>(value.as_int());
    }
    return c;
  }

  static Field Text(std::string text) { return Field{text.empty(), false, std::move(text), 0}; }
  static Field Number(double n) { return Field{false, true, "", n}; }

  Field FieldOf(const SdtmDomain& d, const SdtmVariable& v, const std::vector<Field>& done, const VisitRef* visit,
                const FormState* form, const RowState* row, const SdtmTest* test, int64_t seq) {
    const std::string& p = d.domain;
    const SdtmSource& s = v.source;
    switch (s.kind) {
      case SdtmSource::Kind::kConstant:
        return Text(s.text);
      case SdtmSource::Kind::kItem: {
        if (!s.form.empty()) return Disclose(s.form, s.item, FirstState(s.form, s.item));
        return Disclose(d.form, s.item, Find(s.item, form, row));
      }
      case SdtmSource::Kind::kDecode: {
        const std::string form_id = s.form.empty() ? d.form : s.form;
        Field code = s.form.empty() ? Disclose(form_id, s.item, Find(s.item, form, row))
                                    : Disclose(form_id, s.item, FirstState(s.form, s.item));
        if (code.missing) return code;
        const study::Form* f = study_.FindForm(form_id);
        const study::Item* item = f ? f->FindItem(s.item) : nullptr;
        const study::CodeList* cl = item ? study_.FindCodeList(item->codelist) : nullptr;
        if (cl != nullptr) {
          for (const auto& c : cl->codes) {
            if (c.code == code.text) return Text(c.label.empty() ? c.code : c.label);
          }
        }
        return code;
      }
      case SdtmSource::Kind::kMeddra: {
        if (row == nullptr || !row->coding) return {};
        const capture::SafetyCoding& c = *row->coding;
        if (Disclose(d.form, s.item, Find(s.item, form, row)).missing) return {};
        if (s.text == "llt") return Text(c.llt_name);
        if (s.text == "pt") return Text(c.pt_name);
        if (s.text == "hlt") return Text(c.hlt_name);
        if (s.text == "hlgt") return Text(c.hlgt_name);
        if (s.text == "soc") return Text(c.soc_name);
        const uint32_t code = s.text == "lltcd"    ? c.llt
                              : s.text == "ptcd"   ? c.pt
                              : s.text == "hltcd"  ? c.hlt
                              : s.text == "hlgtcd" ? c.hlgt
                                                   : c.soc;
        return code == 0 ? Field{} : Text(std::to_string(code));
      }
      case SdtmSource::Kind::kStudyDay: {
        for (size_t i = 0; i < d.variables.size() && i < done.size(); ++i) {
          if (d.variables[i].variable.name != s.text) continue;
          if (done[i].missing) return {};
          auto day = StudyDay(done[i].text, reference_);
          return day ? Number(static_cast<double>(*day)) : Field{};
        }
        return {};
      }
      case SdtmSource::Kind::kStandard:
        break;
    }
    const std::string& name = s.text;
    if (name == "STUDYID") return Text(study_id_);
    if (name == "DOMAIN") return Text(d.domain);
    if (name == "USUBJID") return Text(usubjid_);
    if (name == "SUBJID") return Text(Subjid(subject_.id, subject_.site));
    if (name == "SITEID") return Text(subject_.site);
    if (name == p + "SEQ") return Number(static_cast<double>(seq));
    if (test != nullptr) {
      if (name == p + "TESTCD") return Text(test->testcd);
      if (name == p + "TEST") return Text(test->test);
      const ItemState* state = Find(test->item, form, row);
      const study::Form* f = study_.FindForm(d.form);
      const study::Item* item = f ? f->FindItem(test->item) : nullptr;
      if (name == p + "ORRES" || name == p + "STRESC") return Disclose(d.form, test->item, state);
      if (name == p + "ORRESU" || name == p + "STRESU") return Text(item ? item->unit : "");
      if (name == p + "STRESN") {
        Field value = Disclose(d.form, test->item, state);
        if (value.missing) return value;
        if (value.numeric) return value;
        double n = 0;
        const auto r = std::from_chars(value.text.data(), value.text.data() + value.text.size(), n);
        return r.ec == std::errc() && r.ptr == value.text.data() + value.text.size() ? Number(n) : Field{};
      }
    }
    if (visit != nullptr) {
      if (name == "VISITNUM") return Number(visit->number);
      if (name == "VISIT") {
        return Text(visit->occurrence > 1 ? visit->visit->name + " " + std::to_string(visit->occurrence)
                                          : visit->visit->name);
      }
      if (name == "VISITDY") {
        const auto days = study::PlannedDays(*visit->visit);
        const size_t at = static_cast<size_t>(visit->occurrence - 1);
        return at < days.size() ? Number(days[at]) : Field{};
      }
      if (name == p + "DTC") return Text(Dtc(d, *visit, form, row));
      if (name == p + "DY") {
        auto day = StudyDay(Dtc(d, *visit, form, row), reference_);
        return day ? Number(static_cast<double>(*day)) : Field{};
      }
    }
    return {};
  }

  std::string Dtc(const SdtmDomain& d, const VisitRef& visit, const FormState* form, const RowState* row) {
    if (!d.dtc_item.empty()) {
      if (const size_t dot = d.dtc_item.find('.'); dot != std::string::npos) {
        return FirstValue(d.dtc_item.substr(0, dot), d.dtc_item.substr(dot + 1));
      }
      const Field c = Disclose(d.form, d.dtc_item, Find(d.dtc_item, form, row));
      return c.missing ? "" : c.text;
    }
    const study::ItemRef& date = study_.visit_date;
    if (date.form.empty()) return "";
    const auto f = visit.state->forms.find(date.form);
    if (f == visit.state->forms.end()) return "";
    const auto it = f->second.items.find(date.item);
    return it == f->second.items.end() ? "" : ValueText(it->second.value);
  }

  const study::Study& study_;
  const SdtmMapping& mapping_;
  const SdtmExportOptions& options_;
  const std::string& study_id_;
  const SubjectState& subject_;
  uint64_t* withheld_;
  const bool blinded_;
  std::vector<VisitRef> visits_;
  std::string reference_;
  std::string usubjid_;
};

DatasetDescription SuppDataset(const SdtmDomain& d) {
  DatasetDescription s;
  s.name = "SUPP" + d.domain;
  s.label = "Supplemental Qualifiers for " + d.domain;
  s.dataset_class = "RELATIONSHIP";
  s.structure = "One record per supplemental qualifier per related parent domain record(s)";
  auto var = [&](const char* name, const char* label, int length) {
    Variable v;
    v.name = name;
    v.label = label;
    v.length = length;
    v.origin = "Assigned";
    s.variables.push_back(v);
  };
  var("STUDYID", "Study Identifier", 20);
  var("RDOMAIN", "Related Domain Abbreviation", 2);
  var("USUBJID", "Unique Subject Identifier", 40);
  var("IDVAR", "Identifying Variable", 8);
  var("IDVARVAL", "Identifying Variable Value", 20);
  var("QNAM", "Qualifier Variable Name", 8);
  var("QLABEL", "Qualifier Variable Label", 40);
  var("QVAL", "Data Value", 200);
  var("QORIG", "Origin", 8);
  var("QEVAL", "Evaluator", 20);
  return s;
}

std::string Extension(SdtmFormat format) {
  switch (format) {
    case SdtmFormat::kXpt:
      return ".xpt";
    case SdtmFormat::kJson:
      return ".json";
    case SdtmFormat::kNdjson:
      return ".ndjson";
  }
  return ".xpt";
}

}  // namespace

Result<SdtmFormat> ParseSdtmFormat(std::string_view name) {
  if (name == "xpt") return SdtmFormat::kXpt;
  if (name == "json") return SdtmFormat::kJson;
  if (name == "ndjson") return SdtmFormat::kNdjson;
  return InvalidArgument("unknown format \"" + std::string(name) + "\" (xpt, json or ndjson)");
}

Result<TransferReport> ExportSdtm(capture::Capture& capture, const SdtmMapping& mapping,
                                  const SdtmExportOptions& options, Env* env, const std::string& dir) {
  const study::Study& study = *capture.study();
  if (!mapping.declared) {
    return FailedPrecondition("study " + capture.study_id() +
                              " declares no sdtm mapping (the study file's 'sdtm' section, doc/standards.md)");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return InvalidArgument(dir + ": no such directory");
  std::vector<const SdtmDomain*> chosen;
  for (const auto& name : options.domains) {
    const auto it = std::find_if(mapping.domains.begin(), mapping.domains.end(),
                                 [&](const SdtmDomain& d) { return d.domain == name; });
    if (it == mapping.domains.end()) {
      std::string known;
      for (const auto& d : mapping.domains) known += (known.empty() ? "" : ", ") + d.domain;
      return InvalidArgument("the study maps no domain " + name + " (it maps " + known + ")");
    }
    chosen.push_back(&*it);
  }
  if (options.domains.empty()) {
    for (const auto& d : mapping.domains) chosen.push_back(&d);
  }

  const std::string study_oid = study.id;
  DatasetJsonFileInfo info;
  info.originator = study.sponsor;
  info.source_system_name = "trialcore";
  info.source_system_version = options.source_system_version;
  info.study_oid = study_oid;
  info.metadata_version_oid = "MDV." + study.version;
  info.metadata_ref = "define.xml";
  auto open = [&](const std::string& name) -> std::unique_ptr<DatasetWriter> {
    const std::string path = (std::filesystem::path(dir) / DatasetFileName(name, Extension(options.format))).string();
    if (options.format == SdtmFormat::kXpt) return NewXptWriter(env, path);
    DatasetJsonFileInfo file = info;
    file.file_oid = study_oid + "." + name;
    return NewDatasetJsonWriter(
        env, path, options.format == SdtmFormat::kJson ? DatasetJsonFormat::kJson : DatasetJsonFormat::kNdjson, file);
  };
  std::vector<std::unique_ptr<DomainOutput>> outputs;
  for (const SdtmDomain* d : chosen) {
    auto writer = open(d->domain);
    std::unique_ptr<DatasetWriter> supp;
    DatasetDescription supp_dataset;
    if (!d->supp.empty()) {
      supp_dataset = SuppDataset(*d);
      supp = open(supp_dataset.name);
    }
    auto out = std::make_unique<DomainOutput>(DomainOutput{*d, std::move(writer), std::move(supp), supp_dataset});
    TC_RETURN_IF_ERROR(out->writer->Begin(d->dataset));
    if (out->supp_writer) TC_RETURN_IF_ERROR(out->supp_writer->Begin(out->supp_dataset));
    outputs.push_back(std::move(out));
  }

  TC_ASSIGN_OR_RETURN(std::vector<std::string> subjects, capture::SubjectIds(capture.store(), capture.study_id()));
  uint64_t withheld = 0, written_subjects = 0, inactive = 0;
  size_t done = 0;
  for (const std::string& id : subjects) {
    Status status = Status::Ok();
    TC_RETURN_IF_ERROR(capture.ReadSubject(id, [&](const SubjectState& subject) {
      if (subject.inactive) {  // screened in error: not a study subject
        ++inactive;
        return;
      }
      if (!options.sites.empty() &&
          std::find(options.sites.begin(), options.sites.end(), subject.site) == options.sites.end()) {
        return;
      }
      ++written_subjects;
      SubjectRows rows(study, mapping, options, capture.study_id(), subject, &withheld);
      for (auto& out : outputs) {
        if (status.ok()) status = rows.Write(*out);
      }
    }));
    TC_RETURN_IF_ERROR(status);
    if (options.progress) options.progress(++done, subjects.size());
  }
  for (auto& out : outputs) {
    TC_RETURN_IF_ERROR(out->writer->End());
    if (out->supp_writer) TC_RETURN_IF_ERROR(out->supp_writer->End());
  }

  DefineDocument define;
  define.file_oid = study_oid + ".define";
  define.originator = study.sponsor;
  define.source_system = "trialcore";
  define.source_system_version = options.source_system_version;
  define.study_oid = study_oid;
  define.study_name = study.id;
  define.study_description = study.title;
  define.protocol_name = study.id;
  define.metadata_version_oid = "MDV." + study.version;
  define.metadata_version_name = study.id + " SDTM, study version " + study.version;
  DefineStandard ig;
  ig.version = mapping.ig_version;
  define.standards.push_back(ig);
  define.file_extension = Extension(options.format);
  for (const auto& out : outputs) {
    define.datasets.push_back(out->domain.dataset);
    if (out->supp_writer) define.datasets.push_back(out->supp_dataset);
  }
  TC_RETURN_IF_ERROR(WriteDefineXml(env, (std::filesystem::path(dir) / "define.xml").string(), define));

  TransferReport report;
  report.CountOf("subjects") = {"subjects", subjects.size(), written_subjects};
  for (const auto& out : outputs) {
    report.CountOf(out->domain.domain + " records") = {out->domain.domain + " records", out->records, out->records};
    if (out->supp_writer) {
      report.CountOf(out->supp_dataset.name + " records") = {out->supp_dataset.name + " records", out->supp_records,
                                                             out->supp_records};
    }
  }
  if (inactive > 0) {
    report.not_carried.push_back({std::to_string(inactive) + " subjects", "inactivated subjects",
                                  "screened in error: not subjects of the study"});
  }
  if (withheld > 0) {
    report.not_carried.push_back({std::to_string(withheld) + " values", "unblinded-only or identifying values",
                                  "withheld from the roles the export is read as"});
  }
  return report;
}

}  // namespace trialcore::standards
