"""Notify's home page in Chromium, as a supervisor uses it: sent to triage to sign in and back, who is on call,
an override added and removed, at desktop and phone widths, with axe, no sideways scrolling and nothing refused by
the Content-Security-Policy.

Triage and notify run in this process on real sockets (SQLite each); notify asks triage about the session
over HTTP, as in production. The screenshots in docs/screenshots are taken here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Page, expect

from infra.assets import ensure_assets
from infra.procs import free_port
from services.notify import tables
from services.notify.channels import LogChannel
from services.notify.ledger import queue
from services.notify.main import Notify
from services.notify.main import build as build_notify
from services.notify.main import create_app as notify_app
from services.notify.policy import Directory
from services.notify.settings import NotifySettings
from services.triage import ui as triage_pages
from services.triage.auth import Auth
from services.triage.main import build as build_triage
from services.triage.main import create_app as triage_app
from services.triage.settings import TriageSettings
from shared.clock import MovableClock, SystemClock
from shared.db import Database
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.browser.pages import looks_right, sign_in_with_form
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "a long enough password"
NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
SHIFTS_FROM = datetime(2026, 11, 16, 7, 0, tzinfo=UTC)


def directory() -> Directory:
    rota = {"start": SHIFTS_FROM.isoformat(), "shift_hours": 12}
    return Directory.model_validate({
        "people": {"di-north": {"name": "Insp. Sarah North"}, "di-khan": {"name": "Insp. Imran Khan"},
                   "di-jones": {"name": "Insp. Bethan Jones"}, "supt": {"name": "Supt. Helen Ward"},
                   "ch-insp": {"name": "Ch. Insp. David Osei"}, "sgt": {"name": "Sgt Priya Shah"},
                   "clo": {"name": "PC Tom Evans"}},
        "teams": {"neighbourhood": ["sgt"], "community-liaison": ["clo"], "command": ["supt", "ch-insp"]},
        "policies": {"standard": {"resend_every_minutes": 5, "loops": 1, "levels": [
            {"targets": ["on_call"], "delay_minutes": 15}, {"targets": ["person:supt"], "delay_minutes": 15},
            {"targets": ["team:command"], "delay_minutes": 30}]}},
        "areas": {"default": {"rota": {**rota, "people": ["di-north", "di-khan"]}, "policy": "standard",
                              "neighbourhood_team": "neighbourhood", "community_liaison": "community-liaison"},
                  "W15000004": {"rota": {**rota, "people": ["di-jones", "di-north"]}, "policy": "standard",
                                "neighbourhood_team": "neighbourhood", "community_liaison": "community-liaison"}},
    })


@dataclass(frozen=True)
class Delivery:
    purpose: str
    channel: str
    recipient: str
    status: str
    minutes_ago: int
    error: str | None = None


DELIVERIES = [
    Delivery("duty_inspector_alert", "sms", "person:di-north", "gave_up", 52, "SmsGatewayError: 503"),
    Delivery("cia_reminder", "email", "person:sgt", "gave_up", 40, "no email address in the directory"),
    Delivery("duty_inspector_alert", "email", "person:di-north", "sent", 52),
    Delivery("cia_prompt", "email", "person:clo", "sent", 45),
    Delivery("reporter_receipt", "reporter", "reporter:r1", "sent", 44),
    Delivery("duty_inspector_alert", "email", "person:supt", "pending", 37, "SMTPServerDisconnected: closed"),
    Delivery("reporter_update", "reporter", "reporter:r2", "cancelled", 20),
]


def seed(notify: Notify) -> None:
    d = tables.deliveries
    with notify.db.transaction() as s:
        s.execute(tables.chases.insert().values(
            incident_id="i1", reference="HC7K2M9QXD", area="E23000001", priority="P1", matched="[]", state="paging",
            page="L2.0.0", started_at=NOW, updated_at=NOW))
        for i, item in enumerate(DELIVERIES):
            at = NOW - timedelta(minutes=item.minutes_ago)
            key = f"seed-{i}"
            queue(s, MovableClock(at), key=key, incident_id="i1", purpose=item.purpose, channel=item.channel,
                  recipient_role="staff", recipient=item.recipient, payload={})
            s.execute(d.update().where(d.c.idempotency_key == key).values(
                status=item.status, last_error=item.error, attempts=0 if item.status == "cancelled" else 5
                if item.status == "gave_up" else 1, sent_at=at if item.status == "sent" else None))


@contextmanager
def serving_at(app: Any, port: int, name: str) -> Iterator[str]:
    """Like tests.support.asgi.serving, on a port chosen beforehand: each service's links name the other."""
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


