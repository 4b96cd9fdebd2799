#include "safety/e2b_import.h"

#include <libxml/tree.h>

#include <cstring>
#include <map>
#include <unordered_set>

#include "safety/e2b_map.h"
#include "safety/e2b_validate.h"

namespace trialcore::safety {

namespace {

using namespace e2b_internal;  // NOLINT: the table's own engine

// What of the message the table has read, so that whatever is left over can
// be named instead of dropped.
struct Consumed {
  std::unordered_set<const void*> attrs;  // xmlAttr*
  std::unordered_set<const void*> texts;  // xmlNode* whose text was read
  void Mark(xmlAttr* a) { attrs.insert(a); }
};

xmlNode* FollowMarked(xmlNode* node, const std::vector<Step>& steps, Consumed* c) {
  for (const Step& s : steps) {
    node = FindChild(node, s, s.nth);
    if (!node) return nullptr;
    ForEachPredicateAttr(node, s, [c](xmlAttr* a) { c->Mark(a); });
  }
  return node;
}

bool ReadValue(const Row& row, xmlNode* base, const std::vector<uint16_t>& idx, Consumed* c, Icsr* icsr) {
  xmlNode* node = FollowMarked(base, row.path.steps, c);
  if (!node) return false;
  if (row.number.empty()) return false;  // a constant: its predicates are marked, nothing to keep
  E2bElement e{row.number, idx, "", "", ""};
  bool present = false;
  if (row.path.attr.empty()) {
    std::string text = GetText(node);
    if (!text.empty()) {
      e.value = std::move(text);
      c->texts.insert(node);
      present = true;
    }
  } else if (xmlAttr* a = FindAttrNode(node, row.path.attr)) {
    e.value = AttrText(a);
    if (!row.path.prefix.empty() && e.value.compare(0, row.path.prefix.size(), row.path.prefix) == 0) {
      e.value.erase(0, row.path.prefix.size());
    }
    c->Mark(a);
    present = true;
  }
  if (!present) {
    if (xmlAttr* nf = FindAttrNode(node, "nullFlavor")) {
      e.null_flavor = AttrText(nf);
      c->Mark(nf);
      present = true;
    }
  }
  if (row.code_system) {
    // Kept only where it differs from the table's own (which export writes anyway).
    std::string table_cs;
    for (const Pred& p : row.path.steps.back().decorate) {
      if (p.path.empty() && p.attr == "codeSystem") table_cs = p.value;
    }
    xmlAttr* cs = FindAttrNode(node, "codeSystem");
    if (cs && AttrText(cs) != table_cs) {
      e.code_system = AttrText(cs);
      c->Mark(cs);
      present = true;  // a code system without a code is still what the sender sent
    }
  }
  if (present) icsr->Put(std::move(e));
  return present;
}

std::string Where(std::string_view source, const xmlNode* node) {
  return std::string(source) + ":" + std::to_string(xmlGetLineNo(node));
}

std::string NodePath(const xmlNode* node) {
  std::string path;
  for (; node && node->type == XML_ELEMENT_NODE; node = node->parent) {
    path = "/" + std::string(reinterpret_cast<const char*>(node->name)) + path;
  }
  return path;
}

class MessageReader {
 public:
  MessageReader(const Table& table, xmlNode* msg, std::string_view source, Consumed* consumed)
      : table_(table), msg_(msg), source_(source), c_(consumed) {}

  Result<Icsr> Read() {
    // Positional sections and plain rows first; the linked sections (causality)
    // need the reaction and drug ids those give.
    instances_.resize(table_.sections.size());
    for (size_t s = 0; s < table_.sections.size(); ++s) {
      if (table_.sections[s].links.empty()) FindInstances(static_cast<int>(s));
    }
    ReadRows(false);
    for (size_t s = 0; s < table_.sections.size(); ++s) {
      if (!table_.sections[s].links.empty()) TC_RETURN_IF_ERROR(FindLinkedInstances(static_cast<int>(s)));
    }
    ReadRows(true);
    return std::move(icsr_);
  }

