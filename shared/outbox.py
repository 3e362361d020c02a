"""The outbox relay: publishes a service's event table to Kafka in sequence order.

Woken at once after every commit that appended events (and on a short poll as a
fallback), so the outbox adds milliseconds: on PostgreSQL by a NOTIFY sent in the appending
transaction, so a commit in any process of the service wakes the relay wherever it runs; on
SQLite (one process) by an in-process callback. Under load it reads at most once per `gather`
seconds, so that one read and one produce request carry many commits (ADR 0026).

It records how far it got in the same database, survives broker downtime (it simply does not
advance) and catches up. Only one relay per database publishes at a time: a PostgreSQL advisory
lock or, on SQLite, a lock file.

Whenever it starts from its recorded position (at start, and after any failure) it first looks at what
the topics already hold beyond it, and does not send those events again (ADR 0051).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC
from typing import IO, Any, Protocol

from kafka import KafkaProducer
from opentelemetry.trace import SpanKind
from psycopg.rows import dict_row
from sqlalchemy import Connection, MetaData, Table, func, select, text

from shared.clock import Clock, SystemClock
from shared.db import Database
from shared.eventstore import OUTBOX_CHANNEL
from shared.kafka import KafkaTopicTail, TailRecord, encode_record
from shared.metrics import counters
from shared.telemetry import context_from, current_traceparent, tracer, tracing_recorded
from shared.topics import TopicNames

log = logging.getLogger(__name__)
RELAY_LOCK = 0x56_52_4C_59  # "VRLY"
RECORD_EVERY = 0.2  # seconds between position writes while sends are in flight
GATHER = 0.02  # seconds: while busy, the least time between two reads (ADR 0026)
TAIL_LIMIT = 100_000  # records read back per partition at most when resuming (ADR 0051)


class RelayLock:
    """At most one publishing relay per database."""

    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name
        self._conn: Connection | None = None
        self._file: IO[str] | None = None
        self._select: str | None = None

    def acquire(self) -> bool:
        if self.db.is_postgres:
            self._conn = self.db.engine.connect()
            got = bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": RELAY_LOCK}).scalar())
            if got:
                self._conn.execute(text(f"LISTEN {OUTBOX_CHANNEL}"))
            self._conn.commit()
            if got:  # from here the relay reads the event table on this connection, a statement at a time
                self._raw().autocommit = True
            if not got:
                self._conn.close()
                self._conn = None
            return got
        path = self.db.url.split("///", 1)[-1]
        lock_path = (f"{path}.relay.lock" if path and path != ":memory:"
                     else os.path.join(tempfile.gettempdir(), f"vigil-{self.name}.relay.lock"))
        self._file = open(lock_path, "w")  # noqa: SIM115  (held for the relay's lifetime)
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            self._file.close()
            self._file = None
            return False

    @property
    def held(self) -> bool:
        return self._conn is not None or self._file is not None

    def healthy(self) -> bool:
        """False once the PostgreSQL connection that holds the lock has broken (the server let the lock go)."""
        if self._conn is None:
            return True
        raw = self._conn.connection.driver_connection
        return raw is not None and not raw.closed and not getattr(raw, "broken", False)

    @property
    def notified(self) -> bool:
        """Whether appends announce themselves to this lock's connection (PostgreSQL's LISTEN)."""
        return self._conn is not None

    def _raw(self) -> Any:
        raw = self._conn.connection.driver_connection if self._conn is not None else None
        if raw is None:
            raise RuntimeError("the relay lock's connection is not open")
        return raw

    def rows_after(self, seq: int, limit: int, log_table: Table) -> list[dict[str, Any]]:
        """The next events, read on the lock's own connection with psycopg: no pool, session or ORM layer,
        which cost more than the query when the relay wakes for every commit."""
        if self._select is None:
            columns = ", ".join(c.name for c in log_table.columns)
            self._select = (f"SELECT {columns} FROM {log_table.name} "  # noqa: S608 (our own table's names)
                            "WHERE seq > %s ORDER BY seq LIMIT %s")
        with self._raw().cursor(row_factory=dict_row) as cur:
            rows: list[dict[str, Any]] = cur.execute(self._select, (seq, limit)).fetchall()
        for row in rows:
            row["time"] = row["time"].astimezone(UTC)
        return rows

    def wait_for_news(self, timeout: float, stop: threading.Event) -> bool:
        """Until an appending transaction commits (in any process), the timeout, or `stop`; True for news."""
        raw = self._raw()
        deadline = time.monotonic() + timeout
        while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            if any(True for _ in raw.notifies(timeout=min(left, 0.25), stop_after=1)):
                for _ in raw.notifies(timeout=0):  # one publish serves every commit so far
                    pass
                return True
        return False

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # a broken connection may fail to close cleanly
                self._conn.close()
            self._conn = None
        if self._file is not None:
            self._file.close()
            self._file = None


class TopicTail(Protocol):
    """Reads what a topic already holds, newest first: Kafka's (`shared.kafka.KafkaTopicTail`) or a twin."""

    def partitions(self, topic: str) -> list[int]: ...

    def newest_first(self, topic: str, partition: int) -> Iterator[TailRecord]: ...

    def close(self) -> None: ...


