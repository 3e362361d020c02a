"""The tasking list as the register gives it, a supervisor's changes to it, and the visits that answer it.

A change and a visit are each an event on `vigil.sites.v1` (on a stream of their own per site, so they never
race a person changing the site's entry) and a row written in the same transaction: the rows are what the
list and the site's page read. A visit's notes are personal data, sealed with the site's key as its contacts
are. A visit recorded from a signed link takes the link's id as its own, so a link used twice records once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.assessment import tables
from services.assessment.scoring import ScoringConfig
from services.assessment.sites import queries
from services.assessment.sites.access import Scope
from services.assessment.sites.facts import SiteFacts
from services.assessment.sites.guidance import Guidance
from services.assessment.sites.register import FieldProblem, NotPermitted, SiteInvalid, UnknownSite
from services.assessment.sites.sealing import SiteKeys
from services.assessment.sites.service import SiteService
from services.assessment.sites.tasking import RECENT, Change, Task, Tasking, candidate, day_bounds, rank, task_id
from shared.clock import Clock
from shared.db import Database
from shared.events.sites import RecordedVia, SiteTaskAdded, SiteTaskDropped, SiteVisitRecorded
from shared.eventstore import EventStore
from shared.ids import deterministic_id, new_id
from shared.staffaccess import Role
from shared.web.filters import LONDON

CHANGERS = frozenset({Role.supervisor.value})
VISITORS = frozenset({Role.neighbourhood_officer.value, Role.supervisor.value})
MAX_NOTES = 2000
CLOCK_SLACK = timedelta(minutes=5)
OLDEST = timedelta(days=31)
VISITS_SHOWN = timedelta(days=90)


class ChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_id: str = Field(max_length=40)
    change: str = Field(pattern="^(add|drop)$", description="add the site to the day's list, or drop it")
    reason: str = Field(min_length=1, max_length=500)


class VisitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    visited_at: AwareDatetime | None = Field(None, description="when; default now")
    visited_by: str | None = Field(None, max_length=200, description="the officers who went; default you")
    notes: str | None = Field(None, max_length=MAX_NOTES, description="what was seen or said; sealed")


class VisitOnBehalfIn(VisitIn):
    """A visit recorded from a signed link another Vigil service (notify) checked: for whom, and the link's id."""

    recorded_by: str = Field(max_length=120, description="the staff username the link was made for")
    visited_by: str | None = Field(None, max_length=200, description="the officers who went; default the "
                                                                     "username")
    link_id: str = Field(min_length=8, max_length=64)


@dataclass(frozen=True)
class Visit:
    visit_id: str
    site_id: str
    task_id: str | None
    visited_at: datetime
    visited_by: str
    recorded_by: str
    via: str
    notes: str | None       # sealed; opened only for those who may read the site's contacts


def _visit_of(row: Any) -> Visit:
    return Visit(row["visit_id"], row["site_id"], row["task_id"], row["visited_at"], row["visited_by"],
                 row["recorded_by"], row["via"], row["notes"])


def visits(s: Session, site_id: str, since: datetime) -> list[Visit]:
    t = tables.site_visits
    rows = s.execute(select(t).where(t.c.site_id == site_id, t.c.visited_at >= since)
                     .order_by(t.c.visited_at.desc(), t.c.visit_id)).mappings()
    return [_visit_of(r) for r in rows]


def _visits_on(s: Session, area: str, day: date) -> dict[str, list[Visit]]:
    t, (start, end) = tables.site_visits, day_bounds(day)
    found: dict[str, list[Visit]] = {}
    for row in s.execute(select(t).where(t.c.area == area, t.c.visited_at >= start, t.c.visited_at < end)
                         .order_by(t.c.visited_at, t.c.visit_id)).mappings():
        found.setdefault(row["site_id"], []).append(_visit_of(row))
    return found


def _changes(s: Session, area: str, day: date) -> list[Change]:
    t = tables.site_task_changes
    rows = s.execute(select(t).where(t.c.area == area, t.c.day == day)
                     .order_by(t.c.changed_at, t.c.change_id)).mappings()
    return [Change(r["site_id"], bool(r["added"]), r["reason"], r["changed_by"], r["changed_at"]) for r in rows]


def tasking_of(s: Session, area: str, day: date, now: datetime, config: ScoringConfig, guidance: Guidance,
               scope: Scope | None = None) -> Tasking:
    """The day's list for the sites of the area (those `scope` sees), with the visits made that day."""
    start, end = day_bounds(day)
    as_of = min(now, end)
    levels: dict[str, str] = {}
    found = []
    for site in queries.sites(s, area):
        if scope is not None and not scope.sees(site):
            continue
        risk = queries.site_risk(s, site, as_of, config, levels)
        decided = {rid: d.linked for rid, d in queries.decisions(s, site.site_id).items()}
        reports = [x.report for x in queries.linked(s, site, start - RECENT)]
        found.append(candidate(site, risk, reports, decided, queries.tensions_of(s, site), guidance, day,
                               config.anniversaries))
    listed = rank(area, day, found, _changes(s, area, day))
    made = _visits_on(s, area, day)
    return Tasking(listed.area, listed.day, *(tuple(_visited(t, made) for t in group)
                                              for group in (listed.tasks, listed.dropped, listed.others)))


