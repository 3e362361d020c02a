"""Staff sign-in: argon2 password hashes, server-side sessions that expire, a CSRF token per session.

The cookie holds a random token; the database holds only its SHA-256, so a copy of the table
cannot be used to sign in. Sessions end after an idle period and after a fixed maximum, and at once
when an administrator disables the account or resets its password (accounts.py). Each sign-in is
kept with a coarse network address only (an IPv4 /24 or an IPv6 /48), never the full address.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.triage import passwords, staff_store, tables
from services.triage.access import Staff
from services.triage.accounts import CommandLine, Created, InvalidUser, NewAccount, StaffAccounts
from shared.clock import Clock
from shared.db import Database
from shared.eventstore import EventStore

__all__ = ["Auth", "BadCredentials", "InvalidUser", "SignedIn", "TooManyAttempts", "coarse_network",
           "csrf_matches"]
SOURCE = "/vigil/triage"  # the event source of triage's own store (shared.service.ServiceCore)


class BadCredentials(Exception):
    """Wrong username or password: one message for both, so names cannot be probed."""


class TooManyAttempts(Exception):
    """Too many wrong passwords for this username lately; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after // 60 + 1} minutes")
        self.retry_after = retry_after


@dataclass(frozen=True)
class SignedIn:
    token: str
    staff: Staff


class Auth:
    MAX_FAILURES = 5
    FAILURE_WINDOW = timedelta(minutes=15)

    def __init__(self, db: Database, clock: Clock, idle_minutes: int = 30, max_hours: int = 12,
                 events: EventStore | None = None) -> None:
        self.db = db
        self.clock = clock
        self.idle = timedelta(minutes=idle_minutes)
        self.max_age = timedelta(hours=max_hours)
        self._failures: dict[str, list[datetime]] = {}
        self._lock = threading.Lock()
        self.accounts = StaffAccounts(db, events or EventStore(tables.metadata, SOURCE, clock), clock)

    def _throttle(self, username: str) -> None:
        """Per process, per username: slows guessing without locking the real person out for long."""
        now = self.clock.now()
        with self._lock:
            recent = [t for t in self._failures.get(username, []) if now - t < self.FAILURE_WINDOW]
            self._failures[username] = recent
            if len(recent) >= self.MAX_FAILURES:
                raise TooManyAttempts(int((recent[0] + self.FAILURE_WINDOW - now).total_seconds()) + 1)

    def _failed(self, username: str) -> None:
        with self._lock:
            self._failures.setdefault(username, []).append(self.clock.now())

    def create_user(self, username: str, display_name: str, password: str, roles: list[str],
                    areas: list[str] | None = None, email: str | None = None, phone: str | None = None,
                    by: Staff | CommandLine | None = None) -> str:
        """An account with this password, made by `by` (the server's own operator when not said)."""
        created: Created = self.accounts.create(by or CommandLine("system"), NewAccount(
            username, display_name, roles, areas or [], email, phone, password))
        return created.user_id

    def sign_in(self, username: str, password: str, address: str | None = None) -> SignedIn:
        """`address`: the client's, kept only as its coarse network."""
        username = username.strip().lower()
        self._throttle(username)
        with self.db.sessions() as s:
            account = staff_store.active_account(s, username)
        if not passwords.matches(account.password_hash if account else None, password) or account is None:
            self._failed(username)
            raise BadCredentials()
        token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(24), self.clock.now()
        with self.db.transaction() as s:
            staff_store.open_session(s, _digest(token), account.user_id, csrf, now, now + self.max_age)
            staff_store.record_sign_in(s, account.user_id, now, coarse_network(address))
            if passwords.needs_rehash(account.password_hash):
                staff_store.set_password_hash(s, account.user_id, passwords.hashed(password))
        return SignedIn(token, account.as_staff(csrf))

    def resolve(self, token: str | None) -> Staff | None:
        if not token:
            return None
        now = self.clock.now()
        with self.db.sessions() as s:
            found = staff_store.session_of(s, _digest(token))
        if found is None or now >= found.expires_at or now - found.last_seen_at >= self.idle:
            return None
        if now - found.last_seen_at > timedelta(seconds=30):
            with self.db.transaction() as s:
                staff_store.touch_session(s, _digest(token), now)
        return found.staff

    def sign_out(self, token: str | None) -> None:
        if token:
            with self.db.transaction() as s:
                staff_store.end_session(s, _digest(token))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def coarse_network(address: str | None) -> str | None:
    """The network an address is in, wide enough not to name a device: "203.0.113.0/24", "2001:db8:1::/48"."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def csrf_matches(staff: Staff, given: str | None) -> bool:
    return bool(given) and secrets.compare_digest(staff.csrf_token, given or "")
