"""Hostile text in every free-text field of a report and of staff actions, rendered by triage's pages in Chromium.

Script, attribute and URL payloads, bidirectional overrides and very long Unicode go in through the real doors:
the reporter's name, the place's name, the description and a follow-up (intake's API), an override's and a
regrade's reasons (the incident's forms), a community impact assessment's communities, notes and actions (the
incident's form: first refused, when it comes back holding them, then recorded, sealed with the report's key by
intake, ADR 0055) and a heightened tension's reason (the tension page's form). Every page that shows them is
opened with a dialog listener: no payload may open a dialog or add an element, and each is shown as written,
character for character; axe finds nothing serious or critical on the pages that hold the payloads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from services.triage.auth import Auth
from shared.clock import SystemClock
from shared.db import Database
from shared.settings import VigilSettings
from tests.browser.pages import serious_violations, sign_in_with_form
from tests.factories import report_body
from tests.integration.stack import running, stack_env

PASSWORD = "a long enough password"
SCRIPT = '<script>alert("script")</script>'
ATTRIBUTE = '" autofocus onfocus="alert(\'attribute\')" x="'
IMAGE = "<img src=x onerror=alert('image')>"
URL = "javascript:alert('url')"
SVG = "<svg/onload=alert('svg')>"
BIDI = "invoice\u202egpj.exe\u202c and \u2067\u05e9\u05dc\u05d5\u05dd\u2069 \u200f!"
LONG = "\U0001d518\u0645\u0332" * 1500 + "\u0e01\u0e33" * 500  # astral, Arabic with a combining mark, Thai

NAME = f"{SCRIPT}{BIDI}"
PLACE = f"{ATTRIBUTE}{IMAGE}"
DESCRIPTION = f"{SCRIPT} {ATTRIBUTE} {IMAGE} {URL} {SVG} {BIDI} {LONG}"
FOLLOW_UP = f"{URL} {SVG} {IMAGE}"
OVERRIDE = f"{IMAGE} {ATTRIBUTE} {BIDI} " + "\u01c5\u0301" * 100
REGRADE = f"{SVG} {SCRIPT} {BIDI} " + "\U0001d518\u0645\u0332" * 100  # at most 500
TENSION = f"{SCRIPT}{URL}{BIDI}"
COMMUNITIES = f"{ATTRIBUTE}{SVG} {BIDI}"  # an input's value: an attribute of the page; at most 2,000
CIA_NOTES = f"{SCRIPT} {ATTRIBUTE} {IMAGE} {URL} {SVG} {BIDI} {LONG}"  # at most 10,000
CIA_ACTIONS = f"{URL} {IMAGE} {BIDI} " + "\u01c5\u0301" * 1000  # at most 5,000


@pytest.fixture
def services(vigil_settings: VigilSettings, new_database: Callable[[str], str],
             logdir: Path) -> Iterator[dict[str, str]]:
    env = stack_env(vigil_settings, new_database)
    db = Database(env["TRIAGE_DATABASE_URL"])
    Auth(db, SystemClock()).create_user("sam", "Sam Supervisor", PASSWORD, ["supervisor"])
    db.dispose()
    with running(env, logdir, ("intake", "triage")) as svc:
        yield {"intake": svc["intake"].url, "triage": svc["triage"].url}


@pytest.fixture
def dialogs(page: Page) -> list[str]:
    opened: list[str] = []

    def refuse(dialog: Dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    return opened


def inert(page: Page, dialogs: list[str], where: str) -> None:
    """Nothing ran on the page, and no payload became an element of it."""
    page.wait_for_load_state("load")
    assert dialogs == [], f"a dialog opened on {where}: {dialogs}"
    planted = page.evaluate("""() => [...document.querySelectorAll('main script, main img, main svg[onload], '
        + 'main [onerror], main [onfocus], main [onload], main a[href^="javascript:" i]')].length""")
    assert planted == 0, f"a payload became an element on {where}"


def shown_as_written(page: Page, selector: str, text: str) -> None:
    found = page.locator(selector).all_text_contents()
    assert any(text in t for t in found), f"{selector} does not show the text as written"


def test_hostile_text_is_shown_as_written_and_never_runs(page: Page, dialogs: list[str],
                                                        services: dict[str, str]) -> None:
    body = report_body(reporter__name=NAME, incident__location__place_name=PLACE, incident__description=DESCRIPTION)
    sent = httpx.post(f"{services['intake']}/v1/reports", json=body, timeout=10)
    assert sent.status_code == 202, sent.text
    reference, token = sent.json()["reference"], sent.json()["follow_up_token"]
    added = httpx.post(f"{services['intake']}/v1/reports/{reference}/updates", json={"information": FOLLOW_UP},
                       headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert added.status_code == 202, added.text

    sign_in_with_form(page, "sam", at=f"{services['triage']}/login", password=PASSWORD)
    row = page.locator("#queue-rows tr", has_text=reference)
    expect(row).to_be_visible(timeout=60_000)
    inert(page, dialogs, "the queue")

    row.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", name=f"Incident {reference}")).to_be_visible()
    incident = page.url
    inert(page, dialogs, "the incident page")

    page.goto(f"{incident}/personal")
    page.get_by_role("button", name="Show the reporter's personal details").click()
    expect(page.locator("#personal-details")).to_be_visible()
    expect(page.locator("#follow-ups")).to_contain_text("javascript:", timeout=30_000)
    inert(page, dialogs, "the personal details")
    for text in (NAME, PLACE, DESCRIPTION):
        shown_as_written(page, "#personal-details dd", text)
    shown_as_written(page, "#follow-ups .vigil-as-written", FOLLOW_UP)

    page.goto(f"{incident}/override")
    page.get_by_label("P3").check()
    page.get_by_label("Reason").fill(OVERRIDE)
    page.get_by_role("button", name="Change the priority").click()
    expect(page.locator("#timeline")).to_contain_text("Priority")
    inert(page, dialogs, "the timeline")
    shown_as_written(page, "#timeline .vigil-as-written", OVERRIDE)

    page.goto(f"{incident}/regrade")
    page.get_by_label("Source").select_option("3")
    page.get_by_label("Intelligence").select_option("E")
    page.get_by_label("Handling").select_option("C")
    page.get_by_label("Reason").fill(REGRADE)
    page.get_by_role("button", name="Change the grading").click()
    expect(page.locator("#timeline")).to_contain_text("Grading")
    inert(page, dialogs, "the timeline with the regrade")
    shown_as_written(page, "#timeline .vigil-as-written", REGRADE)

    page.goto(f"{incident}/record-cia")
    page.get_by_label("Communities affected").fill(COMMUNITIES)
    page.get_by_label("Assessment").fill(CIA_NOTES)
    page.get_by_label("Actions and owners").fill(CIA_ACTIONS)
    page.get_by_role("button", name="Record the assessment").click()  # no levels chosen: refused
    expect(page.locator(".govuk-error-summary")).to_contain_text("Choose the level of community tension")
    inert(page, dialogs, "the refused assessment form")
    assert serious_violations(page) == [], "the refused assessment form"
    expect(page.get_by_label("Communities affected")).to_have_value(COMMUNITIES)
    expect(page.get_by_label("Assessment")).to_have_value(CIA_NOTES)
    expect(page.get_by_label("Actions and owners")).to_have_value(CIA_ACTIONS)
    page.get_by_role("group", name="Community tension").get_by_label("Substantial").check()
    page.get_by_role("group", name="Risk of disorder").get_by_label("Moderate").check()
    page.get_by_role("button", name="Record the assessment").click()
    expect(page.get_by_role("status").first).to_contain_text("Community impact assessment recorded.")
    inert(page, dialogs, "the timeline with the assessment")
    for text in (COMMUNITIES, CIA_NOTES, CIA_ACTIONS):
        shown_as_written(page, '#timeline [data-kind="CommunityImpactAssessmentCompleted"] .vigil-as-written', text)
    assert serious_violations(page) == [], "the incident page with every payload"

    page.get_by_role("link", name="Heightened tension").first.click()
    declare = page.locator("form#declare")
    declare.get_by_label("Scope").select_option("E23000001")
    declare.get_by_label("Reason").fill(TENSION)
    declare.get_by_role("button", name="Declare").click()
    expect(page.get_by_role("status").first).to_contain_text("Heightened tension declared.")
    inert(page, dialogs, "the tension page")
    shown_as_written(page, 'tr[data-area="E23000001"]', TENSION)

    page.goto(f"{services['triage']}/admin/audit")
    inert(page, dialogs, "the audit of personal-data views")
