"""How the queue, an incident and its timeline are shown, to the JSON API and the staff pages alike."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from services.triage.access import Action, Staff
from services.triage.incident import Incident
from shared.events.base import Envelope, Event
from shared.events.incidents import (
    CommunityImpactAssessmentCompleted,
    CommunityImpactAssessmentRequested,
    CriteriaOverridden,
    DutyInspectorAssigned,
    IncidentAcknowledged,
    IncidentClosed,
    IncidentEscalated,
    IncidentRegraded,
    IncidentTriaged,
)
from shared.events.reports import Grading

TITLES: dict[type[Event], str] = {
    IncidentTriaged: "Triaged",
    DutyInspectorAssigned: "Duty Inspector assigned",
    IncidentAcknowledged: "Acknowledged",
    IncidentEscalated: "Escalated",
    CriteriaOverridden: "Criteria overridden",
    IncidentRegraded: "Regraded",
    CommunityImpactAssessmentRequested: "Community impact assessment requested",
    CommunityImpactAssessmentCompleted: "Community impact assessment recorded",
    IncidentClosed: "Closed",
}
_as_json = TypeAdapter(datetime)
ERASED = "[erased]"
UNAVAILABLE = "[unavailable]"  # sealed with the report's key, and intake cannot be asked to open it just now


def redacted(history: Sequence[tuple[Envelope, Event]]) -> list[tuple[Envelope, Event]]:
    """The reporter's data was erased: what staff wrote about the report is not shown again. The stored events
    keep it (the event table is append-only, ADR 0003), so it is replaced here, for pages and API alike."""
    return [(env, event.model_copy(update={"reason": ERASED})
             if isinstance(event, CriteriaOverridden | IncidentRegraded) else event) for env, event in history]


def queue_item(r: dict[str, Any], now: datetime, watching: list[dict[str, str]],
               names: dict[str, str]) -> dict[str, Any]:
    deadline = r["ack_deadline"] if r["state"] == "open" else None
    return {
        "incident_id": r["incident_id"], "reference": r["reference"], "area": r["area"],
        "priority": r["priority"], "needs_duty_inspector": r["needs_duty_inspector"], "state": r["state"],
        "matched": [m["code"] for m in json.loads(r["matched"] or "[]")],
        "ack_deadline": r["ack_deadline"], "time_left_seconds": (
            int((deadline - now).total_seconds()) if deadline else None),
        "triaged_at": r["triaged_at"], "version": r["version"], "escalation_level": r["escalation_level"],
        "duty_inspector": names.get(r["duty_inspector"] or ""), "acknowledged_by": names.get(
            r["acknowledged_by"] or ""), "cia": r["cia"], "being_viewed_by": watching,
    }


def timeline_entry(env: Envelope, event: Event, names: dict[str, str]) -> dict[str, Any]:
    by_id = _actor(event)
    return {"version": env.sequence, "at": env.time, "type": env.type, "title": TITLES.get(type(event), env.type),
            "detail": _detail(event, names), "by": names.get(by_id) if by_id else None,
            "matched": [m.model_dump(mode="json") for m in event.matched] if isinstance(event, IncidentTriaged)
            else None}


def _actor(e: Event) -> str | None:
    match e:
        case IncidentAcknowledged():
            return e.acknowledged_by
        case DutyInspectorAssigned():
            return e.assigned_by
        case CriteriaOverridden():
            return e.overridden_by
        case CommunityImpactAssessmentRequested():
            return e.requested_by
        case CommunityImpactAssessmentCompleted():
            return e.completed_by
        case IncidentClosed():
            return e.closed_by
        case IncidentRegraded():
            return e.regraded_by
    return None


def _detail(e: Event, names: dict[str, str]) -> str:
    match e:
        case IncidentTriaged():
            return (f"{'Re-triaged after new information: ' if e.retriage else ''}{e.priority}, "
                    f"{'needs the Duty Inspector' if e.needs_duty_inspector else 'no Duty Inspector needed'}; "
                    f"ruleset {e.ruleset_version}")
        case DutyInspectorAssigned():
            return names.get(e.duty_inspector, "unknown")
        case IncidentEscalated():
            return f"level {e.level}: {e.reason}"
        case CriteriaOverridden():
            return (f"{e.previous_priority} → {e.priority}; Duty Inspector "
                    f"{'needed' if e.needs_duty_inspector else 'not needed'}. Reason: {e.reason}")
        case IncidentRegraded():
            return f"{_code(e.previous)} → {_code(e.grading)}. Reason: {e.reason}"
        case CommunityImpactAssessmentRequested():
            return f"due {_as_json.dump_python(e.due_at, mode='json')}"
        case CommunityImpactAssessmentCompleted():
            return f"community tension {e.community_tension}, risk of disorder {e.risk_of_disorder}"
        case IncidentClosed():
            return f"outcome: {e.outcome.replace('_', ' ')}"
    return ""


def _code(grading: Grading | None) -> str:
    return grading.code() if grading else "none"


def incident_view(i: Incident, facts: dict[str, Any] | None, history: Sequence[tuple[Envelope, Event]],
                  names: dict[str, str], watching: list[dict[str, str]], staff: Staff, now: datetime) -> dict[str, Any]:
    left = i.time_left(now)
    return {
        "incident_id": i.incident_id, "report_id": i.report_id, "reference": i.reference, "area": i.area,
        "priority": i.priority.value, "computed_priority": i.computed_priority.value,
        "needs_duty_inspector": i.needs_duty_inspector, "state": i.state.value,
        "matched": [m.model_dump() for m in i.matched], "ruleset_version": i.ruleset_version,
        "hate_crime": i.hate_crime, "ack_deadline": i.ack_deadline, "held_for_centre": i.held_for_centre,
        "safeguarding_override": i.safeguarding_override,
        "grading": i.grading.model_dump() if i.grading else None,
        "time_left_seconds": int(left.total_seconds()) if left is not None else None,
        "duty_inspector": names.get(i.duty_inspector or ""), "acknowledged_by": names.get(i.acknowledged_by or ""),
        "acknowledged_at": i.acknowledged_at, "escalation_level": i.escalation_level, "cia": i.cia,
        "cia_due_at": i.cia_due_at, "outcome": i.outcome, "closed_at": i.closed_at, "version": i.version,
        "facts": facts, "being_viewed_by": [w for w in watching if w["user_id"] != staff.user_id],
        "timeline": [timeline_entry(env, event, names) for env, event in history],
        "allowed_actions": [a.value for a in Action if staff.can(a)],
    }
