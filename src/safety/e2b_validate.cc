#include "safety/e2b_validate.h"

#include <libxml/tree.h>

#include <algorithm>

#include "core/xml_doc.h"
#include "safety/e2b_map.h"

namespace trialcore::safety {

// --- Schemas ---------------------------------------------------------------

struct E2bSchemas::Impl {
  std::unique_ptr<XmlSchema> batch, ack;
};

Status e2b_internal::ValidateBatchDoc(const E2bSchemas& schemas, xmlDoc* doc, std::string_view source) {
  return schemas.impl_->batch->ValidateDoc(doc, source);
}

Status e2b_internal::ValidateAckDoc(const E2bSchemas& schemas, xmlDoc* doc, std::string_view source) {
  return schemas.impl_->ack->ValidateDoc(doc, source);
}

E2bSchemas::E2bSchemas(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
E2bSchemas::~E2bSchemas() = default;

Result<std::unique_ptr<E2bSchemas>> E2bSchemas::Load(const std::string& schema_dir) {
  auto impl = std::make_unique<Impl>();
  TC_ASSIGN_OR_RETURN(impl->batch,
                      XmlSchema::Load(schema_dir + "/multicacheschemas/MCCI_IN200100UV01.xsd", "the E2B(R3) schema"));
  TC_ASSIGN_OR_RETURN(impl->ack,
                      XmlSchema::Load(schema_dir + "/multicacheschemas/MCCI_IN200101UV01.xsd", "the E2B(R3) schema"));
  return std::unique_ptr<E2bSchemas>(new E2bSchemas(std::move(impl)));
}

Status E2bSchemas::ValidateIcsrBatch(std::string_view xml, std::string_view source) const {
  return impl_->batch->Validate(xml, source);
}

Status E2bSchemas::ValidateAck(std::string_view xml, std::string_view source) const {
  return impl_->ack->Validate(xml, source);
}

}  // namespace trialcore::safety
