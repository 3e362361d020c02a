"""Token buckets per client address, in process memory.

The address is the peer's, or behind VIGIL_TRUSTED_PROXIES the client's they name (deps.client_address,
shared/edge.py): no one else's X-Forwarded-For chooses a bucket.

Each API process keeps its own buckets: with N workers a client may get up to N times the
rate, which errs on the side of never refusing a genuine reporter (ADR 0013).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, per_minute: float, burst: int, now: Callable[[], float] = time.monotonic,
                 max_clients: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.now = now
        self.max_clients = max_clients
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when allowed; otherwise the seconds until the next request would be."""
        with self._lock:
            now = self.now()
            bucket = self._buckets.get(client)
            if bucket is None:
                self._forget_full_buckets(now)
                bucket = self._buckets[client] = _Bucket(float(self.burst), now)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def _forget_full_buckets(self, now: float) -> None:
        """A bucket that has refilled says nothing a new one would not; drop them so memory stays bounded."""
        if len(self._buckets) < self.max_clients:
            return
        refill = self.burst / self.rate
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.at < refill}


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
