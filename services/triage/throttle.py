"""Sign-in throttling: growing delays per username and per address, never a lock-out.

A lock-out (refuse every attempt for a while after N failures) lets anyone who knows a username keep its
owner out. Here, after `free` failures each further attempt must wait twice as long as the one before
(2 s, 4 s, 8 s, ... up to `cap`), counted from the latest failure; an attempt made sooner is refused before
its password is checked, and is not counted. Once the delay has passed the right password works, and
auth.py lets the account's usual network past the username's delay altogether, so someone guessing from
elsewhere cannot slow its owner at the office. The address's own delay applies to everyone: it is what
stops one machine trying many usernames.

Memory is bounded: each kind of key (usernames, addresses) is an LRU map of at most `max_keys`
entries, and an entry is forgotten `forget_after` its latest failure. When a map is full, the entry used
least recently goes first; a key under attack is used by every attempt, so it is the last to go, and
evicting it costs an attacker `max_keys` failed sign-ins, each a full password hash, inside `forget_after`.
The memory is per process (ADR 0023): with several triage processes each keeps its own.
"""

from __future__ import annotations

import ipaddress
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.clock import Clock


@dataclass
class _Failures:
    count: int
    last: datetime


class FailureMemory:
    """Failures per key, an LRU map that forgets quiet keys and never holds more than `max_keys`."""

    def __init__(self, clock: Clock, free: int, cap: timedelta, forget_after: timedelta, max_keys: int) -> None:
        if forget_after <= cap:
            raise ValueError("a failure must be remembered for longer than the longest delay it causes")
        self.clock = clock
        self.free = free
        self.cap = cap
        self.forget_after = forget_after
        self.max_keys = max_keys
        self._keys: OrderedDict[str, _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds before an attempt for `key` may be checked; 0 if it may be now."""
        now = self.clock.now()
        with self._lock:
            failures = self._current(key, now)
            if failures is None or failures.count < self.free:
                return 0.0
            self._keys.move_to_end(key)
            return max(0.0, (failures.last + self.delay(failures.count) - now).total_seconds())

    def delay(self, count: int) -> timedelta:
        """How long after the latest of `count` failures the next attempt waits."""
        if count < self.free:
            return timedelta(0)
        doublings = count - self.free + 1
        return self.cap if doublings >= 30 else min(self.cap, timedelta(seconds=2 ** doublings))

    def failed(self, key: str) -> None:
        now = self.clock.now()
        with self._lock:
            failures = self._current(key, now)
            if failures is None:
                self._make_room()
                failures = self._keys[key] = _Failures(0, now)
            failures.count += 1
            failures.last = now
            self._keys.move_to_end(key)

    def forget(self, key: str) -> None:
        with self._lock:
            self._keys.pop(key, None)

    def __len__(self) -> int:
        return len(self._keys)

    def _current(self, key: str, now: datetime) -> _Failures | None:
        failures = self._keys.get(key)
        if failures is not None and now - failures.last >= self.forget_after:
            del self._keys[key]
            return None
        return failures

    def _make_room(self) -> None:
        now = self.clock.now()
        while self._keys:
            key, oldest = next(iter(self._keys.items()))
            if len(self._keys) < self.max_keys and now - oldest.last < self.forget_after:
                return
            del self._keys[key]


class SignInThrottle:
    """The two memories auth.py consults before it checks a password."""

    def __init__(self, clock: Clock, free_per_username: int = 5, free_per_address: int = 20,
                 cap: timedelta = timedelta(minutes=15), forget_after: timedelta = timedelta(hours=1),
                 max_keys: int = 10_000) -> None:
        self.usernames = FailureMemory(clock, free_per_username, cap, forget_after, max_keys)
        self.addresses = FailureMemory(clock, free_per_address, cap, forget_after, max_keys)

    def address_wait(self, address: str | None) -> float:
        key = address_key(address)
        return self.addresses.wait(key) if key else 0.0

    def username_wait(self, username: str) -> float:
        return self.usernames.wait(username)

    def failed(self, username: str, address: str | None) -> None:
        self.usernames.failed(username)
        key = address_key(address)
        if key:
            self.addresses.failed(key)

    def succeeded(self, username: str) -> None:
        """The owner is in: their username starts afresh. Not the address, or anyone with an account of their
        own could sign in to it between guesses at others'."""
        self.usernames.forget(username)


def address_key(address: str | None) -> str | None:
    """An IPv4 address as it is; IPv6 by its /64, which one device can fill with addresses at will."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
