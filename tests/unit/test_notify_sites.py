"""Notify's half of routines at places of worship, on an embedded SQLite database with triage's accounts and
assessment in-memory twins: who is reminded and told, once however often an event comes, the form's rules, and
a reminder's link that records once (the real parts are in tests/integration/test_site_routines.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.notify import tables
from services.notify.channels import LogChannel, Message, fit_sms
from services.notify.main import Notify, build, create_app
from services.notify.messages import Templates
from services.notify.neighbourhood import DIRECTORY_TEAM, IN_AREA, NATIONAL_OFFICERS, NeighbourhoodOfficers, officers_of
from services.notify.policy import Directory
from services.notify.rendering import MessageRenderer
from services.notify.settings import NotifySettings
from services.notify.sites.record import (
    AssessmentUnavailable,
    FormInvalid,
    Recorded,
    RecordForm,
    Refused,
    read_form,
)
from services.notify.staff_directory import StaffAccount, StaffDirectory, TriageUnavailable
from shared.clock import MovableClock
from shared.events.base import Envelope, Event
from shared.events.sites import IssueCategory, RoutineOutcome, SiteRoutineDue, SiteRoutineOverdue
from shared.ids import new_id
from shared.migrate import upgrade
from shared.settings import VigilSettings
from shared.signedlinks import Refusal, SignedLinks
from shared.web.templates import page_environment

T0 = datetime(2027, 1, 14, 14, 0, tzinfo=UTC)
GMP, MET = "E23000005", "E23000001"


def account(username: str, roles: tuple[str, ...], areas: tuple[str, ...] = (), enabled: bool = True,
            email: str | None = "x@police.example", phone: str | None = None) -> StaffAccount:
    return StaffAccount(username, username.title(), roles, areas, enabled, email, phone)


class Accounts:
    """Triage's accounts, in memory; `down` answers as triage not answering."""

    def __init__(self, *accounts: StaffAccount) -> None:
        self.accounts = {a.username: a for a in accounts}
        self.down = False

    def account(self, username: str) -> StaffAccount | None:
        if self.down:
            raise TriageUnavailable("down")
        return self.accounts.get(username)

    def listed(self) -> dict[str, StaffAccount]:
        if self.down:
            raise TriageUnavailable("down")
        return dict(self.accounts)


