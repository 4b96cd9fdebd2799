#include "standards/dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <iostream>
#include <sstream>

#include "core/env.h"
#include "standards/dataset_json.h"
#include "standards/dataset_test_util.h"
#include "standards/xpt_reader.h"
#include "standards/xpt_writer.h"

namespace trialcore::standards {
namespace {

using testing::CountingSink;
using testing::TempDir;

TEST(Dataset, DataTypesByName) {
  for (DataType type : {DataType::kString, DataType::kInteger, DataType::kFloat, DataType::kDouble, DataType::kDecimal,
                        DataType::kDate, DataType::kDateTime, DataType::kTime, DataType::kBoolean, DataType::kUri}) {
    auto parsed = ParseDataType(DataTypeName(type));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, type);
  }
  EXPECT_FALSE(ParseDataType("text").ok());
  EXPECT_EQ(StorageType(DataType::kDate), VariableType::kCharacter);
  EXPECT_EQ(StorageType(DataType::kInteger), VariableType::kNumeric);
}

TEST(Dataset, OidsDefaultToDefineXmlConventions) {
  DatasetDescription d;
  d.name = "AE";
  Variable v;
  v.name = "AETERM";
  d.variables.push_back(v);
  EXPECT_EQ(d.ItemGroupOid(), "IG.AE");
  EXPECT_EQ(d.ItemOid(d.variables[0]), "IT.AE.AETERM");
  d.variables[0].item_oid = "IT.AETERM";
  EXPECT_EQ(d.ItemOid(d.variables[0]), "IT.AETERM");
  EXPECT_EQ(d.IndexOf("AETERM"), 0);
  EXPECT_EQ(d.IndexOf("AESEQ"), -1);
}

// Counts for the commands' report: what was handed in and what the writer took.
TEST(Dataset, ReportingWriterCountsRowsAndValuesReadAndWritten) {
  TempDir dir;
  TransferReport report;
  auto xpt = NewXptWriter(Env::Default(), dir.File("ae.xpt"));
  ReportingWriter counted(xpt.get(), &report);
  Status status = ReadXpt(Env::Default(), testing::SharedData("sdtm/cdiscpilot01/ae.xpt"), &counted);
  ASSERT_TRUE(status.ok()) << status.ToString();
  ASSERT_EQ(report.counts.size(), 2u);
  EXPECT_EQ(report.counts[0].what, "AE rows");
  EXPECT_EQ(report.counts[0].read, 1191u);
  EXPECT_EQ(report.counts[0].written, 1191u);
  EXPECT_EQ(report.counts[1].what, "AE values");
  EXPECT_EQ(report.counts[1].written, 1191u * 35);
  std::ostringstream printed;
  PrintReport(report, printed);
  EXPECT_NE(printed.str().find("AE rows: 1,191 read, 1,191 written"), std::string::npos) << printed.str();

  // A row the writer refuses is read but not written.
  TransferReport refused;
  DatasetDescription d;
  d.name = "X";
  d.label = "X";
  Variable v;
  v.name = "A";
  v.label = "A";
  v.length = 1;
  d.variables = {v};
  auto writer = NewXptWriter(Env::Default(), dir.File("x.xpt"));
  ReportingWriter counting(writer.get(), &refused);
  ASSERT_TRUE(counting.Begin(d).ok());
  ASSERT_TRUE(counting.Row(std::vector<Cell>{Cell::Text("a")}).ok());
  ASSERT_FALSE(counting.Row(std::vector<Cell>{Cell::Text("too long")}).ok());
  EXPECT_EQ(refused.counts[0].read, 2u);
  EXPECT_EQ(refused.counts[0].written, 1u);
}

// An LB-like domain of 13 variables, rows made up as they are written.
DatasetDescription LabDataset() {
  DatasetDescription d;
  d.name = "LB";
  d.label = "Laboratory Test Results";
  auto add = [&d](const char* name, const char* label, DataType type, int length) {
    Variable v;
    v.name = name;
    v.label = label;
    v.data_type = type;
    v.length = length;
    d.variables.push_back(v);
  };
  add("STUDYID", "Study Identifier", DataType::kString, 12);
  add("DOMAIN", "Domain Abbreviation", DataType::kString, 2);
  add("USUBJID", "Unique Subject Identifier", DataType::kString, 11);
  add("LBSEQ", "Sequence Number", DataType::kInteger, 0);
  add("LBTESTCD", "Lab Test or Examination Short Name", DataType::kString, 8);
  add("LBTEST", "Lab Test or Examination Name", DataType::kString, 40);
  add("LBORRES", "Result or Finding in Original Units", DataType::kString, 20);
  add("LBORRESU", "Original Units", DataType::kString, 10);
  add("LBSTRESN", "Numeric Result/Finding in Standard Units", DataType::kFloat, 0);
  add("LBSTNRLO", "Reference Range Lower Limit-Std Units", DataType::kFloat, 0);
  add("LBSTNRHI", "Reference Range Upper Limit-Std Units", DataType::kFloat, 0);
  add("VISITNUM", "Visit Number", DataType::kFloat, 0);
  add("LBDTC", "Date/Time of Specimen Collection", DataType::kDateTime, 19);
  return d;
}

void WriteLabRows(DatasetWriter* writer, uint64_t rows) {
  ASSERT_TRUE(writer->Begin(LabDataset()).ok());
  static const char* kTests[] = {"ALB", "ALP", "ALT", "AST", "BILI", "CREAT", "GLUC", "HGB"};
  char subject[16];
  char result[16];
  char date[24];
  std::vector<Cell> values(13);
  for (uint64_t i = 0; i < rows; ++i) {
    const uint64_t s = i / 280;
    std::snprintf(subject, sizeof(subject), "01-%03u-%04u", static_cast<unsigned>(s % 900),
                  static_cast<unsigned>(s % 10000));
    const double stresn = 3.5 + static_cast<double>(i % 97) / 10;
    std::snprintf(result, sizeof(result), "%.1f", stresn);
    std::snprintf(date, sizeof(date), "2014-%02u-%02uT08:%02u:00", static_cast<unsigned>(1 + i % 12),
                  static_cast<unsigned>(1 + i % 28), static_cast<unsigned>(i % 60));
    values[0] = Cell::Text("CDISCPILOT01");
    values[1] = Cell::Text("LB");
    values[2] = Cell::Text(subject);
    values[3] = Cell::Number(static_cast<double>(i % 280 + 1));
    values[4] = Cell::Text(kTests[i % 8]);
    values[5] = Cell::Text("Laboratory test of the pilot study");
    values[6] = Cell::Text(result);
    values[7] = Cell::Text("g/L");
    values[8] = Cell::Number(stresn);
    values[9] = i % 5 == 0 ? Cell::Missing() : Cell::Number(3.5);
    values[10] = Cell::Number(50);
    values[11] = Cell::Number(static_cast<double>(i % 12 + 1));
    values[12] = Cell::Text(date);
    Status status = writer->Row(values);
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
  ASSERT_TRUE(writer->End().ok());
}

constexpr uint64_t kStreamedRows = 2'000'000;
// What the process may grow by while 2 million rows (some 300 MB of XPT,
// 400 MB of JSON) go through a writer or a reader: buffers, never rows.
constexpr long kAllowedGrowthKb = 24 * 1024;

// Peak RSS growth (kB) while fn runs.
template <typename Fn>
long PeakGrowthKb(Fn fn) {
  EXPECT_TRUE(testing::ResetPeakRss());
  const long before = testing::PeakRssKb();
  fn();
  return testing::PeakRssKb() - before;
}

// The measure does see memory that is kept: 64 MB held shows as growth.
TEST(Streaming, PeakMeasureSeesMemoryThatIsKept) {
  long growth = PeakGrowthKb([] {
    std::vector<char> kept(64 << 20, 1);
    EXPECT_EQ(kept[12345], 1);
  });
  EXPECT_GT(growth, 60 * 1024);
}

TEST(Streaming, TwoMillionRowsThroughEachWriterAndReaderDoNotGrowMemory) {
  TempDir dir;
  struct Format {
    const char* file;
    std::function<std::unique_ptr<DatasetWriter>(const std::string&)> writer;
    std::function<Status(const std::string&, DatasetWriter*)> reader;
  };
  const std::vector<Format> formats = {
      {"lb.xpt", [](const std::string& p) { return NewXptWriter(Env::Default(), p); },
       [](const std::string& p, DatasetWriter* sink) { return ReadXpt(Env::Default(), p, sink); }},
      {"lb.json",
       [](const std::string& p) { return NewDatasetJsonWriter(Env::Default(), p, DatasetJsonFormat::kJson); },
       [](const std::string& p, DatasetWriter* sink) {
         return ReadDatasetJson(Env::Default(), p, DatasetJsonFormat::kJson, sink);
       }},
      {"lb.ndjson",
       [](const std::string& p) { return NewDatasetJsonWriter(Env::Default(), p, DatasetJsonFormat::kNdjson); },
       [](const std::string& p, DatasetWriter* sink) {
         return ReadDatasetJson(Env::Default(), p, DatasetJsonFormat::kNdjson, sink);
       }},
  };
  for (const Format& format : formats) {
    SCOPED_TRACE(format.file);
    const std::string path = dir.File(format.file);
    const long write_growth = PeakGrowthKb([&] {
      auto writer = format.writer(path);
      WriteLabRows(writer.get(), kStreamedRows);
    });
    const uint64_t size = std::filesystem::file_size(path);
    CountingSink sink;
    const long read_growth = PeakGrowthKb([&] {
      Status status = format.reader(path, &sink);
      EXPECT_TRUE(status.ok()) << status.ToString();
    });
    EXPECT_EQ(sink.rows(), kStreamedRows);
    std::cout << format.file << ": " << kStreamedRows << " rows, " << size / (1 << 20)
              << " MB; peak RSS growth writing " << write_growth << " kB, reading " << read_growth << " kB\n";
    EXPECT_GT(size, kStreamedRows * 100);
    EXPECT_LT(write_growth, kAllowedGrowthKb);
    EXPECT_LT(read_growth, kAllowedGrowthKb);
    std::filesystem::remove(path);
  }
}

}  // namespace
}  // namespace trialcore::standards
