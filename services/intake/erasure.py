"""Erasure and holds: the data protection officer's say over a report's personal data.

Erasure deletes the report's data key (the row: nothing is left to unwrap), turns the answer kept for its
idempotency key into a keyed hash that names no one, clears what intake keeps in clear about it (a centre's
reference, the facts older events carried unsealed, the reasons given for its holds), drops its match rows
and its burst's token (services/intake/matching.py) and appends
`vigil.report.erased.v1`, all in one transaction: every sealed copy on every topic is unreadable from the
commit on, and the other services drop what they derived. A hold, legal or safeguarding, stops every erasure
(asked for, after a withdrawal, or by the retention schedule) until it is released.

Each use case takes the append lock before it reads, as every append does, so an erasure, a hold, a
withdrawal and a reporter's update of one report happen one after another: none slips in between another's
check and its write.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.intake import tables
from services.intake.application import UnknownReport, data_key, spent_key
from services.intake.audit import Action, forget_hold_reasons, record
from services.intake.matching import Matcher
from shared.clock import Clock
from shared.crypto import KeyDestroyed, seal
from shared.db import Database, insert_new
from shared.events.base import canonical_json
from shared.events.reports import (
    ErasureBasis,
    HoldKind,
    ReportAmended,
    ReportErased,
    ReportHoldPlaced,
    ReportHoldReleased,
    ReportSubmitted,
)
from shared.eventstore import EventStore, lock_appends
from shared.ids import new_id

T = TypeVar("T")


@dataclass(frozen=True)
class Hold:
    hold_id: str
    reference: str
    kind: HoldKind
    placed_by: str
    placed_at: datetime
    reason: str | None = None
    released_by: str | None = None
    released_at: datetime | None = None


@dataclass(frozen=True)
class Erasure:
    reference: str
    erased_at: datetime
    requested_by: str
    basis: ErasureBasis
    reason: str | None


class AlreadyErased(KeyDestroyed):
    def __init__(self, reference: str, erased_at: datetime) -> None:
        super().__init__(reference)
        self.erased_at = erased_at


class UnderHold(Exception):
    """A hold stands: the report cannot be erased until it is released."""

    def __init__(self, hold: Hold) -> None:
        super().__init__(hold.hold_id)
        self.hold = hold


class UnknownHold(LookupError):
    pass


class HoldAlreadyReleased(Exception):
    def __init__(self, hold: Hold) -> None:
        super().__init__(hold.hold_id)
        self.hold = hold


class DataProtection:
    def __init__(self, db: Database, store: EventStore, clock: Clock, master_key: bytes) -> None:
        self.db = db
        self.store = store
        self.clock = clock
        self.master_key = master_key
        self.matcher = Matcher(master_key)

    def _in_turn(self, work: Callable[[Session], T]) -> T:
        with self.db.transaction() as s:
            lock_appends(s)
            return work(s)

    # -- erasure ----------------------------------------------------------------------------------

    def erase(self, reference: str, by: str, reason: str | None,
              basis: ErasureBasis = ErasureBasis.request) -> Erasure:
        return self._in_turn(lambda s: self._erase(s, _report(s, reference=reference), by, reason, basis))

    def erase_report(self, report_id: str, by: str, reason: str | None, basis: ErasureBasis) -> Erasure:
        return self._in_turn(lambda s: self._erase(s, _report(s, report_id=report_id), by, reason, basis))

    def _erase(self, s: Session, row: Any, by: str, reason: str | None, basis: ErasureBasis) -> Erasure:
        report_id, now = row["report_id"], self.clock.now()
        if row["erased_at"] is not None:
            raise AlreadyErased(row["reference"], row["erased_at"])
        standing = [h for h in _holds(s, report_id) if h.released_at is None]
        if standing:
            raise UnderHold(standing[0])
        version = self.store.version(s, report_id)
        s.execute(delete(tables.report_keys).where(tables.report_keys.c.report_id == report_id))
        self._spend_idempotency_key(s, row, now)
        s.execute(tables.reports.update().where(tables.reports.c.report_id == report_id).values(
            erased_at=now, updated_at=now, external_reference=None, idempotency_key=None))
        forget_hold_reasons(s, report_id)
        self.matcher.forget(s, report_id)
        _clear_unsealed_facts(s, self.store, report_id)
        record(s, row, Action.erased, by, now, kind=basis.value, reason=reason)
        self.store.append(s, report_id, version, [ReportErased(report_id=report_id, erased_at=now, requested_by=by,
                                                               basis=basis, reason=reason)])
        return Erasure(row["reference"], now, by, basis, reason)

    def _spend_idempotency_key(self, s: Session, row: Any, now: datetime) -> None:
        key = row["idempotency_key"]
        if not key:
            return
        scope, idem = f"centre:{row['centre_id']}" if row["centre_id"] else "public", tables.idempotency
        s.execute(delete(idem).where(idem.c.scope == scope, idem.c.key == key))
        insert_new(s, idem, scope=scope, key=spent_key(self.master_key, scope, key), request_hash="",
                   response="{}", created_at=now)

    # -- holds ------------------------------------------------------------------------------------

    def holds(self, reference: str) -> list[Hold]:
        with self.db.snapshot() as s:
            return _holds(s, _report(s, reference=reference)["report_id"])

    def place_hold(self, reference: str, kind: HoldKind, reason: str, by: str) -> Hold:
        return self._in_turn(lambda s: self._place(s, _report(s, reference=reference), kind, reason, by))

    def _place(self, s: Session, row: Any, kind: HoldKind, reason: str, by: str) -> Hold:
        report_id, now, hold_id = row["report_id"], self.clock.now(), new_id()
        if row["erased_at"] is not None:
            raise AlreadyErased(row["reference"], row["erased_at"])
        key = data_key(s, self.master_key, report_id)
        version = self.store.version(s, report_id)
        s.execute(tables.holds.insert().values(hold_id=hold_id, report_id=report_id, kind=kind.value, placed_by=by,
                                               placed_at=now))
        record(s, row, Action.hold_placed, by, now, kind=kind.value, hold_id=hold_id, reason=reason)
        self.store.append(s, report_id, version, [ReportHoldPlaced(
            report_id=report_id, hold_id=hold_id, kind=kind, placed_by=by, placed_at=now,
            personal=seal(key, report_id, {"reason": reason}))])
        return Hold(hold_id, row["reference"], kind, by, now, reason)

    def release_hold(self, reference: str, hold_id: str, reason: str, by: str) -> Hold:
        return self._in_turn(lambda s: self._release(s, _report(s, reference=reference), hold_id, reason, by))

    def _release(self, s: Session, row: Any, hold_id: str, reason: str, by: str) -> Hold:
        report_id, now = row["report_id"], self.clock.now()
        hold = next((h for h in _holds(s, report_id) if h.hold_id == hold_id), None)
        if hold is None:
            raise UnknownHold(hold_id)
        if hold.released_at is not None:
            raise HoldAlreadyReleased(hold)
        key = data_key(s, self.master_key, report_id)
        version = self.store.version(s, report_id)
        s.execute(tables.holds.update().where(tables.holds.c.hold_id == hold_id).values(released_by=by,
                                                                                       released_at=now))
        record(s, row, Action.hold_released, by, now, kind=hold.kind.value, hold_id=hold_id, reason=reason)
        self.store.append(s, report_id, version, [ReportHoldReleased(
            report_id=report_id, hold_id=hold_id, kind=hold.kind, released_by=by, released_at=now,
            personal=seal(key, report_id, {"reason": reason}))])
        return Hold(hold.hold_id, hold.reference, hold.kind, hold.placed_by, hold.placed_at, hold.reason, by, now)


def _report(s: Session, reference: str | None = None, report_id: str | None = None) -> Any:
    r = tables.reports
    found = r.c.reference == reference.upper() if reference is not None else r.c.report_id == report_id
    row = s.execute(select(r).where(found)).mappings().first()
    if row is None:
        raise UnknownReport(reference or report_id or "")
    return row


def _holds(s: Session, report_id: str) -> list[Hold]:
    h, r, log = tables.holds, tables.reports, tables.privacy_log
    placed = (log.c.hold_id == h.c.hold_id) & (log.c.action == Action.hold_placed.value)
    rows = s.execute(select(h, r.c.reference, log.c.reason).join(r, r.c.report_id == h.c.report_id)
                     .outerjoin(log, placed).where(h.c.report_id == report_id).order_by(h.c.placed_at)).mappings()
    return [Hold(row["hold_id"], row["reference"], HoldKind(row["kind"]), row["placed_by"], row["placed_at"],
                 row["reason"], row["released_by"], row["released_at"]) for row in rows]


UNSEALED_BEFORE_15 = {ReportSubmitted.TYPE: (("external_reference",), ("reporter", "organisation"),
                                             ("incident", "online_platform")),
                      ReportAmended.TYPE: (("incident", "online_platform"),)}


def _clear_unsealed_facts(s: Session, store: EventStore, report_id: str) -> None:
    """Events written before #15 carried a centre's reference, an organisation and an online platform in clear:
    intake's own copies lose them (the copies already on Kafka are out of its reach)."""
    log = store.log
    rows = s.execute(select(log.c.seq, log.c.type, log.c.data).where(
        log.c.stream_id == report_id, log.c.type.in_(list(UNSEALED_BEFORE_15)))).all()
    for seq, type_name, text in rows:
        data = json.loads(text)
        if _clear(data, UNSEALED_BEFORE_15[type_name]):
            s.execute(log.update().where(log.c.seq == seq).values(data=canonical_json(data).decode()))


def _clear(data: dict[str, Any], paths: tuple[tuple[str, ...], ...]) -> bool:
    cleared = False
    for *parents, leaf in paths:
        holder: Any = data
        for part in parents:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and holder.get(leaf) is not None:
            holder[leaf] = None
            cleared = True
    return cleared
