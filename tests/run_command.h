// Runs a command through the shell and captures what it printed, for tests
// that exercise the trialcore binary as a user would.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace trialcore::testing_util {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// An empty directory for the running test, under the test temp dir.
inline std::string FreshTestDir(const std::string& prefix) {
  namespace fs = std::filesystem;
  std::string dir =
      (fs::path(testing::TempDir()) / (prefix + ::testing::UnitTest::GetInstance()->current_test_info()->name()))
          .string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// cwd: directory to run in. The command line is passed to /bin/sh.
inline CommandResult RunCommand(const std::string& cwd, const std::string& command) {
  std::string out = cwd + "/.stdout", err = cwd + "/.stderr";
  std::string full = "cd '" + cwd + "' && " + command + " > '" + out + "' 2> '" + err + "' < /dev/null";
  int rc = std::system(full.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = Slurp(out);
  r.err = Slurp(err);
  return r;
}

}  // namespace trialcore::testing_util
