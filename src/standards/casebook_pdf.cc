#include "standards/casebook_pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <glib.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <utility>

#include "core/event.h"
#include "standards/dataset_file.h"

namespace trialcore::standards {

namespace {

// A4 in PDF points; the body runs between the header and the footer.
constexpr double kPageWidth = 595.276, kPageHeight = 841.89;
constexpr double kMargin = 42;
constexpr double kBodyTop = 70, kBodyBottom = kPageHeight - 48;
constexpr double kBodyWidth = kPageWidth - 2 * kMargin;
constexpr char kFontFamily[] = "DejaVu Sans";
constexpr double kTextSize = 9, kTableSize = 7.5;
constexpr double kTimeWidth = 90;  // "2024-03-01 12:00:00" on one line

// --- Text --------------------------------------------------------------------

// Pango takes valid UTF-8 only; whatever was entered, the page shows it
// (invalid bytes as U+FFFD).
std::string ValidUtf8(const std::string& text) {
  if (g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr)) return text;
  gchar* valid = g_utf8_make_valid(text.data(), static_cast<gssize>(text.size()));
  std::string out(valid);
  g_free(valid);
  return out;
}

// "2024-03-01 12:00:00 UTC": what a reader of a paper casebook expects.
std::string UtcTime(int64_t time_us) {
  if (time_us == 0) return "";
  std::string t = FormatTimeMicros(time_us);  // 2024-03-01T12:00:00.000000Z
  return t.substr(0, 10) + " " + t.substr(11, 8) + " UTC";
}

// In a table whose header says UTC.
std::string CellTime(int64_t time_us) {
  const std::string t = UtcTime(time_us);
  return t.empty() ? t : t.substr(0, 19);
}

// What a subject event changed, in words: "query 3", "signature 2", "status".
std::string SubjectThing(const std::string& path) {
  const size_t slash = path.find('/');
  const std::string head = path.substr(0, slash);
  if (slash == std::string::npos) {
    return path.rfind("subject/", 0) == 0 ? "" : path;  // the event itself, setting nothing
  }
  std::string rest = path.substr(slash + 1);
  const size_t next = rest.find('/');
  const std::string number = rest.substr(0, next);
  const std::string detail =
      next == std::string::npos || rest.substr(next + 1) == "state" ? "" : " " + rest.substr(next + 1);
  if (head == "queries") return "query " + number + detail;
  if (head == "signatures") return "signature " + number + detail;
  if (head == "safety_cases") return "safety case " + number + detail;
  return path;
}

std::string PlainText(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::kNull:
      return "";
    case Value::Kind::kBool:
      return value.as_bool() ? "yes" : "no";
    case Value::Kind::kInt:
      return std::to_string(value.as_int());
    case Value::Kind::kDecimal:
      return value.as_decimal().text();
    case Value::Kind::kString:
      return value.as_string();
    case Value::Kind::kArray: {
      std::string out;
      for (const Value& v : value.as_array()) out += (out.empty() ? "" : ", ") + PlainText(v);
      return out;
    }
    case Value::Kind::kObject: {
      // An attachment: its file's name, not its content.
      for (const char* key : {"name", "filename", "file_name"}) {
        const Value* name = value.Find(key);
        if (name != nullptr && name->is_string()) return "attachment: " + name->as_string();
      }
      return "attachment";
    }
  }
  return "";
}

// A value as the form shows it: a code with its label, a number with its unit.
std::string ValueText(const study::Study& study, const study::Item* item, const Value& value) {
  if (value.is_null()) return "";
  if (item == nullptr) return PlainText(value);
  const study::CodeList* codes = item->codelist.empty() ? nullptr : study.FindCodeList(item->codelist);
  auto coded = [&](const Value& v) {
    const std::string code = PlainText(v);
    if (codes != nullptr) {
      for (const study::Code& c : codes->codes) {
        if (c.code == code && !c.label.empty() && c.label != code) return code + " (" + c.label + ")";
      }
    }
    return code;
  };
  std::string text;
  if (value.kind() == Value::Kind::kArray) {
    for (const Value& v : value.as_array()) text += (text.empty() ? "" : ", ") + coded(v);
  } else {
    text = coded(value);
  }
  if (!item->unit.empty() && (value.kind() == Value::Kind::kInt || value.kind() == Value::Kind::kDecimal)) {
    text += " " + item->unit;
  }
  return text;
}

std::string ItemText(const study::Study& study, const study::Item* item, const capture::ItemState& state) {
  if (!state.not_done.empty()) return "not done: " + state.not_done;
  return ValueText(study, item, state.value);
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) return out;
    start = slash + 1;
  }
}

