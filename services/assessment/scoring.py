"""From an area's facts to its picture as of a moment: counts, severity score, spike, risk level, reasons.

Severity of one report (documented in docs/assessment.md):

    base by its gravest type (assault, arson 5; threat, criminal damage 3; harassment, graffiti,
    hate material, theft 2; verbal abuse 1.5; online abuse, other 1)
    + 1 minor injuries, + 3 serious injuries, + 2 weapon, + 1 ongoing, + 0.5 vulnerable victim,
    + 0.5 repeat; x 1.5 at a place of worship.

The area's score is the sum of its reports' severities, each weighted by recency with a
half-life of 72 hours (a report from three days ago counts half), over the last 28 days, times
the calendar factor. Forces differ a hundredfold in size, so the score is read against the
area's own normal: the mean daily severity over the 28 days that ended a week ago (at least
0.5 a day), times the sum of the recency weights over 28 days (what a steady normal rate would
score). Score / normal sets the level: moderate from 1.5, substantial from 2.5, severe from 4,
critical from 6; below a score of 3 an area stays low whatever the ratio. The level is then
raised, never lowered, by a spike, open critical incidents or a declared heightened tension;
each step says why.

A normal needs history. While fewer than 21 (`min_history_days`: three of its four weeks) of the 28
days the normal is built from are on record (Vigil's own reports, which begin with the first report
it received, or daily counts imported from a force's records), the area has *insufficient history*:
neither the score nor the spike test is read against a normal, so three reports in a new deployment
cannot make an area critical. Open critical incidents and declared tension, which need no normal, still raise the level.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as evolve
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from services.assessment.calendar import DEFAULT_ANNIVERSARIES, Anniversary, calendar_factor
from services.assessment.projection import IncidentFacts, ReportFacts, TensionFacts
from services.assessment.spike import SpikeResult
from shared.areas import AreaRegistry
from shared.spike import spike_against

LEVELS = ("low", "moderate", "substantial", "severe", "critical")
WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "28d": timedelta(days=28)}
HALF_LIFE_HOURS = 72.0
TYPE_BASE = {"physical_assault": 5.0, "arson": 5.0, "threat": 3.0, "criminal_damage": 3.0, "harassment": 2.0,
             "graffiti": 2.0, "hate_material": 2.0, "theft": 2.0, "verbal_abuse": 1.5, "online_abuse": 1.0,
             "other": 1.0}
INJURY_ADD = {"none": 0.0, "minor": 1.0, "serious": 3.0}
PLACE_OF_WORSHIP_MULTIPLIER = 1.5
# score / normal thresholds for moderate, substantial, severe, critical
THRESHOLDS = (1.5, 2.5, 4.0, 6.0)
MIN_SCORE = 3.0
NORMAL_FLOOR_PER_DAY = 0.5
NORMAL_WINDOW = (timedelta(days=7), timedelta(days=35))   # the 28 days that ended a week ago
SEVERE_SPIKE_RATIO = 4.0
CRITICAL_INCIDENTS_FOR_SUBSTANTIAL = 3
MIN_HISTORY_DAYS = 21           # days of the normal's 28-day window on record before anything is read against it
SEEDED_SEVERITY = 2.0           # what one imported report weighs: harassment, the commonest type


@dataclass(frozen=True)
class ScoringConfig:
    half_life_hours: float = HALF_LIFE_HOURS
    thresholds: tuple[float, float, float, float] = THRESHOLDS
    anniversaries: tuple[Anniversary, ...] = DEFAULT_ANNIVERSARIES
    min_history_days: int = MIN_HISTORY_DAYS
    seeded_severity: float = SEEDED_SEVERITY


@dataclass(frozen=True)
class History:
    """What an area's normal can rest on: when Vigil's own records begin, and daily counts a force imported.

    Imported days count only before Vigil's records begin: from then on Vigil's reports are the record.
    """

    records_began: datetime | None = None
    seeded: Mapping[date, int] = field(default_factory=dict)

    @property
    def usable(self) -> dict[date, int]:
        began = self.records_began
        return {d: n for d, n in self.seeded.items() if began is None or day_start(d) + timedelta(days=1) <= began}

    def began(self) -> datetime | None:
        starts = [day_start(d) for d in self.usable] + ([self.records_began] if self.records_began else [])
        return min(starts, default=None)


@dataclass(frozen=True)
class HistoryCheck:
    sufficient: bool
    baseline_days: int
    required_days: int
    began: datetime | None
    seeded_reports: int

    def document(self) -> dict[str, Any]:
        return {"sufficient": self.sufficient, "baseline_days": self.baseline_days,
                "required_days": self.required_days, "began": self.began.isoformat() if self.began else None,
                "seeded_reports": self.seeded_reports}


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


def seeded_between(seeded: Mapping[date, int], start: datetime, end: datetime) -> float:
    """Imported reports in (start, end]: a day's count spread evenly over its 24 hours."""
    total = 0.0
    for day in {(start + timedelta(days=k)).date() for k in range((end - start).days + 2)}:
        if day in seeded:
            lo, hi = max(start, day_start(day)), min(end, day_start(day) + timedelta(days=1))
            if hi > lo:
                total += seeded[day] * (hi - lo) / timedelta(days=1)
    return total


