"""Chasing the Duty Inspector: triage's decisions and notify's timers become chase commands, and the chase's
effects become alerts on the ledger, timers, and withdrawn alerts.

Every handler runs in the consumer's inbox transaction (or the timer's firing transaction), so what it queues
and schedules commits with the fact that the event was handled. Alert idempotency keys are deterministic in
(incident, page, person, channel), so a repeated event or timer queues nothing new.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from services.notify import tables, timers
from services.notify.chase.model import (
    Chase,
    Effect,
    Facts,
    ScheduleGiveUp,
    ScheduleNextPage,
    SendAlerts,
    StandDownReason,
    WithdrawAlerts,
)
from services.notify.chase.rota import RotaService
from services.notify.chase.store import ChaseStore
from services.notify.ledger import DUTY_INSPECTOR_ALERT, DeliveryStatus, cancel_pending, identity, queue
from services.notify.policy import Directory, Page, parse_page
from services.notify.reporters.service import ReporterMessage, ReporterService
from services.notify.staff import LOG, StaffContacts, uk_time
from services.notify.staff_directory import NotPageable, StaffDirectory, TriageUnavailable
from services.notify.timers import KindHandler
from shared.clock import Clock
from shared.db import Database
from shared.events.base import Envelope
from shared.events.incidents import (
    CriteriaOverridden,
    IncidentAcknowledged,
    IncidentClosed,
    IncidentEscalated,
    IncidentTriaged,
)
from shared.events.notifications import EscalationExhausted, NotificationCancelled
from shared.eventstore import EventStore
from shared.ids import deterministic_id

log = logging.getLogger(__name__)

PAGE_DUE = "chase"
GIVE_UP_DUE = "chase_exhausted"


class PageDue(BaseModel):
    """A timer's payload: `after` is the page it was set at; `page` the one to send (none for giving up);
    `plan` the chase's plan it belongs to (timers set before plans existed belong to the first)."""

    incident_id: str
    after: str
    page: str | None = None
    plan: int = 0


def plan_label(page: Page, plan: int) -> str:
    """A page's name in idempotency and timer keys: the first plan keeps the names it always had."""
    return page.label if plan == 0 else f"{page.label}.p{plan}"


def digest(group_id: str, size: int) -> str:
    return (f"Suspected flood: {size} similar {'report' if size == 1 else 'reports'} from one source so far "
            f"(group {group_id[:8]}). Later ones join this alert without paging again; a supervisor will "
            "confirm the group or split it.")


