// Invariant: the sink sees Begin before any Row, and End only after the last
// row of a file that parsed to its end.
#include "standards/xpt_reader.h"

#include <readstat.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace trialcore::standards {
namespace {

constexpr size_t kRecordLength = 80;
constexpr std::string_view kLibraryHeaderV5 = "HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!";
constexpr std::string_view kLibraryHeaderV8 = "HEADER RECORD*******LIBV8   HEADER RECORD!!!!!!!";

// ReadStat reads through these, so the file comes through the Env like any other.
struct EnvIo {
  Env* env = nullptr;
  std::unique_ptr<File> file;
  uint64_t offset = 0;
  uint64_t size = 0;
  Status status;
};

int IoOpen(const char* path, void* ctx) {
  auto* io = static_cast<EnvIo*>(ctx);
  OpenOptions options;
  options.read_only = true;
  auto file = io->env->OpenFile(path, options);
  if (!file.ok()) {
    io->status = file.status();
    return -1;
  }
  io->file = std::move(*file);
  auto size = io->file->Size();
  if (!size.ok()) {
    io->status = size.status();
    return -1;
  }
  io->size = *size;
  io->offset = 0;
  return 0;
}

int IoClose(void* ctx) {
  static_cast<EnvIo*>(ctx)->file.reset();
  return 0;
}

readstat_off_t IoSeek(readstat_off_t offset, readstat_io_flags_t whence, void* ctx) {
  auto* io = static_cast<EnvIo*>(ctx);
  int64_t base = whence == READSTAT_SEEK_SET   ? 0
                 : whence == READSTAT_SEEK_CUR ? static_cast<int64_t>(io->offset)
                                               : static_cast<int64_t>(io->size);
  int64_t target = base + static_cast<int64_t>(offset);
  if (target < 0) return -1;
  io->offset = static_cast<uint64_t>(target);
  return static_cast<readstat_off_t>(target);
}

ssize_t IoRead(void* buf, size_t nbyte, void* ctx) {
  auto* io = static_cast<EnvIo*>(ctx);
  size_t got = 0;
  Status status = io->file->Read(io->offset, nbyte, static_cast<char*>(buf), &got);
  if (!status.ok()) {
    io->status = status;
    return -1;
  }
  io->offset += got;
  return static_cast<ssize_t>(got);
}

readstat_error_t IoUpdate(long, readstat_progress_handler, void*, void*) { return READSTAT_OK; }

// Transport files hold IBM floating point; converted to IEEE, 8.55 comes out
// as 8.549999999999999. Rounded to 15 significant digits (the precision SAS
// promises for its numbers) it is the double of 8.55 again, as SAS itself and
// CDISC's Dataset-JSON examples print it.
double SasPrecision(double number) {
  if (!std::isfinite(number) || number == 0) return number;
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), number, std::chars_format::general, 15);
  if (ec != std::errc()) return number;
  double rounded = number;
  std::from_chars(buf, end, rounded);
  return rounded;
}

