"""The relay resumes from what its topics already hold: nothing sent twice after a crash, nothing lost (ADR 0051).

An in-memory twin stands in for the broker: it is the producer the relay sends to and the tail it reads back.
"""

from __future__ import annotations

import threading
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from services.intake.tables import metadata
from shared.clock import MovableClock
from shared.db import Database
from shared.events.reports import ReportWithdrawn
from shared.eventstore import EventStore
from shared.kafka import TailRecord, encode_record, tail_record
from shared.migrate import upgrade
from shared.outbox import OutboxRelay, RelayLock, published_above
from shared.topics import TopicNames
from tests.support.waiting import eventually

SOURCE = "/vigil/intake"


class Acked:
    is_done = True
    exception = None

    def failed(self) -> bool:
        return False

    def succeeded(self) -> bool:
        return True

    def get(self, timeout: float | None = None) -> None:
        return None


class MemoryTopics:
    """A broker's partitions in memory: records are appended per key's partition, read back newest first."""

    def __init__(self, partitions: int = 3) -> None:
        self.count = partitions
        self.logs: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.reads = 0  # partitions read back
        self.closed = 0

    def send(self, topic: str, **record: Any) -> Acked:
        self.logs.setdefault((topic, self.partition_of(record["key"])), []).append({"topic": topic, **record})
        return Acked()

    def partition_of(self, key: bytes) -> int:
        return zlib.crc32(key) % self.count

    def records(self, topic: str | None = None) -> list[dict[str, Any]]:
        return [r for (t, _), log in sorted(self.logs.items()) for r in log if topic in (None, t)]

    def ids(self) -> Counter[str]:
        return Counter(dict(r["headers"])["ce_id"].decode() for r in self.records())

    def partitions(self, topic: str) -> list[int]:
        return list(range(self.count)) if any(t == topic for t, _ in self.logs) else []

    def newest_first(self, topic: str, partition: int) -> Iterator[TailRecord]:
        self.reads += 1
        for record in reversed(self.logs.get((topic, partition), [])):
            yield tail_record(record["headers"])

    def close(self) -> None:
        self.closed += 1

    def flush(self, timeout: float | None = None) -> None:
        pass


@pytest.fixture
def db(tmp_path: Path) -> Database:
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    upgrade("intake", url)
    return Database(url)


def relay_on(db: Database, topics: MemoryTopics, batch_size: int = 500) -> OutboxRelay:
    return OutboxRelay(db, metadata, TopicNames("p."), lambda: topics,
                       batch_size=batch_size, tail=lambda _producer: topics)


def append(db: Database, first: int, count: int) -> None:
    store = EventStore(metadata, SOURCE, MovableClock())
    with db.transaction() as s:
        for n in range(first, first + count):
            store.append(s, f"r-{n}", 0, [ReportWithdrawn.model_validate(
                {"report_id": f"r-{n}", "withdrawn_at": "2026-11-01T00:00:00Z"})])


def crash_after_sending(db: Database, topics: MemoryTopics, recorded: int) -> None:
    """A relay that sent everything, then died having recorded only `recorded`."""
    relay_on(db, topics).publish_pending()
    with db.transaction() as s:
        s.execute(update(metadata.tables["relay_position"]).values(position=recorded))


def test_a_restarted_relay_sends_only_what_is_not_on_the_topic_and_records_every_event(db: Database) -> None:
    topics = MemoryTopics()
    append(db, 0, 10)
    crash_after_sending(db, topics, recorded=4)
    append(db, 10, 3)
    restarted = relay_on(db, topics)
    assert restarted.publish_pending() == 9
    assert restarted.position() == 13 and restarted.skipped == 6
    assert set(topics.ids().values()) == {1} and len(topics.ids()) == 13


def test_each_partition_is_judged_on_its_own_so_a_gap_in_one_is_filled_not_skipped(db: Database) -> None:
    topics = MemoryTopics()
    append(db, 0, 12)
    crash_after_sending(db, topics, recorded=2)
    lost = topics.logs[("p.vigil.reports.v1", 1)]
    kept = [r for r in lost if int(dict(r["headers"])["vigil_position"]) <= 5]
    gone = len(lost) - len(kept)
    lost[:] = kept  # partition 1 lost what came after position 5; the others hold everything
    assert gone and relay_on(db, topics).publish_pending() == 10
    assert set(topics.ids().values()) == {1} and len(topics.ids()) == 12


