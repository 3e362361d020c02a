"""The staff pages parse their forms into the API's body models and say what is wrong in plain English;
the timeline and assessment's proposals are read from typed events. On an SQLite file, without Kafka."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from services.triage import tables, ui_views
from services.triage.access import Staff
from services.triage.main import Triage, build, create_app
from services.triage.rules import default_ruleset
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
    # no intake here to seal staff text with a report's key: the sealed path is test_staff_text_sealed.py's
    triage = build(VigilSettings(), TriageSettings(database_url=url, seal_staff_text=False), MovableClock(START))
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


def test_a_page_form_is_parsed_into_the_api_body_and_its_time_read_as_uk_time(pages: TestClient) -> None:
    csrf = sign_in(pages, "dora")
    past = pages.post("/incidents/r-1/request-cia", data={"csrf_token": csrf, "due_at": "2026-11-21T08:00"})
    typo = pages.post("/incidents/r-1/close", data={"csrf_token": csrf, "outcome": "solved"})
    done = pages.post("/incidents/r-1/request-cia", data={"csrf_token": csrf, "version": "",
                                                          "due_at": "2026-11-22T09:30"})
    assert past.status_code == 422 and "The due time must be in the future." in past.text
    assert typo.status_code == 422 and "&#39;solved&#39; is not a valid Outcome." in typo.text
    assert done.status_code == 303 and done.headers["location"] == "/incidents/r-1?done=cia-requested"
    incident = pages.get("/v1/incidents/r-1").json()
    assert incident["cia_due_at"].startswith("2026-11-22T09:30:00")  # GMT in November: UK time is UTC


def test_a_time_typed_in_british_summer_time_is_stored_an_hour_earlier_in_utc(pages: TestClient) -> None:
    csrf = sign_in(pages, "dora")
    done = pages.post("/incidents/r-1/request-cia", data={"csrf_token": csrf, "due_at": "2027-07-01T10:00"})
    nonsense = pages.post("/incidents/r-1/request-cia", data={"csrf_token": csrf, "due_at": "next tuesday"})
    assert done.status_code == 303
    assert pages.get("/v1/incidents/r-1").json()["cia_due_at"].startswith("2027-07-01T09:00:00")
    assert nonsense.status_code == 422 and "Enter the due time as a date and time." in nonsense.text
    shown = pages.get("/incidents/r-1")
    assert "Requested, due 10:00 BST, Thu 1 Jul 2027" in shown.text


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
    assert timeline[0]["detail"] == f"P1, needs the Duty Inspector; ruleset {default_ruleset().version}"
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


# --- the pages themselves -------------------------------------------------------------------------

class FakeIntake:
    """Intake's personal-data API as a dictionary, counting how often it is asked."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data, self.asked = data, 0
        self.asked_for: set[tuple[str, str | None]] = set()  # (purpose, on behalf of whom)

    def get(self, report_id: str, purpose: str, on_behalf_of: str | None = None) -> dict[str, Any]:
        self.asked += 1
        self.asked_for.add((purpose, on_behalf_of))
        return self.data


def views_recorded(triage: Triage) -> int:
    with triage.db.sessions() as s:
        return int(s.execute(select(func.count()).select_from(tables.personal_data_views)).scalar_one())


def test_a_banner_says_only_what_a_known_code_means_never_text_from_the_url(pages: TestClient) -> None:
    sign_in(pages, "dora")
    injected = pages.get("/incidents/r-1", params={"msg": "<script>alert(1)</script>Call 0800 FAKE",
                                                   "done": "<script>alert(2)</script>"})
    known = pages.get("/incidents/r-1", params={"done": "acknowledged"})
    assert injected.status_code == 200
    assert "alert(" not in injected.text and "0800 FAKE" not in injected.text
    assert "moj-alert--success" not in injected.text
    assert "moj-alert--success" in known.text and "Acknowledged." in known.text


def test_closing_asks_for_an_outcome_with_none_chosen_then_for_confirmation(pages: TestClient) -> None:
    csrf = sign_in(pages, "dora")
    form = pages.get("/incidents/r-1/close")
    assert form.status_code == 200 and 'name="outcome"' in form.text and " checked" not in form.text
    blank = pages.post("/incidents/r-1/close", data={"csrf_token": csrf, "version": "1"})
    asked = pages.post("/incidents/r-1/close", data={"csrf_token": csrf, "version": "1", "outcome": "duplicate"})
    assert blank.status_code == 422 and "Choose an outcome." in blank.text
    assert asked.status_code == 200 and "Are you sure you want to close incident" in asked.text
    assert "Duplicate of another report" in asked.text and 'name="confirm" value="yes"' in asked.text
    assert pages.get("/v1/incidents/r-1").json()["state"] == "open"
    closed = pages.post("/incidents/r-1/close", data={"csrf_token": csrf, "version": "1", "outcome": "duplicate",
                                                      "confirm": "yes"})
    assert closed.status_code == 303 and closed.headers["location"] == "/incidents/r-1?done=closed"
    assert pages.get("/v1/incidents/r-1").json()["state"] == "closed"
    assert "Nothing in the queue." in pages.get("/queue").text
    assert 'id="incident-r-1"' in pages.get("/incidents").text  # every incident, closed ones too


