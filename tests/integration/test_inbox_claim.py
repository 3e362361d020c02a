"""An event is claimed in the inbox before it is handled, in one statement (shared.db.insert_new).

On PostgreSQL a second copy being claimed while the first is still in its transaction waits for that
transaction: skipped when it commits, handled when it rolls back. Never both, never neither.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.clock import SystemClock
from shared.db import Database, insert_new, new_metadata
from shared.eventstore import event_tables

METADATA = new_metadata()
INBOX = event_tables(METADATA)["inbox"]


@pytest.fixture
def db(new_database: Callable[[str], str]) -> Iterator[Database]:
    db = Database(new_database("inbox"))
    METADATA.create_all(db.engine, tables=[INBOX])
    yield db
    db.dispose()


def _claim(db: Database, event_id: str) -> bool:
    with db.transaction() as s:
        return insert_new(s, INBOX, consumer="c", event_id=event_id, processed_at=SystemClock().now())


@pytest.mark.parametrize("first_commits", [True, False])
def test_a_copy_claimed_meanwhile_waits_for_the_first_and_then_knows(db: Database, first_commits: bool) -> None:
    holding, release = threading.Event(), threading.Event()

    def first() -> bool:
        with db.sessions() as s:
            s.begin()
            claimed = insert_new(s, INBOX, consumer="c", event_id="e1", processed_at=SystemClock().now())
            holding.set()
            release.wait(30)
            s.commit() if first_commits else s.rollback()
            return claimed

    with ThreadPoolExecutor(2) as pool:
        one = pool.submit(first)
        assert holding.wait(30)
        two = pool.submit(_claim, db, "e1")
        with pytest.raises(TimeoutError):
            two.result(timeout=0.5)   # waiting on the first transaction's row, not deciding alone
        release.set()
        assert one.result(30) is True
        assert two.result(30) is (not first_commits)
    assert _claim(db, "e1") is False, "claimed once, for good"
    assert _claim(db, "e2") is True
