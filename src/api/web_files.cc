#include "api/web_files.h"

#include <map>
#include <string_view>

namespace trialcore::api {

namespace {

std::string_view ContentType(std::string_view path) {
  static const std::map<std::string_view, std::string_view> kTypes = {
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"ico", "image/x-icon"},
      {"woff", "font/woff"},
      {"woff2", "font/woff2"},
      {"txt", "text/plain; charset=utf-8"},
      {"webmanifest", "application/manifest+json"},
  };
  size_t dot = path.rfind('.');
  size_t slash = path.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return "application/octet-stream";
  }
  auto it = kTypes.find(path.substr(dot + 1));
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

// Whether a request path can name a file under the root.
bool SafePath(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  if (path.find('\\') != std::string_view::npos || path.find('\0') != std::string_view::npos) return false;
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

bool ServeWebFile(Env* env, const std::string& root, const http::Request& req, http::Response& res) {
  if (!SafePath(req.path)) return false;
  std::string relative = req.path;
  if (relative.back() == '/') relative += "index.html";
  const std::string file = root + relative;
  if (!env->FileExists(file)) return false;
  auto content = env->ReadFileToString(file);
  if (!content.ok()) return false;  // a directory, or unreadable: not a file to serve
  res.set_content(std::move(*content), ContentType(relative));
  // Built assets carry their content hash in their names.
  res.set_header("Cache-Control",
                 req.path.starts_with("/assets/") ? "public, max-age=31536000, immutable" : "no-cache");
  return true;
}

}  // namespace trialcore::api
