"""merkle: content chunking, Merkle roots and inclusion proofs (SHA-256)."""

from merkle.tree import MerkleTree, chunk, leaf_hash, verify_proof

__all__ = ["MerkleTree", "chunk", "leaf_hash", "verify_proof"]
