"""Durable timers: rows in notify's database, fired once each, on the injected clock.

A timer's id is deterministic, so scheduling the same timer twice is a no-op. Firing sets
`fired_at` with a conditional update in the same transaction as the timer's effect: of two
workers that see the same due timer, one wins the update and the other finds nothing to do,
and a crash before the commit leaves the timer due for the next run. Each feature names its
own kinds of timer and handles them (`by_kind` routes a fired timer to its feature).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.notify import tables
from services.notify.wakeups import TIMERS, wake_after_commit
from shared.clock import Clock
from shared.db import Database, insert_new
from shared.ids import deterministic_id

log = logging.getLogger(__name__)

TimerHandler = Callable[[Session, str, dict[str, Any], datetime], None]
# A feature's handler for one kind of timer: (session, payload, due time).
KindHandler = Callable[[Session, dict[str, Any], datetime], None]


def timer_id(kind: str, *parts: str) -> str:
    return deterministic_id("timer", kind, *parts)


def schedule(s: Session, clock: Clock, kind: str, due_at: datetime, payload: dict[str, Any], *parts: str) -> str:
    """Schedule a timer unless the same one (kind and parts) exists already."""
    tid = timer_id(kind, *parts)
    new = insert_new(s, tables.timers, timer_id=tid, kind=kind, due_at=due_at, created_at=clock.now(),
                     payload=json.dumps(payload, sort_keys=True), fired_at=None)
    if new and due_at <= clock.now():
        wake_after_commit(s, TIMERS)
    return tid


def oldest_due(s: Session, now: datetime) -> datetime | None:
    """The earliest due timer not yet fired: how late the timer task is running (the watchdog reads it)."""
    return s.execute(select(func.min(tables.timers.c.due_at)).where(
        tables.timers.c.fired_at.is_(None), tables.timers.c.due_at <= now)).scalar()


def by_kind(handlers: Mapping[str, KindHandler]) -> TimerHandler:
    """One handler for the runner that hands each timer to its kind's feature; unknown kinds are dropped."""

    def fire(s: Session, kind: str, payload: dict[str, Any], due_at: datetime) -> None:
        handler = handlers.get(kind)
        if handler is not None:
            handler(s, payload, due_at)

    return fire


class TimerRunner:
    def __init__(self, db: Database, clock: Clock, handler: TimerHandler, poll_seconds: float = 0.5) -> None:
        self.db = db
        self.clock = clock
        self.handler = handler
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self.fired = 0

    def wake(self) -> None:
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Poll rather than sleep until the next due time: a test's clock may jump at any moment."""
        while not stop.is_set():
            while self.fire_due() and not stop.is_set():
                pass
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def fire_due(self, limit: int = 100) -> int:
        now = self.clock.now()
        with self.db.sessions() as s:
            due = list(s.execute(select(tables.timers.c.timer_id).where(
                tables.timers.c.fired_at.is_(None), tables.timers.c.due_at <= now)
                .order_by(tables.timers.c.due_at).limit(limit)).scalars())
        return sum(self.fire(str(tid), now) for tid in due)

    def fire(self, tid: str, now: datetime) -> bool:
        with self.db.transaction() as s:
            claimed = s.execute(tables.timers.update().where(
                tables.timers.c.timer_id == tid, tables.timers.c.fired_at.is_(None)).values(fired_at=now))
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return False
            row = s.execute(select(tables.timers).where(tables.timers.c.timer_id == tid)).mappings().one()
            self.handler(s, str(row["kind"]), json.loads(str(row["payload"])), row["due_at"])
        self.fired += 1
        log.info("timer fired", extra={"timer_id": tid, "kind": row["kind"]})
        return True
