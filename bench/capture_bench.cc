// Item saves through capture (parse, derivations, every check of the form and
// of the forms that read it, events, projections, fsync) side by side with
// raw event-store appends of one item event each, in the same run on the
// same disk. Target: capture at least half the raw append rate.
//
//   ./build/bench/capture_bench [saves, default 3000]
#include <cstdio>

#include "bench_util.h"
#include "capture/capture.h"
#include "store/sqlite/sqlite_event_store.h"

using namespace trialcore;

namespace {

const char* kVisits[] = {"WEEK2", "WEEK4", "WEEK6", "WEEK8", "WEEK12", "WEEK16", "WEEK20", "WEEK24", "WEEK26", "AEFU"};

int Fail(const Status& s, const char* what) {
  std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  return 70;
}

}  // namespace

int main(int argc, char** argv) {
  const int saves = argc > 1 ? std::stoi(argv[1]) : 3000;
  const int subjects = std::max(1, saves / 60);  // 10 visits x 6 items each
  std::string dir = bench::FreshDir("capture");
  std::printf("capture saves vs raw appends, %d saves, %d subjects, durable (WAL, synchronous=FULL), %s\n", saves,
              subjects, dir.c_str());

  // Raw: one event per item, appended one at a time.
  double raw_rate = 0;
  {
    auto store = OpenSqliteEventStore(dir + "/raw.db");
    if (!store.ok()) return Fail(store.status(), "raw store");
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < saves; ++i) {
      AppendRequest r;
      r.study = "BENCH";
      r.events.push_back(bench::ItemEvent(static_cast<uint64_t>(i)));
      auto a = (*store)->Append(r);
      if (!a.ok()) return Fail(a.status(), "raw append");
    }
    raw_rate = saves / bench::Seconds(t0);
  }

  auto store = OpenSqliteEventStore(dir + "/capture.db");
  if (!store.ok()) return Fail(store.status(), "capture store");
  std::vector<study::StudyError> errors;
  auto study = study::LoadStudyFile(std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml", &errors);
  if (!study.ok()) return Fail(study.status(), "study");
  auto capture = capture::Capture::Open(store->get(), Env::Default(), "CDISCPILOT01");
  if (!capture.ok()) return Fail(capture.status(), "capture");
  capture::Capture& c = **capture;
  if (auto p = c.PublishStudy(*study, Actor{"admin", "study_admin"}); !p.ok()) return Fail(p.status(), "publish");
  const Actor coord{"coord.701", "coordinator"};
  auto run = [&](const std::string& json) -> Status {
    TC_ASSIGN_OR_RETURN(Value cmd, ParseJson(json));
    return c.Execute(cmd, coord).status();
  };
  // Setup (not timed): subjects with consent and screening vital signs, so
  // the checks that read them have data.
  for (int s = 0; s < subjects; ++s) {
    std::string id = "701-" + std::to_string(5000 + s);
    for (
        const std::string& cmd : {
            R"({"op":"subject.screen","subject":")" + id + R"(","site":"701"})",
            R"({"op":"form.save","subject":")" + id +
                R"(","visit":"SCREENING1","form":"IC","items":{"ICDTC":"2024-01-02","ICVER":"v1","ICCGVR":"Y"}})",
            R"({"op":"form.save","subject":")" + id +
                R"(","visit":"SCREENING1","form":"VS","items":{"VSPOS":"SITTING","SYSBP":130,"DIABP":80,"PULSE":70,"WEIGHT":"75.0","HEIGHT":"172.0"}})",
            R"({"op":"form.save","subject":")" + id +
                R"(","visit":"BASELINE","form":"RAND","items":{"RANDDT":"2024-01-09"}})",
        }) {
      if (Status st = run(cmd); !st.ok()) return Fail(st, "setup");
    }
  }
  // Timed: one item per save, as a site enters a form field by field.
  static const char* kItems[][2] = {{"VSPOS", "\"SITTING\""}, {"SYSBP", "128"},     {"DIABP", "79"},
                                    {"PULSE", "71"},          {"TEMP", "\"36.7\""}, {"WEIGHT", "\"75.4\""}};
  auto t0 = std::chrono::steady_clock::now();
  int done = 0;
  for (int v = 0; v < 10 && done < saves; ++v) {
    for (int s = 0; s < subjects && done < saves; ++s) {
      std::string id = "701-" + std::to_string(5000 + s);
      for (const auto& [item, value] : kItems) {
        if (done == saves) break;
        std::string cmd = R"({"op":"form.save","subject":")" + id + R"(","visit":")" + kVisits[v] +
                          R"(","form":"VS","items":{")" + item + "\":" + value + "}}";
        if (Status st = run(cmd); !st.ok()) return Fail(st, cmd.c_str());
        ++done;
      }
    }
  }
  double capture_rate = done / bench::Seconds(t0);
  std::printf("  %-58s %12s %-9s %7s\n", "", "rate", "", "ratio");
  bench::Row("raw EventStore appends, one item event each", raw_rate, "events/s", 1.0, "");
  bench::Row("capture form saves, one item each (checks + queries + events)", capture_rate, "saves/s",
             capture_rate / raw_rate, "of raw");
  std::printf("target: capture >= 0.5x raw appends (%s)\n", capture_rate / raw_rate >= 0.5 ? "met" : "NOT met");
  return 0;
}
