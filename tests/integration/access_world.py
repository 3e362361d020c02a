"""A small Vigil for access tests: the four services on PostgreSQL, in this process, with one account per
role limited to one force area, a report's follow-up token, a reporting centre's key, each service's own
credential, and objects in the callers' area and in another (incidents, a held report, tension, sites,
notifications, chases, overrides, reports).

Triage and intake also listen on real sockets, because notify and assessment ask triage about sessions and
triage asks intake for personal data over HTTP, as deployed. Everything the tests send goes in-process
(`TestClient`), which keeps a walk of every route for every caller quick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from services.assessment.main import build as build_assessment
from services.assessment.main import create_app as assessment_app
from services.assessment.settings import AssessmentSettings
from services.intake import tables as intake_tables
from services.intake.main import build as build_intake
from services.intake.main import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.notify import tables as notify_tables
from services.notify.channels import LogChannel
from services.notify.ledger import queue
from services.notify.main import build as build_notify
from services.notify.main import create_app as notify_app
from services.notify.settings import NotifySettings
from services.triage import passwords
from services.triage.access import Staff
from services.triage.main import build as build_triage
from services.triage.main import create_app as triage_app
from services.triage.settings import TriageSettings
from shared.clock import SystemClock
from shared.events.base import Envelope, Event
from shared.events.reports import ReportSubmitted
from shared.migrate import upgrade
from shared.settings import SERVICES, VigilSettings
from shared.staffaccess import INTROSPECT_PATH, SESSION_COOKIE, Role
from tests.integration.test_notify_flow import staff_directory, triaged
from tests.support.asgi import serving

AREA, OTHER = "E23000001", "E23000002"  # the callers' force area, and another
PASSWORD = "a long enough password"
NATIONAL_SUPERVISOR = "national_supervisor"


@dataclass
class Caller:
    """Who sends a request: headers and cookies it carries, and the CSRF token for a change made by a session."""

    key: str
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""

    @property
    def staff(self) -> bool:
        return bool(self.cookies)


@dataclass
class World:
    vigil: VigilSettings
    apps: dict[str, FastAPI]
    callers: dict[str, Caller]
    objects: dict[str, str]  # what a path names: "incident" (the callers' area), "incident_other", ...
    sign_in: Callable[[str], Caller]
    urls: dict[str, str]  # triage and intake, on their sockets
    clients: dict[str, TestClient] = field(default_factory=dict)

    def ask(self, service: str, caller: Caller | str, method: str, path: str, **kwargs: Any) -> Any:
        """One request as `caller` (a Caller, or the key of one of the world's), with its CSRF token on a change."""
        who = self.callers[caller] if isinstance(caller, str) else caller
        client = self.client(service)
        client.cookies.clear()
        client.cookies.update(who.cookies)
        headers = {**who.headers, **({"X-CSRF-Token": who.csrf} if who.csrf and method != "GET" else {}),
                   **kwargs.pop("headers", {})}
        return client.request(method, path, headers=headers, **kwargs)

    def client(self, service: str) -> TestClient:
        if service not in self.clients:
            self.clients[service] = TestClient(self.apps[service], follow_redirects=False,
                                               raise_server_exceptions=False)
        return self.clients[service]


def _vigil(kafka: str, **urls: str) -> VigilSettings:
    """Kafka is only asked whether it answers (readiness): nothing here produces or consumes."""
    return VigilSettings(environment="test", kafka_bootstrap=kafka, topic_prefix="unused.", **urls)


def _envelope(event: Event, n: int) -> Envelope:
    return Envelope(id=f"seed-{n}", type=event.TYPE, source="/vigil/test", subject="s", time=datetime.now(UTC),
                    sequence=n, key="k", topic=event.TOPIC, data=event.model_dump(mode="json"))


def submitted(report_id: str, area: str, share_with_police: bool = True, ongoing: bool = True) -> ReportSubmitted:
    now = datetime.now(UTC)
    return ReportSubmitted.model_validate({
        "report_id": report_id, "reference": f"VGL{report_id[-6:].upper()}", "submitted_at": now, "channel": "web",
        "reporter": {"role": "victim", "anonymous": False}, "consent": {"share_with_police": share_with_police},
        "incident": {"occurred_at": now, "types": ["threat"], "targeted_characteristics": ["race"],
                     "ongoing": ongoing, "location": {"area": area, "place_type": "street"}},
        "grading": {"source": "2", "intelligence": "A", "handling": "P"}, "fingerprints": {}})


def report_body(area: str) -> dict[str, Any]:
    return {"reporter": {"role": "victim", "anonymous": True},
            "consent": {"share_with_police": True},
            "incident": {"occurred_at": datetime.now(UTC).isoformat(), "description": "Shouted at in the street.",
                         "types": ["verbal_abuse"], "targeted_characteristics": ["race"],
                         "location": {"area": area, "place_type": "street"}}}


def site_body(name: str, area: str, district: str) -> dict[str, Any]:
    return {"name": name, "faith": "muslim", "area": area, "postcode_district": district, "capacity_band": "800+",
            "measures": ["cctv"], "services": [{"name": "Friday prayers", "day": "friday", "time": "13:15",
                                                "main": True}],
            "contacts": [{"name": "Aisha Khan", "role": "security lead", "email": "aisha@example.org"}]}


@contextmanager
def access_world(new_database: Callable[[str], str], kafka: str) -> Iterator[World]:
    urls = {}
    for name in ("intake", "triage", "notify", "assessment"):
        urls[name] = new_database(name)
        upgrade(name, urls[name])
    with ExitStack() as stack:
        # Passwords are hashed cheaply: the matrix signs in some hundred times, and argon2 at its real cost would
        # be most of its time. What is tested here is who gets in, not the hash.
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        patch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        patch.setattr(passwords, "_DUMMY", passwords._hasher.hash("vigil-no-such-user-password"))
        # Intake first, so triage is built knowing where it is; then intake is told where triage answers.
        intake = build_intake(_vigil(kafka), IntakeSettings(database_url=urls["intake"], rate_limit_enabled=False))
        stack.callback(intake.db.dispose)
        intake_api = intake_app(intake, with_worker=False)
        intake_url = stack.enter_context(serving(intake_api, name="intake"))
        triage = build_triage(_vigil(kafka, intake_internal_url=intake_url),
                              TriageSettings(database_url=urls["triage"]), SystemClock())
        stack.callback(triage.db.dispose)
        triage_api = triage_app(triage, with_worker=False)
        triage_url = stack.enter_context(serving(triage_api, name="triage"))
        intake.staff_access.url = triage_url + INTROSPECT_PATH
        vigil = _vigil(kafka, triage_internal_url=triage_url, intake_internal_url=intake_url)
        notify = build_notify(vigil, NotifySettings(database_url=urls["notify"]), clock=SystemClock(),
                              channels={"log": LogChannel()}, directory=staff_directory(rota_start=datetime.now(UTC)))
        stack.callback(notify.db.dispose)
        assessment = build_assessment(vigil, AssessmentSettings(database_url=urls["assessment"]))
        stack.callback(assessment.db.dispose)
        apps = {"intake": intake_api, "triage": triage_api, "notify": notify_app(notify, with_worker=False),
                "assessment": assessment_app(assessment, with_worker=False)}
        objects: dict[str, str] = {}
        _seed_intake_reports(TestClient(intake_api), intake, objects)
        _seed_triage(triage, objects)
        triage_client = TestClient(triage_api, follow_redirects=False)

        def sign_in(username: str) -> Caller:
            answer = triage_client.post("/v1/session", json={"username": username, "password": PASSWORD})
            assert answer.status_code == 200, answer.text
            return Caller(username, cookies={SESSION_COOKIE: answer.cookies[SESSION_COOKIE]},
                          csrf=answer.json()["csrf_token"])

        callers = {"anonymous": Caller("anonymous")}
        for role in Role:
            callers[role.value] = sign_in(role.value)
        for service in SERVICES:
            callers[f"service:{service}"] = Caller(f"service:{service}", headers={
                "Authorization": f"Bearer {vigil.service_token(service)}"})
        world = World(vigil, apps, callers, objects, sign_in, {"triage": triage_url, "intake": intake_url})
        national = sign_in(NATIONAL_SUPERVISOR)
        _seed_intake(world, intake, objects)
        _seed_notify(notify, objects)
        _seed_assessment(world, national, objects)
        yield world
        for client in world.clients.values():
            client.close()
        triage_client.close()


def _seed_triage(triage: Any, objects: dict[str, str]) -> None:
    for role in Role:
        triage.auth.create_user(role.value, role.value.replace("_", " ").title(), PASSWORD, [role.value], [AREA])
    objects["duty_inspector_id"] = triage.auth.create_user("national_di", "National DI", PASSWORD,
                                                           [Role.duty_inspector.value])
    objects["user_target"] = triage.auth.create_user("target", "Target", PASSWORD, [Role.analyst.value], [AREA])
    objects["user"] = triage.auth.create_user(NATIONAL_SUPERVISOR, "National Supervisor", PASSWORD,
                                              [Role.supervisor.value, Role.admin.value])
    events = [submitted(objects["report_id"], AREA), submitted(objects["report_other_id"], OTHER),
              submitted("r-hld-000003", AREA, share_with_police=False, ongoing=False),
              submitted("r-hld-000004", OTHER, share_with_police=False, ongoing=False)]
    for n, event in enumerate(events, 1):
        with triage.db.transaction() as s:
            triage.decisions.on_report_event(s, _envelope(event, n))
    objects |= {"incident": objects["report_id"], "incident_other": objects["report_other_id"], "held": "r-hld-000003",
                "held_other": "r-hld-000004"}
    national = Staff(objects["user"], NATIONAL_SUPERVISOR, "National Supervisor", frozenset({"supervisor"}))
    objects["tension"] = triage.tension.declare(national, AREA, "a march")["tension_id"]
    objects["tension_other"] = triage.tension.declare(national, OTHER, "a march")["tension_id"]
    with triage.db.transaction() as s:
        for proposal_id, area in (("p-own", AREA), ("p-other", OTHER)):
            triage.tension.store.propose(s, proposal_id, area, "severe", ["a spike"], datetime.now(UTC))
    objects |= {"proposal": "p-own", "proposal_other": "p-other"}


def _seed_intake_reports(client: TestClient, intake: Any, objects: dict[str, str]) -> None:
    """Two reports, each also an incident at triage (another area's, for the second)."""
    for key in ("report", "report_other"):
        answer = client.post("/v1/reports", json=report_body(AREA))
        assert answer.status_code in (201, 202), answer.text
        body = answer.json()
        objects[key] = body["reference"]
        objects[f"{key}_token"] = body["follow_up_token"]
        with intake.db.sessions() as s:
            objects[f"{key}_id"] = s.execute(select(intake_tables.reports.c.report_id).where(
                intake_tables.reports.c.reference == body["reference"])).scalar_one()


def _seed_intake(world: World, intake: Any, objects: dict[str, str]) -> None:
    world.callers["reporter"] = Caller("reporter", headers={"Authorization": f"Bearer {objects['report_token']}"})
    issued = intake.centres.issue("centre-1", "Test centre")
    world.callers["centre"] = Caller("centre", headers={"X-API-Key": issued.api_key})


def _seed_notify(notify: Any, objects: dict[str, str]) -> None:
    now = datetime.now(UTC)
    for key, area in (("chase", AREA), ("chase_other", OTHER)):
        event = triaged(now, area=area)
        with notify.db.transaction() as s:  # as notify's consumer does: the chase, then the CIA prompt
            chase = notify.chase.on_triaged(s, event, _envelope(event, 1))
            notify.assessments.on_triaged(s, event, chase)
        objects[key] = event.incident_id
    with notify.db.transaction() as s:
        for key, incident in (("notification", objects["chase"]), ("notification_other", objects["chase_other"])):
            queue(s, notify.clock, key=f"k-{key}", incident_id=incident, purpose="duty_inspector_alert",
                  channel="log", recipient_role="duty_inspector", recipient="person:di-1", payload={})
            s.execute(update(notify_tables.deliveries).where(notify_tables.deliveries.c.idempotency_key == f"k-{key}")
                      .values(status="gave_up", attempts=5))
    d = notify_tables.deliveries
    with notify.db.sessions() as s:
        for key in ("notification", "notification_other"):
            objects[key] = s.execute(d.select().where(d.c.idempotency_key == f"k-{key}")).mappings().one()[
                "notification_id"]
    for key, area in (("override", AREA), ("override_other", OTHER)):
        event = notify.rota.set_override(area, "di-2", now, now + timedelta(hours=2), "test", "cover")
        objects[key] = event.override_id


def _seed_assessment(world: World, national: Caller, objects: dict[str, str]) -> None:
    client = world.client("assessment")
    client.cookies.clear()
    client.cookies.update(national.cookies)
    for key, area, district in (("site", AREA, "E1"), ("site_other", OTHER, "CA1")):
        answer = client.post("/v1/sites", json=site_body(f"Mosque {key}", area, district),
                             headers={"X-CSRF-Token": national.csrf})
        assert answer.status_code == 201, answer.text
        objects[key] = answer.json()["site_id"]
    lead = client.put(f"/v1/site-leads/{Role.site_lead.value}", json={"site_ids": [objects["site"]]},
                      headers={"X-CSRF-Token": national.csrf})
    assert lead.status_code == 200, lead.text
    client.cookies.clear()
