"""Reports per week over a period, for one area or all, one strand or all: the analysts' trend and export.

Weeks are UK weeks (Monday 00:00 Europe/London), the way staff count them, and a report falls in the
week it happened in (`occurred_at`). Withdrawn reports no longer count; erased ones are gone from the
projection. The chart is inline SVG drawn here, with whole-number ticks: there is no such thing as
half a report.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.assessment import tables
from services.assessment.plain import short_date
from shared.web.filters import LONDON, MONTHS

PERIODS = {4: "Last 4 weeks", 13: "Last 13 weeks", 26: "Last 26 weeks", 52: "Last 52 weeks"}
DEFAULT_WEEKS = 13


@dataclass(frozen=True)
class Period:
    """The last `weeks` UK weeks up to `today`, this (partial) week included."""

    weeks: int
    today: date

    @property
    def starts(self) -> list[date]:
        this_week = self.today - timedelta(days=self.today.weekday())
        return [this_week - timedelta(weeks=back) for back in range(self.weeks - 1, -1, -1)]

    @property
    def first(self) -> date:
        return self.starts[0]

    def begins_at(self) -> datetime:
        return datetime.combine(self.first, time.min, LONDON).astimezone(UTC)


@dataclass(frozen=True)
class WeeklyCounts:
    weeks: tuple[date, ...]
    by_area: dict[str, list[int]]

    def totals(self) -> list[int]:
        return [sum(column) for column in zip(*self.by_area.values(), strict=True)] or [0] * len(self.weeks)

    def of(self, area: str) -> list[int]:
        return self.by_area.get(area, [0] * len(self.weeks))


def week_of(moment: datetime) -> date:
    day = moment.astimezone(LONDON).date()
    return day - timedelta(days=day.weekday())


def weekly_counts(s: Session, period: Period, areas: Sequence[str], strand: str | None = None) -> WeeklyCounts:
    """Counts for each of `areas` (every one listed, zeros included) in each week of the period."""
    r = tables.reports
    query = select(r.c.area, r.c.strands, r.c.occurred_at).where(
        r.c.occurred_at >= period.begins_at(), r.c.withdrawn.is_(False), r.c.area.in_(list(areas)))
    if strand:
        query = query.where(r.c.strands.contains(strand))
    index = {week: i for i, week in enumerate(period.starts)}
    counts = {area: [0] * period.weeks for area in areas}
    for area, strands, occurred_at in s.execute(query):
        week = index.get(week_of(occurred_at))
        if week is not None and (not strand or strand in strands.split(",")):
            counts[area][week] += 1
    return WeeklyCounts(tuple(period.starts), counts)


def integer_ticks(highest: int, most: int = 6) -> list[int]:
    """Axis ticks from 0 past `highest`: whole numbers in steps of 1, 2 or 5 times a power of ten."""
    top = max(1, highest)
    steps = (m * 10**e for e in itertools.count() for m in (1, 2, 5))
    step = next(s for s in steps if math.ceil(top / s) <= most - 1)
    return list(range(0, math.ceil(top / step) * step + 1, step))


def day_label(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]}"


# the chart, in the units of its viewBox
CHART_W, CHART_H = 480, 230
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 10, 34
BAR, LINE, GRID, INK = "#1d70b8", "#d4351c", "#b1b4b6", "#0b0c0c"


def bars_svg(days: Sequence[date], counts: Sequence[int], title: str, description: str,
             usual: Sequence[float] = ()) -> Markup:
    """Bars on whole-number ticks, a dashed line for what is `usual` if given; an image with a title and a
    description, whose numbers the page gives again in a table."""
    ticks = integer_ticks(max([*counts, math.ceil(max(usual, default=0))], default=0))
    plot_w, plot_h = CHART_W - LEFT - RIGHT, CHART_H - TOP - BOTTOM
    slot = plot_w / max(1, len(days))

    def y_of(n: float) -> float:
        return TOP + plot_h - plot_h * n / ticks[-1]

    key = _id(title)
    parts = [f'<title id="{key}-title">{escape(title)}</title><desc id="{key}-desc">{escape(description)}</desc>']
    parts += [f'<line x1="{LEFT}" x2="{CHART_W - RIGHT}" y1="{y_of(t):.1f}" y2="{y_of(t):.1f}" stroke="{GRID}" '
              f'stroke-width="1"/><text x="{LEFT - 6}" y="{y_of(t) + 4:.1f}" text-anchor="end" font-size="12" '
              f'fill="{INK}">{t}</text>' for t in ticks]
    every = math.ceil(len(days) / 7)
    for i, (day, n) in enumerate(zip(days, counts, strict=True)):
        x = LEFT + slot * i
        parts.append(f'<rect x="{x + slot * 0.15:.1f}" y="{y_of(n):.1f}" width="{max(slot * 0.7, 0.5):.1f}" '
                     f'height="{TOP + plot_h - y_of(n):.1f}" fill="{BAR}"/>')
        if i % every == 0:
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{CHART_H - BOTTOM + 18}" text-anchor="middle" '
                         f'font-size="12" fill="{INK}">{day_label(day)}</text>')
    if usual:
        points = " ".join(f"{LEFT + slot * (i + 0.5):.1f},{y_of(u):.1f}" for i, u in enumerate(usual))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{LINE}" stroke-width="2" '
                     f'stroke-dasharray="6 4"/>')
    parts.append(f'<line x1="{LEFT}" x2="{CHART_W - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
                 f'stroke="{INK}" stroke-width="1"/>')
    return Markup(  # noqa: S704 -- every value in the markup is escaped or a number
        f'<svg class="analysis-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_W} {CHART_H}" '
        f'width="100%" role="img" aria-labelledby="{key}-title {key}-desc">{"".join(parts)}</svg>')


def describe(weeks: Sequence[date], counts: Sequence[int]) -> str:
    """One sentence a screen reader gives for the chart: the span, the total and the busiest week."""
    if not weeks:
        return "No weeks in the period."
    total = sum(counts)
    span = f"{len(weeks)} weeks from the week of {short_date(weeks[0])}"
    if not total:
        return f"No reports in the {span}."
    busiest = max(range(len(counts)), key=lambda i: (counts[i], i))
    return (f"{total} report{'s' if total != 1 else ''} in the {span}; the most, {counts[busiest]}, "
            f"in the week of {short_date(weeks[busiest])}.")


def _id(title: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")[:40]
