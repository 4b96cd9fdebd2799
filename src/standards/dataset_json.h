// CDISC Dataset-JSON 1.1, as one JSON document or as NDJSON (the metadata
// object on line 1, then one row array per line), written and read one row at
// a time.
//
// "records" comes before "rows" in the metadata, where a streaming reader
// needs it, yet the writer never knows the count up front and never holds
// the rows: it reserves 20 characters after "records": (JSON allows the
// blanks after a number), writes the rows as they come, and at End() writes
// the count into the reserved place of the temporary file before renaming it
// (StagedOutput::Overwrite). No caller has to count rows in advance, and
// readers find the count before the first row in both forms.
//
// Values by dataType: string, date, datetime, time and URI as JSON strings;
// integer as a JSON integer (a non-integral number is refused); float and
// double as the shortest JSON number that reads back to the same double;
// decimal as a JSON string, to keep its digits (given as text, or the
// shortest form of a number); boolean as true/false. A missing value is null.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/env.h"
#include "standards/dataset.h"

namespace trialcore::standards {

enum class DatasetJsonFormat { kJson, kNdjson };

// The top-level attributes besides the dataset's own (name, label, columns:
// its DatasetDescription). Empty strings are left out of the file.
struct DatasetJsonFileInfo {
  std::string creation_datetime;  // datasetJSONCreationDateTime; writer: empty = now, UTC
  std::string version = "1.1.0";  // datasetJSONVersion
  std::string file_oid;
  std::string db_last_modified_datetime;
  std::string originator;
  std::string source_system_name;  // sourceSystem.name and .version (both or neither)
  std::string source_system_version;
  std::string study_oid;
  std::string metadata_version_oid;
  std::string metadata_ref;  // "define.xml"
  // Reader only: "records" as the file states it (-1 when absent).
  int64_t records = -1;
};

// Writes "<path>.tmp", renamed over path at End(); an error removes it.
std::unique_ptr<DatasetWriter> NewDatasetJsonWriter(Env* env, std::string path, DatasetJsonFormat format,
                                                    DatasetJsonFileInfo info = {});

// Streams a Dataset-JSON file's rows to sink (Begin with the columns as a
// DatasetDescription, Row per row, End) and fills *info when given.
// InvalidArgument naming the file and the line, column or row on malformed
// JSON, a row of the wrong width, a value of the wrong JSON type for its
// column, a "records" that disagrees with the rows, or rows that come before
// the columns in a JSON document (they could not be streamed).
Status ReadDatasetJson(Env* env, const std::string& path, DatasetJsonFormat format, DatasetWriter* sink,
                       DatasetJsonFileInfo* info = nullptr);

}  // namespace trialcore::standards
