"""What analysts read: risk levels in words, numbers and colours, and an area's reasons in plain English.

The scoring's own reasons (`AreaPicture.reasons`) are exact and travel on events; they speak of scores,
ratios and Poisson tails. Pages lead with these sentences instead and keep the exact working one click
away. Each level has a number as well as a colour, so a map or a table never says anything by colour
alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.assessment.calendar import in_force
from services.assessment.scoring import (
    CRITICAL_INCIDENTS_FOR_SUBSTANTIAL,
    LEVELS,
    MIN_SCORE,
    SEVERE_SPIKE_RATIO,
    AreaPicture,
    ScoringConfig,
    level_by_score,
)
from shared.web.filters import MONTHS


@dataclass(frozen=True)
class LevelStyle:
    number: int
    word: str
    fill: str
    text: str  # the colour of text on `fill`, at least 4.5:1 against it


LEVEL_STYLES = {
    "low": LevelStyle(1, "Low", "#cce2d8", "#0b0c0c"),
    "moderate": LevelStyle(2, "Moderate", "#fff7bf", "#0b0c0c"),
    "substantial": LevelStyle(3, "Substantial", "#f47738", "#0b0c0c"),
    "severe": LevelStyle(4, "Severe", "#d4351c", "#ffffff"),
    "critical": LevelStyle(5, "Critical", "#6d1a12", "#ffffff"),
}


def level_word(level: str) -> str:
    return LEVEL_STYLES[level].word


def explain(p: AreaPicture, config: ScoringConfig) -> list[str]:
    """Why the area has its level, one sentence per reason, in the order the scoring applies them."""
    lines = [_by_reports(p, config)]
    calendar = _calendar(p, config)
    if calendar:
        lines.append(calendar)
    if p.spike.spike:
        floor = "severe" if p.spike.ratio >= SEVERE_SPIKE_RATIO else "substantial"
        lines.append(f"{_reports(p.spike.observed)} in the last 24 hours, against about {p.spike.expected:.1f} "
                     f"usual for the same hours in the four weeks before: a sudden rise, so at least {floor}.")
    incidents = len(p.open_critical)
    if incidents >= CRITICAL_INCIDENTS_FOR_SUBSTANTIAL:
        lines.append(f"{incidents} critical incidents are still open, so at least substantial.")
    elif incidents:
        lines.append(f"{incidents} critical incident{'s are' if incidents > 1 else ' is'} still open.")
    if p.tension_declared:
        lines.append("A supervisor has declared heightened tension here or nationally, so at least severe.")
    return lines


def _by_reports(p: AreaPicture, config: ScoringConfig) -> str:
    if p.score < MIN_SCORE:
        return "Too few reports in the last 28 days to raise the risk above low."
    if not p.history.sufficient:
        return (f"Insufficient history: only {p.history.baseline_days} of the {p.history.required_days} days needed "
                "to know what is usual here are on record, so recent reports are not compared with usual yet.")
    ratio = p.score / p.normal_score
    by_score = LEVELS[level_by_score(p.score, p.normal_score, config)]
    outcome = f"{by_score} on that alone" if by_score != "low" else "not enough above usual to raise the risk"
    return (f"Reports in the last 28 days, the most recent counting most, come to {ratio:.1f} times what is "
            f"usual for this area: {outcome}.")


def _calendar(p: AreaPicture, config: ScoringConfig) -> str:
    if p.calendar_factor <= 1:
        return ""
    periods, friday_prayers = in_force(p.as_of, config.anniversaries)
    names = [f"{e.name} ({short_date(e.start)} to {short_date(e.end)})" for e in periods]
    if friday_prayers:
        names.append("Friday prayers (12:00 to 15:00)")
    return f"Reports count {p.calendar_factor:g} times as much during {_and(names)}."


def short_date(day: date) -> str:
    """"18 Feb 2026": the date part of the one format pages use for times."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _reports(n: int) -> str:
    return f"{n} report{'' if n == 1 else 's'}"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