def test_personal_details_are_post_then_redirect_and_a_refresh_records_no_second_view(
        pages: TestClient, triage: Triage) -> None:
    intake = FakeIntake({"name": "Amira", "description": "They shouted at us.\nThen they threw a stone.",
                         "updates": [{"at": "2026-11-21T10:15:00+00:00",
                                      "information": "I have a photo.\nOf the car."}]})
    triage.workflow.intake = intake  # type: ignore[assignment]
    csrf = sign_in(pages, "dora")
    before = pages.get("/incidents/r-1/personal")
    assert "Show the reporter&#39;s personal details" in before.text and "Amira" not in before.text
    posted = pages.post("/incidents/r-1/personal", data={"csrf_token": csrf})
    assert posted.status_code == 303 and posted.headers["location"] == "/incidents/r-1/personal"
    first, refreshed = pages.get("/incidents/r-1/personal"), pages.get("/incidents/r-1/personal")
    assert views_recorded(triage) == 1
    assert intake.asked_for == {("staff_view", "dora")}, "intake is told why, and for whom"
    for shown in (first, refreshed):
        assert "Amira" in shown.text
        assert 'vigil-as-written">They shouted at us.\nThen they threw a stone.</dd>' in shown.text
        assert "I have a photo.\nOf the car." in shown.text and "10:15 GMT, Sat 21 Nov 2026" in shown.text
        assert "{&#39;at&#39;" not in shown.text and "[{" not in shown.text


def test_a_session_that_ended_mid_action_signs_in_and_comes_back_to_the_page(pages: TestClient) -> None:
    pages.cookies.clear()
    posted = pages.post("/incidents/r-1/close", data={"csrf_token": "old", "outcome": "duplicate"})
    assert posted.status_code == 303 and posted.headers["location"] == "/login?next=%2Fincidents%2Fr-1%2Fclose"
    signed = pages.post("/login", data={"username": "dora", "password": PASSWORD, "next": "/incidents/r-1/close"})
    assert signed.headers["location"] == "/incidents/r-1/close"
    back = pages.get(signed.headers["location"])
    assert back.status_code == 200 and "Close the incident" in back.text


