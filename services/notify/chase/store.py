"""Chases in notify's `chases` table: one row per incident, the aggregate's state as of its last command."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from services.notify import tables
from services.notify.chase.model import ALERTING, Chase, ChaseState
from services.notify.ledger import DUTY_INSPECTOR_ALERT
from services.notify.policy import parse_page
from shared.clock import Clock
from shared.db import insert_new

NOT_PAGED = "-"


class ChaseStore:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def get(self, s: Session, incident_id: str, for_update: bool = False) -> Chase | None:
        """`for_update`: hold the row (on PostgreSQL) until the transaction ends, so the consumer and the timer
        task change a chase one at a time, each seeing what the other committed."""
        query = select(tables.chases).where(tables.chases.c.incident_id == incident_id)
        row = s.execute(query.with_for_update() if for_update else query).mappings().first()
        return _chase(row) if row else None

    def add(self, s: Session, chase: Chase) -> bool:
        """False when the incident has a chase already (another copy of the event got there first)."""
        added = insert_new(s, tables.chases, incident_id=chase.incident_id, **self._row(chase))
        chase.pending.clear()
        return added

    def save(self, s: Session, chase: Chase) -> None:
        if not chase.pending:
            return
        c = tables.chases
        s.execute(c.update().where(c.c.incident_id == chase.incident_id).values(**self._row(chase)))
        chase.pending.clear()

    def alerts_queued(self, s: Session, incident_id: str) -> int:
        d = tables.deliveries
        return int(s.execute(select(func.count()).select_from(d).where(
            d.c.incident_id == incident_id, d.c.purpose == DUTY_INSPECTOR_ALERT)).scalar_one())

    def group_size(self, s: Session, group_id: str) -> int:
        """The members of a flood group notify has heard of (members triaged before the group formed are
        counted by triage, in the size the group's page was decided with)."""
        c = tables.chases
        return int(s.execute(select(func.count()).select_from(c).where(c.c.group_id == group_id)).scalar_one())

    def alert_still_wanted(self, s: Session, row: dict[str, Any]) -> str | None:
        """For the dispatcher: an alert claimed after the acknowledgement is withdrawn, not sent."""
        if row["purpose"] != DUTY_INSPECTOR_ALERT:
            return None
        state = s.execute(select(tables.chases.c.state).where(tables.chases.c.incident_id == row["incident_id"])
                          ).scalar()
        return None if state is None or ChaseState(state) in ALERTING else f"the chase is over ({state})"

    def _row(self, chase: Chase) -> dict[str, Any]:
        return {"report_id": chase.report_id, "reference": chase.reference, "area": chase.area,
                "priority": chase.priority, "ack_deadline": chase.ack_deadline,
                "matched": json.dumps(list(chase.matched)), "state": chase.state.value,
                "page": chase.page.label if chase.page else NOT_PAGED, "started_at": chase.started_at,
                "acknowledged_at": chase.acknowledged_at, "acknowledged_by": chase.acknowledged_by,
                "plan": chase.plan, "group_id": chase.group_id, "group_size": chase.group_size,
                "updated_at": self.clock.now()}


def _chase(row: RowMapping) -> Chase:
    page = str(row["page"])
    started: datetime | None = row["started_at"]
    return Chase(incident_id=str(row["incident_id"]), report_id=row["report_id"], reference=str(row["reference"]),
                 area=str(row["area"]), priority=str(row["priority"]), ack_deadline=row["ack_deadline"],
                 matched=tuple(json.loads(str(row["matched"]))), state=ChaseState(row["state"]),
                 page=None if page == NOT_PAGED else parse_page(page), started_at=started,
                 acknowledged_at=row["acknowledged_at"], acknowledged_by=row["acknowledged_by"],
                 plan=int(row["plan"] or 0), group_id=row["group_id"], group_size=int(row["group_size"] or 0))
