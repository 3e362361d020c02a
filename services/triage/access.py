"""Who may do what in triage. Checked on the server for every route and action, whatever the UI shows."""

from __future__ import annotations

from enum import StrEnum

from shared.staffaccess import Role


class Action(StrEnum):
    view_queue = "view_queue"
    view_held = "view_held"  # reports held for the reporting centre: the reporter kept them from the police
    view_personal = "view_personal"
    acknowledge = "acknowledge"
    acknowledge_critical = "acknowledge_critical"
    assign = "assign"
    regrade = "regrade"
    override = "override"
    request_cia = "request_cia"
    record_cia = "record_cia"
    complete_cia_actions = "complete_cia_actions"  # any area assessment's action, not only one's own
    close = "close"
    declare_tension = "declare_tension"
    view_audit = "view_audit"
    manage_users = "manage_users"


R = Role
PERMISSIONS: dict[Action, frozenset[Role]] = {
    # Neighbourhood officers are the police team a CIA prompt asks: they open the incident and record it.
    Action.view_queue: frozenset({R.triage_officer, R.duty_inspector, R.supervisor, R.analyst, R.admin,
                                  R.neighbourhood_officer}),
    Action.view_held: frozenset({R.caseworker}),
    Action.view_personal: frozenset({R.triage_officer, R.duty_inspector, R.supervisor}),
    Action.acknowledge: frozenset({R.triage_officer, R.duty_inspector, R.supervisor}),
    Action.acknowledge_critical: frozenset({R.duty_inspector, R.supervisor}),
    Action.assign: frozenset({R.triage_officer, R.duty_inspector, R.supervisor}),
    Action.regrade: frozenset({R.triage_officer, R.duty_inspector, R.supervisor}),
    Action.override: frozenset({R.duty_inspector, R.supervisor}),
    Action.request_cia: frozenset({R.duty_inspector, R.supervisor}),
    Action.record_cia: frozenset({R.duty_inspector, R.supervisor, R.neighbourhood_officer}),
    Action.complete_cia_actions: frozenset({R.supervisor}),
    Action.close: frozenset({R.duty_inspector, R.supervisor}),
    Action.declare_tension: frozenset({R.supervisor}),
    Action.view_audit: frozenset({R.supervisor, R.admin}),
    Action.manage_users: frozenset({R.admin}),
}


def allowed(roles: frozenset[str] | set[str], action: Action) -> bool:
    return any(r in PERMISSIONS[action] for r in roles)


class NotPermitted(PermissionError):
    """The signed-in person's roles do not allow this; refused on the server whatever the page showed."""


class Staff:
    """A signed-in member of staff, as far as the use cases need to know."""

    def __init__(self, user_id: str, username: str, display_name: str, roles: frozenset[str],
                 csrf_token: str = "", areas: frozenset[str] = frozenset()) -> None:
        self.user_id, self.username, self.display_name = user_id, username, display_name
        self.roles, self.csrf_token = roles, csrf_token
        self.areas = areas  # the force areas the account is limited to; empty: national (every area)

    @property
    def national(self) -> bool:
        return not self.areas

    def covers(self, area: str) -> bool:
        """Whether this person's areas include `area`: need to know (docs/security.md, "Scoping by area").
        A national account covers every area; an area account does not cover a national declaration's
        "national" (that is the whole country, not one of its areas)."""
        return self.national or area in self.areas

    def can(self, action: Action) -> bool:
        return allowed(self.roles, action)

    def require(self, action: Action) -> None:
        if not self.can(action):
            raise NotPermitted(f"your role does not allow this ({action.value.replace('_', ' ')})")
