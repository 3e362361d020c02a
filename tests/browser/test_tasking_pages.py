"""Patrols and visits in Chromium: a supervisor reads the day's tasking list at desktop and phone widths, drops a
task with a reason and records a visit on a phone; an officer records a visit from the morning message's link
without signing in. Axe finds no serious or critical violation and nothing scrolls sideways."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from infra.assets import ensure_assets
from shared.settings import VigilSettings
from tests.browser.pages import looks_right, serious_violations, sign_in_through_session
from tests.browser.test_site_routine_links import PHONE, fits_the_screen
from tests.browser.test_sites_pages import phone, sites  # noqa: F401  (fixtures)
from tests.integration.test_site_routines import SitesStack, sites_stack
from tests.integration.test_tasking_morning import VISIT_LINK, at, morning_message


def test_a_supervisor_reads_the_list_and_drops_a_task_with_a_reason(sized: Page,
                                                                     sites: dict[str, str]) -> None:  # noqa: F811
    sign_in_through_session(sized, sites, "sam", "/sites")
    sized.get_by_role("link", name="Tasking for Greater Manchester").click()
    expect(sized.get_by_role("heading", level=1)).to_contain_text("Patrols and visits")
    expect(sized.locator(f"#task-{sites['mosque']}")).to_contain_text("incident at the site in the last 14 days")
    expect(sized.get_by_role("link", name="Download the briefing sheet (PDF)")).to_be_visible()
    looks_right(sized)
    task = sized.locator(f"#task-{sites['mosque']}")
    task.get_by_text("Drop this task").first.click()
    task.get_by_label("Reason").fill("armed patrol posted there all day")
    task.get_by_role("button", name="Drop this task").click()
    expect(sized.get_by_text("Task dropped.")).to_be_visible()
    expect(sized.get_by_role("heading", name="Dropped by a supervisor")).to_be_visible()
    expect(sized.get_by_text("armed patrol posted there all day")).to_be_visible()
    looks_right(sized)
    task = sized.locator("li", has_text="Central Mosque").filter(has=sized.get_by_text("Add this task"))
    task.get_by_text("Add this task").first.click()
    task.get_by_label("Reason").fill("the patrol was stood down")
    task.get_by_role("button", name="Add this task").click()
    expect(sized.get_by_text("Task added.")).to_be_visible()
    expect(sized.locator(f"#task-{sites['mosque']}")).to_contain_text("the patrol was stood down")


def test_a_supervisor_records_a_visit_on_a_phone(phone: Page, sites: dict[str, str]) -> None:  # noqa: F811
    mosque = sites["mosque"]
    sign_in_through_session(phone, sites, "sam", f"/sites/{mosque}")
    phone.get_by_role("link", name="Record a visit").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Record a visit")
    looks_right(phone)
    phone.get_by_label("What did you see or hear? (optional)").fill("Spoke to the chair of trustees")
    phone.get_by_role("button", name="Record the visit").click()
    expect(phone.get_by_text("Visit recorded. Thank you.")).to_be_visible()
    expect(phone.get_by_role("heading", name="Police visits")).to_be_visible()
    expect(phone.get_by_text("Spoke to the chair of trustees")).to_be_visible()
    looks_right(phone)


@pytest.fixture
def stack(vigil_settings: VigilSettings, new_database: Callable[[str], str], tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[SitesStack]:
    ensure_assets()
    monkeypatch.setenv("ASSESSMENT_TASKING_INTERVAL_SECONDS", "3600")  # the test moves the clock and announces
    with sites_stack(vigil_settings, new_database, tmp_path, monkeypatch) as running:
        yield running


def test_an_officer_records_a_visit_from_the_morning_message_at_phone_width(stack: SitesStack, page: Page) -> None:
    stack.clock.set(at(6, 0))
    stack.register_site_led_by_lee()
    stack.clock.set(at(7, 0))
    assert stack.assessment.mornings.announce() == 1
    found = VISIT_LINK.search(morning_message(stack).part("plain"))
    assert found is not None
    page.set_viewport_size(PHONE)
    page.goto(found[1])
    expect(page.get_by_role("heading", name="Record a visit")).to_be_visible()
    expect(page.locator(".govuk-summary-list")).to_contain_text("Central Mosque")
    expect(page.locator(".govuk-summary-list")).to_contain_text("PC Nora Quinn")
    assert "<br>" not in page.locator(".govuk-summary-list").inner_text(), "time windows on lines of their own"
    assert fits_the_screen(page) and serious_violations(page) == []
    page.get_by_label("What did you see or hear? (optional)").fill("x" * 2001)
    page.get_by_role("button", name="Record the visit").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("2000 characters or fewer")
    assert serious_violations(page) == []
    page.get_by_label("What did you see or hear? (optional)").fill("All quiet at the gates")
    page.get_by_role("button", name="Record the visit").click()
    expect(page.get_by_role("heading", name="Visit recorded")).to_be_visible()
    assert fits_the_screen(page) and serious_violations(page) == []
    page.goto(found[1])
    expect(page.get_by_role("heading", name="This visit is already recorded")).to_be_visible()
    assert serious_violations(page) == []
