"""The per-area projection: folds report events into counts per area."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.assessment import tables
from shared.events.base import Envelope
from shared.events.reports import ReportSubmitted


def on_report_event(s: Session, env: Envelope) -> None:
    event = env.event()
    if not isinstance(event, ReportSubmitted):
        return
    area = event.incident.location.area
    row = s.execute(select(tables.area_counts).where(tables.area_counts.c.area == area)).mappings().first()
    if row is None:
        s.execute(tables.area_counts.insert().values(area=area, reports=1, last_report_at=event.submitted_at))
    else:
        last = max(filter(None, [row["last_report_at"], event.submitted_at]))
        s.execute(tables.area_counts.update().where(tables.area_counts.c.area == area)
                  .values(reports=row["reports"] + 1, last_report_at=last))
