#include "standards/dataset_file.h"

#include <algorithm>
#include <cstring>

namespace trialcore::standards {

StagedOutput::~StagedOutput() { Abandon(); }

Status StagedOutput::Open(Env* env, const std::string& path) {
  Abandon();
  env_ = env;
  path_ = path;
  tmp_path_ = path + ".tmp";
  OpenOptions options;
  options.create = true;
  TC_ASSIGN_OR_RETURN(file_, env->OpenFile(tmp_path_, options));
  TC_RETURN_IF_ERROR(file_->Truncate(0));
  buffer_.clear();
  buffer_.reserve(kBufferSize + (64 << 10));
  written_ = 0;
  return Status::Ok();
}

Status StagedOutput::Append(std::string_view data) {
  buffer_.append(data);
  return MaybeFlush();
}

Status StagedOutput::Flush() {
  if (buffer_.empty()) return Status::Ok();
  TC_RETURN_IF_ERROR(file_->Write(written_, buffer_));
  written_ += buffer_.size();
  buffer_.clear();
  return Status::Ok();
}

Status StagedOutput::Overwrite(uint64_t offset, std::string_view data) {
  // The part already in the file, then the part still buffered.
  size_t in_file = offset < written_ ? static_cast<size_t>(std::min<uint64_t>(written_ - offset, data.size())) : 0;
  if (in_file > 0) TC_RETURN_IF_ERROR(file_->Write(offset, data.substr(0, in_file)));
  if (in_file < data.size()) {
    uint64_t at = offset + in_file - written_;
    if (at + (data.size() - in_file) > buffer_.size()) return Internal("overwrite past the end of " + tmp_path_);
    std::memcpy(buffer_.data() + at, data.data() + in_file, data.size() - in_file);
  }
  return Status::Ok();
}

Status StagedOutput::Commit() {
  if (!file_) return Internal("commit of an output that is not open");
  TC_RETURN_IF_ERROR(Flush());
  TC_RETURN_IF_ERROR(file_->Sync());
  file_.reset();
  TC_RETURN_IF_ERROR(env_->RenameFile(tmp_path_, path_));
  env_ = nullptr;
  return Status::Ok();
}

void StagedOutput::Abandon() {
  if (env_ == nullptr) return;
  file_.reset();
  if (env_->FileExists(tmp_path_)) (void)env_->DeleteFile(tmp_path_);
  env_ = nullptr;
  buffer_.clear();
  buffer_.shrink_to_fit();
}

Status BufferedInput::Open(Env* env, const std::string& path) {
  path_ = path;
  OpenOptions options;
  options.read_only = true;
  TC_ASSIGN_OR_RETURN(file_, env->OpenFile(path, options));
  TC_ASSIGN_OR_RETURN(size_, file_->Size());
  offset_ = 0;
  pos_ = end_ = 0;
  status_ = Status::Ok();
  return Status::Ok();
}

int BufferedInput::Refill() {
  if (!status_.ok()) return -1;
  block_.resize(kBlockSize);
  size_t got = 0;
  status_ = file_->Read(offset_, kBlockSize, block_.data(), &got);
  if (!status_.ok() || got == 0) {
    pos_ = end_ = 0;
    return -1;
  }
  offset_ += got;
  pos_ = 0;
  end_ = got;
  return static_cast<unsigned char>(block_[pos_++]);
}

Result<size_t> BufferedInput::Read(char* dst, size_t n) {
  size_t done = 0;
  while (done < n) {
    if (pos_ == end_) {
      int c = Refill();
      if (c < 0) break;
      --pos_;  // Refill consumed one byte for Next(); give it back
    }
    size_t take = std::min(n - done, end_ - pos_);
    std::memcpy(dst + done, block_.data() + pos_, take);
    pos_ += take;
    done += take;
  }
  if (!status_.ok()) return status_;
  return done;
}

Result<bool> BufferedInput::ReadLine(std::string* line) {
  line->clear();
  bool any = false;
  while (true) {
    if (pos_ == end_) {
      int c = Refill();
      if (c < 0) break;
      --pos_;
    }
    any = true;
    const char* start = block_.data() + pos_;
    const void* nl = std::memchr(start, '\n', end_ - pos_);
    if (nl != nullptr) {
      size_t len = static_cast<const char*>(nl) - start;
      line->append(start, len);
      pos_ += len + 1;
      if (!line->empty() && line->back() == '\r') line->pop_back();
      return true;
    }
    line->append(start, end_ - pos_);
    pos_ = end_;
  }
  if (!status_.ok()) return status_;
  if (!line->empty() && line->back() == '\r') line->pop_back();
  return any;
}

}  // namespace trialcore::standards
