#include "core/merkle.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace trialcore {
namespace {

namespace fs = std::filesystem;
const fs::path kVectors = fs::path(TRIALCORE_SHARED_DATA) / "merkle-rfc6962";

// The vectors hold sizes up to 2^64-1, beyond trialcore's int64 JSON values,
// so they are read with nlohmann directly.
nlohmann::json LoadJson(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

std::string B64(const nlohmann::json& v) {
  if (!v.is_string()) return "";
  auto r = FromBase64(v.get<std::string>());
  return r.ok() ? *r : std::string("not base64");
}

std::vector<std::string> Proof(const nlohmann::json& v) {
  std::vector<std::string> out;
  if (!v.is_array()) return out;
  for (const auto& e : v) out.push_back(B64(e));
  return out;
}

std::vector<fs::path> VectorFiles(const char* dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(kVectors / dir)) {
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// RFC 6962's reference tree: the eight leaves used by every implementation's tests.
std::vector<Hash> ReferenceLeaves() {
  const std::vector<std::string> data = {"",
                                         std::string(1, '\0'),
                                         "\x10",
                                         "\x20\x21",
                                         "\x30\x31",
                                         "\x40\x41\x42\x43",
                                         "\x50\x51\x52\x53\x54\x55\x56\x57",
                                         "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"};
  std::vector<Hash> leaves;
  for (const auto& d : data) leaves.push_back(MerkleLeafHash(d));
  return leaves;
}

TEST(MerkleTest, EveryInclusionVectorIsJudgedAsExpected) {
  int happy = 0, refused = 0;
  for (const auto& path : VectorFiles("inclusion")) {
    auto v = LoadJson(path);
    Status s = VerifyMerkleInclusion(v["leafIdx"].get<uint64_t>(), v["treeSize"].get<uint64_t>(), B64(v["leafHash"]),
                                     Proof(v["proof"]), B64(v["root"]));
    bool want_err = v["wantErr"].get<bool>();
    EXPECT_EQ(!s.ok(), want_err) << path << ": " << s.ToString();
    (want_err ? refused : happy)++;
  }
  EXPECT_EQ(happy, 6);
  EXPECT_EQ(refused, 92);
}

TEST(MerkleTest, EveryConsistencyVectorIsJudgedAsExpected) {
  int happy = 0, refused = 0;
  for (const auto& path : VectorFiles("consistency")) {
    auto v = LoadJson(path);
    Status s = VerifyMerkleConsistency(v["size1"].get<uint64_t>(), v["size2"].get<uint64_t>(), Proof(v["proof"]),
                                       B64(v["root1"]), B64(v["root2"]));
    bool want_err = v["wantErr"].get<bool>();
    EXPECT_EQ(!s.ok(), want_err) << path << ": " << s.ToString();
    (want_err ? refused : happy)++;
  }
  EXPECT_EQ(happy, 6);
  EXPECT_EQ(refused, 92);
}

TEST(MerkleTest, EverySubtreeInclusionVectorIsJudgedAsExpected) {
  int happy = 0, refused = 0;
  for (const auto& path : VectorFiles("subtreeinclusion")) {
    auto v = LoadJson(path);
    Status s =
        VerifyMerkleSubtreeInclusion(v["leafIdx"].get<uint64_t>(), v["start"].get<uint64_t>(), v["end"].get<uint64_t>(),
                                     B64(v["leafHash"]), Proof(v["proof"]), B64(v["root"]));
    bool want_err = v["wantErr"].get<bool>();
    EXPECT_EQ(!s.ok(), want_err) << path << ": " << s.ToString();
    (want_err ? refused : happy)++;
  }
  EXPECT_EQ(happy, 12);
  EXPECT_EQ(refused, 192);
}

TEST(MerkleTest, EverySubtreeConsistencyVectorIsJudgedAsExpected) {
  int happy = 0, refused = 0;
  for (const auto& path : VectorFiles("subtreeconsistency")) {
    auto v = LoadJson(path);
    Status s =
        VerifyMerkleSubtreeConsistency(v["start"].get<uint64_t>(), v["end"].get<uint64_t>(), v["size"].get<uint64_t>(),
                                       Proof(v["proof"]), B64(v["root1"]), B64(v["root2"]));
    bool want_err = v["wantErr"].get<bool>();
    EXPECT_EQ(!s.ok(), want_err) << path << ": " << s.ToString();
    (want_err ? refused : happy)++;
  }
  EXPECT_EQ(happy, 12);
  EXPECT_EQ(refused, 106);
}

TEST(MerkleTest, SubtreeProofsVerifyForEveryValidSubtreeUpTo40Leaves) {
  std::vector<Hash> leaves;
  for (int i = 0; i < 40; ++i) leaves.push_back(MerkleLeafHash("leaf " + std::to_string(i)));
  int checked = 0;
  for (uint64_t n = 1; n <= leaves.size(); ++n) {
    auto tree = std::span(leaves).first(n);
    Hash root = MerkleRoot(tree);
    for (uint64_t start = 0; start < n; ++start) {
      for (uint64_t end = start + 1; end <= n; ++end) {
        if (!IsValidMerkleSubtree(start, end)) continue;
        Hash sub = MerkleRoot(tree.subspan(start, end - start));
        std::vector<std::string> proof;
        for (const auto& h : MerkleSubtreeConsistencyProof(tree, start, end)) proof.emplace_back(AsBytes(h));
        ASSERT_TRUE(VerifyMerkleSubtreeConsistency(start, end, n, proof, AsBytes(sub), AsBytes(root)).ok())
            << "[" << start << ", " << end << ") in " << n;
        Hash forged = sub;
        forged[5] ^= 1;
        EXPECT_FALSE(VerifyMerkleSubtreeConsistency(start, end, n, proof, AsBytes(forged), AsBytes(root)).ok());
        if (!proof.empty()) {
          proof.back()[0] ^= 1;
          EXPECT_FALSE(VerifyMerkleSubtreeConsistency(start, end, n, proof, AsBytes(sub), AsBytes(root)).ok());
        }
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 500);
}

TEST(MerkleTest, RootAndProofsOfTheReferenceTreeMatchTheVectors) {
  auto leaves = ReferenceLeaves();
  EXPECT_EQ(ToHex(MerkleRoot(leaves)), "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
  auto incl = LoadJson(kVectors / "inclusion/4/happy-path.json");
  auto idx = incl["leafIdx"].get<uint64_t>();
  auto size = incl["treeSize"].get<uint64_t>();
  auto proof = MerkleInclusionProof(std::span(leaves).first(size), idx);
  auto want = Proof(incl["proof"]);
  ASSERT_EQ(proof.size(), want.size());
  for (size_t i = 0; i < proof.size(); ++i) EXPECT_EQ(std::string(AsBytes(proof[i])), want[i]);

  auto cons = LoadJson(kVectors / "consistency/3/happy-path.json");
  auto s1 = cons["size1"].get<uint64_t>();
  auto s2 = cons["size2"].get<uint64_t>();
  auto cproof = MerkleConsistencyProof(std::span(leaves).first(s2), s1);
  auto cwant = Proof(cons["proof"]);
  ASSERT_EQ(cproof.size(), cwant.size());
  for (size_t i = 0; i < cproof.size(); ++i) EXPECT_EQ(std::string(AsBytes(cproof[i])), cwant[i]);
}

TEST(MerkleTest, GeneratedProofsVerifyForEveryShapeUpTo70Leaves) {
  std::vector<Hash> leaves;
  for (int i = 0; i < 70; ++i) leaves.push_back(MerkleLeafHash("leaf " + std::to_string(i)));
  MerkleAccumulator acc;
  for (uint64_t n = 1; n <= leaves.size(); ++n) {
    auto tree = std::span(leaves).first(n);
    Hash root = MerkleRoot(tree);
    acc.Add(leaves[n - 1]);
    ASSERT_EQ(acc.Root(), root) << n;
    for (uint64_t i = 0; i < n; ++i) {
      std::vector<std::string> proof;
      for (const auto& h : MerkleInclusionProof(tree, i)) proof.emplace_back(AsBytes(h));
      ASSERT_TRUE(VerifyMerkleInclusion(i, n, AsBytes(leaves[i]), proof, AsBytes(root)).ok()) << i << "/" << n;
      // The same proof must not prove a neighbour.
      if (n > 1) {
        EXPECT_FALSE(VerifyMerkleInclusion(i, n, AsBytes(leaves[(i + 1) % n]), proof, AsBytes(root)).ok());
      }
    }
    for (uint64_t m = 1; m <= n; ++m) {
      std::vector<std::string> proof;
      for (const auto& h : MerkleConsistencyProof(tree, m)) proof.emplace_back(AsBytes(h));
      Hash old_root = MerkleRoot(tree.first(m));
      ASSERT_TRUE(VerifyMerkleConsistency(m, n, proof, AsBytes(old_root), AsBytes(root)).ok()) << m << "->" << n;
      if (m < n) {
        Hash forged = old_root;
        forged[0] ^= 1;
        EXPECT_FALSE(VerifyMerkleConsistency(m, n, proof, AsBytes(forged), AsBytes(root)).ok());
      }
    }
  }
}

}  // namespace
TEST(MerkleTest, AddingAlignedSubtreesEqualsAddingTheirLeaves) {
  std::vector<Hash> leaves;
  for (int i = 0; i < 100; ++i) leaves.push_back(MerkleLeafHash("leaf " + std::to_string(i)));
  for (size_t level = 0; level <= 4; ++level) {
    const size_t width = size_t{1} << level;
    MerkleAccumulator acc;
    // Single leaves up to an aligned start, then whole subtrees, then leaves again.
    size_t i = 0;
    for (; i < 3 * width + 1 && i < leaves.size(); ++i) acc.Add(leaves[i]);
    for (; i % width != 0; ++i) acc.Add(leaves[i]);
    for (; i + width <= 80; i += width) {
      acc.AddSubtree(MerkleRoot(std::span(leaves).subspan(i, width)), level);
      ASSERT_EQ(acc.Root(), MerkleRoot(std::span(leaves).first(i + width))) << level << " " << i;
    }
    for (; i < leaves.size(); ++i) acc.Add(leaves[i]);
    EXPECT_EQ(acc.size(), leaves.size());
    EXPECT_EQ(acc.Root(), MerkleRoot(leaves)) << level;
  }
}

}  // namespace trialcore
