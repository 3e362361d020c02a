from __future__ import annotations

import threading
from pathlib import Path

import pytest

from services.triage.tables import metadata
from shared.clock import MovableClock
from shared.db import Database
from shared.events.reports import ReportWithdrawn
from shared.eventstore import ConcurrencyError, EventStore
from shared.migrate import upgrade


@pytest.fixture
def store_db(tmp_path: Path) -> tuple[EventStore, Database]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade("triage", url)
    return EventStore(metadata, "/test", MovableClock()), Database(url)


def _withdrawn(report_id: str) -> ReportWithdrawn:
    return ReportWithdrawn.model_validate({"report_id": report_id, "withdrawn_at": "2026-11-01T00:00:00Z"})


def test_events_append_in_version_order_and_load_back(store_db: tuple[EventStore, Database]) -> None:
    store, db = store_db
    with db.transaction() as s:
        store.append(s, "r-1", 0, [_withdrawn("r-1"), _withdrawn("r-1")])
    with db.transaction() as s:
        store.append(s, "r-1", 2, [_withdrawn("r-1")])
        loaded = store.load(s, "r-1")
    assert [e.sequence for e in loaded] == [1, 2, 3]
    assert all(e.type == "vigil.report.withdrawn.v1" and e.key == "r-1" for e in loaded)


def test_appending_at_a_stale_version_is_refused(store_db: tuple[EventStore, Database]) -> None:
    store, db = store_db
    with db.transaction() as s:
        store.append(s, "r-1", 0, [_withdrawn("r-1")])
    with pytest.raises(ConcurrencyError), db.transaction() as s:
        store.append(s, "r-1", 0, [_withdrawn("r-1")])


def test_two_writers_at_the_same_version_one_wins(store_db: tuple[EventStore, Database]) -> None:
    store, db = store_db
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def write() -> None:
        barrier.wait()
        try:
            with db.transaction() as s:
                store.append(s, "r-9", 0, [_withdrawn("r-9")])
            outcomes.append("won")
        except ConcurrencyError:
            outcomes.append("lost")

    threads = [threading.Thread(target=write) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost", "won"]


def test_a_commit_that_appended_wakes_the_relay(store_db: tuple[EventStore, Database]) -> None:
    store, db = store_db
    woken = threading.Event()
    db.on_commit(woken.set)
    with db.transaction():
        pass
    assert not woken.is_set()
    with db.transaction() as s:
        store.append(s, "r-2", 0, [_withdrawn("r-2")])
    assert woken.is_set()


def test_extend_appends_at_the_end_whatever_version_was_read_before(store_db: tuple[EventStore, Database]) -> None:
    store, db = store_db
    with db.transaction() as s:
        store.append(s, "stream-x", 0, [_withdrawn("x")])
    with db.transaction() as s:
        first = store.extend(s, "stream-x", [_withdrawn("x")])
        second = store.extend(s, "stream-x", [_withdrawn("x"), _withdrawn("x")])
    assert [e.sequence for e in first + second] == [2, 3, 4]
    with db.sessions() as s:
        assert store.version(s, "stream-x") == 4
