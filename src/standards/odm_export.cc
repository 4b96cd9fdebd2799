#include "standards/odm_export.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>
#include <unordered_set>

#include "capture/blinding.h"
#include "capture/privacy.h"
#include "capture/reads.h"
#include "core/event.h"

namespace trialcore::standards {

namespace {

// --- XML text, written as it goes ------------------------------------------

// Text and attribute values: markup escaped, line breaks kept as character
// references (a parser turns a raw one in an attribute into a space), and the
// few characters XML 1.0 forbids (controls other than tab and line breaks)
// replaced by U+FFFD so the file stays well-formed whatever was entered.
void AppendEscaped(std::string& out, std::string_view text) {
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\r':
        out += "&#13;";
        break;
      case '\t':
        out += "&#9;";
        break;
      default:
        if (c < 0x20) {
          out += "\xEF\xBF\xBD";
        } else {
          out += ch;
        }
    }
  }
}

using Attrs = std::vector<std::pair<std::string_view, std::string>>;

class XmlWriter {
 public:
  XmlWriter(std::ofstream& out, int depth) : out_(out), depth_(depth) {}
  ~XmlWriter() { Flush(); }

  void Open(std::string_view tag, const Attrs& attrs = {}) {
    Indent();
    Start(tag, attrs);
    buf_ += ">\n";
    ++depth_;
  }
  void Empty(std::string_view tag, const Attrs& attrs = {}) {
    Indent();
    Start(tag, attrs);
    buf_ += "/>\n";
  }
  void Text(std::string_view tag, std::string_view text, const Attrs& attrs = {}) {
    Indent();
    Start(tag, attrs);
    buf_ += '>';
    AppendEscaped(buf_, text);
    buf_ += "</";
    buf_ += tag;
    buf_ += ">\n";
  }
  void Close(std::string_view tag) {
    --depth_;
    Indent();
    buf_ += "</";
    buf_ += tag;
    buf_ += ">\n";
    if (buf_.size() > (1 << 16)) Flush();
  }
  void Raw(std::string_view text) { buf_ += text; }
  void Flush() {
    out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
  }

 private:
  void Indent() { buf_.append(static_cast<size_t>(depth_) * 2, ' '); }
  void Start(std::string_view tag, const Attrs& attrs) {
    buf_ += '<';
    buf_ += tag;
    for (const auto& [name, value] : attrs) {
      buf_ += ' ';
      buf_ += name;
      buf_ += "=\"";
      AppendEscaped(buf_, value);
      buf_ += '"';
    }
  }

  std::ofstream& out_;
  std::string buf_;
  int depth_ = 0;
};

// --- OIDs ----------------------------------------------------------------
// Group and item ids are unique within a form only, so their OIDs carry the
// form's id.

std::string VisitOid(std::string_view visit) { return "SE." + std::string(visit); }
std::string FormOid(std::string_view form) { return "F." + std::string(form); }
std::string GroupOid(std::string_view form, std::string_view group) {
  return "IG." + std::string(form) + "." + std::string(group);
}
std::string ItemOid(std::string_view form, std::string_view item) {
  return "I." + std::string(form) + "." + std::string(item);
}
std::string CodeListOid(std::string_view codelist) { return "CL." + std::string(codelist); }
std::string UnitOid(std::string_view unit) { return "MU." + std::string(unit); }
std::string UserOid(std::string_view user) { return "USR." + std::string(user); }
std::string SiteOid(std::string_view site) { return "LOC." + std::string(site); }
std::string MetaDataVersionOid(const study::Study& study) { return "MDV." + study.version; }
constexpr std::string_view kSponsorLocation = "LOC.SPONSOR";

// ODM's xs:dateTime, to the microsecond, in UTC.
std::string OdmTime(int64_t time_us) { return FormatTimeMicros(time_us); }

std::string_view OdmDataType(const study::Item& item) {
  switch (item.type) {
    case study::ItemType::kInteger:
      return "integer";
    case study::ItemType::kDecimal:
      return "float";
    case study::ItemType::kDate:
      return "date";
    case study::ItemType::kPartialDate:
      return "partialDate";
    case study::ItemType::kTime:
      return "time";
    case study::ItemType::kDateTime:
      return "datetime";
    case study::ItemType::kBoolean:
      return "boolean";
    case study::ItemType::kAttachment:
      return "URI";
    case study::ItemType::kText:
    case study::ItemType::kChoice:
    case study::ItemType::kMultiChoice:
      return "text";
  }
  return "text";
}

// --- Metadata ------------------------------------------------------------

