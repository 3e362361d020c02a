"""Staff passwords: argon2 hashes, and the temporary password an administrator hands over once.

Sign-in (auth.py) and the administrator's resets (accounts.py) hash the same way from this one place.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
# No 0/o, 1/l/i: read aloud or copied from a screen, a temporary password should survive the trip.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so both answers take as long.
_DUMMY = _hasher.hash("vigil-no-such-user-password")


def hashed(password: str) -> str:
    return _hasher.hash(password)


def matches(stored_hash: str | None, password: str) -> bool:
    """Whether `password` is the one hashed; with no hash it still does the work, then says no."""
    try:
        _hasher.verify(stored_hash or _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return stored_hash is not None


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def too_short(password: str) -> str | None:
    """Why the password cannot be used, or None."""
    return f"the password must be at least {MIN_LENGTH} characters" if len(password) < MIN_LENGTH else None


def temporary() -> str:
    """Four groups of four (about 78 bits), such as "k7mq-3xrt-p9wd-h2fz"."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))