def check_history(history: History, as_of: datetime, config: ScoringConfig) -> HistoryCheck:
    """How many days of the normal's window (the 28 days that ended a week ago) are on record."""
    window_start, window_end = as_of - NORMAL_WINDOW[1], as_of - NORMAL_WINDOW[0]
    began = history.began()
    observed = timedelta(0) if began is None else max(timedelta(0), window_end - max(window_start, began))
    days = observed.days
    seeds = history.usable
    seeded = sum(n for d, n in seeds.items() if window_start < day_start(d) + timedelta(hours=12) <= window_end)
    return HistoryCheck(days >= config.min_history_days, days, config.min_history_days, began, seeded)


def report_severity(r: ReportFacts) -> float:
    base = max(TYPE_BASE.get(t, 1.0) for t in r.types) if r.types else 1.0
    base += INJURY_ADD.get(r.injuries, 0.0) + (2.0 if r.weapon else 0.0) + (1.0 if r.ongoing else 0.0)
    base += (0.5 if r.vulnerable else 0.0) + (0.5 if r.repeat else 0.0)
    return base * (PLACE_OF_WORSHIP_MULTIPLIER if r.place_type == "place_of_worship" else 1.0)


def recency_weight(age: timedelta, half_life_hours: float) -> float:
    hours = max(0.0, age.total_seconds() / 3600)
    return float(0.5 ** (hours / half_life_hours))


@dataclass
class WindowCounts:
    total: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    by_strand: Counter[str] = field(default_factory=Counter)
    by_religion: Counter[str] = field(default_factory=Counter)
    by_place: Counter[str] = field(default_factory=Counter)

    def add(self, r: ReportFacts) -> None:
        self.total += 1
        self.by_type.update(r.types)
        self.by_strand.update(r.strands)
        if r.religion:
            self.by_religion[r.religion] += 1
        self.by_place[r.place_type] += 1

    def document(self) -> dict[str, Any]:
        return {"total": self.total, "by_type": dict(sorted(self.by_type.items())),
                "by_strand": dict(sorted(self.by_strand.items())),
                "by_religion": dict(sorted(self.by_religion.items())),
                "by_place": dict(sorted(self.by_place.items()))}


@dataclass(frozen=True)
class AreaPicture:
    area: str
    as_of: datetime
    level: str
    score: float
    raw_score: float
    normal_score: float
    calendar_factor: float
    calendar_reasons: tuple[str, ...]
    reasons: tuple[str, ...]
    counts: dict[str, dict[str, Any]]
    spike: SpikeResult
    open_critical: tuple[str, ...]
    places_of_worship_affected: int
    tension_declared: bool
    trend: tuple[tuple[str, int, float], ...]   # (day, count, baseline expected per day)
    history: HistoryCheck = HistoryCheck(True, MIN_HISTORY_DAYS, MIN_HISTORY_DAYS, None, 0)

    def document(self) -> dict[str, Any]:
        return {
            "area": self.area, "as_of": self.as_of.isoformat(), "level": self.level, "score": self.score,
            "raw_score": self.raw_score, "normal_score": self.normal_score, "calendar": {"factor": self.calendar_factor,
                                                     "reasons": list(self.calendar_reasons)},
            "reasons": list(self.reasons), "counts": self.counts,
            "spike": {"observed": self.spike.observed, "expected": self.spike.expected,
                      "p_value": float(f"{self.spike.p_value:.6g}"), "spike": self.spike.spike},
            "open_critical_incidents": list(self.open_critical),
            "places_of_worship_affected": self.places_of_worship_affected,
            "heightened_tension_declared": self.tension_declared,
            "trend": [{"day": d, "reports": n, "baseline": b} for d, n, b in self.trend],
            "history": self.history.document(),
        }


