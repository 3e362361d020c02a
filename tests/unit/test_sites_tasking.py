"""The tasking list's ranking, from facts held in memory: each reason and its points, the windows of the day,
a supervisor's changes. Days come from the calendar engine, never typed in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from services.assessment.calendar import LONDON, faith_events
from services.assessment.projection import ReportFacts, TensionFacts
from services.assessment.sites.assess import assess_site
from services.assessment.sites.facts import SiteFacts
from services.assessment.sites.guidance import load_guidance_file
from services.assessment.sites.tasking import TASK_FROM, Candidate, Change, candidate, rank, task_id
from shared.events.sites import SiteEntry

GMP = "E23000005"
GUIDANCE = load_guidance_file()


def ramadan_last_ten_nights(year: int) -> date:
    """The first of Ramadan's last ten nights in `year`, as the calendar engine computes Ramadan."""
    [ramadan] = [e for e in faith_events("muslim", date(year, 1, 1), date(year, 12, 31)) if e.name == "Ramadan"
                 and e.start.year == year]
    return ramadan.end - timedelta(days=9)


DAY = ramadan_last_ten_nights(2027)
NOW = datetime.combine(DAY, time(6, 0), LONDON).astimezone(UTC)
LAST_FRIDAY = DAY - timedelta(days=(DAY.weekday() - 4) % 7 or 7)


def site(site_id: str, name: str, faith: str = "muslim", **changes: Any) -> SiteFacts:
    doc: dict[str, Any] = {"name": name, "faith": faith, "area": GMP, "postcode_district": "M13",
                           "capacity_band": "200-799", "measures": ["cctv", "lighting", "stewards"],
                           "services": [{"name": "Friday prayers", "day": "friday", "time": "13:15", "main": True},
                                        {"name": "Taraweeh", "day": "daily", "time": "19:30", "main": True,
                                         "season": "Ramadan"}]} | changes
    e = SiteEntry.model_validate(doc)
    return SiteFacts(site_id, 1, GMP, faith, name, f"fp-{site_id}", NOW, NOW, e.model_dump_json())


def report(n: int, at: datetime, place_fp: str) -> ReportFacts:
    return ReportFacts(f"r{n}", f"V{n}", GMP, None, at, at, at, 1, ("criminal_damage",), ("religion",), "muslim",
                       "place_of_worship", place_fp, "none", False, False, False, False, "2AP", "web", "witness")


def candidates(sites: list[SiteFacts], reports: list[ReportFacts], tensions: list[TensionFacts] = (),  # type: ignore[assignment]
               day: date = DAY, area_level: str = "low") -> list[Candidate]:
    found = []
    for x in sites:
        risk = assess_site(x, reports, {}, area_level, tensions, [], NOW)
        found.append(candidate(x, risk, reports, {}, tensions, GUIDANCE, day, ()))
    return found


CENTRAL = site("s1", "Central Mosque")
NORTH = site("s2", "North Mosque")
SYNAGOGUE = site("s3", "Heaton Park Synagogue", faith="jewish",
                 services=[{"name": "Shabbat morning", "day": "saturday", "time": "09:30", "main": True}])
INCIDENT = report(1, datetime.combine(LAST_FRIDAY, time(13, 40), LONDON).astimezone(UTC), "fp-s1")


def test_a_mosque_with_an_incident_last_friday_ranks_first_as_ramadans_last_ten_nights_begin() -> None:
    listed = rank(GMP, DAY, candidates([SYNAGOGUE, NORTH, CENTRAL], [INCIDENT]))
    assert [t.name for t in listed.tasks] == ["Central Mosque", "North Mosque"]
    first, second = listed.tasks
    assert first.score > second.score >= TASK_FROM
    assert any(r.startswith("1 incident at the site in the last 14 days, the latest on Friday") for r in first.reasons)
    assert any(r.startswith("Last ten nights of Ramadan (day 1 of 10)") for r in first.reasons)
    assert any(r.startswith("Ramadan (day ") for r in second.reasons)
    assert [t.name for t in listed.others] == ["Heaton Park Synagogue"], "nothing raises it on this day"
    assert first.task_id == task_id(GMP, DAY, "s1")
    labels = [w["label"] for w in first.document()["windows"]]
    assert "Taraweeh" in labels, "a seasonal service in its season"
    assert ("Friday prayers" in labels) == (DAY.weekday() == 4)
    assert {"from": "19:00", "to": "21:00", "label": "Taraweeh"} in first.document()["windows"]


