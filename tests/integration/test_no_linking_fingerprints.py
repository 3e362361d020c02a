"""Nothing on vigil.reports.v1 links a report to a person (#15): no keyed hash of the contact, the address or
the words travels, a home's place does not either, and erasure drops intake's match rows and burst token.
Intake on real HTTP, PostgreSQL and Kafka."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.intake import tables
from services.intake.main import Intake, build, create_app
from services.intake.settings import IntakeSettings
from shared.clock import MovableClock
from shared.crypto import Fingerprinter
from shared.events.base import decode
from shared.events.reports import ErasureBasis, ReportSubmitted
from shared.migrate import upgrade
from shared.settings import VigilSettings
from shared.topics import REPORTS
from tests.factories import report_body
from tests.support.asgi import serving
from tests.support.kafka_reader import headers_of, read_topic
from tests.support.waiting import eventually

EMAIL, PHONE = "amina.k@example.org", "07700 900123"
WORDS = "They shouted at me again outside the pharmacy on Brick Lane, the same two men as last week."
HOME = {"area": "E23000001", "postcode": "E1 6AN", "place_type": "home", "place_name": "Flat 3, Kestrel House"}
MOSQUE = {"area": "E23000001", "postcode": "E1 6AN", "place_type": "place_of_worship",
          "place_name": "East London Mosque"}


@pytest.fixture(scope="module")
def vigil_settings(kafka_bootstrap: str) -> VigilSettings:
    return VigilSettings(environment="test", kafka_bootstrap=kafka_bootstrap,
                         topic_prefix=f"t{uuid.uuid4().hex[:8]}.", topic_partitions=3)


@pytest.fixture(scope="module")
def intake(vigil_settings: VigilSettings, postgres_admin_url: str) -> Intake:
    from tests.support.infra import create_database

    url = create_database(postgres_admin_url, "intakenolink")
    upgrade("intake", url)
    return build(vigil_settings, IntakeSettings(database_url=url, rate_limit_enabled=False,
                                                retention_enabled=False), MovableClock(datetime.now(UTC)))


@pytest.fixture(scope="module")
def api(intake: Intake) -> Iterator[httpx.Client]:
    with serving(create_app(intake, with_worker=True), lifespan="on", name="intake") as base, \
            httpx.Client(base_url=base, timeout=10) as client:
        yield client


def submit(api: httpx.Client, intake: Intake, location: dict[str, Any]) -> str:
    body = report_body(reporter={"role": "victim", "anonymous": False, "name": "Amina K", "email": EMAIL,
                                 "phone": PHONE}, consent__contact=True, incident__description=WORDS,
                       incident__location=location)
    answer = api.post("/v1/reports", json=body)
    assert answer.status_code == 202, answer.text
    reports = tables.reports
    with intake.db.sessions() as s:
        report_id: str = s.execute(select(reports.c.report_id).where(
            reports.c.reference == answer.json()["reference"])).scalar_one()
    return report_id


def submitted(intake: Intake, report_ids: list[str]) -> dict[str, tuple[bytes, ReportSubmitted]]:
    """The raw record and the event of each report, once all are on the topic."""
    topic = intake.kafka.names(REPORTS)

    def found() -> dict[str, tuple[bytes, ReportSubmitted]] | None:
        records = read_topic(intake.vigil.kafka_bootstrap, topic, expect=len(report_ids), timeout=20, until=0.5)
        events = {}
        for r in records:
            event = decode(headers_of(r)["ce_type"].decode(), json.loads(r.value))
            if isinstance(event, ReportSubmitted) and event.report_id in report_ids:
                events[event.report_id] = (r.value, event)
        return events if len(events) == len(report_ids) else None

    return eventually(found, 45, "both reports on the topic")


def linking_hashes(vigil: VigilSettings) -> dict[str, str]:
    """Every keyed hash intake used to publish of this person, under the shared fingerprint key."""
    fp = Fingerprinter(vigil.fingerprint_key.get_secret_value())
    hashes = {"contact": fp.contact(EMAIL, PHONE), "phone": fp.contact(None, PHONE), "source": fp.source(
        "address:127.0.0.1"), "content": fp.content(WORDS), "district": fp.district("E1"),
        "home": fp.place("E23000001", HOME["place_name"])}
    return {name: value for name, value in hashes.items() if value}


def test_no_keyed_hash_of_a_person_travels_and_erasure_drops_intakes_matches(
        api: httpx.Client, intake: Intake) -> None:
    first, second = submit(api, intake, HOME), submit(api, intake, MOSQUE)
    events = submitted(intake, [first, second])
    for name, value in linking_hashes(intake.vigil).items():
        for report_id, (raw, _) in events.items():
            assert value.encode() not in raw, f"the {name} hash travels on {report_id}"

    at_home, at_mosque = events[first][1], events[second][1]
    assert at_home.fingerprints.place is None and at_home.postcode_district is None, "a home's place stays home"
    assert at_mosque.fingerprints.place is not None and at_mosque.postcode_district == "E1"
    assert at_mosque.earlier_reports_same_contact == [first] and at_mosque.near_duplicate_of == [first]
    assert at_home.source_burst is not None and at_mosque.source_burst == at_home.source_burst

    intake.protection.erase_report(first, "dana", "Article 17 request", basis=ErasureBasis.request)
    with intake.db.sessions() as s:
        matches = s.execute(select(tables.report_matches.c.report_id)).scalars().all()
        bursts = s.execute(select(tables.source_bursts.c.token)).scalars().all()
    assert first not in matches and second in matches, "the erased report's match row is deleted"
    assert at_home.source_burst not in bursts, "its burst's token no longer names the source"