void WriteTranslated(XmlWriter& xml, std::string_view tag, std::string_view text) {
  xml.Open(tag);
  xml.Text("TranslatedText", text, {{"xml:lang", "en"}});
  xml.Close(tag);
}

void WriteRangeChecks(XmlWriter& xml, const study::Range& range, std::string_view soft_hard) {
  auto check = [&](std::string_view comparator, double bound) {
    xml.Open("RangeCheck", {{"Comparator", std::string(comparator)}, {"SoftHard", std::string(soft_hard)}});
    xml.Text("CheckValue", study::FormatBound(bound));
    xml.Close("RangeCheck");
  };
  if (range.min) check("GE", *range.min);
  if (range.max) check("LE", *range.max);
}

void WriteMetadata(XmlWriter& xml, const study::Study& study, TransferReport& report) {
  xml.Open("Study", {{"OID", study.id}});
  xml.Open("GlobalVariables");
  xml.Text("StudyName", study.id);
  xml.Text("StudyDescription", study.title);
  xml.Text("ProtocolName", study.id);
  xml.Close("GlobalVariables");

  std::set<std::string> units;
  for (const auto& form : study.forms) {
    for (const auto& group : form.groups) {
      for (const auto& item : group.items) {
        if (!item.unit.empty()) units.insert(item.unit);
      }
    }
  }
  if (!units.empty()) {
    xml.Open("BasicDefinitions");
    for (const auto& unit : units) {
      xml.Open("MeasurementUnit", {{"OID", UnitOid(unit)}, {"Name", unit}});
      WriteTranslated(xml, "Symbol", unit);
      xml.Close("MeasurementUnit");
    }
    xml.Close("BasicDefinitions");
  }

  xml.Open("MetaDataVersion", {{"OID", MetaDataVersionOid(study)}, {"Name", study.id + " version " + study.version}});
  xml.Open("Protocol");
  int order = 0;
  for (const auto& visit : study.visits) {
    xml.Empty("StudyEventRef", {{"StudyEventOID", VisitOid(visit.id)},
                                {"OrderNumber", std::to_string(++order)},
                                {"Mandatory", visit.unscheduled ? "No" : "Yes"}});
  }
  xml.Close("Protocol");
  for (const auto& visit : study.visits) {
    const bool repeating = visit.unscheduled || visit.repeat_every > 0;
    xml.Open("StudyEventDef", {{"OID", VisitOid(visit.id)},
                               {"Name", visit.name},
                               {"Repeating", repeating ? "Yes" : "No"},
                               {"Type", visit.unscheduled ? "Unscheduled" : "Scheduled"}});
    int form_order = 0;
    for (const auto& form : visit.forms) {
      xml.Empty("FormRef",
                {{"FormOID", FormOid(form)}, {"OrderNumber", std::to_string(++form_order)}, {"Mandatory", "No"}});
    }
    xml.Close("StudyEventDef");
  }
  for (const auto& form : study.forms) {
    xml.Open("FormDef", {{"OID", FormOid(form.id)}, {"Name", form.name}, {"Repeating", "No"}});
    int group_order = 0;
    for (const auto& group : form.groups) {
      xml.Empty("ItemGroupRef", {{"ItemGroupOID", GroupOid(form.id, group.id)},
                                 {"OrderNumber", std::to_string(++group_order)},
                                 {"Mandatory", "No"}});
    }
    xml.Close("FormDef");
  }
  for (const auto& form : study.forms) {
    for (const auto& group : form.groups) {
      xml.Open("ItemGroupDef", {{"OID", GroupOid(form.id, group.id)},
                                {"Name", group.label.empty() ? group.id : group.label},
                                {"Repeating", group.repeating ? "Yes" : "No"}});
      int item_order = 0;
      for (const auto& item : group.items) {
        Attrs ref = {{"ItemOID", ItemOid(form.id, item.id)},
                     {"OrderNumber", std::to_string(++item_order)},
                     {"Mandatory", item.required ? "Yes" : "No"}};
        if (!item.derive.empty()) ref.push_back({"MethodOID", "MT." + form.id + "." + item.id});
        if (!item.visible_if.empty()) {
          ref.push_back({"CollectionExceptionConditionOID", "COND." + form.id + "." + item.id});
        }
        xml.Empty("ItemRef", ref);
      }
      xml.Close("ItemGroupDef");
    }
  }
  size_t checks = 0;
  for (const auto& form : study.forms) {
    checks += form.checks.size();
    for (const auto& group : form.groups) {
      for (const auto& item : group.items) {
        Attrs attrs = {
            {"OID", ItemOid(form.id, item.id)}, {"Name", item.id}, {"DataType", std::string(OdmDataType(item))}};
        if (item.max_length > 0) attrs.push_back({"Length", std::to_string(item.max_length)});
        if (item.type == study::ItemType::kDecimal && item.precision >= 0) {
          attrs.push_back({"SignificantDigits", std::to_string(item.precision)});
        }
        xml.Open("ItemDef", attrs);
        WriteTranslated(xml, "Question", item.label);
        if (!item.unit.empty()) xml.Empty("MeasurementUnitRef", {{"MeasurementUnitOID", UnitOid(item.unit)}});
        if (item.hard_range) WriteRangeChecks(xml, *item.hard_range, "Hard");
        if (item.soft_range) WriteRangeChecks(xml, *item.soft_range, "Soft");
        if (!item.codelist.empty()) xml.Empty("CodeListRef", {{"CodeListOID", CodeListOid(item.codelist)}});
        xml.Close("ItemDef");
      }
    }
  }
  for (const auto& codelist : study.codelists) {
    xml.Open("CodeList", {{"OID", CodeListOid(codelist.id)}, {"Name", codelist.id}, {"DataType", "text"}});
    int rank = 0;
    for (const auto& code : codelist.codes) {
      xml.Open("CodeListItem", {{"CodedValue", code.code}, {"OrderNumber", std::to_string(++rank)}});
      WriteTranslated(xml, "Decode", code.label.empty() ? code.code : code.label);
      xml.Close("CodeListItem");
    }
    xml.Close("CodeList");
  }
  // The study's own expressions, in its rule language (doc/rule_language.md):
  // ODM carries the text and says which language it is in.
  for (const auto& form : study.forms) {
    for (const auto& group : form.groups) {
      for (const auto& item : group.items) {
        if (item.visible_if.empty()) continue;
        xml.Open("ConditionDef", {{"OID", "COND." + form.id + "." + item.id}, {"Name", "Skip " + item.id}});
        WriteTranslated(xml, "Description", "Not collected unless: " + item.visible_if);
        xml.Text("FormalExpression", "not (" + item.visible_if + ")", {{"Context", "trialcore"}});
        xml.Close("ConditionDef");
      }
    }
  }
  for (const auto& form : study.forms) {
    for (const auto& group : form.groups) {
      for (const auto& item : group.items) {
        if (item.derive.empty()) continue;
        xml.Open("MethodDef",
                 {{"OID", "MT." + form.id + "." + item.id}, {"Name", "Derive " + item.id}, {"Type", "Computation"}});
        WriteTranslated(xml, "Description", item.derive);
        xml.Text("FormalExpression", item.derive, {{"Context", "trialcore"}});
        xml.Close("MethodDef");
      }
    }
  }
  xml.Close("MetaDataVersion");
  xml.Close("Study");
  if (checks > 0) {
    report.not_carried.push_back({std::to_string(checks) + " edit checks", "metadata",
                                  "ODM 1.3.2 has no element for checks across items; they stay in the study file"});
  }
}

