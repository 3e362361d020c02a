"""An area's community impact assessment and its actions chased, end to end on a moved clock: triage (PostgreSQL,
its relay to a real Kafka) records the assessment through its JSON API; notify (PostgreSQL, Kafka) reminds the
action's owner through a real SMTP server when it falls due, chases again while it stays overdue, and stops once
the owner marks it done. Another area's staff, or the assessment asked for under another area, get 404.

`area_cia_stack` is also what tests/browser/test_area_cia_pages.py records from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.notify import tables as notify_tables
from services.notify.main import Notify
from services.notify.main import build as build_notify
from services.notify.settings import NotifySettings
from services.triage.main import Triage
from services.triage.main import build as build_triage
from services.triage.main import create_app as triage_app
from services.triage.settings import TriageSettings
from shared.clock import MovableClock
from shared.migrate import upgrade
from shared.settings import VigilSettings
from shared.staffaccess import SESSION_COOKIE
from tests.integration.test_tension_alerts import directory_of_accounts
from tests.support.asgi import serving
from tests.support.smtp import Mailbox, Received, smtp_server
from tests.support.waiting import eventually

PASSWORD = "a long enough password"
MET, WALES = "E23000001", "W15000004"
OLLY, SAM, WYN = "olly@police.example", "sam@police.example", "wyn@police.example"
ACCOUNTS = {"sam": ("Supt. Sam", ["supervisor"], [MET], SAM), "olly": ("PC Olly Vance", ["neighbourhood_officer"],
                                                                       [MET], OLLY),
            "wyn": ("Supt. Wyn", ["supervisor"], [WALES], WYN)}
EVERY = timedelta(hours=2)  # NOTIFY_AREA_CIA_CHASE_EVERY_HOURS
SECRET_TASK = "Visit the synagogue's committee about the Sunday march"


@dataclass
class AreaCiaStack:
    clock: MovableClock
    triage: Triage
    notify: Notify
    triage_url: str
    mailbox: Mailbox

    def signed_in(self, username: str) -> httpx.Client:
        answer = httpx.post(f"{self.triage_url}/v1/session", json={"username": username, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return httpx.Client(base_url=self.triage_url, timeout=15,
                            cookies={SESSION_COOKIE: answer.cookies[SESSION_COOKIE]},
                            headers={"X-CSRF-Token": answer.json()["csrf_token"]})

    def chases(self, address: str) -> list[Received]:
        return [m for m in self.mailbox.to(address) if "community impact assessment" in str(m.message["Subject"])]

    def action_state(self, action_id: str) -> str | None:
        t = notify_tables.area_cia_actions
        with self.notify.db.sessions() as s:
            return s.execute(select(t.c.state).where(t.c.action_id == action_id)).scalar()

    def chase_timer_fired(self, action_id: str, n: int) -> bool:
        t = notify_tables.timers
        with self.notify.db.sessions() as s:
            rows = s.execute(select(t.c.payload, t.c.fired_at).where(t.c.kind == "area_cia_action")).all()
        return any(json.loads(p) == {"action_id": action_id, "n": n} and fired is not None for p, fired in rows)

    def area_prompt(self) -> str | None:
        """The state of notify's CIA prompt about the area alone (a declaration of heightened tension asks it)."""
        a = notify_tables.assessments
        with self.notify.db.sessions() as s:
            return s.execute(select(a.c.state).where(a.c.area == MET, a.c.incident_id.is_(None))).scalar()

    def deliveries(self) -> list[dict[str, Any]]:
        d = notify_tables.deliveries
        with self.notify.db.sessions() as s:
            return [dict(r) for r in s.execute(select(d).where(d.c.purpose == "area_cia_action_due")).mappings()]


