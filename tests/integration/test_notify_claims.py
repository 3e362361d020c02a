"""Notify's dispatchers on PostgreSQL: a claim takes only rows nobody else holds, and does not wait for them.

Two notify processes (or a claim racing an acknowledgement that is withdrawing alerts) must neither send a
delivery twice nor queue behind each other: `FOR UPDATE SKIP LOCKED` in the one claiming statement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from services.notify import tables
from services.notify.channels import LogChannel
from shared.clock import MovableClock
from shared.db import Database
from shared.migrate import upgrade
from tests.unit.test_notify_ledger import T0, _dispatcher, _queue, _row


@pytest.fixture
def db(new_database: Callable[[str], str]) -> Iterator[Database]:
    url = new_database("notify")
    upgrade("notify", url)
    database = Database(url)
    yield database
    database.dispose()


def test_a_row_held_elsewhere_is_skipped_not_waited_for_then_claimed_once_released(db: Database) -> None:
    clock = MovableClock(T0)
    for key in ("k1", "k2"):
        _queue(db, clock, key)
    channel = LogChannel()
    dispatcher = _dispatcher(db, clock, channel)
    d = tables.deliveries
    with ThreadPoolExecutor(1) as pool, db.transaction() as holder:   # the holder lets go first, even on failure
        holder.execute(select(d).where(d.c.idempotency_key == "k1").with_for_update())   # e.g. a cancel in flight
        taken = pool.submit(dispatcher.dispatch_due).result(timeout=10)   # would wait on the lock without SKIP
        assert taken == 1 and [m.idempotency_key for m in channel.sent] == ["k2"]
    assert dispatcher.dispatch_due() == 1
    assert [m.idempotency_key for m in channel.sent] == ["k2", "k1"]
    assert [_row(db, k)["attempts"] for k in ("k1", "k2")] == [1, 1]


def test_two_dispatchers_at_once_send_each_delivery_once(db: Database) -> None:
    clock = MovableClock(T0)
    keys = [f"k{i}" for i in range(40)]
    for key in keys:
        _queue(db, clock, key)
    channels = [LogChannel(), LogChannel()]
    dispatchers = [_dispatcher(db, clock, channel, workers=3) for channel in channels]
    with ThreadPoolExecutor(2) as pool:
        taken = list(pool.map(lambda dispatcher: dispatcher.dispatch_due(limit=100), dispatchers))
    sent = [m.idempotency_key for channel in channels for m in channel.sent]
    assert sorted(sent) == sorted(keys) and sum(taken) == 40
    assert {_row(db, k)["attempts"] for k in keys} == {1}
