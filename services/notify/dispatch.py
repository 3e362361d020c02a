"""The dispatchers: send what is due on the ledger, recording the attempt before sending and the result after.

Each channel has its own dispatcher thread and worker pool, so an unreachable SMTP server
holds up email only. A dispatcher claims a chunk of due deliveries in one statement that bumps
their attempt counts and leases them (`next_attempt_at` moves past the lease; on PostgreSQL
rows another dispatcher holds are skipped); if the process dies mid-send, the lease runs out
and the delivery is sent again under the same idempotency key. Failures back off exponentially
with jitter; after `max_attempts` the delivery gives up, an event says so and staff see it in
the list. A failure is recorded and logged as its class and protocol code only (`error_summary`):
the message of an SMTP error quotes the recipient's address.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from services.notify import tables
from services.notify.channels import Channel, Message, PermanentFailure, error_summary
from services.notify.ledger import DUTY_INSPECTOR_ALERT, DeliveryStatus, identity
from shared.clock import Clock
from shared.db import Database
from shared.events.base import Event
from shared.events.notifications import (
    NotificationCancelled,
    NotificationDeliveryFailed,
    NotificationDispatched,
    NotificationGaveUp,
)
from shared.eventstore import EventStore

log = logging.getLogger(__name__)


class Cancel(Exception):
    """The message must not be sent after all (the report was erased, the chase was acknowledged)."""


# A ledger row made into a message at send time (services.notify.rendering).
Render = Callable[[dict[str, Any]], Message]
# Checked in the claiming transaction: a reason to cancel instead of sending, or None.
StillWanted = Callable[[Session, dict[str, Any]], str | None]


class Result(StrEnum):
    sent = "sent"
    cancelled = "cancelled"
    refused = "refused"  # for good: gives up at once
    failed = "failed"  # transient: retried after a backoff while attempts remain


@dataclass(frozen=True)
class Outcome:
    row: dict[str, Any]
    attempt: int
    result: Result
    error: str | None
    records: tuple[Event, ...] = ()


@dataclass(frozen=True)
class Retry:
    max_attempts: int = 5
    base_seconds: float = 2.0
    max_seconds: float = 300.0
    lease_seconds: float = 30.0

    def backoff(self, attempt: int) -> timedelta:
        """Exponential backoff with 'equal jitter': half fixed, half random, so retries spread out."""
        ceiling = min(self.base_seconds * 2 ** (attempt - 1), self.max_seconds)
        return timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))  # noqa: S311 (jitter, not a secret)


class Dispatcher:
    def __init__(self, db: Database, store: EventStore, clock: Clock, name: str, channel: Channel,
                 render: Render, retry: Retry, workers: int = 4, still_wanted: StillWanted | None = None) -> None:
        self.name = name
        self.still_wanted = still_wanted
        self.db = db
        self.store = store
        self.clock = clock
        self.channel = channel
        self.render = render
        self.retry = retry
        self.workers = workers
        self._wake = threading.Event()
        self.sent = 0

    def wake(self) -> None:
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        with ThreadPoolExecutor(self.workers, thread_name_prefix=f"notify-{self.name}") as pool:
            while not stop.is_set():
                self._wake.clear()
                # One chunk per query: an alert queued meanwhile overtakes prompts already waiting.
                while not stop.is_set() and self.dispatch_due(pool, limit=self.workers):
                    pass
                self._wake.wait(0.5)

    def dispatch_due(self, pool: ThreadPoolExecutor | None = None, limit: int = 50) -> int:
        """Send what is due, a chunk of `workers` at a time: one transaction claims the chunk, the sends run in
        parallel, one transaction records their results (so a crash can repeat at most one chunk's sends).
        Each chunk is claimed afresh, so an alert queued meanwhile overtakes prompts already waiting."""
        taken = 0
        while taken < limit:
            claimed, withdrawn = self._claim(min(self.workers, limit - taken))
            if not claimed and not withdrawn:
                break
            taken += len(claimed) + withdrawn
            self._record(list(pool.map(self._send, claimed) if pool else map(self._send, claimed)))
        return taken

    def _claim(self, limit: int) -> tuple[list[tuple[dict[str, Any], int]], int]:
        """Claim up to `limit` due deliveries, Duty Inspector alerts first, and record their attempts before
        anything is sent: one statement counts the attempt and leases each row (`next_attempt_at` moves past
        the lease), taking on PostgreSQL only rows no other dispatcher holds (`SKIP LOCKED`). A claimed row
        that is no longer wanted is withdrawn in the same transaction, never attempted. Returns the claims
        and how many were withdrawn."""
        d = tables.deliveries
        now = self.clock.now()
        first = case((d.c.purpose == DUTY_INSPECTOR_ALERT, 0), else_=1)
        due = (select(d.c.idempotency_key)
               .where(d.c.status == DeliveryStatus.pending.value, d.c.channel == self.name, d.c.next_attempt_at <= now)
               .order_by(first, d.c.next_attempt_at).limit(limit).with_for_update(skip_locked=True))
        claim = (d.update().where(d.c.idempotency_key.in_(due.scalar_subquery()))
                 .values(attempts=d.c.attempts + 1, updated_at=now,
                         next_attempt_at=now + timedelta(seconds=self.retry.lease_seconds))
                 .returning(*d.c))
        claimed, withdrawn = [], 0
        with self.db.transaction() as s:
            # RETURNING keeps no order, and gives next_attempt_at as the lease: alerts first, then oldest first.
            rows = sorted((dict(r) for r in s.execute(claim).mappings()),
                          key=lambda r: (r["purpose"] != DUTY_INSPECTOR_ALERT, r["created_at"]))
            for row in rows:
                reason = self.still_wanted(s, row) if self.still_wanted else None
                if reason is not None:
                    self._cancel(s, row, reason, attempts=int(row["attempts"]) - 1)
                    withdrawn += 1
                else:
                    claimed.append((row, int(row["attempts"])))
        return claimed, withdrawn

    def _send(self, claim: tuple[dict[str, Any], int]) -> Outcome:
        row, attempt = claim
        try:
            message = self.render(row)
            self.channel.send(message)
        except Cancel as e:
            return Outcome(row, attempt, Result.cancelled, str(e))
        except PermanentFailure as e:
            return Outcome(row, attempt, Result.refused, str(e))
        except Exception as e:
            return Outcome(row, attempt, Result.failed, error_summary(e))
        return Outcome(row, attempt, Result.sent, None, message.records)

    def _record(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        with self.db.transaction() as s:
            for o in outcomes:
                if o.result == Result.sent:
                    self._sent(s, o.row, o.attempt, o.records)
                elif o.result == Result.cancelled:
                    self._cancel(s, o.row, o.error or "")
                else:
                    self._failed(s, o.row, o.attempt, o.error or "", permanent=o.result == Result.refused)

    def _sent(self, s: Session, row: dict[str, Any], attempt: int, records: tuple[Event, ...] = ()) -> None:
        d = tables.deliveries
        now = self.clock.now()
        s.execute(d.update().where(d.c.idempotency_key == row["idempotency_key"])
                  .values(status=DeliveryStatus.sent.value, sent_at=now, updated_at=now, last_error=None))
        self._append(s, row, NotificationDispatched(**identity(row), recipient_role=row["recipient_role"],
                                                    dispatched_at=now, attempt=attempt))
        for record in records:
            self._append(s, row, record)
        self.sent += 1

    def _cancel(self, s: Session, row: dict[str, Any], reason: str, attempts: int | None = None) -> None:
        """`attempts`: what the count goes back to, for a row claimed and then withdrawn before any attempt."""
        d = tables.deliveries
        now = self.clock.now()
        s.execute(d.update().where(d.c.idempotency_key == row["idempotency_key"])
                  .values(status=DeliveryStatus.cancelled.value, updated_at=now, last_error=reason[:500],
                          **({} if attempts is None else {"attempts": attempts})))
        self._append(s, row, NotificationCancelled(**identity(row), cancelled_at=now, reason=reason[:200]))

    def _failed(self, s: Session, row: dict[str, Any], attempt: int, error: str, permanent: bool) -> None:
        d = tables.deliveries
        now = self.clock.now()
        gave_up = permanent or attempt >= self.retry.max_attempts
        log.warning("notification delivery failed", extra={
            "idempotency_key": row["idempotency_key"], "channel": row["channel"], "attempt": attempt,
            "gave_up": gave_up, "error": error[:200]})
        s.execute(d.update().where(d.c.idempotency_key == row["idempotency_key"]).values(
            status=(DeliveryStatus.gave_up if gave_up else DeliveryStatus.pending).value, last_error=error[:2000],
            updated_at=now, next_attempt_at=now + self.retry.backoff(attempt)))
        self._append(s, row, NotificationDeliveryFailed(**identity(row), failed_at=now, attempt=attempt,
                                                        error=error[:500]))
        if gave_up:
            self._append(s, row, NotificationGaveUp(**identity(row), gave_up_at=now, attempts=attempt,
                                                    last_error=error[:500]))

    def _append(self, s: Session, row: dict[str, Any], event: Event) -> None:
        self.store.extend(s, str(row["notification_id"]), [event])