class ChaseService:
    def __init__(self, db: Database, store: ChaseStore, rota: RotaService, events: EventStore, clock: Clock,
                 directory: Directory, staff: StaffContacts, reporters: ReporterService,
                 contacts: StaffDirectory | None = None) -> None:
        self.db = db
        self.store = store
        self.rota = rota
        self.events = events
        self.clock = clock
        self.directory = directory
        self.staff = staff
        self.reporters = reporters
        self.contacts = contacts or StaffDirectory(directory)

    def timers(self) -> dict[str, KindHandler]:
        return {PAGE_DUE: self.on_page_due, GIVE_UP_DUE: self.on_give_up_due}

    def find(self, incident_id: str) -> Chase | None:
        with self.db.sessions() as s:
            return self.store.get(s, incident_id)

    # ---- events ---------------------------------------------------------------------------------------

    def on_triaged(self, s: Session, e: IncidentTriaged, _env: Envelope) -> Chase | None:
        """The chase as this decision leaves it (None when another copy of the event is opening it)."""
        facts = Facts(report_id=e.report_id, reference=e.reference or e.incident_id[:8], area=e.area,
                      priority=e.priority.value, ack_deadline=e.ack_deadline,
                      matched=tuple(f"{m.code}: {m.explanation}" for m in e.matched), group_id=e.group_id,
                      group_size=e.group_size or 0)
        policy = self.directory.policy_for(e.area)
        needed = e.needs_duty_inspector and not e.paged_with_group  # a flood group's page covers the others
        chase = self.store.get(s, e.incident_id, for_update=True)
        if chase is None:
            chase = Chase.open(e.incident_id, facts, needed, policy, self.clock.now())
            if not self.store.add(s, chase):
                return None
            self._carry_out(s, chase)
        else:
            chase.revise(facts, needed, policy, self.clock.now())
            self._commit(s, chase)
        return chase

    def on_overridden(self, s: Session, e: CriteriaOverridden, _env: Envelope) -> None:
        chase = self.store.get(s, e.incident_id, for_update=True)
        if chase is None:
            return
        chase.override(e.priority.value, e.ack_deadline, e.needs_duty_inspector,
                       self.directory.policy_for(chase.area), self.clock.now())
        self._commit(s, chase)

    def on_acknowledged(self, s: Session, e: IncidentAcknowledged, env: Envelope) -> None:
        chase = self.store.get(s, e.incident_id, for_update=True)
        if chase is None or not chase.acknowledge(e.acknowledged_by, e.acknowledged_at):
            return
        self._commit(s, chase)
        self.reporters.tell(s, chase.report_id, ReporterMessage.update, cause=env.id, incident_id=e.incident_id,
                            status="overseen")

    def on_escalated(self, s: Session, e: IncidentEscalated, _env: Envelope) -> None:
        chase = self.store.get(s, e.incident_id, for_update=True)
        if chase is not None:
            chase.escalate(e.level or 1, self.directory.policy_for(chase.area), self.clock.now())
            self._commit(s, chase)

    def on_closed(self, s: Session, e: IncidentClosed, env: Envelope) -> None:
        chase = self.store.get(s, e.incident_id, for_update=True)
        if chase is None:
            return
        chase.stand_down(StandDownReason.incident_closed, self.clock.now())
        self._commit(s, chase)
        self.reporters.tell(s, chase.report_id, ReporterMessage.update, cause=env.id, incident_id=e.incident_id,
                            status="closed")

    # ---- timers ---------------------------------------------------------------------------------------

    def on_page_due(self, s: Session, payload: dict[str, Any], due_at: datetime) -> None:
        timer = PageDue.model_validate(payload)
        chase = self.store.get(s, timer.incident_id, for_update=True)
        if chase is not None and timer.page is not None:
            chase.page_due(parse_page(timer.after), parse_page(timer.page), self.directory.policy_for(chase.area),
                           due_at, timer.plan)
            self._commit(s, chase)

    def on_give_up_due(self, s: Session, payload: dict[str, Any], due_at: datetime) -> None:
        timer = PageDue.model_validate(payload)
        chase = self.store.get(s, timer.incident_id, for_update=True)
        if chase is None:
            return
        if chase.give_up_due(parse_page(timer.after), due_at, timer.plan):
            self._exhausted(s, chase)
        self._commit(s, chase)

    # ---- effects --------------------------------------------------------------------------------------

    def _commit(self, s: Session, chase: Chase) -> None:
        self.store.save(s, chase)
        self._carry_out(s, chase)

    def _carry_out(self, s: Session, chase: Chase) -> None:
        """Until none is left: a level nobody could be paged at escalates, which has effects of its own."""
        while effects := chase.take_effects():
            for effect in effects:
                self._do(s, chase, effect)
        self.store.save(s, chase)

    def _do(self, s: Session, chase: Chase, effect: Effect) -> None:
        if isinstance(effect, SendAlerts):
            self._send_alerts(s, chase, effect.page, effect.at, effect.plan)
        elif isinstance(effect, ScheduleNextPage):
            timers.schedule(s, self.clock, PAGE_DUE, effect.at,
                            {"incident_id": chase.incident_id, "after": effect.after.label, "page": effect.page.label,
                             "plan": effect.plan}, chase.incident_id, plan_label(effect.page, effect.plan))
        elif isinstance(effect, ScheduleGiveUp):
            timers.schedule(s, self.clock, GIVE_UP_DUE, effect.at,
                            {"incident_id": chase.incident_id, "after": effect.after.label, "plan": effect.plan},
                            chase.incident_id, plan_label(effect.after, effect.plan))
        elif isinstance(effect, WithdrawAlerts):
            d = tables.deliveries
            cancel_pending(s, self.clock, self.events, d.c.incident_id == chase.incident_id,
                           d.c.purpose == DUTY_INSPECTOR_ALERT)

    def _send_alerts(self, s: Session, chase: Chase, page: Page, at: datetime, plan: int = 0) -> None:
        people = self.rota.people(s, chase.area, page.level, at)
        context = {"reference": chase.reference, "priority": chase.priority, "area": chase.area,
                   "area_name": self.staff.area_name(chase.area), "deadline": uk_time(chase.ack_deadline),
                   "matched": self._why(s, chase), "link": self.staff.link(f"incidents/{chase.incident_id}"),
                   "page": {"level": page.level, "loop": page.loop, "repeat": page.repeat}}
        role = "duty_inspector" if page.level == 0 else f"escalation_level_{page.level + 1}"
        reachable = [(p, c) for p in people if (c := self._channels(s, chase, page, plan, role, p)) is not None]
        if people and not reachable:
            chase.escalate(page.level + 1, self.directory.policy_for(chase.area), at)
        for person_id, channels in reachable:
            for channel in channels:
                queue(s, self.clock, key=deterministic_id(chase.incident_id, plan_label(page, plan),
                                                          f"person:{person_id}", channel, DUTY_INSPECTOR_ALERT),
                      incident_id=chase.incident_id, purpose=DUTY_INSPECTOR_ALERT, channel=channel,
                      recipient_role=role, recipient=f"person:{person_id}", report_id=chase.report_id,
                      payload={"template": DUTY_INSPECTOR_ALERT, "context": context})

    def _channels(self, s: Session, chase: Chase, page: Page, plan: int, role: str,
                  person_id: str) -> list[str] | None:
        """The person's channels that are on (the log when none is); None when they cannot be paged, which the
        ledger records with the reason. When triage cannot say, the directory's channels: the send asks again."""
        try:
            contact = self.contacts.contact(person_id, chase.area)
        except NotPageable as e:
            self._not_paged(s, chase, page, plan, role, person_id, e.reason)
            return None
        except TriageUnavailable:
            return self.staff.channels_of(person_id)
        return [c for c in contact.channels if c in self.staff.channels] or [LOG]

    def _not_paged(self, s: Session, chase: Chase, page: Page, plan: int, role: str, person_id: str,
                   reason: str) -> None:
        """A withdrawn delivery saying why, so a page passed to the next person or level is never a silent skip."""
        key = deterministic_id(chase.incident_id, plan_label(page, plan), f"person:{person_id}", "not paged",
                               DUTY_INSPECTOR_ALERT)
        if not queue(s, self.clock, key=key, incident_id=chase.incident_id, purpose=DUTY_INSPECTOR_ALERT,
                     channel=LOG, recipient_role=role, recipient=f"person:{person_id}", report_id=chase.report_id,
                     payload={"template": DUTY_INSPECTOR_ALERT, "context": {}}):
            return
        d = tables.deliveries
        now = self.clock.now()
        s.execute(d.update().where(d.c.idempotency_key == key).values(
            status=DeliveryStatus.cancelled.value, last_error=reason, updated_at=now))
        row = s.execute(d.select().where(d.c.idempotency_key == key)).mappings().one()
        self.events.extend(s, str(row["notification_id"]), [NotificationCancelled(**identity(row), cancelled_at=now,
                                                                                   reason=reason)])
        log.warning("a person on the rota was not paged", extra={"incident_id": chase.incident_id,
                                                                 "person_id": person_id, "reason": reason})

    def _why(self, s: Session, chase: Chase) -> list[str]:
        """The matched rules; for a flood group's page, first a digest of the group as it stands at this send."""
        if not chase.group_id:
            return list(chase.matched)
        return [digest(chase.group_id, max(chase.group_size, self.store.group_size(s, chase.group_id))),
                *chase.matched]

    def _exhausted(self, s: Session, chase: Chase) -> None:
        now = self.clock.now()
        exhausted = EscalationExhausted(incident_id=chase.incident_id, area=chase.area, priority=chase.priority,
                                        pages=self.store.alerts_queued(s, chase.incident_id), exhausted_at=now)
        self.events.extend(s, f"chase-{chase.incident_id}", [exhausted], key=chase.incident_id)
        log.error("escalation policy exhausted without acknowledgement", extra={"incident_id": chase.incident_id})
