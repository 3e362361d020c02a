"""The triage officer's and the Duty Inspector's journeys in Chromium, at a desktop's width and a phone's,
with axe on every page visited; the queue keeps keyboard focus while it updates; what the URL says never
reaches the page; the reporter's words keep their line breaks; a view of personal details is recorded once.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from infra.assets import ensure_assets
from infra.procs import stop_processes
from services.triage import tables
from services.triage.auth import Auth
from shared.clock import SystemClock
from shared.db import Database
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.browser.pages import looks_right, sign_in_with_form, watched_page
from tests.factories import report_body
from tests.support.infra import scratch_databases
from tests.support.services import ServiceProcess
from tests.support.waiting import eventually

PASSWORD = "a long enough password"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass(frozen=True)
class Stack:
    intake: str
    triage: str
    triage_database: str


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Intake and triage as real processes, once for the module; triage knows its own address, so the
    navigation and the sign-in links of its error pages point at it."""
    ensure_assets()
    settings = VigilSettings(environment="test", kafka_bootstrap=kafka_bootstrap,
                             topic_prefix=f"t{uuid.uuid4().hex[:8]}.", topic_partitions=3)
    logdir = tmp_path_factory.mktemp("triage-journeys")
    with scratch_databases(postgres_admin_url) as new_database:
        env = services_env(settings, new_database, ("intake", "triage"))
        add_staff(env["TRIAGE_DATABASE_URL"])
        started: list[ServiceProcess] = []
        try:
            intake = ServiceProcess("intake", env, logdir)
            started.append(intake.start())
            triage = ServiceProcess("triage", {**env, "VIGIL_INTAKE_INTERNAL_URL": intake.url}, logdir)
            triage.env["VIGIL_STAFF_TRIAGE_URL"] = triage.url
            started.append(triage.start())
            yield Stack(intake.url, triage.url, env["TRIAGE_DATABASE_URL"])
        finally:
            stop_processes([p.proc for p in started if p.proc is not None], grace=20)


def services_env(settings: VigilSettings, new_database: Callable[[str], str],
                 names: tuple[str, ...]) -> dict[str, str]:
    """As tests.integration.stack.stack_env, for the services these journeys run only."""
    env = {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
           "VIGIL_TOPIC_PREFIX": settings.topic_prefix, "VIGIL_TOPIC_PARTITIONS": str(settings.topic_partitions)}
    for name in names:
        env[f"{name.upper()}_DATABASE_URL"] = url = new_database(name)
        upgrade(name, url)
    return env


def add_staff(database_url: str) -> None:
    db = Database(database_url)
    auth = Auth(db, SystemClock())
    auth.create_user("dora", "Dora Inspector", PASSWORD, ["duty_inspector"])
    auth.create_user("olly", "Olly Officer", PASSWORD, ["triage_officer"])
    auth.create_user("sam", "Sam Supervisor", PASSWORD, ["supervisor"])
    db.dispose()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    yield from watched_page(browser, "desktop")


# --- helpers ----------------------------------------------------------------------------------------

def sign_in(page: Page, username: str) -> None:
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    looks_right(page)
    sign_in_with_form(page, username, password=PASSWORD)


def report(stack: Stack, **overrides: Any) -> str:
    answer = httpx.post(f"{stack.intake}/v1/reports", json=report_body(**overrides), timeout=10)
    assert answer.status_code == 202, answer.text
    reference: str = answer.json()["reference"]
    return reference


def incident_id_of(stack: Stack, reference: str) -> str:
    """As a link in a Duty Inspector's page or message would carry it."""
    with httpx.Client(base_url=stack.triage, timeout=10) as client:
        client.post("/v1/session", json={"username": "sam", "password": PASSWORD}).raise_for_status()

        def found() -> str | None:
            rows = client.get("/v1/incidents", params={"state": "all"}).json()
            return next((r["incident_id"] for r in rows if r["reference"] == reference), None)

        incident_id: str = eventually(found, 60, f"{reference} to be triaged")
        return incident_id


def personal_views(stack: Stack, incident_id: str) -> int:
    db = Database(stack.triage_database)
    v = tables.personal_data_views
    with db.sessions() as s:
        count = int(s.execute(select(func.count()).select_from(v).where(v.c.incident_id == incident_id))
                    .scalar_one())
    db.dispose()
    return count


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{page.width_name}.png"), full_page=True)  # type: ignore[attr-defined]


