// Invariant: nothing reaches ReadStat that it would truncate or refuse; every
// limit is checked here first, so its errors are ours and name the place.
#include "standards/xpt_writer.h"

#include <readstat.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>
#include <vector>

#include "standards/dataset_file.h"

namespace trialcore::standards {
namespace {

bool IsAscii(std::string_view text) {
  return std::ranges::all_of(text, [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// " (byte 0x92 at 45)": where the first non-ASCII byte is, since the value
// itself may not print (Windows-1252 text shows as garbage in UTF-8).
std::string FirstNonAscii(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      return std::string(" (byte 0x") + kHex[c >> 4] + kHex[c & 0xF] + " at " + std::to_string(i + 1) + ")";
    }
  }
  return "";
}

Status CheckName(std::string_view name, const std::string& what) {
  if (name.empty()) return InvalidArgument(what + " has no name");
  if (name.size() > kXptMaxNameLength) {
    return InvalidArgument(what + ": name \"" + std::string(name) + "\" has " + std::to_string(name.size()) +
                           " characters; SAS transport version 5 allows at most 8");
  }
  if (!(name[0] >= 'A' && name[0] <= 'Z')) {
    return InvalidArgument(what + ": name \"" + std::string(name) +
                           "\" must start with an uppercase letter (SAS transport version 5)");
  }
  for (char c : name) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      return InvalidArgument(what + ": name \"" + std::string(name) + "\" has '" + std::string(1, c) +
                             "'; SAS transport version 5 names have uppercase letters, digits and underscore only");
    }
  }
  return Status::Ok();
}

Status CheckLabel(std::string_view label, const std::string& what) {
  if (label.size() > kXptMaxLabelLength) {
    return InvalidArgument(what + ": label \"" + std::string(label) + "\" has " + std::to_string(label.size()) +
                           " characters; SAS transport version 5 allows at most 40");
  }
  if (!IsAscii(label)) {
    return InvalidArgument(what + ": label \"" + std::string(label) + "\" is not ASCII" + FirstNonAscii(label) +
                           "; FDA accepts ASCII only in SAS transport files");
  }
  return Status::Ok();
}

// The name part of a SAS format ("DATE" of "DATE9.", "$CHAR" of "$CHAR20.").
std::string_view FormatName(std::string_view format) {
  size_t end = 0;
  while (end < format.size() && !(format[end] >= '0' && format[end] <= '9') && format[end] != '.') ++end;
  return format.substr(0, end);
}

std::string ReadStatMessage(readstat_error_t error) { return readstat_error_message(error); }

class XptWriter final : public DatasetWriter {
 public:
  XptWriter(Env* env, std::string path) : env_(env), path_(std::move(path)) {}
  ~XptWriter() override {
    if (writer_ != nullptr) readstat_writer_free(writer_);
  }

  Status Begin(const DatasetDescription& description) override {
    if (began_) return FailedPrecondition("Begin called twice for " + path_);
    began_ = true;
    TC_RETURN_IF_ERROR(Fail(CheckXptDescription(description).WithContext("writing " + path_)));
    description_ = description;
    TC_RETURN_IF_ERROR(Fail(output_.Open(env_, path_)));

    writer_ = readstat_writer_init();
    readstat_set_data_writer(writer_, &XptWriter::WriteBytes);
    // Version 8 otherwise, which FDA does not accept.
    readstat_writer_set_file_format_version(writer_, 5);
    readstat_writer_set_table_name(writer_, description.name.c_str());
    readstat_writer_set_file_label(writer_, description.label.c_str());
    readstat_writer_set_file_timestamp(writer_, static_cast<time_t>(env_->NowMicros() / 1'000'000));
    for (const Variable& v : description.variables) {
      readstat_variable_t* variable =
          v.type() == VariableType::kCharacter
              ? readstat_add_variable(writer_, v.name.c_str(), READSTAT_TYPE_STRING, static_cast<size_t>(v.length))
              : readstat_add_variable(writer_, v.name.c_str(), READSTAT_TYPE_DOUBLE, 8);
      readstat_variable_set_label(variable, v.label.c_str());
      if (!v.display_format.empty()) readstat_variable_set_format(variable, v.display_format.c_str());
      variables_.push_back(variable);
    }
    // The row count is not known yet and version 5 does not record one; see End().
    readstat_error_t error = readstat_begin_writing_xport(writer_, this, 0);
    if (error != READSTAT_OK) return Fail(InvalidArgument("writing " + path_ + ": " + ReadStatMessage(error)));
    return Status::Ok();
  }

