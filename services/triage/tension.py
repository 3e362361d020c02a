"""Heightened tension (ADR 0024): a supervisor declares it for an area or the whole country, every hate
crime report in scope then needs the Duty Inspector, and it ends when lifted or at its scheduled end.

Assessment's rises in an area's risk arrive as proposals that wait for a supervisor to confirm or dismiss.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session

from services.triage import tables
from services.triage.access import Action, Staff
from services.triage.incident import AlreadyDone, InvalidCommand, Policy, UnknownIncident
from services.triage.rules import Tension as TensionInForce
from shared.areas import AreaRegistry
from shared.clock import Clock
from shared.db import Database
from shared.events.areas import AreaTensionEased, AreaTensionRaised
from shared.events.base import Envelope
from shared.events.handlers import HandlerTable
from shared.events.incidents import (
    NATIONAL,
    CommunityImpactAssessmentRequested,
    HeightenedTensionDeclared,
    HeightenedTensionLifted,
)
from shared.eventstore import EventStore
from shared.ids import new_id


class TensionStore:
    t = tables.tensions
    p = tables.tension_proposals

    def in_force(self, s: Session, area: str, at: datetime) -> TensionInForce | None:
        t = self.t
        row = s.execute(select(t.c.area, t.c.starts_at).where(
            t.c.area.in_([area, NATIONAL]), t.c.starts_at <= at,
            or_(t.c.ends_at.is_(None), t.c.ends_at > at),
            or_(t.c.lifted_at.is_(None), t.c.lifted_at > at)).order_by(t.c.starts_at).limit(1)).first()
        if row is None:
            return None
        return TensionInForce(scope="national" if row.area == NATIONAL else f"area {row.area}", since=row.starts_at)

    def current(self, s: Session, now: datetime) -> list[dict[str, Any]]:
        """Declarations in force now or starting later: the tension map."""
        t = self.t
        rows = s.execute(select(t).where(t.c.lifted_at.is_(None), or_(t.c.ends_at.is_(None), t.c.ends_at > now))
                         .order_by(t.c.area, t.c.starts_at)).mappings()
        return [dict(r) | {"in_force": r["starts_at"] <= now} for r in rows]

    def get(self, s: Session, tension_id: str) -> dict[str, Any] | None:
        row = s.execute(select(self.t).where(self.t.c.tension_id == tension_id)).mappings().first()
        return dict(row) if row else None

    def add(self, s: Session, declared: HeightenedTensionDeclared) -> None:
        s.execute(insert(self.t).values(
            tension_id=declared.tension_id, area=declared.area, reason=declared.reason, starts_at=declared.starts_at,
            ends_at=declared.ends_at, declared_by=declared.declared_by, declared_at=declared.declared_at,
            proposal_id=declared.proposal_id))

    def lifted(self, s: Session, lifted: HeightenedTensionLifted) -> None:
        s.execute(self.t.update().where(self.t.c.tension_id == lifted.tension_id)
                  .values(lifted_at=lifted.lifted_at, lifted_by=lifted.lifted_by, lift_reason=lifted.reason))

    def expired_unlifted(self, s: Session, now: datetime) -> list[dict[str, Any]]:
        t = self.t
        rows = s.execute(select(t).where(t.c.lifted_at.is_(None), t.c.ends_at.is_not(None), t.c.ends_at <= now))
        return [dict(r) for r in rows.mappings()]

    def proposals(self, s: Session, status: str = "pending") -> list[dict[str, Any]]:
        p = self.p
        rows = s.execute(select(p).where(p.c.status == status).order_by(p.c.raised_at.desc())).mappings()
        return [dict(r) | {"reasons": json.loads(r["reasons"])} for r in rows]

    def proposal_area(self, s: Session, proposal_id: str) -> str | None:
        return s.execute(select(self.p.c.area).where(self.p.c.proposal_id == proposal_id)).scalar()

    def propose(self, s: Session, proposal_id: str, area: str, level: str, reasons: list[str],
                raised_at: datetime) -> None:
        p = self.p
        if s.execute(select(p.c.proposal_id).where(p.c.proposal_id == proposal_id)).first():
            return
        s.execute(insert(p).values(proposal_id=proposal_id, area=area, level=level, reasons=json.dumps(reasons),
                                   raised_at=raised_at, status="pending"))

    def decide_proposal(self, s: Session, proposal_id: str, status: str, by: str | None, at: datetime) -> bool:
        p = self.p
        done = s.execute(update(p).where(p.c.proposal_id == proposal_id, p.c.status == "pending")
                         .values(status=status, decided_by=by, decided_at=at))
        return bool(getattr(done, "rowcount", 0))

    def ease(self, s: Session, area: str, at: datetime) -> None:
        p = self.p
        s.execute(update(p).where(and_(p.c.area == area, p.c.status == "pending"))
                  .values(status="eased", decided_at=at))


class Retriage(Protocol):
    """What declaring tension asks of the decisions: look again at what is open in its scope."""

    def retriage_in_scope(self, s: Session, area: str, now: datetime) -> None: ...


class Tension:
    def __init__(self, db: Database, events: EventStore, store: TensionStore, decisions: Retriage, clock: Clock,
                 policy: Policy, areas: AreaRegistry) -> None:
        self.db = db
        self.events = events
        self.store = store
        self.decisions = decisions
        self.clock = clock
        self.policy = policy
        self.areas = areas
        self.on_area_event = HandlerTable({AreaTensionRaised: self.propose, AreaTensionEased: self.ease})

    def declare(self, staff: Staff, area: str, reason: str, starts_at: datetime | None = None,
                ends_at: datetime | None = None, proposal_id: str | None = None) -> dict[str, Any]:
        staff.require(Action.declare_tension)
        now = self.clock.now()
        area, reason, starts = self._valid_declaration(area, reason, starts_at or now, ends_at)
        if not staff.covers(area):
            raise InvalidCommand("choose one of your own areas: your account does not cover this one", "area")
        declared = HeightenedTensionDeclared(
            tension_id=new_id(), area=area, reason=reason, starts_at=starts, ends_at=ends_at,
            declared_by=staff.user_id, declared_at=now, proposal_id=proposal_id)
        cia = CommunityImpactAssessmentRequested(area=area, requested_by=staff.user_id, requested_at=now,
                                                 due_at=now + timedelta(hours=self.policy.cia_due_hours))
        with self.db.transaction() as s:
            if proposal_id and not self.store.decide_proposal(s, proposal_id, "confirmed", staff.user_id, now):
                raise AlreadyDone("that proposal was already decided")
            self.events.append(s, f"tension-{declared.tension_id}", 0, [declared, cia], key=area)
            self.store.add(s, declared)
            if starts <= now:
                self.decisions.retriage_in_scope(s, area, now)
            return self._row(s, declared.tension_id)

    def lift(self, staff: Staff, tension_id: str, reason: str) -> dict[str, Any]:
        staff.require(Action.declare_tension)
        reason = " ".join((reason or "").split()) or "lifted by a supervisor"
        with self.db.transaction() as s:
            row = self.store.get(s, tension_id)
            if row is None or not staff.covers(row["area"]):
                raise UnknownIncident("no such declaration")
            if row["lifted_at"] is not None:
                raise AlreadyDone("this declaration was already lifted")
            self._lift(s, row, reason, staff.user_id, self.clock.now())
            return self._row(s, tension_id)

    def lift_expired(self) -> int:
        now = self.clock.now()
        with self.db.transaction() as s:
            expired = self.store.expired_unlifted(s, now)
            for row in expired:
                self._lift(s, row, "ended as scheduled", "system", row["ends_at"])
        return len(expired)

    def dismiss_proposal(self, staff: Staff, proposal_id: str) -> None:
        staff.require(Action.declare_tension)
        with self.db.transaction() as s:
            area = self.store.proposal_area(s, proposal_id)
            if (area is not None and not staff.covers(area)) or not self.store.decide_proposal(
                    s, proposal_id, "dismissed", staff.user_id, self.clock.now()):
                raise AlreadyDone("that proposal was already decided")

    def propose(self, s: Session, raised: AreaTensionRaised, env: Envelope) -> None:
        """Assessment's rise waits for a supervisor; the same record always makes the same proposal."""
        proposal_id = str(uuid.uuid5(uuid.NAMESPACE_URL, env.id))
        self.store.propose(s, proposal_id, raised.area, raised.level.value, list(raised.reasons), raised.raised_at)

    def ease(self, s: Session, eased: AreaTensionEased, env: Envelope) -> None:
        self.store.ease(s, eased.area, env.time)

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

    def _lift(self, s: Session, row: Mapping[str, Any], reason: str, by: str, at: datetime) -> None:
        lifted = HeightenedTensionLifted(tension_id=row["tension_id"], area=row["area"], reason=reason,
                                         lifted_by=by, lifted_at=at)
        self.events.extend(s, f"tension-{lifted.tension_id}", [lifted], key=lifted.area)
        self.store.lifted(s, lifted)

    def _row(self, s: Session, tension_id: str) -> dict[str, Any]:
        row = self.store.get(s, tension_id)
        if row is None:
            raise UnknownIncident("no such declaration")
        return row
