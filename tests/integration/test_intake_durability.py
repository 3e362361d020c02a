"""Intake as a real process: reports accepted while Kafka is unreachable reach it later through the
outbox, and the reporter's status follows triage's events on vigil.incidents.v1."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from kafka import KafkaProducer
from sqlalchemy import create_engine, text

from infra.procs import free_port
from shared.events.base import Envelope
from shared.ids import new_id
from shared.kafka import encode
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.factories import report_body
from tests.support.kafka_reader import read_topic
from tests.support.services import ServiceProcess
from tests.support.waiting import eventually


def intake_env(settings: VigilSettings, url: str, bootstrap: str) -> dict[str, str]:
    return {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": bootstrap,
            "VIGIL_TOPIC_PREFIX": settings.topic_prefix, "VIGIL_TOPIC_PARTITIONS": "3",
            "INTAKE_DATABASE_URL": url}


def test_reports_accepted_with_kafka_unreachable_survive_a_crash_and_reach_kafka_later(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    url = new_database("intake")
    upgrade("intake", url)
    dead = f"127.0.0.1:{free_port()}"
    intake = ServiceProcess("intake", intake_env(vigil_settings, url, dead), logdir).start()
    try:
        answers = [httpx.post(f"{intake.url}/v1/reports", json=report_body(), timeout=10) for _ in range(5)]
    finally:
        intake.kill()  # SIGKILL right after the answers: a 202 must already be committed
    assert {a.status_code for a in answers} == {202}
    references = {a.json()["reference"] for a in answers}

    intake = ServiceProcess("intake", intake_env(vigil_settings, url, vigil_settings.kafka_bootstrap), logdir).start()
    try:
        records = read_topic(vigil_settings.kafka_bootstrap, f"{vigil_settings.topic_prefix}vigil.reports.v1",
                             expect=5, timeout=60, until=1.0)
    finally:
        intake.stop()
    assert {json.loads(r.value)["reference"] for r in records} == references
    assert len(records) == 5, "the relay published something twice"


def incident_event(settings: VigilSettings, report_id: str, what: str, data: dict[str, Any] | None = None) -> \
        dict[str, Any]:
    env = Envelope(id=new_id(), type=f"vigil.incident.{what}.v1", source="/vigil/triage", subject=report_id,
                   time=datetime.now(UTC), sequence=1, key=report_id, topic="vigil.incidents.v1",
                   data=data if data is not None else {"report_id": report_id, "incident_id": report_id})
    return encode(env, f"{settings.topic_prefix}vigil.incidents.v1")


def processed(url: str) -> int:
    """Events the status consumer has committed (its inbox), so the test knows it has seen the late ones."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM inbox")).scalar_one())
    finally:
        engine.dispose()


def test_the_reporters_status_follows_triage_and_never_goes_back(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    url = new_database("intake")
    upgrade("intake", url)
    intake = ServiceProcess("intake", intake_env(vigil_settings, url, vigil_settings.kafka_bootstrap), logdir).start()
    producer = KafkaProducer(bootstrap_servers=vigil_settings.kafka_bootstrap)
    try:
        body = httpx.post(f"{intake.url}/v1/reports", json=report_body(), timeout=10).json()
        auth = {"Authorization": f"Bearer {body['follow_up_token']}"}
        [record] = read_topic(vigil_settings.kafka_bootstrap, f"{vigil_settings.topic_prefix}vigil.reports.v1",
                              expect=1)
        report_id = record.key.decode()

        def status_becomes(expected: str) -> Callable[[], bool]:
            return lambda: httpx.get(body["status_url"], headers=auth, timeout=5).json()["status"] == expected

        for what, expected in [("triaged", "triaged"), ("acknowledged", "with_the_police"),
                               ("closed", "closed")]:
            producer.send(**incident_event(vigil_settings, report_id, what)).get(timeout=10)
            producer.send(**incident_event(vigil_settings, "area-E23000001", "tension_heightened",
                                           {"area": "E23000001"})).get(timeout=10)
            eventually(status_becomes(expected), 30, f"status {expected}")
        producer.send(**incident_event(vigil_settings, report_id, "triaged")).get(timeout=10)
        producer.send(**incident_event(vigil_settings, report_id, "something_new")).get(timeout=10)
        marker = incident_event(vigil_settings, report_id, "reopened_later", {"report_id": "no-such-report"})
        producer.send(**marker).get(timeout=10)
        eventually(lambda: processed(url) == 9, 30, "the consumer to take all nine incident events")
        assert httpx.get(body["status_url"], headers=auth, timeout=5).json()["status"] == "closed"
    finally:
        producer.close()
        intake.stop()
