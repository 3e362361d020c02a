from __future__ import annotations

from datetime import UTC, datetime

import pytest
from kafka.consumer.fetcher import ConsumerRecord

from shared.events.base import Envelope
from shared.kafka import UndecodableRecord, decode, encode


def _record(sent: dict[str, object]) -> ConsumerRecord:
    return ConsumerRecord(topic=sent["topic"], partition=2, leader_epoch=0, offset=41, timestamp=0,
                          timestamp_type=0, key=sent["key"], value=sent["value"], headers=sent["headers"],
                          checksum=None, serialized_key_size=0, serialized_value_size=0, serialized_header_size=0)


def test_an_envelope_survives_the_cloudevents_binary_round_trip() -> None:
    env = Envelope(id="e-1", type="vigil.report.withdrawn.v1", source="/vigil/intake", subject="r-1",
                   time=datetime(2026, 11, 1, 12, 0, tzinfo=UTC), sequence=3, key="r-1",
                   topic="vigil.reports.v1", data={"report_id": "r-1", "withdrawn_at": "2026-11-01T12:00:00Z"},
                   traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    sent = encode(env, "x.vigil.reports.v1")
    headers = dict(sent["headers"])
    assert headers["ce_id"] == b"e-1" and headers["ce_specversion"] == b"1.0"
    assert headers["ce_sequence"] == b"3" and headers["content-type"] == b"application/json"
    assert headers["ce_time"] == b"2026-11-01T12:00:00Z"
    assert headers["traceparent"].startswith(b"00-0af7")
    back = decode(_record(sent), logical_topic="vigil.reports.v1")
    assert back.model_dump(exclude={"partition", "offset"}) == env.model_dump(exclude={"partition", "offset"})
    assert (back.partition, back.offset) == (2, 41)


def test_a_record_without_cloudevent_headers_is_undecodable() -> None:
    with pytest.raises(UndecodableRecord):
        decode(_record({"topic": "t", "key": b"k", "value": b"{}", "headers": []}))
