"""The retention schedule, and the job that erases what it says is due, through the one erasure path.

Three categories (docs/retention.md): a hate crime, a non-crime hate incident (NCHI) and a withdrawn report.
Triage's latest decision says which of the first two a report is; until it says, a report is kept as a hate
crime, so that evidence is never lost to a missing decision. A withdrawn report is erased on the date the
reporter was told when they withdrew it. A standing hold stops all of it; the report is erased at the first
run after its last hold is released.

The job polls (a test's clock may jump at any moment) and erases each due report in its own transaction,
exactly once: the erasure itself refuses a report already erased.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, exists, or_, select

from services.intake import tables
from services.intake.erasure import AlreadyErased, DataProtection, UnderHold
from services.intake.settings import IntakeSettings
from services.intake.withdrawal import REPORTER
from shared.clock import Clock
from shared.db import Database
from shared.events.reports import ErasureBasis

log = logging.getLogger(__name__)

SCHEDULE = "retention schedule"


class Category(StrEnum):
    hate_crime = "hate crime"
    nchi = "non-crime hate incident"
    withdrawn = "withdrawn"


@dataclass(frozen=True)
class RetentionSchedule:
    hate_crime: timedelta
    nchi: timedelta
    withdrawn: timedelta

    @classmethod
    def of(cls, settings: IntakeSettings) -> RetentionSchedule:
        return cls(timedelta(days=settings.retention_hate_crime_days), timedelta(days=settings.retention_nchi_days),
                   timedelta(days=settings.retention_withdrawn_days))

    @staticmethod
    def category(hate_crime: bool | None, withdrawn: bool) -> Category:
        if withdrawn:
            return Category.withdrawn
        return Category.nchi if hate_crime is False else Category.hate_crime

    def erase_at(self, created_at: datetime, hate_crime: bool | None, erase_due_at: datetime | None) -> datetime:
        """When a report's personal data is due to go, holds aside."""
        if erase_due_at is not None:
            return erase_due_at
        return created_at + (self.nchi if hate_crime is False else self.hate_crime)

    def reason(self, category: Category) -> str:
        if category == Category.withdrawn:
            return f"withdrawn by the reporter; erased after the grace period of {self.withdrawn.days} days"
        kept = self.nchi if category == Category.nchi else self.hate_crime
        return f"retention schedule: a {category.value}, {kept.days} days after it was reported"


@dataclass(frozen=True)
class Due:
    report_id: str
    category: Category


class RetentionJob:
    def __init__(self, db: Database, protection: DataProtection, schedule: RetentionSchedule, clock: Clock,
                 interval_seconds: float = 600.0, batch: int = 200) -> None:
        self.db = db
        self.protection = protection
        self.schedule = schedule
        self.clock = clock
        self.interval_seconds = interval_seconds
        self.batch = batch

    def due(self, now: datetime) -> list[Due]:
        """Reports not yet erased whose time has come and on which no hold stands, oldest first."""
        r, h = tables.reports, tables.holds
        live = r.c.erased_at.is_(None)
        withdrawn = and_(r.c.erase_due_at.is_not(None), r.c.erase_due_at <= now)
        kept = r.c.erase_due_at.is_(None) & r.c.withdrawn_at.is_(None)
        nchi = and_(kept, r.c.hate_crime.is_(False), r.c.created_at <= now - self.schedule.nchi)
        crime = and_(kept, or_(r.c.hate_crime.is_(None), r.c.hate_crime.is_(True)),
                     r.c.created_at <= now - self.schedule.hate_crime)
        held = exists().where(h.c.report_id == r.c.report_id, h.c.released_at.is_(None))
        query = (select(r.c.report_id, r.c.hate_crime, r.c.withdrawn_at).where(live, or_(withdrawn, nchi, crime),
                                                                              ~held)
                 .order_by(r.c.created_at).limit(self.batch))
        with self.db.sessions() as s:
            rows = s.execute(query).all()
        return [Due(row.report_id, self.schedule.category(row.hate_crime, row.withdrawn_at is not None))
                for row in rows]

    def sweep(self) -> int:
        """Erase what is due now; how many were erased."""
        erased = 0
        for item in self.due(self.clock.now()):
            withdrawn = item.category == Category.withdrawn
            try:
                self.protection.erase_report(
                    item.report_id, REPORTER if withdrawn else SCHEDULE, self.schedule.reason(item.category),
                    ErasureBasis.withdrawal if withdrawn else ErasureBasis.retention)
            except (AlreadyErased, UnderHold):  # erased or held since the query: nothing to do now
                continue
            erased += 1
        if erased:
            log.info("retention: reports erased", extra={"count": erased})
        return erased

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            while self.sweep() >= self.batch and not stop.is_set():
                pass
            stop.wait(self.interval_seconds)
