#include "standards/dataset_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/env.h"
#include "standards/dataset_test_util.h"
#include "standards/xpt_reader.h"

namespace trialcore::standards {
namespace {

using nlohmann::json;
using testing::CollectingSink;
using testing::CountingSink;
using testing::ForwardingSink;
using testing::SharedData;
using testing::TempDir;

const std::vector<std::string> kCdiscExamples = {"dm", "ae", "ds", "ex", "lb"};

json LoadJson(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

// Hands every call to two sinks (one read, two files).
class TeeSink final : public DatasetWriter {
 public:
  TeeSink(DatasetWriter* a, DatasetWriter* b) : a_(a), b_(b) {}
  Status Begin(const DatasetDescription& d) override {
    TC_RETURN_IF_ERROR(a_->Begin(d));
    return b_->Begin(d);
  }
  Status Row(std::span<const Cell> values) override {
    TC_RETURN_IF_ERROR(a_->Row(values));
    return b_->Row(values);
  }
  Status End() override {
    TC_RETURN_IF_ERROR(a_->End());
    return b_->End();
  }

 private:
  DatasetWriter* a_;
  DatasetWriter* b_;
};

// What the SDTM mapping supplies and an XPT file cannot hold: each column's
// dataType, itemOID, keySequence and length as CDISC's Define-XML gives them
// (here read from CDISC's .json beside the .xpt).
class TypedByCdisc final : public ForwardingSink {
 public:
  TypedByCdisc(DatasetWriter* next, json columns) : ForwardingSink(next), columns_(std::move(columns)) {}
  Status Begin(const DatasetDescription& description) override {
    DatasetDescription typed = description;
    for (Variable& v : typed.variables) {
      for (const json& c : columns_) {
        if (c["name"] != v.name) continue;
        TC_ASSIGN_OR_RETURN(v.data_type, ParseDataType(c["dataType"].get<std::string>()));
        v.item_oid = c["itemOID"];
        v.length = c.value("length", 0);
        v.key_sequence = c.value("keySequence", 0);
        v.display_format = c.value("displayFormat", "");
      }
    }
    return next_->Begin(typed);
  }

 private:
  json columns_;
};

DatasetJsonFileInfo InfoOf(const json& doc) {
  DatasetJsonFileInfo info;
  info.creation_datetime = doc["datasetJSONCreationDateTime"];
  info.file_oid = doc.value("fileOID", "");
  info.db_last_modified_datetime = doc.value("dbLastModifiedDateTime", "");
  info.originator = doc.value("originator", "");
  info.source_system_name = doc["sourceSystem"]["name"];
  info.source_system_version = doc["sourceSystem"]["version"];
  info.study_oid = doc.value("studyOID", "");
  info.metadata_version_oid = doc.value("metaDataVersionOID", "");
  info.metadata_ref = doc.value("metaDataRef", "");
  return info;
}

// Cell by value; numbers must be the same double. Returns the count compared.
size_t ExpectSameRows(const json& expected, const json& actual, const std::string& what) {
  EXPECT_EQ(expected.size(), actual.size()) << what;
  size_t compared = 0;
  for (size_t r = 0; r < std::min(expected.size(), actual.size()); ++r) {
    EXPECT_EQ(expected[r].size(), actual[r].size()) << what << " row " << r + 1;
    for (size_t c = 0; c < std::min(expected[r].size(), actual[r].size()); ++c) {
      const json& e = expected[r][c];
      const json& a = actual[r][c];
      if (e.is_number() && a.is_number()) {
        EXPECT_EQ(e.get<double>(), a.get<double>()) << what << " row " << r + 1 << " column " << c + 1;
      } else {
        EXPECT_EQ(e, a) << what << " row " << r + 1 << " column " << c + 1;
      }
      ++compared;
    }
  }
  return compared;
}

std::vector<json> NdjsonLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(json::parse(line));
  }
  return lines;
}

// Reading each of CDISC's .xpt files and writing Dataset-JSON with the
// column types CDISC's metadata gives reproduces CDISC's .json: the same
// top-level attributes, the same columns and the same rows, value by value;
// the NDJSON written in the same pass holds the same.
TEST(DatasetJsonWriter, CdiscXptExamplesWrittenAsDatasetJsonMatchCdiscJson) {
  TempDir dir;
  for (const std::string& name : kCdiscExamples) {
    SCOPED_TRACE(name);
    const json cdisc = LoadJson(SharedData("dataset-json/sdtm/" + name + ".json"));
    const std::string json_path = dir.File(name + ".json");
    const std::string ndjson_path = dir.File(name + ".ndjson");
    auto json_writer = NewDatasetJsonWriter(Env::Default(), json_path, DatasetJsonFormat::kJson, InfoOf(cdisc));
    auto ndjson_writer = NewDatasetJsonWriter(Env::Default(), ndjson_path, DatasetJsonFormat::kNdjson, InfoOf(cdisc));
    TeeSink both(json_writer.get(), ndjson_writer.get());
    TypedByCdisc typed(&both, cdisc["columns"]);
    Status status = ReadXpt(Env::Default(), SharedData("dataset-json/sdtm/" + name + ".xpt"), &typed);
    ASSERT_TRUE(status.ok()) << status.ToString();

    const json ours = LoadJson(json_path);
    for (const char* key : {"datasetJSONCreationDateTime", "datasetJSONVersion", "fileOID", "dbLastModifiedDateTime",
                            "originator", "sourceSystem", "studyOID", "metaDataVersionOID", "metaDataRef",
                            "itemGroupOID", "records", "name", "label", "columns"}) {
      EXPECT_EQ(ours[key], cdisc[key]) << key;
    }
    EXPECT_EQ(ours.size(), cdisc.size());
    const size_t compared = ExpectSameRows(cdisc["rows"], ours["rows"], name + ".json");
    EXPECT_EQ(compared, cdisc["records"].get<size_t>() * cdisc["columns"].size());

    std::vector<json> lines = NdjsonLines(ndjson_path);
    ASSERT_FALSE(lines.empty());
    json metadata = cdisc;
    metadata.erase("rows");
    EXPECT_EQ(lines[0], metadata);
    json rows = json::array();
    for (size_t i = 1; i < lines.size(); ++i) rows.push_back(lines[i]);
    ExpectSameRows(cdisc["rows"], rows, name + ".ndjson");
  }
}

// Written from the XPT file alone, the columns differ from CDISC's only where
// a transport file cannot know: every number is a double there (CDISC says
// integer or float), dates are plain character (CDISC says date), lengths
// are the storage widths (CDISC gives none for numbers and dates), and keys
// are not recorded in XPT (no keySequence). Names, labels and itemOIDs agree.
TEST(DatasetJsonWriter, FromXptAloneColumnsDifferOnlyInWhatXptCannotHold) {
  TempDir dir;
  std::map<std::string, int> differences;
  for (const std::string& name : kCdiscExamples) {
    SCOPED_TRACE(name);
    const json cdisc = LoadJson(SharedData("dataset-json/sdtm/" + name + ".json"));
    const std::string path = dir.File(name + ".json");
    auto writer = NewDatasetJsonWriter(Env::Default(), path, DatasetJsonFormat::kJson, InfoOf(cdisc));
    ASSERT_TRUE(ReadXpt(Env::Default(), SharedData("dataset-json/sdtm/" + name + ".xpt"), writer.get()).ok());
    const json ours = LoadJson(path);
    ASSERT_EQ(ours["columns"].size(), cdisc["columns"].size());
    for (size_t i = 0; i < ours["columns"].size(); ++i) {
      const json& o = ours["columns"][i];
      const json& c = cdisc["columns"][i];
      EXPECT_EQ(o["name"], c["name"]);
      EXPECT_EQ(o["label"], c["label"]);
      EXPECT_EQ(o["itemOID"], c["itemOID"]);
      const std::string cdisc_type = c["dataType"];
      if (o["dataType"] != c["dataType"]) {
        if (cdisc_type == "integer" || cdisc_type == "float") {
          EXPECT_EQ(o["dataType"], "double");
          ++differences["dataType " + cdisc_type + " -> double"];
        } else {
          EXPECT_EQ(cdisc_type, "date");
          EXPECT_EQ(o["dataType"], "string");
          ++differences["dataType date -> string"];
        }
      }
      if (o.value("length", 0) != c.value("length", 0)) {
        EXPECT_FALSE(c.contains("length")) << c;
        ++differences["length only from XPT"];
      }
      if (c.contains("keySequence")) {
        EXPECT_FALSE(o.contains("keySequence"));
        ++differences["keySequence not in XPT"];
      }
    }
    // With double and string the values are the same numbers and texts.
    ExpectSameRows(cdisc["rows"], ours["rows"], name);
  }
  std::cout << "metadata differences from CDISC's .json when written from the .xpt alone:\n";
  for (const auto& [what, count] : differences) std::cout << "  " << what << ": " << count << "\n";
  EXPECT_GT(differences["keySequence not in XPT"], 0);
}

// Validates files with Debian's python3-jsonschema against CDISC's schemas:
// a .json against dataset.schema.json; an .ndjson's first line against the
// NDJSON schema's DatasetMetadata and each further line, as one row of its
// RowData ("rows": a list of row arrays).
const char* kValidator = R"(
import json, sys, jsonschema
V = jsonschema.Draft201909Validator
full = V(json.load(open(sys.argv[1], encoding='utf-8')))
nd = json.load(open(sys.argv[2], encoding='utf-16'))
def part(name):
    s = dict(nd['$defs'][name]); s['$defs'] = nd['$defs']; return V(s)
meta, rows = part('DatasetMetadata'), part('RowData')
bad = 0
for path in sys.argv[3:]:
    errors = []
    if path.endswith('.ndjson'):
        with open(path, encoding='utf-8') as f:
            for n, line in enumerate(f, 1):
                doc = json.loads(line)
                if n == 1:
                    errors += ['%s:1: %s' % (path, e.message) for e in meta.iter_errors(doc)]
                elif not isinstance(doc, list):
                    errors.append('%s:%d: a row line is not an array' % (path, n))
                else:
                    errors += ['%s:%d: %s' % (path, n, e.message) for e in rows.iter_errors({'rows': [doc]})]
    else:
        errors += ['%s: %s' % (path, e.message) for e in full.iter_errors(json.load(open(path, encoding='utf-8')))]
    for e in errors[:5]:
        print(e)
    bad = bad or bool(errors)
print('INVALID' if bad else 'all valid')
sys.exit(1 if bad else 0)
)";

