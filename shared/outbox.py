"""The outbox relay: publishes a service's event table to Kafka in sequence order.

Woken at once after every commit that appended events (and on a short poll as a
fallback), so the outbox adds milliseconds: on PostgreSQL by a NOTIFY sent in the appending
transaction, so a commit in any process of the service wakes the relay wherever it runs; on
SQLite (one process) by an in-process callback. It records how far it got in the same
database, survives broker downtime (it simply does not advance) and catches up. Only
one relay per database publishes at a time: a PostgreSQL advisory lock or, on SQLite,
a lock file.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from kafka import KafkaProducer
from opentelemetry.trace import SpanKind
from sqlalchemy import Connection, MetaData, select, text

from shared.clock import Clock, SystemClock
from shared.db import Database
from shared.eventstore import OUTBOX_CHANNEL
from shared.kafka import encode_record
from shared.metrics import counters
from shared.telemetry import context_from, current_traceparent, tracer
from shared.topics import TopicNames

log = logging.getLogger(__name__)
RELAY_LOCK = 0x56_52_4C_59  # "VRLY"


class RelayLock:
    """At most one publishing relay per database."""

    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name
        self._conn: Connection | None = None
        self._file: IO[str] | None = None

    def acquire(self) -> bool:
        if self.db.is_postgres:
            self._conn = self.db.engine.connect()
            got = bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": RELAY_LOCK}).scalar())
            if got:
                self._conn.execute(text(f"LISTEN {OUTBOX_CHANNEL}"))
            self._conn.commit()
            if not got:
                self._conn.close()
                self._conn = None
            return got
        path = self.db.url.split("///", 1)[-1]
        lock_path = f"{path}.relay.lock" if path and path != ":memory:" else f"/tmp/vigil-{self.name}.relay.lock"
        self._file = open(lock_path, "w")  # noqa: SIM115  (held for the relay's lifetime)
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            self._file.close()
            self._file = None
            return False

    @property
    def notified(self) -> bool:
        """Whether appends announce themselves to this lock's connection (PostgreSQL's LISTEN)."""
        return self._conn is not None

    def wait_for_news(self, timeout: float, stop: threading.Event) -> None:
        """Until an appending transaction commits (in any process), the timeout, or `stop`."""
        assert self._conn is not None
        raw = self._conn.connection.driver_connection
        assert raw is not None
        deadline = time.monotonic() + timeout
        while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            if any(True for _ in raw.notifies(timeout=min(left, 0.25), stop_after=1)):
                for _ in raw.notifies(timeout=0):  # one publish serves every commit so far
                    pass
                return

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._file is not None:
            self._file.close()
            self._file = None


class OutboxRelay:
    def __init__(self, db: Database, metadata: MetaData, names: TopicNames,
                 producer_factory: Callable[[], KafkaProducer], name: str = "outbox",
                 batch_size: int = 500, poll_interval: float = 0.5, clock: Clock | None = None) -> None:
        self.db = db
        self.log_table = metadata.tables["event_log"]
        self.position_table = metadata.tables["relay_position"]
        self.names = names
        self.producer_factory = producer_factory
        self.name = name
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.clock = clock or SystemClock()
        self._wake = threading.Event()
        self._producer: KafkaProducer | None = None
        self._position: int | None = None  # held by the relay that holds the lock; re-read after trouble
        self.published = 0
        db.on_commit(self.wake)

    def wake(self) -> None:
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        lock = RelayLock(self.db, self.name)
        while not stop.is_set() and not lock.acquire():
            stop.wait(2.0)
        try:
            backoff = 0.5
            while not stop.is_set():
                try:
                    while self.publish_pending() and not stop.is_set():
                        pass
                    backoff = 0.5
                except Exception as e:  # broker down, timeouts: keep the position, try again
                    log.warning("outbox relay could not publish; will retry", extra={"error": repr(e)})
                    self._close_producer()
                    self._position = None
                    stop.wait(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                if lock.notified:
                    lock.wait_for_news(self.poll_interval, stop)
                else:
                    self._wake.wait(self.poll_interval)
                    self._wake.clear()
        finally:
            self._close_producer()
            lock.release()

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
        """Publish the next batch after the recorded position; returns how many went out.

        Rows go to Kafka as stored: their data is already canonical JSON, so nothing is parsed or
        re-serialised on the way.
        """
        start = self._position if self._position is not None else self.position()
        with self.db.sessions() as s:
            rows = list(s.execute(select(self.log_table).where(self.log_table.c.seq > start)
                                  .order_by(self.log_table.c.seq).limit(self.batch_size)).mappings())
        if not rows:
            self._position = start
            return 0
        producer = self._producer_now()
        futures: list[Any] = []
        for row in rows:
            topic = self.names(row["topic"])
            with tracer().start_as_current_span(
                f"send {topic}", context=context_from(row["traceparent"], row["tracestate"]),
                kind=SpanKind.PRODUCER,
                attributes={"messaging.system": "kafka", "messaging.operation.type": "send",
                            "messaging.destination.name": topic, "messaging.message.id": row["event_id"],
                            "messaging.kafka.message.key": row["key"]},
            ):
                traceparent, tracestate = current_traceparent()
                futures.append(producer.send(**encode_record(
                    topic, event_id=row["event_id"], source=row["source"], type=row["type"], time=row["time"],
                    subject=row["stream_id"], sequence=row["version"], key=row["key"],
                    data=row["data"].encode(), traceparent=traceparent, tracestate=tracestate)))
        producer.flush(timeout=30)
        done = 0
        try:
            for future in futures:
                future.get(timeout=30)
                done += 1
        finally:  # what was acknowledged stays published, even if a later send failed
            if done:
                self._record(int(rows[done - 1]["seq"]))
                self._position = int(rows[done - 1]["seq"])
                self.published += done
                counters().published.add(done, {"relay": self.name})
        return done

    def _record(self, seq: int) -> None:
        with self.db.transaction() as s:
            current = s.execute(select(self.position_table.c.position)
                                .where(self.position_table.c.name == self.name)).first()
            if current is not None:
                s.execute(self.position_table.update().where(self.position_table.c.name == self.name)
                          .values(position=seq, updated_at=self.clock.now()))
            else:
                s.execute(self.position_table.insert().values(name=self.name, position=seq,
                                                              updated_at=self.clock.now()))
