"""Staff accounts, as an administrator keeps them: create, disable and enable, roles, areas, contact details,
password resets. Each change is an event on `vigil.staff.v1` (shared/events/staff.py), appended with the row.

Disabling ends the person's sessions in the same transaction, so triage refuses them at once; the other
services ask triage about each session (shared/staffaccess.py) and hear "not active" within their cache's
lifetime. The pages, the JSON API and `vigil triage user ...` all come through here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from services.triage import passwords, staff_store
from services.triage.access import Action, Staff
from services.triage.staff_store import AccountDetails, SignInRecord
from shared.areas import AreaRegistry, default_registry
from shared.clock import Clock
from shared.db import Database
from shared.events.base import Envelope, Event
from shared.events.incidents import NATIONAL
from shared.events.staff import (
    ContactChannel,
    StaffAccountCreated,
    StaffAccountDisabled,
    StaffAccountEnabled,
    StaffAreasChanged,
    StaffCentreChanged,
    StaffContactDetailsChanged,
    StaffPasswordReset,
    StaffRolesChanged,
    StaffSsoLinkCleared,
    StaffSsoLinked,
)
from shared.eventstore import EventStore
from shared.ids import new_id
from shared.staffaccess import Role

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
MAX_REASON = 500
_email = TypeAdapter(EmailStr)


class InvalidUser(ValueError):
    """Input an account cannot take; `field` names the part to correct."""

    def __init__(self, message: str, field_name: str) -> None:
        super().__init__(message)
        self.field = field_name


class UnknownAccount(LookupError):
    """No account with that id or username."""


class AccountConflict(ValueError):
    """The change cannot be made to the account as it now is (already disabled, the last administrator...)."""


@dataclass(frozen=True)
class CommandLine:
    """A change made with `vigil triage user ...` by someone at the server's command line."""

    login: str

    @property
    def ref(self) -> str:
        return f"cli:{self.login}"


Changer = Staff | CommandLine


@dataclass(frozen=True)
class NewAccount:
    username: str
    display_name: str
    roles: list[str]
    areas: list[str]
    email: str | None = None
    phone: str | None = None
    password: str | None = None  # none: Vigil makes a temporary one, shown once
    centre: str | None = None  # a caseworker's reporting centre (an intake centre id); none: the default centre


@dataclass(frozen=True)
class Created:
    user_id: str
    username: str
    temporary_password: str | None


@dataclass(frozen=True)
class AccountFilter:
    """`area` a force area code, or "national" for accounts with none; `enabled` None for both."""

    text: str = ""
    role: str = ""
    area: str = ""
    enabled: bool | None = None

    def admits(self, account: AccountDetails) -> bool:
        text = self.text.strip().lower()
        return ((not text or text in account.username or text in account.display_name.lower())
                and (not self.role or self.role in account.roles)
                and (not self.area or (account.national if self.area == NATIONAL else self.area in account.areas))
                and (self.enabled is None or account.enabled == self.enabled))


