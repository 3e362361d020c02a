"""The Duty Inspector acknowledges from the alert email in Chromium, without signing in, and the same link
opened again acts once.

Triage and notify run on real Kafka, PostgreSQL and sockets (tests/integration/test_pager_replies.py's
`pager_stack`); the alert comes through a real SMTP server and its link is opened as it would be from a phone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from infra.assets import ensure_assets
from services.notify.chase.model import ChaseState
from services.triage.incident import State
from shared.settings import VigilSettings
from tests.browser.pages import serious_violations
from tests.integration.test_pager_replies import DI_EMAIL, Stack, pager_stack
from tests.support.waiting import eventually


@pytest.fixture
def stack(vigil_settings: VigilSettings, new_database: Callable[[str], str],
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    ensure_assets()
    with pager_stack(vigil_settings, new_database, monkeypatch) as running:
        yield running


def acknowledge_link(stack: Stack, reference: str) -> str:
    [email] = eventually(lambda: [r for r in stack.mailbox.to(DI_EMAIL) if reference in str(r.message["Subject"])],
                         90, "the alert email")
    found = re.search(r'<a href="([^"]+)"[^>]*>Acknowledge</a>', email.part("html"))
    assert found is not None, email.part("html")
    return found[1]


def test_the_duty_inspector_acknowledges_from_the_email_without_signing_in_and_the_link_acts_once(
        stack: Stack, page: Page) -> None:
    incident = stack.open_p1()
    link = acknowledge_link(stack, incident.reference)
    assert link.startswith(f"{stack.notify_url}/a/")

    page.goto(link)
    expect(page.get_by_role("heading", name=f"Acknowledge incident {incident.reference}?")).to_be_visible()
    expect(page.locator(".govuk-summary-list")).to_contain_text("Insp. Sarah North")
    assert serious_violations(page) == []
    assert stack.incident(incident.incident_id).state == State.open  # opening the link did nothing

    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("heading", name="Incident acknowledged")).to_be_visible()
    expect(page.locator(".govuk-panel")).to_contain_text(incident.reference)
    expect(page.get_by_text("Recorded for Insp. Sarah North")).to_be_visible()
    assert serious_violations(page) == []
    acknowledged = stack.incident(incident.incident_id)
    assert acknowledged.state == State.acknowledged and acknowledged.acknowledged_by == stack.di_north
    [event] = stack.acknowledgements(incident.incident_id)
    assert event.via == "email link"

    page.goto(link)
    expect(page.get_by_role("heading", name="This link has already been used")).to_be_visible()
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(page.get_by_role("button", name="Sign in to Vigil")).to_have_attribute(
        "href", re.compile(re.escape(f"{stack.triage_url}/login?next=")))
    assert serious_violations(page) == []
    replayed = page.request.post(link)
    assert replayed.status == 410 and "This link has already been used" in replayed.text()
    assert len(stack.acknowledgements(incident.incident_id)) == 1
    eventually(lambda: stack.chase_state(incident.incident_id) == ChaseState.acknowledged, 60,
               "notify's chase to stop on triage's event")


def test_a_changed_link_says_it_does_not_work_and_offers_sign_in(stack: Stack, page: Page) -> None:
    incident = stack.open_p1()
    link = acknowledge_link(stack, incident.reference)
    response = page.goto(link[:-5])
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in to Vigil")).to_be_visible()
    assert "Traceback" not in page.content()
    assert stack.incident(incident.incident_id).state == State.open