class Assessment:
    """Assessment's record route, in memory: once per link id, as the real one."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.recorded: dict[str, str] = {}
        self.down = False

    def record(self, site_id: str, body: dict[str, Any]) -> Recorded:
        self.calls.append((site_id, body))
        if self.down:
            raise AssessmentUnavailable("down")
        already = body["link_id"] in self.recorded
        outcome_id = self.recorded.setdefault(body["link_id"], new_id())
        return Recorded(outcome_id, already)


def directory() -> Directory:
    return Directory.model_validate({
        "people": {"di": {"name": "DI", "email": "di@police.example"},
                   "snt": {"name": "Sgt", "email": "snt@x.example"}},
        "teams": {"nt": ["snt"]},
        "policies": {"p": {"levels": [{"targets": ["on_call"]}]}},
        "areas": {"default": {"rota": {"start": T0.isoformat(), "people": ["di"]}, "policy": "p",
                              "neighbourhood_team": "nt", "community_liaison": "nt"}},
    })


# ---- who the area's neighbourhood officers are (pure) -----------------------------------------------------

def test_the_officers_of_an_area_are_its_enabled_officers_else_the_national_ones() -> None:
    found = {a.username: a for a in (
        account("nora", ("neighbourhood_officer",), (GMP,)), account("nick", ("neighbourhood_officer",), (GMP, MET)),
        account("gone", ("neighbourhood_officer",), (GMP,), enabled=False), account("sup", ("supervisor",), (GMP,)),
        account("olly", ("neighbourhood_officer",), (MET,)), account("nat", ("neighbourhood_officer",)))}
    assert officers_of(found, GMP) == (["nick", "nora"], IN_AREA)
    assert officers_of(found, "W15000004") == (["nat"], NATIONAL_OFFICERS), "no one in the area: the national ones"
    del found["nat"]
    assert officers_of(found, "W15000004") is None


def test_without_officers_or_without_triage_the_directorys_neighbourhood_team_is_told() -> None:
    accounts = Accounts(account("olly", ("neighbourhood_officer",), (MET,)))
    officers = NeighbourhoodOfficers(directory(), accounts)
    assert officers.of(MET).recipients == ("staff:olly",)
    chosen = officers.of(GMP)
    assert (chosen.recipients, chosen.chosen_by) == (("person:snt",), DIRECTORY_TEAM)
    accounts.down = True
    assert officers.of(MET).recipients == ("person:snt",)


# ---- the form (pure) --------------------------------------------------------------------------------------

def test_the_form_says_every_problem_at_once_and_drops_a_category_for_a_walk_done() -> None:
    assert read_form({"outcome": "done", "category": "cctv", "notes": "  "}) == RecordForm(RoutineOutcome.done)
    assert read_form({"outcome": "issues_found", "category": "lighting", "notes": " light out "}) == RecordForm(
        RoutineOutcome.issues_found, IssueCategory.lighting, "light out")
    with pytest.raises(FormInvalid) as bad:
        read_form({"outcome": "issues_found", "category": "moat", "notes": "x" * 2001})
    assert [e.field for e in bad.value.errors] == ["category", "notes"]
    with pytest.raises(FormInvalid) as missing:
        read_form({})
    assert [(e.field, e.message) for e in missing.value.errors] == [
        ("outcome", "Say whether it was all in order or you found issues")]


# ---- reminders, escalations and the link, through notify's inbox and ledger -------------------------------

@pytest.fixture
def notify(tmp_path: Path) -> Iterator[Notify]:
    url = f"sqlite:///{tmp_path / 'notify.db'}"
    upgrade("notify", url)
    n = build(vigil=VigilSettings(environment="test"), settings=NotifySettings(database_url=url, channels=["log"]),
              clock=MovableClock(T0), channels={"log": LogChannel(), "email": LogChannel(), "sms": LogChannel()},
              directory=directory())
    accounts = Accounts(account("lee", ("site_lead",), email="lee@mosque.example", phone="+447700900555"),
                        account("ria", ("site_lead",), email="ria@mosque.example"),
                        account("old", ("site_lead",), enabled=False),
                        account("nora", ("neighbourhood_officer",), (GMP,)))
    n.site_routines.contacts = n.site_links.contacts = StaffDirectory(n.directory, accounts)
    n.site_routines.officers = NeighbourhoodOfficers(n.directory, accounts)
    n.site_links.assessment = Assessment()  # type: ignore[assignment]
    yield n
    n.db.dispose()


def notice(kind: type[SiteRoutineDue] | type[SiteRoutineOverdue], leads: list[str]) -> SiteRoutineDue:
    return kind(site_id="site-1", site_name="Central Mosque", area=GMP, routine="perimeter_walk",
                routine_name="Perimeter walk", due_at=T0 + timedelta(hours=22), service="Friday prayers", leads=leads,
                announced_at=T0)


def handle(notify: Notify, event: Event) -> None:
    env = Envelope(id=new_id(), type=event.TYPE, source="/vigil/test", subject="site-1", time=T0, sequence=1,
                   key="site-1", topic=event.TOPIC, data=event.model_dump(mode="json"))
    consumer = next(c for c in notify.consumers if c.name.endswith("sites"))
    assert consumer.handle(env)


def deliveries(notify: Notify) -> list[dict[str, Any]]:
    with notify.db.sessions() as s:
        return [dict(r) for r in s.execute(select(tables.deliveries)).mappings()]


def test_a_due_routine_reminds_each_reachable_lead_on_each_channel_they_have_once(notify: Notify) -> None:
    due = notice(SiteRoutineDue, ["lee", "ria", "old", "lee"])
    handle(notify, due)
    handle(notify, due)  # delivered again, under another envelope: nothing more
    assert sorted((d["recipient"], d["channel"], d["purpose"]) for d in deliveries(notify)) == [
        ("staff:lee", "email", "site_routine_due"), ("staff:lee", "sms", "site_routine_due"),
        ("staff:ria", "email", "site_routine_due")], "a disabled account is not reminded; no phone, no SMS"
    payload = json.loads(deliveries(notify)[0]["payload"])
    assert "lee@mosque.example" not in json.dumps(payload) and "link" not in payload["context"]


def test_an_overdue_routine_tells_the_areas_officers_by_email(notify: Notify) -> None:
    handle(notify, notice(SiteRoutineOverdue, ["lee"]))
    [told] = deliveries(notify)
    assert (told["recipient"], told["channel"], told["recipient_role"]) == ("staff:nora", "email",
                                                                            "neighbourhood_officer")
    context = json.loads(told["payload"])["context"]
    assert context["has_lead"] is True and context["told_as"] == IN_AREA
    assert context["link"].endswith("/sites/site-1")


def lead_link(notify: Notify, channel: str) -> str:
    row = next(d for d in deliveries(notify) if d["recipient"] == "staff:lee" and d["channel"] == channel)
    sent: list[dict[str, Any]] = []

    def capture(r: dict[str, Any]) -> Message:
        sent.append(json.loads(r["payload"])["context"])
        return Message(r["idempotency_key"], channel, "lee", "", "")

    notify.site_links.renderer(capture)(row)
    return str(sent[0]["link"])


def test_the_email_and_sms_carry_one_link_that_records_once_and_survives_assessment_being_down(
        notify: Notify) -> None:
    handle(notify, notice(SiteRoutineDue, ["lee"]))
    link = lead_link(notify, "email")
    token = link.rsplit("/", 1)[1]
    assert link.startswith(f"{notify.site_links.base_url}/s/")
    assert notify.site_links.look(lead_link(notify, "sms").rsplit("/", 1)[1]).claims.link_id == \
        notify.site_links.look(token).claims.link_id
    view = notify.site_links.look(token)
    assert (view.reminder.site_name, view.reminder.routine, view.person_name) == ("Central Mosque", "perimeter_walk",
                                                                                   "Lee")
    assessment: Assessment = notify.site_links.assessment  # type: ignore[assignment]
    assessment.down = True
    with pytest.raises(Refused) as down:
        notify.site_links.record(token, RecordForm(RoutineOutcome.done))
    assert down.value.unavailable and notify.site_links.look(token), "nothing recorded: the link still works"
    assessment.down = False
    outcome = notify.site_links.record(token, RecordForm(RoutineOutcome.done, notes="all clear"))
    assert not outcome.recorded.already
    with pytest.raises(Refused) as again:
        notify.site_links.record(token, RecordForm(RoutineOutcome.done))
    assert again.value.unusable is not None and again.value.unusable.refusal is Refusal.used
    assert [(site, body["recorded_by"], body["routine"], body["notes"]) for site, body in assessment.calls] == [
        ("site-1", "lee", "perimeter_walk", None), ("site-1", "lee", "perimeter_walk", "all clear")]
    with pytest.raises(Refused) as used:
        notify.site_links.look(token)
    assert used.value.unusable is not None and used.value.unusable.refusal is Refusal.used


def test_an_sms_that_would_cut_its_link_short_is_said_shorter_or_without_the_link(notify: Notify) -> None:
    render = notify.site_links.renderer(MessageRenderer(notify.directory, Templates(), None, None,
                                                        notify.site_links.contacts))
    handle(notify, notice(SiteRoutineDue, ["lee"]))
    handle(notify, notice(SiteRoutineDue, ["lee"]).model_copy(update={"site_id": "site-2",
                                                                       "site_name": "Masjid Nūr al-Islām"}))
    sms = {json.loads(d["payload"])["context"]["site_name"]: d for d in deliveries(notify) if d["channel"] == "sms"}
    plain, accented = render(sms["Central Mosque"]).text, render(sms["Masjid Nūr al-Islām"]).text
    assert plain.startswith("Vigil: Perimeter walk at Central Mosque due ") and " Record it: http" in plain
    assert not fit_sms(plain).truncated and notify.site_links.look(plain.rsplit("/", 1)[1])
    assert fit_sms("Masjid Nūr al-Islām").encoding == "ucs2", "every part would be 67 characters: the link cut"
    assert accented.startswith("Vigil: Perimeter walk due ") and "Nūr" not in accented
    assert not fit_sms(accented).truncated and notify.site_links.look(accented.rsplit("/", 1)[1])
    notify.site_links.sms_parts = 1
    single = render(sms["Central Mosque"]).text
    assert single.endswith("The link to record it is in your email.") and "http" not in single
    assert not fit_sms(single, 1).truncated


def test_a_link_signed_for_another_purpose_or_expired_does_not_record(notify: Notify) -> None:
    handle(notify, notice(SiteRoutineDue, ["lee"]))
    token = lead_link(notify, "email").rsplit("/", 1)[1]
    pager = SignedLinks(notify.settings.link_secret.get_secret_value(), "notify", {"site_routine": timedelta(hours=1)},
                        notify.clock)
    forged, _ = pager.issue("site_routine", "lee", notify.site_links.look(token).reminder.reminder_id)
    with pytest.raises(Refused) as other:
        notify.site_links.look(forged)
    assert other.value.unusable is not None and other.value.unusable.refusal is Refusal.tampered
    assert isinstance(notify.clock, MovableClock)
    notify.clock.advance(timedelta(hours=notify.settings.site_link_hours))
    with pytest.raises(Refused) as late:
        notify.site_links.record(token, RecordForm(RoutineOutcome.done))
    assert late.value.unusable is not None and late.value.unusable.refusal is Refusal.expired


def test_the_link_pages_say_plainly_why_nothing_was_recorded(notify: Notify) -> None:
    handle(notify, notice(SiteRoutineDue, ["lee"]))
    path = "/" + lead_link(notify, "email").split("/", 3)[3]
    pages = TestClient(create_app(notify, with_worker=False))
    opened = pages.get(path)
    assert opened.status_code == 200 and "Record the perimeter walk" in opened.text
    assert opened.headers["cache-control"] == "no-store" and opened.headers["referrer-policy"] == "no-referrer"
    assessment: Assessment = notify.site_links.assessment  # type: ignore[assignment]
    assessment.down = True
    down = pages.post(path, data={"outcome": "done"})
    assert down.status_code == 503 and "could not record this just now" in down.text
    assert pages.get(path[:-4]).status_code == 404
    assert isinstance(notify.clock, MovableClock)
    notify.clock.advance(timedelta(hours=notify.settings.site_link_hours))
    late = pages.get(path)
    assert late.status_code == 410 and "This link has expired" in late.text and "Traceback" not in late.text
    assert [body["link_id"] for _, body in assessment.calls] == [assessment.calls[0][1]["link_id"]]


def test_a_visit_links_time_windows_show_on_lines_of_their_own_and_escaped() -> None:
    env = page_environment([Path(__file__).resolve().parents[2] / "services" / "notify" / "templates"])
    task = SimpleNamespace(site_name="Central Mosque", day=date(2027, 3, 5), windows="12:00-15:00\n18:00 <b>-22:00")
    html = env.from_string('{% from "tasking/_task.html" import taskSummary %}{{ taskSummary(view) }}').render(
        view=SimpleNamespace(task=task, person_name="PC Nora Quinn"))
    assert "12:00-15:00<br>18:00 &lt;b&gt;-22:00" in html
