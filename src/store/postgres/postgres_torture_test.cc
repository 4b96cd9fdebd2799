// The PostgreSQL store's promise that no reader ever skips an event
// (doc/event_store.md), tried the way it breaks in other event stores:
// appenders in several processes and threads, some slow to commit, some
// rolled back, one frozen mid-transaction, one session killed while it holds
// the log's lock and one whole appending process killed, while catch-up
// readers follow the log. Every reader must see every committed event exactly
// once, in order, and nothing that was not committed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "core/hash.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/postgres_event_store.h"
#include "store/postgres/test_server.h"
#include "store/test_util.h"

namespace trialcore {
namespace {

using testing_util::ItemSet;
using testing_util::One;

constexpr char kChildUrl[] = "TRIALCORE_TORTURE_URL";
constexpr char kChildName[] = "TRIALCORE_TORTURE_WRITER";
constexpr char kChildForever[] = "TRIALCORE_TORTURE_FOREVER";

std::string NewDatabase(const std::string& name) {
  std::string error;
  pg::TestServer* server = pg::SharedTestServer(&error);
  EXPECT_NE(server, nullptr) << "PostgreSQL 15 could not be started: " << error;
  if (server == nullptr) return "";
  auto url = server->CreateDatabase(name);
  EXPECT_TRUE(url.ok()) << url.status().ToString();
  return url.ok() ? *url : "";
}

// A projector that keeps its transaction open (holding the log's lock) for
// a while, and may then fail it.
Projector Sleeping(int ms, bool fail) {
  return [ms, fail](const std::vector<Event>&, ProjectionWriter&) -> Status {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return fail ? Aborted("rolled back on purpose") : Status::Ok();
  };
}

// Readers that follow the log by `seq > cursor` until told to stop, each
// keeping what it saw.
class Followers {
 public:
  Followers(EventStore* store, size_t count) : seen_(count) {
    for (size_t r = 0; r < count; ++r) {
      threads_.emplace_back([this, store, r] {
        uint64_t cursor = 0;
        while (!stop_) {
          EventFilter f;
          f.after_seq = cursor;
          auto events = store->ReadEvents(f);
          if (!events.ok()) {
            failed_ = true;
            continue;
          }
          std::lock_guard lock(mu_);
          for (const Event& e : *events) {
            seen_[r].emplace_back(e.seq, e.hash);
            cursor = e.seq;
          }
        }
      });
    }
  }
  ~Followers() { Stop(); }

  // Waits until every reader reached last (or a deadline), then stops them.
  void CatchUpTo(uint64_t last) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      bool all = true;
      for (size_t r = 0; r < seen_.size(); ++r) all = all && Reached(r, last);
      if (all) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Stop();
  }

  // Each reader saw exactly the committed log: 1..n with its hashes.
  void ExpectEachSaw(const std::vector<Event>& log) const {
    ASSERT_FALSE(failed_) << "a reader's read failed";
    for (const auto& seen : seen_) {
      ASSERT_EQ(seen.size(), log.size());
      for (size_t i = 0; i < seen.size(); ++i) {
        ASSERT_EQ(seen[i].first, log[i].seq) << "a reader skipped or repeated an event";
        ASSERT_EQ(seen[i].second, log[i].hash) << "a reader saw event " << seen[i].first << " as it was not committed";
      }
    }
  }

 private:
  bool Reached(size_t r, uint64_t last) {
    std::lock_guard lock(mu_);
    return last == 0 || (!seen_[r].empty() && seen_[r].back().first >= last);
  }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  std::mutex mu_;
  std::atomic<bool> stop_{false}, failed_{false};
  std::vector<std::vector<std::pair<uint64_t, Hash>>> seen_;
  std::vector<std::thread> threads_;
};

std::vector<Event> WholeLog(EventStore* store) {
  auto log = store->ReadEvents({});
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? *log : std::vector<Event>{};
}

// This test binary again, as a separate appending process (the child test
// below), on the given database.
pid_t StartAppenderProcess(const std::string& url, const std::string& name, bool forever) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  setenv(kChildUrl, url.c_str(), 1);
  setenv(kChildName, name.c_str(), 1);
  if (forever) setenv(kChildForever, "1", 1);
  execl("/proc/self/exe", "postgres_torture_test", "--gtest_filter=PostgresTortureChild.Appends", nullptr);
  _exit(127);
}

// Run only as a child of the tests below (it skips otherwise): appends
// batches of one and two events, every third slow, some rolled back; with
// kChildForever it goes on until killed.
TEST(PostgresTortureChild, Appends) {
  const char* url = std::getenv(kChildUrl);
  const char* name = std::getenv(kChildName);
  if (url == nullptr || name == nullptr) GTEST_SKIP() << "run by the torture tests as a separate process";
  const bool forever = std::getenv(kChildForever) != nullptr;
  auto store = OpenPostgresEventStore(url);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  for (int i = 0; forever || i < 24; ++i) {
    AppendRequest r = One(std::string("P") + name, ItemSet(name, "I" + std::to_string(i), "1"));
    if (i % 4 == 0) r.events.push_back(ItemSet(name, "J" + std::to_string(i), "2"));
    if (i % 3 == 0) r.project = Sleeping(forever ? 60 : 20, i % 7 == 0);
    (void)(*store)->Append(r);
  }
}

