// Export of SDTM-like rows from SQLite to Dataset-JSON (NDJSON and JSON) and
// to SAS transport v5, against a raw scan of the same rows in the same run
// (issue 17: "10 million item values to Dataset-JSON NDJSON and to XPT:
// <= 3x the time of a raw SQLite scan of the same rows, peak memory
// <= 200 MB").
//
// An LB-like table of 12 variables is built in a temporary SQLite file
// (values / 12 rows). Each phase scans it with sqlite3_step reading every
// column; the export phases hand each row to a writer as it is read. Printed
// per phase: wall and CPU seconds, the ratio to the raw scan, the file size,
// and the process's peak RSS during the phase (VmHWM, reset before each phase
// through /proc/self/clear_refs).
//
// usage: dataset_export_bench [item values, default 10000000]
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.h"
#include "core/env.h"
#include "standards/dataset_json.h"
#include "standards/xpt_writer.h"

using trialcore::Env;
using trialcore::Status;
using namespace trialcore::standards;
namespace bench = trialcore::bench;

namespace {

constexpr int kColumns = 12;

long PeakRssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

void ResetPeakRss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
}

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

DatasetDescription LabDataset() {
  DatasetDescription d;
  d.name = "LB";
  d.label = "Laboratory Test Results";
  auto add = [&d](const char* name, const char* label, DataType type, int length) {
    Variable v;
    v.name = name;
    v.label = label;
    v.data_type = type;
    v.length = length;
    d.variables.push_back(v);
  };
  add("STUDYID", "Study Identifier", DataType::kString, 12);
  add("DOMAIN", "Domain Abbreviation", DataType::kString, 2);
  add("USUBJID", "Unique Subject Identifier", DataType::kString, 11);
  add("LBSEQ", "Sequence Number", DataType::kInteger, 0);
  add("LBTESTCD", "Lab Test or Examination Short Name", DataType::kString, 8);
  add("LBTEST", "Lab Test or Examination Name", DataType::kString, 40);
  add("LBORRES", "Result or Finding in Original Units", DataType::kString, 20);
  add("LBORRESU", "Original Units", DataType::kString, 10);
  add("LBSTRESN", "Numeric Result/Finding in Standard Units", DataType::kFloat, 0);
  add("LBSTNRLO", "Reference Range Lower Limit-Std Units", DataType::kFloat, 0);
  add("LBSTNRHI", "Reference Range Upper Limit-Std Units", DataType::kFloat, 0);
  add("LBDTC", "Date/Time of Specimen Collection", DataType::kDateTime, 19);
  return d;
}

