"""How the staff pages say things: codes as labels, times as ages, the viewer's next step on an incident,
the timeline read from the typed events, and a reporter's details as text a person reads.

The pages show times through shared.web's `london_time`; everything here is plain Python over what the
read side (queries.py) returns, so it is tested without a browser.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.triage.access import Action, Staff
from services.triage.queries import IncidentRecord
from shared.events.incidents import CommunityImpactAssessmentCompleted
from shared.web.filters import humanise

LABELS = {
    "open": "Awaiting acknowledgement",
    "acknowledged": "Acknowledged",
    "closed": "Closed",
    "non_crime_hate_incident_recorded": "Non-crime hate incident recorded",
    "referred_to_partner": "Referred to a partner agency",
    "duplicate": "Duplicate of another report",
    "withdrawn_by_reporter": "Withdrawn by the reporter",
    "place_of_worship": "Place of worship",
}
PERSONAL_LABELS = {
    "name": "Name", "email": "Email address", "phone": "Phone number", "postcode": "Postcode",
    "place_name": "Name of the place", "url": "Web address", "description": "What happened, in their words",
}
GRADING = {
    "source": {"1": "1 reliable", "2": "2 untested", "3": "3 not reliable"},
    "intelligence": {"A": "A known directly", "B": "B known indirectly, corroborated", "C": "C known indirectly",
                     "D": "D not known", "E": "E suspected to be false"},
    "handling": {"P": "P sharing permitted", "C": "C sharing with conditions"},
}


def label(code: object) -> str:
    """A code as people say it: LABELS where plain humanising would read badly."""
    text = str(getattr(code, "value", code) or "")
    return LABELS.get(text) or humanise(text)


def time_left(seconds: int | None) -> str:
    if seconds is None:
        return ""
    sign, seconds = ("overdue " if seconds < 0 else ""), abs(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return sign + (f"{h}h {m:02d}m" if h else f"{m}m {s:02d}s")


def ago(when: datetime | None, now: datetime) -> str:
    """ "12 min ago": how long a report has waited, at a glance."""
    if when is None:
        return ""
    minutes = max(0, int((now - when).total_seconds() // 60))
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min ago" if minutes else f"{hours} h ago"
    return f"{hours // 24} days ago"


# --- what the viewer can do next --------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """An action on an incident: the form it posts to (`/incidents/<id>/<action>`) and its words."""

    action: str
    text: str
    permission: Action


STEPS = (
    Step("acknowledge", "Acknowledge", Action.acknowledge),
    Step("assign", "Assign a Duty Inspector", Action.assign),
    Step("override", "Change the priority", Action.override),
    Step("regrade", "Change the grading", Action.regrade),
    Step("request-cia", "Request a community impact assessment", Action.request_cia),
    Step("record-cia", "Record a community impact assessment", Action.record_cia),
    Step("close", "Close the incident", Action.close),
)
BY_ACTION = {s.action: s for s in STEPS}


def may(staff: Staff, step: Step, i: Mapping[str, Any]) -> bool:
    """Whether the page offers `step` to this person on this incident; the use case checks again."""
    if i["state"] == "closed" or not staff.can(step.permission):
        return False
    if step.action == "acknowledge":
        return i["state"] == "open" and (not i["needs_duty_inspector"] or staff.can(Action.acknowledge_critical))
    if step.action == "request-cia":
        return i["cia"] == "none"
    return True


def primary_step(staff: Staff, i: Mapping[str, Any]) -> Step | None:
    """The one thing this person most likely came to do: a Duty Inspector acknowledges, a triage officer
    finds a Duty Inspector for a critical incident, a supervisor records what was asked for or closes."""
    wanted = ["acknowledge"]
    if i["needs_duty_inspector"] and not i["duty_inspector"] and i["state"] == "open":
        wanted.append("assign")
    if i["cia"] == "requested":
        wanted.append("record-cia")
    if i["state"] == "acknowledged":
        wanted.append("close")
    return next((BY_ACTION[a] for a in wanted if may(staff, BY_ACTION[a], i)), None)


def other_steps(staff: Staff, i: Mapping[str, Any], primary: Step | None) -> list[Step]:
    return [s for s in STEPS if s is not primary and s.action != "acknowledge" and may(staff, s, i)]


# --- the timeline -----------------------------------------------------------------------------------

def timeline(record: IncidentRecord) -> list[dict[str, Any]]:
    """Newest first: each event with who acted and, for an assessment, what was recorded with it."""
    assessments = list(record.assessments)
    items = []
    for entry, (_env, event) in zip(record.detail["timeline"], record.history, strict=True):
        item = {**entry, "kind": type(event).__name__, "event": event, "assessment": None}
        if isinstance(event, CommunityImpactAssessmentCompleted):
            item["assessment"] = _assessment_of(event, assessments)
        items.append(item)
    return items[::-1]


def _assessment_of(event: CommunityImpactAssessmentCompleted, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    for row in rows:
        if row["completed_by"] == event.completed_by and row["completed_at"] == event.completed_at:
            rows.remove(row)
            return row
    return rows.pop(0) if rows else None


# --- the reporter's details -------------------------------------------------------------------------

@dataclass(frozen=True)
class PersonalDetails:
    rows: list[dict[str, Any]]  # label, value, as_written
    updates: list[dict[str, Any]]  # at, information: what the reporter added later


def personal_details(data: Mapping[str, Any]) -> PersonalDetails:
    known = [k for k in PERSONAL_LABELS if k in data]
    others = sorted(k for k in data if k not in PERSONAL_LABELS and k != "updates")
    rows = [{"label": PERSONAL_LABELS.get(k) or humanise(k), "value": readable(data[k]),
             "as_written": k == "description" or "\n" in readable(data[k])} for k in known + others]
    updates = [{"at": u.get("at"), "information": readable(u.get("information"))}
               for u in data.get("updates") or [] if isinstance(u, Mapping)]
    return PersonalDetails(rows, updates)


def readable(value: object) -> str:
    """Text as a person reads it, whatever shape intake gave: never a Python repr."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return "\n".join(f"{humanise(k)}: {readable(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "\n".join(readable(v) for v in value)
    return str(value)


# --- paging -----------------------------------------------------------------------------------------

def pagination(page: int, pages: int, link: Callable[[int], str]) -> dict[str, Any]:
    """govukPagination's options: the first, last and the pages around this one, gaps as ellipses."""
    shown = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    items: list[dict[str, Any]] = []
    for number in shown:
        if items and number - items[-1].get("number", number) > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": link(number), "current": number == page})
    options: dict[str, Any] = {"items": items, "landmarkLabel": "Pages of results"}
    if page > 1:
        options["previous"] = {"href": link(page - 1)}
    if page < pages:
        options["next"] = {"href": link(page + 1)}
    return options
