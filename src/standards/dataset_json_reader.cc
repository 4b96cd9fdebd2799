// Invariant: a row reaches the sink only after the columns were read and the
// sink began; the document is parsed by nlohmann's SAX parser straight from
// the file, so no row is kept after it was handed on.
#include <iterator>
#include <nlohmann/json.hpp>
#include <vector>

#include "standards/dataset_file.h"
#include "standards/dataset_json.h"

namespace trialcore::standards {
namespace {

// The file as an input iterator for nlohmann's parser.
class InputIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  InputIterator() = default;
  explicit InputIterator(BufferedInput* in) : in_(in) { Advance(); }
  const char& operator*() const { return c_; }
  InputIterator& operator++() {
    Advance();
    return *this;
  }
  bool operator==(const InputIterator& other) const { return at_end() == other.at_end(); }
  bool operator!=(const InputIterator& other) const { return !(*this == other); }

 private:
  bool at_end() const { return in_ == nullptr; }
  void Advance() {
    int c = in_->Next();
    if (c < 0) {
      in_ = nullptr;
    } else {
      c_ = static_cast<char>(c);
    }
  }
  BufferedInput* in_ = nullptr;
  char c_ = 0;
};

using JsonLib = nlohmann::json;

class DatasetJsonSax {
 public:
  using number_integer_t = JsonLib::number_integer_t;
  using number_unsigned_t = JsonLib::number_unsigned_t;
  using number_float_t = JsonLib::number_float_t;
  using string_t = JsonLib::string_t;
  using binary_t = JsonLib::binary_t;

  DatasetJsonSax(std::string path, DatasetWriter* sink, DatasetJsonFileInfo* info)
      : path_(std::move(path)), sink_(sink), info_(info) {}

  // NDJSON: each later line is one row array.
  void ExpectRowLine(uint64_t line) {
    line_ = line;
    stack_.assign(1, State::kRows);
  }

  bool null() { return Scalar(Cell::Missing(), Json::kNull); }
  bool boolean(bool b) { return Scalar(Cell::Number(b ? 1 : 0), Json::kBoolean); }
  bool number_integer(number_integer_t n) { return Number(static_cast<double>(n)); }
  bool number_unsigned(number_unsigned_t n) { return Number(static_cast<double>(n)); }
  bool number_float(number_float_t d, const string_t&) { return Number(d); }
  bool binary(binary_t&) { return Error("unexpected binary value"); }

  bool string(string_t& s) {
    switch (top()) {
      case State::kTop:
        return TopString(s);
      case State::kSourceSystem:
        if (key_ == "name") info_->source_system_name = s;
        if (key_ == "version") info_->source_system_version = s;
        return true;
      case State::kColumn:
        return ColumnString(s);
      case State::kRow:
        if (row_values_ < texts_.size()) texts_[row_values_] = std::move(s);
        return Scalar(Cell::Text(""), Json::kText);
      case State::kSkip:
        return true;
      default:
        return Error("unexpected string \"" + s + "\"");
    }
  }

  bool start_object(std::size_t) {
    switch (top()) {
      case State::kNone:
        stack_.push_back(State::kTop);
        return true;
      case State::kTop:
        if (key_ == "sourceSystem") {
          stack_.push_back(State::kSourceSystem);
        } else {
          stack_.push_back(State::kSkip);
        }
        return true;
      case State::kColumns:
        description_.variables.emplace_back();
        stack_.push_back(State::kColumn);
        return true;
      case State::kSkip:
        stack_.push_back(State::kSkip);
        return true;
      default:
        return Error("unexpected object");
    }
  }

  bool end_object() {
    if (top() == State::kColumn && description_.variables.back().name.empty()) {
      return Error("column " + std::to_string(description_.variables.size()) + " has no name");
    }
    if (top() == State::kTop) saw_document_ = true;
    stack_.pop_back();
    return true;
  }

  bool start_array(std::size_t) {
    switch (top()) {
      case State::kTop:
        if (key_ == "columns") {
          saw_columns_ = true;
          stack_.push_back(State::kColumns);
        } else if (key_ == "rows") {
          if (!saw_columns_) {
            return Error("\"rows\" comes before \"columns\"; such a file cannot be read as a stream");
          }
          stack_.push_back(State::kRows);
        } else {
          stack_.push_back(State::kSkip);
        }
        return true;
      case State::kRows:
        if (!began_ && !BeginSink()) return false;
        ++rows_;
        row_values_ = 0;
        stack_.push_back(State::kRow);
        return true;
      case State::kSkip:
        stack_.push_back(State::kSkip);
        return true;
      default:
        return Error("unexpected array");
    }
  }

