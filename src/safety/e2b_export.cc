#include "safety/e2b_export.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
// After tree.h, which it needs.
#include <libxml/dict.h>

#include <cstdio>
#include <map>
#include <memory>
#include <unordered_map>

#include "core/value.h"
#include "safety/e2b_map.h"
#include "safety/e2b_validate.h"

namespace trialcore::safety {

namespace {

using namespace e2b_internal;  // NOLINT: the table's own engine

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};

// A UUID-shaped id from a seed (FNV-1a, twice): stable across exports, so a
// re-sent case version keeps its reaction and drug ids.
std::string DerivedUuid(const std::string& seed) {
  uint64_t h1 = 1469598103934665603ULL, h2 = 1099511628211ULL * 31;
  for (unsigned char c : seed) {
    h1 = (h1 ^ c) * 1099511628211ULL;
    h2 = (h2 ^ (c + 0x5bU)) * 1099511628211ULL;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-a%03x-%012llx", static_cast<unsigned>(h1 >> 32),
                static_cast<unsigned>((h1 >> 16) & 0xffff), static_cast<unsigned>(h1 & 0xfff),
                static_cast<unsigned>(h2 >> 52), static_cast<unsigned long long>(h2 & 0xffffffffffffULL));
  return buf;
}

// --- Serialising ---------------------------------------------------------
// Our own writer over the built tree: libxml2's goes through an encoding
// conversion and escapes character by character, which cost a fifth of an
// export; the tree is ours and simple (elements, attributes, text, two
// namespaces), and import, the schema and the round-trip tests read the
// result back with libxml2.

void AppendEscaped(std::string* out, const char* s, bool attribute) {
  for (; *s; ++s) {
    switch (*s) {
      case '&':
        out->append("&amp;");
        break;
      case '<':
        out->append("&lt;");
        break;
      case '>':
        out->append("&gt;");
        break;
      case '\r':
        out->append("&#13;");
        break;
      case '"':
        if (attribute) {
          out->append("&quot;");
        } else {
          out->push_back('"');
        }
        break;
      case '\n':
        if (attribute) {
          out->append("&#10;");
        } else {
          out->push_back('\n');
        }
        break;
      case '\t':
        if (attribute) {
          out->append("&#9;");
        } else {
          out->push_back('\t');
        }
        break;
      default:
        out->push_back(*s);
    }
  }
}

void AppendName(std::string* out, const xmlNs* ns, const xmlChar* name) {
  if (ns && ns->prefix) {
    out->append(reinterpret_cast<const char*>(ns->prefix));
    out->push_back(':');
  }
  out->append(reinterpret_cast<const char*>(name));
}

// `indent` < 0: inside mixed content, where added whitespace would change the text.
void Serialise(const xmlNode* node, int indent, std::string* out) {
  if (indent >= 0) out->append(static_cast<size_t>(indent) * 2, ' ');
  out->push_back('<');
  AppendName(out, node->ns, node->name);
  for (const xmlNs* ns = node->nsDef; ns; ns = ns->next) {
    out->append(" xmlns");
    if (ns->prefix) {
      out->push_back(':');
      out->append(reinterpret_cast<const char*>(ns->prefix));
    }
    out->append("=\"");
    AppendEscaped(out, reinterpret_cast<const char*>(ns->href), true);
    out->push_back('"');
  }
  for (const xmlAttr* a = node->properties; a; a = a->next) {
    out->push_back(' ');
    AppendName(out, a->ns, a->name);
    out->append("=\"");
    for (const xmlNode* t = a->children; t; t = t->next) {
      if (t->content) AppendEscaped(out, reinterpret_cast<const char*>(t->content), true);
    }
    out->push_back('"');
  }
  bool elements = false, text = false;
  for (const xmlNode* c = node->children; c; c = c->next) {
    elements |= c->type == XML_ELEMENT_NODE;
    text |= c->type == XML_TEXT_NODE;
  }
  if (!elements && !text) {
    out->append(indent >= 0 ? "/>\n" : "/>");
    return;
  }
  out->push_back('>');
  const int inner = text ? -1 : indent + 1;
  if (inner >= 0) out->push_back('\n');
  for (const xmlNode* c = node->children; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) {
      Serialise(c, inner, out);
    } else if (c->type == XML_TEXT_NODE && c->content) {
      AppendEscaped(out, reinterpret_cast<const char*>(c->content), false);
    }
  }
  if (inner >= 0) out->append(static_cast<size_t>(indent) * 2, ' ');
  out->append("</");
  AppendName(out, node->ns, node->name);
  out->append(indent >= 0 ? ">\n" : ">");
}

