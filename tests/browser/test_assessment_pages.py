"""An analyst's journey in Chromium: sign in at triage, the map of force areas by risk, an area, the strategic
assessment; at desktop and phone widths, with axe, no sideways scrolling and nothing refused by the CSP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from infra.assets import ensure_assets
from services.assessment.main import build as build_assessment
from services.assessment.main import create_app as assessment_app
from services.assessment.settings import AssessmentSettings
from services.triage.auth import Auth
from services.triage.main import build as build_triage
from services.triage.main import create_app as triage_app
from services.triage.settings import TriageSettings
from shared.clock import SystemClock
from shared.db import Database
from shared.migrate import upgrade
from shared.settings import VigilSettings
from shared.web.site import StaffSite
from tests.browser.pages import looks_right, sign_in_through_session
from tests.support.asgi import serving
from tests.unit.test_assessment_pages import GMP, seed

PASSWORD = "a long enough password"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _vigil(triage_url: str) -> VigilSettings:
    return VigilSettings(environment="test", kafka_bootstrap="127.0.0.1:1", topic_prefix="unused.",
                         triage_internal_url=triage_url)


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    ensure_assets()
    base = tmp_path_factory.mktemp("analysts")
    urls = {name: f"sqlite:///{base / name}.db" for name in ("triage", "assessment")}
    for name, url in urls.items():
        upgrade(name, url)
    db = Database(urls["triage"])
    Auth(db, SystemClock()).create_user("ana", "Ana Analyst", PASSWORD, ["analyst"])
    db.dispose()
    with ExitStack() as stack:
        triage = build_triage(_vigil("http://127.0.0.1:1"), TriageSettings(database_url=urls["triage"]))
        triage_url = stack.enter_context(serving(triage_app(triage, with_worker=False), name="triage"))
        assessment = build_assessment(_vigil(triage_url), AssessmentSettings(database_url=urls["assessment"]))
        seed(assessment.db, datetime.now(UTC))
        site = StaffSite(triage_url=triage_url)
        assessment_url = stack.enter_context(serving(assessment_app(assessment, with_worker=False, site=site),
                                                     name="assessment"))
        yield {"triage": triage_url, "assessment": assessment_url}
        for service in (triage, assessment):
            service.db.dispose()


def sign_in_as_analyst(page: Page, sites: dict[str, str]) -> None:
    """Open the analysts' home page signed out: it sends the browser to triage's sign-in, and once signed in
    (here through triage's session API, in the browser's own cookie jar; triage's tests drive its form) the
    map opens."""
    sign_in_through_session(page, sites, "ana", "/", password=PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Risk by police force area")


def test_an_analyst_reads_the_map_and_drills_down_to_an_area(sized: Page, sites: dict[str, str]) -> None:
    sign_in_as_analyst(sized, sites)
    hexagons = sized.locator("svg.analysis-map__svg a")
    expect(hexagons).to_have_count(45)
    expect(sized.get_by_role("link", name="Greater Manchester: Critical risk")).to_be_visible()
    expect(sized.get_by_role("link", name="West Yorkshire: Severe risk")).to_be_visible()
    expect(sized.get_by_role("link", name="Cumbria: Low risk")).to_be_visible()
    expect(sized.get_by_text("5 Critical", exact=True).first).to_be_visible()
    expect(sized.get_by_role("img", name="Reports per week in all force areas")).to_be_visible()
    sized.screenshot(path=str(SCREENSHOTS / f"assessment-home-{sized.width_name}.png"),  # type: ignore[attr-defined]
                     full_page=True)
    sized.get_by_text("Show the map as a table").click()
    expect(sized.locator("table.analysis-areas tbody tr")).to_have_count(45)
    looks_right(sized)

    sized.get_by_role("link", name="Greater Manchester: Critical risk").focus()
    sized.keyboard.press("Enter")
    expect(sized.get_by_role("heading", level=1)).to_have_text("Greater Manchester")
    expect(sized.get_by_text("a sudden rise, so at least severe.", exact=False)).to_be_visible()
    expect(sized.get_by_role("img", name="Reports per week in Greater Manchester")).to_be_visible()
    looks_right(sized)

    sized.get_by_label("Period").select_option("4")
    sized.get_by_label("Hate crime strand").select_option("race")
    sized.get_by_role("button", name="Show reports").click()
    sized.wait_for_url(f"**/areas/{GMP}?period=4&strand=race")
    expect(sized.get_by_label("Period")).to_have_value("4")
    sized.get_by_role("link", name="Back to the map").click()
    sized.wait_for_url("**/?period=4&strand=race")


def test_the_strategic_assessment_is_one_click_from_an_area(sized: Page, sites: dict[str, str]) -> None:
    sign_in_as_analyst(sized, sites)
    sized.get_by_role("link", name="Greater Manchester: Critical risk").click()
    sized.get_by_role("link", name="Strategic assessment for Greater Manchester").click()
    expect(sized.get_by_role("heading", level=1)).to_have_text("Strategic assessment")
    expect(sized.get_by_text("Greater Manchester").first).to_be_visible()
    looks_right(sized)


def test_the_csv_export_downloads_with_small_counts_suppressed(page: Page, sites: dict[str, str]) -> None:
    sign_in_as_analyst(page, sites)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these counts (CSV)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith('"Week starting (Monday, UK time)",Area code,Area,Strand,Reports')
    assert ",Cumbria,All strands,0" in text
