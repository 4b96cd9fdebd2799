// Internal to safety/: the one table that maps E2B(R3) data elements to XML
// (e2b_table.cc), used both ways (export builds nodes along a path, import
// reads along the same path), so the two cannot drift apart. Paths are
// written in a small XPath subset (see e2b_map.cc); the table was written
// from the Xpath column of FDA's data element list
// (fda-icsr-data-elements.csv), corrected where that column disagrees with
// FDA's own example messages (those are the ones FDA's gateway accepts), and
// checked by round-tripping the examples.
//
// No libxml2 header here: nodes are the opaque libxml2 types, declared below.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/xml_doc.h"

struct _xmlNode;  // libxml2's xmlNode
struct _xmlAttr;  // libxml2's xmlAttr
struct _xmlDoc;   // libxml2's xmlDoc

namespace trialcore::safety::e2b_internal {

inline constexpr char kHl7Ns[] = "urn:hl7-org:v3";
inline constexpr char kXsiNs[] = "http://www.w3.org/2001/XMLSchema-instance";

// A predicate on a step: the attribute at the end of `path` (child element
// names, possibly empty) equals `value`; `exists` checks only that the path
// leads to an element; `starts_with` compares a prefix ("tel:").
struct Pred {
  std::vector<std::string> path;
  std::string attr;  // may be "xsi:type"
  std::string value;
  bool exists = false;
  bool starts_with = false;
};

struct Step {
  std::string name;
  std::vector<Pred> match;     // [..]: must hold to match; set when created
  std::vector<Pred> decorate;  // {..}: only set when created (code systems, fixed codes)
  int nth = 1;                 // [2]: the second match
  // Steps written alike share an id (0 = not from the table), so export can
  // remember where a step led from a node instead of matching it again.
  int id = 0;
};

// Remembers, during one export, the child each (node, step) led to: rows
// share long prefixes (the investigation event, the patient), and matching
// predicates along them again for every row is most of the export's time.
class BuildMemo {
 public:
  _xmlNode* Find(const _xmlNode* node, int step_id) const;
  void Put(const _xmlNode* node, int step_id, _xmlNode* child);

 private:
  struct Hash {
    size_t operator()(const std::pair<const _xmlNode*, int>& k) const {
      return std::hash<const void*>()(k.first) * 31 + static_cast<size_t>(k.second);
    }
  };
  std::unordered_map<std::pair<const _xmlNode*, int>, _xmlNode*, Hash> map_;
};

struct Path {
  std::vector<Step> steps;
  std::string attr;    // "" = the element's text
  std::string prefix;  // for a telecom: "tel:" stripped on import, added on export
};

// A repeating section ("E.i", "G.k.4.r"). Its instances are the elements that
// match the anchor's last step under the parent section's node. A linked
// section (causality) instead sits in one list and names its drug and
// reaction by their ids: each link's `ref` path holds the id of `target`
// ("G.k.0") at the index position of the link; a further index, if the depth
// asks for one, counts repeats of the same links.
struct Section {
  std::string name;
  int parent = -1;  // index into sections; -1 = the message
  int depth = 0;
  Path anchor;
  struct Link {
    Path ref;
    std::string target;  // "G.k.0"
    int pos = 0;         // which index of the section it gives (k is 0 in G.k.9.i.2.r)
  };
  std::vector<Link> links;
};

struct Row {
  std::string number;  // "" = a constant: the path's predicates are the content
  int section = -1;
  Path path;
  bool code_system = false;  // the element also carries @codeSystem (E2bElement::code_system)
};

struct Table {
  std::vector<Section> sections;
  std::vector<Row> rows;
  std::unordered_map<std::string, size_t> by_number;  // into rows
  void Index();
  int FindSection(const std::string& name) const;
};

// Rows relative to the message element PORR_IN049016UV. Built once.
const Table& IcsrTable();
// Rows of the batch wrapper relative to MCCI_IN200100UV01, split where the
// messages go (before receiver and sender).
const Table& BatchHeadTable();
const Table& BatchTailTable();

// The path language (see e2b_map.cc), for the table.
Path ParsePath(const std::string& text);
// Splits at `sep` outside brackets, braces and quotes.
std::vector<std::string> SplitTop(const std::string& text, char sep);

// The row for an element number, or nullptr.
const Row* FindRow(const Table& table, const std::string& number);

// --- Parsing -------------------------------------------------------------

// Parsing is core/xml_doc.h's (no network, no external entities).
using trialcore::ParseXml;
using trialcore::XmlDocPtr;

// --- The path engine over libxml2 nodes --------------------------------

bool StepMatches(const _xmlNode* node, const Step& step);
// The nth child of `parent` matching `step` (1-based), or nullptr.
_xmlNode* FindChild(_xmlNode* parent, const Step& step, int nth);
// All children matching `step`.
std::vector<_xmlNode*> FindChildren(_xmlNode* parent, const Step& step);
// Creates children until there are `nth` matching `step`; returns the nth.
_xmlNode* EnsureChild(_xmlNode* parent, const Step& step, int nth);
// Appends a new child matching `step`.
_xmlNode* AppendChild(_xmlNode* parent, const Step& step);
// Follows all steps from `node` (read only); nullptr if some step has no match.
_xmlNode* Follow(_xmlNode* node, const std::vector<Step>& steps);
// Follows all steps, creating what is missing; with a memo, steps from the
// table already followed from a node are not matched again.
_xmlNode* Build(_xmlNode* node, const std::vector<Step>& steps, BuildMemo* memo = nullptr);

// The attribute node ("xsi:type" names the XML Schema instance namespace), or nullptr.
_xmlAttr* FindAttrNode(const _xmlNode* node, const std::string& name);
std::string AttrText(const _xmlAttr* attr);
// Calls `mark` for each attribute of `node` (or of the children its predicates
// name) that one of the step's predicates names and finds holding its value:
// import uses it to know which attributes of a message it has read.
void ForEachPredicateAttr(_xmlNode* node, const Step& step, const std::function<void(_xmlAttr*)>& mark);

std::string GetAttr(const _xmlNode* node, const std::string& name);  // "" when absent
bool HasAttr(const _xmlNode* node, const std::string& name);
void SetAttr(_xmlNode* node, const std::string& name, const std::string& value);
// The element's own text (its text children, trimmed).
std::string GetText(const _xmlNode* node);
void SetText(_xmlNode* node, const std::string& text);

}  // namespace trialcore::safety::e2b_internal
