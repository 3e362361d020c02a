"""The reporter's choices after the report: erasure and withdrawal, handled in the consumer's inbox transaction.

Erasure drops what triage derived from the report: its memory row (facts and match keys) and the free text
staff wrote about it that triage keeps in its own tables (community impact assessment notes). The incident's
events stay as they are: the event table is append-only, the history and the outbox (ADR 0003, 0022), so the
pages and the API show "[erased]" for their free text instead (`views.redacted`). Withdrawal closes the
incident as a person's close would, by the reporter, which stops notify's chase.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.triage import tables
from services.triage.incident_store import IncidentRepository
from services.triage.memory import ReportMemory
from shared.clock import Clock
from shared.events.base import Envelope
from shared.events.reports import ReportErased, ReportWithdrawn

_assessments = tables.community_impact_assessments


class Erasure:
    def __init__(self, memory: ReportMemory, incidents: IncidentRepository, clock: Clock) -> None:
        self.memory = memory
        self.incidents = incidents
        self.clock = clock

    def erase(self, s: Session, erased: ReportErased, _env: Envelope | None = None) -> None:
        self.memory.forget_reporter(s, erased)
        s.execute(update(_assessments).where(_assessments.c.incident_id == erased.report_id)
                  .values(communities=None, notes=None, actions=None))
        self.incidents.mark_erased(s, erased.report_id, erased.erased_at)

    def withdraw(self, s: Session, withdrawn: ReportWithdrawn, _env: Envelope | None = None) -> None:
        incident = self.incidents.get(s, withdrawn.report_id)
        if incident is not None and incident.withdraw(self.clock.now()):
            self.incidents.save(s, incident)
