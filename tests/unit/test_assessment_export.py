"""Counts leave the analysts' desk as CSV with small numbers suppressed: 1 to 4 become "<5", 0 stays 0."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from services.assessment.export import HEADER, counts_csv, suppressed
from services.assessment.trends import WeeklyCounts


@pytest.mark.parametrize(("count", "shown"), [(0, "0"), (1, "<5"), (2, "<5"), (4, "<5"), (5, "5"), (6, "6"),
                                              (137, "137")])
def test_counts_from_one_to_four_are_suppressed_and_zero_is_kept(count: int, shown: str) -> None:
    assert suppressed(count) == shown


def test_the_csv_has_one_row_per_area_and_week_by_area_name_and_no_totals() -> None:
    weeks = (date(2026, 6, 1), date(2026, 6, 8))
    counts = WeeklyCounts(weeks, {"E23000005": [3, 12], "E23000001": [0, 5]})
    names = {"E23000005": "Greater Manchester", "E23000001": "Metropolitan Police"}
    rows = list(csv.reader(io.StringIO(counts_csv(counts, names, "Religion"))))
    assert tuple(rows[0]) == HEADER
    assert rows[1:] == [
        ["2026-06-01", "E23000005", "Greater Manchester", "Religion", "<5"],
        ["2026-06-08", "E23000005", "Greater Manchester", "Religion", "12"],
        ["2026-06-01", "E23000001", "Metropolitan Police", "Religion", "0"],
        ["2026-06-08", "E23000001", "Metropolitan Police", "Religion", "5"],
    ]
    assert not any("total" in cell.lower() for row in rows for cell in row)
