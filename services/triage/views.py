"""Read models shared by the JSON API and the staff pages: the queue, an incident, its timeline."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from services.triage import tables
from services.triage.access import Action, Staff
from services.triage.incident import Incident
from shared.events.base import Envelope

VIEWING_SECONDS = 45
STATES = ("open", "acknowledged", "closed")


def queue(s: Session, now: datetime, area: str | None = None, priority: str | None = None,
          state: str | None = None) -> list[dict[str, Any]]:
    """Open work first by priority, then by the deadline that is nearest."""
    t = tables.incidents
    q = select(t)
    if state == "all":
        pass
    elif state in STATES:
        q = q.where(t.c.state == state)
    else:
        q = q.where(t.c.state != "closed")
    if area:
        q = q.where(t.c.area == area)
    if priority:
        q = q.where(t.c.priority == priority)
    q = q.order_by(t.c.priority, t.c.ack_deadline.is_(None), t.c.ack_deadline, t.c.triaged_at)
    rows = [dict(r) for r in s.execute(q.limit(500)).mappings()]
    watching = viewers(s, now, [r["incident_id"] for r in rows])
    names = display_names(s)
    return [_queue_item(r, now, watching.get(r["incident_id"], []), names) for r in rows]


def _queue_item(r: dict[str, Any], now: datetime, watching: list[dict[str, str]],
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


def viewers(s: Session, now: datetime, incident_ids: list[str]) -> dict[str, list[dict[str, str]]]:
    v, u = tables.incident_viewers, tables.staff_users
    if not incident_ids:
        return {}
    rows = s.execute(select(v.c.incident_id, u.c.user_id, u.c.display_name).join(u, u.c.user_id == v.c.user_id)
                     .where(v.c.incident_id.in_(incident_ids), v.c.seen_at > now - timedelta(seconds=VIEWING_SECONDS))
                     .order_by(u.c.display_name))
    out: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        out.setdefault(r.incident_id, []).append({"user_id": r.user_id, "display_name": r.display_name})
    return out


def mark_viewing(s: Session, incident_id: str, staff: Staff, now: datetime) -> None:
    v = tables.incident_viewers
    done = s.execute(update(v).where(v.c.incident_id == incident_id, v.c.user_id == staff.user_id)
                     .values(seen_at=now))
    if not getattr(done, "rowcount", 0):
        s.execute(insert(v).values(incident_id=incident_id, user_id=staff.user_id, seen_at=now))
    s.execute(delete(v).where(v.c.seen_at < now - timedelta(hours=1)))


def display_names(s: Session) -> dict[str, str]:
    u = tables.staff_users
    return {r.user_id: r.display_name for r in s.execute(select(u.c.user_id, u.c.display_name))} | {
        "system": "Vigil"}


TITLES = {
    "vigil.incident.triaged.v1": "Triaged",
    "vigil.incident.duty_inspector_assigned.v1": "Duty Inspector assigned",
    "vigil.incident.acknowledged.v1": "Acknowledged",
    "vigil.incident.escalated.v1": "Escalated",
    "vigil.incident.criteria_overridden.v1": "Criteria overridden",
    "vigil.incident.regraded.v1": "Regraded",
    "vigil.incident.community_impact_assessment_requested.v1": "Community impact assessment requested",
    "vigil.incident.community_impact_assessment_completed.v1": "Community impact assessment recorded",
    "vigil.incident.closed.v1": "Closed",
}


def timeline_entry(env: Envelope, names: dict[str, str]) -> dict[str, Any]:
    d = env.data
    by_id = next((d[k] for k in ("acknowledged_by", "assigned_by", "overridden_by", "requested_by", "completed_by",
                                 "closed_by", "regraded_by") if d.get(k)), None)
    detail = {
        "vigil.incident.triaged.v1": lambda: (
            f"{'Re-triaged after new information: ' if d.get('retriage') else ''}{d['priority']}, "
            f"{'needs the Duty Inspector' if d['needs_duty_inspector'] else 'no Duty Inspector needed'}; "
            f"ruleset {d['ruleset_version']}"),
        "vigil.incident.duty_inspector_assigned.v1": lambda: names.get(d["duty_inspector"], "unknown"),
        "vigil.incident.escalated.v1": lambda: f"level {d['level']}: {d['reason']}",
        "vigil.incident.criteria_overridden.v1": lambda: (
            f"{d['previous_priority']} → {d['priority']}; Duty Inspector "
            f"{'needed' if d['needs_duty_inspector'] else 'not needed'}. Reason: {d['reason']}"),
        "vigil.incident.regraded.v1": lambda: f"{_code(d['previous'])} → {_code(d['grading'])}. Reason: {d['reason']}",
        "vigil.incident.community_impact_assessment_requested.v1": lambda: f"due {d['due_at']}",
        "vigil.incident.community_impact_assessment_completed.v1": lambda: (
            f"community tension {d['community_tension']}, risk of disorder {d['risk_of_disorder']}"),
        "vigil.incident.closed.v1": lambda: f"outcome: {d['outcome'].replace('_', ' ')}",
    }.get(env.type, lambda: "")()
    return {"version": env.sequence, "at": env.time, "type": env.type, "title": TITLES.get(env.type, env.type),
            "detail": detail, "by": names.get(by_id) if by_id else None,
            "matched": d.get("matched") if env.type == "vigil.incident.triaged.v1" else None}


def _code(grading: dict[str, str] | None) -> str:
    return "".join(grading[k] for k in ("source", "intelligence", "handling")) if grading else "none"


def incident_view(i: Incident, facts: dict[str, Any] | None, history: list[Envelope], names: dict[str, str],
                  watching: list[dict[str, str]], staff: Staff, now: datetime) -> dict[str, Any]:
    left = i.time_left(now)
    return {
        "incident_id": i.incident_id, "report_id": i.report_id, "reference": i.reference, "area": i.area,
        "priority": i.priority.value, "computed_priority": i.computed_priority.value,
        "needs_duty_inspector": i.needs_duty_inspector, "state": i.state.value,
        "matched": [m.model_dump() for m in i.matched], "ruleset_version": i.ruleset_version,
        "hate_crime": i.hate_crime, "ack_deadline": i.ack_deadline,
        "grading": i.grading.model_dump() if i.grading else None,
        "time_left_seconds": int(left.total_seconds()) if left is not None else None,
        "duty_inspector": names.get(i.duty_inspector or ""), "acknowledged_by": names.get(i.acknowledged_by or ""),
        "acknowledged_at": i.acknowledged_at, "escalation_level": i.escalation_level, "cia": i.cia,
        "cia_due_at": i.cia_due_at, "outcome": i.outcome, "closed_at": i.closed_at, "version": i.version,
        "facts": facts, "being_viewed_by": [w for w in watching if w["user_id"] != staff.user_id],
        "timeline": [timeline_entry(env, names) for env in history],
        "allowed_actions": [a.value for a in Action if staff.can(a)],
    }