class StaffAccounts:
    def __init__(self, db: Database, events: EventStore, clock: Clock, areas: AreaRegistry | None = None) -> None:
        self.db = db
        self.events = events
        self.clock = clock
        self.areas = areas or default_registry()

    # --- reading -------------------------------------------------------------------------------------

    def all(self, by: Changer, wanted: AccountFilter | None = None) -> list[AccountDetails]:
        """By name; a deployment has hundreds of staff, not millions, so the filter runs here."""
        _ref(by)
        with self.db.sessions() as s:
            found = staff_store.account_details(s)
        return sorted((a for a in found if wanted is None or wanted.admits(a)),
                      key=lambda a: (a.display_name.lower(), a.username))

    def get(self, by: Changer, user_id: str) -> AccountDetails:
        _ref(by)
        with self.db.sessions() as s:
            return _one(s, user_id)

    def named(self, by: Changer, username: str) -> AccountDetails:
        _ref(by)
        with self.db.sessions() as s:
            found = staff_store.account_details(s, username=username.strip().lower())
        if not found:
            raise UnknownAccount(f"there is no account with the username {username.strip()!r}")
        return found[0]

    def record(self, by: Changer, user_id: str) -> tuple[AccountDetails, list[SignInRecord], list[Envelope]]:
        """The account, its recent sign-ins and its history of changes, as of one moment."""
        _ref(by)
        with self.db.snapshot() as s:
            return _one(s, user_id), staff_store.sign_ins(s, user_id), self.events.load(s, user_id)

    # --- changing ------------------------------------------------------------------------------------

    def create(self, by: Changer, new: NewAccount) -> Created:
        ref, username = _ref(by), new.username.strip().lower()
        if not USERNAME.match(username):
            raise InvalidUser("use 2 to 80 lower-case letters, digits, dots, dashes or underscores", "username")
        if not new.display_name.strip():
            raise InvalidUser("give the name colleagues know this person by", "display_name")
        roles, areas = self.valid_roles(new.roles), self.valid_areas(new.areas)
        email, phone = valid_email(new.email), valid_phone(new.phone)
        centre = valid_centre(new.centre, roles)
        temporary = None if new.password is not None else passwords.temporary()
        password = new.password if new.password is not None else temporary or ""
        if problem := passwords.too_short(password):
            raise InvalidUser(problem, "password")
        user_id, now = new_id(), self.clock.now()
        with self.db.transaction() as s:
            if staff_store.username_taken(s, username):
                raise InvalidUser(f"an account with the username {username!r} already exists", "username")
            staff_store.add_account(s, user_id, username, new.display_name.strip(), passwords.hashed(password),
                                    roles, now, areas, email, phone, centre)
            self._record(s, StaffAccountCreated(
                account_id=user_id, changed_by=ref, changed_at=now, username=username,
                display_name=new.display_name.strip(), roles=roles, areas=areas,
                contact_channels=_channels(email, phone), centre=centre), user_id)
        return Created(user_id, username, temporary)

    def disable(self, by: Changer, user_id: str, reason: str | None = None) -> int:
        """How many sessions ended with it."""
        ref, now = _ref(by), self.clock.now()
        if isinstance(by, Staff) and by.user_id == user_id:
            raise AccountConflict("you cannot disable your own account; ask another administrator")
        with self.db.transaction() as s:
            account = _one(s, user_id)
            if not account.enabled:
                raise AccountConflict(f"{account.username} is already disabled")
            self._keep_an_administrator(s, account, account.roles, "disable")
            staff_store.set_enabled(s, user_id, False, now)
            ended = staff_store.end_sessions_of(s, user_id)
            self._record(s, StaffAccountDisabled(account_id=user_id, changed_by=ref, changed_at=now,
                                                 reason=_reason(reason), sessions_ended=ended), user_id)
        return ended

    def enable(self, by: Changer, user_id: str, reason: str | None = None) -> None:
        ref, now = _ref(by), self.clock.now()
        with self.db.transaction() as s:
            account = _one(s, user_id)
            if account.enabled:
                raise AccountConflict(f"{account.username} is already enabled")
            staff_store.set_enabled(s, user_id, True, now)
            self._record(s, StaffAccountEnabled(account_id=user_id, changed_by=ref, changed_at=now,
                                                reason=_reason(reason)), user_id)

    def set_roles(self, by: Changer, user_id: str, roles: Iterable[str], reason: str | None = None) -> bool:
        """False when the account already had exactly these roles (nothing is recorded). Taking the caseworker
        role from an account that names a reporting centre clears the centre in the same change, recorded as a
        change of centre of its own: only a caseworker works for a centre (`centre_left_by`)."""
        ref, now, wanted, why = _ref(by), self.clock.now(), self.valid_roles(roles), _reason(reason)
        with self.db.transaction() as s:
            account = _one(s, user_id)
            if wanted == account.roles:
                return False
            if account.enabled and Role.admin not in wanted:
                self._keep_an_administrator(s, account, account.roles, "take the administrator role from")
            staff_store.set_roles(s, user_id, wanted, now)
            self._record(s, StaffRolesChanged(account_id=user_id, changed_by=ref, changed_at=now, reason=why,
                                              roles=wanted, previous_roles=account.roles), user_id)
            if (left := centre_left_by(account.centre, wanted)) is not None:
                staff_store.set_centre(s, user_id, None, now)
                self._record(s, StaffCentreChanged(account_id=user_id, changed_by=ref, changed_at=now, reason=why,
                                                   centre=None, previous_centre=left), user_id)
        return True

    def set_centre(self, by: Changer, user_id: str, centre: str | None, reason: str | None = None) -> bool:
        """A caseworker's reporting centre (an intake centre id; empty: the deployment's default centre). It
        applies from the caseworker's next request: their session reads it afresh. False when nothing changed."""
        ref, now, why = _ref(by), self.clock.now(), _reason(reason)
        with self.db.transaction() as s:
            account = _one(s, user_id)
            wanted = valid_centre(centre, account.roles)
            if wanted == account.centre:
                return False
            staff_store.set_centre(s, user_id, wanted, now)
            self._record(s, StaffCentreChanged(account_id=user_id, changed_by=ref, changed_at=now, reason=why,
                                               centre=wanted, previous_centre=account.centre), user_id)
        return True

    def set_areas(self, by: Changer, user_id: str, areas: Iterable[str], reason: str | None = None) -> bool:
        """`areas` empty means national. False when nothing changed."""
        ref, now, wanted, why = _ref(by), self.clock.now(), self.valid_areas(areas), _reason(reason)
        with self.db.transaction() as s:
            account = _one(s, user_id)
            if wanted == account.areas:
                return False
            staff_store.set_areas(s, user_id, wanted, now)
            self._record(s, StaffAreasChanged(account_id=user_id, changed_by=ref, changed_at=now, reason=why,
                                              areas=wanted, previous_areas=account.areas), user_id)
        return True

    def set_contact(self, by: Changer, user_id: str, email: str | None, phone: str | None) -> bool:
        """Both details as they should now be (empty clears one). False when nothing changed."""
        ref, now = _ref(by), self.clock.now()
        email, phone = valid_email(email), valid_phone(phone)
        with self.db.transaction() as s:
            account = _one(s, user_id)
            changed = [c for c, old, new in ((ContactChannel.email, account.email, email),
                                             (ContactChannel.phone, account.phone, phone)) if old != new]
            if not changed:
                return False
            staff_store.set_contact(s, user_id, email, phone, now)
            self._record(s, StaffContactDetailsChanged(
                account_id=user_id, changed_by=ref, changed_at=now, changed=changed,
                contact_channels=_channels(email, phone)), user_id)
        return True

    def reset_password(self, by: Changer, user_id: str, password: str | None = None) -> str | None:
        """The temporary password when Vigil made one (shown once, kept nowhere but as a hash), else None.
        The person's sessions end: whoever knew the old password is signed out."""
        ref, now = _ref(by), self.clock.now()
        temporary = None if password is not None else passwords.temporary()
        chosen = password if password is not None else temporary or ""
        if problem := passwords.too_short(chosen):
            raise InvalidUser(problem, "password")
        with self.db.transaction() as s:
            _one(s, user_id)
            staff_store.set_password_hash(s, user_id, passwords.hashed(chosen))
            ended = staff_store.end_sessions_of(s, user_id)
            self._record(s, StaffPasswordReset(account_id=user_id, changed_by=ref, changed_at=now,
                                               temporary=temporary is not None, sessions_ended=ended), user_id)
        return temporary

    def link_sso(self, user_id: str, issuer: str, subject: str) -> None:
        """Link a single sign-on identity at its first sign-in (identities.py decided it may): by Vigil itself."""
        now = self.clock.now()
        with self.db.transaction() as s:
            if not staff_store.link_identity(s, user_id, issuer, subject, now):
                raise AccountConflict("the account was linked to another identity meanwhile")
            self._record(s, StaffSsoLinked(account_id=user_id, changed_by="system", changed_at=now, issuer=issuer),
                         user_id)

    def clear_sso_link(self, by: Changer, user_id: str, reason: str | None = None) -> None:
        """The linked identity no longer signs in to the account; sessions already open stay open."""
        ref, now, why = _ref(by), self.clock.now(), _reason(reason)
        with self.db.transaction() as s:
            account = _one(s, user_id)
            if account.sso_issuer is None:
                raise AccountConflict(f"{account.username} has no single sign-on link")
            staff_store.link_identity(s, user_id, None, None, now)
            self._record(s, StaffSsoLinkCleared(account_id=user_id, changed_by=ref, changed_at=now, reason=why,
                                                issuer=account.sso_issuer), user_id)

    # --- checks --------------------------------------------------------------------------------------

    def valid_roles(self, roles: Iterable[str]) -> list[str]:
        given = sorted({r.strip() for r in roles if r.strip()})
        unknown = [r for r in given if r not in Role.__members__]
        if unknown:
            raise InvalidUser(f"unknown role {', '.join(unknown)}: choose from {', '.join(Role)}", "roles")
        if not given:
            raise InvalidUser("choose at least one role", "roles")
        return given

    def valid_areas(self, areas: Iterable[str]) -> list[str]:
        """Force area codes; none (or just "national") means national."""
        given = sorted({a.strip().upper() for a in areas if a.strip()} - {NATIONAL.upper()})
        unknown = [a for a in given if self.areas.get(a) is None]
        if unknown:
            raise InvalidUser(f"unknown area code {', '.join(unknown)}: use police force area codes such as "
                              "E23000001 (Metropolitan Police), or none for national", "areas")
        return given

    def _keep_an_administrator(self, s: Session, account: AccountDetails, roles: list[str], doing: str) -> None:
        if Role.admin in roles and staff_store.enabled_with_role(s, Role.admin) <= {account.user_id}:
            raise AccountConflict(f"cannot {doing} {account.username}: it is the only enabled administrator "
                                  "account; give another account the administrator role first")

    def _record(self, s: Session, event: Event, account_id: str) -> None:
        self.events.extend(s, account_id, [event], key=account_id)


