"""The privacy log: every erasure, withdrawal and hold, who did it, when and why, for the data protection officer.

Written in the same transaction as the event that records the same thing on Kafka, so the two never
disagree; read newest first, a page at a time. Reasons for holds are staff's words about a report and go
with it at erasure; an erasure's reason stays, and names no one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake import tables
from shared.db import Database


class Action(StrEnum):
    erased = "erased"
    withdrawn = "withdrawn"
    hold_placed = "hold_placed"
    hold_released = "hold_released"


@dataclass(frozen=True)
class Logged:
    seq: int
    report_id: str
    reference: str
    action: Action
    kind: str | None
    hold_id: str | None
    actor: str
    at: datetime
    reason: str | None


@dataclass(frozen=True)
class LogPage:
    items: list[Logged]
    next_before: int | None  # pass as `before` for the next (older) page; None: this was the last


def record(s: Session, report: Any, action: Action, actor: str, at: datetime, kind: str | None = None,
           hold_id: str | None = None, reason: str | None = None) -> None:
    """`report`: the report's row (its id and reference)."""
    s.execute(tables.privacy_log.insert().values(
        report_id=report["report_id"], reference=report["reference"], action=action.value, kind=kind,
        hold_id=hold_id, actor=actor, at=at, reason=reason))


def forget_hold_reasons(s: Session, report_id: str) -> None:
    log = tables.privacy_log
    s.execute(log.update().where(log.c.report_id == report_id, log.c.hold_id.is_not(None)).values(reason=None))


class PrivacyLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def page(self, limit: int = 50, before: int | None = None, reference: str | None = None) -> LogPage:
        log = tables.privacy_log
        query = select(log).order_by(log.c.seq.desc()).limit(limit + 1)
        if before is not None:
            query = query.where(log.c.seq < before)
        if reference:
            query = query.where(log.c.reference == reference.upper())
        with self.db.sessions() as s:
            rows = s.execute(query).mappings().all()
        items = [Logged(seq=int(r["seq"]), report_id=r["report_id"], reference=r["reference"],
                        action=Action(r["action"]), kind=r["kind"], hold_id=r["hold_id"], actor=r["actor"],
                        at=r["at"], reason=r["reason"]) for r in rows[:limit]]
        return LogPage(items, items[-1].seq if len(rows) > limit else None)
