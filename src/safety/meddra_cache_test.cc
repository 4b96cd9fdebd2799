#include "safety/meddra_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "safety/meddra_test_util.h"
#include "store/test_store.h"

namespace trialcore::safety {
namespace {

using testing::Contains;
using testing::MeddraFiles;

class MeddraCacheTest : public testing::MeddraDirTest {
 protected:
  void SetUp() override {
    MeddraDirTest::SetUp();
    RemoveDatabases();  // a run that was stopped may have left them
    store_ = Open("a");
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    store_.reset();
    RemoveDatabases();
    MeddraDirTest::TearDown();
  }
  void RemoveDatabases() {
    for (const char* name : {"a", "b", "c"}) {
      for (const char* suffix : {".db", ".db-wal", ".db-shm"}) {
        std::filesystem::remove(dir_ + "-" + name + suffix);
      }
    }
  }

  std::unique_ptr<EventStore> Open(const std::string& name) {
    auto opened = testing_util::OpenTestStore(dir_ + "-" + name + ".db");
    EXPECT_TRUE(opened.ok()) << opened.status().message();
    return opened.ok() ? std::move(*opened) : nullptr;
  }

  // Loads files (a version of MeddraFiles::Small unless given) into store.
  void Load(EventStore& store, const MeddraFiles& files) {
    const std::string sub = dir_ + "/" + std::to_string(loads_++);
    files.Write(sub);
    auto read = ReadMeddraAscii(Env::Default(), sub);
    ASSERT_TRUE(read.ok()) << read.status().message();
    auto stored = StoreMeddraVersion(store, read->tables, read->files, Actor{"safety.1", "safety_physician"});
    ASSERT_TRUE(stored.ok()) << stored.status().message();
  }
  void Load(EventStore& store, const std::string& version) { Load(store, MeddraFiles::Small(version)); }

  std::unique_ptr<EventStore> store_;
  int loads_ = 0;
};

TEST_F(MeddraCacheTest, ASecondRequestSharesTheCoderBuiltByTheFirst) {
  Load(*store_, "27.1");
  MeddraCache cache;
  auto first = cache.Coder(*store_, "27.1");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ((*first)->dictionary().version(), "27.1");
  EXPECT_EQ((*first)->dictionary().language(), "English");
  EXPECT_TRUE((*first)->Code("Headache").coded());
  auto second = cache.Coder(*store_, "27.1");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->get(), second->get());
  // The language named, or left to the version's only one: the same coder.
  auto named = cache.Coder(*store_, "27.1", "English");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(first->get(), named->get());
  EXPECT_EQ(cache.builds(), 1u);
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(MeddraCacheTest, AVersionNotStoredIsNotFoundNamingTheStoredOnesAndIsNotRemembered) {
  MeddraCache cache;
  auto none = cache.Coder(*store_, "27.1");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(none.status().message(), "none is; load one with `trialcore meddra load`"));

