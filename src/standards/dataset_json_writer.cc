// Invariant: the text is written directly (no JSON library between a row and
// the file); every string goes through AppendString, every number through
// std::to_chars.
#include <charconv>
#include <cmath>
#include <ctime>
#include <vector>

#include "standards/dataset_file.h"
#include "standards/dataset_json.h"

namespace trialcore::standards {
namespace {

// Room for any uint64 after "records":.
constexpr size_t kRecordsWidth = 20;

// -1 when text is valid UTF-8, else the offset of the first bad byte.
ptrdiff_t FirstInvalidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    if (n == 0 || (c >= 0xF0 && n != 4) || i + n > text.size()) return static_cast<ptrdiff_t>(i);
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return static_cast<ptrdiff_t>(i);
    }
    i += n;
  }
  return -1;
}

void AppendString(std::string& out, std::string_view s) {
  out.push_back('"');
  size_t plain = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(esc, sizeof(esc));
      }
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out.push_back('"');
}

void AppendDouble(std::string& out, double d) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  out.append(buf, end);
}

void AppendInt(std::string& out, int64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), n);
  out.append(buf, end);
}

void AppendField(std::string& out, std::string_view key, std::string_view value, bool& first) {
  if (value.empty()) return;
  if (!first) out.push_back(',');
  first = false;
  AppendString(out, key);
  out.push_back(':');
  AppendString(out, value);
}

