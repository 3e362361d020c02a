"""Who is on call: the directory's rota for an area, unless staff put someone else on for a while."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from services.notify import tables
from services.notify.ledger import reason_given
from services.notify.policy import DEFAULT_AREA, Directory, Duty, EscalationPolicy, Window, duties
from shared.clock import Clock, utc
from shared.db import Database
from shared.events.notifications import RotaOverrideRemoved, RotaOverrideSet
from shared.eventstore import EventStore
from shared.ids import new_id


class UnknownPerson(ValueError):
    """The person is not in the directory, so could not be paged."""


class UnknownOverride(LookupError):
    """No such override (never set, or removed already)."""


@dataclass(frozen=True)
class OnCall:
    area: str
    at: datetime
    person_id: str
    by_override: bool
    policy: EscalationPolicy


@dataclass(frozen=True)
class Override:
    override_id: str
    area: str
    person_id: str
    starts_at: datetime
    ends_at: datetime
    set_at: datetime
    set_by: str | None
    reason: str | None

    @property
    def window(self) -> Window:
        return Window(self.person_id, self.starts_at, self.ends_at, self.set_at)


@dataclass(frozen=True)
class AreaDuties:
    """An area's on-call stretches from now (`area` is `default` for every area without its own set-up)."""

    area: str
    policy: str
    duties: list[Duty]


class RotaStore:
    def override_at(self, s: Session, area: str, at: datetime) -> str | None:
        """The latest override covering `at`, if any."""
        o = tables.rota_overrides
        return s.execute(select(o.c.person_id).where(o.c.area == area, o.c.starts_at <= at, o.c.ends_at > at)
                         .order_by(o.c.created_at.desc()).limit(1)).scalar()

    def add(self, s: Session, event: RotaOverrideSet) -> None:
        s.execute(tables.rota_overrides.insert().values(
            override_id=event.override_id, area=event.area, person_id=event.person_id, starts_at=event.starts_at,
            ends_at=event.ends_at, created_at=event.set_at, set_by=event.set_by, reason=event.reason))

    def find(self, s: Session, override_id: str) -> Override | None:
        o = tables.rota_overrides
        row = s.execute(select(o).where(o.c.override_id == override_id).with_for_update()).mappings().first()
        return _override(row) if row else None

    def remove(self, s: Session, override_id: str) -> None:
        o = tables.rota_overrides
        s.execute(o.delete().where(o.c.override_id == override_id))

    def not_ended(self, s: Session, at: datetime, area: str | None = None) -> list[Override]:
        """Overrides in force at `at` or later, soonest first."""
        o = tables.rota_overrides
        query = select(o).where(o.c.ends_at > at).order_by(o.c.starts_at, o.c.area, o.c.created_at)
        if area is not None:
            query = query.where(o.c.area == area)
        return [_override(r) for r in s.execute(query).mappings()]


def _override(row: RowMapping) -> Override:
    return Override(override_id=row["override_id"], area=row["area"], person_id=row["person_id"],
                    starts_at=row["starts_at"], ends_at=row["ends_at"], set_at=row["created_at"],
                    set_by=row["set_by"], reason=row["reason"])


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

    def overrides(self, area: str | None = None) -> list[Override]:
        """Overrides in force now or later."""
        with self.db.sessions() as s:
            return self.store.not_ended(s, self.clock.now(), area)

    def board(self) -> list[AreaDuties]:
        """Who is on call now and next: each area with its own set-up or an override, then every other area."""
        now = self.clock.now()
        with self.db.sessions() as s:
            overrides = self.store.not_ended(s, now)
        areas = sorted({*self.directory.areas, *(o.area for o in overrides)} - {DEFAULT_AREA})
        board = []
        for area in [*areas, DEFAULT_AREA]:
            windows = [o.window for o in overrides if o.area == area]
            board.append(AreaDuties(area, self.directory.area(area).policy,
                                    duties(self.directory.area(area).rota, windows, now)))
        return board

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

    def remove_override(self, override_id: str, by: str, reason: str | None = None,
                        area: str | None = None) -> RotaOverrideRemoved:
        """Take an override off (`area`, when given, must be the override's): the rota applies again at once."""
        with self.db.transaction() as s:
            found = self.store.find(s, override_id)
            if found is None or (area is not None and found.area != area):
                raise UnknownOverride(override_id)
            self.store.remove(s, override_id)
            event = RotaOverrideRemoved(override_id=override_id, area=found.area, person_id=found.person_id,
                                        starts_at=found.starts_at, ends_at=found.ends_at, removed_by=by,
                                        removed_at=self.clock.now(), reason=reason_given(reason))
            self.events.extend(s, f"rota-{found.area}", [event], key=found.area)
        return event
