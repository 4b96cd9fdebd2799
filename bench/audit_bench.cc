// `audit verify` and `db rebuild` on a large log, side by side in one run:
// - verify throughput against OpenSSL's SHA-256 (EVP, as `openssl speed -evp
//   sha256` measures it) at the mean event size, measured in the same run,
//   per core (target: verify's rate per core used at least 0.8 of OpenSSL's
//   on one core); in process, and as the whole `trialcore audit verify`;
// - db rebuild replay rate (target: at least 1 million events per second).
//
// usage: audit_bench [events, default 1000000] [--reuse]
#include <openssl/evp.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <thread>

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

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Messages of `size` bytes hashed one by one with EVP_Digest on one thread for
// about `seconds`, as `openssl speed -evp sha256 -bytes size` does: MB/s.
double OpenSslSha256(size_t size, double seconds) {
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::string msg(size, 'x');
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  uint64_t count = 0;
  auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (int i = 0; i < 4096; ++i) {
      msg[0] = static_cast<char>(count + static_cast<uint64_t>(i));
      EVP_Digest(msg.data(), msg.size(), out, &len, md, nullptr);
    }
    count += 4096;
    elapsed = Seconds(start);
  }
  EVP_MD_free(md);
  return static_cast<double>(count) * static_cast<double>(size) / elapsed / 1e6;
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
  std::filesystem::create_directories(dir);
  std::string db = dir + "/bench.db";
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  uint64_t bytes = 0;
  double verify = 1e9, verify_cpu = 0;
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
    // In process, best of three (the first also warms the page cache).
    for (int i = 0; i < 3; ++i) {
      double cpu0 = CpuSeconds();
      auto start = std::chrono::steady_clock::now();
      auto v = VerifyStudy(*store, "BENCH", {}, std::nullopt);
      double secs = Seconds(start);
      if (!v.ok() || v->problem) {
        std::fprintf(stderr, "the benchmark log does not verify\n");
        return 1;
      }
      bytes = v->bytes;
      if (secs < verify) verify = secs, verify_cpu = CpuSeconds() - cpu0;
    }
  }
  const size_t mean = static_cast<size_t>(bytes / std::max<uint64_t>(n, 1));
  // The peer: OpenSSL on one core at the mean event size, in this run.
  double openssl = 0;
  for (int i = 0; i < 3; ++i) openssl = std::max(openssl, OpenSslSha256(mean, 0.5));
  double process = 1e9, rebuild = 1e9;
  for (int i = 0; i < 3; ++i) {
    process = std::min(process, TimeCommand(std::string(TRIALCORE_BIN) + " audit verify --db " + db));
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
  const double mb = static_cast<double>(bytes) / 1e6, events = static_cast<double>(n);
  const double per_core_in = mb / verify / cores, per_core_process = mb / process / cores;
  std::printf("\n%llu events, %.1f MB of canonical records, mean %zu bytes; %u cores (verify uses one worker each)\n",
              static_cast<unsigned long long>(n), mb, mean, cores);
  std::printf("  %-52s %10s %12s %10s %s\n", "case", "MB/s", "events/s", "MB/s/core", "ratio per core");
  std::printf("  %-52s %10.0f %12.0f %10.0f %s\n",
              ("OpenSSL EVP SHA-256, one core, " + std::to_string(mean) + "-byte messages").c_str(), openssl,
              openssl * 1e6 / static_cast<double>(mean), openssl, "1.00x");
  std::printf("  %-52s %10.0f %12.0f %10.0f %.2fx of OpenSSL (target >= 0.80) %s\n",
              "VerifyStudy in process (best of 3)", mb / verify, events / verify, per_core_in, per_core_in / openssl,
              per_core_in / openssl >= 0.8 ? "met" : "NOT met");
  std::printf("  %-52s %10s %12s %10.0f %.2fx of OpenSSL, by CPU time used (%.2f cores busy)\n",
              "  the same, per CPU second", "", "", mb / verify_cpu, mb / verify_cpu / openssl, verify_cpu / verify);
  std::printf("  %-52s %10.0f %12.0f %10.0f %.2fx of OpenSSL (target >= 0.80) %s\n",
              "trialcore audit verify, whole process (best of 3)", mb / process, events / process, per_core_process,
              per_core_process / openssl, per_core_process / openssl >= 0.8 ? "met" : "NOT met");
  Row("db rebuild replay (best of 3)", events / rebuild, "events/s", events / rebuild / 1e6,
      events / rebuild >= 1e6 ? "of 1M events/s (target >= 1.00) met" : "of 1M events/s (target >= 1.00) NOT met");
  return 0;
}
