#include "store/audit.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <tuple>

#include "core/canonical.h"
#include "core/merkle.h"
#include "core/test_env.h"
#include "store/sqlite/sqlite_event_store.h"
#include "store/test_util.h"

namespace trialcore {
namespace {

using testing_util::ItemSet;
using testing_util::One;
using testing_util::TempDbPath;

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = TempDbPath(::testing::UnitTest::GetInstance()->current_test_info()->name());
    store_ = std::move(OpenSqliteEventStore(path_).value());
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(
          store_->Append(One("S", ItemSet(std::to_string(i % 4), "I" + std::to_string(i), std::to_string(i)))).ok());
    }
    key_ = std::make_unique<SigningKey>(std::move(SigningKey::LoadOrCreate(&key_env_, "/key.pem").value()));
  }

  void Sql(const std::string& sql) {
    sqlite3* db;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_close(db);
  }

  // Recomputes every hash and link of study S from its columns, as a forger
  // who rewrote a row would: only the checks on the record itself can then
  // find what was changed.
  void Rehash() {
    sqlite3* db;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* read;
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "SELECT seq, study, stream, stream_version, study_index, type, time_us, actor_user, "
                                 "actor_role, reason, payload FROM events WHERE study = 'S' ORDER BY study_index",
                                 -1, &read, nullptr),
              SQLITE_OK);
    std::vector<std::pair<int64_t, std::pair<Hash, Hash>>> rows;
    Hash prev{};
    while (sqlite3_step(read) == SQLITE_ROW) {
      auto text = [&](int col) {
        return std::string(reinterpret_cast<const char*>(sqlite3_column_blob(read, col)),
                           static_cast<size_t>(sqlite3_column_bytes(read, col)));
      };
      std::string study = text(1), stream = text(2), type = text(5), user = text(7), role = text(8), reason = text(9),
                  payload = text(10);
      RecordFields f{static_cast<uint64_t>(sqlite3_column_int64(read, 0)),
                     study,
                     stream,
                     static_cast<uint64_t>(sqlite3_column_int64(read, 3)),
                     static_cast<uint64_t>(sqlite3_column_int64(read, 4)),
                     type,
                     sqlite3_column_int64(read, 6),
                     user,
                     role,
                     reason};
      std::string record;
      EncodeEventRecord(f, payload, &record);
      Hash h = ChainHash(prev, record);
      rows.push_back({sqlite3_column_int64(read, 0), {prev, h}});
      prev = h;
    }
    sqlite3_finalize(read);
    for (const auto& [seq, hashes] : rows) {
      sqlite3_stmt* write;
      ASSERT_EQ(
          sqlite3_prepare_v2(db, "UPDATE events SET prev_hash = ?1, hash = ?2 WHERE seq = ?3", -1, &write, nullptr),
          SQLITE_OK);
      sqlite3_bind_blob(write, 1, hashes.first.data(), 32, SQLITE_TRANSIENT);
      sqlite3_bind_blob(write, 2, hashes.second.data(), 32, SQLITE_TRANSIENT);
      sqlite3_bind_int64(write, 3, seq);
      ASSERT_EQ(sqlite3_step(write), SQLITE_DONE);
      sqlite3_finalize(write);
    }
    sqlite3_close(db);
  }

  // Verifies with the default options, and checks that every other split of
  // the log into ranges, read by any number of workers, finds exactly the same.
  StudyVerification Verify(const std::vector<Checkpoint>& extra = {}) {
    auto v = VerifyStudy(*store_, "S", extra, key_->public_key());
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    if (!v.ok()) return {};
    for (size_t threads : {1, 3}) {
      for (int64_t range_seqs : {1, 2, 7, 256, 1 << 20}) {
        auto w = VerifyStudy(*store_, "S", extra, key_->public_key(), {}, VerifyOptions{threads, range_seqs});
        EXPECT_TRUE(w.ok()) << w.status().ToString();
        if (!w.ok()) continue;
        std::string how = std::to_string(threads) + " workers, ranges of " + std::to_string(range_seqs);
        EXPECT_EQ(w->events, v->events) << how;
        EXPECT_EQ(w->bytes, v->bytes) << how;
        EXPECT_EQ(w->head, v->head) << how;
        EXPECT_EQ(w->root, v->root) << how;
        EXPECT_EQ(w->checkpoints_checked, v->checkpoints_checked) << how;
        EXPECT_EQ(w->problem.has_value(), v->problem.has_value()) << how;
        if (v->problem && w->problem) {
          EXPECT_EQ(w->problem->seq, v->problem->seq) << how;
          EXPECT_EQ(w->problem->study_index, v->problem->study_index) << how;
          EXPECT_EQ(w->problem->what, v->problem->what) << how;
        }
      }
    }
    return *v;
  }

  // Appends n more events to S, with an event of another study after every
  // fifth, so that ranges of sequence numbers hold gaps.
  void AppendMore(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(store_->Append(One("S", ItemSet(std::to_string(i % 4), "J" + std::to_string(i), "1"))).ok());
      if (i % 5 == 4) {
        ASSERT_TRUE(store_->Append(One("T", ItemSet("1", "K" + std::to_string(i), "1"))).ok());
      }
    }
  }

  std::string path_;
  std::unique_ptr<EventStore> store_;
  MemEnv key_env_;
  std::unique_ptr<SigningKey> key_;
};

