#include "standards/dataset.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>

namespace trialcore::standards {
namespace {

struct DataTypeEntry {
  DataType type;
  std::string_view name;
};
constexpr std::array<DataTypeEntry, 10> kDataTypes = {{
    {DataType::kString, "string"},
    {DataType::kInteger, "integer"},
    {DataType::kFloat, "float"},
    {DataType::kDouble, "double"},
    {DataType::kDecimal, "decimal"},
    {DataType::kDate, "date"},
    {DataType::kDateTime, "datetime"},
    {DataType::kTime, "time"},
    {DataType::kBoolean, "boolean"},
    {DataType::kUri, "URI"},
}};

}  // namespace

std::string_view DataTypeName(DataType type) {
  for (const auto& entry : kDataTypes) {
    if (entry.type == type) return entry.name;
  }
  return "string";
}

Result<DataType> ParseDataType(std::string_view name) {
  for (const auto& entry : kDataTypes) {
    if (entry.name == name) return entry.type;
  }
  return InvalidArgument("unknown dataType \"" + std::string(name) +
                         "\" (string, integer, float, double, decimal, date, datetime, time, boolean or URI)");
}

VariableType StorageType(DataType type) {
  switch (type) {
    case DataType::kInteger:
    case DataType::kFloat:
    case DataType::kDouble:
    case DataType::kDecimal:
    case DataType::kBoolean:
      return VariableType::kNumeric;
    default:
      return VariableType::kCharacter;
  }
}

std::string DatasetDescription::ItemGroupOid() const { return item_group_oid.empty() ? "IG." + name : item_group_oid; }

std::string DatasetDescription::ItemOid(const Variable& variable) const {
  return variable.item_oid.empty() ? "IT." + name + "." + variable.name : variable.item_oid;
}

int DatasetDescription::IndexOf(std::string_view variable_name) const {
  for (size_t i = 0; i < variables.size(); ++i) {
    if (variables[i].name == variable_name) return static_cast<int>(i);
  }
  return -1;
}

Status ReportingWriter::Begin(const DatasetDescription& description) {
  report_->CountOf(description.name + " rows");
  report_->CountOf(description.name + " values");
  for (size_t i = 0; i < report_->counts.size(); ++i) {
    if (report_->counts[i].what == description.name + " rows") rows_ = i;
    if (report_->counts[i].what == description.name + " values") values_ = i;
  }
  return next_->Begin(description);
}

Status ReportingWriter::Row(std::span<const Cell> values) {
  report_->counts[rows_].read += 1;
  report_->counts[values_].read += values.size();
  TC_RETURN_IF_ERROR(next_->Row(values));
  report_->counts[rows_].written += 1;
  report_->counts[values_].written += values.size();
  return Status::Ok();
}

OwnedCell Own(const Cell& value) {
  OwnedCell owned;
  owned.kind = value.kind();
  if (value.kind() == Cell::Kind::kText) owned.text = std::string(value.text());
  if (value.kind() == Cell::Kind::kNumber) owned.number = value.number();
  return owned;
}

std::string DatasetFileName(std::string_view dataset, std::string_view extension) {
  std::string name(dataset);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name + std::string(extension);
}

std::string Describe(const Cell& value) {
  switch (value.kind()) {
    case Cell::Kind::kMissing:
      return "missing";
    case Cell::Kind::kText: {
      // Long values are cut for the message, never in the data.
      constexpr size_t kShown = 60;
      std::string_view text = value.text();
      std::string shown(text.substr(0, kShown));
      return "\"" + shown + (text.size() > kShown ? "...\"" : "\"");
    }
    case Cell::Kind::kNumber: {
      if (!std::isfinite(value.number())) return std::isnan(value.number()) ? "NaN" : "infinity";
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value.number());
      return ec == std::errc() ? std::string(buf, end) : "a number";
    }
  }
  return "?";
}

}  // namespace trialcore::standards