testing::CommandResult ValidateWithCdiscSchemas(const TempDir& dir, const std::vector<std::string>& files) {
  const std::string script = dir.File("validate.py");
  std::ofstream(script) << kValidator;
  std::string command = "python3 " + script + " " + SharedData("dataset-json/schema/dataset.schema.json") + " " +
                        SharedData("dataset-json/schema/dataset-ndjson-schema.json");
  for (const std::string& f : files) command += " " + f;
  return testing::RunCommand(command);
}

TEST(DatasetJsonSchema, EveryFileWrittenValidatesAgainstCdiscSchemas) {
  TempDir dir;
  std::vector<std::string> files;
  for (const std::string& name : kCdiscExamples) {
    const json cdisc = LoadJson(SharedData("dataset-json/sdtm/" + name + ".json"));
    for (bool typed : {true, false}) {
      const std::string base = dir.File(name + (typed ? "-typed" : "-plain"));
      auto a = NewDatasetJsonWriter(Env::Default(), base + ".json", DatasetJsonFormat::kJson, InfoOf(cdisc));
      auto b = NewDatasetJsonWriter(Env::Default(), base + ".ndjson", DatasetJsonFormat::kNdjson);
      TeeSink both(a.get(), b.get());
      TypedByCdisc with_types(&both, cdisc["columns"]);
      DatasetWriter* sink = typed ? static_cast<DatasetWriter*>(&with_types) : &both;
      ASSERT_TRUE(ReadXpt(Env::Default(), SharedData("dataset-json/sdtm/" + name + ".xpt"), sink).ok());
      files.push_back(base + ".json");
      files.push_back(base + ".ndjson");
    }
  }
  for (const char* name : {"dm", "ae", "cm", "ex", "ds", "mh", "sv"}) {
    const std::string base = dir.File(std::string("pilot-") + name);
    auto a = NewDatasetJsonWriter(Env::Default(), base + ".json", DatasetJsonFormat::kJson);
    auto b = NewDatasetJsonWriter(Env::Default(), base + ".ndjson", DatasetJsonFormat::kNdjson);
    TeeSink both(a.get(), b.get());
    ASSERT_TRUE(ReadXpt(Env::Default(), SharedData(std::string("sdtm/cdiscpilot01/") + name + ".xpt"), &both).ok());
    files.push_back(base + ".json");
    files.push_back(base + ".ndjson");
  }
  testing::CommandResult result = ValidateWithCdiscSchemas(dir, files);
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_NE(result.output.find("all valid"), std::string::npos) << result.output;
  EXPECT_EQ(files.size(), 34u);
}

