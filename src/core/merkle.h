// RFC 6962 / RFC 9162 Merkle tree hashing, audit paths and consistency proofs.
// The events of a study are the leaves: leaf i is SHA-256(0x00 || hash of the
// event at study_index i).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/hash.h"
#include "core/status.h"

namespace trialcore {

Hash MerkleLeafHash(std::string_view leaf_data);
Hash MerkleNodeHash(const Hash& left, const Hash& right);
// MTH over leaves given as leaf hashes; SHA-256("") for none.
Hash MerkleRoot(std::span<const Hash> leaf_hashes);

// PATH(index, D[n]) of RFC 6962 §2.1.1. index < leaf_hashes.size().
std::vector<Hash> MerkleInclusionProof(std::span<const Hash> leaf_hashes, uint64_t index);
// PROOF(old_size, D[n]) of RFC 6962 §2.1.2. old_size <= leaf_hashes.size().
std::vector<Hash> MerkleConsistencyProof(std::span<const Hash> leaf_hashes, uint64_t old_size);

// Verification (RFC 9162 §2.1.3.2 and §2.1.4.2). Hashes arrive as raw bytes so
// that a malformed length is refused rather than assumed. DataLoss on failure,
// with what did not match.
Status VerifyMerkleInclusion(uint64_t index, uint64_t tree_size, std::string_view leaf_hash,
                             std::span<const std::string> proof, std::string_view root);
Status VerifyMerkleConsistency(uint64_t size1, uint64_t size2, std::span<const std::string> proof,
                               std::string_view root1, std::string_view root2);

// Subtrees (as in the Merkle Tree Certificates drafts and the transparency-dev
// test vectors): the leaves [start, end), valid when non-empty and start is a
// multiple of the smallest power of two >= end - start, so that they hash as
// one node (or the right edge of one) of every tree that contains them.
bool IsValidMerkleSubtree(uint64_t start, uint64_t end);
// Proves the leaf at index lies in the subtree [start, end) whose hash is subtree_root.
Status VerifyMerkleSubtreeInclusion(uint64_t index, uint64_t start, uint64_t end, std::string_view leaf_hash,
                                    std::span<const std::string> proof, std::string_view subtree_root);
// Proves the subtree [start, end) with hash subtree_root is part of the tree
// of tree_size leaves with hash root. An empty subtree is part of every tree
// and needs an empty proof and the empty hash.
Status VerifyMerkleSubtreeConsistency(uint64_t start, uint64_t end, uint64_t tree_size,
                                      std::span<const std::string> proof, std::string_view subtree_root,
                                      std::string_view root);
// The proof VerifyMerkleSubtreeConsistency checks, for tests and tools.
std::vector<Hash> MerkleSubtreeConsistencyProof(std::span<const Hash> leaf_hashes, uint64_t start, uint64_t end);

// Computes roots of growing prefixes in O(log n) memory: after Add() of n
// leaves, Root() is MerkleRoot of those n.
class MerkleAccumulator {
 public:
  void Add(const Hash& leaf_hash);
  // Adds 2^level leaves at once, given the root of their subtree; size() must
  // be a multiple of 2^level (an aligned subtree, as a worker hashed it).
  void AddSubtree(const Hash& subtree_root, size_t level);
  Hash Root() const;
  uint64_t size() const { return size_; }

 private:
  std::vector<Hash> levels_;  // levels_[k] is meaningful when bit k of size_ is set
  uint64_t size_ = 0;
};

}  // namespace trialcore
