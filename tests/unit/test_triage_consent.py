"""The reporter's choices in triage: a report kept from the police is held for the reporting centre (a threat
to life excepted, as a recorded safeguarding override); erasure drops what triage derived; withdrawal closes.

The aggregate's tests need nothing; the rest run triage on an SQLite file, as test_triage_memory_and_auth.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from services.triage import tables
from services.triage.access import Staff
from services.triage.accounts import CommandLine, InvalidUser
from services.triage.incident import Incident, Level, Outcome, Report, State, UnknownIncident
from services.triage.main import Triage, build
from services.triage.queries import QueueFilter
from services.triage.rules import Decision
from services.triage.settings import TriageSettings
from shared.clock import MovableClock
from shared.events.base import Envelope, Event
from shared.events.incidents import IncidentClosed, IncidentTriaged, MatchedRule, Priority
from shared.events.reports import ReportErased, ReportSubmitted, ReportWithdrawn
from shared.events.staff import StaffAccountCreated
from shared.migrate import upgrade
from shared.settings import VigilSettings

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
MINUTES = {Priority.P1: 15, Priority.P2: 60}
HELD = Report("r-1", "VGL-ABCD-1234", "E23000001", share_with_police=False)
OFFICER = Staff("u-1", "olive", "Olive Officer", frozenset({"triage_officer"}))
INSPECTOR = Staff("u-2", "dora", "Dora Inspector", frozenset({"duty_inspector"}))
CASEWORKER = Staff("u-3", "cass", "Cass Caseworker", frozenset({"caseworker"}))
CANARY = "CANARY-7f3e-note"


def decision(priority: Priority, *codes: str) -> Decision:
    return Decision([MatchedRule(code=c, explanation=c) for c in codes], priority, "", True, "2026.11.1")


def only_event(i: Incident) -> IncidentTriaged:
    [event] = i.pending
    assert isinstance(event, IncidentTriaged)
    return event


# --- the decision ----------------------------------------------------------------------------------

def test_a_report_kept_from_the_police_is_held_and_pages_no_one_however_critical() -> None:
    event = only_event(Incident.open(HELD, decision(Priority.P2, "place_of_worship"), NOW, MINUTES))
    assert event.held_for_centre and event.safeguarding_override is None
    assert not event.critical and not event.needs_duty_inspector and event.ack_deadline is None
    assert [m.code for m in event.matched] == ["place_of_worship"], "why it would have been critical is kept"


def test_a_threat_to_life_is_shared_as_a_recorded_safeguarding_override() -> None:
    event = only_event(Incident.open(HELD, decision(Priority.P1, "threat_to_life"), NOW, MINUTES))
    assert not event.held_for_centre and event.safeguarding_override == "threat_to_life"
    assert event.ruleset_version == "2026.11.1"
    assert event.needs_duty_inspector and event.ack_deadline == NOW + timedelta(minutes=15)


def test_a_consenting_report_is_neither_held_nor_overridden() -> None:
    event = only_event(Incident.open(Report("r-2", "VGL-2", "E23000001"), decision(Priority.P1, "threat_to_life"),
                                     NOW, MINUTES))
    assert not event.held_for_centre and event.safeguarding_override is None and event.needs_duty_inspector


def test_a_held_report_stays_held_on_new_facts_until_they_threaten_life() -> None:
    i = Incident.open(HELD, decision(Priority.P3), NOW, MINUTES)
    i.pending = []
    i.retriage(decision(Priority.P2, "violence"), "E23000001", NOW, MINUTES)
    assert i.held_for_centre and not i.needs_duty_inspector and i.ack_deadline is None
    event = i.retriage(decision(Priority.P1, "violence", "threat_to_life"), "E23000001", NOW, MINUTES)
    assert isinstance(event, IncidentTriaged) and not event.held_for_centre and event.needs_duty_inspector
    assert event.safeguarding_override == "threat_to_life" and event.ack_deadline is not None
    replayed = Incident.replay(i.incident_id, [*i.pending])
    assert not replayed.held_for_centre and replayed.safeguarding_override == "threat_to_life"


def test_withdrawal_closes_once_by_the_reporter() -> None:
    i = Incident.open(HELD, decision(Priority.P3), NOW, MINUTES)
    event = i.withdraw(NOW)
    assert isinstance(event, IncidentClosed) and event.closed_by == "reporter"
    assert event.outcome == Outcome.withdrawn_by_reporter and i.state == State.closed
    assert i.withdraw(NOW) is None


# --- triage, on SQLite -----------------------------------------------------------------------------

@pytest.fixture
def triage(tmp_path: Path) -> Triage:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    upgrade("triage", url)
    # no intake here to seal staff text with a report's key: the sealed path is test_staff_text_sealed.py's
    return build(VigilSettings(), TriageSettings(database_url=url, seal_staff_text=False), MovableClock(NOW))


def submitted(n: int, share_with_police: bool = True, ongoing: bool = False) -> ReportSubmitted:
    return ReportSubmitted.model_validate({
        "report_id": f"r-{n}", "reference": f"VGL-{n}", "submitted_at": NOW, "channel": "web",
        "reporter": {"role": "victim", "anonymous": False}, "consent": {"share_with_police": share_with_police},
        "incident": {"occurred_at": NOW, "types": ["threat"], "targeted_characteristics": ["race"],
                     "ongoing": ongoing, "location": {"area": "E23000001", "place_type": "street"}},
        "grading": {"source": "2", "intelligence": "A", "handling": "P"}, "fingerprints": {}})


def receive(triage: Triage, event: Event, n: int) -> None:
    env = Envelope(id=f"e-{n}", type=event.TYPE, source="/t", subject="s", time=NOW, sequence=n, key="k",
                   topic=event.TOPIC, data=event.model_dump(mode="json"))
    with triage.db.transaction() as s:
        triage.decisions.on_report_event(s, env)


def in_queue(triage: Triage) -> list[str]:
    return [r["incident_id"] for r in triage.queries.queue_page(OFFICER, QueueFilter(status="all")).rows]


def test_a_held_report_is_unknown_to_the_police_and_shown_to_caseworkers(triage: Triage) -> None:
    receive(triage, submitted(1, share_with_police=False), 1)
    assert in_queue(triage) == [] and triage.queries.queue(OFFICER) == []
    for police in (OFFICER, INSPECTOR):
        with pytest.raises(UnknownIncident):
            triage.queries.incident(police, "r-1")
    with pytest.raises(UnknownIncident):
        triage.workflow.acknowledge("r-1", INSPECTOR)
    assert [r["reference"] for r in triage.queries.held(CASEWORKER)] == ["VGL-1"]
    assert triage.queries.incident(CASEWORKER, "r-1")["held_for_centre"] is True


def test_caseworkers_see_no_police_incident(triage: Triage) -> None:
    receive(triage, submitted(1), 1)
    assert in_queue(triage) == ["r-1"]
    with pytest.raises(UnknownIncident):
        triage.queries.incident(CASEWORKER, "r-1")
    assert triage.queries.held(CASEWORKER) == []


def test_a_threat_to_life_kept_from_the_police_reaches_the_queue_overridden(triage: Triage) -> None:
    receive(triage, submitted(1, share_with_police=False, ongoing=True), 1)
    shown = triage.queries.incident(OFFICER, "r-1")
    assert shown["safeguarding_override"] == "threat_to_life" and shown["needs_duty_inspector"]
    assert in_queue(triage) == ["r-1"]


def test_erasure_drops_the_memory_and_staff_notes_and_shows_erased(triage: Triage) -> None:
    receive(triage, submitted(1, ongoing=True), 1)
    triage.workflow.override("r-1", INSPECTOR, Priority.P2, True, f"override {CANARY}")
    triage.workflow.record_cia("r-1", INSPECTOR, Level.low, Level.low, f"communities {CANARY}",
                               f"notes {CANARY}", f"actions {CANARY}", None)
    receive(triage, ReportErased(report_id="r-1", erased_at=NOW, requested_by="dpo"), 2)

    with triage.db.sessions() as s:
        assert s.execute(select(tables.report_memory)).first() is None
        for row in s.execute(select(tables.community_impact_assessments)).mappings():
            assert CANARY not in str(dict(row))
    shown = triage.queries.incident(INSPECTOR, "r-1")
    assert shown["erased_at"] == NOW and CANARY not in str(shown)
    assert "Reason: [erased]" in str(shown["timeline"])


def test_withdrawal_closes_the_incident(triage: Triage) -> None:
    receive(triage, submitted(1, ongoing=True), 1)
    receive(triage, ReportWithdrawn(report_id="r-1", withdrawn_at=NOW), 2)
    receive(triage, ReportWithdrawn(report_id="r-1", withdrawn_at=NOW), 3)
    shown = triage.queries.incident(INSPECTOR, "r-1")
    assert shown["state"] == "closed" and shown["outcome"] == "withdrawn_by_reporter"
    assert [t["type"] for t in shown["timeline"]].count("vigil.incident.closed.v1") == 1


# --- caseworkers, each scoped to their reporting centre ------------------------------------------------------

def from_centre(n: int, centre_id: str) -> ReportSubmitted:
    return ReportSubmitted.model_validate(submitted(n, share_with_police=False).model_dump(mode="json")
                                          | {"channel": "centre", "centre_id": centre_id})


def caseworker(triage: Triage, username: str, centre: str | None = None) -> Staff:
    user_id = triage.auth.create_user(username, username.title(), "a long enough password", ["caseworker"],
                                      centre=centre)
    return Staff(user_id, username, username.title(), frozenset({"caseworker"}))


def test_a_caseworker_sees_only_the_reports_held_for_their_own_centre(triage: Triage) -> None:
    receive(triage, submitted(1, share_with_police=False), 1)   # the public form: the default centre's
    receive(triage, from_centre(2, "tell-mama"), 2)
    receive(triage, from_centre(3, "stop-hate-uk"), 3)
    public, tell_mama = caseworker(triage, "cass"), caseworker(triage, "tina", "tell-mama")
    assert [r["reference"] for r in triage.queries.held(public)] == ["VGL-1"]
    assert [r["reference"] for r in triage.queries.held(tell_mama)] == ["VGL-2"]
    assert triage.queries.incident(tell_mama, "r-2")["held_for_centre"] is True
    for theirs, other in ((public, "r-2"), (public, "r-3"), (tell_mama, "r-1"), (tell_mama, "r-3")):
        with pytest.raises(UnknownIncident, match=r"^no such incident$"):   # exactly as an unknown one
            triage.queries.incident(theirs, other)
    with pytest.raises(UnknownIncident, match=r"^no such incident$"):
        triage.queries.incident(tell_mama, "r-404")


def test_the_public_forms_reports_belong_to_the_centre_the_deployment_names(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    upgrade("triage", url)
    triage = build(VigilSettings(), TriageSettings(database_url=url, default_centre="stop-hate-uk"), MovableClock(NOW))
    receive(triage, submitted(1, share_with_police=False), 1)
    receive(triage, from_centre(2, "stop-hate-uk"), 2)
    named, unnamed = caseworker(triage, "sam", "stop-hate-uk"), caseworker(triage, "cass")
    assert sorted(r["reference"] for r in triage.queries.held(named)) == ["VGL-1", "VGL-2"]
    assert sorted(r["reference"] for r in triage.queries.held(unnamed)) == ["VGL-1", "VGL-2"]
    assert triage.queries.held(caseworker(triage, "tina", "tell-mama")) == []


@pytest.mark.parametrize(("roles", "centre", "problem"), [
    (["triage_officer"], "tell-mama", "only a caseworker works for a reporting centre"),
    (["caseworker"], "Tell Mama!", "a centre is its id"),
])
def test_a_centre_is_for_caseworkers_and_is_a_centre_id(triage: Triage, roles: list[str], centre: str,
                                                      problem: str) -> None:
    with pytest.raises(InvalidUser, match=problem):
        triage.auth.create_user("newbie", "Newbie", "a long enough password", roles, centre=centre)


def test_an_accounts_centre_is_recorded_in_its_creation_event(triage: Triage) -> None:
    user_id = caseworker(triage, "tina", "Tell-Mama").user_id
    [env] = [e for e in triage.auth.accounts.record(CommandLine("test"), user_id)[2]]
    created = env.event()
    assert isinstance(created, StaffAccountCreated) and created.centre == "tell-mama"
    assert triage.auth.accounts.get(CommandLine("test"), user_id).as_json()["centre"] == "tell-mama"
