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
from sqlalchemy import delete, insert, select, update

from services.triage import tables
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
            if s.execute(select(tables.staff_users.c.user_id).where(tables.staff_users.c.username == username)).first():
                raise InvalidUser(f"a user called {username!r} already exists", "username")
            s.execute(insert(tables.staff_users).values(
                user_id=user_id, username=username, display_name=display_name.strip(),
                password_hash=_hasher.hash(password), roles=",".join(sorted(set(roles))), active=True,
                created_at=self.clock.now()))
        return user_id

    def sign_in(self, username: str, password: str) -> SignedIn:
        u, username = tables.staff_users, username.strip().lower()
        self._throttle(username)
        with self.db.sessions() as s:
            row = s.execute(select(u).where(u.c.username == username, u.c.active.is_(True))).mappings().first()
        try:
            _hasher.verify(row["password_hash"] if row else _DUMMY, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            self._failed(username)
            raise BadCredentials() from None
        if row is None:
            self._failed(username)
            raise BadCredentials()
        token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(24), self.clock.now()
        with self.db.transaction() as s:
            s.execute(insert(tables.staff_sessions).values(
                token_hash=_digest(token), user_id=row["user_id"], csrf_token=csrf, created_at=now,
                expires_at=now + self.max_age, last_seen_at=now))
            if _hasher.check_needs_rehash(row["password_hash"]):
                s.execute(update(u).where(u.c.user_id == row["user_id"]).values(password_hash=_hasher.hash(password)))
        return SignedIn(token, _staff(row, csrf))

    def resolve(self, token: str | None) -> Staff | None:
        if not token:
            return None
        t, u, now = tables.staff_sessions, tables.staff_users, self.clock.now()
        with self.db.sessions() as s:
            row = s.execute(select(t.c.csrf_token, t.c.expires_at, t.c.last_seen_at, u.c.user_id, u.c.username,
                                   u.c.display_name, u.c.roles)
                            .join(u, u.c.user_id == t.c.user_id)
                            .where(t.c.token_hash == _digest(token), u.c.active.is_(True))).mappings().first()
        if row is None or now >= row["expires_at"] or now - row["last_seen_at"] >= self.idle:
            return None
        if now - row["last_seen_at"] > timedelta(seconds=30):
            with self.db.transaction() as s:
                s.execute(update(t).where(t.c.token_hash == _digest(token)).values(last_seen_at=now))
        return _staff(row, row["csrf_token"])

    def sign_out(self, token: str | None) -> None:
        if token:
            with self.db.transaction() as s:
                s.execute(delete(tables.staff_sessions).where(tables.staff_sessions.c.token_hash == _digest(token)))

    def staff_with_role(self, role: str) -> list[dict[str, str]]:
        u = tables.staff_users
        with self.db.sessions() as s:
            rows = s.execute(select(u.c.user_id, u.c.display_name, u.c.roles).where(u.c.active.is_(True))
                             .order_by(u.c.display_name)).mappings()
            return [{"user_id": r["user_id"], "display_name": r["display_name"]} for r in rows
                    if role in r["roles"].split(",")]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _staff(row: object, csrf: str) -> Staff:
    r = dict(row)  # type: ignore[call-overload]
    return Staff(r["user_id"], r["username"], r["display_name"], frozenset(r["roles"].split(",")), csrf)


def csrf_matches(staff: Staff, given: str | None) -> bool:
    return bool(given) and secrets.compare_digest(staff.csrf_token, given or "")
