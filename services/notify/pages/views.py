"""What the staff pages show, in plain English: who is on call, the escalation policies, overrides and deliveries.

Plain Python over what the features answer: codes become words here (people by name, areas by name,
purposes, channels and statuses as labels), and the templates only lay them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.notify.chase.rota import AreaDuties, Override
from services.notify.ledger import DeliveryStatus
from services.notify.policy import DEFAULT_AREA, ON_CALL, Directory, Duty, EscalationPolicy
from services.notify.staff_directory import StaffDirectory
from shared.areas import AreaRegistry
from shared.web.filters import humanise

PURPOSES = {
    "duty_inspector_alert": "Duty Inspector alert",
    "cia_prompt": "Community impact assessment request",
    "cia_reminder": "Community impact assessment reminder",
    "cia_review": "Community impact assessment review",
    "reporter_receipt": "Receipt",
    "reporter_update": "Progress update",
    "partner_webhook": "Partner update",
    "site_routine_due": "Place of worship: routine reminder",
    "site_routine_overdue": "Place of worship: routine overdue",
}
CHANNELS = {"email": "Email", "sms": "Text message", "webhook": "Webhook", "reporter": "Reporter's email or text",
            "log": "Log only"}
STATUS_CHOICES = {DeliveryStatus.pending: "Queued", DeliveryStatus.sent: "Sent",
                  DeliveryStatus.failed: "Failed, will try again", DeliveryStatus.gave_up: "Gave up",
                  DeliveryStatus.cancelled: "Withdrawn"}
TAGS = {"Sent": "govuk-tag--green", "Queued": "govuk-tag--blue", "Sending": "govuk-tag--blue",
        "Failed, will try again": "govuk-tag--orange", "Gave up": "govuk-tag--red",
        "Gave up, dealt with": "govuk-tag--grey", "Withdrawn": "govuk-tag--grey"}


def in_words(items: list[str]) -> str:
    """"A", "A and B", "A, B and C"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}" if items else ""


