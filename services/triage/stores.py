"""Triage's storage adapters: incident streams and their queue row, report memory, rulesets, tension."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from services.triage import tables
from services.triage.incident import Incident
from services.triage.rules import HistoryCounter, HistoryKind, Ruleset, Tension, load_ruleset
from shared.events.base import Envelope
from shared.events.incidents import NATIONAL, RulesetPublished
from shared.events.reports import IncidentFacts
from shared.eventstore import EventStore


class IncidentRepository:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def get(self, s: Session, incident_id: str) -> Incident | None:
        found = self.with_history(s, incident_id)
        return found[0] if found else None

    def with_history(self, s: Session, incident_id: str) -> tuple[Incident, list[Envelope]] | None:
        """The incident and the events it is folded from, from one read of its stream."""
        envelopes = self.store.load(s, incident_id)
        if not envelopes:
            return None
        return Incident.replay(incident_id, [env.event() for env in envelopes]), envelopes

    def save(self, s: Session, incident: Incident) -> None:
        if not incident.pending:
            return
        before = incident.version - len(incident.pending)
        self.store.append(s, incident.incident_id, before, incident.pending)
        row = _queue_row(incident)
        if before == 0:
            s.execute(insert(tables.incidents).values(incident_id=incident.incident_id, **row))
        else:
            s.execute(update(tables.incidents).where(tables.incidents.c.incident_id == incident.incident_id)
                      .values(**row))
        incident.pending = []


def _queue_row(i: Incident) -> dict[str, Any]:
    return {
        "reference": i.reference, "area": i.area, "priority": i.priority.value, "critical": i.needs_duty_inspector,
        "needs_duty_inspector": i.needs_duty_inspector, "state": i.state.value, "ack_deadline": i.ack_deadline,
        "triaged_at": i.triaged_at, "report_id": i.report_id,
        "matched": json.dumps([m.model_dump() for m in i.matched]), "ruleset_version": i.ruleset_version,
        "version": i.version, "duty_inspector": i.duty_inspector, "acknowledged_by": i.acknowledged_by,
        "acknowledged_at": i.acknowledged_at, "escalation_level": i.escalation_level,
        "escalated_deadline": i.escalated_deadline, "cia": i.cia,
        "cia_due_at": i.cia_due_at, "outcome": i.outcome, "closed_at": i.closed_at, "updated_at": i.updated_at,
    }


@dataclass(frozen=True)
class Remembered:
    report_id: str
    area: str
    submitted_at: datetime
    contact_fp: str | None
    place_fp: str | None
    reporter_role: str | None
    facts: IncidentFacts


class ReportMemory:
    """What triage keeps of each report to spot repeats and clusters; rebuildable from vigil.reports.v1."""

    t = tables.report_memory

    def remember(self, s: Session, r: Remembered) -> None:
        values = {"area": r.area, "submitted_at": r.submitted_at, "contact_fp": r.contact_fp,
                  "place_fp": r.place_fp, "reporter_role": r.reporter_role, "facts": r.facts.model_dump_json()}
        done = _rowcount(s.execute(update(self.t).where(self.t.c.report_id == r.report_id).values(**values)))
        if not done:
            s.execute(insert(self.t).values(report_id=r.report_id, **values))

    def recall(self, s: Session, report_id: str) -> Remembered | None:
        row = s.execute(select(self.t).where(self.t.c.report_id == report_id)).mappings().first()
        if row is None:
            return None
        return Remembered(row["report_id"], row["area"], row["submitted_at"], row["contact_fp"], row["place_fp"],
                          row["reporter_role"], IncidentFacts.model_validate_json(row["facts"]))

    def forget_fingerprints(self, s: Session, report_id: str) -> None:
        """Erasure: what was derived from the person's details goes; the bare count in the area stays."""
        s.execute(update(self.t).where(self.t.c.report_id == report_id).values(contact_fp=None, place_fp=None))

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


class RulesetConflict(ValueError):
    pass


