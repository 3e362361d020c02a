"""Hostile text in notify's staff pages: a rota override's reason, the free text a supervisor writes there.

The same payloads as test_hostile_input.py go in through the real form, first refused (the form comes back with
the text in it) and then accepted; notify's home page (the override's card) and the page that asks before
removing it are opened in Chromium with a dialog listener: no payload may open a dialog or add an element, and
the reason is shown as written.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

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
from tests.browser.test_notify_pages import sign_in_from_notify, staff_site  # noqa: F401  (fixture)

REASON = f"{SCRIPT} {ATTRIBUTE} {IMAGE} {URL} {SVG} {BIDI} " + "\U0001d518\u0645\u0332" * 100  # at most 500


def test_a_hostile_override_reason_is_shown_as_written_and_never_runs(
        page: Page, dialogs: list[str], staff_site: dict[str, str]) -> None:  # noqa: F811
    sign_in_from_notify(page, staff_site)
    expect(page.get_by_role("heading", name="Notifications and on call")).to_be_visible()
    inert(page, dialogs, "notify's home page")

    form = page.locator('form[action="/rota/overrides"]')
    form.get_by_label("Area").select_option(label="Metropolitan Police")
    form.get_by_label("Who will be on call").select_option(label="Insp. Imran Khan")
    form.get_by_label("Ends").fill("2026-11-21T08:00")  # before it starts: refused, the form comes back
    form.get_by_label("Reason").fill(REASON)
    form.get_by_role("button", name="Add override").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    inert(page, dialogs, "the refused override form")
    expect(page.locator('form[action="/rota/overrides"]').get_by_label("Reason")).to_have_value(REASON)

    form = page.locator('form[action="/rota/overrides"]')
    form.get_by_label("Area").select_option(label="Metropolitan Police")
    form.get_by_label("Who will be on call").select_option(label="Insp. Imran Khan")
    form.get_by_label("Ends").fill("2026-11-21T19:00")
    form.get_by_role("button", name="Add override").click()
    expect(page.get_by_role("status")).to_contain_text("Override added.")
    inert(page, dialogs, "notify's home page with the override")
    shown_as_written(page, ".vigil-override .vigil-as-written", REASON)

    page.locator(".vigil-override").get_by_role("link", name="Remove the override for Insp. Imran Khan in "
                                                           "Metropolitan Police").click()
    expect(page.get_by_role("heading", name="Remove this override?")).to_be_visible()
    inert(page, dialogs, "the page asking before removing the override")
    shown_as_written(page, "main .vigil-as-written", REASON)
