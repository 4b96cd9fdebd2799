// A study file from CDISC ODM 1.3.2 study metadata (OpenClinica, Rave,
// OpenEDC, REDCap's project export): StudyEventDefs become visits, FormDefs
// forms, ItemGroupDefs groups, ItemDefs items, CodeLists code lists,
// RangeChecks ranges or checks, ConditionDefs visible_if and MethodDefs
// derive where their expressions translate (doc/standards.md). Every OID is
// kept beside the id made from it, so clinical data map to it later.
#pragma once

#include <string>

#include "core/status.h"
#include "standards/import_draft.h"

namespace trialcore::standards {

struct OdmImportOptions {
  // The ODM 1.3.2 schema's ODM1-3-2.xsd; DefaultOdmSchemaPath() when empty.
  std::string schema_path;
  // The xml:lang of the labels to take; the file's first language, or "en"
  // when it names none, when empty.
  std::string language;
};

// Where this build found the ODM 1.3.2 schema.
std::string DefaultOdmSchemaPath();

// The file is validated against the schema while it is read; a file whose
// ODMVersion is not 1.3.x is refused before that. ODM 1.3.1 (REDCap's
// export) is read under the 1.3.2 schema: both share one namespace, and 1.3.2
// is a compatible revision of 1.3.1. Vendor extensions (elements and
// attributes of other namespaces) are not part of the schema: a file that
// fails it only because of them is validated with them set aside, and they
// are ignored and counted.
//
// InvalidArgument naming the file and line (malformed XML, schema errors,
// unsupported versions, no metadata); NotFound when the file cannot be read.
Result<ImportedStudy> ImportOdmMetadata(const std::string& path, const OdmImportOptions& options = {});

}  // namespace trialcore::standards