class RulesetStore:
    """Published rulesets; the latest is in force. Publishing is an event, so decisions can be traced to it."""

    t = tables.rulesets
    STREAM = "ruleset"

    def __init__(self, store: EventStore, configured: Callable[[], Ruleset]) -> None:
        self.store = store
        self.configured = configured
        self._parsed: dict[str, Ruleset] = {}
        self._ensured = False

    def publish(self, s: Session, ruleset: Ruleset, by: str, now: datetime) -> bool:
        existing = s.execute(select(self.t.c.sha256).where(self.t.c.version == ruleset.version)).scalar()
        if existing == ruleset.sha256:
            return False
        if existing is not None:
            raise RulesetConflict(f"version {ruleset.version} was already published with different content; "
                                  "give the changed ruleset a new version")
        s.execute(insert(self.t).values(version=ruleset.version, name=ruleset.name, sha256=ruleset.sha256,
                                        source=ruleset.source, published_by=by, published_at=now))
        self.store.extend(s, self.STREAM, [RulesetPublished(
            version=ruleset.version, sha256=ruleset.sha256, rule_codes=ruleset.rule_codes, published_by=by,
            published_at=now)], key=self.STREAM)
        return True

    def current(self, s: Session, now: datetime) -> Ruleset:
        if not self._ensured:
            self.publish(s, self.configured(), "system", now)
            self._ensured = True
        row = s.execute(select(self.t.c.version, self.t.c.source)
                        .order_by(self.t.c.published_at.desc(), self.t.c.version.desc()).limit(1)).first()
        if row is None:
            raise LookupError("no ruleset published")
        if row.version not in self._parsed:
            self._parsed[row.version] = load_ruleset(row.source)
        return self._parsed[row.version]

    def listing(self, s: Session) -> list[dict[str, Any]]:
        rows = s.execute(select(self.t.c.version, self.t.c.name, self.t.c.sha256, self.t.c.published_by,
                                self.t.c.published_at).order_by(self.t.c.published_at.desc())).mappings()
        return [dict(r) for r in rows]


class TensionStore:
    t = tables.tensions

    def in_force(self, s: Session, area: str, at: datetime) -> Tension | None:
        t = self.t
        row = s.execute(select(t.c.area, t.c.starts_at).where(
            t.c.area.in_([area, NATIONAL]), t.c.starts_at <= at,
            or_(t.c.ends_at.is_(None), t.c.ends_at > at),
            or_(t.c.lifted_at.is_(None), t.c.lifted_at > at)).order_by(t.c.starts_at).limit(1)).first()
        if row is None:
            return None
        return Tension(scope="national" if row.area == NATIONAL else f"area {row.area}", since=row.starts_at)

    def current(self, s: Session, now: datetime) -> list[dict[str, Any]]:
        """Declarations in force now or starting later: the tension map."""
        t = self.t
        rows = s.execute(select(t).where(t.c.lifted_at.is_(None), or_(t.c.ends_at.is_(None), t.c.ends_at > now))
                         .order_by(t.c.area, t.c.starts_at)).mappings()
        return [dict(r) | {"in_force": r["starts_at"] <= now} for r in rows]

    def get(self, s: Session, tension_id: str) -> dict[str, Any] | None:
        row = s.execute(select(self.t).where(self.t.c.tension_id == tension_id)).mappings().first()
        return dict(row) if row else None

    def expired_unlifted(self, s: Session, now: datetime) -> list[dict[str, Any]]:
        t = self.t
        rows = s.execute(select(t).where(t.c.lifted_at.is_(None), t.c.ends_at.is_not(None), t.c.ends_at <= now))
        return [dict(r) for r in rows.mappings()]

    def proposals(self, s: Session, status: str = "pending") -> list[dict[str, Any]]:
        p = tables.tension_proposals
        rows = s.execute(select(p).where(p.c.status == status).order_by(p.c.raised_at.desc())).mappings()
        return [dict(r) | {"reasons": json.loads(r["reasons"])} for r in rows]

    def propose(self, s: Session, proposal_id: str, area: str, level: str, reasons: list[str],
                raised_at: datetime) -> None:
        p = tables.tension_proposals
        if s.execute(select(p.c.proposal_id).where(p.c.proposal_id == proposal_id)).first():
            return
        s.execute(insert(p).values(proposal_id=proposal_id, area=area, level=level, reasons=json.dumps(reasons),
                                   raised_at=raised_at, status="pending"))

    def decide_proposal(self, s: Session, proposal_id: str, status: str, by: str | None, at: datetime) -> bool:
        p = tables.tension_proposals
        return bool(_rowcount(s.execute(update(p).where(p.c.proposal_id == proposal_id, p.c.status == "pending")
                                        .values(status=status, decided_by=by, decided_at=at))))

    def ease(self, s: Session, area: str, at: datetime) -> None:
        p = tables.tension_proposals
        s.execute(update(p).where(and_(p.c.area == area, p.c.status == "pending"))
                  .values(status="eased", decided_at=at))


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
