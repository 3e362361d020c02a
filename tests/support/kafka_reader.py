"""Reading topics the plain way, independent of the services' own consumer code."""

from __future__ import annotations

import time
import uuid

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord


def read_topic(bootstrap: str, topic: str, expect: int, timeout: float = 30.0,
               until: float | None = None) -> list[ConsumerRecord]:
    """Every record on `topic` from offset 0, waiting until at least `expect` have arrived.

    With `until`, keeps reading until that many seconds of quiet have passed after `expect`
    (to prove nothing more arrives, e.g. no duplicates).
    """
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             client_id=f"test-reader-{uuid.uuid4().hex[:6]}", consumer_timeout_ms=200)
    try:
        deadline = time.monotonic() + timeout
        partitions: set[int] | None = None
        while not partitions and time.monotonic() < deadline:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                time.sleep(0.2)
        if not partitions:
            raise AssertionError(f"topic {topic} does not exist after {timeout}s")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        records: list[ConsumerRecord] = []
        quiet_until: float | None = None
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
            if len(records) >= expect:
                if until is None:
                    break
                quiet_until = quiet_until or time.monotonic() + until
                if time.monotonic() >= quiet_until:
                    break
        if len(records) < expect:
            raise AssertionError(f"only {len(records)} of {expect} records on {topic} after {timeout}s")
        return records
    finally:
        consumer.close()


def headers_of(record: ConsumerRecord) -> dict[str, bytes]:
    return dict(record.headers or [])
