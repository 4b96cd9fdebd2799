#include "safety/e2b_validate.h"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include <algorithm>
#include <atomic>
#include <filesystem>

#include "safety/e2b_map.h"

namespace trialcore::safety {

// --- Schemas ---------------------------------------------------------------

struct E2bSchemas::Impl {
  xmlSchema* batch = nullptr;
  xmlSchema* ack = nullptr;
  uint64_t batch_id = 0, ack_id = 0;  // load numbers, for the per-thread contexts
  ~Impl() {
    if (batch) xmlSchemaFree(batch);
    if (ack) xmlSchemaFree(ack);
  }
};

namespace {

struct Errors {
  std::vector<std::string> lines;
  size_t total = 0;
  std::string source;
};

void CollectError(void* ctx, xmlError* err) {
  auto* errors = static_cast<Errors*>(ctx);
  if (!err || err->level == XML_ERR_WARNING) return;
  ++errors->total;
  if (errors->lines.size() >= 20) return;
  std::string msg = err->message ? err->message : "schema error";
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  // A tree export built has no line numbers: name the element by its path.
  std::string where = std::to_string(err->line);
  if (err->line == 0 && err->node) {
    where.clear();
    for (auto* n = static_cast<const xmlNode*>(err->node); n && n->type == XML_ELEMENT_NODE; n = n->parent) {
      where = "/" + std::string(reinterpret_cast<const char*>(n->name)) + where;
    }
  }
  errors->lines.push_back(errors->source + ":" + where + ": " + msg);
}

std::string Joined(const Errors& errors) {
  std::string out;
  for (const auto& l : errors.lines) out += (out.empty() ? "" : "\n") + l;
  if (errors.total > errors.lines.size()) {
    out += "\n(" + std::to_string(errors.total - errors.lines.size()) + " more)";
  }
  return out;
}

Result<xmlSchema*> ParseSchema(const std::string& path) {
  Errors errors;
  errors.source = path;
  // Checked here so libxml2 does not print its own I/O warning.
  if (!std::filesystem::is_regular_file(path)) return InvalidArgument(path + ": no such schema file");
  xmlSchemaParserCtxt* pctxt = xmlSchemaNewParserCtxt(path.c_str());
  if (!pctxt) return InvalidArgument(path + ": cannot read the schema");
  xmlSchemaSetParserStructuredErrors(pctxt, CollectError, &errors);
  xmlSchema* schema = xmlSchemaParse(pctxt);
  xmlSchemaFreeParserCtxt(pctxt);
  if (!schema) return InvalidArgument("the E2B(R3) schema does not parse:\n" + Joined(errors));
  return schema;
}

// One validation context per thread and schema, kept for the thread's life:
// a context holds one document's state at a time, the parsed schema is shared
// read-only (which libxml2 allows across threads), and making a context for
// every message costs more than some validations. Keyed by the schema's load
// number, not its address, so a context never meets a later schema.
class ThreadContexts {
 public:
  ~ThreadContexts() {
    for (auto& [id, ctxt] : entries_) xmlSchemaFreeValidCtxt(ctxt);
  }
  xmlSchemaValidCtxt* For(uint64_t schema_id, xmlSchema* schema) {
    for (auto& [id, ctxt] : entries_) {
      if (id == schema_id) return ctxt;
    }
    xmlSchemaValidCtxt* ctxt = xmlSchemaNewValidCtxt(schema);
    if (ctxt) entries_.emplace_back(schema_id, ctxt);
    return ctxt;
  }

 private:
  std::vector<std::pair<uint64_t, xmlSchemaValidCtxt*>> entries_;
};

std::atomic<uint64_t> next_schema_id{1};

Status ValidateTree(xmlSchema* schema, uint64_t schema_id, xmlDoc* doc, std::string_view source) {
  thread_local ThreadContexts contexts;
  xmlSchemaValidCtxt* vctxt = contexts.For(schema_id, schema);
  if (!vctxt) return ResourceExhausted("libxml2 could not allocate a schema validation context");
  Errors errors;
  errors.source = std::string(source);
  xmlSchemaSetValidStructuredErrors(vctxt, CollectError, &errors);
  const int rc = xmlSchemaValidateDoc(vctxt, doc);
  xmlSchemaSetValidStructuredErrors(vctxt, nullptr, nullptr);  // `errors` ends here
  if (rc == 0) return Status::Ok();
  if (errors.lines.empty())
    return Internal(std::string(source) + ": libxml2 schema validation failed (" + std::to_string(rc) + ")");
  return InvalidArgument("not valid against the E2B(R3) schema:\n" + Joined(errors));
}

Status Validate(xmlSchema* schema, uint64_t schema_id, std::string_view xml, std::string_view source) {
  TC_ASSIGN_OR_RETURN(e2b_internal::XmlDocPtr doc, e2b_internal::ParseXml(xml, source));
  return ValidateTree(schema, schema_id, doc.get(), source);
}

}  // namespace

Status e2b_internal::ValidateBatchDoc(const E2bSchemas& schemas, xmlDoc* doc, std::string_view source) {
  return ValidateTree(schemas.impl_->batch, schemas.impl_->batch_id, doc, source);
}

Status e2b_internal::ValidateAckDoc(const E2bSchemas& schemas, xmlDoc* doc, std::string_view source) {
  return ValidateTree(schemas.impl_->ack, schemas.impl_->ack_id, doc, source);
}

E2bSchemas::E2bSchemas(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
E2bSchemas::~E2bSchemas() = default;

Result<std::unique_ptr<E2bSchemas>> E2bSchemas::Load(const std::string& schema_dir) {
  xmlInitParser();  // once, before threads use libxml2
  auto impl = std::make_unique<Impl>();
  TC_ASSIGN_OR_RETURN(impl->batch, ParseSchema(schema_dir + "/multicacheschemas/MCCI_IN200100UV01.xsd"));
  TC_ASSIGN_OR_RETURN(impl->ack, ParseSchema(schema_dir + "/multicacheschemas/MCCI_IN200101UV01.xsd"));
  impl->batch_id = next_schema_id++;
  impl->ack_id = next_schema_id++;
  return std::unique_ptr<E2bSchemas>(new E2bSchemas(std::move(impl)));
}

Status E2bSchemas::ValidateIcsrBatch(std::string_view xml, std::string_view source) const {
  return Validate(impl_->batch, impl_->batch_id, xml, source);
}

Status E2bSchemas::ValidateAck(std::string_view xml, std::string_view source) const {
  return Validate(impl_->ack, impl_->ack_id, xml, source);
}

}  // namespace trialcore::safety
