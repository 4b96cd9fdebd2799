#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/env.h"
#include "standards/dataset_test_util.h"
#include "standards/xpt_reader.h"
#include "standards/xpt_writer.h"

namespace trialcore::standards {
namespace {

using testing::CollectingSink;
using testing::CountingSink;
using testing::SharedData;
using testing::TempDir;

const std::map<std::string, uint64_t> kPilotRowCounts = {{"dm", 306}, {"ae", 1191}, {"cm", 7510}, {"ex", 591},
                                                         {"ds", 596}, {"mh", 1818}, {"sv", 3559}};

// Replaces Windows-1252's right single quote (0x92) with an ASCII apostrophe.
class AsciiApostrophes final : public testing::ForwardingSink {
 public:
  using ForwardingSink::ForwardingSink;
  Status Row(std::span<const Cell> values) override {
    texts_.resize(values.size());
    cells_.assign(values.begin(), values.end());
    for (size_t i = 0; i < values.size(); ++i) {
      if (values[i].kind() != Cell::Kind::kText || values[i].text().find('\x92') == std::string_view::npos) continue;
      texts_[i] = std::string(values[i].text());
      std::replace(texts_[i].begin(), texts_[i].end(), '\x92', '\'');
      cells_[i] = Cell::Text(texts_[i]);
      ++replaced_;
    }
    return next_->Row(cells_);
  }
  int replaced() const { return replaced_; }