// --- Clinical data ---------------------------------------------------------

// Where an entity path of a subject's stream points: an item's value (or its
// "not done" reason), a row's removal, or something ODM has no element for.
struct DataPath {
  enum Kind { kValue, kNotDone, kRowRemoved, kOther } kind = kOther;
  std::string visit, form, group, item;
  int row = 0;
};

DataPath ParseDataPath(const study::Study& study, std::string_view rest) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= rest.size()) {
    const size_t slash = rest.find('/', start);
    parts.push_back(rest.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  DataPath p;
  if (parts.size() < 3 || !study.FindVisitInstance(parts[0]).ok()) return p;
  const study::Form* form = study.FindForm(parts[1]);
  if (form == nullptr) return p;
  p.visit = std::string(parts[0]);
  p.form = std::string(parts[1]);
  auto row_number = [](std::string_view text) {
    int n = 0;
    for (char c : text) {
      if (c < '0' || c > '9' || n > 1000000) return 0;
      n = n * 10 + (c - '0');
    }
    return n;
  };
  const study::ItemGroup* group = nullptr;
  for (const auto& g : form->groups) {
    if (g.id == parts[2] && g.repeating) group = &g;
  }
  if (group != nullptr && parts.size() >= 4) {
    p.group = group->id;
    p.row = row_number(parts[3]);
    if (p.row == 0) return DataPath{};
    if (parts.size() == 5 && parts[4] == "removed") {
      p.kind = DataPath::kRowRemoved;
      return p;
    }
    parts.erase(parts.begin() + 2, parts.begin() + 4);
  } else {
    const study::ItemGroup* holder = nullptr;
    if (form->FindItem(parts[2], &holder) == nullptr || holder == nullptr) return DataPath{};
    p.group = holder->id;
  }
  // parts: visit, form, item [, not_done]
  if (parts.size() < 3 || parts.size() > 4) return DataPath{};
  const study::ItemGroup* holder = nullptr;
  if (form->FindItem(parts[2], &holder) == nullptr || holder == nullptr || holder->id != p.group) return DataPath{};
  p.item = std::string(parts[2]);
  if (parts.size() == 3) {
    p.kind = DataPath::kValue;
  } else if (parts[3] == "not_done") {
    p.kind = DataPath::kNotDone;
  }
  return p;
}

std::string ValueText(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::kBool:
      return value.as_bool() ? "true" : "false";
    case Value::Kind::kInt:
      return std::to_string(value.as_int());
    case Value::Kind::kDecimal:
      return value.as_decimal().text();
    case Value::Kind::kString:
      return value.as_string();
    case Value::Kind::kArray: {
      std::string out;
      for (const auto& v : value.as_array()) out += (out.empty() ? "" : ",") + ValueText(v);
      return out;
    }
    case Value::Kind::kNull:
    case Value::Kind::kObject:
      return "";
  }
  return "";
}

