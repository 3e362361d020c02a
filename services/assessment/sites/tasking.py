"""Patrol and visit tasking: which sites of an area the neighbourhood team should visit on a day, when, and why.

Pure: the candidates come in with their risk, their recent incidents, the tension and the calendar periods of
the day already worked out (`taskboard` reads them from the register; tests build them in memory). Each site's
score is the sum of its reasons, every one shown:

    its risk matrix cell (likelihood x impact, 1 to 25);
    each incident at the site in the last 14 days: +10 (at most +20);
    heightened tension declared for the area or nationally on the day: +6;
    each festival, season or anniversary of its faith on the day (the guidance's periods, so Ramadan and its
    last ten nights are two): +6;
    Friday, for a mosque: +3.

A site is tasked from a score of 8 (moderate risk and one thing more, or substantial risk alone); a supervisor
can add one that is not, or drop one that is, with a reason. The time windows are the site's own service
times on the day (seasonal services in their season), Friday prayers at a mosque that lists no Friday
service, and on a festival day without any service an evening window.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from services.assessment.calendar import FRIDAY_PRAYERS, LONDON, Anniversary, faith_events
from services.assessment.projection import ReportFacts, TensionFacts
from services.assessment.sites.assess import about_site
from services.assessment.sites.facts import SiteFacts
from services.assessment.sites.guidance import Guidance
from services.assessment.sites.matrix import SiteRisk
from services.assessment.sites.plan import PlanPeriod, build_plan, tension_span
from shared.events.incidents import NATIONAL
from shared.events.sites import ServiceDay, SiteEntry
from shared.ids import deterministic_id

RECENT = timedelta(days=14)
INCIDENT_POINTS, INCIDENT_CAP = 10, 20
TENSION_POINTS = 6
PERIOD_POINTS = 6
FRIDAY_POINTS = 3
TASK_FROM = 8
BEFORE_SERVICE, AFTER_SERVICE = timedelta(minutes=30), timedelta(minutes=90)
FESTIVAL_EVENING = (time(18, 0), time(22, 0))
CALENDAR_KINDS = ("festival", "anniversary")
LOOK_AHEAD = timedelta(days=31)   # a festival just after the day still gives the day its "before" period
WEEKDAYS = (ServiceDay.monday, ServiceDay.tuesday, ServiceDay.wednesday, ServiceDay.thursday, ServiceDay.friday,
            ServiceDay.saturday, ServiceDay.sunday)


def task_id(area: str, day: date, site_id: str) -> str:
    """The same task for the same site, area and day however often the list is worked out."""
    return deterministic_id("site-task", area, day.isoformat(), site_id)


@dataclass(frozen=True)
class Window:
    start: time
    end: time
    label: str

    def words(self) -> str:
        return f"{self.start:%H:%M} to {self.end:%H:%M}, {self.label}"

    def document(self) -> dict[str, str]:
        return {"from": f"{self.start:%H:%M}", "to": f"{self.end:%H:%M}", "label": self.label}


@dataclass(frozen=True)
class Candidate:
    """One site on one day, with everything its rank is made of."""

    site: SiteFacts
    risk: SiteRisk
    recent: tuple[ReportFacts, ...]        # at the site, in the 14 days before the day ends
    tension: bool                          # heightened tension declared for its area or nationally that day
    periods: tuple[PlanPeriod, ...]        # festival, season or anniversary periods of the guidance on the day


@dataclass(frozen=True)
class Change:
    """A supervisor's decision on one site's task for a day: the latest one stands."""

    site_id: str
    added: bool
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class Task:
    task_id: str
    site_id: str
    name: str
    faith: str
    postcode_district: str
    level: str
    score: int
    windows: tuple[Window, ...]
    reasons: tuple[str, ...]
    change: Change | None = None
    visits: tuple[Any, ...] = field(default=(), compare=False)   # taskboard.Visit: made on the day

    @property
    def by_supervisor(self) -> bool:
        return self.change is not None and self.change.added

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "task_id": self.task_id, "site_id": self.site_id, "name": self.name, "faith": self.faith,
            "postcode_district": self.postcode_district, "level": self.level, "score": self.score,
            "windows": [w.document() for w in self.windows], "reasons": list(self.reasons),
            "visits": [{"visited_at": v.visited_at.isoformat(), "visited_by": v.visited_by} for v in self.visits]}
        if self.change is not None:
            doc["change"] = {"change": "added" if self.change.added else "dropped", "reason": self.change.reason,
                             "by": self.change.by, "at": self.change.at.isoformat()}
        return doc


@dataclass(frozen=True)
class Tasking:
    area: str
    day: date
    tasks: tuple[Task, ...]        # ranked, first first
    dropped: tuple[Task, ...]      # tasked by the ranking, dropped by a supervisor
    others: tuple[Task, ...]       # not tasked: a supervisor may add them

    def document(self) -> dict[str, Any]:
        return {"area": self.area, "date": self.day.isoformat(), "task_from": TASK_FROM,
                "tasks": [dict(t.document(), rank=n) for n, t in enumerate(self.tasks, 1)],
                "dropped": [t.document() for t in self.dropped], "not_tasked": [t.document() for t in self.others]}


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UK day as the moments it starts and ends."""
    start = datetime.combine(day, time(0), LONDON)
    return start, datetime.combine(day + timedelta(days=1), time(0), LONDON)


