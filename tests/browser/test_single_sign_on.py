"""Single sign-on (ADR 0060) in Debian's Chromium, at desktop and phone widths: the sign-in page offers the
organisation's account above the password form, the button goes through a real OpenID Connect provider's own
login and consent pages (tests/support/oidc.py) and back to the queue, signed in as the linked member of staff;
a refusal is a readable page. axe finds nothing serious or critical, no page scrolls sideways, and the
Content-Security-Policy refuses nothing on Vigil's pages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from infra.assets import ensure_assets
from services.triage.auth import Auth
from shared.clock import SystemClock
from shared.db import Database
from shared.migrate import upgrade
from tests.browser.pages import looks_right
from tests.support.oidc import OidcAccount, OidcClientRegistration, running_provider
from tests.support.services import ServiceProcess

PASSWORD = "a long enough password"
SECRET = "vigil-browser-client-secret-0123456789"
LABEL = "Sign in with your organisation's account"


@dataclass(frozen=True)
class Sites:
    triage: str
    provider: str


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    ensure_assets()
    tmp_path = tmp_path_factory.mktemp("sso-browser")
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    upgrade("triage", url)
    db = Database(url)
    auth = Auth(db, SystemClock())
    auth.create_user("dora", "Dora Inspector", PASSWORD, ["duty_inspector"], ["E23000001"],
                     email="dora@police.example")
    db.dispose()
    triage = ServiceProcess("triage", {
        "VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": "127.0.0.1:1", "VIGIL_TOPIC_PREFIX": "unused.",
        "TRIAGE_SEAL_STAFF_TEXT": "false", "TRIAGE_DATABASE_URL": url, "TRIAGE_OIDC_CLIENT_ID": "vigil",
        "TRIAGE_OIDC_CLIENT_SECRET": SECRET}, tmp_path, mode="api")
    triage.env["VIGIL_STAFF_TRIAGE_URL"] = triage.url
    client = OidcClientRegistration("vigil", SECRET, [f"{triage.url}/login/oidc/callback"])
    accounts = [OidcAccount("dora-sub", "dora@police.example", True), OidcAccount("eve-sub", "eve@elsewhere.example",
                                                                                  True)]
    with running_provider([client], accounts, tmp_path) as provider:
        triage.env["TRIAGE_OIDC_ISSUER"] = provider.issuer
        triage.start()
        try:
            yield Sites(triage.url, provider.url)
        finally:
            triage.stop()


def at_the_provider(page: Page, sites: Sites, sub: str) -> None:
    """The provider's own development login (the box takes the `sub`, any password) and consent pages."""
    assert page.url.startswith(sites.provider), page.url
    page.locator("input[name=login]").fill(sub)
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


def test_the_button_signs_in_through_the_provider_to_the_queue(sized: Page, sites: Sites) -> None:
    page = sized
    page.goto(f"{sites.triage}/login?next=%2Fqueue")
    button = page.get_by_role("button", name=LABEL)
    expect(button).to_be_visible()
    expect(page.get_by_label("Username")).to_be_visible()
    assert button.bounding_box()["y"] < page.get_by_label("Username").bounding_box()["y"], (  # type: ignore[index]
        "the organisation's account comes first")
    looks_right(page)

    button.click()
    at_the_provider(page, sites, "dora-sub")
    page.wait_for_url(f"{sites.triage}/queue")
    expect(page.get_by_role("heading", name="Queue", exact=True)).to_be_visible()
    expect(page.get_by_text("Dora Inspector").first).to_be_visible()
    looks_right(page)


def test_an_identity_with_no_vigil_account_gets_a_readable_refusal(sized: Page, sites: Sites) -> None:
    page = sized
    page.goto(f"{sites.triage}/login")
    page.get_by_role("button", name=LABEL).click()
    at_the_provider(page, sites, "eve-sub")
    expect(page.get_by_role("heading", name="No Vigil account")).to_be_visible()
    expect(page.get_by_text("Ask your Vigil administrator")).to_be_visible()
    looks_right(page)
    page.goto(f"{sites.triage}/queue")
    assert page.url.startswith(f"{sites.triage}/login"), "no session was made"


def test_the_start_button_is_a_link_announced_as_a_button(sized: Page, sites: Sites) -> None:
    """A GOV.UK start button: a link to the start of single sign-on, with its arrow hidden from screen readers."""
    page = sized
    page.goto(f"{sites.triage}/login")
    link = page.locator("a#sso")
    assert link.get_attribute("href") == "/login/oidc"
    assert link.get_attribute("role") == "button"
    assert page.locator("a#sso svg").get_attribute("aria-hidden") == "true"
