// Rule evaluation: compiled edit checks per second on one core, side by side
// with the same checks written as plain C++ functions that read the same
// bound values (with the same missing-value rules). Target: at least 20
// million simple checks per second, and at least a quarter of plain C++.
//
//   ./build/bench/rules_bench [evaluations per check, default 20000000]
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <vector>

#include "bench_util.h"
#include "rules/rules.h"

using namespace trialcore;
using rules::RValue;
using rules::Type;

namespace {

struct Resolver : rules::Resolver {
  std::map<std::string, Type> types = {{"SYSBP", Type::kNumber},  {"DIABP", Type::kNumber},  {"AGE", Type::kNumber},
                                       {"TEMP", Type::kNumber},   {"WEIGHT", Type::kNumber}, {"W0", Type::kNumber},
                                       {"EXDOSE", Type::kNumber}, {"VISDAT", Type::kDate},   {"RANDDT", Type::kDate},
                                       {"SEX", Type::kText},      {"POSTMENO", Type::kText}};
  Result<rules::Resolved> ResolveItem(std::span<const std::string> path) const override {
    auto it = types.find(path[0]);
    if (path.size() != 1 || it == types.end()) return NotFound("unknown item");
    std::vector<std::string> codes;
    if (path[0] == "SEX") codes = {"M", "F"};
    if (path[0] == "POSTMENO") codes = {"Y", "N"};
    return rules::Resolved{path[0], it->second, codes, ""};
  }
  Result<std::string> ResolveGroup(std::span<const std::string>) const override { return NotFound("no groups"); }
};

// A row of bound values, in a fixed slot order shared by both sides.
enum Slot { kSys, kDia, kAge, kTemp, kWeight, kW0, kDose, kVisdat, kRanddt, kSex, kPostmeno, kSlots };
const char* kSlotNames[] = {"SYSBP",  "DIABP",  "AGE",    "TEMP", "WEIGHT",  "W0",
                            "EXDOSE", "VISDAT", "RANDDT", "SEX",  "POSTMENO"};

// Plain C++: the check holds (1), fails (0) or cannot be judged (2).
using Native = int (*)(const RValue*);
int Tri(bool b) { return b ? 1 : 0; }

struct Check {
  const char* source;
  Native native;
};

const Check kChecks[] = {
    {"SYSBP >= 90 and SYSBP <= 180",
     [](const RValue* v) { return v[kSys].null ? 2 : Tri(v[kSys].number >= 90 && v[kSys].number <= 180); }},
    {"SYSBP > DIABP",
     [](const RValue* v) { return v[kSys].null || v[kDia].null ? 2 : Tri(v[kSys].number > v[kDia].number); }},
    {"AGE >= 50", [](const RValue* v) { return v[kAge].null ? 2 : Tri(v[kAge].number >= 50); }},
    {"TEMP < 38.5", [](const RValue* v) { return v[kTemp].null ? 2 : Tri(v[kTemp].number < 38.5); }},
    {"VISDAT - RANDDT <= 7 days",
     [](const RValue* v) {
       return v[kVisdat].null || v[kRanddt].null ? 2 : Tri((v[kVisdat].integer - v[kRanddt].integer) <= 7);
     }},
    {"EXDOSE in (0, 54, 81)",
     [](const RValue* v) {
       double d = v[kDose].number;
       return v[kDose].null ? 2 : Tri(d == 0 || d == 54 || d == 81);
     }},
    {"SEX = \"M\" or POSTMENO is not missing",
     [](const RValue* v) {
       if (!v[kSex].null && v[kSex].text() == "M") return 1;
       return Tri(!v[kPostmeno].null);
     }},
    {"WEIGHT is missing or W0 is missing or abs(WEIGHT - W0) <= 0.1 * W0",
     [](const RValue* v) {
       if (v[kWeight].null || v[kW0].null) return 1;
       return Tri(std::fabs(v[kWeight].number - v[kW0].number) <= 0.1 * v[kW0].number);
     }},
};

}  // namespace

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::stoull(argv[1]) : 20'000'000;
  Resolver resolver;
  // 1024 subjects' worth of values, some missing, cycled through.
  constexpr size_t kRows = 1024;
  std::mt19937_64 rng(7);
  std::vector<std::array<RValue, kSlots>> rows(kRows);
  for (auto& r : rows) {
    auto num = [&](double mean, double sd) {
      return rng() % 50 == 0 ? RValue::Null()
                             : RValue::Number(std::round(std::normal_distribution<double>(mean, sd)(rng)));
    };
    r[kSys] = num(130, 25);
    r[kDia] = num(80, 12);
    r[kAge] = num(70, 12);
    r[kTemp] = num(37, 1);
    r[kWeight] = num(75, 12);
    r[kW0] = num(75, 12);
    r[kDose] = RValue::Number(std::vector<double>{0, 54, 81, 50}[rng() % 4]);
    r[kVisdat] = RValue::Integer(19700 + static_cast<int64_t>(rng() % 12));
    r[kRanddt] = RValue::Integer(19700);
    r[kSex] = RValue::Text(rng() % 2 ? "M" : "F");
    r[kPostmeno] = rng() % 3 == 0 ? RValue::Null() : RValue::Text("Y");
  }

  std::printf("rule evaluation, %llu evaluations per check (best of 5 rounds), one core\n",
              static_cast<unsigned long long>(n));
  std::printf("  %-62s %14s %14s %8s\n", "check [instructions]", "compiled/s", "plain C++/s", "ratio");
  double total_compiled = 0, total_native = 0;
  for (const Check& c : kChecks) {
    auto e = rules::Expression::Compile(c.source, resolver);
    if (!e.ok()) {
      std::fprintf(stderr, "%s: %s\n", c.source, e.status().ToString().c_str());
      return 70;
    }
    // Bindings in the expression's own slot order, per row.
    std::vector<std::vector<RValue>> bound(kRows);
    for (size_t i = 0; i < kRows; ++i) {
      for (const auto& key : e->scalars()) {
        for (int s = 0; s < kSlots; ++s) {
          if (key == kSlotNames[s]) bound[i].push_back(rows[i][static_cast<size_t>(s)]);
        }
      }
    }
    std::vector<rules::Bindings> bindings(kRows);
    for (size_t i = 0; i < kRows; ++i) bindings[i] = rules::Bindings{bound[i], {}, 0};

    // Both sides must agree before they are timed.
    for (size_t i = 0; i < kRows; ++i) {
      int a = static_cast<int>(e->Test(bindings[i]));
      int want = c.native(rows[i].data());
      int mapped = a == static_cast<int>(rules::Truth::kTrue) ? 1 : a == static_cast<int>(rules::Truth::kFalse) ? 0 : 2;
      if (mapped != want) {
        std::fprintf(stderr, "disagreement on %s row %zu: compiled %d, C++ %d\n", c.source, i, mapped, want);
        return 70;
      }
    }
    // Best of five alternating rounds on each side, so that noise from the
    // machine falls on both alike.
    volatile int sink = 0;
    double compiled = 0, native = 0;
    const uint64_t per_round = n / 5;
    for (int round = 0; round < 5; ++round) {
      auto t0 = std::chrono::steady_clock::now();
      int acc = 0;
      for (uint64_t i = 0; i < per_round; ++i) acc += static_cast<int>(e->Test(bindings[i & (kRows - 1)]));
      compiled = std::max(compiled, static_cast<double>(per_round) / bench::Seconds(t0));
      sink = acc;
      t0 = std::chrono::steady_clock::now();
      acc = 0;
      Native f = c.native;
      for (uint64_t i = 0; i < per_round; ++i) acc += f(rows[i & (kRows - 1)].data());
      native = std::max(native, static_cast<double>(per_round) / bench::Seconds(t0));
      sink = acc;
    }
    (void)sink;
    total_compiled += 1.0 / compiled;
    total_native += 1.0 / native;
    std::string label = std::string(c.source) + " [" + std::to_string(e->instruction_count()) + "]";
    std::printf("  %-62s %14.0f %14.0f %7.2fx\n", label.c_str(), compiled, native, compiled / native);
  }
  double mix_compiled = std::size(kChecks) / total_compiled;
  double mix_native = std::size(kChecks) / total_native;
  std::printf("  %-62s %14.0f %14.0f %7.2fx\n", "all eight, as a mix", mix_compiled, mix_native,
              mix_compiled / mix_native);
  std::printf("targets: >= 20,000,000 checks/s (%s), >= 0.25x plain C++ (%s)\n",
              mix_compiled >= 20e6 ? "met" : "NOT met", mix_compiled / mix_native >= 0.25 ? "met" : "NOT met");
  return 0;
}
