"""A site's 5x5 risk matrix at its boundaries: each likelihood step, each impact step, each cell's level."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest
from hijridate import Hijri

from services.assessment.calendar import LONDON
from services.assessment.projection import ReportFacts
from services.assessment.scoring import LEVELS
from services.assessment.sites.assess import assess_site
from services.assessment.sites.facts import OutcomeFacts, SiteFacts
from services.assessment.sites.matrix import RiskInputs, cell_level, impact, likelihood, site_risk
from shared.events.sites import SiteEntry

NOW = datetime(2027, 1, 13, 18, 0, tzinfo=UTC)
GMP = "E23000005"


def entry(**changes: object) -> SiteEntry:
    doc: dict[str, object] = {"name": "Central Mosque", "faith": "muslim", "area": GMP, "postcode_district": "M13",
                              "capacity_band": "under 200",
                              "measures": ["cctv", "intruder_alarm", "lighting", "access_control", "door_hardening",
                                           "stewards"]}
    return SiteEntry.model_validate(doc | changes)


def site_of(e: SiteEntry, place_fp: str = "fp-central") -> SiteFacts:
    return SiteFacts("s1", 1, e.area, e.faith.value, e.name, place_fp, NOW, NOW, e.model_dump_json())


def report(n: int, age: timedelta = timedelta(0), place_fp: str | None = "fp-central",
           types: tuple[str, ...] = ("other",), religion: str = "muslim") -> ReportFacts:
    at = NOW - age
    return ReportFacts(f"r{n}", f"V{n}", GMP, None, at, at, at, 1, types, ("religion",), religion, "place_of_worship",
                       place_fp, "none", False, False, False, False, "2AP", "web", "witness")


def inputs(**changes: object) -> RiskInputs:
    base = RiskInputs(entry(), at_site=[], nearby=[], area_level="low", tension=False, calendar=[], open_issues=0)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_every_cell_of_the_matrix_gives_the_level_of_its_product() -> None:
    grid = {(like, imp): cell_level(like, imp) for like in range(1, 6) for imp in range(1, 6)}
    assert grid[(1, 3)] == grid[(3, 1)] == "low"
    assert grid[(2, 2)] == grid[(1, 4)] == grid[(2, 3)] == grid[(1, 5)] == "moderate"
    assert grid[(2, 4)] == grid[(3, 3)] == grid[(3, 4)] == grid[(2, 5)] == "substantial"
    assert grid[(3, 5)] == grid[(4, 4)] == "severe"
    assert grid[(4, 5)] == grid[(5, 4)] == grid[(5, 5)] == "critical"
    assert set(grid.values()) == set(LEVELS), "the same words as area risk"
    for (like, imp), level in grid.items():
        assert level == grid[(imp, like)], "the matrix is symmetric"


def test_incidents_at_the_site_raise_likelihood_in_steps_of_weighted_severity() -> None:
    one = report(1)   # "other" at a place of worship: severity 1.5, today
    assert likelihood(inputs(at_site=[one]), NOW)[0] == 2
    assert likelihood(inputs(at_site=[report(1, timedelta(days=1))]), NOW)[0] == 1, "just below 1.5"
    assert likelihood(inputs(at_site=[report(n) for n in range(4)]), NOW)[0] == 3          # 6.0
    assert likelihood(inputs(at_site=[report(n) for n in range(3)]), NOW)[0] == 2          # 4.5
    assert likelihood(inputs(at_site=[report(n) for n in range(10)]), NOW)[0] == 4         # 15.0
    assert likelihood(inputs(at_site=[report(n) for n in range(9)]), NOW)[0] == 3          # 13.5
    old = report(1, timedelta(days=90), types=("arson",))   # 7.5 halved by 90 days
    level, reasons = likelihood(inputs(at_site=[old]), NOW)
    assert level == 2 and reasons == ["1 incident at the site in the last two years "
                                      "(recency- and severity-weighted 3.75): +1"]


def test_each_other_factor_adds_its_step_and_likelihood_stops_at_five() -> None:
    assert likelihood(inputs(nearby=[report(1), report(2)]), NOW)[0] == 2                  # 3.0 nearby
    assert likelihood(inputs(nearby=[report(1), report(2, timedelta(hours=1))]), NOW)[0] == 1
    assert [likelihood(inputs(area_level=level), NOW)[0] for level in LEVELS] == [1, 1, 2, 2, 3]
    assert likelihood(inputs(tension=True), NOW)[0] == 2
    assert likelihood(inputs(open_issues=2), NOW) == (2, ["2 issues found by the site's checks not yet resolved: +1"])
    everything = inputs(at_site=[report(n) for n in range(10)], area_level="critical", tension=True, open_issues=1)
    level, reasons = likelihood(everything, NOW)
    assert level == 5 and len(reasons) == 4


def test_impact_is_capacity_children_and_the_core_protections_the_site_lacks() -> None:
    assert impact(entry())[0] == 1
    assert impact(entry(capacity_band="200-799"))[0] == 2
    assert impact(entry(capacity_band="800+"))[0] == 3
    assert impact(entry(children_on_site=True))[0] == 2
    two_missing = entry(measures=["cctv", "intruder_alarm", "lighting", "access_control"])
    assert impact(two_missing) == (1, ["capacity under 200: 1"])
    three_missing = entry(measures=["cctv", "intruder_alarm", "lighting"])
    assert impact(three_missing) == (2, [
        "capacity under 200: 1",
        "lacks 3 of the 6 core protections (access control, door hardening, stewards, trained staff or guarding): +1"])
    assert impact(entry(measures=["cctv", "intruder_alarm", "lighting", "guarding"]))[0] == 1, "people count once"
    assert impact(entry(capacity_band="800+", children_on_site=True, measures=[]))[0] == 5


def test_the_level_always_comes_with_its_reasons() -> None:
    risk = site_risk(inputs(entry=entry(capacity_band="800+", children_on_site=True), tension=True,
                            area_level="severe"), NOW)
    assert (risk.likelihood, risk.impact, risk.level) == (3, 4, "substantial")
    assert risk.reasons == (
        "likelihood 3 x impact 4 = 12: substantial",
        "likelihood 3 of 5: the area's risk is severe: +1; heightened tension is declared for the area or "
        "nationally: +1",
        "impact 4 of 5: capacity 800+: 3; children on site: +1")
    quiet = site_risk(inputs(), NOW)
    assert quiet.level == "low" and quiet.reasons[1] == "likelihood 1 of 5: nothing raises it"
    assert quiet.document() == {"likelihood": 1, "impact": 1, "level": "low", "score": 1,
                                "reasons": list(quiet.reasons)}


@pytest.mark.parametrize(("days_before", "raised"), [(7, True), (8, False)])
def test_a_mosque_is_more_likely_a_target_from_a_week_before_ramadan(days_before: int, raised: bool) -> None:
    ramadan = Hijri(1448, 9, 1).to_gregorian()
    as_of = datetime.combine(ramadan, time(12), LONDON).astimezone(UTC) - timedelta(days=days_before)
    risk = assess_site(site_of(entry()), [], {}, "low", [], [], as_of)
    assert (risk.likelihood == 2) is raised
    assert ("Ramadan (from 2027-02-08, in 7 days)" in risk.reasons[1]) is raised
    synagogue = assess_site(site_of(entry(faith="jewish")), [], {}, "low", [], [], as_of)
    assert synagogue.likelihood == 1, "another faith's festival is not the synagogue's"


def test_reports_are_told_apart_at_the_site_nearby_or_not_bearing_on_it() -> None:
    site = site_of(entry())
    reports = [report(1), report(2, place_fp="fp-other"), report(3, place_fp="fp-other", religion="jewish"),
               report(4, timedelta(days=30), place_fp="fp-other"), report(5, place_fp="fp-other"),
               replace(report(6), withdrawn=True)]
    risk = assess_site(site, reports, {"r5": True, "r1": False}, "low", [], [], NOW)
    assert risk.reasons[1] == (   # r5 linked by staff; r1 dismissed, so elsewhere; r3 another faith; r4 too old
        "likelihood 3 of 5: 1 incident at the site in the last two years (recency- and severity-weighted 1.5): +1; "
        "2 incidents at other muslim places of worship in the area in the last 28 days (weighted 3): +1")
    issue = OutcomeFacts("o1", "s1", "building_check", "issues_found", "lighting", NOW, NOW, "lee", "page")
    assert assess_site(site, [], {}, "low", [], [issue, replace(issue, outcome_id="o2", resolved_at=NOW)],
                       NOW).likelihood == 2