std::string VisitBase(const std::string& instance) { return instance.substr(0, instance.find('#')); }
std::string VisitKey(const std::string& instance) {
  const size_t hash = instance.find('#');
  return hash == std::string::npos ? "" : instance.substr(hash + 1);
}

struct Counts {
  uint64_t subjects = 0, values_read = 0, values_written = 0, audit_records = 0, signatures = 0;
  uint64_t queries = 0, sdv = 0, statuses = 0, safety = 0, hidden = 0, identifying = 0, not_in_study = 0;
  uint64_t other = 0, attachments = 0;
};

class ClinicalWriter {
 public:
  ClinicalWriter(XmlWriter& xml, const study::Study& study, const OdmExportOptions& options, Counts& counts)
      : xml_(xml),
        study_(study),
        options_(options),
        counts_(counts),
        blinded_(!options.roles.empty() && std::any_of(options.roles.begin(), options.roles.end(),
                                                       [](const std::string& r) { return capture::BlindedRole(r); })) {}

  Status Subject(EventStore& store, const std::string& study_id, const std::string& subject) {
    present_.clear();
    site_.clear();
    ++counts_.subjects;
    EventFilter filter;
    filter.study = study_id;
    filter.stream = "subject/" + subject;
    const std::string prefix = *filter.stream + "/";
    return store.ForEachEvent(filter, [&](const Event& e) {
      users_.insert(e.actor.user);
      WriteEvent(e, subject, prefix);
      return Status::Ok();
    });
  }

  const std::set<std::string>& users() const { return users_; }
  const std::set<std::string>& sites() const { return sites_seen_; }

 private:
  struct Change {
    DataPath path;
    const Value* value;
    study::Disclosure disclosure = study::Disclosure::kFull;
    std::pair<size_t, size_t> order{};  // the group's place in the form, the item's in the group
  };

  std::pair<size_t, size_t> OrderOf(const DataPath& p) const {
    const study::Form* form = study_.FindForm(p.form);
    if (form == nullptr) return {};
    for (size_t g = 0; g < form->groups.size(); ++g) {
      if (form->groups[g].id != p.group) continue;
      for (size_t i = 0; i < form->groups[g].items.size(); ++i) {
        if (form->groups[g].items[i].id == p.item) return {g, i};
      }
      return {g, 0};
    }
    return {};
  }

  // What the view may see of an item: nothing when it is unblinded-only
  // and the view blinded; otherwise as the roles' disclosure says.
  std::optional<study::Disclosure> Visible(const DataPath& p) {
    if (blinded_ && capture::HiddenItem(study_, p.form, p.item)) return std::nullopt;
    if (options_.roles.empty()) return study::Disclosure::kFull;
    const study::Form* form = study_.FindForm(p.form);
    const study::Item* item = form ? form->FindItem(p.item) : nullptr;
    if (item == nullptr) return study::Disclosure::kFull;
    return capture::DisclosureTo(*item, options_.roles);
  }

