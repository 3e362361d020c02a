"""Staff sign-in: argon2 password hashes, server-side sessions that expire, a CSRF token per session.

The cookie holds a random token; the database holds only its SHA-256, so a copy of the table
cannot be used to sign in. Sessions end after an idle period and after a fixed maximum, and at once
when an administrator disables the account or resets its password (accounts.py). Idle means the person
has done nothing: what a page asks by itself (the queue's refresh, the "being viewed" heartbeat) says so
with `X-Vigil-Poll: 1` and does not keep a session alive. Each sign-in is kept with a coarse network
address only (an IPv4 /24 or an IPv6 /48), never the full address; the networks an account signed in from
lately are its usual ones, which the username's throttle lets through (throttle.py).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.triage import identities, passwords, staff_store, tables
from services.triage.access import Staff
from services.triage.accounts import AccountConflict, CommandLine, Created, InvalidUser, NewAccount, StaffAccounts
from services.triage.identities import Refusal
from services.triage.sso import Identity
from services.triage.throttle import SignInThrottle
from shared.clock import Clock
from shared.db import Database
from shared.eventstore import EventStore

__all__ = ["POLL_HEADER", "Auth", "BadCredentials", "InvalidUser", "NotLinked", "PasswordsOff", "SignedIn",
           "TooManyAttempts", "coarse_network", "csrf_matches", "is_poll"]
SOURCE = "/vigil/triage"  # the event source of triage's own store (shared.service.ServiceCore)
POLL_HEADER = "X-Vigil-Poll"
ACTIVITY_WRITES_EVERY = timedelta(seconds=30)


class BadCredentials(Exception):
    """Wrong username or password: one message for both, so names cannot be probed."""


class PasswordsOff(BadCredentials):
    """Password sign-in is turned off: staff sign in with their organisation's account (TRIAGE_OIDC_PASSWORDS)."""


class NotLinked(Exception):
    """A single sign-on identity that signs in to no account (identities.py says why)."""

    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal
        super().__init__(refusal.value)


class TooManyAttempts(Exception):
    """Too many wrong passwords lately, for this username or from this address; the password was not checked.
    Try again after `retry_after` seconds."""

    def __init__(self, wait: float) -> None:
        self.retry_after = max(1, math.ceil(wait))
        super().__init__(f"too many failed sign-ins; try again in {_duration(self.retry_after)}")


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@dataclass(frozen=True)
class SignedIn:
    token: str
    staff: Staff


class Auth:
    def __init__(self, db: Database, clock: Clock, idle_minutes: int = 30, max_hours: int = 12,
                 events: EventStore | None = None, throttle: SignInThrottle | None = None,
                 passwords_allowed: bool = True) -> None:
        self.db = db
        self.passwords_allowed = passwords_allowed
        self.clock = clock
        self.idle = timedelta(minutes=idle_minutes)
        self.max_age = timedelta(hours=max_hours)
        self.throttle = throttle or SignInThrottle(clock)
        self.accounts = StaffAccounts(db, events or EventStore(tables.metadata, SOURCE, clock), clock)

    def create_user(self, username: str, display_name: str, password: str, roles: list[str],
                    areas: list[str] | None = None, email: str | None = None, phone: str | None = None,
                    by: Staff | CommandLine | None = None, centre: str | None = None) -> str:
        """An account with this password, made by `by` (the server's own operator when not said)."""
        created: Created = self.accounts.create(by or CommandLine("system"), NewAccount(
            username, display_name, roles, areas or [], email, phone, password, centre))
        return created.user_id

    def sign_in(self, username: str, password: str, address: str | None = None) -> SignedIn:
        """`address`: the client's, kept only as its coarse network. An attempt the throttle holds back is
        refused (TooManyAttempts) before its password is checked."""
        username = username.strip().lower()
        if not self.passwords_allowed:
            raise PasswordsOff("password sign-in is turned off: sign in with your organisation's account")
        if wait := self.throttle.address_wait(address):
            raise TooManyAttempts(wait)
        with self.db.sessions() as s:
            account = staff_store.active_account(s, username)
            wait = self.throttle.username_wait(username)
            network = coarse_network(address)
            if wait and not (account and network and staff_store.usual_network(s, account.user_id, network)):
                raise TooManyAttempts(wait)
        if not passwords.matches(account.password_hash if account else None, password) or account is None:
            self.throttle.failed(username, address)
            raise BadCredentials()
        self.throttle.succeeded(username)
        def rehash(s: Session) -> None:
            staff_store.set_password_hash(s, account.user_id, passwords.hashed(password))

        return self._open(account, address, "password", rehash if passwords.needs_rehash(account.password_hash)
                          else None)

    def sign_in_with(self, identity: Identity, address: str | None = None) -> SignedIn:
        """A session for the account a single sign-on identity signs in to (identities.py), linking it first
        at its first sign-in. The account's own roles and areas apply; NotLinked when there is none."""
        with self.db.sessions() as s:
            linked = staff_store.linked_to(s, identity.issuer, identity.subject)
            same_email = staff_store.with_email(s, identity.email) if identity.email and linked is None else []
        choice = identities.choose(identity, linked, same_email)
        if choice.account is None:
            raise NotLinked(choice.refusal or Refusal.unknown)
        if choice.link:
            try:
                self.accounts.link_sso(choice.account.user_id, identity.issuer, identity.subject)
            except (AccountConflict, IntegrityError):  # another first sign-in linked it meanwhile
                raise NotLinked(Refusal.taken) from None
        return self._open(choice.account, address, "sso")

    def _open(self, account: staff_store.Account, address: str | None, method: str,
              also: Callable[[Session], None] | None = None) -> SignedIn:
        """A session for the account, its sign-in recorded (`method`: password or sso), and `also` (a stored
        password's rehash) in the same transaction."""
        token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(24), self.clock.now()
        with self.db.transaction() as s:
            staff_store.open_session(s, _digest(token), account.user_id, csrf, now, now + self.max_age)
            staff_store.record_sign_in(s, account.user_id, now, coarse_network(address), method)
            if also is not None:
                also(s)
        return SignedIn(token, account.as_staff(csrf))

    def resolve(self, token: str | None, activity: bool = True) -> Staff | None:
        """The session's member of staff, if it has not ended. `activity` false for what a page asks by itself
        (`is_poll`): it is answered, but does not count as the person doing something."""
        if not token:
            return None
        now = self.clock.now()
        with self.db.sessions() as s:
            found = staff_store.session_of(s, _digest(token))
        if found is None or now >= found.expires_at or now - found.last_seen_at >= self.idle:
            return None
        if activity and now - found.last_seen_at > ACTIVITY_WRITES_EVERY:
            with self.db.transaction() as s:
                staff_store.touch_session(s, _digest(token), now)
        return found.staff

    def sign_out(self, token: str | None) -> None:
        if token:
            with self.db.transaction() as s:
                staff_store.end_session(s, _digest(token))


def is_poll(headers: Mapping[str, str]) -> bool:
    """Whether a request is one a page made by itself (`X-Vigil-Poll: 1`), not something the person did."""
    return headers.get(POLL_HEADER) == "1"


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
