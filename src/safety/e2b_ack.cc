#include "safety/e2b_ack.h"

#include <libxml/tree.h>

#include <algorithm>
#include <cstring>

#include "safety/e2b_map.h"
#include "safety/e2b_validate.h"

namespace trialcore::safety {

namespace {

using e2b_internal::GetAttr;
using e2b_internal::GetText;

bool Named(const xmlNode* n, const char* name) {
  return n->type == XML_ELEMENT_NODE && std::strcmp(reinterpret_cast<const char*>(n->name), name) == 0;
}

xmlNode* Child(const xmlNode* parent, const char* name) {
  for (xmlNode* c = parent ? parent->children : nullptr; c; c = c->next) {
    if (Named(c, name)) return c;
  }
  return nullptr;
}

// The first descendant along names, or nullptr.
xmlNode* Path(const xmlNode* node, std::initializer_list<const char*> names) {
  xmlNode* n = const_cast<xmlNode*>(node);
  for (const char* name : names) {
    n = Child(n, name);
    if (!n) return nullptr;
  }
  return n;
}

std::string At(std::string_view source, const xmlNode* n) {
  return std::string(source) + ":" + std::to_string(n ? xmlGetLineNo(n) : 0);
}

std::vector<std::string> Details(const xmlNode* ack) {
  std::vector<std::string> out;
  for (xmlNode* d = ack->children; d; d = d->next) {
    if (!Named(d, "acknowledgementDetail")) continue;
    std::string text = GetText(Child(d, "text") ? Child(d, "text") : d);
    // FDA's gateway joins several errors with ';' in one text.
    size_t start = 0;
    while (start <= text.size()) {
      size_t semi = text.find(';', start);
      if (semi == std::string::npos) semi = text.size();
      std::string part = text.substr(start, semi - start);
      size_t b = part.find_first_not_of(" \t\r\n");
      if (b != std::string::npos) out.push_back(part.substr(b, part.find_last_not_of(" \t\r\n") - b + 1));
      start = semi + 1;
    }
  }
  return out;
}

}  // namespace

bool E2bAck::Message::Names(std::string_view message_id) const {
  if (message_id.empty()) return false;
  size_t start = 0;
  while (start < acked_message.size()) {
    size_t sp = acked_message.find(' ', start);
    if (sp == std::string::npos) sp = acked_message.size();
    if (std::string_view(acked_message).substr(start, sp - start) == message_id) return true;
    start = sp + 1;
  }
  return false;
}

Result<E2bAck> ParseE2bAck(std::string_view xml, std::string_view source, const E2bSchemas* schemas) {
  TC_ASSIGN_OR_RETURN(e2b_internal::XmlDocPtr doc, e2b_internal::ParseXml(xml, source));
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root || !Named(root, "MCCI_IN200101UV01") || !root->ns ||
      std::strcmp(reinterpret_cast<const char*>(root->ns->href), e2b_internal::kHl7Ns) != 0) {
    return InvalidArgument(At(source, root) + ": root element <" +
                           (root ? reinterpret_cast<const char*>(root->name) : "") +
                           "> is not an E2B(R3) acknowledgement (MCCI_IN200101UV01 in urn:hl7-org:v3)");
  }
  if (schemas) TC_RETURN_IF_ERROR(e2b_internal::ValidateAckDoc(*schemas, doc.get(), source));

  E2bAck ack;
  if (xmlNode* id = Child(root, "id")) ack.ack_batch_number = GetAttr(id, "extension");
  if (xmlNode* t = Child(root, "creationTime")) ack.ack_time = GetAttr(t, "value");
  if (xmlNode* id = Path(root, {"sender", "device", "id"})) ack.sender = GetAttr(id, "extension");
  if (xmlNode* id = Path(root, {"receiver", "device", "id"})) ack.receiver = GetAttr(id, "extension");
  xmlNode* batch_ack = Child(root, "acknowledgement");
  if (!batch_ack)
    return InvalidArgument(At(source, root) + ": the acknowledgement has no batch acknowledgement (ACK.A.4)");
  ack.batch_code = GetAttr(batch_ack, "typeCode");
  if (ack.batch_code != "AA" && ack.batch_code != "AE" && ack.batch_code != "AR") {
    return InvalidArgument(At(source, batch_ack) + ": batch acknowledgement code \"" + ack.batch_code +
                           "\" is not AA, AE or AR (ACK.A.4)");
  }
  xmlNode* target_batch = Path(batch_ack, {"targetBatch", "id"});
  if (!target_batch || GetAttr(target_batch, "extension").empty()) {
    return InvalidArgument(At(source, batch_ack) + ": the acknowledgement names no batch (ACK.A.1)");
  }
  ack.acked_batch_number = GetAttr(target_batch, "extension");
  ack.batch_errors = Details(batch_ack);

  for (xmlNode* m = root->children; m; m = m->next) {
    if (!Named(m, "MCCI_IN000002UV01")) continue;
    E2bAck::Message msg;
    if (xmlNode* id = Child(m, "id")) msg.local_report_number = GetAttr(id, "extension");
    for (xmlNode* a = m->children; a; a = a->next) {
      if (!Named(a, "attentionLine")) continue;
      xmlNode* key = Child(a, "keyWordText");
      xmlNode* value = Child(a, "value");
      if (key && value && GetAttr(key, "code") == "1") msg.message_time = GetAttr(value, "value");
    }
    xmlNode* a = Child(m, "acknowledgement");
    if (!a) return InvalidArgument(At(source, m) + ": message acknowledgement without a code (ACK.B.r.6)");
    msg.code = GetAttr(a, "typeCode");
    if (msg.code != "CA" && msg.code != "CR") {
      return InvalidArgument(At(source, a) + ": message acknowledgement code \"" + msg.code +
                             "\" is not CA or CR (ACK.B.r.6)");
    }
    xmlNode* target = Path(a, {"targetMessage", "id"});
    if (!target || GetAttr(target, "extension").empty()) {
      return InvalidArgument(At(source, a) + ": message acknowledgement names no message (ACK.B.r.1)");
    }
    msg.acked_message = GetAttr(target, "extension");
    msg.errors = Details(a);
    ack.messages.push_back(std::move(msg));
  }
  return ack;
}

Status CheckAckTargets(const E2bAck& ack, std::string_view batch_number, std::span<const std::string> message_ids) {
  if (ack.acked_batch_number != batch_number) {
    return NotFound("the acknowledgement is for batch " + ack.acked_batch_number + ", not " +
                    std::string(batch_number));
  }
  for (const auto& m : ack.messages) {
    bool known =
        std::any_of(message_ids.begin(), message_ids.end(), [&](const std::string& id) { return m.Names(id); });
    if (!known)
      return NotFound("the acknowledgement names message " + m.acked_message + ", which this batch did not send");
  }
  return Status::Ok();
}

}  // namespace trialcore::safety