int Occurrence(const std::string& instance) {
  const size_t hash = instance.find('#');
  if (hash == std::string::npos) return 1;
  return std::atoi(instance.c_str() + hash + 1);
}

// --- Where an audit line belongs -----------------------------------------------

struct FormKey {
  std::string visit, form;
  auto operator<=>(const FormKey&) const = default;
};

// The visit and form an audit line's path is of, when it is form data.
std::optional<FormKey> FormOf(const study::Study& study, const capture::SubjectState& subject,
                              const std::vector<std::string>& seg) {
  if (seg.size() < 3) return std::nullopt;
  auto visit = subject.visits.find(seg[0]);
  if (visit != subject.visits.end() && visit->second.forms.contains(seg[1])) return FormKey{seg[0], seg[1]};
  if (study.FindVisitInstance(seg[0]).ok() && study.FindForm(seg[1]) != nullptr) return FormKey{seg[0], seg[1]};
  return std::nullopt;
}

// --- Drawing -------------------------------------------------------------------

struct LayoutDeleter {
  void operator()(PangoLayout* l) const { g_object_unref(l); }
};
using LayoutPtr = std::unique_ptr<PangoLayout, LayoutDeleter>;

struct Column {
  std::string title;
  double width;  // points
};
struct TableRow {
  std::vector<std::string> cells;
  bool struck = false;
};

class Renderer {
 public:
  Renderer(const CasebookInput& in, cairo_surface_t* surface, int total_pages)
      : in_(in), study_(*in.study), subject_(*in.subject), surface_(surface), total_pages_(total_pages) {
    cr_ = cairo_create(surface);
  }
  ~Renderer() { cairo_destroy(cr_); }
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  void Render() {
    Plan();
    Cover();
    for (const auto& [visit, forms] : visits_) Visit(visit, forms);
    SubjectSignatures();
    SubjectEvents();
    cairo_show_page(cr_);
  }
  const CasebookCounts& counts() const { return counts_; }
  int pages() const { return page_; }

 private:
  // --- what is shown, in schedule order
  void Plan() {
    std::set<std::string> placed;
    auto add_visit = [&](const std::string& instance) {
      if (!placed.insert(instance).second) return;
      std::vector<std::string> forms;
      auto state = subject_.visits.find(instance);
      std::set<std::string> seen;
      auto wanted = [&](const std::string& form) {
        if (seen.contains(form)) return false;
        const bool touched = state != subject_.visits.end() && state->second.forms.contains(form) &&
                             state->second.forms.at(form).touched;
        const bool signed_form = std::any_of(subject_.signatures.begin(), subject_.signatures.end(), [&](auto& s) {
          return s.second.visit == instance && s.second.form == form;
        });
        return touched || signed_form || audit_by_form_.contains({instance, form});
      };
      const study::Visit* def = study_.FindVisit(instance.substr(0, instance.find('#')));
      if (def != nullptr) {
        for (const std::string& form : def->forms) {
          if (wanted(form)) forms.push_back(form), seen.insert(form);
        }
      }
      if (state != subject_.visits.end()) {
        for (const auto& [form, _] : state->second.forms) {
          if (wanted(form)) forms.push_back(form), seen.insert(form);
        }
      }
      for (const auto& [key, _] : audit_by_form_) {
        if (key.visit == instance && wanted(key.form)) forms.push_back(key.form), seen.insert(key.form);
      }
      const bool missed = state != subject_.visits.end() && state->second.missed;
      if (!forms.empty() || missed) visits_.emplace_back(instance, std::move(forms));
    };
    for (const CasebookAuditLine& line : in_.audit) {
      const std::vector<std::string> seg = Split(line.path);
      if (auto key = FormOf(study_, subject_, seg)) {
        audit_by_form_[*key].push_back(&line);
        if (seg.size() == 5 && seg[4] == "removed" && line.new_value && line.new_value->kind() == Value::Kind::kBool &&
            line.new_value->as_bool()) {
          removals_[line.path.substr(0, line.path.size() - 8)] = &line;
        }
      } else {
        subject_events_.push_back(&line);
      }
    }
    // The values a removed row had: the old values its removal cleared.
    for (const CasebookAuditLine& line : in_.audit) {
      const std::vector<std::string> seg = Split(line.path);
      if (seg.size() != 5 || seg[4] == "removed" || !line.old_value) continue;
      const std::string row = seg[0] + "/" + seg[1] + "/" + seg[2] + "/" + seg[3];
      auto removal = removals_.find(row);
      if (removal != removals_.end() && removal->second->seq == line.seq)
        removed_values_[row][seg[4]] = *line.old_value;
    }
    for (const study::Visit& visit : study_.visits) {
      std::vector<std::string> instances;
      for (const auto& [instance, _] : subject_.visits) {
        if (instance.substr(0, instance.find('#')) == visit.id) instances.push_back(instance);
      }
      for (const auto& [key, _] : audit_by_form_) {
        if (key.visit.substr(0, key.visit.find('#')) == visit.id) instances.push_back(key.visit);
      }
      std::stable_sort(instances.begin(), instances.end(),
                       [](const std::string& a, const std::string& b) { return Occurrence(a) < Occurrence(b); });
      for (const std::string& instance : instances) add_visit(instance);
    }
    // Visits of an earlier version of the study, after the schedule.
    for (const auto& [instance, _] : subject_.visits) add_visit(instance);
    for (const auto& [key, _] : audit_by_form_) add_visit(key.visit);
    for (const auto& [_, forms] : visits_) counts_.forms += forms.size();
    counts_.audit_entries = in_.audit.size();
    counts_.signatures = subject_.signatures.size();
  }

