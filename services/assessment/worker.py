"""The live projection: each event folded inside its inbox transaction, then the areas it touched re-assessed.

A change of level is appended to assessment's own event log (the outbox) in the same transaction,
so `vigil.areas.v1` hears about it exactly once. A significant rise also raises tension; when the
area settles below substantial with no spike, tension eases. Time passing changes pictures too
(reports age, Friday prayers end), so a timer re-assesses every area at an interval.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.assessment import tables
from services.assessment.partner import Pseudonymiser, partner_events
from services.assessment.projection import Fact, Fold, ReportFacts
from services.assessment.queries import area_history, area_inputs
from services.assessment.scoring import AreaPicture, ScoringConfig, assess, level_rank
from services.assessment.store import DbStore
from shared.areas import AreaRegistry
from shared.clock import Clock
from shared.db import Database
from shared.events.areas import AreaRiskChanged, AreaTensionEased, AreaTensionRaised, RiskLevel
from shared.events.base import Envelope, Event
from shared.events.handlers import is_event
from shared.events.incidents import CriteriaOverridden, IncidentRegraded, IncidentTriaged
from shared.events.reports import ReportAmended, ReportErased, ReportSubmitted, ReportWithdrawn
from shared.eventstore import ConcurrencyError, EventStore

log = logging.getLogger(__name__)
REPORT_EVENTS: tuple[type[Event], ...] = (ReportSubmitted, ReportAmended, ReportWithdrawn, ReportErased)
# triage's decisions set the priority partners see
PARTNER_VISIBLE: tuple[type[Event], ...] = (*REPORT_EVENTS, IncidentTriaged, CriteriaOverridden, IncidentRegraded)


def fact_of(env: Envelope) -> Fact:
    """The fold reads stored data unvalidated, as the rebuild does (ADR 0050)."""
    return Fact(env.type, env.key, env.sequence, env.time, env.data)  # tolerant read: ADR 0050


def is_any(env: Envelope, classes: Iterable[type[Event]]) -> bool:
    return any(is_event(env, cls) for cls in classes)


def shared_with_partners(env: Envelope) -> bool:
    """Only a submission the reporter agreed to share opens an item on the partner feed."""
    event = env.event() if is_event(env, ReportSubmitted) else None
    return isinstance(event, ReportSubmitted) and event.consent.share_with_partners


def significant_rise(previous: str | None, picture: AreaPicture) -> bool:
    """A spike that puts the area at substantial or above, or a jump of two levels or more to substantial."""
    before = level_rank(previous) if previous else 0
    now = level_rank(picture.level)
    return now >= 2 and (picture.spike.spike or now - before >= 2)


class LiveProjection:
    def __init__(self, db: Database, store: EventStore, registry: AreaRegistry, clock: Clock,
                 config: ScoringConfig | None = None, pseudonymiser: Pseudonymiser | None = None) -> None:
        self.db = db
        self.store = store
        self.fold = Fold(registry)
        self.registry = registry
        self.clock = clock
        self.config = config or ScoringConfig()
        self.pseudonymiser = pseudonymiser
        self._dirty: set[str] = set()
        self._dirty_lock = threading.Lock()
        self._moved = threading.Event()

    def handle(self, s: Session, env: Envelope) -> None:
        """The inbox handler: fold, tell partners, and mark what moved for the reassessor (known areas only).

        Re-assessing reads the area's whole window, so it is not done per event: in a surge that cost
        more than everything else the pipeline does. The reassessor catches up within a second; a crash
        in between is covered by the periodic sweep of every area."""
        store, fact = DbStore(s), fact_of(env)
        report_id = Fold.report_id(fact) if self.pseudonymiser is not None and is_any(env, PARTNER_VISIBLE) else None
        before = store.report(report_id) if report_id else None
        areas = self.fold.apply(store, fact)
        if report_id:
            self._tell_partners(s, store, report_id, before, env)
        moved = {a for a in areas if a in self.registry}
        if moved:
            with self._dirty_lock:
                self._dirty |= moved
            self._moved.set()

    def run_reassessor(self, stop: threading.Event, coalesce: float = 0.25) -> None:
        """Re-assess the areas events have moved, a burst at a time."""
        while not stop.is_set():
            if not self._moved.wait(0.5):
                continue
            stop.wait(coalesce)  # let a burst of events for the same area land first
            self._moved.clear()
            with self._dirty_lock:
                areas, self._dirty = sorted(self._dirty), set()
            if areas:
                self.reassess_all(areas)

    def _tell_partners(self, s: Session, store: DbStore, report_id: str, before: ReportFacts | None,
                       env: Envelope) -> None:
        after = store.report(report_id)
        erased = is_event(env, ReportErased)
        if not erased and after == before and is_any(env, REPORT_EVENTS):
            return  # a redelivery or a follow-up to a report we do not hold: nothing changed
        incidents = sorted(store.incidents_of(report_id), key=lambda i: i.triaged_at)
        erased_at = env.time if erased else None
        pseudonym = self.pseudonymiser(report_id) if self.pseudonymiser else report_id
        stream = f"partner-{pseudonym}"
        told = [e.event() for e in self.store.load(s, stream)]
        shown = str(getattr(told[-1], "grading", "")) if told else None
        if shown is None and not shared_with_partners(env):
            return  # the reporter kept it from partners: nothing of it, ever (#15)
        # the fold keeps the grading now (a regrade included), so `after` carries it
        events = partner_events(pseudonym, before, after, incidents[-1] if incidents else None, erased_at, shown)
        if events:
            self.store.extend(s, stream, events, key=pseudonym)

    def reassess(self, s: Session, area: str) -> AreaPicture:
        now = self.clock.now()
        picture = assess(area, *area_inputs(s, area, now), now, self.config, area_history(s, area, now))
        row = s.execute(select(tables.area_risk).where(tables.area_risk.c.area == area)).mappings().first()
        previous = row["level"] if row else None
        raised = bool(row["tension_raised"]) if row else False
        if previous == picture.level and raised == self._raised_after(previous, raised, picture):
            return picture
        events: list[Event] = []
        if previous != picture.level and (row is not None or picture.level != "low"):
            events.append(AreaRiskChanged(area=area, level=RiskLevel(picture.level),
                                          previous_level=RiskLevel(previous) if previous else None,
                                          score=picture.score, reasons=list(picture.reasons), changed_at=now,
                                          calendar_factor=picture.calendar_factor, spike=picture.spike.spike))
        now_raised = self._raised_after(previous, raised, picture)
        if now_raised and not raised:
            events.append(AreaTensionRaised(area=area, level=RiskLevel(picture.level), reasons=list(picture.reasons),
                                            raised_at=now, previous_level=RiskLevel(previous) if previous else None,
                                            score=picture.score))
        elif raised and not now_raised:
            events.append(AreaTensionEased(area=area, level=RiskLevel(picture.level), reasons=list(picture.reasons),
                                           eased_at=now))
        self._save(s, area, picture, now_raised, now, row is None)
        stream = f"area-{area}"
        if events:
            self.store.extend(s, stream, events, key=area)
        return picture

    @staticmethod
    def _raised_after(previous: str | None, raised: bool, picture: AreaPicture) -> bool:
        if not raised:
            return significant_rise(previous, picture)
        return level_rank(picture.level) >= 2 or picture.spike.spike

    @staticmethod
    def _save(s: Session, area: str, picture: AreaPicture, raised: bool, now: datetime, new: bool) -> None:
        values = {"level": picture.level, "score": picture.score, "reasons": json.dumps(list(picture.reasons)),
                  "changed_at": now, "tension_raised": raised}
        if new:
            s.execute(tables.area_risk.insert().values(area=area, **values))
        else:
            s.execute(tables.area_risk.update().where(tables.area_risk.c.area == area).values(**values))

    def reassess_all(self, areas: Iterable[str] | None = None) -> None:
        for area in areas or [a.code for a in self.registry.all()]:
            try:
                with self.db.transaction() as s:
                    self.reassess(s, area)
            except ConcurrencyError:
                log.info("area re-assessed concurrently; next round will see it", extra={"area": area})

    def run_timer(self, interval: float, stop: threading.Event) -> None:
        """Re-assess every area each `interval` seconds, so ageing and the calendar move levels too."""
        while not stop.wait(interval):
            self.reassess_all()
