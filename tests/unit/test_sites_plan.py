"""The control strategy: a mosque's plan across Ramadan and Eid 2027 and a synagogue's across the high holy
days, with dates the calendar computes (never typed in here), measures in priority order and why each is there."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from convertdate import hebrew
from fastapi import FastAPI
from hijridate import Hijri

from services.assessment.main import Assessment
from services.assessment.projection import TensionFacts
from services.assessment.sites.guidance import GuidanceInvalid, load_guidance, load_guidance_file, newest
from services.assessment.store import DbStore
from tests.unit.test_sites_api import (
    GMP,
    as_staff,
    fingerprint,
    mosque,
    new_app,
    new_core,
    place_report,
    register,
    seed_reports,
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


BROWSER = {"Accept": "text/html,application/xhtml+xml"}


def hijri(year: int, month: int, day: int) -> date:
    g = Hijri(year, month, day).to_gregorian()
    return date(g.year, g.month, g.day)


def rosh_hashanah(hebrew_year: int) -> date:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return date(*hebrew.to_gregorian(hebrew_year, 7, 1))


def plan(app: FastAPI, site: str, first: date, last: date) -> dict[str, Any]:
    answer = as_staff(app, "sup").get(f"/v1/sites/{site}/plan", params={"from": str(first), "to": str(last)})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def period(doc: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [p for p in doc["periods"] if p["name"] == name]
    return found


def codes(p: dict[str, Any]) -> list[str]:
    return [m["code"] for m in p["measures"]]


def test_a_mosques_plan_follows_ramadan_and_eid_2027_as_the_calendar_computes_them(app: FastAPI) -> None:
    site = register(app, mosque())
    ramadan, eid = hijri(1448, 9, 1), hijri(1448, 10, 1)
    doc = plan(app, site, ramadan - timedelta(days=7), eid + timedelta(days=10))
    names = [(p["name"], p["start"], p["end"]) for p in doc["periods"]]
    assert ("Ramadan", str(ramadan), str(eid - timedelta(days=1))) in names
    assert ("Last ten nights of Ramadan", str(eid - timedelta(days=10)), str(eid - timedelta(days=1))) in names
    assert ("Before Eid al-Fitr", str(eid - timedelta(days=7)), str(eid - timedelta(days=1))) in names
    assert ("Eid al-Fitr", str(eid), str(eid + timedelta(days=2))) in names
    assert ("Anniversary of the Christchurch mosque attacks", "2027-03-15", "2027-03-15") in names
    assert doc["periods"][0]["kind"] == doc["periods"][-1]["kind"] == "ordinary"
    assert [p["start"] for p in doc["periods"]] == sorted(p["start"] for p in doc["periods"])

    month = period(doc, "Ramadan")
    assert codes(month)[:4] == ["festival_stewards", "taraweeh_stewards", "ramadan_lighting_cctv",
                                "festival_times_to_police"]
    assert [m["priority"] for m in month["measures"]] == sorted(m["priority"] for m in month["measures"])
    lighting = month["measures"][2]
    assert lighting["when"] == "daily in Ramadan, before the evening prayers"
    assert lighting["why"] == [
        "lighting and cameras matter most after dark, and Ramadan's busiest hours are after dark"]
    walk = next(m for m in month["measures"] if m["code"] == "walk_before_services")
    assert walk["when"].endswith("(Friday prayers, Fridays at 13:15; Taraweeh, daily at 19:30)")
    assert walk["why"][-1] == "part of the ordinary routine"
    before = period(doc, "Before Eid al-Fitr")
    assert codes(before) == ["brief_lockdown", "eid_overflow_plan"] and before["adds_to_routine"] is True
    assert before["measures"][0]["action"].startswith("Brief stewards and staff on the lockdown procedure")
    assert codes(period(doc, "Eid al-Fitr"))[:2] == ["festival_stewards", "eid_search"]
    assert not any(p["name"].startswith("Jewish") for p in doc["periods"])
    ordinary = doc["periods"][0]
    assert ordinary["name"] == "Ordinary week" and "raised_risk_patrols" not in codes(ordinary)
    assert next(m for m in ordinary["measures"] if m["code"] == "apply_for_funding")["why"][1] == (
        "the site has no intruder alarm, fencing, gates, door hardening, access control")
    assert doc["guidance"] == {"name": "vigil-places-of-worship", "version": load_guidance_file().version}


def test_a_synagogues_plan_follows_the_high_holy_days(app: FastAPI) -> None:
    site = register(app, synagogue())
    rosh = rosh_hashanah(5788)
    doc = plan(app, site, rosh - timedelta(days=10), rosh + timedelta(days=20))
    holy = period(doc, "Jewish high holy days (Rosh Hashanah to Yom Kippur)")
    assert (holy["start"], holy["end"]) == (str(rosh), str(rosh + timedelta(days=9)))
    assert codes(holy)[:4] == ["festival_stewards", "security_team_at_doors", "brief_before_rosh_hashanah",
                               "yom_kippur_all_day"]
    assert "martyns_law" in codes(holy), "a synagogue of 200-799 is in Martyn's Law's standard tier"
    assert period(doc, "Anniversary of the 7 October 2023 attacks")["start"] == "2027-10-07"
    assert not any(p["name"] == "Ramadan" for p in doc["periods"])
    assert "recruit_stewards" not in codes(doc["periods"][0]), "the synagogue has stewards"


def test_the_plan_changes_with_the_sites_risk_and_heightened_tension(app: FastAPI, core: Any) -> None:
    site = register(app, mosque())
    first = date(2027, 1, 4)
    assert "raised_risk_patrols" not in codes(plan(app, site, first, first + timedelta(days=6))["periods"][0])
    seed_reports(core.db, place_report(1, GMP, datetime(2027, 1, 3, tzinfo=UTC), fingerprint(GMP, "Central Mosque"),
                                       types=("arson",)))
    with core.db.transaction() as s:
        DbStore(s).put_tension(TensionFacts("t1", GMP, datetime(2027, 1, 12, 9, tzinfo=UTC), None,
                                            datetime(2027, 1, 12, 9, tzinfo=UTC)))
    doc = plan(app, site, first, first + timedelta(days=13))
    week = doc["periods"][0]
    assert week["measures"][0]["code"] == "raised_risk_patrols"
    assert week["measures"][0]["why"][1] == "the site's risk is critical"   # the tension counts too
    tension = period(doc, "Heightened tension")
    assert (tension["start"], tension["end"]) == ("2027-01-12", "2027-01-17")
    assert codes(tension) == ["tension_patrols", "tension_walks", "tension_lockdown_brief"]


def test_the_plan_is_a_page_for_a_browser(app: FastAPI) -> None:
    site = register(app, mosque())
    page = as_staff(app, "sup").get(f"/v1/sites/{site}/plan", params={"from": "2027-02-01", "to": "2027-03-14"},
                                    headers=BROWSER)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<h1 class=\"govuk-heading-l\">Security plan, 1 Feb 2027 to 14 Mar 2027</h1>" in page.text
    assert "Stewards at the doors for the night prayers (Taraweeh)" in page.text
    assert "Martyn&#39;s Law" in page.text


@pytest.mark.parametrize(("query", "field"), [({"from": "2027-03-01", "to": "2027-02-01"}, "from"),
                                              ({"from": "2027-01-01", "to": "2028-03-01"}, "to")])
def test_a_plan_for_impossible_days_is_refused(app: FastAPI, query: dict[str, str], field: str) -> None:
    site = register(app, mosque())
    answer = as_staff(app, "sup").get(f"/v1/sites/{site}/plan", params=query)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == field


def test_the_packaged_guidance_loads_and_a_broken_one_is_refused_naming_each_place() -> None:
    text = newest().read_text(encoding="utf-8")
    assert load_guidance(text).routine("perimeter_walk") is not None
    broken = (text.replace("festivals: [Ramadan]\n    why: the month", "festivals: [Ramadhan]\n    why: the month", 1)
              .replace("routine: building_check", "routine: building_survey", 1)
              .replace("procedure: lockdown", "procedure: lockdown_drill", 1))
    with pytest.raises(GuidanceInvalid) as shape:
        load_guidance(broken)
    assert [e["path"] for e in shape.value.errors] == ["routines/5/procedure"]
    with pytest.raises(GuidanceInvalid) as meaning:
        load_guidance(broken.replace("procedure: lockdown_drill", "procedure: lockdown"))
    assert {(e["path"], e["message"]) for e in meaning.value.errors} == {
        ("periods/0/measures/3/routine", "no routine building_survey"),
        ("periods/2/festivals", "'Ramadhan' is not a festival the calendar computes")}