  std::string VisitTitle(const std::string& instance) const {
    const study::Visit* def = study_.FindVisit(instance.substr(0, instance.find('#')));
    if (def == nullptr) return instance;
    std::string title = def->name.empty() ? def->id : def->name;
    if (instance.find('#') != std::string::npos) title += " #" + std::to_string(Occurrence(instance));
    return title;
  }
  std::string FormTitle(const std::string& form) const {
    const study::Form* def = study_.FindForm(form);
    return def == nullptr || def->name.empty() ? form : def->name;
  }

  // --- sections
  void Cover() {
    NewPage();
    Outline(CAIRO_PDF_OUTLINE_ROOT, "Cover", 0);
    Text("Subject casebook", 20, true);
    Text(study_.title.empty() ? study_.id : study_.title, 12, false);
    Space(10);
    const study::Site* site = nullptr;
    for (const study::Site& s : study_.sites) {
      if (s.id == subject_.site) site = &s;
    }
    std::string site_text = subject_.site;
    std::string investigator;
    if (site != nullptr) {
      if (!site->name.empty()) site_text += " — " + site->name;
      if (!site->country.empty()) site_text += " (" + site->country + ")";
      investigator =
          site->investigator_given + (site->investigator_given.empty() ? "" : " ") + site->investigator_family;
    }
    std::string status = subject_.status;
    if (subject_.inactive) status += "; inactivated: " + subject_.inactive_reason;
    if (subject_.locked) status += "; locked";
    if (subject_.frozen) status += "; frozen";
    size_t invalidated = 0;
    for (const auto& [_, s] : subject_.signatures) invalidated += s.broken ? 1 : 0;
    std::string signatures = std::to_string(counts_.signatures);
    if (invalidated > 0) signatures += " (" + std::to_string(invalidated) + " invalidated since)";
    KeyValues({{"Study", study_.id},
               {"Study version", study_.version},
               {"Sponsor", study_.sponsor},
               {"Site", site_text},
               {"Investigator", investigator},
               {"Subject", subject_.id},
               {"Status", status},
               {"Generated at", UtcTime(in_.now_us)},
               {"Generated by", in_.generated_by},
               {"Forms", std::to_string(counts_.forms)},
               {"Changes (audit trail entries)", std::to_string(counts_.audit_entries)},
               {"Signatures", signatures}});
    Space(10);
    Text(
        "Each form shows its items as they stand, then its audit trail (every change: when, who, in which role, old "
        "and new value, reason for change) and its electronic signatures (printed name, date and time, meaning; "
        "21 CFR 11.50). Times are UTC. The casebook's own signatures and the subject's events that are not form "
        "data (screening, enrolment, queries) follow the visits.",
        kTextSize, false);
    NewPage();  // the cover stands alone
  }

  void Visit(const std::string& instance, const std::vector<std::string>& forms) {
    Need(120);  // the visit's heading with its first form's
    const int visit_outline = Outline(CAIRO_PDF_OUTLINE_ROOT, VisitTitle(instance), 0);
    Heading(VisitTitle(instance) + "  (" + instance + ")", 14);
    auto state = subject_.visits.find(instance);
    if (state != subject_.visits.end() && state->second.missed) {
      Text("Visit missed: " + state->second.missed_reason, kTextSize, false);
    }
    for (const std::string& form : forms) Form(instance, form, visit_outline);
    std::vector<const capture::Signature*> visit_signatures;
    for (const auto& [_, s] : subject_.signatures) {
      if (s.visit == instance && s.form.empty()) visit_signatures.push_back(&s);
    }
    if (!visit_signatures.empty()) {
      Need(50);
      Outline(visit_outline, "Signatures of the visit", 0);
      Heading("Signatures of the visit " + VisitTitle(instance), 11);
      Signatures(visit_signatures);
    }
  }

