"""Consumers with an inbox: each event's effect and its id commit together; offsets after.

A redelivered event finds its id in the inbox and does nothing. An event that keeps
failing is retried a bounded number of times, then sent to `<topic>.dlq` with the
reason and its source position in headers, and the consumer moves on. A database that
cannot be reached is not the event's fault: the consumer waits for it, however long,
and never dead-letters an event for it nor commits an offset past an event not applied.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord
from opentelemetry.trace import SpanKind
from sqlalchemy import MetaData, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from shared.clock import Clock, SystemClock
from shared.db import Database, insert_new
from shared.events.base import Envelope
from shared.kafka import UndecodableRecord, decode
from shared.metrics import counters, register_lag_source
from shared.telemetry import context_from, tracer
from shared.topics import TopicNames, dlq

log = logging.getLogger(__name__)

Handler = Callable[[Session, Envelope], None]
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


class Stopping(Exception):
    """The service is stopping while the database is away: the event stays unapplied and its offset uncommitted."""


class EventConsumer:
    def __init__(self, name: str, db: Database, metadata: MetaData, names: TopicNames, topics: list[str],
                 handler: Handler, consumer_factory: Callable[[str], KafkaConsumer],
                 producer_factory: Callable[[], KafkaProducer], max_attempts: int = 3,
                 retry_backoff: float = 0.2, clock: Clock | None = None) -> None:
        self.name = name
        self.db = db
        self.inbox = metadata.tables["inbox"]
        self.names = names
        self.topics = topics
        self.handler = handler
        self.consumer_factory = consumer_factory
        self.producer_factory = producer_factory
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.clock = clock or SystemClock()
        self._dlq_producer: KafkaProducer | None = None
        self.processed = 0
        self.dead_lettered = 0
        self.lag: dict[tuple[str, str, int], int] = {}
        self.assigned = 0  # partitions held since the last poll (read by /readyz)
        self._stop = threading.Event()
        register_lag_source(lambda: dict(self.lag))

    def run(self, stop: threading.Event) -> None:
        self._stop = stop
        consumer = self._connect(stop)
        if consumer is None:
            return
        with contextlib.suppress(Stopping):
            self._consume(consumer, stop)

    def _consume(self, consumer: KafkaConsumer, stop: threading.Event) -> None:
        try:
            physical = [self.names(t) for t in self.topics]
            for topic in physical:  # metadata first: a group joined without it assigns nothing for minutes
                consumer.partitions_for_topic(topic)
            consumer.subscribe(physical)
            while not stop.is_set():
                batch = consumer.poll(timeout_ms=1000)  # returns as soon as records come; bounds shutdown to ~1 s
                self.assigned = len(consumer.assignment())
                for records in batch.values():
                    for record in records:
                        self.process(record)
                if batch:
                    consumer.commit()
                self._measure_lag(consumer)
        finally:
            self.assigned = 0
            consumer.close(autocommit=False)
            if self._dlq_producer is not None:
                self._dlq_producer.close(timeout=5)

    def _measure_lag(self, consumer: KafkaConsumer) -> None:
        """From what the last fetch told us; no extra round trip to the broker."""
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is not None:
                self.lag[(self.name, tp.topic, tp.partition)] = max(0, highwater - consumer.position(tp))

    def _connect(self, stop: threading.Event) -> KafkaConsumer | None:
        backoff = 0.5
        while not stop.is_set():
            try:
                return self.consumer_factory(self.names.group(self.name))
            except Exception as e:
                log.warning("consumer cannot reach Kafka yet", extra={"consumer": self.name, "error": repr(e)})
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        return None

    def process(self, record: ConsumerRecord) -> None:
        logical = self.names.logical(record.topic)
        try:
            env = decode(record, logical)
        except UndecodableRecord as e:
            self.dead_letter(record, str(e))
            return
        with tracer().start_as_current_span(
            f"process {record.topic}", context=context_from(env.traceparent, env.tracestate),
            kind=SpanKind.CONSUMER,
            attributes={"messaging.system": "kafka", "messaging.operation.type": "process",
                        "messaging.destination.name": record.topic,
                        "messaging.destination.partition.id": str(record.partition),
                        "messaging.kafka.offset": record.offset, "messaging.message.id": env.id,
                        "messaging.consumer.group.name": self.names.group(self.name)},
        ):
            attempt = waits = 0
            while True:
                try:
                    self.handle(env)
                    return
                except Exception as e:
                    if self._database_away(e):
                        waits += 1
                        self._wait_for_database(env, e, waits)
                        continue
                    attempt += 1
                    log.warning("event processing failed", extra={
                        "consumer": self.name, "event_id": env.id, "event_type": env.type,
                        "attempt": attempt, "error": repr(e)})
                    if attempt == self.max_attempts:
                        self.dead_letter(record, f"{type(e).__name__}: {e}")
                        return
                    time.sleep(self.retry_backoff * 2 ** (attempt - 1))

    def _database_away(self, error: Exception) -> bool:
        """PostgreSQL down, restarting or unreachable. (SQLite is in the process: it cannot be away, and its
        OperationalError is as often a bug, such as a missing table, which retrying for ever would hide.)"""
        return self.db.is_postgres and isinstance(error, DATABASE_UNAVAILABLE)

    def _wait_for_database(self, env: Envelope, error: Exception, waits: int) -> None:
        log.warning("database unavailable; the event waits for it", extra={
            "consumer": self.name, "event_id": env.id, "waits": waits, "error": repr(error)})
        if self._stop.wait(min(0.25 * 2 ** waits, 5.0)):
            raise Stopping from error

    def handle(self, env: Envelope) -> bool:
        """Apply one event exactly once; False when it had been applied before."""
        try:
            with self.db.transaction() as s:
                # Claimed first, in one statement: a duplicate is skipped without a look beforehand, and a
                # copy being handled elsewhere at this moment is waited for rather than handled twice.
                if not insert_new(s, self.inbox, consumer=self.name, event_id=env.id, processed_at=self.clock.now()):
                    return False
                self.handler(s, env)
        except IntegrityError:
            if self._already_processed(env.id):
                return False
            raise
        self.processed += 1
        counters().processed.add(1, {"consumer": self.name, "type": env.type})
        return True

    def _already_processed(self, event_id: str) -> bool:
        with self.db.sessions() as s:
            return s.execute(select(self.inbox.c.event_id).where(
                self.inbox.c.consumer == self.name, self.inbox.c.event_id == event_id)).first() is not None

    def dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        if self._dlq_producer is None:
            self._dlq_producer = self.producer_factory()
        headers: list[tuple[str, bytes]] = list(record.headers or [])
        headers += [("vigil_dlq_reason", reason[:1000].encode()),
                    ("vigil_dlq_source_topic", record.topic.encode()),
                    ("vigil_dlq_source_partition", str(record.partition).encode()),
                    ("vigil_dlq_source_offset", str(record.offset).encode()),
                    ("vigil_dlq_consumer", self.name.encode())]
        target = self.names(dlq(self.names.logical(record.topic)))
        kwargs: dict[str, Any] = {"key": record.key, "value": record.value, "headers": headers}
        self._dlq_producer.send(target, **kwargs).get(timeout=30)
        self.dead_lettered += 1
        counters().dead_lettered.add(1, {"consumer": self.name, "topic": record.topic})
        log.error("event sent to the dead-letter topic",
                  extra={"consumer": self.name, "topic": record.topic, "partition": record.partition,
                         "offset": record.offset, "reason": reason[:200]})
