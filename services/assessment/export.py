"""Counts of reports as CSV, with small numbers suppressed, for sharing outside the analysts' desk.

A count from 1 to 4 in one area and one week can point at a person (a street, a congregation), so it
is written "<5"; a zero stays 0, which says nothing about anyone. No totals are written: a total
beside suppressed cells would give them back by subtraction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

from services.assessment.trends import WeeklyCounts

SMALLEST_SHOWN = 5
HEADER = ("Week starting (Monday, UK time)", "Area code", "Area", "Strand", "Reports")


def suppressed(count: int) -> str:
    return "<5" if 0 < count < SMALLEST_SHOWN else str(count)


def counts_csv(counts: WeeklyCounts, names: Mapping[str, str], strand: str) -> str:
    """One row per area and week, areas by name; `strand` is how the rows were filtered, in words."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for area in sorted(counts.by_area, key=lambda code: names[code]):
        for week, count in zip(counts.weeks, counts.by_area[area], strict=True):
            writer.writerow((week.isoformat(), area, names[area], strand, suppressed(count)))
    return out.getvalue()