  void Form(const std::string& instance, const std::string& form_id, int visit_outline) {
    const study::Form* def = study_.FindForm(form_id);
    const capture::FormState* state = nullptr;
    if (auto v = subject_.visits.find(instance); v != subject_.visits.end()) {
      if (auto f = v->second.forms.find(form_id); f != v->second.forms.end()) state = &f->second;
    }
    Need(60);
    Space(6);
    Outline(visit_outline, FormTitle(form_id), 0);
    Heading(FormTitle(form_id) + "  (" + form_id + ")", 12);
    if (state != nullptr) {
      std::string status = state->first_saved_us ? "first saved " + UtcTime(state->first_saved_us) : "not saved";
      if (state->frozen) status += "; frozen";
      if (state->locked) status += "; locked";
      Text(status, kTableSize, false);
    }
    if (def != nullptr) {
      for (const study::ItemGroup& group : def->groups) {
        if (group.repeating) {
          RepeatingGroup(instance, *def, group, state);
        } else {
          Group(*def, group, state);
        }
      }
    }
    AuditTrail(audit_by_form_[{instance, form_id}], def);
    std::vector<const capture::Signature*> signatures;
    for (const auto& [_, s] : subject_.signatures) {
      if (s.visit == instance && s.form == form_id) signatures.push_back(&s);
    }
    if (!signatures.empty()) {
      Subheading("Signatures");
      Signatures(signatures);
    }
  }

  bool Hidden(const study::Form& form, const study::Item& item) const {
    return in_.hidden_items.contains(form.id + "/" + item.id);
  }

  void Group(const study::Form& form, const study::ItemGroup& group, const capture::FormState* state) {
    std::vector<std::pair<std::string, std::string>> rows;
    for (const study::Item& item : group.items) {
      if (Hidden(form, item)) continue;
      std::string value;
      if (state != nullptr) {
        if (auto it = state->items.find(item.id); it != state->items.end()) {
          value = ItemText(study_, &item, it->second);
        }
      }
      std::string label = item.label.empty() ? item.id : item.label;
      rows.emplace_back(label + " (" + item.id + ")", value.empty() ? "—" : value);
    }
    if (rows.empty()) return;
    if (!group.label.empty() && form.groups.size() > 1) Subheading(group.label);
    KeyValues(rows);
  }

  // A repeating group: a table when its items fit across the page, else
  // each row as a block of label and value. A removed row keeps the values
  // it had (from its removal's audit lines), struck through, with the reason.
  void RepeatingGroup(const std::string& instance, const study::Form& form, const study::ItemGroup& group,
                      const capture::FormState* state) {
    Subheading((group.label.empty() ? group.id : group.label) + " (" + group.id + ")");
    const std::map<int, capture::RowState>* rows = nullptr;
    if (state != nullptr) {
      if (auto it = state->rows.find(group.id); it != state->rows.end()) rows = &it->second;
    }
    if (rows == nullptr || rows->empty()) {
      Text("no rows", kTableSize, false);
      return;
    }
    std::vector<const study::Item*> items;
    for (const study::Item& item : group.items) {
      if (!Hidden(form, item)) items.push_back(&item);
    }
    const std::string base = instance + "/" + form.id + "/" + group.id + "/";
    auto cell = [&](int number, const capture::RowState& row, const study::Item& item) {
      if (row.removed) {
        auto values = removed_values_.find(base + std::to_string(number));
        if (values == removed_values_.end()) return std::string();
        auto v = values->second.find(item.id);
        return v == values->second.end() ? std::string() : ValueText(study_, &item, v->second);
      }
      auto it = row.items.find(item.id);
      return it == row.items.end() ? std::string() : ItemText(study_, &item, it->second);
    };
    auto removal_note = [&](int number) {
      std::string note = "Row " + std::to_string(number) + " removed";
      auto removal = removals_.find(base + std::to_string(number));
      if (removal != removals_.end()) {
        const CasebookAuditLine& line = *removal->second;
        note += ": " + (line.reason.empty() ? std::string("(no reason recorded)") : line.reason) + " (" + line.user +
                ", " + UtcTime(line.time_us) + ")";
      }
      return note;
    };
    constexpr size_t kColumnsAcross = 6;
    if (items.size() > kColumnsAcross) {
      for (const auto& [number, row] : *rows) {
        Need(40);
        Text(row.removed ? removal_note(number) : "Row " + std::to_string(number), kTableSize + 0.5, true);
        std::vector<std::pair<std::string, std::string>> values;
        for (const study::Item* item : items) {
          const std::string text = cell(number, row, *item);
          values.emplace_back((item->label.empty() ? item->id : item->label) + " (" + item->id + ")",
                              text.empty() ? "—" : text);
        }
        KeyValues(values, row.removed);
      }
      return;
    }
    const double number_width = 22;
    const double width = items.empty() ? 0 : (kBodyWidth - number_width) / static_cast<double>(items.size());
    std::vector<Column> columns{{"#", number_width}};
    for (const study::Item* item : items) columns.push_back({item->label.empty() ? item->id : item->label, width});
    std::vector<TableRow> table;
    std::vector<std::string> removal_notes;
    for (const auto& [number, row] : *rows) {
      TableRow out;
      out.cells.push_back(std::to_string(number));
      for (const study::Item* item : items) out.cells.push_back(cell(number, row, *item));
      out.struck = row.removed;
      table.push_back(std::move(out));
      if (row.removed) removal_notes.push_back(removal_note(number));
    }
    Table(columns, table);
    for (const std::string& note : removal_notes) Text(note, kTableSize, false);
  }