def counted(reports: Iterable[ReportFacts]) -> list[ReportFacts]:
    """Withdrawn reports stay on record but no longer count towards an area's picture."""
    return [r for r in reports if not r.withdrawn]


def between(times: Sequence[datetime], start: datetime, end: datetime) -> int:
    """How many of the sorted `times` fall in (start, end]."""
    return bisect_right(times, end) - bisect_right(times, start)


def window_history(times: Sequence[datetime], end: datetime, width: timedelta, weeks: int = 4) -> list[int]:
    """Counts of the same window in each of the previous `weeks` weeks, most recent first (`times` sorted)."""
    return [between(times, end - width - timedelta(weeks=k), end - timedelta(weeks=k)) for k in range(1, weeks + 1)]


def assess(area: str, reports: Iterable[ReportFacts], incidents: Iterable[IncidentFacts],
           tensions: Iterable[TensionFacts], as_of: datetime, config: ScoringConfig | None = None,
           history: History | None = None) -> AreaPicture:
    """`history` defaults to what `reports` show: records beginning with the first of them received."""
    config = config or ScoringConfig()
    given = list(reports)
    history = history or History(min((r.submitted_at for r in given), default=None))
    live = counted(given)
    counts = {name: WindowCounts() for name in WINDOWS}
    raw = normal_total = 0.0
    for r in live:
        age = as_of - r.occurred_at
        for name, width in WINDOWS.items():
            if timedelta(0) <= age < width:
                counts[name].add(r)
        if timedelta(0) <= age < WINDOWS["28d"]:
            raw += report_severity(r) * recency_weight(age, config.half_life_hours)
        if NORMAL_WINDOW[0] <= age < NORMAL_WINDOW[1]:
            normal_total += report_severity(r)
    checked = check_history(history, as_of, config)
    normal_total += checked.seeded_reports * config.seeded_severity
    times = sorted(r.occurred_at for r in live)
    spike = area_spike(counts["24h"].total, times, history.usable, as_of)
    factor = calendar_factor(as_of, config.anniversaries)
    open_critical = tuple(sorted(i.incident_id for i in incidents if i.critical and i.status != "closed"))
    worship = {r.place_fp or r.report_id for r in live
               if r.place_type == "place_of_worship" and timedelta(0) <= as_of - r.occurred_at < WINDOWS["28d"]}
    declared = any(t.active(as_of) and t.area in (area, "national") for t in tensions)
    score = round(raw * factor.factor, 3)
    normal = round(normal_score(normal_total, config.half_life_hours), 3)
    if not checked.sufficient:
        spike = evolve(spike, spike=False)
    level, reasons = risk_level(score, normal, raw, factor.factor, spike, len(open_critical), declared, config,
                                checked)
    return AreaPicture(area=area, as_of=as_of, level=level, score=score, raw_score=round(raw, 3), normal_score=normal,
                       calendar_factor=factor.factor, calendar_reasons=factor.reasons, reasons=tuple(reasons),
                       counts={k: v.document() for k, v in counts.items()}, spike=spike,
                       open_critical=open_critical, places_of_worship_affected=len(worship),
                       tension_declared=declared, trend=trend(times, as_of), history=checked)


def area_spike(observed: int, times: Sequence[datetime], seeded: Mapping[date, int], as_of: datetime) -> SpikeResult:
    """The last 24 hours against the same hours of the four weeks before, imported counts included."""
    width = WINDOWS["24h"]
    history = [n + seeded_between(seeded, as_of - width - timedelta(weeks=k), as_of - timedelta(weeks=k))
               for k, n in enumerate(window_history(times, as_of, width), start=1)]
    return spike_against(observed, sum(history) / len(history))