def _ref(by: Changer) -> str:
    """Who is changing accounts, once they are allowed to: the command line is the server's own operator."""
    if isinstance(by, CommandLine):
        return by.ref
    by.require(Action.manage_users)
    return by.user_id


def _one(s: Session, user_id: str) -> AccountDetails:
    found = staff_store.account_details(s, user_id=user_id)
    if not found:
        raise UnknownAccount("there is no such account")
    return found[0]


def _reason(reason: str | None) -> str | None:
    text = (reason or "").strip()
    if len(text) > MAX_REASON:
        raise InvalidUser(f"keep the reason under {MAX_REASON} characters", "reason")
    return text or None


def _channels(email: str | None, phone: str | None) -> list[ContactChannel]:
    return [c for c, value in ((ContactChannel.email, email), (ContactChannel.phone, phone)) if value]


CENTRE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def valid_centre(centre: str | None, roles: list[str]) -> str | None:
    """A caseworker's reporting centre: the centre id intake knows it by. Only caseworkers work for a centre."""
    given = (centre or "").strip().lower() or None
    if given is None:
        return None
    if Role.caseworker not in roles:
        raise InvalidUser("only a caseworker works for a reporting centre: leave the centre out", "centre")
    if not CENTRE.fullmatch(given):
        raise InvalidUser("a centre is its id, as intake knows it: lower-case letters, digits, dots, dashes or "
                          "underscores, at most 64", "centre")
    return given


def centre_left_by(centre: str | None, roles: list[str]) -> str | None:
    """The centre an account must leave when these become its roles: its own, once it is no longer a
    caseworker's; None when it keeps it (or has none)."""
    return centre if centre is not None and Role.caseworker not in roles else None


def valid_email(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return str(_email.validate_python(text))
    except ValidationError:
        raise InvalidUser(f"{text!r} is not an email address, like name@example.org", "email") from None


def valid_phone(value: str | None) -> str | None:
    text = " ".join((value or "").split())
    if not text:
        return None
    if not PHONE.match(text):
        raise InvalidUser(f"{text!r} is not a phone number, like 07700 900123 or +44 7700 900123", "phone")
    return text
