"""Reports in, decisions out: each report is remembered, decided on with the ruleset in force, grouped when it
is part of a flood from one source, and re-decided when it is amended or heightened tension is declared over it.

The report memory (`memory.py`) is what triage keeps of each report to spot repeats, clusters and floods (ADR
0021); it can be refolded from `vigil.reports.v1` without touching the decisions already made.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache

from opentelemetry.metrics import Counter
from sqlalchemy.orm import Session

from services.triage.erasure import Erasure
from services.triage.group_store import GroupRepository
from services.triage.grouping import FloodGrouping
from services.triage.incident import Incident, Policy, Report, Sharing
from services.triage.incident_store import IncidentRepository
from services.triage.memory import Remembered, ReportMemory
from services.triage.publishing import RulesetStore
from services.triage.rules import Decision, Ruleset, Subject
from services.triage.tension import TensionStore
from shared.clock import Clock
from shared.db import Database
from shared.events.base import Envelope
from shared.events.handlers import HandlerTable
from shared.events.reports import Channel, ReportAmended, ReportErased, ReportSubmitted, ReportWithdrawn
from shared.metrics import meter

__all__ = ["Decisions", "Remembered", "ReportMemory"]


@cache
def _decisions() -> Counter:
    """Created on first use, after the service has set up its meter provider."""
    return meter().create_counter("vigil.triage.decisions", unit="{decision}",
                                  description="triage decisions on new reports, by priority and ruleset")


class Decisions:
    def __init__(self, db: Database, incidents: IncidentRepository, rulesets: RulesetStore, tension: TensionStore,
                 clock: Clock, policy: Policy) -> None:
        self.db = db
        self.incidents = incidents
        self.rulesets = rulesets
        self.tension = tension
        self.clock = clock
        self.policy = policy
        self.memory = ReportMemory()
        self.grouping = FloodGrouping(self.memory, incidents, GroupRepository(incidents.store), policy)
        self.erasure = Erasure(self.memory, incidents, clock)
        self.on_report_event = HandlerTable({ReportSubmitted: self.triage, ReportAmended: self.retriage,
                                             ReportErased: self.erasure.erase,
                                             ReportWithdrawn: self.erasure.withdraw})

    def triage(self, s: Session, report: ReportSubmitted, _env: Envelope | None = None) -> None:
        if self.incidents.get(s, report.report_id) is not None:
            return
        remembered = self.memory.linked(s, Remembered.of(report))
        self.memory.remember(s, remembered)
        ruleset = self.rulesets.current(s, self.clock.now())
        decision = self._decide(s, remembered, report.submitted_at, ruleset)
        held = Sharing.of(not report.consent.share_with_police, decision).held_for_centre
        group = None if held else self.grouping.place(s, remembered, decision, ruleset, _trusted_centre(report),
                                                      self.clock.now())
        incident = Incident.open(Report(report.report_id, report.reference, remembered.area, report.grading,
                                        report.consent.share_with_police, report.centre_id), decision,
                                 self.clock.now(), self.policy.ack_minutes, group)
        self.incidents.save(s, incident)
        _decisions().add(1, {"priority": decision.priority.value, "critical": str(decision.critical).lower(),
                             "ruleset_version": decision.ruleset_version})

    def retriage(self, s: Session, amended: ReportAmended, _env: Envelope | None = None) -> None:
        now = self.memory.amend(s, amended)
        incident = self.incidents.get(s, amended.report_id)
        if now is None or incident is None:
            return
        decision = self._decide(s, now, max(amended.amended_at, now.submitted_at))
        self._redecide(s, incident, decision, now.area, self.clock.now())

    def retriage_in_scope(self, s: Session, area: str, now: datetime) -> None:
        """Open incidents that did not need the Duty Inspector are looked at again under new tension."""
        for incident_id in self.incidents.without_duty_inspector(s, area):
            incident = self.incidents.get(s, incident_id)
            remembered = self.memory.recall(s, incident_id)
            if incident is None or remembered is None:
                continue
            self._redecide(s, incident, self._decide(s, remembered, now), remembered.area, now)

    def rebuild_memory(self, envelopes: Iterable[Envelope]) -> int:
        """Refold the report memory from `vigil.reports.v1`, replacing what is there; decisions are untouched."""
        folded = 0
        with self.db.transaction() as s:
            self.memory.forget_everything(s)
            for env in envelopes:
                self.memory.refold(s, env)
                folded += 1
        return folded

    def _redecide(self, s: Session, incident: Incident, decision: Decision, area: str, now: datetime) -> None:
        """A member of a flood group stays covered by its group's page unless it rose to P1."""
        group_before = incident.group_id
        if incident.retriage(decision, area, now, self.policy.ack_minutes, self.grouping.covered(s, incident)):
            self.grouping.redecided(s, incident, group_before, now)
            self.incidents.save(s, incident)

    def _decide(self, s: Session, r: Remembered, at: datetime, ruleset: Ruleset | None = None) -> Decision:
        subject = Subject(facts=r.facts, reporter_role=r.reporter_role, history=self.memory.counter(s, r),
                          tension=self.tension.in_force(s, r.area, at), baseline=self.memory.baseline(s, r))
        return (ruleset or self.rulesets.current(s, self.clock.now())).decide(subject)


def _trusted_centre(report: ReportSubmitted) -> bool:
    """A trusted reporting centre's batch is many people's reports relayed at once: never a flood. Intake grades
    a trusted centre's reports as source 1 (reliable)."""
    return report.channel == Channel.centre and report.centre_id is not None and report.grading.source == "1"