// The validator does refuse: "records" as text, a column without dataType,
// and an NDJSON row line that is not an array.
TEST(DatasetJsonSchema, ValidatorRefusesInvalidFiles) {
  TempDir dir;
  json doc = LoadJson(SharedData("dataset-json/sdtm/dm.json"));
  doc["records"] = "18";
  std::ofstream(dir.File("bad1.json")) << doc.dump();
  doc = LoadJson(SharedData("dataset-json/sdtm/dm.json"));
  doc["columns"][0].erase("dataType");
  std::ofstream(dir.File("bad2.json")) << doc.dump();
  doc.erase("rows");
  doc["columns"][0]["dataType"] = "string";
  std::ofstream(dir.File("bad3.ndjson")) << doc.dump() << "\n{\"not\":\"a row\"}\n";
  for (const char* file : {"bad1.json", "bad2.json", "bad3.ndjson"}) {
    testing::CommandResult result = ValidateWithCdiscSchemas(dir, {dir.File(file)});
    EXPECT_NE(result.status, 0) << file << ": " << result.output;
    EXPECT_NE(result.output.find("INVALID"), std::string::npos) << result.output;
  }
}

TEST(DatasetJsonWriter, RecordsComeBeforeRowsWithoutCountingAhead) {
  TempDir dir;
  DatasetDescription d;
  d.name = "VS";
  d.label = "Vital Signs";
  Variable test;
  test.name = "VSTESTCD";
  test.label = "Vital Signs Test Short Name";
  test.length = 8;
  Variable result;
  result.name = "VSSTRESN";
  result.label = "Numeric Result/Finding in Standard Units";
  result.data_type = DataType::kFloat;
  Variable seq;
  seq.name = "VSSEQ";
  seq.label = "Sequence Number";
  seq.data_type = DataType::kInteger;
  Variable exact;
  exact.name = "VSORRES";
  exact.label = "Result or Finding in Original Units";
  exact.data_type = DataType::kDecimal;
  d.variables = {test, result, seq, exact};
  for (DatasetJsonFormat format : {DatasetJsonFormat::kJson, DatasetJsonFormat::kNdjson}) {
    const std::string path = dir.File(format == DatasetJsonFormat::kJson ? "vs.json" : "vs.ndjson");
    auto writer = NewDatasetJsonWriter(Env::Default(), path, format);
    ASSERT_TRUE(writer->Begin(d).ok());
    ASSERT_TRUE(
        writer->Row(std::vector<Cell>{Cell::Text("SYSBP"), Cell::Number(120.5), Cell::Number(1), Cell::Text("120.50")})
            .ok());
    ASSERT_TRUE(writer
                    ->Row(std::vector<Cell>{Cell::Text("quote \" and \\ and \n"), Cell::Missing(), Cell::Number(2),
                                            Cell::Number(0.1)})
                    .ok());
    ASSERT_TRUE(writer->End().ok());
    const std::string text = testing::ReadAll(path);
    EXPECT_LT(text.find("\"records\":2 "), text.find("\"columns\""));
    json rows;
    if (format == DatasetJsonFormat::kJson) {
      json doc = json::parse(text);
      EXPECT_EQ(doc["records"], 2);
      rows = doc["rows"];
    } else {
      std::vector<json> lines = NdjsonLines(path);
      ASSERT_EQ(lines.size(), 3u);
      EXPECT_EQ(lines[0]["records"], 2);
      rows = json::array({lines[1], lines[2]});
    }
    EXPECT_EQ(rows[0], json::parse(R"(["SYSBP", 120.5, 1, "120.50"])"));
    EXPECT_EQ(rows[1], json::parse(R"(["quote \" and \\ and \n", null, 2, "0.1"])"));
  }
}

