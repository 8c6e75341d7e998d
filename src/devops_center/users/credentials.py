"""Credentials: password hashing (Argon2, off the event loop) and the digest stored of a
one-time secret."""

from __future__ import annotations

import hashlib
import secrets
import threading
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A real hash of a random password: unknown accounts are verified against it so that
    "no such user" and "wrong password" take the same time. Made on first use, not at
    import (it costs ~0.4 s, paid by every process start otherwise)."""
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def needs_rehash(stored: str) -> bool:
    """True when a hash was made with other parameters than today's (rehashed on the next
    sign-in)."""
    return bool(_hasher.check_needs_rehash(stored))


# Argon2 is made to be slow (about 0.4 s of CPU and 64 MiB here with argon2-cffi's
# defaults). Run on the event loop it stalls every other request of the process for
# that long, so sign-ins verify in a thread (the C code releases the GIL); one at a time
# per process, so that many sign-ins at once cost neither N x 64 MiB nor the web's CPU.
_argon2_slot = threading.Semaphore(1)


def verify_password(stored: str, password: str) -> bool:
    with _argon2_slot:
        try:
            return bool(_hasher.verify(stored, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def digest(value: str) -> str:
    """What is stored of a one-time secret (a sign-in link, an API token): its SHA-256.
    These are long random strings, so a fast hash is enough; passwords use Argon2."""
    return hashlib.sha256(value.encode()).hexdigest()
