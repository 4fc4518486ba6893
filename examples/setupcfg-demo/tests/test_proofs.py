"""Inclusion proofs over a large tree."""

import pytest

from merkle import MerkleTree, chunk, verify_proof


@pytest.fixture
def tree_and_parts(blob):
    parts = chunk(blob, 64)
    return MerkleTree(parts), parts


def test_every_sampled_leaf_proves(tree_and_parts):
    tree, parts = tree_and_parts
    for i in range(0, len(parts), 997):
        assert verify_proof(parts[i], tree.proof(i), tree.root)


def test_proof_fails_for_other_content(tree_and_parts):
    tree, parts = tree_and_parts
    assert not verify_proof(parts[1], tree.proof(0), tree.root)


def test_proof_fails_against_other_root(tree_and_parts, blob):
    tree, parts = tree_and_parts
    other = MerkleTree(chunk(blob[::-1], 64))
    assert not verify_proof(parts[5], tree.proof(5), other.root)


def test_proof_length_is_tree_depth(tree_and_parts):
    tree, _ = tree_and_parts
    assert len(tree.proof(12_345)) == len(tree.levels) - 1


def test_out_of_range_index(tree_and_parts):
    tree, parts = tree_and_parts
    with pytest.raises(IndexError):
        tree.proof(len(parts))
