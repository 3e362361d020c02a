"""The incident page's actions taken (visits to linked places of worship) in Chromium, at desktop and phone
widths: the visit reads who went to which site and when; axe finds no serious or critical violation and nothing
scrolls sideways. The stack is the integration test's (real Kafka and PostgreSQL)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from infra.assets import ensure_assets
from shared.settings import VigilSettings
from tests.browser.pages import serious_violations
from tests.browser.test_site_routine_links import PHONE, fits_the_screen
from tests.browser.test_triage_ui import sign_in
from tests.integration.test_incident_site_visits import (  # noqa: F401  (the stack fixture)
    NOTES,
    SECTION,
    Stack,
    stack,
    visits_at_two_sites,
)
from tests.support.waiting import eventually

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def assets() -> None:
    ensure_assets()  # GOV.UK Frontend's files, before the services serve them


def test_the_visit_reads_as_an_action_taken_at_desktop_and_phone_widths(
        assets: None, page: Page, stack: Stack, vigil_settings: VigilSettings) -> None:  # noqa: F811
    visits_at_two_sites(stack, vigil_settings)
    eventually(lambda: "North Mosque" in stack.incident_page("r-visited"), 90, "the visit at triage")
    sign_in(page, stack.triage_url, "sam")
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        page.goto(f"{stack.triage_url}/incidents/r-visited")
        section = page.get_by_role("region", name=SECTION)
        expect(section).to_contain_text("PC Olly Vance visited North Mosque")
        expect(section).not_to_contain_text(NOTES)
        assert serious_violations(page) == []
        assert fits_the_screen(page), f"the page scrolls sideways at {size['width']} pixels"
