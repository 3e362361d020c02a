"""Events on `vigil.staff.v1`, written by triage, which keeps the staff accounts. Keyed by account id.

Every change an administrator makes to an account is one of these, naming who made it and, where they gave
one, why. Contact details and passwords never travel: an event says which contact details changed and
which are now held, and that a password was reset, never the values.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from shared.events.base import Event, event_type

TOPIC = "vigil.staff.v1"


class ContactChannel(StrEnum):
    email = "email"
    phone = "phone"


class _AccountChange(Event):
    """What every change records: whose account, who changed it (a staff user id, or `cli:<login>` for
    the command line), when, and the reason they gave."""

    account_id: str
    changed_by: str
    changed_at: datetime
    reason: str | None = None


@event_type("vigil.staff.account_created.v1", TOPIC)
class StaffAccountCreated(_AccountChange):
    """`areas` empty means national; `contact_channels` says which contact details are held, not what they are;
    `centre`: a caseworker's reporting centre (None: the deployment's default centre)."""

    username: str
    display_name: str
    roles: list[str]
    areas: list[str]
    contact_channels: list[ContactChannel]
    centre: str | None = None


@event_type("vigil.staff.account_disabled.v1", TOPIC)
class StaffAccountDisabled(_AccountChange):
    """The person can no longer sign in; `sessions_ended` of their sessions ended at that moment."""

    sessions_ended: int


@event_type("vigil.staff.account_enabled.v1", TOPIC)
class StaffAccountEnabled(_AccountChange):
    pass


@event_type("vigil.staff.roles_changed.v1", TOPIC)
class StaffRolesChanged(_AccountChange):
    roles: list[str]
    previous_roles: list[str]


@event_type("vigil.staff.areas_changed.v1", TOPIC)
class StaffAreasChanged(_AccountChange):
    """`areas` empty means national."""

    areas: list[str]
    previous_areas: list[str]


@event_type("vigil.staff.centre_changed.v1", TOPIC)
class StaffCentreChanged(_AccountChange):
    """A caseworker's reporting centre (an intake centre id) changed; None: the deployment's default centre. Also
    recorded, to None, when a change of roles takes the caseworker role from an account that named a centre."""

    centre: str | None
    previous_centre: str | None


@event_type("vigil.staff.contact_details_changed.v1", TOPIC)
class StaffContactDetailsChanged(_AccountChange):
    """Which details changed and which are now held; the addresses and numbers stay in triage's database."""

    changed: list[ContactChannel]
    contact_channels: list[ContactChannel]


@event_type("vigil.staff.password_reset.v1", TOPIC)
class StaffPasswordReset(_AccountChange):
    """`temporary`: Vigil made the password and showed it once; otherwise the administrator typed one.
    The person's sessions ended at that moment."""

    temporary: bool
    sessions_ended: int


@event_type("vigil.staff.sso_linked.v1", TOPIC)
class StaffSsoLinked(_AccountChange):
    """A single sign-on identity was linked to the account (ADR 0060): at the person's first sign-in with it, by
    the verified email address the provider gave (`changed_by` "system"). The provider's `sub` for the person
    is kept on the account, not here."""

    issuer: str
    linked_by: str = "email"


@event_type("vigil.staff.sso_link_cleared.v1", TOPIC)
class StaffSsoLinkCleared(_AccountChange):
    """An administrator removed the account's single sign-on link: the identity no longer signs in to it, and
    the next identity with the account's verified email address may link again."""

    issuer: str
