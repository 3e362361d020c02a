"""Triage's timers and proposals in one process on a real broker, with time moved by a MovableClock."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from services.triage.access import Staff
from services.triage.main import Triage, build
from services.triage.settings import TriageSettings
from shared.clock import MovableClock
from shared.events.areas import AreaTensionRaised
from shared.events.base import Envelope, Event
from shared.events.reports import ReportSubmitted
from shared.kafka import encode, make_producer
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.support.kafka_reader import headers_of, read_topic
from tests.support.waiting import eventually

START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
SUPERVISOR = Staff("u-sup", "sam", "Sam", frozenset({"supervisor"}))
INSPECTOR = Staff("u-di", "dora", "Dora", frozenset({"duty_inspector"}))


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@contextmanager
def triage_running(vigil: VigilSettings, url: str, clock: MovableClock) -> Iterator[Triage]:
    triage = build(vigil, TriageSettings(database_url=url, timer_interval_seconds=0.1), clock)
    runner = triage.runner().start()
    try:
        yield triage
    finally:
        runner.shutdown()
        triage.db.dispose()


def publish(vigil: VigilSettings, event: Event, key: str) -> None:
    env = Envelope(id=str(uuid.uuid4()), type=event.TYPE, source="/test", subject=key, time=START, sequence=1,
                   key=key, topic=event.TOPIC, data=event.model_dump(mode="json"))
    producer = make_producer(vigil.kafka_bootstrap, "test")
    try:
        producer.send(**encode(env, vigil.topic_prefix + event.TOPIC)).get(timeout=30)
    finally:
        producer.close()


def arson_report(report_id: str) -> ReportSubmitted:
    return ReportSubmitted.model_validate({
        "report_id": report_id, "reference": "VGL-TEST-0001", "submitted_at": START, "channel": "api",
        "reporter": {"role": "witness", "anonymous": True}, "consent": {},
        "incident": {"occurred_at": START, "types": ["arson"], "targeted_characteristics": ["religion"],
                     "location": {"area": "E23000001", "place_type": "place_of_worship"}},
        "grading": {"source": "2", "intelligence": "A", "handling": "C"}, "fingerprints": {}})


def incidents(vigil: VigilSettings, expect: int, kind: str, until: float | None = None) -> list[dict[str, Any]]:
    records = read_topic(vigil.kafka_bootstrap, f"{vigil.topic_prefix}vigil.incidents.v1", expect=1, until=until)
    found = [json.loads(r.value) for r in records if headers_of(r)["ce_type"].decode() == kind]
    return found if len(found) >= expect else []


def test_a_missed_acknowledgement_deadline_escalates_once_even_across_a_restart(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], clock: MovableClock) -> None:
    url = new_database("triage")
    upgrade("triage", url)
    with triage_running(vigil_settings, url, clock) as triage:
        publish(vigil_settings, arson_report("r-arson"), "r-arson")
        eventually(lambda: triage.workflow.get("r-arson"), 45, "the report to be triaged")
        assert triage.workflow.get("r-arson").ack_deadline == START + timedelta(minutes=15)
        clock.advance(timedelta(minutes=15))
        eventually(lambda: triage.workflow.get("r-arson").escalation_level == 1, 20, "the escalation")
    clock.advance(timedelta(minutes=30))
    with triage_running(vigil_settings, url, clock) as triage:
        triage.workflow.acknowledge("r-arson", INSPECTOR)
        [ack] = eventually(lambda: incidents(vigil_settings, 1, "vigil.incident.acknowledged.v1"), 30, "the ack")
    [escalated] = incidents(vigil_settings, 1, "vigil.incident.escalated.v1", until=1.5)
    assert escalated["incident_id"] == "r-arson" and escalated["level"] == 1 and escalated["priority"] == "P1"
    assert escalated["area"] == "E23000001" and escalated["reason"] == "acknowledgement deadline missed"
    assert escalated["escalated_at"].startswith("2026-11-21T09:15:00")
    assert ack["acknowledged_by"] == "u-di"


def test_assessment_proposes_tension_a_supervisor_confirms_and_it_ends_on_time(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], clock: MovableClock) -> None:
    url = new_database("triage")
    upgrade("triage", url)
    raised = AreaTensionRaised.model_validate({"area": "E23000036", "level": "severe",
                                               "reasons": ["reports 4x the area's baseline"], "raised_at": START})
    with triage_running(vigil_settings, url, clock) as triage:
        publish(vigil_settings, raised, "E23000036")
        [proposal] = eventually(lambda: proposals(triage), 45, "the proposal")
        assert proposal["area"] == "E23000036" and proposal["reasons"] == ["reports 4x the area's baseline"]
        declared = triage.tension.declare(SUPERVISOR, "E23000036", "Assessment: spike", START,
                                          START + timedelta(hours=6), proposal["proposal_id"])
        assert proposals(triage) == []
        clock.advance(timedelta(hours=6))
        eventually(lambda: lifted_at(triage, declared["tension_id"]), 20, "the scheduled end")
        eventually(lambda: incidents(vigil_settings, 1, "vigil.incident.heightened_tension_lifted.v1"), 30,
                   "the lifted event on Kafka")
    [event] = incidents(vigil_settings, 1, "vigil.incident.heightened_tension_declared.v1")
    assert event["proposal_id"] == proposal["proposal_id"] and event["ends_at"].startswith("2026-11-21T15:00")
    [lifted] = incidents(vigil_settings, 1, "vigil.incident.heightened_tension_lifted.v1")
    assert lifted["reason"] == "ended as scheduled" and lifted["area"] == "E23000036"
    [cia] = incidents(vigil_settings, 1, "vigil.incident.community_impact_assessment_requested.v1")
    assert cia["area"] == "E23000036" and cia["incident_id"] is None


def proposals(triage: Triage) -> list[dict[str, Any]]:
    with triage.db.sessions() as s:
        return triage.tension.store.proposals(s)


def lifted_at(triage: Triage, tension_id: str) -> datetime | None:
    with triage.db.sessions() as s:
        row = triage.tension.store.get(s, tension_id)
    return row["lifted_at"] if row else None


class Gone(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(410 if self.headers.get("Authorization") else 401)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


def test_an_erased_report_says_so_and_the_attempt_is_recorded(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], clock: MovableClock) -> None:
    url = new_database("triage")
    upgrade("triage", url)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gone)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = vigil_settings.model_copy(update={"intake_internal_url": f"http://127.0.0.1:{server.server_port}"})
    try:
        with triage_running(settings, url, clock) as triage:
            publish(vigil_settings, arson_report("r-erased"), "r-erased")
            incident = eventually(lambda: triage.workflow.get("r-erased"), 45, "the report to be triaged")
            outcome, data = triage.workflow.record_personal_view(incident.incident_id, SUPERVISOR)
            with triage.db.sessions() as s:
                from sqlalchemy import text

                views = s.execute(text("SELECT user_id, outcome FROM personal_data_views")).all()
    finally:
        server.shutdown()
    assert (outcome, data) == ("erased", {})
    assert views == [("u-sup", "erased")]


def test_the_report_memory_rebuilds_from_the_topic_to_the_same_rows(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], clock: MovableClock) -> None:
    from services.triage.cli import read_from_start

    url = new_database("triage")
    upgrade("triage", url)
    with triage_running(vigil_settings, url, clock) as triage:
        for n in range(3):
            publish(vigil_settings, arson_report(f"r-{n}"), f"r-{n}")
        eventually(lambda: all(remembered(triage, f"r-{n}") for n in range(3)), 45, "three reports remembered")
        before = memory_rows(triage)
        folded = triage.decisions.rebuild_memory(read_from_start(vigil_settings.kafka_bootstrap,
                                                                 f"{vigil_settings.topic_prefix}vigil.reports.v1"))
        after = memory_rows(triage)
    assert folded == 3 and len(before) == 3
    assert after == before


def remembered(triage: Triage, report_id: str) -> bool:
    with triage.db.sessions() as s:
        return triage.decisions.memory.recall(s, report_id) is not None


def memory_rows(triage: Triage) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from services.triage import tables

    with triage.db.sessions() as s:
        return [dict(r) for r in s.execute(select(tables.report_memory).order_by(
            tables.report_memory.c.report_id)).mappings()]
