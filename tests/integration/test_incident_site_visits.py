"""A visit at a place of worship shows as an action taken on the linked incident's community impact assessment,
end to end: a report reaches triage and assessment over a real Kafka; staff link it to a site at assessment
(PostgreSQL, its relay to Kafka) and an officer records a visit there, with notes; triage (PostgreSQL, consuming
`vigil.sites.v1`) shows on the incident's page who visited which site when, never the notes, and not a visit at
a site the report is not linked to. Dismissing the link takes the visit off again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from services.assessment.main import build as build_assessment
from services.assessment.main import create_app as assessment_app
from services.assessment.settings import AssessmentSettings
from services.triage.main import build as build_triage
from services.triage.main import create_app as triage_app
from services.triage.settings import TriageSettings
from shared.clock import MovableClock
from shared.events.reports import ReportSubmitted
from shared.migrate import upgrade
from shared.settings import VigilSettings
from shared.staffaccess import SESSION_COOKIE
from shared.topics import TopicNames, ensure_topics
from tests.integration.test_assessment_projection import Feed
from tests.integration.test_site_routines import THURSDAY
from tests.support.asgi import serving
from tests.support.waiting import eventually

PASSWORD = "a long enough password"
MET = "E23000001"
NOTES = "Spoke to the imam about the van seen on Tuesday night"
ACCOUNTS = {"adam": ("Adam Admin", ["admin", "supervisor"], []), "sam": ("Supt. Sam", ["supervisor"], [MET]),
            "olly": ("PC Olly Vance", ["neighbourhood_officer"], [MET])}
SECTION = "Actions taken: visits to linked places of worship"


def site(name: str) -> dict[str, Any]:
    return {"name": name, "faith": "muslim", "area": MET, "postcode_district": "N16", "capacity_band": "800+",
            "measures": ["cctv"], "services": [{"name": "Friday prayers", "day": "friday", "time": "13:15"}]}


@dataclass
class Stack:
    clock: MovableClock
    triage_url: str
    assessment_url: str

    def session(self, username: str) -> str:
        answer = httpx.post(f"{self.triage_url}/v1/session", json={"username": username, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return str(answer.cookies[SESSION_COOKIE])

    def assessment(self, username: str) -> httpx.Client:
        return httpx.Client(base_url=self.assessment_url, timeout=15,
                            headers={"Authorization": f"Bearer {self.session(username)}"})

    def incident_page(self, incident_id: str) -> str:
        with httpx.Client(base_url=self.triage_url, timeout=15, cookies={SESSION_COOKIE: self.session("sam")},
                          headers={"Accept": "text/html"}) as sam:
            page = sam.get(f"/incidents/{incident_id}")
        assert page.status_code == 200, page.text
        return page.text


@pytest.fixture
def stack(vigil_settings: VigilSettings, new_database: Callable[[str], str],
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    ensure_topics(vigil_settings.kafka_bootstrap, TopicNames(vigil_settings.topic_prefix),
                  vigil_settings.topic_partitions)
    clock = MovableClock(THURSDAY)
    urls = {"triage": new_database("triage"), "assessment": new_database("assessment")}
    for name, url in urls.items():
        upgrade(name, url)
    triage = build_triage(vigil_settings, TriageSettings(database_url=urls["triage"], seal_staff_text=False), clock)
    for username, (name, roles, areas) in ACCOUNTS.items():
        triage.auth.create_user(username, name, PASSWORD, roles, areas=areas)
    with ExitStack() as running:
        running.callback(triage.db.dispose)
        triage_url = running.enter_context(serving(triage_app(triage, with_worker=False), name="triage"))
        monkeypatch.setenv("VIGIL_STAFF_TRIAGE_URL", triage_url)
        vigil = vigil_settings.model_copy(update={"triage_internal_url": triage_url})
        assessment = build_assessment(vigil, AssessmentSettings(database_url=urls["assessment"],
                                                                reminder_interval_seconds=3600), clock)
        assessment_url = running.enter_context(serving(assessment_app(assessment, with_worker=False),
                                                       name="assessment"))
        for service in (triage, assessment):
            runner = service.runner().start()
            running.callback(service.db.dispose)
            running.callback(runner.shutdown)
        yield Stack(clock, triage_url, assessment_url)


def report(report_id: str, stack: Stack) -> ReportSubmitted:
    at = stack.clock.now()
    return ReportSubmitted.model_validate({
        "report_id": report_id, "reference": f"VGL-{report_id}", "submitted_at": at.isoformat(), "channel": "web",
        "reporter": {"role": "witness", "anonymous": True}, "consent": {},
        "incident": {"occurred_at": (at - timedelta(minutes=30)).isoformat(), "types": ["criminal_damage"],
                     "targeted_characteristics": ["religion"], "religion_targeted": "muslim",
                     "location": {"area": MET, "place_type": "place_of_worship"}},
        "grading": {"source": "2", "intelligence": "A", "handling": "P"}, "fingerprints": {}})


def visits_at_two_sites(stack: Stack, vigil: VigilSettings, incident_id: str = "r-visited") -> tuple[str, str]:
    """A report at triage and assessment; two sites, the first linked to it; after two hours, a visit at each,
    with notes. Answers the two sites' ids (also what tests/browser/test_incident_site_visits.py shows)."""
    feed = Feed(vigil)
    try:
        feed.send(report(incident_id, stack), incident_id, stack.clock.now())
        feed.flush()
    finally:
        feed.close()
    with stack.assessment("adam") as adam:
        mosque, church = (adam.post("/v1/sites", json=site(name)) for name in ("North Mosque", "Stoke Newington "
                                                                                             "Masjid"))
        assert mosque.status_code == 201 and church.status_code == 201, (mosque.text, church.text)
        mosque_id, church_id = mosque.json()["site_id"], church.json()["site_id"]

        def linked() -> bool:  # assessment knows the report once it has consumed it
            answer = adam.post(f"/v1/sites/{mosque_id}/links", json={"report_id": incident_id, "decision": "link"})
            return answer.status_code == 200
        eventually(linked, 90, "the report linked to the mosque at assessment")
        assert f"Incident VGL-{incident_id}" in eventually(lambda: _page_or_none(stack, incident_id), 90,
                                                           "the incident at triage")

    stack.clock.advance(timedelta(hours=2))  # sessions signed in before have gone idle: new ones from here
    with stack.assessment("olly") as olly:
        for site_id in (mosque_id, church_id):
            answer = olly.post(f"/v1/sites/{site_id}/visits", json={"notes": NOTES})
            assert answer.status_code == 201, answer.text
    return mosque_id, church_id