  void AuditRecord(const Event& e, bool reason_shown) {
    xml_.Open("AuditRecord");
    xml_.Empty("UserRef", {{"UserOID", UserOid(e.actor.user)}});
    xml_.Empty("LocationRef", {{"LocationOID", site_.empty() ? std::string(kSponsorLocation) : SiteOid(site_)}});
    xml_.Text("DateTimeStamp", OdmTime(e.time_us));
    if (reason_shown && !e.reason.empty()) xml_.Text("ReasonForChange", e.reason);
    xml_.Text("SourceID", "trialcore event " + std::to_string(e.seq) + " (" + e.type + ", as " + e.actor.role + ")");
    xml_.Close("AuditRecord");
    ++counts_.audit_records;
  }

  void WriteEvent(const Event& e, const std::string& subject, const std::string& prefix) {
    const Value* set = e.payload.Find("set");
    std::vector<Change> changes;
    bool reason_withheld = false;
    bool opened = false;
    if (set != nullptr && set->is_object()) {
      for (const auto& [path, value] : set->as_object()) {
        if (path.rfind(prefix, 0) != 0) {
          ++counts_.other;
          continue;
        }
        const std::string_view rest = std::string_view(path).substr(prefix.size());
        if (rest == "site") {
          site_ = value.is_string() ? value.as_string() : "";
          sites_seen_.insert(site_);
          opened = e.type == "subject.screened";
          continue;
        }
        DataPath p = ParseDataPath(study_, rest);
        if (p.kind == DataPath::kOther) {
          Tally(e.type, rest);
          continue;
        }
        if (p.kind == DataPath::kRowRemoved) {
          changes.push_back({p, &value, study::Disclosure::kFull, OrderOf(p)});
          continue;
        }
        if (p.kind == DataPath::kValue) ++counts_.values_read;
        const std::optional<study::Disclosure> seen = Visible(p);
        if (!seen || *seen == study::Disclosure::kHidden) {
          // Nothing of it, nor the reason, which may quote it.
          reason_withheld = true;
          if (p.kind == DataPath::kValue) (seen ? counts_.identifying : counts_.hidden)++;
          continue;
        }
        if (*seen == study::Disclosure::kYearOnly) reason_withheld = true;
        if (value.kind() == Value::Kind::kObject) {
          ++counts_.attachments;
          continue;
        }
        changes.push_back({p, &value, *seen, OrderOf(p)});
      }
    }
    // A removed row's values are removed with it (ODM's ItemGroupData
    // Remove): they are not changes of their own.
    const auto row_removal = std::find_if(changes.begin(), changes.end(),
                                          [](const Change& c) { return c.path.kind == DataPath::kRowRemoved; });
    if (row_removal != changes.end()) {  // a removal event removes one row
      const DataPath row = row_removal->path;
      const auto before = changes.size();
      std::erase_if(changes, [&](const Change& c) {
        return c.path.kind == DataPath::kValue && c.value->is_null() && c.path.visit == row.visit &&
               c.path.form == row.form && c.path.group == row.group && c.path.row == row.row;
      });
      counts_.values_read -= before - changes.size();
    }
    const bool signed_here = e.type == "signature.applied";
    const bool invalidated = e.type == "signature.invalidated";
    if (!opened && changes.empty() && !signed_here && !invalidated) return;

    xml_.Open("SubjectData", {{"SubjectKey", subject}, {"TransactionType", opened ? "Insert" : "Context"}});
    if (opened) {
      AuditRecord(e, !reason_withheld);
      xml_.Empty("SiteRef", {{"LocationOID", SiteOid(site_)}});
    }
    if (signed_here) WriteSignature(e);
    if (invalidated) {
      xml_.Open("Annotation", {{"SeqNum", "1"}});
      xml_.Text("Comment", "signature invalidated at " + OdmTime(e.time_us) + ": " + InvalidationText(e),
                {{"SponsorOrSite", "Site"}});
      xml_.Close("Annotation");
    }
    // In the form's order (the log keeps them by path, which interleaves the
    // items of a form's groups), so each container opens once.
    std::stable_sort(changes.begin(), changes.end(), [&](const Change& a, const Change& b) {
      return std::tie(a.path.visit, a.path.form, a.order.first, a.path.row, a.order.second) <
             std::tie(b.path.visit, b.path.form, b.order.first, b.path.row, b.order.second);
    });
    std::string open_visit, open_form, open_group;
    int open_row = -1;
    auto close_group = [&] {
      if (!open_group.empty()) xml_.Close("ItemGroupData");
      open_group.clear();
      open_row = -1;
    };
    auto close_form = [&] {
      close_group();
      if (!open_form.empty()) xml_.Close("FormData");
      open_form.clear();
    };
    auto close_visit = [&] {
      close_form();
      if (!open_visit.empty()) xml_.Close("StudyEventData");
      open_visit.clear();
    };
    for (const Change& c : changes) {
      const DataPath& p = c.path;
      if (p.visit != open_visit) {
        close_visit();
        Attrs attrs = {{"StudyEventOID", VisitOid(VisitBase(p.visit))}};
        const study::Visit* visit = study_.FindVisit(VisitBase(p.visit));
        const bool repeating = visit != nullptr && (visit->unscheduled || visit->repeat_every > 0);
        if (repeating) attrs.push_back({"StudyEventRepeatKey", VisitKey(p.visit).empty() ? "1" : VisitKey(p.visit)});
        attrs.push_back({"TransactionType", "Context"});
        xml_.Open("StudyEventData", attrs);
        open_visit = p.visit;
      }
      if (p.form != open_form) {
        close_form();
        xml_.Open("FormData", {{"FormOID", FormOid(p.form)}, {"TransactionType", "Context"}});
        open_form = p.form;
      }
      const bool removal = p.kind == DataPath::kRowRemoved;
      if (p.group != open_group || p.row != open_row || removal) {
        close_group();
        Attrs attrs = {{"ItemGroupOID", GroupOid(p.form, p.group)}};
        if (p.row > 0) attrs.push_back({"ItemGroupRepeatKey", std::to_string(p.row)});
        attrs.push_back({"TransactionType", removal ? "Remove" : "Context"});
        xml_.Open("ItemGroupData", attrs);
        open_group = p.group;
        open_row = p.row;
        if (removal) {
          AuditRecord(e, !reason_withheld);
          close_group();
          continue;
        }
      }
      WriteItem(e, c, !reason_withheld);
    }
    close_visit();
    xml_.Close("SubjectData");
  }