def queue_row(page: Page, reference: str) -> Any:
    return page.locator("#queue-rows tr", has_text=reference)


# --- the journeys -----------------------------------------------------------------------------------

def test_a_triage_officer_searches_filters_opens_and_assigns(sized: Page, stack: Stack) -> None:
    critical = report(stack, incident__types=["arson"])
    other = report(stack, incident__types=["verbal_abuse"], incident__location__place_type="street")
    sized.goto(f"{stack.triage}/queue")
    sign_in(sized, "olly")
    expect(sized.get_by_role("heading", name="Queue", exact=True)).to_be_visible()
    expect(queue_row(sized, critical)).to_be_visible(timeout=60_000)
    expect(queue_row(sized, other)).to_be_visible(timeout=60_000)
    expect(sized.locator("#count-open .vigil-counts__number")).not_to_have_text("0")
    row = queue_row(sized, critical)
    expect(row).to_contain_text("Arson")
    expect(row).to_contain_text(re.compile(r"\d\d:\d\d (GMT|BST), \w{3} \d{1,2} \w{3} \d{4} (just now|\d+ min ago)"))
    expect(row.locator(".vigil-quiet-tag")).to_have_text("Duty Inspector")
    looks_right(sized)
    screenshot(sized, "triage-queue")

    sized.get_by_label("Reference").fill(critical.lower())
    sized.get_by_role("button", name="Search", exact=True).click()
    expect(sized).to_have_url(f"{stack.triage}/queue?q={critical.lower()}")
    expect(sized.locator("#queue-rows tr")).to_have_count(1)
    expect(queue_row(sized, critical)).to_be_visible()
    looks_right(sized)

    sized.get_by_role("link", name="Clear search and filters").click()
    sized.get_by_text("Filters", exact=True).click()
    sized.get_by_label("Priority").select_option("P1")
    sized.get_by_role("button", name="Apply filters").click()
    expect(sized).to_have_url(f"{stack.triage}/queue?priority=P1")
    expect(queue_row(sized, critical)).to_be_visible()
    expect(queue_row(sized, other)).to_have_count(0)
    for priority in sized.locator("#queue-rows .vigil-priority").all_inner_texts():
        assert priority == "P1"
    looks_right(sized)

    queue_row(sized, critical).get_by_role("link", name=critical).click()
    expect(sized.get_by_role("heading", name=f"Incident {critical}")).to_be_visible()
    expect(sized.get_by_role("button", name="Acknowledge")).to_have_count(0)  # critical: the Duty Inspector's
    looks_right(sized)
    screenshot(sized, "triage-incident")
    sized.get_by_role("button", name="Assign a Duty Inspector").click()
    expect(sized.get_by_role("heading", name="Assign a Duty Inspector")).to_be_visible()
    looks_right(sized)
    sized.get_by_label("Dora Inspector").check()
    sized.get_by_role("button", name="Assign", exact=True).click()
    expect(sized.get_by_role("status").first).to_contain_text("Duty Inspector assigned.")
    expect(sized.locator("#timeline")).to_contain_text("Dora Inspector is the Duty Inspector.")
    expect(sized.locator("#timeline")).to_contain_text("Duty Inspector assigned by Olly Officer")
    looks_right(sized)


