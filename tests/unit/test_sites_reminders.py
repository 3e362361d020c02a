"""Routines falling due and overdue are announced once each, on a moved clock, for notify to remind and escalate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.assessment.calendar import LONDON
from services.assessment.main import Assessment
from shared.clock import MovableClock
from shared.servicecalls import service_headers
from tests.unit.test_sites_api import as_staff, mosque, new_app, new_core, register, stored_events

THURSDAY = datetime(2027, 1, 14, 14, 0, tzinfo=LONDON)   # the day before Friday prayers at 13:15


@pytest.fixture
def core(tmp_path: Path) -> Iterator[Assessment]:
    service = new_core(tmp_path)
    yield service
    service.db.dispose()


@pytest.fixture
def app(core: Assessment) -> FastAPI:
    return new_app(core)


def notices(core: Assessment) -> list[tuple[str, dict[str, Any]]]:
    return [(e["type"].split(".")[2], json.loads(e["data"])) for e in stored_events(core.db)
            if e["stream_id"].startswith("site-reminders-")]


def move(core: Assessment, to: datetime) -> None:
    assert isinstance(core.clock, MovableClock)
    core.clock.set(to)


def test_a_walk_is_announced_due_before_the_service_and_overdue_once_it_passes_without_one(
        app: FastAPI, core: Assessment) -> None:
    site = register(app, mosque(name="Walk Mosque"))
    as_staff(app, "adam").put("/v1/site-leads/lee", json={"site_ids": [site]})
    first = core.reminders.announce()
    assert first == 7, "every check and drill is due, never done; the walk waits for the day before its service"
    assert core.reminders.announce() == 0, "announced once"
    move(core, THURSDAY)
    assert core.reminders.announce() == 1
    kind, walk = notices(core)[-1]
    assert (kind, walk["routine"], walk["service"], walk["leads"], walk["area"]) == (
        "routine_due", "perimeter_walk", "Friday prayers", ["lee"], "E23000005")
    assert walk["due_at"] == "2027-01-15T12:15:00Z" and walk["site_name"] == "Walk Mosque"
    assert "contacts" not in walk and "Aisha" not in json.dumps(walk)
    move(core, THURSDAY + timedelta(days=1, hours=1))     # Friday 15:00: prayers passed with no walk
    assert core.reminders.announce() == 1
    kind, missed = notices(core)[-1]
    assert (kind, missed["routine"], missed["due_at"]) == ("routine_overdue", "perimeter_walk", "2027-01-15T12:15:00Z")
    assert core.reminders.announce() == 0


def test_a_walk_recorded_in_time_is_not_escalated_and_a_monthly_check_falls_overdue(
        app: FastAPI, core: Assessment) -> None:
    site = register(app, mosque(name="Check Mosque"))
    core.reminders.announce()
    move(core, THURSDAY + timedelta(hours=23))             # Friday 13:00
    lee = as_staff(app, "sup")
    assert lee.post(f"/v1/sites/{site}/records", json={"routine": "perimeter_walk", "outcome": "done"}).status_code \
        == 201
    assert lee.post(f"/v1/sites/{site}/records", json={"routine": "system_check", "outcome": "done"}).status_code \
        == 201
    before = len(notices(core))
    move(core, THURSDAY + timedelta(days=1, hours=1))
    core.reminders.announce()
    assert not any(k == "routine_overdue" for k, _ in notices(core)[before:])
    move(core, THURSDAY + timedelta(days=31))
    core.reminders.announce()
    overdue = [n["routine"] for k, n in notices(core)[before:] if k == "routine_overdue"]
    assert "system_check" in overdue


def test_a_record_from_a_signed_link_is_made_once_for_the_site_lead_it_was_for(app: FastAPI,
                                                                               core: Assessment) -> None:
    site = register(app, mosque(name="Link Mosque"))
    as_staff(app, "adam").put("/v1/site-leads/lee", json={"site_ids": [site]})
    service = TestClient(app, headers=service_headers(core.vigil, "notify"))
    body = {"routine": "perimeter_walk", "outcome": "done", "notes": "all clear", "recorded_by": "lee",
            "link_id": "link-0001-abcd"}
    first = service.post(f"/internal/v1/sites/{site}/records", json=body)
    assert first.status_code == 201 and first.json()["already_recorded"] is False
    again = service.post(f"/internal/v1/sites/{site}/records", json=body)
    assert again.status_code == 200 and again.json() == {**first.json(), "already_recorded": True}
    recorded = [json.loads(e["data"]) for e in stored_events(core.db) if e["type"] == "vigil.site.routine_recorded.v1"]
    assert [(r["recorded_by"], r["via"]) for r in recorded] == [("lee", "link")]
    stranger = service.post(f"/internal/v1/sites/{site}/records", json=body | {"recorded_by": "nina",
                                                                             "link_id": "link-0002-abcd"})
    assert stranger.status_code == 404, "a link for someone who does not lead the site records nothing"
    assert TestClient(app).post(f"/internal/v1/sites/{site}/records", json=body).status_code == 401
