#include "standards/define_xml.h"

#include <cctype>
#include <ctime>
#include <set>

#include "core/xml_text.h"

namespace trialcore::standards {
namespace {

// Define-XML 2.1 restricts ItemDef/@DataType to ODM's types that SAS can
// hold: numbers are integer or float, everything else text or ISO 8601.
std::string_view DefineDataType(DataType type) {
  switch (type) {
    case DataType::kInteger:
    case DataType::kBoolean:
      return "integer";
    case DataType::kFloat:
    case DataType::kDouble:
    case DataType::kDecimal:
      return "float";
    case DataType::kDate:
      return "date";
    case DataType::kDateTime:
      return "datetime";
    case DataType::kTime:
      return "time";
    default:
      return "text";
  }
}

std::string Attr(std::string_view name, std::string_view value) {
  return " " + std::string(name) + "=\"" + XmlEscape(value) + "\"";
}

std::string TranslatedText(std::string_view element, std::string_view text, std::string_view indent) {
  return std::string(indent) + "<" + std::string(element) + "><TranslatedText xml:lang=\"en\">" + XmlEscape(text) +
         "</TranslatedText></" + std::string(element) + ">\n";
}

std::string UtcNow(Env* env) {
  time_t seconds = static_cast<time_t>(env->NowMicros() / 1'000'000);
  struct tm tm;
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

std::string VariableCommentOid(const DatasetDescription& dataset, const Variable& variable) {
  return "COM." + dataset.name + "." + variable.name;
}

}  // namespace

Result<std::string> DefineXmlText(const DefineDocument& document, Env* env) {
  struct Required {
    const char* what;
    const std::string& value;
  };
  for (const Required& r :
       {Required{"file OID", document.file_oid}, Required{"study OID", document.study_oid},
        Required{"study name", document.study_name}, Required{"study description", document.study_description},
        Required{"protocol name", document.protocol_name},
        Required{"metadata version OID", document.metadata_version_oid},
        Required{"metadata version name", document.metadata_version_name}}) {
    if (r.value.empty()) return InvalidArgument(std::string("Define-XML: the ") + r.what + " is required");
  }
  std::vector<DefineStandard> standards = document.standards;
  if (standards.empty()) standards.emplace_back();
  std::string ig_standard_oid;
  for (const DefineStandard& s : standards) {
    if (s.type == "IG") {
      ig_standard_oid = s.oid;
      break;
    }
  }
  std::set<std::string> codelist_oids;
  for (const CodeList& c : document.codelists) {
    if (!codelist_oids.insert(c.oid).second) return InvalidArgument("Define-XML: code list " + c.oid + " twice");
    if (c.items.empty()) return InvalidArgument("Define-XML: code list " + c.oid + " has no items");
  }
  std::set<std::string> names;
  std::set<std::string> item_oids;
  for (const DatasetDescription& d : document.datasets) {
    if (!names.insert(d.name).second) return InvalidArgument("Define-XML: dataset " + d.name + " twice");
    if (d.variables.empty()) return InvalidArgument("Define-XML: dataset " + d.name + " has no variables");
    for (const Variable& v : d.variables) {
      if (!item_oids.insert(d.ItemOid(v)).second) {
        return InvalidArgument("Define-XML: dataset " + d.name + ", variable " + v.name + ": ItemOID " + d.ItemOid(v) +
                               " is used twice");
      }
      if (!v.codelist_oid.empty() && !codelist_oids.contains(v.codelist_oid)) {
        return InvalidArgument("Define-XML: dataset " + d.name + ", variable " + v.name + " refers to code list " +
                               v.codelist_oid + ", which is not given");
      }
    }
  }

  std::string x;
  x.reserve(64 << 10);
  x += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<ODM xmlns=\"http://www.cdisc.org/ns/odm/v1.3\" xmlns:xlink=\"http://www.w3.org/1999/xlink\"";
  x += " xmlns:def=\"http://www.cdisc.org/ns/def/v2.1\" ODMVersion=\"1.3.2\" FileType=\"Snapshot\"";
  x += Attr("FileOID", document.file_oid);
  x += Attr("CreationDateTime", document.creation_datetime.empty() ? UtcNow(env) : document.creation_datetime);
  if (!document.originator.empty()) x += Attr("Originator", document.originator);
  if (!document.source_system.empty()) x += Attr("SourceSystem", document.source_system);
  if (!document.source_system_version.empty()) x += Attr("SourceSystemVersion", document.source_system_version);
  x += " def:Context=\"Submission\">\n";
  x += "  <Study" + Attr("OID", document.study_oid) + ">\n";
  x += "    <GlobalVariables>\n";
  x += "      <StudyName>" + XmlEscape(document.study_name) + "</StudyName>\n";
  x += "      <StudyDescription>" + XmlEscape(document.study_description) + "</StudyDescription>\n";
  x += "      <ProtocolName>" + XmlEscape(document.protocol_name) + "</ProtocolName>\n";
  x += "    </GlobalVariables>\n";
  x += "    <MetaDataVersion" + Attr("OID", document.metadata_version_oid) +
       Attr("Name", document.metadata_version_name);
  if (!document.metadata_version_description.empty()) {
    x += Attr("Description", document.metadata_version_description);
  }
  x += " def:DefineVersion=\"2.1.0\">\n";

  x += "      <def:Standards>\n";
  for (const DefineStandard& s : standards) {
    x += "        <def:Standard" + Attr("OID", s.oid) + Attr("Name", s.name) + Attr("Type", s.type);
    if (!s.publishing_set.empty()) x += Attr("PublishingSet", s.publishing_set);
    x += Attr("Version", s.version) + Attr("Status", s.status) + "/>\n";
  }
  x += "      </def:Standards>\n";

  for (const DatasetDescription& d : document.datasets) {
    x += "      <ItemGroupDef" + Attr("OID", d.ItemGroupOid()) + Attr("Name", d.name) +
         Attr("Repeating", d.repeating ? "Yes" : "No") + Attr("Domain", d.name) + Attr("SASDatasetName", d.name);
    if (!d.structure.empty()) x += Attr("def:Structure", d.structure);
    x += Attr("Purpose", d.purpose.empty() ? "Tabulation" : d.purpose);
    if (!ig_standard_oid.empty()) x += Attr("def:StandardOID", ig_standard_oid);
    x += Attr("def:ArchiveLocationID", "LF." + d.name);
    if (!d.comment.empty()) x += Attr("def:CommentOID", "COM." + d.name);
    x += ">\n";
    x += TranslatedText("Description", d.label, "        ");
    for (size_t i = 0; i < d.variables.size(); ++i) {
      const Variable& v = d.variables[i];
      x += "        <ItemRef" + Attr("ItemOID", d.ItemOid(v)) + Attr("Mandatory", v.mandatory ? "Yes" : "No") +
           Attr("OrderNumber", std::to_string(i + 1));
      if (v.key_sequence > 0) x += Attr("KeySequence", std::to_string(v.key_sequence));
      if (!v.role.empty()) x += Attr("Role", v.role);
      x += "/>\n";
    }
    if (!d.dataset_class.empty()) x += "        <def:Class" + Attr("Name", d.dataset_class) + "/>\n";
    const std::string file = DatasetFileName(d.name, document.file_extension);
    x += "        <def:leaf" + Attr("ID", "LF." + d.name) + Attr("xlink:href", file) + ">\n";
    x += "          <def:title>" + XmlEscape(file) + "</def:title>\n";
    x += "        </def:leaf>\n";
    x += "      </ItemGroupDef>\n";
  }

  for (const DatasetDescription& d : document.datasets) {
    for (const Variable& v : d.variables) {
      x += "      <ItemDef" + Attr("OID", d.ItemOid(v)) + Attr("Name", v.name) +
           Attr("DataType", DefineDataType(v.data_type));
      if (v.length > 0) x += Attr("Length", std::to_string(v.length));
      if (v.significant_digits > 0) x += Attr("SignificantDigits", std::to_string(v.significant_digits));
      x += Attr("SASFieldName", v.name);
      if (!v.display_format.empty()) x += Attr("def:DisplayFormat", v.display_format);
      if (!v.comment.empty()) x += Attr("def:CommentOID", VariableCommentOid(d, v));
      x += ">\n";
      x += TranslatedText("Description", v.label, "        ");
      if (!v.codelist_oid.empty()) x += "        <CodeListRef" + Attr("CodeListOID", v.codelist_oid) + "/>\n";
      if (!v.origin.empty()) {
        x += "        <def:Origin" + Attr("Type", v.origin);
        if (!v.origin_source.empty()) x += Attr("Source", v.origin_source);
        x += "/>\n";
      }
      x += "      </ItemDef>\n";
    }
  }

  for (const CodeList& c : document.codelists) {
    x += "      <CodeList" + Attr("OID", c.oid) + Attr("Name", c.name) + Attr("DataType", DefineDataType(c.data_type));
    x += c.standard_oid.empty() ? std::string(" def:IsNonStandard=\"Yes\"") : Attr("def:StandardOID", c.standard_oid);
    x += ">\n";
    bool decoded = false;
    for (const CodeList::Item& item : c.items) decoded = decoded || !item.decode.empty();
    for (size_t i = 0; i < c.items.size(); ++i) {
      const CodeList::Item& item = c.items[i];
      const std::string attrs = Attr("CodedValue", item.coded_value) + Attr("OrderNumber", std::to_string(i + 1));
      if (decoded) {
        x += "        <CodeListItem" + attrs + ">\n";
        x += TranslatedText("Decode", item.decode.empty() ? item.coded_value : item.decode, "          ");
        x += "        </CodeListItem>\n";
      } else {
        x += "        <EnumeratedItem" + attrs + "/>\n";
      }
    }
    x += "      </CodeList>\n";
  }

  for (const DatasetDescription& d : document.datasets) {
    if (!d.comment.empty()) {
      x += "      <def:CommentDef" + Attr("OID", "COM." + d.name) + ">\n";
      x += TranslatedText("Description", d.comment, "        ");
      x += "      </def:CommentDef>\n";
    }
    for (const Variable& v : d.variables) {
      if (v.comment.empty()) continue;
      x += "      <def:CommentDef" + Attr("OID", VariableCommentOid(d, v)) + ">\n";
      x += TranslatedText("Description", v.comment, "        ");
      x += "      </def:CommentDef>\n";
    }
  }

  x += "    </MetaDataVersion>\n";
  x += "  </Study>\n";
  x += "</ODM>\n";
  return x;
}

Status WriteDefineXml(Env* env, const std::string& path, const DefineDocument& document) {
  TC_ASSIGN_OR_RETURN(std::string text, DefineXmlText(document, env));
  return env->WriteFileAtomically(path, text).WithContext("writing " + path);
}

}  // namespace trialcore::standards