 private:
  // Where a section's instances are looked for: under the message, or under
  // each instance of its parent section, with the parent's indices.
  std::vector<std::pair<std::vector<uint16_t>, xmlNode*>> ParentsOf(const Section& sec) const {
    if (sec.parent < 0) return {{{}, msg_}};
    return instances_[sec.parent];
  }

  void FindInstances(int s) {
    const Section& sec = table_.sections[s];
    std::vector<Step> head(sec.anchor.steps.begin(), sec.anchor.steps.end() - 1);
    for (auto& [pidx, pnode] : ParentsOf(sec)) {
      xmlNode* base = FollowMarked(pnode, head, c_);
      if (!base) continue;
      uint16_t n = 0;
      for (xmlNode* kid : FindChildren(base, sec.anchor.steps.back())) {
        ForEachPredicateAttr(kid, sec.anchor.steps.back(), [this](xmlAttr* a) { c_->Mark(a); });
        std::vector<uint16_t> idx = pidx;
        idx.push_back(++n);
        instances_[s].push_back({idx, kid});
      }
    }
  }

  Status FindLinkedInstances(int s) {
    const Section& sec = table_.sections[s];
    std::vector<Step> head(sec.anchor.steps.begin(), sec.anchor.steps.end() - 1);
    // Under the message, or under each instance of the parent (a drug).
    const auto parents = ParentsOf(sec);
    const size_t parent_depth = sec.parent < 0 ? 0 : static_cast<size_t>(table_.sections[sec.parent].depth);
    std::map<std::vector<uint16_t>, uint16_t> repeats;
    for (auto& [pidx, pnode] : parents) {
      xmlNode* base = FollowMarked(pnode, head, c_);
      if (!base) continue;
      for (xmlNode* kid : FindChildren(base, sec.anchor.steps.back())) {
        ForEachPredicateAttr(kid, sec.anchor.steps.back(), [this](xmlAttr* a) { c_->Mark(a); });
        std::vector<uint16_t> idx(sec.depth, 0);
        std::copy(pidx.begin(), pidx.end(), idx.begin());
        for (const auto& link : sec.links) {
          xmlNode* ref = FollowMarked(kid, link.ref.steps, c_);
          xmlAttr* id = ref ? FindAttrNode(ref, link.ref.attr) : nullptr;
          if (!id) {
            return InvalidArgument(Where(source_, kid) + ": " + sec.name + " at " + NodePath(kid) +
                                   " does not name its " + link.target + " id");
          }
          c_->Mark(id);
          const std::string value = AttrText(id);
          const E2bElement* target = nullptr;
          for (const E2bElement* e : icsr_.All(link.target)) {
            if (e->value == value) target = e;
          }
          if (!target) {
            return InvalidArgument(Where(source_, kid) + ": " + sec.name + " names " + link.target + " id " + value +
                                   ", which no " + (link.target == "E.i.0" ? "reaction" : "drug") +
                                   " in this report has");
          }
          idx[link.pos] = target->index[0];
        }
        if (static_cast<size_t>(sec.depth) > parent_depth + sec.links.size()) {
          std::vector<uint16_t> key(idx.begin(), idx.end() - 1);
          idx.back() = ++repeats[key];
        }
        instances_[s].push_back({idx, kid});
      }
    }
    return Status::Ok();
  }

  void ReadRows(bool linked) {
    for (const Row& row : table_.rows) {
      if (row.section < 0) {
        if (!linked) ReadValue(row, msg_, {}, c_, &icsr_);
        continue;
      }
      if (table_.sections[row.section].links.empty() == linked) continue;
      for (auto& [idx, node] : instances_[row.section]) ReadValue(row, node, idx, c_, &icsr_);
    }
  }

