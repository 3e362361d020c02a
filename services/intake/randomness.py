"""Random identifiers and secrets from a buffered read of the system's randomness.

Every `os.urandom` is a system call, five per report. Reading 4 KiB at a time and handing out slices
gives the same kernel randomness, each byte used once, with one system call per ~50 reports. (On a
quiet 2-core machine a system call costs about a microsecond; the saving is small, and matters only
when the CPU is contended.) The buffer belongs to one process: after a fork the child refills instead
of repeating its parent's bytes.
"""

from __future__ import annotations

import base64
import os
import threading
import uuid

from shared.ids import REFERENCE_ALPHABET

CHUNK = 4096


class RandomPool:
    def __init__(self, chunk: int = CHUNK) -> None:
        self.chunk = chunk
        self._buffer = b""
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def take(self, n: int) -> bytes:
        with self._lock:
            if self._pid != os.getpid():
                self._buffer, self._pid = b"", os.getpid()
            if len(self._buffer) < n:
                self._buffer += os.urandom(max(self.chunk, n))
            taken, self._buffer = self._buffer[:n], self._buffer[n:]
            return taken


_pool = RandomPool()


def random_bytes(n: int) -> bytes:
    return _pool.take(n)


def new_report_id() -> str:
    return str(uuid.UUID(bytes=random_bytes(16), version=4))


def new_token(n_bytes: int = 24) -> str:
    """URL-safe, like `secrets.token_urlsafe`."""
    return base64.urlsafe_b64encode(random_bytes(n_bytes)).rstrip(b"=").decode("ascii")


def new_reference(length: int = 10) -> str:
    """Uniform over the alphabet: bytes at or above the largest multiple of its size are thrown away."""
    size = len(REFERENCE_ALPHABET)
    limit = 256 - 256 % size
    letters: list[str] = []
    while len(letters) < length:
        letters += [REFERENCE_ALPHABET[b % size] for b in random_bytes(length * 2) if b < limit]
    return "".join(letters[:length])
