#include "safety/meddra_store.h"

#include <gtest/gtest.h>

#include "safety/meddra_coder.h"
#include "safety/meddra_demo.h"
#include "safety/meddra_test_util.h"
#include "store/audit.h"
#include "store/test_store.h"

namespace trialcore::safety {
namespace {

using testing::Contains;
using testing::MeddraFiles;

class MeddraStoreTest : public testing::MeddraDirTest {
 protected:
  void SetUp() override {
    MeddraDirTest::SetUp();
    auto opened = testing_util::OpenTestStore(dir_ + ".db");
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove(dir_ + ".db");
    std::filesystem::remove(dir_ + ".db-wal");
    std::filesystem::remove(dir_ + ".db-shm");
    MeddraDirTest::TearDown();
  }

  Result<MeddraAsciiRead> Read(const MeddraFiles& files, const std::string& sub = "d") {
    files.Write(dir_ + "/" + sub);
    return ReadMeddraAscii(Env::Default(), dir_ + "/" + sub);
  }

  Result<MeddraVersionInfo> Store(const MeddraFiles& files, const std::string& sub = "d") {
    auto read = Read(files, sub);
    if (!read.ok()) return read.status();
    return StoreMeddraVersion(*store_, read->tables, read->files, Actor{"safety.1", "safety_physician"});
  }

  uint64_t Events() {
    auto heads = store_->Heads();
    EXPECT_TRUE(heads.ok());
    uint64_t n = 0;
    for (const auto& h : *heads) n += h.size;
    return n;
  }

  std::unique_ptr<EventStore> store_;
};

TEST_F(MeddraStoreTest, AStoredVersionReadsBackAsTheSameDictionaryWithItsFilesDigests) {
  auto info = Store(MeddraFiles::Small());
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->version, "27.1");
  EXPECT_EQ(info->language, "English");
  EXPECT_EQ(info->llts, 14u);
  EXPECT_EQ(info->pts, 5u);
  EXPECT_EQ(info->loaded_by.user, "safety.1");
  ASSERT_EQ(info->files.size(), 10u);  // nine tables and the release file
  auto text = Env::Default()->ReadFileToString(dir_ + "/d/llt.asc");
  ASSERT_TRUE(text.ok());
  bool found = false;
  for (const auto& f : info->files) {
    if (f.name != "llt.asc") continue;
    found = true;
    EXPECT_EQ(f.sha256, ToHex(Sha256(*text)));
    EXPECT_EQ(f.bytes, text->size());
  }
  EXPECT_TRUE(found);

  auto tables = ReadStoredMeddra(*store_, "27.1");
  ASSERT_TRUE(tables.ok()) << tables.status().message();
  auto from_store = MeddraDictionary::Build(*tables);
  auto from_files = LoadMeddraAscii(Env::Default(), dir_ + "/d");
  ASSERT_TRUE(from_store.ok()) << from_store.status().message();
  ASSERT_TRUE(from_files.ok());
  ASSERT_EQ(from_store->llts().size(), from_files->llts().size());
  for (size_t i = 0; i < from_files->llts().size(); ++i) {
    EXPECT_EQ(from_store->llts()[i].code, from_files->llts()[i].code);
    EXPECT_EQ(from_store->llts()[i].name, from_files->llts()[i].name);
    EXPECT_EQ(from_store->llts()[i].pt, from_files->llts()[i].pt);
    EXPECT_EQ(from_store->llts()[i].current, from_files->llts()[i].current);
  }
  ASSERT_EQ(from_store->pts().size(), from_files->pts().size());
  for (size_t i = 0; i < from_files->pts().size(); ++i) {
    EXPECT_EQ(from_store->pts()[i].paths, from_files->pts()[i].paths) << from_files->pts()[i].name;
  }
  // The stored copy codes as the files do, accents included.
  MeddraCoder coder(std::make_shared<const MeddraDictionary>(std::move(*from_store)));
  auto coded = coder.Code("eruption cutanee");
  ASSERT_TRUE(coded.coded());
  EXPECT_EQ(coded.coding.llt.code, 50000002u);
  EXPECT_EQ(coded.coding.soc.code, 10000003u);
}

TEST_F(MeddraStoreTest, ALargeTableIsSplitOverSeveralEventsAndJoinedInOrder) {
  MeddraFiles files = MeddraFiles::Small();
  const size_t extra = kMeddraRowsPerEvent * 2 + 17;
  for (size_t i = 0; i < extra; ++i) {
    files.lines["llt.asc"].push_back(
        testing::Llt(std::to_string(60000000 + i), "Headache variant " + std::to_string(i), "40000001", true));
  }
  auto info = Store(files);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->llts, 14u + extra);
  auto tables = ReadStoredMeddra(*store_, "27.1", "English");
  ASSERT_TRUE(tables.ok()) << tables.status().message();
  ASSERT_EQ(tables->llts.size(), 14u + extra);
  EXPECT_EQ(tables->llts.back().name, "Headache variant " + std::to_string(extra - 1));
  EXPECT_EQ(tables->llts.back().line, 14u + extra);
}