  const Table& table_;
  xmlNode* msg_;
  std::string_view source_;
  Consumed* c_;
  Icsr icsr_;
  std::vector<std::vector<std::pair<std::vector<uint16_t>, xmlNode*>>> instances_;
};

// Attributes that carry structure, not data: HL7's class, mood, type and
// determiner codes, display names (a label for a code we keep), the ITS
// version, schema hints, and the version of an ICH code list on a fixed code.
bool IsStructural(const xmlNode* owner, const xmlAttr* a) {
  const char* name = reinterpret_cast<const char*>(a->name);
  if (a->ns && std::strcmp(reinterpret_cast<const char*>(a->ns->href), kXsiNs) == 0) return true;
  for (const char* s : {"classCode", "moodCode", "typeCode", "determinerCode", "displayName", "ITSVersion"}) {
    if (std::strcmp(name, s) == 0) return true;
  }
  // The version of an ICH or FDA code list ("1.0") says which list, not what
  // was reported; MedDRA's version is data and is read by its own element.
  if (std::strcmp(name, "codeSystemVersion") != 0) return false;
  const xmlAttr* cs = FindAttrNode(owner, "codeSystem");
  return !cs || AttrText(cs).compare(0, 24, "2.16.840.1.113883.3.989.") == 0;
}

void FindUnread(const xmlNode* node, const Consumed& c, std::string_view source, std::vector<std::string>* out) {
  for (const xmlAttr* a = node->properties; a; a = a->next) {
    if (IsStructural(node, a) || c.attrs.count(a)) continue;
    out->push_back(Where(source, node) + ": " + NodePath(node) + "/@" + reinterpret_cast<const char*>(a->name) +
                   " = \"" + AttrText(a) + "\"");
  }
  if (!GetText(node).empty() && !c.texts.count(node)) {
    std::string text = GetText(node);
    if (text.size() > 40) text = text.substr(0, 40) + "...";
    out->push_back(Where(source, node) + ": " + NodePath(node) + " text \"" + text + "\"");
  }
  for (const xmlNode* k = node->children; k; k = k->next) {
    if (k->type == XML_ELEMENT_NODE) FindUnread(k, c, source, out);
  }
}

bool InHl7(const xmlNode* node) {
  return node->ns && std::strcmp(reinterpret_cast<const char*>(node->ns->href), kHl7Ns) == 0;
}

}  // namespace

Result<E2bBatch> ImportE2bBatch(std::string_view xml, std::string_view source, const E2bSchemas* schemas) {
  TC_ASSIGN_OR_RETURN(XmlDocPtr doc, ParseXml(xml, source));
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root || !InHl7(root) || std::strcmp(reinterpret_cast<const char*>(root->name), "MCCI_IN200100UV01") != 0) {
    return InvalidArgument(Where(source, root) + ": root element <" +
                           (root ? reinterpret_cast<const char*>(root->name) : "") +
                           "> is not an E2B(R3) ICSR batch (MCCI_IN200100UV01 in urn:hl7-org:v3)");
  }
  if (schemas) TC_RETURN_IF_ERROR(e2b_internal::ValidateBatchDoc(*schemas, doc.get(), source));

  Consumed consumed;
  E2bBatch batch;
  Icsr header;
  for (const Table* t : {&BatchHeadTable(), &BatchTailTable()}) {
    for (const Row& row : t->rows) ReadValue(row, root, {}, &consumed, &header);
  }
  batch.header.message_type = header.Value("N.1.1");
  batch.header.batch_number = header.Value("N.1.2");
  batch.header.sender = header.Value("N.1.3");
  batch.header.receiver = header.Value("N.1.4");
  batch.header.transmission_time = header.Value("N.1.5");

  const Step message{"PORR_IN049016UV", {}, {}, 1};
  for (xmlNode* msg : FindChildren(root, message)) {
    TC_ASSIGN_OR_RETURN(Icsr icsr, MessageReader(IcsrTable(), msg, source, &consumed).Read());
    batch.icsrs.push_back(std::move(icsr));
  }
  if (batch.icsrs.empty()) return InvalidArgument(std::string(source) + ": the batch holds no ICSR message");

  std::vector<std::string> unread;
  FindUnread(root, consumed, source, &unread);
  if (!unread.empty()) {
    std::string msg =
        std::to_string(unread.size()) + " value(s) have no E2B(R3) element this importer knows; nothing was imported: ";
    for (size_t n = 0; n < unread.size() && n < 10; ++n) msg += (n ? "; " : "") + unread[n];
    return InvalidArgument(msg);
  }
  return batch;
}

}  // namespace trialcore::safety
