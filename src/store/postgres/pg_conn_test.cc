#include "store/postgres/pg_conn.h"

#include <gtest/gtest.h>

#include "store/postgres/test_server.h"

namespace trialcore::pg {
namespace {

class PgConnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    TestServer* server = SharedTestServer(&error);
    ASSERT_NE(server, nullptr) << error;
    static int databases = 0;
    auto url = server->CreateDatabase("conn_" + std::to_string(++databases));
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    auto conn = Conn::Connect(*url);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(*conn);
  }

  // The statements this connection holds prepared, by their text.
  std::vector<std::string> Prepared() {
    std::vector<std::string> out;
    auto rows = conn_->Query("SELECT statement FROM pg_prepared_statements ORDER BY statement");
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (!rows.ok()) return out;
    for (int i = 0; i < rows->size(); ++i) {
      std::string s(rows->Text(i, 0));
      if (s.find("pg_prepared_statements") == std::string::npos) out.push_back(s);
    }
    return out;
  }

  std::unique_ptr<Conn> conn_;
};

// A statement run again is sent as its parameters only, under the name its
// first run prepared: one prepared statement however often it runs, by
// Query and Pipeline alike; transaction control and cursors are not kept.
TEST_F(PgConnTest, AStatementRunAgainIsPreparedOnceAndReused) {
  ASSERT_TRUE(conn_->Exec("CREATE TABLE t(k int PRIMARY KEY, v text)").ok());
  for (int i = 0; i < 3; ++i) {
    auto r = conn_->Query("INSERT INTO t VALUES($1, $2)", {Param::Int(i), Param::Text("v" + std::to_string(i))});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  for (int round = 0; round < 2; ++round) {
    std::vector<Rows> results;
    Status s = conn_->Pipeline(
        {{"BEGIN", {}},
         {"SELECT v FROM t WHERE k = $1", {Param::Int(1)}},
         {"SELECT v FROM t WHERE k = $1", {Param::Int(2)}},
         {"UPDATE t SET v = $2 WHERE k = $1", {Param::Int(0), Param::Text("r" + std::to_string(round))}},
         {"COMMIT", {}}},
        &results);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_EQ(results.size(), 5u);
    EXPECT_EQ(results[1].Text(0, 0), "v1");
    EXPECT_EQ(results[2].Text(0, 0), "v2");
  }
  auto v = conn_->Query("SELECT v FROM t WHERE k = $1", {Param::Int(0)});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->Text(0, 0), "r1");
  EXPECT_EQ(Prepared(), (std::vector<std::string>{"INSERT INTO t VALUES($1, $2)", "SELECT v FROM t WHERE k = $1",
                                                  "UPDATE t SET v = $2 WHERE k = $1"}));
}

// A table made over with other columns after a statement reading it was
// prepared: the next run plans it afresh and answers with the new columns.
TEST_F(PgConnTest, AStatementOverATableMadeOverIsPlannedAfresh) {
  ASSERT_TRUE(conn_->Exec("CREATE TABLE p(a int); INSERT INTO p VALUES (1)").ok());
  auto before = conn_->Query("SELECT * FROM p WHERE a > $1", {Param::Int(0)});
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ(before->columns(), 1);
  ASSERT_TRUE(conn_->Exec("DROP TABLE p; CREATE TABLE p(a int, b text); INSERT INTO p VALUES (2, 'two')").ok());
  auto after = conn_->Query("SELECT * FROM p WHERE a > $1", {Param::Int(0)});
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  ASSERT_EQ(after->columns(), 2);
  EXPECT_EQ(after->Text(0, 1), "two");
  // In a pipeline (in a transaction, so it cannot be run again at once): the
  // run fails once, and the next one plans it afresh.
  const Statement read{"SELECT * FROM p WHERE a >= $1", {Param::Int(0)}};
  std::vector<Rows> results;
  ASSERT_TRUE(conn_->Pipeline({read}, &results).ok());
  EXPECT_EQ(results[0].columns(), 2);
  ASSERT_TRUE(
      conn_->Exec("DROP TABLE p; CREATE TABLE p(a int, b text, c text); INSERT INTO p VALUES (3, 'b', 'c')").ok());
  EXPECT_FALSE(conn_->Pipeline({{"BEGIN", {}}, read, {"COMMIT", {}}}).ok());
  ASSERT_TRUE(conn_->Exec("ROLLBACK").ok());
  Status again = conn_->Pipeline({{"BEGIN", {}}, read, {"COMMIT", {}}}, &results);
  ASSERT_TRUE(again.ok()) << again.ToString();
  ASSERT_EQ(results[1].columns(), 3);
  EXPECT_EQ(results[1].Text(0, 2), "c");
}

// A pipeline stopped by an error before a new statement's turn leaves that
// statement unprepared on the server: it must be prepared again next time,
// not run under a name the server never took.
TEST_F(PgConnTest, AStatementAPipelineNeverReachedIsPreparedNextTime) {
  ASSERT_TRUE(conn_->Exec("CREATE TABLE u(k int PRIMARY KEY)").ok());
  size_t failed_at = 99;
  Status s = conn_->Pipeline({{"BEGIN", {}},
                              {"INSERT INTO u VALUES($1)", {Param::Int(1)}},
                              {"INSERT INTO u VALUES($1)", {Param::Int(1)}},
                              {"SELECT count(*) FROM u WHERE k >= $1", {Param::Int(0)}},
                              {"COMMIT", {}}},
                             nullptr, &failed_at);
  EXPECT_EQ(s.code(), StatusCode::kAborted) << s.ToString();  // the second insert's unique violation
  EXPECT_EQ(failed_at, 2u);
  ASSERT_TRUE(conn_->Exec("ROLLBACK").ok());
  std::vector<Rows> results;
  s = conn_->Pipeline({{"SELECT count(*) FROM u WHERE k >= $1", {Param::Int(0)}}}, &results);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(results[0].Int(0, 0), 0) << "the failed transaction left nothing";
  // A prepare that itself fails (no such table) is not kept either.
  auto bad = conn_->Query("SELECT * FROM later WHERE x = $1", {Param::Int(1)});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(conn_->Exec("CREATE TABLE later(x int); INSERT INTO later VALUES (1)").ok());
  auto good = conn_->Query("SELECT * FROM later WHERE x = $1", {Param::Int(1)});
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->size(), 1);
}

}  // namespace
}  // namespace trialcore::pg