  bool end_array() {
    if (top() == State::kRow) {
      if (row_values_ != values_.size()) {
        return Error("row " + std::to_string(rows_) + " has " + std::to_string(row_values_) + " values for " +
                     std::to_string(values_.size()) + " columns");
      }
      for (size_t i = 0; i < values_.size(); ++i) {
        if (values_[i].kind() == Cell::Kind::kText) values_[i] = Cell::Text(texts_[i]);
      }
      Status status = sink_->Row(values_);
      if (!status.ok()) {
        status_ = status;
        return false;
      }
    }
    stack_.pop_back();
    return true;
  }

  bool key(string_t& k) {
    key_ = std::move(k);
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) {
    std::string what = ex.what();
    // "[json.exception.parse_error.101] parse error at line 3, column 5: ..."
    size_t at = what.find("] ");
    if (at != std::string::npos) what = what.substr(at + 2);
    status_ = InvalidArgument(Where() + ": malformed JSON: " + what);
    return false;
  }

  bool BeginSink() {
    began_ = true;
    values_.assign(description_.variables.size(), Cell::Missing());
    texts_.assign(description_.variables.size(), std::string());
    status_ = sink_->Begin(description_);
    return status_.ok();
  }

  bool began() const { return began_; }
  bool saw_document() const { return saw_document_; }
  uint64_t rows() const { return rows_; }
  const Status& status() const { return status_; }
  const DatasetDescription& description() const { return description_; }
  std::string Where() const { return line_ > 0 ? path_ + ":" + std::to_string(line_) : path_; }

 private:
  enum class State { kNone, kTop, kSourceSystem, kColumns, kColumn, kRows, kRow, kSkip };
  State top() const { return stack_.empty() ? State::kNone : stack_.back(); }

  bool Error(const std::string& message) {
    std::string where = Where();
    if (top() == State::kRow || top() == State::kRows) where += ", row " + std::to_string(rows_);
    if (top() == State::kTop || top() == State::kColumn) where += ", at \"" + key_ + "\"";
    status_ = InvalidArgument(where + ": " + message);
    return false;
  }

  bool Number(double d) {
    switch (top()) {
      case State::kTop:
        if (key_ == "records") info_->records = static_cast<int64_t>(d);
        return true;
      case State::kColumn: {
        Variable& v = description_.variables.back();
        if (key_ == "length") v.length = static_cast<int>(d);
        if (key_ == "keySequence") v.key_sequence = static_cast<int>(d);
        return true;
      }
      default:
        return Scalar(Cell::Number(d), Json::kNumber);
    }
  }

  enum class Json { kNull, kBoolean, kNumber, kText };

  // A value in a row, checked against its column's dataType: text for
  // string, date, datetime, time and URI (and decimal, kept as text), a
  // number for integer, float, double and decimal, true/false for boolean.
  bool Scalar(const Cell& value, Json kind) {
    if (top() == State::kSkip || top() == State::kTop || top() == State::kColumn || top() == State::kSourceSystem) {
      return true;
    }
    static constexpr const char* kNames[] = {"null", "a boolean", "a number", "a string"};
    if (top() != State::kRow) return Error(std::string("unexpected ") + kNames[static_cast<int>(kind)]);
    if (row_values_ >= values_.size()) {
      return Error("more values than the " + std::to_string(values_.size()) + " columns");
    }
    const Variable& v = description_.variables[row_values_];
    const bool character = StorageType(v.data_type) == VariableType::kCharacter;
    bool ok = true;
    switch (kind) {
      case Json::kNull:
        break;
      case Json::kText:
        ok = character || v.data_type == DataType::kDecimal;
        break;
      case Json::kNumber:
        ok = !character && v.data_type != DataType::kBoolean;
        break;
      case Json::kBoolean:
        ok = v.data_type == DataType::kBoolean;
        break;
    }
    if (!ok) {
      return Error("column " + v.name + " (dataType " + std::string(DataTypeName(v.data_type)) + ") has " +
                   kNames[static_cast<int>(kind)]);
    }
    values_[row_values_++] = value;
    return true;
  }

