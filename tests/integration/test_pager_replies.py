"""Answering an alert by SMS: triage and notify on real Kafka, PostgreSQL and sockets, the alert SMS caught by
an HTTP SMS gateway, and the reply posted to notify's inbound webhook as the gateway would, signed or not.

`pager_stack` is also what tests/browser/test_pager_links.py runs its email links against.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from infra.procs import free_port
from services.notify import tables as notify_tables
from services.notify.chase.model import ChaseState
from services.notify.links import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_inbound
from services.notify.main import Notify
from services.notify.main import build as build_notify
from services.notify.main import create_app as notify_app
from services.notify.policy import Directory
from services.notify.settings import NotifySettings
from services.triage.auth import Auth
from services.triage.incident import Incident, Report, State
from services.triage.incident_store import IncidentRepository
from services.triage.main import Triage
from services.triage.main import build as build_triage
from services.triage.main import create_app as triage_app
from services.triage.rules import Decision
from services.triage.settings import TriageSettings
from shared.clock import SystemClock
from shared.db import Database
from shared.events.incidents import IncidentAcknowledged, IncidentEscalated, MatchedRule, Priority
from shared.ids import new_id, new_reference
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.support.http_receiver import Receiver, http_receiver
from tests.support.smtp import Mailbox, smtp_server
from tests.support.waiting import eventually

INBOUND_SECRET = "the SMS gateway and notify share this"
DI_EMAIL, DI_PHONE = "sarah.north@police.example", "+447700900001"
PASSWORD = "a long enough password"


def directory() -> Directory:
    return Directory.model_validate({
        "people": {"di-north": {"name": "Insp. Sarah North", "email": DI_EMAIL, "phone": DI_PHONE,
                                "channels": ["email", "sms"]},
                   "supt": {"name": "Supt. Helen Ward", "email": "helen.ward@police.example"}},
        "teams": {"command": ["supt"]},
        "policies": {"standard": {"resend_every_minutes": 5, "loops": 0, "levels": [
            {"targets": ["on_call"], "delay_minutes": 15}, {"targets": ["person:supt"], "delay_minutes": 15}]}},
        "areas": {"default": {"rota": {"start": "2026-01-05T07:00:00Z", "shift_hours": 12, "people": ["di-north"]},
                              "policy": "standard", "neighbourhood_team": "command", "community_liaison": "command"}},
    })


@dataclass
class Stack:
    triage: Triage
    notify: Notify
    triage_url: str
    notify_url: str
    mailbox: Mailbox
    gateway: Receiver
    di_north: str  # the Duty Inspector's staff account id

    def open_p1(self) -> Incident:
        """An incident as triage decides one needing the Duty Inspector; its relay takes it to notify."""
        report = Report(new_id(), new_reference(), "E23000001")
        decision = Decision([MatchedRule(code="arson", explanation="arson")], Priority.P1,
                            "critical, and arson", True, "test")
        incident = Incident.open(report, decision, datetime.now(UTC), {Priority.P1: 15, Priority.P2: 60})
        with self.triage.db.transaction() as s:
            IncidentRepository(self.triage.store).save(s, incident)
        return incident

    def incident(self, incident_id: str) -> Incident:
        return self.triage.workflow.get(incident_id)

    def acknowledgements(self, incident_id: str) -> list[IncidentAcknowledged]:
        with self.triage.db.sessions() as s:
            events = [env.event() for env in self.triage.store.load(s, incident_id)]
        return [e for e in events if isinstance(e, IncidentAcknowledged)]

    def chase_state(self, incident_id: str) -> ChaseState | None:
        found = self.notify.chase.find(incident_id)
        return found.state if found else None


@contextmanager
def serving_at(app: Any, port: int, name: str) -> Iterator[str]:
    """An app on a port chosen beforehand: each service's links and calls name the other's address."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        eventually(lambda: server.started and httpx.get(f"{base}/healthz", timeout=2).status_code == 200, 20,
                   f"{name} to answer")
        yield base
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def pager_stack(vigil: VigilSettings, new_database: Callable[[str], str],
                monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    urls = {name: new_database(name) for name in ("triage", "notify")}
    for name, url in urls.items():
        upgrade(name, url)
    accounts = Database(urls["triage"])
    di_north = Auth(accounts, SystemClock()).create_user("di-north", "Insp. Sarah North", PASSWORD,
                                                         ["duty_inspector"])
    accounts.dispose()
    bases = {name: f"http://127.0.0.1:{free_port()}" for name in urls}
    vigil = vigil.model_copy(update={"triage_internal_url": bases["triage"]})
    monkeypatch.setenv("VIGIL_STAFF_TRIAGE_URL", bases["triage"])  # where the pages send a person to sign in
    monkeypatch.setenv("VIGIL_STAFF_NOTIFY_URL", bases["notify"])
    with ExitStack() as stack:
        mailbox = stack.enter_context(smtp_server())
        gateway = stack.enter_context(http_receiver(path="/messages"))
        triage = build_triage(vigil, TriageSettings(database_url=urls["triage"]))
        notify = build_notify(vigil, NotifySettings(
            database_url=urls["notify"], channels=["email", "sms", "log"], smtp_host=mailbox.host,
            smtp_port=mailbox.port, sms_gateway_url=gateway.url, sms_inbound_secret=INBOUND_SECRET,
            links_url=bases["notify"], staff_ui_url=bases["triage"], timer_poll_seconds=0.05),
            directory=directory())
        for service in (triage, notify):
            service.kafka.ensure_topics()  # before subscribing: a consumer can take minutes to see a topic made later
            runner = service.runner().start()
            stack.callback(service.db.dispose)
            stack.callback(runner.shutdown)
        triage_base = stack.enter_context(serving_at(triage_app(triage, with_worker=False),
                                                     int(bases["triage"].rsplit(":", 1)[1]), "triage"))
        notify_base = stack.enter_context(serving_at(notify_app(notify, with_worker=False),
                                                     int(bases["notify"].rsplit(":", 1)[1]), "notify"))
        yield Stack(triage, notify, triage_base, notify_base, mailbox, gateway, di_north)


def alert_sms(stack: Stack, reference: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        texts = [r.json() for r in stack.gateway.all()]
        return next((t for t in texts if reference in t["text"] and "Reply ACK" in t["text"]), None)

    return eventually(found, 90, "the alert SMS to reach the gateway")


def post_reply(stack: Stack, text: str, sender: str = DI_PHONE, secret: str = INBOUND_SECRET,
               timestamp: int | None = None) -> httpx.Response:
    body = json.dumps({"id": new_id(), "from": sender, "to": "Vigil", "text": text}).encode()
    stamp = str(timestamp or int(datetime.now(UTC).timestamp()))
    return httpx.post(f"{stack.notify_url}/v1/sms/inbound", content=body, timeout=10, headers={
        "content-type": "application/json", TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign_inbound(secret, stamp, body)})


@pytest.fixture
def stack(vigil_settings: VigilSettings, new_database: Callable[[str], str],
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with pager_stack(vigil_settings, new_database, monkeypatch) as running:
        yield running


def test_an_sms_reply_acknowledges_for_the_duty_inspector_and_a_forged_one_is_refused(stack: Stack) -> None:
    incident = stack.open_p1()
    sms = alert_sms(stack, incident.reference)
    assert sms["to"] == DI_PHONE
    code = re.search(r"Reply ACK (\d{4}) to acknowledge, ESC \1 to escalate", sms["text"])
    assert code is not None, sms["text"]

    forged = post_reply(stack, f"ACK {code[1]}", secret="a guess at the secret")
    assert forged.status_code == 401 and forged.headers["content-type"].startswith("application/problem+json")
    assert forged.json()["status"] == 401 and "signature" in forged.json()["detail"]
    stale = post_reply(stack, f"ACK {code[1]}", timestamp=int(datetime.now(UTC).timestamp()) - 301)
    assert stale.status_code == 401 and "too old" in stale.json()["detail"]
    stranger = post_reply(stack, f"ACK {code[1]}", sender="+447700900999")
    assert stranger.status_code == 200 and stranger.json() == {"outcome": "unknown_sender"}
    assert stack.incident(incident.incident_id).state == State.open

    answered = post_reply(stack, f"ack {code[1]}")
    assert answered.status_code == 200, answered.text
    assert answered.json() == {"outcome": "acknowledged", "reference": incident.reference}
    acknowledged = stack.incident(incident.incident_id)
    assert acknowledged.state == State.acknowledged and acknowledged.acknowledged_by == stack.di_north
    [event] = stack.acknowledgements(incident.incident_id)
    assert event.via == "sms reply" and event.acknowledged_by == stack.di_north

    eventually(lambda: stack.chase_state(incident.incident_id) == ChaseState.acknowledged, 60,
               "notify's chase to stop on triage's event")
    told = eventually(lambda: [r.json()["text"] for r in stack.gateway.all()
                               if r.json()["to"] == DI_PHONE and "acknowledged by you" in r.json()["text"]], 60,
                      "the confirmation SMS")
    assert incident.reference in told[0]
    again = post_reply(stack, f"ACK {code[1]}")
    assert again.json()["outcome"] == "already_used" and len(stack.acknowledgements(incident.incident_id)) == 1


def test_only_the_alert_email_carries_links_and_they_lead_to_notify(stack: Stack) -> None:
    incident = stack.open_p1()
    [email] = eventually(lambda: [r for r in stack.mailbox.to(DI_EMAIL) if incident.reference in
                                  str(r.message["Subject"])], 90, "the alert email")
    text = email.part("plain")
    assert f"{stack.notify_url}/a/" in text and f"{stack.notify_url}/e/" in text
    assert f"/incidents/{incident.incident_id}" in text
    [prompt] = eventually(lambda: stack.mailbox.to("helen.ward@police.example"), 90, "the CIA prompt")
    assert "/a/" not in prompt.part("plain") and "/e/" not in prompt.part("html")
    with stack.notify.db.sessions() as s:
        d = notify_tables.deliveries
        alerts = s.execute(select(d.c.channel).where(d.c.incident_id == incident.incident_id,
                                                     d.c.purpose == "duty_inspector_alert")).scalars().all()
    assert sorted(alerts) == ["email", "sms"]


def test_an_sms_reply_escalates_at_once_and_the_next_level_is_paged(stack: Stack) -> None:
    incident = stack.open_p1()
    sms = alert_sms(stack, incident.reference)
    code = re.search(r"ESC (\d{4}) to escalate", sms["text"])
    assert code is not None, sms["text"]
    answered = post_reply(stack, f"ESC {code[1]}")
    assert answered.json() == {"outcome": "escalated", "reference": incident.reference}
    with stack.triage.db.sessions() as s:
        [escalated] = [e for e in (env.event() for env in stack.triage.store.load(s, incident.incident_id))
                       if isinstance(e, IncidentEscalated)]
    assert (escalated.level, escalated.escalated_by, escalated.via) == (1, stack.di_north, "sms reply")
    [paged] = eventually(lambda: [r for r in stack.mailbox.to("helen.ward@police.example")
                                  if str(r.message["Subject"]).startswith("[P1] ESCALATED")], 60,
                         "the next level's alert")
    assert incident.reference in str(paged.message["Subject"])
    assert stack.incident(incident.incident_id).state == State.open
