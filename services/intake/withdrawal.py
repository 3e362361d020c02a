"""Withdrawal by the reporter, with the follow-up token: the report is not to be pursued, and its personal
data goes after a grace period.

The erasure date is fixed when the reporter withdraws and shown to them; the retention job erases the
report then, through the one erasure path, unless a hold (safeguarding: a real risk of significant harm)
stands by that date, in which case it waits for the hold to be released. Withdrawing twice answers as the
first time did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.intake import tables
from services.intake.application import authorised_report, data_key
from services.intake.audit import Action, record
from services.intake.domain import Status
from shared.clock import Clock
from shared.crypto import KeyDestroyed, seal
from shared.db import Database
from shared.events.reports import ReportWithdrawn
from shared.eventstore import EventStore, lock_appends

REPORTER = "reporter"


@dataclass(frozen=True)
class Withdrawal:
    reference: str
    withdrawn_at: datetime
    erase_after: datetime


class Withdrawals:
    def __init__(self, db: Database, store: EventStore, clock: Clock, master_key: bytes, grace: timedelta) -> None:
        self.db = db
        self.store = store
        self.clock = clock
        self.master_key = master_key
        self.grace = grace

    def withdraw(self, reference: str, token: str | None, reason: str | None = None) -> Withdrawal:
        """KeyDestroyed once erased, UnknownReport for a wrong token or reference (alike)."""
        with self.db.transaction() as s:
            lock_appends(s)
            row = authorised_report(s, reference, token)
            report_id, now = row["report_id"], self.clock.now()
            if row["erased_at"] is not None:
                raise KeyDestroyed(report_id)
            if row["withdrawn_at"] is not None:
                return Withdrawal(row["reference"], row["withdrawn_at"], row["erase_due_at"])
            key, due = data_key(s, self.master_key, report_id), now + self.grace
            version = self.store.version(s, report_id)
            s.execute(tables.reports.update().where(tables.reports.c.report_id == report_id).values(
                status=Status.withdrawn.value, withdrawn_at=now, erase_due_at=due, updated_at=now))
            record(s, row, Action.withdrawn, REPORTER, now)
            self.store.append(s, report_id, version, [ReportWithdrawn(
                report_id=report_id, withdrawn_at=now, withdrawn_by=REPORTER, erase_after=due,
                personal=seal(key, report_id, {"reason": reason}) if reason else None)])
        return Withdrawal(row["reference"], now, due)