  // What an audit line changed, in words: "Systolic BP (SYSBP)", "AE row 2: Term (AETERM)".
  std::string WhatChanged(const std::vector<std::string>& seg, const study::Form* form) const {
    auto label = [&](const std::string& id) {
      const study::Item* item = form == nullptr ? nullptr : form->FindItem(id);
      return item == nullptr || item->label.empty() ? id : item->label + " (" + id + ")";
    };
    std::vector<std::string> rest(seg.begin() + 2, seg.end());
    std::string prefix;
    if (rest.size() >= 3 && !rest[1].empty() &&
        std::all_of(rest[1].begin(), rest[1].end(), [](char c) { return c >= '0' && c <= '9'; })) {
      prefix = rest[0] + " row " + rest[1];
      rest.erase(rest.begin(), rest.begin() + 2);
      if (rest.size() == 1 && rest[0] == "removed") return prefix + " removed";
      prefix += ": ";
    }
    if (rest.empty()) return prefix;
    std::string text = prefix + label(rest[0]);
    for (size_t i = 1; i < rest.size(); ++i) {
      text += rest[i] == "verified" ? ", source data verified" : rest[i] == "not_done" ? ", not done" : "/" + rest[i];
    }
    return text;
  }

  const study::Item* ItemOf(const std::vector<std::string>& seg, const study::Form* form) const {
    if (form == nullptr || seg.size() < 3) return nullptr;
    if (seg.size() == 3) return form->FindItem(seg[2]);
    if (seg.size() >= 5 && seg[4] != "removed") return form->FindItem(seg[4]);
    return nullptr;
  }

  std::string Change(const CasebookAuditLine& line, const study::Item* item) const {
    auto text = [&](const std::optional<Value>& v) {
      if (!v || v->is_null()) return std::string("(empty)");
      return ValueText(study_, item, *v);
    };
    return text(line.old_value) + " → " + text(line.new_value);
  }

  void AuditTrail(const std::vector<const CasebookAuditLine*>& lines, const study::Form* form) {
    Subheading("Audit trail");
    if (lines.empty()) {
      Text("no changes", kTableSize, false);
      return;
    }
    std::vector<TableRow> rows;
    for (const CasebookAuditLine* line : lines) {
      const std::vector<std::string> seg = Split(line->path);
      // A value is never shown for a "verified" mark or a not-done flag alone.
      const bool value_path = seg.back() != "verified" && seg.back() != "removed";
      const study::Item* item = value_path ? ItemOf(seg, form) : nullptr;
      rows.push_back({{CellTime(line->time_us), line->user, line->role, WhatChanged(seg, form), Change(*line, item),
                       line->reason}});
    }
    Table({{"Time (UTC)", kTimeWidth}, {"User", 52}, {"Role", 80}, {"Item", 100}, {"Old → new", 100}, {"Reason", 89}},
          rows);
  }

  void Signatures(const std::vector<const capture::Signature*>& signatures) {
    std::vector<TableRow> rows;
    for (const capture::Signature* s : signatures) {
      rows.push_back({{s->signer_name, s->signer.user + " (" + s->signer.role + ")", CellTime(s->time_us), s->meaning,
                       s->broken ? "invalidated: the signed data changed since" : "valid"}});
    }
    Table({{"Signed by (printed name)", 120},
           {"User (role)", 110},
           {"Date and time (UTC)", kTimeWidth},
           {"Meaning", 80},
           {"State", 111}},
          rows);
  }

