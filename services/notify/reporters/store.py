"""What notify keeps of a reporter: the reference, language and whether they may be contacted. No contact
details: those are fetched from intake at send time and dropped (ADR 0032)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notify import tables
from shared.db import insert_new

UNDETERMINED = "und"  # BCP 47: no language recorded


@dataclass(frozen=True)
class Reporter:
    report_id: str
    reference: str
    language: str
    contact_consent: bool
    has_contact: bool
    erased: bool = False

    @property
    def reachable(self) -> bool:
        return self.contact_consent and self.has_contact and not self.erased


class ReporterStore:
    def add(self, s: Session, reporter: Reporter, now: datetime) -> bool:
        """False when the report is known already (a redelivered or repeated submission)."""
        return insert_new(s, tables.reporters, report_id=reporter.report_id, reference=reporter.reference,
                          language=reporter.language, contact_consent=reporter.contact_consent,
                          has_contact=reporter.has_contact, erased=reporter.erased, created_at=now)

    def get(self, s: Session, report_id: str) -> Reporter | None:
        r = tables.reporters
        row = s.execute(select(r).where(r.c.report_id == report_id)).mappings().first()
        if row is None:
            return None
        return Reporter(str(row["report_id"]), str(row["reference"]), str(row["language"]),
                        bool(row["contact_consent"]), bool(row["has_contact"]), bool(row["erased"]))

    def erase(self, s: Session, report_id: str) -> None:
        """The row stays, so nothing is queued for the report again; the language chosen goes with the rest."""
        r = tables.reporters
        s.execute(r.update().where(r.c.report_id == report_id).values(erased=True, language=UNDETERMINED))
