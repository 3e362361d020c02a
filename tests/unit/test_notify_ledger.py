"""The delivery ledger and durable timers on an embedded SQLite database, with a moved clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notify import tables
from services.notify.channels import LogChannel, Message, PermanentFailure
from services.notify.dispatch import Dispatcher, Retry, StillWanted
from services.notify.ledger import queue
from services.notify.timers import TimerRunner, schedule
from shared.clock import MovableClock
from shared.db import Database
from shared.eventstore import EventStore
from shared.migrate import upgrade

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'notify.db'}"
    upgrade("notify", url)
    database = Database(url)
    yield database
    database.dispose()


class Flaky(LogChannel):
    """Fails the first `failures` sends, then works; or always refuses when permanent."""

    def __init__(self, failures: int = 0, permanent: bool = False) -> None:
        super().__init__()
        self.failures = failures
        self.permanent = permanent

    def send(self, message: Message) -> None:
        if self.permanent:
            raise PermanentFailure("address refused")
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("connection refused")
        super().send(message)


def _queue(db: Database, clock: MovableClock, key: str = "k1") -> bool:
    with db.transaction() as s:
        return queue(s, clock, key=key, incident_id="i1", purpose="duty_inspector_alert", channel="log",
                     recipient_role="duty_inspector", recipient="person:di-1", payload={"template": "x"})


def _dispatcher(db: Database, clock: MovableClock, channel: LogChannel, max_attempts: int = 3,
                workers: int = 1, still_wanted: StillWanted | None = None) -> Dispatcher:
    store = EventStore(tables.metadata, "/vigil/notify", clock)
    compose = lambda row: Message(str(row["idempotency_key"]), "log", "nobody")  # noqa: E731
    return Dispatcher(db, store, clock, "log", channel, compose, Retry(max_attempts, 1.0, 60.0, 30.0),
                      workers=workers, still_wanted=still_wanted)


def _row(db: Database, key: str = "k1") -> dict[str, Any]:
    with db.sessions() as s:
        return dict(s.execute(select(tables.deliveries).where(tables.deliveries.c.idempotency_key == key))
                    .mappings().one())


def _events(db: Database) -> list[str]:
    with db.sessions() as s:
        return list(s.execute(select(tables.metadata.tables["event_log"].c.type)
                              .order_by(tables.metadata.tables["event_log"].c.seq)).scalars())


def test_the_same_idempotency_key_is_queued_once(db: Database) -> None:
    clock = MovableClock(T0)
    assert [_queue(db, clock), _queue(db, clock)] == [True, False]


def test_a_transient_failure_backs_off_and_then_sends_once(db: Database) -> None:
    clock = MovableClock(T0)
    channel = Flaky(failures=1)
    dispatcher = _dispatcher(db, clock, channel)
    _queue(db, clock)
    assert dispatcher.dispatch_due() == 1
    row = _row(db)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert timedelta(seconds=0.5) <= row["next_attempt_at"] - T0 <= timedelta(seconds=1)
    assert dispatcher.dispatch_due() == 0, "retried before the backoff ran out"
    clock.advance(timedelta(seconds=1))
    dispatcher.dispatch_due()
    assert _row(db)["status"] == "sent" and len(channel.sent) == 1
    assert _events(db) == ["vigil.notification.delivery_failed.v1", "vigil.notification.dispatched.v1"]


def test_bounded_retries_end_in_a_give_up(db: Database) -> None:
    clock = MovableClock(T0)
    dispatcher = _dispatcher(db, clock, Flaky(failures=99), max_attempts=3)
    _queue(db, clock)
    for _ in range(5):
        dispatcher.dispatch_due()
        clock.advance(timedelta(minutes=5))
    assert (_row(db)["status"], _row(db)["attempts"]) == ("gave_up", 3)
    assert _events(db).count("vigil.notification.gave_up.v1") == 1


def test_a_permanent_refusal_gives_up_at_once(db: Database) -> None:
    clock = MovableClock(T0)
    _queue(db, clock)
    _dispatcher(db, clock, Flaky(permanent=True)).dispatch_due()
    assert (_row(db)["status"], _row(db)["attempts"]) == ("gave_up", 1)


def test_an_attempt_cut_off_by_a_crash_is_retried_with_the_same_key_after_the_lease(db: Database) -> None:
    clock = MovableClock(T0)
    channel = LogChannel()
    dispatcher = _dispatcher(db, clock, channel)
    _queue(db, clock)
    claimed, _ = dispatcher._claim(1)   # recorded, then the process "dies" before sending
    assert [a for _, a in claimed] == [1]
    assert dispatcher.dispatch_due() == 0, "an attempt in flight was taken again before its lease ran out"
    clock.advance(timedelta(seconds=31))
    dispatcher.dispatch_due()
    assert [m.idempotency_key for m in channel.sent] == ["k1"] and _row(db)["attempts"] == 2


def test_a_timer_fires_once_on_the_moved_clock_and_not_before(db: Database) -> None:
    clock = MovableClock(T0)
    fired: list[tuple[str, dict[str, Any]]] = []

    def handler(_s: Session, kind: str, payload: dict[str, Any], _due: datetime) -> None:
        fired.append((kind, payload))

    with db.transaction() as s:
        schedule(s, clock, "chase", T0 + timedelta(minutes=5), {"n": 1}, "incident-1", "L1.0.1")
        schedule(s, clock, "chase", T0 + timedelta(minutes=5), {"n": 1}, "incident-1", "L1.0.1")
    runner = TimerRunner(db, clock, handler)
    assert runner.fire_due() == 0
    clock.advance(timedelta(minutes=5))
    assert runner.fire_due() == 1
    assert runner.fire_due() == 0
    with db.sessions() as s:
        [tid] = s.execute(select(tables.timers.c.timer_id)).scalars()
    assert runner.fire(tid, clock.now()) is False, "a fired timer fired again"
    assert fired == [("chase", {"n": 1})]


def test_a_timer_whose_effect_fails_stays_due(db: Database) -> None:
    clock = MovableClock(T0)

    def broken(_s: Session, _kind: str, _payload: dict[str, Any], _due: datetime) -> None:
        raise RuntimeError("database hiccup")

    with db.transaction() as s:
        schedule(s, clock, "cia_reminder", T0, {}, "a1")
    with pytest.raises(RuntimeError):
        TimerRunner(db, clock, broken).fire_due()
    with db.sessions() as s:
        assert s.execute(select(tables.timers.c.fired_at)).scalar() is None


def test_an_alert_no_longer_wanted_when_claimed_is_withdrawn_never_attempted_and_the_rest_go(db: Database) -> None:
    clock = MovableClock(T0)
    channel = LogChannel()
    for key in ("k1", "k2", "k3"):
        _queue(db, clock, key)
    over = lambda s, row: "the chase is over (acknowledged)" if row["idempotency_key"] == "k2" else None  # noqa: E731
    assert _dispatcher(db, clock, channel, workers=2, still_wanted=over).dispatch_due() == 3
    assert sorted(m.idempotency_key for m in channel.sent) == ["k1", "k3"]
    assert (_row(db, "k2")["status"], _row(db, "k2")["attempts"]) == ("cancelled", 0)
    assert [(_row(db, k)["status"], _row(db, k)["attempts"]) for k in ("k1", "k3")] == [("sent", 1)] * 2
    assert _events(db).count("vigil.notification.cancelled.v1") == 1


def test_alerts_are_claimed_before_other_deliveries_due_earlier(db: Database) -> None:
    clock = MovableClock(T0)
    with db.transaction() as s:
        queue(s, clock, key="prompt", incident_id="i1", purpose="cia_prompt", channel="log",
              recipient_role="community_impact", recipient="person:snt", payload={"template": "x"})
    clock.advance(timedelta(seconds=5))
    _queue(db, clock, "alert")
    clock.advance(timedelta(seconds=5))
    channel = LogChannel()
    _dispatcher(db, clock, channel).dispatch_due(limit=1)
    assert [m.idempotency_key for m in channel.sent] == ["alert"]