TEST_F(AuditTest, AnUntouchedLogVerifies) {
  ASSERT_TRUE(store_->CreateCheckpoint("S", *key_).ok());
  auto v = Verify();
  EXPECT_FALSE(v.problem) << v.problem->what;
  EXPECT_EQ(v.events, 20u);
  EXPECT_EQ(v.checkpoints_checked, 1u);
  EXPECT_EQ(v.head, (*store_->Heads())[0].head_hash);
}

TEST_F(AuditTest, RangesAndMerkleBlocksOfALongLogGiveTheSignedRoots) {
  // Checkpoints before, at and after aligned blocks of 256 events, which
  // the workers hash as subtrees.
  AppendMore(236);  // 256 events in S
  ASSERT_TRUE(store_->CreateCheckpoint("S", *key_).ok());
  AppendMore(50);
  ASSERT_TRUE(store_->CreateCheckpoint("S", *key_).ok());
  AppendMore(300);
  Checkpoint last = *store_->CreateCheckpoint("S", *key_);
  auto v = Verify();
  EXPECT_FALSE(v.problem) << v.problem->what;
  EXPECT_EQ(v.events, 606u);
  EXPECT_EQ(v.checkpoints_checked, 3u);
  EXPECT_EQ(v.root, last.root_hash);
  EXPECT_EQ(v.head, (*store_->Heads())[0].head_hash);
}

TEST_F(AuditTest, AnAlteredEventInsideAMerkleBlockIsFoundInEverySplit) {
  AppendMore(600);
  ASSERT_TRUE(store_->CreateCheckpoint("S", *key_).ok());
  Sql("UPDATE events SET reason = 'forged' WHERE study = 'S' AND study_index = 300");
  auto v = Verify();
  ASSERT_TRUE(v.problem);
  EXPECT_EQ(v.problem->study_index, 300u);
  EXPECT_NE(v.problem->what.find("does not match its hash"), std::string::npos) << v.problem->what;
}

TEST_F(AuditTest, ARehashedEventInsideAMerkleBlockIsCaughtByTheCheckpointAfterIt) {
  // The last event rewritten with valid hashes: only the signed root can tell.
  AppendMore(492);  // 512 events: the checkpoint closes the second block of 256
  ASSERT_TRUE(store_->CreateCheckpoint("S", *key_).ok());
  Sql("DELETE FROM events WHERE study = 'S' AND study_index = 511");
  ASSERT_TRUE(store_->Append(One("S", ItemSet("9", "FORGED", "1"))).ok());
  auto v = Verify();
  ASSERT_TRUE(v.problem);
  EXPECT_EQ(v.problem->study_index, 511u);
  EXPECT_NE(v.problem->what.find("do not match the checkpoint"), std::string::npos) << v.problem->what;
}

TEST_F(AuditTest, OneChangedPayloadByteIsFoundAndNamed) {
  // Byte 10 of the payload lies inside the entity path; change it in place.
  Sql("UPDATE events SET payload = substr(payload, 1, 9) || X'5A' || substr(payload, 11) WHERE seq = 7");
  auto v = Verify();
  ASSERT_TRUE(v.problem);
  EXPECT_EQ(v.problem->seq, 7u);
  EXPECT_NE(v.problem->what.find("does not match its hash"), std::string::npos) << v.problem->what;
}

TEST_F(AuditTest, AChangedValueColumnIsFound) {
  Sql("UPDATE events SET reason = 'forged' WHERE seq = 3");
  auto v = Verify();
  ASSERT_TRUE(v.problem);
  EXPECT_EQ(v.problem->seq, 3u);
}

