#include "standards/study_writer.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <sstream>

namespace trialcore::standards {
namespace {

// Text that YAML would read as something else when written plain (a
// number, true/false, null, nothing): quoted, so that the file says text
// ("1.0" stays a version, code "0" a code) to every reader, the schema too.
bool ReadsAsNonText(const std::string& value) {
  if (value.empty()) return true;
  static const char* kWords[] = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"};
  std::string lower;
  for (char c : value) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* w : kWords) {
    if (lower == w) return true;
  }
  char* end = nullptr;
  std::strtod(value.c_str(), &end);
  return end == value.c_str() + value.size();
}

void Text(YAML::Emitter& out, const std::string& value) {
  if (ReadsAsNonText(value)) out << YAML::DoubleQuoted;
  out << value;
}

void Key(YAML::Emitter& out, const char* key, const std::string& value) {
  out << YAML::Key << key << YAML::Value;
  Text(out, value);
}
void KeyIf(YAML::Emitter& out, const char* key, const std::string& value) {
  if (!value.empty()) Key(out, key, value);
}

void WriteRange(YAML::Emitter& out, const char* key, const std::optional<study::Range>& range) {
  if (!range || (!range->min && !range->max)) return;
  out << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginMap;
  // Plain decimal text ("35.5"), never the emitter's own rendering of a double.
  if (range->min) out << YAML::Key << "min" << YAML::Value << study::FormatBound(*range->min);
  if (range->max) out << YAML::Key << "max" << YAML::Value << study::FormatBound(*range->max);
  out << YAML::EndMap;
}

void WriteItem(YAML::Emitter& out, const study::Item& it) {
  out << YAML::BeginMap;
  Key(out, "id", it.id);
  KeyIf(out, "oid", it.oid);
  Key(out, "label", it.label);
  Key(out, "type", std::string(study::ItemTypeName(it.type)));
  KeyIf(out, "unit", it.unit);
  if (it.precision >= 0) out << YAML::Key << "precision" << YAML::Value << it.precision;
  if (it.max_length > 0) out << YAML::Key << "max_length" << YAML::Value << it.max_length;
  KeyIf(out, "codelist", it.codelist);
  if (it.required) out << YAML::Key << "required" << YAML::Value << true;
  WriteRange(out, "hard_range", it.hard_range);
  WriteRange(out, "soft_range", it.soft_range);
  KeyIf(out, "visible_if", it.visible_if);
  KeyIf(out, "derive", it.derive);
  if (it.unblinded_only) out << YAML::Key << "unblinded_only" << YAML::Value << true;
  if (!it.identifying.empty()) {
    out << YAML::Key << "identifying" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (const auto& [role, shown] : it.identifying) {
      out << YAML::Key << role << YAML::Value << std::string(study::DisclosureName(shown));
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
}

void WriteForm(YAML::Emitter& out, const study::Form& f) {
  out << YAML::BeginMap;
  Key(out, "id", f.id);
  KeyIf(out, "oid", f.oid);
  Key(out, "name", f.name);
  if (!f.roles.empty()) out << YAML::Key << "roles" << YAML::Value << YAML::Flow << f.roles;
  out << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq;
  for (const auto& g : f.groups) {
    out << YAML::BeginMap;
    Key(out, "id", g.id);
    KeyIf(out, "oid", g.oid);
    KeyIf(out, "label", g.label);
    if (g.repeating) out << YAML::Key << "repeating" << YAML::Value << true;
    out << YAML::Key << "items" << YAML::Value << YAML::BeginSeq;
    for (const auto& it : g.items) WriteItem(out, it);
    out << YAML::EndSeq << YAML::EndMap;
  }
  out << YAML::EndSeq;
  if (!f.checks.empty()) {
    out << YAML::Key << "checks" << YAML::Value << YAML::BeginSeq;
    for (const auto& c : f.checks) {
      out << YAML::BeginMap;
      Key(out, "id", c.id);
      Key(out, "condition", c.condition);
      Key(out, "severity", c.hard ? "hard" : "soft");
      Key(out, "message", c.message);
      Key(out, "item", c.item);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;
}

}  // namespace

std::string WriteStudyYaml(const study::Study& s, std::string_view header_comment) {
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap;
  out << YAML::Key << "study" << YAML::Value << YAML::BeginMap;
  Key(out, "id", s.id);
  Key(out, "title", s.title);
  Key(out, "version", s.version);
  KeyIf(out, "sponsor", s.sponsor);
  KeyIf(out, "phase", s.phase);
  if (s.planned_subjects > 0) out << YAML::Key << "planned_subjects" << YAML::Value << s.planned_subjects;
  out << YAML::EndMap;

  if (!s.arms.empty()) {
    out << YAML::Key << "arms" << YAML::Value << YAML::BeginSeq;
    for (const auto& a : s.arms) {
      out << YAML::Flow << YAML::BeginMap;
      Key(out, "code", a.code);
      Key(out, "name", a.name);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  if (!s.sites.empty()) {
    out << YAML::Key << "sites" << YAML::Value << YAML::BeginSeq;
    for (const auto& site : s.sites) {
      out << YAML::Flow << YAML::BeginMap;
      Key(out, "id", site.id);
      Key(out, "name", site.name);
      KeyIf(out, "country", site.country);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  if (!s.codelists.empty()) {
    out << YAML::Key << "codelists" << YAML::Value << YAML::BeginMap;
    for (const auto& cl : s.codelists) {
      out << YAML::Key;
      Text(out, cl.id);
      out << YAML::Value;
      if (!cl.oid.empty()) {
        out << YAML::BeginMap;
        Key(out, "oid", cl.oid);
        out << YAML::Key << "codes" << YAML::Value;
      }
      out << YAML::BeginSeq;
      for (const auto& c : cl.codes) {
        out << YAML::Flow << YAML::BeginMap;
        Key(out, "code", c.code);
        if (!c.label.empty() && c.label != c.code) Key(out, "label", c.label);
        out << YAML::EndMap;
      }
      out << YAML::EndSeq;
      if (!cl.oid.empty()) out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  if (!s.anchor.form.empty()) {
    out << YAML::Key << "anchor" << YAML::Value << YAML::Flow << YAML::BeginMap;
    Key(out, "form", s.anchor.form);
    Key(out, "item", s.anchor.item);
    out << YAML::EndMap;
  }
  if (!s.visit_date.form.empty()) {
    out << YAML::Key << "visit_date" << YAML::Value << YAML::Flow << YAML::BeginMap;
    Key(out, "form", s.visit_date.form);
    Key(out, "item", s.visit_date.item);
    if (s.visit_date_first) out << YAML::Key << "first" << YAML::Value << true;
    out << YAML::EndMap;
  }

  out << YAML::Key << "visits" << YAML::Value << YAML::BeginSeq;
  for (const auto& v : s.visits) {
    out << YAML::BeginMap;
    Key(out, "id", v.id);
    KeyIf(out, "oid", v.oid);
    Key(out, "name", v.name);
    if (v.day) out << YAML::Key << "day" << YAML::Value << *v.day;
    if (v.window_before > 0 || v.window_after > 0) {
      out << YAML::Key << "window" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "before"
          << YAML::Value << v.window_before << YAML::Key << "after" << YAML::Value << v.window_after << YAML::EndMap;
    }
    if (v.unscheduled) out << YAML::Key << "unscheduled" << YAML::Value << true;
    if (v.repeat_every > 0) {
      out << YAML::Key << "repeat" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "every" << YAML::Value
          << v.repeat_every << YAML::Key << "until" << YAML::Value << v.repeat_until << YAML::EndMap;
    }
    out << YAML::Key << "forms" << YAML::Value << YAML::Flow << v.forms;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;

  out << YAML::Key << "forms" << YAML::Value << YAML::BeginSeq;
  for (const auto& f : s.forms) WriteForm(out, f);
  out << YAML::EndSeq;
  out << YAML::EndMap;

  std::ostringstream text;
  std::istringstream lines{std::string(header_comment)};
  for (std::string line; std::getline(lines, line);) text << "#" << (line.empty() ? "" : " ") << line << "\n";
  text << out.c_str() << "\n";
  return text.str();
}

}  // namespace trialcore::standards
