"""The public form in a real browser: English and Arabic, without JavaScript, keyboard only, and axe-core."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from services.intake.i18n import Catalogues
from shared.migrate import upgrade
from tests.browser.pages import WIDTHS, serious_violations
from tests.support.infra import create_database
from tests.support.services import ServiceProcess

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "services" / "intake" / "locale"
SCREENSHOTS = ROOT / "docs" / "screenshots"
CATALOGUES = Catalogues(LOCALE, ["en", "ar", "tr", "ur"], "en")
REFERENCE = re.compile(r"^[ACDEFGHJKMNPQRTWXY34679]{10}$")


@pytest.fixture(scope="module")
def intake(kafka_bootstrap: str, postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> \
        Iterator[ServiceProcess]:
    url = create_database(postgres_admin_url, "intakeweb")
    upgrade("intake", url)
    env = {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": kafka_bootstrap, "VIGIL_TOPIC_PREFIX": "tweb.",
           "VIGIL_TOPIC_PARTITIONS": "1", "INTAKE_DATABASE_URL": url}
    process = ServiceProcess("intake", env, tmp_path_factory.mktemp("logs")).start()
    yield process
    process.stop()


def tr(lang: str) -> Callable[[str], str]:
    gettext: Callable[[str], str] = CATALOGUES.get(lang).gettext
    return gettext


def fill_report(page: Page, lang: str) -> None:
    _ = tr(lang)
    page.get_by_label(_("I saw it happen")).check()
    page.get_by_label(_("Your name"), exact=False).fill("Amina Test")
    page.get_by_label(_("Email address"), exact=False).fill("amina@example.org")
    page.get_by_label(_("You may contact me about this report")).check()
    page.fill("#occurred_date", "2026-11-20")
    page.fill("#occurred_time", "21:30")
    page.get_by_label(_("Graffiti")).check()
    page.get_by_label(_("Religion or belief"), exact=True).check()
    page.get_by_label(_("If it was because of religion or belief, which one?"), exact=False).select_option("muslim")
    page.get_by_label(_("Area"), exact=False).first.select_option("E23000001")
    page.get_by_label(_("What kind of place?")).select_option("place_of_worship")
    page.get_by_label(_("Tell us what happened"), exact=False).fill("كتابات مسيئة على الجدار / offensive graffiti")


def submit(page: Page, lang: str) -> None:
    page.get_by_role("button", name=tr(lang)("Send report")).click()


def test_a_visitor_reports_in_english_and_can_follow_up_with_the_reference(page: Page,
                                                                           intake: ServiceProcess) -> None:
    page.goto(f"{intake.url}/en/")
    fill_report(page, "en")
    submit(page, "en")
    reference = page.locator("#reference").inner_text().strip()
    assert REFERENCE.match(reference)
    assert page.get_by_role("heading", name="Your report has been sent").is_visible()
    assert page.get_by_text("call 999").first.is_visible() and page.get_by_text("call 101").is_visible()
    token = page.locator("#follow-up-token").inner_text().strip()
    status = httpx.get(f"{intake.url}/v1/reports/{reference}", headers={"Authorization": f"Bearer {token}"})
    assert status.json()["status"] == "received"
    assert "amina" not in page.url.lower() and reference not in page.url
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0


def test_the_arabic_form_is_right_to_left_and_submits(page: Page, intake: ServiceProcess) -> None:
    page.goto(f"{intake.url}/ar/")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    main = page.locator("main").bounding_box()
    button = page.get_by_role("button", name=tr("ar")("Send report")).bounding_box()
    assert main and button
    assert button["x"] + button["width"] > main["x"] + main["width"] - 40, "the button is not on the right"
    assert button["x"] > main["x"] + main["width"] / 2
    fill_report(page, "ar")
    submit(page, "ar")
    assert page.get_by_role("heading", name=tr("ar")("Your report has been sent")).is_visible()
    assert REFERENCE.match(page.locator("#reference").inner_text().strip())
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"


def test_errors_appear_next_to_fields_in_the_visitors_language_and_the_summary_links_to_them(
        page: Page, intake: ServiceProcess) -> None:
    _ = tr("tr")
    page.goto(f"{intake.url}/tr/")
    submit(page, "tr")
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.get_by_role("link", name=_("Choose who you are")).is_visible()
    assert page.locator("#types-error").inner_text().endswith(_("Choose at least one type of incident"))
    assert page.locator("#area").get_attribute("aria-invalid") == "true"
    page.get_by_role("link", name=_("Choose the area where it happened")).click()
    assert page.evaluate("document.activeElement.id") == "area"
    assert page.title().startswith(_("Error:"))


def test_the_form_works_without_javascript(browser: Browser, intake: ServiceProcess) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{intake.url}/en/")
        fill_report(page, "en")
        page.fill("#occurred_date", "2099-01-01")
        submit(page, "en")
        assert page.locator("#occurred_date-error").inner_text().endswith("The date cannot be in the future")
        assert page.locator("#name").input_value() == "Amina Test", "answers must survive a failed submission"
        page.fill("#occurred_date", "2026-11-20")
        submit(page, "en")
        assert REFERENCE.match(page.locator("#reference").inner_text().strip())
    finally:
        context.close()


def test_the_form_can_be_used_with_the_keyboard_alone(page: Page, intake: ServiceProcess) -> None:
    page.goto(f"{intake.url}/en/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('govuk-skip-link')")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('govuk-exit-this-page__button')")
    page.focus("#role-victim")
    page.keyboard.press("Space")
    assert page.is_checked("#role-victim")
    page.focus("#description")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Enter")
    page.wait_for_selector("#error-summary")
    assert page.evaluate("document.activeElement.id") == "error-summary"


def test_the_language_is_taken_from_the_browser_and_then_remembered(browser: Browser, intake: ServiceProcess) -> None:
    context = browser.new_context(locale="ar-EG")
    try:
        page = context.new_page()
        page.goto(f"{intake.url}/")
        assert page.url.endswith("/ar/")
        page.get_by_role("link", name="Türkçe").click()
        page.goto(f"{intake.url}/")
        assert page.url.endswith("/tr/") and page.evaluate("document.documentElement.lang") == "tr"
    finally:
        context.close()


def test_every_page_carries_the_security_headers_and_the_form_refuses_a_forged_post(intake: ServiceProcess) -> None:
    page = httpx.get(f"{intake.url}/ur/")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["referrer-policy"] == "no-referrer"
    forged = httpx.post(f"{intake.url}/en/", data={"role": "victim", "csrf": "made-up"})
    assert forged.status_code == 403


@pytest.mark.parametrize("lang", ["en", "ar", "ur"])
def test_axe_finds_no_serious_or_critical_violations(page: Page, intake: ServiceProcess, lang: str) -> None:
    page.goto(f"{intake.url}/{lang}/")
    assert serious_violations(page) == [], "the empty form"
    submit(page, lang)
    page.wait_for_selector("#error-summary")
    assert serious_violations(page) == [], "the form with errors"
    fill_report(page, lang)
    submit(page, lang)
    page.wait_for_selector("#reference")
    assert serious_violations(page) == [], "the confirmation"


@pytest.mark.parametrize("lang", ["en", "ar"])
@pytest.mark.parametrize("device", WIDTHS)
def test_the_form_fits_a_phone_and_a_desktop_with_no_serious_axe_violations(
        browser: Browser, intake: ServiceProcess, lang: str, device: str) -> None:
    context = browser.new_context(viewport={"width": WIDTHS[device], "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{intake.url}/{lang}/")
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[device], "the page scrolls sideways"
        assert page.locator(".govuk-exit-this-page__button").is_visible()
        assert serious_violations(page) == [], f"the empty form, {device}"
        if lang == "en" or device == "phone":
            name = f"public-form{'-ar' if lang == 'ar' else ''}-{device}.png"
            page.screenshot(path=SCREENSHOTS / name, full_page=True)
        submit(page, lang)
        page.wait_for_selector("#error-summary")
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[device], "the errors scroll sideways"
        assert serious_violations(page) == [], f"the form with errors, {device}"
        fill_report(page, lang)
        submit(page, lang)
        page.wait_for_selector("#reference")
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[device], "the confirmation scrolls"
        assert serious_violations(page) == [], f"the confirmation, {device}"
    finally:
        context.close()