TEST(DatasetJsonWriter, DatasetWithoutRowsHasZeroRecords) {
  TempDir dir;
  DatasetDescription d;
  d.name = "DD";
  d.label = "Death Details";
  Variable v;
  v.name = "STUDYID";
  v.label = "Study Identifier";
  d.variables = {v};
  for (DatasetJsonFormat format : {DatasetJsonFormat::kJson, DatasetJsonFormat::kNdjson}) {
    const std::string path = dir.File(format == DatasetJsonFormat::kJson ? "dd.json" : "dd.ndjson");
    auto writer = NewDatasetJsonWriter(Env::Default(), path, format);
    ASSERT_TRUE(writer->Begin(d).ok());
    ASSERT_TRUE(writer->End().ok());
    if (format == DatasetJsonFormat::kJson) {
      json doc = LoadJson(path);
      EXPECT_EQ(doc["records"], 0);
      EXPECT_EQ(doc["rows"], json::array());
    } else {
      std::vector<json> lines = NdjsonLines(path);
      ASSERT_EQ(lines.size(), 1u);
      EXPECT_EQ(lines[0]["records"], 0);
    }
    CollectingSink back;
    ASSERT_TRUE(ReadDatasetJson(Env::Default(), path, format, &back).ok());
    EXPECT_TRUE(back.ended());
    EXPECT_EQ(back.description().name, "DD");
    EXPECT_TRUE(back.rows().empty());
    testing::CommandResult result = ValidateWithCdiscSchemas(dir, {path});
    EXPECT_EQ(result.status, 0) << result.output;
  }
}