class AlreadyPublished:
    """Stands in for a send's future when the event is on its topic already: done, and acknowledged."""

    is_done = True
    exception = None

    @staticmethod
    def succeeded() -> bool:
        return True

    @staticmethod
    def failed() -> bool:
        return False

    @staticmethod
    def get(timeout: float | None = None) -> None:
        return None


ON_THE_TOPIC = AlreadyPublished()


def published_above(records: Iterable[TailRecord], source: str, recorded: int,
                    limit: int = TAIL_LIMIT) -> tuple[set[str], int | None]:
    """The ids of `source`'s records in a partition, newest first, down to its first at or below `recorded`;
    and the highest outbox position among them.

    A record of another source (a topic two services write) is passed over. One without a position was
    published before positions were carried: it ends the look, as a record at or below `recorded` does.
    """
    ids: set[str] = set()
    highest: int | None = None
    for n, record in enumerate(records):
        if n == limit:
            log.warning("outbox relay stopped reading back a partition", extra={"records": limit})
            break
        if record.source != source:
            continue
        if record.event_id:
            ids.add(record.event_id)
        if record.position is None or record.position <= recorded:
            break
        highest = max(highest or 0, record.position)
    return ids, highest


class Resume:
    """The events after the recorded position that an earlier run of the relay already put on their topics.

    A relay records how far it got at most every RECORD_EVERY, so after a crash, or a failed send, some
    rows after its recorded position may be on their topics. Before the first of a topic's rows is sent,
    every partition of that topic is read back from its end down to the recorded position, and the rows
    whose event ids were found there are skipped (ADR 0051). Rows after `horizon`, the last row when the
    resume began, had not been committed then, so cannot have been published: they are never looked up.
    """

    def __init__(self, tail: TopicTail, names: TopicNames, recorded: int, horizon: int,
                 limit: int = TAIL_LIMIT) -> None:
        self.tail = tail
        self.names = names
        self.recorded = recorded
        self.horizon = horizon
        self.limit = limit
        self.skipped = 0
        self._found: dict[tuple[str, str], set[str]] = {}

    def already_published(self, row: Any) -> bool:
        if int(row["seq"]) > self.horizon:
            return False
        where = (row["topic"], row["source"])
        found = self._found.get(where)
        if found is None:
            found = self._found[where] = self._read_back(*where)
        if row["event_id"] in found:
            self.skipped += 1
            return True
        return False

    def _read_back(self, topic: str, source: str) -> set[str]:
        physical = self.names(topic)
        found: set[str] = set()
        highest: dict[int, int | None] = {}
        for partition in self.tail.partitions(physical):
            ids, highest[partition] = published_above(self.tail.newest_first(physical, partition), source,
                                                      self.recorded, self.limit)
            found |= ids
        log.info("outbox relay read back what a topic holds beyond its recorded position", extra={
            "topic": physical, "recorded": self.recorded, "highest_published": highest})
        return found

    def close(self) -> None:
        if self.skipped:
            log.info("outbox relay did not resend events already on their topics",
                     extra={"skipped": self.skipped, "recorded": self.recorded, "horizon": self.horizon})
        with contextlib.suppress(Exception):  # a reader of a broker that went away may fail to close cleanly
            self.tail.close()