@pytest.fixture
def staff_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    ensure_assets()
    urls = {name: f"sqlite:///{tmp_path / name}.db" for name in ("triage", "notify")}
    for name, url in urls.items():
        upgrade(name, url)
    db = Database(urls["triage"])
    Auth(db, SystemClock()).create_user("sue", "Sue Okafor", PASSWORD, ["supervisor"])
    db.dispose()
    ports = {name: free_port() for name in urls}
    bases = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    monkeypatch.setenv("VIGIL_STAFF_TRIAGE_URL", bases["triage"])
    monkeypatch.setenv("VIGIL_STAFF_NOTIFY_URL", bases["notify"])
    triage_pages.site.cache_clear()  # triage reads the staff site once per process; this one is new
    vigil = VigilSettings(environment="test", kafka_bootstrap="127.0.0.1:1", topic_prefix="unused.",
                          triage_internal_url=bases["triage"])
    triage = build_triage(vigil, TriageSettings(database_url=urls["triage"]))
    notify = build_notify(vigil, NotifySettings(database_url=urls["notify"]), clock=MovableClock(NOW),
                          channels={"log": LogChannel()}, directory=directory())
    notify.staff_access.ttl = 0
    seed(notify)
    with ExitStack() as stack:
        stack.enter_context(serving_at(triage_app(triage, with_worker=False), ports["triage"], "triage"))
        stack.enter_context(serving_at(notify_app(notify, with_worker=False), ports["notify"], "notify"))
        yield bases
    for service in (triage, notify):
        service.db.dispose()


def sign_in_from_notify(page: Page, staff_site: dict[str, str]) -> None:
    """Open notify's home without a session: triage's sign-in, told to come back to it once signed in."""
    page.goto(staff_site["notify"] + "/")
    expect(page).to_have_url(f"{staff_site['triage']}/login?next=" + staff_site["notify"].replace(":", "%3A")
                             .replace("/", "%2F") + "%2F")
    sign_in_with_form(page, "sue", password=PASSWORD)


def test_a_supervisor_signs_in_and_adds_then_removes_an_override(sized: Page, staff_site: dict[str, str]) -> None:
    page = sized
    sign_in_from_notify(page, staff_site)
    expect(page).to_have_url(staff_site["notify"] + "/")
    expect(page.get_by_role("heading", name="Notifications and on call")).to_be_visible()
    default = page.locator('[data-area="default"]')
    expect(default.locator(".vigil-on-call-now")).to_contain_text("Insp. Sarah North")
    expect(default.locator(".vigil-on-call-now")).to_contain_text("until 19:00 GMT, Sat 21 Nov 2026")
    expect(default.locator(".vigil-on-call-next")).to_contain_text("Insp. Imran Khan")
    expect(page.locator("#policies ~ dl").first).to_contain_text("Supt. Helen Ward")
    expect(page.locator(".vigil-give-up")).to_have_count(2)
    looks_right(page)

    form = page.locator('form[action="/rota/overrides"]')
    form.get_by_label("Area").select_option(label="Metropolitan Police")
    form.get_by_label("Who will be on call").select_option(label="Insp. Imran Khan")
    expect(form.get_by_label("Starts")).to_have_value("2026-11-21T09:30")
    form.get_by_label("Ends").fill("2026-11-21T19:00")
    form.get_by_label("Reason").fill("Insp. North is off sick; Insp. Khan covers the Met until the handover.")
    form.get_by_role("button", name="Add override").click()

    expect(page.get_by_role("status")).to_contain_text("Override added.")
    row = page.locator(".vigil-override")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Metropolitan Police")
    expect(row).to_contain_text("Insp. Imran Khan")
    expect(row).to_contain_text("19:00 GMT, Sat 21 Nov 2026")
    expect(page.locator('[data-area="E23000001"] .vigil-on-call-now')).to_contain_text("Insp. Imran Khan")
    looks_right(page)
    page.screenshot(path=str(SCREENSHOTS / f"notify-home-{page.width_name}.png"),  # type: ignore[attr-defined]
                    full_page=True)

    row.get_by_role("link", name="Remove the override for Insp. Imran Khan in Metropolitan Police").click()
    expect(page.get_by_role("heading", name="Remove this override?")).to_be_visible()
    looks_right(page)
    page.get_by_label("Why are you removing it? (optional)").fill("Insp. North is back")
    page.get_by_role("button", name="Remove override").click()

    expect(page.get_by_role("status")).to_contain_text("Override removed.")
    expect(page.locator(".vigil-override")).to_have_count(0)
    expect(page.locator('[data-area="E23000001"]')).to_have_count(0)
    looks_right(page)
