// A writer is killed with SIGKILL at random moments, 25 times. After each
// restart every acknowledged event is present, every batch is whole (nothing
// half-written is visible) and the chain verifies.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "store/audit.h"
#include "store/sqlite/sqlite_event_store.h"

namespace trialcore {
namespace {

namespace fs = std::filesystem;

struct Child {
  pid_t pid;
  int out_fd;
};

Child StartAppender(const std::string& db) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl(CRASH_APPENDER_BIN, CRASH_APPENDER_BIN, db.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  return {pid, fds[0]};
}

// Reads whatever the child printed; returns acknowledged sequence numbers.
void ReadAcks(int fd, std::string* buffer, std::set<uint64_t>* acked) {
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) buffer->append(buf, static_cast<size_t>(n));
  size_t pos;
  while ((pos = buffer->find('\n')) != std::string::npos) {
    acked->insert(std::stoull(buffer->substr(0, pos)));
    buffer->erase(0, pos + 1);
  }
}

TEST(CrashTest, SigkillNeverLosesAnAcknowledgedEventNorShowsAHalfBatch) {
  std::string dir = (fs::path(testing::TempDir()) / "trialcore_crash").string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string db = dir + "/crash.db";
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> wait_ms(0, 100);
  std::set<uint64_t> acked;
  int kills_with_progress = 0;
  for (int round = 0; round < 25; ++round) {
    Child child = StartAppender(db);
    size_t before = acked.size();
    // Wait for the first acknowledgement, so that every kill lands while the
    // writer is appending rather than while it starts, then kill at random.
    std::string partial;
    char c;
    while (read(child.out_fd, &c, 1) == 1) {
      partial.push_back(c);
      if (c == '\n') break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms(rng)));
    ASSERT_EQ(kill(child.pid, SIGKILL), 0);
    int status;
    waitpid(child.pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the appender died by itself in round " << round;
    ReadAcks(child.out_fd, &partial, &acked);
    close(child.out_fd);
    if (acked.size() > before) ++kills_with_progress;

    auto store = OpenSqliteEventStore(db);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    uint64_t last = *(*store)->LastSeq();
    if (!acked.empty()) {
      ASSERT_GE(last, *acked.rbegin()) << "round " << round;
    }
    EXPECT_EQ(last % 3, 0u) << "a batch of three was half-written in round " << round;
    for (uint64_t seq : acked) {
      auto e = (*store)->ReadEvent(seq);
      ASSERT_TRUE(e.ok()) << "acknowledged event " << seq << " lost in round " << round;
    }
    auto v = VerifyStudy(**store, "CRASH", {}, std::nullopt);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    ASSERT_FALSE(v->problem) << "round " << round << ": " << v->problem->what;
    EXPECT_EQ(v->events, last);
  }
  EXPECT_EQ(kills_with_progress, 25) << "every kill must interrupt a writer that was making progress";
  EXPECT_GT(acked.size(), 100u);
}

}  // namespace
}  // namespace trialcore
