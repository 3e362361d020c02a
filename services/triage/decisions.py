"""Reports in, decisions out: each report is remembered, decided on with the ruleset in force, and re-decided
when it is amended or heightened tension is declared over it.

The report memory is what triage keeps of each report to spot repeats and clusters (ADR 0021); it can be
refolded from `vigil.reports.v1` without touching the decisions already made.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from opentelemetry.metrics import Counter
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from services.triage import tables
from services.triage.incident import Incident, Policy, Report
from services.triage.incident_store import IncidentRepository
from services.triage.publishing import RulesetStore
from services.triage.rules import Decision, HistoryCounter, HistoryKind, Subject
from services.triage.tension import TensionStore
from shared.clock import Clock
from shared.db import Database
from shared.events.base import Envelope
from shared.events.handlers import HandlerTable
from shared.events.reports import IncidentFacts, ReportAmended, ReportErased, ReportSubmitted
from shared.metrics import meter


@cache
def _decisions() -> Counter:
    """Created on first use, after the service has set up its meter provider."""
    return meter().create_counter("vigil.triage.decisions", unit="{decision}",
                                  description="triage decisions on new reports, by priority and ruleset")


@dataclass(frozen=True)
class Remembered:
    report_id: str
    area: str
    submitted_at: datetime
    contact_fp: str | None
    place_fp: str | None
    reporter_role: str | None
    facts: IncidentFacts

    @classmethod
    def of(cls, report: ReportSubmitted) -> Remembered:
        return cls(report.report_id, report.incident.location.area, report.submitted_at, report.fingerprints.contact,
                   report.fingerprints.place, report.reporter.role.value, report.incident)

    def amended(self, amended: ReportAmended) -> Remembered:
        """New facts and fingerprints replace the old; what the amendment leaves out stays."""
        fp = amended.fingerprints
        return Remembered(self.report_id, amended.incident.location.area if amended.incident else self.area,
                          self.submitted_at, fp.contact if fp and fp.contact else self.contact_fp,
                          fp.place if fp and fp.place else self.place_fp, self.reporter_role,
                          amended.incident or self.facts)


class ReportMemory:
    """What triage keeps of each report to spot repeats and clusters; rebuildable from vigil.reports.v1."""

    t = tables.report_memory

    def __init__(self) -> None:
        self.refold = HandlerTable({ReportSubmitted: self.remember_report, ReportAmended: self.remember_amendment,
                                    ReportErased: self.forget_reporter})

    def remember(self, s: Session, r: Remembered) -> None:
        values = {"area": r.area, "submitted_at": r.submitted_at, "contact_fp": r.contact_fp,
                  "place_fp": r.place_fp, "reporter_role": r.reporter_role, "facts": r.facts.model_dump_json()}
        done = s.execute(update(self.t).where(self.t.c.report_id == r.report_id).values(**values))
        if not getattr(done, "rowcount", 0):
            s.execute(insert(self.t).values(report_id=r.report_id, **values))

    def remember_report(self, s: Session, report: ReportSubmitted, _env: Envelope | None = None) -> None:
        self.remember(s, Remembered.of(report))

    def amend(self, s: Session, amended: ReportAmended) -> Remembered | None:
        before = self.recall(s, amended.report_id)
        if before is None:
            return None
        now = before.amended(amended)
        self.remember(s, now)
        return now

    def remember_amendment(self, s: Session, amended: ReportAmended, _env: Envelope | None = None) -> None:
        self.amend(s, amended)

    def forget_reporter(self, s: Session, erased: ReportErased, _env: Envelope | None = None) -> None:
        """Erasure: what was derived from the person's details goes; the bare count in the area stays."""
        s.execute(update(self.t).where(self.t.c.report_id == erased.report_id).values(contact_fp=None, place_fp=None))

    def forget_everything(self, s: Session) -> None:
        s.execute(delete(self.t))

    def recall(self, s: Session, report_id: str) -> Remembered | None:
        row = s.execute(select(self.t).where(self.t.c.report_id == report_id)).mappings().first()
        if row is None:
            return None
        return Remembered(row["report_id"], row["area"], row["submitted_at"], row["contact_fp"], row["place_fp"],
                          row["reporter_role"], IncidentFacts.model_validate_json(row["facts"]))

    def facts(self, s: Session, report_id: str) -> dict[str, Any] | None:
        """The facts as the incident page shows them, with who reported."""
        r = self.recall(s, report_id)
        return None if r is None else json.loads(r.facts.model_dump_json()) | {"reporter_role": r.reporter_role}

    def counter(self, s: Session, r: Remembered) -> HistoryCounter:
        """Other reports within the window either side: order of arrival across partitions does not matter."""

        def count(kind: HistoryKind, window: timedelta) -> int:
            match = {HistoryKind.same_area: self.t.c.area == r.area,
                     HistoryKind.same_place: self.t.c.place_fp == r.place_fp,
                     HistoryKind.same_contact: self.t.c.contact_fp == r.contact_fp}[kind]
            if (kind == HistoryKind.same_place and not r.place_fp) or (
                    kind == HistoryKind.same_contact and not r.contact_fp):
                return 0
            return int(s.execute(select(func.count()).select_from(self.t).where(
                match, self.t.c.report_id != r.report_id,
                self.t.c.submitted_at >= r.submitted_at - window,
                self.t.c.submitted_at <= r.submitted_at + window)).scalar_one())

        return count


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
        self.on_report_event = HandlerTable({ReportSubmitted: self.triage, ReportAmended: self.retriage,
                                             ReportErased: self.memory.forget_reporter})

    def triage(self, s: Session, report: ReportSubmitted, _env: Envelope | None = None) -> None:
        if self.incidents.get(s, report.report_id) is not None:
            return
        remembered = Remembered.of(report)
        self.memory.remember(s, remembered)
        decision = self._decide(s, remembered, report.submitted_at)
        incident = Incident.open(Report(report.report_id, report.reference, remembered.area, report.grading), decision,
                                 self.clock.now(), self.policy.ack_minutes)
        self.incidents.save(s, incident)
        _decisions().add(1, {"priority": decision.priority.value, "critical": str(decision.critical).lower(),
                             "ruleset_version": decision.ruleset_version})

    def retriage(self, s: Session, amended: ReportAmended, _env: Envelope | None = None) -> None:
        now = self.memory.amend(s, amended)
        incident = self.incidents.get(s, amended.report_id)
        if now is None or incident is None:
            return
        decision = self._decide(s, now, max(amended.amended_at, now.submitted_at))
        if incident.retriage(decision, now.area, self.clock.now(), self.policy.ack_minutes):
            self.incidents.save(s, incident)

    def retriage_in_scope(self, s: Session, area: str, now: datetime) -> None:
        """Open incidents that did not need the Duty Inspector are looked at again under new tension."""
        for incident_id in self.incidents.without_duty_inspector(s, area):
            incident = self.incidents.get(s, incident_id)
            remembered = self.memory.recall(s, incident_id)
            if incident is None or remembered is None:
                continue
            decision = self._decide(s, remembered, now)
            if incident.retriage(decision, remembered.area, now, self.policy.ack_minutes):
                self.incidents.save(s, incident)

    def rebuild_memory(self, envelopes: Iterable[Envelope]) -> int:
        """Refold the report memory from `vigil.reports.v1`, replacing what is there; decisions are untouched."""
        folded = 0
        with self.db.transaction() as s:
            self.memory.forget_everything(s)
            for env in envelopes:
                self.memory.refold(s, env)
                folded += 1
        return folded

    def _decide(self, s: Session, r: Remembered, at: datetime) -> Decision:
        subject = Subject(facts=r.facts, reporter_role=r.reporter_role, history=self.memory.counter(s, r),
                          tension=self.tension.in_force(s, r.area, at))
        return self.rulesets.current(s, self.clock.now()).decide(subject)