  Status Row(std::span<const Cell> values) override {
    if (!began_ || done_) return FailedPrecondition("Row outside Begin/End for " + path_);
    const uint64_t row = rows_ + 1;
    if (values.size() != variables_.size()) {
      return Fail(InvalidArgument(Where(row) + " has " + std::to_string(values.size()) + " values for " +
                                  std::to_string(variables_.size()) + " variables"));
    }
    // Every value is checked before the row is begun, so ReadStat never
    // sees one it would cut.
    for (size_t i = 0; i < values.size(); ++i) TC_RETURN_IF_ERROR(Fail(CheckValue(i, values[i], row)));
    readstat_error_t error = readstat_begin_row(writer_);
    for (size_t i = 0; i < values.size() && error == READSTAT_OK; ++i) error = Insert(i, values[i]);
    if (error == READSTAT_OK) error = readstat_end_row(writer_);
    if (error != READSTAT_OK) return Fail(WriteError(error, row));
    ++rows_;
    return Status::Ok();
  }

  Status End() override {
    if (!began_ || done_) return FailedPrecondition("End outside Begin for " + path_);
    done_ = true;
    // ReadStat checks the rows written against the count given at the
    // start; version 5 keeps no count in the file, so the count is what was
    // written.
    writer_->row_count = writer_->current_row;
    readstat_error_t error = readstat_end_writing(writer_);
    if (error != READSTAT_OK) return Fail(WriteError(error, rows_));
    TC_RETURN_IF_ERROR(Fail(output_.Commit().WithContext("writing " + path_)));
    return Status::Ok();
  }

 private:
  static ssize_t WriteBytes(const void* data, size_t len, void* ctx) {
    auto* self = static_cast<XptWriter*>(ctx);
    Status status = self->output_.Append(std::string_view(static_cast<const char*>(data), len));
    if (!status.ok()) {
      self->io_status_ = status;
      return -1;
    }
    return static_cast<ssize_t>(len);
  }

  std::string Where(uint64_t row) const {
    return path_ + ": dataset " + description_.name + ", row " + std::to_string(row);
  }
  std::string Where(size_t variable, uint64_t row) const {
    return Where(row) + ", variable " + description_.variables[variable].name;
  }

  Status CheckValue(size_t i, const Cell& value, uint64_t row) {
    const Variable& v = description_.variables[i];
    if (v.type() == VariableType::kCharacter) {
      if (value.kind() == Cell::Kind::kNumber) {
        return InvalidArgument(Where(i, row) + ": the number " + Describe(value) +
                               " for a character variable; give it as text");
      }
      std::string_view text = value.text();
      if (text.size() > kXptMaxValueBytes) {
        return InvalidArgument(Where(i, row) + ": value " + Describe(value) + " has " + std::to_string(text.size()) +
                               " bytes; SAS transport version 5 allows at most 200");
      }
      if (text.size() > static_cast<size_t>(v.length)) {
        return InvalidArgument(Where(i, row) + ": value " + Describe(value) + " has " + std::to_string(text.size()) +
                               " bytes; the variable's length is " + std::to_string(v.length));
      }
      if (!IsAscii(text)) {
        return InvalidArgument(Where(i, row) + ": value " + Describe(value) + " is not ASCII" + FirstNonAscii(text) +
                               "; FDA accepts ASCII only in SAS transport files");
      }
      return Status::Ok();
    }
    if (value.kind() == Cell::Kind::kNumber && std::isinf(value.number())) {
      return InvalidArgument(Where(i, row) + ": " + Describe(value) + " has no SAS transport form");
    }
    if (value.kind() == Cell::Kind::kText) {
      std::string_view text = value.text();
      double parsed = 0;
      if (text.empty()) return Status::Ok();  // written as missing
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
      if (ec != std::errc() || end != text.data() + text.size()) {
        return InvalidArgument(Where(i, row) + ": value " + Describe(value) + " is not a number");
      }
    }
    return Status::Ok();
  }

