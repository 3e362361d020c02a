"""The staff UI in Debian's Chromium: a critical incident arrives live, is acknowledged, and roles hold."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from services.triage.auth import Auth
from shared.clock import SystemClock
from shared.db import Database
from shared.settings import VigilSettings
from tests.browser.pages import sign_in_with_form
from tests.factories import report_body
from tests.integration.stack import running, stack_env

PASSWORD = "a long enough password"


@pytest.fixture
def services(vigil_settings: VigilSettings, new_database: Callable[[str], str],
             logdir: Path) -> Iterator[dict[str, str]]:
    env = stack_env(vigil_settings, new_database)
    db = Database(env["TRIAGE_DATABASE_URL"])
    auth = Auth(db, SystemClock())
    auth.create_user("dora", "Dora Inspector", PASSWORD, ["duty_inspector"])
    auth.create_user("olly", "Olly Officer", PASSWORD, ["triage_officer"])
    auth.create_user("sam", "Sam Supervisor", PASSWORD, ["supervisor"])
    db.dispose()
    with running(env, logdir, ("intake", "triage")) as svc:
        yield {"intake": svc["intake"].url, "triage": svc["triage"].url}


def sign_in(page: Page, base: str, username: str) -> None:
    sign_in_with_form(page, username, at=f"{base}/login", password=PASSWORD)
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()


def test_a_new_critical_incident_appears_live_and_is_acknowledged(page: Page, browser: Browser,
                                                                  services: dict[str, str]) -> None:
    sign_in(page, services["triage"], "dora")
    expect(page.locator("#queue-rows")).to_contain_text("Nothing in the queue")
    answer = httpx.post(f"{services['intake']}/v1/reports", json=report_body(incident__types=["arson"]), timeout=10)
    reference = answer.json()["reference"]

    row = page.locator("#queue-rows tr", has_text=reference)
    expect(row).to_be_visible(timeout=60_000)
    expect(row).to_contain_text("P1")
    expect(row).to_contain_text("Arson")
    expect(row.locator("td.left")).to_contain_text("m")

    colleague = browser.new_context().new_page()
    sign_in(colleague, services["triage"], "olly")
    colleague.get_by_role("link", name=reference).click()
    expect(colleague.get_by_role("heading", name=f"Incident {reference}")).to_be_visible()
    expect(row).to_contain_text("Olly Officer", timeout=10_000)
    colleague.context.close()

    row.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", name=f"Incident {reference}")).to_be_visible()
    expect(page.locator(".criteria")).to_contain_text("arson")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status").first).to_contain_text("Acknowledged.")
    timeline = page.locator("#timeline")
    expect(timeline.locator(":scope > .moj-timeline__item")).to_have_count(2)
    expect(timeline).to_contain_text("Triaged")
    expect(timeline).to_contain_text("Acknowledged by Dora Inspector")
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)


def test_a_triage_officer_cannot_declare_heightened_tension_even_with_a_forged_form(
        page: Page, services: dict[str, str]) -> None:
    sign_in(page, services["triage"], "olly")
    page.get_by_role("link", name="Heightened tension").click()
    expect(page.get_by_role("heading", name="Heightened tension", exact=True)).to_be_visible()
    expect(page.locator("form#declare")).to_have_count(0)

    forged = page.evaluate("""async () => {
        const csrf = document.querySelector('meta[name="csrf-token"]').content;
        const form = new URLSearchParams({csrf_token: csrf, op: 'declare', area: 'national', reason: 'forged'});
        const page = await fetch('/tension', {method: 'POST', body: form});
        const api = await fetch('/v1/tension', {method: 'POST', headers: {'Content-Type': 'application/json',
            'X-CSRF-Token': csrf}, body: JSON.stringify({area: 'national', reason: 'forged'})});
        return [page.status, await page.text(), api.status];
    }""")
    assert forged[0] == 403 and "does not allow" in forged[1]
    assert forged[2] == 403
    page.reload()
    expect(page.locator(".declarations")).to_have_count(0)
    expect(page.locator("tr.tense")).to_have_count(0)


def test_a_supervisor_declares_and_lifts_heightened_tension_on_the_map(page: Page, services: dict[str, str]) -> None:
    sign_in(page, services["triage"], "sam")
    page.get_by_role("link", name="Heightened tension").click()
    expect(page).to_have_title("Heightened tension – Vigil")
    expect(page.locator("table.tension-map")).to_have_count(1)
    declare = page.locator("form#declare")
    declare.get_by_label("Scope").select_option("E23000001")
    declare.get_by_label("Reason").fill("Attack on a mosque in another force")
    declare.get_by_role("button", name="Declare").click()
    expect(page.get_by_role("status").first).to_contain_text("Heightened tension declared.")
    met = page.locator('tr[data-area="E23000001"]')
    expect(met).to_contain_text("Heightened")
    expect(met).to_contain_text("Attack on a mosque in another force")
    expect(page.locator('tr[data-area="W15000004"]')).to_contain_text("Normal")

    page.locator(".declarations form").get_by_label("Reason").fill("calmer now")
    page.locator(".declarations").get_by_role("button", name="Lift").click()
    expect(page.get_by_role("status").first).to_contain_text("Heightened tension lifted.")
    expect(page.locator('tr[data-area="E23000001"]')).to_contain_text("Normal")