class OutboxRelay:
    def __init__(self, db: Database, metadata: MetaData, names: TopicNames,
                 producer_factory: Callable[[], KafkaProducer], name: str = "outbox",
                 batch_size: int = 500, poll_interval: float = 0.5, clock: Clock | None = None,
                 gather: float = GATHER,
                 tail: Callable[[KafkaProducer], TopicTail | None] = KafkaTopicTail.beside) -> None:
        self.db = db
        self.log_table = metadata.tables["event_log"]
        self.position_table = metadata.tables["relay_position"]
        self.names = names
        self.producer_factory = producer_factory
        self.name = name
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.gather = gather
        self.clock = clock or SystemClock()
        self._wake = threading.Event()
        self._producer: KafkaProducer | None = None
        self._position: int | None = None  # held by the relay that holds the lock; re-read after trouble
        self.tail = tail
        self._resume: Resume | None = None  # from a recorded position until past what may be on the topics
        self.published = 0
        self.skipped = 0  # events found on their topics already when resuming, so not sent again
        db.on_commit(self.wake)

    def wake(self) -> None:
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        lock = RelayLock(self.db, self.name)
        backoff = 0.5
        try:
            while not stop.is_set():
                if not lock.held:
                    if not self._acquire(lock):
                        stop.wait(2.0)
                        continue
                    self._position = None  # whoever held the lock before may have moved it
                try:
                    self.stream(stop, lock)
                    backoff = 0.5
                except Exception as e:  # broker down, timeouts: keep the position, try again
                    log.warning("outbox relay could not publish; will retry", extra={"error": repr(e)})
                    self._close_producer()
                    self._position = None
                    if not lock.healthy():  # the database connection holding the lock is gone, and the lock with it
                        lock.release()
                    stop.wait(backoff)
                    backoff = min(backoff * 2, 10.0)
        finally:
            self._close_producer()
            lock.release()

    def _acquire(self, lock: RelayLock) -> bool:
        try:
            return lock.acquire()
        except Exception as e:  # the database is unreachable: try again later
            log.warning("outbox relay cannot take its lock yet", extra={"error": repr(e)})
            lock.release()
            return False

    def stream(self, stop: threading.Event, lock: RelayLock) -> None:
        """Send rows as they commit without waiting for each batch's acknowledgement (ADR 0009).

        Sends stay in flight while the next rows are read; the acknowledged prefix is recorded at most
        every RECORD_EVERY seconds, and at once when nothing is in flight, so a quiet relay's position is
        current. A failed send raises after the prefix before it is recorded: from there the caller starts
        again, and first reads back what after it did arrive, so as not to send it twice (ADR 0051).

        A busy relay (one that read at least once per `gather` seconds, on average, over the last second)
        waits out the rest of the interval after its previous read before reading again, so one read and
        one produce request take every commit of the interval instead of paying for each (measured: 1.1 ms
        of relay CPU per event at 500 commits/s of two reports each, 0.45 ms with 20 ms). A quiet relay
        reads at once, so the few commits of one report's flow at low rates are not held up (ADR 0026).
        """
        producer = self._producer_now()
        acked = recorded = self._start()
        sent = acked
        in_flight: deque[tuple[int, Any]] = deque()
        last_record = time.monotonic()
        reads: deque[float] = deque()  # when the reads of the last second began
        news, full = True, False
        try:
            while not stop.is_set():
                if news:
                    if not full and (wait := self._gathering(reads, time.monotonic())) > 0:
                        stop.wait(wait)
                    reads.append(time.monotonic())
                rows = (lock.rows_after(sent, self.batch_size, self.log_table) if lock.notified
                        else self._rows_after(sent)) if news else []
                full = len(rows) == self.batch_size
                for row in rows:
                    in_flight.append((int(row["seq"]), self._publish(producer, row)))
                    sent = int(row["seq"])
                while in_flight and in_flight[0][1].is_done:
                    seq, future = in_flight.popleft()
                    if future.failed():
                        raise future.exception
                    acked = seq
                if acked > recorded and (not in_flight or time.monotonic() - last_record >= RECORD_EVERY):
                    recorded, last_record = self._acknowledged(acked, recorded), time.monotonic()
                if full:
                    continue
                # Until news; acknowledgements are collected on every wake-up, and at least every RECORD_EVERY
                # while sends are in flight. Idle, a timeout reads the table anyway (the poll fallback).
                news = self._wait(stop, lock, RECORD_EVERY if in_flight else self.poll_interval) or not in_flight
        finally:  # whatever was acknowledged stays published, even on the way out after a failure
            while in_flight and in_flight[0][1].is_done and in_flight[0][1].succeeded():
                acked = in_flight.popleft()[0]
            if acked > recorded:
                self._acknowledged(acked, recorded)
            if self._resume is not None:  # stopped part-way: a later start resumes from the record again
                self._end_resume()
                self._position = None

    def _gathering(self, reads: deque[float], now: float) -> float:
        """How long to wait before the next read: the rest of the interval if busy, else 0.

        Busy means at least one read per `gather` on average over the last second, or over the last
        `gather` if that is longer (so a relay never reads sooner than `gather` after a read it counted as
        busy). Forgets older reads first, so `reads` stays small whatever `gather` is.
        """
        window = max(1.0, self.gather)
        while reads and reads[0] < now - window:
            reads.popleft()
        if not self.gather or not reads or len(reads) < window / self.gather:
            return 0.0
        return reads[-1] + self.gather - now

    def _acknowledged(self, acked: int, recorded: int) -> int:
        self._record(acked)
        self._position = acked
        self.published += acked - recorded
        counters().published.add(acked - recorded, {"relay": self.name})
        return acked

    def _wait(self, stop: threading.Event, lock: RelayLock, timeout: float) -> bool:
        """Whether events were appended meanwhile."""
        if lock.notified:
            return lock.wait_for_news(timeout, stop)
        woken = self._wake.wait(timeout)
        self._wake.clear()
        return woken

    def _rows_after(self, seq: int) -> list[Any]:
        with self.db.sessions() as s:
            return list(s.execute(select(self.log_table).where(self.log_table.c.seq > seq)
                                  .order_by(self.log_table.c.seq).limit(self.batch_size)).mappings())

    def _start(self) -> int:
        """The position to publish after: the one held, or the recorded one with a resume if rows follow it."""
        if self._position is not None:
            return self._position
        self._end_resume()
        recorded, horizon = self.position(), self._last_seq()
        tail = self.tail(self._producer_now()) if horizon > recorded else None
        if tail is not None:
            self._resume = Resume(tail, self.names, recorded, horizon)
        return recorded

    def _publish(self, producer: KafkaProducer, row: Any) -> Any:
        """Send a row, unless an earlier run of the relay already put it on its topic."""
        if self._resume is None:
            return self._send(producer, row)
        published = self._resume.already_published(row)
        if int(row["seq"]) >= self._resume.horizon:
            self._end_resume()
        return ON_THE_TOPIC if published else self._send(producer, row)

    def _end_resume(self) -> None:
        if self._resume is not None:
            self.skipped += self._resume.skipped
            self._resume.close()
            self._resume = None

    def _last_seq(self) -> int:
        with self.db.sessions() as s:
            return int(s.execute(select(func.max(self.log_table.c.seq))).scalar() or 0)

    def _send(self, producer: KafkaProducer, row: Any) -> Any:
        """One stored row to Kafka, as stored: its data is already canonical JSON, nothing is re-parsed."""
        topic = self.names(row["topic"])
        if not tracing_recorded():  # no span to record: pass the request's trace context on as stored
            return producer.send(**self._record_of(topic, row, row["traceparent"], row["tracestate"]))
        with tracer().start_as_current_span(
            f"send {topic}", context=context_from(row["traceparent"], row["tracestate"]), kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "kafka", "messaging.operation.type": "send",
                        "messaging.destination.name": topic, "messaging.message.id": row["event_id"],
                        "messaging.kafka.message.key": row["key"]},
        ):
            return producer.send(**self._record_of(topic, row, *current_traceparent()))

    @staticmethod
    def _record_of(topic: str, row: Any, traceparent: str | None, tracestate: str | None) -> dict[str, Any]:
        return encode_record(topic, event_id=row["event_id"], source=row["source"], type=row["type"],
                             time=row["time"], subject=row["stream_id"], sequence=row["version"], key=row["key"],
                             data=row["data"].encode(), traceparent=traceparent, tracestate=tracestate,
                             position=row["seq"])

    def _producer_now(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = self.producer_factory()
        return self._producer

    def _close_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=5)
            except Exception:  # closing a producer for a dead broker may itself fail
                log.debug("producer close failed", exc_info=True)
            self._producer = None

    def position(self) -> int:
        with self.db.sessions() as s:
            pos = s.execute(select(self.position_table.c.position)
                            .where(self.position_table.c.name == self.name)).scalar()
            return int(pos or 0)

    def publish_pending(self) -> int:
        """Publish the next batch after the recorded position and wait for it; returns how many went out."""
        start = self._start()
        rows = self._rows_after(start)
        if not rows:
            self._position = start
            return 0
        producer = self._producer_now()
        futures = [self._publish(producer, row) for row in rows]
        producer.flush(timeout=30)
        done = 0
        try:
            for future in futures:
                future.get(timeout=30)
                done += 1
        finally:  # what was acknowledged stays published, even if a later send failed
            if done:
                self._acknowledged(int(rows[done - 1]["seq"]), start)
        return done

    def _record(self, seq: int) -> None:
        with self.db.transaction() as s:
            updated = s.execute(self.position_table.update().where(self.position_table.c.name == self.name)
                                .values(position=seq, updated_at=self.clock.now()))
            if updated.rowcount == 0:  # type: ignore[attr-defined]
                s.execute(self.position_table.insert().values(name=self.name, position=seq,
                                                              updated_at=self.clock.now()))