 private:
  std::vector<std::string> texts_;
  std::vector<Cell> cells_;
  int replaced_ = 0;
};

std::vector<std::string> PilotXptFiles() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(SharedData("sdtm/cdiscpilot01"))) {
    if (entry.path().extension() == ".xpt") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(XptReader, PilotDatasetsHaveTheirRowCounts) {
  for (const auto& [name, rows] : kPilotRowCounts) {
    CountingSink sink;
    Status status = ReadXpt(Env::Default(), SharedData("sdtm/cdiscpilot01/" + name + ".xpt"), &sink);
    ASSERT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(sink.rows(), rows) << name;
    EXPECT_TRUE(sink.ended());
    std::string upper = name;
    for (char& c : upper) c = static_cast<char>(std::toupper(c));
    EXPECT_EQ(sink.description().name, upper);
    EXPECT_EQ(sink.description().variables[0].name, "STUDYID");
  }
}

TEST(XptReader, ReadsTheVariablesNamesLabelsTypesAndLengths) {
  CollectingSink sink;
  ASSERT_TRUE(ReadXpt(Env::Default(), SharedData("sdtm/cdiscpilot01/ae.xpt"), &sink).ok());
  const DatasetDescription& ae = sink.description();
  EXPECT_EQ(ae.name, "AE");
  EXPECT_EQ(ae.label, "");  // the pilot's files carry no dataset label
  int seq = ae.IndexOf("AESEQ");
  int term = ae.IndexOf("AETERM");
  ASSERT_GE(seq, 0);
  ASSERT_GE(term, 0);
  EXPECT_EQ(ae.variables[seq].type(), VariableType::kNumeric);
  EXPECT_EQ(ae.variables[seq].label, "Sequence Number");
  EXPECT_EQ(ae.variables[term].type(), VariableType::kCharacter);
  EXPECT_EQ(ae.variables[term].label, "Reported Term for the Adverse Event");
  EXPECT_GT(ae.variables[term].length, 0);
  // The first row's values, as the pilot's data has them.
  const auto& row = sink.rows().at(0);
  EXPECT_EQ(row[ae.IndexOf("STUDYID")].text, "CDISCPILOT01");
  EXPECT_EQ(row[ae.IndexOf("DOMAIN")].text, "AE");
  EXPECT_EQ(row[seq].kind, Cell::Kind::kNumber);
  EXPECT_EQ(row[seq].number, 1);
}

// Every pilot dataset, read and written again as XPT v5, reads back with the
// same variables and the same values.
TEST(XptReader, ReadsTheDatasetLabel) {
  CountingSink sink;
  ASSERT_TRUE(ReadXpt(Env::Default(), SharedData("dataset-json/sdtm/ae.xpt"), &sink).ok());
  EXPECT_EQ(sink.description().label, "Adverse Events");
  EXPECT_EQ(sink.rows(), 74u);
}

// Every pilot dataset, read and written again as XPT v5, reads back with the
// same variables and the same values. The pilot's ts.xpt holds a
// Windows-1252 apostrophe (byte 0x92) in TSVAL, which FDA's ASCII rule
// refuses: the writer says where, and with that byte made ASCII it round
// trips like the others.
TEST(XptWriter, EveryPilotDatasetRoundTripsThroughVersion5) {
  TempDir dir;
  const std::vector<std::string> files = PilotXptFiles();
  ASSERT_GE(files.size(), kPilotRowCounts.size());
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    CollectingSink original;
    ASSERT_TRUE(ReadXpt(Env::Default(), file, &original).ok());
    const std::string copy = dir.File(std::filesystem::path(file).filename().string());
    {
      std::unique_ptr<DatasetWriter> writer = NewXptWriter(Env::Default(), copy);
      // Streamed again from the file, not from the collected rows.
      Status status = ReadXpt(Env::Default(), file, writer.get());
      if (file.ends_with("/ts.xpt")) {
        ASSERT_FALSE(status.ok());
        EXPECT_NE(status.message().find("dataset TS, row 9, variable TSVAL: value \"Patients with Probable Mild to "
                                        "Moderate Alzheimer"),
                  std::string::npos)
            << status.message();
        EXPECT_NE(status.message().find("is not ASCII (byte 0x92 at 50)"), std::string::npos) << status.message();
        EXPECT_FALSE(std::filesystem::exists(copy));
        EXPECT_FALSE(std::filesystem::exists(copy + ".tmp"));
        // With the apostrophe made ASCII, as a mapping would before export,
        // it is written and the rest of the dataset comes back unchanged.
        writer = NewXptWriter(Env::Default(), copy);
        AsciiApostrophes fixed(writer.get());
        status = ReadXpt(Env::Default(), file, &fixed);
        ASSERT_TRUE(status.ok()) << status.ToString();
        EXPECT_EQ(fixed.replaced(), 3);  // three values hold it; the writer stopped at the first
        for (auto& row : original.mutable_rows()) {
          for (OwnedCell& cell : row) std::replace(cell.text.begin(), cell.text.end(), '\x92', '\'');
        }
      }
      ASSERT_TRUE(status.ok()) << status.ToString();
    }
    EXPECT_FALSE(std::filesystem::exists(copy + ".tmp"));
    // Version 5: the library header, not LIBV8's.
    EXPECT_EQ(testing::ReadAll(copy).substr(0, 48), "HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!");
    CollectingSink again;
    Status status = ReadXpt(Env::Default(), copy, &again);
    ASSERT_TRUE(status.ok()) << status.ToString();
    const DatasetDescription& a = original.description();
    const DatasetDescription& b = again.description();
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.label, b.label);
    ASSERT_EQ(a.variables.size(), b.variables.size());
    for (size_t i = 0; i < a.variables.size(); ++i) {
      EXPECT_EQ(a.variables[i].name, b.variables[i].name);
      EXPECT_EQ(a.variables[i].label, b.variables[i].label);
      EXPECT_EQ(a.variables[i].type(), b.variables[i].type());
      EXPECT_EQ(a.variables[i].length, b.variables[i].length) << a.variables[i].name;
      EXPECT_EQ(a.variables[i].display_format, b.variables[i].display_format) << a.variables[i].name;
    }
    ASSERT_EQ(original.rows().size(), again.rows().size());
    EXPECT_EQ(original.rows(), again.rows());
  }
}

DatasetDescription SmallDataset() {
  DatasetDescription d;
  d.name = "AE";
  d.label = "Adverse Events";
  Variable id;
  id.name = "USUBJID";
  id.label = "Unique Subject Identifier";
  id.length = 20;
  Variable term;
  term.name = "AETERM";
  term.label = "Reported Term for the Adverse Event";
  term.length = 200;
  Variable seq;
  seq.name = "AESEQ";
  seq.label = "Sequence Number";
  seq.data_type = DataType::kInteger;
  Variable date;
  date.name = "AESTDTC";
  date.label = "Start Date/Time of Adverse Event";
  date.data_type = DataType::kDate;
  date.length = 19;
  d.variables = {id, term, seq, date};
  return d;
}

