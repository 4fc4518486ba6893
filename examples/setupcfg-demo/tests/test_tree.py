"""Building trees over real-sized content: every test hashes tens of thousands of leaves."""

import hashlib

import pytest

from merkle import MerkleTree, chunk, leaf_hash


def test_chunking_covers_the_data(blob):
    parts = chunk(blob, 64)
    assert b"".join(parts) == blob and len(parts) == len(blob) // 64


def test_root_is_deterministic(blob):
    assert MerkleTree(chunk(blob, 64)).root == MerkleTree(chunk(blob, 64)).root


def test_one_flipped_byte_changes_the_root(blob):
    changed = bytearray(blob)
    changed[len(blob) // 2] ^= 0xFF
    assert MerkleTree(chunk(blob, 64)).root != MerkleTree(chunk(bytes(changed), 64)).root


@pytest.mark.parametrize("size", [32, 64, 100, 128])
def test_chunk_size_changes_the_root(blob, size):
    assert MerkleTree(chunk(blob, size)).root != MerkleTree(chunk(blob, size * 2)).root


def test_odd_leaf_count_is_promoted(blob):
    parts = chunk(blob, 64)[:65_535]
    tree = MerkleTree(parts)
    assert tree.levels[1][-1] == leaf_hash(parts[-1])
    assert len(tree) == 65_535


def test_depth_is_logarithmic(blob):
    tree = MerkleTree(chunk(blob, 64))
    assert len(tree.levels) == 18


def test_reordering_leaves_changes_the_root(blob):
    parts = chunk(blob, 64)
    swapped = parts[1:2] + parts[:1] + parts[2:]
    assert MerkleTree(parts).root != MerkleTree(swapped).root


def test_matches_a_direct_computation(blob):
    parts = chunk(blob, 128)
    level = [hashlib.sha256(b"\x00" + p).digest() for p in parts]
    while len(level) > 1:
        nxt = [hashlib.sha256(b"\x01" + a + b).digest() for a, b in zip(level[::2], level[1::2])]
        level = nxt + ([level[-1]] if len(level) % 2 else [])
    assert MerkleTree(parts).root == level[0]


def test_empty_input_is_one_empty_leaf():
    assert MerkleTree(chunk(b"", 64)).root == leaf_hash(b"")


def test_bad_chunk_size():
    with pytest.raises(ValueError):
        chunk(b"abc", 0)