  void WriteItem(const Event& e, const Change& c, bool reason_shown) {
    const DataPath& p = c.path;
    const std::string key = p.visit + "/" + p.form + "/" + p.group + "/" + std::to_string(p.row) + "/" + p.item;
    if (p.kind == DataPath::kNotDone) {
      if (c.value->is_null()) return;  // cleared: the value set beside it says the rest
      xml_.Open("ItemData", {{"ItemOID", ItemOid(p.form, p.item)},
                             {"TransactionType", present_.count(key) ? "Update" : "Insert"},
                             {"IsNull", "Yes"}});
      AuditRecord(e, reason_shown);
      xml_.Open("Annotation", {{"SeqNum", "1"}});
      xml_.Text("Comment", "not done: " + ValueText(*c.value), {{"SponsorOrSite", "Site"}});
      xml_.Close("Annotation");
      xml_.Close("ItemData");
      return;
    }
    Attrs attrs = {{"ItemOID", ItemOid(p.form, p.item)}};
    if (c.value->is_null()) {
      attrs.push_back({"TransactionType", "Remove"});
      present_.erase(key);
    } else {
      attrs.push_back({"Value", ValueText(capture::Disclosed(*c.value, c.disclosure))});
      attrs.push_back({"TransactionType", present_.count(key) ? "Update" : "Insert"});
      present_.insert(key);
    }
    xml_.Open("ItemData", attrs);
    AuditRecord(e, reason_shown);
    xml_.Close("ItemData");
    ++counts_.values_written;
  }

  static std::string InvalidationText(const Event& e) {
    const Value* n = e.payload.Find("signature");
    std::string text = n && n->kind() == Value::Kind::kInt ? "signature " + std::to_string(n->as_int()) : "a signature";
    return text + " no longer covers the data as it stands (changed by " + e.actor.user + ")";
  }