def _visited(task: Task, made: dict[str, list[Visit]]) -> Task:
    return replace(task, visits=tuple(made.get(task.site_id, ())))


class Taskboard:
    def __init__(self, db: Database, store: EventStore, keys: SiteKeys, guidance: Guidance, config: ScoringConfig,
                 clock: Clock) -> None:
        self.db, self.store, self.keys, self.guidance, self.config, self.clock = db, store, keys, guidance, config, \
            clock

    def today(self) -> date:
        return self.clock.now().astimezone(LONDON).date()

    def tasking(self, area: str, day: date, scope: Scope) -> Tasking:
        with self.db.snapshot() as s:
            return tasking_of(s, area, day, self.clock.now(), self.config, self.guidance, scope)

    def change(self, area: str, day: date, body: ChangeIn, scope: Scope) -> str:
        """A supervisor adds a site to the day's list or drops it, with the reason; answers the task's id."""
        if not scope.roles & CHANGERS:
            raise NotPermitted("only supervisors add or drop tasks")
        if day < self.today():
            raise SiteInvalid([FieldProblem("date", "a day gone by cannot be changed")])
        now = self.clock.now()
        with self.db.transaction() as s:
            site = SiteService.visible(s, body.site_id, scope)
            if site.area != area:
                raise SiteInvalid([FieldProblem("site_id", "the site is not in this area")])
            added = body.change == "add"
            kind = SiteTaskAdded if added else SiteTaskDropped
            tid = task_id(area, day, site.site_id)
            event = kind(site_id=site.site_id, area=area, day=day, task_id=tid, reason=body.reason.strip(),
                         changed_by=scope.name, changed_at=now)
            s.execute(tables.site_task_changes.insert().values(
                change_id=new_id(), area=area, day=day, site_id=site.site_id, added=added, reason=event.reason,
                changed_by=scope.name, changed_at=now))
            self.store.extend(s, f"site-tasks-{site.site_id}", [event], key=site.site_id)
        return tid

    def record_visit(self, site_id: str, body: VisitIn, scope: Scope, via: RecordedVia) -> str:
        with self.db.transaction() as s:
            site = SiteService.visible(s, site_id, scope)
            if not scope.may(VISITORS, site):
                raise NotPermitted("visits are recorded by neighbourhood officers and supervisors")
            return self._record(s, site, new_id(), body, scope.display_name or scope.name, scope.name, via)

    def record_visit_on_behalf(self, site_id: str, body: VisitOnBehalfIn) -> tuple[str, bool]:
        """From a signed link: answers the visit's id and whether it is new (its id is the link's)."""
        visit_id = deterministic_id("site-visit-link", body.link_id)
        with self.db.transaction() as s:
            if s.execute(select(tables.site_visits.c.visit_id)
                         .where(tables.site_visits.c.visit_id == visit_id)).first() is not None:
                return visit_id, False
            site = queries.site(s, site_id)
            if site is None:
                raise UnknownSite(f"there is no site {site_id}")
            self._record(s, site, visit_id, body, body.visited_by or body.recorded_by, body.recorded_by,
                         RecordedVia.link)
        return visit_id, True

    def _record(self, s: Session, site: SiteFacts, visit_id: str, body: VisitIn, who: str, by: str,
                via: RecordedVia) -> str:
        now = self.clock.now()
        when = body.visited_at or now
        if when > now + CLOCK_SLACK:
            raise SiteInvalid([FieldProblem("visited_at", "cannot be in the future")])
        if when < now - OLDEST:
            raise SiteInvalid([FieldProblem("visited_at", "must be within the last 31 days")])
        who = (body.visited_by or who).strip() or by
        day = when.astimezone(LONDON).date()
        notes = (self.keys.seal(s, site.site_id, {"notes": body.notes.strip()}, now)
                 if body.notes and body.notes.strip() else None)
        event = SiteVisitRecorded(site_id=site.site_id, visit_id=visit_id, area=site.area,
                                  task_id=task_id(site.area, day, site.site_id), visited_at=when, visited_by=who,
                                  recorded_at=now, recorded_by=by, via=via, notes=notes)
        s.execute(tables.site_visits.insert().values(
            visit_id=visit_id, site_id=site.site_id, area=site.area, task_id=event.task_id, visited_at=when,
            visited_by=who, recorded_at=now, recorded_by=by, via=via.value,
            notes=notes.model_dump_json() if notes else None))
        self.store.extend(s, f"site-visits-{site.site_id}", [event], key=site.site_id)
        return visit_id

    def visits_of(self, s: Session, site: SiteFacts, scope: Scope, readers: frozenset[str]) -> list[dict[str, Any]]:
        """A site's visits in the last 90 days, newest first, each with its notes for those who may read them."""
        words = scope.may(readers, site)
        return [{"visit_id": v.visit_id, "visited_at": v.visited_at, "visited_by": v.visited_by,
                 "recorded_by": v.recorded_by, "via": v.via, "task_id": v.task_id,
                 "notes": (self.keys.open(s, site.site_id, v.notes) or {}).get("notes") if words else None}
                for v in visits(s, site.site_id, self.clock.now() - VISITS_SHOWN)]

