"""Hostile text in the places-of-worship register and tasking, rendered by assessment's pages and documents.

The same payloads as test_hostile_input.py (script, attribute and URL payloads, bidirectional overrides, very
long Unicode) go in through the real doors: a site's name and its service's name (the register's API), a visit's
notes (the visit form), a routine's notes (the form recording a check: first refused, when it comes back holding
them, then recorded with an issue, whose notes the site's page shows) and a task's reason (the tasking page's form).
The sites list, the site's page, the record form, the tasking page and the strategic assessment are opened in
Chromium with a dialog listener: no payload may open a dialog or add an element, and each is shown as written; axe
finds nothing serious or critical on the record form and the site's page holding them. The two PDF documents (the
tasking sheet and the strategic assessment) are read back with pdftotext: the payloads are there as text (a
routine's notes are in neither). A routine's notes also come in through the other door, the form a reminder's
link opens on notify (tests/integration/test_site_routines.py's `sites_stack`: real Kafka, PostgreSQL, SMTP):
refused, the form comes back holding them; recorded, the lead's site page in assessment shows them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin

import pytest
from playwright.sync_api import Page, expect

from infra.assets import ensure_assets
from services.assessment.main import build as build_assessment
from services.assessment.main import create_app as assessment_app
from services.assessment.settings import AssessmentSettings
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
from shared.settings import VigilSettings
from shared.web.site import StaffSite
from tests.browser.pages import serious_violations, sign_in_through_session
from tests.browser.test_assessment_pages import PASSWORD, _vigil
from tests.browser.test_hostile_input import (  # noqa: F401  (dialogs: a fixture)
    ATTRIBUTE,
    BIDI,
    IMAGE,
    SCRIPT,
    SVG,
    URL,
    dialogs,
    inert,
    shown_as_written,
)
from tests.browser.test_sites_pages import GMP, _report
from tests.integration.test_site_routines import THURSDAY, SitesStack, record_link, sites_stack
from tests.support.asgi import serving

SITE = f"{IMAGE}{BIDI}"  # a site's name: at most 120 characters
SERVICE = f"{SCRIPT}{SVG}"
NOTES = f"{SCRIPT} {ATTRIBUTE} {IMAGE} {URL} {SVG} {BIDI} " + "\U0001d518\u0645\u0332" * 400 + "\u0e01\u0e33" * 200
REASON = f"{SVG} {ATTRIBUTE} {URL} {BIDI}"
ROUTINE_NOTES = (f"{URL} {SVG} {ATTRIBUTE} {SCRIPT} {IMAGE} {BIDI} "  # a routine's notes: at most 2,000 characters
                 + "\U0001d518\u0645\u0332" * 450 + "\u0e01\u0e33" * 200)


@pytest.fixture(scope="module")
def hostile_sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    ensure_assets()
    base = tmp_path_factory.mktemp("hostile-sites")
    urls = {name: f"sqlite:///{base / name}.db" for name in ("triage", "assessment")}
    for name, url in urls.items():
        upgrade(name, url)
    db = Database(urls["triage"])
    Auth(db, SystemClock()).create_user("sam", "Sam Supervisor", PASSWORD, ["supervisor", "analyst"])
    db.dispose()
    with ExitStack() as stack:
        triage = build_triage(_vigil("http://127.0.0.1:1"), TriageSettings(database_url=urls["triage"]))
        triage_url = stack.enter_context(serving(triage_app(triage, with_worker=False), name="triage"))
        vigil = _vigil(triage_url)
        assessment = build_assessment(vigil, AssessmentSettings(database_url=urls["assessment"]))
        [site] = assessment.sites.register([SiteIn.model_validate({
            "name": SITE, "faith": "muslim", "area": GMP, "postcode_district": "M13", "capacity_band": "800+",
            "measures": ["cctv"], "services": [{"name": SERVICE, "day": "friday", "time": "13:15", "main": True}],
            "contacts": [{"name": "Aisha Khan", "role": "security lead", "phone": "07700 900123"}]})], "sam")
        now = datetime.now(UTC)
        place = Fingerprinter(vigil.fingerprint_key.get_secret_value()).place(GMP, SITE)
        with assessment.db.transaction() as s:  # an incident at the site: it is tasked today
            DbStore(s).put_report(_report(1, now - timedelta(days=2), place))
        site_ui = StaffSite(triage_url=triage_url)
        assessment_url = stack.enter_context(serving(assessment_app(assessment, with_worker=False, site=site_ui),
                                                     name="assessment"))
        yield {"triage": triage_url, "assessment": assessment_url, "site": site}
        for service in (triage, assessment):
            service.db.dispose()


def pdf_text(page: Page, url: str, tmp_path: Path) -> str:
    """The PDF's text as pdftotext reads it, one line (a payload may wrap)."""
    got = page.context.request.get(url)
    assert got.status == 200, got.text()
    assert got.headers["content-type"].startswith("application/pdf")
    pdf = tmp_path / "document.pdf"
    pdf.write_bytes(got.body())
    tool = shutil.which("pdftotext")
    assert tool, "pdftotext (poppler-utils) is needed to read the documents back"
    text = subprocess.run([tool, "-enc", "UTF-8", "-raw", str(pdf), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout
    return re.sub(r"\s+", " ", text)


BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def in_document(text: str, payload: str, what: str) -> None:
    """A PDF holds its glyphs in the order they are seen: a right-to-left override shows (and is read back) as
    the reader sees it, so the payloads read back verbatim are those without one; the override's own text is
    checked as seen, and ends where the field ends (the text after it is not reversed)."""
    plain = BIDI_CONTROLS.sub("", text)
    for part in payload.split(BIDI):
        assert part.strip() in plain, f"{what} does not show {part!r} as written"
    if BIDI in payload:
        assert "invoiceexe.jpg and שלום !" in plain, f"{what} does not show the override as seen"


def test_hostile_register_and_tasking_text_is_shown_as_written_and_never_runs(
        page: Page, dialogs: list[str], hostile_sites: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    base, site = hostile_sites["assessment"], hostile_sites["site"]
    sign_in_through_session(page, hostile_sites, "sam", "/sites")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    inert(page, dialogs, "the sites register")
    shown_as_written(page, "main", SITE)

    page.goto(f"{base}/sites/{site}/visit")
    page.get_by_label("What did you see or hear? (optional)").fill(NOTES)
    page.get_by_role("button", name="Record the visit").click()
    expect(page.get_by_text("Visit recorded. Thank you.")).to_be_visible()
    inert(page, dialogs, "the site's page")
    for text in (SITE, SERVICE):
        shown_as_written(page, "main", text)
    shown_as_written(page, ".site-visits .vigil-as-written", NOTES)

    page.goto(f"{base}/sites/{site}/record?routine=perimeter_walk")
    page.get_by_label("Done, and I found issues").check()
    page.get_by_label("What did you see or do? (optional)").fill(ROUTINE_NOTES)
    page.get_by_role("button", name="Record").click()  # issues found, but not what kind: refused
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select what kind of issue you found")
    inert(page, dialogs, "the refused record form")
    assert serious_violations(page) == [], "the refused record form"
    expect(page.get_by_label("What did you see or do? (optional)")).to_have_value(ROUTINE_NOTES)
    page.get_by_label("Done, and I found issues").check()
    page.get_by_label("If you found issues, what kind?").select_option(label="Lighting")
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_role("heading", name="Issues not yet resolved")).to_be_visible()
    inert(page, dialogs, "the site's page with the routine's issue")
    shown_as_written(page, ".site-issue .vigil-as-written", ROUTINE_NOTES)
    assert serious_violations(page) == [], "the site's page with every payload"

    page.goto(f"{base}/sites")
    page.get_by_role("link", name="Tasking for Greater Manchester").click()
    task = page.locator(f"#task-{site}")
    expect(task).to_be_visible()
    task.get_by_text("Drop this task").first.click()
    task.get_by_label("Reason").fill(REASON)
    task.get_by_role("button", name="Drop this task").click()
    expect(page.get_by_text("Task dropped.")).to_be_visible()
    inert(page, dialogs, "the tasking page")
    shown_as_written(page, "main", SITE)
    shown_as_written(page, "main", REASON)
    href = page.get_by_role("link", name="Download the briefing sheet (PDF)").get_attribute("href") or ""
    sheet = pdf_text(page, urljoin(page.url, href), tmp_path)
    for text in (SITE, REASON):
        in_document(sheet, text, "the tasking sheet")
    assert "! (sam)" in BIDI_CONTROLS.sub("", sheet), "the reason's override ran past its field"

    page.goto(f"{base}/v1/strategic-assessment?area={GMP}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    inert(page, dialogs, "the strategic assessment")
    shown_as_written(page, "main", SITE)
    strategic = pdf_text(page, f"{base}/v1/strategic-assessment.pdf?area={GMP}", tmp_path)
    in_document(strategic, SITE, "the strategic assessment's PDF")


@pytest.fixture
def routines(vigil_settings: VigilSettings, new_database: Callable[[str], str], tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[SitesStack]:
    ensure_assets()
    with sites_stack(vigil_settings, new_database, tmp_path, monkeypatch) as running:
        yield running


def test_hostile_routine_notes_from_a_reminders_link_are_shown_as_written_and_never_run(
        page: Page, dialogs: list[str], routines: SitesStack) -> None:  # noqa: F811
    site_id = routines.register_site_led_by_lee()
    routines.announce_at(THURSDAY)
    page.goto(record_link(routines.walk_reminder()))
    expect(page.get_by_role("heading", name="Record the perimeter walk")).to_be_visible()
    notes = page.get_by_label("What did you see or do? (optional)")
    notes.fill(ROUTINE_NOTES)
    page.get_by_role("button", name="Record").click()  # nothing found said: refused
    expect(page.locator(".govuk-error-summary")).to_contain_text("Say whether it was all in order")
    inert(page, dialogs, "the refused form of the reminder's link")
    assert serious_violations(page) == [], "the refused form of the reminder's link"
    expect(notes).to_have_value(ROUTINE_NOTES)
    assert routines.records(site_id) == []

    page.get_by_label("Done, and I found issues").check()
    page.get_by_label("If you found issues, what kind?").select_option(label="Lighting")
    page.get_by_role("button", name="Record").click()
    expect(page.locator(".govuk-panel")).to_contain_text("Perimeter walk recorded")
    inert(page, dialogs, "the page saying the routine is recorded")

    sign_in_through_session(page, {"triage": routines.triage_url, "assessment": routines.assessment_url}, "lee",
                            f"/sites/{site_id}")
    expect(page.get_by_role("heading", name="Issues not yet resolved")).to_be_visible()
    inert(page, dialogs, "the lead's site page")
    shown_as_written(page, ".site-issue .vigil-as-written", ROUTINE_NOTES)
    assert serious_violations(page) == [], "the lead's site page"