// Writes one row with the description and expects the error to contain each
// of `parts`, and no file (nor its temporary) left behind.
void ExpectRefused(const DatasetDescription& d, const std::vector<Cell>& row, const std::vector<std::string>& parts) {
  TempDir dir;
  const std::string path = dir.File("out.xpt");
  auto writer = NewXptWriter(Env::Default(), path);
  Status status = writer->Begin(d);
  if (status.ok()) status = writer->Row(row);
  if (status.ok()) status = writer->End();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  for (const std::string& part : parts) EXPECT_NE(status.message().find(part), std::string::npos) << status.message();
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

std::vector<Cell> GoodRow() {
  return {Cell::Text("01-701-1015"), Cell::Text("APPLICATION SITE ERYTHEMA"), Cell::Number(1),
          Cell::Text("2014-01-03")};
}

TEST(XptLimits, GoodRowIsWritten) {
  TempDir dir;
  auto writer = NewXptWriter(Env::Default(), dir.File("ae.xpt"));
  ASSERT_TRUE(writer->Begin(SmallDataset()).ok());
  ASSERT_TRUE(writer->Row(GoodRow()).ok());
  std::vector<Cell> missing = {Cell::Text("01-701-1015"), Cell::Text(""), Cell::Missing(), Cell::Missing()};
  ASSERT_TRUE(writer->Row(missing).ok());
  ASSERT_TRUE(writer->End().ok());
  CollectingSink back;
  ASSERT_TRUE(ReadXpt(Env::Default(), dir.File("ae.xpt"), &back).ok());
  ASSERT_EQ(back.rows().size(), 2u);
  EXPECT_EQ(back.rows()[0][1].text, "APPLICATION SITE ERYTHEMA");
  EXPECT_EQ(back.rows()[0][2].number, 1);
  EXPECT_EQ(back.rows()[0][3].text, "2014-01-03");
  // A missing number is SAS's missing; a missing character value is blank.
  EXPECT_EQ(back.rows()[1][2].kind, Cell::Kind::kMissing);
  EXPECT_EQ(back.rows()[1][3].text, "");
  EXPECT_EQ(back.description().name, "AE");
  EXPECT_EQ(back.description().label, "Adverse Events");
}

TEST(XptLimits, NineCharacterNameIsRefused) {
  DatasetDescription d = SmallDataset();
  d.variables[1].name = "AETERMLNG";
  ExpectRefused(d, GoodRow(), {"dataset AE", "variable AETERMLNG", "9 characters", "at most 8"});
}

TEST(XptLimits, NineCharacterDatasetNameIsRefused) {
  DatasetDescription d = SmallDataset();
  d.name = "ADVERSEEV";
  ExpectRefused(d, GoodRow(), {"dataset ADVERSEEV", "9 characters"});
}

TEST(XptLimits, FortyOneCharacterLabelIsRefused) {
  DatasetDescription d = SmallDataset();
  d.variables[1].label = std::string(41, 'L');
  ExpectRefused(d, GoodRow(), {"dataset AE", "variable AETERM", "41 characters", "at most 40"});
}

TEST(XptLimits, FortyOneCharacterDatasetLabelIsRefused) {
  DatasetDescription d = SmallDataset();
  d.label = std::string(41, 'L');
  ExpectRefused(d, GoodRow(), {"dataset AE", "label", "41 characters"});
}

TEST(XptLimits, ValueOf201BytesIsRefused) {
  std::vector<Cell> row = GoodRow();
  const std::string long_term(201, 'X');
  row[1] = Cell::Text(long_term);
  ExpectRefused(SmallDataset(), row, {"dataset AE", "row 1", "variable AETERM", "201 bytes", "at most 200"});
}

TEST(XptLimits, LengthAbove200IsRefused) {
  DatasetDescription d = SmallDataset();
  d.variables[1].length = 201;
  ExpectRefused(d, GoodRow(), {"variable AETERM", "length 201"});
}

TEST(XptLimits, ValueLongerThanItsVariableIsRefused) {
  std::vector<Cell> row = GoodRow();
  row[0] = Cell::Text("01-701-1015-0000000000000");
  ExpectRefused(SmallDataset(), row, {"row 1", "variable USUBJID", "length is 20"});
}

TEST(XptLimits, NonAsciiValueIsRefusedAndNamed) {
  std::vector<Cell> row = GoodRow();
  row[1] = Cell::Text("\xC3\x89RYTH\xC3\x88ME");  // ÉRYTHÈME
  ExpectRefused(SmallDataset(), row, {"row 1", "variable AETERM", "\xC3\x89RYTH\xC3\x88ME", "not ASCII"});
}

TEST(XptLimits, NameWithHyphenIsRefused) {
  DatasetDescription d = SmallDataset();
  d.variables[2].name = "AE-SEQ";
  ExpectRefused(d, GoodRow(), {"variable AE-SEQ", "'-'"});
}

TEST(XptLimits, LowercaseNameIsRefused) {
  DatasetDescription d = SmallDataset();
  d.variables[2].name = "aeseq";
  ExpectRefused(d, GoodRow(), {"variable aeseq", "uppercase"});
}

TEST(XptLimits, ErrorInALaterRowNamesThatRowAndLeavesNoFile) {
  TempDir dir;
  const std::string path = dir.File("ae.xpt");
  auto writer = NewXptWriter(Env::Default(), path);
  ASSERT_TRUE(writer->Begin(SmallDataset()).ok());
  for (int i = 0; i < 999; ++i) ASSERT_TRUE(writer->Row(GoodRow()).ok());
  std::vector<Cell> bad = GoodRow();
  bad[2] = Cell::Text("one");
  Status status = writer->Row(bad);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("row 1000, variable AESEQ"), std::string::npos) << status.message();
  EXPECT_FALSE(writer->End().ok());
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(XptReader, TruncatedFileIsNamed) {
  TempDir dir;
  const std::string whole = testing::ReadAll(SharedData("sdtm/cdiscpilot01/ae.xpt"));
  // Cuts inside a record, and one on a record boundary in the middle of a row.
  for (size_t cut : {size_t{1000}, size_t{whole.size() / 2 + 7}, size_t{whole.size() - 1}, whole.size() / 160 * 80}) {
    const std::string path = dir.File("cut.xpt");
    std::ofstream(path, std::ios::binary) << whole.substr(0, cut);
    CountingSink sink;
    Status status = ReadXpt(Env::Default(), path, &sink);
    ASSERT_FALSE(status.ok()) << cut;
    EXPECT_NE(status.message().find(path), std::string::npos) << status.message();
    EXPECT_NE(status.message().find("truncated"), std::string::npos) << status.message();
    EXPECT_FALSE(sink.ended());
  }
}

TEST(XptReader, TruncatedInsideTheHeaderIsNamed) {
  TempDir dir;
  const std::string whole = testing::ReadAll(SharedData("sdtm/cdiscpilot01/ae.xpt"));
  const std::string path = dir.File("cut.xpt");
  std::ofstream(path, std::ios::binary) << whole.substr(0, 80 * 6);  // whole records, ends before the variables
  CountingSink sink;
  Status status = ReadXpt(Env::Default(), path, &sink);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find(path), std::string::npos) << status.message();
  EXPECT_FALSE(sink.ended());
}

