"""The administrator's console in Debian's Chromium, at desktop and phone widths: an administrator signs in,
lists the staff accounts, creates one and disables it after confirming; axe finds nothing serious or critical
on any page, no page scrolls sideways, the Content-Security-Policy refuses nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from infra.assets import ensure_assets
from services.triage.main import build, create_app
from services.triage.settings import TriageSettings
from shared.clock import SystemClock
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.browser.pages import looks_right, sign_in_with_form
from tests.support.asgi import serving

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "a long enough password"
STAFF = [("ada", "Ada Administrator", ["admin"], []),
         ("dora", "Dora Inspector", ["duty_inspector"], ["E23000001"]),
         ("olly", "Olly Officer", ["triage_officer"], ["E23000001"]),
         ("sam", "Sam Supervisor", ["supervisor", "duty_inspector"], ["E23000001", "E23000005"]),
         ("ana", "Ana Analyst", ["analyst"], []),
         ("wyn", "Wyn Officer", ["triage_officer"], ["W15000004"])]


@pytest.fixture(scope="module")
def triage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ensure_assets()
    url = f"sqlite:///{tmp_path_factory.mktemp('admin') / 'triage.db'}"
    upgrade("triage", url)
    service = build(VigilSettings(environment="test"), TriageSettings(database_url=url), SystemClock())
    for username, name, roles, areas in STAFF:
        service.auth.create_user(username, name, PASSWORD, roles, areas, f"{username}@example.org")
    with serving(create_app(service, with_worker=False), name="triage-admin") as base:
        yield base
    service.db.dispose()


def sign_in(page: Page, base: str, username: str) -> None:
    sign_in_with_form(page, username, at=f"{base}/login?next=/admin", password=PASSWORD)


def test_an_administrator_lists_creates_and_disables_an_account(sized: Page, triage: str) -> None:
    sign_in(sized, triage, "ada")
    expect(sized.get_by_role("heading", name="Staff accounts", level=1)).to_be_visible()
    expect(sized.locator('tr[data-username="sam"]')).to_contain_text("Duty Inspector, Supervisor")
    expect(sized.locator('tr[data-username="sam"]')).to_contain_text("Metropolitan Police")
    expect(sized.locator('tr[data-username="ana"]')).to_contain_text("National")
    looks_right(sized)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sized.screenshot(path=str(SCREENSHOTS / f"admin-accounts-{sized.width_name}.png"),  # type: ignore[attr-defined]
                     full_page=True)

    sized.get_by_label("Role").select_option("triage_officer")
    sized.get_by_role("button", name="Apply filters").click()
    expect(sized.locator("table.vigil-admin-accounts tbody tr")).to_have_count(2)
    assert "role=triage_officer" in sized.url

    sized.get_by_role("button", name="Create an account").click()
    expect(sized.get_by_role("heading", name="Create a staff account")).to_be_visible()
    looks_right(sized)
    username = f"kit{sized.width_name}"  # type: ignore[attr-defined]
    sized.get_by_label("Full name").fill("Kit Caseworker")
    sized.get_by_label("Username").fill(username)
    sized.get_by_label("Caseworker").check()
    sized.get_by_label("Dyfed-Powys", exact=True).check()
    sized.get_by_label("Email address").fill("kit@example.org")
    sized.get_by_role("button", name="Create account").click()
    expect(sized.get_by_role("heading", name="Account created")).to_be_visible()
    temporary = sized.locator("#temporary-password").inner_text()
    looks_right(sized)
    assert httpx.post(f"{triage}/v1/session", json={"username": username, "password": temporary}).status_code == 200

    sized.get_by_role("link", name="Go to Kit Caseworker's account").click()
    expect(sized.get_by_role("heading", name="Kit Caseworker")).to_contain_text("Enabled")
    looks_right(sized)
    sized.get_by_role("button", name="Disable account").click()
    expect(sized.get_by_role("heading", name="Are you sure you want to disable this account?")).to_be_visible()
    looks_right(sized)
    sized.get_by_label("Why (optional)").fill("Left the centre")
    sized.get_by_role("button", name="Disable account").click()
    expect(sized.get_by_role("heading", name="Kit Caseworker")).to_contain_text("Disabled")
    expect(sized.locator(".govuk-notification-banner")).to_contain_text("Account disabled")
    expect(sized.locator("#history")).to_contain_text("Reason: Left the centre")
    looks_right(sized)
    assert httpx.post(f"{triage}/v1/session", json={"username": username, "password": temporary}).status_code == 401


def test_every_other_page_of_the_console_passes_axe_and_fits_a_phone(sized: Page, triage: str) -> None:
    sign_in(sized, triage, "ada")
    sized.get_by_role("link", name="Olly Officer" if sized.width_name == "desktop" else "Wyn Officer").click()  # type: ignore[attr-defined]
    account = sized.url
    for path, heading in [("/roles", "Roles"), ("/areas", "Areas"), ("/contact", "Contact details"),
                          ("/password", "Reset password")]:
        sized.goto(account + path)
        expect(sized.get_by_role("heading", name=heading, level=1)).to_be_visible()
        looks_right(sized)
    sized.goto(account + "/areas")
    sized.get_by_label("National").check()
    expect(sized.locator("input[name=areas]:checked")).to_have_count(1)  # the design system's exclusive box
    sized.get_by_role("button", name="Save changes").click()
    expect(sized.locator(".govuk-notification-banner")).to_contain_text("Areas changed")
    for path, heading in [("/admin/audit", "Personal data views"), ("/admin/rulesets", "Rulesets")]:
        sized.goto(triage + path)
        expect(sized.get_by_role("heading", name=heading, level=1)).to_be_visible()
        looks_right(sized)
