// The built web application's files (web/dist), served at "/" with the
// content types browsers need and cache headers for hashed assets.
#pragma once

#include <string>

#include "api/http_server.h"
#include "core/env.h"

namespace trialcore::api {

// Answers a GET or HEAD for a file under root (a path ending in "/" means
// its index.html); false when there is no such file, leaving res as it was.
// Paths with ".." segments, backslashes or NULs name no file.
bool ServeWebFile(Env* env, const std::string& root, const http::Request& req, http::Response& res);

}  // namespace trialcore::api
