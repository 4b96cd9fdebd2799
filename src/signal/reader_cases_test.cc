// Runs the reader cases in tests/data/signal: each file holds cases, each an
// input (a reports CSV in openEBGM's layout, or the files of one FAERS
// quarter, as a folder or packed in a zip) and the exact rows read, or the
// exact error. Paths in errors are given relative to the case's folder, which
// itself is QUARTER.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>
#include <zip.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "signal/faers.h"
#include "signal/reports.h"

namespace trialcore::signal {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Spit(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// The files packed into a zip without compression, so that a test can
// corrupt an entry's bytes where they lie.
void WriteZip(const std::string& path, const std::map<std::string, std::string>& files) {
  int error = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  ASSERT_NE(z, nullptr) << "zip_open " << error;
  for (const auto& [name, text] : files) {
    zip_source_t* source = zip_source_buffer(z, text.data(), text.size(), 0);
    zip_int64_t index = zip_file_add(z, name.c_str(), source, ZIP_FL_OVERWRITE);
    ASSERT_GE(index, 0) << zip_strerror(z);
    zip_set_file_compression(z, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
  }
  ASSERT_EQ(zip_close(z), 0);
}

// One row per line: "report | product | event", and "| stratum" (its values
// joined by '/') when the table is stratified.
std::vector<std::string> Rows(const ReportTable& t) {
  std::vector<std::string> out;
  for (const auto& r : t.rows) {
    std::string line = t.reports.Name(r.report) + " | " + t.products.Name(r.product) + " | " + t.events.Name(r.event);
    std::string stratum = t.strata.Name(r.stratum);
    if (!stratum.empty()) {
      stratum.pop_back();  // the last value's separator
      std::replace(stratum.begin(), stratum.end(), '\x1f', '/');
      line += " | " + stratum;
    }
    out.push_back(line);
  }
  return out;
}

std::vector<std::string> Strings(const YAML::Node& node) {
  std::vector<std::string> out;
  for (const auto& n : node) out.push_back(n.as<std::string>());
  return out;
}

void RunCase(const YAML::Node& c, const std::string& dir) {
  const std::string name = c["name"].as<std::string>();
  SCOPED_TRACE(name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  Result<ReportTable> table = InvalidArgument("no input in the case");
  FaersStats stats;
  if (c["csv"]) {
    Spit(dir + "/reports.csv", c["csv"].as<std::string>());
    table = LoadReportCsv(dir + "/reports.csv", c["stratify"] && c["stratify"].as<bool>());
  } else if (c["faers"]) {
    std::map<std::string, std::string> files;
    for (const auto& f : c["faers"]) files[f.first.as<std::string>()] = f.second.as<std::string>();
    FaersOptions options;
    if (c["zip"]) {
      const std::string zip = dir + "/" + c["zip"].as<std::string>();
      WriteZip(zip, files);
      if (c["corrupt"]) {
        // Flip a byte in the middle of the named entry's stored text.
        std::string bytes = Slurp(zip);
        const std::string& text = files.at(c["corrupt"].as<std::string>());
        size_t at = bytes.find(text);
        ASSERT_NE(at, std::string::npos);
        bytes[at + text.size() / 2] ^= 0x20;
        Spit(zip, bytes);
      }
      options.sources = {zip};
    } else {
      for (const auto& [file, text] : files) Spit(dir + "/" + file, text);
      options.sources = {dir};
    }
    options.primary_suspect_only = c["roles"] && c["roles"].as<std::string>() == "PS";
    if (c["strata"]) options.strata = Strings(c["strata"]);
    options.dedup_by_content = c["dedup"] && c["dedup"].as<bool>();
    table = LoadFaers(options, &stats);
  }
  if (c["error"]) {
    ASSERT_FALSE(table.ok()) << "expected the error: " << c["error"].as<std::string>();
    std::string message = table.status().message();
    for (size_t at; (at = message.find(dir + "/")) != std::string::npos;) message.erase(at, dir.size() + 1);
    for (size_t at; (at = message.find(dir)) != std::string::npos;) message.replace(at, dir.size(), "QUARTER");
    EXPECT_EQ(message, c["error"].as<std::string>());
    if (c["code"]) {
      EXPECT_EQ(StatusCodeName(table.status().code()), c["code"].as<std::string>());
    }
    return;
  }
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ(Rows(*table), Strings(c["rows"]));
  if (c["stats"]) {
    std::string got = std::to_string(stats.report_versions) + " versions, " + std::to_string(stats.reports_kept) +
                      " kept, " + std::to_string(stats.deleted) + " deleted, " +
                      std::to_string(stats.content_duplicates) + " content duplicates";
    EXPECT_EQ(got, c["stats"].as<std::string>());
  }
}

TEST(ReaderCases, EveryCaseReadsExactlyAsExpected) {
  size_t cases = 0;
  for (const auto& entry : fs::directory_iterator(SIGNAL_CASES_DIR)) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().filename().string());
    YAML::Node doc = YAML::LoadFile(entry.path().string());
    for (const auto& c : doc["cases"]) {
      const std::string dir = (fs::path(testing::TempDir()) / ("signal_case_" + std::to_string(cases))).string();
      RunCase(c, dir);
      fs::remove_all(dir);
      ++cases;
    }
  }
  EXPECT_GE(cases, 20u) << "the case files were not found in " << SIGNAL_CASES_DIR;
}

}  // namespace
}  // namespace trialcore::signal