  void SubjectSignatures() {
    std::vector<const capture::Signature*> signatures;
    for (const auto& [_, s] : subject_.signatures) {
      if (s.visit.empty()) signatures.push_back(&s);
    }
    Need(80);
    Space(8);
    Outline(CAIRO_PDF_OUTLINE_ROOT, "Casebook signatures", 0);
    Heading("Casebook signatures", 14);
    if (signatures.empty()) {
      Text("The casebook as a whole has not been signed.", kTextSize, false);
    } else {
      Signatures(signatures);
    }
  }

  void SubjectEvents() {
    Need(80);
    Space(8);
    const int outline = Outline(CAIRO_PDF_OUTLINE_ROOT, "Subject events and queries", 0);
    Heading("Subject events (not form data)", 14);
    std::vector<TableRow> rows;
    for (const CasebookAuditLine* line : subject_events_) {
      auto text = [&](const std::optional<Value>& v) {
        return !v || v->is_null() ? std::string("(empty)") : PlainText(*v);
      };
      const std::string change =
          line->old_value || line->new_value ? text(line->old_value) + " → " + text(line->new_value) : "";
      rows.push_back({{CellTime(line->time_us), line->user, line->role, line->event, SubjectThing(line->path), change,
                       line->reason}});
    }
    if (rows.empty()) {
      Text("none", kTableSize, false);
    } else {
      Table({{"Time (UTC)", kTimeWidth},
             {"User", 52},
             {"Role", 70},
             {"Event", 80},
             {"What", 62},
             {"Old → new", 80},
             {"Reason", 77}},
            rows);
    }
    Need(50);
    Space(8);
    Outline(outline, "Queries", 0);
    Heading("Queries", 12);
    if (subject_.queries.empty()) Text("none", kTableSize, false);
    for (const auto& [number, query] : subject_.queries) {
      std::string where = query.visit + " › " + query.form;
      if (!query.group.empty()) where += " › " + query.group + " row " + std::to_string(query.row);
      where += " › " + query.item;
      Need(40);
      Subheading("Query " + std::to_string(number) + " on " + where + " — " +
                 std::string(capture::QueryStateName(query.state)) +
                 (query.raised_by_check() ? " (raised by check " + query.check + ")" : ""));
      std::vector<TableRow> rows_of_query;
      for (const capture::QueryMessage& m : query.thread) {
        rows_of_query.push_back({{CellTime(m.time_us), m.actor.user + " (" + m.actor.role + ")", m.action, m.message}});
      }
      Table({{"Time (UTC)", kTimeWidth}, {"User (role)", 110}, {"Action", 56}, {"Message", 255}}, rows_of_query);
    }
  }

