"""Triage's use cases: decide on each report, keep the queue."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.triage import tables
from services.triage.rules import RULESET_VERSION, decide
from shared.clock import Clock
from shared.events.base import Envelope
from shared.events.incidents import IncidentTriaged, Priority
from shared.events.reports import ReportSubmitted
from shared.eventstore import EventStore


class TriageApp:
    def __init__(self, store: EventStore, clock: Clock, ack_minutes: dict[Priority, int]) -> None:
        self.store = store
        self.clock = clock
        self.ack_minutes = ack_minutes

    def on_report_event(self, s: Session, env: Envelope) -> None:
        event = env.event()
        if isinstance(event, ReportSubmitted):
            self.triage(s, event)

    def triage(self, s: Session, report: ReportSubmitted) -> None:
        now = self.clock.now()
        decision = decide(report.incident, now, self.ack_minutes)
        triaged = IncidentTriaged(
            incident_id=report.report_id, report_id=report.report_id, reference=report.reference,
            area=report.incident.location.area, triaged_at=now, matched=decision.matched,
            critical=decision.critical, needs_duty_inspector=decision.critical, priority=decision.priority,
            ack_deadline=decision.ack_deadline, ruleset_version=RULESET_VERSION)
        self.store.append(s, report.report_id, 0, [triaged])
        s.execute(tables.incidents.insert().values(
            incident_id=report.report_id, reference=report.reference, area=triaged.area,
            priority=triaged.priority.value, critical=triaged.critical, state="open",
            ack_deadline=triaged.ack_deadline, triaged_at=now))
