"""Chasing the actions of an area's community impact assessment (ADR 0059).

Triage records the assessment on `vigil.incidents.v1` (`vigil.incident.area_cia_recorded.v1`, `..._reviewed.v1`)
with each action's owner (a staff username) and due time, never what the action is: that stays in triage. Each
action is kept here (`area_cia_actions`) and a durable timer set for its due time. When it fires and the action
is still open, its owner is emailed on the ledger, to `staff:<owner>`, with a link to the assessment's page,
and the next timer is set `area_cia_chase_every_hours` on; marked done (`..._action_done.v1`), or the assessment
closed (`..._closed.v1`), the action is no longer open and the next timer finds nothing to do. The delivery's
key is deterministic in the action and the chase's number, so a timer fired twice sends once. An area assessed
(recorded or reviewed) also answers the open CIA prompt about the area, whose reviews are then planned.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notify import tables, timers
from services.notify.ledger import queue
from services.notify.rendering import STAFF
from services.notify.staff import LOG, StaffContacts, uk_time
from services.notify.timers import KindHandler
from shared.clock import Clock, utc
from shared.db import insert_new
from shared.events.area_cias import AreaCiaActionDone, AreaCiaClosed, AreaCiaRecorded, AreaCiaReviewed
from shared.events.base import Envelope, Event
from shared.events.handlers import EventHandler
from shared.ids import deterministic_id

log = logging.getLogger(__name__)

TIMER = "area_cia_action"
TEMPLATE = PURPOSE = "area_cia_action_due"  # the ledger's purpose and the template's name
ROLE = "action_owner"
OPEN, DONE, CLOSED = "open", "done", "closed"


class AreaPrompts(Protocol):
    """The CIA prompts (assessments/): an area assessed answers the open prompt about the area."""

    def on_area_assessed(self, s: Session, area: str, at: datetime, next_review_at: datetime | None) -> None: ...


class ActionDue(BaseModel):
    """A timer's payload: the action, and which chase this is (1: the reminder when it falls due)."""

    action_id: str
    n: int


class AreaCiaActions:
    t = tables.area_cia_actions

    def __init__(self, clock: Clock, staff: StaffContacts, every: timedelta,
                 prompts: AreaPrompts | None = None) -> None:
        self.clock, self.staff, self.every, self.prompts = clock, staff, every, prompts

    def handlers(self) -> dict[type[Event], EventHandler]:
        return {AreaCiaRecorded: self.on_assessed, AreaCiaReviewed: self.on_assessed,
                AreaCiaActionDone: self.on_done, AreaCiaClosed: self.on_closed}

    def timers(self) -> dict[str, KindHandler]:
        return {TIMER: self.on_due}

    # ---- events ---------------------------------------------------------------------------------------

    def on_assessed(self, s: Session, e: AreaCiaRecorded | AreaCiaReviewed, env: Envelope) -> None:
        at = e.recorded_at if isinstance(e, AreaCiaRecorded) else e.reviewed_at
        if self.prompts is not None:
            self.prompts.on_area_assessed(s, e.area, at, e.next_review_at)
        for a in e.actions:
            if insert_new(s, self.t, action_id=a.action_id, cia_id=e.cia_id, area=e.area, owner=a.owner,
                          due_at=a.due_at, state=OPEN, updated_at=self.clock.now()):
                timers.schedule(s, self.clock, TIMER, a.due_at, {"action_id": a.action_id, "n": 1}, a.action_id, "1")

    def on_done(self, s: Session, e: AreaCiaActionDone, env: Envelope) -> None:
        s.execute(self.t.update().where(self.t.c.action_id == e.action_id, self.t.c.state == OPEN)
                  .values(state=DONE, updated_at=self.clock.now()))

    def on_closed(self, s: Session, e: AreaCiaClosed, env: Envelope) -> None:
        s.execute(self.t.update().where(self.t.c.cia_id == e.cia_id, self.t.c.state == OPEN)
                  .values(state=CLOSED, updated_at=self.clock.now()))

    # ---- timers ---------------------------------------------------------------------------------------

    def on_due(self, s: Session, payload: dict[str, Any], _due_at: datetime) -> None:
        timer = ActionDue.model_validate(payload)
        row = s.execute(select(self.t).where(self.t.c.action_id == timer.action_id)).mappings().first()
        if row is None or row["state"] != OPEN:
            return  # done, or its assessment closed: the chase stops here
        due, now = utc(row["due_at"]), self.clock.now()
        context = {"area": row["area"], "area_name": self.staff.area_name(row["area"]), "due": uk_time(due),
                   "overdue": timer.n > 1, "chase": timer.n,
                   "link": self.staff.link(f"areas/{row['area']}/cias/{row['cia_id']}")}
        recipient = f"{STAFF}:{row['owner']}"
        channel = "email" if "email" in self.staff.channels else LOG
        queue(s, self.clock, key=deterministic_id(PURPOSE, timer.action_id, str(timer.n), recipient, channel),
              incident_id=None, purpose=PURPOSE, channel=channel, recipient_role=ROLE, recipient=recipient,
              payload={"template": TEMPLATE, "context": context})
        nxt = next_beat(due, now, self.every)
        timers.schedule(s, self.clock, TIMER, nxt, {"action_id": timer.action_id, "n": timer.n + 1},
                        timer.action_id, str(timer.n + 1))


def next_beat(due: datetime, now: datetime, every: timedelta) -> datetime:
    """The next beat of the rhythm counted from the due time, after now: a late run chases once, not for every
    beat it missed."""
    beats = max(1, math.floor((now - due) / every) + 1)
    return due + beats * every
