"""Places of worship in Chromium: a supervisor reads a site's page (its matrix, plan and checks) at desktop and
phone widths; a site's security lead records a walk on a phone, standing outside the building; axe finds no
serious or critical violation, nothing scrolls sideways and the Content-Security-Policy refuses nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from infra.assets import ensure_assets
from services.assessment.main import build as build_assessment
from services.assessment.main import create_app as assessment_app
from services.assessment.projection import ReportFacts
from services.assessment.settings import AssessmentSettings
from services.assessment.sites.queries import set_lead_sites
from services.assessment.sites.register import SiteIn
from services.assessment.store import DbStore
from services.triage.auth import Auth
from services.triage.main import build as build_triage
from services.triage.main import create_app as triage_app
from services.triage.settings import TriageSettings
from shared.clock import SystemClock
from shared.crypto import Fingerprinter
from shared.db import Database
from shared.migrate import upgrade
from shared.web.site import StaffSite
from tests.browser.pages import looks_right, sign_in_through_session, watched_page
from tests.browser.test_assessment_pages import PASSWORD, SCREENSHOTS, _vigil
from tests.support.asgi import serving

GMP = "E23000005"


def _entry(name: str, faith: str, district: str, capacity: str, measures: list[str]) -> SiteIn:
    return SiteIn.model_validate({
        "name": name, "faith": faith, "area": GMP, "postcode_district": district, "capacity_band": capacity,
        "measures": measures, "children_on_site": True,
        "services": [{"name": "Friday prayers", "day": "friday", "time": "13:15", "main": True},
                     {"name": "Taraweeh", "day": "daily", "time": "19:30", "main": True, "season": "Ramadan"}],
        "contacts": [{"name": "Aisha Khan", "role": "security lead", "phone": "07700 900123"}]})


def _report(n: int, at: datetime, place_fp: str | None) -> ReportFacts:
    return ReportFacts(f"r{n}", f"V{n:05d}", GMP, None, at, at, at, 1, ("criminal_damage", "graffiti"), ("religion",),
                       "muslim", "place_of_worship", place_fp, "none", False, False, False, False, "2AP", "web",
                       "witness")


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    ensure_assets()
    base = tmp_path_factory.mktemp("sites")
    urls = {name: f"sqlite:///{base / name}.db" for name in ("triage", "assessment")}
    for name, url in urls.items():
        upgrade(name, url)
    db = Database(urls["triage"])
    auth = Auth(db, SystemClock())
    auth.create_user("sam", "Sam Supervisor", PASSWORD, ["supervisor"])
    auth.create_user("lena", "Lena Security Lead", PASSWORD, ["site_lead"])
    db.dispose()
    with ExitStack() as stack:
        triage = build_triage(_vigil("http://127.0.0.1:1"), TriageSettings(database_url=urls["triage"]))
        triage_url = stack.enter_context(serving(triage_app(triage, with_worker=False), name="triage"))
        vigil = _vigil(triage_url)
        assessment = build_assessment(vigil, AssessmentSettings(database_url=urls["assessment"]))
        mosque, synagogue = assessment.sites.register([
            _entry("Central Mosque", "muslim", "M13", "800+", ["cctv", "lighting"]),
            _entry("Heaton Park Synagogue", "jewish", "M25", "200-799", ["cctv", "gates", "stewards"])], "sam")
        now = datetime.now(UTC)
        place = Fingerprinter(vigil.fingerprint_key.get_secret_value()).place(GMP, "Central Mosque")
        with assessment.db.transaction() as s:
            DbStore(s).put_report(_report(1, now - timedelta(days=4), place))
            DbStore(s).put_report(_report(2, now - timedelta(days=2), "somewhere else"))
            set_lead_sites(s, "lena", [mosque], "admin", now)
        site = StaffSite(triage_url=triage_url)
        assessment_url = stack.enter_context(serving(assessment_app(assessment, with_worker=False, site=site),
                                                     name="assessment"))
        yield {"triage": triage_url, "assessment": assessment_url, "mosque": mosque, "synagogue": synagogue}
        for service in (triage, assessment):
            service.db.dispose()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    yield from watched_page(browser, "phone")


def test_a_supervisor_reads_a_sites_matrix_plan_and_checks(sized: Page, sites: dict[str, str]) -> None:
    sign_in_through_session(sized, sites, "sam", "/sites", password=PASSWORD)
    expect(sized.get_by_role("heading", level=1)).to_have_text("Places of worship")
    looks_right(sized)
    sized.get_by_role("link", name="Central Mosque").click()
    expect(sized.get_by_role("heading", level=1)).to_have_text("Central Mosque")
    expect(sized.locator("td.site-matrix__cell")).to_have_count(25)
    marked = sized.locator("td.site-matrix__cell--this")
    expect(marked).to_have_count(1)
    expect(marked).to_contain_text("this site")
    expect(sized.get_by_text("This site:")).to_be_visible()
    expect(sized.get_by_role("heading", name="Checks and drills")).to_be_visible()
    expect(sized.get_by_role("heading", name="Martyn's Law: standard tier")).to_be_visible()
    expect(sized.get_by_role("heading", name="Security plan, the next four weeks")).to_be_visible()
    expect(sized.get_by_text("V00001")).to_be_visible()
    expect(sized.get_by_role("button", name="Link V00002 to this site")).to_be_visible()
    looks_right(sized)
    sized.screenshot(path=str(SCREENSHOTS / f"site-page-{sized.width_name}.png"),  # type: ignore[attr-defined]
                     full_page=True)

    sized.get_by_role("link", name="The whole plan, with who and why").click()
    expect(sized.get_by_role("heading", level=1)).to_contain_text("Security plan")
    expect(sized.get_by_role("heading", name="Ordinary week").first).to_be_visible()
    looks_right(sized)


def test_a_security_lead_records_a_walk_on_a_phone(phone: Page, sites: dict[str, str]) -> None:
    mosque = sites["mosque"]
    sign_in_through_session(phone, sites, "lena", f"/sites/{mosque}", password=PASSWORD)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Central Mosque")
    phone.get_by_role("link", name=re.compile(r"^Record\W+perimeter walk$")).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Record a perimeter walk")
    looks_right(phone)
    phone.get_by_role("button", name="Record").click()
    expect(phone.get_by_role("alert")).to_contain_text("Select what you found")
    looks_right(phone)
    phone.get_by_label("Done, and I found issues").check()
    phone.get_by_label("If you found issues, what kind?").select_option(label="Fencing or gates")
    phone.get_by_label("What did you see or do? (optional)").fill("Side gate padlock cut")
    phone.get_by_role("button", name="Record").click()
    expect(phone.get_by_text("Recorded. Thank you.")).to_be_visible()
    expect(phone.get_by_text("Side gate padlock cut")).to_be_visible()
    expect(phone.get_by_role("button", name="Mark as resolved")).to_be_visible()
    looks_right(phone)

    phone.goto(sites["assessment"] + f"/sites/{sites['synagogue']}")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Page not found")

