"""Neighbourhood teams (teams.py): the file read with every problem named; `team=` narrowing an area's tasking
list (JSON, page, PDF) to the team's postcode districts; the morning announcement per team with the rest of the
area's apart; notify sending a team's list to the people its directory names for the team. Over SQLite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.assessment.calendar import LONDON
from services.assessment.main import Assessment, build, create_app
from services.assessment.settings import AssessmentSettings
from services.assessment.sites.teams import Team, Teams, load_teams_file, parse_teams
from services.notify import tables as notify_tables
from services.notify.main import Notify
from services.notify.main import build as build_notify
from services.notify.neighbourhood import IN_AREA, NAMED_TEAM, NeighbourhoodOfficers
from services.notify.settings import NotifySettings
from shared.areas import default_registry
from shared.clock import MovableClock
from shared.events.base import Envelope
from shared.events.sites import AnnouncedTask, SiteTaskingAnnounced
from shared.ids import new_id
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.unit.test_notify_sites import Accounts, account
from tests.unit.test_notify_sites import directory as notify_directory
from tests.unit.test_sites_api import GMP, MET, FakeTriage, as_staff, stored_events, vigil
from tests.unit.test_sites_tasking_api import DAY, seeded

TEAMS = """
teams:
  manchester-south: {name: Manchester South neighbourhood team, area: E23000005, postcode_districts: [M13, M14]}
  prestwich: {name: Prestwich neighbourhood team, area: E23000005, postcode_districts: [M25]}
