"""A Merkle tree over byte chunks, RFC 6962 style.

Leaves and inner nodes are hashed with different prefixes (0x00, 0x01) so a leaf can never
be passed off as an inner node; an odd node at the end of a level is promoted unchanged.
"""

from __future__ import annotations

import hashlib
from typing import Iterable, Sequence


def chunk(data: bytes, size: int) -> list[bytes]:
    """`data` cut into chunks of `size` bytes (the last may be shorter)."""
    if size <= 0:
        raise ValueError("chunk size must be positive")
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def leaf_hash(chunk_bytes: bytes) -> bytes:
    """The hash of one leaf."""
    return hashlib.sha256(b"\x00" + chunk_bytes).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an inner node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleTree:
    """Every level of the tree, leaves first, kept so proofs are cheap."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        level = [leaf_hash(c) for c in chunks]
        if not level:
            raise ValueError("a tree needs at least one chunk")
        self.levels: list[list[bytes]] = [level]
        while len(level) > 1:
            nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
            self.levels.append(nxt)
            level = nxt

    @property
    def root(self) -> bytes:
        """The root hash."""
        return self.levels[-1][0]

    def __len__(self) -> int:
        return len(self.levels[0])

    def proof(self, index: int) -> list[tuple[str, bytes]]:
        """The sibling hashes from leaf `index` up to the root, each marked left or right."""
        if not 0 <= index < len(self):
            raise IndexError(index)
        path = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                path.append(("left" if sibling < index else "right", level[sibling]))
            index //= 2
        return path


def verify_proof(chunk_bytes: bytes, proof: Sequence[tuple[str, bytes]], root: bytes) -> bool:
    """Whether `chunk_bytes` is in the tree with this root, by the proof."""
    h = leaf_hash(chunk_bytes)
    for side, sibling in proof:
        h = node_hash(sibling, h) if side == "left" else node_hash(h, sibling)
    return h == root