def test_records_of_another_source_on_the_topic_are_neither_skipped_nor_an_end_to_the_look() -> None:
    ours = [TailRecord(f"e{n}", SOURCE, n) for n in (9, 8)]
    theirs = [TailRecord(f"x{n}", "/vigil/other", n) for n in (3, 2, 1)]
    ids, highest = published_above([ours[0], *theirs, ours[1], TailRecord("e6", SOURCE, 6)], SOURCE, recorded=6)
    assert ids == {"e9", "e8", "e6"} and highest == 9


def test_a_record_from_before_positions_were_carried_ends_the_look() -> None:
    records = [TailRecord("e9", SOURCE, 9), TailRecord("old", SOURCE, None), TailRecord("older", SOURCE, 8)]
    assert published_above(records, SOURCE, recorded=4) == ({"e9", "old"}, 9)


def test_the_look_back_stops_at_the_recorded_position_and_at_its_limit() -> None:
    seen: list[int] = []

    def newest_first() -> Iterator[TailRecord]:
        for n in range(1000, 0, -1):
            seen.append(n)
            yield TailRecord(f"e{n}", SOURCE, n)

    assert published_above(newest_first(), SOURCE, recorded=995) == ({f"e{n}" for n in range(995, 1001)}, 1000)
    assert seen[-1] == 995
    seen.clear()
    ids, _ = published_above(newest_first(), SOURCE, recorded=0, limit=50)
    assert len(ids) == 50 and len(seen) == 51


def test_a_topic_holding_another_history_of_the_same_positions_loses_nothing(db: Database) -> None:
    """A database restored from a backup: the topic holds higher positions under other ids. Ids decide."""
    topics = MemoryTopics()
    append(db, 0, 6)
    relay_on(db, topics).publish_pending()
    for record in topics.records():  # the same positions, published by a history this database never had
        record["headers"] = [(h, b"elsewhere-" + v if h == "ce_id" else v) for h, v in record["headers"]]
    with db.transaction() as s:
        s.execute(update(metadata.tables["relay_position"]).values(position=0))
    assert relay_on(db, topics).publish_pending() == 6
    assert len(topics.ids()) == 12


def test_nothing_after_the_recorded_position_means_no_read_back(db: Database) -> None:
    topics = MemoryTopics()
    append(db, 0, 5)
    relay_on(db, topics).publish_pending()
    restarted = relay_on(db, topics)
    assert restarted.publish_pending() == 0 and topics.reads == 0
    append(db, 5, 2)
    assert restarted.publish_pending() == 2 and topics.reads == 0


def test_the_topic_is_read_back_once_per_start_and_the_reader_closed_when_past_the_horizon(db: Database) -> None:
    topics = MemoryTopics()
    append(db, 0, 20)
    crash_after_sending(db, topics, recorded=5)
    closed = topics.closed
    restarted = relay_on(db, topics, batch_size=4)
    while restarted.publish_pending():
        pass
    assert topics.reads == topics.count and topics.closed == closed + 1
    append(db, 20, 3)
    assert restarted.publish_pending() == 3 and topics.reads == topics.count
    assert set(topics.ids().values()) == {1} and len(topics.ids()) == 23


def test_streaming_after_a_crash_resumes_past_what_the_topic_holds(db: Database) -> None:
    topics = MemoryTopics()
    append(db, 0, 30)
    crash_after_sending(db, topics, recorded=11)
    relay = relay_on(db, topics, batch_size=7)
    stop = threading.Event()
    streaming = threading.Thread(target=relay.stream, args=(stop, RelayLock(db, "outbox")))
    streaming.start()
    try:
        eventually(lambda: relay.position() == 30, 5, "every event recorded as published")
        append(db, 30, 2)
        relay.wake()
        eventually(lambda: relay.position() == 32, 5, "the later events published")
    finally:
        stop.set()
        relay.wake()
        streaming.join(5)
    assert not streaming.is_alive()
    assert relay.skipped == 19 and set(topics.ids().values()) == {1} and len(topics.ids()) == 32


def test_the_outbox_position_travels_in_a_header_and_reads_back() -> None:
    from datetime import UTC, datetime

    record = encode_record("t", event_id="e-1", source=SOURCE, type="vigil.report.withdrawn.v1",
                           time=datetime(2026, 11, 1, tzinfo=UTC), subject="r-1", sequence=1, key="r-1",
                           data=b"{}", position=41)
    assert dict(record["headers"])["vigil_position"] == b"41"
    assert tail_record(record["headers"]) == TailRecord("e-1", SOURCE, 41)
    assert tail_record([("ce_id", b"e-2")]) == TailRecord("e-2", None, None)