  // --- primitives
  LayoutPtr Layout(const std::string& text, double width, double size, bool bold, bool struck = false) {
    LayoutPtr layout(pango_cairo_create_layout(cr_));
    PangoFontDescription* font = pango_font_description_new();
    pango_font_description_set_family(font, kFontFamily);
    pango_font_description_set_absolute_size(font, size * PANGO_SCALE);
    pango_font_description_set_weight(font, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(layout.get(), font);
    pango_font_description_free(font);
    pango_layout_set_width(layout.get(), static_cast<int>(width * PANGO_SCALE));
    pango_layout_set_wrap(layout.get(), PANGO_WRAP_WORD_CHAR);
    if (struck) {
      PangoAttrList* attrs = pango_attr_list_new();
      pango_attr_list_insert(attrs, pango_attr_strikethrough_new(TRUE));
      pango_layout_set_attributes(layout.get(), attrs);
      pango_attr_list_unref(attrs);
    }
    const std::string valid = ValidUtf8(text);
    pango_layout_set_text(layout.get(), valid.data(), static_cast<int>(valid.size()));
    return layout;
  }
  static double HeightOf(PangoLayout* layout) {
    int w = 0, h = 0;
    pango_layout_get_size(layout, &w, &h);
    return static_cast<double>(h) / PANGO_SCALE;
  }
  void Draw(PangoLayout* layout, double x, double y) {
    cairo_move_to(cr_, x, y);
    pango_cairo_show_layout(cr_, layout);
  }

  void NewPage() {
    if (page_ > 0) cairo_show_page(cr_);
    ++page_;
    y_ = kBodyTop;
    cairo_set_source_rgb(cr_, 0, 0, 0);
    const std::string header =
        study_.id + " v" + study_.version + "  ·  site " + subject_.site + "  ·  subject " + subject_.id;
    Draw(Layout(header, kBodyWidth, 8, true).get(), kMargin, 30);
    cairo_set_line_width(cr_, 0.5);
    cairo_move_to(cr_, kMargin, 46);
    cairo_line_to(cr_, kPageWidth - kMargin, 46);
    cairo_stroke(cr_);
    // The first pass knows no total yet; its footer takes the same room.
    const std::string total = total_pages_ > 0 ? std::to_string(total_pages_) : std::to_string(page_);
    LayoutPtr footer = Layout("page " + std::to_string(page_) + " of " + total, kBodyWidth, 8, false);
    pango_layout_set_alignment(footer.get(), PANGO_ALIGN_RIGHT);
    Draw(footer.get(), kMargin, kPageHeight - 34);
    Draw(Layout("generated " + UtcTime(in_.now_us), kBodyWidth, 8, false).get(), kMargin, kPageHeight - 34);
  }
  void Need(double height) {
    if (page_ == 0 || y_ + height > kBodyBottom) NewPage();
  }
  void Space(double height) { y_ += height; }

  // A bookmark at the current position; its id, for children.
  int Outline(int parent, const std::string& title, int flags) {
    Need(20);
    char target[96];
    std::snprintf(target, sizeof target, "page=%d pos=[%.1f %.1f]", page_, kMargin, y_);
    const std::string valid = ValidUtf8(title);
    return cairo_pdf_surface_add_outline(surface_, parent, valid.c_str(), target,
                                         static_cast<cairo_pdf_outline_flags_t>(flags));
  }

  void Text(const std::string& text, double size, bool bold) {
    LayoutPtr layout = Layout(text, kBodyWidth, size, bold);
    const double h = HeightOf(layout.get());
    Need(h);
    Draw(layout.get(), kMargin, y_);
    y_ += h + 3;
  }
  void Heading(const std::string& text, double size) {
    Space(4);
    Text(text, size, true);
    Space(2);
  }
  // Room for the heading with what follows it (a table's header and a row).
  void Subheading(const std::string& text) {
    Need(60);
    Space(3);
    Text(text, kTextSize, true);
  }

  void KeyValues(const std::vector<std::pair<std::string, std::string>>& rows, bool struck = false) {
    const double key_width = 190;
    for (const auto& [key, value] : rows) {
      LayoutPtr k = Layout(key, key_width - 8, kTextSize, false);
      LayoutPtr v = Layout(value, kBodyWidth - key_width, kTextSize, !struck, struck);
      const double h = std::max(HeightOf(k.get()), HeightOf(v.get()));
      Need(h + 3);
      cairo_set_source_rgb(cr_, 0.3, 0.3, 0.3);
      Draw(k.get(), kMargin, y_);
      cairo_set_source_rgb(cr_, 0, 0, 0);
      Draw(v.get(), kMargin + key_width, y_);
      y_ += h + 3;
    }
  }

  void Table(const std::vector<Column>& columns, const std::vector<TableRow>& rows) {
    constexpr double kPad = 2;
    auto draw_row = [&](const std::vector<std::string>& cells, bool bold, bool struck, bool header) {
      std::vector<LayoutPtr> layouts;
      double h = 0;
      for (size_t i = 0; i < columns.size(); ++i) {
        layouts.push_back(
            Layout(i < cells.size() ? cells[i] : "", columns[i].width - 2 * kPad, kTableSize, bold, struck && i > 0));
        h = std::max(h, HeightOf(layouts.back().get()));
      }
      h += 2 * kPad;
      if (header) {
        cairo_set_source_rgb(cr_, 0.9, 0.9, 0.9);
        cairo_rectangle(cr_, kMargin, y_, kBodyWidth, h);
        cairo_fill(cr_);
      }
      cairo_set_source_rgb(cr_, struck ? 0.45 : 0, struck ? 0.45 : 0, struck ? 0.45 : 0);
      double x = kMargin;
      for (size_t i = 0; i < columns.size(); ++i) {
        Draw(layouts[i].get(), x + kPad, y_ + kPad);
        x += columns[i].width;
      }
      cairo_set_source_rgb(cr_, 0.7, 0.7, 0.7);
      cairo_set_line_width(cr_, 0.3);
      cairo_move_to(cr_, kMargin, y_ + h);
      cairo_line_to(cr_, kMargin + kBodyWidth, y_ + h);
      cairo_stroke(cr_);
      cairo_set_source_rgb(cr_, 0, 0, 0);
      y_ += h;
    };
    auto row_height = [&](const std::vector<std::string>& cells, bool bold) {
      double h = 0;
      for (size_t i = 0; i < columns.size(); ++i) {
        LayoutPtr l = Layout(i < cells.size() ? cells[i] : "", columns[i].width - 2 * kPad, kTableSize, bold);
        h = std::max(h, HeightOf(l.get()));
      }
      return h + 2 * kPad;
    };
    std::vector<std::string> titles;
    for (const Column& c : columns) titles.push_back(c.title);
    const double header_height = row_height(titles, true);
    // The header never ends a page alone: it goes with the first row.
    Need(header_height + (rows.empty() ? 0 : row_height(rows.front().cells, false)));
    draw_row(titles, true, false, true);
    for (const TableRow& row : rows) {
      const double h = row_height(row.cells, false);
      if (y_ + h > kBodyBottom) {  // the header again on the next page
        NewPage();
        draw_row(titles, true, false, true);
      }
      draw_row(row.cells, false, row.struck, false);
    }
    y_ += 4;
  }

  const CasebookInput& in_;
  const study::Study& study_;
  const capture::SubjectState& subject_;
  cairo_surface_t* surface_;
  cairo_t* cr_ = nullptr;
  const int total_pages_;
  int page_ = 0;
  double y_ = 0;
  CasebookCounts counts_;
  std::vector<std::pair<std::string, std::vector<std::string>>> visits_;  // instance, its forms
  std::map<FormKey, std::vector<const CasebookAuditLine*>> audit_by_form_;
  std::map<std::string, const CasebookAuditLine*> removals_;            // VISIT/FORM/GROUP/ROW -> its removal
  std::map<std::string, std::map<std::string, Value>> removed_values_;  // VISIT/FORM/GROUP/ROW -> item -> value
  std::vector<const CasebookAuditLine*> subject_events_;
};

// Where cairo's bytes go: the staged file, or nowhere (the counting pass).
struct Sink {
  StagedOutput* out = nullptr;
  Status status;
};

cairo_status_t WriteToSink(void* closure, const unsigned char* data, unsigned int length) {
  auto* sink = static_cast<Sink*>(closure);
  if (sink->out == nullptr) return CAIRO_STATUS_SUCCESS;
  if (!sink->status.ok()) return CAIRO_STATUS_WRITE_ERROR;
  sink->status = sink->out->Append(std::string_view(reinterpret_cast<const char*>(data), length));
  return sink->status.ok() ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

struct SurfaceDeleter {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};

// One pass: the document into the sink; its page count and counts.
Result<std::pair<int, CasebookCounts>> RenderPass(const CasebookInput& in, Sink& sink, int total_pages) {
  std::unique_ptr<cairo_surface_t, SurfaceDeleter> surface(
      cairo_pdf_surface_create_for_stream(WriteToSink, &sink, kPageWidth, kPageHeight));
  cairo_surface_t* s = surface.get();
  const std::string title = "Casebook of subject " + in.subject->id + ", study " + in.study->id + " version " +
                            in.study->version + ", site " + in.subject->site;
  cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, ValidUtf8(title).c_str());
  cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_AUTHOR, "trialcore");
  cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_SUBJECT,
                                 "21 CFR 312.62 case history: data, audit trail, signatures");
  cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, ValidUtf8(in.creator).c_str());
  const std::string created = FormatTimeMicros(in.now_us).substr(0, 19) + "Z";  // ISO 8601, as cairo takes it
  cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATE_DATE, created.c_str());
  cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_MOD_DATE, created.c_str());
  std::pair<int, CasebookCounts> out;
  {
    Renderer renderer(in, s, total_pages);
    renderer.Render();
    out = {renderer.pages(), renderer.counts()};
  }
  cairo_surface_finish(s);
  if (!sink.status.ok()) return sink.status;
  const cairo_status_t status = cairo_surface_status(s);
  if (status != CAIRO_STATUS_SUCCESS) return Internal(std::string("PDF: ") + cairo_status_to_string(status));
  return out;
}

}  // namespace

Result<CasebookCounts> WriteCasebookPdf(const CasebookInput& input, Env* env, const std::string& path) {
  if (input.study == nullptr || input.subject == nullptr) return InvalidArgument("casebook: no study or subject");
  Sink counting;
  TC_ASSIGN_OR_RETURN(auto first, RenderPass(input, counting, 0));
  StagedOutput out;
  TC_RETURN_IF_ERROR(out.Open(env, path));
  Sink file{&out, Status::Ok()};
  TC_ASSIGN_OR_RETURN(auto second, RenderPass(input, file, first.first));
  if (second.first != first.first) {
    return Internal("casebook of " + input.subject->id + ": the pages came out differently in the second pass");
  }
  TC_RETURN_IF_ERROR(out.Commit());
  CasebookCounts counts = second.second;
  counts.pages = static_cast<uint64_t>(second.first);
  return counts;
}

}  // namespace trialcore::standards