TEST_F(AuditTest, ADeletedEventIsFoundAtItsPosition) {
  Sql("DELETE FROM events WHERE seq = 5");
  auto v = Verify();
  ASSERT_TRUE(v.problem);
  EXPECT_EQ(v.problem->seq, 6u);
  EXPECT_NE(v.problem->what.find("expected the event at position 4 but found position 5"), std::string::npos)
      << v.problem->what;
}

TEST_F(AuditTest, ADeletedAndRenumberedEventBreaksTheLink) {
  Sql("DELETE FROM events WHERE seq = 5; UPDATE events SET study_index = study_index - 1 WHERE seq > 5");
  auto v = Verify();
  ASSERT_TRUE(v.problem);
  EXPECT_EQ(v.problem->seq, 6u);
}

TEST_F(AuditTest, TwoSwappedEventsAreFound) {
  // Events 8 and 9 exchange their places in the log.
  Sql("UPDATE events SET study_index = -1 WHERE seq = 8; UPDATE events SET study_index = 7 WHERE seq = 9;"
      "UPDATE events SET study_index = 8 WHERE seq = 8;");
  auto v = Verify();
  ASSERT_TRUE(v.problem);
  EXPECT_EQ(v.problem->seq, 8u);
  EXPECT_NE(v.problem->what.find("missing or out of order"), std::string::npos) << v.problem->what;
}

TEST_F(AuditTest, TwoEventsWithSwappedContentAreFound) {
  // Payload, type and time exchanged between events 11 and 12.
  Sql("CREATE TABLE t AS SELECT * FROM events WHERE seq IN (11, 12);"
      "UPDATE events SET payload = (SELECT payload FROM t WHERE seq = 12), type = (SELECT type FROM t WHERE seq = 12),"
      " time_us = (SELECT time_us FROM t WHERE seq = 12) WHERE seq = 11;"
      "UPDATE events SET payload = (SELECT payload FROM t WHERE seq = 11), type = (SELECT type FROM t WHERE seq = 11),"
      " time_us = (SELECT time_us FROM t WHERE seq = 11) WHERE seq = 12;");
  auto v = Verify();
  ASSERT_TRUE(v.problem);
  EXPECT_EQ(v.problem->seq, 11u);
}

TEST_F(AuditTest, SwappedPayloadsAreFound) {
  Sql("UPDATE events SET payload = (SELECT payload FROM events WHERE seq = 12) WHERE seq = 11");
  auto v = Verify();
  ASSERT_TRUE(v.problem);
  EXPECT_EQ(v.problem->seq, 11u);
}

TEST_F(AuditTest, ATruncatedTailBehindACheckpointIsCaughtByTheCheckpoint) {
  ASSERT_TRUE(store_->CreateCheckpoint("S", *key_).ok());
  Sql("DELETE FROM events WHERE seq > 15");
  auto v = Verify();
  ASSERT_TRUE(v.problem);
  EXPECT_EQ(v.problem->seq, 16u);
  EXPECT_NE(v.problem->what.find("covers 20 events but the log has only 15"), std::string::npos) << v.problem->what;
}

TEST_F(AuditTest, ATruncatedTailIsCaughtByACheckpointKeptElsewhereEvenIfStoredOnesAreDeleted) {
  Checkpoint kept = *store_->CreateCheckpoint("S", *key_);
  Sql("DELETE FROM events WHERE seq > 15; DELETE FROM checkpoints");
  EXPECT_FALSE(Verify().problem) << "without a checkpoint a clean truncation is undetectable";
  auto v = Verify({kept});
  ASSERT_TRUE(v.problem);
  EXPECT_NE(v.problem->what.find("events were removed from the end"), std::string::npos);
}

TEST_F(AuditTest, ARewrittenAndRehashedHistoryIsCaughtByTheCheckpoint) {
  ASSERT_TRUE(store_->CreateCheckpoint("S", *key_).ok());
  // An attacker who drops the last event and appends a new one with valid
  // hashes still cannot match the signed root.
  Sql("DELETE FROM events WHERE seq = 20");
  ASSERT_TRUE(store_->Append(One("S", ItemSet("9", "FORGED", "1"))).ok());
  auto v = Verify();
  ASSERT_TRUE(v.problem);
  EXPECT_NE(v.problem->what.find("do not match the checkpoint"), std::string::npos) << v.problem->what;
}

