// `audit verify` and `db rebuild` on a large log, side by side in one run:
// - verify throughput against OpenSSL's SHA-256 (EVP, as `openssl speed -evp
//   sha256` measures it) at the mean event size, measured in the same run,
//   per core (target: verify's rate per core used at least 0.8 of OpenSSL's
//   on one core); in process, and as the whole `trialcore audit verify`;
// - db rebuild replay rate (target: at least 1 million events per second).
//
// Under load (other processes sharing the cores) wall-clock rates fall with
// the share of CPU each gets, so the ratios that matter are taken by CPU time:
// OpenSSL's MB per CPU-second of its thread against verify's MB per
// CPU-second of every thread it ran (that is, per core used).
//
// usage: audit_bench [events, default 1000000] [--reuse] [--verify-only]
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

double ThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

struct Rate {
  double wall = 0;  // MB/s
  double cpu = 0;   // MB per CPU-second
};

// Messages of `size` bytes hashed one by one with EVP_Digest on one thread for
// about `seconds`, as `openssl speed -evp sha256 -bytes size` does.
Rate OpenSslSha256(size_t size, double seconds) {
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::string msg(size, 'x');
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  uint64_t count = 0;
  double cpu0 = ThreadCpuSeconds();
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
  double cpu = ThreadCpuSeconds() - cpu0;
  EVP_MD_free(md);
  const double mb = static_cast<double>(count) * static_cast<double>(size) / 1e6;
  return {mb / elapsed, mb / cpu};
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  bool reuse = false;  // keep the database of an earlier run with as many events
  bool verify_only = false;
  for (int i = 2; i < argc; ++i) {
    reuse |= std::string(argv[i]) == "--reuse";
    verify_only |= std::string(argv[i]) == "--verify-only";
  }
  std::string dir =
      reuse ? std::string(std::getenv("TRIALCORE_BENCH_DIR") ? std::getenv("TRIALCORE_BENCH_DIR") : "/tmp") +
                  "/trialcore_bench_audit"
            : FreshDir("audit");
  std::filesystem::create_directories(dir);
  std::string db = dir + "/bench.db";
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  uint64_t bytes = 0;
  // Verify in process with 1 and 2 workers, best of three each (the first
  // run also warms the page cache), interleaved with OpenSSL's runs so that
  // both see the same load.
  const size_t kThreads[] = {1, 2};
  struct Run {
    double wall = 1e9, cpu = 1e9;
  } runs[2];
  Rate openssl;
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
    for (int i = 0; i < 3; ++i) {
      for (size_t t = 0; t < 2; ++t) {
        double cpu0 = CpuSeconds();
        auto start = std::chrono::steady_clock::now();
        auto v = VerifyStudy(*store, "BENCH", {}, std::nullopt, {}, VerifyOptions{kThreads[t]});
        double secs = Seconds(start);
        double cpu = CpuSeconds() - cpu0;
        if (!v.ok() || v->problem) {
          std::fprintf(stderr, "the benchmark log does not verify\n");
          return 1;
        }
        bytes = v->bytes;
        runs[t].wall = std::min(runs[t].wall, secs);
        runs[t].cpu = std::min(runs[t].cpu, cpu);
      }
      // The peer: OpenSSL on one core at the mean record size, in this run.
      Rate o = OpenSslSha256(static_cast<size_t>(bytes / std::max<uint64_t>(n, 1)), 0.5);
      openssl.wall = std::max(openssl.wall, o.wall);
      openssl.cpu = std::max(openssl.cpu, o.cpu);
    }
  }
  const size_t mean = static_cast<size_t>(bytes / std::max<uint64_t>(n, 1));
  double process = 1e9, process_cpu = 1e9, rebuild = 1e9;
  for (int i = 0; i < 3; ++i) {
    rusage before{}, after{};
    getrusage(RUSAGE_CHILDREN, &before);
    process = std::min(process, TimeCommand(std::string(TRIALCORE_BIN) + " audit verify --db " + db));
    getrusage(RUSAGE_CHILDREN, &after);
    auto secs = [](const rusage& u) {
      return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
             static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
    };
    process_cpu = std::min(process_cpu, secs(after) - secs(before));
  }
  for (int i = 0; i < (verify_only ? 0 : 3); ++i) {
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
  std::printf("\n%llu events, %.1f MB of canonical records, mean %zu bytes; %u cores\n",
              static_cast<unsigned long long>(n), mb, mean, cores);
  std::printf("  %-50s %8s %10s %9s %12s %s\n", "case", "MB/s", "events/s", "MB/s/core", "MB/CPU-s", "ratio per core");
  std::printf("  %-50s %8.0f %10.0f %9.0f %12.0f %s\n",
              ("OpenSSL EVP SHA-256, one thread, " + std::to_string(mean) + "-byte messages").c_str(), openssl.wall,
              openssl.wall * 1e6 / static_cast<double>(mean), openssl.wall, openssl.cpu, "1.00x");
  auto line = [&](const std::string& what, double wall, double cpu, double workers) {
    const double per_core_cpu = mb / cpu / openssl.cpu;
    std::printf(
        "  %-50s %8.0f %10.0f %9.0f %12.0f %.2fx by CPU time, %.2fx by wall time per worker (target >= 0.80) %s\n",
        what.c_str(), mb / wall, events / wall, mb / wall / workers, mb / cpu, per_core_cpu,
        mb / wall / workers / openssl.wall, per_core_cpu >= 0.8 ? "met" : "NOT met");
  };
  for (size_t t = 0; t < 2; ++t) {
    line("VerifyStudy in process, " + std::to_string(kThreads[t]) + " worker(s) (best of 3)", runs[t].wall, runs[t].cpu,
         static_cast<double>(kThreads[t]));
  }
  line("trialcore audit verify, whole process (best of 3)", process, process_cpu, cores);
  if (!verify_only) {
    Row("db rebuild replay (best of 3)", events / rebuild, "events/s", events / rebuild / 1e6,
        events / rebuild >= 1e6 ? "of 1M events/s (target >= 1.00) met" : "of 1M events/s (target >= 1.00) NOT met");
  }
  return 0;
}