def test_the_incident_counts_for_fourteen_days_and_then_no_more() -> None:
    later = DAY + timedelta(days=14)
    listed = rank(GMP, later, candidates([CENTRAL], [INCIDENT], day=later))
    assert not any("incident" in r and "14 days" in r for t in (*listed.tasks, *listed.others) for r in t.reasons)


def test_windows_are_the_sites_services_of_the_day_friday_prayers_and_a_festival_evening() -> None:
    ordinary = DAY + timedelta(days=60)
    friday = ordinary + timedelta(days=(4 - ordinary.weekday()) % 7)
    plain = site("s4", "Quiet Mosque", services=[])
    [central, quiet] = sorted((*rank(GMP, friday, candidates([CENTRAL, plain], [], day=friday)).tasks,
                               *rank(GMP, friday, candidates([CENTRAL, plain], [], day=friday)).others),
                              key=lambda t: t.name)
    assert [w.document() for w in central.windows] == [{"from": "12:45", "to": "14:45", "label": "Friday prayers"}]
    assert [w.document() for w in quiet.windows] == [{"from": "12:00", "to": "15:00", "label": "Friday prayers"}]
    saturday = friday + timedelta(days=1)
    [t] = rank(GMP, saturday, candidates([CENTRAL], [], day=saturday)).others
    assert t.windows == (), "no Taraweeh out of Ramadan, no Friday prayers on a Saturday"
    [eid] = [e for e in faith_events("muslim", DAY, DAY + timedelta(days=20)) if e.name == "Eid al-Fitr"]
    [t] = rank(GMP, eid.start, candidates([plain], [], day=eid.start)).tasks
    assert [w.label for w in t.windows] == ["Eid al-Fitr, evening"]


def quiet_day(x: SiteFacts, after: date) -> date:
    """The first day from `after` on which no period of the site's calendar falls (searched, not typed)."""
    day = after
    while candidates([x], [], day=day)[0].periods:
        day += timedelta(days=1)
    return day


def test_tension_declared_for_the_area_or_nationally_adds_its_points() -> None:
    ordinary = quiet_day(SYNAGOGUE, DAY + timedelta(days=61))
    start = datetime.combine(ordinary, time(0), LONDON).astimezone(UTC)
    national = TensionFacts("t1", "national", start - timedelta(days=1), None, start - timedelta(days=1))
    elsewhere = TensionFacts("t2", "E23000001", start, None, start)
    [without] = rank(GMP, ordinary, candidates([SYNAGOGUE], [], [elsewhere], day=ordinary)).others
    [with_tension] = [*rank(GMP, ordinary, candidates([SYNAGOGUE], [], [national], day=ordinary)).tasks,
                      *rank(GMP, ordinary, candidates([SYNAGOGUE], [], [national], day=ordinary)).others]
    assert with_tension.score == without.score + 6, "risk is as of now; the day's tension adds its own points"
    assert "heightened tension is declared for the area or nationally: +6" in with_tension.reasons


def test_a_supervisor_adds_and_drops_with_a_reason_and_the_latest_decision_stands() -> None:
    at = NOW
    changes = [Change("s3", True, "community event tonight", "sup", at),
               Change("s2", False, "visited by the inspector at 18:00", "sup", at),
               Change("s1", False, "mistake", "sup", at),
               Change("s1", True, "it stays", "sup", at + timedelta(minutes=1))]
    listed = rank(GMP, DAY, candidates([SYNAGOGUE, NORTH, CENTRAL], [INCIDENT]), changes)
    assert [t.name for t in listed.tasks] == ["Central Mosque", "Heaton Park Synagogue"]
    assert listed.tasks[1].reasons[-1] == "added by sup: community event tonight"
    assert [t.name for t in listed.dropped] == ["North Mosque"]
    assert listed.dropped[0].document()["change"]["reason"] == "visited by the inspector at 18:00"
    assert listed.tasks[0].reasons[-1] == "added by sup: it stays", "added back after a drop: the latest stands"
    doc = listed.document()
    assert [t["rank"] for t in doc["tasks"]] == [1, 2] and doc["not_tasked"] == []
