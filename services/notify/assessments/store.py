"""Assessment prompts in notify's `assessments` table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notify import tables
from services.notify.assessments.model import Assessment, AssessmentState, Trigger
from shared.db import insert_new


class AssessmentStore:
    def add(self, s: Session, a: Assessment, now: datetime) -> bool:
        """False when the prompt exists already (its id is deterministic in what caused it)."""
        return insert_new(s, tables.assessments, assessment_id=a.assessment_id, trigger=a.trigger.value,
                          incident_id=a.incident_id, area=a.area, reference=a.reference, priority=a.priority,
                          level=a.level, due_at=a.due_at, state=a.state.value, completed_at=a.completed_at,
                          created_at=now, updated_at=now)

    def get(self, s: Session, assessment_id: str) -> Assessment | None:
        a = tables.assessments
        row = s.execute(select(a).where(a.c.assessment_id == assessment_id)).mappings().first()
        if row is None:
            return None
        return Assessment(assessment_id=str(row["assessment_id"]), trigger=Trigger(row["trigger"]),
                          area=str(row["area"]), due_at=row["due_at"], incident_id=row["incident_id"],
                          reference=row["reference"], priority=row["priority"], level=row["level"],
                          state=AssessmentState(row["state"]), completed_at=row["completed_at"])

    def open_for(self, s: Session, incident_id: str | None, area: str) -> str | None:
        """The latest open prompt about the incident, or (with no incident) about the area alone."""
        a = tables.assessments
        where = [a.c.incident_id == incident_id] if incident_id else [a.c.incident_id.is_(None), a.c.area == area]
        return s.execute(select(a.c.assessment_id).where(a.c.state == AssessmentState.open.value, *where)
                         .order_by(a.c.created_at.desc()).limit(1)).scalar()

    def reopen(self, s: Session, assessment_id: str, due_at: datetime, now: datetime) -> None:
        a = tables.assessments
        s.execute(a.update().where(a.c.assessment_id == assessment_id)
                  .values(due_at=due_at, state=AssessmentState.open.value, updated_at=now))

    def listed(self, s: Session, state: AssessmentState | None, area: str | None) -> list[dict[str, Any]]:
        a = tables.assessments
        query = select(a).order_by(a.c.due_at)
        if state:
            query = query.where(a.c.state == state.value)
        if area:
            query = query.where(a.c.area == area)
        return [dict(r) for r in s.execute(query).mappings()]

    def complete(self, s: Session, assessment_id: str, completed_at: datetime, now: datetime) -> None:
        a = tables.assessments
        s.execute(a.update().where(a.c.assessment_id == assessment_id)
                  .values(state=AssessmentState.completed.value, completed_at=completed_at, updated_at=now))

