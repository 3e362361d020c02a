"""The reporter's view of progress, kept from triage's events on `vigil.incidents.v1`.

Types are matched by their string (`vigil.incident.<what>.vN`), so types triage adds
later move the status without a code change here, and types we do not know are ignored.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake import tables
from services.intake.domain import Status, status_after
from shared.clock import Clock
from shared.events.base import Envelope


class StatusFollower:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def __call__(self, s: Session, env: Envelope) -> None:
        report_id = env.data.get("report_id")
        if not isinstance(report_id, str) or not env.type.startswith("vigil.incident."):
            return
        row = s.execute(select(tables.reports.c.status).where(tables.reports.c.report_id == report_id)).first()
        if row is None:
            return
        current = Status(row.status)
        new = status_after(current, env.type)
        if new != current:
            s.execute(tables.reports.update().where(tables.reports.c.report_id == report_id)
                      .values(status=new.value, updated_at=self.clock.now()))
