// The E2B(R3) mapping table and the path engine that reads and builds along it.
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
#include <mutex>
#include <unordered_map>

#include "safety/icsr.h"

namespace trialcore::safety::e2b_internal {

namespace {

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

void XmlDocFree::operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }

namespace {
// The first error, which names where the text went wrong; libxml2's last
// error is often only "premature end of data" at the end of the file.
struct FirstError {
  bool set = false;
  int line = 0;
  std::string message;
};

void KeepFirstError(void* user, xmlError* err) {
  auto* ctxt = static_cast<xmlParserCtxt*>(user);
  auto* first = static_cast<FirstError*>(ctxt->_private);
  if (first->set || !err || err->level < XML_ERR_ERROR) return;
  first->set = true;
  first->line = err->line;
  first->message = err->message ? err->message : "not well-formed XML";
  while (!first->message.empty() && (first->message.back() == '\n' || first->message.back() == ' ')) {
    first->message.pop_back();
  }
}
}  // namespace

Result<XmlDocPtr> ParseXml(std::string_view xml, std::string_view source) {
  // libxml2 sets itself up on first use, which is not safe from two threads at once.
  static const bool kXmlReady = (xmlInitParser(), true);
  (void)kXmlReady;
  xmlParserCtxt* ctxt = xmlNewParserCtxt();
  if (!ctxt) return ResourceExhausted("libxml2 could not allocate a parser");
  const std::string name(source);
  FirstError first;
  ctxt->_private = &first;
  ctxt->sax->serror = KeepFirstError;
  // No network, no DTD loading or entity substitution: an incoming message
  // must not make us fetch or expand anything. Errors come back as values,
  // not on stderr.
  xmlDoc* doc = xmlCtxtReadMemory(ctxt, xml.data(), static_cast<int>(xml.size()), name.c_str(), nullptr,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES);
  const bool well_formed = doc && ctxt->wellFormed;
  xmlFreeParserCtxt(ctxt);
  if (!well_formed) {
    if (doc) xmlFreeDoc(doc);
    return InvalidArgument(name + ":" + std::to_string(first.line) +
                           ": malformed XML: " + (first.set ? first.message : "not well-formed XML"));
  }
  return XmlDocPtr(doc);
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

// --- The table -----------------------------------------------------------------

namespace {

class TableBuilder {
 public:
  explicit TableBuilder(Table* t) : t_(t) {}
  // A positional section; `parent` "" = the message.
  void Section(const std::string& name, const std::string& parent, const std::string& anchor) {
    e2b_internal::Section s;
    s.name = name;
    s.parent = parent.empty() ? -1 : t_->FindSection(parent);
    s.depth = RepeatDepthOf(name);
    s.anchor = ParsePath(anchor);
    t_->sections.push_back(std::move(s));
  }
  void Linked(const std::string& name, const std::string& anchor,
              std::vector<std::pair<std::string, std::string>> links, const std::string& parent = "") {
    e2b_internal::Section s;
    s.name = name;
    s.parent = parent.empty() ? -1 : t_->FindSection(parent);
    s.depth = RepeatDepthOf(name);
    s.anchor = ParsePath(anchor);
    // The link gives the index of the target's repeat letter ("G.k.0": k).
    std::vector<std::string> letters;
    for (auto& seg : SplitTop(name, '.')) {
      if (seg == "r" || seg == "i" || seg == "k") letters.push_back(seg);
    }
    for (auto& [ref, target] : links) {
      int pos = 0;
      for (auto& seg : SplitTop(target, '.')) {
        if (seg != "r" && seg != "i" && seg != "k") continue;
        for (size_t n = 0; n < letters.size(); ++n) {
          if (letters[n] == seg) pos = static_cast<int>(n);
        }
      }
      s.links.push_back({ParsePath(ref), target, pos});
    }
    t_->sections.push_back(std::move(s));
  }
  // An element; its section is the longest section name that prefixes it.
  void F(const std::string& number, const std::string& path, bool code_system = false) {
    t_->rows.push_back(Row{number, SectionOf(number), ParsePath(path), code_system});
  }
  // An element of a section whose name is not a dotted prefix of the number
  // ("G.k.9.i.3.1a" in "G.k.9.i.3.1").
  void FIn(const std::string& section, const std::string& number, const std::string& path) {
    t_->rows.push_back(Row{number, t_->FindSection(section), ParsePath(path), false});
  }
  // A constant written into every instance of `section` ("" = once per message).
  void K(const std::string& section, const std::string& path) {
    t_->rows.push_back(Row{"", section.empty() ? -1 : t_->FindSection(section), ParsePath(path), false});
  }

 private:
  static int RepeatDepthOf(const std::string& name) {
    int depth = 0;
    for (auto& seg : SplitTop(name, '.')) depth += seg == "r" || seg == "i" || seg == "k";
    return depth;
  }
  int SectionOf(const std::string& full_number) const {
    const std::string number(IchPart(full_number));
    int best = -1;
    size_t best_len = 0;
    for (size_t n = 0; n < t_->sections.size(); ++n) {
      const std::string s(IchPart(t_->sections[n].name));
      // An element may be its own section ("C.1.10.r" repeats and holds the value).
      bool under = number.size() >= s.size() && number.compare(0, s.size(), s) == 0 &&
                   (number.size() == s.size() || number[s.size()] == '.');
      if (under && s.size() > best_len) {
        best = static_cast<int>(n);
        best_len = s.size();
      }
    }
    return best;
  }
  Table* t_;
};

// Code systems (OIDs) of the ICH and FDA code lists.
#define ICH(n) "2.16.840.1.113883.3.989.2.1.1." #n
#define ICHID(n) "2.16.840.1.113883.3.989.2.1.3." #n
#define FDAID(n) "2.16.840.1.113883.3.989.5.1.2.2.1." n
#define NCI "2.16.840.1.113883.3.26.1.1"
#define MEDDRA "2.16.840.1.113883.6.163"
#define ISO3166 "1.0.3166.1.2.2"

// An observation-like child told apart by its code: [x/code/@code='c']{x/code/@codeSystem='cs'}.
#define BY_CODE(x, c, cs) "[" x "/code/@code='" c "']{" x "/code/@codeSystem='" cs "'}"
#define TYPE(t) "{@typeCode='" t "'}"

#define IE "controlActProcess/subject/investigationEvent"
#define AEA IE "/component[adverseEventAssessment]/adverseEventAssessment"
#define PR AEA "/subject1" TYPE("SBJ") "/primaryRole"
#define P1 PR "/player1"
#define STUDY PR "/subjectOf1" TYPE("SBJ") "/researchStudy"
#define PR_OBS(c) PR "/subjectOf2" TYPE("SBJ") BY_CODE("observation", c, ICH(19)) "/observation"
#define PR_ORG(c) PR "/subjectOf2" TYPE("SBJ") BY_CODE("organizer", c, ICH(20)) "/organizer"
#define IE_OBS(c, cs) IE "/component" BY_CODE("observationEvent", c, cs) "/observationEvent"
#define IE_CHAR(c) \
  IE "/subjectOf2" TYPE("SUBJ") BY_CODE("investigationCharacteristic", c, ICH(23)) "/investigationCharacteristic"
#define RX_OBS(c) "observation/outboundRelationship2" TYPE("PERT") BY_CODE("observation", c, ICH(19)) "/observation"
#define SA "substanceAdministration"
#define KP SA "/consumable/instanceOfKind/kindOfProduct"
#define APPROVAL KP "/asManufacturedProduct/subjectOf/approval"
#define DOSE SA
#define CAUSALITY AEA "/component"
#define SENDER \
  IE "/subjectOf1" TYPE("SUBJ") "[controlActEvent/author/assignedEntity/code]/controlActEvent/author/assignedEntity"
#define REPORTER "relatedInvestigation/subjectOf2" TYPE("SUBJ") "/controlActEvent/author/assignedEntity"
#define COMMENT(author)                                                                                          \
  AEA "/component1[observationEvent/code/@code='10'][observationEvent/author/assignedEntity/code/@code='" author \
      "']{observationEvent/code/@codeSystem='" ICH(                                                              \
          19) "'}{observationEvent/author/assignedEntity/code/@codeSystem='" ICH(21) "'}/observationEvent"

void BuildIcsrTable(Table* t) {
  TableBuilder b(t);
  // N.2.r: the message header.
  b.F("N.2.r.1", "id{@root='" ICHID(1) "'}/@extension");
  b.F("N.2.r.4", "creationTime/@value");
  b.K("", "interactionId{@extension='PORR_IN049016UV'}{@root='2.16.840.1.113883.1.6'}");
  b.K("", "processingCode{@code='P'}");
  b.K("", "processingModeCode{@code='I'}");  // as in FDA's examples
  b.K("", "acceptAckCode{@code='AL'}");
  b.F("N.2.r.3", "receiver/device/id{@root='" ICHID(12) "'}/@extension");
  b.F("N.2.r.2", "sender/device/id{@root='" ICHID(11) "'}/@extension");
  b.K("", "controlActProcess/code{@code='PORR_TE049016UV'}{@codeSystem='2.16.840.1.113883.1.18'}");
  b.F("C.1.2", "controlActProcess/effectiveTime/@value");

  // C.1: the report's identification, in the investigation event.
  b.F("C.1.1", IE "/id[@root='" ICHID(1) "']/@extension");
  b.F("C.1.8.1", IE "/id[@root='" ICHID(2) "']/@extension");
  b.K("", IE "/code{@code='PAT_ADV_EVNT'}{@codeSystem='2.16.840.1.113883.5.4'}");
  b.F("H.1", IE "/text");
  b.K("", IE "/statusCode{@code='active'}");
  b.F("C.1.4", IE "/effectiveTime/low/@value");
  b.F("C.1.5", IE "/availabilityTime/@value");

  // C.1.6.1.r documents held by the sender; C.4.r literature.
  b.Section("C.1.6.1.r", "", IE "/reference" TYPE("REFR") BY_CODE("document", "1", ICH(27)));
  b.F("C.1.6.1.r.1", "document/title");
  b.F("C.1.6.1.r.2.reference", "document/text/reference/@value");
  b.F("C.1.6.1.r.2.media", "document/text/@mediaType");
  b.F("C.1.6.1.r.2.representation", "document/text/@representation");
  b.F("C.1.6.1.r.2", "document/text");
  b.Section("C.4.r", "", IE "/reference" TYPE("REFR") BY_CODE("document", "2", ICH(27)));
  b.F("C.4.r.2", "document/text");
  b.F("C.4.r.1", "document/bibliographicDesignationText");

  // D: the patient.
  b.F("D.1", P1 "/name");
  b.F("D.5", P1 "/administrativeGenderCode{@codeSystem='1.0.5218'}/@code");
  b.F("D.2.1", P1 "/birthTime/@value");
  b.F("D.9.1", P1 "/deceasedTime/@value");
  b.F("D.1.1.1", P1 "/asIdentifiedEntity" BY_CODE("", "1", ICH(4)) "/id{@root='" ICHID(7) "'}/@extension");
  b.F("D.1.1.2", P1 "/asIdentifiedEntity" BY_CODE("", "2", ICH(4)) "/id{@root='" ICHID(8) "'}/@extension");
  b.F("D.1.1.3", P1 "/asIdentifiedEntity" BY_CODE("", "3", ICH(4)) "/id{@root='" ICHID(9) "'}/@extension");
  b.F("D.1.1.4", P1 "/asIdentifiedEntity" BY_CODE("", "4", ICH(4)) "/id{@root='" ICHID(10) "'}/@extension");

  // C.5: the study.
  b.F("C.5.3", STUDY "/id{@root='" ICHID(5) "'}/@extension");
  b.F("C.5.4", STUDY "/code{@codeSystem='" ICH(8) "'}/@code");
  b.F("C.5.2", STUDY "/title");
  b.Section("C.5.1.r", "", STUDY "/authorization[studyRegistration/id/@root='" ICHID(6) "']");
  b.F("C.5.1.r.1", "studyRegistration/id/@extension");
  b.F("C.5.1.r.2",
      "studyRegistration/author/territorialAuthority/governingPlace/code{@codeSystem='" ISO3166 "'}/@code");
  b.F("FDA.C.5.5a",
      STUDY "/authorization[studyRegistration/id/@root='" FDAID("2.1") "']/studyRegistration/id/@extension");
  b.F("FDA.C.5.5b",
      STUDY "/authorization[studyRegistration/id/@root='" FDAID("2.2") "']/studyRegistration/id/@extension");
  b.Section("FDA.C.5.6.r", "", STUDY "/authorization[studyRegistration/id/@root='" FDAID("2.3") "']");
  b.F("FDA.C.5.6.r", "studyRegistration/id/@extension");

  b.F("D.2.2a", PR_OBS("3") "/value{@xsi:type='PQ'}/@value");
  b.F("D.2.2b", PR_OBS("3") "/value{@xsi:type='PQ'}/@unit");
  b.F("D.2.2.1a", PR_OBS("16") "/value{@xsi:type='PQ'}/@value");
  b.F("D.2.2.1b", PR_OBS("16") "/value{@xsi:type='PQ'}/@unit");
  b.F("D.2.3", PR_OBS("4") "/value{@xsi:type='CE'}{@codeSystem='" ICH(9) "'}/@code");
  b.F("D.3", PR_OBS("7") "/value{@xsi:type='PQ'}{@unit='kg'}/@value");
  b.F("D.4", PR_OBS("17") "/value{@xsi:type='PQ'}{@unit='cm'}/@value");
  b.F("D.6", PR_OBS("22") "/value{@xsi:type='TS'}/@value");
  b.Section("FDA.D.11.r", "", PR "/subjectOf2" TYPE("SBJ") BY_CODE("observation", "C17049", NCI));
  b.F("FDA.D.11.r.1", "observation/value{@xsi:type='CE'}{@codeSystem='" NCI "'}/@code");
  b.F("FDA.D.12", PR "/subjectOf2" TYPE("SBJ") BY_CODE(
                      "observation", "C16564", NCI) "/observation/value{@xsi:type='CE'}{@codeSystem='" NCI "'}/@code");

  // D.7 medical history, D.8 past drugs.
  b.Section("D.7.1.r", "", PR_ORG("1") "/component[observation/code/@codeSystem='" MEDDRA "']");
  b.F("D.7.1.r.1b", "observation/code/@code");
  b.F("D.7.1.r.1a", "observation/code/@codeSystemVersion");
  b.F("D.7.1.r.2", "observation/effectiveTime{@xsi:type='IVL_TS'}/low/@value");
  b.F("D.7.1.r.4", "observation/effectiveTime{@xsi:type='IVL_TS'}/high/@value");
  b.F("D.7.1.r.6", "observation/outboundRelationship2" TYPE("EXPL")
                       BY_CODE("observation", "38", ICH(19)) "/observation/value{@xsi:type='ED'}");
  b.F("D.7.1.r.5", "observation/outboundRelationship2" TYPE("COMP")
                       BY_CODE("observation", "10", ICH(19)) "/observation/value{@xsi:type='ED'}");
  // After the outbound relationships, as the schema orders them.
  b.F("D.7.1.r.3", "observation/inboundRelationship" TYPE("REFR")
                       BY_CODE("observation", "13", ICH(19)) "/observation/value{@xsi:type='BL'}/@value");
  b.F("D.7.2", PR_ORG("1") "/component" BY_CODE("observation", "18", ICH(19)) "/observation/value{@xsi:type='ED'}");
  b.F("D.7.3",
      PR_ORG("1") "/component" BY_CODE("observation", "11", ICH(19)) "/observation/value{@xsi:type='BL'}/@value");
  b.Section("D.8.r", "", PR_ORG("2") "/component[" SA "]");
  b.F("D.8.r.4", SA "/effectiveTime{@xsi:type='IVL_TS'}/low/@value");
  b.F("D.8.r.5", SA "/effectiveTime{@xsi:type='IVL_TS'}/high/@value");
  b.F("D.8.r.2b", KP "/code/@code", true);
  b.F("D.8.r.2a", KP "/code/@codeSystemVersion");
  b.F("D.8.r.1", KP "/name");
  b.F("D.8.r.6b",
      SA "/outboundRelationship2" TYPE("RSON")
          BY_CODE("observation", "19", ICH(19)) "/observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@code");
  b.F("D.8.r.6a", SA "/outboundRelationship2" TYPE("RSON")
                      BY_CODE("observation", "19", ICH(19)) "/observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA
                                                            "'}/@codeSystemVersion");
  b.F("D.8.r.7b",
      SA "/outboundRelationship2" TYPE("CAUS")
          BY_CODE("observation", "29", ICH(19)) "/observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@code");
  b.F("D.8.r.7a", SA "/outboundRelationship2" TYPE("CAUS")
                      BY_CODE("observation", "29", ICH(19)) "/observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA
                                                            "'}/@codeSystemVersion");

  // D.9 death.
  b.Section("D.9.2.r", "", PR "/subjectOf2" TYPE("SBJ") BY_CODE("observation", "32", ICH(19)));
  b.F("D.9.2.r.1b", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@code");
  b.F("D.9.2.r.1a", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@codeSystemVersion");
  b.F("D.9.2.r.2", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/originalText");
  b.F("D.9.3", PR_OBS("5") "/value{@xsi:type='BL'}/@value");
  b.Section("D.9.4.r", "", PR_OBS("5") "/outboundRelationship2" TYPE("DRIV") BY_CODE("observation", "8", ICH(19)));
  b.F("D.9.4.r.1b", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@code");
  b.F("D.9.4.r.1a", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@codeSystemVersion");
  b.F("D.9.4.r.2", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/originalText");

  // D.10 the parent (parent-child reports).
#define PARENT P1 "/role{@classCode='PRS'}"
#define PARENT_OBS(c) PARENT "/subjectOf2" TYPE("SBJ") BY_CODE("observation", c, ICH(19)) "/observation"
  b.F("D.10.1", PARENT "/associatedPerson{@classCode='PSN'}{@determinerCode='INSTANCE'}/name");
  b.F("D.10.6", PARENT
      "/associatedPerson{@classCode='PSN'}{@determinerCode='INSTANCE'}"
      "/administrativeGenderCode{@codeSystem='1.0.5218'}/@code");
  b.F("D.10.2.1", PARENT "/associatedPerson{@classCode='PSN'}{@determinerCode='INSTANCE'}/birthTime/@value");
  b.F("D.10.2.2a", PARENT_OBS("3") "/value{@xsi:type='PQ'}/@value");
  b.F("D.10.2.2b", PARENT_OBS("3") "/value{@xsi:type='PQ'}/@unit");
  b.F("D.10.3", PARENT_OBS("22") "/value{@xsi:type='TS'}/@value");
  b.F("D.10.4", PARENT_OBS("7") "/value{@xsi:type='PQ'}{@unit='kg'}/@value");
  b.F("D.10.5", PARENT_OBS("17") "/value{@xsi:type='PQ'}{@unit='cm'}/@value");
  b.F("D.10.7.2", PARENT "/subjectOf2" TYPE("SBJ") BY_CODE("organizer", "1", ICH(20)) "/organizer/component" BY_CODE(
                      "observation", "18", ICH(19)) "/observation/value{@xsi:type='ED'}");

  // E.i reactions.
  b.Section("E.i", "", PR "/subjectOf2" TYPE("SBJ") BY_CODE("observation", "29", ICH(19)));
  b.F("E.i.0", "observation/id/@root");
  b.F("E.i.4", "observation/effectiveTime{@xsi:type='IVL_TS'}/low/@value");
  b.F("E.i.6a", "observation/effectiveTime{@xsi:type='IVL_TS'}/width/@value");
  b.F("E.i.6b", "observation/effectiveTime{@xsi:type='IVL_TS'}/width/@unit");
  b.F("E.i.5", "observation/effectiveTime{@xsi:type='IVL_TS'}/high/@value");
  b.F("E.i.2.1b", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@code");
  b.F("E.i.2.1a", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@codeSystemVersion");
  b.F("E.i.1.1a", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/originalText");
  b.F("E.i.1.1b", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/originalText/@language");
  b.F("E.i.9",
      "observation/location{@typeCode='LOC'}/locatedEntity/locatedPlace/code{@codeSystem='" ISO3166 "'}/@code");
  b.F("E.i.1.2", RX_OBS("30") "/value{@xsi:type='ED'}");
  b.F("E.i.3.1", RX_OBS("37") "/value{@xsi:type='CE'}{@codeSystem='" ICH(10) "'}/@code");
  b.F("E.i.3.2a", RX_OBS("34") "/value{@xsi:type='BL'}/@value");
  b.F("E.i.3.2b", RX_OBS("21") "/value{@xsi:type='BL'}/@value");
  b.F("E.i.3.2c", RX_OBS("33") "/value{@xsi:type='BL'}/@value");
  b.F("E.i.3.2d", RX_OBS("35") "/value{@xsi:type='BL'}/@value");
  b.F("E.i.3.2e", RX_OBS("12") "/value{@xsi:type='BL'}/@value");
  b.F("E.i.3.2f", RX_OBS("26") "/value{@xsi:type='BL'}/@value");
  // FDA's code list for required intervention, as FDA's examples send it.
  b.F("FDA.E.i.3.2h", "observation/outboundRelationship2" TYPE("PERT")
                      "[observation/code/@code='7'][observation/code/@codeSystem='" FDAID("3") "']/observation"
                      "/value{@xsi:type='BL'}/@value");
  b.F("E.i.7", RX_OBS("27") "/value{@xsi:type='CE'}{@codeSystem='" ICH(11) "'}/@code");
  b.F("E.i.8", RX_OBS("24") "/value{@xsi:type='BL'}/@value");

  // F.r tests.
  b.Section("F.r", "", PR_ORG("3") "/component[observation]");
  b.F("F.r.2.2b", "observation/code/@code", true);
  b.F("F.r.2.2a", "observation/code/@codeSystemVersion");
  b.F("F.r.2.1", "observation/code/originalText");
  b.F("F.r.1", "observation/effectiveTime/@value");
  b.F("F.r.3.2", "observation/value[@xsi:type='IVL_PQ']/center/@value");
  b.F("F.r.3.3", "observation/value[@xsi:type='IVL_PQ']/center/@unit");
  b.F("F.r.3.4", "observation/value[@xsi:type='ED']");
  b.F("F.r.3.1", "observation/interpretationCode{@codeSystem='" ICH(12) "'}/@code");
  b.F("F.r.4", "observation/referenceRange" TYPE("REFV")
               "[observationRange/interpretationCode/@code='L']{observationRange/interpretationCode/@codeSystem="
               "'2.16.840.1.113883.5.83'}/observationRange{@classCode='OBS'}{@moodCode='EVN.CRT'}"
               "/value{@xsi:type='PQ'}/@value");
  b.F("F.r.5", "observation/referenceRange" TYPE("REFV")
               "[observationRange/interpretationCode/@code='H']{observationRange/interpretationCode/@codeSystem="
               "'2.16.840.1.113883.5.83'}/observationRange{@classCode='OBS'}{@moodCode='EVN.CRT'}"
               "/value{@xsi:type='PQ'}/@value");
  b.F("F.r.6", "observation/outboundRelationship2" TYPE("PERT")
                   BY_CODE("observation", "10", ICH(19)) "/observation/value{@xsi:type='ED'}");
  b.F("F.r.7", "observation/outboundRelationship2" TYPE("REFR")
                   BY_CODE("observation", "25", ICH(19)) "/observation/value{@xsi:type='BL'}/@value");

  // G.k drugs.
  b.Section("G.k", "", PR_ORG("4") "/component[" SA "]");
  b.F("G.k.0", SA "/id/@root");
  b.F("G.k.2.1.1b", KP "/code/@code", true);
  b.F("G.k.2.1.1a", KP "/code/@codeSystemVersion");
  b.F("G.k.2.2", KP "/name");
  b.F("G.k.3.1", APPROVAL "/id{@root='" ICHID(4) "'}/@extension");
  b.F("G.k.3.3", APPROVAL "/holder/role/playingOrganization/name");
  b.F("G.k.3.2", APPROVAL "/author/territorialAuthority/territory/code{@codeSystem='" ISO3166 "'}/@code");
  b.Section("G.k.2.3.r", "G.k", KP "/ingredient");
  // An ingredient's strength comes before the substance in the schema.
  b.F("G.k.2.3.r.3a", "quantity{denominator/@value='1'}/numerator/@value");
  b.F("G.k.2.3.r.3b", "quantity{denominator/@value='1'}/numerator/@unit");
  b.F("G.k.2.3.r.2b", "ingredientSubstance/code/@code", true);
  b.F("G.k.2.3.r.2a", "ingredientSubstance/code/@codeSystemVersion");
  b.F("G.k.2.3.r.1", "ingredientSubstance/name");
  b.F("G.k.2.4", SA "/consumable/instanceOfKind/subjectOf/productEvent" BY_CODE(
                     "", "1", ICH(18)) "/performer/assignedEntity/representedOrganization/addr/country");
  // G.k.9.i.3 and .4: per drug and reaction, naming the reaction by its id.
  b.Linked("G.k.9.i.3.1", SA "/outboundRelationship1[@typeCode='SAS']", {{"actReference/id/@root", "E.i.0"}}, "G.k");
  b.FIn("G.k.9.i.3.1", "G.k.9.i.3.1a", "pauseQuantity/@value");
  b.FIn("G.k.9.i.3.1", "G.k.9.i.3.1b", "pauseQuantity/@unit");
  b.Linked("G.k.9.i.3.2", SA "/outboundRelationship1[@typeCode='SAE']", {{"actReference/id/@root", "E.i.0"}}, "G.k");
  b.FIn("G.k.9.i.3.2", "G.k.9.i.3.2a", "pauseQuantity/@value");
  b.FIn("G.k.9.i.3.2", "G.k.9.i.3.2b", "pauseQuantity/@unit");
  b.F("G.k.2.5", SA "/outboundRelationship2" TYPE("PERT")
                     BY_CODE("observation", "6", ICH(19)) "/observation/value{@xsi:type='BL'}/@value");
  b.F("G.k.5a", SA "/outboundRelationship2" TYPE("SUMM")
                    BY_CODE("observation", "14", ICH(19)) "/observation/value{@xsi:type='PQ'}/@value");
  b.F("G.k.5b", SA "/outboundRelationship2" TYPE("SUMM")
                    BY_CODE("observation", "14", ICH(19)) "/observation/value{@xsi:type='PQ'}/@unit");
  b.F("G.k.6a", SA "/outboundRelationship2" TYPE("PERT")
                    BY_CODE("observation", "16", ICH(19)) "/observation/value{@xsi:type='PQ'}/@value");
  b.F("G.k.6b", SA "/outboundRelationship2" TYPE("PERT")
                    BY_CODE("observation", "16", ICH(19)) "/observation/value{@xsi:type='PQ'}/@unit");
  b.Section("G.k.4.r", "G.k", SA "/outboundRelationship2" TYPE("COMP") "[" SA "]");
  b.F("G.k.4.r.8", DOSE "/text");
  b.F("G.k.4.r.4-5", DOSE "/effectiveTime/@nullFlavor");
  b.F("G.k.4.r.4", DOSE "/effectiveTime{@xsi:type='IVL_TS'}/low/@value");
  b.F("G.k.4.r.5", DOSE "/effectiveTime{@xsi:type='IVL_TS'}/high/@value");
  b.F("G.k.4.r.10.2b", DOSE "/routeCode/@code", true);
  b.F("G.k.4.r.10.2a", DOSE "/routeCode/@codeSystemVersion");
  b.F("G.k.4.r.10.1", DOSE "/routeCode/originalText");
  b.F("G.k.4.r.1a", DOSE "/doseQuantity/@value");
  b.F("G.k.4.r.1b", DOSE "/doseQuantity/@unit");
  b.F("G.k.4.r.7", DOSE "/consumable/instanceOfKind/productInstanceInstance/lotNumberText");
  b.F("G.k.4.r.9.2b", DOSE "/consumable/instanceOfKind/kindOfProduct/formCode/@code", true);
  b.F("G.k.4.r.9.2a", DOSE "/consumable/instanceOfKind/kindOfProduct/formCode/@codeSystemVersion");
  b.F("G.k.4.r.9.1", DOSE "/consumable/instanceOfKind/kindOfProduct/formCode/originalText");
  b.F("G.k.4.r.country", DOSE "/performer/assignedEntity/representedOrganization/addr/country");
  b.Linked("G.k.9.i.4", SA "/outboundRelationship2" TYPE("PERT") BY_CODE("observation", "31", ICH(19)),
           {{"observation/outboundRelationship1{@typeCode='REFR'}/actReference/id/@root", "E.i.0"}}, "G.k");
  b.F("G.k.9.i.4", "observation/value{@xsi:type='CE'}{@codeSystem='" ICH(16) "'}/@code");
  b.Section("G.k.10.r", "G.k", SA "/outboundRelationship2" TYPE("REFR") BY_CODE("observation", "9", ICH(19)));
  b.F("G.k.10.r", "observation/value{@xsi:type='CE'}{@codeSystem='" ICH(17) "'}/@code");
  b.Section("G.k.7.r", "G.k", SA "/inboundRelationship" TYPE("RSON") BY_CODE("observation", "19", ICH(19)));
  b.F("G.k.7.r.2b", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@code");
  b.F("G.k.7.r.2a", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@codeSystemVersion");
  b.F("G.k.7.r.1", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/originalText");
  b.K("G.k.7.r", "observation/performer/assignedEntity/code{@code='3'}{@codeSystem='" ICH(21) "'}");
  b.F("G.k.8", SA "/inboundRelationship" TYPE("CAUS") "[act/code]/act/code{@codeSystem='" ICH(15) "'}/@code");

  // G.k.1 and G.k.9.i.2.r: assessments that name the drug and reaction by id.
  b.Linked("G.k.1", CAUSALITY BY_CODE("causalityAssessment", "20", ICH(19)),
           {{"causalityAssessment/subject2/productUseReference/id/@root", "G.k.0"}});
  b.F("G.k.1", "causalityAssessment/value{@xsi:type='CE'}{@codeSystem='" ICH(13) "'}/@code");
  b.Linked("G.k.9.i.2.r", CAUSALITY BY_CODE("causalityAssessment", "39", ICH(19)),
           {{"causalityAssessment/subject1" TYPE("SUBJ") "/adverseEffectReference/id/@root", "E.i.0"},
            {"causalityAssessment/subject2/productUseReference/id/@root", "G.k.0"}});
  b.F("G.k.9.i.2.r.3", "causalityAssessment/value{@xsi:type='ST'}");
  b.F("G.k.9.i.2.r.2", "causalityAssessment/methodCode/originalText");
  b.F("G.k.9.i.2.r.1", "causalityAssessment/author/assignedEntity/code/originalText");

  // H: narrative and comments.
  b.F("H.2", COMMENT("3") "/value{@xsi:type='ED'}");
  b.Section("H.3.r", "",
            AEA "/component1[observationEvent/code/@code='15']{observationEvent/code/@codeSystem='" ICH(19)
                "'}{observationEvent/author/assignedEntity/code/@code='1'}{observationEvent/author/assignedEntity/"
                "code/@codeSystem='" ICH(21) "'}");
  b.F("H.3.r.1b", "observationEvent/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@code");
  b.F("H.3.r.1a", "observationEvent/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@codeSystemVersion");
  b.F("H.4", COMMENT("1") "/value{@xsi:type='ED'}");

  // C.1.6.1, C.1.7 and FDA's additions, observations of the event.
  b.F("C.1.6.1", IE_OBS("1", ICH(19)) "/value{@xsi:type='BL'}/@value");
  b.F("C.1.7", IE_OBS("23", ICH(19)) "/value{@xsi:type='BL'}/@value");
  b.F("FDA.C.1.7.1", IE_OBS("C54588", NCI) "/value{@xsi:type='CE'}{@codeSystem='" FDAID("1.1") "'}/@code");
  b.F("FDA.C.1.12", IE_OBS("C156384", NCI) "/value{@xsi:type='BL'}/@value");
  b.Section("H.5.r", "",
            IE "/component[observationEvent/code/@code='36']{observationEvent/code/@codeSystem='" ICH(19)
               "'}{observationEvent/author/assignedEntity/code/@code='2'}{observationEvent/author/assignedEntity/"
               "code/@codeSystem='" ICH(21) "'}");
  b.F("H.5.r.1a", "observationEvent/value{@xsi:type='ED'}");
  b.F("H.5.r.1b", "observationEvent/value{@xsi:type='ED'}/@language");

  // C.1.8.2 first sender, C.2.r primary sources, C.1.10.r linked reports.
  b.F("C.1.8.2", IE "/outboundRelationship" TYPE("SPRT")
                     BY_CODE("relatedInvestigation", "1", ICH(22)) "/relatedInvestigation/subjectOf2" TYPE(
                         "SUBJ") "/controlActEvent/author/assignedEntity/code{@codeSystem='" ICH(3) "'}/@code");
  b.Section("C.2.r", "", IE "/outboundRelationship" TYPE("SPRT") BY_CODE("relatedInvestigation", "2", ICH(22)));
  b.F("C.2.r.5", "priorityNumber/@value");
  b.F("C.2.r.2.3", REPORTER "/addr/streetAddressLine");
  b.F("C.2.r.2.4", REPORTER "/addr/city");
  b.F("C.2.r.2.5", REPORTER "/addr/state");
  b.F("C.2.r.2.6", REPORTER "/addr/postalCode");
  b.F("C.2.r.2.7", REPORTER "/telecom[@value^='tel:']/@value");
  b.F("FDA.C.2.r.2.8", REPORTER "/telecom[@value^='mailto:']/@value");
  b.F("C.2.r.1.1", REPORTER "/assignedPerson/name/prefix");
  b.F("C.2.r.1.2", REPORTER "/assignedPerson/name/given");
  b.F("C.2.r.1.3", REPORTER "/assignedPerson/name/given[2]");
  b.F("C.2.r.1.4", REPORTER "/assignedPerson/name/family");
  b.F("C.2.r.4", REPORTER "/assignedPerson/asQualifiedEntity/code{@codeSystem='" ICH(6) "'}/@code", true);
  b.F("C.2.r.3", REPORTER
      "/assignedPerson/asLocatedEntity/location{@classCode='COUNTRY'}{@determinerCode='INSTANCE'}"
      "/code{@codeSystem='" ISO3166 "'}/@code");
  b.F("C.2.r.2.2", REPORTER "/representedOrganization/name");
  b.F("C.2.r.2.1", REPORTER "/representedOrganization/assignedEntity/representedOrganization/name");
  b.Section("C.1.10.r", "", IE "/outboundRelationship" TYPE("SPRT") "[relatedInvestigation/code/@nullFlavor='NA']");
  b.F("C.1.10.r",
      "relatedInvestigation/subjectOf2" TYPE("SUBJ") "/controlActEvent/id{@root='" ICHID(2) "'}/@extension");

  // C.3 the sender; C.1.9.1.r other case identifiers.
  b.F("C.3.1", SENDER "/code{@codeSystem='" ICH(7) "'}/@code");
  b.F("C.3.4.1", SENDER "/addr/streetAddressLine");
  b.F("C.3.4.2", SENDER "/addr/city");
  b.F("C.3.4.3", SENDER "/addr/state");
  b.F("C.3.4.4", SENDER "/addr/postalCode");
  b.F("C.3.4.6", SENDER "/telecom[@value^='tel:']/@value");
  b.F("C.3.4.7", SENDER "/telecom[@value^='fax:']/@value");
  b.F("C.3.4.8", SENDER "/telecom[@value^='mailto:']/@value");
  b.F("C.3.3.2", SENDER "/assignedPerson/name/prefix");
  b.F("C.3.3.3", SENDER "/assignedPerson/name/given");
  b.F("C.3.3.4", SENDER "/assignedPerson/name/given[2]");
  b.F("C.3.3.5", SENDER "/assignedPerson/name/family");
  b.F("C.3.4.5", SENDER
      "/assignedPerson/asLocatedEntity/location{@classCode='COUNTRY'}{@determinerCode='INSTANCE'}"
      "/code{@codeSystem='" ISO3166 "'}/@code");
  b.F("C.3.3.1", SENDER "/representedOrganization/name");
  b.F("C.3.2", SENDER "/representedOrganization/assignedEntity/representedOrganization/name");
  b.Section("C.1.9.1.r", "", IE "/subjectOf1" TYPE("SUBJ") "[controlActEvent/id]");
  b.F("C.1.9.1.r.1", "controlActEvent/id{@root='" ICHID(3) "'}/@assigningAuthorityName");
  b.F("C.1.9.1.r.2", "controlActEvent/id{@root='" ICHID(3) "'}/@extension");

  // C.1.3 and the other characteristics of the report.
  b.F("C.1.3", IE_CHAR("1") "/value{@xsi:type='CE'}{@codeSystem='" ICH(2) "'}/@code");
  b.F("C.1.9.1", IE_CHAR("2") "/value{@xsi:type='BL'}/@value");
  b.F("C.1.11.1", IE_CHAR("3") "/value{@xsi:type='CE'}{@codeSystem='" ICH(5) "'}/@code");
  b.F("C.1.11.2", IE_CHAR("4") "/value{@xsi:type='CE'}/originalText");
}

void BuildBatchHead(Table* t) {
  TableBuilder b(t);
  b.F("N.1.2", "id{@root='" ICHID(22) "'}/@extension");
  b.F("N.1.5", "creationTime/@value");
  b.K("", "responseModeCode{@code='D'}");
  b.K("", "interactionId{@extension='MCCI_IN200100UV01'}{@root='2.16.840.1.113883.1.6'}");
  b.F("N.1.1", "name{@codeSystem='" ICH(1) "'}/@code");
}

void BuildBatchTail(Table* t) {
  TableBuilder b(t);
  b.F("N.1.4", "receiver/device/id{@root='" ICHID(14) "'}/@extension");
  b.F("N.1.3", "sender/device/id{@root='" ICHID(13) "'}/@extension");
}

}  // namespace

const Table& IcsrTable() {
  static const Table* table = [] {
    auto* t = new Table;
    BuildIcsrTable(t);
    t->Index();
    return t;
  }();
  return *table;
}

const Table& BatchHeadTable() {
  static const Table* table = [] {
    auto* t = new Table;
    BuildBatchHead(t);
    t->Index();
    return t;
  }();
  return *table;
}

const Table& BatchTailTable() {
  static const Table* table = [] {
    auto* t = new Table;
    BuildBatchTail(t);
    t->Index();
    return t;
  }();
  return *table;
}

}  // namespace trialcore::safety::e2b_internal
