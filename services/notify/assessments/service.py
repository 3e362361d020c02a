"""Prompting for community impact assessments: who is asked, when reminded, when asked to review.

A prompt's id is deterministic in what caused it (the incident, the tension), so a second event about the
same thing finds the prompt there and asks nobody twice. Reminders and reviews run on durable timers that
carry the due time (or completion time) they were planned for: a timer planned before the prompt was
re-planned, or completed again, finds a different time on the row and does nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from services.notify import timers
from services.notify.assessments.model import (
    CIA_QUESTIONS,
    Assessment,
    AssessmentSchedule,
    AssessmentState,
    Stage,
    Trigger,
)
from services.notify.assessments.store import AssessmentStore
from services.notify.chase.model import Chase
from services.notify.chase.store import ChaseStore
from services.notify.ledger import queue
from services.notify.policy import Directory
from services.notify.staff import StaffContacts, uk_time
from services.notify.timers import KindHandler
from shared.clock import Clock, utc
from shared.db import Database
from shared.events.areas import AreaTensionRaised
from shared.events.base import Envelope
from shared.events.incidents import (
    NATIONAL,
    CommunityImpactAssessmentCompleted,
    CommunityImpactAssessmentRequested,
    HeightenedTensionDeclared,
    IncidentTriaged,
)
from shared.ids import deterministic_id

REMINDER_DUE = "cia_reminder"
REVIEW_DUE = "cia_review"
TEMPLATE = "cia_prompt"
ROLE = "community_impact"
NOT_BY_SMS = "sms"  # ten questions do not belong in a text message


class ReminderDue(BaseModel):
    assessment_id: str
    n: int
    due: datetime


class ReviewDue(BaseModel):
    assessment_id: str
    n: int
    completed: datetime


class AssessmentService:
    def __init__(self, db: Database, store: AssessmentStore, chases: ChaseStore, clock: Clock, directory: Directory,
                 staff: StaffContacts, schedule: AssessmentSchedule) -> None:
        self.db = db
        self.store = store
        self.chases = chases
        self.clock = clock
        self.directory = directory
        self.staff = staff
        self.schedule = schedule

    def timers(self) -> dict[str, KindHandler]:
        return {REMINDER_DUE: self.on_reminder_due, REVIEW_DUE: self.on_review_due}

    def listed(self, state: AssessmentState | None = None, area: str | None = None) -> list[dict[str, Any]]:
        with self.db.sessions() as s:
            return self.store.listed(s, state, area)

    # ---- events ---------------------------------------------------------------------------------------

    def on_triaged(self, s: Session, e: IncidentTriaged, chase: Chase | None) -> None:
        """`chase`: the incident's chase as the chase service just left it (None: read it here)."""
        if e.critical and not e.paged_with_group:  # a flood group's members share its first member's prompt
            self.open(s, deterministic_id("cia", "incident", e.incident_id), Trigger.critical_incident, e.area,
                      start=self.clock.now(), incident_id=e.incident_id, chase=chase)

    def on_tension_declared(self, s: Session, e: HeightenedTensionDeclared, env: Envelope) -> None:
        area = e.area or NATIONAL
        self.open(s, deterministic_id("cia", "tension", area, e.tension_id or env.id), Trigger.tension_rise, area,
                  start=e.declared_at, level="heightened")

    def on_tension_raised(self, s: Session, e: AreaTensionRaised, env: Envelope) -> None:
        area = e.area or env.key
        self.open(s, deterministic_id("cia", "tension", area, env.id), Trigger.tension_rise, area,
                  start=e.raised_at, level=e.level.value)

    def on_requested(self, s: Session, e: CommunityImpactAssessmentRequested, env: Envelope) -> None:
        existing = self.store.open_for(s, e.incident_id, e.area)
        if existing is not None:
            self._reopen(s, existing, e.due_at)
            return
        aid = deterministic_id("cia", "incident", e.incident_id) if e.incident_id else deterministic_id("cia", env.id)
        if not self.open(s, aid, Trigger.requested, e.area, start=self.clock.now(), incident_id=e.incident_id,
                         due_at=e.due_at):
            self._reopen(s, aid, e.due_at)

    def on_completed(self, s: Session, e: CommunityImpactAssessmentCompleted, _env: Envelope) -> None:
        aid = self.store.open_for(s, e.incident_id, e.area)
        if aid is None:
            return
        self.store.complete(s, aid, e.completed_at, self.clock.now())
        self._schedule_review(s, aid, e.completed_at, 1, first=e.next_review_at)

    def on_area_assessed(self, s: Session, area: str, at: datetime, next_review_at: datetime | None) -> None:
        """An area's own assessment was recorded at triage (area_cia/): the open prompt about the area alone is
        answered, and its reviews are planned as an incident's are."""
        aid = self.store.open_for(s, None, area)
        if aid is None:
            return
        self.store.complete(s, aid, at, self.clock.now())
        self._schedule_review(s, aid, at, 1, first=next_review_at)

    # ---- timers ---------------------------------------------------------------------------------------

    def on_reminder_due(self, s: Session, payload: dict[str, Any], _due_at: datetime) -> None:
        timer = ReminderDue.model_validate(payload)
        due = utc(timer.due)
        a = self.store.get(s, timer.assessment_id)
        if a is None or a.state != AssessmentState.open or a.due_at != due:
            return  # completed, or re-planned since this timer was set
        self.prompt(s, a, Stage.reminder, deterministic_id(a.assessment_id, Stage.reminder.value, due.isoformat(),
                                                           str(timer.n)))
        self._schedule_reminder(s, a.assessment_id, due, timer.n + 1)

    def on_review_due(self, s: Session, payload: dict[str, Any], _due_at: datetime) -> None:
        timer = ReviewDue.model_validate(payload)
        completed = utc(timer.completed)
        a = self.store.get(s, timer.assessment_id)
        if a is None or a.state != AssessmentState.completed or a.completed_at != completed:
            return  # reopened, or recorded again since this timer was set
        self.prompt(s, a, Stage.review, deterministic_id(a.assessment_id, Stage.review.value, completed.isoformat(),
                                                         str(timer.n)))
        self._schedule_review(s, a.assessment_id, completed, timer.n + 1)

    # ---- prompting ------------------------------------------------------------------------------------

    def open(self, s: Session, assessment_id: str, trigger: Trigger, area: str, start: datetime,
             incident_id: str | None = None, level: str | None = None, due_at: datetime | None = None,
             chase: Chase | None = None) -> bool:
        """False when the prompt exists already. The incident's reference and priority come from its chase."""
        if incident_id and chase is None:
            chase = self.chases.get(s, incident_id)
        a = Assessment(assessment_id=assessment_id, trigger=trigger, area=area,
                       due_at=due_at or self.schedule.due(start), incident_id=incident_id,
                       reference=chase.reference if chase else None,
                       priority=chase.priority if chase else None, level=level or None)
        if not self.store.add(s, a, self.clock.now()):
            return False
        self.prompt(s, a, Stage.prompt, assessment_id)
        self._schedule_reminder(s, assessment_id, a.due_at, 1)
        return True

    def prompt(self, s: Session, a: Assessment, stage: Stage, cause: str) -> None:
        areas = list(self.directory.areas) if a.area == NATIONAL else [a.area]
        people = list(dict.fromkeys(p for area in areas for p in self.directory.cia_people(area)))
        context = {"stage": stage.value, "area": a.area, "area_name": self.staff.area_name(a.area),
                   "reference": a.reference, "priority": a.priority, "level": a.level, "due": uk_time(a.due_at),
                   "questions": [list(q) for q in CIA_QUESTIONS],
                   "link": self.staff.link(a.triage_path)}
        for person_id in people:
            for channel in self.staff.channels_of(person_id):
                if channel == NOT_BY_SMS:
                    continue
                queue(s, self.clock, key=deterministic_id(cause, stage.value, f"person:{person_id}", channel, "cia"),
                      incident_id=a.incident_id, purpose=stage.purpose, channel=channel, recipient_role=ROLE,
                      recipient=f"person:{person_id}", payload={"template": TEMPLATE, "context": context})

    def _reopen(self, s: Session, assessment_id: str, due_at: datetime) -> None:
        self.store.reopen(s, assessment_id, due_at, self.clock.now())
        self._schedule_reminder(s, assessment_id, due_at, 1)

    def _schedule_reminder(self, s: Session, assessment_id: str, due: datetime, n: int) -> None:
        when = self.schedule.reminder_at(due, n)
        if when is not None:
            timers.schedule(s, self.clock, REMINDER_DUE, max(when, self.clock.now()),
                            {"assessment_id": assessment_id, "n": n, "due": due.isoformat()},
                            assessment_id, due.isoformat(), str(n))

    def _schedule_review(self, s: Session, assessment_id: str, completed: datetime, n: int,
                         first: datetime | None = None) -> None:
        when = first if (first and n == 1) else self.schedule.review_at(completed, n)
        if when is not None:
            timers.schedule(s, self.clock, REVIEW_DUE, when,
                            {"assessment_id": assessment_id, "n": n, "completed": completed.isoformat()},
                            assessment_id, completed.isoformat(), str(n))