  void WriteSignature(const Event& e) {
    auto text = [&](std::string_view key) {
      const Value* v = e.payload.Find(key);
      return v != nullptr && v->is_string() ? v->as_string() : std::string();
    };
    const std::string visit = text("visit"), form = text("form"), meaning = text("meaning");
    const bool hide_hash = blinded_ && capture::ScopeHoldsHidden(study_, visit, form);
    auto signature = [&] {
      xml_.Open("Signature");
      xml_.Empty("UserRef", {{"UserOID", UserOid(e.actor.user)}});
      xml_.Empty("LocationRef", {{"LocationOID", site_.empty() ? std::string(kSponsorLocation) : SiteOid(site_)}});
      xml_.Empty("SignatureRef", {{"SignatureOID", "SD." + meaning}});
      xml_.Text("DateTimeStamp", OdmTime(e.time_us));
      xml_.Close("Signature");
      ++counts_.signatures;
    };
    std::string note = "signed (" + meaning + ") by " + text("signer_name") + " as " + e.actor.role +
                       ", trialcore event " + std::to_string(e.seq);
    if (!hide_hash) note += "; SHA-256 of the signed content " + text("content_hash");
    auto annotation = [&] {
      xml_.Open("Annotation", {{"SeqNum", "1"}});
      xml_.Text("Comment", note, {{"SponsorOrSite", "Site"}});
      xml_.Close("Annotation");
    };
    if (visit.empty()) {  // the casebook: SubjectData's own signature
      signature();
      annotation();
      return;
    }
    Attrs attrs = {{"StudyEventOID", VisitOid(VisitBase(visit))}};
    const study::Visit* v = study_.FindVisit(VisitBase(visit));
    if (v != nullptr && (v->unscheduled || v->repeat_every > 0)) {
      attrs.push_back({"StudyEventRepeatKey", VisitKey(visit).empty() ? "1" : VisitKey(visit)});
    }
    attrs.push_back({"TransactionType", "Context"});
    xml_.Open("StudyEventData", attrs);
    if (form.empty()) {
      signature();
      annotation();
    } else {
      xml_.Open("FormData", {{"FormOID", FormOid(form)}, {"TransactionType", "Context"}});
      signature();
      annotation();
      xml_.Close("FormData");
    }
    xml_.Close("StudyEventData");
  }

  void Tally(const std::string& type, std::string_view rest) {
    if (rest.rfind("queries/", 0) == 0 || type.rfind("query.", 0) == 0) {
      ++counts_.queries;
    } else if (type == "sdv.verified" || rest.ends_with("/verified")) {
      ++counts_.sdv;
    } else if (rest == "status" || rest == "inactive" || rest.find("/status") != std::string_view::npos ||
               type.rfind("form.", 0) == 0 || type.rfind("subject.", 0) == 0 || type.rfind("visit.", 0) == 0) {
      ++counts_.statuses;
    } else if (type.rfind("safety.", 0) == 0 || type.rfind("ae.", 0) == 0 || rest.rfind("safety_cases", 0) == 0) {
      ++counts_.safety;
    } else if (rest.rfind("signatures/", 0) != 0) {
      ++counts_.not_in_study;
    }
  }

  XmlWriter& xml_;
  const study::Study& study_;
  const OdmExportOptions& options_;
  Counts& counts_;
  const bool blinded_;
  std::unordered_set<std::string> present_;  // the subject's items holding a value, by visit/form/group/row/item
  std::string site_;
  std::set<std::string> users_, sites_seen_;
};

void WriteAdminData(XmlWriter& xml, const study::Study& study, const std::set<std::string>& users,
                    const std::set<std::string>& sites_seen, int64_t now_us) {
  xml.Open("AdminData", {{"StudyOID", study.id}});
  for (const auto& user : users) {
    xml.Open("User", {{"OID", UserOid(user)}});
    xml.Text("LoginName", user);
    xml.Close("User");
  }
  const std::string effective = OdmTime(now_us).substr(0, 10);
  auto location = [&](const std::string& oid, const std::string& name, std::string_view type) {
    xml.Open("Location", {{"OID", oid}, {"Name", name}, {"LocationType", std::string(type)}});
    xml.Empty(
        "MetaDataVersionRef",
        {{"StudyOID", study.id}, {"MetaDataVersionOID", MetaDataVersionOid(study)}, {"EffectiveDate", effective}});
    xml.Close("Location");
  };
  location(std::string(kSponsorLocation), study.sponsor.empty() ? "Sponsor" : study.sponsor, "Sponsor");
  std::set<std::string> written;
  for (const auto& site : study.sites) {
    location(SiteOid(site.id), site.name.empty() ? site.id : site.name, "Site");
    written.insert(site.id);
  }
  for (const auto& site : sites_seen) {  // a site an earlier study version had
    if (!site.empty() && written.insert(site).second) location(SiteOid(site), site, "Site");
  }
  for (std::string_view meaning : {"authorship", "review", "approval"}) {
    xml.Open("SignatureDef", {{"OID", "SD." + std::string(meaning)}, {"Methodology", "Electronic"}});
    xml.Text("Meaning", std::string(meaning));
    xml.Text("LegalReason", "21 CFR Part 11 electronic signature: the signer re-entered their password (" +
                                std::string(meaning) + ")");
    xml.Close("SignatureDef");
  }
  xml.Close("AdminData");
}

