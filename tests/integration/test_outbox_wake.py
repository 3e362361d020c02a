"""On PostgreSQL the relay is woken by a commit in any process of its service, not only its own."""

from __future__ import annotations

import threading
from collections.abc import Callable

from services.intake.tables import metadata
from shared.clock import MovableClock
from shared.db import Database
from shared.events.reports import ReportWithdrawn
from shared.eventstore import EventStore
from shared.migrate import upgrade
from shared.outbox import OutboxRelay
from shared.topics import TopicNames
from tests.support.waiting import eventually
from tests.unit.test_outbox import RecordingProducer


def _withdraw(db: Database, report_id: str) -> None:
    store = EventStore(metadata, "/vigil/intake", MovableClock())
    with db.transaction() as s:
        store.append(s, report_id, 0, [ReportWithdrawn.model_validate(
            {"report_id": report_id, "withdrawn_at": "2026-11-20T10:00:00Z"})])


def test_a_commit_in_another_process_wakes_the_relay_at_once(new_database: Callable[[str], str]) -> None:
    url = new_database("outbox_wake")
    upgrade("intake", url)
    relay_db, api_db = Database(url), Database(url)  # two engines: what two uvicorn workers would hold
    producer = RecordingProducer()
    # A poll interval far beyond the test's deadlines: only the notification can wake the relay in time.
    relay = OutboxRelay(relay_db, metadata, TopicNames(""), lambda: producer,  # type: ignore[arg-type,return-value]
                        poll_interval=120.0)
    stop = threading.Event()
    runner = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    runner.start()
    try:
        eventually(lambda: relay.position() == 0 and producer.sent == [] and runner.is_alive(), 10,
                   "the relay to start")
        for n in (1, 2, 3):
            _withdraw(api_db, f"r-{n}")
            eventually(lambda n=n: len(producer.sent) == n, 5, f"event {n} published without a poll")
        assert [m["key"] for m in producer.sent] == [b"r-1", b"r-2", b"r-3"]
        eventually(lambda: relay.position() == 3, 5, "the position recorded")
    finally:
        stop.set()
        relay.wake()
        runner.join(10)
        relay_db.dispose()
        api_db.dispose()
    assert not runner.is_alive()
