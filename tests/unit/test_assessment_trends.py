"""Reports per UK week, by area and strand, and the chart's whole-number axis."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest

from services.assessment.store import DbStore
from services.assessment.trends import Period, bars_svg, describe, integer_ticks, week_of, weekly_counts
from shared.db import Database
from shared.migrate import upgrade
from tests.unit.test_assessment_scoring import facts

GMP, MET = "E23000005", "E23000001"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("highest", [0, 1, 3, 5, 7, 9, 12, 37, 99, 101, 4321])
def test_axis_ticks_are_whole_numbers_from_zero_past_the_highest_count(highest: int) -> None:
    ticks = integer_ticks(highest)
    assert ticks[0] == 0 and ticks[-1] >= max(1, highest) and len(ticks) <= 6
    steps = {b - a for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1 and all(isinstance(t, int) for t in ticks)


def test_the_chart_labels_its_axis_with_whole_numbers_only() -> None:
    weeks = Period(4, date(2026, 6, 10)).starts
    svg = ElementTree.fromstring(str(bars_svg(weeks, [0, 3, 1, 2], "Reports per week", "a description")))  # noqa: S314 -- our own markup
    numbers = [t.text for t in svg.iter(f"{SVG}text") if re.fullmatch(r"[\d.]+", t.text or "")]
    assert numbers == ["0", "1", "2", "3"]
    assert svg.get("role") == "img" and svg.findtext(f"{SVG}title") == "Reports per week"


def test_a_period_is_whole_uk_weeks_from_monday_with_this_week_last() -> None:
    period = Period(4, date(2026, 6, 10))  # a Wednesday
    assert period.starts == [date(2026, 5, 18), date(2026, 5, 25), date(2026, 6, 1), date(2026, 6, 8)]
    assert period.begins_at() == datetime(2026, 5, 17, 23, 0, tzinfo=UTC), "midnight BST"


def test_a_report_late_on_sunday_in_utc_counts_in_the_uk_week_it_happened_in() -> None:
    assert week_of(datetime(2026, 6, 7, 23, 30, tzinfo=UTC)) == date(2026, 6, 8), "00:30 BST on Monday"
    assert week_of(datetime(2026, 1, 11, 23, 30, tzinfo=UTC)) == date(2026, 1, 5), "23:30 GMT on Sunday"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'assessment.db'}"
    upgrade("assessment", url)
    database = Database(url)
    yield database
    database.dispose()


def test_weekly_counts_by_area_and_strand_leave_out_withdrawn_reports(db: Database) -> None:
    monday = datetime(2026, 6, 8, 9, tzinfo=UTC)
    with db.transaction() as s:
        store = DbStore(s)
        for n, (area, at, strands, withdrawn) in enumerate([
            (GMP, monday, ("religion",), False), (GMP, monday + timedelta(days=1), ("race", "religion"), False),
            (GMP, monday - timedelta(days=3), ("race",), False), (GMP, monday, ("religion",), True),
            (MET, monday, ("sexual_orientation",), False), (GMP, monday - timedelta(weeks=9), ("race",), False),
        ]):
            store.put_report(replace(facts(n, at, strands=strands, withdrawn=withdrawn), area=area))
    period = Period(2, date(2026, 6, 10))
    with db.snapshot() as s:
        every = weekly_counts(s, period, [GMP, MET, "E23000002"])
        religion = weekly_counts(s, period, [GMP, MET], "religion")
        race = weekly_counts(s, period, [GMP], "race")
    assert every.by_area == {GMP: [1, 2], MET: [0, 1], "E23000002": [0, 0]}
    assert every.totals() == [1, 3]
    assert religion.by_area == {GMP: [0, 2], MET: [0, 0]}
    assert race.of(GMP) == [1, 1]


def test_the_chart_is_described_in_one_sentence() -> None:
    weeks = Period(3, date(2026, 6, 10)).starts
    assert describe(weeks, [2, 7, 1]) == "10 reports in the 3 weeks from the week of 25 May 2026; the most, 7, " \
                                         "in the week of 1 Jun 2026."
    assert describe(weeks, [0, 0, 0]) == "No reports in the 3 weeks from the week of 25 May 2026."
