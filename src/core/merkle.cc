#include "core/merkle.h"

#include <algorithm>
#include <cstring>

namespace trialcore {
namespace {

// Largest power of two strictly less than n (n >= 2).
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while ((k << 1) < n) k <<= 1;
  return k;
}

void SubProof(std::span<const Hash> d, uint64_t m, bool complete, std::vector<Hash>* out) {
  const uint64_t n = d.size();
  if (m == n) {
    if (!complete) out->push_back(MerkleRoot(d));
    return;
  }
  uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(d.subspan(0, k), m, complete, out);
    out->push_back(MerkleRoot(d.subspan(k)));
  } else {
    SubProof(d.subspan(k), m - k, false, out);
    out->push_back(MerkleRoot(d.subspan(0, k)));
  }
}

Hash NodeFromBytes(std::string_view left, std::string_view right) {
  char buf[65];
  buf[0] = 0x01;
  std::memcpy(buf + 1, left.data(), 32);
  std::memcpy(buf + 33, right.data(), 32);
  return Sha256Concat(std::string_view(buf, 65), {});
}

Status CheckProofShape(std::span<const std::string> proof) {
  for (size_t i = 0; i < proof.size(); ++i) {
    if (proof[i].size() != 32) {
      return DataLoss("proof element " + std::to_string(i) + " has " + std::to_string(proof[i].size()) +
                      " bytes, expected 32");
    }
  }
  return Status::Ok();
}

bool SameHash(const Hash& h, std::string_view bytes) {
  return bytes.size() == 32 && std::memcmp(h.data(), bytes.data(), 32) == 0;
}

}  // namespace

Hash MerkleLeafHash(std::string_view leaf_data) {
  static const char kPrefix = 0x00;
  return Sha256Concat(std::string_view(&kPrefix, 1), leaf_data);
}

Hash MerkleNodeHash(const Hash& left, const Hash& right) { return NodeFromBytes(AsBytes(left), AsBytes(right)); }

Hash MerkleRoot(std::span<const Hash> d) {
  if (d.empty()) return Sha256("");
  if (d.size() == 1) return d[0];
  uint64_t k = SplitPoint(d.size());
  return MerkleNodeHash(MerkleRoot(d.subspan(0, k)), MerkleRoot(d.subspan(k)));
}

std::vector<Hash> MerkleInclusionProof(std::span<const Hash> d, uint64_t index) {
  std::vector<Hash> path;
  // Iterative descent from the root; siblings are collected top-down and
  // reversed, since the audit path lists them leaf-first.
  while (d.size() > 1) {
    uint64_t k = SplitPoint(d.size());
    if (index < k) {
      path.push_back(MerkleRoot(d.subspan(k)));
      d = d.subspan(0, k);
    } else {
      path.push_back(MerkleRoot(d.subspan(0, k)));
      d = d.subspan(k);
      index -= k;
    }
  }
  return {path.rbegin(), path.rend()};
}

std::vector<Hash> MerkleConsistencyProof(std::span<const Hash> d, uint64_t old_size) {
  std::vector<Hash> out;
  if (old_size == 0 || old_size > d.size()) return out;
  SubProof(d, old_size, true, &out);
  return out;
}

