#include "core/xml_doc.h"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlschemas.h>

#include <atomic>
#include <filesystem>
#include <vector>

namespace trialcore {

void XmlDocFree::operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }

void InitXml() {
  static const bool kXmlReady = (xmlInitParser(), true);
  (void)kXmlReady;
}

namespace {

// No network, no DTD loading or entity substitution; errors as values.
constexpr int kSafeParseOptions = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES;

std::string Trimmed(const char* message, const char* fallback) {
  std::string msg = message ? message : fallback;
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

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
  first->message = Trimmed(err->message, "not well-formed XML");
}

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
  std::string where = std::to_string(err->line);
  if (err->line == 0 && err->node) {
    where.clear();
    for (auto* n = static_cast<const xmlNode*>(err->node); n && n->type == XML_ELEMENT_NODE; n = n->parent) {
      where = "/" + std::string(reinterpret_cast<const char*>(n->name)) + where;
    }
  }
  errors->lines.push_back(errors->source + ":" + where + ": " + Trimmed(err->message, "schema error"));
}

std::string Joined(const Errors& errors) {
  std::string out;
  for (const auto& l : errors.lines) out += (out.empty() ? "" : "\n") + l;
  if (errors.total > errors.lines.size()) {
    out += "\n(" + std::to_string(errors.total - errors.lines.size()) + " more)";
  }
  return out;
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

}  // namespace

Result<XmlDocPtr> ParseXml(std::string_view xml, std::string_view source) {
  InitXml();
  xmlParserCtxt* ctxt = xmlNewParserCtxt();
  if (!ctxt) return ResourceExhausted("libxml2 could not allocate a parser");
  const std::string name(source);
  FirstError first;
  ctxt->_private = &first;
  ctxt->sax->serror = KeepFirstError;
  xmlDoc* doc =
      xmlCtxtReadMemory(ctxt, xml.data(), static_cast<int>(xml.size()), name.c_str(), nullptr, kSafeParseOptions);
  const bool well_formed = doc && ctxt->wellFormed;
  xmlFreeParserCtxt(ctxt);
  if (!well_formed) {
    if (doc) xmlFreeDoc(doc);
    return InvalidArgument(name + ":" + std::to_string(first.line) +
                           ": malformed XML: " + (first.set ? first.message : "not well-formed XML"));
  }
  return XmlDocPtr(doc);
}

struct XmlSchema::Impl {
  xmlSchema* schema = nullptr;
  uint64_t id = 0;  // load number, for the per-thread contexts
  std::string what;
  ~Impl() {
    if (schema) xmlSchemaFree(schema);
  }
  xmlSchemaValidCtxt* Context() const {
    thread_local ThreadContexts contexts;
    return contexts.For(id, schema);
  }
  Status Outcome(int rc, const Errors& errors, std::string_view source) const {
    if (rc == 0) return Status::Ok();
    if (errors.lines.empty()) {
      return Internal(std::string(source) + ": libxml2 schema validation failed (" + std::to_string(rc) + ")");
    }
    return InvalidArgument("not valid against " + what + ":\n" + Joined(errors));
  }
};

XmlSchema::XmlSchema(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
XmlSchema::~XmlSchema() = default;

const std::string& XmlSchema::what() const { return impl_->what; }

Result<std::unique_ptr<XmlSchema>> XmlSchema::Load(const std::string& path, std::string_view what) {
  InitXml();
  // Checked here so libxml2 does not print its own I/O warning.
  if (!std::filesystem::is_regular_file(path)) return InvalidArgument(path + ": no such schema file");
  Errors errors;
  errors.source = path;
  xmlSchemaParserCtxt* pctxt = xmlSchemaNewParserCtxt(path.c_str());
  if (!pctxt) return InvalidArgument(path + ": cannot read the schema");
  xmlSchemaSetParserStructuredErrors(pctxt, CollectError, &errors);
  xmlSchema* schema = xmlSchemaParse(pctxt);
  xmlSchemaFreeParserCtxt(pctxt);
  if (!schema) return InvalidArgument(std::string(what) + " does not parse:\n" + Joined(errors));
  auto impl = std::make_unique<Impl>();
  impl->schema = schema;
  impl->id = next_schema_id++;
  impl->what = std::string(what);
  return std::unique_ptr<XmlSchema>(new XmlSchema(std::move(impl)));
}

Status XmlSchema::ValidateDoc(xmlDoc* doc, std::string_view source) const {
  xmlSchemaValidCtxt* vctxt = impl_->Context();
  if (!vctxt) return ResourceExhausted("libxml2 could not allocate a schema validation context");
  Errors errors;
  errors.source = std::string(source);
  xmlSchemaSetValidStructuredErrors(vctxt, CollectError, &errors);
  const int rc = xmlSchemaValidateDoc(vctxt, doc);
  xmlSchemaSetValidStructuredErrors(vctxt, nullptr, nullptr);  // `errors` ends here
  return impl_->Outcome(rc, errors, source);
}

Status XmlSchema::Validate(std::string_view xml, std::string_view source) const {
  TC_ASSIGN_OR_RETURN(XmlDocPtr doc, ParseXml(xml, source));
  return ValidateDoc(doc.get(), source);
}

Status XmlSchema::ValidateFile(const std::string& path) const {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return InvalidArgument(path + ": no such file");
  // A reader validates as it reads, so the file is never held as a tree;
  // its own errors (malformed XML) and the schema's reach one handler. A
  // context of its own: the reader plugs into the context's SAX handlers.
  // Not NOERROR: the reader's handler below takes the parser's errors, and
  // with NOERROR they would be dropped, not printed.
  std::unique_ptr<xmlSchemaValidCtxt, void (*)(xmlSchemaValidCtxt*)> vctxt(xmlSchemaNewValidCtxt(impl_->schema),
                                                                           xmlSchemaFreeValidCtxt);
  std::unique_ptr<xmlTextReader, void (*)(xmlTextReader*)> reader(
      xmlReaderForFile(path.c_str(), nullptr, XML_PARSE_NONET | XML_PARSE_BIG_LINES), xmlFreeTextReader);
  if (!vctxt || !reader) return ResourceExhausted("libxml2 could not allocate a reader for " + path);
  Errors errors;
  errors.source = path;
  // The schema's errors through the context; the parser's through this
  // thread's structured handler (libxml2's error globals are per thread).
  // Not the reader's own handler: once the schema's SAX plug is in, libxml2
  // hands that handler the plug instead of the parser.
  xmlSchemaSetValidStructuredErrors(vctxt.get(), CollectError, &errors);
  xmlSetStructuredErrorFunc(&errors, CollectError);
  int rc = -1;
  if (xmlTextReaderSchemaValidateCtxt(reader.get(), vctxt.get(), 0) == 0) {
    while ((rc = xmlTextReaderRead(reader.get())) == 1) {
    }
  }
  xmlSetStructuredErrorFunc(nullptr, nullptr);
  const bool valid = rc == 0 && xmlTextReaderIsValid(reader.get()) == 1 && errors.total == 0;
  return impl_->Outcome(valid ? 0 : 1, errors, path);
}

}  // namespace trialcore
