"""A site's risk as a 5x5 matrix: likelihood (how likely an attack is now) by impact (how bad one would be).

Likelihood starts at 1 and rises, to at most 5, by:

    incidents at the site in the last two years, each report's severity (scoring.report_severity)
    weighted by recency with a half-life of 90 days: +1 from 1.5, +2 from 6, +3 from 15;
    incidents at other places of worship of the site's faith in its area in the last 28 days,
    weighted with a half-life of 7 days: +1 from 3;
    the area's risk level: +1 at substantial or severe, +2 at critical;
    heightened tension declared for the area or nationally: +1;
    a festival or season of the site's faith (or an anniversary concerning it) now or within 7 days: +1;
    issues found by the site's own checks and not yet resolved: +1.

Impact is the capacity band (under 200: 1, 200-799: 2, 800+: 3), +1 with children on site, +1 when the
site lacks three or more of the six core protections (CCTV, intruder alarm, lighting, access control,
door hardening, and people: stewards, trained staff or guarding); at most 5.

The cell's product gives the level in the area's words: up to 3 low, up to 6 moderate, up to 12
substantial, up to 16 severe, 20 and 25 critical. Every step says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from services.assessment.calendar import LONDON, CalendarEvent
from services.assessment.projection import ReportFacts
from services.assessment.scoring import LEVELS, recency_weight, report_severity
from shared.events.sites import CapacityBand, SecurityMeasure, SiteEntry

AT_SITE_HALF_LIFE_HOURS = 90 * 24.0
AT_SITE_STEPS = ((15.0, 3), (6.0, 2), (1.5, 1))
NEAR_WINDOW = timedelta(days=28)
NEAR_HALF_LIFE_HOURS = 7 * 24.0
NEAR_THRESHOLD = 3.0
AREA_POINTS = {"substantial": 1, "severe": 1, "critical": 2}
CALENDAR_NOTICE = timedelta(days=7)
CAPACITY_IMPACT = {CapacityBand.under_200: 1, CapacityBand.from_200_to_799: 2, CapacityBand.from_800: 3}
PEOPLE = frozenset({SecurityMeasure.stewards, SecurityMeasure.trained_staff, SecurityMeasure.guarding})
CORE = (SecurityMeasure.cctv, SecurityMeasure.intruder_alarm, SecurityMeasure.lighting,
        SecurityMeasure.access_control, SecurityMeasure.door_hardening)
MISSING_FOR_IMPACT = 3
# the highest product of each level: low up to 3, moderate up to 6, substantial up to 12, severe up to 16
LEVEL_CEILINGS = ((3, "low"), (6, "moderate"), (12, "substantial"), (16, "severe"), (25, "critical"))


@dataclass(frozen=True)
class SiteRisk:
    likelihood: int
    impact: int
    level: str
    reasons: tuple[str, ...]
    likelihood_factors: tuple[str, ...] = ()   # what raised likelihood, one each (the pages list them)
    impact_factors: tuple[str, ...] = ()

    def document(self) -> dict[str, Any]:
        return {"likelihood": self.likelihood, "impact": self.impact, "level": self.level,
                "score": self.likelihood * self.impact, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class RiskInputs:
    """What a site's risk is computed from, as of a moment; `at_site` and `nearby` are already told apart."""

    entry: SiteEntry
    at_site: Sequence[ReportFacts]
    nearby: Sequence[ReportFacts]
    area_level: str
    tension: bool
    calendar: Sequence[CalendarEvent]
    open_issues: int


def cell_level(likelihood: int, impact: int) -> str:
    product = likelihood * impact
    return next(level for ceiling, level in LEVEL_CEILINGS if product <= ceiling)


def weighted(reports: Iterable[ReportFacts], as_of: datetime, half_life_hours: float) -> float:
    return round(sum(report_severity(r) * recency_weight(as_of - r.occurred_at, half_life_hours) for r in reports), 3)


