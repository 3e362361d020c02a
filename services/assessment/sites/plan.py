"""A site's control strategy for a range of days: its periods, and in each the measures in priority order.

The periods come from the calendar of the site's own faith (computed, never typed in), the anniversaries
that concern it, heightened tension declared for its area or nationally, and the ordinary weeks between;
the measures from the guidance file, each kept only where its condition holds for this site (what it has
and lacks, its capacity, children, its risk now), and each saying why it is there.

A festival or season takes the place of the ordinary weeks it covers, so it lists the ordinary routine too,
after its own measures. The shorter periods inside or beside others (the last ten nights, the week before
Eid, an anniversary, heightened tension) list what they add to the routine of the days they fall on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from services.assessment.calendar import LONDON, CalendarEvent
from services.assessment.projection import TensionFacts
from services.assessment.scoring import LEVELS
from services.assessment.sites.guidance import Guidance, MeasureRule, PeriodRule
from shared.events.sites import SiteEntry

ANNIVERSARY = "anniversary"
DAY_WORDS = {"daily": "daily", "monday": "Mondays", "tuesday": "Tuesdays", "wednesday": "Wednesdays",
             "thursday": "Thursdays", "friday": "Fridays", "saturday": "Saturdays", "sunday": "Sundays"}


@dataclass(frozen=True)
class TensionSpan:
    """Heightened tension over whole UK days: from `start`, until `end` (None: not yet lifted or ended)."""

    start: date
    end: date | None
    scope: str   # an area code or "national"


def tension_span(t: TensionFacts) -> TensionSpan:
    """A declared tension as the UK days it covers (its last day is the one its end falls in)."""
    ends = [x for x in (t.ends_at, t.lifted_at) if x is not None]
    end = (min(ends) - timedelta(microseconds=1)).astimezone(LONDON).date() if ends else None
    return TensionSpan(t.starts_at.astimezone(LONDON).date(), end, t.area)


@dataclass(frozen=True)
class PlannedMeasure:
    code: str
    priority: int
    action: str
    when: str
    who: str
    why: tuple[str, ...]
    routine: str | None

    def document(self) -> dict[str, Any]:
        return {"code": self.code, "priority": self.priority, "action": self.action, "when": self.when,
                "who": self.who, "why": list(self.why), "routine": self.routine}


@dataclass(frozen=True)
class PlanPeriod:
    kind: str     # ordinary | festival | anniversary | heightened_tension
    name: str
    start: date
    end: date
    why: str
    measures: tuple[PlannedMeasure, ...]
    adds_to_routine: bool = False   # its measures come on top of the routine of the days it falls on

    def document(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "why": self.why, "adds_to_routine": self.adds_to_routine,
                "measures": [m.document() for m in self.measures]}


@dataclass(frozen=True)
class _Span:
    kind: str
    name: str
    start: date
    end: date
    festival: str | None
    rules: tuple[PeriodRule, ...]


def build_plan(guidance: Guidance, entry: SiteEntry, level: str, first: date, last: date,
               events: Sequence[CalendarEvent], tensions: Sequence[TensionSpan]) -> list[PlanPeriod]:
    spans = _festival_spans(guidance, events) + _anniversaries(guidance, events) + _tensions(guidance, tensions, last)
    spans = [s for s in spans if s.start <= last and s.end >= first]
    festival_days = {s.start + timedelta(days=d) for s in spans if s.kind == "festival" and s.festival == s.name
                     for d in range((s.end - s.start).days + 1)}
    spans += _ordinary_weeks(guidance, first, last, festival_days)
    ordinary = [m for rule in guidance.of_kind("ordinary") for m in rule.measures]
    periods = [_period(span, ordinary, entry, level) for span in spans]
    return sorted(periods, key=lambda p: (p.start, p.end, p.kind != "ordinary", p.name))


def _festival_spans(guidance: Guidance, events: Sequence[CalendarEvent]) -> list[_Span]:
    grouped: dict[tuple[str, date, date], tuple[str, list[PeriodRule]]] = {}
    for e in (e for e in events if e.faith != ANNIVERSARY):
        for rule in (r for r in guidance.of_kind("festival") if r.covers(e.name)):
            start, end, name = e.start, e.end, e.name
            if rule.before_days:
                start, end = e.start - timedelta(days=rule.before_days), e.start - timedelta(days=1)
            elif rule.last_days:
                start = max(e.start, e.end - timedelta(days=rule.last_days - 1))
            if rule.before_days or rule.last_days:
                name = (rule.name or e.name).format(festival=e.name)
            grouped.setdefault((name, start, end), (e.name, []))[1].append(rule)
    return [_Span("festival", name, start, end, festival, tuple(rules))
            for (name, start, end), (festival, rules) in grouped.items()]


def _anniversaries(guidance: Guidance, events: Sequence[CalendarEvent]) -> list[_Span]:
    rules = tuple(guidance.of_kind("anniversary"))
    return [_Span(ANNIVERSARY, e.name[:1].upper() + e.name[1:], e.start, e.end, None, rules)
            for e in events if e.faith == ANNIVERSARY and rules]


def _tensions(guidance: Guidance, tensions: Sequence[TensionSpan], last: date) -> list[_Span]:
    rules = tuple(guidance.of_kind("heightened_tension"))
    return [_Span("heightened_tension", "Heightened tension" + (" (national)" if t.scope == "national" else ""),
                  t.start, t.end or last, None, rules) for t in tensions if rules]


def _ordinary_weeks(guidance: Guidance, first: date, last: date, festival_days: set[date]) -> list[_Span]:
    """Monday-to-Sunday weeks, cut to the range; a week wholly inside festivals is the festivals' alone."""
    rules = tuple(guidance.of_kind("ordinary"))
    weeks, monday = [], first - timedelta(days=first.weekday())
    while monday <= last:
        start, end = max(monday, first), min(monday + timedelta(days=6), last)
        days = {start + timedelta(days=d) for d in range((end - start).days + 1)}
        if not days <= festival_days:
            weeks.append(_Span("ordinary", "Ordinary week", start, end, None, rules))
        monday += timedelta(days=7)
    return weeks