std::string_view TrimRight(std::string_view text) {
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

class XptParse {
 public:
  XptParse(std::string path, DatasetWriter* sink) : path_(std::move(path)), sink_(sink) {}

  static int OnMetadata(readstat_metadata_t* metadata, void* ctx) {
    auto* self = static_cast<XptParse*>(ctx);
    const char* name = readstat_get_table_name(metadata);
    const char* label = readstat_get_file_label(metadata);
    self->description_.name = std::string(TrimRight(name != nullptr ? name : ""));
    self->description_.label = std::string(TrimRight(label != nullptr ? label : ""));
    int vars = readstat_get_var_count(metadata);
    if (vars > 0) self->description_.variables.reserve(static_cast<size_t>(vars));
    return READSTAT_HANDLER_OK;
  }

  static int OnVariable(int, readstat_variable_t* variable, const char*, void* ctx) {
    auto* self = static_cast<XptParse*>(ctx);
    Variable v;
    const char* name = readstat_variable_get_name(variable);
    const char* label = readstat_variable_get_label(variable);
    const char* format = readstat_variable_get_format(variable);
    v.name = name != nullptr ? name : "";
    v.label = label != nullptr ? label : "";
    v.display_format = format != nullptr ? format : "";
    if (readstat_variable_get_type_class(variable) == READSTAT_TYPE_CLASS_STRING) {
      v.data_type = DataType::kString;
      v.length = static_cast<int>(readstat_variable_get_storage_width(variable));
    } else {
      // Transport files keep every number as a double; integers and
      // dates kept as numbers are told apart by the define.xml, not here.
      v.data_type = DataType::kDouble;
      v.length = static_cast<int>(readstat_variable_get_storage_width(variable));
    }
    self->description_.variables.push_back(std::move(v));
    return READSTAT_HANDLER_OK;
  }

  static int OnValue(int obs_index, readstat_variable_t* variable, readstat_value_t value, void* ctx) {
    auto* self = static_cast<XptParse*>(ctx);
    if (!self->status_.ok()) return READSTAT_HANDLER_ABORT;
    if (!self->began_ && !self->BeginSink()) return READSTAT_HANDLER_ABORT;
    const size_t index = static_cast<size_t>(readstat_variable_get_index(variable));
    if (index >= self->values_.size()) {
      self->status_ = InvalidArgument(self->path_ + ": value for unknown variable " + std::to_string(index + 1) +
                                      " in row " + std::to_string(obs_index + 1));
      return READSTAT_HANDLER_ABORT;
    }
    if (readstat_value_type_class(value) == READSTAT_TYPE_CLASS_STRING) {
      const char* text = readstat_string_value(value);
      self->texts_[index].assign(TrimRight(text != nullptr ? text : ""));
      self->values_[index] = Cell::Text(self->texts_[index]);
    } else if (readstat_value_is_missing(value, variable)) {
      self->values_[index] = Cell::Missing();
    } else {
      self->values_[index] = Cell::Number(SasPrecision(readstat_double_value(value)));
    }
    if (index + 1 == self->values_.size()) {
      Status status = self->sink_->Row(self->values_);
      if (!status.ok()) {
        self->status_ = status;
        return READSTAT_HANDLER_ABORT;
      }
      ++self->rows_;
    }
    return READSTAT_HANDLER_OK;
  }

  static void OnError(const char* message, void* ctx) {
    auto* self = static_cast<XptParse*>(ctx);
    if (!self->readstat_messages_.empty()) self->readstat_messages_ += "; ";
    self->readstat_messages_ += std::string(TrimRight(message));
    while (!self->readstat_messages_.empty() && self->readstat_messages_.back() == '\n') {
      self->readstat_messages_.pop_back();
    }
  }

  bool BeginSink() {
    began_ = true;
    values_.assign(description_.variables.size(), Cell::Missing());
    texts_.assign(description_.variables.size(), std::string());
    status_ = sink_->Begin(description_);
    return status_.ok();
  }

  bool began() const { return began_; }
  uint64_t rows() const { return rows_; }
  uint64_t row_length() const {
    uint64_t length = 0;
    for (const Variable& v : description_.variables) length += static_cast<uint64_t>(v.length);
    return length;
  }
  Status& status() { return status_; }
  const std::string& readstat_messages() const { return readstat_messages_; }

 private:
  std::string path_;
  DatasetWriter* sink_;
  DatasetDescription description_;
  std::vector<Cell> values_;
  std::vector<std::string> texts_;
  std::string readstat_messages_;
  uint64_t rows_ = 0;
  bool began_ = false;
  Status status_;
};

// A file cut at a record boundary still parses: ReadStat drops the partial
// last row. The rows end where the data began plus rows times the row
// length, and what follows may only be the blank padding of the last
// 80-byte record; anything else is the start of a row that was cut off.
// (A cut that falls on both a row and a record boundary cannot be seen:
// version 5 records no row count.)
Status CheckDataEnd(Env* env, const std::string& path, uint64_t rows, uint64_t row_length) {
  OpenOptions options;
  options.read_only = true;
  TC_ASSIGN_OR_RETURN_CTX(auto file, env->OpenFile(path, options), "reading " + path);
  TC_ASSIGN_OR_RETURN_CTX(uint64_t size, file->Size(), "reading " + path);
  // The data begins after the OBS header record (OBSV8 in version 8).
  char record[kRecordLength];
  uint64_t data_start = 0;
  for (uint64_t offset = 0; offset + kRecordLength <= size; offset += kRecordLength) {
    size_t got = 0;
    TC_RETURN_IF_ERROR_CTX(file->Read(offset, kRecordLength, record, &got), "reading " + path);
    std::string_view text(record, got);
    if (text.starts_with("HEADER RECORD*******OBS     HEADER RECORD!!!!!!!") ||
        text.starts_with("HEADER RECORD*******OBSV8   HEADER RECORD!!!!!!!")) {
      data_start = offset + kRecordLength;
      break;
    }
  }
  if (data_start == 0 || row_length == 0) return Status::Ok();
  const uint64_t end_of_rows = data_start + rows * row_length;
  if (end_of_rows > size) return Status::Ok();
  const uint64_t rest = size - end_of_rows;
  std::string tail(static_cast<size_t>(std::min<uint64_t>(rest, row_length + kRecordLength)), ' ');
  size_t got = 0;
  TC_RETURN_IF_ERROR_CTX(file->Read(end_of_rows, tail.size(), tail.data(), &got), "reading " + path);
  tail.resize(got);
  if (tail.find_first_not_of(' ') != std::string::npos) {
    return InvalidArgument(path + " is truncated: after row " + std::to_string(rows) + " come " + std::to_string(rest) +
                           " bytes of a row of " + std::to_string(row_length));
  }
  return Status::Ok();
}

struct ParserFree {
  void operator()(readstat_parser_t* parser) const { readstat_parser_free(parser); }
};

}  // namespace

