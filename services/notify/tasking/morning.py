"""The morning message: assessment announces each area's tasking list for the day once each morning
(`vigil.site.tasking_announced.v1`); notify emails it to the area's neighbourhood officers.

Who they are is neighbourhood.py's answer, shared with the overdue routines of places of worship: the enabled
accounts with the `neighbourhood_officer` role and the area. The tasks are kept (`tasking_tasks`: what a visit
link's page shows) and each officer gets one email on the ledger, to `staff:<username>`, with a signed link per
task to record the visit, made at send time (visits.py). The idempotency key is deterministic in the area, the
day and the officer (and the team), so a redelivered announcement sends nothing twice. Where assessment has
neighbourhood teams, a team's list goes to the people notify's directory names for the team (`teams:`, by the
same code), or to the area's officers when it names none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notify import tables
from services.notify.ledger import queue
from services.notify.neighbourhood import NeighbourhoodOfficers
from services.notify.staff import LOG, StaffContacts
from shared.clock import Clock
from shared.db import insert_new
from shared.events.base import Envelope, Event
from shared.events.handlers import EventHandler
from shared.events.sites import AnnouncedTask, SiteTaskingAnnounced
from shared.ids import deterministic_id

MORNING = "tasking_morning"  # the ledger's purpose and the template's name
OFFICER = "neighbourhood_officer"


@dataclass(frozen=True)
class KeptTask:
    task_id: str
    site_id: str
    site_name: str
    area: str
    day: date
    windows: str
    announced_at: datetime


def window_words(task: AnnouncedTask) -> list[str]:
    return [f"{w.start} to {w.end}, {w.label}" for w in task.windows] or ["at any time of the day"]


class Tasks:
    """The tasks notify sent (no personal data: what the topic carried)."""

    t = tables.tasking_tasks

    def keep(self, s: Session, e: SiteTaskingAnnounced, task: AnnouncedTask) -> None:
        insert_new(s, self.t, task_id=task.task_id, site_id=task.site_id, site_name=task.site_name, area=e.area,
                   day=e.day, windows="\n".join(window_words(task)), announced_at=e.announced_at)

    def get(self, s: Session, task_id: str) -> KeptTask | None:
        row = s.execute(select(self.t).where(self.t.c.task_id == task_id)).mappings().first()
        return KeptTask(**dict(row)) if row else None


class TaskingMessages:
    def __init__(self, clock: Clock, staff: StaffContacts, officers: NeighbourhoodOfficers,
                 tasks: Tasks | None = None) -> None:
        self.clock, self.staff, self.officers = clock, staff, officers
        self.tasks = tasks or Tasks()

    def handlers(self) -> dict[type[Event], EventHandler]:
        return {SiteTaskingAnnounced: self.on_announced}

    def on_announced(self, s: Session, e: SiteTaskingAnnounced, env: Envelope) -> None:
        for task in e.tasks:
            self.tasks.keep(s, e, task)
        if not e.tasks:
            return
        officers = self.officers.of_team(e.team, e.area) if e.team else self.officers.of(e.area)
        channel = "email" if "email" in self.staff.channels else LOG
        context = self._context(e, officers.chosen_by)
        team = [e.team] if e.team else []  # an area's own list keeps the key it always had
        for recipient in officers.recipients:
            queue(s, self.clock, key=deterministic_id(MORNING, e.area, e.day.isoformat(), *team, recipient, channel),
                  incident_id=None, purpose=MORNING, channel=channel, recipient_role=OFFICER, recipient=recipient,
                  payload={"template": MORNING, "context": context})

    def _context(self, e: SiteTaskingAnnounced, told_as: str) -> dict[str, Any]:
        area_name = self.staff.area_name(e.area)
        return {"area": e.area, "area_name": f"{e.team_name or e.team}, {area_name}" if e.team else area_name,
                "team": e.team, "day": f"{e.day:%A} {e.day.day} "
                f"{e.day:%B %Y}", "told_as": told_as, "visit_links": {}, "links_expire": "",
                "tasks": [{"task_id": t.task_id, "rank": t.rank, "site_name": t.site_name,
                           "postcode_district": t.postcode_district, "level": t.level,
                           "windows": window_words(t), "reasons": list(t.reasons)} for t in e.tasks]}
