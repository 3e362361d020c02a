"""The delivery ledger: one row per idempotency key, queued by the features, sent by the dispatchers.

A delivery is queued `pending`; a dispatcher moves it to `sent`, back to `pending` with a backoff, or to
`gave_up`; a feature withdraws it (`cancelled`) while no attempt has been made. Staff deal with give-ups
through `LedgerService`, which records who did what and why as events. A row holds a recipient reference and
a template's context, never an address or a rendered body; erasure (`forget`) empties even that.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from services.notify import tables
from services.notify.wakeups import wake_after_commit
from shared.clock import Clock
from shared.db import Database, insert_new
from shared.events.notifications import (
    NotificationCancelled,
    NotificationDeliveryResolved,
    NotificationDeliveryRetried,
)
from shared.eventstore import EventStore
from shared.ids import new_id

# Claimed before anything else due: a Duty Inspector waiting is the reason notify exists.
DUTY_INSPECTOR_ALERT = "duty_inspector_alert"
MAX_REASON = 500
ERASED = "the report was erased"
FORGOTTEN = '{"erased": true}'  # all an erased report's deliveries keep of their payload


class DeliveryStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"  # listed for filters; a failure with attempts left stays pending
    gave_up = "gave_up"
    cancelled = "cancelled"


class DeliveryError(Exception):
    """A change to a delivery the ledger refuses; the message is for the member of staff."""


class UnknownDelivery(DeliveryError):
    pass


class NotGivenUp(DeliveryError):
    def __init__(self, action: str, status: str) -> None:
        super().__init__(f"only a delivery that gave up can be {action}; this one is {status}")


class AlreadyResolved(DeliveryError):
    def __init__(self) -> None:
        super().__init__("this give-up was marked as dealt with already")


class Forgotten(DeliveryError):
    def __init__(self) -> None:
        super().__init__("the report was erased: there is nothing left to send")


def identity(row: RowMapping | dict[str, Any]) -> dict[str, Any]:
    """The fields every notification event carries."""
    return {k: row[k] for k in ("notification_id", "idempotency_key", "incident_id", "purpose", "channel")}


def queue(s: Session, clock: Clock, *, key: str, incident_id: str | None, purpose: str, channel: str,
          recipient_role: str, recipient: str, payload: dict[str, Any], report_id: str | None = None) -> bool:
    """Put one delivery on the ledger unless its idempotency key is there already."""
    now = clock.now()
    if not insert_new(s, tables.deliveries,
                      idempotency_key=key, notification_id=new_id(), incident_id=incident_id, purpose=purpose,
                      channel=channel, recipient_role=recipient_role, recipient=recipient, report_id=report_id,
                      payload=json.dumps(payload, sort_keys=True, default=str), status=DeliveryStatus.pending.value,
                      attempts=0, next_attempt_at=now, created_at=now, updated_at=now):
        return False
    wake_after_commit(s, channel)
    return True


def cancel_pending(s: Session, clock: Clock, store: EventStore, *conditions: Any) -> int:
    """Withdraw deliveries not yet attempted (an acknowledged chase, an erased report)."""
    d = tables.deliveries
    pending = DeliveryStatus.pending.value
    rows = list(s.execute(select(d).where(d.c.status == pending, d.c.attempts == 0, *conditions)).mappings())
    now = clock.now()
    for row in rows:
        s.execute(d.update().where(d.c.idempotency_key == row["idempotency_key"], d.c.status == pending)
                  .values(status=DeliveryStatus.cancelled.value, updated_at=now))
        store.extend(s, str(row["notification_id"]), [NotificationCancelled(**identity(row), cancelled_at=now)])
    return len(rows)


def forget(s: Session, clock: Clock, store: EventStore, *conditions: Any) -> int:
    """Erasure: withdraw what is still to be sent (whatever its attempts), and keep of every matching delivery
    only what proves a send happened or did not (ids, times, status, channel, attempts): the payload and the
    recorded error go. Answers how many deliveries were withdrawn."""
    d = tables.deliveries
    now = clock.now()
    withdrawn = list(s.execute(select(d).where(d.c.status == DeliveryStatus.pending.value, *conditions)).mappings())
    for row in withdrawn:
        store.extend(s, str(row["notification_id"]), [NotificationCancelled(**identity(row), cancelled_at=now,
                                                                            reason=ERASED)])
    s.execute(d.update().where(d.c.status == DeliveryStatus.pending.value, *conditions)
              .values(status=DeliveryStatus.cancelled.value, updated_at=now))
    s.execute(d.update().where(*conditions).values(payload=FORGOTTEN, last_error=None))
    return len(withdrawn)


@dataclass(frozen=True)
class LedgerPage:
    rows: list[dict[str, Any]]
    total: int


def status_is(status: DeliveryStatus) -> ColumnElement[bool]:
    """`failed` is a delivery that failed and will be tried again: still pending, with an error recorded."""
    d = tables.deliveries
    if status == DeliveryStatus.failed:
        return and_(d.c.status == DeliveryStatus.pending.value, d.c.last_error.is_not(None))
    return d.c.status == status.value


def reason_given(reason: str | None) -> str | None:
    text = " ".join((reason or "").split())
    return text[:MAX_REASON] or None


class LedgerService:
    """What staff see of the ledger and do about give-ups (no recipients or text ever leave it)."""

    def __init__(self, db: Database, store: EventStore, clock: Clock) -> None:
        self.db = db
        self.store = store
        self.clock = clock

    def listed(self, status: DeliveryStatus | None = None, purpose: str | None = None,
               incident_id: str | None = None, limit: int = 500,
               within: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
        """`within`: for a member of staff limited to these areas, only deliveries about incidents in them."""
        d = tables.deliveries
        query = (_with_reference().where(*_in_areas(within))
                 .order_by(d.c.created_at.desc(), d.c.idempotency_key).limit(limit))
        if status:
            query = query.where(status_is(status))
        if purpose:
            query = query.where(d.c.purpose == purpose)
        if incident_id:
            query = query.where(d.c.incident_id == incident_id)
        return self._rows(query)

    def recent(self, status: DeliveryStatus | None = None, channel: str | None = None, offset: int = 0,
               limit: int = 25, within: frozenset[str] = frozenset()) -> LedgerPage:
        """Newest first, with the incident's reference where notify knows it, and how many match in all."""
        d = tables.deliveries
        conditions = [c for c in (status_is(status) if status else None,
                                  d.c.channel == channel if channel else None) if c is not None]
        conditions += _in_areas(within)
        query = _with_reference().where(*conditions).order_by(d.c.created_at.desc(), d.c.idempotency_key)
        with self.db.sessions() as s:
            total = s.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
            rows = [dict(r) for r in s.execute(query.offset(offset).limit(limit)).mappings()]
        return LedgerPage(rows, total)

    def give_ups(self, within: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
        """Deliveries that gave up and nobody has dealt with yet."""
        d = tables.deliveries
        return self._rows(_with_reference().where(d.c.status == DeliveryStatus.gave_up.value,
                                                  d.c.resolved_at.is_(None), *_in_areas(within))
                          .order_by(d.c.updated_at.desc()))

    def find(self, notification_id: str, within: frozenset[str] = frozenset()) -> dict[str, Any] | None:
        """The delivery; for someone limited to `within`, None unless it is about an incident in those areas."""
        d = tables.deliveries
        rows = self._rows(_with_reference().where(d.c.notification_id == notification_id, *_in_areas(within)))
        return rows[0] if rows else None

    def retry(self, notification_id: str, by: str, reason: str | None = None) -> NotificationDeliveryRetried:
        """Once more from the first attempt, after the cause was fixed; it leaves the give-up list."""
        d = tables.deliveries
        with self.db.transaction() as s:
            row = self._given_up(s, notification_id, "retried")
            if row["payload"] == FORGOTTEN:
                raise Forgotten()
            now = self.clock.now()
            s.execute(d.update().where(d.c.notification_id == notification_id).values(
                status=DeliveryStatus.pending.value, attempts=0, next_attempt_at=now, updated_at=now, resolved_at=now))
            event = NotificationDeliveryRetried(**identity(row), retried_by=by, retried_at=now,
                                                reason=reason_given(reason))
            self.store.extend(s, notification_id, [event])
            wake_after_commit(s, str(row["channel"]))
        return event

    def resolve(self, notification_id: str, by: str, reason: str | None = None) -> NotificationDeliveryResolved:
        """Dealt with another way (the person was phoned): it leaves the give-up list."""
        d = tables.deliveries
        with self.db.transaction() as s:
            row = self._given_up(s, notification_id, "resolved")
            if row["resolved_at"] is not None:
                raise AlreadyResolved()
            now = self.clock.now()
            s.execute(d.update().where(d.c.notification_id == notification_id).values(resolved_at=now))
            event = NotificationDeliveryResolved(**identity(row), resolved_by=by, resolved_at=now,
                                                 reason=reason_given(reason))
            self.store.extend(s, notification_id, [event])
        return event

    def _given_up(self, s: Session, notification_id: str, action: str) -> RowMapping:
        d = tables.deliveries
        row = s.execute(select(d).where(d.c.notification_id == notification_id).with_for_update()).mappings().first()
        if row is None:
            raise UnknownDelivery("no such notification")
        if row["status"] != DeliveryStatus.gave_up.value:
            raise NotGivenUp(action, str(row["status"]))
        return row

    def _rows(self, query: Select[Any]) -> list[dict[str, Any]]:
        with self.db.sessions() as s:
            return [dict(r) for r in s.execute(query).mappings()]


def _in_areas(within: frozenset[str]) -> list[ColumnElement[bool]]:
    """Deliveries about incidents in these areas (by the incident's chase); none given: every delivery. A
    delivery notify cannot place in an area (a reporter's message) is for national accounts only."""
    return [tables.chases.c.area.in_(sorted(within))] if within else []


def _with_reference() -> Select[Any]:
    """Deliveries with the reference of their incident (from its chase) or report (from its receipt)."""
    d, c, r = tables.deliveries, tables.chases, tables.reporters
    reference = func.coalesce(c.c.reference, r.c.reference).label("reference")
    return (select(d, reference).select_from(d.outerjoin(c, c.c.incident_id == d.c.incident_id)
                                             .outerjoin(r, r.c.report_id == d.c.report_id)))