@pytest.mark.parametrize("target", ["//evil.example/queue", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)", "queue", "/incidents\r\nSet-Cookie: x=1"])
def test_sign_in_sends_nobody_to_another_site(pages: TestClient, target: str) -> None:
    signed = pages.post("/login", data={"username": "dora", "password": PASSWORD, "next": target})
    assert signed.status_code == 303 and signed.headers["location"] == "/queue"


def test_the_queue_counts_searches_filters_and_pages_with_the_filters_in_its_links(
        pages: TestClient, triage: Triage) -> None:
    for n in range(2, 31):
        arrives(triage, f"r-{n}")
    sign_in(pages, "olly")
    first = pages.get("/queue")
    assert first.status_code == 200
    assert 'id="count-open"' in first.text and '<span class="vigil-counts__number">30</span>' in first.text
    assert first.text.count('class="govuk-table__row vigil-queue__row') == 25
    assert "Showing 1 to 25 of 30 incidents" in first.text and 'href="/queue?page=2"' in first.text
    asked = pages.get("/queue", params={"q": " vgl-r-2 ", "priority": "P1", "status": "", "area": ""})
    assert asked.status_code == 303 and asked.headers["location"] == "/queue?q=vgl-r-2&priority=P1"
    found = pages.get(asked.headers["location"])
    assert "Showing 1 to 11 of 11 incidents" in found.text  # VGL-r-2 and VGL-r-20 to VGL-r-29
    assert 'value="vgl-r-2"' in found.text and 'value="P1" selected' in found.text
    page_two = pages.get("/queue", params={"priority": "P1", "page": "2", "sort": "received", "order": "desc"},
                         follow_redirects=True)
    assert page_two.text.count('class="govuk-table__row vigil-queue__row') == 5
    assert 'href="/queue?priority=P1&amp;sort=received&amp;order=desc"' in page_two.text


def test_the_queue_updates_are_parts_for_htmx_and_a_lapsed_session_sends_htmx_to_sign_in(
        pages: TestClient) -> None:
    sign_in(pages, "olly")
    parts = pages.get("/queue/rows", params={"priority": "P1"}, headers={"HX-Request": "true"})
    assert parts.status_code == 200
    assert [t in parts.text for t in ('hx-target="#queue-counts"', 'hx-target="#queue-rows"')] == [True, True]
    assert 'id="incident-r-1"' in parts.text
    pages.cookies.clear()
    lapsed = pages.get("/queue/rows", headers={"HX-Request": "true", "Accept": "text/html",
                                               "HX-Current-URL": "http://testserver/queue?priority=P1"})
    assert lapsed.status_code == 401 and "/login?next=" in lapsed.headers["HX-Redirect"]
    assert lapsed.headers["HX-Redirect"].endswith("%2Fqueue%3Fpriority%3DP1")


def test_the_timeline_shows_what_people_wrote_with_its_line_breaks(pages: TestClient) -> None:
    csrf = sign_in(pages, "dora")
    pages.post("/incidents/r-1/override", data={"csrf_token": csrf, "priority": "P2", "needs_duty_inspector": "no",
                                                "reason": "Seen on CCTV: a prank."})
    pages.post("/incidents/r-1/record-cia", data={"csrf_token": csrf, "community_tension": "moderate",
                                                  "risk_of_disorder": "low", "communities": "Muslim community",
                                                  "notes": "Leaders spoken to.\nVigil planned on Friday.",
                                                  "actions": "PC Shah: visit the mosque"})
    shown = pages.get("/incidents/r-1")
    assert "Seen on CCTV: a prank." in shown.text and "Priority P1 to P2" in shown.text
    assert 'vigil-as-written">Leaders spoken to.\nVigil planned on Friday.</dd>' in shown.text
    assert "PC Shah: visit the mosque" in shown.text and "Moderate" in shown.text
    assert "09:00 GMT, Sat 21 Nov 2026" in shown.text and "UTC" not in shown.text


def test_each_role_is_offered_its_own_next_step_first(pages: TestClient) -> None:
    sign_in(pages, "dora")
    inspector = pages.get("/incidents/r-1").text
    sign_in(pages, "olly")
    officer = pages.get("/incidents/r-1").text
    assert re.search(r'vigil-primary-action">\s*<form method="post" action="/incidents/r-1/acknowledge"', inspector)
    assert re.search(r'vigil-primary-action">\s*<a href="/incidents/r-1/assign" role="button"', officer)
    assert 'action="/incidents/r-1/acknowledge"' not in officer  # a triage officer cannot acknowledge a critical one


# --- how the pages say things -----------------------------------------------------------------------

def staff_with(*roles: str) -> Staff:
    return Staff("u-1", "someone", "Some One", frozenset(roles))


def incident(**changes: Any) -> dict[str, Any]:
    return {"state": "open", "needs_duty_inspector": True, "duty_inspector": None, "cia": "none"} | changes


@pytest.mark.parametrize(("roles", "found", "expected"), [
    (("duty_inspector",), incident(), "acknowledge"),
    (("triage_officer",), incident(), "assign"),
    (("triage_officer",), incident(duty_inspector="Dora Inspector"), None),
    (("triage_officer",), incident(needs_duty_inspector=False), "acknowledge"),
    (("supervisor",), incident(state="acknowledged", cia="requested"), "record-cia"),
    (("supervisor",), incident(state="acknowledged"), "close"),
    (("analyst",), incident(), None),
    (("supervisor",), incident(state="closed"), None),
])
def test_each_role_has_one_primary_step_for_the_incident_as_it_stands(
        roles: tuple[str, ...], found: dict[str, Any], expected: str | None) -> None:
    step = ui_views.primary_step(staff_with(*roles), found)
    assert (step.action if step else None) == expected
    assert all(s is not step for s in ui_views.other_steps(staff_with(*roles), found, step))


def test_what_intake_gives_is_shown_as_text_never_as_a_python_structure() -> None:
    shown = ui_views.personal_details({"description": "a\nb", "vehicle": {"colour": "red", "plate": "AB12 CDE"},
                                       "updates": [{"at": "2026-11-21T10:15:00+00:00", "information": ["x", "y"]}]})
    assert [(r["label"], r["value"], r["as_written"]) for r in shown.rows] == [
        ("What happened, in their words", "a\nb", True), ("Vehicle", "Colour: red\nPlate: AB12 CDE", True)]
    assert shown.updates == [{"at": "2026-11-21T10:15:00+00:00", "information": "x\ny"}]


@pytest.mark.parametrize(("waited", "said"), [(timedelta(seconds=20), "just now"),
                                              (timedelta(minutes=12), "12 min ago"),
                                              (timedelta(hours=2, minutes=5), "2 h 5 min ago"),
                                              (timedelta(days=3, hours=1), "3 days ago")])
def test_a_reports_age_is_said_at_a_glance(waited: timedelta, said: str) -> None:
    assert ui_views.ago(START - waited, START) == said


def test_pages_show_the_first_the_last_and_those_around_with_gaps_between() -> None:
    shown = ui_views.pagination(7, 20, lambda n: f"?page={n}")
    assert [i.get("number", "…") for i in shown["items"]] == [1, "…", 5, 6, 7, 8, 9, "…", 20]
    assert shown["previous"] == {"href": "?page=6"} and shown["next"] == {"href": "?page=8"}
