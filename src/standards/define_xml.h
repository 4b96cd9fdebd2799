// Define-XML 2.1 describing a set of datasets: the study, the standards
// (SDTMIG by default), an ItemGroupDef per dataset (def:Structure, def:Class,
// Purpose, the def:leaf to its file), an ItemDef per variable (DataType,
// Length, SASFieldName, def:Origin), the code lists the variables refer to,
// and comments. What it writes validates against CDISC's Define-XML 2.1
// schema (the tests check it with core/xml_doc.h's XmlSchema).
#pragma once

#include <string>
#include <vector>

#include "core/env.h"
#include "standards/dataset.h"

namespace trialcore::standards {

struct CodeList {
  struct Item {
    std::string coded_value;
    std::string decode;  // empty for every item: EnumeratedItems
  };
  std::string oid;   // "CL.AESEV"
  std::string name;  // "Severity/Intensity Scale for Adverse Events"
  DataType data_type = DataType::kString;
  std::string standard_oid;  // a def:Standard of Type CT; empty: def:IsNonStandard="Yes"
  std::vector<Item> items;
};

struct DefineStandard {
  std::string oid = "STD.SDTMIG";
  std::string name = "SDTMIG";
  std::string type = "IG";  // IG or CT
  std::string version = "3.3";
  std::string publishing_set;  // CT only: "SDTM"
  std::string status = "Final";
};

struct DefineDocument {
  std::string file_oid;
  std::string creation_datetime;  // empty: now, UTC
  std::string originator;
  std::string source_system;
  std::string source_system_version;
  std::string study_oid;
  std::string study_name;
  std::string study_description;
  std::string protocol_name;
  std::string metadata_version_oid;
  std::string metadata_version_name;
  std::string metadata_version_description;
  // The first of Type IG is the datasets' def:StandardOID; empty: SDTMIG 3.3.
  std::vector<DefineStandard> standards;
  std::vector<DatasetDescription> datasets;
  std::vector<CodeList> codelists;
  std::string file_extension = ".xpt";  // each leaf: lower-case dataset name + this
};

// The document's text. InvalidArgument naming the dataset and variable when
// a code list a variable names is not given, when two datasets share a name,
// or when a required study attribute is empty.
Result<std::string> DefineXmlText(const DefineDocument& document, Env* env);

// Writes the text to "<path>.tmp" and renames it over path.
Status WriteDefineXml(Env* env, const std::string& path, const DefineDocument& document);

}  // namespace trialcore::standards