def candidate(site: SiteFacts, risk: SiteRisk, reports: Iterable[ReportFacts], decided: Mapping[str, bool],
              tensions: Iterable[TensionFacts], guidance: Guidance, day: date,
              anniversaries: Iterable[Anniversary]) -> Candidate:
    """One site on `day`, from the fold's facts: its reports (those about it are picked out as its risk does),
    the tensions declared, and the guidance's periods of its faith's calendar that cover the day."""
    start, end = day_bounds(day)
    recent = tuple(sorted((r for r in reports if about_site(site, r, decided) and not r.withdrawn
                           and start - RECENT <= r.occurred_at < end), key=lambda r: (r.occurred_at, r.report_id)))
    spans = [tension_span(t) for t in tensions if t.area in (site.area, NATIONAL)]
    tension = any(t.start <= day and (t.end is None or t.end >= day) for t in spans)
    events = faith_events(site.faith, day, day + LOOK_AHEAD, tuple(anniversaries))
    periods = tuple(p for p in build_plan(guidance, site.register(), risk.level, day, day, events, ())
                    if p.kind in CALENDAR_KINDS)
    return Candidate(site, risk, recent, tension, periods)


def windows(entry: SiteEntry, day: date, periods: Iterable[PlanPeriod]) -> tuple[Window, ...]:
    weekday = WEEKDAYS[day.weekday()]
    seasons = {p.name for p in periods}
    found = []
    for service in entry.services:
        if service.day not in (weekday, ServiceDay.daily) or (service.season and service.season not in seasons):
            continue
        start = datetime.combine(day, time.fromisoformat(service.time))
        found.append(Window((start - BEFORE_SERVICE).time(), min(start + AFTER_SERVICE,
                                                                 datetime.combine(day, time(23, 59))).time(),
                            service.name))
    if entry.faith.value == "muslim" and weekday is ServiceDay.friday and not any(
            s.day is ServiceDay.friday for s in entry.services):
        found.append(Window(*FRIDAY_PRAYERS, "Friday prayers"))
    festivals = [p for p in periods if p.kind == "festival"]
    if festivals and not found:
        found.append(Window(*FESTIVAL_EVENING, f"{festivals[0].name}, evening"))
    return tuple(sorted(found, key=lambda w: (w.start, w.label)))


def scored(c: Candidate, area: str, day: date) -> Task:
    entry = c.site.register()
    score = c.risk.likelihood * c.risk.impact
    reasons = [f"site risk {c.risk.level} (likelihood {c.risk.likelihood} x impact {c.risk.impact}): +{score}"]
    if c.recent:
        points = min(INCIDENT_POINTS * len(c.recent), INCIDENT_CAP)
        latest = max(r.occurred_at for r in c.recent).astimezone(LONDON)
        n = len(c.recent)
        reasons.append(f"{n} incident{'s' if n != 1 else ''} at the site in the last 14 days, the latest on "
                       f"{latest:%A} {latest.day} {latest:%B}: +{points}")
        score += points
    if c.tension:
        reasons.append(f"heightened tension is declared for the area or nationally: +{TENSION_POINTS}")
        score += TENSION_POINTS
    for period in c.periods:
        reasons.append(f"{period.name} ({_span(period, day)}): +{PERIOD_POINTS}")
        score += PERIOD_POINTS
    if entry.faith.value == "muslim" and day.weekday() == 4:
        reasons.append(f"Friday prayers: +{FRIDAY_POINTS}")
        score += FRIDAY_POINTS
    return Task(task_id(area, day, c.site.site_id), c.site.site_id, c.site.name, c.site.faith,
                entry.postcode_district, c.risk.level, score, windows(entry, day, c.periods), tuple(reasons))


def _span(period: PlanPeriod, day: date) -> str:
    if period.start == period.end:
        return "today"
    return f"day {(day - period.start).days + 1} of {(period.end - period.start).days + 1}"


def rank(area: str, day: date, candidates: Sequence[Candidate], changes: Iterable[Change] = ()) -> Tasking:
    """The day's list: tasked sites by score (then earliest window, then name), a supervisor's changes applied."""
    latest: dict[str, Change] = {}
    for made in sorted(changes, key=lambda c: c.at):
        latest[made.site_id] = made
    tasks, dropped, others = [], [], []
    for task in (scored(c, area, day) for c in candidates):
        change = latest.get(task.site_id)
        tasked = task.score >= TASK_FROM
        if change is not None and change.added:
            tasks.append(_with(task, change, f"added by {change.by}: {change.reason}"))
        elif change is not None and not change.added and tasked:
            dropped.append(_with(task, change, f"dropped by {change.by}: {change.reason}"))
        elif tasked:
            tasks.append(task)
        else:
            others.append(task)
    return Tasking(area, day, tuple(sorted(tasks, key=_order)), tuple(sorted(dropped, key=_order)),
                   tuple(sorted(others, key=_order)))


def _with(task: Task, change: Change, words: str) -> Task:
    return Task(task.task_id, task.site_id, task.name, task.faith, task.postcode_district, task.level, task.score,
                task.windows, (*task.reasons, words), change)


def _order(task: Task) -> tuple[int, time, str, str]:
    return -task.score, task.windows[0].start if task.windows else time(23, 59), task.name, task.site_id
