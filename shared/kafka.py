"""CloudEvents 1.0 binary mode over kafka-python: the one codec every service uses.

Record value = the event's JSON data; attributes are `ce_*` headers (through the
cloudevents SDK's Kafka binding), plus `ce_sequence` and W3C `traceparent`/`tracestate`.
The record key is the aggregate id. A record published by an outbox relay also carries its
row's place in the outbox, `vigil_position`, so a relay can tell what it already published (ADR 0051).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.v1.event import CloudEvent
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaTimeoutError

from shared.events.base import Envelope, canonical_json

CONTENT_TYPE = "application/json"
TRACE_HEADERS = ("traceparent", "tracestate")
POSITION_HEADER = "vigil_position"


class UndecodableRecord(ValueError):
    """A record that is not a Vigil CloudEvent: retrying will not help, it goes to the DLQ."""


def encode(env: Envelope, topic_name: str | None = None) -> dict[str, Any]:
    """kwargs for `KafkaProducer.send`: topic, key, value, headers."""
    return encode_record(topic_name or env.topic, event_id=env.id, source=env.source, type=env.type,
                         time=env.time, subject=env.subject, sequence=env.sequence, key=env.key,
                         data=canonical_json(env.data), traceparent=env.traceparent, tracestate=env.tracestate)


def encode_record(topic: str, *, event_id: str, source: str, type: str, time: datetime, subject: str,
                  sequence: int, key: str, data: bytes, traceparent: str | None = None,
                  tracestate: str | None = None, position: int | None = None) -> dict[str, Any]:
    """The same, from stored fields and data already in canonical JSON (the relay's path: no re-parsing);
    `position` is the event's place in its outbox."""
    event = CloudEvent(
        attributes={"id": event_id, "source": source, "type": type, "specversion": "1.0", "time": time,
                    "subject": subject, "datacontenttype": CONTENT_TYPE, "sequence": str(sequence)},
        data=data,
    )
    message = ce_kafka.to_binary_event(event, key_mapper=lambda _e: key)
    headers = [(name, value) for name, value in message.headers.items()]
    headers.extend((h, v.encode()) for h, v in (("traceparent", traceparent), ("tracestate", tracestate)) if v)
    if position is not None:
        headers.append((POSITION_HEADER, str(position).encode()))
    return {"topic": topic, "key": key.encode(), "value": message.value, "headers": headers}


def decode(record: ConsumerRecord, logical_topic: str | None = None) -> Envelope:
    headers = {name: value for name, value in (record.headers or [])}
    if "ce_type" not in headers:
        raise UndecodableRecord("record has no ce_type header: not a CloudEvent in binary mode")
    message = ce_kafka.KafkaMessage(headers=headers, key=record.key, value=record.value or b"")
    try:
        event = ce_kafka.from_binary_event(message)
        data = json.loads(record.value) if record.value else {}
        return Envelope(
            id=event.get_id(), type=event.get_type(), source=event.get_source(),
            subject=event.get_subject() or "", time=event.get_time(),
            sequence=int(event.get_extension("sequence") or 0),
            key=(record.key or b"").decode(), topic=logical_topic or record.topic, data=data,
            traceparent=_text(headers.get("traceparent")), tracestate=_text(headers.get("tracestate")),
            partition=record.partition, offset=record.offset,
        )
    except (ValueError, TypeError, KeyError) as e:
        raise UndecodableRecord(f"record is not a readable CloudEvent: {e}") from e


def _text(value: bytes | None) -> str | None:
    return value.decode() if value else None


# kafka-python's own metrics (sensors updated on every send and request) are read by nothing here: Vigil
# exports its own through OpenTelemetry. Off, they cost nothing.
NO_CLIENT_METRICS = {"metrics_enabled": False}


def make_producer(bootstrap: str, client_id: str, **overrides: Any) -> KafkaProducer:
    """The idempotent producer of docs/design.md; set explicitly so a conflicting option is an error."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap, "client_id": client_id,
        "enable_idempotence": True, "acks": "all", "linger_ms": 1,
        "max_in_flight_requests_per_connection": 5, "retries": 2147483647,
        "request_timeout_ms": 15000, "delivery_timeout_ms": 30000, "max_block_ms": 10000,
        **NO_CLIENT_METRICS,
    }
    config.update(overrides)
    return KafkaProducer(**config)


def make_consumer(bootstrap: str, group: str, client_id: str, **overrides: Any) -> KafkaConsumer:
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap, "group_id": group, "client_id": client_id,
        "enable_auto_commit": False, "auto_offset_reset": "earliest",
        # An idle fetch waits at the broker up to fetch_max_wait_ms, but one answers as soon as a record arrives
        # (measured: 3-4 ms from send to poll at 100 and at 500). At 100 ms every idle consumer fetched ten
        # times a second; four services idled at 0.27 cores between them, now 0.11.
        "isolation_level": "read_committed", "fetch_max_wait_ms": 500,
        "max_poll_records": 500, "session_timeout_ms": 10000, "heartbeat_interval_ms": 1000,
        "metadata_max_age_ms": 10000,  # see new partitions and topics in seconds, not the default 5 minutes
        **NO_CLIENT_METRICS,
    }
    config.update(overrides)
    return KafkaConsumer(**config)


@dataclass(frozen=True)
class TailRecord:
    """What a relay needs to know of a record it may have published: whose it is, which event, which row."""

    event_id: str | None
    source: str | None
    position: int | None


def tail_record(headers: list[tuple[str, bytes]] | None) -> TailRecord:
    found = dict(headers or [])
    position = found.get(POSITION_HEADER)
    return TailRecord(_text(found.get("ce_id")), _text(found.get("ce_source")),
                      int(position) if position and position.isdigit() else None)


class KafkaTopicTail:
    """A partition's records newest first, read back from its end a chunk at a time (ADR 0051).

    One consumer outside any group, assigned one partition at a time; a relay reads the few records it
    may have sent before a crash, so the first chunk is small and later ones grow.
    """

    FIRST_CHUNK = 256

    def __init__(self, consumer: KafkaConsumer, timeout: float = 15.0) -> None:
        self.consumer = consumer
        self.timeout = timeout

    @classmethod
    def beside(cls, producer: object) -> KafkaTopicTail | None:
        """A reader of the cluster `producer` writes to, connected as it is; None for a stand-in producer."""
        if not isinstance(producer, KafkaProducer):
            return None
        connection = {name: value for name, value in producer.config.items()
                      if name in KafkaConsumer.DEFAULT_CONFIG
                      and (name in ("bootstrap_servers", "security_protocol") or name.startswith(("ssl_", "sasl_")))}
        return cls(KafkaConsumer(group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100,
                                 client_id=f"{producer.config['client_id']}-tail", **NO_CLIENT_METRICS,
                                 **connection))

    def partitions(self, topic: str) -> list[int]:
        return sorted(self.consumer.partitions_for_topic(topic))

    def newest_first(self, topic: str, partition: int) -> Iterator[TailRecord]:
        tp = TopicPartition(topic, partition)
        self.consumer.assign([tp])
        begin = self.consumer.beginning_offsets([tp])[tp]
        upper = self.consumer.end_offsets([tp])[tp]
        chunk = self.FIRST_CHUNK
        while upper > begin:
            lower = max(begin, upper - chunk)
            for record in reversed(self._between(tp, lower, upper)):
                yield tail_record(record.headers)
            upper, chunk = lower, chunk * 4

    def _between(self, tp: TopicPartition, lower: int, upper: int) -> list[ConsumerRecord]:
        self.consumer.seek(tp, lower)
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + self.timeout
        while self.consumer.position(tp) < upper:
            if time.monotonic() > deadline:
                raise KafkaTimeoutError(f"could not read {tp.topic}[{tp.partition}] from {lower} to {upper}")
            for batch in self.consumer.poll(timeout_ms=200).values():
                records.extend(r for r in batch if r.offset < upper)
        return records

    def close(self) -> None:
        self.consumer.close(autocommit=False)