def likelihood(inputs: RiskInputs, as_of: datetime) -> tuple[int, list[str]]:
    points, reasons = 1, []
    at_site = weighted(inputs.at_site, as_of, AT_SITE_HALF_LIFE_HOURS)
    step = next((p for threshold, p in AT_SITE_STEPS if at_site >= threshold), 0)
    if inputs.at_site:
        n = len(inputs.at_site)
        reasons.append(f"{n} incident{'s' if n != 1 else ''} at the site in the last two years "
                       f"(recency- and severity-weighted {at_site:g}): +{step}")
        points += step
    near = weighted(inputs.nearby, as_of, NEAR_HALF_LIFE_HOURS)
    if near >= NEAR_THRESHOLD:
        n = len(inputs.nearby)
        reasons.append(f"{n} incident{'s' if n != 1 else ''} at other {inputs.entry.faith.value} places of "
                       f"worship in the area in the last 28 days (weighted {near:g}): +1")
        points += 1
    if inputs.area_level in AREA_POINTS:
        reasons.append(f"the area's risk is {inputs.area_level}: +{AREA_POINTS[inputs.area_level]}")
        points += AREA_POINTS[inputs.area_level]
    if inputs.tension:
        reasons.append("heightened tension is declared for the area or nationally: +1")
        points += 1
    if inputs.calendar:
        names = "; ".join(f"{e.name} ({_when(e, as_of)})" for e in inputs.calendar)
        reasons.append(f"the site's calendar: {names}: +1")
        points += 1
    if inputs.open_issues:
        reasons.append(f"{inputs.open_issues} issue{'s' if inputs.open_issues != 1 else ''} found by the site's "
                       f"checks not yet resolved: +1")
        points += 1
    return min(points, 5), reasons


def _when(event: CalendarEvent, as_of: datetime) -> str:
    today = as_of.astimezone(LONDON).date()
    span = event.start.isoformat() if event.start == event.end else f"{event.start} to {event.end}"
    return span if event.start <= today else f"from {event.start.isoformat()}, in {(event.start - today).days} days"


def missing_core(entry: SiteEntry) -> list[str]:
    has = set(entry.measures)
    missing = [m.value.replace("_", " ") for m in CORE if m not in has]
    if not has & PEOPLE:
        missing.append("stewards, trained staff or guarding")
    return missing


def impact(entry: SiteEntry) -> tuple[int, list[str]]:
    points = CAPACITY_IMPACT[entry.capacity_band]
    parts = [f"capacity {entry.capacity_band.value}: {points}"]
    if entry.children_on_site:
        parts.append("children on site: +1")
        points += 1
    missing = missing_core(entry)
    if len(missing) >= MISSING_FOR_IMPACT:
        parts.append(f"lacks {len(missing)} of the 6 core protections ({', '.join(missing)}): +1")
        points += 1
    return min(points, 5), parts


def site_risk(inputs: RiskInputs, as_of: datetime) -> SiteRisk:
    like, like_reasons = likelihood(inputs, as_of)
    imp, imp_reasons = impact(inputs.entry)
    level = cell_level(like, imp)
    reasons = (f"likelihood {like} x impact {imp} = {like * imp}: {level}",
               f"likelihood {like} of 5: " + ("; ".join(like_reasons) if like_reasons else "nothing raises it"),
               f"impact {imp} of 5: " + "; ".join(imp_reasons))
    return SiteRisk(like, imp, level, reasons, tuple(like_reasons), tuple(imp_reasons))


def calendar_near(events: Iterable[CalendarEvent], as_of: datetime) -> list[CalendarEvent]:
    """The periods in force on the UK day of `as_of`, or starting within the notice."""
    today = as_of.astimezone(LONDON).date()
    return [e for e in events if e.end >= today and e.start <= today + CALENDAR_NOTICE]


def level_index(level: str) -> int:
    return LEVELS.index(level)


def notice_window(as_of: datetime) -> tuple[date, date]:
    today = as_of.astimezone(LONDON).date()
    return today, today + CALENDAR_NOTICE
