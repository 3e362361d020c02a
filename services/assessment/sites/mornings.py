"""The morning message: each area's tasking for the day, announced once each morning for notify to send.

A timer looks at the service's clock. From the configured time of day (UK time, `ASSESSMENT_TASKING_MORNING_AT`)
it works out the day's list of every area with sites and appends `vigil.site.tasking_announced.v1` for each
area with tasks; where the area has neighbourhood teams (teams.py), one for each team's share with tasks and one
for the rest of the area's, if any. A row per (area, day), inserted in the same transaction as the events, makes
each morning's announcement happen once however often the timer runs, however many instances run it, and across
restarts; a service down at that time announces when it comes back, later that day.
"""

from __future__ import annotations

import logging
import threading
from datetime import time

from sqlalchemy import select

from services.assessment import tables
from services.assessment.scoring import ScoringConfig
from services.assessment.sites.guidance import Guidance
from services.assessment.sites.taskboard import tasking_of
from services.assessment.sites.tasking import Tasking
from services.assessment.sites.teams import Team, Teams, narrowed
from shared.clock import Clock
from shared.db import Database, insert_new
from shared.events.sites import AnnouncedTask, SiteTaskingAnnounced, TaskWindow
from shared.eventstore import EventStore
from shared.web.filters import LONDON

log = logging.getLogger(__name__)


def announcement(tasking: Tasking, clock: Clock, team: Team | None = None) -> SiteTaskingAnnounced:
    return SiteTaskingAnnounced(area=tasking.area, day=tasking.day, announced_at=clock.now(),
                                team=team.code if team else None, team_name=team.name if team else None, tasks=[
        AnnouncedTask(task_id=t.task_id, site_id=t.site_id, site_name=t.name, postcode_district=t.postcode_district,
                      rank=n, level=t.level, reasons=list(t.reasons),
                      windows=[TaskWindow.model_validate(w.document()) for w in t.windows])
        for n, t in enumerate(tasking.tasks, 1)])


class TaskingMornings:
    def __init__(self, db: Database, store: EventStore, guidance: Guidance, config: ScoringConfig, clock: Clock,
                 morning_at: time, teams: Teams | None = None) -> None:
        self.db, self.store, self.guidance, self.config, self.clock = db, store, guidance, config, clock
        self.morning_at, self.teams = morning_at, teams or Teams()

    def announce(self) -> int:
        """One look at the clock; answers how many areas' lists it announced."""
        now = self.clock.now()
        local = now.astimezone(LONDON)
        if local.time() < self.morning_at:
            return 0
        day = local.date()
        with self.db.snapshot() as s:
            areas = sorted(set(s.execute(select(tables.sites.c.area)).scalars()))
            t = tables.tasking_announcements
            done = set(s.execute(select(t.c.area).where(t.c.day == day)).scalars())
        made = 0
        for area in (a for a in areas if a not in done):
            try:
                with self.db.transaction() as s:
                    tasking = tasking_of(s, area, day, now, self.config, self.guidance)
                    if not insert_new(s, tables.tasking_announcements, area=area, day=day, announced_at=now,
                                      tasks=len(tasking.tasks)):
                        continue
                    announced = self.announcements(tasking)
                    if announced:
                        self.store.extend(s, f"tasking-{area}", announced, key=area)
                        made += 1
            except Exception:  # one area's trouble must not keep the others' officers uninformed
                log.exception("could not announce an area's tasking", extra={"area": area})
        return made

    def announcements(self, tasking: Tasking) -> list[SiteTaskingAnnounced]:
        """The area's list, or where it has teams each team's share and the rest (the area's), those with tasks."""
        shares = [(narrowed(tasking, team), team) for team in self.teams.of_area(tasking.area)]
        rest = self.teams.outside_every_team(tasking)
        return [announcement(share, self.clock, team) for share, team in [*shares, (rest, None)] if share.tasks]

    def run(self, interval: float, stop: threading.Event) -> None:
        while not stop.wait(interval):
            self.announce()
