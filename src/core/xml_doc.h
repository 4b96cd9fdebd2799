// XML read from outside (E2B(R3) messages, CDISC ODM, Define-XML) and its
// XML Schema validation, with libxml2 kept out of every header that includes
// this one.
//
// Parsing never touches the network, loads no DTD and substitutes no
// external entity: an incoming file must not make us fetch or expand
// anything. Errors come back as values naming "source:line: message", never
// on stderr.
//
// Thread safety: an XmlSchema is parsed once and never changed; any number of
// threads may validate with it at once (each thread keeps its own libxml2
// validation context per schema until it ends).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

struct _xmlDoc;  // libxml2's document (no libxml2 header here)

namespace trialcore {

struct XmlDocFree {
  void operator()(_xmlDoc* doc) const;
};
using XmlDocPtr = std::unique_ptr<_xmlDoc, XmlDocFree>;

// InvalidArgument "source:line: malformed XML: libxml2's first message" when
// the text is not well-formed.
Result<XmlDocPtr> ParseXml(std::string_view xml, std::string_view source);

// Readies libxml2 for use from several threads (it sets itself up on first
// use, which is not safe from two threads at once). Called by ParseXml and
// XmlSchema::Load; cheap after the first call.
void InitXml();

class XmlSchema {
 public:
  // `path` is the schema's main .xsd; what it imports and includes is read
  // relative to it. `what` names the schema in errors ("the ODM 1.3.2
  // schema"). InvalidArgument naming the file when it does not parse.
  static Result<std::unique_ptr<XmlSchema>> Load(const std::string& path, std::string_view what);
  ~XmlSchema();
  XmlSchema(const XmlSchema&) = delete;
  XmlSchema& operator=(const XmlSchema&) = delete;

  // OK, or InvalidArgument "not valid against <what>:" followed by libxml2's
  // errors, one per line as "source:line: message" (at most 20, then the
  // count of the rest). A tree built in memory has no line numbers: its
  // errors name the element by its path instead.
  Status ValidateDoc(_xmlDoc* doc, std::string_view source) const;
  // Parses (as ParseXml) and validates.
  Status Validate(std::string_view xml, std::string_view source) const;
  // Validates a file while reading it (libxml2's streaming validation), so a
  // file of any size is checked in constant memory. InvalidArgument naming
  // the file when it cannot be read or is not well-formed.
  Status ValidateFile(const std::string& path) const;

  const std::string& what() const;

 private:
  struct Impl;
  explicit XmlSchema(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace trialcore
