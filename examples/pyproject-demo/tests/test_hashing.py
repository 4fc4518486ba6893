"""Hashing at the real work factor: each test derives at least one full-cost key."""

import pytest

from vaultkey import DEFAULT_ITERATIONS, hash_password, parse, verify

SALT = bytes(range(16))


def test_round_trip():
    encoded = hash_password("correct horse battery staple")
    assert verify("correct horse battery staple", encoded)


def test_wrong_password_fails():
    encoded = hash_password("hunter2", salt=SALT)
    assert not verify("hunter3", encoded)


def test_same_salt_same_hash():
    assert hash_password("s3cret", salt=SALT) == hash_password("s3cret", salt=SALT)


def test_fresh_salt_each_time():
    a, b = hash_password("s3cret"), hash_password("s3cret")
    assert parse(a).salt != parse(b).salt and a != b


def test_encoded_parameters():
    parsed = parse(hash_password("pw", salt=SALT))
    assert parsed.iterations == DEFAULT_ITERATIONS
    assert parsed.salt == SALT and len(parsed.digest) == 32


@pytest.mark.parametrize(
    "password",
    ["ünïcödé", "密码", "emoji 🔑", "x" * 1000],
)
def test_many_passwords_verify(password):
    assert verify(password, hash_password(password, salt=SALT))


def test_case_matters():
    encoded = hash_password("Password", salt=SALT)
    assert not verify("password", encoded)


def test_known_vector():
    # Computed once with hashlib directly; pins the format and the derivation together.
    encoded = hash_password("vaultkey", salt=b"\x00" * 16)
    import base64
    import hashlib

    expected = hashlib.pbkdf2_hmac("sha256", b"vaultkey", b"\x00" * 16, DEFAULT_ITERATIONS)
    assert encoded.endswith(base64.b64encode(expected).decode().rstrip("="))