"""


@pytest.fixture
def core(tmp_path: Path) -> Iterator[Assessment]:
    url = f"sqlite:///{tmp_path / 'assessment.db'}"
    upgrade("assessment", url)
    path = tmp_path / "teams.yaml"
    path.write_text(TEAMS, encoding="utf-8")
    service = build(vigil(), AssessmentSettings(database_url=url, tasking_teams_file=path),
                    clock=MovableClock(datetime(2027, 1, 1, tzinfo=UTC)))
    yield service
    service.db.dispose()


@pytest.fixture
def app(core: Assessment) -> FastAPI:
    application = create_app(core, with_worker=False)
    application.state.staff_access = FakeTriage(vigil(), "assessment")
    return application


# ---- the file ---------------------------------------------------------------------------------------------

def test_the_file_names_every_problem_at_once() -> None:
    with pytest.raises(ValueError, match="teams") as bad:
        parse_teams({"teams": {
            "Bad Code": {"area": GMP, "postcode_districts": ["M13"]},
            "nowhere": {"area": "X99", "postcode_districts": ["M14"]},
            "overlap": {"area": GMP, "postcode_districts": ["M13", "M1 1AA", "zz"]},
            "empty": {"area": GMP, "postcode_districts": []}}}, default_registry())
    said = str(bad.value)
    assert "teams.Bad Code: a code is lower-case" in said
    assert "teams.nowhere.area: X99 is not a police force area" in said
    assert "teams.overlap.postcode_districts: M13 is already Bad Code's" in said
    assert "'M1 1AA' is not a postcode district" in said and "'zz' is not a postcode district" in said
    assert "teams.empty.postcode_districts: name at least one" in said


def test_no_file_means_no_teams_and_a_file_reads_its_teams(tmp_path: Path) -> None:
    assert load_teams_file(None, default_registry()).of_area(GMP) == []
    path = tmp_path / "teams.yaml"
    path.write_text(TEAMS, encoding="utf-8")
    teams = load_teams_file(path, default_registry())
    assert [t.code for t in teams.of_area(GMP)] == ["manchester-south", "prestwich"] and teams.of_area(MET) == []
    assert teams.get("prestwich") == Team("prestwich", "Prestwich neighbourhood team", GMP, frozenset({"M25"}))


# ---- the list, narrowed -----------------------------------------------------------------------------------

def test_a_teams_list_is_its_postcode_districts_share_of_the_areas(app: FastAPI, core: Assessment) -> None:
    central, shul = seeded(app, core)  # Central Mosque (M13) tasked; Heaton Park Synagogue (M25) not
    nina = as_staff(app, "nina")
    south = nina.get("/v1/tasking", params={"area": GMP, "team": "manchester-south", "date": DAY.isoformat()})
    assert south.status_code == 200, south.text
    assert south.json()["team"] == "manchester-south"
    assert [t["site_id"] for t in south.json()["tasks"]] == [central] and south.json()["not_tasked"] == []
    prestwich = nina.get("/v1/tasking", params={"team": "prestwich", "date": DAY.isoformat()}).json()
    assert prestwich["area"] == GMP, "a team names its area"
    assert prestwich["tasks"] == [] and [t["site_id"] for t in prestwich["not_tasked"]] == [shul]
    whole = nina.get("/v1/tasking", params={"area": GMP, "date": DAY.isoformat()}).json()
    assert whole["team"] is None and [t["site_id"] for t in whole["tasks"]] == [central]

    page = nina.get("/v1/tasking", params={"team": "prestwich", "date": DAY.isoformat()},
                    headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Prestwich neighbourhood team" in page.text
    assert '<input type="hidden" name="team" value="prestwich">' in page.text and "Central Mosque" not in page.text
    assert "team=prestwich" in page.text, "the briefing sheet's link keeps the team"
    pdf = nina.get("/v1/tasking.pdf", params={"team": "manchester-south", "date": DAY.isoformat()})
    assert pdf.status_code == 200 and "tasking-E23000005-manchester-south-" in pdf.headers["content-disposition"]


def test_an_unknown_team_or_another_areas_is_a_problem_and_areas_still_bound_who_reads(
        app: FastAPI, core: Assessment) -> None:
    seeded(app, core)
    sup = as_staff(app, "sup")
    unknown = sup.get("/v1/tasking", params={"team": "atlantis"})
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("application/problem+json")
    other = sup.get("/v1/tasking", params={"area": MET, "team": "prestwich"})
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "team"
    assert sup.get("/v1/tasking", params={"team": "x" * 41}).status_code == 422
    assert as_staff(app, "ana").get("/v1/tasking", params={"team": "prestwich"}).status_code == 403


# ---- the morning, per team --------------------------------------------------------------------------------

def announced(core: Assessment) -> list[dict[str, Any]]:
    return [json.loads(e["data"]) for e in stored_events(core.db) if e["type"] == "vigil.site.tasking_announced.v1"]


def test_the_morning_goes_per_team_and_the_rest_of_the_area_apart(app: FastAPI, core: Assessment) -> None:
    central, _ = seeded(app, core)
    clock = core.clock
    assert isinstance(clock, MovableClock)
    clock.set(datetime.combine(DAY, time(7, 0), LONDON).astimezone(UTC))
    assert core.mornings.announce() == 1
    [south] = announced(core)
    assert (south["team"], south["team_name"]) == ("manchester-south", "Manchester South neighbourhood team")
    assert [t["site_id"] for t in south["tasks"]] == [central], "prestwich had no tasks: no message"

    core.mornings.teams = Teams([Team("prestwich", "Prestwich", GMP, frozenset({"M25"}))])
    clock.set(datetime.combine(DAY + timedelta(days=1), time(7, 0), LONDON).astimezone(UTC))
    core.mornings.announce()
    rest = announced(core)[1:]
    assert [(a["team"], [t["site_id"] for t in a["tasks"]]) for a in rest] == [(None, [central])], \
        "a site outside every team's districts is on the area's own list"


# ---- notify: a team's list to the team's people -----------------------------------------------------------

def test_a_teams_people_are_the_directorys_team_else_the_areas_officers() -> None:
    officers = NeighbourhoodOfficers(notify_directory(), Accounts(account("nora", ("neighbourhood_officer",), (GMP,))))
    named = officers.of_team("nt", GMP)
    assert (named.recipients, named.chosen_by) == (("person:snt",), NAMED_TEAM)
    unnamed = officers.of_team("prestwich", GMP)
    assert (unnamed.recipients, unnamed.chosen_by) == (("staff:nora",), IN_AREA)


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[Notify]:
    url = f"sqlite:///{tmp_path / 'notify.db'}"
    upgrade("notify", url)
    n = build_notify(vigil=VigilSettings(environment="test"),
                     settings=NotifySettings(database_url=url, channels=["log"]),
                     clock=MovableClock(datetime(2027, 1, 14, 6, 0, tzinfo=UTC)), directory=notify_directory())
    n.tasking.officers = NeighbourhoodOfficers(n.directory, Accounts(account("nora", ("neighbourhood_officer",),
                                                                             (GMP,))))
    yield n
    n.db.dispose()


def test_notify_sends_a_teams_list_to_its_people_named_for_the_team_once(notify: Notify) -> None:
    task = AnnouncedTask(task_id="t-1", site_id="s-1", site_name="Central Mosque", postcode_district="M13", rank=1,
                         level="substantial")
    event = SiteTaskingAnnounced(area=GMP, day=DAY, tasks=[task], announced_at=notify.clock.now(), team="nt",
                                 team_name="Manchester South neighbourhood team")
    env = Envelope(id=new_id(), type=event.TYPE, source="/vigil/test", subject=GMP, time=notify.clock.now(),
                   sequence=1, key=GMP, topic=event.TOPIC, data=event.model_dump(mode="json"))
    for _ in range(2):
        with notify.db.transaction() as s:
            notify.tasking.on_announced(s, event, env)
    with notify.db.sessions() as s:
        sent = [dict(r) for r in s.execute(select(notify_tables.deliveries)
                                           .where(notify_tables.deliveries.c.purpose == "tasking_morning")).mappings()]
    assert [d["recipient"] for d in sent] == ["person:snt"], "the team's person, once; not the area's officer"
    context = json.loads(sent[0]["payload"])["context"]
    assert context["area_name"].startswith("Manchester South neighbourhood team, ") and context["told_as"] == "team"
