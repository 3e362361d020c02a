"""The Incident: an event-sourced aggregate. Commands check the rules and record past-tense events.

State is only ever changed by `when` (through `apply`, shared/aggregate.py), so replaying the stream gives the
same incident; the version (events so far) is what optimistic concurrency compares.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from services.triage.rules import Decision, ack_deadline
from shared.aggregate import Aggregate
from shared.events.base import Event
from shared.events.incidents import (
    CommunityImpactAssessmentCompleted,
    CommunityImpactAssessmentRequested,
    CriteriaOverridden,
    DutyInspectorAssigned,
    IncidentAcknowledged,
    IncidentClosed,
    IncidentEscalated,
    IncidentRegraded,
    IncidentTriaged,
    MatchedRule,
    Priority,
)
from shared.events.reports import Grading

MAX_REASON = 500
SAFEGUARDING_OVERRIDES = ("threat_to_life",)  # rules that share a report with the police whatever its consent
REPORTER = "reporter"  # who closes an incident the reporter withdrew


class State(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    closed = "closed"


class Outcome(StrEnum):
    crime_recorded = "crime_recorded"
    non_crime_hate_incident_recorded = "non_crime_hate_incident_recorded"
    referred_to_partner = "referred_to_partner"
    no_further_action = "no_further_action"
    duplicate = "duplicate"
    withdrawn_by_reporter = "withdrawn_by_reporter"


class Level(StrEnum):
    low = "low"
    moderate = "moderate"
    substantial = "substantial"
    severe = "severe"
    critical = "critical"


class IncidentError(Exception):
    """A command the incident refuses; the message is for the person who gave it."""


class AlreadyDone(IncidentError):
    """Someone got there first (or the incident is closed)."""

    def __init__(self, message: str, by: str | None = None, at: datetime | None = None) -> None:
        super().__init__(message)
        self.by, self.at = by, at


class InvalidCommand(IncidentError):
    def __init__(self, message: str, field_name: str) -> None:
        super().__init__(message)
        self.field = field_name


class UnknownIncident(IncidentError):
    pass


class StaleVersion(AlreadyDone):
    """The person acted on an older view of the incident."""


@dataclass(frozen=True)
class Policy:
    """The deadlines triage works to, from its settings."""

    ack_minutes: Mapping[Priority, int]
    cia_due_hours: int = 24


def rank(p: Priority) -> int:
    return int(p.value[1])


@dataclass(frozen=True)
class Membership:
    """The incident's place in a suspected flood group: `pages` when it carries the group's page."""

    group_id: str
    pages: bool
    size: int


@dataclass(frozen=True)
class Report:
    """What triage knows of the report an incident is about."""

    report_id: str
    reference: str
    area: str
    grading: Grading | None = None
    share_with_police: bool = True
    centre_id: str | None = None  # the reporting centre that sent it; None: the public form


@dataclass(frozen=True)
class Sharing:
    """Whether a report is held for the reporting centre, and the rule that shared it with the police anyway."""

    held_for_centre: bool = False
    safeguarding_override: str | None = None

    @classmethod
    def of(cls, held: bool, decision: Decision) -> Sharing:
        """A report the reporter kept from the police stays held, unless a safeguarding rule matched."""
        if not held:
            return cls()
        override = next((m.code for m in decision.matched if m.code in SAFEGUARDING_OVERRIDES), None)
        return cls(held_for_centre=override is None, safeguarding_override=override)


@dataclass
class Incident(Aggregate[Event]):
    incident_id: str
    report_id: str = ""
    reference: str = ""
    area: str = ""
    priority: Priority = Priority.P4
    computed_priority: Priority = Priority.P4
    needs_duty_inspector: bool = False
    matched: list[MatchedRule] = field(default_factory=list)
    ruleset_version: str = ""
    hate_crime: bool = True
    grading: Grading | None = None
    state: State = State.open
    ack_deadline: datetime | None = None
    duty_inspector: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    escalation_level: int = 0
    escalated_deadline: datetime | None = None
    cia: str = "none"
    cia_due_at: datetime | None = None
    outcome: str | None = None
    closed_at: datetime | None = None
    triaged_at: datetime | None = None
    updated_at: datetime | None = None
    group_id: str | None = None
    paged_with_group: bool = False
    held_for_centre: bool = False
    safeguarding_override: str | None = None
    centre_id: str | None = None

    # --- rebuilding -----------------------------------------------------------------------------------

    def when(self, e: Event) -> None:
        if isinstance(e, IncidentTriaged):
            self._triaged(e)
        elif isinstance(e, DutyInspectorAssigned):
            self.duty_inspector, self.updated_at = e.duty_inspector, e.assigned_at
        elif isinstance(e, IncidentAcknowledged):
            self.state, self.acknowledged_by, self.acknowledged_at = State.acknowledged, e.acknowledged_by, \
                e.acknowledged_at
            self.updated_at = e.acknowledged_at
        elif isinstance(e, IncidentEscalated):
            self.escalation_level, self.updated_at = e.level, e.escalated_at
            if e.escalated_by is None:  # a missed deadline; a person's escalation leaves the deadline's mark alone
                self.escalated_deadline = e.deadline
        elif isinstance(e, CriteriaOverridden):
            self.priority, self.needs_duty_inspector = e.priority, e.needs_duty_inspector
            self.ack_deadline, self.updated_at = e.ack_deadline, e.overridden_at
        elif isinstance(e, IncidentRegraded):
            self.grading, self.updated_at = e.grading, e.regraded_at
        elif isinstance(e, CommunityImpactAssessmentRequested):
            self.cia, self.cia_due_at, self.updated_at = "requested", e.due_at, e.requested_at
        elif isinstance(e, CommunityImpactAssessmentCompleted):
            self.cia, self.updated_at = "completed", e.completed_at
        elif isinstance(e, IncidentClosed):
            self.state, self.outcome, self.closed_at, self.updated_at = State.closed, e.outcome, e.closed_at, \
                e.closed_at

    def _triaged(self, e: IncidentTriaged) -> None:
        rose = self.version > 1 and rank(e.priority) < rank(self.priority)
        self.report_id, self.reference, self.area = e.report_id, e.reference, e.area
        self.priority, self.needs_duty_inspector, self.matched = e.priority, e.needs_duty_inspector, e.matched
        self.computed_priority = e.computed_priority or e.priority
        self.ruleset_version, self.ack_deadline, self.updated_at = e.ruleset_version, e.ack_deadline, e.triaged_at
        self.hate_crime = True if e.hate_crime is None else e.hate_crime
        self.group_id, self.paged_with_group, self.held_for_centre = e.group_id, e.paged_with_group, e.held_for_centre
        self.safeguarding_override = e.safeguarding_override or self.safeguarding_override
        self.centre_id = e.centre_id or self.centre_id
        if self.triaged_at is None:
            self.triaged_at, self.grading = e.triaged_at, e.grading
        if rose:
            self.state, self.acknowledged_by, self.acknowledged_at = State.open, None, None

    # --- commands -------------------------------------------------------------------------------------

    @classmethod
    def open(cls, report: Report, decision: Decision, now: datetime, ack_minutes: Mapping[Priority, int],
             group: Membership | None = None) -> Incident:
        """A member of a flood group that does not carry its page has no deadline of its own: the group's has.
        A report held for the reporting centre is critical to no one in the police: it pages no one."""
        incident = cls(report.report_id)
        sharing = Sharing.of(not report.share_with_police, decision)
        critical = decision.critical and not sharing.held_for_centre
        covered = group is not None and critical and not group.pages
        incident.record(IncidentTriaged(
            incident_id=report.report_id, report_id=report.report_id, reference=report.reference,
            area=report.area, triaged_at=now, matched=decision.matched, critical=critical,
            needs_duty_inspector=critical, priority=decision.priority,
            ack_deadline=ack_deadline(decision.priority, now, ack_minutes) if critical and not covered
            else None, ruleset_version=decision.ruleset_version,
            computed_priority=decision.priority, hate_crime=decision.hate_crime, grading=report.grading,
            group_id=group.group_id if group else None, paged_with_group=covered,
            group_size=group.size if group else None, held_for_centre=sharing.held_for_centre,
            safeguarding_override=sharing.safeguarding_override, centre_id=report.centre_id))
        return incident

    def retriage(self, decision: Decision, area: str, now: datetime, ack_minutes: Mapping[Priority, int],
                 group_pages: bool | None = None) -> Event | None:
        """New facts: the priority may rise; only a person (an override) can lower it. A P1 leaves its flood
        group and pages on its own. `group_pages`: whether another member carries this one's group's page. A
        held report stays held unless the new facts match a safeguarding rule; once shared it stays shared."""
        priority = decision.priority if rank(decision.priority) < rank(self.priority) else self.priority
        sharing = Sharing.of(self.held_for_centre, decision)
        needs = (self.needs_duty_inspector or decision.critical) and not sharing.held_for_centre
        leaves = self.group_id is not None and priority == Priority.P1
        covered = (self.paged_with_group if group_pages is None else group_pages) and needs and not leaves
        unchanged = (priority == self.priority and needs == self.needs_duty_inspector and area == self.area
                     and [m.code for m in decision.matched] == [m.code for m in self.matched]
                     and covered == self.paged_with_group and sharing.held_for_centre == self.held_for_centre)
        if unchanged:
            return None
        rose = rank(priority) < rank(self.priority) or (needs and not self.needs_duty_inspector)
        uncovered = self.paged_with_group and not covered
        deadline = ack_deadline(priority, now, ack_minutes) if (rose or uncovered) and needs else self.ack_deadline
        return self.record(IncidentTriaged(
            incident_id=self.incident_id, report_id=self.report_id, reference=self.reference, area=area,
            triaged_at=now, matched=decision.matched, critical=needs, needs_duty_inspector=needs,
            priority=priority, ack_deadline=None if covered else deadline, ruleset_version=decision.ruleset_version,
            retriage=True, computed_priority=decision.priority, hate_crime=decision.hate_crime,
            group_id=None if leaves else self.group_id, paged_with_group=covered,
            held_for_centre=sharing.held_for_centre, centre_id=self.centre_id,
            safeguarding_override=sharing.safeguarding_override or self.safeguarding_override))

    def regroup(self, group: Membership | None, now: datetime, ack_minutes: Mapping[Priority, int]) -> Event | None:
        """The same decision, in a flood group or out of it. Out of it (or carrying the group's page) it needs its
        own acknowledgement from now; covered by the group's page it has no deadline of its own."""
        covered = group is not None and not group.pages and self.needs_duty_inspector
        if (group.group_id if group else None) == self.group_id and covered == self.paged_with_group:
            return None
        own = ack_deadline(self.priority, now, ack_minutes) if self.paged_with_group and not covered else None
        deadline = None if covered else own or self.ack_deadline
        return self.record(IncidentTriaged(
            incident_id=self.incident_id, report_id=self.report_id, reference=self.reference, area=self.area,
            triaged_at=now, matched=self.matched, critical=self.needs_duty_inspector,
            needs_duty_inspector=self.needs_duty_inspector, priority=self.priority,
            ack_deadline=deadline if self.needs_duty_inspector else None, ruleset_version=self.ruleset_version,
            retriage=True, computed_priority=self.computed_priority, hate_crime=self.hate_crime,
            group_id=group.group_id if group else None, paged_with_group=covered,
            group_size=group.size if group else None, held_for_centre=self.held_for_centre,
            safeguarding_override=self.safeguarding_override, centre_id=self.centre_id))

    def acknowledge(self, by: str, may_acknowledge_critical: bool, now: datetime, via: str | None = None) -> Event:
        self._not_acknowledged()
        if self.needs_duty_inspector and not may_acknowledge_critical:
            raise InvalidCommand("this incident needs the Duty Inspector: only a duty inspector or a supervisor "
                                 "can acknowledge it", "incident")
        return self.record(IncidentAcknowledged(incident_id=self.incident_id, area=self.area, acknowledged_by=by,
                                                acknowledged_at=now, via=via))

    def escalate(self, by: str, now: datetime, at_least: int = 0, via: str | None = None) -> Event:
        """A person asks for the next level now, not at the deadline; `at_least` is the level notify's chase has
        reached, which triage does not know."""
        self._not_acknowledged()
        return self.record(IncidentEscalated(
            incident_id=self.incident_id, area=self.area, priority=self.priority,
            level=max(self.escalation_level + 1, at_least), reason="escalated at once by a person",
            escalated_at=now, escalated_by=by, via=via))

    def _not_acknowledged(self) -> None:
        self._not_closed()
        if self.state == State.acknowledged:
            raise AlreadyDone("already acknowledged", self.acknowledged_by, self.acknowledged_at)

    def assign(self, duty_inspector: str, by: str, now: datetime) -> Event:
        self._not_closed()
        if self.duty_inspector == duty_inspector:
            raise AlreadyDone("that duty inspector is already assigned")
        return self.record(DutyInspectorAssigned(incident_id=self.incident_id, area=self.area,
                                                 duty_inspector=duty_inspector, assigned_by=by, assigned_at=now))

    def override(self, priority: Priority, needs_duty_inspector: bool, reason: str, by: str, now: datetime,
                 ack_minutes: Mapping[Priority, int]) -> Event:
        self._not_closed()
        reason = _reason(reason)
        if priority == self.priority and needs_duty_inspector == self.needs_duty_inspector:
            raise InvalidCommand("the override changes nothing: choose another priority or Duty Inspector need",
                                 "priority")
        deadline = self.ack_deadline
        if self.state == State.open:  # deadlines are for the Duty Inspector's acknowledgement
            deadline = ack_deadline(priority, now, ack_minutes) if needs_duty_inspector else None
        return self.record(CriteriaOverridden(
            incident_id=self.incident_id, area=self.area, previous_priority=self.priority, priority=priority,
            previous_needs_duty_inspector=self.needs_duty_inspector, needs_duty_inspector=needs_duty_inspector,
            ack_deadline=deadline, reason=reason, overridden_by=by, overridden_at=now))

    def escalate_if_overdue(self, now: datetime) -> Event | None:
        """Each missed deadline escalates once; notify does the chasing from there."""
        if (self.state != State.open or self.ack_deadline is None or now < self.ack_deadline
                or self.escalated_deadline == self.ack_deadline):
            return None
        return self.record(IncidentEscalated(
            incident_id=self.incident_id, area=self.area, priority=self.priority, level=self.escalation_level + 1,
            reason="acknowledgement deadline missed", deadline=self.ack_deadline, escalated_at=now))

    def regrade(self, grading: Grading, reason: str, by: str, now: datetime) -> Event:
        reason = _reason(reason, "regrade")
        if grading == self.grading:
            raise InvalidCommand("that is the grading it already has", "grading")
        return self.record(IncidentRegraded(incident_id=self.incident_id, area=self.area, previous=self.grading,
                                            grading=grading, reason=reason, regraded_by=by, regraded_at=now))

    def request_cia(self, by: str, now: datetime, due_at: datetime) -> Event:
        self._not_closed()
        if due_at <= now:
            raise InvalidCommand("the due time must be in the future", "due_at")
        return self.record(CommunityImpactAssessmentRequested(
            incident_id=self.incident_id, area=self.area, requested_by=by, requested_at=now, due_at=due_at))

    def record_cia(self, by: str, now: datetime, community_tension: Level, risk_of_disorder: Level,
                   next_review_at: datetime | None) -> Event:
        if next_review_at is not None and next_review_at <= now:
            raise InvalidCommand("the next review must be in the future", "next_review_at")
        return self.record(CommunityImpactAssessmentCompleted(
            incident_id=self.incident_id, area=self.area, community_tension=community_tension.value,
            risk_of_disorder=risk_of_disorder.value, next_review_at=next_review_at, completed_by=by,
            completed_at=now))

    def close(self, outcome: Outcome, by: str, now: datetime) -> Event:
        self._not_closed()
        return self.record(IncidentClosed(incident_id=self.incident_id, area=self.area, outcome=outcome.value,
                                          closed_by=by, closed_at=now))

    def withdraw(self, now: datetime) -> Event | None:
        """The reporter withdrew the report: closed as a person's close would be, once; notify's chase stops."""
        if self.state == State.closed:
            return None
        return self.close(Outcome.withdrawn_by_reporter, REPORTER, now)

    def _not_closed(self) -> None:
        if self.state == State.closed:
            raise AlreadyDone(f"this incident was closed ({self.outcome})")

    def time_left(self, now: datetime) -> timedelta | None:
        return self.ack_deadline - now if self.ack_deadline and self.state == State.open else None


def _reason(reason: str, what: str = "override") -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidCommand(f"give a reason for the {what}", "reason")
    if len(reason) > MAX_REASON:
        raise InvalidCommand(f"keep the reason under {MAX_REASON} characters", "reason")
    return reason
