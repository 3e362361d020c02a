"""Need to know: staff see their own force areas' incidents, tension, areas, sites and notifications; another
area's object answers exactly as an unknown one; national accounts see everything. Over the services' APIs,
with notify and assessment asking triage who a session is (the areas travel in that answer).

The world is `access_world.py`: every staff account limited to one area (AREA), objects in it and in OTHER.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.access_world import AREA, NATIONAL_SUPERVISOR, OTHER, Caller, World, access_world
from tests.support.infra import scratch_databases


@pytest.fixture(scope="module")
def world(postgres_admin_url: str, kafka_bootstrap: str) -> Iterator[World]:
    with scratch_databases(postgres_admin_url) as create, access_world(create, kafka_bootstrap) as built:
        yield built


@pytest.fixture(scope="module")
def national(world: World) -> Caller:
    return world.sign_in(NATIONAL_SUPERVISOR)


def ids(rows: list[dict[str, Any]], key: str) -> set[str]:
    return {str(r[key]) for r in rows}


def test_triage_tells_the_other_services_a_sessions_areas(world: World, national: Caller) -> None:
    supervisor = world.callers["supervisor"]
    for who, areas, is_national in ((supervisor, [AREA], False), (national, [], True)):
        answer = world.ask("triage", "service:notify", "POST", "/internal/v1/sessions/introspect",
                           json={"token": who.cookies["vigil_staff"]})
        assert answer.status_code == 200, answer.text
        assert (answer.json()["areas"], answer.json()["national"]) == (areas, is_national)
    mine = world.ask("triage", supervisor, "GET", "/v1/session").json()
    assert (mine["areas"], mine["national"]) == ([AREA], False)


def test_the_queue_lists_the_accounts_areas_only_and_a_national_account_sees_all(world: World,
                                                                                national: Caller) -> None:
    own, other = world.objects["incident"], world.objects["incident_other"]
    for path in ("/v1/incidents?state=all", f"/v1/incidents?state=all&area={OTHER}"):
        listed = ids(world.ask("triage", "triage_officer", "GET", path).json(), "incident_id")
        assert other not in listed
    assert own in ids(world.ask("triage", "triage_officer", "GET", "/v1/incidents?state=all").json(), "incident_id")
    everything = ids(world.ask("triage", national, "GET", "/v1/incidents?state=all").json(), "incident_id")
    assert {own, other} <= everything
    assert world.ask("triage", national, "GET", f"/v1/incidents/{other}").status_code == 200


def test_another_areas_incident_is_unknown_to_reads_and_actions_alike(world: World) -> None:
    other, nowhere = world.objects["incident_other"], "00000000-0000-4000-8000-000000000000"
    for method, suffix, body in (("GET", "", None), ("GET", "/personal", None), ("POST", "/viewing", None),
                                 ("POST", "/close", {"outcome": "no_further_action"})):
        answers = [world.ask("triage", "supervisor", method, f"/v1/incidents/{i}{suffix}", json=body)
                   for i in (other, nowhere)]
        assert [a.status_code for a in answers] == [404, 404], suffix
        assert answers[0].json()["detail"] == answers[1].json()["detail"] == "no such incident"
    assert world.ask("triage", "supervisor", "GET", f"/v1/incidents/{world.objects['incident']}").status_code == 200


def test_caseworkers_held_reports_are_their_areas_only(world: World) -> None:
    held = ids(world.ask("triage", "caseworker", "GET", "/v1/held").json(), "incident_id")
    assert world.objects["held"] in held and world.objects["held_other"] not in held
    assert world.ask("triage", "caseworker", "GET", f"/v1/incidents/{world.objects['held_other']}").status_code == 404


def test_tension_shows_the_accounts_areas_and_declares_only_for_them(world: World) -> None:
    found = world.ask("triage", "supervisor", "GET", "/v1/tension").json()
    declared = ids(found["declarations"], "tension_id")
    assert world.objects["tension"] in declared and world.objects["tension_other"] not in declared
    assert ids(found["proposals"], "proposal_id") == {world.objects["proposal"]}
    refused = world.ask("triage", "supervisor", "POST", "/v1/tension", json={"area": OTHER, "reason": "a march"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "area"
    national = world.ask("triage", "supervisor", "POST", "/v1/tension", json={"area": "national", "reason": "x"})
    assert national.status_code == 422, "a national declaration is for national accounts"
    lift = world.ask("triage", "supervisor", "POST", f"/v1/tension/{world.objects['tension_other']}/lift", json={})
    assert lift.status_code == 404


def test_assessment_shows_the_accounts_areas_only(world: World, national: Caller) -> None:
    areas = world.ask("assessment", "analyst", "GET", "/v1/areas").json()
    assert [r["area"] for r in areas["areas"]] == [AREA]
    assert len(world.ask("assessment", national, "GET", "/v1/areas").json()["areas"]) > 1
    other, unknown = (world.ask("assessment", "analyst", "GET", f"/v1/areas/{code}") for code in (OTHER, "E99999999"))
    assert other.status_code == unknown.status_code == 404
    assert other.json()["detail"].replace(OTHER, "?") == unknown.json()["detail"].replace("E99999999", "?")
    strategic = world.ask("assessment", "analyst", "GET", "/v1/strategic-assessment")
    assert strategic.status_code == 200 and "Metropolitan Police" in strategic.text, "an account's one area"
    assert world.ask("assessment", "analyst", "GET", "/v1/strategic-assessment",
                     params={"area": OTHER}).status_code == 404
    csv = world.ask("assessment", "analyst", "GET", "/counts.csv").text
    assert "Metropolitan Police" in csv and "Cumbria" not in csv
    assert world.ask("assessment", "analyst", "GET", "/counts.csv", params={"area": OTHER}).status_code == 422


def test_sites_are_listed_for_the_accounts_areas(world: World, national: Caller) -> None:
    listed = ids(world.ask("assessment", "neighbourhood_officer", "GET", "/v1/sites").json()["sites"], "site_id")
    assert world.objects["site"] in listed and world.objects["site_other"] not in listed
    every = ids(world.ask("assessment", national, "GET", "/v1/sites").json()["sites"], "site_id")
    assert {world.objects["site"], world.objects["site_other"]} <= every


def test_notify_shows_deliveries_chases_and_prompts_of_the_accounts_areas(world: World, national: Caller) -> None:
    mine = ids(world.ask("notify", "supervisor", "GET", "/v1/notifications").json(), "notification_id")
    assert world.objects["notification"] in mine and world.objects["notification_other"] not in mine
    give_ups = ids(world.ask("notify", "supervisor", "GET", "/v1/notifications/give-ups").json(), "notification_id")
    assert world.objects["notification_other"] not in give_ups
    every = ids(world.ask("notify", national, "GET", "/v1/notifications").json(), "notification_id")
    assert {world.objects["notification"], world.objects["notification_other"]} <= every
    assert world.ask("notify", "supervisor", "GET", f"/v1/chases/{world.objects['chase']}").status_code == 200
    assert world.ask("notify", "supervisor", "GET", f"/v1/chases/{world.objects['chase_other']}").status_code == 404
    prompts = world.ask("notify", national, "GET", "/v1/assessments").json()
    assert {p["area"] for p in prompts} >= {AREA, OTHER}
    assert {p["area"] for p in world.ask("notify", "supervisor", "GET", "/v1/assessments").json()} == {AREA}
    assert world.ask("notify", "supervisor", "GET", f"/v1/rota/{OTHER}").status_code == 404
