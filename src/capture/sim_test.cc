// The simulator: a seed decides the study's content, whatever the number of
// threads that simulate its subjects side by side.
#include "capture/sim.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "capture/reads.h"
#include "core/canonical.h"
#include "core/test_env.h"
#include "store/test_store.h"

namespace trialcore::capture {
namespace {

const Actor kAdmin{"admin", "study_admin"};

std::shared_ptr<const study::Study> DemoStudy() {
  std::vector<study::StudyError> errors;
  return study::LoadStudyFile(std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml", &errors).value();
}

// A study simulated into a fresh store, and what it holds.
struct SimRun {
  MemEnv env;
  std::unique_ptr<EventStore> store;
  std::unique_ptr<Capture> capture;
  SimReport report;

  SimRun(int subjects, uint64_t seed, int threads) {
    // A stopped clock: every event is stamped alike in every run.
    env.SetNowMicros(ParseTimeMicros("2026-12-01T12:00:00Z").value());
    StoreOpenOptions o;
    o.env = &env;
    store = testing_util::OpenTestStore("/mem/sim.db", o).value();
    capture = Capture::Open(store.get(), &env, "CDISCPILOT01").value();
    EXPECT_TRUE(capture->PublishStudy(DemoStudy(), kAdmin).ok());
    SimOptions sim;
    sim.subjects = subjects;
    sim.seed = seed;
    sim.threads = threads;
    auto r = Simulate(*capture, sim);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok()) report = *r;
  }

  // Each subject's stream as what was recorded: type, who, why and payload,
  // in the stream's order (sequence numbers and the log's order left out).
  std::map<std::string, std::vector<std::string>> Streams() {
    std::map<std::string, std::vector<std::string>> out;
    auto ids = SubjectIds(store.get(), "CDISCPILOT01");
    EXPECT_TRUE(ids.ok()) << ids.status().ToString();
    if (!ids.ok()) return out;
    for (const std::string& id : *ids) {
      EventFilter f;
      f.study = "CDISCPILOT01";
      f.stream = SubjectStream(id);
      auto events = store->ReadEvents(f);
      EXPECT_TRUE(events.ok()) << events.status().ToString();
      if (!events.ok()) continue;
      for (const Event& e : *events) {
        std::string payload;
        EXPECT_TRUE(EncodeValue(e.payload, &payload).ok());
        out[id].push_back(std::to_string(e.stream_version) + " " + e.type + " " + e.actor.user + "/" + e.actor.role +
                          " " + e.reason + " " + ToHex(payload));
      }
    }
    return out;
  }

  // The projection tables, without the sequence numbers entity_values keeps
  // (which follow the log's order).
  std::string Projections() {
    std::istringstream dump(store->DumpProjections().value());
    std::string out, line;
    while (std::getline(dump, line)) {
      if (line.starts_with("entity_values|")) line.resize(line.rfind('|'));
      out += line + "\n";
    }
    return out;
  }

  // Subjects in the order the log first has them.
  std::vector<std::string> LogOrder() {
    std::vector<std::string> order;
    EventFilter f;
    f.study = "CDISCPILOT01";
    auto events = store->ReadEvents(f);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    if (!events.ok()) return order;
    for (const Event& e : *events) {
      if (e.type == "subject.screened") order.push_back(e.stream);
    }
    return order;
  }
};

void ExpectSameReport(const SimReport& a, const SimReport& b) {
  EXPECT_EQ(a.subjects, b.subjects);
  EXPECT_EQ(a.enrolled, b.enrolled);
  EXPECT_EQ(a.screen_failed, b.screen_failed);
  EXPECT_EQ(a.commands, b.commands);
  EXPECT_EQ(a.refused, b.refused);
  EXPECT_EQ(a.queries_opened, b.queries_opened);
  EXPECT_EQ(a.queries_closed, b.queries_closed);
  EXPECT_EQ(a.events, b.events);
}

TEST(SimTest, TheSameSeedGivesTheSameStudyWithOneThreadOrFour) {
  SimRun one(40, 7, 1);
  SimRun four(40, 7, 4);
  EXPECT_EQ(one.report.subjects, 40);
  EXPECT_GT(one.report.queries_opened, 0) << "errors and their queries are part of what must repeat";
  ExpectSameReport(one.report, four.report);
  auto streams = one.Streams();
  EXPECT_EQ(streams.size(), 40u);
  EXPECT_EQ(streams, four.Streams());
  EXPECT_EQ(one.Projections(), four.Projections());
  // One thread screens the subjects in their order.
  auto order = one.LogOrder();
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end(), [](const std::string& a, const std::string& b) {
    return a.substr(a.size() - 4) < b.substr(b.size() - 4);
  }));
}

TEST(SimTest, AnotherSeedGivesAnotherStudy) {
  SimRun a(10, 7, 2);
  SimRun b(10, 8, 2);
  EXPECT_EQ(a.report.subjects, b.report.subjects);
  EXPECT_NE(a.Streams(), b.Streams());
}

// A subject's data come from its own stream of random numbers: simulating
// fewer subjects does not change those that are simulated.
TEST(SimTest, ASubjectsDataDoNotDependOnTheSubjectsAfterIt) {
  SimRun few(5, 3, 1);
  SimRun more(12, 3, 3);
  auto few_streams = few.Streams();
  auto more_streams = more.Streams();
  ASSERT_EQ(few_streams.size(), 5u);
  for (const auto& [id, events] : few_streams) {
    ASSERT_TRUE(more_streams.contains(id)) << id;
    // Both studies started 300 days ago (the least), so dates agree too.
    EXPECT_EQ(events, more_streams[id]) << id;
  }
}

TEST(SimTest, RefusesNoThreads) {
  MemEnv env;
  StoreOpenOptions o;
  o.env = &env;
  auto store = testing_util::OpenTestStore("/mem/sim.db", o).value();
  auto capture = Capture::Open(store.get(), &env, "CDISCPILOT01").value();
  ASSERT_TRUE(capture->PublishStudy(DemoStudy(), kAdmin).ok());
  SimOptions sim;
  sim.threads = 0;
  auto r = Simulate(*capture, sim);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace trialcore::capture
