"""A supervisor records an area's community impact assessment from the heightened tension page and marks its
action done, at a phone's width in Chromium, with axe.

Triage and notify run on real Kafka, PostgreSQL and sockets (tests/integration/test_area_cia.py's
`area_cia_stack`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from infra.assets import ensure_assets
from shared.settings import VigilSettings
from tests.browser.pages import serious_violations, sign_in_with_form
from tests.browser.test_site_routine_links import PHONE, fits_the_screen
from tests.integration.test_area_cia import MET, PASSWORD, AreaCiaStack, area_cia_stack
from tests.support.waiting import eventually

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def stack(vigil_settings: VigilSettings, new_database: Callable[[str], str],
          monkeypatch: pytest.MonkeyPatch) -> Iterator[AreaCiaStack]:
    ensure_assets()
    with area_cia_stack(vigil_settings, new_database, monkeypatch) as running:
        yield running


def test_a_supervisor_records_an_area_assessment_and_marks_its_action_done_at_phone_width(
        stack: AreaCiaStack, page: Page) -> None:
    page.set_viewport_size(PHONE)
    sign_in_with_form(page, "sam", at=f"{stack.triage_url}/login", password=PASSWORD)
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    page.goto(f"{stack.triage_url}/tension")
    declare = page.locator("form#declare")
    declare.get_by_label("Scope").select_option(MET)
    declare.get_by_label("Reason").fill("Disorder after a march")
    declare.get_by_role("button", name="Declare").click()
    expect(page.get_by_role("status").first).to_contain_text("Heightened tension declared.")

    page.get_by_role("link", name="Record a community impact assessment for this area").click()
    expect(page.get_by_role("heading", name="Record a community impact assessment")).to_be_visible()
    assert fits_the_screen(page) and serious_violations(page) == []
    page.get_by_role("button", name="Record the assessment").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Choose the level of community tension")
    assert serious_violations(page) == []

    form = page.locator("form#record-cia")
    form.get_by_role("group", name="Community tension").get_by_label("Substantial").check()
    form.get_by_role("group", name="Risk of disorder").get_by_label("Moderate").check()
    form.get_by_label("Assessment").fill("Worry in the Jewish community after the march")
    first = form.get_by_role("group", name="Action 1 (optional)")
    first.get_by_label("What is to be done").fill("Meet the synagogue's security committee")
    first.get_by_label("Owner's username").fill("olly")
    due = stack.clock.now() + timedelta(hours=4)
    first.get_by_label("Due (UK time)").fill(due.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M"))
    form.get_by_role("button", name="Record the assessment").click()

    expect(page.get_by_role("status").first).to_contain_text("Community impact assessment recorded.")
    expect(page.locator("#cia-state")).to_contain_text("Community tension substantial")
    action = page.locator(".vigil-cia-actions li")
    expect(action).to_contain_text("Meet the synagogue's security committee")
    expect(action).to_contain_text("Owner olly")
    assert fits_the_screen(page) and serious_violations(page) == []

    action.get_by_role("button", name="Mark done").click()
    expect(page.get_by_role("status").first).to_contain_text("Action marked done.")
    expect(page.locator(".vigil-cia-actions li")).to_contain_text("Done")
    expect(page.locator(".vigil-cia-actions").get_by_role("button", name="Mark done")).to_have_count(0)
    assert fits_the_screen(page) and serious_violations(page) == []
    action_id = page.locator(".vigil-cia-actions li").get_attribute("data-action")
    assert action_id
    eventually(lambda: stack.action_state(action_id) == "done", 60, "notify to hear it was done")

    page.goto(f"{stack.triage_url}/tension?area={MET}")  # where a CIA prompt about the area links to
    page.get_by_role("link", name="Record a community impact assessment for Metropolitan Police").click()
    expect(page.locator("#existing")).to_contain_text("open, 0 actions outstanding; community tension substantial")
    assert fits_the_screen(page) and serious_violations(page) == []
    page.locator("#existing").get_by_role("link").click()
    expect(page.locator(".vigil-cia-actions li")).to_contain_text("Meet the synagogue's security committee")