def duration(minutes: float) -> str:
    """"15 minutes", "1 hour", "1 hour 30 minutes", "30 seconds"."""
    seconds = round(minutes * 60)
    if seconds < 60:
        return _count(seconds, "second")
    hours, rest = divmod(seconds // 60, 60)
    parts = [_count(hours, "hour")] if hours else []
    return " ".join([*parts, _count(rest, "minute")] if rest or not hours else parts)


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" + ("" if n == 1 else "s")


@dataclass(frozen=True)
class Names:
    """People, teams and areas by name rather than by code; people by their staff account's display name where
    triage has the account, marked when it is disabled (they are passed over when paged)."""

    directory: Directory
    areas: AreaRegistry
    staff: StaffDirectory | None = None

    def person(self, person_id: str, area: str | None = None) -> str:
        """`area`: a rota's; someone whose account does not cover it is marked (they are passed over too)."""
        account = self.staff.account_named(person_id) if self.staff else None
        if account is not None:
            if not account.enabled:
                return f"{account.display_name} (account disabled)"
            if area is not None and area != DEFAULT_AREA and not account.covers(area):
                return f"{account.display_name} (account does not cover {self.area(area)})"
            return account.display_name
        found = self.directory.people.get(person_id)
        if found is None:
            return f"{person_id} (no longer in the directory)"
        return found.name or f"{person_id} (no staff account)"

    def area(self, code: str) -> str:
        if code == DEFAULT_AREA:
            return "All other areas" if len(self.directory.areas) > 1 else "All areas"
        found = self.areas.get(code)
        return found.name if found else code

    def target(self, target: str) -> str:
        if target == ON_CALL:
            return "the Duty Inspector on call for the area"
        kind, _, ref = target.partition(":")
        if kind == "person":
            return self.person(ref)
        members = [self.person(p) for p in self.directory.teams.get(ref, [])]
        return f"the {humanise(ref).lower()} team ({in_words(members)})"

    def recipient(self, reference: str) -> str:
        kind, _, ref = reference.partition(":")
        if kind == "person":
            return self.person(ref)
        if kind == "staff":  # a staff account by username, in the directory or not
            account = self.staff.account_named(ref) if self.staff else None
            return account.display_name if account else ref
        if kind == "partner":
            return f"partner agency {ref}"
        return "the reporter" if kind == "reporter" else reference


@dataclass(frozen=True)
class DutyView:
    person: str
    starts_at: datetime | None
    ends_at: datetime | None
    by_override: bool


@dataclass(frozen=True)
class AreaOnCall:
    code: str
    name: str
    now: DutyView
    next: DutyView | None
    policy: str
    policy_title: str


def on_call_board(board: list[AreaDuties], names: Names) -> list[AreaOnCall]:
    def view(d: Duty, area: str) -> DutyView:
        return DutyView(names.person(d.person_id, area), d.starts_at, d.ends_at, d.by_override)

    def name(code: str) -> str:
        return ("All areas" if len(board) == 1 else "All other areas") if code == DEFAULT_AREA else names.area(code)

    shown = [AreaOnCall(a.area, name(a.area), view(a.duties[0], a.area),
                        view(a.duties[1], a.area) if len(a.duties) > 1 else None, a.policy, policy_title(a.policy))
             for a in board]
    return sorted(shown, key=lambda a: (a.code == DEFAULT_AREA, a.name))


def policy_title(name: str) -> str:
    return f"{humanise(name)} policy"


@dataclass(frozen=True)
class PolicyView:
    name: str
    title: str
    used_by: str
    levels: list[str]
    resending: str
    afterwards: str


def policies(directory: Directory, names: Names) -> list[PolicyView]:
    used: dict[str, list[str]] = {}
    for code in sorted(directory.areas, key=lambda c: (c == DEFAULT_AREA, names.area(c))):
        name = names.area(code)
        used.setdefault(directory.areas[code].policy, []).append(name.lower() if code == DEFAULT_AREA else name)
    return [describe(name, policy, names, used[name]) for name, policy in directory.policies.items() if name in used]


def describe(name: str, policy: EscalationPolicy, names: Names, used_by: list[str]) -> PolicyView:
    last = len(policy.levels) - 1
    levels = []
    for i, level in enumerate(policy.levels):
        who = in_words([names.target(t) for t in level.targets])
        then = (f"level {i + 2} is paged" if i < last else "level 1 is paged again" if policy.loops
                else "the chase stops and is recorded as unanswered")
        levels.append(f"{who[:1].upper()}{who[1:]}. If nobody acknowledges within "
                      f"{duration(level.delay_minutes)}, {then}.")
    every = policy.resend_every_minutes
    resending = (f"Each level is paged again every {duration(every)} until someone acknowledges." if every
                 else "A level is paged once; it is not sent again before the next level.")
    return PolicyView(name, policy_title(name), in_words(used_by), levels, resending, _afterwards(policy.loops))


def _afterwards(loops: int) -> str:
    if not loops:
        return ""
    times = "once more" if loops == 1 else f"{loops} more times"
    return (f"The whole policy runs {times} after the first time through; if nobody has acknowledged by the end, "
            "the chase stops and is recorded as unanswered.")


@dataclass(frozen=True)
class OverrideView:
    override_id: str
    area: str
    area_name: str
    person: str
    starts_at: datetime
    ends_at: datetime
    in_force: bool
    set_by: str
    reason: str


def overrides(found: list[Override], names: Names, now: datetime) -> list[OverrideView]:
    return [OverrideView(o.override_id, o.area, names.area(o.area), names.person(o.person_id), o.starts_at,
                         o.ends_at, o.starts_at <= now, o.set_by or "", o.reason or "") for o in found]


@dataclass(frozen=True)
class DeliveryView:
    notification_id: str
    created_at: datetime
    updated_at: datetime
    what: str
    to: str
    channel: str
    status: str
    tag: str
    attempts: int
    reference: str
    incident_id: str | None
    error: str
    can_act: bool


def deliveries(rows: list[dict[str, Any]], names: Names) -> list[DeliveryView]:
    return [delivery(r, names) for r in rows]


def delivery(row: dict[str, Any], names: Names) -> DeliveryView:
    status = status_label(row)
    return DeliveryView(
        notification_id=str(row["notification_id"]), created_at=row["created_at"], updated_at=row["updated_at"],
        what=PURPOSES.get(row["purpose"]) or humanise(row["purpose"]), to=names.recipient(str(row["recipient"])),
        channel=CHANNELS.get(row["channel"]) or humanise(row["channel"]), status=status, tag=TAGS.get(status, ""),
        attempts=int(row["attempts"]), reference=str(row.get("reference") or ""), incident_id=row["incident_id"],
        error=error_kind(row["last_error"]), can_act=status == "Gave up")


def status_label(row: dict[str, Any]) -> str:
    status = row["status"]
    if status == DeliveryStatus.pending.value:
        return "Failed, will try again" if row["last_error"] else "Sending" if row["attempts"] else "Queued"
    if status == DeliveryStatus.gave_up.value:
        return "Gave up, dealt with" if row["resolved_at"] else "Gave up"
    labels = {DeliveryStatus.sent.value: "Sent", DeliveryStatus.cancelled.value: "Withdrawn"}
    return labels.get(status) or humanise(status)


def error_kind(error: str | None) -> str:
    """The kind of error only: a mail server's message can quote an address."""
    return str(error).split(":", 1)[0][:80] if error else ""
