// The path engine that reads and builds E2B(R3) XML along the mapping table (e2b_table.cc).
//
// Path syntax (an XPath subset, one syntax for both directions):
//   step/step/@attr     the attribute of the last element; no @attr = its text
//   name[@a='v']        matches only when the attribute holds v; set when created
//   name[a/b/@c='v']    ... when some a/b child chain has @c = v
//   name[a/b]           ... when such a chain exists
//   name[@value^='tel:'] ... when the attribute starts with the prefix
//   name[2]             the second element that matches
//   name{@a='v'}        not matched, only set when the element is created
//                       (classCode, code systems, fixed codes), so an incoming
//                       message that leaves them out still reads.
// Structural attributes that never vary per element name (classCode,
// moodCode, typeCode, determinerCode) come from kDefaults when an element is
// created; the ones that vary are in the table.
#include "safety/e2b_map.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <cstring>
#include <unordered_map>

namespace trialcore::safety::e2b_internal {

// --- Path parsing --------------------------------------------------------

std::vector<std::string> SplitTop(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  bool quoted = false;
  for (char c : s) {
    if (c == '\'') quoted = !quoted;
    if (!quoted && (c == '[' || c == '{')) ++depth;
    if (!quoted && (c == ']' || c == '}')) --depth;
    if (c == sep && depth == 0 && !quoted) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

namespace {

Pred ParsePred(const std::string& body) {
  Pred p;
  size_t eq = body.find("='");
  std::string lhs = body;
  if (eq != std::string::npos) {
    p.value = body.substr(eq + 2, body.size() - eq - 3);  // strip =' and trailing '
    lhs = body.substr(0, eq);
    if (!lhs.empty() && lhs.back() == '^') {
      p.starts_with = true;
      lhs.pop_back();
    }
  } else {
    p.exists = true;
  }
  for (auto& part : SplitTop(lhs, '/')) {
    if (!part.empty() && part[0] == '@') {
      p.attr = part.substr(1);
    } else if (!part.empty()) {
      p.path.push_back(part);
    }
  }
  return p;
}

// Ids for steps by their text (under the table's one-time construction).
int StepId(const std::string& text) {
  static std::unordered_map<std::string, int> ids;
  auto [it, added] = ids.emplace(text, static_cast<int>(ids.size()) + 1);
  (void)added;
  return it->second;
}

Step ParseStep(const std::string& s) {
  Step step;
  step.id = StepId(s);
  size_t i = 0;
  while (i < s.size() && s[i] != '[' && s[i] != '{') ++i;
  step.name = s.substr(0, i);
  while (i < s.size()) {
    char open = s[i], close = open == '[' ? ']' : '}';
    size_t j = i + 1;
    bool quoted = false;
    int depth = 1;
    for (; j < s.size(); ++j) {
      if (s[j] == '\'') quoted = !quoted;
      if (quoted) continue;
      if (s[j] == open) ++depth;
      if (s[j] == close && --depth == 0) break;
    }
    std::string body = s.substr(i + 1, j - i - 1);
    if (open == '[' && !body.empty() && body.find_first_not_of("0123456789") == std::string::npos) {
      step.nth = std::stoi(body);
    } else if (open == '[') {
      step.match.push_back(ParsePred(body));
    } else {
      step.decorate.push_back(ParsePred(body));
    }
    i = j + 1;
  }
  return step;
}

}  // namespace

Path ParsePath(const std::string& s) {
  Path path;
  for (auto& part : SplitTop(s, '/')) {
    if (part.empty()) continue;
    if (part[0] == '@') {
      path.attr = part.substr(1);
    } else {
      path.steps.push_back(ParseStep(part));
    }
  }
  if (!path.attr.empty() && !path.steps.empty()) {
    for (const Pred& p : path.steps.back().match) {
      if (p.starts_with && p.path.empty() && p.attr == path.attr) path.prefix = p.value;
    }
  }
  return path;
}

namespace {

// --- libxml2 helpers -------------------------------------------------------

bool IsElement(const xmlNode* n, const std::string& name) {
  return n->type == XML_ELEMENT_NODE && std::strcmp(reinterpret_cast<const char*>(n->name), name.c_str()) == 0;
}

xmlAttr* FindAttr(const xmlNode* node, const std::string& name) {
  const bool xsi = name.compare(0, 4, "xsi:") == 0;
  const char* local = xsi ? name.c_str() + 4 : name.c_str();
  for (xmlAttr* a = node->properties; a; a = a->next) {
    if (std::strcmp(reinterpret_cast<const char*>(a->name), local) != 0) continue;
    const bool in_xsi = a->ns && std::strcmp(reinterpret_cast<const char*>(a->ns->href), kXsiNs) == 0;
    if (xsi == in_xsi) return a;
  }
  return nullptr;
}

std::string AttrValue(const xmlAttr* a) {
  if (a->children && a->children->type == XML_TEXT_NODE && !a->children->next) {
    return reinterpret_cast<const char*>(a->children->content);
  }
  xmlChar* v = xmlNodeListGetString(a->doc, a->children, 1);
  std::string out = v ? reinterpret_cast<const char*>(v) : "";
  xmlFree(v);
  return out;
}

bool Holds(const xmlNode* node, const Pred& p, size_t depth) {
  if (depth == p.path.size()) {
    if (p.exists) return true;
    const xmlAttr* a = FindAttr(node, p.attr);
    if (!a) return false;
    std::string v = AttrValue(a);
    return p.starts_with ? v.compare(0, p.value.size(), p.value) == 0 : v == p.value;
  }
  for (const xmlNode* c = node->children; c; c = c->next) {
    if (IsElement(c, p.path[depth]) && Holds(c, p, depth + 1)) return true;
  }
  return false;
}

// HL7 v3 schemas order an element's children by the RIM: identifiers and
// codes first, then text, status, times, values, and the associations last.
// The builder creates children in table order, which is the schemas' order
// except where a predicate creates a child early (an observation's code is
// created with the observation, before its id); ranks put those right.
int Rank(const char* name) {
  static const std::unordered_map<std::string_view, int> kRanks = {
      {"priorityNumber", 2}, {"id", 3},
      {"code", 4},           {"title", 5},
      {"text", 6},           {"statusCode", 7},
      {"effectiveTime", 8},  {"availabilityTime", 9},
      {"routeCode", 10},     {"doseQuantity", 11},
      {"value", 20},         {"interpretationCode", 21},
      {"methodCode", 22},    {"low", 30},
      {"width", 31},         {"high", 32},
      {"numerator", 40},     {"denominator", 41},
  };
  auto it = kRanks.find(name);
  return it == kRanks.end() ? -1 : it->second;
}

// Structural attributes that are the same wherever FDA's examples use the
// element; the schemas require most of them.
const std::vector<std::pair<std::string, std::string>>* Defaults(const char* name) {
  using Attrs = std::vector<std::pair<std::string, std::string>>;
  static const std::unordered_map<std::string_view, Attrs> kDefaults = {
      {"act", {{"classCode", "ACT"}, {"moodCode", "EVN"}}},
      {"adverseEffectReference", {{"classCode", "OBS"}, {"moodCode", "EVN"}}},
      {"adverseEventAssessment", {{"classCode", "INVSTG"}, {"moodCode", "EVN"}}},
      {"approval", {{"classCode", "CNTRCT"}, {"moodCode", "EVN"}}},
      {"actReference", {{"classCode", "OBS"}, {"moodCode", "EVN"}}},
      {"asIdentifiedEntity", {{"classCode", "IDENT"}}},
      {"asLocatedEntity", {{"classCode", "LOCE"}}},
      {"asManufacturedProduct", {{"classCode", "MANU"}}},
      {"asQualifiedEntity", {{"classCode", "QUAL"}}},
      {"assignedEntity", {{"classCode", "ASSIGNED"}}},
      {"assignedPerson", {{"classCode", "PSN"}, {"determinerCode", "INSTANCE"}}},
      {"author", {{"typeCode", "AUT"}}},
      {"authorization", {{"typeCode", "AUTH"}}},
      {"causalityAssessment", {{"classCode", "OBS"}, {"moodCode", "EVN"}}},
      {"component", {{"typeCode", "COMP"}}},
      {"component1", {{"typeCode", "COMP"}}},
      {"consumable", {{"typeCode", "CSM"}}},
      {"controlActEvent", {{"classCode", "CACT"}, {"moodCode", "EVN"}}},
      {"controlActProcess", {{"classCode", "CACT"}, {"moodCode", "EVN"}}},
      {"device", {{"classCode", "DEV"}, {"determinerCode", "INSTANCE"}}},
      {"document", {{"classCode", "DOC"}, {"moodCode", "EVN"}}},
      {"governingPlace", {{"classCode", "COUNTRY"}, {"determinerCode", "INSTANCE"}}},
      {"holder", {{"typeCode", "HLD"}}},
      {"ingredient", {{"classCode", "ACTI"}}},
      {"ingredientSubstance", {{"classCode", "MMAT"}, {"determinerCode", "KIND"}}},
      {"instanceOfKind", {{"classCode", "INST"}}},
      {"investigationCharacteristic", {{"classCode", "OBS"}, {"moodCode", "EVN"}}},
      {"investigationEvent", {{"classCode", "INVSTG"}, {"moodCode", "EVN"}}},
      {"kindOfProduct", {{"classCode", "MMAT"}, {"determinerCode", "KIND"}}},
      {"locatedEntity", {{"classCode", "LOCE"}}},
      {"locatedPlace", {{"classCode", "COUNTRY"}, {"determinerCode", "INSTANCE"}}},
      {"observation", {{"classCode", "OBS"}, {"moodCode", "EVN"}}},
      {"observationEvent", {{"classCode", "OBS"}, {"moodCode", "EVN"}}},
      {"organizer", {{"classCode", "CATEGORY"}, {"moodCode", "EVN"}}},
      {"outboundRelationship", {{"typeCode", "SPRT"}}},
      {"outboundRelationship1", {{"typeCode", "SAS"}}},
      {"performer", {{"typeCode", "PRF"}}},
      {"player1", {{"classCode", "PSN"}, {"determinerCode", "INSTANCE"}}},
      {"playingOrganization", {{"classCode", "ORG"}, {"determinerCode", "INSTANCE"}}},
      {"primaryRole", {{"classCode", "INVSBJ"}}},
      {"productEvent", {{"classCode", "ACT"}, {"moodCode", "EVN"}}},
      {"productInstanceInstance", {{"classCode", "MMAT"}, {"determinerCode", "INSTANCE"}}},
      {"productUseReference", {{"classCode", "SBADM"}, {"moodCode", "EVN"}}},
      {"receiver", {{"typeCode", "RCV"}}},
      {"relatedInvestigation", {{"classCode", "INVSTG"}, {"moodCode", "EVN"}}},
      {"representedOrganization", {{"classCode", "ORG"}, {"determinerCode", "INSTANCE"}}},
      {"researchStudy", {{"classCode", "CLNTRL"}, {"moodCode", "EVN"}}},
      {"role", {{"classCode", "HLD"}}},
      {"sender", {{"typeCode", "SND"}}},
      {"studyRegistration", {{"classCode", "ACT"}, {"moodCode", "EVN"}}},
      {"subject", {{"typeCode", "SUBJ"}}},
      {"subject2", {{"typeCode", "SUBJ"}}},
      {"subjectOf", {{"typeCode", "SBJ"}}},
      {"substanceAdministration", {{"classCode", "SBADM"}, {"moodCode", "EVN"}}},
      {"territorialAuthority", {{"classCode", "TERR"}}},
      {"territory", {{"classCode", "NAT"}, {"determinerCode", "INSTANCE"}}},
  };
  auto it = kDefaults.find(name);
  return it == kDefaults.end() ? nullptr : &it->second;
}

xmlNode* NewChild(xmlNode* parent, const std::string& name) {
  xmlNode* node = xmlNewDocNode(parent->doc, parent->ns, reinterpret_cast<const xmlChar*>(name.c_str()), nullptr);
  const int rank = Rank(name.c_str());
  xmlNode* before = nullptr;
  if (rank >= 0) {
    for (xmlNode* c = parent->children; c; c = c->next) {
      if (c->type != XML_ELEMENT_NODE) continue;
      int r = Rank(reinterpret_cast<const char*>(c->name));
      if (r < 0 || r > rank) {
        before = c;
        break;
      }
    }
  }
  if (before) {
    xmlAddPrevSibling(before, node);
  } else {
    xmlAddChild(parent, node);
  }
  if (const auto* defaults = Defaults(name.c_str())) {
    for (const auto& [attr, value] : *defaults) SetAttr(node, attr, value);
  }
  return node;
}

void Apply(xmlNode* node, const Pred& p) {
  for (const auto& name : p.path) {
    xmlNode* next = nullptr;
    for (xmlNode* c = node->children; c; c = c->next) {
      if (IsElement(c, name)) {
        next = c;
        break;
      }
    }
    node = next ? next : NewChild(node, name);
  }
  if (!p.exists) SetAttr(node, p.attr, p.value);
}

}  // namespace

// --- The engine --------------------------------------------------------------

bool StepMatches(const xmlNode* node, const Step& step) {
  if (!IsElement(node, step.name)) return false;
  for (const Pred& p : step.match) {
    if (!Holds(node, p, 0)) return false;
  }
  return true;
}

xmlNode* FindChild(xmlNode* parent, const Step& step, int nth) {
  for (xmlNode* c = parent->children; c; c = c->next) {
    if (StepMatches(c, step) && --nth == 0) return c;
  }
  return nullptr;
}

std::vector<xmlNode*> FindChildren(xmlNode* parent, const Step& step) {
  std::vector<xmlNode*> out;
  for (xmlNode* c = parent->children; c; c = c->next) {
    if (StepMatches(c, step)) out.push_back(c);
  }
  return out;
}

xmlNode* AppendChild(xmlNode* parent, const Step& step) {
  xmlNode* node = NewChild(parent, step.name);
  for (const Pred& p : step.match) Apply(node, p);
  for (const Pred& p : step.decorate) Apply(node, p);
  return node;
}

xmlNode* EnsureChild(xmlNode* parent, const Step& step, int nth) {
  xmlNode* last = nullptr;
  int count = 0;
  for (xmlNode* c = parent->children; c; c = c->next) {
    if (StepMatches(c, step)) {
      last = c;
      if (++count == nth) {
        // A child an earlier predicate created bare ([act/code]) still gets
        // this step's own attributes (the code system).
        for (const Pred& p : step.decorate) {
          if (p.path.empty() && !FindAttr(c, p.attr)) SetAttr(c, p.attr, p.value);
        }
        return c;
      }
    }
  }
  for (; count < nth; ++count) last = AppendChild(parent, step);
  return last;
}

xmlNode* Follow(xmlNode* node, const std::vector<Step>& steps) {
  for (const Step& s : steps) {
    node = FindChild(node, s, s.nth);
    if (!node) return nullptr;
  }
  return node;
}

xmlNode* BuildMemo::Find(const xmlNode* node, int step_id) const {
  auto it = map_.find({node, step_id});
  return it == map_.end() ? nullptr : it->second;
}

void BuildMemo::Put(const xmlNode* node, int step_id, xmlNode* child) { map_[{node, step_id}] = child; }

xmlNode* Build(xmlNode* node, const std::vector<Step>& steps, BuildMemo* memo) {
  for (const Step& s : steps) {
    if (memo && s.id) {
      if (xmlNode* known = memo->Find(node, s.id)) {
        node = known;
        continue;
      }
      xmlNode* child = EnsureChild(node, s, s.nth);
      memo->Put(node, s.id, child);
      node = child;
    } else {
      node = EnsureChild(node, s, s.nth);
    }
  }
  return node;
}

xmlAttr* FindAttrNode(const xmlNode* node, const std::string& name) { return FindAttr(node, name); }

std::string AttrText(const xmlAttr* attr) { return AttrValue(attr); }

namespace {
void MarkPred(xmlNode* node, const Pred& p, size_t depth, const std::function<void(xmlAttr*)>& mark) {
  if (depth == p.path.size()) {
    if (p.exists) return;
    xmlAttr* a = FindAttr(node, p.attr);
    if (!a) return;
    std::string v = AttrValue(a);
    if (p.starts_with ? v.compare(0, p.value.size(), p.value) == 0 : v == p.value) mark(a);
    return;
  }
  for (xmlNode* c = node->children; c; c = c->next) {
    if (IsElement(c, p.path[depth])) MarkPred(c, p, depth + 1, mark);
  }
}
}  // namespace

void ForEachPredicateAttr(xmlNode* node, const Step& step, const std::function<void(xmlAttr*)>& mark) {
  for (const Pred& p : step.match) MarkPred(node, p, 0, mark);
  for (const Pred& p : step.decorate) MarkPred(node, p, 0, mark);
}

std::string GetAttr(const xmlNode* node, const std::string& name) {
  const xmlAttr* a = FindAttr(node, name);
  return a ? AttrValue(a) : std::string();
}

bool HasAttr(const xmlNode* node, const std::string& name) { return FindAttr(node, name) != nullptr; }

void SetAttr(xmlNode* node, const std::string& name, const std::string& value) {
  const auto* v = reinterpret_cast<const xmlChar*>(value.c_str());
  if (name.compare(0, 4, "xsi:") == 0) {
    xmlNs* ns = xmlSearchNsByHref(node->doc, node, reinterpret_cast<const xmlChar*>(kXsiNs));
    xmlSetNsProp(node, ns, reinterpret_cast<const xmlChar*>(name.c_str() + 4), v);
  } else {
    xmlSetProp(node, reinterpret_cast<const xmlChar*>(name.c_str()), v);
  }
}

std::string GetText(const xmlNode* node) {
  std::string out;
  for (const xmlNode* c = node->children; c; c = c->next) {
    if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content) {
      out += reinterpret_cast<const char*>(c->content);
    }
  }
  const char* ws = " \t\r\n";
  size_t b = out.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  size_t e = out.find_last_not_of(ws);
  return out.substr(b, e - b + 1);
}

void SetText(xmlNode* node, const std::string& text) {
  xmlNodeAddContentLen(node, reinterpret_cast<const xmlChar*>(text.data()), static_cast<int>(text.size()));
}

void Table::Index() {
  for (size_t n = 0; n < rows.size(); ++n) {
    if (!rows[n].number.empty()) by_number.emplace(rows[n].number, n);
  }
}

int Table::FindSection(const std::string& name) const {
  for (size_t n = 0; n < sections.size(); ++n) {
    if (sections[n].name == name) return static_cast<int>(n);
  }
  return -1;
}

const Row* FindRow(const Table& table, const std::string& number) {
  auto it = table.by_number.find(number);
  return it == table.by_number.end() ? nullptr : &table.rows[it->second];
}

}  // namespace trialcore::safety::e2b_internal
