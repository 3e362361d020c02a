"""The relay against a recording producer: order, position, and partial failure."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from services.intake.tables import metadata
from shared.clock import MovableClock
from shared.db import Database
from shared.events.reports import ReportWithdrawn
from shared.eventstore import EventStore
from shared.migrate import upgrade
from shared.outbox import OutboxRelay, RelayLock
from shared.topics import TopicNames
from tests.support.waiting import eventually


class Sent:
    """Stands in for kafka-python's FutureRecordMetadata."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def get(self, timeout: float | None = None) -> None:
        if self.error:
            raise self.error

    is_done = True

    def failed(self) -> bool:
        return self.error is not None

    def succeeded(self) -> bool:
        return self.error is None

    @property
    def exception(self) -> Exception | None:
        return self.error


class RecordingProducer:
    def __init__(self, fail_after: int | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail_after = fail_after

    def send(self, topic: str, **kwargs: Any) -> Sent:
        if self.fail_after is not None and len(self.sent) >= self.fail_after:
            return Sent(TimeoutError("broker gone"))
        self.sent.append({"topic": topic, **kwargs})
        return Sent()

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        pass


@pytest.fixture
def db(tmp_path: Path) -> Database:
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    upgrade("intake", url)
    return Database(url)


def _append(db: Database, n: int) -> None:
    store = EventStore(metadata, "/vigil/intake", MovableClock())
    for i in range(n):
        with db.transaction() as s:
            store.append(s, f"r-{i}", 0, [ReportWithdrawn.model_validate(
                {"report_id": f"r-{i}", "withdrawn_at": "2026-11-01T00:00:00Z"})])


def test_relay_publishes_in_sequence_order_with_prefixed_topics_and_records_position(db: Database) -> None:
    producer = RecordingProducer()
    relay = OutboxRelay(db, metadata, TopicNames("p."), lambda: producer)  # type: ignore[arg-type,return-value]
    _append(db, 5)
    assert relay.publish_pending() == 5
    assert [m["key"] for m in producer.sent] == [f"r-{i}".encode() for i in range(5)]
    assert {m["topic"] for m in producer.sent} == {"p.vigil.reports.v1"}
    assert relay.position() == 5
    assert relay.publish_pending() == 0


def test_after_a_partial_failure_only_the_unacknowledged_events_are_sent_again(db: Database) -> None:
    failing = RecordingProducer(fail_after=2)
    relay = OutboxRelay(db, metadata, TopicNames(), lambda: failing)  # type: ignore[arg-type,return-value]
    _append(db, 4)
    with pytest.raises(TimeoutError):
        relay.publish_pending()
    assert relay.position() == 2
    healthy = RecordingProducer()
    relay.producer_factory = lambda: healthy  # type: ignore[assignment,return-value]
    relay._producer = None
    assert relay.publish_pending() == 2
    assert [m["key"] for m in healthy.sent] == [b"r-2", b"r-3"]


def test_streaming_records_the_acknowledged_prefix_when_a_send_fails_and_resumes_after_it(db: Database) -> None:
    failing = RecordingProducer(fail_after=3)
    relay = OutboxRelay(db, metadata, TopicNames(), lambda: failing)  # type: ignore[arg-type,return-value]
    _append(db, 5)
    stop = threading.Event()
    with pytest.raises(TimeoutError):
        relay.stream(stop, RelayLock(db, "outbox"))
    assert relay.position() == 3 and relay.published == 3

    healthy = RecordingProducer()
    relay.producer_factory = lambda: healthy  # type: ignore[assignment,return-value]
    relay._producer = None
    relay._position = None  # as run() does after a failure: the position is read again
    streaming = threading.Thread(target=relay.stream, args=(stop, RelayLock(db, "outbox")))
    streaming.start()
    try:
        eventually(lambda: relay.position() == 5, 5, "the rest published and recorded")
    finally:
        stop.set()
        relay.wake()
        streaming.join(5)
    assert [m["key"] for m in healthy.sent] == [b"r-3", b"r-4"]
    assert not streaming.is_alive()


def test_a_quiet_relay_reads_at_once_and_a_busy_one_gathers_the_commits_of_its_interval(db: Database) -> None:
    gather = 2.0  # long beside five SQLite commits, even on a loaded machine
    producer = RecordingProducer()
    relay = OutboxRelay(db, metadata, TopicNames(), lambda: producer,  # type: ignore[arg-type,return-value]
                        poll_interval=60.0, gather=gather)
    reads: list[tuple[float, int]] = []
    read = relay._rows_after

    def recorded_read(seq: int) -> list[Any]:
        began = time.monotonic()  # as the relay counts it: when the read began, not when it returned
        rows = read(seq)
        reads.append((began, len(rows)))
        return rows

    relay._rows_after = recorded_read  # type: ignore[method-assign]
    stop = threading.Event()
    streaming = threading.Thread(target=relay.stream, args=(stop, RelayLock(db, "outbox")))
    streaming.start()
    try:
        eventually(lambda: reads, 5, "the first read")
        eventually(lambda: time.monotonic() - reads[-1][0] > gather, 10, "a quiet interval", interval=0.05)
        committed = time.monotonic()
        _append(db, 1)
        eventually(lambda: len(producer.sent) == 1, 5, "the quiet relay's send")
        quiet_read = reads[-1]
        assert quiet_read[1] == 1 and quiet_read[0] - committed < gather  # it did not wait out an interval

        store = EventStore(metadata, "/vigil/intake", MovableClock())
        for i in range(5):  # five commits in quick succession, each waking the relay
            with db.transaction() as s:
                store.append(s, f"busy-{i}", 0, [ReportWithdrawn.model_validate(
                    {"report_id": f"busy-{i}", "withdrawn_at": "2026-11-01T00:00:00Z"})])
        eventually(lambda: len(producer.sent) == 6, 10, "the busy commits' sends")
    finally:
        stop.set()
        relay.wake()
        streaming.join(5)
    busy_reads = [r for r in reads if r[0] > quiet_read[0] and r[1]]
    assert sum(n for _, n in busy_reads) == 5
    assert len(busy_reads) < 5  # commits were gathered (all five in one read, unless a commit took seconds)
    starts = [quiet_read[0]] + [at for at, _ in busy_reads]
    assert all(later - earlier >= gather for earlier, later in itertools.pairwise(starts))  # never sooner


def test_only_a_relay_busy_for_the_last_second_waits_and_only_for_the_rest_of_its_interval(db: Database) -> None:
    relay = OutboxRelay(db, metadata, TopicNames(), RecordingProducer, gather=0.02)  # type: ignore[arg-type]
    now = 100.0
    steps_of_one_report = deque([now - 0.03, now - 0.02, now - 0.01, now - 0.005])  # a flow's commits, 12/s
    assert relay._gathering(steps_of_one_report, now) == 0.0
    busy = deque(now - 0.9 + i * 0.018 for i in range(50))  # 50 reads in the last second, the last 18 ms ago
    assert relay._gathering(busy, now) == pytest.approx(0.002)
    long_ago = deque(now - 5 + i * 0.01 for i in range(100))  # busy once, quiet for the last four seconds
    assert relay._gathering(long_ago, now) == 0.0 and not long_ago  # forgotten
    unpaced = OutboxRelay(db, metadata, TopicNames(), RecordingProducer, gather=0)  # type: ignore[arg-type]
    assert unpaced._gathering(busy, now) == 0.0
    stale = deque([now - 3.0, now - 2.0])
    assert unpaced._gathering(stale, now) == 0.0 and not stale  # old reads forgotten even when unpaced


def test_an_interval_longer_than_a_second_is_judged_over_the_interval(db: Database) -> None:
    # A read 1.5 s ago under a 2 s interval: judged over one second it would be forgotten, and the next read
    # would come 0.5 s too soon (a CI run caught this in the gather test above).
    relay = OutboxRelay(db, metadata, TopicNames(), RecordingProducer, gather=2.0)  # type: ignore[arg-type]
    now = 100.0
    assert relay._gathering(deque([now - 1.5]), now) == pytest.approx(0.5)
    assert relay._gathering(deque([now - 2.5]), now) == 0.0