void WriteValue(const Row& row, xmlNode* node, const E2bElement& e, BuildMemo* memo = nullptr) {
  xmlNode* target = Build(node, row.path.steps, memo);
  if (!e.null_flavor.empty()) {
    SetAttr(target, "nullFlavor", e.null_flavor);
  } else if (row.path.attr.empty()) {
    SetText(target, e.value);
  } else if (!e.value.empty() || !row.code_system) {
    SetAttr(target, row.path.attr, row.path.prefix + e.value);
  }
  if (row.code_system && !e.code_system.empty()) SetAttr(target, "codeSystem", e.code_system);
}

class MessageWriter {
 public:
  MessageWriter(const Table& table, const Icsr& icsr, const std::vector<E2bElement>& extra, xmlNode* msg)
      : table_(table), icsr_(icsr), msg_(msg) {
    for (const auto& e : icsr.elements()) by_number_[e.number].push_back(&e);
    for (const auto& e : extra) by_number_[e.number].push_back(&e);
  }

  void Write() {
    for (const Row& row : table_.rows) {
      if (row.number.empty()) {
        if (row.section < 0) {
          Build(msg_, row.path.steps, &memo_);
        } else {
          for (const auto& idx : icsr_.Instances(table_.sections[row.section].name)) {
            Build(SectionNode(row.section, idx), row.path.steps, &memo_);
          }
        }
        continue;
      }
      auto it = by_number_.find(row.number);
      if (it == by_number_.end()) continue;
      for (const E2bElement* e : it->second) {
        WriteValue(row, row.section < 0 ? msg_ : SectionNode(row.section, e->index), *e, &memo_);
      }
    }
    // Links last: in an assessment they follow the value, method and author.
    for (const auto& [key, node] : linked_) {
      const Section& s = table_.sections[key.first];
      for (const auto& link : s.links) {
        xmlNode* ref = Build(node, link.ref.steps);
        SetAttr(ref, link.ref.attr, ValueOf(link.target, {key.second[link.pos]}));
      }
    }
  }

 private:
  std::string ValueOf(const std::string& number, const std::vector<uint16_t>& index) const {
    auto it = by_number_.find(number);
    if (it == by_number_.end()) return "";
    for (const E2bElement* e : it->second) {
      if (e->index == index) return e->value;
    }
    return "";
  }

  xmlNode* SectionNode(int s, const std::vector<uint16_t>& index) {
    const Section& sec = table_.sections[s];
    std::vector<uint16_t> idx(index.begin(), index.begin() + sec.depth);
    auto key = std::make_pair(s, idx);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    std::vector<Step> head(sec.anchor.steps.begin(), sec.anchor.steps.end() - 1);
    xmlNode* node;
    if (!sec.links.empty()) {
      // One new element per (drug, reaction, repeat), in the order met, under
      // the message or the parent (a drug).
      xmlNode* parent = sec.parent < 0 ? msg_ : SectionNode(sec.parent, idx);
      node = AppendChild(Build(parent, head, &memo_), sec.anchor.steps.back());
      linked_.emplace_back(key, node);
    } else {
      xmlNode* parent = sec.parent < 0 ? msg_ : SectionNode(sec.parent, idx);
      node = EnsureChild(Build(parent, head, &memo_), sec.anchor.steps.back(), idx.back());
    }
    cache_.emplace(key, node);
    return node;
  }

  const Table& table_;
  const Icsr& icsr_;
  xmlNode* msg_;
  std::unordered_map<std::string, std::vector<const E2bElement*>> by_number_;
  BuildMemo memo_;
  std::map<std::pair<int, std::vector<uint16_t>>, xmlNode*> cache_;
  std::vector<std::pair<std::pair<int, std::vector<uint16_t>>, xmlNode*>> linked_;
};

