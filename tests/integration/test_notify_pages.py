"""Notify's staff pages over real HTTP, with staff signed in at a real triage: who may read, who may change
the rota and give-ups (the JSON API's roles), forms with the session's CSRF token, post/redirect/get with a
message nobody can put in through the URL, and every change an event."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from services.notify import tables
from services.notify.channels import LogChannel
from services.notify.ledger import queue
from services.notify.main import Notify
from services.notify.main import build as build_notify
from services.notify.main import create_app as notify_app
from services.notify.settings import NotifySettings
from services.triage.auth import Auth
from services.triage.main import build as build_triage
from services.triage.main import create_app as triage_app
from services.triage.settings import TriageSettings
from shared.clock import MovableClock, SystemClock
from shared.db import Database
from shared.events.notifications import (
    NotificationDeliveryResolved,
    NotificationDeliveryRetried,
    RotaOverrideRemoved,
    RotaOverrideSet,
)
from shared.eventstore import row_to_envelope
from shared.migrate import upgrade
from shared.settings import VigilSettings
from shared.staffaccess import SESSION_COOKIE
from tests.integration.test_notify_api import T0
from tests.integration.test_notify_flow import staff_directory
from tests.support.asgi import serving

PASSWORD = "a long enough password"
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
MET = "E23000001"
USERS = {"sue": ("Sue Supervisor", ["supervisor"]), "dora": ("Dora Inspector", ["duty_inspector"]),
         "tom": ("Tom Officer", ["triage_officer"]), "ana": ("Ana Analyst", ["analyst"])}


@dataclass
class Site:
    triage: str
    notify_url: str
    notify: Notify

    def browser(self, username: str | None = None) -> httpx.Client:
        """A client that asks for pages, as a browser does, signed in as `username` (and its CSRF token)."""
        client = httpx.Client(base_url=self.notify_url, headers=HTML, timeout=10)
        if username:
            answer = httpx.post(f"{self.triage}/v1/session", json={"username": username, "password": PASSWORD})
            assert answer.status_code == 200, answer.text
            client.cookies.set(SESSION_COOKIE, answer.cookies[SESSION_COOKIE])
            client.headers["X-Test-CSRF"] = answer.json()["csrf_token"]
        return client

    def events(self, event_type: str) -> list[dict[str, object]]:
        log = tables.metadata.tables["event_log"]
        with self.notify.db.sessions() as s:
            return [row_to_envelope(r).data for r in s.execute(select(log).where(log.c.type == event_type)
                                                              .order_by(log.c.seq)).mappings()]

    def queue_deliveries(self, count: int, gave_up: tuple[int, ...] = ()) -> list[str]:
        with self.notify.db.transaction() as s:
            for i in range(count):
                queue(s, self.notify.clock, key=f"k{i:02}", incident_id="i1", purpose="duty_inspector_alert",
                      channel="email", recipient_role="duty_inspector", recipient="person:di-1", payload={})
            d = tables.deliveries
            for i in gave_up:
                s.execute(d.update().where(d.c.idempotency_key == f"k{i:02}").values(
                    status="gave_up", attempts=5, last_error="SMTPDataError: 421 try later"))
            return [r for r in s.execute(select(d.c.notification_id).order_by(d.c.idempotency_key)).scalars()]


def _csrf(client: httpx.Client) -> str:
    return client.headers["X-Test-CSRF"]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    urls = {}
    for name in ("triage", "notify"):
        urls[name] = f"sqlite:///{tmp_path / name}.db"
        upgrade(name, urls[name])
    db = Database(urls["triage"])
    auth = Auth(db, SystemClock())
    for username, (display, roles) in USERS.items():
        auth.create_user(username, display, PASSWORD, roles)
    db.dispose()
    with ExitStack() as stack:
        vigil = VigilSettings(environment="test", kafka_bootstrap="127.0.0.1:1", topic_prefix="unused.")
        triage = build_triage(vigil, TriageSettings(database_url=urls["triage"]))
        triage_url = stack.enter_context(serving(triage_app(triage, with_worker=False), name="triage"))
        monkeypatch.setenv("VIGIL_STAFF_TRIAGE_URL", triage_url)
        vigil = vigil.model_copy(update={"triage_internal_url": triage_url})
        notify = build_notify(vigil, NotifySettings(database_url=urls["notify"]), clock=MovableClock(T0),
                              channels={"log": LogChannel()}, directory=staff_directory(rota_start=T0))
        notify.staff_access.ttl = 0
        notify_url = stack.enter_context(serving(notify_app(notify, with_worker=False), name="notify"))
        yield Site(triage_url, notify_url, notify)
        for service in (triage, notify):
            service.db.dispose()


def _override_form(csrf: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf, "area": MET, "person_id": "di-2", "starts_at": "2026-11-21T08:00",
            "ends_at": "2026-11-21T12:00", "reason": "Shift swap with DI One", **fields}


def test_a_browser_without_a_sign_in_is_sent_to_triage_and_api_clients_see_no_page(site: Site) -> None:
    with site.browser() as browser:
        page = browser.get("/", params={"status": "gave_up"})
        form = browser.post("/rota/overrides", data=_override_form("x"))
    assert page.status_code == 303
    assert page.headers["location"] == f"{site.triage}/login?" + httpx.QueryParams(
        {"next": f"{site.notify_url}/?status=gave_up"}).__str__()
    assert form.status_code == 303 and form.headers["location"].endswith(
        httpx.QueryParams({"next": f"{site.notify_url}/"}).__str__())
    api = httpx.get(f"{site.notify_url}/", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    assert site.events(RotaOverrideSet.TYPE) == []


def test_only_duty_inspectors_supervisors_and_administrators_may_read(site: Site) -> None:
    for username in ("tom", "ana"):
        with site.browser(username) as browser:
            refused = browser.get("/")
        assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
        assert "You do not have permission" in refused.text
    with site.browser("dora") as browser:
        page = browser.get("/")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Notifications and on call" in page.text and "Dora Inspector" in page.text
    assert "DI One" in page.text and "DI Two" in page.text
    assert "until 20:00 GMT, Sat 21 Nov 2026" in page.text, "on call now until the handover, in London time"
    assert 'action="/rota/overrides"' not in page.text and "Only supervisors and administrators" in page.text


def test_a_duty_inspector_cannot_change_the_rota_or_give_ups_even_with_a_forged_form(site: Site) -> None:
    [given_up] = site.queue_deliveries(1, gave_up=(0,))
    with site.browser("dora") as browser:
        csrf = _csrf(browser)
        answers = [browser.post("/rota/overrides", data=_override_form(csrf)),
                   browser.post(f"/notifications/{given_up}/retry", data={"csrf_token": csrf}),
                   browser.post(f"/notifications/{given_up}/resolve", data={"csrf_token": csrf}),
                   browser.get(f"/notifications/{given_up}/resolve")]
    assert [a.status_code for a in answers] == [403, 403, 403, 403]
    for event_type in (RotaOverrideSet.TYPE, NotificationDeliveryRetried.TYPE, NotificationDeliveryResolved.TYPE):
        assert site.events(event_type) == []


def test_a_supervisor_adds_and_removes_an_override_each_an_event(site: Site) -> None:
    with site.browser("sue") as browser:
        csrf = _csrf(browser)
        added = browser.post("/rota/overrides", data=_override_form(csrf))
        assert added.status_code == 303 and added.headers["location"] == "/?done=override-added#overrides"
        page = browser.get(added.headers["location"])
        assert "Override added." in page.text
        [set_] = site.events(RotaOverrideSet.TYPE)
        assert (set_["area"], set_["person_id"], set_["set_by"], set_["reason"]) == (
            MET, "di-2", "sue", "Shift swap with DI One")
        assert (set_["starts_at"], set_["ends_at"]) == ("2026-11-21T08:00:00Z", "2026-11-21T12:00:00Z")
        assert "Metropolitan Police" in page.text and "Shift swap with DI One" in page.text

        removal = f"/rota/overrides/{set_['override_id']}/remove"
        confirm = browser.get(removal)
        assert confirm.status_code == 200 and "Remove this override?" in confirm.text
        removed = browser.post(removal, data={"csrf_token": csrf, "reason": "DI One is back"})
        assert removed.status_code == 303 and removed.headers["location"] == "/?done=override-removed#overrides"
        again = browser.post(removal, data={"csrf_token": csrf})
    [gone] = site.events(RotaOverrideRemoved.TYPE)
    assert (gone["override_id"], gone["removed_by"], gone["reason"]) == (set_["override_id"], "sue", "DI One is back")
    assert again.status_code == 404 and again.headers["content-type"].startswith("text/html")


def test_a_change_without_the_sessions_csrf_token_is_refused(site: Site) -> None:
    with site.browser("sue") as browser:
        missing = browser.post("/rota/overrides", data={k: v for k, v in _override_form("").items()
                                                       if k != "csrf_token"})
        wrong = browser.post("/rota/overrides", data=_override_form("guess"))
    assert (missing.status_code, wrong.status_code) == (403, 403)
    assert "This form has expired" in wrong.text
    assert site.events(RotaOverrideSet.TYPE) == []


def test_a_bad_override_form_is_shown_again_with_every_problem_and_what_was_typed(site: Site) -> None:
    with site.browser("sue") as browser:
        answer = browser.post("/rota/overrides", data=_override_form(
            _csrf(browser), person_id="", ends_at="2026-11-21T07:00", reason="Typed <b>this</b>"))
    assert answer.status_code == 422
    assert "There is a problem" in answer.text
    assert 'href="#person_id">Select who will be on call' in answer.text
    assert 'href="#ends_at">The end must be after the start' in answer.text
    assert "Typed &lt;b&gt;this&lt;/b&gt;" in answer.text and "<b>this</b>" not in answer.text
    assert site.events(RotaOverrideSet.TYPE) == []


def test_the_message_after_a_change_cannot_be_put_in_through_the_url(site: Site) -> None:
    with site.browser("dora") as browser:
        page = browser.get("/", params={"done": "<script>alert(1)</script>", "msg": "Call 0800 FAKE now"})
    assert page.status_code == 200
    assert "alert(1)" not in page.text and "0800 FAKE" not in page.text and 'role="status"' not in page.text


def test_a_supervisor_retries_one_give_up_and_marks_another_dealt_with(site: Site) -> None:
    ids = site.queue_deliveries(3, gave_up=(0, 1))
    with site.browser("sue") as browser:
        csrf = _csrf(browser)
        page = browser.get("/")
        assert page.text.count("Send again</button>") == 2 and "2 notifications could not be sent" in page.text
        retried = browser.post(f"/notifications/{ids[0]}/retry",
                               data={"csrf_token": csrf, "status": "gave_up", "channel": "email"})
        assert retried.headers["location"] == "/?done=retried&status=gave_up&channel=email#attention"
        confirm = browser.get(f"/notifications/{ids[1]}/resolve")
        assert "Mark this notification as dealt with?" in confirm.text and "DI One" in confirm.text
        resolved = browser.post(f"/notifications/{ids[1]}/resolve",
                                data={"csrf_token": csrf, "reason": "Phoned DI One at 08:10"})
        assert resolved.status_code == 303
        twice = browser.post(f"/notifications/{ids[1]}/resolve", data={"csrf_token": csrf})
        after = browser.get("/")
    assert twice.status_code == 409 and "marked as dealt with already" in twice.text
    assert "Send again</button>" not in after.text and "Nothing has given up." in after.text
    [retry] = site.events(NotificationDeliveryRetried.TYPE)
    [resolve] = site.events(NotificationDeliveryResolved.TYPE)
    assert (retry["notification_id"], retry["retried_by"]) == (ids[0], "sue")
    assert (resolve["notification_id"], resolve["resolved_by"], resolve["reason"]) == (
        ids[1], "sue", "Phoned DI One at 08:10")


def test_the_delivery_list_pages_and_filters_in_the_url(site: Site) -> None:
    site.queue_deliveries(30, gave_up=(7,))
    with site.browser("dora") as browser:
        first = browser.get("/")
        second = browser.get("/", params={"page": "2"})
        gave_up = browser.get("/", params={"status": "gave_up", "channel": "email"})
        nothing = browser.get("/", params={"channel": "sms"})
    assert "Showing 1 to 25 of 30 notifications" in first.text and 'href="/?page=2#sent"' in first.text
    assert "Showing 26 to 30 of 30 notifications" in second.text
    assert "Showing 1 to 1 of 1 notification," in gave_up.text
    assert '<option value="gave_up" selected>' in gave_up.text.replace('selected="selected"', "selected")
    assert "No notifications match these filters." in nothing.text


def test_the_rota_api_lists_overrides_and_removes_one_with_an_event(site: Site) -> None:
    session = httpx.post(f"{site.triage}/v1/session", json={"username": "sue", "password": PASSWORD})
    sue = {"Authorization": f"Bearer {session.cookies[SESSION_COOKIE]}"}  # sue's session, as an API client
    window = {"person_id": "di-2", "starts_at": T0.isoformat(), "ends_at": (T0 + timedelta(hours=2)).isoformat()}
    made = httpx.put(f"{site.notify_url}/v1/rota/{MET}/overrides", json=window, headers=sue).json()
    listed = httpx.get(f"{site.notify_url}/v1/rota/{MET}", headers=sue).json()["overrides"]
    assert [o["override_id"] for o in listed] == [made["override_id"]]
    url = f"{site.notify_url}/v1/rota/{MET}/overrides/{made['override_id']}"
    assert httpx.request("DELETE", url.replace(MET, "W15000004"), headers=sue).status_code == 404
    gone = httpx.request("DELETE", url, json={"reason": "back"}, headers=sue)
    assert gone.status_code == 200 and gone.json()["removed"] is True
    assert httpx.get(f"{site.notify_url}/v1/rota/{MET}", headers=sue).json()["on_call"] == "di-1"
    assert [(e["reason"], e["removed_by"]) for e in site.events(RotaOverrideRemoved.TYPE)] == [("back", "sue")]
