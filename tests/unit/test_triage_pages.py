"""The staff pages parse their forms into the API's body models and say what is wrong in plain English;
the timeline and assessment's proposals are read from typed events. On an SQLite file, without Kafka."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.triage.main import Triage, build, create_app
from services.triage.settings import TriageSettings
from services.triage.staff_store import accounts
from shared.clock import MovableClock
from shared.events.areas import AreaTensionEased, AreaTensionRaised, RiskLevel
from shared.events.base import Envelope, Event
from shared.events.reports import ReportSubmitted
from shared.migrate import upgrade
from shared.settings import VigilSettings

START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
PASSWORD = "a long enough password"


@pytest.fixture
def triage(tmp_path: Path) -> Triage:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    upgrade("triage", url)
    triage = build(VigilSettings(), TriageSettings(database_url=url), MovableClock(START))
    triage.auth.create_user("dora", "Dora Inspector", PASSWORD, ["duty_inspector"])
    triage.auth.create_user("olly", "Olly Officer", PASSWORD, ["triage_officer"])
    return triage


def envelope(event: Event, key: str) -> Envelope:
    return Envelope(id=str(uuid.uuid4()), type=event.TYPE, source="/t", subject=key, time=START, sequence=1, key=key,
                    topic=event.TOPIC, data=event.model_dump(mode="json"))


def arrives(triage: Triage, report_id: str) -> None:
    report = ReportSubmitted.model_validate({
        "report_id": report_id, "reference": f"VGL-{report_id}", "submitted_at": START, "channel": "web",
        "reporter": {"role": "victim", "anonymous": True}, "consent": {},
        "incident": {"occurred_at": START, "types": ["arson"], "targeted_characteristics": ["religion"],
                     "location": {"area": "E23000001", "place_type": "place_of_worship"}},
        "grading": {"source": "2", "intelligence": "A", "handling": "C"}, "fingerprints": {}})
    with triage.db.transaction() as s:
        triage.decisions.on_report_event(s, envelope(report, report_id))


@pytest.fixture
def pages(triage: Triage) -> Iterator[TestClient]:
    arrives(triage, "r-1")
    with TestClient(create_app(triage, with_worker=False), follow_redirects=False) as client:
        yield client


def sign_in(client: TestClient, username: str) -> str:
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/queue"})
    assert answer.status_code == 303, answer.text
    csrf: str = client.get("/v1/session").json()["csrf_token"]
    return csrf


def test_a_blank_reason_on_a_page_gets_the_sentence_the_use_case_gives(pages: TestClient) -> None:
    csrf = sign_in(pages, "dora")
    answer = pages.post("/incidents/r-1/override", data={"csrf_token": csrf, "version": "1", "priority": "P2",
                                                         "needs_duty_inspector": "no", "reason": ""})
    spaces = pages.post("/incidents/r-1/override", data={"csrf_token": csrf, "version": "1", "priority": "P2",
                                                         "needs_duty_inspector": "no", "reason": "   "})
    assert answer.status_code == spaces.status_code == 422
    assert "Give a reason for the override." in answer.text and "Give a reason for the override." in spaces.text


def test_a_page_form_is_parsed_into_the_api_body_and_its_time_read_as_utc(pages: TestClient) -> None:
    csrf = sign_in(pages, "dora")
    past = pages.post("/incidents/r-1/request-cia", data={"csrf_token": csrf, "due_at": "2026-11-21T08:00"})
    typo = pages.post("/incidents/r-1/close", data={"csrf_token": csrf, "outcome": "solved"})
    done = pages.post("/incidents/r-1/request-cia", data={"csrf_token": csrf, "version": "",
                                                          "due_at": "2026-11-22T09:30"})
    assert past.status_code == 422 and "The due time must be in the future." in past.text
    assert typo.status_code == 422 and "&#39;solved&#39; is not a valid Outcome." in typo.text
    assert done.status_code == 303 and done.headers["location"].startswith("/incidents/r-1?msg=")
    incident = pages.get("/v1/incidents/r-1").json()
    assert incident["cia_due_at"].startswith("2026-11-22T09:30:00")


def test_an_unknown_action_or_an_expired_form_is_refused_before_anything_runs(pages: TestClient) -> None:
    csrf = sign_in(pages, "dora")
    unknown = pages.post("/incidents/r-1/delete", data={"csrf_token": csrf})
    expired = pages.post("/incidents/r-1/acknowledge", data={"csrf_token": "old", "version": "1"})
    assert unknown.status_code == 404 and "There is no such action." in unknown.text
    assert expired.status_code == 403 and "This form has expired." in expired.text
    assert pages.get("/v1/incidents/r-1").json()["state"] == "open"


def test_the_timeline_names_each_event_and_who_acted(pages: TestClient) -> None:
    csrf = sign_in(pages, "dora")
    assert pages.post("/incidents/r-1/acknowledge", data={"csrf_token": csrf, "version": "1"}).status_code == 303
    incident = pages.get("/v1/incidents/r-1").json()
    timeline = incident["timeline"]
    assert [(t["title"], t["by"]) for t in timeline] == [("Triaged", None), ("Acknowledged", "Dora Inspector")]
    assert timeline[0]["detail"] == "P1, needs the Duty Inspector; ruleset 2026.11.1"
    assert timeline[0]["matched"] == incident["matched"] and "arson" in [m["code"] for m in incident["matched"]]
    assert timeline[1]["matched"] is None


def test_assignment_takes_only_a_duty_inspector(pages: TestClient, triage: Triage) -> None:
    csrf = sign_in(pages, "dora")
    with triage.db.sessions() as s:
        ids = {a["username"]: a["user_id"] for a in accounts(s)}
    refused = pages.post("/incidents/r-1/assign", data={"csrf_token": csrf, "duty_inspector": ids["olly"]})
    assigned = pages.post("/incidents/r-1/assign", data={"csrf_token": csrf, "duty_inspector": ids["dora"]})
    assert refused.status_code == 422 and "Choose a member of staff with the duty inspector role." in refused.text
    assert assigned.status_code == 303
    assert pages.get("/v1/incidents/r-1").json()["duty_inspector"] == "Dora Inspector"


def test_assessment_raising_tension_makes_one_proposal_and_easing_withdraws_it(triage: Triage) -> None:
    raised = AreaTensionRaised(area="E23000036", level=RiskLevel.severe, reasons=["reports 4x the baseline"],
                               raised_at=START)
    record = envelope(raised, "E23000036")
    with triage.db.transaction() as s:
        triage.tension.on_area_event(s, record)
        triage.tension.on_area_event(s, record)
    with triage.db.sessions() as s:
        [proposal] = triage.tension.store.proposals(s)
    assert (proposal["area"], proposal["level"], proposal["reasons"]) == ("E23000036", "severe",
                                                                        ["reports 4x the baseline"])
    eased = AreaTensionEased(area="E23000036", level=RiskLevel.moderate, reasons=[],
                             eased_at=START + timedelta(hours=1))
    with triage.db.transaction() as s:
        triage.tension.on_area_event(s, envelope(eased, "E23000036"))
    with triage.db.sessions() as s:
        assert triage.tension.store.proposals(s) == []
        assert [p["proposal_id"] for p in triage.tension.store.proposals(s, "eased")] == [proposal["proposal_id"]]