Status ReadXpt(Env* env, const std::string& path, DatasetWriter* sink) {
  // ReadStat's own messages for a file that is not transport or is cut short
  // are terse ("Unable to read from file"); the header and the record
  // structure are checked here first to say which.
  {
    OpenOptions options;
    options.read_only = true;
    TC_ASSIGN_OR_RETURN_CTX(auto file, env->OpenFile(path, options), "reading SAS transport file");
    TC_ASSIGN_OR_RETURN_CTX(uint64_t size, file->Size(), "reading " + path);
    char head[kRecordLength];
    size_t got = 0;
    TC_RETURN_IF_ERROR_CTX(file->Read(0, sizeof(head), head, &got), "reading " + path);
    std::string_view header(head, got);
    if (!header.starts_with(kLibraryHeaderV5) && !header.starts_with(kLibraryHeaderV8)) {
      return InvalidArgument(path + " is not a SAS transport (XPT) file: it does not begin with the library header \"" +
                             std::string(kLibraryHeaderV5) + "\"");
    }
    if (size % kRecordLength != 0) {
      return InvalidArgument(path + " is truncated: " + std::to_string(size) +
                             " bytes is not a whole number of 80-byte transport records");
    }
  }

  std::unique_ptr<readstat_parser_t, ParserFree> parser(readstat_parser_init());
  EnvIo io;
  io.env = env;
  readstat_set_open_handler(parser.get(), &IoOpen);
  readstat_set_close_handler(parser.get(), &IoClose);
  readstat_set_seek_handler(parser.get(), &IoSeek);
  readstat_set_read_handler(parser.get(), &IoRead);
  readstat_set_update_handler(parser.get(), &IoUpdate);
  readstat_set_io_ctx(parser.get(), &io);

  XptParse parse(path, sink);
  readstat_set_metadata_handler(parser.get(), &XptParse::OnMetadata);
  readstat_set_variable_handler(parser.get(), &XptParse::OnVariable);
  readstat_set_value_handler(parser.get(), &XptParse::OnValue);
  readstat_set_error_handler(parser.get(), &XptParse::OnError);

  readstat_error_t error = readstat_parse_xport(parser.get(), path.c_str(), &parse);
  if (!parse.status().ok()) return parse.status();
  if (!io.status.ok()) return io.status.WithContext("reading " + path);
  if (error != READSTAT_OK) {
    std::string message = path + ": not a readable SAS transport file: " + readstat_error_message(error);
    if (!parse.readstat_messages().empty()) message += " (" + parse.readstat_messages() + ")";
    if (error == READSTAT_ERROR_READ || error == READSTAT_ERROR_SEEK) {
      message = path + " is truncated or damaged: " + readstat_error_message(error);
    }
    return InvalidArgument(message);
  }
  TC_RETURN_IF_ERROR(CheckDataEnd(env, path, parse.rows(), parse.row_length()));
  if (!parse.began() && !parse.BeginSink()) return parse.status();
  return sink->End();
}

}  // namespace trialcore::standards