void Build(sqlite3* db, uint64_t rows) {
  Check(sqlite3_exec(db,
                     "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                     "CREATE TABLE lb(studyid TEXT, domain TEXT, usubjid TEXT, lbseq INTEGER, lbtestcd TEXT,"
                     " lbtest TEXT, lborres TEXT, lborresu TEXT, lbstresn REAL, lbstnrlo REAL, lbstnrhi REAL,"
                     " lbdtc TEXT); BEGIN;",
                     nullptr, nullptr, nullptr),
        db, "create");
  sqlite3_stmt* insert = nullptr;
  Check(sqlite3_prepare_v2(db, "INSERT INTO lb VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", -1, &insert, nullptr), db, "prepare");
  static const char* kCodes[] = {"ALB", "ALP", "ALT", "AST", "BILI", "CREAT", "GLUC", "HGB", "K", "SODIUM"};
  static const char* kNames[] = {"Albumin",
                                 "Alkaline Phosphatase",
                                 "Alanine Aminotransferase",
                                 "Aspartate Aminotransferase",
                                 "Bilirubin",
                                 "Creatinine",
                                 "Glucose",
                                 "Hemoglobin",
                                 "Potassium",
                                 "Sodium"};
  static const char* kUnits[] = {"g/L",    "U/L",    "U/L",    "U/L",    "umol/L",
                                 "umol/L", "mmol/L", "mmol/L", "mmol/L", "mmol/L"};
  char subject[16], result[16], date[24];
  for (uint64_t i = 0; i < rows; ++i) {
    const uint64_t s = i / 280;  // 280 results per subject: 3,000 subjects at 850,000 rows
    std::snprintf(subject, sizeof(subject), "01-%03u-%04u", static_cast<unsigned>(s % 300),
                  static_cast<unsigned>(1000 + s));
    const double value = 3.5 + static_cast<double>(i % 977) / 10;
    std::snprintf(result, sizeof(result), "%.1f", value);
    std::snprintf(date, sizeof(date), "2014-%02u-%02uT08:%02u:00", static_cast<unsigned>(1 + i % 12),
                  static_cast<unsigned>(1 + i % 28), static_cast<unsigned>(i % 60));
    const size_t t = i % 10;
    sqlite3_bind_text(insert, 1, "CDISCPILOT01", -1, SQLITE_STATIC);
    sqlite3_bind_text(insert, 2, "LB", -1, SQLITE_STATIC);
    sqlite3_bind_text(insert, 3, subject, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert, 4, static_cast<sqlite3_int64>(i % 280 + 1));
    sqlite3_bind_text(insert, 5, kCodes[t], -1, SQLITE_STATIC);
    sqlite3_bind_text(insert, 6, kNames[t], -1, SQLITE_STATIC);
    sqlite3_bind_text(insert, 7, result, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 8, kUnits[t], -1, SQLITE_STATIC);
    sqlite3_bind_double(insert, 9, value);
    if (i % 7 == 0) {
      sqlite3_bind_null(insert, 10);  // a missing lower limit now and then
    } else {
      sqlite3_bind_double(insert, 10, 3.5);
    }
    sqlite3_bind_double(insert, 11, 50.25);
    sqlite3_bind_text(insert, 12, date, -1, SQLITE_TRANSIENT);
    Check(sqlite3_step(insert), db, "insert");
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  Check(sqlite3_exec(db, "COMMIT;", nullptr, nullptr, nullptr), db, "commit");
}

// Steps over every row reading every column; each row goes to `row` (or
// nowhere for the raw scan). Returns the rows scanned.
uint64_t Scan(sqlite3* db, const std::function<void(const std::vector<Cell>&)>& row, uint64_t* checksum) {
  sqlite3_stmt* select = nullptr;
  Check(sqlite3_prepare_v2(db, "SELECT * FROM lb", -1, &select, nullptr), db, "prepare scan");
  std::vector<Cell> values(kColumns);
  uint64_t rows = 0;
  while (sqlite3_step(select) == SQLITE_ROW) {
    for (int c = 0; c < kColumns; ++c) {
      switch (sqlite3_column_type(select, c)) {
        case SQLITE_NULL:
          values[c] = Cell::Missing();
          break;
        case SQLITE_INTEGER:
        case SQLITE_FLOAT:
          values[c] = Cell::Number(sqlite3_column_double(select, c));
          break;
        default: {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(select, c));
          values[c] = Cell::Text(std::string_view(text, static_cast<size_t>(sqlite3_column_bytes(select, c))));
        }
      }
    }
    *checksum += values[2].text().size() + static_cast<uint64_t>(values[3].number());
    if (row) row(values);
    ++rows;
  }
  sqlite3_finalize(select);
  return rows;
}

struct Phase {
  std::string name;
  double wall = 0;
  double cpu = 0;
  long peak_kb = 0;
  uint64_t bytes = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const uint64_t values = argc > 1 ? std::stoull(argv[1]) : 10'000'000;
  const uint64_t rows = values / kColumns;
  const std::string dir = bench::FreshDir("dataset_export");
  const std::string db_path = dir + "/lb.db";
  sqlite3* db = nullptr;
  Check(sqlite3_open(db_path.c_str(), &db), db, "open");
  auto t0 = std::chrono::steady_clock::now();
  Build(db, rows);
  std::printf("built %s: %llu rows x %d variables = %llu item values in %.1f s (%llu MB)\n", db_path.c_str(),
              static_cast<unsigned long long>(rows), kColumns, static_cast<unsigned long long>(rows * kColumns),
              bench::Seconds(t0), static_cast<unsigned long long>(std::filesystem::file_size(db_path) >> 20));
  std::printf("load average %.2f (figures are only comparable on an idle machine)\n", bench::LoadAverage());

  const DatasetDescription lb = LabDataset();
  uint64_t checksum = 0;
  std::vector<Phase> phases;
  auto run = [&](const std::string& name, const std::string& file,
                 const std::function<std::unique_ptr<DatasetWriter>(const std::string&)>& make) {
    Phase p;
    p.name = name;
    ResetPeakRss();
    auto start = std::chrono::steady_clock::now();
    const double cpu0 = bench::ThreadCpuSeconds();
    uint64_t scanned = 0;
    if (make) {
      auto writer = make(dir + "/" + file);
      Status status = writer->Begin(lb);
      scanned = Scan(
          db,
          [&](const std::vector<Cell>& row) {
            if (status.ok()) status = writer->Row(row);
          },
          &checksum);
      if (status.ok()) status = writer->End();
      if (!status.ok()) {
        std::fprintf(stderr, "%s: %s\n", name.c_str(), status.ToString().c_str());
        std::exit(1);
      }
      p.bytes = std::filesystem::file_size(dir + "/" + file);
    } else {
      scanned = Scan(db, nullptr, &checksum);
    }
    p.wall = bench::Seconds(start);
    p.cpu = bench::ThreadCpuSeconds() - cpu0;
    p.peak_kb = PeakRssKb();
    if (scanned != rows) {
      std::fprintf(stderr, "%s scanned %llu rows of %llu\n", name.c_str(), static_cast<unsigned long long>(scanned),
                   static_cast<unsigned long long>(rows));
      std::exit(1);
    }
    if (!file.empty()) std::filesystem::remove(dir + "/" + file);
    phases.push_back(p);
  };

  run("raw SQLite scan", "", nullptr);
  run("scan -> Dataset-JSON NDJSON", "lb.ndjson",
      [](const std::string& p) { return NewDatasetJsonWriter(Env::Default(), p, DatasetJsonFormat::kNdjson); });
  run("scan -> SAS XPT v5 (ReadStat)", "lb.xpt", [](const std::string& p) { return NewXptWriter(Env::Default(), p); });
  run("scan -> Dataset-JSON (one document)", "lb.json",
      [](const std::string& p) { return NewDatasetJsonWriter(Env::Default(), p, DatasetJsonFormat::kJson); });
  run("raw SQLite scan (again)", "", nullptr);

  const double raw_wall = std::min(phases.front().wall, phases.back().wall);
  const double raw_cpu = std::min(phases.front().cpu, phases.back().cpu);
  std::printf("\n%-38s %8s %8s %9s %9s %9s %12s\n", "phase", "wall s", "CPU s", "x raw", "x raw CPU", "file MB",
              "peak RSS MB");
  for (const Phase& p : phases) {
    std::printf("%-38s %8.2f %8.2f %9.2f %9.2f %9.0f %12.1f\n", p.name.c_str(), p.wall, p.cpu, p.wall / raw_wall,
                p.cpu / raw_cpu, static_cast<double>(p.bytes) / (1 << 20), static_cast<double>(p.peak_kb) / 1024);
  }
  std::printf("\ntarget (issue 17): NDJSON and XPT <= 3.00x the raw scan, peak RSS <= 200 MB\n");
  for (size_t i = 1; i <= 2; ++i) {
    const Phase& p = phases[i];
    std::printf("  %-36s %.2fx (%s), peak %.1f MB (%s)\n", p.name.c_str(), p.wall / raw_wall,
                p.wall / raw_wall <= 3.0 ? "met" : "NOT met", static_cast<double>(p.peak_kb) / 1024,
                p.peak_kb <= 200 * 1024 ? "met" : "NOT met");
  }
  std::printf("(checksum %llu)\n", static_cast<unsigned long long>(checksum));
  sqlite3_close(db);
  std::filesystem::remove_all(dir);
  return 0;
}