  bool TopString(const std::string& s) {
    if (key_ == "datasetJSONCreationDateTime") info_->creation_datetime = s;
    if (key_ == "datasetJSONVersion") info_->version = s;
    if (key_ == "fileOID") info_->file_oid = s;
    if (key_ == "dbLastModifiedDateTime") info_->db_last_modified_datetime = s;
    if (key_ == "originator") info_->originator = s;
    if (key_ == "studyOID") info_->study_oid = s;
    if (key_ == "metaDataVersionOID") info_->metadata_version_oid = s;
    if (key_ == "metaDataRef") info_->metadata_ref = s;
    if (key_ == "itemGroupOID") description_.item_group_oid = s;
    if (key_ == "name") description_.name = s;
    if (key_ == "label") description_.label = s;
    if (began_ && (key_ == "name" || key_ == "label" || key_ == "itemGroupOID")) {
      return Error("the dataset's \"" + key_ + "\" comes after its rows; such a file cannot be read as a stream");
    }
    return true;
  }

  bool ColumnString(const std::string& s) {
    Variable& v = description_.variables.back();
    if (key_ == "itemOID") v.item_oid = s;
    if (key_ == "name") v.name = s;
    if (key_ == "label") v.label = s;
    if (key_ == "displayFormat") v.display_format = s;
    if (key_ == "targetDataType") v.target_data_type = s;
    if (key_ == "dataType") {
      auto type = ParseDataType(s);
      if (!type.ok()) return Error(type.status().message());
      v.data_type = *type;
    }
    return true;
  }

  std::string path_;
  DatasetWriter* sink_;
  DatasetJsonFileInfo* info_;
  DatasetDescription description_;
  std::vector<State> stack_;
  std::string key_;
  std::vector<Cell> values_;
  std::vector<std::string> texts_;
  size_t row_values_ = 0;
  uint64_t rows_ = 0;
  uint64_t line_ = 0;
  bool saw_columns_ = false;
  bool saw_document_ = false;
  bool began_ = false;
  Status status_;
};

}  // namespace

Status ReadDatasetJson(Env* env, const std::string& path, DatasetJsonFormat format, DatasetWriter* sink,
                       DatasetJsonFileInfo* info) {
  DatasetJsonFileInfo local_info;
  if (info == nullptr) info = &local_info;
  *info = DatasetJsonFileInfo();
  info->version.clear();
  BufferedInput input;
  TC_RETURN_IF_ERROR_CTX(input.Open(env, path), "reading Dataset-JSON");
  DatasetJsonSax sax(path, sink, info);

  if (format == DatasetJsonFormat::kJson) {
    bool parsed = JsonLib::sax_parse(InputIterator(&input), InputIterator(), &sax);
    if (!input.status().ok()) return input.status().WithContext("reading " + path);
    if (!parsed || !sax.status().ok()) {
      return sax.status().ok() ? InvalidArgument(path + ": malformed JSON") : sax.status();
    }
  } else {
    std::string line;
    uint64_t line_number = 0;
    while (true) {
      TC_ASSIGN_OR_RETURN_CTX(bool more, input.ReadLine(&line), "reading " + path);
      if (!more) break;
      ++line_number;
      if (line_number > 1 && line.empty()) continue;  // a blank last line
      if (line_number > 1) sax.ExpectRowLine(line_number);
      bool parsed = JsonLib::sax_parse(line, &sax);
      if (!parsed || !sax.status().ok()) {
        return sax.status().ok() ? InvalidArgument(path + ":" + std::to_string(line_number) + ": malformed JSON")
                                 : sax.status();
      }
      if (line_number == 1 && !sax.saw_document()) {
        return InvalidArgument(path + ":1: the first line of NDJSON is the metadata object");
      }
    }
    if (line_number == 0) return InvalidArgument(path + " is empty");
  }
  if (sax.description().name.empty() && sax.description().variables.empty()) {
    return InvalidArgument(path + " is not Dataset-JSON: it has no name and no columns");
  }
  if (!sax.began() && !sax.BeginSink()) return sax.status();
  if (info->records >= 0 && static_cast<uint64_t>(info->records) != sax.rows()) {
    return InvalidArgument(path + ": \"records\" says " + std::to_string(info->records) + " but the file has " +
                           std::to_string(sax.rows()) + " rows");
  }
  return sink->End();
}

}  // namespace trialcore::standards
