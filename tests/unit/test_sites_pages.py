"""The places-of-worship pages from the real app over SQLite: the list, a site's page with its matrix, plan and
checks, recording a walk, and who may see what."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from services.assessment.main import Assessment
from tests.unit.test_assessment_pages import shown
from tests.unit.test_sites_api import (
    GMP,
    NOW,
    as_staff,
    fingerprint,
    mosque,
    new_app,
    new_core,
    place_report,
    register,
    seed_reports,
    stored_events,
    synagogue,
)

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")


@pytest.fixture
def core(tmp_path: Path) -> Iterator[Assessment]:
    service = new_core(tmp_path)
    yield service
    service.db.dispose()


@pytest.fixture
def app(core: Assessment) -> FastAPI:
    return new_app(core)


def test_the_list_shows_each_site_the_viewer_may_see_with_its_level(app: FastAPI) -> None:
    register(app, mosque())
    register(app, mosque(name="East London Mosque", area="E23000001", postcode_district="E1"))
    page = as_staff(app, "nina").get("/sites", headers=BROWSER)
    assert page.status_code == 200
    text = shown(page.text)
    assert "Central Mosque" in text and "East London Mosque" not in text
    assert "2 Moderate" in text and "likelihood 1, impact 5" in text
    assert not SNAKE.findall(text)


def test_a_sites_page_marks_its_cell_of_the_matrix_and_says_why(app: FastAPI, core: Assessment) -> None:
    site = register(app, mosque())
    seed_reports(core.db, place_report(1, GMP, NOW - timedelta(days=3), fingerprint(GMP, "Central Mosque")),
                 place_report(2, GMP, NOW - timedelta(days=2), fingerprint(GMP, "a mosque somewhere")))
    page = as_staff(app, "sup").get(f"/sites/{site}", headers=BROWSER)
    assert page.status_code == 200
    marked = re.findall(r'<td class="site-matrix__cell [^"]*site-matrix__cell--this">', page.text)
    assert len(marked) == 1 and page.text.count('class="site-matrix__cell ') == 25
    text = shown(page.text)
    assert "This site:\nlikelihood 3 of 5, impact 5 of 5, so 15: Severe." in text
    assert "1 incident at the site in the last two years" in text
    assert "Lacks 4 of the 6 core protections" in text
    assert "Perimeter walk" in text and "Before Friday prayers, 13:15 GMT, Fri 15 Jan 2027" in text
    assert "Martyn's Law: standard tier" in text and "Not ready" in text
    assert "Security plan, the next four weeks" in text and "Ordinary week" in text
    assert "V00001" in text, "the incident linked by the place fingerprint"
    assert "Reports that may be about this site" in text and "V00002" in text
    assert not SNAKE.findall(text)


def test_recording_a_walk_from_the_page_needs_its_csrf_token_and_says_what_is_missing(
        app: FastAPI, core: Assessment) -> None:
    site = register(app, mosque())
    sup = as_staff(app, "sup")
    form = sup.get(f"/sites/{site}/record", params={"routine": "perimeter_walk"}, headers=BROWSER)
    assert form.status_code == 200 and "Record a perimeter walk" in form.text
    assert 'value="2027-01-13T18:00"' in form.text, "when defaults to now, in UK time"
    refused = sup.post(f"/sites/{site}/record", data={"routine": "perimeter_walk", "outcome": "done"},
                       headers=BROWSER)
    assert refused.status_code == 403
    missing = sup.post(f"/sites/{site}/record", headers=BROWSER, data={
        "csrf_token": "t-sup", "routine": "perimeter_walk", "outcome": "issues_found", "performed_at": ""})
    assert missing.status_code == 422
    assert "There is a problem" in missing.text and 'href="#category"' in missing.text
    done = sup.post(f"/sites/{site}/record", headers=BROWSER, data={
        "csrf_token": "t-sup", "routine": "perimeter_walk", "outcome": "issues_found", "category": "lighting",
        "notes": "light over the side door out", "performed_at": "2027-01-13T17:30"})
    assert done.status_code == 303 and done.headers["location"] == f"/sites/{site}?done=recorded"
    event = stored_events(core.db)[-1]
    assert event["type"] == "vigil.site.routine_recorded.v1" and "side door" not in event["data"]
    assert '"performed_at":"2027-01-13T17:30:00Z"' in event["data"]
    page = shown(sup.get(done.headers["location"], headers=BROWSER).text)
    assert "Recorded. Thank you." in page and "Issues not yet resolved" in page
    assert "light over the side door out" in page


def test_a_site_lead_is_refused_another_sites_page_as_not_found(app: FastAPI) -> None:
    own, other = register(app, mosque()), register(app, synagogue())
    as_staff(app, "adam").put("/v1/site-leads/lee", json={"site_ids": [own]})
    lee = as_staff(app, "lee")
    assert lee.get(f"/sites/{own}", headers=BROWSER).status_code == 200
    refused = lee.get(f"/sites/{other}", headers=BROWSER)
    assert refused.status_code == 404 and "Page not found" in refused.text
    assert lee.get(f"/sites/{other}/record", headers=BROWSER).status_code == 404
    assert lee.get(f"/v1/sites/{other}/plan", headers=BROWSER).status_code == 404
    assert "Reports that may be about this site" not in lee.get(f"/sites/{own}", headers=BROWSER).text


def test_someone_not_signed_in_is_sent_to_sign_in_and_other_roles_are_refused(app: FastAPI) -> None:
    site = register(app, mosque())
    away = as_staff(app, "sup")
    away.cookies.clear()
    sent = away.get(f"/sites/{site}", headers=BROWSER)
    assert sent.status_code == 303 and "/login?next=" in sent.headers["location"]
    assert as_staff(app, "tom").get("/sites", headers=BROWSER).status_code == 403


def test_the_strategic_assessment_has_a_section_on_places_of_worship(app: FastAPI, core: Assessment) -> None:
    site = register(app, mosque())
    register(app, synagogue())
    seed_reports(core.db, place_report(1, GMP, NOW - timedelta(days=3), fingerprint(GMP, "Central Mosque")))
    sup = as_staff(app, "sup")
    sup.post(f"/v1/sites/{site}/records", json={"routine": "building_check", "outcome": "done"})
    page = sup.get("/v1/strategic-assessment", params={"area": GMP}, headers=BROWSER)
    assert page.status_code == 200
    text = shown(page.text)
    section = text[text.index("Places of worship"):text.index("Every report in the period")]
    assert "2 sites in the register for Greater Manchester, by their risk now:" in section
    assert section.index("Central Mosque") < section.index("Heaton Park Synagogue"), "highest risk first"
    central = section[section.index("Central Mosque"):section.index("Heaton Park Synagogue")]
    assert "3 Substantial\n2 x 5\n1\n" in central, "one incident linked in the period"
    assert "Building check" not in central and "Perimeter walk" in central
    pdf = sup.get("/v1/strategic-assessment.pdf", params={"area": GMP})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