// A file that is removed unless kept: nothing half-written stays behind.
struct TempFile {
  std::string path;
  bool keep = false;
  ~TempFile() {
    if (!keep && !path.empty()) std::remove(path.c_str());
  }
};

}  // namespace

Result<TransferReport> ExportOdm(EventStore& store, const std::string& study_id, const study::Study& study,
                                 const OdmExportOptions& options, const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::error_code ec;
  if (fs::is_directory(target, ec)) return InvalidArgument(path + " is a directory; name the ODM file to write");
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) return InvalidArgument(path + ": no such directory " + dir.string());
  const std::string stem = (dir / ("." + target.filename().string())).string();
  TempFile clinical{stem + ".clinical.partial"};
  TempFile whole{stem + ".partial"};

  TC_ASSIGN_OR_RETURN(std::vector<std::string> subjects, capture::SubjectIds(&store, study_id));
  Counts counts;
  std::set<std::string> users, sites_seen;
  {
    std::ofstream out(clinical.path, std::ios::binary | std::ios::trunc);
    if (!out) return InvalidArgument(clinical.path + ": cannot write");
    XmlWriter xml(out, 1);
    xml.Open("ClinicalData", {{"StudyOID", study.id}, {"MetaDataVersionOID", MetaDataVersionOid(study)}});
    ClinicalWriter writer(xml, study, options, counts);
    size_t done = 0;
    for (const std::string& subject : subjects) {
      TC_RETURN_IF_ERROR(writer.Subject(store, study_id, subject));
      if (options.progress) options.progress(++done, subjects.size());
    }
    xml.Close("ClinicalData");
    xml.Flush();
    users = writer.users();
    sites_seen = writer.sites();
    if (!out.flush()) return InvalidArgument(clinical.path + ": write failed (disk full?)");
  }

  TransferReport report;
  {
    std::ofstream out(whole.path, std::ios::binary | std::ios::trunc);
    if (!out) return InvalidArgument(whole.path + ": cannot write");
    XmlWriter xml(out, 0);
    xml.Raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.Open("ODM", {{"xmlns", "http://www.cdisc.org/ns/odm/v1.3"},
                     {"FileType", "Transactional"},
                     {"Granularity", "All"},
                     {"FileOID", study.id + "." + OdmTime(options.now_us)},
                     {"CreationDateTime", OdmTime(options.now_us)},
                     {"ODMVersion", "1.3.2"},
                     {"Originator", study.sponsor.empty() ? study.id : study.sponsor},
                     {"SourceSystem", "trialcore"},
                     {"SourceSystemVersion", options.source_system_version}});
    WriteMetadata(xml, study, report);
    WriteAdminData(xml, study, users, sites_seen, options.now_us);
    xml.Flush();
    std::ifstream in(clinical.path, std::ios::binary);
    out << in.rdbuf();
    xml.Raw("</ODM>\n");
    xml.Flush();
    if (!out.flush()) return InvalidArgument(whole.path + ": write failed (disk full?)");
  }
  fs::rename(whole.path, target, ec);
  if (ec) return InvalidArgument(path + ": cannot write (" + ec.message() + ")");
  whole.keep = true;

  report.CountOf("subjects") = {"subjects", counts.subjects, counts.subjects};
  report.CountOf("item values") = {"item values", counts.values_read, counts.values_written};
  report.CountOf("audit records") = {"audit records", counts.audit_records, counts.audit_records};
  report.CountOf("signatures") = {"signatures", counts.signatures, counts.signatures};
  auto not_carried = [&](uint64_t n, const std::string& what, const std::string& why) {
    if (n > 0) report.not_carried.push_back({std::to_string(n) + " changes", what, why});
  };
  not_carried(counts.hidden, "unblinded-only item values", "the export is read as a blinded role");
  not_carried(counts.identifying, "identifying item values", "withheld from the roles the export is read as");
  not_carried(counts.queries, "queries", "ODM 1.3.2 has no element for data queries");
  not_carried(counts.sdv, "source data verification marks", "ODM 1.3.2 has no element for them");
  not_carried(counts.statuses, "subject, visit and form status changes", "ODM 1.3.2 has no element for them");
  not_carried(counts.safety, "safety case and coding events", "sent as E2B(R3) (trialcore safety export-e2b)");
  not_carried(counts.attachments, "attachments", "ODM carries no file content");
  not_carried(counts.not_in_study, "values of items the study version in force no longer has",
              "ODM's MetaDataVersion here is the version in force");
  return report;
}

}  // namespace trialcore::standards
