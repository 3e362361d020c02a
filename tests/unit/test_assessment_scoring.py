"""Severity, the recency-weighted score against the area's normal, and the level with its reasons."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.assessment.projection import IncidentFacts, ReportFacts, TensionFacts
from services.assessment.scoring import assess, recency_weight, report_severity

AS_OF = datetime(2026, 6, 10, 18, 0, tzinfo=UTC)   # a Wednesday evening, nothing in the calendar
AREA = "E23000005"


def facts(n: int, at: datetime, types: tuple[str, ...] = ("verbal_abuse",), place: str = "street",
          **changes: object) -> ReportFacts:
    base = ReportFacts(report_id=f"r{n}", reference=f"V{n}", area=AREA, district=None, occurred_at=at,
                       submitted_at=at, updated_at=at, sequence=1, types=types, strands=("religion",),
                       religion="muslim", place_type=place, place_fp=f"fp{n % 2}" if place == "place_of_worship"
                       else None, injuries="none", weapon=False, ongoing=False, vulnerable=False, repeat=False,
                       grading="2AP", channel="web", role="witness")
    return replace(base, **changes)  # type: ignore[arg-type]


def steady(days: int = 40, per_day: int = 2) -> list[ReportFacts]:
    return [facts(d * 10 + i, AS_OF - timedelta(days=d, hours=3 + 8 * i)) for d in range(days) for i in range(per_day)]


def test_severity_adds_up_type_injuries_weapon_and_place_of_worship() -> None:
    at = AS_OF
    assert report_severity(facts(1, at)) == 1.5
    assault = facts(2, at, ("physical_assault", "verbal_abuse"), injuries="serious", weapon=True)
    assert report_severity(assault) == 5 + 3 + 2
    assert report_severity(facts(3, at, ("graffiti",), "place_of_worship")) == 3.0


def test_a_report_three_days_old_weighs_half() -> None:
    assert recency_weight(timedelta(hours=72), 72) == 0.5
    assert recency_weight(timedelta(hours=-5), 72) == 1.0


def test_steady_normal_volume_is_low_whatever_the_area_size() -> None:
    for per_day in (1, 5, 40):
        picture = assess(AREA, steady(per_day=per_day), [], [], AS_OF)
        assert picture.level == "low", (per_day, picture.reasons)
        assert not picture.spike.spike


def test_counts_by_window_strand_and_place() -> None:
    picture = assess(AREA, steady(per_day=2), [], [], AS_OF)
    assert picture.counts["24h"]["total"] == 2 and picture.counts["7d"]["total"] == 14
    assert picture.counts["28d"]["by_strand"] == {"religion": 56}
    assert picture.counts["28d"]["by_place"] == {"street": 56}


def test_surge_at_mosques_is_critical_with_a_spike_and_says_why() -> None:
    surge = [facts(1000 + i, AS_OF - timedelta(minutes=40 * i), ("threat",), "place_of_worship") for i in range(15)]
    picture = assess(AREA, steady() + surge, [], [], AS_OF)
    assert picture.level == "critical" and picture.spike.spike
    assert picture.places_of_worship_affected == 2
    assert picture.reasons[0].startswith("severity score ") and "times the area's normal" in picture.reasons[0]
    assert any(r.startswith("spike: 17 reports in 24 h") for r in picture.reasons)


def test_withdrawn_reports_do_not_count() -> None:
    withdrawn = [facts(1000 + i, AS_OF - timedelta(hours=i), withdrawn=True) for i in range(10)]
    assert assess(AREA, steady() + withdrawn, [], [], AS_OF).counts["24h"]["total"] == 2


def test_open_critical_incidents_and_declared_tension_raise_the_floor() -> None:
    incidents = [IncidentFacts(f"i{n}", f"r{n}", AREA, "P2", True, "open", AS_OF, AS_OF, ("violence",))
                 for n in range(3)]
    assert assess(AREA, steady(), incidents, [], AS_OF).level == "substantial"
    closed = [replace(i, status="closed") for i in incidents]
    assert assess(AREA, steady(), closed, [], AS_OF).level == "low"
    national = TensionFacts("t1", "national", AS_OF - timedelta(hours=2), None, AS_OF - timedelta(hours=2))
    declared = assess(AREA, steady(), [], [national], AS_OF)
    assert declared.level == "severe" and declared.tension_declared
    lifted = replace(national, lifted_at=AS_OF - timedelta(hours=1))
    assert assess(AREA, steady(), [], [lifted], AS_OF).level == "low"


def test_calendar_factor_multiplies_the_score_and_is_shown() -> None:
    friday_prayers = datetime(2026, 6, 12, 12, 30, tzinfo=UTC)
    reports = [replace(r, occurred_at=r.occurred_at + (friday_prayers - AS_OF)) for r in steady()]
    plain = assess(AREA, steady(), [], [], AS_OF)
    friday = assess(AREA, reports, [], [], friday_prayers)
    assert friday.calendar_factor == 1.2 and any("Friday prayers" in r for r in friday.calendar_reasons)
    assert abs(friday.score - plain.raw_score * 1.2) < 0.01