@contextmanager
def area_cia_stack(vigil: VigilSettings, new_database: Callable[[str], str],
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[AreaCiaStack]:
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
    urls = {"triage": new_database("triage"), "notify": new_database("notify")}
    for name, url in urls.items():
        upgrade(name, url)
    triage = build_triage(vigil, TriageSettings(database_url=urls["triage"], seal_staff_text=False), clock)
    for username, (name, roles, areas, email) in ACCOUNTS.items():
        triage.auth.create_user(username, name, PASSWORD, roles, areas=areas, email=email)
    with ExitStack() as stack:
        stack.callback(triage.db.dispose)
        mailbox = stack.enter_context(smtp_server())
        triage_url = stack.enter_context(serving(triage_app(triage, with_worker=False), name="triage"))
        monkeypatch.setenv("VIGIL_STAFF_TRIAGE_URL", triage_url)
        vigil = vigil.model_copy(update={"triage_internal_url": triage_url})
        notify = build_notify(vigil, NotifySettings(
            database_url=urls["notify"], channels=["email", "log"], smtp_host=mailbox.host, smtp_port=mailbox.port,
            staff_ui_url=triage_url, timer_poll_seconds=0.05, retry_base_seconds=1, send_lease_seconds=2,
            smtp_timeout=3, area_cia_chase_every_hours=EVERY.total_seconds() / 3600),
            clock=clock, directory=directory_of_accounts(clock.now()))
        for service in (triage, notify):
            service.kafka.ensure_topics()  # before subscribing: a consumer can take minutes to see a topic made later
            runner = service.runner().start()
            stack.callback(runner.shutdown)
        stack.callback(notify.db.dispose)
        yield AreaCiaStack(clock, triage, notify, triage_url, mailbox)


@pytest.fixture
def stack(vigil_settings: VigilSettings, new_database: Callable[[str], str],
          monkeypatch: pytest.MonkeyPatch) -> Iterator[AreaCiaStack]:
    with area_cia_stack(vigil_settings, new_database, monkeypatch) as running:
        yield running


def test_an_action_is_reminded_when_due_chased_while_overdue_and_no_more_once_done(stack: AreaCiaStack) -> None:
    due = stack.clock.now() + timedelta(hours=3)
    with stack.signed_in("sam") as sam:
        made = sam.post(f"/v1/areas/{MET}/cias", json={
            "community_tension": "substantial", "risk_of_disorder": "moderate", "notes": "tension after the march",
            "actions": [{"description": SECRET_TASK, "owner": "olly", "due_at": due.isoformat()}]})
        assert made.status_code == 201, made.text
        cia = made.json()
        assert made.headers["Location"] == f"/v1/areas/{MET}/cias/{cia['cia_id']}"
        [action] = cia["actions"]
        assert (action["owner"], action["description"], action["done"]) == ("olly", SECRET_TASK, False)
        unknown_owner = sam.post(f"/v1/areas/{MET}/cias", json={
            "community_tension": "low", "risk_of_disorder": "low",
            "actions": [{"description": "x", "owner": "wyn", "due_at": due.isoformat()}]})
        assert unknown_owner.status_code == 422 and unknown_owner.headers["content-type"] == "application/problem+json"
        assert unknown_owner.json()["errors"][0]["field"] == "action_1_owner", "wyn does not cover the area"
        assert sam.get(f"/v1/areas/{WALES}/cias/{cia['cia_id']}").status_code == 404, "asked under another area"
    with stack.signed_in("wyn") as wyn:
        refused = wyn.get(f"/v1/areas/{MET}/cias/{cia['cia_id']}")
        assert refused.status_code == 404 and refused.json()["detail"] == "no such community impact assessment"
        assert wyn.post(f"/v1/areas/{MET}/cias/{cia['cia_id']}/actions/{action['action_id']}/done").status_code == 404
        page = wyn.get(f"/areas/{MET}/cias/{cia['cia_id']}")
        assert page.status_code == 404 and "no such community impact assessment" in page.text
        assert SECRET_TASK not in page.text

    eventually(lambda: stack.action_state(action["action_id"]) == "open", 60, "notify to keep the action")
    stack.clock.set(due - timedelta(minutes=1))
    assert stack.chases(OLLY) == [], "nothing before it falls due"
    stack.clock.set(due + timedelta(minutes=1))
    reminder = eventually(lambda: next(iter(stack.chases(OLLY)), None), 60, "the reminder to the owner")
    assert reminder.message["Subject"] == ("Due now: an action from the community impact assessment for "
                                           "Metropolitan Police")
    page = f"{stack.triage_url}/areas/{MET}/cias/{cia['cia_id']}"
    assert page in reminder.part("plain") and f'href="{page}"' in reminder.part("html")
    assert SECRET_TASK not in reminder.part("plain"), "what the action is stays in triage"

    stack.clock.set(due + EVERY + timedelta(minutes=1))
    chased = eventually(lambda: stack.chases(OLLY)[1] if len(stack.chases(OLLY)) > 1 else None, 60, "the chase")
    assert chased.message["Subject"].startswith("Overdue: an action from the community impact assessment")
    assert "was due" in chased.part("plain")

    with stack.signed_in("olly") as olly:
        done = olly.post(f"/v1/areas/{MET}/cias/{cia['cia_id']}/actions/{action['action_id']}/done")
        assert done.status_code == 200, done.text
        assert done.json()["actions"][0]["done"] is True
        again = olly.post(f"/v1/areas/{MET}/cias/{cia['cia_id']}/actions/{action['action_id']}/done")
        assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    eventually(lambda: stack.action_state(action["action_id"]) == "done", 60, "notify to hear it was done")
    stack.clock.set(due + 2 * EVERY + timedelta(minutes=1))
    eventually(lambda: stack.chase_timer_fired(action["action_id"], 3), 60, "the third chase's timer to fire")
    assert len(stack.chases(OLLY)) == 2, "done: the chase stopped"
    assert stack.chases(SAM) == [] and stack.chases(WYN) == []
    assert sorted((d["recipient"], d["status"]) for d in stack.deliveries()) == [("staff:olly", "sent")] * 2


def test_reviewed_then_closed_stops_the_chase_of_its_open_actions(stack: AreaCiaStack) -> None:
    due = stack.clock.now() + timedelta(hours=1)
    with stack.signed_in("sam") as sam:
        assert sam.post("/v1/tension", json={"area": MET, "reason": "disorder after a march"}).status_code == 201
    eventually(lambda: stack.area_prompt() == "open", 60, "notify to prompt for the area's assessment")
    with stack.signed_in("olly") as olly:
        made = olly.post(f"/v1/areas/{MET}/cias", json={"community_tension": "moderate", "risk_of_disorder": "low"})
        assert made.status_code == 201, made.text
        path = f"/v1/areas/{MET}/cias/{made.json()['cia_id']}"
        eventually(lambda: stack.area_prompt() == "completed", 60, "the area's assessment to answer the prompt")
        reviewed = olly.post(f"{path}/reviews", json={
            "community_tension": "severe", "risk_of_disorder": "substantial", "notes": "worse overnight",
            "actions": [{"description": "Brief the faith leaders", "owner": "sam", "due_at": due.isoformat()}]})
        assert reviewed.status_code == 200, reviewed.text
        body = reviewed.json()
        assert [(a["n"], a["community_tension"], a["notes"]) for a in body["assessments"]] == [
            (0, "moderate", ""), (1, "severe", "worse overnight")]
        action_id = body["actions"][0]["action_id"]
        assert olly.post(f"{path}/actions/{action_id}/done").status_code == 403, "not olly's action, nor a supervisor"
        assert olly.post(f"{path}/closure", json={"reason": ""}).status_code == 422
        closed = olly.post(f"{path}/closure", json={"reason": "tension eased"})
        assert closed.status_code == 200 and closed.json()["close_reason"] == "tension eased"
        assert olly.post(f"{path}/reviews", json={"community_tension": "low",
                                                  "risk_of_disorder": "low"}).status_code == 409
        listed = olly.get(f"/v1/areas/{MET}/cias").json()["cias"]
        assert [(c["state"], c["community_tension"]) for c in listed] == [("closed", "severe")]
    eventually(lambda: stack.action_state(action_id) == "closed", 60, "notify to hear it was closed")
    stack.clock.set(due + timedelta(minutes=1))
    eventually(lambda: stack.chase_timer_fired(action_id, 1), 60, "the due timer to fire")
    assert stack.chases(SAM) == [] and stack.deliveries() == []
