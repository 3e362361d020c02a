"""Who is on call: the directory's rota for an area, unless staff put someone else on for a while."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notify import tables
from services.notify.ledger import reason_given
from services.notify.policy import Directory, EscalationPolicy
from shared.clock import Clock, utc
from shared.db import Database
from shared.events.notifications import RotaOverrideSet
from shared.eventstore import EventStore
from shared.ids import new_id


class UnknownPerson(ValueError):
    """The person is not in the directory, so could not be paged."""


@dataclass(frozen=True)
class OnCall:
    area: str
    at: datetime
    person_id: str
    by_override: bool
    policy: EscalationPolicy


class RotaStore:
    def override_at(self, s: Session, area: str, at: datetime) -> str | None:
        """The latest override covering `at`, if any."""
        o = tables.rota_overrides
        return s.execute(select(o.c.person_id).where(o.c.area == area, o.c.starts_at <= at, o.c.ends_at > at)
                         .order_by(o.c.created_at.desc()).limit(1)).scalar()

    def add(self, s: Session, event: RotaOverrideSet) -> None:
        s.execute(tables.rota_overrides.insert().values(
            override_id=event.override_id, area=event.area, person_id=event.person_id, starts_at=event.starts_at,
            ends_at=event.ends_at, created_at=event.set_at))


class RotaService:
    def __init__(self, db: Database, store: RotaStore, events: EventStore, clock: Clock,
                 directory: Directory) -> None:
        self.db = db
        self.store = store
        self.events = events
        self.clock = clock
        self.directory = directory

    def people(self, s: Session, area: str, level: int, at: datetime) -> list[str]:
        """Everyone a level of the area's policy names at `at`, the on-call one as overridden."""
        return self.directory.level_people(area, level, at, self.store.override_at(s, area, at))

    def on_call(self, area: str, at: datetime | None = None) -> OnCall:
        when = utc(at) if at else self.clock.now()
        with self.db.sessions() as s:
            override = self.store.override_at(s, area, when)
        return OnCall(area, when, self.directory.on_call(area, when, override), override is not None,
                      self.directory.policy_for(area))

    def set_override(self, area: str, person_id: str, starts_at: datetime, ends_at: datetime, by: str,
                     reason: str | None = None) -> RotaOverrideSet:
        if person_id not in self.directory.people:
            raise UnknownPerson(person_id)
        event = RotaOverrideSet(override_id=new_id(), area=area, person_id=person_id, starts_at=utc(starts_at),
                                ends_at=utc(ends_at), set_by=by, set_at=self.clock.now(), reason=reason_given(reason))
        with self.db.transaction() as s:
            self.store.add(s, event)
            self.events.extend(s, f"rota-{area}", [event], key=area)
        return event
