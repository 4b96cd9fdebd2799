#include "core/env.h"

namespace trialcore {

Result<std::string> Env::ReadFileToString(const std::string& path) {
  OpenOptions opts;
  opts.read_only = true;
  TC_ASSIGN_OR_RETURN(auto file, OpenFile(path, opts));
  TC_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  std::string data(size, '\0');
  size_t got = 0;
  TC_RETURN_IF_ERROR(file->Read(0, size, data.data(), &got));
  data.resize(got);
  return data;
}

Status Env::WriteFileAtomically(const std::string& path, std::string_view data, unsigned mode) {
  const std::string tmp = path + ".tmp";
  {
    OpenOptions opts;
    opts.create = true;
    opts.mode = mode;
    TC_ASSIGN_OR_RETURN(auto file, OpenFile(tmp, opts));
    TC_RETURN_IF_ERROR_CTX(file->Truncate(0), "writing " + tmp);
    TC_RETURN_IF_ERROR_CTX(file->Write(0, data), "writing " + tmp);
    TC_RETURN_IF_ERROR_CTX(file->Sync(), "syncing " + tmp);
  }
  return RenameFile(tmp, path);
}

}  // namespace trialcore
