"""The Duty Inspector's workflow: acknowledge, assign, override, regrade, community impact assessments, close,
the escalation of missed deadlines, and the recorded views of a reporter's personal details.

Every change to an incident loads its stream, asks the aggregate, and appends the new events with
the version it read: when two people act at once one append wins and the other is told plainly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from services.triage import tables
from services.triage.access import Action, Staff
from services.triage.incident import (
    AlreadyDone,
    Incident,
    InvalidCommand,
    Level,
    Outcome,
    Policy,
    StaleVersion,
    UnknownIncident,
)
from services.triage.incident_store import IncidentRepository
from services.triage.staff_store import display_names, is_duty_inspector, mark_viewing
from shared import personal
from shared.clock import Clock
from shared.db import Database
from shared.events.base import Event
from shared.events.incidents import Priority
from shared.events.reports import Grading, ReadPurpose, Sealed
from shared.eventstore import ConcurrencyError
from shared.problems import Conflict, Unavailable
from shared.stafftext import StaffTextClient


class WorkflowStore:
    """What the workflow keeps beside the incident's events: assessments' notes and who saw personal details."""

    cia = tables.community_impact_assessments
    views = tables.personal_data_views

    def add_assessment(self, s: Session, incident_id: str, community_tension: Level, risk_of_disorder: Level,
                       communities: str, notes: str, actions: str, next_review_at: datetime | None, by: str,
                       at: datetime) -> None:
        s.execute(insert(self.cia).values(
            incident_id=incident_id, community_tension=community_tension.value,
            risk_of_disorder=risk_of_disorder.value, communities=communities[:2000] or None,
            notes=notes[:10000] or None, actions=actions[:5000] or None, next_review_at=next_review_at,
            completed_by=by, completed_at=at))

    def add_personal_view(self, s: Session, incident: Incident, user_id: str, at: datetime, outcome: str) -> None:
        s.execute(insert(self.views).values(incident_id=incident.incident_id, report_id=incident.report_id,
                                            user_id=user_id, viewed_at=at, outcome=outcome))

    def personal_views(self, s: Session, incident_id: str | None, limit: int) -> list[dict[str, Any]]:
        v = self.views
        q = select(v).order_by(v.c.viewed_at.desc(), v.c.id.desc()).limit(limit)
        if incident_id:
            q = q.where(v.c.incident_id == incident_id)
        return [dict(r) for r in s.execute(q).mappings()]


@contextmanager
def _saying_who(s: Session) -> Iterator[None]:
    """"Already acknowledged" with the name of the person who did, as colleagues know them."""
    try:
        yield
    except AlreadyDone as e:
        if e.by and e.at:
            who = display_names(s).get(e.by, "someone")
            raise AlreadyDone(f"already acknowledged by {who} at {e.at:%H:%M:%S} UTC", e.by, e.at) from e
        raise


class Workflow:
    def __init__(self, db: Database, incidents: IncidentRepository, clock: Clock, policy: Policy,
                 intake: personal.PersonalDataClient | None = None, texts: StaffTextClient | None = None) -> None:
        self.db = db
        self.incidents = incidents
        self.clock = clock
        self.policy = policy
        self.intake = intake
        self.texts = texts  # None: staff text travels in clear (only where no intake runs: TRIAGE_SEAL_STAFF_TEXT)
        self.store = WorkflowStore()

    def seal(self, incident_id: str, staff: Staff, fields: dict[str, str]) -> Sealed | None:
        """What staff wrote about the report, sealed with its data key by intake before anything is recorded
        (ADR 0055). Nothing to seal (an empty reason, refused by the aggregate): None."""
        if self.texts is None or not any(v.strip() for v in fields.values()):
            return None
        report_id = self.get(incident_id, staff).report_id
        try:
            return self.texts.seal(report_id, {k: v.strip() for k, v in fields.items()})
        except personal.ReportErased as e:
            raise Conflict("the reporter's data was erased: nothing more can be written about this report") from e
        except (personal.PersonalDataUnavailable, personal.UnknownReport) as e:
            raise Unavailable("what you wrote cannot be sealed now (intake does not answer); nothing was "
                              "recorded: try again shortly") from e

    def act(self, incident_id: str, expected_version: int | None,
            command: Callable[[Session, Incident], Event | None], staff: Staff) -> Incident:
        """Run one command against the incident; a lost race is retried once, so the loser hears why. An
        incident outside `staff`'s areas is, to them, unknown."""
        for attempt in (1, 2):
            try:
                with self.db.transaction() as s:
                    incident = _for_police(self.incidents.get(s, incident_id), staff)
                    if expected_version is not None and expected_version != incident.version:
                        command(s, incident)  # the domain's own refusal ("already acknowledged by ...") is clearer
                        raise StaleVersion(f"this incident changed since you opened it (now version "
                                           f"{incident.version}, you had {expected_version}): reload and check")
                    command(s, incident)
                    self.incidents.save(s, incident)
                    return incident
            except ConcurrencyError:
                if attempt == 2:
                    raise StaleVersion("someone else changed this incident at the same moment: reload") from None
        raise AssertionError("unreachable")

    def acknowledge(self, incident_id: str, staff: Staff, expected_version: int | None = None,
                    via: str | None = None) -> Incident:
        """`via`: how, when not on triage's pages ("email link", "sms reply")."""
        staff.require(Action.acknowledge)

        def run(s: Session, i: Incident) -> Event:
            with _saying_who(s):
                return i.acknowledge(staff.user_id, staff.can(Action.acknowledge_critical), self.clock.now(), via)

        return self.act(incident_id, expected_version, run, staff)

    def escalate(self, incident_id: str, staff: Staff, at_least: int = 0, via: str | None = None) -> Incident:
        """The next level paged now, at a Duty Inspector's word: whoever may take a critical incident on may
        hand it up."""
        staff.require(Action.acknowledge_critical)

        def run(s: Session, i: Incident) -> Event:
            with _saying_who(s):
                return i.escalate(staff.user_id, self.clock.now(), at_least, via)

        return self.act(incident_id, None, run, staff)

    def assign(self, incident_id: str, staff: Staff, duty_inspector: str,
               expected_version: int | None = None) -> Incident:
        staff.require(Action.assign)

        def run(s: Session, i: Incident) -> Event:
            if not is_duty_inspector(s, duty_inspector):
                raise InvalidCommand("choose a member of staff with the duty inspector role", "duty_inspector")
            return i.assign(duty_inspector, staff.user_id, self.clock.now())

        return self.act(incident_id, expected_version, run, staff)

    def override(self, incident_id: str, staff: Staff, priority: Priority, needs_duty_inspector: bool, reason: str,
                 expected_version: int | None = None) -> Incident:
        staff.require(Action.override)
        sealed = self.seal(incident_id, staff, {"reason": reason})
        return self.act(incident_id, expected_version, lambda s, i: sealing(i, i.override(
            priority, needs_duty_inspector, reason, staff.user_id, self.clock.now(), self.policy.ack_minutes), sealed),
            staff)

    def regrade(self, incident_id: str, staff: Staff, grading: Grading, reason: str,
                expected_version: int | None = None) -> Incident:
        staff.require(Action.regrade)
        sealed = self.seal(incident_id, staff, {"reason": reason})
        return self.act(incident_id, expected_version,
                        lambda s, i: sealing(i, i.regrade(grading, reason, staff.user_id, self.clock.now()), sealed),
                        staff)

    def request_cia(self, incident_id: str, staff: Staff, due_at: datetime | None = None,
                    expected_version: int | None = None) -> Incident:
        staff.require(Action.request_cia)
        now = self.clock.now()
        due = due_at or now + timedelta(hours=self.policy.cia_due_hours)
        return self.act(incident_id, expected_version, lambda s, i: i.request_cia(staff.user_id, now, due),
                        staff)

    def record_cia(self, incident_id: str, staff: Staff, community_tension: Level, risk_of_disorder: Level,
                   communities: str, notes: str, actions: str, next_review_at: datetime | None,
                   expected_version: int | None = None) -> Incident:
        staff.require(Action.record_cia)
        now = self.clock.now()
        sealed = self.seal(incident_id, staff, {"communities": communities, "notes": notes, "actions": actions})

        def run(s: Session, i: Incident) -> Event:
            event = sealing(i, i.record_cia(staff.user_id, now, community_tension, risk_of_disorder, next_review_at),
                            sealed)
            self.store.add_assessment(s, incident_id, community_tension, risk_of_disorder, communities, notes,
                                      actions, next_review_at, staff.user_id, now)
            return event

        return self.act(incident_id, expected_version, run, staff)

    def close(self, incident_id: str, staff: Staff, outcome: Outcome,
              expected_version: int | None = None) -> Incident:
        staff.require(Action.close)
        return self.act(incident_id, expected_version, lambda s, i: i.close(outcome, staff.user_id, self.clock.now()),
                        staff)

    def escalate_overdue(self) -> int:
        """Each missed acknowledgement deadline becomes one escalation event; rows make it survive restarts."""
        now = self.clock.now()
        with self.db.sessions() as s:
            due = self.incidents.overdue(s, now)
        fired = 0
        for incident_id in due:
            try:
                with self.db.transaction() as s:
                    incident = self.incidents.get(s, incident_id)
                    if incident is not None and incident.escalate_if_overdue(now):
                        self.incidents.save(s, incident)
                        fired += 1
            except ConcurrencyError:
                continue  # acknowledged at that very moment; the next tick looks again
        return fired

    def viewing(self, incident_id: str, staff: Staff) -> None:
        """Shown to colleagues as 'being viewed by', so two people do not work one incident unknowingly."""
        staff.require(Action.view_queue)
        with self.db.transaction() as s:
            _for_police(self.incidents.get(s, incident_id), staff)
            mark_viewing(s, incident_id, staff.user_id, self.clock.now())

    def record_personal_view(self, incident_id: str, staff: Staff) -> tuple[str, dict[str, Any]]:
        """Fetch from intake, record who looked, hand it back; nothing is stored but the fact of the view."""
        staff.require(Action.view_personal)
        incident = self.get(incident_id, staff)
        try:
            if self.intake is None:
                raise personal.PersonalDataUnavailable("no intake configured")
            outcome, data = "shown", self.intake.get(incident.report_id, ReadPurpose.staff_view, staff.username)
        except personal.ReportErased:
            outcome, data = "erased", {}
        except (personal.PersonalDataUnavailable, personal.UnknownReport):
            outcome, data = "unavailable", {}
        with self.db.transaction() as s:
            self.store.add_personal_view(s, incident, staff.user_id, self.clock.now(), outcome)
        return outcome, data

    def get(self, incident_id: str, staff: Staff | None = None) -> Incident:
        """The incident, for `staff` (outside their areas: unknown), or for Vigil itself when None."""
        with self.db.sessions() as s:
            return _for_police(self.incidents.get(s, incident_id), staff)


def sealing(incident: Incident, event: Event, sealed: Sealed | None) -> Event:
    """The event just recorded, carrying what staff wrote only sealed (`reason` emptied): the aggregate decided on
    the text in clear; what is appended, and so published, holds it sealed."""
    if sealed is None:
        return event
    hidden = event.model_copy(update={"sealed": sealed, **({"reason": ""} if hasattr(event, "reason") else {})})
    incident.pending[-1] = hidden
    return hidden


def _for_police(incident: Incident | None, staff: Staff | None) -> Incident:
    """Every workflow step is the police's: a report held for the reporting centre is, to them, unknown; so is
    an incident outside the person's areas (need to know: existence not revealed)."""
    if incident is None or incident.held_for_centre or (staff is not None and not staff.covers(incident.area)):
        raise UnknownIncident("no such incident")
    return incident