TEST(PostgresTortureTest, SlowRolledBackAndKilledAppendersLeaveReadersNothingToSkip) {
  const std::string url = NewDatabase("torture_threads");
  ASSERT_FALSE(url.empty());
  auto opened = OpenPostgresEventStore(url);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& store = *opened;
  Followers followers(store.get(), 2);
  std::atomic<int> committed{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 6; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 8; ++i) {
        AppendRequest r = One("S" + std::to_string(w % 2), ItemSet(std::to_string(w), "I" + std::to_string(i), "1"));
        if (i % 3 == 0) r.project = Sleeping(30, (w + i) % 5 == 0);
        if (store->Append(r).ok()) ++committed;
      }
    });
  }
  // A session that takes the log's lock and is killed while holding it.
  auto holder = pg::Conn::Connect(url);
  auto killer = pg::Conn::Connect(url);
  ASSERT_TRUE(holder.ok() && killer.ok());
  auto pid = (*holder)->Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid.ok());
  ASSERT_TRUE((*holder)->Exec("BEGIN; SELECT last_seq FROM log_head WHERE id = 1 FOR UPDATE").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE((*killer)->Query("SELECT pg_terminate_backend($1::int)", {pg::Param::Text((*pid).Text(0, 0))}).ok());
  for (auto& t : writers) t.join();
  EXPECT_FALSE((*holder)->Exec("SELECT 1").ok()) << "the holder's backend was killed";
  const std::vector<Event> log = WholeLog(store.get());
  EXPECT_EQ(log.size(), static_cast<size_t>(committed.load()));
  EXPECT_GT(committed.load(), 30);
  EXPECT_LT(committed.load(), 48) << "some appends rolled back";
  followers.CatchUpTo(log.size());
  followers.ExpectEachSaw(log);
}

// A process frozen mid-append leaves its transaction idle while it holds the
// log's lock; the server ends that transaction after the stalled-transaction
// timeout, so the other appenders carry on, and the frozen one's events are
// never seen.
TEST(PostgresTortureTest, AnAppenderStalledInItsTransactionIsEndedAndTheOthersCarryOn) {
  const std::string url = NewDatabase("torture_stalled");
  ASSERT_FALSE(url.empty());
  PostgresStoreOptions options;
  options.stalled_transaction_timeout_ms = 300;
  auto opened = OpenPostgresEventStore(url, options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& store = *opened;
  Followers followers(store.get(), 2);
  ASSERT_TRUE(store->Append(One("S", ItemSet("1", "A", "1"))).ok());
  std::thread stalled([&] {
    AppendRequest r = One("S", ItemSet("stalled", "A", "1"));
    r.project = Sleeping(1500, false);  // well past the timeout, holding the lock
    auto res = store->Append(r);
    EXPECT_FALSE(res.ok()) << "the server ended the stalled transaction";
    if (!res.ok()) {
      EXPECT_NE(res.status().message().find("nothing of it was stored"), std::string::npos) << res.status().ToString();
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::vector<std::thread> writers;
  std::atomic<int> committed{1};
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 5; ++i) {
        if (store->Append(One("S", ItemSet(std::to_string(w), "I" + std::to_string(i), "1"))).ok()) ++committed;
      }
    });
  }
  for (auto& t : writers) t.join();
  stalled.join();
  EXPECT_EQ(committed.load(), 16) << "every append behind the stalled one committed once it was ended";
  const std::vector<Event> log = WholeLog(store.get());
  ASSERT_EQ(log.size(), 16u);
  for (const Event& e : log) EXPECT_NE(e.stream, "subject/stalled") << "nothing of the stalled append was stored";
  followers.CatchUpTo(log.size());
  followers.ExpectEachSaw(log);
}

// Appenders in three other processes and in this one; one of the processes
// is killed with SIGKILL while it appends (its transaction in flight rolls
// back with the connection).
TEST(PostgresTortureTest, AppendersInSeveralProcessesOneKilledLeaveReadersNothingToSkip) {
  const std::string url = NewDatabase("torture_processes");
  ASSERT_FALSE(url.empty());
  auto opened = OpenPostgresEventStore(url);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& store = *opened;
  Followers followers(store.get(), 3);
  std::vector<pid_t> finishing;
  for (const char* name : {"a", "b", "c"}) finishing.push_back(StartAppenderProcess(url, name, false));
  const pid_t doomed = StartAppenderProcess(url, "doomed", true);
  std::thread local([&] {
    for (int i = 0; i < 20; ++i) {
      AppendRequest r = One("Plocal", ItemSet("local", "I" + std::to_string(i), "1"));
      if (i % 4 == 0) r.project = Sleeping(25, i % 8 == 0);
      (void)store->Append(r);
    }
  });
  // Kill the endless one once it has committed something.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto doomed_events = store->ReadEvents([] {
      EventFilter f;
      f.study = "Pdoomed";
      return f;
    }());
    if (doomed_events.ok() && doomed_events->size() >= 5) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(kill(doomed, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(doomed, &status, 0), doomed);
  EXPECT_TRUE(WIFSIGNALED(status));
  for (pid_t pid : finishing) {
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "an appending process failed";
  }
  local.join();
  const std::vector<Event> log = WholeLog(store.get());
  std::map<std::string, size_t> per_study;
  for (const Event& e : log) ++per_study[e.study];
  // 24 batches each, 6 of them of two events (i % 4 == 0), two rolled back
  // (i = 0 of two events, i = 21 of one): 30 - 3 = 27 events.
  for (const char* study : {"Pa", "Pb", "Pc"}) EXPECT_EQ(per_study[study], 27u) << study;
  EXPECT_GE(per_study["Pdoomed"], 5u);
  followers.CatchUpTo(log.size());
  followers.ExpectEachSaw(log);
  // And the chain of every study is whole.
  for (const auto& [study, n] : per_study) {
    Hash prev{};
    uint64_t index = 0;
    for (const Event& e : log) {
      if (e.study != study) continue;
      EXPECT_EQ(e.study_index, index++);
      EXPECT_EQ(e.prev_hash, prev);
      prev = e.hash;
    }
  }
}

}  // namespace
}  // namespace trialcore