def _period(span: _Span, ordinary: list[MeasureRule], entry: SiteEntry, level: str) -> PlanPeriod:
    own = [m for rule in sorted(span.rules, key=lambda r: bool(r.festivals)) for m in rule.measures]
    replaces_weeks = span.kind == "festival" and span.festival == span.name
    candidates = own + ([m for m in ordinary if m.code not in {o.code for o in own}] if replaces_weeks else [])
    chosen: dict[str, PlannedMeasure] = {}
    for rule in candidates:
        holds, because = applies(rule.only_if, entry, level)
        if holds and rule.code not in chosen:
            routine_of_week = replaces_weeks and rule in ordinary
            why = (rule.why, *because, *(("part of the ordinary routine",) if routine_of_week else ()))
            chosen[rule.code] = PlannedMeasure(rule.code, rule.priority, rule.action,
                                               _when(rule, entry, span.festival), rule.who, why, rule.routine)
    rank = {code: i for i, code in enumerate(chosen)}
    measures = tuple(sorted(chosen.values(), key=lambda m: (m.priority, rank[m.code])))
    specific = [r for r in span.rules if r.festivals] or list(span.rules)
    return PlanPeriod(span.kind, span.name, span.start, span.end, specific[-1].why if specific else "", measures,
                      adds_to_routine=span.kind != "ordinary" and not replaces_weeks)


def _when(rule: MeasureRule, entry: SiteEntry, festival: str | None) -> str:
    """A walk before the main services names them, with the services of this season."""
    if rule.routine != "perimeter_walk" or "main service" not in rule.when:
        return rule.when
    main = [s for s in entry.services if s.main and (s.season is None or s.season == festival)]
    if not main:
        return rule.when
    named = "; ".join(f"{s.name}, {DAY_WORDS[s.day.value]} at {s.time}" for s in main)
    return f"{rule.when} ({named})"


def applies(only_if: Mapping[str, Any], entry: SiteEntry, level: str) -> tuple[bool, list[str]]:
    """Whether a measure's condition holds for the site, and the reasons it does, in words."""
    has = {m.value for m in entry.measures}
    checks = {
        "lacks_any": lambda v: ([m for m in v if m not in has], "the site has no {}"),
        "lacks_all": lambda v: ([] if has & set(v) else v, "the site has none of: {}"),
        "has_any": lambda v: ([m for m in v if m in has], "the site has {}"),
        "capacity": lambda v: ([entry.capacity_band.value] if entry.capacity_band.value in v else [],
                               "capacity {}"),
        "children_on_site": lambda v: (["yes"] if entry.children_on_site else [], "children are on site"),
        "risk_at_least": lambda v: ([level] if LEVELS.index(level) >= LEVELS.index(v) else [],
                                    "the site's risk is {}"),
        "funding_stage": lambda v: ([entry.funding.stage.value] if entry.funding.stage.value in v else [],
                                    "funding scheme: {}"),
    }
    reasons = []
    for name, value in only_if.items():
        found, words = checks[name](value)
        if not found:
            return False, []
        reasons.append(words.format(", ".join(str(f).replace("_", " ") for f in found)))
    return True, reasons
