"""Parameters and upgrades: parsing, rehash decisions, refusing weak settings."""

import pytest

from vaultkey import DEFAULT_ITERATIONS, InvalidHash, hash_password, needs_rehash, parse, verify


def test_old_hash_needs_rehash_but_still_verifies():
    old = hash_password("legacy", iterations=150_000)
    assert needs_rehash(old)
    assert verify("legacy", old)


def test_current_hash_needs_no_rehash():
    assert not needs_rehash(hash_password("current"))


def test_stronger_target_asks_for_rehash():
    assert needs_rehash(hash_password("current"), iterations=DEFAULT_ITERATIONS * 2)


def test_weak_iterations_are_refused():
    with pytest.raises(ValueError, match="at least"):
        hash_password("pw", iterations=1_000)


def test_empty_password_is_refused():
    with pytest.raises(ValueError, match="empty"):
        hash_password("")


def test_malformed_hashes_are_rejected():
    for encoded in ["", "md5$1$abc$def", "pbkdf2_sha256$x$AAAA$AAAA", "pbkdf2_sha256$10$!!!$AAAA"]:
        with pytest.raises(InvalidHash):
            parse(encoded)


def test_tampered_digest_fails():
    encoded = hash_password("pw")
    head, digest = encoded.rsplit("$", 1)
    flipped = ("B" if digest[0] == "A" else "A") + digest[1:]
    assert not verify("pw", f"{head}${flipped}")
