"""Password hashing: bcrypt over a SHA-256 pre-hash, so every byte of a long password counts.

bcrypt reads at most 72 bytes (bcrypt 5 raises beyond that); hashing the password with
SHA-256 first and base64-encoding the digest gives bcrypt a fixed 44-byte input.

bcrypt runs in a helper thread of lower CPU priority (nice +10): when logins saturate the
cores, the rest of the API (a listing, a download) is scheduled first instead of sharing the
CPU equally with hashing. Idle cores still hash at full speed. bcrypt releases the GIL, so the
request thread just waits for the result.
"""

import base64
import contextlib
import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import bcrypt
from flask import current_app

MIN_LENGTH = 10
MAX_LENGTH = 128


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


HASHING_NICE = 10
_hashing: tuple[int, ThreadPoolExecutor] | None = None


def _lower_priority() -> None:
    # On Linux the nice value belongs to the thread: only this one is lowered.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICE)


def _in_hashing_thread(fn, *args):
    """Run fn(*args) in this process's low-priority hashing thread (made after a fork)."""
    global _hashing
    if _hashing is None or _hashing[0] != os.getpid():  # Gunicorn forks: threads do not follow
        _hashing = (os.getpid(), ThreadPoolExecutor(4, "bcrypt", initializer=_lower_priority))
    return _hashing[1].submit(fn, *args).result()


def hash_password(password: str) -> str:
    rounds = current_app.config["BCRYPT_ROUNDS"]
    return _in_hashing_thread(bcrypt.hashpw, _prehash(password), bcrypt.gensalt(rounds)).decode("ascii")


def check_password(password: str, hashed: str) -> bool:
    return _in_hashing_thread(bcrypt.checkpw, _prehash(password), hashed.encode("ascii"))


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> str:
    return bcrypt.hashpw(b"no such user", bcrypt.gensalt(rounds)).decode("ascii")


def burn_check() -> None:
    """Spend the time of one real check, so an unknown user answers as slowly as a known one."""
    check_password("no such user either", _dummy_hash(current_app.config["BCRYPT_ROUNDS"]))