TEST(DatasetJsonWriter, WrongValuesAreRefusedNamingRowAndColumnAndLeaveNoFile) {
  TempDir dir;
  DatasetDescription d;
  d.name = "LB";
  d.label = "Laboratory Test Results";
  Variable seq;
  seq.name = "LBSEQ";
  seq.label = "Sequence Number";
  seq.data_type = DataType::kInteger;
  Variable test;
  test.name = "LBTESTCD";
  test.label = "Lab Test or Examination Short Name";
  d.variables = {seq, test};
  struct Case {
    std::vector<Cell> row;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{Cell::Number(1.5), Cell::Text("ALB")}, "row 1, variable LBSEQ: 1.5 is not an integer"},
      {{Cell::Number(1), Cell::Number(3)}, "row 1, variable LBTESTCD: value 3 for dataType string"},
      {{Cell::Number(1), Cell::Text("\xFF")}, "row 1, variable LBTESTCD: value \"\xFF\" is not UTF-8"},
      {{Cell::Number(1)}, "row 1 has 1 values for 2 columns"},
  };
  for (const Case& c : cases) {
    const std::string path = dir.File("lb.json");
    auto writer = NewDatasetJsonWriter(Env::Default(), path, DatasetJsonFormat::kJson);
    ASSERT_TRUE(writer->Begin(d).ok());
    Status status = writer->Row(c.row);
    ASSERT_FALSE(status.ok()) << c.error;
    EXPECT_NE(status.message().find(c.error), std::string::npos) << status.message();
    EXPECT_FALSE(writer->End().ok());
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  }
}

// The reader gives CDISC's own files back value by value.
TEST(DatasetJsonReader, ReadsCdiscJsonValueByValue) {
  for (const std::string& name : kCdiscExamples) {
    SCOPED_TRACE(name);
    const std::string path = SharedData("dataset-json/sdtm/" + name + ".json");
    const json cdisc = LoadJson(path);
    CollectingSink sink;
    DatasetJsonFileInfo info;
    Status status = ReadDatasetJson(Env::Default(), path, DatasetJsonFormat::kJson, &sink, &info);
    ASSERT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(info.records, cdisc["records"].get<int64_t>());
    EXPECT_EQ(info.study_oid, cdisc["studyOID"]);
    EXPECT_EQ(info.source_system_name, cdisc["sourceSystem"]["name"]);
    EXPECT_EQ(sink.description().name, cdisc["name"]);
    EXPECT_EQ(sink.description().label, cdisc["label"]);
    EXPECT_EQ(sink.description().item_group_oid, cdisc["itemGroupOID"]);
    ASSERT_EQ(sink.description().variables.size(), cdisc["columns"].size());
    for (size_t i = 0; i < cdisc["columns"].size(); ++i) {
      const Variable& v = sink.description().variables[i];
      const json& c = cdisc["columns"][i];
      EXPECT_EQ(v.name, c["name"]);
      EXPECT_EQ(v.item_oid, c["itemOID"]);
      EXPECT_EQ(DataTypeName(v.data_type), c["dataType"].get<std::string>());
      EXPECT_EQ(v.length, c.value("length", 0));
      EXPECT_EQ(v.key_sequence, c.value("keySequence", 0));
    }
    ASSERT_EQ(sink.rows().size(), cdisc["rows"].size());
    for (size_t r = 0; r < sink.rows().size(); ++r) {
      for (size_t c = 0; c < sink.rows()[r].size(); ++c) {
        const OwnedCell& v = sink.rows()[r][c];
        const json& e = cdisc["rows"][r][c];
        if (e.is_null()) {
          EXPECT_EQ(v.kind, Cell::Kind::kMissing);
        } else if (e.is_string()) {
          EXPECT_EQ(v.text, e.get<std::string>());
        } else {
          EXPECT_EQ(v.number, e.get<double>());
        }
      }
    }
  }
}