TEST_F(MeddraStoreTest, AVersionIsLoadedOnceAndSeveralLiveSideBySide) {
  ASSERT_TRUE(Store(MeddraFiles::Small("27.0"), "a").ok());
  ASSERT_TRUE(Store(MeddraFiles::Small("27.1"), "b").ok());
  const uint64_t before = Events();
  auto again = Store(MeddraFiles::Small("27.1"), "c");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(Contains(again.status().message(), "MedDRA 27.1 English was loaded on "));
  EXPECT_TRUE(Contains(again.status().message(), "by safety.1"));
  EXPECT_EQ(Events(), before) << "nothing of the refused load is stored";

  auto versions = ListMeddraVersions(*store_);
  ASSERT_TRUE(versions.ok()) << versions.status().message();
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0].version, "27.0");
  EXPECT_EQ((*versions)[1].version, "27.1");
  EXPECT_LT((*versions)[0].seq, (*versions)[1].seq);
}

TEST_F(MeddraStoreTest, RowsThatDoNotBuildAreRefusedAndNothingIsStored) {
  MeddraFiles files = MeddraFiles::Small();
  files.lines["llt.asc"].push_back(testing::Llt("50000099", "Orphan", "49999999", true));
  auto stored = Store(files);
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(stored.status().message(), "49999999")) << stored.status().message();
  EXPECT_EQ(Events(), 0u);
}

TEST_F(MeddraStoreTest, AVersionThatCannotNameAStreamIsRefused) {
  auto read = Read(MeddraFiles::Small());
  ASSERT_TRUE(read.ok());
  read->tables.version = "27.1/../x";
  auto stored = StoreMeddraVersion(*store_, read->tables, read->files, Actor{"safety.1", "safety_physician"});
  ASSERT_FALSE(stored.ok());
  EXPECT_TRUE(Contains(stored.status().message(), "the MedDRA version '27.1/../x' may hold only"));
  EXPECT_EQ(Events(), 0u);
}

TEST_F(MeddraStoreTest, AnUnknownVersionNamesTheLoadedOnes) {
  auto none = ReadStoredMeddra(*store_, "27.1");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(none.status().message(), "none is; load one with `trialcore meddra load`"));
  ASSERT_TRUE(Store(MeddraFiles::Small("26.1")).ok());
  auto other = ReadStoredMeddra(*store_, "27.1");
  ASSERT_FALSE(other.ok());
  EXPECT_TRUE(Contains(other.status().message(), "MedDRA 27.1 is not loaded (loaded: 26.1 English)"));
}

TEST_F(MeddraStoreTest, TheLoadIsPartOfTheVerifiableLog) {
  ASSERT_TRUE(Store(MeddraFiles::Small()).ok());
  auto verified = VerifyStudy(*store_, kMeddraLog, {}, std::nullopt, {}, {});
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_FALSE(verified->problem.has_value());
  EXPECT_EQ(verified->events, Events());
}

TEST_F(MeddraStoreTest, TheDemoDictionaryIsStoredWithTheDigestsOfItsTablesText) {
  const MeddraTables demo = DemoMeddraTables();
  const auto files = MeddraTablesFiles(demo);
  auto info = StoreMeddraVersion(*store_, demo, files, Actor{"demo", "system"});
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->version, "90.0");
  EXPECT_EQ(info->language, "en");
  EXPECT_EQ(info->llts, demo.llts.size());
  EXPECT_EQ(info->pts, demo.pts.size());
  EXPECT_EQ(info->files, files);

  auto tables = ReadStoredMeddra(*store_, "90.0");
  ASSERT_TRUE(tables.ok()) << tables.status().message();
  EXPECT_EQ(MeddraTablesFiles(*tables), files) << "the stored rows are the rows whose text was digested";
  auto built = MeddraDictionary::Build(std::move(*tables));
  ASSERT_TRUE(built.ok()) << built.status().message();
  MeddraCoder coder(std::make_shared<const MeddraDictionary>(std::move(*built)));
  auto fainting = coder.Code("Fainting");
  ASSERT_TRUE(fainting.coded());
  EXPECT_EQ(fainting.coding.pt.name, "Syncope");
}

}  // namespace
}  // namespace trialcore::safety
