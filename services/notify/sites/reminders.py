"""A routine falling due reminds the site's security leads; one falling overdue tells the area's neighbourhood
officers (docs/notify.md, "Places of worship").

Assessment announces each once on `vigil.sites.v1` (`vigil.site.routine_due.v1`, `vigil.site.routine_overdue.v1`)
with the site, the routine, when it is due, the leads' staff usernames and the area; never a contact detail.
A due routine is kept here (`site_reminders`: what the reminder's link opens shows) and each lead is sent an
email and an SMS, both carrying a signed link to record the outcome (made at send time, record.py). An overdue
one is emailed to the area's neighbourhood officers (neighbourhood.py says who they are), with a link to the
site's page. Every message is a delivery on the ledger, to `staff:<username>` (the account's address is looked
up at send time) or `person:<id>` for the directory's neighbourhood team, and its idempotency key is
deterministic in the announcement and the recipient, so a redelivered event sends nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notify import tables
from services.notify.ledger import queue
from services.notify.neighbourhood import NeighbourhoodOfficers
from services.notify.rendering import STAFF
from services.notify.staff import LOG, StaffContacts, uk_time
from services.notify.staff_directory import NotPageable, StaffDirectory, TriageUnavailable
from shared.clock import Clock
from shared.db import insert_new
from shared.events.base import Envelope, Event
from shared.events.handlers import EventHandler
from shared.events.sites import SiteRoutineDue, SiteRoutineOverdue
from shared.ids import deterministic_id

log = logging.getLogger(__name__)

DUE, OVERDUE = "site_routine_due", "site_routine_overdue"  # each the ledger's purpose and the template's name
LEAD, OFFICER = "site_lead", "neighbourhood_officer"  # the ledger's recipient roles
LEAD_CHANNELS = ("email", "sms")


@dataclass(frozen=True)
class Reminder:
    reminder_id: str
    site_id: str
    site_name: str
    area: str
    routine: str
    routine_name: str
    service: str | None
    due_at: datetime
    announced_at: datetime


def reminder_id(site_id: str, routine: str, due_at: datetime) -> str:
    """One id per routine falling due: the same announcement delivered twice is the same reminder."""
    return deterministic_id("site-routine", site_id, routine, due_at.isoformat())


class Reminders:
    """The due routines notify reminded leads of (no personal data: what the topic carried, less the leads)."""

    t = tables.site_reminders

    def keep(self, s: Session, e: SiteRoutineDue) -> Reminder:
        found = Reminder(reminder_id(e.site_id, e.routine, e.due_at), e.site_id, e.site_name, e.area, e.routine,
                         e.routine_name, e.service, e.due_at, e.announced_at)
        insert_new(s, self.t, **found.__dict__)
        return found

    def get(self, s: Session, reminder: str) -> Reminder | None:
        row = s.execute(select(self.t).where(self.t.c.reminder_id == reminder)).mappings().first()
        return Reminder(**dict(row)) if row else None


class SiteRoutines:
    def __init__(self, clock: Clock, staff: StaffContacts, contacts: StaffDirectory, officers: NeighbourhoodOfficers,
                 site_pages_url: str, reminders: Reminders | None = None) -> None:
        self.clock, self.staff, self.contacts, self.officers = clock, staff, contacts, officers
        self.site_pages_url = site_pages_url.rstrip("/")
        self.reminders = reminders or Reminders()

    def handlers(self) -> dict[type[Event], EventHandler]:
        return {SiteRoutineDue: self.on_due, SiteRoutineOverdue: self.on_overdue}

    def on_due(self, s: Session, e: SiteRoutineDue, env: Envelope) -> None:
        reminder = self.reminders.keep(s, e)
        context = {**self._context(e), "reminder_id": reminder.reminder_id}
        if not e.leads:
            log.info("a routine fell due at a site with no security lead", extra={"site_id": e.site_id})
        for lead in dict.fromkeys(e.leads):
            recipient = f"{STAFF}:{lead}"
            for channel in self._lead_channels(lead):
                queue(s, self.clock, key=deterministic_id(DUE, reminder.reminder_id, recipient, channel),
                      incident_id=None, purpose=DUE, channel=channel, recipient_role=LEAD, recipient=recipient,
                      payload={"template": DUE, "context": context})

    def on_overdue(self, s: Session, e: SiteRoutineOverdue, env: Envelope) -> None:
        officers = self.officers.of(e.area)
        context = {**self._context(e), "has_lead": bool(e.leads), "told_as": officers.chosen_by,
                   "link": f"{self.site_pages_url}/sites/{e.site_id}"}
        overdue = deterministic_id("site-routine-overdue", e.site_id, e.routine, e.due_at.isoformat())
        channel = "email" if "email" in self.staff.channels else LOG
        for recipient in officers.recipients:
            queue(s, self.clock, key=deterministic_id(OVERDUE, overdue, recipient, channel), incident_id=None,
                  purpose=OVERDUE, channel=channel, recipient_role=OFFICER, recipient=recipient,
                  payload={"template": OVERDUE, "context": context})

    def _context(self, e: SiteRoutineDue | SiteRoutineOverdue) -> dict[str, Any]:
        return {"site_id": e.site_id, "site_name": e.site_name, "area": e.area,
                "area_name": self.staff.area_name(e.area), "routine": e.routine, "routine_name": e.routine_name,
                "service": e.service, "due": uk_time(e.due_at), "site_url": f"{self.site_pages_url}/sites/{e.site_id}"}

    def _lead_channels(self, username: str) -> list[str]:
        """Email and SMS where the lead's account has the address and notify has the channel; both when triage
        cannot say now (the send asks again); none for a disabled or unknown account."""
        on = [c for c in LEAD_CHANNELS if c in self.staff.channels]
        try:
            contact = self.contacts.contact(username)
        except NotPageable as e:
            log.info("a site lead is not reminded", extra={"reason": e.reason})
            return []
        except TriageUnavailable:
            return on or [LOG]
        reachable = [c for c in on if (contact.email if c == "email" else contact.phone)]
        return reachable or ([] if on else [LOG])
