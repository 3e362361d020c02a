"""Triage's use cases: decide on each report, run the Duty Inspector's workflow, keep tension in force.

Every change to an incident loads its stream, asks the aggregate, and appends the new events with
the version it read: when two people act at once one append wins and the other is told plainly.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from opentelemetry.metrics import Counter
from sqlalchemy import delete, insert, or_, select
from sqlalchemy.orm import Session

from services.triage import tables
from services.triage.access import Action, Staff
from services.triage.incident import AlreadyDone, Incident, IncidentError, InvalidCommand, Level, Outcome, Report
from services.triage.rules import Ruleset, Subject
from services.triage.stores import IncidentRepository, Remembered, ReportMemory, RulesetStore, TensionStore
from shared import personal
from shared.areas import AreaRegistry
from shared.clock import Clock
from shared.db import Database
from shared.events.base import Envelope, Event
from shared.events.incidents import (
    NATIONAL,
    CommunityImpactAssessmentRequested,
    HeightenedTensionDeclared,
    HeightenedTensionLifted,
    Priority,
)
from shared.events.reports import Grading, ReportAmended, ReportErased, ReportSubmitted
from shared.eventstore import ConcurrencyError, EventStore
from shared.ids import new_id
from shared.metrics import meter

TENSION_RAISED = "vigil.area.tension_raised.v1"
TENSION_EASED = "vigil.area.tension_eased.v1"


@cache
def _decisions() -> Counter:
    """Created on first use, after the service has set up its meter provider."""
    return meter().create_counter("vigil.triage.decisions", unit="{decision}",
                                  description="triage decisions on new reports, by priority and ruleset")


class UnknownIncident(IncidentError):
    pass


class StaleVersion(AlreadyDone):
    """The person acted on an older view of the incident."""


@dataclass(frozen=True)
class Policy:
    ack_minutes: Mapping[Priority, int]
    cia_due_hours: int = 24


class TriageApp:
    def __init__(self, db: Database, store: EventStore, clock: Clock, policy: Policy,
                 configured_ruleset: Callable[[], Ruleset], areas: AreaRegistry,
                 intake: personal.PersonalDataClient | None = None) -> None:
        self.db = db
        self.store = store
        self.clock = clock
        self.policy = policy
        self.areas = areas
        self.intake = intake
        self.incidents = IncidentRepository(store)
        self.memory = ReportMemory()
        self.rulesets = RulesetStore(store, configured_ruleset)
        self.tension = TensionStore()

    # --- reports in, decisions out ----------------------------------------------------------------

    def on_report_event(self, s: Session, env: Envelope) -> None:
        event = env.event()
        if isinstance(event, ReportSubmitted):
            self.triage(s, event)
        elif isinstance(event, ReportAmended):
            self.retriage(s, event)
        elif isinstance(event, ReportErased):
            self.memory.forget_fingerprints(s, event.report_id)

    def triage(self, s: Session, report: ReportSubmitted) -> None:
        if self.incidents.get(s, report.report_id) is not None:
            return
        remembered = self._remember(s, report)
        decision = self._decide(s, remembered, report.submitted_at)
        incident = Incident.open(Report(report.report_id, report.reference, remembered.area, report.grading), decision,
                                 self.clock.now(), self.policy.ack_minutes)
        self.incidents.save(s, incident)
        _decisions().add(1, {"priority": decision.priority.value, "critical": str(decision.critical).lower(),
                             "ruleset_version": decision.ruleset_version})

    def retriage(self, s: Session, amended: ReportAmended) -> None:
        now = self._remember_amendment(s, amended)
        incident = self.incidents.get(s, amended.report_id)
        if now is None or incident is None:
            return
        decision = self._decide(s, now, max(amended.amended_at, now.submitted_at))
        if incident.retriage(decision, now.area, self.clock.now(), self.policy.ack_minutes):
            self.incidents.save(s, incident)

    def _remember(self, s: Session, report: ReportSubmitted) -> Remembered:
        remembered = Remembered(report.report_id, report.incident.location.area, report.submitted_at,
                                report.fingerprints.contact, report.fingerprints.place, report.reporter.role.value,
                                report.incident)
        self.memory.remember(s, remembered)
        return remembered

    def _remember_amendment(self, s: Session, amended: ReportAmended) -> Remembered | None:
        before = self.memory.recall(s, amended.report_id)
        if before is None:
            return None
        fp = amended.fingerprints
        now = Remembered(before.report_id, amended.incident.location.area if amended.incident else before.area,
                         before.submitted_at, fp.contact if fp and fp.contact else before.contact_fp,
                         fp.place if fp and fp.place else before.place_fp, before.reporter_role,
                         amended.incident or before.facts)
        self.memory.remember(s, now)
        return now

    def rebuild_memory(self, envelopes: Iterable[Envelope]) -> int:
        """Refold the report memory from `vigil.reports.v1`, replacing what is there; decisions are untouched."""
        folded = 0
        with self.db.transaction() as s:
            s.execute(delete(tables.report_memory))
            for env in envelopes:
                event = env.event()
                if isinstance(event, ReportSubmitted):
                    self._remember(s, event)
                elif isinstance(event, ReportAmended):
                    self._remember_amendment(s, event)
                elif isinstance(event, ReportErased):
                    self.memory.forget_fingerprints(s, event.report_id)
                folded += 1
        return folded

    def _decide(self, s: Session, r: Remembered, at: datetime) -> Any:
        subject = Subject(facts=r.facts, reporter_role=r.reporter_role, history=self.memory.counter(s, r),
                          tension=self.tension.in_force(s, r.area, at))
        return self.rulesets.current(s, self.clock.now()).decide(subject)

    # --- the Duty Inspector's workflow ------------------------------------------------------------

    def act(self, incident_id: str, expected_version: int | None,
            command: Callable[[Session, Incident], Event | None]) -> Incident:
        """Run one command against the incident; a lost race is retried once, so the loser hears why."""
        for attempt in (1, 2):
            try:
                with self.db.transaction() as s:
                    incident = self.incidents.get(s, incident_id)
                    if incident is None:
                        raise UnknownIncident("no such incident")
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

    def acknowledge(self, incident_id: str, staff: Staff, expected_version: int | None = None) -> Incident:
        staff.require(Action.acknowledge)

        def run(s: Session, i: Incident) -> Event:
            try:
                return i.acknowledge(staff.user_id, staff.can(Action.acknowledge_critical), self.clock.now())
            except AlreadyDone as e:
                if e.by:
                    who = self.display_names(s).get(e.by, "someone")
                    raise AlreadyDone(f"already acknowledged by {who} at {e.at:%H:%M:%S} UTC", e.by, e.at) from e
                raise

        return self.act(incident_id, expected_version, run)

    def assign(self, incident_id: str, staff: Staff, duty_inspector: str,
               expected_version: int | None = None) -> Incident:
        staff.require(Action.assign)

        def run(s: Session, i: Incident) -> Event:
            roles = s.execute(select(tables.staff_users.c.roles).where(
                tables.staff_users.c.user_id == duty_inspector, tables.staff_users.c.active.is_(True))).scalar()
            if roles is None or "duty_inspector" not in roles.split(","):
                raise InvalidCommand("choose a member of staff with the duty inspector role", "duty_inspector")
            return i.assign(duty_inspector, staff.user_id, self.clock.now())

        return self.act(incident_id, expected_version, run)

    def override(self, incident_id: str, staff: Staff, priority: Priority, needs_duty_inspector: bool, reason: str,
                 expected_version: int | None = None) -> Incident:
        staff.require(Action.override)
        return self.act(incident_id, expected_version, lambda s, i: i.override(
            priority, needs_duty_inspector, reason, staff.user_id, self.clock.now(), self.policy.ack_minutes))

    def regrade(self, incident_id: str, staff: Staff, grading: Grading, reason: str,
                expected_version: int | None = None) -> Incident:
        staff.require(Action.regrade)
        return self.act(incident_id, expected_version,
                        lambda s, i: i.regrade(grading, reason, staff.user_id, self.clock.now()))

    def request_cia(self, incident_id: str, staff: Staff, due_at: datetime | None = None,
                    expected_version: int | None = None) -> Incident:
        staff.require(Action.request_cia)
        now = self.clock.now()
        due = due_at or now + timedelta(hours=self.policy.cia_due_hours)
        return self.act(incident_id, expected_version, lambda s, i: i.request_cia(staff.user_id, now, due))

    def record_cia(self, incident_id: str, staff: Staff, community_tension: Level, risk_of_disorder: Level,
                   communities: str, notes: str, actions: str, next_review_at: datetime | None,
                   expected_version: int | None = None) -> Incident:
        staff.require(Action.record_cia)
        now = self.clock.now()

        def run(s: Session, i: Incident) -> Event:
            event = i.record_cia(staff.user_id, now, community_tension, risk_of_disorder, next_review_at)
            s.execute(insert(tables.community_impact_assessments).values(
                incident_id=incident_id, community_tension=community_tension.value,
                risk_of_disorder=risk_of_disorder.value, communities=communities[:2000] or None,
                notes=notes[:10000] or None, actions=actions[:5000] or None, next_review_at=next_review_at,
                completed_by=staff.user_id, completed_at=now))
            return event

        return self.act(incident_id, expected_version, run)

    def close(self, incident_id: str, staff: Staff, outcome: Outcome,
              expected_version: int | None = None) -> Incident:
        staff.require(Action.close)
        return self.act(incident_id, expected_version, lambda s, i: i.close(outcome, staff.user_id, self.clock.now()))

    # --- timers -----------------------------------------------------------------------------------

    def escalate_overdue(self) -> int:
        """Each missed acknowledgement deadline becomes one escalation event; rows make it survive restarts."""
        now = self.clock.now()
        t = tables.incidents
        with self.db.sessions() as s:
            due = s.execute(select(t.c.incident_id).where(
                t.c.state == "open", t.c.ack_deadline <= now,
                or_(t.c.escalated_deadline.is_(None), t.c.escalated_deadline != t.c.ack_deadline))).scalars().all()
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

    def lift_expired_tensions(self) -> int:
        now = self.clock.now()
        with self.db.transaction() as s:
            expired = self.tension.expired_unlifted(s, now)
            for row in expired:
                self._lift(s, row, "ended as scheduled", "system", row["ends_at"])
        return len(expired)

    # --- heightened tension -----------------------------------------------------------------------

    def declare_tension(self, staff: Staff, area: str, reason: str, starts_at: datetime | None = None,
                        ends_at: datetime | None = None, proposal_id: str | None = None) -> dict[str, Any]:
        staff.require(Action.declare_tension)
        now = self.clock.now()
        area, reason, starts = self._valid_declaration(area, reason, starts_at or now, ends_at)
        tension_id = new_id()
        with self.db.transaction() as s:
            if proposal_id and not self.tension.decide_proposal(s, proposal_id, "confirmed", staff.user_id, now):
                raise AlreadyDone("that proposal was already decided")
            declared = HeightenedTensionDeclared(
                tension_id=tension_id, area=area, reason=reason, starts_at=starts, ends_at=ends_at,
                declared_by=staff.user_id, declared_at=now, proposal_id=proposal_id)
            cia = CommunityImpactAssessmentRequested(area=area, requested_by=staff.user_id, requested_at=now,
                                                     due_at=now + timedelta(hours=self.policy.cia_due_hours))
            self.store.append(s, f"tension-{tension_id}", 0, [declared, cia], key=area)
            s.execute(insert(tables.tensions).values(
                tension_id=tension_id, area=area, reason=reason, starts_at=starts, ends_at=ends_at,
                declared_by=staff.user_id, declared_at=now, proposal_id=proposal_id))
            if starts <= now:
                self._retriage_in_scope(s, area, now)
            row = self.tension.get(s, tension_id)
        assert row is not None
        return row

    def _retriage_in_scope(self, s: Session, area: str, now: datetime) -> None:
        """Open incidents that did not need the Duty Inspector are looked at again under the new tension."""
        t = tables.incidents
        q = select(t.c.incident_id).where(t.c.state != "closed", t.c.needs_duty_inspector.is_(False))
        if area != NATIONAL:
            q = q.where(t.c.area == area)
        for incident_id in s.execute(q).scalars().all():
            incident = self.incidents.get(s, incident_id)
            remembered = self.memory.recall(s, incident_id)
            if incident is None or remembered is None:
                continue
            decision = self._decide(s, remembered, now)
            if incident.retriage(decision, remembered.area, now, self.policy.ack_minutes):
                self.incidents.save(s, incident)

    def _valid_declaration(self, area: str, reason: str, starts: datetime,
                           ends: datetime | None) -> tuple[str, str, datetime]:
        area = area.strip()
        if area != NATIONAL and self.areas.get(area) is None:
            raise InvalidCommand("choose a police force area, or national", "area")
        reason = " ".join((reason or "").split())
        if not reason:
            raise InvalidCommand("give the reason for heightened tension", "reason")
        if len(reason) > 500:
            raise InvalidCommand("keep the reason under 500 characters", "reason")
        if ends is not None and ends <= starts:
            raise InvalidCommand("the end must be after the start", "ends_at")
        return area, reason, starts

    def lift_tension(self, staff: Staff, tension_id: str, reason: str) -> dict[str, Any]:
        staff.require(Action.declare_tension)
        reason = " ".join((reason or "").split()) or "lifted by a supervisor"
        with self.db.transaction() as s:
            row = self.tension.get(s, tension_id)
            if row is None:
                raise UnknownIncident("no such declaration")
            if row["lifted_at"] is not None:
                raise AlreadyDone("this declaration was already lifted")
            self._lift(s, row, reason, staff.user_id, self.clock.now())
            lifted = self.tension.get(s, tension_id)
        assert lifted is not None
        return lifted

    def _lift(self, s: Session, row: Mapping[str, Any], reason: str, by: str, at: datetime) -> None:
        stream = f"tension-{row['tension_id']}"
        event = HeightenedTensionLifted(tension_id=row["tension_id"], area=row["area"], reason=reason,
                                        lifted_by=by, lifted_at=at)
        self.store.extend(s, stream, [event], key=row["area"])
        s.execute(tables.tensions.update().where(tables.tensions.c.tension_id == row["tension_id"])
                  .values(lifted_at=at, lifted_by=by, lift_reason=reason))

    def on_area_event(self, s: Session, env: Envelope) -> None:
        """Assessment's proposals wait for a supervisor; a type this code does not know is read by its name."""
        if env.type not in (TENSION_RAISED, TENSION_EASED):
            return
        data, area = env.data, str(env.data.get("area") or env.key)
        if env.type == TENSION_EASED:
            self.tension.ease(s, area, env.time)
            return
        reasons = [str(r) for r in data.get("reasons") or []]
        raised_at = datetime.fromisoformat(data["raised_at"]) if data.get("raised_at") else env.time
        proposal_id = str(uuid.uuid5(uuid.NAMESPACE_URL, env.id))
        self.tension.propose(s, proposal_id, area, str(data.get("level", "unknown")), reasons, raised_at)

    def dismiss_proposal(self, staff: Staff, proposal_id: str) -> None:
        staff.require(Action.declare_tension)
        with self.db.transaction() as s:
            if not self.tension.decide_proposal(s, proposal_id, "dismissed", staff.user_id, self.clock.now()):
                raise AlreadyDone("that proposal was already decided")

    # --- rulesets ---------------------------------------------------------------------------------

    def publish_ruleset(self, ruleset: Ruleset, by: str) -> bool:
        with self.db.transaction() as s:
            return self.rulesets.publish(s, ruleset, by, self.clock.now())

    # --- reading ----------------------------------------------------------------------------------

    def display_names(self, s: Session) -> dict[str, str]:
        u = tables.staff_users
        names = {r.user_id: r.display_name for r in s.execute(select(u.c.user_id, u.c.display_name))}
        return names | {"system": "Vigil"}

    def record_personal_view(self, incident: Incident, staff: Staff) -> tuple[str, dict[str, Any]]:
        """Fetch from intake, record who looked, hand it back; nothing is stored but the fact of the view."""
        staff.require(Action.view_personal)
        try:
            if self.intake is None:
                raise personal.PersonalDataUnavailable("no intake configured")
            outcome, data = "shown", self.intake.get(incident.report_id)
        except personal.ReportErased:
            outcome, data = "erased", {}
        except (personal.PersonalDataUnavailable, personal.UnknownReport):
            outcome, data = "unavailable", {}
        with self.db.transaction() as s:
            s.execute(insert(tables.personal_data_views).values(
                incident_id=incident.incident_id, report_id=incident.report_id, user_id=staff.user_id,
                viewed_at=self.clock.now(), outcome=outcome))
        return outcome, data

    def get(self, incident_id: str) -> Incident:
        with self.db.sessions() as s:
            incident = self.incidents.get(s, incident_id)
        if incident is None:
            raise UnknownIncident("no such incident")
        return incident

    def facts_of(self, report_id: str, s: Session | None = None) -> dict[str, Any] | None:
        if s is None:
            with self.db.sessions() as own:
                return self.facts_of(report_id, own)
        r = self.memory.recall(s, report_id)
        return None if r is None else json.loads(r.facts.model_dump_json()) | {"reporter_role": r.reporter_role}

    def with_history(self, s: Session, incident_id: str) -> tuple[Incident, list[Envelope]]:
        """The incident and the events it was folded from: one read, so the page and its timeline agree."""
        found = self.incidents.with_history(s, incident_id)
        if found is None:
            raise UnknownIncident("no such incident")
        return found
