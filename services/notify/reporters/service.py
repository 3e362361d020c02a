"""Telling the reporter: only with their consent and a way to reach them, in their language; referring them to
support when they asked; and forgetting them when their report is withdrawn or erased."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from sqlalchemy import or_
from sqlalchemy.orm import Session

from services.notify import tables
from services.notify.channels import Message
from services.notify.ledger import cancel_pending, forget, queue
from services.notify.reporters.referrals import SUPPORT, Referrals
from services.notify.reporters.store import Reporter, ReporterStore
from shared.clock import Clock
from shared.events.base import Envelope, Event
from shared.events.handlers import EventHandler
from shared.events.reports import ReportErased, ReportSubmitted, ReportWithdrawn
from shared.eventstore import EventStore
from shared.ids import deterministic_id

REPORTER = "reporter"  # the channel, and the role: the router picks email or SMS at send time
Render = Callable[[dict[str, Any]], Message]


class ReporterMessage(StrEnum):
    """A template, and the purpose of its deliveries."""

    receipt = "reporter_receipt"
    update = "reporter_update"


class ReporterService:
    def __init__(self, store: ReporterStore, events: EventStore, clock: Clock,
                 referrals: Referrals | None = None) -> None:
        self.store = store
        self.events = events
        self.clock = clock
        self.referrals = referrals

    def handlers(self) -> dict[type[Event], EventHandler]:
        return {ReportSubmitted: self.on_submitted, ReportWithdrawn: self.on_withdrawn, ReportErased: self.on_erased}

    def on_submitted(self, s: Session, e: ReportSubmitted, _env: Envelope) -> None:
        reporter = Reporter(e.report_id, e.reference, e.reporter.preferred_language or "en",
                            contact_consent=e.consent.contact, has_contact=e.reporter.has_contact)
        if not self.store.add(s, reporter, self.clock.now()):
            return
        referral = self.referrals.on_submitted(s, e, self.events) if self.referrals else None
        context = {"referral": referral.for_receipt()} if referral else {}
        self.tell(s, e.report_id, ReporterMessage.receipt, cause=e.report_id, incident_id=None, **context)

    def on_withdrawn(self, s: Session, e: ReportWithdrawn, _env: Envelope) -> None:
        """Nothing more goes out about a withdrawn report that has not gone already: messages to the reporter,
        a referral, alerts and prompts still queued. Triage closes the incident, which stands the chase down."""
        d = tables.deliveries
        cancel_pending(s, self.clock, self.events, or_(d.c.report_id == e.report_id, d.c.incident_id == e.report_id))

    def on_erased(self, s: Session, e: ReportErased, _env: Envelope) -> None:
        """In the inbox transaction: nothing still queued for the report goes, and of what went the ledger keeps
        only the proof; the reporter's row keeps the reference and consent flags, as a tombstone."""
        self.store.erase(s, e.report_id)
        forget(s, self.clock, self.events, tables.deliveries.c.report_id == e.report_id)

    def renderer(self, fallback: Render) -> Render:
        """The dispatchers' renderer: referrals made here, everything else by `fallback`."""
        referrals = self.referrals
        if referrals is None:
            return fallback

        def render(row: dict[str, Any]) -> Message:
            is_referral = str(row["recipient"]).partition(":")[0] == SUPPORT
            return referrals.render(row) if is_referral else fallback(row)

        return render

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