namespace {

// Smallest power of two >= n, or 0 when that does not fit in 64 bits.
uint64_t BitCeil(uint64_t n) {
  if (n > (uint64_t{1} << 63)) return 0;
  uint64_t k = 1;
  while (k < n) k <<= 1;
  return k;
}

int Log2(uint64_t power_of_two) {
  int level = 0;
  while ((uint64_t{1} << level) < power_of_two) ++level;
  return level;
}

// Runs the RFC 9162 §2.1.4.2 loop from a tree of m leaves to one of n leaves
// (0 < m < n), consuming proof elements from *pos until the larger tree's root
// is reached. Checks the smaller tree's hash against root1 and returns the
// larger one's.
Result<Hash> ChainConsistency(uint64_t m, uint64_t n, std::span<const std::string> proof, size_t* pos,
                              std::string_view root1) {
  std::vector<std::string_view> path;
  if ((m & (m - 1)) == 0) path.push_back(root1);
  uint64_t fn = m - 1, sn = n - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  auto next = [&]() -> Result<std::string_view> {
    if (!path.empty()) {
      std::string_view v = path.back();
      path.pop_back();
      return v;
    }
    if (*pos >= proof.size()) return DataLoss("consistency proof is shorter than expected");
    return std::string_view(proof[(*pos)++]);
  };
  TC_ASSIGN_OR_RETURN(std::string_view first, next());
  Hash fr, sr;
  std::memcpy(fr.data(), first.data(), 32);
  sr = fr;
  while (sn != 0) {
    TC_ASSIGN_OR_RETURN(std::string_view c, next());
    if ((fn & 1) || fn == sn) {
      fr = NodeFromBytes(c, AsBytes(fr));
      sr = NodeFromBytes(c, AsBytes(sr));
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeFromBytes(AsBytes(sr), c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (!SameHash(fr, root1)) return DataLoss("consistency proof does not lead to the first root hash");
  return sr;
}

// Chains an inclusion path from node at index (of a level with size nodes) to the root.
Result<Hash> ChainInclusion(uint64_t index, uint64_t size, Hash node, std::span<const std::string> proof, size_t* pos) {
  uint64_t fn = index, sn = size - 1;
  while (sn != 0) {
    if (*pos >= proof.size()) return DataLoss("inclusion proof is shorter than the tree is deep");
    std::string_view p = proof[(*pos)++];
    if ((fn & 1) || fn == sn) {
      node = NodeFromBytes(p, AsBytes(node));
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      node = NodeFromBytes(AsBytes(node), p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return node;
}

}  // namespace

Status VerifyMerkleInclusion(uint64_t index, uint64_t tree_size, std::string_view leaf_hash,
                             std::span<const std::string> proof, std::string_view root) {
  if (index >= tree_size) {
    return DataLoss("leaf index " + std::to_string(index) + " is not inside a tree of size " +
                    std::to_string(tree_size));
  }
  if (leaf_hash.size() != 32) return DataLoss("leaf hash must have 32 bytes");
  TC_RETURN_IF_ERROR(CheckProofShape(proof));
  Hash leaf;
  std::memcpy(leaf.data(), leaf_hash.data(), 32);
  size_t pos = 0;
  TC_ASSIGN_OR_RETURN(Hash top, ChainInclusion(index, tree_size, leaf, proof, &pos));
  if (pos != proof.size()) return DataLoss("inclusion proof is longer than the tree is deep");
  if (!SameHash(top, root)) return DataLoss("inclusion proof does not lead to the signed root hash");
  return Status::Ok();
}

Status VerifyMerkleConsistency(uint64_t size1, uint64_t size2, std::span<const std::string> proof,
                               std::string_view root1, std::string_view root2) {
  if (size2 < size1) {
    return DataLoss("the second tree (" + std::to_string(size2) + ") is smaller than the first (" +
                    std::to_string(size1) + ")");
  }
  TC_RETURN_IF_ERROR(CheckProofShape(proof));
  if (size1 == 0) {
    // Every tree extends the empty tree, so such a proof would prove nothing;
    // refuse it rather than give a false assurance.
    return DataLoss("a consistency proof from an empty tree proves nothing");
  }
  if (size1 == size2) {
    if (!proof.empty()) return DataLoss("trees of equal size need an empty consistency proof");
    if (root1 != root2) return DataLoss("trees of equal size have different root hashes");
    return Status::Ok();
  }
  if (proof.empty()) return DataLoss("consistency proof is empty");
  if (root1.size() != 32 || root2.size() != 32) return DataLoss("root hashes must have 32 bytes");
  size_t pos = 0;
  TC_ASSIGN_OR_RETURN(Hash second, ChainConsistency(size1, size2, proof, &pos, root1));
  if (pos != proof.size()) return DataLoss("consistency proof is longer than expected");
  if (!SameHash(second, root2)) return DataLoss("consistency proof does not lead to the second root hash");
  return Status::Ok();
}

bool IsValidMerkleSubtree(uint64_t start, uint64_t end) {
  if (start >= end) return false;
  uint64_t width = BitCeil(end - start);
  return width != 0 && start % width == 0;
}

Status VerifyMerkleSubtreeInclusion(uint64_t index, uint64_t start, uint64_t end, std::string_view leaf_hash,
                                    std::span<const std::string> proof, std::string_view subtree_root) {
  if (!IsValidMerkleSubtree(start, end)) {
    return DataLoss('[' + std::to_string(start) + ", " + std::to_string(end) + ") is not a valid subtree");
  }
  if (index < start || index >= end) return DataLoss("leaf index is outside the subtree");
  return VerifyMerkleInclusion(index - start, end - start, leaf_hash, proof, subtree_root);
}

Status VerifyMerkleSubtreeConsistency(uint64_t start, uint64_t end, uint64_t tree_size,
                                      std::span<const std::string> proof, std::string_view subtree_root,
                                      std::string_view root) {
  if (start > end || end > tree_size) return DataLoss("the subtree does not lie inside the tree");
  TC_RETURN_IF_ERROR(CheckProofShape(proof));
  if (start == end) {
    if (!proof.empty()) return DataLoss("an empty subtree needs an empty proof");
    if (!SameHash(Sha256(""), subtree_root)) return DataLoss("an empty subtree's hash must be the empty hash");
    return Status::Ok();
  }
  if (!IsValidMerkleSubtree(start, end)) {
    return DataLoss('[' + std::to_string(start) + ", " + std::to_string(end) + ") is not a valid subtree");
  }
  if (subtree_root.size() != 32 && !(start == 0 && end == tree_size)) {
    return DataLoss("root hashes must have 32 bytes");
  }
  if (start == 0 && end == tree_size) {
    if (!proof.empty()) return DataLoss("trees of equal size need an empty consistency proof");
    if (subtree_root != root) return DataLoss("trees of equal size have different root hashes");
    return Status::Ok();
  }
  // The subtree sits in the node [start, start + width) at this level; first
  // prove the subtree inside that node, then the node inside the tree.
  const uint64_t width = BitCeil(end - start);
  const int level = Log2(width);
  const uint64_t m = end - start;
  const uint64_t node_leaves = std::min(width, tree_size - start);
  size_t pos = 0;
  Hash node;
  if (m == node_leaves) {
    std::memcpy(node.data(), subtree_root.data(), 32);
  } else {
    TC_ASSIGN_OR_RETURN(node, ChainConsistency(m, node_leaves, proof, &pos, subtree_root));
  }
  TC_ASSIGN_OR_RETURN(Hash top, ChainInclusion(start >> level, ((tree_size - 1) >> level) + 1, node, proof, &pos));
  if (pos != proof.size()) return DataLoss("consistency proof is longer than expected");
  if (!SameHash(top, root)) return DataLoss("consistency proof does not lead to the tree's root hash");
  return Status::Ok();
}

std::vector<Hash> MerkleSubtreeConsistencyProof(std::span<const Hash> d, uint64_t start, uint64_t end) {
  std::vector<Hash> out;
  if (start >= end || end > d.size()) return out;
  if (start == 0 && end == d.size()) return out;
  const uint64_t width = BitCeil(end - start);
  const uint64_t node_leaves = std::min<uint64_t>(width, d.size() - start);
  if (end - start < node_leaves) out = MerkleConsistencyProof(d.subspan(start, node_leaves), end - start);
  std::vector<Hash> level;
  for (uint64_t i = 0; i < d.size(); i += width)
    level.push_back(MerkleRoot(d.subspan(i, std::min<uint64_t>(width, d.size() - i))));
  for (const auto& h : MerkleInclusionProof(level, start / width)) out.push_back(h);
  return out;
}

void MerkleAccumulator::Add(const Hash& leaf_hash) { AddSubtree(leaf_hash, 0); }

void MerkleAccumulator::AddSubtree(const Hash& subtree_root, size_t level) {
  Hash h = subtree_root;
  const uint64_t added = uint64_t{1} << level;
  while (size_ & (uint64_t{1} << level)) {
    h = MerkleNodeHash(levels_[level], h);
    ++level;
  }
  if (levels_.size() <= level) levels_.resize(level + 1);
  levels_[level] = h;
  size_ += added;
}

Hash MerkleAccumulator::Root() const {
  if (size_ == 0) return Sha256("");
  bool have = false;
  Hash r{};
  for (size_t level = 0; level < 64; ++level) {
    if (!(size_ & (uint64_t{1} << level))) continue;
    r = have ? MerkleNodeHash(levels_[level], r) : levels_[level];
    have = true;
  }
  return r;
}

}  // namespace trialcore
