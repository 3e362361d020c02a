"""On PostgreSQL the relay is woken by a commit in any process of its service, not only its own."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import text

from services.intake.tables import metadata
from shared.clock import MovableClock
from shared.db import Database
from shared.events.reports import ReportWithdrawn
from shared.eventstore import EventStore
from shared.migrate import upgrade
from shared.outbox import RELAY_LOCK, OutboxRelay
from shared.topics import TopicNames
from tests.support.waiting import eventually
from tests.unit.test_outbox import RecordingProducer


def _withdraw(db: Database, report_id: str) -> None:
    store = EventStore(metadata, "/vigil/intake", MovableClock())
    with db.transaction() as s:
        store.append(s, report_id, 0, [ReportWithdrawn.model_validate(
            {"report_id": report_id, "withdrawn_at": "2026-11-20T10:00:00Z"})])


@contextmanager
def relay_running(url: str, poll_interval: float) -> Iterator[tuple[OutboxRelay, RecordingProducer, Database]]:
    """A relay in a thread on its own engine, and a second engine for the test: what two processes would hold."""
    relay_db, api_db = Database(url), Database(url)
    producer = RecordingProducer()
    relay = OutboxRelay(relay_db, metadata, TopicNames(""), lambda: producer,  # type: ignore[arg-type,return-value]
                        poll_interval=poll_interval)
    stop = threading.Event()
    runner = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    runner.start()
    try:
        yield relay, producer, api_db
    finally:
        stop.set()
        relay.wake()
        runner.join(10)
        relay_db.dispose()
        api_db.dispose()
    assert not runner.is_alive(), "the relay did not stop"


def test_a_commit_in_another_process_wakes_the_relay_at_once(new_database: Callable[[str], str]) -> None:
    url = new_database("outbox_wake")
    upgrade("intake", url)
    # A poll interval far beyond the test's deadlines: only the notification can wake the relay in time.
    with relay_running(url, poll_interval=120.0) as (relay, producer, api_db):
        eventually(lambda: relay.position() == 0 and producer.sent == [], 10, "the relay to start")
        for n in (1, 2, 3):
            _withdraw(api_db, f"r-{n}")
            eventually(lambda n=n: len(producer.sent) == n, 5, f"event {n} published without a poll")
        assert [m["key"] for m in producer.sent] == [b"r-1", b"r-2", b"r-3"]
        eventually(lambda: relay.position() == 3, 5, "the position recorded")


def test_the_relay_takes_its_lock_again_after_losing_its_database_connection(
        new_database: Callable[[str], str]) -> None:
    url = new_database("outbox_reconnect")
    upgrade("intake", url)
    with relay_running(url, poll_interval=1.0) as (_relay, producer, api_db):
        _withdraw(api_db, "before")
        eventually(lambda: len(producer.sent) == 1, 10, "the first event published")
        holder = eventually(lambda: _lock_holder(api_db), 5, "the relay's lock to show in pg_locks")
        with api_db.engine.connect() as conn:  # what a database restart or a network cut does to it
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holder}).scalar()
        _withdraw(api_db, "after")
        eventually(lambda: len(producer.sent) == 2, 30, "the next event published over a new connection")
        assert [m["key"] for m in producer.sent] == [b"before", b"after"]
        assert eventually(lambda: _lock_holder(api_db), 10, "the lock taken again") != holder


def _lock_holder(db: Database) -> int | None:
    with db.engine.connect() as conn:
        pid = conn.execute(text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = :k AND "
                                "database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
                           {"k": RELAY_LOCK}).scalar()
    return int(pid) if pid is not None else None
