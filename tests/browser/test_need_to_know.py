"""Need to know in Chromium: a supervisor limited to one force area sees that area's incidents in the list, and
another area's incident, opened by its address, is the same "no such incident" page as an id that does not exist.
The services are `access_world.py`'s (PostgreSQL, triage on a real socket)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pages import sign_in_with_form
from tests.integration.access_world import NATIONAL_SUPERVISOR, PASSWORD, World, access_world
from tests.support.infra import scratch_databases


@pytest.fixture(scope="module")
def world(postgres_admin_url: str, kafka_bootstrap: str) -> Iterator[World]:
    with scratch_databases(postgres_admin_url) as create, access_world(create, kafka_bootstrap) as built:
        yield built


def reference(world: World, incident_id: str) -> str:
    answer = world.ask("triage", world.sign_in(NATIONAL_SUPERVISOR), "GET", f"/v1/incidents/{incident_id}")
    assert answer.status_code == 200, answer.text
    return str(answer.json()["reference"])


def test_a_supervisor_sees_their_areas_incidents_and_not_anothers(page: Page, world: World) -> None:
    own, other = world.objects["incident"], world.objects["incident_other"]
    own_ref, other_ref = reference(world, own), reference(world, other)
    base = world.urls["triage"]
    sign_in_with_form(page, "supervisor", at=f"{base}/login", password=PASSWORD)
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()

    page.goto(f"{base}/incidents?status=all")
    expect(page.get_by_role("link", name=own_ref)).to_be_visible()
    expect(page.get_by_role("link", name=other_ref)).to_have_count(0)
    expect(page.locator("select[name=area] option")).to_have_count(2)  # "all" and their one area

    shown = []
    for incident_id in (other, "00000000-0000-4000-8000-000000000000"):
        answer = page.goto(f"{base}/incidents/{incident_id}")
        assert answer is not None and answer.status == 404
        shown.append(page.locator("main").inner_text().replace(incident_id, "<id>"))
        expect(page.locator("main")).to_contain_text("There is no such incident.")
    assert shown[0] == shown[1]
    assert other_ref not in page.content()
