"""The staff store: every query of staff accounts, their sessions and sign-ins, and who has which incident open.

Sign-in policy (hashes, expiry) is in auth.py, its throttling in throttle.py (in memory, not stored), the
administrator's changes in accounts.py and what each role may do in access.py; this module is the one place
that reads or writes `staff_users`, so a role is read from an account in one way only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from services.triage import tables
from services.triage.access import Staff
from shared.staffaccess import Role

VIEWING_SECONDS = 45
SYSTEM_NAMES = {"system": "Vigil"}
SIGN_INS_KEPT = 20
SIGN_INS_DAYS = 90
DEFAULT_CENTRE = "default"  # the reporting centre public-form reports belong to, unless a deployment names its own

_users, _sessions, _viewers = tables.staff_users, tables.staff_sessions, tables.incident_viewers
_sign_ins = tables.staff_sign_ins


@dataclass(frozen=True)
class Account:
    user_id: str
    username: str
    display_name: str
    roles: frozenset[str]
    password_hash: str
    areas: frozenset[str] = frozenset()  # empty: national

    def as_staff(self, csrf_token: str) -> Staff:
        return Staff(self.user_id, self.username, self.display_name, self.roles, csrf_token, self.areas)


@dataclass(frozen=True)
class StaffSession:
    staff: Staff
    expires_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class AccountDetails:
    """An account as an administrator sees it; `areas` empty means national."""

    user_id: str
    username: str
    display_name: str
    roles: list[str]
    areas: list[str]
    email: str | None
    phone: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime | None
    last_sign_in_at: datetime | None
    centre: str | None = None  # a caseworker's reporting centre; None: the deployment's default centre
    sso_issuer: str | None = None  # the single sign-on identity linked to the account (ADR 0060), if any
    sso_subject: str | None = None

    @property
    def national(self) -> bool:
        return not self.areas

    def as_json(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "username": self.username, "display_name": self.display_name,
                "roles": self.roles, "areas": self.areas, "national": self.national, "email": self.email,
                "phone": self.phone, "enabled": self.enabled, "active": self.enabled,
                "created_at": self.created_at, "updated_at": self.updated_at,
                "last_sign_in_at": self.last_sign_in_at, "centre": self.centre}


@dataclass(frozen=True)
class SignInRecord:
    signed_in_at: datetime
    network: str | None
    method: str | None = None  # "password" or "sso"; None: recorded before the method was kept


def _roles(stored: str) -> frozenset[str]:
    return frozenset(stored.split(","))


def _codes(stored: str | None) -> list[str]:
    return sorted(c for c in (stored or "").split(",") if c)


def _stored(codes: list[str] | frozenset[str] | set[str]) -> str:
    return ",".join(sorted(set(codes)))


# --- accounts -------------------------------------------------------------------------------------

def username_taken(s: Session, username: str) -> bool:
    return s.execute(select(_users.c.user_id).where(_users.c.username == username)).first() is not None


def add_account(s: Session, user_id: str, username: str, display_name: str, password_hash: str,
                roles: list[str], at: datetime, areas: list[str] | None = None, email: str | None = None,
                phone: str | None = None, centre: str | None = None) -> None:
    s.execute(insert(_users).values(
        user_id=user_id, username=username, display_name=display_name, password_hash=password_hash,
        roles=_stored(roles), active=True, created_at=at, areas=_stored(areas or []), email=email, phone=phone,
        centre=centre))


def active_account(s: Session, username: str) -> Account | None:
    row = s.execute(select(_users).where(_users.c.username == username, _users.c.active.is_(True))).mappings().first()
    if row is None:
        return None
    return Account(row["user_id"], row["username"], row["display_name"], _roles(row["roles"]), row["password_hash"],
                   frozenset(_codes(row["areas"])))


def centre_of(s: Session, user_id: str) -> str | None:
    """The reporting centre an account works for; None: the deployment's default centre."""
    return s.execute(select(_users.c.centre).where(_users.c.user_id == user_id)).scalar()


def set_password_hash(s: Session, user_id: str, password_hash: str) -> None:
    s.execute(update(_users).where(_users.c.user_id == user_id).values(password_hash=password_hash))


def accounts(s: Session) -> list[dict[str, Any]]:
    return [a.as_json() for a in account_details(s)]


