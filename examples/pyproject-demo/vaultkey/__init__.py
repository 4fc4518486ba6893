"""vaultkey: PBKDF2-SHA256 password hashes in a self-describing text format."""

from vaultkey.hashing import (
    DEFAULT_ITERATIONS,
    InvalidHash,
    hash_password,
    needs_rehash,
    parse,
    verify,
)

__all__ = ["DEFAULT_ITERATIONS", "InvalidHash", "hash_password", "needs_rehash", "parse", "verify"]
