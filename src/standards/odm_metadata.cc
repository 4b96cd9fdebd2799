// ODM metadata to a study draft, in the order the study file needs it: code
// lists, then forms (groups, items, ranges), then visits, then the
// expressions, which need every item's id to be known.
#include "standards/odm_metadata.h"

#include <libxml/tree.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "core/xml_doc.h"
#include "standards/expression_translate.h"

#ifndef TRIALCORE_ODM_SCHEMA
#define TRIALCORE_ODM_SCHEMA ""
#endif

namespace trialcore::standards {

std::string DefaultOdmSchemaPath() { return TRIALCORE_ODM_SCHEMA; }

namespace {

constexpr std::string_view kOdmNs = "http://www.cdisc.org/ns/odm/v1.3";
// Namespaces ODM 1.3.2 itself uses; anything else is a vendor's extension.
const std::set<std::string, std::less<>> kStandardNs = {
    std::string(kOdmNs), "http://www.w3.org/2000/09/xmldsig#", "http://www.w3.org/XML/1998/namespace",
    "http://www.w3.org/2001/XMLSchema-instance", "http://www.w3.org/1999/xlink"};

std::string_view Name(const xmlNode* n) { return reinterpret_cast<const char*>(n->name); }
std::string_view NsOf(const xmlNode* n) {
  return n->ns && n->ns->href ? reinterpret_cast<const char*>(n->ns->href) : "";
}
bool IsOdm(const xmlNode* n, std::string_view name) {
  return n->type == XML_ELEMENT_NODE && NsOf(n) == kOdmNs && Name(n) == name;
}

std::string Attr(const xmlNode* n, const char* name) {
  xmlChar* v = xmlGetNoNsProp(n, reinterpret_cast<const xmlChar*>(name));
  if (v == nullptr) return "";
  std::string out(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return out;
}

std::string Content(const xmlNode* n) {
  xmlChar* v = xmlNodeGetContent(n);
  if (v == nullptr) return "";
  std::string out(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return out;
}

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<xmlNode*> Children(const xmlNode* n, std::string_view name) {
  std::vector<xmlNode*> out;
  for (xmlNode* c = n->children; c != nullptr; c = c->next) {
    if (IsOdm(c, name)) out.push_back(c);
  }
  return out;
}
xmlNode* Child(const xmlNode* n, std::string_view name) {
  for (xmlNode* c = n->children; c != nullptr; c = c->next) {
    if (IsOdm(c, name)) return c;
  }
  return nullptr;
}

std::string LangOf(const xmlNode* n) {
  xmlChar* v = xmlGetNsProp(n, reinterpret_cast<const xmlChar*>("lang"), XML_XML_NAMESPACE);
  if (v == nullptr) return "";
  std::string out(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return out;
}

// The text of a Question, Description, Decode or ErrorMessage in the
// language asked for; else one without a language; else the first.
std::string Translated(const xmlNode* parent, const std::string& language) {
  if (parent == nullptr) return "";
  std::string untagged, first;
  bool have_untagged = false, have_first = false;
  for (xmlNode* t : Children(parent, "TranslatedText")) {
    std::string text = Trim(Content(t));
    std::string lang = LangOf(t);
    if (lang == language && !text.empty()) return text;
    if (lang.empty() && !have_untagged && !text.empty()) {
      untagged = text;
      have_untagged = true;
    }
    if (!have_first && !text.empty()) {
      first = text;
      have_first = true;
    }
  }
  return have_untagged ? untagged : first;
}

std::string FirstLanguage(const xmlNode* n) {
  for (const xmlNode* c = n; c != nullptr; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (IsOdm(c, "TranslatedText")) {
      std::string lang = LangOf(c);
      if (!lang.empty()) return lang;
    }
    if (std::string lang = FirstLanguage(c->children); !lang.empty()) return lang;
  }
  return "";
}

std::string Where(const char* element, const std::string& oid, const xmlNode* n) {
  return std::string(element) + " " + oid + " (line " + std::to_string(xmlGetLineNo(n)) + ")";
}

// Elements and attributes of vendor namespaces, counted and, when asked,
// taken out of the tree (so the rest can be checked against the schema).
struct VendorExtensions {
  uint64_t elements = 0, attributes = 0;
  std::set<std::string> namespaces;
};
void SetAsideVendorExtensions(xmlNode* n, bool remove, VendorExtensions* found) {
  for (xmlNode* c = n; c != nullptr;) {
    xmlNode* next = c->next;
    if (c->type == XML_ELEMENT_NODE) {
      if (!kStandardNs.contains(NsOf(c))) {
        ++found->elements;
        found->namespaces.insert(std::string(NsOf(c)));
        if (remove) {
          xmlUnlinkNode(c);
          xmlFreeNode(c);
        }
        c = next;
        continue;
      }
      for (xmlAttr* a = c->properties; a != nullptr;) {
        xmlAttr* next_attr = a->next;
        if (a->ns != nullptr && !kStandardNs.contains(reinterpret_cast<const char*>(a->ns->href))) {
          ++found->attributes;
          found->namespaces.insert(reinterpret_cast<const char*>(a->ns->href));
          if (remove) xmlRemoveProp(a);
        }
        a = next_attr;
      }
      SetAsideVendorExtensions(c->children, remove, found);
    }
    c = next;
  }
}

Result<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// X of "not (X)" when the parenthesis after not closes at the end (not of
// "not (A) or (B)"); "" otherwise.
std::string NegatedWhole(const std::string& text) {
  if (!text.starts_with("not (") || !text.ends_with(")")) return "";
  int depth = 0;
  char quote = 0;
  for (size_t i = 4; i < text.size(); ++i) {
    char c = text[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"') {
      quote = c;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && --depth == 0) {
      return i + 1 == text.size() ? text.substr(5, text.size() - 6) : "";
    }
  }
  return "";
}

struct ItemPlace {
  size_t form = 0, group = 0, item = 0;  // indexes into the draft
};

class OdmImporter {
 public:
  // units: each MeasurementUnit's OID and its symbol in the language.
  OdmImporter(xmlNode* mdv, std::string language, std::map<std::string, std::string> units, ImportedStudy* out)
      : mdv_(mdv),
        language_(std::move(language)),
        units_(std::move(units)),
        out_(out),
        s_(out->study),
        report_(out->report) {}

  void Run() {
    Index();
    CodeLists();
    Forms();
    Visits();
    Expressions();
  }

 private:
  void NotCarried(std::string where, std::string what, std::string why) {
    report_.not_carried.push_back({std::move(where), std::move(what), std::move(why)});
  }

  void Index() {
    for (xmlNode* c = mdv_->children; c != nullptr; c = c->next) {
      if (c->type != XML_ELEMENT_NODE || NsOf(c) != kOdmNs) continue;
      std::string oid = Attr(c, "OID");
      std::string_view name = Name(c);
      if (name == "StudyEventDef") {
        events_.push_back(c);
      } else if (name == "FormDef") {
        form_defs_.push_back(c);
      } else if (name == "ItemGroupDef") {
        groups_[oid] = c;
      } else if (name == "ItemDef") {
        items_[oid] = c;
      } else if (name == "CodeList") {
        codelist_defs_.push_back(c);
      } else if (name == "ConditionDef") {
        conditions_[oid] = c;
      } else if (name == "MethodDef") {
        methods_[oid] = c;
      } else if (name == "Protocol") {
        for (xmlNode* ref : Children(c, "StudyEventRef")) protocol_order_.push_back(Attr(ref, "StudyEventOID"));
      } else if (name == "Include") {
        NotCarried(Where("Include", Attr(c, "StudyOID") + "/" + Attr(c, "MetaDataVersionOID"), c),
                   "metadata included from another version", "the included version is not in this file");
      } else if (name == "Presentation") {
        NotCarried(Where("Presentation", oid, c), "presentation", "layout has no place in a study file");
      }
    }
    auto& r = report_;
    r.CountOf("visits").read = events_.size();
    r.CountOf("forms").read = form_defs_.size();
    r.CountOf("item groups").read = groups_.size();
    r.CountOf("items").read = items_.size();
    r.CountOf("code lists").read = codelist_defs_.size();
    uint64_t checks = 0;
    for (const auto& [oid, item] : items_) checks += Children(item, "RangeCheck").size();
    r.CountOf("checks").read = checks;
    r.CountOf("conditions").read = conditions_.size();
    r.CountOf("methods").read = methods_.size();
  }

  void CodeLists() {
    IdMaker ids;
    for (xmlNode* c : codelist_defs_) {
      study::CodeList cl;
      cl.oid = Attr(c, "OID");
      std::set<std::string> seen;
      for (xmlNode* e = c->children; e != nullptr; e = e->next) {
        bool item = IsOdm(e, "CodeListItem"), enumerated = IsOdm(e, "EnumeratedItem");
        if (!item && !enumerated) continue;
        study::Code code;
        code.code = Attr(e, "CodedValue");
        code.label = item ? Translated(Child(e, "Decode"), language_) : code.code;
        if (code.label.empty()) code.label = code.code;
        if (!seen.insert(code.code).second) {
          NotCarried(Where("CodeList", cl.oid, e), "code " + code.code + " a second time", "a code is listed once");
          continue;
        }
        cl.codes.push_back(code);
      }
      if (cl.codes.empty()) {
        const bool external = Child(c, "ExternalCodeList") != nullptr;
        NotCarried(Where("CodeList", cl.oid, c), external ? "external code list" : "empty code list",
                   external ? "its codes are in a dictionary outside the file; its items are imported as text"
                            : "it lists no codes; its items are imported as text");
        continue;
      }
      cl.id = ids.FromOid(cl.oid, "CL");
      codelist_ids_[cl.oid] = cl.id;
      s_.codelists.push_back(std::move(cl));
    }
  }

  std::string UnitOf(const xmlNode* item) {
    std::vector<xmlNode*> refs = Children(item, "MeasurementUnitRef");
    if (refs.empty()) return "";
    if (refs.size() > 1) {
      NotCarried(Where("ItemDef", Attr(item, "OID"), item), "units beyond the first",
                 "an item has one unit in a study file");
    }
    std::string oid = Attr(refs[0], "MeasurementUnitOID");
    auto it = units_.find(oid);
    return it == units_.end() ? oid : it->second;
  }

  study::ItemType TypeOf(const xmlNode* def, const std::string& data_type) {
    static const std::map<std::string, study::ItemType> kTypes = {
        {"integer", study::ItemType::kInteger},
        {"float", study::ItemType::kDecimal},
        {"double", study::ItemType::kDecimal},
        {"text", study::ItemType::kText},
        {"string", study::ItemType::kText},
        {"date", study::ItemType::kDate},
        {"time", study::ItemType::kTime},
        {"datetime", study::ItemType::kDateTime},
        {"partialDate", study::ItemType::kPartialDate},
        {"incompleteDate", study::ItemType::kPartialDate},
        {"boolean", study::ItemType::kBoolean},
        {"base64Binary", study::ItemType::kAttachment},
        {"hexBinary", study::ItemType::kAttachment},
    };
    if (auto it = kTypes.find(data_type); it != kTypes.end()) return it->second;
    NotCarried(Where("ItemDef", Attr(def, "OID"), def), "DataType " + data_type,
               "trialcore has no such type; the item is imported as text");
    return study::ItemType::kText;
  }

  study::Item MakeItem(const std::string& oid, xmlNode* def, IdMaker& ids) {
    study::Item it;
    it.oid = oid;
    it.id = ids.FromOid(oid, "I");
    it.label = Translated(Child(def, "Question"), language_);
    if (it.label.empty()) it.label = Translated(Child(def, "Description"), language_);
    if (it.label.empty()) it.label = Attr(def, "Name");
    it.type = TypeOf(def, Attr(def, "DataType"));
    it.unit = UnitOf(def);
    if (xmlNode* ref = Child(def, "CodeListRef")) {
      std::string cl = Attr(ref, "CodeListOID");
      if (auto found = codelist_ids_.find(cl); found != codelist_ids_.end()) {
        it.type = study::ItemType::kChoice;
        it.codelist = found->second;
      } else {
        codelists_missing_.insert(cl);
      }
    }
    const std::string length = Attr(def, "Length");
    if (it.type == study::ItemType::kText && !length.empty()) it.max_length = std::atoi(length.c_str());
    const std::string digits = Attr(def, "SignificantDigits");
    if (it.type == study::ItemType::kDecimal && !digits.empty()) it.precision = std::atoi(digits.c_str());
    return it;
  }

  void Forms() {
    IdMaker& ids = form_and_visit_ids_;
    for (xmlNode* fd : form_defs_) {
      study::Form form;
      form.oid = Attr(fd, "OID");
      form.name = Attr(fd, "Name");
      if (form.name.empty()) form.name = form.oid;
      const bool repeating_form = Attr(fd, "Repeating") == "Yes";
      IdMaker group_ids, item_ids;
      for (xmlNode* gref : Children(fd, "ItemGroupRef")) {
        std::string goid = Attr(gref, "ItemGroupOID");
        auto gdef = groups_.find(goid);
        if (gdef == groups_.end()) {
          NotCarried(Where("FormDef", form.oid, gref), "ItemGroupRef " + goid, "no ItemGroupDef has that OID");
          continue;
        }
        study::ItemGroup group;
        group.oid = goid;
        group.id = group_ids.FromOid(goid, "G");
        group.label = Translated(Child(gdef->second, "Description"), language_);
        if (group.label.empty()) group.label = Attr(gdef->second, "Name");
        group.repeating = Attr(gdef->second, "Repeating") == "Yes" || repeating_form;
        std::string group_condition = Attr(gref, "CollectionExceptionConditionOID");
        for (xmlNode* iref : Children(gdef->second, "ItemRef")) {
          std::string ioid = Attr(iref, "ItemOID");
          auto idef = items_.find(ioid);
          if (idef == items_.end()) {
            NotCarried(Where("ItemGroupDef", goid, iref), "ItemRef " + ioid, "no ItemDef has that OID");
            continue;
          }
          study::Item it = MakeItem(ioid, idef->second, item_ids);
          it.required = Attr(iref, "Mandatory") == "Yes";
          ItemPlace place{s_.forms.size(), form.groups.size(), group.items.size()};
          std::string condition = Attr(iref, "CollectionExceptionConditionOID");
          if (condition.empty()) condition = group_condition;
          if (!condition.empty()) condition_uses_.push_back({condition, place});
          if (std::string method = Attr(iref, "MethodOID"); !method.empty()) method_uses_.push_back({method, place});
          range_uses_.push_back({idef->second, place});
          item_places_.emplace(ioid, place);
          group_item_places_[goid + "\n" + ioid] = place;
          group.items.push_back(std::move(it));
        }
        if (group.items.empty()) {
          NotCarried(Where("ItemGroupDef", goid, gdef->second), "item group without items",
                     "a study file's item group holds at least one item");
          continue;
        }
        form.groups.push_back(std::move(group));
      }
      if (form.groups.empty()) {
        NotCarried(Where("FormDef", form.oid, fd), "form without items", "a study file's form holds at least one item");
        continue;
      }
      if (repeating_form) {
        out_->notes.push_back("form " + form.oid +
                              " repeats (Repeating=\"Yes\"): its item groups are repeating, a row "
                              "per repetition");
      }
      form.id = ids.FromOid(form.oid, "F");
      form_ids_[form.oid] = form.id;
      s_.forms.push_back(std::move(form));
    }
    for (const auto& cl : codelists_missing_) {
      const bool defined = std::any_of(codelist_defs_.begin(), codelist_defs_.end(),
                                       [&](const xmlNode* c) { return Attr(c, "OID") == cl; });
      if (!defined) NotCarried("CodeListRef " + cl, "code list", "no CodeList has that OID; its items are text");
    }
  }

  void Visits() {
    std::vector<xmlNode*> ordered;
    std::set<xmlNode*> placed;
    for (const std::string& oid : protocol_order_) {
      for (xmlNode* e : events_) {
        if (Attr(e, "OID") == oid && placed.insert(e).second) ordered.push_back(e);
      }
    }
    for (xmlNode* e : events_) {
      if (placed.insert(e).second) ordered.push_back(e);
    }
    int day = 0;
    bool numbered = false;
    for (xmlNode* e : ordered) {
      study::Visit v;
      v.oid = Attr(e, "OID");
      v.id = form_and_visit_ids_.FromOid(v.oid, "V");
      v.name = Attr(e, "Name");
      if (v.name.empty()) v.name = v.oid;
      const std::string type = Attr(e, "Type");
      const bool repeating = Attr(e, "Repeating") == "Yes";
      if (type == "Unscheduled" || type == "Common") {
        v.unscheduled = true;
      } else if (repeating) {
        // ODM 1.3.2 gives a repeating event no schedule to repeat on.
        v.unscheduled = true;
        out_->notes.push_back("visit " + v.id + " (" + v.oid +
                              ") repeats without a schedule: imported as unscheduled, so it can happen any number "
                              "of times");
      } else {
        v.day = ++day;
        numbered = true;
      }
      for (xmlNode* fref : Children(e, "FormRef")) {
        std::string foid = Attr(fref, "FormOID");
        auto f = form_ids_.find(foid);
        if (f == form_ids_.end()) continue;  // reported with the form
        v.forms.push_back(f->second);
        if (std::string c = Attr(fref, "CollectionExceptionConditionOID"); !c.empty()) {
          NotCarried(Where("FormRef", foid, fref), "condition " + c + " on the form in visit " + v.oid,
                     "a study file has no condition on a whole form; put visible_if on its items");
        }
      }
      s_.visits.push_back(std::move(v));
    }
    if (numbered) {
      out_->notes.push_back(
          "ODM 1.3.2 has no planned days: scheduled visits are days 1, 2, 3 … in protocol order; set "
          "their real days and windows");
    }
    if (s_.visits.empty()) {
      study::Visit v;
      v.id = form_and_visit_ids_.Make("VISIT1", "V");
      v.name = "Visit 1";
      v.day = 1;
      for (const auto& f : s_.forms) v.forms.push_back(f.id);
      out_->notes.push_back("the file defines no StudyEventDef: added visit " + v.id + " with every form");
      s_.visits.push_back(std::move(v));
    }
  }

  // --- Expressions ------------------------------------------------------

  study::Item& ItemAt(const ItemPlace& p) { return s_.forms[p.form].groups[p.group].items[p.item]; }

  // An item named by OID (or GROUP-OID) as read from an expression on an
  // item of form `from_form`.
  Result<RuleRef> Resolve(const std::vector<std::string>& parts, size_t from_form) {
    const ItemPlace* place = nullptr;
    if (parts.size() == 2) {
      auto it = group_item_places_.find(parts[0] + "\n" + parts[1]);
      if (it != group_item_places_.end()) place = &it->second;
    }
    if (place == nullptr && parts.size() == 1) {
      auto range = item_places_.equal_range(parts[0]);
      for (auto it = range.first; it != range.second; ++it) {
        if (it->second.form == from_form) {
          place = &it->second;
          break;
        }
      }
      if (place == nullptr && range.first != range.second) place = &range.first->second;
    }
    std::string name = parts.size() == 2 ? parts[0] + "-" + parts[1] : parts.empty() ? "" : parts[0];
    if (place == nullptr) return NotFound("the reference " + name + " names no item of the study");
    const study::Item& item = ItemAt(*place);
    std::string text = item.id;
    if (place->form != from_form) text = s_.forms[place->form].id + "." + text;
    return RuleRef{text, ValueKindOf(item.type)};
  }

  // The one FormalExpression of a ConditionDef or MethodDef that can be
  // translated, or the reason none can.
  std::string Translate(xmlNode* def, size_t from_form, bool condition, std::string* why) {
    std::vector<std::string> contexts;
    for (xmlNode* fe : Children(def, "FormalExpression")) {
      std::string context = Attr(fe, "Context");
      std::string text = Trim(Content(fe));
      contexts.push_back(context.empty() ? "(none)" : context);
      TranslateError error;
      auto resolve = [&](const ExprNode& ref) { return Resolve(ref.ref_parts, from_form); };
      std::unique_ptr<ExprNode> tree;
      if (context == "OpenEDC") {
        tree = ParseForeignExpression(text, ExpressionDialect::kOpenEdc, &error);
      } else if (context == "XPath" && condition) {
        tree = ParseXPathCondition(text, &error);
      } else if (context == "trialcore") {
        // Written by trialcore's ODM export: already the rule language, on
        // the ids the export made its OIDs from; the study compiles it.
        if (!condition) return text;
        if (std::string inner = NegatedWhole(text); !inner.empty()) return inner;
        return "not (" + text + ")";
      } else {
        continue;
      }
      std::string out;
      if (tree && condition && tree->type == ExprNode::Type::kUnary && tree->text == "not") {
        // Collection exception "not X": collect (show) when X.
        out = RenderRuleExpression(*tree->args[0], resolve, &error);
        if (!out.empty()) return out;
      } else if (tree) {
        out = RenderRuleExpression(*tree, resolve, &error);
        if (!out.empty()) return condition ? "not (" + out + ")" : out;
      }
      *why = context + " expression '" + text + "' at character " + std::to_string(error.offset + 1) + ": " +
             error.message;
      return "";
    }
    std::string list;
    for (const auto& c : contexts) list += (list.empty() ? "" : ", ") + c;
    *why = contexts.empty()
               ? "it has no FormalExpression"
               : "its expression language (Context " + list +
                     ") is not translated (trialcore reads its own, OpenEDC's and simple XPath conditions)";
    return "";
  }

  // ../[FormData[@FormOID='F']/][ItemGroupData[@ItemGroupOID='G']/]ItemData[@ItemOID='I'][@Value OP V]
  std::unique_ptr<ExprNode> ParseXPathCondition(const std::string& text, TranslateError* error) {
    static const std::regex kPattern(
        R"(^\.\./(?:FormData\[@FormOID='([^']*)'\]/)?(?:ItemGroupData\[@ItemGroupOID='([^']*)'\]/)?)"
        R"(ItemData\[@ItemOID='([^']*)'\]\[@Value\s*(=|!=|<=|>=|<|>)\s*('([^']*)'|-?[0-9.]+)\s*\]$)");
    std::smatch m;
    if (!std::regex_match(text, m, kPattern)) {
      *error = {0, "only ItemData[@ItemOID='…'][@Value op …] under ../, ItemGroupData or FormData is translated"};
      return nullptr;
    }
    auto cmp = std::make_unique<ExprNode>();
    cmp->type = ExprNode::Type::kBinary;
    cmp->text = m[4].str();
    auto ref = std::make_unique<ExprNode>();
    ref->type = ExprNode::Type::kRef;
    ref->text = m[3].str();
    ref->offset = static_cast<size_t>(m.position(3));
    if (m[2].matched) {
      ref->ref_parts = {m[2].str(), m[3].str()};
    } else {
      ref->ref_parts = {m[3].str()};
    }
    auto value = std::make_unique<ExprNode>();
    value->type = m[6].matched ? ExprNode::Type::kString : ExprNode::Type::kNumber;
    value->text = m[6].matched ? m[6].str() : m[5].str();
    value->offset = static_cast<size_t>(m.position(5));
    cmp->offset = static_cast<size_t>(m.position(4));
    cmp->args.push_back(std::move(ref));
    cmp->args.push_back(std::move(value));
    return cmp;
  }

  void Expressions() {
    std::set<std::string> conditions_used, methods_used;
    for (const auto& [oid, place] : condition_uses_) {
      study::Item& item = ItemAt(place);
      auto def = conditions_.find(oid);
      if (def == conditions_.end()) {
        NotCarried("ConditionDef " + oid, "condition of item " + item.oid, "no ConditionDef has that OID");
        continue;
      }
      conditions_used.insert(oid);
      std::string why;
      std::string rule = Translate(def->second, place.form, true, &why);
      if (rule.empty()) {
        NotCarried(Where("ConditionDef", oid, def->second), "condition on item " + item.oid, why);
        continue;
      }
      item.visible_if = rule;
      sources_[Key(place, RejectedExpression::Kind::kVisibleIf)] = Where("ConditionDef", oid, def->second);
    }
    for (const auto& [oid, place] : method_uses_) {
      study::Item& item = ItemAt(place);
      auto def = methods_.find(oid);
      if (def == methods_.end()) {
        NotCarried("MethodDef " + oid, "method of item " + item.oid, "no MethodDef has that OID");
        continue;
      }
      methods_used.insert(oid);
      std::string why;
      std::string rule = Translate(def->second, place.form, false, &why);
      if (rule.empty()) {
        NotCarried(Where("MethodDef", oid, def->second), "method of item " + item.oid, why);
        continue;
      }
      item.derive = rule;
      sources_[Key(place, RejectedExpression::Kind::kDerive)] = Where("MethodDef", oid, def->second);
    }
    for (const auto& [oid, def] : conditions_) {
      if (!conditions_used.contains(oid)) {
        NotCarried(Where("ConditionDef", oid, def), "condition used by no ItemRef or ItemGroupRef",
                   "a study file's conditions are items' visible_if");
      }
    }
    for (const auto& [oid, def] : methods_) {
      if (!methods_used.contains(oid)) {
        NotCarried(Where("MethodDef", oid, def), "method used by no ItemRef",
                   "a study file's methods are items' derive");
      }
    }
    for (const auto& [def, place] : range_uses_) RangeChecks(def, place);
  }

  static std::string Key(const ItemPlace& p, RejectedExpression::Kind kind) {
    return std::to_string(p.form) + "/" + std::to_string(p.group) + "/" + std::to_string(p.item) + "/" +
           std::string(KindName(kind));
  }

  // LE/GE (and LT/GT on integers) are ranges; the rest are checks.
  void RangeChecks(xmlNode* def, const ItemPlace& place) {
    study::Item& item = ItemAt(place);
    study::Form& form = s_.forms[place.form];
    int n = 0;
    for (xmlNode* rc : Children(def, "RangeCheck")) {
      ++n;
      const std::string comparator = Attr(rc, "Comparator");
      const bool hard = Attr(rc, "SoftHard") == "Hard";
      std::vector<std::string> values;
      for (xmlNode* v : Children(rc, "CheckValue")) values.push_back(Trim(Content(v)));
      const std::string where = Where("ItemDef", item.oid, rc);
      if (values.empty()) {
        NotCarried(
            where, "RangeCheck " + comparator,
            Child(rc, "FormalExpression") ? "range checks by expression are not translated" : "it has no CheckValue");
        continue;
      }
      const bool numeric = item.type == study::ItemType::kInteger || item.type == study::ItemType::kDecimal;
      char* end = nullptr;
      const double bound = std::strtod(values[0].c_str(), &end);
      const bool bound_ok = end != values[0].c_str() && *end == '\0';
      const bool integer = item.type == study::ItemType::kInteger;
      if (numeric && bound_ok && values.size() == 1 &&
          (comparator == "LE" || comparator == "GE" || (integer && (comparator == "LT" || comparator == "GT")))) {
        std::optional<study::Range>& range = hard ? item.hard_range : item.soft_range;
        if (!range) range = study::Range{};
        if (comparator == "LE" || comparator == "LT") {
          double max = comparator == "LT" ? bound - 1 : bound;
          range->max = range->max ? std::min(*range->max, max) : max;
        } else {
          double min = comparator == "GT" ? bound + 1 : bound;
          range->min = range->min ? std::max(*range->min, min) : min;
        }
        continue;
      }
      // A check: the condition that must hold.
      auto literal = [&](const std::string& v) -> std::string {
        switch (item.type) {
          case study::ItemType::kInteger:
          case study::ItemType::kDecimal:
            return v;
          case study::ItemType::kDate:
            return "date(" + RuleString(v) + ")";
          case study::ItemType::kDateTime:
            return "datetime(" + RuleString(v) + ")";
          case study::ItemType::kTime:
            return "time(" + RuleString(v) + ")";
          case study::ItemType::kBoolean:
            return v == "1" || v == "true" ? "true" : "false";
          default:
            return RuleString(v);
        }
      };
      static const std::map<std::string, std::string> kOps = {{"LT", "<"},  {"LE", "<="}, {"GT", ">"},
                                                              {"GE", ">="}, {"EQ", "="},  {"NE", "!="}};
      std::string condition;
      if (comparator == "IN" || comparator == "NOTIN") {
        std::string list;
        for (const auto& v : values) list += (list.empty() ? "" : ", ") + literal(v);
        condition = item.id + (comparator == "IN" ? " in (" : " not in (") + list + ")";
      } else if (auto op = kOps.find(comparator); op != kOps.end() && values.size() == 1) {
        condition = item.id + " " + op->second + " " + literal(values[0]);
      } else {
        NotCarried(where, "RangeCheck " + comparator, "unknown comparator or wrong number of CheckValues");
        continue;
      }
      study::Check check;
      check.id = "RC_" + item.id + (n > 1 ? "_" + std::to_string(n) : "");
      check.condition = condition;
      check.hard = hard;
      check.item = item.id;
      check.message = Translated(Child(rc, "ErrorMessage"), language_);
      if (check.message.empty()) check.message = item.label + ": the value must be " + comparator + " " + values[0];
      sources_["check/" + form.id + "/" + check.id] = where;
      form.checks.push_back(std::move(check));
    }
  }

 public:
  // Where each expression came from, for the report of those that do not compile.
  std::string SourceOf(const RejectedExpression& r) const {
    if (r.kind == RejectedExpression::Kind::kCheck) {
      auto it = sources_.find("check/" + r.form + "/" + r.target);
      return it == sources_.end() ? "check " + r.target : it->second;
    }
    for (size_t f = 0; f < s_.forms.size(); ++f) {
      if (s_.forms[f].id != r.form) continue;
      for (size_t g = 0; g < s_.forms[f].groups.size(); ++g) {
        for (size_t i = 0; i < s_.forms[f].groups[g].items.size(); ++i) {
          if (s_.forms[f].groups[g].items[i].id != r.target) continue;
          auto it = sources_.find(Key({f, g, i}, r.kind));
          if (it != sources_.end()) return it->second;
        }
      }
    }
    return std::string(KindName(r.kind)) + " of " + r.form + "." + r.target;
  }

 private:
  xmlNode* mdv_;
  std::string language_;
  std::map<std::string, std::string> units_;
  ImportedStudy* out_;
  study::Study& s_;
  TransferReport& report_;
  std::vector<xmlNode*> events_, form_defs_, codelist_defs_;
  std::map<std::string, xmlNode*> groups_, items_, conditions_, methods_;
  std::vector<std::string> protocol_order_;
  std::map<std::string, std::string> codelist_ids_, form_ids_;
  std::set<std::string> codelists_missing_;
  IdMaker form_and_visit_ids_;
  std::vector<std::pair<std::string, ItemPlace>> condition_uses_, method_uses_;
  std::vector<std::pair<xmlNode*, ItemPlace>> range_uses_;
  std::multimap<std::string, ItemPlace> item_places_;
  std::map<std::string, ItemPlace> group_item_places_;
  std::map<std::string, std::string> sources_;
};

Status CheckVersion(const xmlNode* root, const std::string& path) {
  if (root == nullptr || Name(root) != "ODM") {
    return InvalidArgument(path + ": not an ODM file (its root element is not ODM)");
  }
  const std::string version = Attr(root, "ODMVersion");
  const bool v13 = version.empty() || version == "1.3" || version.starts_with("1.3.");
  if (!v13 || NsOf(root) != kOdmNs) {
    return InvalidArgument(path + ":" + std::to_string(xmlGetLineNo(root)) + ": unsupported ODM version " +
                           (version.empty() ? std::string(NsOf(root)) : version) + " (trialcore reads 1.3.2)");
  }
  return Status::Ok();
}

}  // namespace

Result<ImportedStudy> ImportOdmMetadata(const std::string& path, const OdmImportOptions& options) {
  TC_ASSIGN_OR_RETURN(std::string text, ReadWhole(path));
  TC_ASSIGN_OR_RETURN(XmlDocPtr doc, ParseXml(text, path));
  xmlNode* root = xmlDocGetRootElement(doc.get());
  TC_RETURN_IF_ERROR(CheckVersion(root, path));

  const std::string schema_path = options.schema_path.empty() ? DefaultOdmSchemaPath() : options.schema_path;
  TC_ASSIGN_OR_RETURN(auto schema, XmlSchema::Load(schema_path, "the ODM 1.3.2 schema"));
  VendorExtensions vendor;
  SetAsideVendorExtensions(root, false, &vendor);
  if (Status valid = schema->ValidateFile(path); !valid.ok()) {
    if (vendor.elements + vendor.attributes == 0) return valid;
    // The schema knows no vendor's namespace: check the rest without them.
    auto stripped = ParseXml(text, path);
    if (!stripped.ok()) return stripped.status();
    VendorExtensions removed;
    SetAsideVendorExtensions(xmlDocGetRootElement(stripped->get()), true, &removed);
    TC_RETURN_IF_ERROR(schema->ValidateDoc(stripped->get(), path));
  }

  ImportedStudy out;
  xmlNode* study_node = Child(root, "Study");
  xmlNode* mdv = study_node ? Child(study_node, "MetaDataVersion") : nullptr;
  if (mdv == nullptr) {
    return InvalidArgument(path +
                           ": the file holds no study metadata (Study/MetaDataVersion); import it with "
                           "the study file it belongs to");
  }
  std::string language = options.language;
  if (language.empty()) language = FirstLanguage(root);
  if (language.empty()) language = "en";
  out.notes.push_back("labels in language " + language);

  study::Study& s = out.study;
  const std::string study_oid = Attr(study_node, "OID");
  s.id = StudyIdFrom(study_oid);
  xmlNode* globals = Child(study_node, "GlobalVariables");
  if (globals) {
    if (xmlNode* n = Child(globals, "StudyName")) s.title = Trim(Content(n));
    if (xmlNode* n = Child(globals, "ProtocolName"); n && s.title.empty()) s.title = Trim(Content(n));
  }
  if (s.title.empty()) s.title = study_oid;
  s.version = Attr(mdv, "OID");

  std::map<std::string, std::string> units;
  if (xmlNode* basic = Child(study_node, "BasicDefinitions")) {
    for (xmlNode* mu : Children(basic, "MeasurementUnit")) {
      std::string symbol = Translated(Child(mu, "Symbol"), language);
      units[Attr(mu, "OID")] = symbol.empty() ? Attr(mu, "Name") : symbol;
    }
  }
  OdmImporter importer(mdv, language, std::move(units), &out);
  importer.Run();

  int studies = 0, versions = 0;
  for (xmlNode* c = root->children; c != nullptr; c = c->next) {
    if (IsOdm(c, "Study") && ++studies > 1) {
      out.report.not_carried.push_back({Where("Study", Attr(c, "OID"), c), "a further study", "one study per file"});
    }
    if (IsOdm(c, "ClinicalData") || IsOdm(c, "AdminData") || IsOdm(c, "ReferenceData")) {
      out.report.not_carried.push_back({std::string(Name(c)) + " (line " + std::to_string(xmlGetLineNo(c)) + ")",
                                        std::string(Name(c)), "--study-out imports the study's metadata only"});
    }
  }
  for (xmlNode* c = study_node->children; c != nullptr; c = c->next) {
    if (IsOdm(c, "MetaDataVersion") && ++versions > 1) {
      out.report.not_carried.push_back({Where("MetaDataVersion", Attr(c, "OID"), c), "a further metadata version",
                                        "the first MetaDataVersion is imported"});
    }
  }
  if (vendor.elements + vendor.attributes > 0) {
    std::string list;
    for (const auto& ns : vendor.namespaces) list += (list.empty() ? "" : ", ") + ns;
    auto& count = out.report.CountOf("vendor extensions (elements and attributes)");
    count.read = vendor.elements + vendor.attributes;
    out.report.not_carried.push_back({"vendor extensions",
                                      std::to_string(vendor.elements) + " elements and " +
                                          std::to_string(vendor.attributes) + " attributes of " + list,
                                      "not part of ODM 1.3.2; ignored"});
  }

  std::string header = "Imported from " + path + " (ODM " + Attr(root, "ODMVersion") + ", study " + study_oid +
                       ", metadata version " + s.version + ") by trialcore import odm.\nOIDs are kept as 'oid'.";
  // A copy: the importer still reads the draft to say where rejected expressions came from.
  TC_ASSIGN_OR_RETURN(FinishedStudy finished, FinishDraft(out.study, header));
  for (const auto& r : finished.rejected) {
    out.report.not_carried.push_back({importer.SourceOf(r),
                                      std::string(KindName(r.kind)) + " '" + r.text + "' of " + r.form + "." + r.target,
                                      "does not compile in the rule language: " + r.message});
  }
  out.yaml = std::move(finished.yaml);
  out.study = std::move(finished.study);
  out.notes.insert(out.notes.end(), finished.notes.begin(), finished.notes.end());
  AddStructureCounts(out.study, &out.report);
  return out;
}

}  // namespace trialcore::standards
