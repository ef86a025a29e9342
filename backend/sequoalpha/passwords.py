"""Password hashing: bcrypt over a SHA-256 pre-hash, so every byte of a long password counts.

bcrypt reads at most 72 bytes (bcrypt 5 raises beyond that); hashing the password with
SHA-256 first and base64-encoding the digest gives bcrypt a fixed 44-byte input.
"""
import base64
import hashlib
from functools import lru_cache

import bcrypt
from flask import current_app

MIN_LENGTH = 10
MAX_LENGTH = 128


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


def hash_password(password: str) -> str:
    rounds = current_app.config["BCRYPT_ROUNDS"]
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode("ascii")


def check_password(password: str, hashed: str) -> bool:
    return bcrypt.checkpw(_prehash(password), hashed.encode("ascii"))


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> str:
    return bcrypt.hashpw(b"no such user", bcrypt.gensalt(rounds)).decode("ascii")


def burn_check() -> None:
    """Spend the time of one real check, so an unknown user answers as slowly as a known one."""
    check_password("no such user either", _dummy_hash(current_app.config["BCRYPT_ROUNDS"]))
