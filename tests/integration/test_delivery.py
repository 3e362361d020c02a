"""Nothing lost, nothing done twice: broker outages, redelivery and poison events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from kafka import KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord

from infra.kafka.local import LocalKafka
from shared.events.base import Envelope
from shared.events.reports import ReportSubmitted
from shared.ids import new_id
from shared.kafka import encode
from shared.settings import VigilSettings
from tests.factories import report_body
from tests.integration.stack import running, stack_env
from tests.support.kafka_reader import headers_of, read_topic
from tests.support.waiting import eventually


def test_reports_accepted_while_kafka_is_down_arrive_exactly_once_when_it_returns(
        tmp_path: Path, new_database: Callable[[str], str], logdir: Path) -> None:
    broker = LocalKafka(tmp_path / "own-broker").start()
    try:
        settings = VigilSettings(environment="test", kafka_bootstrap=broker.bootstrap, topic_prefix="outage.",
                                 topic_partitions=3)
        env = stack_env(settings, new_database)
        topic = "outage.vigil.reports.v1"
        with running(env, logdir, ("intake",)) as svc:
            first = httpx.post(f"{svc['intake'].url}/v1/reports", json=report_body(), timeout=10)
            assert first.status_code == 202
            read_topic(broker.bootstrap, topic, expect=1)

            broker.stop()
            during = [httpx.post(f"{svc['intake'].url}/v1/reports", json=report_body(), timeout=10)
                      for _ in range(20)]
            assert [r.status_code for r in during] == [202] * 20, "intake refused reports while Kafka was down"

            broker.start()
            records = read_topic(broker.bootstrap, topic, expect=21, timeout=120, until=3)
        references = [json.loads(r.value)["reference"] for r in records]
        expected = {first.json()["reference"]} | {r.json()["reference"] for r in during}
        assert sorted(references) == sorted(expected), "a report was lost or published twice"
    finally:
        broker.stop()


def of_type(records: list[ConsumerRecord], ce_type: str) -> list[ConsumerRecord]:
    return [r for r in records if headers_of(r)["ce_type"] == ce_type.encode()]


def _submitted_envelope() -> Envelope:
    event = ReportSubmitted.model_validate({
        "report_id": new_id(), "reference": "ACDEFGHJKM", "submitted_at": "2026-11-20T10:00:00Z",
        "channel": "api", "reporter": {"role": "victim", "anonymous": True},
        "consent": {}, "grading": {"source": "2", "intelligence": "A", "handling": "C"}, "fingerprints": {},
        "incident": {"occurred_at": "2026-11-20T09:00:00Z", "types": ["arson"], "targeted_characteristics": ["race"],
                     "location": {"area": "E23000008", "place_type": "home"}},
    })
    return Envelope(id=new_id(), type=event.TYPE, source="/vigil/intake", subject=event.report_id,
                    time=event.submitted_at, sequence=1, key=event.report_id, topic=event.TOPIC,
                    data=event.model_dump(mode="json"))


def test_an_event_delivered_three_times_is_triaged_once(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    env = stack_env(vigil_settings, new_database)
    reports = f"{vigil_settings.topic_prefix}vigil.reports.v1"
    incidents = f"{vigil_settings.topic_prefix}vigil.incidents.v1"
    envelope = _submitted_envelope()
    with running(env, logdir, ("triage",)):
        producer = KafkaProducer(bootstrap_servers=vigil_settings.kafka_bootstrap)
        for _ in range(3):
            producer.send(**encode(envelope, reports)).get(timeout=30)
        producer.close()
        records = read_topic(vigil_settings.kafka_bootstrap, incidents, expect=1, timeout=60, until=3)
    decisions = of_type(records, "vigil.incident.triaged.v1")
    assert len(decisions) == 1
    assert json.loads(decisions[0].value)["incident_id"] == envelope.data["report_id"]
    assert json.loads(decisions[0].value)["priority"] == "P1"


def test_poison_events_go_to_the_dead_letter_topic_and_the_consumer_moves_on(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    env = stack_env(vigil_settings, new_database)
    prefix = vigil_settings.topic_prefix
    good = _submitted_envelope()
    unknown = good.model_copy(update={"id": new_id(), "type": "vigil.report.teleported.v1"})
    with running(env, logdir, ("triage",)):
        producer = KafkaProducer(bootstrap_servers=vigil_settings.kafka_bootstrap)
        key = good.key.encode()
        producer.send(f"{prefix}vigil.reports.v1", key=key, value=b"not a cloudevent").get(timeout=30)
        producer.send(**encode(unknown, f"{prefix}vigil.reports.v1")).get(timeout=30)
        producer.send(**encode(good, f"{prefix}vigil.reports.v1")).get(timeout=30)
        producer.close()
        dead = read_topic(vigil_settings.kafka_bootstrap, f"{prefix}vigil.reports.v1.dlq", expect=2, timeout=60)
        [decision] = eventually(lambda: of_type(read_topic(
            vigil_settings.kafka_bootstrap, f"{prefix}vigil.incidents.v1", expect=1), "vigil.incident.triaged.v1"),
            60, "the good event to be triaged")
    reasons = {headers_of(r)["vigil_dlq_reason"].decode().split(":")[0] for r in dead}
    assert any("ce_type" in headers_of(r)["vigil_dlq_reason"].decode() for r in dead)
    assert "UnknownEventType" in reasons
    for record in dead:
        h = headers_of(record)
        assert h["vigil_dlq_source_topic"] == f"{prefix}vigil.reports.v1".encode()
        assert int(h["vigil_dlq_source_offset"]) >= 0
        assert h["vigil_dlq_consumer"] == b"triage-reports"
    assert json.loads(decision.value)["report_id"] == good.data["report_id"]
    assert uuid.UUID(json.loads(decision.value)["incident_id"])
