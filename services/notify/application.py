"""Notify's use cases: queue what must be sent (exactly once per key), then dispatch it.

The handler only records a pending delivery in the same transaction as the inbox row;
the dispatcher sends, recording the attempt before and the result after, so a crash
can at worst retry a send under the same idempotency key.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notify import tables
from services.notify.channels import Channel, Message
from shared.clock import Clock
from shared.db import Database
from shared.events.base import Envelope
from shared.events.incidents import IncidentTriaged
from shared.events.notifications import NotificationDeliveryFailed, NotificationDispatched, NotificationGaveUp
from shared.eventstore import EventStore
from shared.ids import deterministic_id, new_id

log = logging.getLogger(__name__)


class NotifyApp:
    def __init__(self, db: Database, store: EventStore, clock: Clock, channels: dict[str, Channel],
                 duty_inspector_address: str, max_attempts: int = 5) -> None:
        self.db = db
        self.store = store
        self.clock = clock
        self.channels = channels
        self.duty_inspector_address = duty_inspector_address
        self.max_attempts = max_attempts
        self._wake = threading.Event()
        db.on_commit(self._wake.set)

    def on_incident_event(self, s: Session, env: Envelope) -> None:
        event = env.event()
        if isinstance(event, IncidentTriaged) and event.needs_duty_inspector:
            reasons = ", ".join(m.code for m in event.matched)
            self.queue(s, key=deterministic_id(env.id, "duty_inspector", "alert"),
                       incident_id=event.incident_id, purpose="duty_inspector_alert", channel="log",
                       recipient_role="duty_inspector", recipient=self.duty_inspector_address,
                       subject=f"{event.priority} critical incident {event.reference} in {event.area}",
                       body=f"Critical incident {event.reference}: {reasons}. Acknowledge by "
                            f"{event.ack_deadline.isoformat() if event.ack_deadline else 'n/a'}.")

    def queue(self, s: Session, *, key: str, incident_id: str | None, purpose: str, channel: str,
              recipient_role: str, recipient: str, subject: str, body: str) -> bool:
        exists = s.execute(select(tables.deliveries.c.idempotency_key)
                           .where(tables.deliveries.c.idempotency_key == key)).first()
        if exists:
            return False
        now = self.clock.now()
        s.execute(tables.deliveries.insert().values(
            idempotency_key=key, notification_id=new_id(), incident_id=incident_id, purpose=purpose,
            channel=channel, recipient_role=recipient_role, recipient=recipient,
            payload=json.dumps({"subject": subject, "body": body}), status="pending", attempts=0,
            next_attempt_at=now, created_at=now, updated_at=now))
        s.info["wake"] = True
        return True

    def run_dispatcher(self, stop: threading.Event) -> None:
        while not stop.is_set():
            while self.dispatch_due() and not stop.is_set():
                pass
            self._wake.wait(0.5)
            self._wake.clear()

    def dispatch_due(self, limit: int = 50) -> int:
        now = self.clock.now()
        with self.db.sessions() as s:
            due = list(s.execute(select(tables.deliveries).where(
                tables.deliveries.c.status == "pending", tables.deliveries.c.next_attempt_at <= now)
                .order_by(tables.deliveries.c.next_attempt_at).limit(limit)).mappings())
        for row in due:
            self._attempt(dict(row))
        return len(due)

    def _attempt(self, row: dict[str, Any]) -> None:
        key = str(row["idempotency_key"])
        attempt = int(row["attempts"]) + 1
        with self.db.transaction() as s:  # the attempt is on record before anything is sent
            s.execute(tables.deliveries.update().where(tables.deliveries.c.idempotency_key == key)
                      .values(attempts=attempt, updated_at=self.clock.now()))
        payload = json.loads(str(row["payload"]))
        message = Message(key, str(row["channel"]), str(row["recipient"]), payload["subject"], payload["body"])
        try:
            self.channels[message.channel].send(message)
        except Exception as e:
            self._failed(row, attempt, repr(e))
            return
        self._sent(row, attempt)

    def _sent(self, row: dict[str, Any], attempt: int) -> None:
        now = self.clock.now()
        nid = str(row["notification_id"])
        with self.db.transaction() as s:
            s.execute(tables.deliveries.update().where(
                tables.deliveries.c.idempotency_key == row["idempotency_key"])
                .values(status="sent", updated_at=now))
            self.store.append(s, nid, self.store.version(s, nid), [NotificationDispatched(
                **_identity(row), recipient_role=row["recipient_role"], dispatched_at=now, attempt=attempt)])

    def _failed(self, row: dict[str, Any], attempt: int, error: str) -> None:
        now = self.clock.now()
        nid = str(row["notification_id"])
        common = _identity(row)
        gave_up = attempt >= self.max_attempts
        with self.db.transaction() as s:
            s.execute(tables.deliveries.update().where(
                tables.deliveries.c.idempotency_key == row["idempotency_key"])
                .values(status="gave_up" if gave_up else "pending", last_error=error[:2000], updated_at=now,
                        next_attempt_at=now + timedelta(seconds=min(2 ** attempt, 300))))
            version = self.store.version(s, nid)
            events: list[NotificationDeliveryFailed | NotificationGaveUp] = [
                NotificationDeliveryFailed(**common, failed_at=now, attempt=attempt, error=error[:500])]
            if gave_up:
                events.append(NotificationGaveUp(**common, gave_up_at=now, attempts=attempt,
                                                 last_error=error[:500]))
            self.store.append(s, nid, version, events)


def _identity(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("notification_id", "idempotency_key", "incident_id", "purpose", "channel")}
