"""A community impact assessment prompt's link opens the assessment it asks for, on a real triage over HTTP: the
incident's CIA page for an incident, the tension page for the area when the prompt is about the area alone."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from services.notify import tables
from services.notify.main import Notify
from services.notify.main import build as build_notify
from services.notify.messages import Templates
from services.notify.settings import NotifySettings
from services.triage.main import Triage
from services.triage.main import build as build_triage
from services.triage.main import create_app as triage_app
from services.triage.settings import TriageSettings
from shared.clock import MovableClock
from shared.events.areas import AreaTensionRaised, RiskLevel
from shared.events.incidents import Priority
from shared.migrate import upgrade
from shared.settings import VigilSettings
from shared.staffaccess import SESSION_COOKIE
from tests.integration.test_notify_flow import MET, envelope, staff_directory, triaged
from tests.support.asgi import serving
from tests.unit.test_triage_pages import START, arrives

PASSWORD = "a long enough password"
LINK = re.compile(r"^Record it here: (\S+)$", re.MULTILINE)


@dataclass
class Deployment:
    triage: str
    triage_service: Triage
    notify: Notify

    def signed_in(self, username: str) -> httpx.Client:
        answer = httpx.post(f"{self.triage}/v1/session", json={"username": username, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return httpx.Client(base_url=self.triage, cookies={SESSION_COOKIE: answer.cookies[SESSION_COOKIE]},
                            timeout=10, headers={"Accept": "text/html"})

    def prompt_links(self) -> list[str]:
        """Each prompt on the ledger rendered as its recipient reads it, and the link it gives."""
        with self.notify.db.sessions() as s:
            payloads = [json.loads(p) for p in s.execute(select(tables.deliveries.c.payload).where(
                tables.deliveries.c.purpose == "cia_prompt")).scalars()]
        texts = [Templates().render(p["template"], "en", p["context"]).text for p in payloads]
        return sorted({m.group(1) for text in texts if (m := LINK.search(text))})


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    urls = {name: f"sqlite:///{tmp_path / name}.db" for name in ("triage", "notify")}
    for name, url in urls.items():
        upgrade(name, url)
    vigil = VigilSettings(environment="test", kafka_bootstrap="127.0.0.1:1", topic_prefix="unused.")
    triage = build_triage(vigil, TriageSettings(database_url=urls["triage"]), MovableClock(START))
    triage.auth.create_user("sam", "Supt. Sam", PASSWORD, ["supervisor"])
    with ExitStack() as stack:
        triage_url = stack.enter_context(serving(triage_app(triage, with_worker=False), name="triage"))
        notify = build_notify(vigil.model_copy(update={"triage_internal_url": triage_url}),
                              NotifySettings(database_url=urls["notify"], staff_ui_url=triage_url),
                              clock=MovableClock(START), directory=staff_directory(rota_start=START))
        yield Deployment(triage_url, triage, notify)
        for service in (triage, notify):
            service.db.dispose()


def test_a_critical_incidents_prompt_opens_its_community_impact_assessment_form(deployment: Deployment) -> None:
    arrives(deployment.triage_service, "r-1")
    with deployment.signed_in("sam") as sam:
        [incident] = sam.get("/v1/incidents", headers={"Accept": "application/json"}).json()
        event = triaged(START, Priority.P2, incident_id=incident["incident_id"])
        with deployment.notify.db.transaction() as s:
            deployment.notify.assessments.on_triaged(s, event, None)
        [link] = deployment.prompt_links()
        assert link.startswith(deployment.triage)
        page = sam.get(urlsplit(link).path)
    assert page.status_code == 200, page.text
    assert f'action="/incidents/{incident["incident_id"]}/record-cia"' in page.text
    assert "Record a community impact assessment" in page.text and 'name="community_tension"' in page.text


def test_a_tension_rise_prompt_opens_the_tension_page_for_the_area(deployment: Deployment) -> None:
    rise = AreaTensionRaised(area=MET, level=RiskLevel.severe, reasons=["a spike"], raised_at=START)
    with deployment.notify.db.transaction() as s:
        deployment.notify.assessments.on_tension_raised(s, rise, envelope(rise, MET))
    [link] = deployment.prompt_links()
    parts = urlsplit(link)
    assert (parts.path, parts.query) == ("/tension", f"area={MET}")
    with deployment.signed_in("sam") as sam:
        page = sam.get(f"{parts.path}?{parts.query}")
    assert page.status_code == 200, page.text
    assert "Heightened tension" in page.text and 'id="declare"' in page.text