TEST_F(AuditTest, ACheckpointSignedByAnotherKeyIsRefused) {
  ASSERT_TRUE(store_->CreateCheckpoint("S", *key_).ok());
  MemEnv other_env(99);
  auto other = SigningKey::LoadOrCreate(&other_env, "/other.pem");
  auto v = VerifyStudy(*store_, "S", {}, other->public_key());
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->problem);
  EXPECT_NE(v->problem->what.find("signature does not verify"), std::string::npos);
}

TEST_F(AuditTest, RefusesToSignATamperedLog) {
  Sql("UPDATE events SET reason = 'forged' WHERE seq = 3");
  auto c = store_->CreateCheckpoint("S", *key_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kDataLoss);
}

TEST_F(AuditTest, InclusionAndConsistencyProofsVerifyOffline) {
  Checkpoint c1 = *store_->CreateCheckpoint("S", *key_);
  for (int i = 0; i < 13; ++i) ASSERT_TRUE(store_->Append(One("S", ItemSet("5", "J" + std::to_string(i), "1"))).ok());
  Checkpoint c2 = *store_->CreateCheckpoint("S", *key_);
  ASSERT_EQ(c2.tree_size, 33u);

  auto incl = store_->ProveInclusion(7);
  ASSERT_TRUE(incl.ok()) << incl.status().ToString();
  EXPECT_EQ(incl->checkpoint, c2);
  std::vector<std::string> path;
  for (const auto& h : incl->path) path.emplace_back(AsBytes(h));
  Hash event_hash = ChainHash(incl->event.prev_hash, incl->record);
  EXPECT_EQ(event_hash, incl->event.hash);
  EXPECT_TRUE(VerifyMerkleInclusion(incl->event.study_index, c2.tree_size, AsBytes(MerkleLeafHash(AsBytes(event_hash))),
                                    path, AsBytes(c2.root_hash))
                  .ok());

  auto cons = store_->ProveConsistency("S", c1.tree_size, c2.tree_size);
  ASSERT_TRUE(cons.ok()) << cons.status().ToString();
  std::vector<std::string> cpath;
  for (const auto& h : cons->path) cpath.emplace_back(AsBytes(h));
  EXPECT_TRUE(
      VerifyMerkleConsistency(c1.tree_size, c2.tree_size, cpath, AsBytes(c1.root_hash), AsBytes(c2.root_hash)).ok());
  EXPECT_EQ(store_->ProveConsistency("S", 3, 33).status().code(), StatusCode::kNotFound);
}

TEST_F(AuditTest, ProvingWithoutACheckpointSaysWhatToDo) {
  auto p = store_->ProveInclusion(3);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("audit checkpoint"), std::string::npos);
  EXPECT_EQ(store_->ProveInclusion(999).status().code(), StatusCode::kNotFound);
}

TEST_F(AuditTest, AuditLogShowsOldAndNewValuesWithReasons) {
  ASSERT_TRUE(store_->Append(One("S", ItemSet("1", "I1", "100", "wrong unit", "monitor.1"))).ok());
  AuditFilter f;
  f.study = "S";
  f.subject = "1";
  f.path_prefix = "subject/1/form/VS/item/I1";
  std::vector<AuditEntry> entries;
  ASSERT_TRUE(ForEachAuditEntry(*store_, f, [&](const AuditEntry& a) {
                entries.push_back(a);
                return Status::Ok();
              }).ok());
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_FALSE(entries[0].old_value);
  EXPECT_EQ(entries[0].new_value->as_int(), 1);
  EXPECT_EQ(entries[1].old_value->as_int(), 1);
  EXPECT_EQ(entries[1].new_value->as_int(), 100);
  EXPECT_EQ(entries[1].reason, "wrong unit");
  EXPECT_EQ(entries[1].actor.user, "monitor.1");

  f.path_prefix.reset();
  f.subject.reset();
  f.user = "monitor.1";
  entries.clear();
  ASSERT_TRUE(ForEachAuditEntry(*store_, f, [&](const AuditEntry& a) {
                entries.push_back(a);
                return Status::Ok();
              }).ok());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].old_value->as_int(), 1) << "old values come from the whole history, not the filtered part";
}

// Each way of corrupting one event, at the log's first event, in its middle,
// at its last, and where two ranges meet. Verify() also splits the log into
// ranges of 1, 2 and 7 sequence numbers, so every event is at a seam between
// ranges (and workers) in some split, and the first of its range in others.
struct Corruption {
  const char* name;
  const char* sql;  // with ?SEQ for the event's sequence number
  bool rehash;      // the forger also recomputed every hash and link
  const char* expected;
};

