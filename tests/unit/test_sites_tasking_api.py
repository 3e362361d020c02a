"""The tasking list through the real app over SQLite: JSON, the page, the one-page PDF; who may read which area;
a supervisor's changes as events; visits recorded by an officer and, once per link, for notify; the morning
announcement made once per area and day on the service's clock."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.assessment.calendar import LONDON
from services.assessment.main import Assessment, create_app
from services.assessment.sites.tasking import Task, Tasking, Window
from services.assessment.sites.tasking_api import render_sheet_pdf
from shared.clock import MovableClock
from shared.servicecalls import service_headers
from tests.unit.test_sites_api import (
    GMP,
    MET,
    FakeTriage,
    as_staff,
    fingerprint,
    mosque,
    new_core,
    place_report,
    register,
    seed_reports,
    stored_events,
    synagogue,
    vigil,
)
from tests.unit.test_sites_tasking import ramadan_last_ten_nights

DAY = ramadan_last_ten_nights(2027)


@pytest.fixture
def core(tmp_path: Path) -> Iterator[Assessment]:
    service = new_core(tmp_path)
    yield service
    service.db.dispose()


@pytest.fixture
def app(core: Assessment) -> FastAPI:
    application = create_app(core, with_worker=False)
    application.state.staff_access = FakeTriage(vigil(), "assessment")
    return application

MORNING = datetime.combine(DAY, time(6, 30), LONDON).astimezone(UTC)


def at_morning(core: Assessment) -> None:
    clock = core.clock
    assert isinstance(clock, MovableClock)
    clock.set(MORNING)


def events_of(core: Assessment, kind: str) -> list[dict[str, Any]]:
    return [e for e in stored_events(core.db) if e["type"] == kind]


def seeded(app: FastAPI, core: Assessment) -> tuple[str, str]:
    at_morning(core)
    central = register(app, mosque())
    shul = register(app, synagogue())
    last_friday = DAY - timedelta(days=(DAY.weekday() - 4) % 7 or 7)
    seed_reports(core.db, place_report(1, GMP, datetime.combine(last_friday, time(13, 40), LONDON).astimezone(UTC),
                                       fingerprint(GMP, "central mosque")))
    return central, shul


def test_the_list_ranks_with_reasons_as_json_a_page_and_a_one_page_pdf(app: FastAPI, core: Assessment,
                                                                       tmp_path: Path) -> None:
    central, shul = seeded(app, core)
    nina = as_staff(app, "nina")
    doc = nina.get("/v1/tasking", params={"area": GMP, "date": DAY.isoformat()}).json()
    assert [t["site_id"] for t in doc["tasks"]] == [central]
    [task] = doc["tasks"]
    assert task["rank"] == 1 and any("incident at the site" in r for r in task["reasons"])
    assert any(r.startswith("Last ten nights of Ramadan") for r in task["reasons"])
    assert {"from": "19:00", "to": "21:00", "label": "Taraweeh"} in task["windows"]
    assert [t["site_id"] for t in doc["not_tasked"]] == [shul]
    assert nina.get("/v1/tasking").json()["area"] == GMP, "an account with one area need not name it"

    page = nina.get("/v1/tasking", params={"area": GMP, "date": DAY.isoformat()}, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Central Mosque" in page.text and "Last ten nights of Ramadan" in page.text
    assert "Record a visit" in page.text and "Drop this task" not in page.text, "officers record, supervisors change"

    pdf = nina.get("/v1/tasking.pdf", params={"area": GMP, "date": DAY.isoformat()})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf.content)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True, timeout=60).stdout
    assert re.search(r"^Pages:\s+1$", info, re.MULTILINE), info
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True, timeout=60).stdout
    assert "Central Mosque" in text and "Taraweeh" in text and "Record a visit" not in text


def test_each_reads_only_their_areas_and_bad_input_is_a_problem(app: FastAPI, core: Assessment) -> None:
    seeded(app, core)
    assert as_staff(app, "ana").get("/v1/tasking", params={"area": GMP}).status_code == 403
    assert as_staff(app, "ana").get("/v1/tasking", params={"area": MET}).status_code == 200
    assert as_staff(app, "lee").get("/v1/tasking", params={"area": GMP}).status_code == 403
    assert as_staff(app, "tom").get("/v1/tasking", params={"area": GMP}).status_code == 403
    sup = as_staff(app, "sup")
    assert sup.get("/v1/tasking").status_code == 422, "a national account names the area"
    assert sup.get("/v1/tasking", params={"area": "X99"}).status_code == 404
    bad = sup.get("/v1/tasking", params={"area": GMP, "date": "31/02/2027"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    far = sup.get("/v1/tasking", params={"area": GMP, "date": (DAY + timedelta(days=90)).isoformat()})
    assert far.status_code == 422


def test_a_supervisor_adds_and_drops_with_reasons_that_show_on_the_list(app: FastAPI, core: Assessment) -> None:
    central, shul = seeded(app, core)
    sup, nina = as_staff(app, "sup"), as_staff(app, "nina")
    where = {"area": GMP, "date": DAY.isoformat()}
    assert nina.post("/v1/tasking/changes", params=where,
                     json={"site_id": shul, "change": "add", "reason": "x"}).status_code == 403
    assert sup.post("/v1/tasking/changes", params=where,
                    json={"site_id": shul, "change": "add", "reason": ""}).status_code == 422
    added = sup.post("/v1/tasking/changes", params=where,
                     json={"site_id": shul, "change": "add", "reason": "a wedding with 400 guests"})
    assert added.status_code == 201
    assert sup.post("/v1/tasking/changes", params=where,
                    json={"site_id": central, "change": "drop", "reason": "armed patrol there all night"}
                    ).status_code == 201
    doc = nina.get("/v1/tasking", params=where).json()
    assert [t["site_id"] for t in doc["tasks"]] == [shul]
    assert doc["tasks"][0]["reasons"][-1] == "added by sup: a wedding with 400 guests"
    assert doc["dropped"][0]["change"] == {"change": "dropped", "reason": "armed patrol there all night",
                                           "by": "sup", "at": MORNING.isoformat()}
    [add] = events_of(core, "vigil.site.task_added.v1")
    assert json.loads(add["data"])["reason"] == "a wedding with 400 guests" and add["key"] == shul
    assert len(events_of(core, "vigil.site.task_dropped.v1")) == 1
    page = sup.get("/v1/tasking", params=where, headers={"Accept": "text/html"}).text
    assert "Dropped by a supervisor" in page and "armed patrol there all night" in page
    gone = sup.post("/v1/tasking/changes", params={"area": GMP, "date": (DAY - timedelta(days=1)).isoformat()},
                    json={"site_id": shul, "change": "add", "reason": "late"})
    assert gone.status_code == 422


def test_a_visit_is_recorded_with_sealed_notes_shows_on_the_site_and_the_list(app: FastAPI, core: Assessment) -> None:
    central, _ = seeded(app, core)
    nina = as_staff(app, "nina")
    answer = nina.post(f"/v1/sites/{central}/visits", json={"notes": "spoke to the imam, Mr Rahman"})
    assert answer.status_code == 201
    [event] = events_of(core, "vigil.site.visit_recorded.v1")
    assert "Rahman" not in event["data"] and json.loads(event["data"])["notes"]["alg"] == "AES-256-GCM"
    visits = nina.get(f"/v1/sites/{central}/visits").json()["visits"]
    assert [(v["visited_by"], v["notes"], v["via"]) for v in visits] == [("nina", "spoke to the imam, Mr Rahman",
                                                                          "api")]
    assert as_staff(app, "ana").get(f"/v1/sites/{central}/visits").status_code == 404, "another area's site"
    assert as_staff(app, "lee").post(f"/v1/sites/{central}/visits", json={}).status_code == 404
    later = nina.post(f"/v1/sites/{central}/visits", json={"visited_at": (MORNING + timedelta(hours=1)).isoformat()})
    assert later.status_code == 422 and later.json()["errors"][0]["field"] == "visited_at"
    [task] = nina.get("/v1/tasking", params={"area": GMP, "date": DAY.isoformat()}).json()["tasks"]
    assert task["site_id"] == central and [v["visited_by"] for v in task["visits"]] == ["nina"]
    assert nina.get(f"/v1/sites/{central}").json()["visits_90_days"] == 1
    page = nina.get(f"/sites/{central}").text
    assert "1 visit in the last 90 days" in page and "spoke to the imam" in page


def test_a_visit_from_a_link_records_once_and_only_for_notify(app: FastAPI, core: Assessment) -> None:
    central, _ = seeded(app, core)
    client = TestClient(app)
    body = {"recorded_by": "nina", "link_id": "link-0001-abcd", "notes": "all quiet"}
    path = f"/internal/v1/sites/{central}/visits"
    assert client.post(path, json=body).status_code == 401
    assert client.post(path, json=body, headers=service_headers(vigil(), "triage")).status_code == 403
    first = client.post(path, json=body, headers=service_headers(vigil(), "notify"))
    again = client.post(path, json=body, headers=service_headers(vigil(), "notify"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["visit_id"] == again.json()["visit_id"] and again.json()["already_recorded"] is True
    assert len(events_of(core, "vigil.site.visit_recorded.v1")) == 1
    [visit] = as_staff(app, "nina").get(f"/v1/sites/{central}/visits").json()["visits"]
    assert (visit["via"], visit["recorded_by"]) == ("link", "nina")


def test_the_morning_announcement_is_made_once_per_area_and_day_from_the_set_time(app: FastAPI,
                                                                                  core: Assessment) -> None:
    central, _ = seeded(app, core)
    clock = core.clock
    assert isinstance(clock, MovableClock)
    clock.set(datetime.combine(DAY, time(6, 59), LONDON).astimezone(UTC))
    assert core.mornings.announce() == 0, "not before seven"
    clock.set(datetime.combine(DAY, time(7, 0), LONDON).astimezone(UTC))
    assert core.mornings.announce() == 1
    assert core.mornings.announce() == 0, "once a day"
    [event] = events_of(core, "vigil.site.tasking_announced.v1")
    data = json.loads(event["data"])
    assert (event["key"], data["area"], data["day"]) == (GMP, GMP, DAY.isoformat())
    assert [t["site_id"] for t in data["tasks"]] == [central] and data["tasks"][0]["rank"] == 1
    clock.set(datetime.combine(DAY + timedelta(days=1), time(9, 0), LONDON).astimezone(UTC))
    core.mornings.announce()
    assert [json.loads(e["data"])["day"] for e in events_of(core, "vigil.site.tasking_announced.v1")] == [
        DAY.isoformat(), (DAY + timedelta(days=1)).isoformat()]
    assert isinstance(DAY, date)


def test_a_long_list_keeps_to_one_page_with_the_first_tasks_and_says_how_many_more(tmp_path: Path) -> None:
    reasons = ("site risk substantial (likelihood 3 x impact 4): +12",
               "1 incident at the site in the last 14 days, the latest on Friday 19 February: +10",
               "Ramadan (day 20 of 30): +6", "Last ten nights of Ramadan (day 1 of 10): +6", "Friday prayers: +3")
    windows = (Window(time(12, 45), time(14, 45), "Friday prayers"), Window(time(19, 0), time(21, 0), "Taraweeh"))
    tasks = tuple(Task(f"t{n}", f"s{n}", f"Site {n:02d} Mosque and Community Centre", "muslim", "M13", "substantial",
                       40 - n, windows, reasons) for n in range(25))
    context = {"tasking": Tasking(GMP, DAY, tasks, (), ()), "area_name": "Greater Manchester", "as_of": MORNING,
               "page_title": "Tasking"}
    path = tmp_path / "long.pdf"
    path.write_bytes(render_sheet_pdf(context))
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True, timeout=60).stdout
    assert re.search(r"^Pages:\s+1$", info, re.MULTILINE), info
    text = " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True,
                                   timeout=60).stdout.split())
    [more] = re.findall(r"And (\d+) more tasks, ranked lower", text)
    shown = [n for n in range(25) if f"Site {n:02d} Mosque" in text]
    assert shown == list(range(25 - int(more))) and 5 <= len(shown) < 25, "the first tasks, in rank order"
