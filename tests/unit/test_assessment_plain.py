"""An area's reasons in plain English: what raised it, in words an analyst can repeat to a commander."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.assessment.plain import explain, level_word
from services.assessment.projection import IncidentFacts, ReportFacts, TensionFacts
from services.assessment.scoring import LEVELS, ScoringConfig, assess
from tests.unit.test_assessment_scoring import AREA, AS_OF, facts, steady

SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")


def _surge() -> list[ReportFacts]:
    return [facts(1000 + i, AS_OF - timedelta(minutes=40 * i), ("threat",), "place_of_worship") for i in range(15)]


def test_a_quiet_area_is_low_for_want_of_reports() -> None:
    picture = assess(AREA, steady(days=3, per_day=0), [], [], AS_OF)
    assert explain(picture, ScoringConfig()) == ["Too few reports in the last 28 days to raise the risk above low."]


def test_a_surge_is_explained_as_a_rise_above_usual_and_a_sudden_rise() -> None:
    picture = assess(AREA, steady() + _surge(), [], [], AS_OF)
    lines = explain(picture, ScoringConfig())
    assert re.fullmatch(r"Reports in the last 28 days, the most recent counting most, come to \d+\.\d times what "
                        r"is usual for this area: (critical|severe) on that alone\.", lines[0])
    assert lines[1].startswith("17 reports in the last 24 hours, against about 2.0 usual for the same hours")
    assert lines[1].endswith("a sudden rise, so at least severe.")


def test_open_critical_incidents_and_declared_tension_are_said_plainly() -> None:
    incidents = [IncidentFacts(f"i{n}", f"r{n}", AREA, "P2", True, "open", AS_OF, AS_OF, ("violence",))
                 for n in range(3)]
    national = TensionFacts("t1", "national", AS_OF - timedelta(hours=2), None, AS_OF - timedelta(hours=2))
    lines = explain(assess(AREA, steady(), incidents, [national], AS_OF), ScoringConfig())
    assert "3 critical incidents are still open, so at least substantial." in lines
    assert "A supervisor has declared heightened tension here or nationally, so at least severe." in lines
    one = explain(assess(AREA, steady(), incidents[:1], [], AS_OF), ScoringConfig())
    assert one[-1] == "1 critical incident is still open."


def test_the_calendar_is_named_with_its_dates() -> None:
    friday_prayers = datetime(2026, 6, 12, 12, 30, tzinfo=UTC)
    reports = [replace(r, occurred_at=r.occurred_at + (friday_prayers - AS_OF)) for r in steady()]
    lines = explain(assess(AREA, reports, [], [], friday_prayers), ScoringConfig())
    assert "Reports count 1.2 times as much during Friday prayers (12:00 to 15:00)." in lines
    eid = datetime(2026, 3, 20, 18, 0, tzinfo=UTC)
    lines = explain(assess(AREA, [], [], [], eid), ScoringConfig())
    assert any(line.startswith("Reports count 1.4 times as much during Eid al-Fitr (20 Mar 2026 to ")
               for line in lines), lines


def test_no_reason_or_level_is_shown_in_snake_case() -> None:
    incidents = [IncidentFacts(f"i{n}", f"r{n}", AREA, "P2", True, "open", AS_OF, AS_OF, ("violence",))
                 for n in range(3)]
    lines = explain(assess(AREA, steady() + _surge(), incidents, [], AS_OF), ScoringConfig())
    assert not [line for line in lines if SNAKE.search(line)]
    assert [level_word(level) for level in LEVELS] == ["Low", "Moderate", "Substantial", "Severe", "Critical"]
