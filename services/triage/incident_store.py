"""Incidents at rest: each one's event stream, and the queue row kept beside it in the same transaction."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from services.triage import tables
from services.triage.incident import Incident
from shared.events.base import Envelope, Event
from shared.events.incidents import NATIONAL
from shared.eventstore import EventStore

STATES = ("open", "acknowledged", "closed")

History = list[tuple[Envelope, Event]]

_incidents = tables.incidents


def _missed(now: datetime) -> tuple[Any, ...]:
    t = _incidents
    return (t.c.state == "open", t.c.ack_deadline <= now,
            or_(t.c.escalated_deadline.is_(None), t.c.escalated_deadline != t.c.ack_deadline))


class IncidentRepository:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def get(self, s: Session, incident_id: str) -> Incident | None:
        found = self.with_history(s, incident_id)
        return found[0] if found else None

    def with_history(self, s: Session, incident_id: str) -> tuple[Incident, History] | None:
        """The incident and the events it is folded from, from one read of its stream."""
        history = [(env, env.event()) for env in self.store.load(s, incident_id)]
        if not history:
            return None
        return Incident.replay(incident_id, [event for _env, event in history]), history

    def save(self, s: Session, incident: Incident) -> None:
        if not incident.pending:
            return
        before = incident.version - len(incident.pending)
        self.store.append(s, incident.incident_id, before, incident.pending)
        row = _queue_row(incident)
        if before == 0:
            s.execute(insert(_incidents).values(incident_id=incident.incident_id, **row))
        else:
            s.execute(update(_incidents).where(_incidents.c.incident_id == incident.incident_id).values(**row))
        incident.pending = []

    def overdue(self, s: Session, now: datetime) -> list[str]:
        """Open incidents whose acknowledgement deadline has passed and not yet been escalated."""
        return list(s.execute(select(_incidents.c.incident_id).where(*_missed(now))).scalars().all())

    def oldest_overdue(self, s: Session, now: datetime) -> datetime | None:
        """The earliest of those deadlines: how late the timer task is running (the watchdog reads it)."""
        return s.execute(select(func.min(_incidents.c.ack_deadline)).where(*_missed(now))).scalar()

    def without_duty_inspector(self, s: Session, area: str) -> list[str]:
        """Incidents not closed that do not need the Duty Inspector, in the area (every area for national)."""
        t = _incidents
        q = select(t.c.incident_id).where(t.c.state != "closed", t.c.needs_duty_inspector.is_(False))
        if area != NATIONAL:
            q = q.where(t.c.area == area)
        return list(s.execute(q).scalars().all())

    def mark_erased(self, s: Session, report_id: str, at: datetime) -> None:
        s.execute(update(_incidents).where(_incidents.c.report_id == report_id).values(erased_at=at))

    def erased_at(self, s: Session, incident_id: str) -> datetime | None:
        return s.execute(select(_incidents.c.erased_at).where(_incidents.c.incident_id == incident_id)).scalar()

    def queue(self, s: Session, area: str | None, priority: str | None, state: str | None,
              within: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
        """Open work first by priority, then by the deadline that is nearest; `within`: these areas only (none:
        every area)."""
        t = _incidents
        q = select(t)
        if state == "all":
            pass
        elif state in STATES:
            q = q.where(t.c.state == state)
        else:
            q = q.where(t.c.state != "closed")
        q = q.where(t.c.held_for_centre.is_(False))
        if area:
            q = q.where(t.c.area == area)
        if within:
            q = q.where(t.c.area.in_(sorted(within)))
        if priority:
            q = q.where(t.c.priority == priority)
        q = q.order_by(t.c.priority, t.c.ack_deadline.is_(None), t.c.ack_deadline, t.c.triaged_at)
        return [dict(r) for r in s.execute(q.limit(500)).mappings()]


def _queue_row(i: Incident) -> dict[str, Any]:
    return {
        "reference": i.reference, "area": i.area, "priority": i.priority.value, "critical": i.needs_duty_inspector,
        "needs_duty_inspector": i.needs_duty_inspector, "state": i.state.value, "ack_deadline": i.ack_deadline,
        "triaged_at": i.triaged_at, "report_id": i.report_id,
        "matched": json.dumps([m.model_dump() for m in i.matched]), "ruleset_version": i.ruleset_version,
        "version": i.version, "duty_inspector": i.duty_inspector, "acknowledged_by": i.acknowledged_by,
        "acknowledged_at": i.acknowledged_at, "escalation_level": i.escalation_level,
        "escalated_deadline": i.escalated_deadline, "cia": i.cia,
        "cia_due_at": i.cia_due_at, "outcome": i.outcome, "closed_at": i.closed_at, "updated_at": i.updated_at,
        "held_for_centre": i.held_for_centre, "centre_id": i.centre_id,
    }
