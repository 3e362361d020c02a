"""Routines falling due, and falling overdue, announced once each on `vigil.sites.v1` for notify to act on.

A timer looks at every site's routines on the service's clock. Each time a routine becomes due (or has never
been done) it appends `vigil.site.routine_due.v1`; each time one becomes overdue, `vigil.site.routine_overdue.v1`.
A row per (site, routine, due time, kind), inserted in the same transaction as the event, makes each
announcement happen once however often the timer runs or restarts. Notify reminds the site's security leads of
a due routine (email, SMS, with a link to record it) and tells the area's neighbourhood officers of an overdue
one. The announcements go on a stream of their own per site, so they never race a person changing the site.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from sqlalchemy.orm import Session

from services.assessment import tables
from services.assessment.scoring import ScoringConfig
from services.assessment.sites import queries
from services.assessment.sites.checks import site_checks
from services.assessment.sites.facts import SiteFacts
from services.assessment.sites.guidance import Guidance
from services.assessment.sites.routines import RoutineStatus
from shared.clock import Clock
from shared.db import Database, insert_new
from shared.events.sites import SiteRoutineDue, SiteRoutineOverdue
from shared.eventstore import EventStore

log = logging.getLogger(__name__)
KINDS = {"never": "due", "due": "due", "overdue": "overdue"}  # the kind of announcement a state makes


class RoutineReminders:
    def __init__(self, db: Database, store: EventStore, guidance: Guidance, config: ScoringConfig,
                 clock: Clock) -> None:
        self.db = db
        self.store = store
        self.guidance = guidance
        self.config = config
        self.clock = clock

    def announce(self) -> int:
        """One pass over every site; answers how many announcements it made."""
        with self.db.snapshot() as s:
            site_ids = [site.site_id for site in queries.sites(s)]
        made = 0
        for site_id in site_ids:
            try:
                with self.db.transaction() as s:
                    made += self._announce_site(s, site_id)
            except Exception:  # one site's trouble must not stop the others' reminders
                log.exception("could not announce a site's routines", extra={"site_id": site_id})
        return made

    def _announce_site(self, s: Session, site_id: str) -> int:
        site = queries.site(s, site_id)
        if site is None:
            return 0
        now = self.clock.now()
        checks = site_checks(s, site, self.guidance, now, self.config.anniversaries)
        leads = queries.leads_of(s, site_id)
        events = [self._notice(site, status, leads, now) for status in checks.routines
                  if self._announced(status, now) and self._first(s, site_id, status, now)]
        self.store.extend(s, f"site-reminders-{site_id}", events, key=site_id)
        return len(events)

    @staticmethod
    def _announced(status: RoutineStatus, now: datetime) -> bool:
        """Due, overdue, or never done and due already (a walk never done waits for its service's notice)."""
        return status.state in ("due", "overdue") or (status.state == "never" and status.due_at <= now)

    @staticmethod
    def _first(s: Session, site_id: str, status: RoutineStatus, now: datetime) -> bool:
        return insert_new(s, tables.site_reminders, site_id=site_id, routine=status.routine.code,
                          due_at=status.due_at, kind=KINDS[status.state], announced_at=now)

    @staticmethod
    def _notice(site: SiteFacts, status: RoutineStatus, leads: list[str],
                now: datetime) -> SiteRoutineDue | SiteRoutineOverdue:
        kind = SiteRoutineOverdue if status.state == "overdue" else SiteRoutineDue
        return kind(site_id=site.site_id, site_name=site.name, area=site.area, routine=status.routine.code,
                    routine_name=status.routine.name, due_at=status.due_at,
                    service=status.service.name if status.service else None, leads=leads, announced_at=now)

    def run(self, interval: float, stop: threading.Event) -> None:
        while not stop.wait(interval):
            self.announce()
