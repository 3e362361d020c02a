"""Telling the reporter: only with their consent and a way to reach them, in their language."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from services.notify import tables
from services.notify.ledger import cancel_pending, queue
from services.notify.reporters.store import Reporter, ReporterStore
from shared.clock import Clock
from shared.events.base import Envelope
from shared.events.reports import ReportErased, ReportSubmitted
from shared.eventstore import EventStore
from shared.ids import deterministic_id

REPORTER = "reporter"  # the channel, and the role: the router picks email or SMS at send time


class ReporterMessage(StrEnum):
    """A template, and the purpose of its deliveries."""

    receipt = "reporter_receipt"
    update = "reporter_update"


class ReporterService:
    def __init__(self, store: ReporterStore, events: EventStore, clock: Clock) -> None:
        self.store = store
        self.events = events
        self.clock = clock

    def on_submitted(self, s: Session, e: ReportSubmitted, _env: Envelope) -> None:
        reporter = Reporter(e.report_id, e.reference, e.reporter.preferred_language or "en",
                            contact_consent=e.consent.contact, has_contact=e.reporter.has_contact)
        if self.store.add(s, reporter, self.clock.now()):
            self.tell(s, e.report_id, ReporterMessage.receipt, cause=e.report_id, incident_id=None)

    def on_erased(self, s: Session, e: ReportErased, _env: Envelope) -> None:
        self.store.erase(s, e.report_id)
        cancel_pending(s, self.clock, self.events, tables.deliveries.c.report_id == e.report_id)

    def tell(self, s: Session, report_id: str | None, message: ReporterMessage, cause: str, incident_id: str | None,
             **context: Any) -> bool:
        """Queue one message unless the reporter cannot or may not be reached; the address is looked up at send
        time. `cause` (an event id) makes the delivery's idempotency key."""
        reporter = self.store.get(s, report_id) if report_id else None
        if reporter is None or not reporter.reachable:
            return False
        return queue(s, self.clock, key=deterministic_id(cause, f"reporter:{reporter.report_id}", message.value),
                     incident_id=incident_id, purpose=message.value, channel=REPORTER, recipient_role=REPORTER,
                     recipient=f"reporter:{reporter.report_id}", report_id=reporter.report_id,
                     payload={"template": message.value, "language": reporter.language,
                              "context": {"reference": reporter.reference, **context}})
