"""A tension proposal from assessment alerts the area's supervisors at once: the event on a real broker, their
staff accounts at a real triage over HTTP, the alert through a real SMTP server with the link to the tension page,
once however often the event is delivered, and on the ledger."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from services.notify import tables
from services.notify.main import Notify
from services.notify.policy import Directory
from services.triage.main import build as build_triage
from services.triage.main import create_app as triage_app
from services.triage.settings import TriageSettings
from shared.clock import MovableClock
from shared.events.areas import AreaTensionRaised, RiskLevel
from shared.migrate import upgrade
from shared.settings import VigilSettings
from shared.staffaccess import SESSION_COOKIE
from tests.integration.test_notify_flow import (
    MET,
    envelope,
    mailbox,  # noqa: F401  (the SMTP server fixture)
    nothing_pending,
    notify_settings,
    publish,
    running_notify,
)
from tests.support.asgi import serving
from tests.support.smtp import Mailbox, wait_for_mail
from tests.support.waiting import eventually

PASSWORD = "a long enough password"
WALES = "W15000004"
SAM, NIA, WYN, DORA = "sam@police.example", "nia@police.example", "wyn@police.example", "dora@police.example"
ACCOUNTS = {"sam": ("Supt. Sam", ["supervisor"], [MET], SAM), "nia": ("Ch. Supt. Nia", ["supervisor"], [], NIA),
            "wyn": ("Supt. Wyn", ["supervisor"], [WALES], WYN), "dora": ("Insp. Dora", ["duty_inspector"], [MET], DORA)}


def directory_of_accounts(start: datetime) -> Directory:
    return Directory.model_validate({
        "people": {"sam": {}, "nia": {}, "wyn": {}, "dora": {}, "snt": {"name": "Sgt", "email": "snt@police.example"},
                   "clo": {"name": "CLO", "email": "clo@police.example"}},
        "teams": {"nt": ["snt"], "cl": ["clo"]},
        "policies": {"p": {"levels": [{"targets": ["on_call"]}, {"targets": ["person:wyn"]}]}},
        "areas": {"default": {"rota": {"start": start.isoformat(), "people": ["dora"]}, "policy": "p",
                              "neighbourhood_team": "nt", "community_liaison": "cl"}},
    })


@contextmanager
def triage_with_accounts(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    upgrade("triage", url)
    triage = build_triage(VigilSettings(environment="test"), TriageSettings(database_url=url))
    for username, (name, roles, areas, email) in ACCOUNTS.items():
        triage.auth.create_user(username, name, PASSWORD, roles, areas=areas, email=email)
    try:
        with serving(triage_app(triage, with_worker=False), name="triage") as base:
            yield base
    finally:
        triage.db.dispose()


def tension_alerts(notify: Notify) -> list[dict[str, Any]]:
    d = tables.deliveries
    with notify.db.sessions() as s:
        return [dict(r) for r in s.execute(select(d).where(d.c.purpose == "tension_alert")).mappings()]


def test_a_tension_proposal_reaches_the_areas_supervisors_inbox_with_the_link_to_confirm_or_dismiss(
        tmp_path: Path, vigil_settings: VigilSettings, new_database: Callable[[str], str], mailbox: Mailbox,  # noqa: F811
) -> None:
    start = datetime.now(UTC)
    with triage_with_accounts(tmp_path) as triage:
        vigil = vigil_settings.model_copy(update={"triage_internal_url": triage})
        settings = notify_settings(new_database, mailbox, staff_ui_url=triage)
        with running_notify(vigil, settings, MovableClock(start), directory_of_accounts(start)) as notify:
            rise = AreaTensionRaised(area=MET, level=RiskLevel.severe, previous_level=RiskLevel.low,
                                     reasons=["a spike: 9 reports against 2 expected"], raised_at=start)
            proposal = envelope(rise, MET)
            publish(vigil, proposal, proposal)  # delivered twice: alerted once
            [alert] = wait_for_mail(mailbox, SAM, 1, timeout=60)
            wait_for_mail(mailbox, NIA, 1)
            wait_for_mail(mailbox, "clo@police.example", 1)  # the assessment prompt still goes
            eventually(lambda: nothing_pending(notify), what="the ledger to settle")
            ledger = tension_alerts(notify)
        link = f"{triage}/tension?area={MET}"
        assert "Heightened tension proposed for Metropolitan Police" in alert.message["Subject"]
        assert link in alert.part("plain") and f'href="{link}"' in alert.part("html")
        assert "a spike: 9 reports against 2 expected" in alert.part("plain")
        assert len(mailbox.to(SAM)) == 1 and len(mailbox.to(NIA)) == 1
        assert mailbox.to(WYN) == [] and mailbox.to(DORA) == [], "only the area's supervisors are alerted"
        assert sorted((r["recipient"], r["channel"], r["status"]) for r in ledger) == [
            ("person:nia", "email", "sent"), ("person:sam", "email", "sent")]
        assert all(json.loads(r["payload"])["context"]["level"] == "severe" for r in ledger)
        page = _opened_as_supervisor(triage, link)
    assert page.status_code == 200 and "Proposals from assessment" in page.text


def _opened_as_supervisor(triage: str, link: str) -> httpx.Response:
    answer = httpx.post(f"{triage}/v1/session", json={"username": "sam", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    parts = urlsplit(link)
    return httpx.get(f"{triage}{parts.path}?{parts.query}", cookies={SESSION_COOKIE: answer.cookies[SESSION_COOKIE]},
                     headers={"Accept": "text/html"}, timeout=10)
