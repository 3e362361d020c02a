"""Routines at a place of worship reminded and escalated, end to end: assessment (PostgreSQL, Kafka) on a moved
clock announces a perimeter walk due and then overdue; notify (PostgreSQL, Kafka) reminds the site's security
lead by email (a real SMTP server) and SMS (an HTTP gateway) with a signed link, and tells the area's
neighbourhood officer by email; the link records the walk at assessment over HTTP, once, used twice. Staff
accounts and sign-ins are a real triage's, over HTTP.

`sites_stack` is also what tests/browser/test_site_routine_links.py records from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from infra.procs import free_port
from services.assessment.calendar import LONDON
from services.assessment.main import Assessment
from services.assessment.main import build as build_assessment
from services.assessment.main import create_app as assessment_app
from services.assessment.settings import AssessmentSettings
from services.notify import tables as notify_tables
from services.notify.main import Notify
from services.notify.main import build as build_notify
from services.notify.main import create_app as notify_app
from services.notify.settings import NotifySettings
from services.triage.main import build as build_triage
from services.triage.main import create_app as triage_app
from services.triage.settings import TriageSettings
from shared.clock import MovableClock
from shared.migrate import upgrade
from shared.settings import VigilSettings
from shared.staffaccess import SESSION_COOKIE
from shared.topics import SITES, TopicNames
from tests.integration.test_pager_replies import serving_at
from tests.integration.test_tension_alerts import directory_of_accounts
from tests.support.asgi import serving
from tests.support.http_receiver import Receiver, http_receiver
from tests.support.kafka_reader import read_topic
from tests.support.smtp import Mailbox, Received, smtp_server
from tests.support.waiting import eventually

PASSWORD = "a long enough password"
GMP, MET = "E23000005", "E23000001"
LEE, LEE_PHONE = "lee@mosque.example", "+447700900555"
NORA, OLLY, NAT = "nora@police.example", "olly@police.example", "nat@police.example"
THURSDAY = datetime(2027, 1, 14, 14, 0, tzinfo=LONDON)  # the day before Friday prayers at 13:15
FRIDAY_AFTER = THURSDAY + timedelta(days=1, hours=1)  # prayers passed with no walk recorded
ACCOUNTS: dict[str, tuple[str, list[str], list[str], str, str | None]] = {
    "adam": ("Adam Admin", ["admin", "supervisor"], [], "adam@police.example", None),
    "lee": ("Lee Hussain", ["site_lead"], [], LEE, LEE_PHONE),
    "nora": ("PC Nora Quinn", ["neighbourhood_officer"], [GMP], NORA, None),
    "olly": ("PC Olly Vance", ["neighbourhood_officer"], [MET], OLLY, None),
    "nat": ("Sgt Nat Lowe", ["neighbourhood_officer"], [], NAT, None),
}
RECORD_LINK = re.compile(r"^Record what you found, without signing in: (\S+)$", re.MULTILINE)


def mosque() -> dict[str, Any]:
    return {"name": "Central Mosque", "faith": "muslim", "area": GMP, "postcode_district": "M13",
            "capacity_band": "800+", "measures": ["cctv", "lighting"], "children_on_site": True,
            "services": [{"name": "Friday prayers", "day": "friday", "time": "13:15", "main": True}],
            "contacts": [{"name": "Aisha Khan", "role": "security lead", "email": "aisha@example.org"}]}


@dataclass
class SitesStack:
    vigil: VigilSettings
    clock: MovableClock
    assessment: Assessment
    notify: Notify
    triage_url: str
    assessment_url: str
    notify_url: str
    mailbox: Mailbox
    gateway: Receiver

    def signed_in(self, username: str) -> httpx.Client:
        """A client of assessment's API as this member of staff (their triage session as a bearer token)."""
        answer = httpx.post(f"{self.triage_url}/v1/session", json={"username": username, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return httpx.Client(base_url=self.assessment_url, timeout=15,
                            headers={"Authorization": f"Bearer {answer.cookies[SESSION_COOKIE]}"})

    def register_site_led_by_lee(self) -> str:
        with self.signed_in("adam") as admin:
            made = admin.post("/v1/sites", json=mosque())
            assert made.status_code == 201, made.text
            site_id = str(made.json()["site_id"])
            tied = admin.put("/v1/site-leads/lee", json={"site_ids": [site_id]})
            assert tied.status_code == 200, tied.text
        return site_id

    def announce_at(self, when: datetime) -> int:
        self.clock.set(when)
        return self.assessment.reminders.announce()

    def walk_reminder(self, address: str = LEE) -> Received:
        return eventually(lambda: next((m for m in self.mailbox.to(address)
                                        if "Perimeter walk at Central Mosque" in str(m.message["Subject"])), None),
                          90, f"the perimeter walk's reminder to {address}")

    def records(self, site_id: str) -> list[dict[str, Any]]:
        with self.signed_in("adam") as admin:
            answer = admin.get(f"/v1/sites/{site_id}/routines")
        assert answer.status_code == 200, answer.text
        return list(answer.json()["records"])

    def deliveries(self, purpose: str) -> list[dict[str, Any]]:
        d = notify_tables.deliveries
        with self.notify.db.sessions() as s:
            return [dict(r) for r in s.execute(select(d).where(d.c.purpose == purpose)).mappings()]


def record_link(email: Received) -> str:
    found = RECORD_LINK.search(email.part("plain"))
    assert found is not None, email.part("plain")
    return found[1]


@contextmanager
def sites_stack(vigil: VigilSettings, new_database: Callable[[str], str], tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[SitesStack]:
    clock = MovableClock(THURSDAY - timedelta(days=3))
    triage_db = f"sqlite:///{tmp_path / 'triage.db'}"
    urls = {"notify": new_database("notify"), "assessment": new_database("assessment")}
    for name, url in {"triage": triage_db, **urls}.items():
        upgrade(name, url)
    triage = build_triage(vigil, TriageSettings(database_url=triage_db))
    for username, (name, roles, areas, email, phone) in ACCOUNTS.items():
        triage.auth.create_user(username, name, PASSWORD, roles, areas=areas, email=email, phone=phone)
    notify_url = f"http://127.0.0.1:{free_port()}"
    with ExitStack() as stack:
        stack.callback(triage.db.dispose)
        mailbox = stack.enter_context(smtp_server())
        gateway = stack.enter_context(http_receiver(path="/messages"))
        triage_url = stack.enter_context(serving(triage_app(triage, with_worker=False), name="triage"))
        vigil = vigil.model_copy(update={"triage_internal_url": triage_url})
        monkeypatch.setenv("VIGIL_STAFF_TRIAGE_URL", triage_url)
        monkeypatch.setenv("VIGIL_STAFF_NOTIFY_URL", notify_url)
        assessment = build_assessment(vigil, AssessmentSettings(database_url=urls["assessment"],
                                                                reminder_interval_seconds=3600), clock)
        assessment_url = stack.enter_context(serving(assessment_app(assessment, with_worker=False),
                                                     name="assessment"))
        monkeypatch.setenv("VIGIL_STAFF_ASSESSMENT_URL", assessment_url)
        vigil = vigil.model_copy(update={"assessment_internal_url": assessment_url})
        notify = build_notify(vigil, NotifySettings(
            database_url=urls["notify"], channels=["email", "sms", "log"], smtp_host=mailbox.host,
            smtp_port=mailbox.port, sms_gateway_url=gateway.url, links_url=notify_url, staff_ui_url=triage_url,
            timer_poll_seconds=0.05, retry_base_seconds=1, send_lease_seconds=2, smtp_timeout=3),
            clock=clock, directory=directory_of_accounts(clock.now()))
        for service in (assessment, notify):
            service.kafka.ensure_topics()  # before subscribing: a consumer can take minutes to see a topic made later
            runner = service.runner().start()
            stack.callback(service.db.dispose)
            stack.callback(runner.shutdown)
        stack.enter_context(serving_at(notify_app(notify, with_worker=False), int(notify_url.rsplit(":", 1)[1]),
                                       "notify"))
        yield SitesStack(vigil, clock, assessment, notify, triage_url, assessment_url, notify_url, mailbox, gateway)


@pytest.fixture
def stack(vigil_settings: VigilSettings, new_database: Callable[[str], str], tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[SitesStack]:
    with sites_stack(vigil_settings, new_database, tmp_path, monkeypatch) as running:
        yield running


def test_a_due_walk_reminds_the_lead_an_overdue_one_tells_the_areas_officer_and_the_link_records_once(
        stack: SitesStack) -> None:
    site_id = stack.register_site_led_by_lee()
    stack.announce_at(THURSDAY - timedelta(days=3))  # every check and drill, never done: due at once
    assert stack.announce_at(THURSDAY) == 1, "the walk before Friday prayers falls due"

    reminder = stack.walk_reminder()
    assert reminder.message["Subject"] == "Due 12:15 15 Jan 2027 (UK time): Perimeter walk at Central Mosque"
    plain = reminder.part("plain")
    assert "It comes before Friday prayers." in plain and f"{stack.assessment_url}/sites/{site_id}" in plain
    link = record_link(reminder)
    assert link.startswith(f"{stack.notify_url}/s/") and f'href="{link}"' in reminder.part("html")
    sms = eventually(lambda: next((r.json() for r in stack.gateway.all()
                                   if "Perimeter walk at Central Mosque" in r.json()["text"]), None), 60, "the SMS")
    assert sms["to"] == LEE_PHONE and link in sms["text"], "the SMS carries the same link: it records once too"

    assert stack.announce_at(FRIDAY_AFTER) == 1, "prayers passed without a walk: overdue"
    escalation = stack.walk_reminder(NORA)
    assert escalation.message["Subject"] == "Overdue: Perimeter walk at Central Mosque (Greater Manchester)"
    assert "The site's security lead was reminded when it fell due." in escalation.part("plain")
    assert f"{stack.assessment_url}/sites/{site_id}" in escalation.part("plain")
    eventually(lambda: not [d for d in stack.deliveries("site_routine_overdue") if d["status"] == "pending"], 60,
               "the escalation to settle")
    assert [d["recipient"] for d in stack.deliveries("site_routine_overdue")] == ["staff:nora"]
    assert stack.mailbox.to(OLLY) == [] and stack.mailbox.to(NAT) == [], "another area's and national: not told"

    opened = httpx.get(link, timeout=10)
    assert opened.status_code == 200 and "Record the perimeter walk" in opened.text and "Lee Hussain" in opened.text
    assert stack.records(site_id) == [], "opening the link records nothing"
    incomplete = httpx.post(link, data={"outcome": "issues_found"}, timeout=10)
    assert incomplete.status_code == 422 and "Choose the kind of issue you found" in incomplete.text
    recorded = httpx.post(link, data={"outcome": "issues_found", "category": "lighting",
                                      "notes": "the car park light is out"}, timeout=10)
    assert recorded.status_code == 200 and "Perimeter walk recorded" in recorded.text, recorded.text
    again = httpx.post(link, data={"outcome": "done"}, timeout=10)
    assert again.status_code == 410 and "This routine is already recorded" in again.text
    reopened = httpx.get(link, timeout=10)
    assert reopened.status_code == 410 and "This routine is already recorded" in reopened.text

    [record] = stack.records(site_id)
    assert (record["routine"], record["outcome"], record["category"], record["recorded_by"], record["via"]) == (
        "perimeter_walk", "issues_found", "lighting", "lee", "link")
    assert record["notes"] == "the car park light is out"
    tampered = httpx.get(link[:-6], timeout=10)
    assert tampered.status_code == 404 and "This link does not work" in tampered.text

    leads = stack.deliveries("site_routine_due")
    assert {(d["recipient"], d["channel"]) for d in leads} == {("staff:lee", "email"), ("staff:lee", "sms")}
    assert all(d["status"] == "sent" for d in leads if json.loads(d["payload"])["context"]["routine"]
               == "perimeter_walk")
    on_topic = read_topic(stack.vigil.kafka_bootstrap, TopicNames(stack.vigil.topic_prefix)(SITES), 10)
    assert not any(LEE in str(r.value) or "Aisha" in str(r.value) for r in on_topic), "no contact on the topic"