def pictures(registry: AreaRegistry, reports: Iterable[ReportFacts], incidents: Iterable[IncidentFacts],
             tensions: Iterable[TensionFacts], as_of: datetime, config: ScoringConfig | None = None,
             records_began: datetime | None = None,
             seeded: Mapping[str, Mapping[date, int]] | None = None) -> tuple[dict[str, AreaPicture], dict[str, int]]:
    """Every known force area's picture, plus report counts under codes the registry does not know.

    Vigil's records begin with the first report it received in any area (`records_began`, by default the
    first of `reports`): a quiet area has a normal of its own from then on. `seeded`: imported daily counts
    by area."""
    given = list(reports)
    began = records_began or min((r.submitted_at for r in given), default=None)
    by_area: dict[str, list[ReportFacts]] = defaultdict(list)
    for r in given:
        by_area[r.area].append(r)
    open_by_area: dict[str, list[IncidentFacts]] = defaultdict(list)
    for i in incidents:
        open_by_area[i.area].append(i)
    tension_list = list(tensions)
    seeds = seeded or {}
    result = {a.code: assess(a.code, by_area.get(a.code, []), open_by_area.get(a.code, []), tension_list, as_of,
                             config, History(began, seeds.get(a.code, {}))) for a in registry.all()}
    unknown = {code: len(rs) for code, rs in sorted(by_area.items()) if code not in result}
    return result, unknown


def normal_score(severity_in_normal_window: float, half_life_hours: float) -> float:
    """What a steady normal rate would score: mean daily severity times the sum of 28 days' recency weights."""
    days = (NORMAL_WINDOW[1] - NORMAL_WINDOW[0]).days
    per_day = max(NORMAL_FLOOR_PER_DAY, severity_in_normal_window / days)
    weights = sum(recency_weight(timedelta(days=d + 0.5), half_life_hours) for d in range(28))
    return per_day * weights


def risk_level(score: float, normal: float, raw: float, factor: float, spike: SpikeResult, open_critical: int,
               declared: bool, config: ScoringConfig,
               history: HistoryCheck | None = None) -> tuple[str, list[str]]:
    if history is not None and not history.sufficient:
        index = 0
        reasons = [f"insufficient history: {history.baseline_days} of the {history.required_days} days the normal "
                   f"is built from are on record, so severity score {score:g} and the last 24 hours are not read "
                   "against a normal yet"]
    else:
        index = level_by_score(score, normal, config)
        reasons = [f"severity score {score:g} (recency-weighted {raw:g} x calendar {factor:g}) is "
                   f"{score / normal:.1f} times the area's normal {normal:g}: {LEVELS[index]} by score"]
    if spike.spike:
        floor = 3 if spike.ratio >= SEVERE_SPIKE_RATIO else 2
        reasons.append(spike.reason() + f"; at least {LEVELS[floor]}")
        index = max(index, floor)
    if open_critical >= CRITICAL_INCIDENTS_FOR_SUBSTANTIAL:
        reasons.append(f"{open_critical} open critical incidents; at least substantial")
        index = max(index, 2)
    elif open_critical:
        reasons.append(f"{open_critical} open critical incident(s)")
    if declared:
        reasons.append("heightened tension declared by a supervisor; at least severe")
        index = max(index, 3)
    return LEVELS[index], reasons


def trend(times: Sequence[datetime], as_of: datetime, days: int = 28) -> tuple[tuple[str, int, float], ...]:
    """Daily counts for the last `days` days beside each day's baseline (same weekday, four weeks before)."""
    out = []
    for back in range(days - 1, -1, -1):
        end = as_of - timedelta(days=back)
        day_count = between(times, end - timedelta(days=1), end)
        history = window_history(times, end, timedelta(days=1))
        out.append((end.date().isoformat(), day_count, round(sum(history) / len(history), 3)))
    return tuple(out)


def level_by_score(score: float, normal: float, config: ScoringConfig) -> int:
    """The level (an index of LEVELS) the score alone gives, before spikes, incidents and tension lift it."""
    ratio = score / normal
    return sum(1 for t in config.thresholds if ratio >= t) if score >= MIN_SCORE else 0


def level_rank(level: str) -> int:
    return LEVELS.index(level)