TEST(XptReader, FileThatIsNotXptIsNamed) {
  CountingSink sink;
  const std::string path = SharedData("dataset-json/sdtm/ae.json");
  Status status = ReadXpt(Env::Default(), path, &sink);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find(path + " is not a SAS transport (XPT) file"), std::string::npos) << status.message();
}

TEST(XptReader, MissingFileIsNotFound) {
  CountingSink sink;
  Status status = ReadXpt(Env::Default(), "/nonexistent/ae.xpt", &sink);
  EXPECT_EQ(status.code(), StatusCode::kNotFound) << status.ToString();
}

}  // namespace
}  // namespace trialcore::standards

namespace trialcore::standards {
namespace {

// A domain with no rows (a study without deaths has an empty DD) is still a
// complete file with its variables.
TEST(XptWriter, DatasetWithoutRowsIsWrittenWithItsVariables) {
  TempDir dir;
  auto writer = NewXptWriter(Env::Default(), dir.File("ae.xpt"));
  ASSERT_TRUE(writer->Begin(SmallDataset()).ok());
  Status status = writer->End();
  ASSERT_TRUE(status.ok()) << status.ToString();
  CollectingSink back;
  status = ReadXpt(Env::Default(), dir.File("ae.xpt"), &back);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_TRUE(back.ended());
  EXPECT_TRUE(back.rows().empty());
  ASSERT_EQ(back.description().variables.size(), 4u);
  EXPECT_EQ(back.description().variables[1].name, "AETERM");
}

}  // namespace
}  // namespace trialcore::standards
