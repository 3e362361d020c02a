"""An administrator changes a caseworker's reporting centre through the console in Debian's Chromium, at a
desktop's width and a phone's: the account page offers the change, a bad id is named in the error summary and
beside the field, the new centre is shown with the change in the account's history; axe finds nothing serious or
critical on any of these pages and none scrolls sideways."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from infra.assets import ensure_assets
from services.triage.main import build, create_app
from services.triage.settings import TriageSettings
from shared.clock import SystemClock
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.browser.pages import PASSWORD, looks_right, sign_in_with_form
from tests.support.asgi import serving


@dataclass(frozen=True)
class Console:
    base: str
    tina: str  # the caseworker's user id


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    ensure_assets()
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    upgrade("triage", url)
    service = build(VigilSettings(environment="test"), TriageSettings(database_url=url), SystemClock())
    service.auth.create_user("ada", "Ada Administrator", PASSWORD, ["admin"])
    tina = service.auth.create_user("tina", "Tina Caseworker", PASSWORD, ["caseworker"], centre="tell-mama")
    with serving(create_app(service, with_worker=False), name="triage-centre") as base:
        yield Console(base, tina)
    service.db.dispose()


def test_an_administrator_changes_a_caseworker_s_centre_and_a_bad_id_is_named(sized: Page, console: Console) -> None:
    page = sized
    account = f"{console.base}/admin/accounts/{console.tina}"
    sign_in_with_form(page, "ada", at=f"{console.base}/login?next=/admin/accounts/{console.tina}")
    expect(page.get_by_role("heading", name="Tina Caseworker", level=1)).to_be_visible()
    expect(page.locator("#centre")).to_have_text("tell-mama")
    looks_right(page)

    page.get_by_role("link", name="Change reporting centre").click()
    expect(page.get_by_role("heading", name="Reporting centre", level=1)).to_be_visible()
    field = page.get_by_label("Reporting centre")
    expect(field).to_have_value("tell-mama")
    looks_right(page)

    field.fill("Tell Mama!")
    page.get_by_role("button", name="Save changes").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link")).to_contain_text("lower-case letters")
    expect(page.locator("#centre-error")).to_contain_text("lower-case letters")
    expect(page.get_by_label("Reporting centre")).to_have_value("Tell Mama!")
    looks_right(page)
    summary.get_by_role("link").click()
    expect(page.get_by_label("Reporting centre")).to_be_focused()

    page.get_by_label("Reporting centre").fill("galop")
    page.get_by_label("Reason (optional)").fill("moved to Galop's team")
    page.get_by_role("button", name="Save changes").click()
    assert page.url == f"{account}?done=centre"
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Reporting centre changed")
    expect(page.locator("#centre")).to_have_text("galop")
    history = page.locator("#history")
    expect(history).to_contain_text("Reporting centre changed")
    expect(history).to_contain_text("tell-mama → galop. Reason: moved to Galop's team")
    looks_right(page)


def test_the_caseworker_s_held_reports_page_fits_a_phone(sized: Page, console: Console) -> None:
    """Its table of five columns scrolls inside its own box: the page itself never scrolls sideways."""
    sign_in_with_form(sized, "tina", at=f"{console.base}/login?next=/held")
    expect(sized.get_by_role("heading", name="Held for the reporting centre", level=1)).to_be_visible()
    expect(sized.locator("#held-empty")).to_contain_text("No reports are held")
    looks_right(sized)
