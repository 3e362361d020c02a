"""Routines that get done: when each of a site's routines is next due, whether it is overdue, and the site's
Martyn's Law standard-tier readiness.

A routine with a rhythm in days is due that long after it was last done (a routine never done is due from
the day the site was registered). A perimeter walk is due before each main service: it is due from an hour
(the guidance's `before_main_services`) before the next one (within the notice of it, a day), and overdue
when the last main service passed with no walk in the hours before it. A site with no main services walks
on the weekly rhythm instead.
Issues found count as done: the routine happened; the issues raise the site's likelihood until resolved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from services.assessment.calendar import LONDON, CalendarEvent
from services.assessment.sites.facts import OutcomeFacts, SiteFacts
from services.assessment.sites.guidance import PROCEDURES, Guidance, Routine
from shared.events.sites import CapacityBand, RegularService, ServiceDay, SiteEntry

WALK_WINDOW = timedelta(hours=6)          # a walk this long before a main service counts as that service's walk
READINESS_AGE = timedelta(days=365)
WEEKDAYS = list(ServiceDay)[1:]           # monday .. sunday, in date.weekday() order


@dataclass(frozen=True)
class ServiceTime:
    name: str
    at: datetime


@dataclass(frozen=True)
class RoutineStatus:
    routine: Routine
    last: OutcomeFacts | None
    due_at: datetime
    state: str                    # never | overdue | due | in_date
    service: ServiceTime | None   # the main service a walk is due before (or was missed before)

    def document(self) -> dict[str, Any]:
        return {"routine": self.routine.code, "name": self.routine.name, "what": self.routine.what,
                "who": self.routine.who, "state": self.state, "due_at": self.due_at.isoformat(),
                "last_done_at": self.last.performed_at.isoformat() if self.last else None,
                "last_outcome": self.last.outcome if self.last else None,
                "service": {"name": self.service.name, "at": self.service.at.isoformat()} if self.service else None}


def occurrences(services: Sequence[RegularService], around: datetime, seasons: Sequence[CalendarEvent],
                days: int = 8) -> list[ServiceTime]:
    """Every main service from `days` before `around` to `days` after, in UK time; a seasonal service only on
    the days its season covers."""
    today = around.astimezone(LONDON).date()
    found = []
    for offset in range(-days, days + 1):
        day = today + timedelta(days=offset)
        for s in (s for s in services if s.main and _held_on(s, day, seasons)):
            hour, minute = (int(x) for x in s.time.split(":"))
            at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)
            found.append(ServiceTime(s.name, at.astimezone(around.tzinfo)))
    return sorted(found, key=lambda t: (t.at, t.name))


def _held_on(service: RegularService, day: date, seasons: Sequence[CalendarEvent]) -> bool:
    if service.day is not ServiceDay.daily and WEEKDAYS.index(service.day) != day.weekday():
        return False
    return service.season is None or any(e.name == service.season and e.covers(day) for e in seasons)


def _state(due_at: datetime, notice: timedelta, now: datetime) -> str:
    if now > due_at:
        return "overdue"
    return "due" if now >= due_at - notice else "in_date"


def status(routine: Routine, site: SiteFacts, entry: SiteEntry, done: Sequence[OutcomeFacts], now: datetime,
           seasons: Sequence[CalendarEvent]) -> RoutineStatus:
    mine = sorted((o for o in done if o.routine == routine.code), key=lambda o: (o.performed_at, o.outcome_id))
    last = mine[-1] if mine else None
    main = occurrences(entry.services, now, seasons) if routine.before_main_services else []
    if main:
        return _walk_status(routine, last, mine, main, now, site.registered_at)
    if last is None:
        return RoutineStatus(routine, None, site.registered_at, "never", None)
    due_at = last.performed_at + routine.every
    return RoutineStatus(routine, last, due_at, _state(due_at, routine.notice, now), None)


def _walk_status(routine: Routine, last: OutcomeFacts | None, done: Sequence[OutcomeFacts],
                 main: Sequence[ServiceTime], now: datetime, since: datetime) -> RoutineStatus:
    """Due within the notice before the next main service not yet walked for; else overdue if the last main
    service (since the site was registered) passed without its walk; else in date."""
    lead = routine.before_main_services or timedelta(hours=1)

    def walked(service: ServiceTime) -> bool:
        return any(service.at - WALK_WINDOW <= o.performed_at <= service.at for o in done)

    past = [t for t in main if since <= t.at <= now]
    coming = next((t for t in main if t.at > now), None)
    if coming is not None and not walked(coming) and now >= coming.at - lead - routine.notice:
        return RoutineStatus(routine, last, coming.at - lead, "due", coming)
    if past and not walked(past[-1]):
        return RoutineStatus(routine, last, past[-1].at - lead, "overdue", past[-1])
    state = "never" if last is None else "in_date"
    if coming is None:
        return RoutineStatus(routine, last, now + routine.every, state, None)
    return RoutineStatus(routine, last, coming.at - lead, state, coming)


def statuses(guidance: Guidance, site: SiteFacts, done: Sequence[OutcomeFacts], now: datetime,
             seasons: Sequence[CalendarEvent]) -> list[RoutineStatus]:
    entry = site.register()
    return [status(r, site, entry, done, now, seasons) for r in guidance.routines]


def readiness(guidance: Guidance, entry: SiteEntry, done: Sequence[OutcomeFacts], now: datetime) -> dict[str, Any]:
    """Martyn's Law's standard tier (200 or more may be present): the four procedures written, staff briefed,
    each procedure drilled; each within the last year."""
    applies = entry.capacity_band is not CapacityBand.under_200
    today = now.astimezone(LONDON).date()

    def last_of(routines: list[str]) -> date | None:
        times = [o.performed_at for o in done if o.routine in routines]
        return max(times).astimezone(LONDON).date() if times else None

    def recent(day: date | None) -> bool:
        return day is not None and today - day <= timedelta(days=READINESS_AGE.days)

    written = entry.procedures_written_on
    briefed = last_of([r.code for r in guidance.routines if r.briefing])
    drills = {p: last_of([r.code for r in guidance.routines if r.procedure == p]) for p in PROCEDURES}
    ready = recent(written) and recent(briefed) and all(recent(d) for d in drills.values())
    return {"applies": applies, "tier": "standard" if applies else None,
            "procedures_written_on": written.isoformat() if written else None, "procedures_written": recent(written),
            "staff_briefed_on": briefed.isoformat() if briefed else None, "staff_briefed": recent(briefed),
            "drills": {p: {"last": d.isoformat() if d else None, "in_date": recent(d)} for p, d in drills.items()},
            "ready": ready}
