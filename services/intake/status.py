"""The reporter's view of progress, kept from triage's events on `vigil.incidents.v1`.

Dispatch is on the event class (`domain.REPORTER_STATUS`, matched after upcasting); events of other
classes, and types intake has no class for, are skipped. No field of the event is needed, so its
data is not decoded: the topic is keyed by report id, and a triage that adds fields to an event
cannot hold a reporter's status up.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake import tables
from services.intake.domain import REPORTER_STATUS, Status, later_status
from shared.clock import Clock
from shared.events.base import Envelope
from shared.events.handlers import is_event


def status_meant(env: Envelope) -> Status | None:
    return next((status for cls, status in REPORTER_STATUS.items() if is_event(env, cls)), None)


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
        if new != current:
            s.execute(tables.reports.update().where(tables.reports.c.report_id == report_id)
                      .values(status=new.value, updated_at=self.clock.now()))
