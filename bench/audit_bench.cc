// `audit verify` and `db rebuild` on a large log, side by side in one run:
// - verify throughput against sha256sum over the same number of bytes
//   (target: at least 0.8 of it), both run as processes;
// - db rebuild replay rate (target: at least 1 million events per second).
//
// usage: audit_bench [events, default 1000000] [--reuse]
#include <sys/wait.h>

#include <fstream>

#include "bench_util.h"
#include "store/audit.h"
#include "store/sqlite/sqlite_event_store.h"

using namespace trialcore;
using namespace trialcore::bench;

namespace {

double TimeCommand(const std::string& cmd) {
  auto start = std::chrono::steady_clock::now();
  int rc = std::system((cmd + " > /dev/null").c_str());
  double secs = Seconds(start);
  if (rc != 0) {
    std::fprintf(stderr, "command failed (%d): %s\n", rc, cmd.c_str());
    std::exit(1);
  }
  return secs;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  // --reuse keeps the database of an earlier run with as many events.
  bool reuse = argc > 2 && std::string(argv[2]) == "--reuse";
  std::string dir =
      reuse ? std::string(std::getenv("TRIALCORE_BENCH_DIR") ? std::getenv("TRIALCORE_BENCH_DIR") : "/tmp") +
                  "/trialcore_bench_audit"
            : FreshDir("audit");
  std::string db = dir + "/bench.db";
  uint64_t bytes = 0;
  {
    auto store = std::move(OpenSqliteEventStore(db).value());
    if (*store->LastSeq() != n) {
      auto start = std::chrono::steady_clock::now();
      if (Status s = Fill(*store, "BENCH", n - *store->LastSeq(), 1000); !s.ok()) {
        std::fprintf(stderr, "%s\n", s.ToString().c_str());
        return 1;
      }
      double secs = Seconds(start);
      std::printf("filled %llu events in %.2f s (%.0f events/s, batches of 1000)\n", static_cast<unsigned long long>(n),
                  secs, static_cast<double>(n) / secs);
    }
    auto v = VerifyStudy(*store, "BENCH", {}, std::nullopt);
    if (!v.ok() || v->problem) {
      std::fprintf(stderr, "the benchmark log does not verify\n");
      return 1;
    }
    bytes = v->bytes;
  }
  // The peer hashes a file of exactly as many bytes as verify hashes.
  std::string blob = dir + "/same-bytes.bin";
  {
    std::ofstream out(blob, std::ios::binary);
    std::string chunk(1 << 20, 'x');
    for (uint64_t left = bytes; left > 0;) {
      uint64_t k = std::min<uint64_t>(left, chunk.size());
      out.write(chunk.data(), static_cast<std::streamsize>(k));
      left -= k;
    }
  }
  // Warm the page cache for both, then take the best of three runs each.
  TimeCommand("cat " + db + " " + blob);
  double verify = 1e9, sha = 1e9, rebuild = 1e9;
  for (int i = 0; i < 3; ++i) {
    verify = std::min(verify, TimeCommand(std::string(TRIALCORE_BIN) + " audit verify --db " + db));
    sha = std::min(sha, TimeCommand("sha256sum " + blob));
  }
  for (int i = 0; i < 3; ++i) {
    auto store = std::move(OpenSqliteEventStore(db).value());
    auto start = std::chrono::steady_clock::now();
    auto replayed = store->RebuildProjections();
    double secs = Seconds(start);
    if (!replayed.ok() || *replayed != n) {
      std::fprintf(stderr, "rebuild failed\n");
      return 1;
    }
    rebuild = std::min(rebuild, secs);
  }
  double mb = static_cast<double>(bytes) / 1e6;
  std::printf("\n%llu events, %.1f MB of canonical records\n", static_cast<unsigned long long>(n), mb);
  std::printf("  %-58s %12s %-9s %7s\n", "case", "rate", "", "ratio");
  Row("sha256sum over the same number of bytes", mb / sha, "MB/s", 1.0, "");
  Row("trialcore audit verify (whole process)", mb / verify, "MB/s", sha / verify, "of sha256sum (target >= 0.80)");
  Row("db rebuild replay", static_cast<double>(n) / rebuild, "events/s", static_cast<double>(n) / rebuild / 1e6,
      "of 1M events/s (target >= 1.00)");
  return 0;
}
