"""The rota's people are staff accounts: notify asks triage (real HTTP, the service credential) for a rota
person's contact when it pages, and the alert goes through a real SMTP server to the account's address.
An address an administrator changes at triage is used from the next page; a disabled account is passed over
for the next level, and so is an account that does not cover the incident's area; the ledger says why."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.notify import tables
from services.notify.main import Notify
from services.notify.main import build as build_notify
from services.notify.main import create_app as notify_app
from services.notify.policy import Directory
from services.notify.settings import NotifySettings
from services.triage.auth import Auth
from services.triage.main import build as build_triage
from services.triage.main import create_app as triage_app
from services.triage.settings import TriageSettings
from shared.clock import MovableClock, SystemClock
from shared.db import Database
from shared.events.notifications import NotificationCancelled
from shared.eventstore import row_to_envelope
from shared.migrate import upgrade
from shared.servicecalls import service_headers
from shared.settings import VigilSettings
from shared.staffaccess import SESSION_COOKIE
from tests.integration.test_notify_api import T0
from tests.integration.test_notify_flow import MET, envelope, triaged
from tests.support.asgi import serving
from tests.support.smtp import Mailbox, smtp_server, wait_for_mail

PASSWORD = "a long enough password"
HTML = {"Accept": "text/html"}
WALES = "W15000004"
DORA, DORA_NEW, DAN, SUPT = "dora@example.org", "dora.nights@example.org", "dan@example.org", "supt@example.org"
ACCOUNTS = {"dora": ("Insp. Dora Day", ["duty_inspector"], DORA), "dan": ("Insp. Dan Night", ["duty_inspector"], DAN),
            "supt": ("Supt. Sam Duty", ["supervisor"], SUPT), "ada": ("Ada Admin", ["admin"], None)}


def rota_of(*people: str) -> Directory:
    """Staff accounts by username, with nothing of theirs in the directory: triage has their details."""
    return Directory.model_validate({
        "people": {"dora": {}, "dan": {}, "supt": {}, "snt": {"name": "Sgt", "email": "snt@example.org"},
                   "clo": {"name": "CLO", "email": "clo@example.org"}},
        "teams": {"nt": ["snt"], "cl": ["clo"]},
        "policies": {"p": {"resend_every_minutes": 5, "levels": [{"targets": ["on_call"], "delay_minutes": 15},
                                                                  {"targets": ["person:supt"], "delay_minutes": 15}]}},
        "areas": {"default": {"rota": {"start": T0.isoformat(), "shift_hours": 12, "people": list(people)},
                              "policy": "p", "neighbourhood_team": "nt", "community_liaison": "cl"}},
    })


@dataclass
class Deployment:
    triage: str
    notify_url: str
    notify: Notify
    mailbox: Mailbox
    user_ids: dict[str, str]

    def signed_in(self, username: str) -> httpx.Client:
        answer = httpx.post(f"{self.triage}/v1/session", json={"username": username, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return httpx.Client(cookies={SESSION_COOKIE: answer.cookies[SESSION_COOKIE]}, timeout=10,
                            headers={"X-CSRF-Token": answer.json()["csrf_token"]})

    def as_administrator(self, method: str, path: str, body: dict[str, Any] | None = None) -> None:
        with self.signed_in("ada") as admin:
            answer = admin.request(method, f"{self.triage}{path}", json=body)
        assert answer.status_code == 200, answer.text

    def page_an_incident(self) -> str:
        event = triaged(self.notify.clock.now())
        with self.notify.db.transaction() as s:
            self.notify.chase.on_triaged(s, event, envelope(event, event.incident_id))
        self.notify.dispatchers["email"].dispatch_due()
        return event.incident_id

    def deliveries(self, incident_id: str) -> list[dict[str, Any]]:
        d = tables.deliveries
        with self.notify.db.sessions() as s:
            return [dict(r) for r in s.execute(select(d).where(d.c.incident_id == incident_id)).mappings()]


def deployment_with(tmp_path: Path, directory: Directory) -> Iterator[Deployment]:
    urls = {}
    for name in ("triage", "notify"):
        urls[name] = f"sqlite:///{tmp_path / name}.db"
        upgrade(name, urls[name])
    db = Database(urls["triage"])
    auth = Auth(db, SystemClock())
    user_ids = {username: auth.create_user(username, display, PASSWORD, roles, email=email)
                for username, (display, roles, email) in ACCOUNTS.items()}
    db.dispose()
    with ExitStack() as stack:
        box = stack.enter_context(smtp_server())
        vigil = VigilSettings(environment="test", kafka_bootstrap="127.0.0.1:1", topic_prefix="unused.")
        triage = build_triage(vigil, TriageSettings(database_url=urls["triage"]))
        triage_url = stack.enter_context(serving(triage_app(triage, with_worker=False), name="triage"))
        vigil = vigil.model_copy(update={"triage_internal_url": triage_url})
        settings = NotifySettings(database_url=urls["notify"], channels=["email", "log"], smtp_host=box.host,
                                  smtp_port=box.port, smtp_timeout=3)
        notify = build_notify(vigil, settings, clock=MovableClock(T0), directory=directory)
        notify.staff_access.ttl = 0
        notify.staff_accounts.ttl = 0  # a change at triage shows at once (a minute at most in a deployment)
        notify_url = stack.enter_context(serving(notify_app(notify, with_worker=False), name="notify"))
        yield Deployment(triage_url, notify_url, notify, box, user_ids)
        for service in (triage, notify):
            service.db.dispose()


@pytest.fixture
def dora_on_call(tmp_path: Path) -> Iterator[Deployment]:
    yield from deployment_with(tmp_path, rota_of("dora"))


@pytest.fixture
def dan_on_call(tmp_path: Path) -> Iterator[Deployment]:
    yield from deployment_with(tmp_path, rota_of("dan"))


def test_the_page_goes_to_the_accounts_email_and_a_changed_address_from_the_next_page(
        dora_on_call: Deployment) -> None:
    site = dora_on_call
    site.page_an_incident()
    [first] = wait_for_mail(site.mailbox, DORA)
    assert first.recipients == [DORA]

    site.as_administrator("PUT", f"/v1/users/{site.user_ids['dora']}/contact", {"email": DORA_NEW})
    site.page_an_incident()
    [second] = wait_for_mail(site.mailbox, DORA_NEW)
    assert second.message_id != first.message_id
    assert len(site.mailbox.to(DORA)) == 1, "the old address gets nothing more"


def test_a_disabled_accounts_page_goes_to_the_next_level_and_the_ledger_says_why(dan_on_call: Deployment) -> None:
    site = dan_on_call
    site.as_administrator("POST", f"/v1/users/{site.user_ids['dan']}/disable", {"reason": "left the force"})
    incident_id = site.page_an_incident()

    wait_for_mail(site.mailbox, SUPT)
    assert site.mailbox.to(DAN) == []
    [skipped] = [d for d in site.deliveries(incident_id) if d["recipient"] == "person:dan"]
    assert (skipped["status"], skipped["last_error"]) == ("cancelled", "not paged, the staff account is disabled")
    log = tables.metadata.tables["event_log"]
    with site.notify.db.sessions() as s:
        cancelled = [row_to_envelope(r).data for r in s.execute(
            select(log).where(log.c.type == NotificationCancelled.TYPE)).mappings()]
    assert [c["reason"] for c in cancelled] == ["not paged, the staff account is disabled"]
    assert site.notify.chase.find(incident_id).page.level == 1  # type: ignore[union-attr]

    with site.signed_in("supt") as supervisor:
        home = supervisor.get(f"{site.notify_url}/", headers=HTML)
    assert home.status_code == 200, home.text
    assert "Insp. Dan Night (account disabled)" in home.text and "Supt. Sam Duty" in home.text


def test_triage_answers_staff_contacts_only_to_vigil_services(dora_on_call: Deployment) -> None:
    site = dora_on_call
    site.as_administrator("POST", f"/v1/users/{site.user_ids['dan']}/disable")
    service = service_headers(site.notify.vigil, "notify")
    url = f"{site.triage}/internal/v1/staff"
    assert httpx.get(f"{url}/dora/contact").status_code == 401
    with site.signed_in("ada") as admin:
        assert admin.get(f"{url}/dora/contact").status_code == 401, "a staff session is not the service credential"
    dora = httpx.get(f"{url}/dora/contact", headers=service)
    assert dora.json() == {"username": "dora", "display_name": "Insp. Dora Day", "roles": ["duty_inspector"],
                           "areas": [], "enabled": True, "email": DORA, "phone": None}
    assert dora.headers["cache-control"] == "no-store"
    assert httpx.get(f"{url}/nobody/contact", headers=service).status_code == 404
    inspectors = httpx.get(url, params={"role": "duty_inspector", "area": "E23000001"}, headers=service).json()
    assert [(a["username"], a["enabled"]) for a in inspectors] == [("dan", False), ("dora", True)]


def test_an_on_call_account_limited_to_other_areas_is_passed_over_for_the_next_level(dan_on_call: Deployment) -> None:
    """Dan could not open an incident outside his areas (need to know answers 404), so paging him for one would
    leave it unacknowledged: the next level is paged at once, the ledger says why, the rota page shows it."""
    site = dan_on_call
    site.as_administrator("PUT", f"/v1/users/{site.user_ids['dan']}/areas", {"areas": [WALES]})
    incident_id = site.page_an_incident()  # in the Met's area

    wait_for_mail(site.mailbox, SUPT)
    assert site.mailbox.to(DAN) == []
    [skipped] = [d for d in site.deliveries(incident_id) if d["recipient"] == "person:dan"]
    assert (skipped["status"], skipped["last_error"]) == (
        "cancelled", f"not paged, the staff account does not cover area {MET}")
    assert site.notify.chase.find(incident_id).page.level == 1  # type: ignore[union-attr]

    site.as_administrator("PUT", f"/v1/users/{site.user_ids['dan']}/areas", {"areas": [WALES, MET]})
    again = site.page_an_incident()
    assert [m.recipients for m in wait_for_mail(site.mailbox, DAN)] == [[DAN]]
    assert site.notify.chase.find(again).page.level == 0  # type: ignore[union-attr]


def test_the_rota_page_marks_an_on_call_account_that_does_not_cover_the_area(tmp_path: Path) -> None:
    directory = rota_of("dan")
    directory.areas[MET] = directory.areas["default"].model_copy()
    for site in deployment_with(tmp_path, directory):
        site.as_administrator("PUT", f"/v1/users/{site.user_ids['dan']}/areas", {"areas": [WALES]})
        with site.signed_in("supt") as supervisor:
            home = supervisor.get(f"{site.notify_url}/", headers=HTML)
        assert home.status_code == 200, home.text
        assert "Insp. Dan Night (account does not cover Metropolitan Police)" in home.text, home.text
