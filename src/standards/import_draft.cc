#include "standards/import_draft.h"

#include <cctype>

#include "core/event.h"
#include "standards/study_writer.h"

namespace trialcore::standards {

std::string SanitizeId(std::string_view from, std::string_view prefix) {
  std::string out;
  for (char c : from) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      out += c;  // REDCap's checkbox columns (sex___1) keep their '___'
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  if (out.empty()) return std::string(prefix);
  if (std::isdigit(static_cast<unsigned char>(out[0]))) out = std::string(prefix) + out;
  // Words of the rule language cannot name an item in an expression.
  static const std::set<std::string> kWords = {"and", "or", "not", "in", "is", "missing", "true", "false"};
  std::string lower;
  for (char c : out) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (kWords.contains(lower)) out += '_';
  return out;
}

std::string StudyIdFrom(std::string_view from) {
  std::string id;
  for (char c : from) id += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  if (id.empty()) id = "STUDY";
  if (IsSystemLog(id)) id = "S_" + id;
  return id;
}

std::string StudyIdProblem(std::string_view id) {
  if (id.empty()) return "a study id cannot be empty";
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return "study id '" + std::string(id) + "' may hold only letters, digits, '-' and '_'";
    }
  }
  if (IsSystemLog(id)) return "study id '" + std::string(id) + "' begins with '" + std::string(kSystemLogPrefix) + "'";
  return "";
}

std::string IdMaker::Make(std::string_view from, std::string_view prefix) {
  std::string base = SanitizeId(from, prefix);
  std::string id = base;
  for (int n = 2; used_.contains(id); ++n) id = base + "_" + std::to_string(n);
  used_.insert(id);
  return id;
}

std::string IdMaker::FromOid(std::string_view oid, std::string_view prefix) {
  size_t dot = oid.rfind('.');
  if (dot != std::string_view::npos && dot + 1 < oid.size()) {
    std::string_view last = oid.substr(dot + 1);
    std::string id = SanitizeId(last, prefix);
    if (!std::isdigit(static_cast<unsigned char>(last[0])) && !used_.contains(id)) {
      used_.insert(id);
      return id;
    }
  }
  return Make(oid, prefix);
}

std::string_view KindName(RejectedExpression::Kind kind) {
  switch (kind) {
    case RejectedExpression::Kind::kVisibleIf:
      return "visible_if";
    case RejectedExpression::Kind::kDerive:
      return "derive";
    case RejectedExpression::Kind::kCheck:
      return "check";
  }
  return "";
}

namespace {

void AddVisitDateForm(study::Study& s, std::vector<std::string>* notes) {
  IdMaker forms;
  for (const auto& f : s.forms) forms.Reserve(f.id);
  for (const auto& v : s.visits) forms.Reserve(v.id);
  study::Form form;
  form.id = forms.Make("VISIT", "F");
  form.name = "Visit date";
  study::ItemGroup group;
  group.id = form.id;
  study::Item item;
  item.id = "VISDAT";
  item.label = "Visit date";
  item.type = study::ItemType::kDate;
  item.required = true;
  group.items.push_back(item);
  form.groups.push_back(group);
  for (auto& v : s.visits) v.forms.insert(v.forms.begin(), form.id);
  s.anchor = {form.id, item.id};
  s.visit_date = {form.id, item.id};
  notes->push_back("added form " + form.id +
                   " (item VISDAT, the visit date) to every visit: a study file plans its "
                   "visits from a date item (anchor, visit_date), which the source does not name");
  s.forms.insert(s.forms.begin(), std::move(form));
}

std::string FirstError(const std::vector<study::StudyError>& errors, const Status& status) {
  return errors.empty() ? status.message() : errors.front().ToString();
}

}  // namespace

