"""The reporter's view of progress, kept from triage's events on `vigil.incidents.v1`.

Dispatch is on the event class (`domain.REPORTER_STATUS`, matched after upcasting); events of other
classes, and types intake has no class for, are skipped. No field of the event is needed, so its
data is not decoded: the topic is keyed by report id, and a triage that adds fields to an event
cannot hold a reporter's status up.

Two fields are read, tolerantly: a triage decision's `hate_crime`, the report's retention category
(docs/retention.md), and its `safeguarding_override`, the rule that shared a report the reporter kept from the
police with them all the same, which the reporter is told of (#15). A decision intake cannot decode changes the
status all the same.
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake import tables
from services.intake.domain import REPORTER_STATUS, Status, later_status
from shared.clock import Clock
from shared.events.base import Envelope
from shared.events.handlers import is_event
from shared.events.incidents import IncidentTriaged


def status_meant(env: Envelope) -> Status | None:
    return next((status for cls, status in REPORTER_STATUS.items() if is_event(env, cls)), None)


def decision_of(env: Envelope) -> IncidentTriaged | None:
    """Triage's decision, if the event is one intake can read: its `hate_crime` is triage's latest word on
    whether the report is a hate crime (None when it has not said)."""
    if not is_event(env, IncidentTriaged):
        return None
    try:
        event = env.event()
    except ValidationError:
        return None
    return event if isinstance(event, IncidentTriaged) else None


class StatusFollower:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def __call__(self, s: Session, env: Envelope) -> None:
        proposed = status_meant(env)
        if proposed is None:
            return
        report_id = env.key
        row = s.execute(select(tables.reports.c.status).where(tables.reports.c.report_id == report_id)).first()
        if row is None:
            return
        current = Status(row.status)
        new = later_status(current, proposed)
        changes: dict[str, object] = {"status": new.value, "updated_at": self.clock.now()} if new != current else {}
        decision = decision_of(env)
        if decision is not None and decision.hate_crime is not None:
            changes["hate_crime"] = decision.hate_crime
        if decision is not None and decision.safeguarding_override:
            # once shared with the police to protect a life, it stays so: the reporter is told where to reach them
            changes["safeguarding_override"] = decision.safeguarding_override
        if changes:
            s.execute(tables.reports.update().where(tables.reports.c.report_id == report_id).values(**changes))
