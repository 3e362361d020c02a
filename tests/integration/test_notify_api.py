"""Notify's staff API over real HTTP: rota overrides, bad input as problem+json, give-ups retried and resolved;
every change is an event saying who made it, when and why."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from services.notify import tables
from services.notify.channels import LogChannel
from services.notify.ledger import queue
from services.notify.main import Notify, build
from services.notify.settings import NotifySettings
from shared.clock import MovableClock
from shared.events.base import Envelope
from shared.events.notifications import NotificationDeliveryResolved, NotificationDeliveryRetried, RotaOverrideSet
from shared.eventstore import row_to_envelope
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.integration.test_notify_flow import STAFF_USER, http_api, staff_directory

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[Notify]:
    url = f"sqlite:///{tmp_path / 'notify.db'}"
    upgrade("notify", url)
    n = build(vigil=VigilSettings(environment="test"), settings=NotifySettings(database_url=url),
              clock=MovableClock(T0), channels={"log": LogChannel()}, directory=staff_directory(rota_start=T0))
    yield n
    n.db.dispose()


def _appended(notify: Notify, event_type: str) -> list[Envelope]:
    log = tables.metadata.tables["event_log"]
    with notify.db.sessions() as s:
        return [row_to_envelope(r) for r in s.execute(select(log).where(log.c.type == event_type)
                                                      .order_by(log.c.seq)).mappings()]


def test_a_rota_override_changes_who_is_on_call_for_its_window(notify: Notify) -> None:
    window = {"person_id": "di-2", "starts_at": T0.isoformat(), "ends_at": (T0 + timedelta(hours=2)).isoformat()}
    with http_api(notify) as api:
        assert api.get("/v1/rota/E23000001").json()["on_call"] == "di-1"
        assert api.put("/v1/rota/E23000001/overrides", json=window).status_code == 201
        now = api.get("/v1/rota/E23000001").json()
        later = api.get("/v1/rota/E23000001", params={"at": (T0 + timedelta(hours=3)).isoformat()}).json()
    assert (now["on_call"], now["override"]) == ("di-2", True)
    assert (later["on_call"], later["override"]) == ("di-1", False)
    assert [level["targets"] for level in now["policy"]["levels"]] == [["on_call"], ["person:supt"]]
    [set_] = _appended(notify, RotaOverrideSet.TYPE)
    event = set_.event()
    assert isinstance(event, RotaOverrideSet) and set_.key == "E23000001"
    assert (event.area, event.person_id, event.starts_at, event.ends_at) == ("E23000001", "di-2", T0,
                                                                             T0 + timedelta(hours=2))
    assert (event.set_by, event.set_at, event.reason) == (STAFF_USER, T0, None)


def test_a_rota_override_records_why(notify: Notify) -> None:
    window = {"person_id": "di-2", "starts_at": T0.isoformat(), "ends_at": (T0 + timedelta(hours=2)).isoformat(),
              "reason": "di-1 off sick"}
    with http_api(notify) as api:
        assert api.put("/v1/rota/E23000001/overrides", json=window).status_code == 201
    [set_] = _appended(notify, RotaOverrideSet.TYPE)
    assert set_.data["reason"] == "di-1 off sick"


def test_bad_overrides_are_refused_naming_the_field(notify: Notify) -> None:
    with http_api(notify) as api:
        unknown = api.put("/v1/rota/E23000001/overrides", json={
            "person_id": "nobody", "starts_at": T0.isoformat(), "ends_at": (T0 + timedelta(hours=1)).isoformat()})
        backwards = api.put("/v1/rota/E23000001/overrides", json={
            "person_id": "di-2", "starts_at": T0.isoformat(), "ends_at": (T0 - timedelta(hours=1)).isoformat()})
    assert unknown.status_code == 422 and unknown.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in unknown.json()["errors"]] == ["person_id"]
    assert backwards.status_code == 422 and "ends_at must be after starts_at" in backwards.text


def test_a_give_up_is_listed_until_resolved_and_can_be_retried(notify: Notify) -> None:
    with notify.db.transaction() as s:
        for key in ("k1", "k2"):
            queue(s, notify.clock, key=key, incident_id="i1", purpose="duty_inspector_alert", channel="log",
                  recipient_role="duty_inspector", recipient="person:di-1", payload={})
        s.execute(tables.deliveries.update().values(status="gave_up", attempts=5, last_error="SMTPDataError: 421"))
    with http_api(notify) as api:
        first, second = api.get("/v1/notifications/give-ups").json()
        assert first["error_kind"] == "SMTPDataError"
        assert api.post(f"/v1/notifications/{first['notification_id']}/resolve",
                        json={"reason": "phoned the duty inspector"}).status_code == 200
        assert api.post(f"/v1/notifications/{second['notification_id']}/retry").json()["status"] == "pending"
        assert api.get("/v1/notifications/give-ups").json() == []
        again = api.post(f"/v1/notifications/{second['notification_id']}/retry")
        missing = api.post("/v1/notifications/nope/resolve")
        pending = api.get("/v1/notifications", params={"status": "pending"}).json()
    assert again.status_code == 409 and missing.status_code == 404
    assert [(n["notification_id"], n["attempts"]) for n in pending] == [(second["notification_id"], 0)]
    [resolved] = [e.event() for e in _appended(notify, NotificationDeliveryResolved.TYPE)]
    [retried] = [e.event() for e in _appended(notify, NotificationDeliveryRetried.TYPE)]
    assert isinstance(resolved, NotificationDeliveryResolved) and isinstance(retried, NotificationDeliveryRetried)
    assert (resolved.notification_id, resolved.resolved_by, resolved.resolved_at, resolved.reason) == (
        first["notification_id"], STAFF_USER, T0, "phoned the duty inspector")
    assert (retried.notification_id, retried.retried_by, retried.retried_at, retried.reason) == (
        second["notification_id"], STAFF_USER, T0, None)
    assert (retried.purpose, retried.channel, retried.incident_id) == ("duty_inspector_alert", "log", "i1")


def test_refused_changes_append_no_event(notify: Notify) -> None:
    with http_api(notify) as api:
        assert api.post("/v1/notifications/nope/retry").status_code == 404
        assert api.put("/v1/rota/E23000001/overrides", json={
            "person_id": "nobody", "starts_at": T0.isoformat(),
            "ends_at": (T0 + timedelta(hours=1)).isoformat()}).status_code == 422
    for event_type in (NotificationDeliveryRetried.TYPE, RotaOverrideSet.TYPE):
        assert _appended(notify, event_type) == []