def account_details(s: Session, user_id: str | None = None, username: str | None = None) -> list[AccountDetails]:
    """Every account by username (or the one asked for), with its latest sign-in."""
    last = (select(_sign_ins.c.user_id, func.max(_sign_ins.c.signed_in_at).label("last_sign_in_at"))
            .group_by(_sign_ins.c.user_id).subquery())
    q = (select(_users, last.c.last_sign_in_at).outerjoin(last, last.c.user_id == _users.c.user_id)
         .order_by(_users.c.username))
    if user_id is not None:
        q = q.where(_users.c.user_id == user_id)
    if username is not None:
        q = q.where(_users.c.username == username)
    return [AccountDetails(r["user_id"], r["username"], r["display_name"], sorted(_roles(r["roles"])),
                           _codes(r["areas"]), r["email"], r["phone"], r["active"], r["created_at"],
                           r["updated_at"], r["last_sign_in_at"], r["centre"], r["sso_issuer"], r["sso_subject"])
            for r in s.execute(q).mappings()]


def set_enabled(s: Session, user_id: str, enabled: bool, at: datetime) -> None:
    s.execute(update(_users).where(_users.c.user_id == user_id).values(active=enabled, updated_at=at))


def set_roles(s: Session, user_id: str, roles: list[str], at: datetime) -> None:
    s.execute(update(_users).where(_users.c.user_id == user_id).values(roles=_stored(roles), updated_at=at))


def set_areas(s: Session, user_id: str, areas: list[str], at: datetime) -> None:
    s.execute(update(_users).where(_users.c.user_id == user_id).values(areas=_stored(areas), updated_at=at))


def set_centre(s: Session, user_id: str, centre: str | None, at: datetime) -> None:
    s.execute(update(_users).where(_users.c.user_id == user_id).values(centre=centre, updated_at=at))


def set_contact(s: Session, user_id: str, email: str | None, phone: str | None, at: datetime) -> None:
    s.execute(update(_users).where(_users.c.user_id == user_id).values(email=email, phone=phone, updated_at=at))


# --- single sign-on identities (ADR 0060) ----------------------------------------------------------

@dataclass(frozen=True)
class Linkable:
    """An account as single sign-on sees it: whether it may sign in, and the identity linked to it."""

    account: Account
    enabled: bool
    sso_issuer: str | None
    sso_subject: str | None


def _linkable(row: Any) -> Linkable:
    account = Account(row["user_id"], row["username"], row["display_name"], _roles(row["roles"]),
                      row["password_hash"], frozenset(_codes(row["areas"])))
    return Linkable(account, bool(row["active"]), row["sso_issuer"], row["sso_subject"])


def linked_to(s: Session, issuer: str, subject: str) -> Linkable | None:
    """The account this identity is linked to, enabled or not."""
    row = s.execute(select(_users).where(_users.c.sso_issuer == issuer, _users.c.sso_subject == subject)
                    ).mappings().first()
    return _linkable(row) if row else None


def with_email(s: Session, email: str) -> list[Linkable]:
    """The accounts holding this email address (compared without case), enabled or not."""
    rows = s.execute(select(_users).where(func.lower(_users.c.email) == email.strip().lower())).mappings()
    return [_linkable(r) for r in rows]


def link_identity(s: Session, user_id: str, issuer: str | None, subject: str | None, at: datetime) -> bool:
    """Link a single sign-on identity to an account that has none, or (with None) unlink the account's: whether
    it was done (a link is not made over another, even by two first sign-ins at once)."""
    q = update(_users).where(_users.c.user_id == user_id)
    if subject is not None:
        q = q.where(_users.c.sso_subject.is_(None))
    done = s.execute(q.values(sso_issuer=issuer, sso_subject=subject, updated_at=at))
    return bool(getattr(done, "rowcount", 0))


def enabled_with_role(s: Session, role: Role) -> set[str]:
    rows = s.execute(select(_users.c.user_id, _users.c.roles).where(_users.c.active.is_(True)))
    return {r.user_id for r in rows if role in _roles(r.roles)}


def display_names(s: Session) -> dict[str, str]:
    names = {r.user_id: r.display_name for r in s.execute(select(_users.c.user_id, _users.c.display_name))}
    return names | SYSTEM_NAMES


def with_role(s: Session, role: Role, user_id: str | None = None) -> list[dict[str, str]]:
    """Active staff holding `role`, by name (or the one given, if they hold it)."""
    q = select(_users.c.user_id, _users.c.display_name, _users.c.roles).where(_users.c.active.is_(True))
    if user_id is not None:
        q = q.where(_users.c.user_id == user_id)
    rows = s.execute(q.order_by(_users.c.display_name)).mappings()
    return [{"user_id": r["user_id"], "display_name": r["display_name"]} for r in rows if role in _roles(r["roles"])]


def duty_inspectors(s: Session) -> list[dict[str, str]]:
    return with_role(s, Role.duty_inspector)


def is_duty_inspector(s: Session, user_id: str) -> bool:
    return bool(with_role(s, Role.duty_inspector, user_id))


