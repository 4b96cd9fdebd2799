#include "store/postgres/test_server.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "store/postgres/pg_conn.h"

namespace trialcore::pg {
namespace {

// The harness the PostgreSQL tests stand on: a server of its own, reachable
// over its socket and over TCP, with databases made on demand, and nothing
// left behind once it is gone. Whoever runs it (root in CI, a user on a
// workstation), the server runs unprivileged.
TEST(TestServerTest, StartsAServerThatAnswersAndLeavesNothingBehind) {
  std::string dir;
  {
    auto server = TestServer::Start();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    dir = (*server)->dir();
    EXPECT_TRUE(std::filesystem::exists(dir + "/.s.PGSQL." + std::to_string((*server)->port())));
    auto url = (*server)->CreateDatabase("harness");
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    for (const std::string& u : {*url, (*server)->TcpUrl("harness")}) {
      auto conn = Conn::Connect(u);
      ASSERT_TRUE(conn.ok()) << conn.status().ToString();
      auto rows = (*conn)->Query("SELECT current_database(), $1::int + 1, current_setting('server_version_num')::int",
                                 {Param::Int(41)});
      ASSERT_TRUE(rows.ok()) << rows.status().ToString();
      EXPECT_EQ(rows->Text(0, 0), "harness");
      EXPECT_EQ(rows->Int(0, 1), 42);
      EXPECT_GE(rows->Int(0, 2), 150000);
      EXPECT_LT(rows->Int(0, 2), 160000) << "PostgreSQL 15, as Debian 12 and CI have";
    }
    if (geteuid() == 0) {
      struct stat st {};
      ASSERT_EQ(stat((dir + "/data").c_str(), &st), 0);
      EXPECT_NE(st.st_uid, 0u) << "as root, the cluster belongs to an unprivileged user";
    }
    // A bytea round trip keeps every byte, NUL included.
    auto conn = Conn::Connect(*url);
    ASSERT_TRUE(conn.ok());
    const std::string bytes("a\0\xff\x01z", 5);
    auto echoed = (*conn)->Query("SELECT $1::bytea", {Param::Bytes(bytes)});
    ASSERT_TRUE(echoed.ok()) << echoed.status().ToString();
    EXPECT_EQ(echoed->Bytes(0, 0), bytes);
    // Errors carry the server's message and where it came from.
    auto bad = (*conn)->Query("SELECT * FROM no_such_table");
    EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(bad.status().message().find("no_such_table"), std::string::npos);
    EXPECT_NE(bad.status().message().find("/harness"), std::string::npos) << bad.status().ToString();
  }
  EXPECT_FALSE(std::filesystem::exists(dir)) << "the server's folder is removed when it stops";
}

}  // namespace
}  // namespace trialcore::pg