  readstat_error_t Insert(size_t i, const Cell& value) {
    readstat_variable_t* variable = variables_[i];
    if (description_.variables[i].type() == VariableType::kCharacter) {
      if (value.missing() || value.text().empty()) return readstat_insert_string_value(writer_, variable, "");
      // ReadStat takes C strings: copy into a buffer that ends in NUL.
      text_.assign(value.text());
      return readstat_insert_string_value(writer_, variable, text_.c_str());
    }
    double number = 0;
    if (value.kind() == Cell::Kind::kNumber) {
      number = value.number();
    } else if (value.kind() == Cell::Kind::kText && !value.text().empty()) {
      std::from_chars(value.text().data(), value.text().data() + value.text().size(), number);
    } else {
      return readstat_insert_missing_value(writer_, variable);
    }
    if (std::isnan(number)) return readstat_insert_missing_value(writer_, variable);
    return readstat_insert_double_value(writer_, variable, number);
  }

  Status WriteError(readstat_error_t error, uint64_t row) {
    if (!io_status_.ok()) return io_status_.WithContext("writing " + path_);
    return InvalidArgument(Where(row) + ": " + ReadStatMessage(error));
  }

  // Any error finishes the writer and removes the temporary file.
  Status Fail(Status status) {
    if (!status.ok()) {
      done_ = true;
      output_.Abandon();
    }
    return status;
  }

  Env* env_;
  std::string path_;
  StagedOutput output_;
  DatasetDescription description_;
  readstat_writer_t* writer_ = nullptr;
  std::vector<readstat_variable_t*> variables_;
  std::string text_;
  Status io_status_;
  uint64_t rows_ = 0;
  bool began_ = false;
  bool done_ = false;
};

}  // namespace

Status CheckXptDescription(const DatasetDescription& description) {
  const std::string dataset = "dataset " + (description.name.empty() ? std::string("(unnamed)") : description.name);
  TC_RETURN_IF_ERROR(CheckName(description.name, dataset));
  TC_RETURN_IF_ERROR(CheckLabel(description.label, dataset));
  if (description.variables.empty()) return InvalidArgument(dataset + " has no variables");
  for (size_t i = 0; i < description.variables.size(); ++i) {
    const Variable& v = description.variables[i];
    const std::string what =
        dataset + ", variable " + (v.name.empty() ? "number " + std::to_string(i + 1) : std::string(v.name));
    TC_RETURN_IF_ERROR(CheckName(v.name, what));
    TC_RETURN_IF_ERROR(CheckLabel(v.label, what));
    for (size_t j = 0; j < i; ++j) {
      if (description.variables[j].name == v.name) return InvalidArgument(what + " appears twice");
    }
    if (v.type() == VariableType::kCharacter && (v.length < 1 || v.length > static_cast<int>(kXptMaxValueBytes))) {
      return InvalidArgument(what + ": length " + std::to_string(v.length) +
                             "; a character variable in SAS transport version 5 has 1 to 200 bytes");
    }
    if (!v.display_format.empty()) {
      std::string_view format_name = FormatName(v.display_format);
      if (format_name.size() > kXptMaxNameLength || !IsAscii(v.display_format)) {
        return InvalidArgument(what + ": display format \"" + v.display_format +
                               "\" has a name longer than 8 characters (SAS transport version 5)");
      }
    }
  }
  return Status::Ok();
}

std::unique_ptr<DatasetWriter> NewXptWriter(Env* env, std::string path) {
  return std::make_unique<XptWriter>(env, std::move(path));
}

}  // namespace trialcore::standards
