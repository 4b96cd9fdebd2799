#include "core/merkle.h"

#include <cstring>

namespace trialcore {
namespace {

// Largest power of two strictly less than n (n >= 2).
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k << 1 < n) k <<= 1;
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

Status VerifyMerkleInclusion(uint64_t index, uint64_t tree_size, std::string_view leaf_hash,
                             std::span<const std::string> proof, std::string_view root) {
  if (index >= tree_size) {
    return DataLoss("leaf index " + std::to_string(index) + " is not inside a tree of size " + std::to_string(tree_size));
  }
  if (leaf_hash.size() != 32) return DataLoss("leaf hash must have 32 bytes");
  TC_RETURN_IF_ERROR(CheckProofShape(proof));
  uint64_t fn = index, sn = tree_size - 1;
  Hash r;
  std::memcpy(r.data(), leaf_hash.data(), 32);
  for (const auto& p : proof) {
    if (sn == 0) return DataLoss("inclusion proof is longer than the tree is deep");
    if ((fn & 1) || fn == sn) {
      r = NodeFromBytes(p, AsBytes(r));
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeFromBytes(AsBytes(r), p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return DataLoss("inclusion proof is shorter than the tree is deep");
  if (!SameHash(r, root)) return DataLoss("inclusion proof does not lead to the signed root hash");
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

  std::vector<std::string_view> path;
  if ((size1 & (size1 - 1)) == 0) path.push_back(root1);
  for (const auto& p : proof) path.push_back(p);

  uint64_t fn = size1 - 1, sn = size2 - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr, sr;
  std::memcpy(fr.data(), path[0].data(), 32);
  sr = fr;
  for (size_t i = 1; i < path.size(); ++i) {
    if (sn == 0) return DataLoss("consistency proof is longer than expected");
    const std::string_view c = path[i];
    if ((fn & 1) || fn == sn) {
      fr = NodeFromBytes(c, AsBytes(fr));
      sr = NodeFromBytes(c, AsBytes(sr));
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeFromBytes(AsBytes(sr), c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return DataLoss("consistency proof is shorter than expected");
  if (!SameHash(fr, root1)) return DataLoss("consistency proof does not lead to the first root hash");
  if (!SameHash(sr, root2)) return DataLoss("consistency proof does not lead to the second root hash");
  return Status::Ok();
}

void MerkleAccumulator::Add(const Hash& leaf_hash) {
  Hash h = leaf_hash;
  size_t level = 0;
  while (size_ & (uint64_t{1} << level)) {
    h = MerkleNodeHash(levels_[level], h);
    ++level;
  }
  if (levels_.size() <= level) levels_.resize(level + 1);
  levels_[level] = h;
  ++size_;
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
