// The HTTP API under load, measured with wrk over loopback against a real
// `trialcore serve` on simulated demo data: GET of a form, and PATCH of an
// item (durable: each changes a value, so each is an fsynced event). Beside
// them, the same item saves run in process through capture, so the cost of
// HTTP shows as a ratio. Targets: >= 20,000 GET/s, >= 5,000 PATCH/s, p99 <
// 50 ms.
//
//   ./build/bench/api_bench [seconds per run, default 10] [connections, default 16]
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "bench_util.h"
#include "capture/capture.h"
#include "core/json.h"
#include "store/sqlite/sqlite_event_store.h"

using namespace trialcore;

namespace {

const std::string kBin = TRIALCORE_BIN;

std::string Run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  pclose(p);
  return out;
}

struct WrkResult {
  double rps = 0;
  double p99_ms = 0;
  std::string raw;
};

double ToMs(const std::string& value, const std::string& unit) {
  double v = std::stod(value);
  if (unit == "us") return v / 1000;
  if (unit == "s") return v * 1000;
  return v;
}

WrkResult Wrk(const std::string& args) {
  WrkResult r;
  r.raw = Run("wrk --latency " + args + " 2>&1");
  std::smatch m;
  if (std::regex_search(r.raw, m, std::regex(R"(Requests/sec:\s+([0-9.]+))"))) r.rps = std::stod(m[1]);
  if (std::regex_search(r.raw, m, std::regex(R"(99%\s+([0-9.]+)(us|ms|s))"))) r.p99_ms = ToMs(m[1], m[2]);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = argc > 1 ? std::stoi(argv[1]) : 10;
  int connections = argc > 2 ? std::stoi(argv[2]) : 16;
  std::string dir = bench::FreshDir("api");
  std::printf("HTTP API with wrk (2 threads, %d connections, %d s per run) over loopback; %s\n", connections, seconds,
              dir.c_str());
  // Data: the demo study, 60 simulated subjects, and a coordinator at every site.
  std::string setup = "cd " + dir + " && " + kBin + " demo --db b.db --key k.pem --no-serve > /dev/null && " + kBin +
                      " sim --db b.db --subjects 60 --seed 5 > /dev/null && TRIALCORE_PASSWORD=bench-password-2026 " +
                      kBin + " user add bench --name 'Bench Coordinator' --db b.db > /dev/null && " + kBin +
                      " user grant bench --study CDISCPILOT01 --role coordinator --site '*' --db b.db > /dev/null";
  if (std::system(setup.c_str()) != 0) {
    std::fprintf(stderr, "setup failed: %s\n", setup.c_str());
    return 70;
  }
  int port = 18000 + static_cast<int>(getpid() % 1000);
  pid_t server = fork();
  if (server == 0) {
    std::string cmd = "cd " + dir + " && exec " + kBin + " serve --db b.db --port " + std::to_string(port) +
                      " --login-rate 100000 > serve.out 2> serve.log";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), nullptr);
    _exit(127);
  }
  httplib::Client client("127.0.0.1", port);
  httplib::Result login = client.Get("/api/openapi.json");
  for (int i = 0; i < 100 && !login; ++i) {
    usleep(50'000);
    login = client.Get("/api/openapi.json");  // until the server listens
  }
  login = client.Post("/api/v1/session", R"({"user":"bench","password":"bench-password-2026"})", "application/json");
  if (!login || login->status != 200) {
    std::fprintf(stderr, "login failed\n");
    kill(server, SIGTERM);
    return 70;
  }
  std::string cookie = login->get_header_value("Set-Cookie");
  cookie = cookie.substr(0, cookie.find(';'));
  std::string csrf = ParseJson(login->body)->Find("csrf_token")->as_string();
  auto list = ParseJson(
      client.Get("/api/v1/studies/CDISCPILOT01/subjects?limit=1000", httplib::Headers{{"Cookie", cookie}})->body);
  std::vector<std::string> subjects;
  for (const auto& s : list->Find("subjects")->as_array()) subjects.push_back(s.Find("id")->as_string());
  std::string lua_subjects;
  for (const auto& s : subjects) lua_subjects += (lua_subjects.empty() ? "\"" : ", \"") + s + "\"";

  {
    std::ofstream get(dir + "/get.lua");
    get << "wrk.headers[\"Cookie\"] = \"" << cookie << "\"\n"
        << "subjects = {" << lua_subjects << "}\ncounter = 0\n"
        << "request = function()\n  counter = counter + 1\n"
        << "  local s = subjects[(counter % #subjects) + 1]\n"
        << "  return wrk.format(\"GET\", \"/api/v1/studies/CDISCPILOT01/subjects/\" .. s .. "
           "\"/visits/SCREENING1/forms/VS\")\nend\n";
    std::ofstream patch(dir + "/patch.lua");
    // Each wrk thread starts at its own place in the subject list, as users
    // at different sites edit different subjects.
    patch << "local threads = 0\nfunction setup(thread) thread:set(\"id\", threads); threads = threads + 1 end\n"
          << "function init(args) counter = (id or 0) * 7 end\n"
          << "wrk.headers[\"Cookie\"] = \"" << cookie << "\"\n"
          << "wrk.headers[\"X-CSRF-Token\"] = \"" << csrf << "\"\n"
          << "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
          << "subjects = {" << lua_subjects << "}\ncounter = 0\n"
          << "request = function()\n  counter = counter + 1\n"
          << "  local s = subjects[(counter % #subjects) + 1]\n"
          << "  local body = '{\"value\":' .. (60 + math.floor(counter / #subjects) % 40) .. ',\"reason\":\"bench\"}'\n"
          << "  return wrk.format(\"PATCH\", \"/api/v1/studies/CDISCPILOT01/subjects/\" .. s .. "
             "\"/visits/AEFU/forms/VS/items/PULSE\", nil, body)\nend\n";
  }
  std::string target = " http://127.0.0.1:" + std::to_string(port);
  WrkResult get = Wrk("-t2 -c" + std::to_string(connections) + " -d" + std::to_string(seconds) + "s -s " + dir +
                      "/get.lua" + target);
  WrkResult patch = Wrk("-t2 -c" + std::to_string(connections) + " -d" + std::to_string(seconds) + "s -s " + dir +
                        "/patch.lua" + target);
  kill(server, SIGTERM);
  waitpid(server, nullptr, 0);
  int errors_get = std::regex_search(get.raw, std::regex("Non-2xx")) ? 1 : 0;
  int errors_patch = std::regex_search(patch.raw, std::regex("Non-2xx")) ? 1 : 0;

  // In process: the same item saves straight through capture, one at a time.
  double in_process = 0;
  {
    auto store = OpenSqliteEventStore(dir + "/b.db");
    auto capture = capture::Capture::Open(store->get(), Env::Default(), "CDISCPILOT01");
    if (!store.ok() || !capture.ok()) return 70;
    const int n = 2000;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      const std::string& s = subjects[static_cast<size_t>(i) % subjects.size()];
      int value = 60 + (i / static_cast<int>(subjects.size()) + 20) % 40;
      auto cmd =
          ParseJson(R"({"op":"form.save","subject":")" + s + R"(","visit":"AEFU","form":"VS","items":{"PULSE":)" +
                    std::to_string(value) + R"(},"reason":"bench"})");
      auto r = (*capture)->Execute(*cmd, Actor{"bench", "coordinator"});
      if (!r.ok()) {
        std::fprintf(stderr, "in-process save failed: %s\n", r.status().ToString().c_str());
        return 70;
      }
    }
    in_process = n / bench::Seconds(t0);
  }
  std::printf("  %-46s %10s %10s %12s\n", "", "req/s", "p99 ms", "vs target");
  std::printf("  %-46s %10.0f %10.2f %11.2fx%s\n", "GET a form (SCREENING1/VS)", get.rps, get.p99_ms, get.rps / 20000,
              errors_get ? "  (non-2xx responses!)" : "");
  std::printf("  %-46s %10.0f %10.2f %11.2fx%s\n", "PATCH an item, durable (AEFU/VS/PULSE)", patch.rps, patch.p99_ms,
              patch.rps / 5000, errors_patch ? "  (non-2xx responses!)" : "");
  std::printf("  %-46s %10.0f %10s %11.2fx of in-process\n", "same saves in process through capture", in_process, "",
              patch.rps / in_process);
  std::printf("targets: GET >= 20000/s (%s), PATCH >= 5000/s (%s), p99 < 50 ms (%s)\n",
              get.rps >= 20000 ? "met" : "NOT met", patch.rps >= 5000 ? "met" : "NOT met",
              get.p99_ms < 50 && patch.p99_ms < 50 ? "met" : "NOT met");
  if (errors_get || errors_patch) std::printf("%s\n%s\n", get.raw.c_str(), patch.raw.c_str());
  return 0;
}
