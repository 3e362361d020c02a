"""A site's security lead records a perimeter walk from the reminder's link on a phone, in Chromium, without
signing in; the link records once.

Assessment, notify and triage run on real Kafka, PostgreSQL and sockets (tests/integration/test_site_routines.py's
`sites_stack`); the reminder comes through a real SMTP server and its link is opened at a phone's width.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from infra.assets import ensure_assets
from shared.settings import VigilSettings
from tests.browser.pages import serious_violations
from tests.integration.test_site_routines import THURSDAY, SitesStack, record_link, sites_stack

PHONE = {"width": 375, "height": 740}


@pytest.fixture
def stack(vigil_settings: VigilSettings, new_database: Callable[[str], str], tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[SitesStack]:
    ensure_assets()
    with sites_stack(vigil_settings, new_database, tmp_path, monkeypatch) as running:
        yield running


def fits_the_screen(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_the_lead_records_a_walk_with_an_issue_from_the_reminder_at_phone_width(stack: SitesStack, page: Page) -> None:
    site_id = stack.register_site_led_by_lee()
    stack.announce_at(THURSDAY)
    link = record_link(stack.walk_reminder())
    page.set_viewport_size(PHONE)

    page.goto(link)
    expect(page.get_by_role("heading", name="Record the perimeter walk")).to_be_visible()
    expect(page.locator(".govuk-summary-list")).to_contain_text("Lee Hussain")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Friday prayers")
    assert fits_the_screen(page) and serious_violations(page) == []

    page.get_by_role("button", name="Record").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Say whether it was all in order")
    assert serious_violations(page) == []
    assert stack.records(site_id) == []

    page.get_by_label("Done, and I found issues").check()
    page.get_by_label("If you found issues, what kind?").select_option(label="Lighting")
    page.get_by_label("What did you see or do? (optional)").fill("The car park light by the side door is out")
    page.get_by_role("button", name="Record").click()
    expect(page.locator(".govuk-panel")).to_contain_text("Perimeter walk recorded")
    expect(page.get_by_text("Recorded for Lee Hussain: issues found (Lighting).")).to_be_visible()
    assert fits_the_screen(page) and serious_violations(page) == []

    page.goto(link)
    expect(page.get_by_role("heading", name="This routine is already recorded")).to_be_visible()
    expect(page.get_by_role("button", name="Record")).to_have_count(0)
    assert serious_violations(page) == []
    [record] = stack.records(site_id)
    assert (record["routine"], record["category"], record["recorded_by"], record["via"]) == (
        "perimeter_walk", "lighting", "lee", "link")
