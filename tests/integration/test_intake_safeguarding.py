"""The reporter told of a safeguarding override, over real HTTP, PostgreSQL and Kafka.

A report kept from the police (`share_with_police: false`) whose threat to life triage shared with the police
all the same (`vigil.incident.triaged.v1` with `safeguarding_override`, as test_triage_privacy.py proves triage
decides): intake's status follower records it, and the reporter's status and follow-up page say so, naming the
force and where to reach it. A report triage kept for the centre says nothing of the kind.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.intake import tables
from services.intake.main import Intake, build, create_app
from services.intake.settings import IntakeSettings
from shared.clock import MovableClock
from shared.events.base import Envelope
from shared.events.incidents import IncidentTriaged, MatchedRule
from shared.kafka import encode, make_producer
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.factories import report_body
from tests.support.asgi import serving
from tests.support.waiting import eventually

MET = "E23000001"


@pytest.fixture(scope="module")
def vigil_settings(kafka_bootstrap: str) -> VigilSettings:
    return VigilSettings(environment="test", kafka_bootstrap=kafka_bootstrap,
                         topic_prefix=f"t{uuid.uuid4().hex[:8]}.", topic_partitions=3)


@pytest.fixture(scope="module")
def intake(vigil_settings: VigilSettings, postgres_admin_url: str) -> Intake:
    from tests.support.infra import create_database

    url = create_database(postgres_admin_url, "intakesafe")
    upgrade("intake", url)
    settings = IntakeSettings(database_url=url, rate_limit_enabled=False, retention_enabled=False)
    return build(vigil_settings, settings, MovableClock(datetime.now(UTC)))


@pytest.fixture(scope="module")
def api(intake: Intake) -> Iterator[httpx.Client]:
    """With the worker: the status follower reads vigil.incidents.v1."""
    with serving(create_app(intake, with_worker=True), lifespan="on", name="intake") as base, \
            httpx.Client(base_url=base, timeout=10) as client:
        yield client


def submit(api: httpx.Client) -> dict[str, Any]:
    body = report_body()
    body["consent"]["share_with_police"] = False
    answer = api.post("/v1/reports", json=body)
    assert answer.status_code == 202, answer.text
    result: dict[str, Any] = answer.json()
    return result


def report_id_of(intake: Intake, reference: str) -> str:
    with intake.db.sessions() as s:
        return str(s.execute(select(tables.reports.c.report_id).where(tables.reports.c.reference == reference))
                   .scalar_one())


def triaged(report_id: str, reference: str, override: str | None) -> IncidentTriaged:
    matched = [MatchedRule(code="threat_to_life", explanation="a threat to kill")] if override else []
    return IncidentTriaged(incident_id=report_id, report_id=report_id, reference=reference, area=MET,
                           triaged_at=datetime.now(UTC), matched=matched, critical=bool(override),
                           needs_duty_inspector=bool(override), priority="P1" if override else "P4", ack_deadline=None,
                           ruleset_version="test", held_for_centre=not override, safeguarding_override=override)


def publish(vigil: VigilSettings, event: IncidentTriaged) -> None:
    env = Envelope(id=str(uuid.uuid4()), type=event.TYPE, source="/vigil/triage", subject=event.report_id,
                   time=datetime.now(UTC), sequence=1, key=event.report_id, topic=event.TOPIC,
                   data=event.model_dump(mode="json"))
    producer = make_producer(vigil.kafka_bootstrap, "test")
    try:
        producer.send(**encode(env, vigil.topic_prefix + event.TOPIC)).get(timeout=30)
    finally:
        producer.close()


def status(api: httpx.Client, receipt: dict[str, Any]) -> dict[str, Any]:
    answer = api.get(f"/v1/reports/{receipt['reference']}",
                     headers={"Authorization": f"Bearer {receipt['follow_up_token']}"})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def follow_up_page(api: httpx.Client, receipt: dict[str, Any], lang: str) -> str:
    start = api.get(f"/{lang}/follow-up")
    csrf = re.search(r'name="csrf" value="([^"]+)"', start.text)
    assert csrf, start.text
    page = api.post(f"/{lang}/follow-up", data={"csrf": csrf.group(1), "reference": receipt["reference"],
                                                "token": receipt["follow_up_token"]})
    assert page.status_code == 200, page.text
    return page.text


def test_a_report_shared_to_protect_a_life_tells_its_reporter_which_force_has_it_and_how_to_reach_them(
        api: httpx.Client, intake: Intake, vigil_settings: VigilSettings) -> None:
    shared, held = submit(api), submit(api)
    publish(vigil_settings, triaged(report_id_of(intake, shared["reference"]), shared["reference"], "threat_to_life"))
    publish(vigil_settings, triaged(report_id_of(intake, held["reference"]), held["reference"], None))
    told = eventually(lambda: status(api, shared)["shared_with_police"], 60, "the override reaching intake")
    assert told == {"reason": "risk_to_life", "rule": "threat_to_life", "police_force": "Metropolitan Police",
                    "contact": "101", "emergency": "999"}
    eventually(lambda: status(api, held)["status"] == "triaged", 60, "the held decision reaching intake")
    assert status(api, held)["shared_with_police"] is None

    english = follow_up_page(api, shared, "en")
    assert 'id="shared-with-police"' in english and "to protect someone&#39;s life" in english
    assert '<strong id="police-force">Metropolitan Police</strong>' in english
    assert '<bdi dir="ltr">101</bdi>' in english and '<bdi dir="ltr">999</bdi>' in english
    for lang, heading in (("ar", "لحماية حياة شخص ما"), ("tr", "birinin hayatını korumak için"),
                          ("ur", "کسی کی جان بچانے کے لیے")):
        page = follow_up_page(api, shared, lang)
        assert heading in page and '<strong id="police-force">Metropolitan Police</strong>' in page, lang
    assert 'id="shared-with-police"' not in follow_up_page(api, held, "en")


def test_the_confirmation_of_a_report_kept_from_the_police_names_the_one_exception_and_the_force(
        api: httpx.Client) -> None:
    start = api.get("/en/")
    csrf = re.search(r'name="csrf" value="([^"]+)"', start.text)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', start.text)
    assert csrf and key, start.text
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%d/%m/%Y")
    form = {"csrf": csrf.group(1), "idempotency_key": key.group(1), "role": "victim", "anonymous": "on",
            "occurred_date": yesterday, "occurred_time": "09:00", "types": "threat",
            "strands": "race", "area": MET, "place_type": "street", "injuries": "none",
            "description": "They said they would come back and kill me."}  # no consent_share_with_police: kept
    posted = api.post("/en/", data=form)
    assert posted.status_code == 200 and 'id="confirmation"' in posted.text, posted.text
    assert 'id="kept-from-police"' in posted.text and "with one exception" in posted.text
    assert '<strong id="police-force">Metropolitan Police</strong>' in posted.text
    form["idempotency_key"] = str(uuid.uuid4())
    shared = api.post("/en/", data={**form, "consent_share_with_police": "on"})
    assert 'id="confirmation"' in shared.text and 'id="kept-from-police"' not in shared.text