const Corruption kCorruptions[] = {
    {"one payload byte",
     "UPDATE events SET payload = substr(payload, 1, 9) || X'5A' || substr(payload, 11) WHERE seq = ?SEQ", false,
     "does not match its hash"},
    {"one hash byte",
     "UPDATE events SET hash = CASE WHEN substr(hash, 1, 1) = X'00' THEN X'01' ELSE X'00' END || substr(hash, 2) "
     "WHERE seq = ?SEQ",
     false, "does not match its hash"},
    {"one previous-hash byte",
     "UPDATE events SET prev_hash = substr(prev_hash, 1, 31) || CASE WHEN substr(prev_hash, 32) = X'AA' THEN X'AB' "
     "ELSE X'AA' END WHERE seq = ?SEQ",
     false, "link to the previous event is broken"},
    {"a record field", "UPDATE events SET stream_version = stream_version + 1000 WHERE seq = ?SEQ", false,
     "does not match its hash"},
    {"the time", "UPDATE events SET time_us = time_us + 1 WHERE seq = ?SEQ", false, "does not match its hash"},
    {"unsorted payload keys, rehashed",
     "UPDATE events SET payload = X'07000000020000000162000000000161 00' WHERE seq = ?SEQ", true,
     "not in the canonical encoding: malformed record at byte"},
    {"repeated payload keys, rehashed",
     "UPDATE events SET payload = X'070000000200000001610000000001 6100' WHERE seq = ?SEQ", true,
     "object keys not in strictly increasing order"},
    {"bad UTF-8 in the payload, rehashed",
     "UPDATE events SET payload = X'0700000001000000016105000000 02C0AF' WHERE seq = ?SEQ", true,
     "string is not valid UTF-8"},
    {"an unknown value tag, rehashed", "UPDATE events SET payload = X'070000000100000001 61 09' WHERE seq = ?SEQ", true,
     "unknown value tag 9"},
    {"a trailing payload byte, rehashed", "UPDATE events SET payload = payload || X'00' WHERE seq = ?SEQ", true,
     "1 trailing bytes after the payload"},
    {"bad UTF-8 in a text column, rehashed", "UPDATE events SET reason = CAST(X'C0AF' AS TEXT) WHERE seq = ?SEQ", true,
     "string is not valid UTF-8"},
};

class AuditCorruptionTest : public AuditTest, public ::testing::WithParamInterface<std::tuple<size_t, uint64_t>> {};

TEST_P(AuditCorruptionTest, IsFoundAndTheEventNamed) {
  const Corruption& c = kCorruptions[std::get<0>(GetParam())];
  const uint64_t seq = std::get<1>(GetParam());
  std::string sql = c.sql;
  for (size_t at; (at = sql.find("?SEQ")) != std::string::npos;) sql.replace(at, 4, std::to_string(seq));
  // Hex literals above are spaced for reading; SQL wants them unbroken.
  for (size_t at = sql.find("X'"); at != std::string::npos; at = sql.find("X'", at + 2)) {
    size_t end = sql.find('\'', at + 2);
    std::string hex = sql.substr(at + 2, end - at - 2);
    hex.erase(std::remove(hex.begin(), hex.end(), ' '), hex.end());
    sql.replace(at + 2, end - at - 2, hex);
  }
  SCOPED_TRACE(std::string(c.name) + " at seq " + std::to_string(seq));
  Sql(sql);
  if (c.rehash) Rehash();
  auto v = Verify();
  ASSERT_TRUE(v.problem);
  EXPECT_EQ(v.problem->seq, seq);
  EXPECT_EQ(v.problem->study_index, seq - 1);
  EXPECT_NE(v.problem->what.find(c.expected), std::string::npos) << v.problem->what;
}

// Seqs 1 and 20 are the log's ends, 8 the first of the second range of 7 and
// 10 the middle.
INSTANTIATE_TEST_SUITE_P(EveryKindAtEveryPlace, AuditCorruptionTest,
                         ::testing::Combine(::testing::Range<size_t>(0, std::size(kCorruptions)),
                                            ::testing::Values<uint64_t>(1, 8, 10, 20)));

TEST_F(AuditTest, ARehashedLogOfCanonicalRecordsVerifies) {
  // The forger's tool itself must not be what the corruption tests find.
  Rehash();
  EXPECT_FALSE(Verify().problem);
}

}  // namespace
}  // namespace trialcore
