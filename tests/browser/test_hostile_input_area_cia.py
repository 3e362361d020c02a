"""Hostile text in an area's community impact assessment, rendered by triage's assessment page in Chromium.

The same payloads as test_hostile_input.py go in through the real form: the assessment's notes and an action's
description (also an attribute of the action's button), first refused (the form comes back holding them) and
then recorded. Each page is opened with a dialog listener: no payload may open a dialog or add an element, and
the text is shown as written. Triage and notify run on real Kafka, PostgreSQL and sockets
(tests/integration/test_area_cia.py's `area_cia_stack`).
"""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from tests.browser.pages import sign_in_with_form
from tests.browser.test_area_cia_pages import LONDON, stack  # noqa: F401  (stack: a fixture)
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
from tests.integration.test_area_cia import MET, PASSWORD, AreaCiaStack

NOTES = f"{SCRIPT} {ATTRIBUTE} {IMAGE} {URL} {SVG} {BIDI} " + "\U0001d518\u0645\u0332" * 1000 + "\u0e01\u0e33" * 500
ACTION = f"{ATTRIBUTE}{SVG} {BIDI}"  # at most 1,000 characters


def test_hostile_assessment_notes_and_actions_are_shown_as_written_and_never_run(
        stack: AreaCiaStack, page: Page, dialogs: list[str]) -> None:  # noqa: F811
    sign_in_with_form(page, "sam", at=f"{stack.triage_url}/login", password=PASSWORD)
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    page.goto(f"{stack.triage_url}/tension")
    declare = page.locator("form#declare")
    declare.get_by_label("Scope").select_option(MET)
    declare.get_by_label("Reason").fill("Disorder after a march")
    declare.get_by_role("button", name="Declare").click()
    expect(page.get_by_role("status").first).to_contain_text("Heightened tension declared.")
    page.get_by_role("link", name="Record a community impact assessment for this area").click()

    form = page.locator("form#record-cia")
    form.get_by_label("Assessment").fill(NOTES)
    form.get_by_role("group", name="Action 1 (optional)").get_by_label("What is to be done").fill(ACTION)
    form.get_by_role("button", name="Record the assessment").click()  # no levels chosen: refused
    expect(page.locator(".govuk-error-summary")).to_contain_text("Choose the level of community tension")
    inert(page, dialogs, "the refused assessment form")
    form = page.locator("form#record-cia")
    expect(form.get_by_label("Assessment")).to_have_value(NOTES)
    action = form.get_by_role("group", name="Action 1 (optional)")
    expect(action.get_by_label("What is to be done")).to_have_value(ACTION)

    form.get_by_role("group", name="Community tension").get_by_label("Substantial").check()
    form.get_by_role("group", name="Risk of disorder").get_by_label("Moderate").check()
    action.get_by_label("Owner's username").fill("olly")
    due = stack.clock.now() + timedelta(hours=4)
    action.get_by_label("Due (UK time)").fill(due.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M"))
    form.get_by_role("button", name="Record the assessment").click()
    expect(page.get_by_role("status").first).to_contain_text("Community impact assessment recorded.")
    inert(page, dialogs, "the area's assessment page")
    shown_as_written(page, "main dd", NOTES)
    shown_as_written(page, ".vigil-cia-actions li", ACTION)
    expect(page.locator(".vigil-cia-actions").get_by_role("button", name=f"Mark done: {ACTION}")).to_have_count(1)