Status CheckElements(const Icsr& icsr) {
  const Table& table = IcsrTable();
  const std::string report = icsr.safety_report_id().empty() ? "(no C.1.1)" : icsr.safety_report_id();
  for (const auto& e : icsr.elements()) {
    if (!FindRow(table, e.number)) {
      return InvalidArgument("ICSR " + report + ": element " + e.number + " has no E2B(R3) mapping");
    }
    if (static_cast<int>(e.index.size()) != RepeatDepth(e.number)) {
      return InvalidArgument("ICSR " + report + ": element " + ElementLabel(e.number, e.index) + " needs " +
                             std::to_string(RepeatDepth(e.number)) + " repeat indices");
    }
    if (!IsValidUtf8(e.value)) {
      return InvalidArgument("ICSR " + report + ": element " + ElementLabel(e.number, e.index) + " is not valid UTF-8");
    }
    if (e.value.empty() && e.null_flavor.empty() && e.code_system.empty()) {
      return InvalidArgument("ICSR " + report + ": element " + ElementLabel(e.number, e.index) +
                             " has neither a value nor a null flavour");
    }
    for (uint16_t n : e.index) {
      if (n == 0)
        return InvalidArgument("ICSR " + report + ": element " + ElementLabel(e.number, e.index) +
                               " has a repeat index 0 (they count from 1)");
    }
  }
  return Status::Ok();
}

// Causality names reactions and drugs by id: the ids the report lacks,
// derived (kept beside the report rather than copying it).
std::vector<E2bElement> MissingIds(const Icsr& icsr) {
  std::vector<E2bElement> out;
  for (const char* section : {"E.i", "G.k"}) {
    const std::string id_number = std::string(section) + ".0";
    for (const auto& idx : icsr.Instances(section)) {
      if (!icsr.Find(id_number, idx)) {
        out.push_back(E2bElement{id_number, idx,
                                 DerivedUuid(icsr.safety_report_id() + "/" + section + "/" + std::to_string(idx[0])),
                                 "", ""});
      }
    }
  }
  return out;
}

void WriteHeaderRows(const Table& table, xmlNode* root, const E2bBatchHeader& h) {
  const std::map<std::string, std::string> values = {{"N.1.1", h.message_type},
                                                     {"N.1.2", h.batch_number},
                                                     {"N.1.3", h.sender},
                                                     {"N.1.4", h.receiver},
                                                     {"N.1.5", h.transmission_time}};
  for (const Row& row : table.rows) {
    if (row.number.empty()) {
      Build(root, row.path.steps);
    } else if (auto it = values.find(row.number); it != values.end() && !it->second.empty()) {
      WriteValue(row, root, E2bElement{row.number, {}, it->second, "", ""});
    }
  }
}

}  // namespace

Result<std::string> ExportE2bBatch(const E2bBatchHeader& header, std::span<const Icsr> icsrs,
                                   const E2bSchemas* schemas) {
  InitXml();
  if (icsrs.empty()) return InvalidArgument("an E2B(R3) batch needs at least one ICSR");
  for (const Icsr& icsr : icsrs) TC_RETURN_IF_ERROR(CheckElements(icsr));

  std::unique_ptr<xmlDoc, DocFree> doc(xmlNewDoc(reinterpret_cast<const xmlChar*>("1.0")));
  // Element and attribute names interned once per document rather than
  // copied for every node: a batch repeats a few hundred names thousands of times.
  doc->dict = xmlDictCreate();
  xmlNode* root = xmlNewDocNode(doc.get(), nullptr, reinterpret_cast<const xmlChar*>("MCCI_IN200100UV01"), nullptr);
  xmlDocSetRootElement(doc.get(), root);
  xmlSetNs(root, xmlNewNs(root, reinterpret_cast<const xmlChar*>(kHl7Ns), nullptr));
  xmlNewNs(root, reinterpret_cast<const xmlChar*>(kXsiNs), reinterpret_cast<const xmlChar*>("xsi"));
  SetAttr(root, "ITSVersion", "XML_1.0");

  WriteHeaderRows(BatchHeadTable(), root, header);
  const Step message{"PORR_IN049016UV", {}, {}, 1};
  for (const Icsr& icsr : icsrs) {
    const std::vector<E2bElement> ids = MissingIds(icsr);
    xmlNode* msg = AppendChild(root, message);
    MessageWriter(IcsrTable(), icsr, ids, msg).Write();
  }
  WriteHeaderRows(BatchTailTable(), root, header);
  if (schemas) {
    const std::string name = "E2B(R3) batch " + header.batch_number + " (ICSR " + icsrs.front().safety_report_id() +
                             (icsrs.size() > 1 ? " and " + std::to_string(icsrs.size() - 1) + " more" : "") + ")";
    TC_RETURN_IF_ERROR(e2b_internal::ValidateBatchDoc(*schemas, doc.get(), name));
  }

  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out.reserve(64 * 1024);
  Serialise(root, 0, &out);
  return out;
}

}  // namespace trialcore::safety
