// E2B(R3) export at issue 16's target: N generated ICSRs (IND study reports
// from clinical-trial SAEs, built by IcsrFromCase from a CaseReport, with 1-4
// reactions, 1-4 drugs with dosage and causality, narratives of a few hundred
// to a few thousand characters), each
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
#include "safety/case_report.h"
#include "safety/case_report_sample.h"
#include "safety/e2b_export.h"
#include "safety/e2b_validate.h"
#include "safety/icsr.h"

using namespace trialcore;
using namespace trialcore::safety;

namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kNow = 1796212800;  // 2026-12-02 12:00 UTC, the clock of the rule checks
constexpr int64_t kUs = 1000000;
constexpr int64_t kHourUs = 3600 * kUs;

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

const char* const kSerious[] = {"E.i.3.2a", "E.i.3.2b", "E.i.3.2c", "E.i.3.2d", "E.i.3.2e", "E.i.3.2f", "FDA.E.i.3.2h"};

// Case n as the case workflow fills it (case_report.h): one reaction, the
// suspect product, both causality assessments, a narrative of 3-32 sentences.
CaseReport MakeCase(uint32_t n, std::mt19937& rng) {
  CaseReport c;
  SetSampleSender(&c, "TRIALCORE-SPONSOR");
  c.case_id = std::to_string(100000 + n);
  c.first_received_us = kNow * kUs - 98 * kHourUs;    // 2026-11-28 10:00 UTC
  c.latest_received_us = kNow * kUs - 45 * kHourUs;   // 2026-11-30 15:00
  c.transmission_us = kNow * kUs - 53 * kHourUs / 2;  // 2026-12-01 09:30
  c.study_id = "TC-101";
  c.study_title = "TC-101 Phase II";
  c.ind_number = "123456";
  c.subject_id = std::to_string(700 + n % 300) + "-" + std::to_string(1000 + n);
  c.sex = n % 2 ? "M" : "F";
  c.age_years = std::to_string(18 + n % 70);
  c.race = "C41260";
  c.ethnicity = "C41222";
  c.medical_history = "Asthma since childhood; hypertension treated since 2019.";
  c.reporter_country = "US";
  c.reporter_given_name = "Ann";
  c.reporter_family_name = "Investigator " + std::to_string(n % 300);
  c.reporter_email = "site" + std::to_string(n % 300) + "@example.org";
  const auto& term = kTerms[rng() % 12];
  c.verbatim_term = term[1];
  c.meddra_version = "27.1";
  c.llt_code = term[0];
  bool* criteria[] = {&c.death,      &c.life_threatening,   &c.hospitalisation,
                      &c.disability, &c.congenital_anomaly, &c.other_medically_important};
  *criteria[rng() % 6] = true;
  if (c.death) {
    c.death_date = "2026-11-27";
    c.autopsy = "no";
  }
  c.onset_date = "2026-11-11";
  const char* outcomes[] = {"UNKNOWN", "RECOVERED", "RECOVERING", "NOT_RECOVERED", "RECOVERED_WITH_SEQUELAE", "FATAL"};
  c.outcome = outcomes[rng() % 6];
  c.product_name = "TC-101 (investigational)";
  c.indication = "Asthma";
  c.investigator_causality = "related";
  c.sponsor_causality = rng() % 2 ? "related" : "not_related";
  c.narrative = "Subject " + c.subject_id + " in study TC-101 ";
  const int sentences = 3 + static_cast<int>(rng() % 30);
  for (int s = 0; s < sentences; ++s) {
    c.narrative += "On day " + std::to_string(s + 1) + " the investigator noted the event & treated it (see labs). ";
  }
  return c;
}

// The case's ICSR, with 0-3 more reactions and 0-3 concomitant drugs (which a
// CaseReport does not hold) so the exports are of the sizes issue 16 names.
Icsr MakeIcsr(const CaseReport& c, std::mt19937& rng) {
  Icsr icsr = std::move(IcsrFromCase(c)).value();
  const int reactions = 1 + static_cast<int>(rng() % 4), drugs = 1 + static_cast<int>(rng() % 4);
  for (uint16_t i = 2; i <= reactions; ++i) {
    const auto& term = kTerms[rng() % 12];
    icsr.Set("E.i.1.2", {i}, term[1]);
    icsr.Set("E.i.2.1a", {i}, "27.1");
    icsr.Set("E.i.2.1b", {i}, term[0]);
    // b..f: not death (D.9 is the first reaction's), not FDA.E.i.3.2h (NI on premarket reports).
    const size_t which = 1 + rng() % 5;
    for (size_t s = 0; s < 7; ++s) {
      if (s == which) {
        icsr.Set(kSerious[s], {i}, "true");
      } else {
        icsr.SetNull(kSerious[s], {i}, "NI");
      }
    }
    icsr.Set("E.i.4", {i}, "202611" + std::to_string(10 + i));
    icsr.Set("E.i.7", {i}, std::to_string(rng() % 5));
  }
  for (uint16_t k = 1; k <= drugs; ++k) {
    if (k > 1) {
      icsr.Set("G.k.1", {k}, "2");
      icsr.Set("G.k.2.2", {k}, "Concomitant " + std::to_string(k));
      icsr.Set("G.k.7.r.1", {k, 1}, "Asthma");
    }
    icsr.Set("G.k.4.r.1a", {k, 1}, std::to_string(5 * (1 + rng() % 40)));
    icsr.Set("G.k.4.r.1b", {k, 1}, "mg");
    icsr.Set("G.k.4.r.8", {k, 1}, "once daily by mouth");
    for (uint16_t i = 1; i <= reactions; ++i) {
      if (k == 1 && i == 1) continue;  // the case's own assessments
      icsr.Set("G.k.9.i.2.r.1", {k, i, 1}, "Sponsor");
      icsr.Set("G.k.9.i.2.r.2", {k, i, 1}, "FDA");
      icsr.Set("G.k.9.i.2.r.3", {k, i, 1}, k == 1 ? "Suspected" : "Not Suspected");
    }
  }
  return icsr;
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
  for (uint32_t n = 0; n < count; ++n) icsrs.push_back(MakeIcsr(MakeCase(n, rng), rng));
  std::mt19937 first_rng(16);
  const E2bBatchHeader header = BatchHeaderFor(MakeCase(0, first_rng), "ZZFDA_PREMKT", "TC-BATCH");
  const int64_t now = kNow;

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
