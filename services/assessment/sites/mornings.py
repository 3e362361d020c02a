"""The morning message: each area's tasking for the day, announced once each morning for notify to send.

A timer looks at the service's clock. From the configured time of day (UK time, `ASSESSMENT_TASKING_MORNING_AT`)
it works out the day's list of every area with sites and appends `vigil.site.tasking_announced.v1` for each
area with tasks. A row per (area, day), inserted in the same transaction as the event, makes each morning's
announcement happen once however often the timer runs, however many instances run it, and across restarts;
a service down at that time announces when it comes back, later that day.
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
from shared.clock import Clock
from shared.db import Database, insert_new
from shared.events.sites import AnnouncedTask, SiteTaskingAnnounced, TaskWindow
from shared.eventstore import EventStore
from shared.web.filters import LONDON

log = logging.getLogger(__name__)


def announcement(tasking: Tasking, clock: Clock) -> SiteTaskingAnnounced:
    return SiteTaskingAnnounced(area=tasking.area, day=tasking.day, announced_at=clock.now(), tasks=[
        AnnouncedTask(task_id=t.task_id, site_id=t.site_id, site_name=t.name, postcode_district=t.postcode_district,
                      rank=n, level=t.level, reasons=list(t.reasons),
                      windows=[TaskWindow.model_validate(w.document()) for w in t.windows])
        for n, t in enumerate(tasking.tasks, 1)])


class TaskingMornings:
    def __init__(self, db: Database, store: EventStore, guidance: Guidance, config: ScoringConfig, clock: Clock,
                 morning_at: time) -> None:
        self.db, self.store, self.guidance, self.config, self.clock = db, store, guidance, config, clock
        self.morning_at = morning_at

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
                    if tasking.tasks:
                        self.store.extend(s, f"tasking-{area}", [announcement(tasking, self.clock)], key=area)
                        made += 1
            except Exception:  # one area's trouble must not keep the others' officers uninformed
                log.exception("could not announce an area's tasking", extra={"area": area})
        return made

    def run(self, interval: float, stop: threading.Event) -> None:
        while not stop.wait(interval):
            self.announce()