// What the writers write, the reader reads back as the XPT file had it.
TEST(DatasetJsonReader, ReadsBackWhatWasWrittenInBothForms) {
  TempDir dir;
  CollectingSink from_xpt;
  const std::string xpt = SharedData("sdtm/cdiscpilot01/ae.xpt");
  ASSERT_TRUE(ReadXpt(Env::Default(), xpt, &from_xpt).ok());
  for (DatasetJsonFormat format : {DatasetJsonFormat::kJson, DatasetJsonFormat::kNdjson}) {
    const std::string path = dir.File(format == DatasetJsonFormat::kJson ? "ae.json" : "ae.ndjson");
    auto writer = NewDatasetJsonWriter(Env::Default(), path, format);
    ASSERT_TRUE(ReadXpt(Env::Default(), xpt, writer.get()).ok());
    CollectingSink back;
    DatasetJsonFileInfo info;
    Status status = ReadDatasetJson(Env::Default(), path, format, &back, &info);
    ASSERT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(info.records, 1191);
    EXPECT_EQ(info.version, "1.1.0");
    EXPECT_EQ(back.rows().size(), 1191u);
    EXPECT_EQ(back.rows(), from_xpt.rows());
    EXPECT_EQ(back.description().variables.size(), from_xpt.description().variables.size());
  }
}

TEST(DatasetJsonReader, MalformedFilesAreNamedWithTheirPlace) {
  TempDir dir;
  struct Case {
    std::string file;
    std::string text;
    DatasetJsonFormat format;
    std::string error;
  };
  const std::string head =
      R"({"datasetJSONCreationDateTime":"2024-01-01T00:00:00","datasetJSONVersion":"1.1.0","itemGroupOID":"IG.X",)"
      R"("name":"X","label":"X","columns":[{"itemOID":"IT.X.A","name":"A","label":"A","dataType":"string"},)"
      R"({"itemOID":"IT.X.B","name":"B","label":"B","dataType":"integer"}])";
  const std::vector<Case> cases = {
      {"broken.json", head + ",\"records\":1,\n\"rows\":[[\"a\",1]\n", DatasetJsonFormat::kJson,
       "broken.json: malformed JSON"},
      {"width.json", head + ",\"records\":1,\"rows\":[[\"a\",1],[\"b\"]]}", DatasetJsonFormat::kJson,
       "width.json, row 2: row 2 has 1 values for 2 columns"},
      {"type.json", head + ",\"records\":1,\"rows\":[[\"a\",\"one\"]]}", DatasetJsonFormat::kJson,
       "row 1: column B (dataType integer) has a string"},
      {"records.json", head + ",\"records\":5,\"rows\":[[\"a\",1]]}", DatasetJsonFormat::kJson,
       "\"records\" says 5 but the file has 1 rows"},
      {"order.json", R"({"rows":[["a",1]],"columns":[]})", DatasetJsonFormat::kJson,
       "\"rows\" comes before \"columns\""},
      {"lines.ndjson", head + ",\"records\":2}\n[\"a\",1]\n[\"b\",2,3]\n", DatasetJsonFormat::kNdjson,
       "lines.ndjson:3, row 2: more values than the 2 columns"},
      {"syntax.ndjson", head + ",\"records\":2}\n[\"a\",1]\n[\"b\",\n", DatasetJsonFormat::kNdjson,
       "syntax.ndjson:3: malformed JSON: parse error at line 1, column"},
  };
  for (const Case& c : cases) {
    std::ofstream(dir.File(c.file)) << c.text;
    CountingSink sink;
    Status status = ReadDatasetJson(Env::Default(), dir.File(c.file), c.format, &sink);
    ASSERT_FALSE(status.ok()) << c.file;
    EXPECT_NE(status.message().find(c.error), std::string::npos) << status.message();
    EXPECT_FALSE(sink.ended()) << c.file;
  }
}

}  // namespace
}  // namespace trialcore::standards