  Load(*store_, "26.1");
  Load(*store_, "26.0");
  for (const std::string language : {"", "English"}) {
    auto other = cache.Coder(*store_, "27.1", language);
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.status().code(), StatusCode::kNotFound);
    EXPECT_TRUE(Contains(other.status().message(), "(loaded: 26.1 English, 26.0 English)")) << other.status().message();
  }
  auto french = cache.Coder(*store_, "26.1", "French");
  ASSERT_FALSE(french.ok());
  EXPECT_EQ(french.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(cache.builds(), 0u);
  EXPECT_EQ(cache.size(), 0u);

  // Loaded later: the next request finds it.
  Load(*store_, "27.1");
  auto now = cache.Coder(*store_, "27.1");
  ASSERT_TRUE(now.ok()) << now.status().message();
  EXPECT_EQ(cache.builds(), 1u);
}

TEST_F(MeddraCacheTest, LatestIsTheLastLoad) {
  MeddraCache cache;
  auto none = cache.Latest(*store_);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(none.status().message(), "no MedDRA version is loaded; load one with `trialcore meddra load DIR`");

  Load(*store_, "27.1");
  auto one = cache.Latest(*store_);
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(one->version, "27.1");
  // The latest load, not the highest version number.
  Load(*store_, "26.1");
  auto latest = cache.Latest(*store_);
  ASSERT_TRUE(latest.ok()) << latest.status().message();
  EXPECT_EQ(latest->version, "26.1");
  EXPECT_EQ(latest->language, "English");
  EXPECT_EQ(latest->llts, 14u);
  EXPECT_GT(latest->seq, one->seq);
  auto coder = cache.Coder(*store_, latest->version, latest->language);
  ASSERT_TRUE(coder.ok()) << coder.status().message();
  EXPECT_EQ((*coder)->dictionary().version(), "26.1");
}

TEST_F(MeddraCacheTest, TwoStoresWithTheSameVersionAreKeptApart) {
  auto other = Open("b");
  ASSERT_NE(other, nullptr);
  Load(*store_, "27.1");
  MeddraFiles more = MeddraFiles::Small("27.1");
  more.lines["llt.asc"].push_back(testing::Llt("50000099", "Head pain", "40000001", true));
  Load(*other, more);

  MeddraCache cache;
  auto a = cache.Coder(*store_, "27.1");
  auto b = cache.Coder(*other, "27.1");
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_NE(a->get(), b->get());
  EXPECT_FALSE((*a)->Code("Head pain").coded());
  EXPECT_TRUE((*b)->Code("Head pain").coded());
  EXPECT_EQ(cache.builds(), 2u);
  EXPECT_EQ(cache.Coder(*store_, "27.1")->get(), a->get());
  EXPECT_EQ(cache.Coder(*other, "27.1")->get(), b->get());
}

// A store closed and another opened in its place (often at the same address)
// gets the coder of what it holds, never the closed one's; two databases
// holding the same files share one coder.
TEST_F(MeddraCacheTest, ACoderIsOfTheFilesLoadedNotOfTheStoreObject) {
  MeddraCache cache;
  MeddraFiles more = MeddraFiles::Small("27.1");
  more.lines["llt.asc"].push_back(testing::Llt("50000099", "Head pain", "40000001", true));
  Load(*store_, more);
  auto first = cache.Coder(*store_, "27.1");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE((*first)->Code("Head pain").coded());

  store_.reset();
  store_ = Open("c");
  ASSERT_NE(store_, nullptr);
  Load(*store_, "27.1");  // the same version, other files
  auto second = cache.Coder(*store_, "27.1");
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_FALSE((*second)->Code("Head pain").coded()) << "the closed database's dictionary";
  EXPECT_EQ(cache.builds(), 2u);

  auto twin = Open("b");
  ASSERT_NE(twin, nullptr);
  Load(*twin, "27.1");
  auto shared = cache.Coder(*twin, "27.1");
  ASSERT_TRUE(shared.ok()) << shared.status().message();
  EXPECT_EQ(shared->get(), second->get());
  EXPECT_EQ(cache.builds(), 2u);
}

TEST_F(MeddraCacheTest, TheLeastRecentlyUsedVersionIsDroppedBeyondTheLimit) {
  for (const char* v : {"26.0", "26.1", "27.0"}) Load(*store_, v);
  MeddraCache cache(2);
  auto v260 = cache.Coder(*store_, "26.0");
  auto v261 = cache.Coder(*store_, "26.1");
  ASSERT_TRUE(v260.ok() && v261.ok());
  ASSERT_TRUE(cache.Coder(*store_, "26.0").ok());  // 26.1 is now the least recently used
  auto v270 = cache.Coder(*store_, "27.0");
  ASSERT_TRUE(v270.ok());
  EXPECT_EQ(cache.builds(), 3u);
  EXPECT_EQ(cache.size(), 2u);

  EXPECT_EQ(cache.Coder(*store_, "26.0")->get(), v260->get());
  EXPECT_EQ(cache.Coder(*store_, "27.0")->get(), v270->get());
  EXPECT_EQ(cache.builds(), 3u);
  // The dropped coder still serves whoever holds it; a new request builds anew.
  EXPECT_TRUE((*v261)->Code("Nausea").coded());
  auto rebuilt = cache.Coder(*store_, "26.1");
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_NE(rebuilt->get(), v261->get());
  EXPECT_EQ(cache.builds(), 4u);
  EXPECT_EQ(cache.size(), 2u);
}

TEST_F(MeddraCacheTest, ConcurrentFirstRequestsBuildOnceAndShare) {
  MeddraFiles big = MeddraFiles::Small("27.1");
  for (int i = 0; i < 3000; ++i) {
    big.lines["llt.asc"].push_back(
        testing::Llt(std::to_string(60000000 + i), "Headache variant " + std::to_string(i), "40000001", true));
  }
  Load(*store_, big);
  for (const std::string language : {"English", ""}) {
    MeddraCache cache;
    constexpr int kThreads = 8;
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<const MeddraCoder*> got(kThreads, nullptr);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        ++ready;
        while (!go) std::this_thread::yield();
        auto coder = cache.Coder(*store_, "27.1", language);
        if (coder.ok()) got[i] = coder->get();
      });
    }
    while (ready < kThreads) std::this_thread::yield();
    go = true;
    for (auto& t : threads) t.join();
    for (int i = 0; i < kThreads; ++i) {
      ASSERT_NE(got[i], nullptr) << "thread " << i << ", language '" << language << "'";
      EXPECT_EQ(got[i], got[0]) << "thread " << i;
    }
    EXPECT_EQ(cache.builds(), 1u) << "language '" << language << "'";
    EXPECT_EQ(got[0]->dictionary().llts().size(), 14u + 3000u);
  }
}

}  // namespace
}  // namespace trialcore::safety