def test_a_duty_inspector_opens_a_link_signs_in_and_acknowledges(sized: Page, stack: Stack) -> None:
    reference = report(stack, incident__types=["arson"])
    incident_id = incident_id_of(stack, reference)
    sized.goto(f"{stack.triage}/incidents/{incident_id}")
    sign_in(sized, "dora")
    expect(sized).to_have_url(f"{stack.triage}/incidents/{incident_id}")
    expect(sized.get_by_role("heading", name=f"Incident {reference}")).to_be_visible()
    expect(sized.locator(".left[data-countdown]")).to_contain_text("m")
    looks_right(sized)
    sized.get_by_role("button", name="Acknowledge").click()
    expect(sized.get_by_role("status").first).to_contain_text("Acknowledged.")
    expect(sized.locator("#timeline .moj-timeline__item")).to_have_count(2)
    expect(sized.locator("#timeline")).to_contain_text("Acknowledged by Dora Inspector")
    expect(sized.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(sized.locator("#state")).to_have_text("Acknowledged")
    looks_right(sized)


def test_the_queue_keeps_keyboard_focus_while_rows_arrive(page: Page, stack: Stack) -> None:
    first = report(stack, incident__types=["arson"])
    page.goto(f"{stack.triage}/queue")
    sign_in(page, "olly")
    expect(queue_row(page, first)).to_be_visible(timeout=60_000)
    page.locator("#sort-time-left").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("""() => { const el = document.activeElement; el.vigilMarked = true;
                                       return [el.tagName, el.id, el.closest('#queue-rows') !== null]; }""")
    assert focused[0] == "A" and focused[1].startswith("open-") and focused[2], focused

    page.evaluate("""document.addEventListener('htmx:after:swap',
                                               () => { window.vigilSwaps = 1 + (window.vigilSwaps || 0); })""")
    arriving = report(stack, incident__types=["arson"])
    expect(queue_row(page, arriving)).to_be_visible(timeout=60_000)  # an update was applied
    swaps = page.evaluate("window.vigilSwaps")
    page.wait_for_function("(before) => window.vigilSwaps > before", arg=swaps)  # and another after it
    still = page.evaluate("() => [document.activeElement.vigilMarked === true, document.activeElement.id]")
    assert still == [True, focused[1]]
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "sort-time-left"


def test_text_in_the_url_never_reaches_the_page(page: Page, stack: Stack) -> None:
    reference = report(stack)
    incident_id = incident_id_of(stack, reference)
    page.goto(f"{stack.triage}/login")
    sign_in(page, "olly")
    expect(page.get_by_role("heading", name="Queue", exact=True)).to_be_visible()
    page.goto(f"{stack.triage}/incidents/{incident_id}?msg=%3Cscript%3Ewindow.pwned%3D1%3C%2Fscript%3EPhone+0800+FAKE"
              f"&done=%3Cimg+src%3Dx%3E")
    expect(page.get_by_role("heading", name=f"Incident {reference}")).to_be_visible()
    expect(page.locator(".moj-alert")).to_have_count(0)
    assert page.evaluate("window.pwned") is None
    assert "0800 FAKE" not in page.content() and "<img src=x>" not in page.content()


def test_the_victims_words_keep_their_line_breaks_and_a_view_is_recorded_once(page: Page, stack: Stack) -> None:
    words = "They shouted at us outside the mosque.\nThen one of them threw a stone.\n\nMy son saw it."
    reference = report(stack, incident__description=words)
    incident_id = incident_id_of(stack, reference)
    page.goto(f"{stack.triage}/incidents/{incident_id}/personal")
    sign_in(page, "dora")
    expect(page.get_by_role("heading", name="The reporter's personal details")).to_be_visible()
    looks_right(page)
    assert personal_views(stack, incident_id) == 0
    page.get_by_role("button", name="Show the reporter's personal details").click()
    expect(page).to_have_url(f"{stack.triage}/incidents/{incident_id}/personal")  # redirected after the POST
    described = page.locator("#personal-details dd.vigil-as-written")
    expect(described).to_have_count(1)
    assert described.inner_text() == words
    assert described.evaluate("el => getComputedStyle(el).whiteSpace") == "pre-line"
    looks_right(page)
    page.reload()
    page.reload()
    expect(described).to_have_count(1)
    assert personal_views(stack, incident_id) == 1


def test_a_session_that_ends_mid_action_comes_back_to_the_page_after_signing_in(page: Page, stack: Stack) -> None:
    reference = report(stack, incident__types=["arson"])
    incident_id = incident_id_of(stack, reference)
    page.goto(f"{stack.triage}/incidents/{incident_id}/close")
    sign_in(page, "dora")
    expect(page.get_by_role("heading", name="Close the incident")).to_be_visible()
    looks_right(page)
    page.get_by_label("Duplicate of another report").check()
    page.context.clear_cookies()  # the session ends while the form is open
    page.get_by_role("button", name="Continue").click()
    sign_in(page, "dora")
    expect(page).to_have_url(f"{stack.triage}/incidents/{incident_id}/close")
    expect(page.get_by_role("heading", name="Close the incident")).to_be_visible()
    expect(page.get_by_label("Duplicate of another report")).not_to_be_checked()
    page.get_by_label("Duplicate of another report").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name=f"Are you sure you want to close incident {reference}?")).to_be_visible()
    looks_right(page)
    page.get_by_role("button", name="Close the incident").click()
    expect(page.get_by_role("status").first).to_contain_text("Incident closed.")
    expect(page.locator("#timeline")).to_contain_text("Outcome: Duplicate of another report.")