# --- sessions -------------------------------------------------------------------------------------

def open_session(s: Session, token_hash: str, user_id: str, csrf_token: str, now: datetime,
                 expires_at: datetime) -> None:
    s.execute(insert(_sessions).values(token_hash=token_hash, user_id=user_id, csrf_token=csrf_token,
                                       created_at=now, expires_at=expires_at, last_seen_at=now))


def session_of(s: Session, token_hash: str) -> StaffSession | None:
    """The session with this token's hash, if its account is still active."""
    row = s.execute(select(_sessions.c.csrf_token, _sessions.c.expires_at, _sessions.c.last_seen_at,
                           _users.c.user_id, _users.c.username, _users.c.display_name, _users.c.roles,
                           _users.c.areas)
                    .join(_users, _users.c.user_id == _sessions.c.user_id)
                    .where(_sessions.c.token_hash == token_hash, _users.c.active.is_(True))).mappings().first()
    if row is None:
        return None
    staff = Staff(row["user_id"], row["username"], row["display_name"], _roles(row["roles"]), row["csrf_token"],
                  frozenset(_codes(row["areas"])))
    return StaffSession(staff, row["expires_at"], row["last_seen_at"])


def touch_session(s: Session, token_hash: str, now: datetime) -> None:
    s.execute(update(_sessions).where(_sessions.c.token_hash == token_hash).values(last_seen_at=now))


def end_session(s: Session, token_hash: str) -> None:
    s.execute(delete(_sessions).where(_sessions.c.token_hash == token_hash))


def end_sessions_of(s: Session, user_id: str) -> int:
    """Every session of the account, at once: how many there were."""
    return int(getattr(s.execute(delete(_sessions).where(_sessions.c.user_id == user_id)), "rowcount", 0) or 0)


# --- sign-ins -------------------------------------------------------------------------------------

def record_sign_in(s: Session, user_id: str, at: datetime, network: str | None, method: str = "password") -> None:
    """Kept for an administrator to read: the latest few, for a while, each with a coarse network only and how
    the person signed in ("password" or "sso")."""
    s.execute(insert(_sign_ins).values(user_id=user_id, signed_in_at=at, network=network, method=method))
    kept = (select(_sign_ins.c.id).where(_sign_ins.c.user_id == user_id)
            .order_by(_sign_ins.c.signed_in_at.desc(), _sign_ins.c.id.desc()).limit(SIGN_INS_KEPT))
    s.execute(delete(_sign_ins).where(_sign_ins.c.user_id == user_id, _sign_ins.c.id.not_in(kept)))
    s.execute(delete(_sign_ins).where(_sign_ins.c.signed_in_at < at - timedelta(days=SIGN_INS_DAYS)))


def usual_network(s: Session, user_id: str, network: str) -> bool:
    """Whether the account signed in from this coarse network lately (among its latest few sign-ins)."""
    return any(r.network == network for r in sign_ins(s, user_id))


def sign_ins(s: Session, user_id: str) -> list[SignInRecord]:
    rows = s.execute(select(_sign_ins.c.signed_in_at, _sign_ins.c.network, _sign_ins.c.method)
                     .where(_sign_ins.c.user_id == user_id)
                     .order_by(_sign_ins.c.signed_in_at.desc(), _sign_ins.c.id.desc()).limit(SIGN_INS_KEPT))
    return [SignInRecord(r.signed_in_at, r.network, r.method) for r in rows]


# --- who has an incident open ---------------------------------------------------------------------

def mark_viewing(s: Session, incident_id: str, user_id: str, now: datetime) -> None:
    done = s.execute(update(_viewers).where(_viewers.c.incident_id == incident_id, _viewers.c.user_id == user_id)
                     .values(seen_at=now))
    if not getattr(done, "rowcount", 0):
        s.execute(insert(_viewers).values(incident_id=incident_id, user_id=user_id, seen_at=now))
    s.execute(delete(_viewers).where(_viewers.c.seen_at < now - timedelta(hours=1)))


def viewers(s: Session, now: datetime, incident_ids: list[str]) -> Mapping[str, list[dict[str, str]]]:
    if not incident_ids:
        return {}
    rows = s.execute(select(_viewers.c.incident_id, _users.c.user_id, _users.c.display_name)
                     .join(_users, _users.c.user_id == _viewers.c.user_id)
                     .where(_viewers.c.incident_id.in_(incident_ids),
                            _viewers.c.seen_at > now - timedelta(seconds=VIEWING_SECONDS))
                     .order_by(_users.c.display_name))
    out: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        out.setdefault(r.incident_id, []).append({"user_id": r.user_id, "display_name": r.display_name})
    return out
