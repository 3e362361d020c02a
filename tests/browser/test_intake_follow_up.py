"""The reporter's follow-up page in a real browser: progress, adding information and withdrawing, without
JavaScript, in English and Arabic, with nothing in a URL or kept in the browser, and axe-core."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import create_engine, text

from services.intake.i18n import Catalogues
from shared.events.reports import ReportAmended, ReportWithdrawn
from shared.migrate import upgrade
from tests.browser.pages import serious_violations
from tests.browser.test_intake_form import fill_report, submit
from tests.factories import report_body
from tests.support.infra import create_database
from tests.support.services import ServiceProcess

LOCALE = Path(__file__).resolve().parents[2] / "services" / "intake" / "locale"
CATALOGUES = Catalogues(LOCALE, ["en", "ar", "tr", "ur"], "en")


@pytest.fixture(scope="module")
def database(postgres_admin_url: str) -> str:
    url = create_database(postgres_admin_url, "intakefollow")
    upgrade("intake", url)
    return url


@pytest.fixture(scope="module")
def intake(kafka_bootstrap: str, database: str, tmp_path_factory: pytest.TempPathFactory) -> \
        Iterator[ServiceProcess]:
    env = {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": kafka_bootstrap, "VIGIL_TOPIC_PREFIX": "tfollow.",
           "VIGIL_TOPIC_PARTITIONS": "1", "INTAKE_DATABASE_URL": database, "INTAKE_RATE_LIMIT_ENABLED": "false"}
    process = ServiceProcess("intake", env, tmp_path_factory.mktemp("logs")).start()
    yield process
    process.stop()


def tr(lang: str) -> Callable[[str], str]:
    gettext: Callable[[str], str] = CATALOGUES.get(lang).gettext
    return gettext


def submitted(intake: ServiceProcess) -> tuple[str, str]:
    body = httpx.post(f"{intake.url}/v1/reports", json=report_body(), timeout=10).json()
    return body["reference"], body["follow_up_token"]


def sign_in(page: Page, lang: str, reference: str, token: str) -> None:
    _ = tr(lang)
    page.get_by_label(_("Reference"), exact=True).fill(reference)
    page.get_by_label(_("Follow-up code")).fill(token)
    page.get_by_role("button", name=_("Continue")).click()


def stream_types(database: str, reference: str) -> list[str]:
    engine = create_engine(database)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(
                "SELECT e.type FROM event_log e JOIN reports r ON r.report_id = e.stream_id "
                "WHERE r.reference = :ref ORDER BY e.version"), {"ref": reference}).scalars())
    finally:
        engine.dispose()


def test_a_reporter_follows_up_adds_information_and_withdraws_without_javascript(
        browser: Browser, intake: ServiceProcess, database: str) -> None:
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    try:
        page = context.new_page()
        reference, token = submitted(intake)
        page.goto(f"{intake.url}/en/follow-up")
        sign_in(page, "en", reference, token)
        assert page.locator("#reference").inner_text() == reference
        assert page.locator("#status").inner_text() == "Received: it is waiting to be checked"

        page.get_by_label("What do you want to add?").fill("He came back with two friends today.")
        page.get_by_label("It is still happening, or the threat continues").check()
        page.get_by_role("button", name="Add information").click()
        assert page.locator("#notice").inner_text().startswith("Thank you.")
        assert page.locator("#updates").inner_text() == "1"

        page.get_by_role("button", name="Withdraw this report").click()
        assert page.get_by_role("heading", name="Are you sure you want to withdraw your report?").is_visible()
        assert page.get_by_text("After 30 days we will erase").is_visible()
        page.get_by_label("Why are you withdrawing it?", exact=False).fill("It has been sorted out.")
        page.get_by_role("button", name="Yes, withdraw my report").click()
        assert page.locator("#notice").inner_text() == "You have withdrawn your report."
        assert page.locator("#status").inner_text() == "Withdrawn: you withdrew it"
        due = (datetime.now(UTC) + timedelta(days=30)).astimezone(ZoneInfo("Europe/London"))
        assert page.locator("#erase-after").inner_text().startswith(due.strftime("%d/%m/%Y"))
        assert page.get_by_role("button", name="Add information").count() == 0, "nothing more to add once withdrawn"
        assert reference not in page.url and token not in page.url
    finally:
        context.close()
    status = httpx.get(f"{intake.url}/v1/reports/{reference}", headers={"Authorization": f"Bearer {token}"})
    assert status.json()["status"] == "withdrawn"
    assert stream_types(database, reference)[1:] == [ReportAmended.TYPE, ReportWithdrawn.TYPE]


def test_the_confirmation_page_leads_to_the_follow_up_page(page: Page, intake: ServiceProcess) -> None:
    page.goto(f"{intake.url}/en/")
    fill_report(page, "en")
    submit(page, "en")
    reference = page.locator("#reference").inner_text().strip()
    token = page.locator("#follow-up-token").inner_text().strip()
    page.locator("#follow-up-link").click()
    assert page.url.endswith("/en/follow-up")
    sign_in(page, "en", reference, token)
    assert page.locator("#reference").inner_text() == reference
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0


def test_a_wrong_code_is_refused_without_saying_whether_the_reference_exists(page: Page,
                                                                            intake: ServiceProcess) -> None:
    reference, _ = submitted(intake)
    page.goto(f"{intake.url}/en/follow-up")
    sign_in(page, "en", reference, "guessed")
    wrong = page.locator("#error-summary").inner_text()
    sign_in(page, "en", "AAAAAAAAAA", "guessed")
    assert page.locator("#error-summary").inner_text() == wrong
    assert "could not find a report" in wrong


def test_a_forged_post_is_refused(intake: ServiceProcess) -> None:
    reference, token = submitted(intake)
    forged = httpx.post(f"{intake.url}/en/follow-up/withdraw/confirmed",
                        data={"csrf": "made-up", "reference": reference, "token": token})
    assert forged.status_code == 403
    status = httpx.get(f"{intake.url}/v1/reports/{reference}", headers={"Authorization": f"Bearer {token}"})
    assert status.json()["status"] == "received"


def test_an_erased_report_says_so(page: Page, intake: ServiceProcess, database: str) -> None:
    reference, token = submitted(intake)
    engine = create_engine(database)
    try:
        with engine.begin() as conn:  # as an erasure leaves it (the erasure itself: test_intake_erasure.py)
            conn.execute(text("UPDATE reports SET erased_at = now() WHERE reference = :ref"), {"ref": reference})
            conn.execute(text("DELETE FROM report_keys WHERE report_id IN (SELECT report_id FROM reports "
                              "WHERE reference = :ref)"), {"ref": reference})
    finally:
        engine.dispose()
    page.goto(f"{intake.url}/en/follow-up")
    sign_in(page, "en", reference, token)
    assert page.get_by_role("heading", name="This report has been erased").is_visible()


@pytest.mark.parametrize("lang", ["en", "ar", "ur"])
def test_the_follow_up_pages_are_in_the_visitors_language_with_no_serious_axe_violations(
        page: Page, intake: ServiceProcess, lang: str) -> None:
    _ = tr(lang)
    reference, token = submitted(intake)
    page.goto(f"{intake.url}/{lang}/follow-up")
    assert page.evaluate("document.documentElement.dir") == ("rtl" if lang in ("ar", "ur") else "ltr")
    assert page.get_by_role("heading", name=_("Check or update your report")).is_visible()
    assert serious_violations(page) == [], "the sign-in"
    sign_in(page, lang, reference, token)
    assert page.get_by_role("heading", name=_("Your report"), exact=True).is_visible()
    assert re.search(r'id="reference">' + reference, page.content())
    assert serious_violations(page) == [], "the status"
    page.get_by_role("button", name=_("Withdraw this report")).click()
    assert page.get_by_role("heading", name=_("Are you sure you want to withdraw your report?")).is_visible()
    assert serious_violations(page) == [], "the confirmation"
    page.get_by_role("button", name=_("No, keep my report")).click()
    assert page.locator("#status").inner_text() == _("Received: it is waiting to be checked")


@pytest.mark.parametrize(("lang", "width"), [("en", 375), ("ar", 1024)])
def test_after_a_safeguarding_override_the_page_names_the_force_and_how_to_reach_it(
        page: Page, intake: ServiceProcess, database: str, lang: str, width: int) -> None:
    """As intake's status follower leaves a report triage shared to protect a life (the follower itself:
    test_intake_safeguarding.py)."""
    _ = tr(lang)
    reference, token = submitted(intake)
    engine = create_engine(database)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE reports SET safeguarding_override = 'threat_to_life', status = 'triaged' "
                              "WHERE reference = :ref"), {"ref": reference})
    finally:
        engine.dispose()
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{intake.url}/{lang}/follow-up")
    sign_in(page, lang, reference, token)
    banner = page.get_by_role("region", name=_("Important"))
    assert banner.get_by_text(_("Your report has been shared with the police to protect someone's life")).is_visible()
    assert page.locator("#police-force").inner_text() == "Metropolitan Police"
    assert "101" in banner.inner_text() and "999" in banner.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"
    assert serious_violations(page) == [], "the status with the override"
