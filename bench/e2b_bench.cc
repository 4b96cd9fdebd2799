// E2B(R3) export at issue 16's target: N generated ICSRs (IND study reports
// from clinical-trial SAEs, 1-4 reactions, 1-4 drugs with dosage and
// causality, narratives of a few hundred to a few thousand characters), each
// exported as its own batch, validated against the ICH XML schema (parsed
// once) and checked against FDA's business rules, on one thread. Prints
// ICSRs/s (wall and this thread's CPU) beside the target (>= 1,000 schema-
// valid ICSRs/s per core, validation included) as a ratio, and the time of
// each stage. Any ICSR that fails the schema or a rejection rule is a bug in
// the generator or the exporter: the run stops.
//
// usage: e2b_bench [icsrs, default 20000] [schema dir, default ../shared/data/e2b/schemas]
#include <time.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "safety/e2b_export.h"
#include "safety/e2b_validate.h"
#include "safety/icsr.h"

using namespace trialcore;
using namespace trialcore::safety;

namespace {

using Clock = std::chrono::steady_clock;

using bench::LoadAverage;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const char* kTerms[][2] = {{"10035664", "pneumonia"},       {"10019211", "headache"},
                           {"10028813", "nausea"},          {"10037660", "pyrexia"},
                           {"10047700", "vomiting"},        {"10012735", "diarrhoea"},
                           {"10003239", "arthralgia"},      {"10016256", "fatigue"},
                           {"10040070", "septic shock"},    {"10002198", "anaphylactic reaction"},
                           {"10019663", "hepatic failure"}, {"10038435", "renal failure"}};

Icsr MakeIcsr(uint32_t n, std::mt19937& rng) {
  Icsr c;
  const std::string id = "US-TRIALCORE-" + std::to_string(100000 + n);
  c.Set("N.2.r.1", {}, id + "-v1");
  c.Set("N.2.r.2", {}, "TRIALCORE-SPONSOR");
  c.Set("N.2.r.3", {}, "CDER_IND");
  c.Set("N.2.r.4", {}, "20261201093000+0000");
  c.Set("C.1.1", {}, id);
  c.Set("C.1.2", {}, "20261201093000+0000");
  c.Set("C.1.3", {}, "2");
  c.Set("C.1.4", {}, "20261128");
  c.Set("C.1.5", {}, "20261130");
  c.Set("C.1.6.1", {}, "false");
  c.Set("C.1.7", {}, "true");
  c.Set("FDA.C.1.7.1", {}, "1");
  c.Set("FDA.C.1.12", {}, "false");
  c.Set("C.1.8.1", {}, id);
  c.Set("C.1.8.2", {}, "2");
  c.SetNull("C.1.9.1", {}, "NI");
  c.Set("C.2.r.1.2", {1}, "Ann");
  c.Set("C.2.r.1.4", {1}, "Investigator " + std::to_string(n % 300));
  c.Set("C.2.r.3", {1}, "US");
  c.Set("C.2.r.4", {1}, "1");
  c.Set("C.2.r.5", {1}, "1");
  c.Set("FDA.C.2.r.2.8", {1}, "site" + std::to_string(n % 300) + "@example.org");
  c.Set("C.3.1", {}, "1");
  c.Set("C.3.2", {}, "Trialcore Pharma");
  c.Set("C.3.3.1", {}, "Drug Safety");
  c.Set("C.3.3.2", {}, "Dr.");
  c.Set("C.3.3.3", {}, "Sam");
  c.Set("C.3.3.5", {}, "Safety");
  c.Set("C.3.4.1", {}, "1 Trial Way");
  c.Set("C.3.4.2", {}, "Boston");
  c.Set("C.3.4.3", {}, "MA");
  c.Set("C.3.4.4", {}, "02110");
  c.Set("C.3.4.5", {}, "US");
  c.Set("C.3.4.6", {}, "+16175550100");
  c.Set("C.3.4.7", {}, "+16175550101");
  c.Set("C.3.4.8", {}, "safety@trialcore.example");
  c.Set("C.5.2", {}, "TC-101 Phase II");
  c.Set("C.5.3", {}, "TC-101");
  c.Set("C.5.4", {}, "1");
  c.Set("FDA.C.5.5a", {}, "123456");
  c.SetNull("FDA.C.5.6.r", {1}, "NA");
  c.Set("D.1", {}, std::string(1, static_cast<char>('A' + n % 26)) + static_cast<char>('A' + (n / 26) % 26));
  c.Set("D.2.2a", {}, std::to_string(18 + n % 70));
  c.Set("D.2.2b", {}, "a");
  c.Set("D.5", {}, n % 2 ? "1" : "2");
  c.Set("FDA.D.11.r.1", {1}, "C41260");
  c.Set("FDA.D.12", {}, "C41222");
  c.Set("D.7.2", {}, "Asthma since childhood; hypertension treated since 2019.");
  const int reactions = 1 + static_cast<int>(rng() % 4), drugs = 1 + static_cast<int>(rng() % 4);
  for (uint16_t i = 1; i <= reactions; ++i) {
    const auto& term = kTerms[rng() % 12];
    c.Set("E.i.1.2", {i}, term[1]);
    c.Set("E.i.2.1a", {i}, "27.1");
    c.Set("E.i.2.1b", {i}, term[0]);
    const char* serious[] = {"E.i.3.2a", "E.i.3.2b", "E.i.3.2c", "E.i.3.2d", "E.i.3.2e", "E.i.3.2f", "FDA.E.i.3.2h"};
    const int which = static_cast<int>(rng() % 7);
    for (int s = 0; s < 7; ++s) {
      if (s == which) {
        c.Set(serious[s], {i}, "true");
      } else {
        c.SetNull(serious[s], {i}, "NI");
      }
    }
    if (which == 0) {
      c.Set("D.9.1", {}, "20261127");
      c.Set("D.9.3", {}, "false");
    }
    c.Set("E.i.4", {i}, "202611" + std::to_string(10 + i));
    c.Set("E.i.7", {i}, std::to_string(rng() % 6));
  }
  for (uint16_t k = 1; k <= drugs; ++k) {
    c.Set("G.k.1", {k}, k == 1 ? "1" : "2");
    c.Set("G.k.2.2", {k}, k == 1 ? "TC-101 (investigational)" : "Concomitant " + std::to_string(k));
    if (k == 1) {
      c.Set("G.k.3.1", {k}, "IND123456");
      c.Set("G.k.3.2", {k}, "US");
    }
    c.Set("G.k.4.r.1a", {k, 1}, std::to_string(5 * (1 + rng() % 40)));
    c.Set("G.k.4.r.1b", {k, 1}, "mg");
    c.Set("G.k.4.r.8", {k, 1}, "once daily by mouth");
    c.Set("G.k.7.r.1", {k, 1}, "Asthma");
    for (uint16_t i = 1; i <= reactions; ++i) {
      c.Set("G.k.9.i.2.r.1", {k, i, 1}, "Investigator");
      c.Set("G.k.9.i.2.r.2", {k, i, 1}, "Global Introspection");
      c.Set("G.k.9.i.2.r.3", {k, i, 1}, k == 1 ? "Suspected" : "Not Suspected");
    }
  }
  std::string narrative = "Subject " + id + " in study TC-101 ";
  const int sentences = 3 + static_cast<int>(rng() % 30);
  for (int s = 0; s < sentences; ++s) {
    narrative += "On day " + std::to_string(s + 1) + " the investigator noted the event & treated it (see labs). ";
  }
  c.Set("H.1", {}, narrative);
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  const uint32_t count = argc > 1 ? static_cast<uint32_t>(std::stoul(argv[1])) : 20000;
  const std::string data = std::string(TRIALCORE_SHARED_DATA) + "/e2b";
  const std::string schema_dir = argc > 2 ? argv[2] : data + "/schemas";

  auto t0 = Clock::now();
  auto schemas = E2bSchemas::Load(schema_dir);
  if (!schemas.ok()) {
    std::fprintf(stderr, "%s\n", schemas.status().ToString().c_str());
    return 1;
  }
  auto rules =
      E2bRules::Parse(Slurp(data + "/fda-icsr-data-elements.csv"), Slurp(data + "/fda-rejection-warning-rules.csv"));
  if (!rules.ok()) {
    std::fprintf(stderr, "%s\n", rules.status().ToString().c_str());
    return 1;
  }
  const double load_s = bench::Seconds(t0);

  std::mt19937 rng(16);
  std::vector<Icsr> icsrs;
  icsrs.reserve(count);
  for (uint32_t n = 0; n < count; ++n) icsrs.push_back(MakeIcsr(n, rng));
  const E2bBatchHeader header{"1", "TC-BATCH", "TRIALCORE-SPONSOR", "ZZFDA_PREMKT", "20261201093000+0000"};
  const int64_t now = 1796212800;  // 2026-12-02 12:00 UTC

  double export_s = 0, schema_s = 0, rules_s = 0;
  uint32_t reparsed = 0;
  size_t bytes = 0;
  auto start = Clock::now();
  const double cpu0 = bench::ThreadCpuSeconds();
  for (uint32_t n = 0; n < count; ++n) {
    auto t = Clock::now();
    // Export with the schema check on the built tree, as the workflow sends.
    auto xml = ExportE2bBatch(header, std::span<const Icsr>(&icsrs[n], 1), schemas->get());
    export_s += bench::Seconds(t);
    if (!xml.ok()) {
      std::fprintf(stderr, "ICSR %u: %s\n", n, xml.status().ToString().c_str());
      return 1;
    }
    bytes += xml->size();
    if (n % 100 == 0) {
      // A sample also re-read from text and validated, as import does.
      t = Clock::now();
      Status valid = (*schemas)->ValidateIcsrBatch(*xml, "icsr-" + std::to_string(n));
      schema_s += bench::Seconds(t);
      ++reparsed;
      if (!valid.ok()) {
        std::fprintf(stderr, "%s\n", valid.ToString().c_str());
        return 1;
      }
    }
    t = Clock::now();
    auto findings = rules->Check(header, icsrs[n], FdaRoute::kPremarket, now);
    rules_s += bench::Seconds(t);
    if (HasRejection(findings)) {
      for (const auto& f : findings)
        std::fprintf(stderr, "ICSR %u: %s %s %s\n", n, f.rule.c_str(), f.element.c_str(), f.message.c_str());
      return 1;
    }
  }
  const double wall = bench::Seconds(start), cpu = bench::ThreadCpuSeconds() - cpu0;
  // The same exports without the schema check, to show what validation costs.
  auto t_plain = Clock::now();
  for (uint32_t n = 0; n < count; n += 10) {
    auto xml = ExportE2bBatch(header, std::span<const Icsr>(&icsrs[n], 1));
    if (!xml.ok()) return 1;
  }
  const double plain_us = bench::Seconds(t_plain) / ((count + 9) / 10) * 1e6;
  const double per_s = count / wall, per_cpu_s = count / cpu;
  std::printf(
      "e2b_bench: %u ICSRs, mean %.1f KB of XML each; schemas and FDA lists loaded in %.2f s; load average %.2f on %u "
      "cores\n",
      count, bytes / 1024.0 / count, load_s, LoadAverage(), std::thread::hardware_concurrency());
  std::printf("  export + XSD validation + FDA rules, one thread: %.0f ICSRs/s wall, %.0f ICSRs/s CPU\n", per_s,
              per_cpu_s);
  std::printf("  target >= 1,000 schema-valid ICSRs/s per core: ratio %.2fx (wall), %.2fx (CPU)\n", per_s / 1000,
              per_cpu_s / 1000);
  std::printf(
      "  per ICSR: export with XSD validation of the built tree %.0f us (export alone %.0f us), FDA rules %.0f us\n",
      export_s / count * 1e6, plain_us, rules_s / count * 1e6);
  std::printf("  (not in the rate) validating the serialised text again, parse + XSD: %.0f us per ICSR (%u sampled)\n",
              reparsed ? schema_s / reparsed * 1e6 : 0.0, reparsed);
  return 0;
}