std::string UtcNow(Env* env) {
  time_t seconds = static_cast<time_t>(env->NowMicros() / 1'000'000);
  struct tm tm;
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

enum class Shape { kText, kInteger, kReal, kDecimal, kBoolean };

Shape ShapeOf(DataType type) {
  switch (type) {
    case DataType::kInteger:
      return Shape::kInteger;
    case DataType::kFloat:
    case DataType::kDouble:
      return Shape::kReal;
    case DataType::kDecimal:
      return Shape::kDecimal;
    case DataType::kBoolean:
      return Shape::kBoolean;
    default:
      return Shape::kText;
  }
}

bool IsJsonNumber(std::string_view text) {
  // JSON's number grammar, which a decimal's text must follow to mean a number.
  size_t i = 0;
  if (i < text.size() && text[i] == '-') ++i;
  if (i >= text.size() || !(text[i] >= '0' && text[i] <= '9')) return false;
  if (text[i] == '0') {
    ++i;
  } else {
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (i >= text.size() || !(text[i] >= '0' && text[i] <= '9')) return false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (i >= text.size() || !(text[i] >= '0' && text[i] <= '9')) return false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  }
  return i == text.size();
}

class DatasetJsonWriter final : public DatasetWriter {
 public:
  DatasetJsonWriter(Env* env, std::string path, DatasetJsonFormat format, DatasetJsonFileInfo info)
      : env_(env), path_(std::move(path)), format_(format), info_(std::move(info)) {}

  Status Begin(const DatasetDescription& description) override {
    if (began_) return FailedPrecondition("Begin called twice for " + path_);
    began_ = true;
    description_ = description;
    TC_RETURN_IF_ERROR(Fail(CheckDescription()));
    TC_RETURN_IF_ERROR(Fail(output_.Open(env_, path_)));
    for (const Variable& v : description_.variables) shapes_.push_back(ShapeOf(v.data_type));

    std::string& out = output_.buffer();
    bool first = true;
    out.push_back('{');
    AppendField(out, "datasetJSONCreationDateTime",
                info_.creation_datetime.empty() ? UtcNow(env_) : info_.creation_datetime, first);
    AppendField(out, "datasetJSONVersion", info_.version, first);
    AppendField(out, "fileOID", info_.file_oid, first);
    AppendField(out, "dbLastModifiedDateTime", info_.db_last_modified_datetime, first);
    AppendField(out, "originator", info_.originator, first);
    if (!info_.source_system_name.empty() || !info_.source_system_version.empty()) {
      out.append(",\"sourceSystem\":{\"name\":");
      AppendString(out, info_.source_system_name);
      out.append(",\"version\":");
      AppendString(out, info_.source_system_version);
      out.push_back('}');
    }
    AppendField(out, "studyOID", info_.study_oid, first);
    AppendField(out, "metaDataVersionOID", info_.metadata_version_oid, first);
    AppendField(out, "metaDataRef", info_.metadata_ref, first);
    AppendField(out, "itemGroupOID", description_.ItemGroupOid(), first);
    out.append(",\"records\":");
    records_offset_ = output_.size();
    out.append(kRecordsWidth, ' ');
    out.append(",\"name\":");
    AppendString(out, description_.name);
    out.append(",\"label\":");
    AppendString(out, description_.label);
    out.append(",\"columns\":[");
    for (size_t i = 0; i < description_.variables.size(); ++i) {
      const Variable& v = description_.variables[i];
      if (i > 0) out.push_back(',');
      out.append("{\"itemOID\":");
      AppendString(out, description_.ItemOid(v));
      out.append(",\"name\":");
      AppendString(out, v.name);
      out.append(",\"label\":");
      AppendString(out, v.label);
      out.append(",\"dataType\":");
      AppendString(out, DataTypeName(v.data_type));
      if (!v.target_data_type.empty()) {
        out.append(",\"targetDataType\":");
        AppendString(out, v.target_data_type);
      }
      if (v.length > 0) {
        out.append(",\"length\":");
        AppendInt(out, v.length);
      }
      if (!v.display_format.empty()) {
        out.append(",\"displayFormat\":");
        AppendString(out, v.display_format);
      }
      if (v.key_sequence > 0) {
        out.append(",\"keySequence\":");
        AppendInt(out, v.key_sequence);
      }
      out.push_back('}');
    }
    out.push_back(']');
    if (format_ == DatasetJsonFormat::kJson) {
      out.append(",\"rows\":[");
    } else {
      out.append("}\n");
    }
    return Fail(output_.MaybeFlush());
  }

  Status Row(std::span<const Cell> values) override {
    if (!began_ || done_) return FailedPrecondition("Row outside Begin/End for " + path_);
    const uint64_t row = rows_ + 1;
    if (values.size() != shapes_.size()) {
      return Fail(InvalidArgument(Where(row) + " has " + std::to_string(values.size()) + " values for " +
                                  std::to_string(shapes_.size()) + " columns"));
    }
    std::string& out = output_.buffer();
    const size_t row_start = out.size();
    if (format_ == DatasetJsonFormat::kJson) out.append(rows_ == 0 ? "\n" : ",\n");
    out.push_back('[');
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out.push_back(',');
      Status status = AppendValue(out, i, values[i], row);
      if (!status.ok()) {
        out.resize(row_start);
        return Fail(status);
      }
    }
    out.push_back(']');
    if (format_ == DatasetJsonFormat::kNdjson) out.push_back('\n');
    ++rows_;
    return Fail(output_.MaybeFlush());
  }

  Status End() override {
    if (!began_ || done_) return FailedPrecondition("End outside Begin for " + path_);
    done_ = true;
    if (format_ == DatasetJsonFormat::kJson) TC_RETURN_IF_ERROR(Fail(output_.Append(rows_ == 0 ? "]}\n" : "\n]}\n")));
    std::string count = std::to_string(rows_);
    count.resize(kRecordsWidth, ' ');
    TC_RETURN_IF_ERROR(Fail(output_.Overwrite(records_offset_, count)));
    return Fail(output_.Commit().WithContext("writing " + path_));
  }

 private:
  std::string Where(uint64_t row) const {
    return path_ + ": dataset " + description_.name + ", row " + std::to_string(row);
  }

  Status CheckDescription() const {
    const std::string where = "writing " + path_ + ": dataset " + description_.name;
    if (description_.name.empty()) return InvalidArgument("writing " + path_ + ": the dataset has no name");
    for (const Variable& v : description_.variables) {
      if (v.name.empty()) return InvalidArgument(where + ": a variable has no name");
      if (!v.target_data_type.empty() && v.target_data_type != "integer" && v.target_data_type != "decimal") {
        return InvalidArgument(where + ", variable " + v.name + ": targetDataType \"" + v.target_data_type +
                               "\" (Dataset-JSON 1.1 allows integer and decimal)");
      }
      if (v.length < 0 || v.key_sequence < 0) {
        return InvalidArgument(where + ", variable " + v.name + ": length and keySequence are at least 1");
      }
    }
    for (std::string_view text : {std::string_view(description_.name), std::string_view(description_.label)}) {
      if (FirstInvalidUtf8(text) >= 0) return InvalidArgument(where + ": name or label is not UTF-8");
    }
    return Status::Ok();
  }

  Status AppendValue(std::string& out, size_t i, const Cell& value, uint64_t row) {
    if (value.missing()) {
      out.append("null");
      return Status::Ok();
    }
    const Shape shape = shapes_[i];
    if (value.kind() == Cell::Kind::kText) {
      if (shape != Shape::kText && shape != Shape::kDecimal) return WrongKind(i, value, row);
      std::string_view text = value.text();
      if (shape == Shape::kDecimal && !IsJsonNumber(text)) {
        return InvalidArgument(Where(row) + ", variable " + description_.variables[i].name + ": value " +
                               Describe(value) + " is not a decimal number");
      }
      if (FirstInvalidUtf8(text) >= 0) {
        return InvalidArgument(Where(row) + ", variable " + description_.variables[i].name + ": value " +
                               Describe(value) + " is not UTF-8");
      }
      AppendString(out, text);
      return Status::Ok();
    }
    const double number = value.number();
    if (!std::isfinite(number)) {
      if (std::isnan(number)) {
        out.append("null");
        return Status::Ok();
      }
      return InvalidArgument(Where(row) + ", variable " + description_.variables[i].name + ": " + Describe(value) +
                             " has no JSON form");
    }
    switch (shape) {
      case Shape::kText:
        return WrongKind(i, value, row);
      case Shape::kInteger:
        // 2^63: the first double beyond int64.
        if (number != std::trunc(number) || std::fabs(number) >= 9223372036854775808.0) {
          return InvalidArgument(Where(row) + ", variable " + description_.variables[i].name + ": " + Describe(value) +
                                 " is not an integer, and the column's dataType is integer");
        }
        AppendInt(out, static_cast<int64_t>(number));
        return Status::Ok();
      case Shape::kReal:
        AppendDouble(out, number);
        return Status::Ok();
      case Shape::kDecimal:
        out.push_back('"');
        AppendDouble(out, number);
        out.push_back('"');
        return Status::Ok();
      case Shape::kBoolean:
        if (number != 0 && number != 1) {
          return InvalidArgument(Where(row) + ", variable " + description_.variables[i].name + ": " + Describe(value) +
                                 " is not a boolean (0 or 1)");
        }
        out.append(number != 0 ? "true" : "false");
        return Status::Ok();
    }
    return Status::Ok();
  }

  Status WrongKind(size_t i, const Cell& value, uint64_t row) const {
    const Variable& v = description_.variables[i];
    return InvalidArgument(Where(row) + ", variable " + v.name + ": value " + Describe(value) + " for dataType " +
                           std::string(DataTypeName(v.data_type)));
  }

  Status Fail(Status status) {
    if (!status.ok()) {
      done_ = true;
      output_.Abandon();
    }
    return status;
  }

  Env* env_;
  std::string path_;
  DatasetJsonFormat format_;
  DatasetJsonFileInfo info_;
  DatasetDescription description_;
  std::vector<Shape> shapes_;
  StagedOutput output_;
  uint64_t records_offset_ = 0;
  uint64_t rows_ = 0;
  bool began_ = false;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<DatasetWriter> NewDatasetJsonWriter(Env* env, std::string path, DatasetJsonFormat format,
                                                    DatasetJsonFileInfo info) {
  return std::make_unique<DatasetJsonWriter>(env, std::move(path), format, std::move(info));
}

}  // namespace trialcore::standards
