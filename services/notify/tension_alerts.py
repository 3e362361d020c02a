"""Telling an area's supervisors at once when assessment proposes heightened tension (docs/notify.md).

A proposal (`vigil.area.tension_raised.v1`) otherwise waits silently on triage's tension page until a supervisor
happens to open it. The alert goes by email and SMS to the supervisors of the area: the directory's people whose
staff account at triage is an enabled supervisor covering the area; without such accounts (or with triage not
answering), the people the area's escalation policy names above the on-call Duty Inspector, so someone senior is
always told. Each delivery's key is deterministic in the event and the person, so a redelivered event alerts
nobody twice, and every alert is on the ledger like any other delivery.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.notify.assessments.service import AssessmentService
from services.notify.ledger import queue
from services.notify.policy import ON_CALL
from services.notify.staff import LOG, uk_time
from services.notify.staff_directory import Accounts, NotPageable, StaffAccount, StaffDirectory, TriageUnavailable
from shared.events.areas import AreaTensionRaised
from shared.events.base import Envelope
from shared.events.incidents import NATIONAL
from shared.ids import deterministic_id

TEMPLATE = PURPOSE = "tension_alert"
ROLE = "supervisor"


class TensionAlerts:
    """Runs after the assessment prompts for the same event, in the same inbox transaction."""

    def __init__(self, assessments: AssessmentService, accounts: Accounts | None = None) -> None:
        self.assessments = assessments
        self.directory = assessments.directory
        self.staff = assessments.staff
        self.clock = assessments.clock
        self.accounts = accounts
        self.contacts = StaffDirectory(self.directory, accounts)

    def on_raised(self, s: Session, e: AreaTensionRaised, env: Envelope) -> None:
        self.assessments.on_tension_raised(s, e, env)
        self.alert(s, e, env)

    def alert(self, s: Session, e: AreaTensionRaised, env: Envelope) -> None:
        area = e.area or env.key
        context = {"area": area, "area_name": self.staff.area_name(area), "level": e.level.value,
                   "previous_level": e.previous_level.value if e.previous_level else None,
                   "reasons": list(e.reasons), "raised": uk_time(e.raised_at),
                   "link": self.staff.link("tension" if area == NATIONAL else f"tension?area={area}")}
        for person_id in self.supervisors(area):
            for channel in self._channels(person_id):
                queue(s, self.clock, key=deterministic_id(PURPOSE, area, env.id, f"person:{person_id}", channel),
                      incident_id=None, purpose=PURPOSE, channel=channel, recipient_role=ROLE,
                      recipient=f"person:{person_id}", payload={"template": TEMPLATE, "context": context})

    def supervisors(self, area: str) -> list[str]:
        accounts = self._accounts()
        chosen = [p for p in self.directory.people if _supervises(accounts.get(p), area)]
        return chosen or self._senior_by_policy(area)

    def _accounts(self) -> dict[str, StaffAccount]:
        try:
            return self.accounts.listed() if self.accounts else {}
        except TriageUnavailable:
            return {}

    def _senior_by_policy(self, area: str) -> list[str]:
        now = self.clock.now()
        levels = self.directory.policy_for(area).levels[1:]
        people = [p for level in levels for t in level.targets if t != ON_CALL
                  for p in self.directory.resolve(t, area, now)]
        return list(dict.fromkeys(people))

    def _channels(self, person_id: str) -> list[str]:
        """The person's channels that are on; the directory's when triage cannot say (the send asks again)."""
        try:
            contact = self.contacts.contact(person_id)
        except (NotPageable, TriageUnavailable):
            return self.staff.channels_of(person_id)
        return [c for c in contact.channels if c in self.staff.channels] or [LOG]


def _supervises(account: StaffAccount | None, area: str) -> bool:
    """An enabled supervisor's account covering the area (no areas: national)."""
    return (account is not None and account.enabled and ROLE in account.roles
            and (not account.areas or area == NATIONAL or area in account.areas))
