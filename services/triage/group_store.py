"""Flood groups at rest: each one's event stream, and a row beside it that finds a source's group while its
burst lasts, written in the same transaction."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, insert, literal, select, text, update
from sqlalchemy.orm import Session

from services.triage import tables
from services.triage.groups import Group, GroupState
from shared.eventstore import EventStore, row_to_envelope

_groups = tables.incident_groups
# pg_advisory_xact_lock(int, int): the first number keeps these locks apart from the event store's.
_LOCK_SPACE = 1414  # "flood"
_LOCK = text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))")


class GroupRepository:
    """A flood adds a member per report, so each group read as it was last seen is kept: the next read folds only
    the events after it, once the last one seen is still the stream's event at that version (a transaction that
    rolled back leaves a snapshot that no longer matches, and the stream is read in full again)."""

    def __init__(self, store: EventStore, remember: int = 256) -> None:
        self.store = store
        self.remember = remember
        self._seen: OrderedDict[str, tuple[str, Group]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, s: Session, group_id: str) -> Group | None:
        with self._lock:
            seen = self._seen.get(group_id)
        rows = self._rows(s, group_id, seen[1].version if seen else 0)
        if seen is None or not rows or rows[0]["event_id"] != seen[0]:
            rows = rows if seen is None else self._rows(s, group_id, 0)
            group = Group.replay(group_id, [row_to_envelope(r).event() for r in rows]) if rows else None
        else:
            group = replace(seen[1], members=list(seen[1].members), pending=[])
            for row in rows[1:]:
                group.apply(row_to_envelope(row).event())
        if group is not None and rows:
            self._keep(group_id, rows[-1]["event_id"], group)
        return group

    def _rows(self, s: Session, group_id: str, from_version: int) -> list[Any]:
        log = self.store.log
        return list(s.execute(select(log).where(log.c.stream_id == group_id, log.c.version >= from_version)
                              .order_by(log.c.version)).mappings())

    def _keep(self, group_id: str, last_event: str, group: Group) -> None:
        with self._lock:
            self._seen[group_id] = (last_event, replace(group, members=list(group.members), pending=[]))
            self._seen.move_to_end(group_id)
            while len(self._seen) > self.remember:
                self._seen.popitem(last=False)

    def save(self, s: Session, group: Group, flood_key: str = "", joined: datetime | None = None) -> None:
        """`joined`: when the member just attached was submitted; a source's burst is measured in report time,
        so a consumer catching up after an outage still finds the group its burst belongs to."""
        if not group.pending:
            return
        before = group.version - len(group.pending)
        self.store.append(s, group.group_id, before, group.pending)
        row: dict[str, Any] = {"area": group.area, "state": group.state.value, "paged_by": group.paged_by,
                               "members": len(group.members)}
        if before == 0:
            s.execute(insert(_groups).values(group_id=group.group_id, flood_key=flood_key, formed_at=group.formed_at,
                                             last_member_at=joined or group.updated_at, **row))
            group.pending = []
            return
        if joined is not None:  # the latest, whatever order the partitions delivered the members in
            last, value = _groups.c.last_member_at, literal(joined, type_=_groups.c.last_member_at.type)
            row["last_member_at"] = case((last < value, value), else_=last)
        s.execute(update(_groups).where(_groups.c.group_id == group.group_id).values(**row))
        group.pending = []

    def active(self, s: Session, flood_key: str, at: datetime, within: timedelta) -> Group | None:
        """The source's group whose last member is within the window of `at`, if any is still open."""
        found = s.execute(select(_groups.c.group_id).where(
            _groups.c.flood_key == flood_key, _groups.c.state != GroupState.dissolved.value,
            _groups.c.last_member_at >= at - within).order_by(_groups.c.last_member_at.desc()).limit(1)).scalar()
        return self.get(s, found) if found else None

    def members(self, s: Session, incident_ids: list[str]) -> list[dict[str, Any]]:
        """The members as the queue shows them, in the order they joined."""
        t = tables.incidents
        rows = {r["incident_id"]: dict(r) for r in s.execute(select(
            t.c.incident_id, t.c.reference, t.c.priority, t.c.needs_duty_inspector, t.c.state, t.c.triaged_at,
        ).where(t.c.incident_id.in_(incident_ids))).mappings()}
        return [rows[i] for i in incident_ids if i in rows]

    def listing(self, s: Session, state: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        q = select(_groups.c.group_id, _groups.c.area, _groups.c.state, _groups.c.paged_by, _groups.c.members,
                   _groups.c.formed_at, _groups.c.last_member_at).order_by(_groups.c.last_member_at.desc())
        if state:
            q = q.where(_groups.c.state == state)
        return [dict(r) for r in s.execute(q.limit(limit)).mappings()]


def lock_source(s: Session, flood_key: str) -> None:
    """On PostgreSQL: one transaction at a time looks at a source's burst and its group, so workers on other
    partitions see each other's reports and never form two groups for one flood. SQLite has one writer."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(_LOCK, {"space": _LOCK_SPACE, "key": flood_key})