Result<FinishedStudy> FinishDraft(study::Study draft, std::string_view header_comment) {
  FinishedStudy out;
  if (draft.anchor.form.empty()) AddVisitDateForm(draft, &out.notes);

  // The structure alone first, so that each expression is compiled against
  // the study it will live in.
  study::Study bare = draft;
  for (auto& f : bare.forms) {
    f.checks.clear();
    for (auto& g : f.groups) {
      for (auto& it : g.items) {
        it.visible_if.clear();
        it.derive.clear();
      }
    }
  }
  std::vector<study::StudyError> errors;
  auto loaded = study::LoadStudy(WriteStudyYaml(bare), "import", &errors);
  if (!loaded.ok()) return Internal("the imported study does not load: " + FirstError(errors, loaded.status()));
  const study::Study& st = **loaded;

  auto compile = [&](const std::string& text, const std::string& form, const std::string& row_group, rules::Type want,
                     std::string* message) {
    auto resolver = study::MakeResolver(st, form, row_group);
    rules::Diagnostic d;
    auto e = rules::Expression::Compile(text, *resolver, &d);
    if (!e.ok()) {
      *message = d.message.empty() ? e.status().message() : d.message;
      return false;
    }
    if (e->type() != want) {
      *message = "gives a " + std::string(rules::TypeName(e->type())) + ", not a " + std::string(rules::TypeName(want));
      return false;
    }
    return true;
  };
  for (auto& f : draft.forms) {
    for (auto& g : f.groups) {
      const std::string row_group = g.repeating ? g.id : "";
      for (auto& it : g.items) {
        std::string message;
        if (!it.visible_if.empty() && !compile(it.visible_if, f.id, row_group, rules::Type::kBool, &message)) {
          out.rejected.push_back({RejectedExpression::Kind::kVisibleIf, f.id, it.id, it.visible_if, message});
          it.visible_if.clear();
        }
        if (!it.derive.empty() && !compile(it.derive, f.id, row_group, study::RuleTypeOf(it.type), &message)) {
          out.rejected.push_back({RejectedExpression::Kind::kDerive, f.id, it.id, it.derive, message});
          it.derive.clear();
        }
        if (!it.derive.empty()) it.required = false;  // computed, never entered
      }
    }
    std::vector<study::Check> kept;
    for (auto& c : f.checks) {
      const study::ItemGroup* group = nullptr;
      f.FindItem(c.item, &group);
      std::string message;
      if (compile(c.condition, f.id, group && group->repeating ? group->id : "", rules::Type::kBool, &message)) {
        kept.push_back(std::move(c));
      } else {
        out.rejected.push_back({RejectedExpression::Kind::kCheck, f.id, c.id, c.condition, message});
      }
    }
    f.checks = std::move(kept);
  }

  out.yaml = WriteStudyYaml(draft, header_comment);
  auto final_study = study::LoadStudy(out.yaml, "import", &errors);
  if (!final_study.ok()) {
    return Internal("the imported study does not load: " + FirstError(errors, final_study.status()));
  }
  out.study = std::move(draft);
  return out;
}

void AddStructureCounts(const study::Study& written, TransferReport* report) {
  uint64_t groups = 0, items = 0, checks = 0, conditions = 0, methods = 0;
  for (const auto& f : written.forms) {
    checks += f.checks.size();
    for (const auto& g : f.groups) {
      ++groups;
      for (const auto& it : g.items) {
        ++items;
        if (it.hard_range) ++checks;
        if (it.soft_range) ++checks;
        if (!it.visible_if.empty()) ++conditions;
        if (!it.derive.empty()) ++methods;
      }
    }
  }
  report->CountOf("visits").written = written.visits.size();
  report->CountOf("forms").written = written.forms.size();
  report->CountOf("item groups").written = groups;
  report->CountOf("items").written = items;
  report->CountOf("code lists").written = written.codelists.size();
  report->CountOf("checks").written = checks;
  report->CountOf("conditions").written = conditions;
  report->CountOf("methods").written = methods;
}

}  // namespace trialcore::standards
