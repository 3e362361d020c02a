"""Visits at places of worship fill the "actions taken" of the linked incident's community impact assessment
(site_visits.py): triage keeps, from assessment's events, the sites' links to reports, their names and who
visited when; never the visits' sealed notes. On an SQLite file, without Kafka."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.triage import tables
from services.triage.main import Triage, build, create_app
from services.triage.settings import TriageSettings
from services.triage.site_visits import actions_taken
from shared.clock import MovableClock
from shared.events.reports import Sealed
from shared.events.sites import (
    SiteEntry,
    SiteLinkDismissed,
    SiteRegistered,
    SiteReportLinked,
    SiteUpdated,
    SiteVisitRecorded,
)
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.unit.test_triage_pages import PASSWORD, START, arrives, envelope

MET = "E23000001"
SEALED_NOTES = Sealed(nonce="bm9uY2U=", ciphertext="Y2lwaGVydGV4dCBvZiB0aGUgbm90ZXM=")


@pytest.fixture
def triage(tmp_path: Path) -> Triage:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    upgrade("triage", url)
    triage = build(VigilSettings(), TriageSettings(database_url=url, seal_staff_text=False), MovableClock(START))
    triage.auth.create_user("sam", "Supt. Sam", PASSWORD, ["supervisor"], areas=[MET])
    return triage


def entry(name: str) -> SiteEntry:
    return SiteEntry.model_validate({"name": name, "faith": "muslim", "area": MET, "postcode_district": "N16",
                                     "capacity_band": "800+"})


def registered(site_id: str, name: str) -> SiteRegistered:
    return SiteRegistered(site_id=site_id, registered_at=START, registered_by="adam", entry=entry(name))


def visit(visit_id: str, site_id: str, at: datetime, by: str = "PC Olly Vance") -> SiteVisitRecorded:
    return SiteVisitRecorded(site_id=site_id, visit_id=visit_id, area=MET, visited_at=at, visited_by=by,
                             recorded_at=at, recorded_by="olly", notes=SEALED_NOTES)


SiteEvent = SiteRegistered | SiteUpdated | SiteReportLinked | SiteLinkDismissed | SiteVisitRecorded


def consumed(triage: Triage, *events: SiteEvent) -> None:
    for event in events:
        with triage.db.transaction() as s:
            triage.site_visits.on_site_event(s, envelope(event, event.site_id))


def actions(triage: Triage, incident_id: str = "r-1") -> list[tuple[str, str | None, datetime]]:
    """The incident's actions taken, as its page is given them."""
    with triage.db.snapshot() as s:
        found = triage.queries.incidents.with_history(s, incident_id)
        assert found is not None
        incident, _ = found
        rows = actions_taken(s, incident.report_id, incident.triaged_at)
    return [(r["visited_by"], r["site_name"], r["visited_at"]) for r in rows]


def test_a_visit_at_a_linked_site_after_the_report_is_an_action_taken_and_others_are_not(triage: Triage) -> None:
    arrives(triage, "r-1")  # triaged at START
    consumed(triage, registered("s-mosque", "Central Mosque"), registered("s-church", "St Mary's"),
             SiteReportLinked(site_id="s-mosque", report_id="r-1", linked_at=START, linked_by="adam"),
             visit("v-before", "s-mosque", START - timedelta(days=1)),
             visit("v-after", "s-mosque", START + timedelta(hours=3)),
             visit("v-elsewhere", "s-church", START + timedelta(hours=4)))
    assert actions(triage) == [("PC Olly Vance", "Central Mosque", START + timedelta(hours=3))]


def test_redelivered_events_change_nothing_a_renamed_site_reads_its_new_name_and_notes_are_not_kept(
        triage: Triage) -> None:
    arrives(triage, "r-1")
    link = SiteReportLinked(site_id="s-mosque", report_id="r-1", linked_at=START, linked_by="adam")
    later = visit("v-1", "s-mosque", START + timedelta(hours=1))
    consumed(triage, registered("s-mosque", "Central Mosque"), link, link, later, later,
             SiteUpdated(site_id="s-mosque", updated_at=START, updated_by="adam", entry=entry("Central Jamia Mosque")))
    assert actions(triage) == [("PC Olly Vance", "Central Jamia Mosque", START + timedelta(hours=1))]
    with triage.db.sessions() as s:
        kept = [dict(r) for r in s.execute(select(tables.site_visits)).mappings()]
    assert len(kept) == 1 and "notes" not in kept[0]
    assert SEALED_NOTES.ciphertext not in str(kept)


def test_a_dismissed_link_takes_the_sites_visits_off_the_incident(triage: Triage) -> None:
    arrives(triage, "r-1")
    consumed(triage, registered("s-mosque", "Central Mosque"),
             SiteReportLinked(site_id="s-mosque", report_id="r-1", linked_at=START, linked_by="adam"),
             visit("v-1", "s-mosque", START + timedelta(hours=1)))
    assert len(actions(triage)) == 1
    consumed(triage, SiteLinkDismissed(site_id="s-mosque", report_id="r-1", dismissed_at=START,
                                       dismissed_by="adam"))
    assert actions(triage) == []


def test_the_incident_page_lists_the_visits_as_actions_taken(triage: Triage) -> None:
    arrives(triage, "r-1")
    consumed(triage, SiteReportLinked(site_id="s-unnamed", report_id="r-1", linked_at=START, linked_by="adam"),
             visit("v-1", "s-unnamed", START + timedelta(hours=2), by="PC Olly Vance and PC Ade Bello"))
    with TestClient(create_app(triage, with_worker=False), follow_redirects=False) as client:
        answer = client.post("/login", data={"username": "sam", "password": PASSWORD, "next": "/queue"})
        assert answer.status_code == 303, answer.text
        page = client.get("/incidents/r-1")
    assert page.status_code == 200, page.text
    assert "Actions taken: visits to linked places of worship" in page.text
    assert "PC Olly Vance and PC Ade Bello visited a place of worship (its name not yet known)" in page.text
    consumed(triage, registered("s-unnamed", "Central Mosque"))
    with TestClient(create_app(triage, with_worker=False), follow_redirects=False) as client:
        client.post("/login", data={"username": "sam", "password": PASSWORD, "next": "/queue"})
        assert "PC Olly Vance and PC Ade Bello visited Central Mosque" in client.get("/incidents/r-1").text


def test_an_incident_without_linked_visits_has_no_actions_taken_section(triage: Triage) -> None:
    arrives(triage, "r-1")
    with TestClient(create_app(triage, with_worker=False), follow_redirects=False) as client:
        client.post("/login", data={"username": "sam", "password": PASSWORD, "next": "/queue"})
        page = client.get("/incidents/r-1")
    assert page.status_code == 200 and "Actions taken" not in page.text