def test_a_visit_at_the_linked_site_shows_on_the_incidents_assessment_without_its_notes(
        stack: Stack, vigil_settings: VigilSettings) -> None:
    mosque_id, _ = visits_at_two_sites(stack, vigil_settings)

    def shown() -> str | None:
        page = stack.incident_page("r-visited")
        return page if "North Mosque" in page else None
    page = eventually(shown, 90, "the visit on the incident's page")
    assert SECTION in page and "PC Olly Vance visited North Mosque" in page
    assert "Stoke Newington Masjid" not in page, "a site the report is not linked to took no action on it"
    assert NOTES not in page and "imam" not in page

    with stack.assessment("adam") as adam:
        answer = adam.post(f"/v1/sites/{mosque_id}/links", json={"report_id": "r-visited", "decision": "dismiss"})
        assert answer.status_code == 200, answer.text
        eventually(lambda: SECTION not in stack.incident_page("r-visited"), 90, "the visit off the incident's page")


def _page_or_none(stack: Stack, incident_id: str) -> str | None:
    with httpx.Client(base_url=stack.triage_url, timeout=15, cookies={SESSION_COOKIE: stack.session("sam")}) as sam:
        page = sam.get(f"/incidents/{incident_id}")
    return page.text if page.status_code == 200 else None
