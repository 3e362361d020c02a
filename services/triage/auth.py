"""Staff sign-in: argon2 password hashes, server-side sessions that expire, a CSRF token per session.

The cookie holds a random token; the database holds only its SHA-256, so a copy of the table
cannot be used to sign in. Sessions end after an idle period and after a fixed maximum.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services.triage import staff_store
from services.triage.access import Role, Staff
from shared.clock import Clock
from shared.db import Database
from shared.ids import new_id

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
MIN_PASSWORD = 12
_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so both answers take as long.
_DUMMY = _hasher.hash("vigil-no-such-user-password")


class BadCredentials(Exception):
    """Wrong username or password: one message for both, so names cannot be probed."""


class TooManyAttempts(Exception):
    """Too many wrong passwords for this username lately; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after // 60 + 1} minutes")
        self.retry_after = retry_after


class InvalidUser(ValueError):
    def __init__(self, message: str, field_name: str) -> None:
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class SignedIn:
    token: str
    staff: Staff


class Auth:
    MAX_FAILURES = 5
    FAILURE_WINDOW = timedelta(minutes=15)

    def __init__(self, db: Database, clock: Clock, idle_minutes: int = 30, max_hours: int = 12) -> None:
        self.db = db
        self.clock = clock
        self.idle = timedelta(minutes=idle_minutes)
        self.max_age = timedelta(hours=max_hours)
        self._failures: dict[str, list[datetime]] = {}
        self._lock = threading.Lock()

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

    def create_user(self, username: str, display_name: str, password: str, roles: list[str]) -> str:
        username = username.strip().lower()
        if not USERNAME.match(username):
            raise InvalidUser("use 2-80 lower-case letters, digits, dots, dashes or underscores", "username")
        if not display_name.strip():
            raise InvalidUser("give the name colleagues know this person by", "display_name")
        if len(password) < MIN_PASSWORD:
            raise InvalidUser(f"the password must be at least {MIN_PASSWORD} characters", "password")
        unknown = [r for r in roles if r not in Role.__members__]
        if not roles or unknown:
            raise InvalidUser(f"roles must be some of {', '.join(Role)}; unknown: {', '.join(unknown)}", "roles")
        user_id = new_id()
        with self.db.transaction() as s:
            if staff_store.username_taken(s, username):
                raise InvalidUser(f"a user called {username!r} already exists", "username")
            staff_store.add_account(s, user_id, username, display_name.strip(), _hasher.hash(password), roles,
                              self.clock.now())
        return user_id

    def sign_in(self, username: str, password: str) -> SignedIn:
        username = username.strip().lower()
        self._throttle(username)
        with self.db.sessions() as s:
            account = staff_store.active_account(s, username)
        try:
            _hasher.verify(account.password_hash if account else _DUMMY, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            self._failed(username)
            raise BadCredentials() from None
        if account is None:
            self._failed(username)
            raise BadCredentials()
        token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(24), self.clock.now()
        with self.db.transaction() as s:
            staff_store.open_session(s, _digest(token), account.user_id, csrf, now, now + self.max_age)
            if _hasher.check_needs_rehash(account.password_hash):
                staff_store.set_password_hash(s, account.user_id, _hasher.hash(password))
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


def csrf_matches(staff: Staff, given: str | None) -> bool:
    return bool(given) and secrets.compare_digest(staff.csrf_token, given or "")
