"""Hash and verify passwords; the encoded form carries its own parameters.

Format: ``pbkdf2_sha256$<iterations>$<salt, base64>$<hash, base64>``, so the work factor can
be raised later and old hashes still verify (and report that they need a rehash).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import NamedTuple

ALGORITHM = "pbkdf2_sha256"
# The work factor is the point of the scheme: a verify must cost a noticeable fraction of a
# second, so a stolen hash table cannot be brute-forced cheaply (OWASP's figure for
# PBKDF2-HMAC-SHA256).
DEFAULT_ITERATIONS = 600_000
MIN_ITERATIONS = 100_000
SALT_BYTES = 16


class InvalidHash(ValueError):
    """The encoded hash is not in vaultkey's format."""


class Parsed(NamedTuple):
    """The parts of an encoded hash."""

    iterations: int
    salt: bytes
    digest: bytes


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _derive(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)


def hash_password(
    password: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None
) -> str:
    """The encoded hash of `password`, with a fresh random salt unless one is given."""
    if iterations < MIN_ITERATIONS:
        raise ValueError(f"iterations must be at least {MIN_ITERATIONS}")
    if not password:
        raise ValueError("empty password")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = _derive(password, salt, iterations)
    return f"{ALGORITHM}${iterations}${_b64(salt)}${_b64(digest)}"


def parse(encoded: str) -> Parsed:
    """Split an encoded hash into its parameters; `InvalidHash` when it is malformed."""
    parts = encoded.split("$")
    if len(parts) != 4 or parts[0] != ALGORITHM:
        raise InvalidHash("not a pbkdf2_sha256 hash")
    try:
        iterations = int(parts[1])
        salt, digest = _unb64(parts[2]), _unb64(parts[3])
    except ValueError as err:
        raise InvalidHash(str(err)) from err
    if iterations < 1 or len(digest) != 32:
        raise InvalidHash("bad iterations or digest length")
    return Parsed(iterations, salt, digest)


def verify(password: str, encoded: str) -> bool:
    """Whether `password` matches; constant-time in the digest comparison."""
    parsed = parse(encoded)
    candidate = _derive(password, parsed.salt, parsed.iterations)
    return hmac.compare_digest(candidate, parsed.digest)


def needs_rehash(encoded: str, iterations: int = DEFAULT_ITERATIONS) -> bool:
    """Whether the hash was made with fewer iterations than wanted now."""
    return parse(encoded).iterations < iterations
