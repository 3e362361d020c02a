"""Routines that get done: when each is due or overdue (on a moved clock), Martyn's Law readiness, and
recording an outcome, whose issues raise the site's likelihood until they are resolved."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from hijridate import Hijri

from services.assessment.calendar import LONDON, faith_events
from services.assessment.main import Assessment
from services.assessment.sites.facts import OutcomeFacts, SiteFacts
from services.assessment.sites.guidance import load_guidance_file
from services.assessment.sites.routines import readiness, status
from shared.clock import MovableClock
from shared.events.sites import SiteEntry
from tests.unit.test_sites_api import (
    NOW,
    as_staff,
    mosque,
    new_app,
    new_core,
    register,
    stored_events,
    synagogue,
)


@pytest.fixture
def core(tmp_path: Path) -> Iterator[Assessment]:
    service = new_core(tmp_path)
    yield service
    service.db.dispose()


@pytest.fixture
def app(core: Assessment) -> FastAPI:
    return new_app(core)


GUIDANCE = load_guidance_file()
FRIDAY = datetime(2027, 1, 15, 12, 30, tzinfo=LONDON)   # 45 minutes before Friday prayers at 13:15


def entry(**changes: Any) -> SiteEntry:
    body = mosque(**changes)
    body.pop("contacts")
    return SiteEntry.model_validate(body)


def site_of(e: SiteEntry) -> SiteFacts:
    return SiteFacts("s1", 1, e.area, e.faith.value, e.name, None, NOW - timedelta(days=30), NOW,
                     e.model_dump_json())


def done(routine: str, at: datetime, outcome: str = "done", n: int = 1) -> OutcomeFacts:
    return OutcomeFacts(f"o{n}", "s1", routine, outcome, None, at, at, "lee", "page")


def state_of(code: str, e: SiteEntry, records: list[OutcomeFacts], now: datetime) -> tuple[str, datetime, Any]:
    routine = GUIDANCE.routine(code)
    assert routine is not None
    today = now.astimezone(LONDON).date()
    seasons = faith_events(e.faith.value, today - timedelta(days=9), today + timedelta(days=9))
    found = status(routine, site_of(e), e, records, now, seasons)
    return found.state, found.due_at, found.service


def test_a_weekly_check_is_due_a_day_ahead_and_overdue_after_seven_days() -> None:
    e = entry()
    assert state_of("building_check", e, [], NOW)[:2] == ("never", NOW - timedelta(days=30))
    last = NOW - timedelta(days=2)
    assert state_of("building_check", e, [done("building_check", last)], NOW)[0] == "in_date"
    assert state_of("building_check", e, [done("building_check", last)], NOW + timedelta(days=4, hours=1))[0] == "due"
    later = state_of("building_check", e, [done("building_check", last)], NOW + timedelta(days=5, minutes=1))
    assert later[:2] == ("overdue", last + timedelta(days=7))
    found_issues = done("building_check", last, "issues_found")
    assert state_of("building_check", e, [found_issues], NOW)[0] == "in_date", "issues found: it was still done"
    assert state_of("drill_lockdown", e, [done("drill_lockdown", NOW - timedelta(days=340))], NOW)[0] == "due"


def test_a_perimeter_walk_is_due_before_each_main_service_and_overdue_once_one_passes_without() -> None:
    e = entry()
    now = FRIDAY.astimezone(UTC)
    state, due_at, service = state_of("perimeter_walk", e, [], now)
    assert (state, service.name) == ("due", "Friday prayers")
    assert due_at == datetime(2027, 1, 15, 12, 15, tzinfo=LONDON)
    after = now + timedelta(hours=2)
    state, due_at, service = state_of("perimeter_walk", e, [], after)
    assert (state, service.at) == ("overdue", datetime(2027, 1, 15, 13, 15, tzinfo=LONDON))
    walked = [done("perimeter_walk", now + timedelta(minutes=10))]
    state, due_at, service = state_of("perimeter_walk", e, walked, after)
    assert (state, due_at) == ("in_date", datetime(2027, 1, 22, 12, 15, tzinfo=LONDON))
    wednesday, last_friday = now - timedelta(days=2), now - timedelta(days=7, minutes=-10)
    assert state_of("perimeter_walk", e, [done("perimeter_walk", last_friday)], wednesday)[0] == "in_date"
    assert state_of("perimeter_walk", e, [], wednesday)[0] == "overdue", "last Friday went without its walk"


def test_night_prayers_in_ramadan_need_their_walk_but_not_outside_ramadan() -> None:
    e = entry(services=[{"name": "Taraweeh", "day": "daily", "time": "19:30", "main": True, "season": "Ramadan"}])
    first_night = Hijri(1448, 9, 3).to_gregorian()
    in_ramadan = datetime(first_night.year, first_night.month, first_night.day, 19, 0, tzinfo=LONDON)
    state, _, service = state_of("perimeter_walk", e, [done("perimeter_walk", in_ramadan - timedelta(days=1))],
                                 in_ramadan.astimezone(UTC))
    assert (state, service.name) == ("due", "Taraweeh")
    january = state_of("perimeter_walk", e, [done("perimeter_walk", NOW - timedelta(days=2))], NOW)
    assert january[0] == "in_date" and january[2] is None, "out of season: the weekly rhythm"


def test_martyns_law_readiness_needs_procedures_written_staff_briefed_and_each_drill_within_a_year() -> None:
    today = NOW.astimezone(LONDON).date()
    e = entry(procedures_written_on=str(today - timedelta(days=100)))
    records = [done(code, NOW - timedelta(days=30), n=i) for i, code in enumerate(
        ["staff_briefing", "drill_evacuation", "drill_invacuation", "drill_lockdown", "drill_communication"])]
    ready = readiness(GUIDANCE, e, records, NOW)
    assert ready["applies"] is True and ready["tier"] == "standard" and ready["ready"] is True
    assert ready["drills"]["lockdown"] == {"last": str(today - timedelta(days=30)), "in_date": True}
    stale = [replace(r, performed_at=NOW - timedelta(days=400)) if r.routine == "drill_lockdown" else r
             for r in records]
    not_ready = readiness(GUIDANCE, e, stale, NOW)
    assert not_ready["ready"] is False and not_ready["drills"]["lockdown"]["in_date"] is False
    assert readiness(GUIDANCE, entry(procedures_written_on=None), records, NOW)["procedures_written"] is False
    assert readiness(GUIDANCE, entry(capacity_band="under 200"), records, NOW)["applies"] is False


def test_a_site_lead_records_a_walk_with_its_notes_sealed(app: FastAPI, core: Assessment) -> None:
    site = register(app, mosque())
    as_staff(app, "adam").put("/v1/site-leads/lee", json={"site_ids": [site]})
    lee = as_staff(app, "lee")
    answer = lee.post(f"/v1/sites/{site}/records", json={
        "routine": "perimeter_walk", "outcome": "done", "notes": "All clear; Mr Smith's van parked by the gate"})
    assert answer.status_code == 201, answer.text
    event = stored_events(core.db)[-1]
    assert event["type"] == "vigil.site.routine_recorded.v1" and "Smith" not in event["data"]
    assert json.loads(event["data"])["recorded_by"] == "lee"
    mine = lee.get(f"/v1/sites/{site}/routines").json()
    assert mine["records"][0]["notes"] == "All clear; Mr Smith's van parked by the gate"
    walk = next(r for r in mine["routines"] if r["routine"] == "perimeter_walk")
    assert walk["last_done_at"] == NOW.isoformat() and walk["state"] == "in_date"
    gmp_analyst = as_staff(app, "sup").get(f"/v1/sites/{site}").json()
    assert gmp_analyst["records"][0]["notes"] == "All clear; Mr Smith's van parked by the gate"


def test_issues_found_raise_the_likelihood_until_resolved(app: FastAPI, core: Assessment) -> None:
    site = register(app, synagogue())
    nina = as_staff(app, "nina")
    before = nina.get(f"/v1/sites/{site}").json()["risk"]["likelihood"]
    found = nina.post(f"/v1/sites/{site}/records", json={
        "routine": "system_check", "outcome": "issues_found", "category": "cctv",
        "notes": "camera 2 not recording"})
    outcome = found.json()["outcome_id"]
    page = nina.get(f"/v1/sites/{site}").json()
    assert page["risk"]["likelihood"] == before + 1
    assert "1 issue found by the site's checks not yet resolved: +1" in page["risk"]["reasons"][1]
    assert [i["outcome_id"] for i in page["open_issues"]] == [outcome]
    assert isinstance(core.clock, MovableClock)
    core.clock.advance(timedelta(days=2))
    resolved = nina.post(f"/v1/sites/{site}/records/{outcome}/resolve", json={"notes": "engineer replaced it"})
    assert resolved.status_code == 200
    assert nina.post(f"/v1/sites/{site}/records/{outcome}/resolve", json={}).status_code == 409
    page = nina.get(f"/v1/sites/{site}").json()
    assert page["risk"]["likelihood"] == before and page["open_issues"] == []
    assert page["records"][0]["resolution"] == "engineer replaced it"


def test_a_record_is_refused_naming_what_is_wrong_and_only_recorders_of_the_site_may_record(app: FastAPI) -> None:
    site, other = register(app, mosque()), register(app, synagogue())
    as_staff(app, "adam").put("/v1/site-leads/lee", json={"site_ids": [site]})
    lee = as_staff(app, "lee")
    bad = lee.post(f"/v1/sites/{site}/records", json={"routine": "moat_check", "outcome": "issues_found"})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["routine", "category"]
    future = lee.post(f"/v1/sites/{site}/records", json={
        "routine": "building_check", "outcome": "done", "performed_at": (NOW + timedelta(hours=1)).isoformat()})
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "performed_at"
    assert lee.post(f"/v1/sites/{other}/records", json={"routine": "building_check",
                                                        "outcome": "done"}).status_code == 404
    check = {"routine": "building_check", "outcome": "done"}
    assert as_staff(app, "sup").post(f"/v1/sites/{site}/records", json=check).status_code == 201
    met = register(app, mosque(name="East London Mosque", area="E23000001", postcode_district="E1"))
    assert as_staff(app, "ana").post(f"/v1/sites/{met}/records", json=check).status_code == 403, \
        "an analyst sees the area's sites but does not record their checks"


def test_the_sites_page_shows_readiness_for_the_standard_tier(app: FastAPI) -> None:
    site = register(app, synagogue(procedures_written_on=str(date(2026, 11, 1))))
    nina = as_staff(app, "nina")
    for code in ("staff_briefing", "drill_evacuation", "drill_invacuation", "drill_lockdown", "drill_communication"):
        assert nina.post(f"/v1/sites/{site}/records", json={"routine": code, "outcome": "done"}).status_code == 201
    page = nina.get(f"/v1/sites/{site}").json()
    assert page["martyns_law"]["ready"] is True and page["martyns_law"]["staff_briefed_on"] == "2027-01-13"
    assert {r["routine"]: r["state"] for r in page["routines"]}["drill_lockdown"] == "in_date"
