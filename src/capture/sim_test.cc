// The simulator: a seed decides the study's content, whatever the number of
// threads that simulate its subjects side by side.
#include "capture/sim.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>

#include "capture/reads.h"
#include "core/canonical.h"
#include "core/simulated_clock_env.h"
#include "core/test_env.h"
#include "rules/rules.h"
#include "store/audit.h"
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
  // in the stream's order (sequence numbers, the log's order and signature
  // nonces left out).
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
        // A signature's nonce is random by design (and so its content
        // hash): which thread drew which is not the study's content.
        Value content = e.payload;
        if (e.type == "signature.applied" && content.is_object()) {
          content.as_object().erase("nonce");
          content.as_object().erase("content_hash");
        }
        std::string payload;
        EXPECT_TRUE(EncodeValue(content, &payload).ok());
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

// The simulated study on a simulated clock: months of history, in the
// order of its times, nothing after the present, at several present moments.
constexpr int64_t kDay = rules::kMicrosPerDay;

struct HistoryRun {
  MemEnv base;
  SimulatedClockEnv clock{&base};
  std::unique_ptr<EventStore> store;
  std::unique_ptr<Capture> capture;
  Status status;

  HistoryRun(int64_t now, int threads, int subjects = 12) : base(5, now) {
    StoreOpenOptions o;
    o.env = &clock;
    store = testing_util::OpenTestStore("/mem/history.db", o).value();
    capture = Capture::Open(store.get(), &clock, "CDISCPILOT01").value();
    SimOptions sim;
    sim.subjects = subjects;
    sim.seed = 20261123;
    sim.enrol_every_days = 20;
    sim.threads = threads;
    sim.clock = &clock;
    {
      SimulatedTimeScope at(&clock, (SimulationStartDay(sim, now / kDay) - 14) * kDay);
      status = capture->PublishStudy(DemoStudy(), kAdmin).status();
    }
    if (status.ok()) status = Simulate(*capture, sim).status();
  }

  std::vector<Event> Events() {
    EventFilter f;
    f.study = "CDISCPILOT01";
    return store->ReadEvents(f).value();
  }
};

class SimHistoryTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SimHistoryTest, EventsSpreadOverMonthsInTheOrderOfTheirTimesAndNoneInTheFuture) {
  const int64_t now = ParseTimeMicros(GetParam()).value();
  HistoryRun run(now, 1);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  std::vector<Event> events = run.Events();
  ASSERT_GT(events.size(), 500u);
  std::set<int64_t> days;
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    EXPECT_LE(e.time_us, now) << e.seq << " " << e.type << " lies in the future";
    if (i > 0) {
      EXPECT_GE(e.time_us, events[i - 1].time_us) << "time goes back at event " << e.seq;
    }
    days.insert(e.time_us / kDay);
  }
  // Published two weeks before the first subject screened, 300 days ago.
  EXPECT_EQ(events.front().time_us / kDay, now / kDay - 300 - 14);
  auto screened =
      std::find_if(events.begin(), events.end(), [](const Event& e) { return e.type == "subject.screened"; });
  ASSERT_NE(screened, events.end());
  EXPECT_EQ(screened->time_us / kDay, now / kDay - 300);
  EXPECT_GT(days.size(), 100u) << "events fall on many days, not at one moment";
  EXPECT_GE(events.back().time_us, now - 30 * kDay) << "the study runs up to the present";

  // Per subject: a form is entered on or after its visit's date; the site
  // answers a query days after it opened; the monitor verifies weeks after
  // entry and the investigator signs after that.
  std::map<std::string, int64_t> opened, entered, verified;
  int answered = 0, verifications = 0, signatures = 0;
  for (const Event& e : events) {
    const Value* visit = e.payload.Find("visit");
    const std::string where = e.stream + "/" + (visit != nullptr && visit->is_string() ? visit->as_string() : "");
    if (e.type == "query.opened")
      opened[e.stream + "/" + std::to_string(e.payload.Find("query")->as_int())] = e.time_us;
    if (e.type == "query.answered") {
      auto it = opened.find(e.stream + "/" + std::to_string(e.payload.Find("query")->as_int()));
      ASSERT_NE(it, opened.end());
      if (e.actor.role == "coordinator" && it->second < e.time_us) {
        EXPECT_GE(e.time_us - it->second, kDay / 2) << e.stream;
        ++answered;
      }
    }
    if (e.type == "form.saved" && !entered.contains(where)) entered[where] = e.time_us;
    if (e.type == "sdv.verified" && e.actor.user == "cra.1") {
      ASSERT_TRUE(entered.contains(where)) << where;
      EXPECT_GE(e.time_us - entered[where], 13 * kDay) << where;
      if (!verified.contains(where)) verified[where] = e.time_us;
      ++verifications;
    }
    if (e.type == "signature.applied") {
      ASSERT_TRUE(verified.contains(where)) << where << " signed before it was verified";
      EXPECT_GT(e.time_us, verified[where]) << where;
      ++signatures;
    }
    if (e.type == "form.saved") {
      const Value* set = e.payload.Find("set");
      for (const auto& [path, value] : set != nullptr && set->is_object() ? set->as_object() : Value::Object{}) {
        if (path.ends_with("/SV/SVSTDTC") && value.is_string()) {
          EXPECT_GE(e.time_us / kDay, rules::ParseDateDays(value.as_string()).value()) << path;
        }
      }
    }
  }
  EXPECT_GT(answered, 0);
  EXPECT_GT(verifications, 20);
  EXPECT_GT(signatures, 10);

  auto verification = VerifyStudy(*run.store, "CDISCPILOT01", {}, std::nullopt);
  ASSERT_TRUE(verification.ok()) << verification.status().ToString();
  EXPECT_FALSE(verification->problem.has_value()) << verification->problem->what;
}

TEST_P(SimHistoryTest, TheSameSeedAtTheSameMomentGivesTheSameHistory) {
  const int64_t now = ParseTimeMicros(GetParam()).value();
  HistoryRun a(now, 1, 6), b(now, 1, 6);
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  ASSERT_TRUE(b.status.ok()) << b.status.ToString();
  auto line = [](const Event& e) {
    return std::to_string(e.seq) + " " + FormatTimeMicros(e.time_us) + " " + e.stream + " " + e.type;
  };
  std::vector<std::string> x, y;
  for (const Event& e : a.Events()) x.push_back(line(e));
  for (const Event& e : b.Events()) y.push_back(line(e));
  EXPECT_EQ(x, y);
}

// Subjects side by side: the store still records times in order, none in the future.
TEST_P(SimHistoryTest, FourThreadsKeepTimesInOrderAndNoneInTheFuture) {
  const int64_t now = ParseTimeMicros(GetParam()).value();
  HistoryRun run(now, 4);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  std::vector<Event> events = run.Events();
  std::set<int64_t> days;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_LE(events[i].time_us, now);
    if (i > 0) {
      EXPECT_GE(events[i].time_us, events[i - 1].time_us);
    }
    days.insert(events[i].time_us / kDay);
  }
  EXPECT_GT(days.size(), 100u);
}

std::string MomentName(const ::testing::TestParamInfo<const char*>& moment) {
  std::string name = "At";
  for (const char* c = moment.param; *c != '\0'; ++c) {
    if (std::isdigit(static_cast<unsigned char>(*c))) name += *c;
  }
  return name;
}

// Noon, just after midnight, the last minute of a year, and a leap day.
INSTANTIATE_TEST_SUITE_P(Clocks, SimHistoryTest,
                         ::testing::Values("2026-12-01T12:00:00Z", "2026-12-02T00:05:00Z", "2026-12-31T23:59:00Z",
                                           "2028-02-29T08:00:00Z"),
                         MomentName);

}  // namespace
}  // namespace trialcore::capture
