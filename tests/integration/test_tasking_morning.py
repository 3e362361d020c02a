"""The morning tasking message, end to end: assessment (PostgreSQL, Kafka) on a moved clock announces the day's
list at the set time, once; notify (PostgreSQL, Kafka) emails it to the area's neighbourhood officer only (a real
SMTP server) with a signed link per task; the link's page records nothing, its form records the visit at
assessment over HTTP, and used a second time records none. Staff accounts are a real triage's, over HTTP; the
harness is the places-of-worship one (test_site_routines.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.assessment.calendar import LONDON, faith_events
from services.assessment.sites.teams import Team, Teams
from shared.settings import VigilSettings
from tests.integration.test_site_routines import NAT, NORA, OLLY, SitesStack, sites_stack
from tests.support.smtp import Received
from tests.support.waiting import eventually

TEAM_SERGEANT = "snt@police.example"  # the directory's team `nt` (test_tension_alerts.directory_of_accounts)
VISIT_LINK = re.compile(r"^Record your visit, without signing in: (\S+)$", re.MULTILINE)


def last_ten_nights(year: int) -> date:
    [ramadan] = [e for e in faith_events("muslim", date(year, 1, 1), date(year, 12, 31))
                 if e.name == "Ramadan" and e.start.year == year]
    return ramadan.end - timedelta(days=9)


DAY = last_ten_nights(2027)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(DAY, time(hour, minute), LONDON)


@pytest.fixture
def stack(vigil_settings: VigilSettings, new_database: Callable[[str], str], tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[SitesStack]:
    monkeypatch.setenv("ASSESSMENT_TASKING_INTERVAL_SECONDS", "3600")  # the test moves the clock and announces
    with sites_stack(vigil_settings, new_database, tmp_path, monkeypatch) as running:
        yield running


def visits(stack: SitesStack, site_id: str) -> list[dict[str, Any]]:
    with stack.signed_in("nora") as nora:
        answer = nora.get(f"/v1/sites/{site_id}/visits")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["visits"])


def morning_message(stack: SitesStack) -> Received:
    return eventually(lambda: next((m for m in stack.mailbox.to(NORA)
                                    if str(m.message["Subject"]).startswith("Patrols and visits")), None),
                      90, "the morning message to the area's officer")


def test_the_morning_message_reaches_the_areas_officer_and_its_link_records_one_visit(stack: SitesStack) -> None:
    stack.clock.set(at(6, 0))
    site_id = stack.register_site_led_by_lee()
    stack.clock.set(at(6, 59))
    assert stack.assessment.mornings.announce() == 0, "not before the set time"
    stack.clock.set(at(7, 0))
    assert stack.assessment.mornings.announce() == 1
    assert stack.assessment.mornings.announce() == 0, "once a day"

    email = morning_message(stack)
    assert email.message["Subject"] == f"Patrols and visits in Greater Manchester, {DAY:%A} {DAY.day} {DAY:%B %Y}"
    plain = email.part("plain")
    assert "1. Central Mosque (M13)" in plain and "Last ten nights of Ramadan" in plain
    found = VISIT_LINK.search(plain)
    assert found is not None, plain
    link = found[1]
    assert link.startswith(f"{stack.notify_url}/v/") and f'href="{link}"' in email.part("html")
    eventually(lambda: not [d for d in stack.deliveries("tasking_morning") if d["status"] == "pending"], 60,
               "the morning message to settle")
    assert [(d["recipient"], d["status"]) for d in stack.deliveries("tasking_morning")] == [("staff:nora", "sent")]
    assert not [m for m in (*stack.mailbox.to(OLLY), *stack.mailbox.to(NAT))
                if "Patrols and visits" in str(m.message["Subject"])], "another area's and national: not sent"

    stack.clock.set(at(19, 40))
    opened = httpx.get(link, timeout=10)
    assert opened.status_code == 200 and "Record a visit" in opened.text and "PC Nora Quinn" in opened.text
    assert visits(stack, site_id) == [], "opening the link records nothing"
    bad = httpx.post(link, data={"visited_at": "tonight"}, timeout=10)
    assert bad.status_code == 422 and "Enter when you visited" in bad.text
    recorded = httpx.post(link, data={"visited_at": "", "visited_by": "PC Quinn and PC Shah",
                                      "notes": "spoke to the stewards at Taraweeh"}, timeout=10)
    assert recorded.status_code == 200 and "Visit recorded" in recorded.text, recorded.text
    again = httpx.post(link, data={"visited_at": ""}, timeout=10)
    assert again.status_code == 410 and "This visit is already recorded" in again.text

    [visit] = visits(stack, site_id)
    assert (visit["visited_by"], visit["recorded_by"], visit["via"], visit["notes"]) == (
        "PC Quinn and PC Shah", "nora", "link", "spoke to the stewards at Taraweeh")
    assert datetime.fromisoformat(visit["visited_at"]) == at(19, 40), "the form's time left empty: when it was sent"
    with stack.signed_in("nora") as nora:
        listed = nora.get("/v1/tasking", params={"area": "E23000005", "date": DAY.isoformat()}).json()
    assert [t["site_id"] for t in listed["tasks"]] == [site_id]


def test_where_the_area_has_teams_a_teams_list_goes_to_the_people_named_for_the_team(stack: SitesStack) -> None:
    """Teams as ASSESSMENT_TASKING_TEAMS_FILE gives them (read in tests/unit/test_sites_tasking_teams.py); the
    directory names the team `nt`'s people (Sgt, snt@police.example)."""
    stack.clock.set(at(6, 0))
    stack.register_site_led_by_lee()
    stack.assessment.mornings.teams = Teams([Team("nt", "Manchester South team", "E23000005", frozenset({"M13"}))])
    stack.clock.set(at(7, 0))
    assert stack.assessment.mornings.announce() == 1
    email = eventually(lambda: next((m for m in stack.mailbox.to(TEAM_SERGEANT)
                                     if str(m.message["Subject"]).startswith("Patrols and visits")), None),
                       90, "the team's morning message")
    assert email.message["Subject"] == (f"Patrols and visits in Manchester South team, Greater Manchester, "
                                        f"{DAY:%A} {DAY.day} {DAY:%B %Y}")
    plain = email.part("plain")
    assert "1. Central Mosque (M13)" in plain and VISIT_LINK.search(plain) is not None, plain
    assert "no neighbourhood officer of its own" not in plain
    eventually(lambda: not [d for d in stack.deliveries("tasking_morning") if d["status"] == "pending"], 60,
               "the morning message to settle")
    assert [(d["recipient"], d["status"]) for d in stack.deliveries("tasking_morning")] == [("person:snt", "sent")]
    assert not [m for m in stack.mailbox.to(NORA) if "Patrols and visits" in str(m.message["Subject"])], \
        "the area's officer is not sent the team's list"
