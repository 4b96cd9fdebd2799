// A tabulation dataset (an SDTM domain such as AE) as the dataset formats see
// it: its description (name, label, variables in order) and its rows, which
// are streamed one at a time through a DatasetWriter. Nothing in this layer
// holds all rows: the XPT and Dataset-JSON writers write each row as it comes,
// and the readers hand each row to a DatasetWriter as they read it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "standards/report.h"

namespace trialcore::standards {

// SAS transport knows two types; everything else is a refinement of them.
enum class VariableType { kCharacter, kNumeric };

// Dataset-JSON 1.1's dataType (and Define-XML's DataType, which it mirrors).
// date, datetime and time are ISO 8601 text, as SDTM keeps them in XPT.
enum class DataType { kString, kInteger, kFloat, kDouble, kDecimal, kDate, kDateTime, kTime, kBoolean, kUri };

std::string_view DataTypeName(DataType type);  // "string", "integer", ...
Result<DataType> ParseDataType(std::string_view name);
// Character for string, date, datetime, time and URI; numeric otherwise.
VariableType StorageType(DataType type);

struct Variable {
  std::string name;   // "AESEQ"
  std::string label;  // "Sequence Number"
  DataType data_type = DataType::kString;
  // Dataset-JSON's targetDataType ("integer" for a SAS date kept as a number,
  // "decimal"); empty when the value needs no conversion.
  std::string target_data_type;
  int length = 0;              // bytes for character values (0: not given)
  std::string display_format;  // SAS format such as "DATE9." or "8.2"
  int key_sequence = 0;        // 1, 2, ... for the dataset's keys; 0: not a key
  // Define-XML only.
  std::string item_oid;        // empty: "IT.<dataset>.<name>"
  bool mandatory = false;      // ItemRef/@Mandatory
  std::string role;            // "Identifier", "Topic", ... (empty: none)
  std::string origin;          // def:Origin/@Type: "Collected", "Derived", "Assigned", "Protocol", "Predecessor"
  std::string origin_source;   // def:Origin/@Source: "Investigator", "Sponsor", "Subject", "Vendor"
  std::string comment;         // a def:CommentDef attached to the ItemDef
  std::string codelist_oid;    // CodeListRef; the CodeList itself is in the DefineDocument
  int significant_digits = 0;  // ItemDef/@SignificantDigits for float (0: not given)

  VariableType type() const { return StorageType(data_type); }
};

struct DatasetDescription {
  std::string name;   // "AE"
  std::string label;  // "Adverse Events"
  // Define-XML: def:Class ("EVENTS", "FINDINGS", "INTERVENTIONS", "SPECIAL
  // PURPOSE", "TRIAL DESIGN", "RELATIONSHIP"), def:Structure ("One record per
  // adverse event per subject"), Purpose ("Tabulation"), Repeating.
  std::string dataset_class;
  std::string structure;
  std::string purpose = "Tabulation";
  bool repeating = true;
  std::string item_group_oid;  // empty: "IG.<name>"
  std::string comment;
  std::vector<Variable> variables;

  std::string ItemGroupOid() const;
  std::string ItemOid(const Variable& variable) const;
  // Index of the variable named so, or -1.
  int IndexOf(std::string_view variable_name) const;
};

// One value of a row (a cell of the table): text, a number or missing. Text
// is not owned: it stays valid for the duration of the Row() call it is
// passed to. (Named apart from core's Value, the item values an SDTM mapping
// turns into cells.)
class Cell {
 public:
  enum class Kind { kMissing, kText, kNumber };

  Cell() = default;
  static Cell Missing() { return Cell(); }
  static Cell Text(std::string_view text) {
    Cell v;
    v.kind_ = Kind::kText;
    v.text_ = text;
    return v;
  }
  static Cell Number(double number) {
    Cell v;
    v.kind_ = Kind::kNumber;
    v.number_ = number;
    return v;
  }

  Kind kind() const { return kind_; }
  bool missing() const { return kind_ == Kind::kMissing; }
  std::string_view text() const { return text_; }
  double number() const { return number_; }

 private:
  Kind kind_ = Kind::kMissing;
  std::string_view text_;
  double number_ = 0;
};

// Where rows go: a file writer, or whatever a reader feeds. Begin once, Row
// once per row, End once; after any error the sink is finished (a file writer
// removes what it had begun and leaves nothing behind). Not thread safe.
class DatasetWriter {
 public:
  virtual ~DatasetWriter() = default;
  virtual Status Begin(const DatasetDescription& description) = 0;
  // values.size() equals the number of variables, in their order.
  virtual Status Row(std::span<const Cell> values) = 0;
  virtual Status End() = 0;
};

// Counts what passes on to `next` into the report, as the commands print it:
// "AE rows" and "AE values" (missing ones included), read when handed in,
// written when `next` took them. Pointers must outlive this writer.
class ReportingWriter final : public DatasetWriter {
 public:
  ReportingWriter(DatasetWriter* next, TransferReport* report) : next_(next), report_(report) {}
  Status Begin(const DatasetDescription& description) override;
  Status Row(std::span<const Cell> values) override;
  Status End() override { return next_->End(); }

 private:
  DatasetWriter* next_;
  TransferReport* report_;
  size_t rows_ = 0;  // indices into report_->counts (stable while the report grows)
  size_t values_ = 0;
};

// The row's values as owned copies, for tests and small tools that do keep
// rows (never the writers).
struct OwnedCell {
  Cell::Kind kind = Cell::Kind::kMissing;
  std::string text;
  double number = 0;
  bool operator==(const OwnedCell&) const = default;
};
OwnedCell Own(const Cell& value);
// "missing", "\"text\"", "12.5": for error messages.
std::string Describe(const Cell& value);

// A dataset's file: its name in lower case and the extension ("ae.xpt"), as
// submissions name them and define.xml's leaves point to them.
std::string DatasetFileName(std::string_view dataset, std::string_view extension);

}  // namespace trialcore::standards
